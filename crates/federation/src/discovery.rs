//! The provider's endpoints: from its OpenID Connect discovery document (checked to name the
//! configured issuer, the mix-up defence of OpenID Connect Discovery §4.3) or from the
//! configuration, and its signing keys (JWKS), both cached with the time passed in.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;
use tessera_crypto::VerifyingKey;

use crate::config::{Protocol, ProviderConfig};
use crate::error::{FederationError, Result};
use crate::http::{HttpRequest, Transport};

/// Discovery documents and key sets are kept this long.
pub const METADATA_TTL_SECS: i64 = 3600;
pub const JWKS_TTL_SECS: i64 = 600;
/// On a signature that no cached key verifies, the key set is fetched again at once (the
/// provider rotated its keys). ID tokens come from the provider's own token endpoint, never from
/// the browser, so a stranger cannot make Tessera fetch key sets at will.
/// Larger answers are refused by the transport; this is the limit it should apply.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// Where the protocol steps go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// The issuer ID tokens must name (OpenID Connect), possibly with `{tenantid}`.
    pub issuer: Option<String>,
    pub authorization: String,
    pub token: String,
    pub userinfo: Option<String>,
    pub jwks_uri: Option<String>,
    pub emails: Option<String>,
    /// The provider adds `iss` to its authorization responses (RFC 9207), so a response without
    /// it, or with another issuer, is refused.
    pub iss_parameter_supported: bool,
}

/// Reads a discovery document and checks it belongs to `expected_issuer`.
pub fn parse_metadata(body: &[u8], expected_issuer: &str) -> Result<Value> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| {
        FederationError::BadResponse(format!("the discovery document is not JSON ({e})"))
    })?;
    let issuer = doc.get("issuer").and_then(Value::as_str).unwrap_or("");
    if issuer != expected_issuer {
        return Err(FederationError::BadResponse(format!(
            "the discovery document names the issuer {issuer:?}, not the configured {expected_issuer:?}"
        )));
    }
    Ok(doc)
}

