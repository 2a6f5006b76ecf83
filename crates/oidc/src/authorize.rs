//! Validation of authorization requests (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1, RFC 7636).
//! Errors about the client or the redirect URI are shown to the user and never redirected
//! (RFC 6749 §4.1.2.1); every other error goes back to the validated redirect URI.

use serde::{Deserialize, Serialize};
use tessera_core::client::{Client, GRANT_AUTHORIZATION_CODE};

use crate::error::{ErrorCode, OAuthError};
use crate::params::Params;
use crate::scope::{check_allowed, parse_scope};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    Query,
    FormPost,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    None,
    Login,
    Consent,
    SelectAccount,
}

/// A validated authorization request: what the rest of the flow relies on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Vec<Prompt>,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    pub acr_values: Option<String>,
    pub response_mode: ResponseMode,
    /// An upstream identity provider to sign in with straight away (its alias), from
    /// `kc_idp_hint` or `idp_hint`.
    #[serde(default)]
    pub idp_hint: Option<String>,
}

impl AuthorizeRequest {
    pub fn has_prompt(&self, p: Prompt) -> bool {
        self.prompt.contains(&p)
    }
    pub fn is_openid(&self) -> bool {
        self.scopes.iter().any(|s| s == crate::scope::OPENID)
    }
}

/// Why a request was refused, and where the answer goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorizeFailure {
    /// The client or redirect URI cannot be trusted: show an error page.
    ShowPage(OAuthError),
    /// Send the error back to the client.
    Redirect {
        redirect_uri: String,
        response_mode: ResponseMode,
        state: Option<String>,
        error: OAuthError,
    },
}

/// Step 1: resolves the redirect URI against the client's registration (exact string match).
pub fn resolve_redirect_uri(params: &Params, client: &Client) -> Result<String, OAuthError> {
    match params.get("redirect_uri") {
        Some(uri) => {
            if client.redirect_uris.iter().any(|r| r == uri) {
                Ok(uri.to_string())
            } else {
                Err(OAuthError::invalid_request(
                    "redirect_uri does not exactly match any URI registered for this client",
                ))
            }
        }
        None => match client.redirect_uris.as_slice() {
            [only] => Ok(only.clone()),
            _ => Err(OAuthError::invalid_request(
                "redirect_uri is required: the client has several registered",
            )),
        },
    }
}

