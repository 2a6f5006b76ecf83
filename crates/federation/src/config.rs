//! How one upstream provider is reached and read: the protocol settings an operator configures
//! (stored as JSON beside the provider), with defaults that fit a standard OpenID Provider.
//! Presets (`crate::presets`) are nothing but values of this type.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Protocol of the upstream provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// OpenID Connect: discovery, ID token validated against the provider's JWKS.
    #[default]
    Oidc,
    /// Plain OAuth 2.0 with a user-info endpoint (GitHub, Facebook): who the person is comes
    /// from the user-info answer, fetched with the access token.
    Oauth2,
}

/// How Tessera authenticates to the provider's token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// HTTP Basic with the client id and secret (RFC 6749 §2.3.1; the OpenID Connect default).
    #[default]
    ClientSecretBasic,
    /// Client id and secret in the form body.
    ClientSecretPost,
    /// Sign in with Apple: the client secret is an ES256 JWT signed with the team's key
    /// (`apple.team_id`, `apple.key_id`; the private key is the provider's secret).
    AppleJwt,
    /// A public client (PKCE only).
    None,
}

/// Where the provider sends the browser back with the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// `GET …/callback?code=…&state=…`.
    #[default]
    Query,
    /// `POST …/callback` with the parameters in a form (Apple, when it shares name and email).
    FormPost,
}

/// The team and key of a Sign in with Apple client secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppleKey {
    pub team_id: String,
    pub key_id: String,
}

/// Which upstream claims (dotted paths into the ID token or user-info JSON) carry the facts
/// Tessera needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimNames {
    /// The stable identifier of the person at the provider. Numbers are read as text.
    pub subject: String,
    pub email: String,
    pub email_verified: String,
    pub name: String,
    pub given_name: String,
    pub family_name: String,
    /// A claim with a list of group names (or one name), for `group_rules`.
    pub groups: Option<String>,
}

impl Default for ClaimNames {
    fn default() -> Self {
        ClaimNames {
            subject: "sub".into(),
            email: "email".into(),
            email_verified: "email_verified".into(),
            name: "name".into(),
            given_name: "given_name".into(),
            family_name: "family_name".into(),
            groups: None,
        }
    }
}

/// Copies an upstream claim into the local account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeRule {
    /// Dotted path of the upstream claim, e.g. `department` or `address.country`.
    pub claim: String,
    /// `name`, `given_name`, `family_name`, `phone`, or `attributes.<key>` (a custom attribute).
    pub target: String,
}

/// Puts people whose upstream groups include `upstream` into the local group `group` (by name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupRule {
    pub upstream: String,
    pub group: String,
}

