//! SIEM streams: RFC 5424 syslog over UDP (one message per datagram) and over TCP (RFC 6587
//! octet counting), and JSON Lines over HTTP, each carrying the event JSON. Successes are
//! `<110>` (facility 13 log audit, severity 6 info), failures `<108>` (severity 4 warning).

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Backend, start};
use crate::support::receiver::Receiver;
use crate::support::syslog::{TcpCollector, UdpCollector};
use crate::support::{TENANT, audit_query, tenant, wait_deliveries};

/// Checks one RFC 5424 message and returns its event JSON.
fn check_syslog(msg: &str, pri: u8, ty: &str, tenant_id: &str, event_id: &str) -> Value {
    let prefix = format!("<{pri}>1 ");
    assert!(msg.starts_with(&prefix), "{msg} starts with {prefix}");
    // <pri>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG
    let mut parts = msg[prefix.len()..].splitn(5, ' ');
    let ts = parts.next().expect("a timestamp");
    time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("the timestamp {ts} is RFC 3339 ({e}): {msg}"));
    // RFC 5424 §6.2.3: TIME-SECFRAC = "." 1*6DIGIT, at most microseconds.
    let frac = ts
        .split_once('.')
        .map(|(_, f)| f.trim_end_matches('Z').len())
        .unwrap_or(0);
    assert!(
        frac <= 6,
        "TIMESTAMP {ts} has {frac} fractional digits: {msg}"
    );
    assert_eq!(parts.next(), Some("127.0.0.1"), "HOSTNAME: {msg}");
    assert_eq!(parts.next(), Some("tessera"), "APP-NAME: {msg}");
    assert_eq!(parts.next(), Some("-"), "PROCID: {msg}");
    let rest = parts.next().expect("MSGID and the rest");
    let (msgid, rest) = rest.split_once(' ').expect("MSGID");
    assert_eq!(msgid, ty, "MSGID is the event type: {msg}");
    let sd = format!("[tessera@32473 tenant=\"{tenant_id}\" event_id=\"{event_id}\"] ");
    assert!(rest.starts_with(&sd), "structured data {sd} in {msg}");
    let event: Value =
        serde_json::from_str(&rest[sd.len()..]).expect("the message is the event JSON");
    assert_eq!(event["id"], event_id, "{event}");
    assert_eq!(event["type"], ty, "{event}");
    assert_eq!(event["tenant_id"], tenant_id, "{event}");
    event
}

async fn syslog_and_json_lines(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let tid = tenant(&api, TENANT).await;
    let udp = UdpCollector::start().await;
    let tcp = TcpCollector::start().await;
    let lines = Receiver::start(200).await;
    let types = json!(["user.created", "signin.failed"]);
    let hooks = format!("/tenants/{TENANT}/webhooks");
    let mut ids = Vec::new();
    for (kind, url) in [
        ("syslog_udp", udp.addr.clone()),
        ("syslog_tcp", tcp.addr.clone()),
        ("json_lines", lines.url.clone()),
    ] {
        let created = api
            .post(
                &hooks,
                &json!({"kind": kind, "url": url, "event_types": types}),
            )
            .await
            .expect(201);
        assert_eq!(created["kind"], kind);
        assert_eq!(created["url"], url.as_str());
        ids.push(created["id"].as_str().expect("id").to_string());
    }

    // A success, then a failure.
    api.create_user(TENANT, "siem@acme.test", Some("siem-password-1"))
        .await;
    let created = audit_query(&api, TENANT, "type=user.created").await;
    let created_id = created[0]["id"].as_str().expect("id").to_string();
    let r = server
        .browser()
        .sign_in(TENANT, "siem@acme.test", "wrong-password")
        .await;
    assert_eq!(r.status, 401);
    let failed = audit_query(&api, TENANT, "type=signin.failed").await;
    let failed_id = failed[0]["id"].as_str().expect("id").to_string();

    for (how, messages) in [("UDP", udp.wait(2).await), ("TCP", tcp.wait(2).await)] {
        assert_eq!(messages.len(), 2, "{how}: {messages:?}");
        let ok = messages
            .iter()
            .find(|m| m.contains("user.created"))
            .unwrap_or_else(|| panic!("{how}: the user.created message in {messages:?}"));
        let ev = check_syslog(ok, 110, "user.created", &tid, &created_id);
        assert_eq!(ev["data"]["outcome"], "success");
        assert!(!ok.contains("siem@acme.test"), "no personal data: {ok}");
        let bad = messages
            .iter()
            .find(|m| m.contains("signin.failed"))
            .unwrap_or_else(|| panic!("{how}: the signin.failed message in {messages:?}"));
        let ev = check_syslog(bad, 108, "signin.failed", &tid, &failed_id);
        assert_eq!(ev["data"]["outcome"], "failure");
        assert_eq!(ev["data"]["reason"], "wrong_password");
        assert!(!bad.contains("127.0.0.1\""), "no IP in the event: {bad}");
    }

    // JSON Lines: one event per line, newline-terminated.
    let got = lines
        .wait("two JSON Lines posts", Duration::from_secs(20), |r| {
            r.len() >= 2
        })
        .await;
    for r in &got {
        assert_eq!(r.header("content-type"), "application/x-ndjson");
        let text = String::from_utf8(r.body.clone()).expect("UTF-8");
        assert!(text.ends_with('\n'), "{text:?}");
        assert_eq!(text.lines().count(), 1, "{text:?}");
        let ev: Value = serde_json::from_str(text.trim_end()).expect("a JSON line");
        assert_eq!(ev["id"], r.header("tessera-event-id"));
    }
    let mut seen: Vec<String> = got.iter().map(|r| r.event_id()).collect();
    seen.sort();
    let mut want = vec![created_id.clone(), failed_id.clone()];
    want.sort();
    assert_eq!(seen, want);

    // Each stream's log shows both deliveries done (no HTTP status for syslog).
    for (i, id) in ids.iter().enumerate() {
        let log = wait_deliveries(
            &api,
            TENANT,
            id,
            "the stream's deliveries",
            Duration::from_secs(10),
            |d| d.len() == 2 && d.iter().all(|x| x["status"] == "delivered"),
        )
        .await;
        for d in &log {
            assert_eq!(d["attempts"], 1, "{d}");
            if i < 2 {
                assert!(d["last_status_code"].is_null(), "syslog has no status: {d}");
            } else {
                assert_eq!(d["last_status_code"], 200);
            }
        }
    }
}

on_both_backends!(syslog_and_json_lines);