/// Validates the whole request for `client` (already looked up from `client_id`).
pub fn validate(params: &Params, client: &Client) -> Result<AuthorizeRequest, AuthorizeFailure> {
    let redirect_uri = resolve_redirect_uri(params, client).map_err(AuthorizeFailure::ShowPage)?;
    let state = params.get("state").map(str::to_string);
    let response_mode = match params.get("response_mode") {
        None | Some("query") => ResponseMode::Query,
        Some("form_post") => ResponseMode::FormPost,
        Some(_) => {
            return Err(AuthorizeFailure::Redirect {
                redirect_uri,
                response_mode: ResponseMode::Query,
                state,
                error: OAuthError::invalid_request("response_mode must be query or form_post"),
            });
        }
    };
    let fail = |error: OAuthError| AuthorizeFailure::Redirect {
        redirect_uri: redirect_uri.clone(),
        response_mode,
        state: state.clone(),
        error,
    };

    if params.get("request").is_some() {
        return Err(fail(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        )));
    }
    if params.get("request_uri").is_some() {
        return Err(fail(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        )));
    }
    if params.get("registration").is_some() {
        return Err(fail(OAuthError::new(
            ErrorCode::RegistrationNotSupported,
            "the registration parameter is not supported",
        )));
    }
    match params.get("response_type") {
        None => {
            return Err(fail(OAuthError::invalid_request(
                "response_type is missing",
            )));
        }
        Some("code") => {}
        Some(_) => {
            return Err(fail(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported (no implicit or hybrid flows)",
            )));
        }
    }
    if !client
        .grant_types
        .iter()
        .any(|g| g == GRANT_AUTHORIZATION_CODE)
    {
        return Err(fail(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code grant",
        )));
    }
    let scopes = parse_scope(params.get("scope")).map_err(fail)?;
    check_allowed(&scopes, &client.allowed_scopes).map_err(fail)?;

    let code_challenge = params.get("code_challenge").map(str::to_string);
    let code_challenge_method = match (params.get("code_challenge_method"), &code_challenge) {
        (Some("S256"), Some(_)) | (None, Some(_)) => Some("S256".to_string()),
        (Some("plain"), _) => {
            return Err(fail(OAuthError::invalid_request(
                "code_challenge_method plain is not allowed; use S256",
            )));
        }
        (Some(_), Some(_)) => {
            return Err(fail(OAuthError::invalid_request(
                "code_challenge_method must be S256",
            )));
        }
        (Some(_), None) => {
            return Err(fail(OAuthError::invalid_request(
                "code_challenge_method given without code_challenge",
            )));
        }
        (None, None) => None,
    };
    // RFC 7636 §4.1-4.2: for S256 the challenge is 43 base64url characters.
    if let Some(c) = &code_challenge {
        let ok = c.len() == 43
            && c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if params.get("code_challenge_method").is_none() {
            return Err(fail(OAuthError::invalid_request(
                "code_challenge_method is required (S256); plain is not allowed",
            )));
        }
        if !ok {
            return Err(fail(OAuthError::invalid_request(
                "code_challenge must be the base64url SHA-256 of the verifier (43 characters)",
            )));
        }
    }
    if client.is_public() && code_challenge.is_none() {
        return Err(fail(OAuthError::invalid_request(
            "public clients must use PKCE (code_challenge with S256)",
        )));
    }

    let mut prompt = Vec::new();
    for p in params
        .get("prompt")
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
    {
        let v = match p {
            "none" => Prompt::None,
            "login" => Prompt::Login,
            "consent" => Prompt::Consent,
            "select_account" => Prompt::SelectAccount,
            other => {
                return Err(fail(OAuthError::invalid_request(format!(
                    "unknown prompt value \"{}\"",
                    other.escape_default()
                ))));
            }
        };
        if !prompt.contains(&v) {
            prompt.push(v);
        }
    }
    if prompt.contains(&Prompt::None) && prompt.len() > 1 {
        return Err(fail(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        )));
    }
    let max_age = match params.get("max_age") {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                return Err(fail(OAuthError::invalid_request(
                    "max_age must be a non-negative number of seconds",
                )));
            }
        },
    };
    let short = |key: &str, max: usize| -> Result<Option<String>, AuthorizeFailure> {
        match params.get(key) {
            Some(v) if v.len() > max => Err(fail(OAuthError::invalid_request(format!(
                "{key} is too long (max {max})"
            )))),
            v => Ok(v.map(str::to_string)),
        }
    };
    Ok(AuthorizeRequest {
        client_id: client.client_id.clone(),
        scopes,
        nonce: short("nonce", 512)?,
        state: short("state", 2048)?,
        code_challenge,
        code_challenge_method,
        prompt,
        max_age,
        login_hint: short("login_hint", 254)?,
        ui_locales: short("ui_locales", 100)?,
        acr_values: short("acr_values", 500)?,
        idp_hint: short("kc_idp_hint", 100)?.or(short("idp_hint", 100)?),
        response_mode,
        redirect_uri: redirect_uri.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::TenantId;
    use tessera_core::client::NewClient;

    fn client(public: bool) -> Client {
        Client::create(
            TenantId::new(),
            "app".into(),
            (!public).then(|| "h".into()),
            NewClient {
                name: "App".into(),
                public,
                redirect_uris: vec!["https://app.example/cb".into()],
                ..Default::default()
            },
            time::macros::datetime!(2026-01-01 0:00 UTC),
        )
        .unwrap()
    }

    fn p(q: &str) -> Params {
        Params::parse(q.as_bytes()).unwrap()
    }

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn valid_request() {
        let r = validate(&p("response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid%20email&state=xyz&nonce=n"), &client(false)).unwrap();
        assert_eq!(r.scopes, vec!["openid", "email"]);
        assert_eq!(r.state.as_deref(), Some("xyz"));
        assert_eq!(r.response_mode, ResponseMode::Query);
    }

    #[test]
    fn wrong_redirect_uri_is_never_redirected() {
        let e = validate(
            &p("response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2Fcb"),
            &client(false),
        )
        .unwrap_err();
        assert!(matches!(e, AuthorizeFailure::ShowPage(_)));
        // Prefix and case variations are not matches either.
        let e = validate(
            &p("response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%2Fx"),
            &client(false),
        )
        .unwrap_err();
        assert!(matches!(e, AuthorizeFailure::ShowPage(_)));
    }

    #[test]
    fn errors_redirect_with_state() {
        let e = validate(&p("response_type=token&state=s"), &client(false)).unwrap_err();
        match e {
            AuthorizeFailure::Redirect { error, state, .. } => {
                assert_eq!(error.code, ErrorCode::UnsupportedResponseType);
                assert_eq!(state.as_deref(), Some("s"));
            }
            _ => panic!("expected redirect"),
        }
    }

    #[test]
    fn pkce_rules() {
        let c = client(true);
        assert!(
            validate(&p("response_type=code&scope=openid"), &c).is_err(),
            "public clients need PKCE"
        );
        assert!(
            validate(
                &p(&format!(
                    "response_type=code&code_challenge={CHALLENGE}&code_challenge_method=plain"
                )),
                &c
            )
            .is_err()
        );
        assert!(
            validate(
                &p(&format!("response_type=code&code_challenge={CHALLENGE}")),
                &c
            )
            .is_err(),
            "method must be explicit"
        );
        let ok = validate(
            &p(&format!(
                "response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256"
            )),
            &c,
        )
        .unwrap();
        assert_eq!(ok.code_challenge_method.as_deref(), Some("S256"));
    }

    #[test]
    fn prompt_and_max_age() {
        let c = client(false);
        assert!(validate(&p("response_type=code&prompt=none%20login"), &c).is_err());
        assert!(validate(&p("response_type=code&max_age=-1"), &c).is_err());
        let r = validate(
            &p("response_type=code&prompt=login%20consent&max_age=0&response_mode=form_post"),
            &c,
        )
        .unwrap();
        assert!(r.has_prompt(Prompt::Login) && r.has_prompt(Prompt::Consent));
        assert_eq!(r.max_age, Some(0));
        assert_eq!(r.response_mode, ResponseMode::FormPost);
    }

    #[test]
    fn unsupported_parameters() {
        let e = validate(&p("response_type=code&request=eyJ"), &client(false)).unwrap_err();
        assert!(matches!(
            e,
            AuthorizeFailure::Redirect {
                error: OAuthError {
                    code: ErrorCode::RequestNotSupported,
                    ..
                },
                ..
            }
        ));
        let e = validate(&p("response_type=code&scope=admin"), &client(false)).unwrap_err();
        assert!(matches!(
            e,
            AuthorizeFailure::Redirect {
                error: OAuthError {
                    code: ErrorCode::InvalidScope,
                    ..
                },
                ..
            }
        ));
    }
}
