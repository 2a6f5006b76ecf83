//! Operations endpoints: liveness, readiness (database reachable) and Prometheus metrics, plus the
//! middleware that records request counts and latencies by route.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

pub async fn healthz() -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({"status": "ok"})),
    )
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.services.store.ping().await {
        Ok(()) => axum::Json(
            serde_json::json!({"status": "ready", "database": state.services.store.backend()}),
        )
        .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed: the database is not reachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(
                    serde_json::json!({"status": "unavailable", "reason": "database unreachable"}),
                ),
            )
                .into_response()
        }
    }
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    match &state.metrics {
        Some(h) => {
            metrics::gauge!("tessera_hash_queue_depth").set(state.gate.queue_depth() as f64);
            (
                [(
                    header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                h.render(),
            )
                .into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            "metrics are disabled in this process",
        )
            .into_response(),
    }
}

/// Installs the process-wide Prometheus recorder. Only the first call in a process succeeds
/// (tests that start several servers in one process share it); later calls return its handle.
pub fn install_recorder() -> Option<PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<Option<PrometheusHandle>> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ];
            // A password hash takes tens of milliseconds at the default cost; finer buckets
            // there show a hash slowing down (a busy or memory-starved machine).
            let hash_buckets = [
                0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0,
            ];
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("tessera_http_request_duration_seconds".into()),
                    &buckets,
                )
                .ok()?
                .set_buckets_for_metric(
                    Matcher::Full("tessera_password_hash_seconds".into()),
                    &hash_buckets,
                )
                .ok()?
                .install_recorder()
                .map_err(|e| tracing::warn!(error = %e, "metrics recorder not installed"))
                .ok()
        })
        .clone()
}

/// Counts requests and records latency per route template (never the raw path, which would
/// explode label cardinality and could carry identifiers).
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("tessera_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("tessera_http_request_duration_seconds", "method" => method, "route" => route).record(start.elapsed().as_secs_f64());
    resp
}
