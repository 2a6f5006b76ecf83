//! Authenticates the client calling the token, introspection or revocation endpoint.

use axum::http::HeaderMap;
use tessera_core::client::Client;
use tessera_core::store::{ClientStore, GrantStore};
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
        .store
        .get_client(tenant.id, presented.client_id())
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
            let keys: Vec<VerifyingKey> = client
                .metadata
                .get("jwks")
                .and_then(|j| j.get("keys"))
                .and_then(|k| k.as_array())
                .map(|list| {
                    list.iter()
                        .filter_map(|k| VerifyingKey::from_jwk(k).ok())
                        .collect()
                })
                .unwrap_or_default();
            if keys.is_empty() {
                return Err(OAuthError::invalid_client(
                    "the client has no registered jwks for private_key_jwt",
                ));
            }
            let jwt = verify_jwt(&assertion, &keys, ASSERTION_ALGS).map_err(|_| failed())?;
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
