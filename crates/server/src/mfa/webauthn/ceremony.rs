//! The WebAuthn engine of a tenant: the relying party (identity from the public URL), the
//! tenant's policies turned into ceremony options, and the checks `webauthn-rs-core` leaves to its
//! caller: the attestation allow-list, the credential record's update after a use, and what an
//! assertion proves (`amr`).
//!
//! `webauthn-rs-core` is the engine under the `webauthn-rs` wrapper. The wrapper's safety rules
//! that matter here are kept: challenges live only in the database, the credential record's
//! registration policy is enforced at every use, backup eligibility may never change, and a
//! signature counter that does not grow is refused.

use std::time::Duration;

use tessera_core::mfa::{AMR_HWK, AMR_SWK, AttestationPolicy, MfaSettings, UserVerification};
use url::Url;
use uuid::Uuid;
use webauthn_rs_core::WebauthnCore;
use webauthn_rs_core::error::WebauthnError;
use webauthn_rs_core::proto::{
    AttestationConveyancePreference, AttestationMetadata, AuthenticationResult,
    AuthenticationState, CreationChallengeResponse, Credential, CredentialID,
    ParsedAttestationData, PublicKeyCredential, RegisterPublicKeyCredential, RegistrationState,
    RequestChallengeResponse, RequestRegistrationExtensions, UserVerificationPolicy,
};

/// How long the browser may take for one ceremony (the WebAuthn recommendation).
pub const CEREMONY_TIMEOUT: Duration = Duration::from_secs(300);

/// At most this many passkeys and security keys per account.
pub const MAX_CREDENTIALS_PER_USER: usize = 20;

/// The relying party of a deployment: RP ID = host of the public URL, the only allowed origin =
/// the public URL's origin (no subdomains, no other ports).
pub fn relying_party(public_url: &str, rp_name: &str) -> Result<WebauthnCore, String> {
    let url = Url::parse(public_url).map_err(|e| format!("public_url is not a URL: {e}"))?;
    let host = url
        .host_str()
        .ok_or_else(|| "public_url has no host".to_string())?;
    let origin = Url::parse(&url.origin().ascii_serialization())
        .map_err(|e| format!("public_url has no origin: {e}"))?;
    let name = if rp_name.trim().is_empty() {
        host
    } else {
        rp_name
    };
    Ok(WebauthnCore::new_unsafe_experts_only(
        name,
        host,
        vec![origin],
        CEREMONY_TIMEOUT,
        Some(false),
        Some(false),
    ))
}

pub fn uv_policy(uv: UserVerification) -> UserVerificationPolicy {
    match uv {
        UserVerification::Preferred => UserVerificationPolicy::Preferred,
        UserVerification::Required => UserVerificationPolicy::Required,
        UserVerification::Discouraged => UserVerificationPolicy::Discouraged_DO_NOT_USE,
    }
}

/// The account a registration creates a credential for.
pub struct Holder<'a> {
    /// The user handle the authenticator stores: the account id, so a discoverable credential
    /// names its account at sign-in.
    pub id: Uuid,
    pub name: &'a str,
    pub display_name: &'a str,
}

/// Options of a registration: a resident (discoverable) key, so it also works without a
/// username; the tenant's user verification and attestation; the account's credentials excluded.
pub fn start_registration(
    rp: &WebauthnCore,
    settings: &MfaSettings,
    holder: &Holder<'_>,
    exclude: Vec<CredentialID>,
) -> Result<(CreationChallengeResponse, RegistrationState), WebauthnError> {
    let attestation = match settings.attestation {
        AttestationPolicy::None => AttestationConveyancePreference::None,
        AttestationPolicy::Direct => AttestationConveyancePreference::Direct,
    };
    let builder = rp
        .new_challenge_register_builder(holder.id.as_bytes(), holder.name, holder.display_name)?
        .attestation(attestation)
        .user_verification_policy(uv_policy(settings.user_verification))
        .exclude_credentials(Some(exclude))
        .require_resident_key(true)
        // credProps tells whether a resident key was made; uvm is informational.
        .extensions(Some(RequestRegistrationExtensions::default()));
    rp.generate_challenge_register(builder)
}

/// Options of an authentication: with `credentials` empty, a discoverable (username-less) one.
pub fn start_authentication(
    rp: &WebauthnCore,
    settings: &MfaSettings,
    credentials: Vec<Credential>,
) -> Result<(RequestChallengeResponse, AuthenticationState), WebauthnError> {
    let builder = rp.new_challenge_authenticate_builder(
        credentials,
        Some(uv_policy(settings.user_verification)),
    )?;
    rp.generate_challenge_authenticate(builder)
}

