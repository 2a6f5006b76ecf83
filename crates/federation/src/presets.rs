//! Presets for well-known providers. Each is only a [`ProviderConfig`] value (as JSON, so an
//! operator's settings can be laid over it with a merge patch): the sign-in runs through the
//! same generic OpenID Connect or OAuth 2.0 code as any other provider.
//!
//! - `google`: OpenID Connect with discovery at `https://accounts.google.com`.
//! - `microsoft` (Entra ID): OpenID Connect; `microsoft` or `microsoft:common` accepts work,
//!   school and personal accounts, `microsoft:organizations` work and school accounts,
//!   `microsoft:consumers` personal accounts, `microsoft:<tenant id>` one directory. The
//!   multi-tenant forms check the issuer against the token's `tid`
//!   (`https://login.microsoftonline.com/{tenantid}/v2.0`). Microsoft's `email` claim is not
//!   verified by Microsoft, so it never counts as verified here.
//! - `apple`: OpenID Connect with explicit endpoints, `form_post` responses (Apple requires it
//!   when asking for name and email), the client secret as an ES256 JWT.
//! - `github`: OAuth 2.0, `/user` for the profile, `/user/emails` for a verified address.
//! - `facebook`: OAuth 2.0, Graph API `me` with the fields asked for explicitly.

use serde_json::{Value, json};

/// The preset names accepted (`microsoft:<tenant>` is also accepted).
pub const PRESETS: &[&str] = &["google", "microsoft", "apple", "github", "facebook"];

const MS_CONSUMERS_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

fn microsoft(tenant: &str) -> Result<Value, String> {
    let valid = !tenant.is_empty()
        && tenant.len() <= 64
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !valid {
        return Err(format!("microsoft:{tenant}: not a tenant id or domain"));
    }
    let base = "https://login.microsoftonline.com";
    let (issuer, discovery) = match tenant {
        "common" | "organizations" => (
            format!("{base}/{{tenantid}}/v2.0"),
            Some(format!(
                "{base}/{tenant}/v2.0/.well-known/openid-configuration"
            )),
        ),
        "consumers" => (
            format!("{base}/{MS_CONSUMERS_TENANT}/v2.0"),
            Some(format!(
                "{base}/consumers/v2.0/.well-known/openid-configuration"
            )),
        ),
        id => (format!("{base}/{id}/v2.0"), None),
    };
    Ok(json!({
        "protocol": "oidc",
        "preset": format!("microsoft:{tenant}"),
        "issuer": issuer,
        "discovery": true,
        "discovery_url": discovery,
        "client_auth": "client_secret_post",
        "scopes": ["openid", "email", "profile"],
        "authorize_params": {"prompt": "select_account"},
        // Entra ID does not verify the addresses in `email` (the "nOAuth" account takeovers).
        "assume_email_verified": false,
        "claims": {"subject": "sub", "email_verified": "email_verified", "groups": "groups"},
    }))
}