fn text(doc: &Value, key: &str) -> Option<String> {
    doc.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Combines the configuration with the discovery document (configured endpoints win).
pub fn endpoints(config: &ProviderConfig, doc: Option<&Value>) -> Result<Endpoints> {
    let pick = |configured: &Option<String>, key: &str| {
        configured
            .clone()
            .or_else(|| doc.and_then(|d| text(d, key)))
    };
    let missing = |what: &str| FederationError::Config(format!("no {what} is known"));
    let authorization = pick(&config.authorization_endpoint, "authorization_endpoint")
        .ok_or_else(|| missing("authorization_endpoint"))?;
    let token =
        pick(&config.token_endpoint, "token_endpoint").ok_or_else(|| missing("token_endpoint"))?;
    let jwks_uri = pick(&config.jwks_uri, "jwks_uri");
    if config.protocol == Protocol::Oidc && jwks_uri.is_none() {
        return Err(missing("jwks_uri"));
    }
    // Endpoints from a document are held to the same rule as configured ones.
    for (what, url) in [
        ("authorization_endpoint", Some(&authorization)),
        ("token_endpoint", Some(&token)),
        ("jwks_uri", jwks_uri.as_ref()),
    ] {
        if let Some(u) = url {
            crate::config::check_url("discovery", u).map_err(|_| {
                FederationError::BadResponse(format!("{what} {u:?} is not an acceptable URL"))
            })?;
        }
    }
    Ok(Endpoints {
        issuer: config.issuer.clone(),
        authorization,
        token,
        userinfo: pick(&config.userinfo_endpoint, "userinfo_endpoint"),
        jwks_uri,
        emails: config.emails_endpoint.clone(),
        iss_parameter_supported: doc
            .and_then(|d| d.get("authorization_response_iss_parameter_supported"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// Keys of a JWKS document; keys that cannot verify signatures (encryption keys, unsupported
/// types) are skipped.
pub fn parse_jwks(body: &[u8]) -> Result<Vec<VerifyingKey>> {
    let doc: Value = serde_json::from_slice(body)
        .map_err(|e| FederationError::BadResponse(format!("the JWKS is not JSON ({e})")))?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| FederationError::BadResponse("the JWKS has no keys array".into()))?;
    Ok(keys
        .iter()
        .filter_map(|k| VerifyingKey::from_jwk(k).ok())
        .collect())
}

async fn fetch<T: Transport>(transport: &T, url: &str, what: &str) -> Result<Vec<u8>> {
    let resp = transport
        .send(HttpRequest::get(url))
        .await
        .map_err(|e| FederationError::Transport(format!("{what}: {e}")))?;
    if !resp.is_success() {
        return Err(FederationError::BadResponse(format!(
            "{what} answered with status {}",
            resp.status
        )));
    }
    Ok(resp.body)
}

#[derive(Default)]
struct Cached<T> {
    entries: Mutex<HashMap<String, (i64, T)>>,
}

impl<T: Clone> Cached<T> {
    fn get(&self, key: &str, now: i64, ttl: i64) -> Option<T> {
        let map = self.entries.lock().ok()?;
        let (at, v) = map.get(key)?;
        (now - *at < ttl && now >= *at).then(|| v.clone())
    }

    fn put(&self, key: &str, now: i64, value: T) {
        if let Ok(mut map) = self.entries.lock() {
            // Bounded: an operator with thousands of providers still gets a working cache.
            if map.len() > 1000 {
                map.clear();
            }
            map.insert(key.to_string(), (now, value));
        }
    }
}

/// Discovery documents and key sets of every provider, shared by all requests of a server.
/// Each node keeps its own; entries are short-lived, so a changed provider is seen within the
/// TTLs, and a key rotation at once (an unknown key refetches the set).
#[derive(Default)]
pub struct ProviderCache {
    metadata: Cached<Value>,
    keys: Cached<Vec<VerifyingKey>>,
}

impl ProviderCache {
    /// The endpoints of `config`, reading (and caching) its discovery document when it has one.
    pub async fn endpoints<T: Transport>(
        &self,
        config: &ProviderConfig,
        transport: &T,
        now: i64,
    ) -> Result<Endpoints> {
        let Some(location) = config.discovery_location() else {
            return endpoints(config, None);
        };
        let issuer = config.issuer.as_deref().unwrap_or("");
        let cache_key = format!("{location}\n{issuer}");
        let doc = match self.metadata.get(&cache_key, now, METADATA_TTL_SECS) {
            Some(d) => d,
            None => {
                let body = fetch(transport, &location, "the discovery document").await?;
                let doc = parse_metadata(&body, issuer)?;
                self.metadata.put(&cache_key, now, doc.clone());
                doc
            }
        };
        endpoints(config, Some(&doc))
    }

    /// The key set at `uri`; `refresh` fetches it again.
    pub async fn keys<T: Transport>(
        &self,
        uri: &str,
        transport: &T,
        now: i64,
        refresh: bool,
    ) -> Result<Vec<VerifyingKey>> {
        if !refresh && let Some(keys) = self.keys.get(uri, now, JWKS_TTL_SECS) {
            return Ok(keys);
        }
        let body = fetch(transport, uri, "the JWKS").await?;
        let keys = parse_jwks(&body)?;
        self.keys.put(uri, now, keys.clone());
        Ok(keys)
    }

    /// Forgets what is cached for a provider (after an operator changed it).
    pub fn forget(&self, config: &ProviderConfig) {
        if let Ok(mut m) = self.metadata.entries.lock()
            && let Some(location) = config.discovery_location()
        {
            m.retain(|k, _| !k.starts_with(&format!("{location}\n")));
        }
        if let Ok(mut k) = self.keys.entries.lock()
            && let Some(uri) = &config.jwks_uri
        {
            k.remove(uri);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_document_for_another_issuer_is_refused() {
        let doc = json!({"issuer": "https://evil.example", "authorization_endpoint": "https://evil.example/a"});
        let err = parse_metadata(doc.to_string().as_bytes(), "https://idp.example").unwrap_err();
        assert!(matches!(err, FederationError::BadResponse(_)));
        assert!(parse_metadata(b"not json", "https://idp.example").is_err());
    }

    #[test]
    fn configured_endpoints_win_over_the_document() {
        let config = ProviderConfig {
            issuer: Some("https://idp.example".into()),
            client_id: "c".into(),
            token_endpoint: Some("https://idp.example/custom-token".into()),
            ..Default::default()
        };
        let doc = json!({
            "issuer": "https://idp.example",
            "authorization_endpoint": "https://idp.example/authorize",
            "token_endpoint": "https://idp.example/token",
            "jwks_uri": "https://idp.example/jwks",
            "authorization_response_iss_parameter_supported": true
        });
        let e = endpoints(&config, Some(&doc)).unwrap();
        assert_eq!(e.token, "https://idp.example/custom-token");
        assert_eq!(e.authorization, "https://idp.example/authorize");
        assert!(e.iss_parameter_supported);
        // A document pointing at plain HTTP elsewhere is not followed.
        let bad = json!({
            "issuer": "https://idp.example",
            "authorization_endpoint": "http://evil.example/authorize",
            "token_endpoint": "https://idp.example/token",
            "jwks_uri": "https://idp.example/jwks"
        });
        assert!(endpoints(&config, Some(&bad)).is_err());
    }

    #[test]
    fn unusable_keys_are_skipped() {
        let signing =
            tessera_crypto::SigningKey::generate(tessera_crypto::SigningAlg::ES256).unwrap();
        let jwks = json!({"keys": [
            signing.public_jwk(),
            {"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "oct", "k": "c2VjcmV0"}
        ]});
        let keys = parse_jwks(jwks.to_string().as_bytes()).unwrap();
        assert_eq!(keys.len(), 1);
        assert!(parse_jwks(b"{}").is_err());
    }
}
