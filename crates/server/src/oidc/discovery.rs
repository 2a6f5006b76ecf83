//! Discovery (`{issuer}/.well-known/openid-configuration`, and RFC 8414's
//! `/.well-known/oauth-authorization-server/t/{slug}`) and the JWKS.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_oidc::discovery::provider_metadata;

use super::token::tenant_or_404;
use crate::state::AppState;

fn cacheable(body: serde_json::Value, max_age: u32) -> Response {
    let mut r = axum::Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        r.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

pub async fn openid_configuration(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Response {
    match tenant_or_404(&state, &slug).await {
        Ok(t) => cacheable(
            provider_metadata(&t.issuer(&state.services.config.public_url)),
            300,
        ),
        Err(r) => r,
    }
}

pub async fn jwks(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    let tenant = match tenant_or_404(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    match state.keys.keys(&state.services, tenant.id).await {
        // Short cache: after a rotation, clients must see the new key quickly.
        Ok(k) => cacheable(k.jwks.clone(), 60),
        Err(e) => {
            tracing::error!(error = %e, "JWKS unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({"error": "temporarily_unavailable"})),
            )
                .into_response()
        }
    }
}
