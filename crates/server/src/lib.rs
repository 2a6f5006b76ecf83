//! The Tessera HTTP server: routing, middleware, hosted pages, the admin API and its OpenAPI
//! document, and the operations endpoints. Handlers are thin: the decisions live in
//! `tessera-core` and in the application services of [`app`].

pub mod account_portal;
pub mod api;
pub mod app;
pub mod client_ip;
pub mod config;
pub mod delivery;
pub mod error;
pub mod federation;
pub mod gate;
pub mod geo;
pub mod i18n;
pub mod jobs;
pub mod mail;
pub mod mfa;
pub mod oidc;
pub mod ops;
pub mod pages;
pub mod privacy;
pub mod privacy_requests;
pub mod retention;
pub mod risk;
pub mod routes;
pub mod self_service;
pub mod signin;
pub mod state;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;

use crate::app::Services;
use crate::app::bootstrap::Bootstrap;
use crate::error::ApiError;
use crate::state::AppState;

/// Builds the whole HTTP application.
pub fn build_router(state: AppState) -> Result<Router, String> {
    let (api, openapi) = api::router();
    let openapi_json: Arc<str> = openapi
        .to_json()
        .map_err(|e| format!("the OpenAPI document does not serialize: {e}"))?
        .into();
    let max_body = state.services.config.max_body_bytes;
    let router = Router::new()
        .route(routes::HEALTHZ, get(ops::healthz))
        .route(routes::READYZ, get(ops::readyz))
        .route(routes::METRICS, get(ops::metrics))
        .route(
            routes::OPENAPI,
            get(move || {
                let doc = openapi_json.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], doc.to_string()) }
            }),
        )
        .merge(pages::router())
        .merge(mfa::router())
        .merge(risk::pow::router())
        .merge(federation::router())
        .merge(oidc::router())
        .merge(api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Merged after the 405 fallback so CORS preflights reach the CORS layer of these routes.
        .merge(oidc::browser_router())
        .layer(axum::middleware::from_fn(ops::track))
        // The client's address behind trusted reverse proxies, before any handler reads it.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            client_ip::middleware,
        ))
        // The language preferences of requests under /t/{slug}/ (see `i18n`).
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            i18n::middleware,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a request handler panicked; answering 500");
            (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(serde_json::json!({"error": "internal_error", "message": "an internal error occurred"})))
                .into_response()
        }))
        .with_state(state);
    Ok(router)
}

async fn not_found(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        ApiError::NotFound("no such API endpoint; see /api/v1/openapi.json".into()).into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Not found.",
        )
            .into_response()
    }
}

async fn method_not_allowed(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        ApiError::MethodNotAllowed.into_response()
    } else {
        (StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.").into_response()
    }
}

/// `tessera serve`: bootstrap, bind, serve until SIGTERM/Ctrl-C, then drain in-flight requests.
pub async fn serve(services: Services) -> Result<(), String> {
    match services
        .bootstrap()
        .await
        .map_err(|e| format!("bootstrap of the admin tenant failed: {e}"))?
    {
        Bootstrap::AlreadyDone => {}
        Bootstrap::Created { email } => {
            tracing::info!(email = %email, "created the admin tenant and its operator from TESSERA_BOOTSTRAP_ADMIN_EMAIL");
        }
        Bootstrap::CreatedWithSetupPassword { email, password } => {
            // Printed exactly once, on the first start; the operator must change it.
            tracing::warn!(
                "created the admin tenant. Sign in at {}/t/admin/login as {} with the one-time setup password: {}",
                services.config.public_url,
                email,
                password.expose()
            );
        }
    }
    let config = services.config.clone();
    let state = AppState::new(services, ops::install_recorder())?;
    jobs::spawn(state.clone());
    risk::shared::spawn(state.clone());
    delivery::spawn(state.clone());
    mail::spawn(state.clone())?;
    let app = build_router(state.clone())?;
    let shutdown = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {} (TESSERA_LISTEN): {e}", config.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(listen = %local, public_url = %config.public_url, "Tessera is serving");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut server_stop = stop_rx.clone();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = server_stop.wait_for(|s| *s).await;
        })
        .await
    });
    shutdown.await;
    tracing::info!(
        grace_secs = config.shutdown_grace_secs,
        "shutting down: no new connections, finishing in-flight requests"
    );
    let _ = stop_tx.send(true);
    let finished =
        tokio::time::timeout(Duration::from_secs(config.shutdown_grace_secs), server).await;
    // What this node counted last reaches the other nodes, and the audit trail.
    risk::shared::flush(&state).await;
    signin::flush_refusals(&state).await;
    match finished {
        Ok(Ok(Ok(()))) => {
            tracing::info!("shutdown complete");
            Ok(())
        }
        Ok(Ok(Err(e))) => Err(format!("the server stopped with an error: {e}")),
        Ok(Err(e)) => Err(format!("the server task failed: {e}")),
        Err(_) => {
            tracing::warn!(
                "in-flight requests did not finish within the grace period; exiting anyway"
            );
            Ok(())
        }
    }
}

/// Takes over SIGTERM and SIGINT (Ctrl-C) at once, and resolves when either arrives. Installed
/// before the listener is bound: a SIGTERM sent as soon as the server answers (an orchestrator
/// that stops a node right after it started) is a graceful shutdown, not the default kill.
#[cfg(unix)]
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let cannot = |e: std::io::Error| format!("cannot install the shutdown signal handlers: {e}");
    let mut term = signal(SignalKind::terminate()).map_err(cannot)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(cannot)?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = interrupt.recv() => {},
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
