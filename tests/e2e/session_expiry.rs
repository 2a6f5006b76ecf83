//! Session lifetimes end to end: the idle timeout and the absolute timeout, crossed by restarting
//! the server on a later clock (`TESSERA_TEST_CLOCK_OFFSET_SECS`) instead of waiting.

use serde_json::json;

use crate::harness::{Backend, Deployment, Server, start};

/// Restarts the deployment's server `offset_secs` in the future, keeping its public URL.
async fn later(dep: &Deployment, mut server: Server, offset_secs: i64) -> Server {
    let public_url = server.public_url.clone();
    server.stop().await;
    let offset = offset_secs.to_string();
    dep.start_with(&[
        ("TESSERA_PUBLIC_URL", public_url.as_str()),
        ("TESSERA_TEST_CLOCK_OFFSET_SECS", offset.as_str()),
    ])
    .await
}

async fn idle_and_absolute_timeouts(backend: Backend) {
    let (dep, server, api) = start(backend).await;
    api.create_tenant("corp", "workforce").await;
    api.create_user("corp", "ann@corp.test", Some("a long passphrase"))
        .await;
    // Short, distinct lifetimes: idle 10 minutes, absolute 1 hour.
    let tenant = api.get("/tenants/corp").await.expect(200);
    let mut settings = tenant["settings"].clone();
    settings["session_idle_timeout_secs"] = json!(600);
    settings["session_absolute_timeout_secs"] = json!(3600);
    api.patch("/tenants/corp", &json!({ "settings": settings }))
        .await
        .expect(200);

    let b = server.browser();
    b.sign_in_ok("corp", "ann@corp.test", "a long passphrase")
        .await;
    assert_eq!(
        b.account_email("corp").await.as_deref(),
        Some("ann@corp.test")
    );

    // 9 minutes later the session is still alive, and that visit refreshes its idle clock.
    let server = later(&dep, server, 9 * 60).await;
    let b = b.at(&server);
    assert_eq!(
        b.account_email("corp").await.as_deref(),
        Some("ann@corp.test"),
        "within the idle timeout"
    );
    // 18 minutes after sign-in, 9 after the last visit: still alive (the visit slid the window).
    let server = later(&dep, server, 18 * 60).await;
    let b = b.at(&server);
    assert_eq!(
        b.account_email("corp").await.as_deref(),
        Some("ann@corp.test"),
        "the idle timeout slides"
    );
    // 30 minutes after sign-in, 12 after the last visit: idle timeout passed.
    let server = later(&dep, server, 30 * 60).await;
    let b = b.at(&server);
    assert_eq!(
        b.account_email("corp").await,
        None,
        "idle for longer than 10 minutes"
    );

    // A new session, kept active every 9 minutes, still ends at the absolute timeout.
    let server = later(&dep, server, 31 * 60).await;
    let b = b.at(&server);
    b.sign_in_ok("corp", "ann@corp.test", "a long passphrase")
        .await;
    let mut server = server;
    for minutes in [40, 49, 58, 67, 76, 85] {
        server = later(&dep, server, minutes * 60).await;
        let alive = b.at(&server).account_email("corp").await;
        if minutes - 31 < 60 {
            assert_eq!(
                alive.as_deref(),
                Some("ann@corp.test"),
                "{minutes} min: active and within the absolute timeout"
            );
        } else {
            assert_eq!(
                alive, None,
                "{minutes} min: past the absolute timeout of one hour"
            );
        }
    }
    let _ = server;
}

on_both_backends!(idle_and_absolute_timeouts);
