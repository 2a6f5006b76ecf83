//! Clients: the applications that sign users in through a tenant (OAuth 2 / OpenID Connect).

use serde::{Deserialize, Serialize};

use crate::tenant::validate_display_name;
use crate::{CoreError, TenantId, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientType {
    /// Can keep a secret (server-side applications).
    Confidential,
    /// Cannot keep a secret (single-page and native apps); must use PKCE.
    Public,
}

pub const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";
pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
pub const GRANT_DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
pub const GRANT_TYPES: [&str; 4] = [
    GRANT_AUTHORIZATION_CODE,
    GRANT_REFRESH_TOKEN,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_DEVICE_CODE,
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub tenant_id: TenantId,
    /// Public identifier, unique within the tenant.
    pub client_id: String,
    pub name: String,
    pub client_type: ClientType,
    /// SHA-256 (hex) of the client secret; secrets are high-entropy random values, so a slow hash adds nothing.
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    /// Scopes the client may request; empty means the standard OpenID scopes.
    pub allowed_scopes: Vec<String>,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none`.
    pub token_endpoint_auth_method: String,
    /// First-party applications skip the consent page.
    pub first_party: bool,
    /// Extra OAuth/OIDC metadata (signing algorithms, token format, logout URIs) kept as given.
    pub metadata: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

/// Input for registering an application.
#[derive(Clone, Debug, Default)]
pub struct NewClient {
    pub name: String,
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub allowed_scopes: Vec<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub first_party: bool,
    pub metadata: Option<serde_json::Value>,
}

impl Client {
    /// Validates a registration. `client_id` and `secret_hash` come from the caller, which generated
    /// the secret (and shows it once).
    pub fn create(
        tenant_id: TenantId,
        client_id: String,
        secret_hash: Option<String>,
        input: NewClient,
        now: Timestamp,
    ) -> Result<Client, CoreError> {
        let client_type = if input.public {
            ClientType::Public
        } else {
            ClientType::Confidential
        };
        let grant_types = if input.grant_types.is_empty() {
            vec![
                GRANT_AUTHORIZATION_CODE.to_string(),
                GRANT_REFRESH_TOKEN.to_string(),
            ]
        } else {
            dedup(input.grant_types)
        };
        let auth_method = input.token_endpoint_auth_method.unwrap_or_else(|| {
            if input.public {
                "none".to_string()
            } else {
                "client_secret_basic".to_string()
            }
        });
        let client = Client {
            tenant_id,
            client_id,
            name: validate_display_name("name", &input.name)?,
            client_type,
            secret_hash,
            redirect_uris: dedup(input.redirect_uris),
            post_logout_redirect_uris: dedup(input.post_logout_redirect_uris),
            grant_types,
            allowed_scopes: dedup(input.allowed_scopes),
            token_endpoint_auth_method: auth_method,
            first_party: input.first_party,
            metadata: match input.metadata {
                None | Some(serde_json::Value::Null) => serde_json::json!({}),
                Some(m @ serde_json::Value::Object(_)) => m,
                Some(_) => return Err(CoreError::invalid("metadata", "must be a JSON object")),
            },
            created_at: now,
            updated_at: now,
        };
        client.validate()?;
        Ok(client)
    }

    /// Checks the rules that keep a registration safe; called on create and on every update.
    pub fn validate(&self) -> Result<(), CoreError> {
        for g in &self.grant_types {
            if !GRANT_TYPES.contains(&g.as_str()) {
                return Err(CoreError::invalid(
                    "grant_types",
                    format!(
                        "unsupported grant type \"{g}\"; use one of: {}",
                        GRANT_TYPES.join(", ")
                    ),
                ));
            }
        }
        let public = self.client_type == ClientType::Public;
        if public
            && self
                .grant_types
                .iter()
                .any(|g| g == GRANT_CLIENT_CREDENTIALS)
        {
            return Err(CoreError::invalid(
                "grant_types",
                "a public client cannot use client_credentials",
            ));
        }
        let methods: &[&str] = if public {
            &["none"]
        } else {
            &[
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
            ]
        };
        if !methods.contains(&self.token_endpoint_auth_method.as_str()) {
            return Err(CoreError::invalid(
                "token_endpoint_auth_method",
                format!("must be one of: {}", methods.join(", ")),
            ));
        }
        if self
            .grant_types
            .iter()
            .any(|g| g == GRANT_AUTHORIZATION_CODE)
            && self.redirect_uris.is_empty()
        {
            return Err(CoreError::invalid(
                "redirect_uris",
                "the authorization_code grant needs at least one redirect URI",
            ));
        }
        if self.redirect_uris.len() > 50 || self.post_logout_redirect_uris.len() > 50 {
            return Err(CoreError::invalid("redirect_uris", "at most 50 URIs"));
        }
        for u in self.redirect_uris.iter() {
            validate_redirect_uri("redirect_uris", u)?;
        }
        if let Some(uri) = self.metadata.get("jwks_uri") {
            match uri.as_str() {
                Some(u) if u.starts_with("https://") || u.starts_with("http://") => {
                    validate_redirect_uri("metadata.jwks_uri", u)?
                }
                _ => {
                    return Err(CoreError::invalid(
                        "metadata.jwks_uri",
                        "must be an https URL (or http on loopback)",
                    ));
                }
            }
        }
        if let Some(uri) = self.metadata.get("backchannel_logout_uri") {
            match uri.as_str() {
                Some(u) => validate_redirect_uri("metadata.backchannel_logout_uri", u)?,
                None => {
                    return Err(CoreError::invalid(
                        "metadata.backchannel_logout_uri",
                        "must be a string",
                    ));
                }
            }
        }
        for u in self.post_logout_redirect_uris.iter() {
            validate_redirect_uri("post_logout_redirect_uris", u)?;
        }
        for s in &self.allowed_scopes {
            // RFC 6749 §3.3 scope-token: printable ASCII except space, quote and backslash.
            if s.is_empty()
                || !s
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
            {
                return Err(CoreError::invalid(
                    "allowed_scopes",
                    format!("\"{s}\" is not a valid scope token"),
                ));
            }
        }
        Ok(())
    }

    pub fn is_public(&self) -> bool {
        self.client_type == ClientType::Public
    }
}

fn dedup(v: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(v.len());
    for s in v {
        let s = s.trim().to_string();
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Redirect URIs are matched exactly at sign-in, so they must be exact, absolute and safe when
/// registered: no fragment (RFC 6749 §3.1.2), https except for loopback (RFC 8252 §7.3), or a
/// private-use scheme with a dot for native apps (RFC 8252 §7.1). Never `javascript:` or `data:`.
pub fn validate_redirect_uri(field: &'static str, uri: &str) -> Result<(), CoreError> {
    let bad = |m: &str| Err(CoreError::invalid(field, format!("\"{uri}\": {m}")));
    if uri.len() > 2000 {
        return bad("is longer than 2000 characters");
    }
    let Ok(parsed) = url::Url::parse(uri) else {
        return bad("is not an absolute URI");
    };
    if parsed.fragment().is_some() {
        return bad("must not contain a fragment (#...)");
    }
    match parsed.scheme() {
        "https" => {
            if parsed.host_str().is_none_or(str::is_empty) {
                return bad("needs a host");
            }
        }
        "http" => {
            let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            if !loopback {
                return bad(
                    "plain http is only allowed for localhost, 127.0.0.1 and [::1]; use https",
                );
            }
        }
        "javascript" | "data" | "file" | "vbscript" | "blob" | "about" => {
            return bad("uses a forbidden scheme");
        }
        scheme if scheme.contains('.') => {}
        _ => {
            return bad(
                "must use https, loopback http, or a reverse-domain private scheme (com.example.app:/cb)",
            );
        }
    }
    if parsed.username() != "" || parsed.password().is_some() {
        return bad("must not contain credentials");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        time::macros::datetime!(2026-01-01 0:00 UTC)
    }

    #[test]
    fn redirect_uris() {
        for ok in [
            "https://app.example.com/cb",
            "http://localhost:3000/cb",
            "http://127.0.0.1/cb",
            "com.example.app:/oauth",
        ] {
            assert!(validate_redirect_uri("r", ok).is_ok(), "{ok}");
        }
        for bad in [
            "/relative",
            "https://x.com/cb#frag",
            "http://evil.example.com/cb",
            "javascript:alert(1)",
            "data:text/html,hi",
            "https://user:pw@x.com/cb",
            "ftp://x.com",
        ] {
            assert!(validate_redirect_uri("r", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn public_clients_cannot_use_client_credentials() {
        let r = Client::create(
            TenantId::new(),
            "c".into(),
            None,
            NewClient {
                name: "spa".into(),
                public: true,
                grant_types: vec![GRANT_CLIENT_CREDENTIALS.into()],
                ..Default::default()
            },
            now(),
        );
        assert!(r.is_err());
    }

    #[test]
    fn code_grant_needs_redirect_uri_and_defaults_apply() {
        let input = NewClient {
            name: "web".into(),
            ..Default::default()
        };
        assert!(Client::create(TenantId::new(), "c".into(), None, input.clone(), now()).is_err());
        let c = Client::create(
            TenantId::new(),
            "c".into(),
            Some("h".into()),
            NewClient {
                redirect_uris: vec!["https://a.example/cb".into()],
                ..input
            },
            now(),
        )
        .unwrap();
        assert_eq!(c.token_endpoint_auth_method, "client_secret_basic");
        assert_eq!(c.grant_types, vec!["authorization_code", "refresh_token"]);
    }

    #[test]
    fn machine_client_without_redirects() {
        let c = Client::create(
            TenantId::new(),
            "m".into(),
            Some("h".into()),
            NewClient {
                name: "cron".into(),
                grant_types: vec![GRANT_CLIENT_CREDENTIALS.into()],
                ..Default::default()
            },
            now(),
        )
        .unwrap();
        assert!(c.redirect_uris.is_empty());
        assert!(
            Client::create(
                TenantId::new(),
                "m".into(),
                None,
                NewClient {
                    name: "x".into(),
                    grant_types: vec!["password".into()],
                    ..Default::default()
                },
                now()
            )
            .is_err()
        );
    }
}
