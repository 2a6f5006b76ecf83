//! Graceful shutdown: SIGTERM while slow sign-ins are in flight; each of them still gets its
//! normal answer, and the process exits 0.

use std::time::Duration;

use crate::harness::{Backend, Deployment, Server, poll_until};

/// The hash-queue depth the server reports at `/metrics`.
async fn queue_depth(server: &Server) -> Option<f64> {
    let text = server.browser().get("/metrics").await.text();
    text.lines()
        .find(|l| l.starts_with("tessera_hash_queue_depth"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

async fn sigterm_lets_in_flight_requests_finish(backend: Backend) {
    // Default memory cost with more passes, and one hashing slot: each sign-in takes a while and
    // the others wait their turn, so several are in flight when the signal arrives.
    let dep = Deployment::with_default_hashing(backend)
        .set("TESSERA_ARGON2_ITERATIONS", "6")
        .set("TESSERA_HASH_CONCURRENCY", "1")
        .set("TESSERA_SHUTDOWN_GRACE_SECS", "60");
    let mut server = dep.start().await;
    server.tenant("calm").await;
    server
        .user("calm", "lena@calm.test", "lena-password-1")
        .await;

    let mut tasks = Vec::new();
    for _ in 0..4 {
        let b = server.browser();
        let token = b.csrf_token("calm").await;
        tasks.push(tokio::spawn(async move {
            b.post_form(
                "/t/calm/login",
                &[
                    ("email", "lena@calm.test"),
                    ("password", "lena-password-1"),
                    ("csrf_token", &token),
                ],
            )
            .await
        }));
    }
    // Wait until sign-ins are queued behind the one being hashed: then they are surely in flight.
    let in_flight = poll_until(
        "sign-ins to queue for hashing",
        Duration::from_secs(30),
        || async {
            if tasks.iter().all(|t| t.is_finished()) {
                return Some(false);
            }
            queue_depth(&server)
                .await
                .filter(|d| *d >= 1.0)
                .map(|_| true)
        },
    )
    .await;
    assert!(
        in_flight,
        "the sign-ins finished before they could be observed in flight"
    );
    let unfinished = tasks.iter().filter(|t| !t.is_finished()).count();
    server.terminate();
    assert!(
        unfinished >= 2,
        "at least two sign-ins were in flight at SIGTERM"
    );

    for t in tasks {
        let r = t.await.expect("the sign-in task completes");
        assert_eq!(
            r.expect_see_other(),
            "/t/calm/account",
            "an in-flight sign-in completes normally"
        );
        assert!(r.set_cookie("tessera_session").is_some());
    }
    let status = server.wait_exit(Duration::from_secs(60)).await;
    assert!(status.success(), "exit status after SIGTERM: {status}");
    let log = server.log();
    assert!(log.contains("shutting down"), "{log}");
    assert!(log.contains("shutdown complete"), "{log}");
    assert!(!log.contains("did not finish"), "{log}");

    // The sessions made during shutdown are real: a new server accepts them.
    let next = dep.start().await;
    let api = next.admin_api().await;
    let sessions = api.get("/tenants/calm/sessions").await.expect(200);
    assert_eq!(
        sessions["items"].as_array().map(Vec::len),
        Some(4),
        "{sessions}"
    );
}

on_both_backends!(sigterm_lets_in_flight_requests_finish);
