//! Authenticates the client calling the token, introspection or revocation endpoint.

use axum::http::HeaderMap;
use tessera_core::client::Client;
use tessera_core::store::GrantStore;
use tessera_core::tenant::Tenant;
use tessera_crypto::jws::{VerifyingKey, verify_jwt};
use tessera_oidc::client_auth::{Presented, check_assertion_claims, extract, secret_matches};
use tessera_oidc::discovery::{ASSERTION_ALGS, endpoint, paths};
use tessera_oidc::{OAuthError, Params};

use crate::app::Services;
use crate::state::AppState;

/// The authenticated client, or `invalid_client` (RFC 6749 §5.2) without saying which check failed.
pub async fn authenticate(
    state: &AppState,
    tenant: &Tenant,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Client, OAuthError> {
    let auth = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let presented = extract(auth, params)?;
    let failed = || OAuthError::invalid_client("client authentication failed");
    let client = state
        .services
        .cached_client(tenant.id, presented.client_id())
        .await
        .map_err(|e| OAuthError::new(tessera_oidc::ErrorCode::ServerError, e.to_string()))?
        .ok_or_else(failed)?;
    let method = client.token_endpoint_auth_method.as_str();
    match presented {
        Presented::Secret { secret, .. } => {
            // Basic and post carry the same secret; accepting either keeps libraries with other defaults working.
            if !matches!(method, "client_secret_basic" | "client_secret_post")
                || !secret_matches(&client, &secret)
            {
                return Err(failed());
            }
        }
        Presented::Assertion { assertion, .. } => {
            if method != "private_key_jwt" {
                return Err(failed());
            }
            let inline = client.metadata.get("jwks").map(keys_of).unwrap_or_default();
            let jwt = if !inline.is_empty() {
                verify_jwt(&assertion, &inline, ASSERTION_ALGS).map_err(|_| failed())?
            } else if let Some(uri) = client.metadata.get("jwks_uri").and_then(|v| v.as_str()) {
                // Cached remote key set; on a miss (the client rotated its keys) fetch it once more.
                let cached = state.remote_jwks.get(state, uri, false).await?;
                match verify_jwt(&assertion, &cached, ASSERTION_ALGS) {
                    Ok(jwt) => jwt,
                    Err(_) => {
                        let fresh = state.remote_jwks.get(state, uri, true).await?;
                        verify_jwt(&assertion, &fresh, ASSERTION_ALGS).map_err(|_| failed())?
                    }
                }
            } else {
                return Err(OAuthError::invalid_client(
                    "the client has no registered jwks or jwks_uri for private_key_jwt",
                ));
            };
            let issuer = tenant.issuer(&state.services.config.public_url);
            let audiences = vec![
                endpoint(&issuer, paths::TOKEN),
                issuer.clone(),
                endpoint(&issuer, paths::INTROSPECT),
                endpoint(&issuer, paths::REVOKE),
            ];
            let now = Services::now();
            let (jti, exp) = check_assertion_claims(
                &jwt.claims,
                &client.client_id,
                &audiences,
                now.unix_timestamp(),
            )?;
            let exp = time::OffsetDateTime::from_unix_timestamp(exp).unwrap_or(now);
            let fresh = state
                .services
                .store
                .remember_assertion_jti(
                    tenant.id,
                    &client.client_id,
                    &jti,
                    exp + time::Duration::seconds(60),
                    now,
                )
                .await
                .map_err(|e| {
                    OAuthError::new(tessera_oidc::ErrorCode::ServerError, e.to_string())
                })?;
            if !fresh {
                return Err(OAuthError::invalid_client(
                    "client_assertion was already used (jti replay)",
                ));
            }
        }
        Presented::ClientIdOnly { .. } => {
            if method != "none" || !client.is_public() {
                return Err(failed());
            }
        }
    }
    Ok(client)
}

fn keys_of(jwks: &serde_json::Value) -> Vec<VerifyingKey> {
    // Keys of other types or uses are skipped, not fatal: a JWKS may hold encryption keys too.
    jwks.get("keys")
        .and_then(|k| k.as_array())
        .map(|list| {
            list.iter()
                .filter_map(|k| VerifyingKey::from_jwk(k).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Remote client key sets (`jwks_uri`), fetched with a short timeout and cached for five minutes.
#[derive(Default)]
pub struct RemoteJwks {
    cache: std::sync::Mutex<
        std::collections::HashMap<String, (std::time::Instant, Vec<VerifyingKey>)>,
    >,
}

const REMOTE_JWKS_TTL: std::time::Duration = std::time::Duration::from_secs(300);
const REMOTE_JWKS_MAX_BYTES: usize = 64 * 1024;

impl RemoteJwks {
    pub async fn get(
        &self,
        state: &AppState,
        uri: &str,
        refresh: bool,
    ) -> Result<Vec<VerifyingKey>, OAuthError> {
        if !refresh
            && let Ok(c) = self.cache.lock()
            && let Some((at, keys)) = c.get(uri)
            && at.elapsed() < REMOTE_JWKS_TTL
        {
            return Ok(keys.clone());
        }
        let unavailable = |why: String| {
            tracing::warn!(jwks_uri = %uri, error = %why, "a client's jwks_uri could not be read");
            OAuthError::invalid_client("the client's jwks_uri could not be read")
        };
        let resp = state
            .http
            .get(uri)
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(unavailable(format!("status {}", resp.status())));
        }
        let body = resp.bytes().await.map_err(|e| unavailable(e.to_string()))?;
        if body.len() > REMOTE_JWKS_MAX_BYTES {
            return Err(unavailable("larger than 64 KiB".into()));
        }
        let json: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| unavailable(e.to_string()))?;
        let keys = keys_of(&json);
        if let Ok(mut c) = self.cache.lock() {
            c.insert(uri.to_string(), (std::time::Instant::now(), keys.clone()));
        }
        Ok(keys)
    }
}
