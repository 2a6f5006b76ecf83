//! Concurrent writers never fork a tenant's chain: 40 parallel sign-ins (successes and failures)
//! and parallel admin writes on one node, and parallel writes through two nodes sharing one
//! PostgreSQL database, all end in one gap-free, verifiable chain. With two nodes, one webhook
//! subscription receives every event exactly once (the outbox lease hands each delivery to one
//! node).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::json;
use tokio::task::JoinSet;

use crate::harness::{Api, Backend, Browser, Deployment, poll_until};
use crate::support::chain::assert_linked;
use crate::support::receiver::Receiver;
use crate::support::{TENANT, assert_intact, audit_all, db, of_type, tenant};

const USERS: usize = 5;

fn email(i: usize) -> String {
    format!("user{i}@acme.test")
}

fn password(i: usize) -> String {
    format!("password-of-user-{i}")
}

/// One sign-in attempt of the mix: `(email, password, expected status, outcome)`.
fn attempt(i: usize) -> (String, String, u16, &'static str) {
    let u = i % USERS;
    match i % 8 {
        // 5 of 40: accounts that do not exist.
        0 => (
            format!("ghost{i}@acme.test"),
            "whatever-pass".into(),
            401,
            "unknown_account",
        ),
        // 10 of 40: a wrong password (two per account, under the per-account free failures).
        1 | 2 => (email(u), "not-the-password".into(), 401, "wrong_password"),
        _ => (email(u), password(u), 303, "success"),
    }
}

async fn sign_in(browser: Browser, i: usize) -> (usize, u16) {
    let (email, password, _, _) = attempt(i);
    // Each person from their own address, as the trusted proxy in front reports it (from one
    // address, 15 failures over many accounts would rightly look like credential stuffing).
    let browser = browser.with_headers(&[("x-forwarded-for", &format!("198.51.100.{}", i + 1))]);
    let r = browser.sign_in(TENANT, &email, &password).await;
    (i, r.status)
}

async fn parallel_sign_ins_and_writes(backend: Backend) {
    let dep = Deployment::new(backend);
    let server = dep
        .start_with(&[("TESSERA_TRUSTED_PROXIES", "127.0.0.1,::1")])
        .await;
    let api = server.admin_api().await;
    let tid = tenant(&api, TENANT).await;
    for i in 0..USERS {
        api.create_user(TENANT, &email(i), Some(&password(i))).await;
    }
    let mut tasks: JoinSet<(usize, u16)> = JoinSet::new();
    for i in 0..40 {
        tasks.spawn(sign_in(server.browser(), i));
    }
    let mut writes: JoinSet<u16> = JoinSet::new();
    for i in 0..20 {
        let api = api.clone();
        writes.spawn(async move {
            let r = if i % 2 == 0 {
                api.post(
                    &format!("/tenants/{TENANT}/groups"),
                    &json!({"name": format!("group-{i}")}),
                )
                .await
            } else {
                api.post(
                    &format!("/tenants/{TENANT}/users"),
                    &json!({"email": format!("new{i}@acme.test")}),
                )
                .await
            };
            r.status
        });
    }
    while let Some(r) = tasks.join_next().await {
        let (i, status) = r.expect("a sign-in task completes");
        assert_eq!(
            status,
            attempt(i).2,
            "sign-in attempt {i}: {:?}",
            attempt(i)
        );
    }
    while let Some(r) = writes.join_next().await {
        assert_eq!(r.expect("a write task completes"), 201);
    }

    let all = audit_all(&api, TENANT).await;
    let ok = of_type(&all, "signin.succeeded");
    let failed = of_type(&all, "signin.failed");
    assert_eq!(ok.len(), 25, "every successful sign-in is recorded once");
    assert_eq!(failed.len(), 15, "every failed sign-in is recorded once");
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &failed {
        *reasons
            .entry(f["data"]["reason"].as_str().expect("reason"))
            .or_default() += 1;
    }
    assert_eq!(
        reasons,
        BTreeMap::from([("unknown_account", 5), ("wrong_password", 10)])
    );
    assert_eq!(of_type(&all, "group.created").len(), 10);
    assert_eq!(of_type(&all, "user.created").len(), USERS + 10);
    let n = 1 + USERS + 40 + 20;
    assert_eq!(all.len(), n, "tenant, users, sign-ins, writes");

    let rows = db::entries(&dep, &tid).await;
    assert_eq!(
        rows.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=n as i64).collect::<Vec<_>>(),
        "seq has no gaps and no duplicates"
    );
    assert_linked(&tid, &rows, (0, &"0".repeat(64)));
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.event_id.as_str()).collect();
    assert_eq!(ids.len(), n, "every event once");
    let report = assert_intact(&dep, Some((&server, &api)), TENANT).await;
    assert_eq!(report["entries"], n as i64);
}

