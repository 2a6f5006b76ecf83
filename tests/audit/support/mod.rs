//! What the audit tests add to the end-to-end harness: a local HTTP receiver for webhooks
//! (`receiver`), syslog collectors (`syslog`), raw database access to read and tamper with the
//! audit tables (`db`), and the chain format and webhook signature recomputed independently of
//! the product (`chain`), plus small helpers for the audit API.

#[macro_use]
pub mod db;
pub mod chain;
pub mod receiver;
pub mod syslog;

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Api, Deployment, Server, poll_until};

/// The tenant most scenarios work in.
pub const TENANT: &str = "acme";

/// Creates the workforce tenant `slug` through the API and returns its id.
pub async fn tenant(api: &Api, slug: &str) -> String {
    let t = api.create_tenant(slug, "workforce").await;
    t["id"].as_str().expect("a tenant has an id").to_string()
}

/// Every audit entry of `slug` through the API, newest first (following the cursor).
pub async fn audit_all(api: &Api, slug: &str) -> Vec<Value> {
    audit_query(api, slug, "").await
}

/// The entries matching `query` (without `?`, e.g. `type=signin.failed`), newest first, all pages.
pub async fn audit_query(api: &Api, slug: &str, query: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut q = format!("limit=200&{query}");
        if let Some(a) = &after {
            q.push_str(&format!("&after={a}"));
        }
        let page = api
            .get(&format!("/tenants/{slug}/audit?{q}"))
            .await
            .expect(200);
        items.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => after = Some(c.to_string()),
            None => return items,
        }
    }
}

/// The entries of one event type, newest first.
pub fn of_type<'a>(entries: &'a [Value], ty: &str) -> Vec<&'a Value> {
    entries.iter().filter(|e| e["type"] == ty).collect()
}

/// The single entry of type `ty` whose target is `target`.
pub fn one<'a>(entries: &'a [Value], ty: &str, target: &str) -> &'a Value {
    let found: Vec<&Value> = entries
        .iter()
        .filter(|e| e["type"] == ty && e["data"]["target"]["id"] == target)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "exactly one {ty} entry targets {target}: {}",
        json!(entries)
    );
    found[0]
}

/// The seqs of `entries`, in their order.
pub fn seqs(entries: &[Value]) -> Vec<i64> {
    entries
        .iter()
        .map(|e| e["seq"].as_i64().expect("an entry has a seq"))
        .collect()
}

/// `GET /audit/verify` of `slug`.
pub async fn api_verify(api: &Api, slug: &str) -> Value {
    api.get(&format!("/tenants/{slug}/audit/verify"))
        .await
        .expect(200)
}

/// `tessera audit verify --tenant slug --json` through the deployment's configuration; returns
/// the exit status's success and the report.
pub async fn cli_verify(dep: &Deployment, slug: &str) -> (Option<i32>, Value) {
    let out = dep
        .cli(&["audit", "verify", "--tenant", slug, "--json"])
        .await;
    (out.status.code(), out.json())
}

/// Asserts that the CLI and (when a server is given) the API both find `slug`'s chain intact;
/// returns the CLI's report.
pub async fn assert_intact(dep: &Deployment, server: Option<(&Server, &Api)>, slug: &str) -> Value {
    let (code, report) = cli_verify(dep, slug).await;
    assert_eq!(
        code,
        Some(0),
        "`tessera audit verify` exits 0 on an intact chain: {report}"
    );
    assert_eq!(report["intact"], true, "{report}");
    assert_eq!(report["tenant"], slug, "{report}");
    assert!(
        report.get("first_broken_seq").is_none() && report.get("problem").is_none(),
        "an intact report names no problem: {report}"
    );
    if let Some((_, api)) = server {
        let v = api_verify(api, slug).await;
        assert_eq!(v["intact"], true, "{v}");
        assert!(
            v["first_broken_seq"].is_null() && v["problem"].is_null(),
            "{v}"
        );
        for k in ["entries", "checkpoints", "anchor_seq", "head_seq"] {
            assert_eq!(v[k], report[k], "API and CLI agree on {k}: {v} vs {report}");
        }
    }
    report
}

/// `tessera audit checkpoint --tenant slug --json`; returns the checkpointed seq (asserting that
/// a new checkpoint was signed).
pub async fn checkpoint(server: &Server, slug: &str) -> i64 {
    let v = server
        .cli_json(&["audit", "checkpoint", "--tenant", slug])
        .await;
    assert_eq!(v["tenant"], slug, "{v}");
    assert_eq!(v["created"], true, "a new checkpoint is signed: {v}");
    v["seq"].as_i64().expect("checkpoint prints its seq")
}

/// The deliveries of a subscription (newest first) through the API.
pub async fn deliveries(api: &Api, slug: &str, webhook: &str) -> Vec<Value> {
    let page = api
        .get(&format!(
            "/tenants/{slug}/webhooks/{webhook}/deliveries?limit=200"
        ))
        .await
        .expect(200);
    page["items"].as_array().expect("items").clone()
}

/// Polls the delivery log until `check` accepts one delivery list; returns it.
pub async fn wait_deliveries<F>(
    api: &Api,
    slug: &str,
    webhook: &str,
    what: &str,
    timeout: Duration,
    check: F,
) -> Vec<Value>
where
    F: Fn(&[Value]) -> bool,
{
    poll_until(what, timeout, || async {
        let d = deliveries(api, slug, webhook).await;
        check(&d).then_some(d)
    })
    .await
}

/// Parses an RFC 3339 time as the API writes it.
pub fn parse_time(s: &Value) -> time::OffsetDateTime {
    let text = s.as_str().unwrap_or_else(|| panic!("not a time: {s}"));
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{text} is not RFC 3339: {e}"))
}