/// The protocol settings of one upstream provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProviderConfig {
    pub protocol: Protocol,
    /// The preset this configuration started from (`google`, `microsoft`, `apple`, `github`,
    /// `facebook`), for operators; behaviour depends only on the other fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// OpenID Connect: the issuer the ID tokens must name. `{tenantid}` in it stands for the
    /// token's `tid` claim (Microsoft's multi-tenant endpoints).
    pub issuer: Option<String>,
    /// OpenID Connect: read the endpoints from the discovery document.
    pub discovery: bool,
    /// Where the discovery document is; default `{issuer}/.well-known/openid-configuration`.
    pub discovery_url: Option<String>,
    /// Endpoints; with discovery, these override what the document says.
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    /// GitHub's `/user/emails`: a list of `{email, primary, verified}`.
    pub emails_endpoint: Option<String>,
    pub client_id: String,
    pub client_auth: ClientAuth,
    pub apple: Option<AppleKey>,
    pub scopes: Vec<String>,
    pub response_mode: ResponseMode,
    /// Send a PKCE challenge (S256). Providers that do not know PKCE ignore it.
    pub pkce: bool,
    /// Extra authorization request parameters, e.g. `{"prompt": "select_account"}`.
    pub authorize_params: BTreeMap<String, String>,
    /// OpenID Connect: also call the user-info endpoint and merge its claims (the ID token's
    /// win). OAuth 2.0 providers always use it.
    pub userinfo: bool,
    /// ID token signature algorithms accepted.
    pub id_token_algs: Vec<String>,
    /// Allowed difference between the provider's clock and ours, in seconds (at most 300).
    pub clock_skew_secs: u32,
    /// With `{tenantid}` in the issuer: the directory tenants allowed to sign in (empty: any).
    pub allowed_tenants: Vec<String>,
    pub claims: ClaimNames,
    /// Whether an email without an `email_verified` claim counts as verified. False unless the
    /// provider documents that it only ever releases verified addresses.
    pub assume_email_verified: bool,
    pub attribute_rules: Vec<AttributeRule>,
    pub group_rules: Vec<GroupRule>,
    /// Apply `attribute_rules` and `group_rules` at every sign-in, not only when the account is
    /// created.
    pub sync_profile: bool,
    /// Keep the provider's tokens (sealed) with the linked identity, for applications that call
    /// the provider's API on the person's behalf.
    pub store_tokens: bool,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        ProviderConfig {
            protocol: Protocol::Oidc,
            preset: None,
            issuer: None,
            discovery: true,
            discovery_url: None,
            authorization_endpoint: None,
            token_endpoint: None,
            userinfo_endpoint: None,
            jwks_uri: None,
            emails_endpoint: None,
            client_id: String::new(),
            client_auth: ClientAuth::ClientSecretBasic,
            apple: None,
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            response_mode: ResponseMode::Query,
            pkce: true,
            authorize_params: BTreeMap::new(),
            userinfo: false,
            id_token_algs: DEFAULT_ALGS.iter().map(|a| a.to_string()).collect(),
            clock_skew_secs: 60,
            allowed_tenants: Vec::new(),
            claims: ClaimNames::default(),
            assume_email_verified: false,
            attribute_rules: Vec::new(),
            group_rules: Vec::new(),
            sync_profile: false,
            store_tokens: false,
        }
    }
}

/// Signature algorithms accepted on ID tokens by default.
pub const DEFAULT_ALGS: &[&str] = &["RS256", "PS256", "ES256", "EdDSA"];

/// Authorization request parameters the protocol sets itself; `authorize_params` may not
/// override them.
const RESERVED_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
];

/// A configuration problem, naming the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "config.{}: {}", self.field, self.message)
    }
}

fn err(field: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field,
        message: message.into(),
    }
}