/// The configuration of preset `name`, as JSON to lay the operator's settings over.
pub fn preset(name: &str) -> Result<Value, String> {
    if let Some(tenant) = name.strip_prefix("microsoft:") {
        return microsoft(tenant);
    }
    match name {
        "google" => Ok(json!({
            "protocol": "oidc",
            "preset": "google",
            "issuer": "https://accounts.google.com",
            "discovery": true,
            "client_auth": "client_secret_post",
            "scopes": ["openid", "email", "profile"],
        })),
        "microsoft" => microsoft("common"),
        "apple" => Ok(json!({
            "protocol": "oidc",
            "preset": "apple",
            "issuer": "https://appleid.apple.com",
            "discovery": false,
            "authorization_endpoint": "https://appleid.apple.com/auth/authorize",
            "token_endpoint": "https://appleid.apple.com/auth/token",
            "jwks_uri": "https://appleid.apple.com/auth/keys",
            "client_auth": "apple_jwt",
            "scopes": ["openid", "name", "email"],
            "response_mode": "form_post",
            "id_token_algs": ["RS256"],
        })),
        "github" => Ok(json!({
            "protocol": "oauth2",
            "preset": "github",
            "discovery": false,
            "authorization_endpoint": "https://github.com/login/oauth/authorize",
            "token_endpoint": "https://github.com/login/oauth/access_token",
            "userinfo_endpoint": "https://api.github.com/user",
            "emails_endpoint": "https://api.github.com/user/emails",
            "client_auth": "client_secret_post",
            "scopes": ["read:user", "user:email"],
            "claims": {"subject": "id", "name": "name", "given_name": "given_name", "family_name": "family_name"},
        })),
        "facebook" => Ok(json!({
            "protocol": "oauth2",
            "preset": "facebook",
            "discovery": false,
            "authorization_endpoint": "https://www.facebook.com/v19.0/dialog/oauth",
            "token_endpoint": "https://graph.facebook.com/v19.0/oauth/access_token",
            "userinfo_endpoint": "https://graph.facebook.com/v19.0/me?fields=id,name,email,first_name,last_name",
            "client_auth": "client_secret_post",
            "scopes": ["email", "public_profile"],
            "claims": {"subject": "id", "given_name": "first_name", "family_name": "last_name"},
        })),
        other => Err(format!(
            "unknown preset {other:?}; known presets: google, microsoft[:tenant], apple, github, facebook"
        )),
    }
}

/// Builds a provider's configuration: the preset (if any), then the operator's settings over it.
pub fn build(preset_name: Option<&str>, settings: &Value) -> Result<crate::ProviderConfig, String> {
    let mut base = match preset_name {
        Some(p) => preset(p)?,
        None => json!({}),
    };
    crate::config::merge_patch(&mut base, settings);
    serde_json::from_value(base).map_err(|e| format!("invalid provider settings: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ClientAuth, Protocol, ResponseMode};

    #[test]
    fn every_preset_is_a_valid_configuration_once_given_a_client() {
        for name in PRESETS.iter().copied().chain([
            "microsoft:organizations",
            "microsoft:consumers",
            "microsoft:72f988bf-86f1-41af-91ab-2d7cd011db47",
        ]) {
            let mut settings = json!({"client_id": "client"});
            if name == "apple" {
                settings["apple"] = json!({"team_id": "T", "key_id": "K"});
            }
            let c = build(Some(name), &settings).unwrap_or_else(|e| panic!("{name}: {e}"));
            c.validate(true).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn presets_differ_only_in_values() {
        let apple = build(Some("apple"), &json!({"client_id": "c"})).unwrap();
        assert_eq!(apple.response_mode, ResponseMode::FormPost);
        assert_eq!(apple.client_auth, ClientAuth::AppleJwt);
        let gh = build(Some("github"), &json!({"client_id": "c"})).unwrap();
        assert_eq!(gh.protocol, Protocol::Oauth2);
        assert_eq!(gh.claims.subject, "id");
        let ms = build(Some("microsoft"), &json!({"client_id": "c"})).unwrap();
        assert_eq!(
            ms.issuer.as_deref(),
            Some("https://login.microsoftonline.com/{tenantid}/v2.0")
        );
        assert!(!ms.assume_email_verified);
        let one = build(
            Some("microsoft:contoso.onmicrosoft.com"),
            &json!({"client_id": "c"}),
        )
        .unwrap();
        assert_eq!(
            one.issuer.as_deref(),
            Some("https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0")
        );
        assert!(one.discovery_url.is_none());
    }

    #[test]
    fn operator_settings_override_the_preset_and_unknown_presets_fail() {
        let g = build(
            Some("google"),
            &json!({"client_id": "c", "issuer": "http://127.0.0.1:9/fake", "scopes": ["openid", "email"]}),
        )
        .unwrap();
        assert_eq!(g.issuer.as_deref(), Some("http://127.0.0.1:9/fake"));
        assert_eq!(g.scopes, vec!["openid", "email"]);
        assert!(build(Some("myspace"), &json!({})).is_err());
        assert!(build(Some("microsoft:bad/tenant"), &json!({})).is_err());
    }
}