/// Why a ceremony's answer was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The answer could not be decoded (JSON, base64, CBOR, authenticator data).
    Malformed,
    /// The authenticator did not verify the user (PIN, biometric) and the policy requires it.
    UserNotVerified,
    /// The signature counter did not grow: the credential may have been cloned.
    SignCountRegression,
    /// This credential was registered already (it was in the excluded list).
    AlreadyRegistered,
    /// The authenticator model is not on the tenant's allow-list (or did not prove its model).
    AuthenticatorNotAllowed,
    /// Anything else: wrong challenge, origin or RP ID, bad signature, changed backup eligibility.
    Failed,
}

impl Refusal {
    /// The reason recorded in `mfa.failed` events.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed_response",
            Refusal::UserNotVerified => "user_not_verified",
            Refusal::SignCountRegression => "sign_count_regression",
            Refusal::AlreadyRegistered => "credential_exists",
            Refusal::AuthenticatorNotAllowed => "authenticator_not_allowed",
            Refusal::Failed => "verification_failed",
        }
    }
}

impl From<WebauthnError> for Refusal {
    fn from(e: WebauthnError) -> Self {
        use WebauthnError as E;
        match e {
            E::ParseBase64Failure(_)
            | E::ParseCBORFailure(_)
            | E::ParseJSONFailure(_)
            | E::ParseNOMFailure
            | E::ParseInsufficientBytesAvailable
            | E::MissingAttestationCredentialData
            | E::AttestationStatementMapInvalid
            | E::COSEKeyInvalidCBORValue
            | E::COSEKeyInvalidType => Refusal::Malformed,
            E::UserNotVerified => Refusal::UserNotVerified,
            E::CredentialPossibleCompromise => Refusal::SignCountRegression,
            E::CredentialExcludedFromRequest | E::CredentialAlreadyExists => {
                Refusal::AlreadyRegistered
            }
            E::AttestationUntrustedAaguid | E::AttestationFormatMissingAaguid => {
                Refusal::AuthenticatorNotAllowed
            }
            other => {
                tracing::info!(error = %other, "a WebAuthn response was refused");
                Refusal::Failed
            }
        }
    }
}

/// A verified registration.
pub struct Registered {
    pub credential: Credential,
    /// base64url (no padding) of the credential id, as `Factor.credential_id` keeps it.
    pub credential_id: String,
    pub discoverable: bool,
    pub aaguid: Option<Uuid>,
}

/// Verifies a registration response and applies the tenant's attestation policy.
pub fn finish_registration(
    rp: &WebauthnCore,
    settings: &MfaSettings,
    response: &RegisterPublicKeyCredential,
    state: &RegistrationState,
) -> Result<Registered, Refusal> {
    let credential = rp.register_credential(response, state, None)?;
    let aaguid = match &credential.attestation.metadata {
        AttestationMetadata::Packed { aaguid } | AttestationMetadata::Tpm { aaguid, .. } => {
            Some(*aaguid).filter(|a| !a.is_nil())
        }
        _ => None,
    };
    if !attestation_allowed(settings, &credential.attestation.data, aaguid) {
        return Err(Refusal::AuthenticatorNotAllowed);
    }
    // The browser reports whether it made a resident key (credProps); we asked for one, so an
    // authenticator that does not say is taken at its word.
    let discoverable = response
        .extensions
        .cred_props
        .as_ref()
        .and_then(|p| p.rk)
        .unwrap_or(true);
    Ok(Registered {
        credential_id: credential_id_text(&credential.cred_id),
        discoverable,
        aaguid,
        credential,
    })
}

/// With `attestation: direct` and an allow-list, the authenticator must prove its model with an
/// attestation certificate (not self attestation, not none) and the model must be listed. The
/// certificate's signature over the new credential is verified by the engine; it is not chained
/// to a vendor root here (no metadata service is consulted).
fn attestation_allowed(
    settings: &MfaSettings,
    data: &ParsedAttestationData,
    aaguid: Option<Uuid>,
) -> bool {
    if settings.attestation != AttestationPolicy::Direct || settings.aaguid_allowlist.is_empty() {
        return true;
    }
    let certified = matches!(
        data,
        ParsedAttestationData::Basic(_)
            | ParsedAttestationData::AttCa(_)
            | ParsedAttestationData::AnonCa(_)
    );
    certified && aaguid.is_some_and(|a| settings.aaguid_allowlist.contains(&a))
}

/// What a verified assertion proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proof {
    pub user_verified: bool,
    /// A synced (backup-eligible) credential: `swk`; a device-bound one: `hwk`.
    pub backup_eligible: bool,
}

impl Proof {
    /// The RFC 8176 method of the key: `hwk` (device-bound) or `swk` (synced).
    pub fn key_amr(&self) -> &'static str {
        if self.backup_eligible {
            AMR_SWK
        } else {
            AMR_HWK
        }
    }

    /// The methods of a passkey used as first factor: the key, user presence, and `mfa` when the
    /// authenticator verified the user (possession plus PIN or biometric).
    pub fn first_factor_methods(&self) -> Vec<String> {
        let mut m = vec![
            self.key_amr().to_string(),
            tessera_core::mfa::AMR_USER.to_string(),
        ];
        if self.user_verified {
            m.push(tessera_core::mfa::AMR_MFA.to_string());
        }
        m
    }
}

