//! Throttling of failed sign-ins: with TESSERA_LOCKOUT_AFTER=3 the account locks after the third
//! failure; every further attempt, even with the right password, gets 429 with Retry-After. The
//! counters live in the database, so they survive a restart and hold across server processes.

use crate::harness::{Backend, Deployment, Resp, Server};

const LOCKOUT_SECS: u64 = 900;

fn lockout_deployment(backend: Backend) -> Deployment {
    Deployment::new(backend)
        .set("TESSERA_LOCKOUT_AFTER", "3")
        .set("TESSERA_LOCKOUT_SECS", &LOCKOUT_SECS.to_string())
}

#[track_caller]
fn assert_throttled(r: &Resp) {
    assert_eq!(r.status, 429, "{}: {}", r.what, r.text());
    let retry: u64 = r
        .header("retry-after")
        .expect("a 429 carries Retry-After")
        .parse()
        .expect("Retry-After is a number of seconds");
    assert!(
        (1..=LOCKOUT_SECS).contains(&retry),
        "Retry-After {retry} is within the lockout"
    );
    assert!(
        r.text().contains("Too many failed attempts"),
        "the page explains: {}",
        r.text()
    );
    assert!(
        r.set_cookie("tessera_session").is_none(),
        "no session while locked"
    );
}

async fn fail_three_times(server: &Server) {
    for i in 0..3 {
        let r = server
            .browser()
            .sign_in("vault", "ivan@vault.test", &format!("guess-number-{i}"))
            .await;
        assert_eq!(
            r.status,
            401,
            "failure {i} is an ordinary refusal: {}",
            r.text()
        );
    }
}

async fn repeated_failures_lock_the_account(backend: Backend) {
    let dep = lockout_deployment(backend);
    let mut server = dep.start().await;
    server.tenant("vault").await;
    server
        .user("vault", "ivan@vault.test", "ivan-password-1")
        .await;
    server
        .user("vault", "judy@vault.test", "judy-password-1")
        .await;

    fail_three_times(&server).await;
    let b = server.browser();
    assert_throttled(
        &b.sign_in("vault", "ivan@vault.test", "guess-number-3")
            .await,
    );
    assert_throttled(
        &b.sign_in("vault", "ivan@vault.test", "ivan-password-1")
            .await,
    );
    assert_throttled(
        &b.sign_in("vault", "IVAN@vault.test", "ivan-password-1")
            .await,
    );
    assert!(b.account_email("vault").await.is_none());
    // The lock is per account: another user of the same tenant signs in.
    server
        .browser()
        .sign_in_ok("vault", "judy@vault.test", "judy-password-1")
        .await;

    // The counter is in the database: a restarted server still refuses.
    server.stop().await;
    let server = dep.start().await;
    assert_throttled(
        &server
            .browser()
            .sign_in("vault", "ivan@vault.test", "ivan-password-1")
            .await,
    );
    let metrics = server.browser().get("/metrics").await.text();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("tessera_signins_total") && l.contains("outcome=\"throttled\"")),
        "throttled sign-ins are counted:\n{metrics}"
    );
}

/// Two servers on one PostgreSQL database: failures on the first lock the account on the second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_holds_across_two_nodes_on_postgres() {
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    let dep = lockout_deployment(backend);
    let node1 = dep.start().await;
    // The second node shares the database and the master key (which keys the blind indexes).
    let node2 = dep.start().await;
    assert_ne!(node1.port, node2.port);
    node1.tenant("vault").await;
    node1
        .user("vault", "ivan@vault.test", "ivan-password-1")
        .await;
    // Each node serves the tenant; the user made through node 1's CLI signs in on node 2.
    let other = node2.browser();
    other
        .sign_in_ok("vault", "ivan@vault.test", "ivan-password-1")
        .await;

    fail_three_times(&node1).await;
    assert_throttled(
        &node2
            .browser()
            .sign_in("vault", "ivan@vault.test", "ivan-password-1")
            .await,
    );
    assert_throttled(
        &node1
            .browser()
            .sign_in("vault", "ivan@vault.test", "ivan-password-1")
            .await,
    );
}

on_both_backends!(repeated_failures_lock_the_account);
