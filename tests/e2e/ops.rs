//! Operations endpoints: liveness, readiness (with the database named), Prometheus metrics after
//! real traffic, and the OpenAPI document, which must describe exactly the routes the server has.

use serde_json::Value;

use crate::harness::{Backend, start};

async fn health_readiness_and_metrics(backend: Backend) {
    let backend_name = backend.name();
    let (_dep, server, api) = start(backend).await;
    let b = server.browser();
    let health = b.get("/healthz").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    let ready = b.get("/readyz").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["status"], "ready");
    assert_eq!(ready.json()["database"], backend_name);

    // Some traffic: API calls, a failed and a successful sign-in, a 404.
    api.create_tenant("metered", "workforce").await;
    api.create_user("metered", "max@metered.test", Some("max-password-1"))
        .await;
    assert_eq!(
        b.sign_in("metered", "max@metered.test", "wrong-password")
            .await
            .status,
        401
    );
    b.sign_in_ok("metered", "max@metered.test", "max-password-1")
        .await;
    assert_eq!(b.get("/nowhere").await.status, 404);

    let m = b.get("/metrics").await;
    assert_eq!(m.status, 200);
    assert!(
        m.header("content-type")
            .unwrap_or_default()
            .starts_with("text/plain"),
        "Prometheus text format"
    );
    let text = m.text();
    let has = |prefix: &str, parts: &[&str]| {
        text.lines()
            .any(|l| l.starts_with(prefix) && parts.iter().all(|p| l.contains(p)))
    };
    assert!(
        has(
            "tessera_http_requests_total",
            &[
                "route=\"/t/{slug}/login\"",
                "method=\"POST\"",
                "status=\"303\""
            ]
        ),
        "requests are counted by route template:\n{text}"
    );
    assert!(
        has("tessera_http_requests_total", &["status=\"401\""]),
        "{text}"
    );
    assert!(
        !text.contains("metered/login"),
        "raw paths never become labels:\n{text}"
    );
    assert!(
        has("tessera_http_request_duration_seconds_bucket", &["le=\""]),
        "latency is a histogram:\n{text}"
    );
    assert!(
        has("tessera_http_request_duration_seconds_count", &[]),
        "{text}"
    );
    assert!(
        has("tessera_signins_total", &["outcome=\"success\""]),
        "{text}"
    );
    assert!(
        has(
            "tessera_signins_total",
            &["outcome=\"invalid_credentials\""]
        ),
        "{text}"
    );
    assert!(has("tessera_hash_queue_depth", &[]), "{text}");
    assert!(
        has("tessera_password_hash_seconds_bucket", &["le=\"0.02\""]),
        "each hash's time is a histogram:\n{text}"
    );
}

/// Puts an example value into each `{param}` of an OpenAPI path.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        let name = &rest[open + 1..close - 1];
        out.push_str(if name == "slug" {
            "admin"
        } else {
            "00000000-0000-0000-0000-000000000000"
        });
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

async fn openapi_describes_the_api(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let r = server.browser().get("/api/v1/openapi.json").await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("application/json")
    );
    let doc: Value = r.json();
    let version = doc["openapi"].as_str().expect("an openapi version");
    assert!(version.starts_with("3.1."), "OpenAPI 3.1.x, not {version}");
    assert!(doc["info"]["title"].is_string());
    let paths = doc["paths"].as_object().expect("paths");
    for p in [
        "/api/v1/tenants",
        "/api/v1/tenants/{slug}",
        "/api/v1/tenants/{slug}/users",
        "/api/v1/tenants/{slug}/users/{id}",
        "/api/v1/tenants/{slug}/users/{id}/disable",
        "/api/v1/tenants/{slug}/users/{id}/sessions",
        "/api/v1/tenants/{slug}/groups",
        "/api/v1/tenants/{slug}/groups/{id}/members",
        "/api/v1/tenants/{slug}/clients",
        "/api/v1/tenants/{slug}/clients/{client_id}/secret",
        "/api/v1/tenants/{slug}/sessions",
        "/api/v1/tenants/{slug}/sessions/{id}",
    ] {
        assert!(paths.contains_key(p), "the document describes {p}");
    }
    assert!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"]
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("bearer")),
        "bearer authentication is declared"
    );
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());

    // Every documented operation exists on the server: without a key it is 401, not 404/405.
    let anonymous = api.with_key(None);
    let mut checked = 0;
    for (path, item) in paths {
        let suffix = path
            .strip_prefix("/api/v1")
            .unwrap_or_else(|| panic!("{path} is under /api/v1"));
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes())
                .expect("an HTTP method");
            let body = matches!(method, "post" | "patch").then(|| serde_json::json!({}));
            anonymous
                .send(m, &concrete(suffix), body.as_ref())
                .await
                .expect_error(401, "unauthorized");
            checked += 1;
        }
    }
    assert!(checked >= 25, "{checked} operations checked");
}

on_both_backends!(health_readiness_and_metrics, openapi_describes_the_api);
