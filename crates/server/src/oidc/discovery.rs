//! Discovery (`{issuer}/.well-known/openid-configuration`, and RFC 8414's
//! `/.well-known/oauth-authorization-server/t/{slug}`) and the JWKS.

use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_oidc::discovery::provider_metadata;

use super::token::tenant_or_404;
use crate::state::AppState;

/// A JSON document that clients and caches may keep for `max_age` seconds, readable from any
/// origin (browser-based clients fetch discovery and keys).
fn cacheable(body: Bytes, max_age: u32) -> Response {
    let mut r = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        r.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

/// Discovery documents by issuer, serialized once: a document depends on its issuer alone.
static METADATA: LazyLock<RwLock<HashMap<String, Bytes>>> = LazyLock::new(Default::default);

/// Above this many issuers the document cache starts over.
const METADATA_MAX: usize = 10_000;

fn metadata_document(issuer: &str) -> Bytes {
    if let Some(b) = METADATA
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(issuer)
    {
        return b.clone();
    }
    let body = Bytes::from(provider_metadata(issuer).to_string());
    let mut map = METADATA.write().unwrap_or_else(|e| e.into_inner());
    if map.len() >= METADATA_MAX {
        map.clear();
    }
    map.insert(issuer.to_string(), body.clone());
    body
}

pub async fn openid_configuration(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Response {
    match tenant_or_404(&state, &slug).await {
        Ok(t) => cacheable(
            metadata_document(&t.issuer(&state.services.config.public_url)),
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