on_both_backends!(parallel_sign_ins_and_writes);

/// Two Tessera processes on one PostgreSQL database: writes through both land in one chain, and
/// the outbox delivers each event to the one subscription exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_nodes_one_chain_each_event_delivered_once() {
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    let dep = Deployment::new(backend);
    let node_a = dep.start().await;
    let node_b = dep.start().await;
    let a = node_a.admin_api().await;
    let b = node_b.admin_api().await;
    let tid = tenant(&a, TENANT).await;
    let receiver = Receiver::start(200).await;
    let hook = a
        .post(
            &format!("/tenants/{TENANT}/webhooks"),
            &json!({"url": receiver.url}),
        )
        .await
        .expect(201);
    let hook_id = hook["id"].as_str().expect("id").to_string();
    for i in 0..2 {
        let api = if i == 0 { &a } else { &b };
        api.create_user(TENANT, &email(i), Some(&password(i))).await;
    }

    let mut tasks: JoinSet<u16> = JoinSet::new();
    for i in 0..30 {
        let api: Api = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.spawn(async move {
            api.post(
                &format!("/tenants/{TENANT}/groups"),
                &json!({"name": format!("group-{i}")}),
            )
            .await
            .status
        });
    }
    for i in 0..10 {
        let browser = if i % 2 == 0 {
            node_a.browser()
        } else {
            node_b.browser()
        };
        tasks.spawn(async move {
            let u = i % 2;
            let pw = if i % 3 == 0 {
                "wrong-password".to_string()
            } else {
                password(u)
            };
            let r = browser.sign_in(TENANT, &email(u), &pw).await;
            // 303 for success, 401 for failure: both are events.
            if r.status == 303 || r.status == 401 {
                201
            } else {
                r.status
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        assert_eq!(r.expect("a task completes"), 201);
    }

    // One chain: consecutive seqs, each entry linked to the one before.
    let rows = db::entries(&dep, &tid).await;
    let n = rows.len();
    assert_eq!(
        n,
        1 + 1 + 2 + 30 + 10,
        "tenant, webhook, users, groups, sign-ins"
    );
    assert_eq!(
        rows.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=n as i64).collect::<Vec<_>>()
    );
    assert_linked(&tid, &rows, (0, &"0".repeat(64)));
    assert_intact(&dep, Some((&node_a, &a)), TENANT).await;
    let vb = crate::support::api_verify(&b, TENANT).await;
    assert_eq!(vb["intact"], true, "{vb}");
    assert_eq!(vb["head_seq"], n as i64);

    // Every event from the subscription's own creation on is delivered, each exactly once.
    let all = audit_all(&a, TENANT).await;
    let created_at = all
        .iter()
        .find(|e| e["type"] == "webhook.created")
        .and_then(|e| e["seq"].as_i64())
        .expect("webhook.created is recorded");
    let expected: BTreeSet<String> = all
        .iter()
        .filter(|e| e["seq"].as_i64().is_some_and(|s| s >= created_at))
        .map(|e| e["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(expected.len(), n - 1);
    poll_until(
        "every delivery to be recorded as delivered",
        Duration::from_secs(60),
        || async {
            let d = db::deliveries(&dep, &hook_id).await;
            (d.len() == expected.len() && d.iter().all(|r| r.1 == "delivered")).then_some(())
        },
    )
    .await;
    let got = receiver.received();
    let mut per_event: BTreeMap<String, usize> = BTreeMap::new();
    for r in &got {
        *per_event.entry(r.event_id()).or_default() += 1;
    }
    let delivered: BTreeSet<String> = per_event.keys().cloned().collect();
    assert_eq!(delivered, expected, "the receiver got every event");
    let twice: Vec<_> = per_event.iter().filter(|(_, c)| **c != 1).collect();
    assert!(
        twice.is_empty(),
        "events delivered more than once: {twice:?}"
    );
    assert_eq!(got.len(), expected.len(), "one POST per event");
    for d in db::deliveries(&dep, &hook_id).await {
        assert_eq!(d.2, 1, "delivered at the first attempt: {d:?}");
    }
    drop(node_b);
}
