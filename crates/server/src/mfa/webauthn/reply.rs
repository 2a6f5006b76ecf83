//! How the WebAuthn endpoints answer: JSON bodies `{"error", "message"}` with a 4xx status for
//! anything the browser sent wrong, 503 when the server cannot decide, never a page or a 500.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::de::DeserializeOwned;
use tessera_core::StoreError;
use tessera_core::store::TenantStore;
use tessera_core::tenant::Tenant;

use super::ceremony::Refusal;
use crate::mfa::flow::FlowError;
use crate::pages::csrf;
use crate::state::AppState;

/// The header carrying the page's CSRF token (the same token its forms carry).
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A refused request.
#[derive(Debug)]
pub struct Failure {
    pub status: StatusCode,
    pub error: &'static str,
    pub message: String,
    /// Seconds to wait before trying again (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl Failure {
    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            status,
            error,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn retry_after(mut self, secs: u64) -> Failure {
        self.retry_after = Some(secs);
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// No ceremony of this kind awaits an answer in this browser.
    pub fn no_ceremony() -> Failure {
        Failure::new(
            StatusCode::BAD_REQUEST,
            "no_ceremony",
            "No passkey request is in progress in this browser (it expired or was already \
             answered). Please try again.",
        )
    }

    pub fn unavailable(what: &str, e: impl std::fmt::Display) -> Failure {
        tracing::error!(error = %e, "{what}");
        Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "The service is temporarily unavailable. Please try again.",
        )
    }

    /// The answer to a refused assertion or registration.
    pub fn refused(r: &Refusal) -> Failure {
        match r {
            Refusal::Malformed => {
                Failure::bad_request("The authenticator's response could not be read.")
            }
            Refusal::UserNotVerified => Failure::new(
                StatusCode::UNAUTHORIZED,
                "user_verification_required",
                "Your authenticator did not verify you (PIN, fingerprint or face). This sign-in \
                 requires it.",
            ),
            Refusal::SignCountRegression => Failure::new(
                StatusCode::UNAUTHORIZED,
                "sign_count_regression",
                "This passkey's signature counter went backwards, so it may have been copied. It \
                 was refused; sign in another way and check your passkeys.",
            ),
            Refusal::AlreadyRegistered => Failure::new(
                StatusCode::CONFLICT,
                "credential_exists",
                "This passkey or security key is already registered.",
            ),
            Refusal::AuthenticatorNotAllowed => Failure::new(
                StatusCode::FORBIDDEN,
                "authenticator_not_allowed",
                "Your organization does not allow this model of authenticator.",
            ),
            Refusal::Failed => Failure::new(
                StatusCode::UNAUTHORIZED,
                "verification_failed",
                "The passkey could not be verified. Please try again.",
            ),
        }
    }

    /// A passkey this tenant does not know, or one of another account.
    pub fn unknown_credential() -> Failure {
        Failure::new(
            StatusCode::UNAUTHORIZED,
            "unknown_credential",
            "This passkey is not registered here. Sign in another way, or use a passkey you \
             registered for this account.",
        )
    }

    pub fn too_many_attempts() -> Failure {
        Failure::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "Too many failed attempts. Please start signing in again.",
        )
    }

    pub fn flow(e: FlowError) -> Failure {
        match e {
            FlowError::NoFlow => Failure::no_ceremony(),
            FlowError::Denied { .. } => Failure::new(
                StatusCode::FORBIDDEN,
                "access_denied",
                "Your organization's access policy does not allow this sign-in (for example \
                 from this network or at this time).",
            ),
            FlowError::EmailUnverified => Failure::new(
                StatusCode::FORBIDDEN,
                "email_unverified",
                "Confirm your email address first: open the link we sent you, then sign in.",
            ),
            FlowError::Internal(e) => Failure::unavailable("a WebAuthn sign-in step failed", e),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::unavailable("a WebAuthn request could not reach the store", e)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            Json(serde_json::json!({"error": self.error, "message": self.message})),
        )
            .into_response();
        no_store(r.headers_mut());
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }
}

/// A successful answer: JSON, never cached, with the cookies of `jar`.
pub fn ok(jar: CookieJar, body: serde_json::Value) -> Response {
    let mut r = (jar, Json(body)).into_response();
    no_store(r.headers_mut());
    r
}

fn no_store(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Loads the tenant named in the path; a JSON 404 when there is none.
pub async fn tenant(state: &AppState, slug: &str) -> Result<Tenant, Failure> {
    let not_found = || Failure::new(StatusCode::NOT_FOUND, "not_found", "No such tenant.");
    if tessera_core::tenant::validate_slug(slug).is_err() {
        return Err(not_found());
    }
    state
        .services
        .store
        .get_tenant_by_slug(slug)
        .await?
        .ok_or_else(not_found)
}

/// The request's CSRF header must match the browser's CSRF cookie.
pub fn check_csrf(jar: &CookieJar, headers: &HeaderMap, key: &[u8; 32]) -> Result<(), Failure> {
    let token = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if token.is_empty() || !csrf::verify(jar, key, token) {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            "csrf_failed",
            "This page has expired. Please reload it and try again.",
        ));
    }
    Ok(())
}

/// Parses a JSON body; an empty body reads as `{}`.
pub fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Failure> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(bytes)
        .map_err(|e| Failure::bad_request(format!("The request body is not valid: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Start {
        #[serde(default)]
        name: String,
    }

    #[test]
    fn bodies() {
        assert_eq!(body::<Start>(b"").expect("empty is {}").name, "");
        assert_eq!(
            body::<Start>(br#"{"name":"Key"}"#).expect("valid").name,
            "Key"
        );
        let e = body::<Start>(b"{nope").expect_err("malformed");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.error, "invalid_request");
    }
}
