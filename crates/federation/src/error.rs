//! Why an upstream sign-in failed. Every failure has a short machine reason (recorded in the
//! `federation.failed` audit event) and a class that decides how the page answers; none of them
//! is an internal error of Tessera.

/// What was wrong with an ID token. Each variant is one check of OpenID Connect Core §3.1.3.7.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    #[error("the ID token is not a well-formed signed JWT: {0}")]
    Malformed(String),
    #[error("the ID token's signature does not verify with the provider's keys: {0}")]
    Signature(String),
    #[error("the ID token was issued by {found:?}, not by the configured issuer")]
    Issuer { found: String },
    #[error("the ID token is not addressed to this client (aud)")]
    Audience,
    #[error("the ID token's authorized party (azp) is not this client")]
    AuthorizedParty,
    #[error("the ID token has expired")]
    Expired,
    #[error("the ID token was issued in the future (iat), beyond the allowed clock skew")]
    IssuedInFuture,
    #[error("the ID token's nonce does not match the one this sign-in sent")]
    Nonce,
    #[error("the ID token has no subject (sub)")]
    MissingSubject,
    #[error("the ID token's at_hash does not match the access token")]
    AccessTokenHash,
    #[error("the ID token's tenant (tid) is not allowed by this provider's configuration")]
    TenantNotAllowed,
}

impl IdTokenError {
    pub fn reason(&self) -> &'static str {
        match self {
            IdTokenError::Malformed(_) => "id_token_malformed",
            IdTokenError::Signature(_) => "id_token_signature",
            IdTokenError::Issuer { .. } => "id_token_issuer",
            IdTokenError::Audience => "id_token_audience",
            IdTokenError::AuthorizedParty => "id_token_azp",
            IdTokenError::Expired => "id_token_expired",
            IdTokenError::IssuedInFuture => "id_token_iat",
            IdTokenError::Nonce => "id_token_nonce",
            IdTokenError::MissingSubject => "id_token_sub",
            IdTokenError::AccessTokenHash => "id_token_at_hash",
            IdTokenError::TenantNotAllowed => "id_token_tenant",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FederationError {
    /// The provider's configuration cannot work (a missing endpoint, an unreadable key).
    #[error("the identity provider is misconfigured: {0}")]
    Config(String),
    /// The provider could not be reached or answered with something unusable.
    #[error("the identity provider could not be reached: {0}")]
    Transport(String),
    /// The provider answered, but not as the protocol says (bad JSON, wrong issuer in its
    /// discovery document, an error from its token endpoint).
    #[error("the identity provider answered unexpectedly: {0}")]
    BadResponse(String),
    /// The provider sent the browser back with an error (`access_denied` when the person
    /// declined).
    #[error("the identity provider refused the sign-in: {error}")]
    Refused {
        error: String,
        description: Option<String>,
    },
    #[error(transparent)]
    IdToken(#[from] IdTokenError),
    /// The identity lacks what Tessera needs (a subject).
    #[error("the identity provider did not send {0}")]
    MissingClaim(&'static str),
}

/// How a page should answer a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureClass {
    /// The person declined at the provider (403).
    Declined,
    /// The answer could not be trusted or was incomplete (400).
    Rejected,
    /// The provider or its configuration failed (502).
    Upstream,
}

impl FederationError {
    /// A short reason for the audit trail, e.g. `id_token_audience`, `upstream_access_denied`.
    pub fn reason(&self) -> String {
        match self {
            FederationError::Config(_) => "provider_misconfigured".into(),
            FederationError::Transport(_) => "provider_unreachable".into(),
            FederationError::BadResponse(_) => "provider_bad_response".into(),
            FederationError::Refused { error, .. } => {
                let code: String = error
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .take(40)
                    .collect();
                format!("upstream_{code}")
            }
            FederationError::IdToken(e) => e.reason().into(),
            FederationError::MissingClaim(c) => format!("missing_{c}"),
        }
    }

    pub fn class(&self) -> FailureClass {
        match self {
            FederationError::Refused { error, .. } if error == "access_denied" => {
                FailureClass::Declined
            }
            FederationError::Refused { .. }
            | FederationError::IdToken(_)
            | FederationError::MissingClaim(_) => FailureClass::Rejected,
            FederationError::Config(_)
            | FederationError::Transport(_)
            | FederationError::BadResponse(_) => FailureClass::Upstream,
        }
    }
}

pub type Result<T> = std::result::Result<T, FederationError>;
