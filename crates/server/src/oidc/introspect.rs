//! Token introspection (RFC 7662) and revocation (RFC 7009), both requiring client authentication.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use tessera_core::events::{Actor, Event, EventKind};
use tessera_core::store::{GrantStore, SessionStore};
use tessera_core::tenant::Tenant;
use tessera_crypto::sha256_hex;
use tessera_oidc::{ErrorCode, OAuthError, Params};

use super::access::active_access_token;
use super::client_auth::authenticate;
use super::token::{form_params, json_no_store, oauth_error, store_error, tenant_or_404};
use crate::app::Services;
use crate::state::AppState;

async fn refresh_claims(
    state: &AppState,
    tenant: &Tenant,
    token: &str,
) -> Result<Option<Value>, OAuthError> {
    let store = &state.services.store;
    let now = Services::now();
    let Some((t, family_revoked)) = store
        .get_refresh_token_with_family(tenant.id, &sha256_hex(token.as_bytes()))
        .await
        .map_err(store_error)?
    else {
        return Ok(None);
    };
    let inactive = t.revoked_at.is_some()
        || t.rotated_at.is_some()
        || now >= t.expires_at
        || now >= t.family_expires_at
        || family_revoked;
    if inactive {
        return Ok(None);
    }
    // A refresh token bound to a browser session ends with it (offline tokens are not bound).
    if let Some(sid) = t.session_id {
        let live = store
            .get_session(tenant.id, sid)
            .await
            .map_err(store_error)?
            .is_some_and(|s| s.is_active(now));
        if !live {
            return Ok(None);
        }
    }
    let mut m = json!({
        "active": true,
        "token_type": "refresh_token",
        "client_id": t.client_id,
        "scope": t.scope,
        "iat": t.created_at.unix_timestamp(),
        "exp": t.expires_at.unix_timestamp(),
        "iss": tenant.issuer(&state.services.config.public_url),
    });
    if let Some(u) = t.user_id {
        m["sub"] = json!(u.to_string());
    }
    Ok(Some(m))
}

pub async fn introspect(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let tenant = match tenant_or_404(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let result: Result<Value, OAuthError> = async {
        let params = form_params(&headers, &body)?;
        let client = authenticate(&state, &tenant, &headers, &params).await?;
        if client.is_public() {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "public clients may not introspect tokens",
            ));
        }
        let token = params.require("token")?;
        let hint = params.get("token_type_hint");
        let refresh_first = hint == Some("refresh_token");
        if refresh_first && let Some(c) = refresh_claims(&state, &tenant, token).await? {
            return Ok(c);
        }
        if let Some(mut claims) = active_access_token(&state, &tenant, token).await {
            if let Some(obj) = claims.as_object_mut() {
                obj.insert("active".into(), json!(true));
                obj.insert("token_type".into(), json!("Bearer"));
            }
            return Ok(claims);
        }
        if !refresh_first && let Some(c) = refresh_claims(&state, &tenant, token).await? {
            return Ok(c);
        }
        Ok(json!({"active": false}))
    }
    .await;
    match result {
        Ok(v) => json_no_store(StatusCode::OK, &v),
        Err(e) => oauth_error(&e),
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let tenant = match tenant_or_404(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let result: Result<(), OAuthError> = async {
        let params: Params = form_params(&headers, &body)?;
        let client = authenticate(&state, &tenant, &headers, &params).await?;
        let token = params.require("token")?;
        let store = &state.services.store;
        let now = Services::now();
        // Refresh token: revoke its whole grant (RFC 7009 §2.1 allows revoking related tokens).
        if let Some(t) = store.get_refresh_token(tenant.id, &sha256_hex(token.as_bytes())).await.map_err(store_error)? {
            if t.client_id == client.client_id {
                store.revoke_family(tenant.id, &t.family_id, now).await.map_err(store_error)?;
                tracing::info!(tenant = %tenant.slug, client_id = %client.client_id, "refresh token revoked");
                let kind = EventKind::TokenRevoked { client_id: client.client_id.clone(), token_type: "refresh_token".into() };
                let mut ev = Event::new(tenant.id, now, kind, Actor::client(&client.client_id));
                if let Some(u) = t.user_id {
                    ev = ev.subject(u);
                }
                state.services.emit(ev).await;
            }
            return Ok(());
        }
        if let Some(claims) = active_access_token(&state, &tenant, token).await {
            if claims.get("client_id").and_then(|v| v.as_str()) != Some(client.client_id.as_str()) {
                return Ok(());
            }
            let exp = claims.get("exp").and_then(|v| v.as_i64()).and_then(|e| time::OffsetDateTime::from_unix_timestamp(e).ok()).unwrap_or(now);
            let id = match claims.get("jti").and_then(|v| v.as_str()) {
                Some(jti) if token.split('.').count() == 3 => jti.to_string(),
                _ => sha256_hex(token.as_bytes()),
            };
            store.revoke_access_token(tenant.id, &id, &client.client_id, exp, now).await.map_err(store_error)?;
            tracing::info!(tenant = %tenant.slug, client_id = %client.client_id, "access token revoked");
            let kind = EventKind::TokenRevoked { client_id: client.client_id.clone(), token_type: "access_token".into() };
            state.services.emit(Event::new(tenant.id, now, kind, Actor::client(&client.client_id))).await;
        }
        // Unknown, invalid or foreign tokens: RFC 7009 §2.2 answers 200 all the same.
        Ok(())
    }
    .await;
    match result {
        Ok(()) => json_no_store(StatusCode::OK, &json!({})),
        Err(e) => oauth_error(&e),
    }
}
