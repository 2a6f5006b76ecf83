//! Each tenant as an OpenID Provider / OAuth 2 authorization server. Paths come from
//! `tessera_oidc::discovery::paths`, the same list that discovery publishes.

pub mod access;
pub mod authorize;
pub mod backchannel;
pub mod client_auth;
pub mod device;
pub mod discovery;
pub mod introspect;
pub mod issue;
pub mod keys;
pub mod token;
pub mod userinfo;

use axum::Router;
use axum::http::{Method, header};
use axum::routing::{get, post};
use tessera_oidc::discovery::paths;
use tower_http::cors::{Any, CorsLayer};

use crate::state::AppState;

const TENANT: &str = "/t/{slug}";

fn at(path: &str) -> String {
    format!("{TENANT}{path}")
}

/// Endpoints that browser applications (SPAs) call directly. They authenticate with the request
/// itself (client credentials, PKCE, bearer tokens), never with cookies, so any origin may call
/// them; credentials mode stays off.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(600))
}

/// Endpoints that browser applications call cross-origin, with CORS.
pub fn browser_router() -> Router<AppState> {
    Router::new()
        .route(&at(paths::DISCOVERY), get(discovery::openid_configuration))
        .route(
            "/.well-known/oauth-authorization-server/t/{slug}",
            get(discovery::openid_configuration),
        )
        .route(&at(paths::JWKS), get(discovery::jwks))
        .route(&at(paths::TOKEN), post(token::token))
        .route(
            &at(paths::USERINFO),
            get(userinfo::get).post(userinfo::post),
        )
        .route(&at(paths::REVOKE), post(introspect::revoke))
        .route(&at(paths::DEVICE_AUTHORIZATION), post(device::authorize))
        .layer(cors())
}

/// Endpoints reached by top-level browser navigation or server-to-server only.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            &at(paths::AUTHORIZE),
            get(authorize::get).post(authorize::post),
        )
        .route(&at("/authorize/continue"), get(authorize::resume))
        .route(&at("/authorize/consent"), post(authorize::consent))
        .route(&at(paths::INTROSPECT), post(introspect::introspect))
        .route(&at(paths::DEVICE), get(device::page).post(device::submit))
}
