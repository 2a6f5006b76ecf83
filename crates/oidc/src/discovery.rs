//! Provider metadata (OpenID Connect Discovery 1.0 §3, RFC 8414 §2), generated from the one list of
//! endpoint paths and capabilities below. The server mounts its routes from the same constants.

use serde_json::{Value, json};

use crate::scope::STANDARD_SCOPES;

/// Endpoint paths relative to a tenant's issuer (`{public_url}/t/{slug}`).
pub mod paths {
    pub const DISCOVERY: &str = "/.well-known/openid-configuration";
    pub const AUTHORIZE: &str = "/authorize";
    pub const TOKEN: &str = "/token";
    pub const USERINFO: &str = "/userinfo";
    pub const JWKS: &str = "/jwks";
    pub const REVOKE: &str = "/revoke";
    pub const INTROSPECT: &str = "/introspect";
    pub const END_SESSION: &str = "/logout";
    pub const DEVICE_AUTHORIZATION: &str = "/device/authorize";
    /// The page where people enter a device's user code (RFC 8628 `verification_uri`).
    pub const DEVICE: &str = "/device";
}

pub const GRANT_TYPES_SUPPORTED: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:device_code",
];
pub const TOKEN_AUTH_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
];
pub const ID_TOKEN_ALGS: &[&str] = &["RS256", "ES256", "EdDSA"];
pub const ASSERTION_ALGS: &[&str] = &["RS256", "PS256", "ES256", "EdDSA"];

pub fn endpoint(issuer: &str, path: &str) -> String {
    format!("{issuer}{path}")
}

/// The discovery document of the tenant whose issuer is `issuer`.
pub fn provider_metadata(issuer: &str) -> Value {
    let e = |p: &str| endpoint(issuer, p);
    let authenticated: Vec<&str> = TOKEN_AUTH_METHODS
        .iter()
        .copied()
        .filter(|m| *m != "none")
        .collect();
    json!({
        "issuer": issuer,
        "authorization_endpoint": e(paths::AUTHORIZE),
        "token_endpoint": e(paths::TOKEN),
        "userinfo_endpoint": e(paths::USERINFO),
        "jwks_uri": e(paths::JWKS),
        "revocation_endpoint": e(paths::REVOKE),
        "introspection_endpoint": e(paths::INTROSPECT),
        "end_session_endpoint": e(paths::END_SESSION),
        "device_authorization_endpoint": e(paths::DEVICE_AUTHORIZATION),
        "scopes_supported": STANDARD_SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": GRANT_TYPES_SUPPORTED,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ID_TOKEN_ALGS,
        "token_endpoint_auth_methods_supported": TOKEN_AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "revocation_endpoint_auth_methods_supported": authenticated,
        "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "introspection_endpoint_auth_methods_supported": authenticated,
        "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": tessera_core::mfa::ACR_VALUES_SUPPORTED,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid", "at_hash",
            "name", "given_name", "family_name", "updated_at", "email", "email_verified", "phone_number",
            "phone_number_verified", "locale", "zoneinfo", "picture", "website", "nickname", "preferred_username",
            "consents"
        ],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_derive_from_the_issuer() {
        let m = provider_metadata("http://localhost:8080/t/acme");
        assert_eq!(m["issuer"], "http://localhost:8080/t/acme");
        assert_eq!(m["token_endpoint"], "http://localhost:8080/t/acme/token");
        assert_eq!(m["jwks_uri"], "http://localhost:8080/t/acme/jwks");
        assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
        assert!(
            !m["grant_types_supported"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g == "implicit")
        );
    }
}