/// Verifies an assertion with the stored credential record and updates the record (counter,
/// backup state) for saving.
pub fn finish_authentication(
    rp: &WebauthnCore,
    response: &PublicKeyCredential,
    state: &AuthenticationState,
    record: &mut Credential,
) -> Result<Proof, Refusal> {
    let result = rp.authenticate_single_credential(response, state, record)?;
    apply_use(record, &result);
    Ok(Proof {
        user_verified: result.user_verified(),
        backup_eligible: result.backup_eligible(),
    })
}

fn apply_use(record: &mut Credential, result: &AuthenticationResult) {
    if result.counter() > record.counter {
        record.counter = result.counter();
    }
    record.backup_state = result.backup_state();
    // The engine refuses any other change of backup eligibility.
    if result.backup_eligible() {
        record.backup_eligible = true;
    }
}

/// base64url without padding, as credential ids travel in WebAuthn JSON.
pub fn credential_id_text(id: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

/// Reads a stored credential record.
pub fn parse_record(secret: &str) -> Result<Credential, String> {
    serde_json::from_str(secret)
        .map_err(|e| format!("a stored WebAuthn credential is unreadable: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relying_party_is_the_public_host() {
        let rp = relying_party("http://localhost:8080", "Acme").expect("a valid URL");
        assert_eq!(rp.rp_name(), "Acme");
        let (options, _) =
            start_authentication(&rp, &MfaSettings::default(), Vec::new()).expect("options");
        assert_eq!(options.public_key.rp_id, "localhost");
        assert!(options.public_key.allow_credentials.is_empty());
        assert_eq!(
            rp.get_allowed_origins(),
            &[Url::parse("http://localhost:8080").expect("a URL")]
        );
        assert!(relying_party("not a url", "x").is_err());
    }

    #[test]
    fn registration_asks_for_a_resident_key_and_the_tenant_policy() {
        let rp = relying_party("https://id.example.com/base", "Acme").expect("a valid URL");
        let settings = MfaSettings {
            user_verification: UserVerification::Required,
            attestation: AttestationPolicy::Direct,
            ..MfaSettings::default()
        };
        let user = Uuid::now_v7();
        let holder = Holder {
            id: user,
            name: "ann@example.com",
            display_name: "Ann",
        };
        let (ccr, _) =
            start_registration(&rp, &settings, &holder, vec![vec![1, 2, 3]]).expect("options");
        let v = serde_json::to_value(&ccr).expect("JSON");
        let pk = &v["publicKey"];
        assert_eq!(pk["rp"]["id"], "id.example.com");
        assert_eq!(pk["authenticatorSelection"]["residentKey"], "required");
        assert_eq!(pk["authenticatorSelection"]["requireResidentKey"], true);
        assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
        assert_eq!(pk["attestation"], "direct");
        assert_eq!(pk["excludeCredentials"][0]["id"], "AQID");
        assert_eq!(pk["user"]["id"], credential_id_text(user.as_bytes()));
    }

    #[test]
    fn amr_of_an_assertion() {
        let bound = Proof {
            user_verified: true,
            backup_eligible: false,
        };
        assert_eq!(bound.first_factor_methods(), ["hwk", "user", "mfa"]);
        let synced = Proof {
            user_verified: false,
            backup_eligible: true,
        };
        assert_eq!(synced.first_factor_methods(), ["swk", "user"]);
    }

    #[test]
    fn allow_list_needs_a_certified_listed_model() {
        let listed = Uuid::from_u128(7);
        let settings = MfaSettings {
            attestation: AttestationPolicy::Direct,
            aaguid_allowlist: vec![listed],
            ..MfaSettings::default()
        };
        let cert = ParsedAttestationData::Basic(Vec::new());
        assert!(attestation_allowed(&settings, &cert, Some(listed)));
        assert!(!attestation_allowed(
            &settings,
            &cert,
            Some(Uuid::from_u128(8))
        ));
        assert!(!attestation_allowed(&settings, &cert, None));
        assert!(!attestation_allowed(
            &settings,
            &ParsedAttestationData::Self_,
            Some(listed)
        ));
        assert!(!attestation_allowed(
            &settings,
            &ParsedAttestationData::None,
            Some(listed)
        ));
        // Without an allow-list any authenticator may register.
        assert!(attestation_allowed(
            &MfaSettings::default(),
            &ParsedAttestationData::None,
            None
        ));
    }

    #[test]
    fn engine_errors_are_classified() {
        assert_eq!(
            Refusal::from(WebauthnError::ParseNOMFailure),
            Refusal::Malformed
        );
        assert_eq!(
            Refusal::from(WebauthnError::CredentialPossibleCompromise).reason(),
            "sign_count_regression"
        );
        assert_eq!(
            Refusal::from(WebauthnError::MismatchedChallenge),
            Refusal::Failed
        );
    }
}