/// Accepts `https://` URLs, and `http://` only on loopback hosts (local development and tests).
pub fn check_url(field: &'static str, value: &str) -> Result<(), ConfigError> {
    let url = url::Url::parse(value).map_err(|e| err(field, format!("not a URL ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err(field, "must not carry credentials"));
    }
    if url.fragment().is_some() {
        return Err(err(field, "must not have a fragment"));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        _ => Err(err(
            field,
            "must be an https:// URL (http:// only for localhost)",
        )),
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn check_claim_path(field: &'static str, path: &str) -> Result<(), ConfigError> {
    if path.is_empty()
        || path.len() > 100
        || path.split('.').any(|p| p.is_empty())
        || path.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(err(
            field,
            "must be a dotted claim path such as email or address.country",
        ));
    }
    Ok(())
}

impl ProviderConfig {
    /// Checks the configuration; `has_secret` says whether the provider has a client secret (or
    /// Apple private key) stored.
    pub fn validate(&self, has_secret: bool) -> Result<(), ConfigError> {
        if self.client_id.trim().is_empty() || self.client_id.len() > 255 {
            return Err(err("client_id", "must be 1-255 characters"));
        }
        for (field, value) in [
            ("issuer", &self.issuer),
            ("discovery_url", &self.discovery_url),
            ("authorization_endpoint", &self.authorization_endpoint),
            ("token_endpoint", &self.token_endpoint),
            ("userinfo_endpoint", &self.userinfo_endpoint),
            ("jwks_uri", &self.jwks_uri),
            ("emails_endpoint", &self.emails_endpoint),
        ] {
            if let Some(v) = value {
                // The issuer may hold the `{tenantid}` placeholder.
                check_url(field, &v.replace("{tenantid}", "tenant"))?;
            }
        }
        match self.protocol {
            Protocol::Oidc => {
                if self.issuer.is_none() {
                    return Err(err("issuer", "an OpenID Connect provider needs its issuer"));
                }
                if !self.discovery
                    && (self.authorization_endpoint.is_none()
                        || self.token_endpoint.is_none()
                        || self.jwks_uri.is_none())
                {
                    return Err(err(
                        "discovery",
                        "without discovery, authorization_endpoint, token_endpoint and jwks_uri are required",
                    ));
                }
                if self.discovery
                    && self.discovery_url.is_none()
                    && self
                        .issuer
                        .as_deref()
                        .is_some_and(|i| i.contains("{tenantid}"))
                {
                    return Err(err(
                        "discovery_url",
                        "an issuer with {tenantid} needs an explicit discovery_url",
                    ));
                }
                if !self.scopes.iter().any(|s| s == "openid") {
                    return Err(err(
                        "scopes",
                        "an OpenID Connect provider needs the openid scope",
                    ));
                }
            }
            Protocol::Oauth2 => {
                if self.authorization_endpoint.is_none()
                    || self.token_endpoint.is_none()
                    || self.userinfo_endpoint.is_none()
                {
                    return Err(err(
                        "protocol",
                        "an OAuth 2.0 provider needs authorization_endpoint, token_endpoint and userinfo_endpoint",
                    ));
                }
            }
        }
        match self.client_auth {
            ClientAuth::AppleJwt => {
                let Some(apple) = &self.apple else {
                    return Err(err(
                        "apple",
                        "apple_jwt needs apple.team_id and apple.key_id",
                    ));
                };
                if apple.team_id.trim().is_empty() || apple.key_id.trim().is_empty() {
                    return Err(err(
                        "apple",
                        "apple.team_id and apple.key_id must not be empty",
                    ));
                }
                if !has_secret {
                    return Err(err(
                        "client_secret",
                        "apple_jwt needs the team's private key (the .p8 file) as client_secret",
                    ));
                }
            }
            ClientAuth::ClientSecretBasic | ClientAuth::ClientSecretPost => {
                if !has_secret {
                    return Err(err(
                        "client_secret",
                        "this client authentication needs a client_secret",
                    ));
                }
            }
            ClientAuth::None => {
                if !self.pkce {
                    return Err(err("pkce", "a public client must use PKCE"));
                }
            }
        }
        if self.scopes.len() > 30
            || self
                .scopes
                .iter()
                .any(|s| s.is_empty() || s.len() > 200 || s.contains(char::is_whitespace))
        {
            return Err(err("scopes", "a list of scope names without spaces"));
        }
        for k in self.authorize_params.keys() {
            if RESERVED_PARAMS.contains(&k.as_str()) {
                return Err(err(
                    "authorize_params",
                    format!("{k} is set by the protocol and cannot be overridden"),
                ));
            }
        }
        if self.id_token_algs.is_empty()
            || self
                .id_token_algs
                .iter()
                .any(|a| !DEFAULT_ALGS.contains(&a.as_str()))
        {
            return Err(err(
                "id_token_algs",
                "a non-empty list of RS256, PS256, ES256, EdDSA",
            ));
        }
        if self.clock_skew_secs > 300 {
            return Err(err("clock_skew_secs", "at most 300 seconds"));
        }
        for (field, path) in [
            ("claims.subject", &self.claims.subject),
            ("claims.email", &self.claims.email),
            ("claims.email_verified", &self.claims.email_verified),
            ("claims.name", &self.claims.name),
            ("claims.given_name", &self.claims.given_name),
            ("claims.family_name", &self.claims.family_name),
        ] {
            check_claim_path(field, path)?;
        }
        if let Some(g) = &self.claims.groups {
            check_claim_path("claims.groups", g)?;
        }
        if self.attribute_rules.len() > 50 {
            return Err(err("attribute_rules", "at most 50 rules"));
        }
        for rule in &self.attribute_rules {
            check_claim_path("attribute_rules", &rule.claim)?;
            crate::mapping::Target::parse(&rule.target).map_err(|m| err("attribute_rules", m))?;
        }
        if !self.group_rules.is_empty() && self.claims.groups.is_none() {
            return Err(err("group_rules", "group rules need claims.groups"));
        }
        if self.group_rules.len() > 100
            || self
                .group_rules
                .iter()
                .any(|r| r.upstream.is_empty() || r.group.is_empty())
        {
            return Err(err(
                "group_rules",
                "at most 100 rules, each with upstream and group",
            ));
        }
        Ok(())
    }

    /// The discovery document's URL, when discovery is used.
    pub fn discovery_location(&self) -> Option<String> {
        if self.protocol != Protocol::Oidc || !self.discovery {
            return None;
        }
        self.discovery_url.clone().or_else(|| {
            self.issuer.as_ref().map(|i| {
                format!(
                    "{}/.well-known/openid-configuration",
                    i.trim_end_matches('/')
                )
            })
        })
    }
}

/// RFC 7386 JSON merge patch: `patch` over `target` (objects merge, `null` removes, anything
/// else replaces). Used to lay an operator's settings over a preset and to apply PATCH.
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value;
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn oidc() -> ProviderConfig {
        ProviderConfig {
            issuer: Some("https://idp.example.com".into()),
            client_id: "abc".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_minimal_oidc_provider_is_valid_and_finds_its_discovery_document() {
        let c = oidc();
        c.validate(true).unwrap();
        assert_eq!(
            c.discovery_location().as_deref(),
            Some("https://idp.example.com/.well-known/openid-configuration")
        );
        assert_eq!(c.validate(false).unwrap_err().field, "client_secret");
    }

    #[test]
    fn urls_must_be_https_except_on_loopback() {
        assert!(check_url("x", "https://a.example/x").is_ok());
        assert!(check_url("x", "http://127.0.0.1:8080/t/up").is_ok());
        assert!(check_url("x", "http://localhost:1/").is_ok());
        assert!(check_url("x", "http://idp.example.com/").is_err());
        assert!(check_url("x", "https://user:pw@idp.example.com/").is_err());
        assert!(check_url("x", "javascript:alert(1)").is_err());
        let mut c = oidc();
        c.token_endpoint = Some("http://evil.example/token".into());
        assert_eq!(c.validate(true).unwrap_err().field, "token_endpoint");
    }

    #[test]
    fn protocol_parameters_cannot_be_overridden_and_rules_are_checked() {
        let mut c = oidc();
        c.authorize_params.insert("state".into(), "fixed".into());
        assert_eq!(c.validate(true).unwrap_err().field, "authorize_params");
        let mut c = oidc();
        c.attribute_rules.push(AttributeRule {
            claim: "dept".into(),
            target: "password_hash".into(),
        });
        assert_eq!(c.validate(true).unwrap_err().field, "attribute_rules");
        let mut c = oidc();
        c.group_rules.push(GroupRule {
            upstream: "a".into(),
            group: "b".into(),
        });
        assert_eq!(c.validate(true).unwrap_err().field, "group_rules");
        let mut c = oidc();
        c.id_token_algs = vec!["HS256".into()];
        assert_eq!(c.validate(true).unwrap_err().field, "id_token_algs");
        let mut c = oidc();
        c.scopes = vec!["email".into()];
        assert_eq!(c.validate(true).unwrap_err().field, "scopes");
    }

    #[test]
    fn a_tenant_placeholder_issuer_needs_an_explicit_discovery_url() {
        let mut c = oidc();
        c.issuer = Some("https://login.example.com/{tenantid}/v2.0".into());
        assert_eq!(c.validate(true).unwrap_err().field, "discovery_url");
        c.discovery_url =
            Some("https://login.example.com/common/v2.0/.well-known/openid-configuration".into());
        c.validate(true).unwrap();
    }

    #[test]
    fn unknown_settings_are_refused() {
        let bad: Result<ProviderConfig, _> =
            serde_json::from_value(json!({"client_id": "a", "isuer": "https://x"}));
        assert!(bad.is_err());
    }

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut t, &json!({"a": "z", "c": {"f": null}, "h": [1]}));
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}, "h": [1]}));
    }
}
