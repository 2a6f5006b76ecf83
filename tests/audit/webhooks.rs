//! Webhooks with a real receiver on a loopback port: the subscription API, the signature (HMAC
//! recomputed here with the secret from the create response), retries with exponential backoff,
//! the delivery log, redelivery on demand, dead-lettering after ten attempts, and a pending
//! delivery that survives SIGKILL of the server.
//!
//! Dead-lettering would take 2+4+…+512 s of backoff; instead of waiting, the test makes each
//! scheduled retry due at once in the database after checking the schedule the server chose.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::harness::{Api, Backend, poll_until, start};
use crate::support::chain::verify_signature;
use crate::support::receiver::{Received, Receiver};
use crate::support::{TENANT, db, deliveries, parse_time, tenant, wait_deliveries};

/// Subscribes `url` to `types`; returns (id, secret).
async fn subscribe(api: &Api, url: &str, types: &[&str]) -> (String, String) {
    let created = api
        .post(
            &format!("/tenants/{TENANT}/webhooks"),
            &json!({"url": url, "event_types": types}),
        )
        .await
        .expect(201);
    (
        created["id"].as_str().expect("id").to_string(),
        created["secret"]
            .as_str()
            .expect("the secret, once")
            .to_string(),
    )
}

fn secs_between(earlier: SystemTime, later: SystemTime) -> f64 {
    later
        .duration_since(earlier)
        .map(|d| d.as_secs_f64())
        .unwrap_or_else(|e| -e.duration().as_secs_f64())
}

fn system_time(t: time::OffsetDateTime) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_nanos(t.unix_timestamp_nanos() as u64)
}

/// Checks one webhook request: method, headers, the signature and the envelope.
fn check_request(r: &Received, secret: &str, event_id: &str, ty: &str) -> Value {
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/hook");
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.header("tessera-event-id"), event_id);
    assert_eq!(r.header("tessera-event-type"), ty);
    uuid::Uuid::parse_str(r.header("tessera-delivery-id")).expect("a delivery id");
    let ts = verify_signature(secret, r.header("tessera-signature"), &r.body)
        .unwrap_or_else(|e| panic!("the signature verifies: {e}"));
    let sent = ts as f64;
    let got = secs_between(SystemTime::UNIX_EPOCH, r.at);
    assert!(
        (got - sent).abs() < 5.0,
        "the signature's timestamp ({ts}) is the time of sending ({got})"
    );
    assert!(
        verify_signature(
            "another-secret-entirely",
            r.header("tessera-signature"),
            &r.body
        )
        .is_err(),
        "another secret does not verify"
    );
    let body = r.json();
    let keys: Vec<&str> = body
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["data", "id", "occurred_at", "tenant_id", "type"],
        "the documented envelope: {body}"
    );
    assert_eq!(body["id"], event_id);
    assert_eq!(body["type"], ty);
    assert_eq!(body["data"]["type"], ty);
    body
}

async fn subscriptions_signatures_and_retries(backend: Backend) {
    let (_dep, _server, api) = start(backend).await;
    let tid = tenant(&api, TENANT).await;
    let receiver = Receiver::start(200).await;
    let hooks = format!("/tenants/{TENANT}/webhooks");

    // The subscription API.
    for (bad, field) in [
        (json!({"url": "http://evil.example/hook"}), "url"),
        (json!({"url": "not a url"}), "url"),
        (json!({"url": receiver.url, "secret": "short"}), "secret"),
        (
            json!({"url": receiver.url, "event_types": ["User Created"]}),
            "event_types",
        ),
        (
            json!({"url": receiver.url, "kind": "carrier_pigeon"}),
            "kind",
        ),
        (json!({"url": "nohost", "kind": "syslog_udp"}), "url"),
    ] {
        let r = api.post(&hooks, &bad).await;
        r.expect_error(400, "invalid_request");
        assert_eq!(r.json()["field"], field, "{bad}");
    }
    let created = api
        .post(
            &hooks,
            &json!({"url": receiver.url, "event_types": ["user.created"]}),
        )
        .await
        .expect(201);
    let hook = created["id"].as_str().expect("id").to_string();
    let secret = created["secret"].as_str().expect("secret").to_string();
    assert!(secret.len() >= 16, "a generated secret: {created}");
    assert_eq!(created["kind"], "webhook");
    assert_eq!(created["url"], receiver.url);
    assert_eq!(created["event_types"], json!(["user.created"]));
    assert_eq!(created["enabled"], true);
    let read = api.get(&format!("{hooks}/{hook}")).await.expect(200);
    assert!(
        read.get("secret").is_none(),
        "the secret is shown once: {read}"
    );
    assert!(!read.to_string().contains(&secret));
    assert_eq!(read["id"], hook.as_str());
    let list = api.get(&hooks).await.expect(200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
    assert!(!list.to_string().contains(&secret));
    api.get(&format!("{hooks}/{}", uuid::Uuid::new_v4()))
        .await
        .expect_error(404, "not_found");

    // A user created while the receiver fails twice: 500, 500, then 200.
    receiver.script(&[500, 500]);
    let user = api
        .create_user(TENANT, "hooked@acme.test", Some("hooked-password"))
        .await;
    let user_id = user["id"].as_str().expect("id").to_string();
    let got = receiver
        .wait("three attempts", Duration::from_secs(30), |r| r.len() >= 3)
        .await;
    let entry = crate::support::audit_query(&api, TENANT, "type=user.created").await;
    let event_id = entry[0]["id"].as_str().expect("id").to_string();
    let mut delivery_id = None;
    for r in &got {
        let body = check_request(r, &secret, &event_id, "user.created");
        assert_eq!(body["tenant_id"], tid.as_str());
        assert_eq!(
            body["data"]["target"],
            json!({"kind": "user", "id": user_id})
        );
        assert_eq!(body["data"]["outcome"], "success");
        // The envelope carries the event's time at full precision, the trail at milliseconds.
        let sent = parse_time(&body["occurred_at"]);
        assert_eq!(
            sent.unix_timestamp_nanos() / 1_000_000,
            parse_time(&entry[0]["occurred_at"]).unix_timestamp_nanos() / 1_000_000,
            "the envelope's time is the event's"
        );
        assert!(
            !String::from_utf8_lossy(&r.body).contains("hooked@acme.test"),
            "no personal data leaves in a webhook"
        );
        let d = r.delivery_id();
        assert_eq!(
            delivery_id.get_or_insert(d.clone()),
            &d,
            "retries keep the delivery id"
        );
    }
    let statuses: Vec<u16> = got.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 500, 200]);
    // Backoff: 2 s, then 4 s, ±20 %; later by at most the worker's half-second poll (and a
    // margin for a loaded machine), never earlier.
    let gap1 = secs_between(got[0].at, got[1].at);
    let gap2 = secs_between(got[1].at, got[2].at);
    assert!(
        (1.59..=4.0).contains(&gap1),
        "first retry after ~2 s, not {gap1}"
    );
    assert!(
        (3.19..=6.4).contains(&gap2),
        "second retry after ~4 s, not {gap2}"
    );

    // The delivery log.
    let log = wait_deliveries(
        &api,
        TENANT,
        &hook,
        "the delivery to be recorded",
        Duration::from_secs(10),
        |d| d.len() == 1 && d[0]["status"] == "delivered",
    )
    .await;
    let d = &log[0];
    let delivery_id = delivery_id.expect("a delivery id");
    assert_eq!(d["id"], delivery_id.as_str());
    assert_eq!(d["event_id"], event_id.as_str());
    assert_eq!(d["event_type"], "user.created");
    assert_eq!(d["attempts"], 3, "{d}");
    assert_eq!(d["last_status_code"], 200, "{d}");
    assert!(d["last_error"].is_null(), "{d}");
    let delivered_at = parse_time(&d["delivered_at"]);
    let sent = system_time(delivered_at);
    assert!(
        secs_between(got[2].at, sent).abs() < 2.0,
        "delivered_at is the time of the successful attempt"
    );
    assert_eq!(
        receiver.received().len(),
        3,
        "exactly three POSTs, one of them accepted"
    );

    // Redelivery on demand sends the same delivery again, freshly signed.
    let redeliver = format!("{hooks}/{hook}/deliveries/{delivery_id}/redeliver");
    let r = api.post_empty(&redeliver).await;
    assert_eq!(r.status, 202, "{}", r.text());
    let again = receiver
        .wait("the redelivery", Duration::from_secs(15), |r| r.len() >= 4)
        .await;
    let fourth = &again[3];
    check_request(fourth, &secret, &event_id, "user.created");
    assert_eq!(fourth.delivery_id(), delivery_id);
    assert_eq!(fourth.body, got[2].body, "the same event document");
    let log = wait_deliveries(
        &api,
        TENANT,
        &hook,
        "the redelivery to be recorded",
        Duration::from_secs(10),
        |d| d[0]["status"] == "delivered" && d[0]["attempts"] == 1,
    )
    .await;
    assert_eq!(log.len(), 1);
    api.post_empty(&format!(
        "{hooks}/{hook}/deliveries/{}/redeliver",
        uuid::Uuid::new_v4()
    ))
    .await
    .expect_error(404, "not_found");

    // Only subscribed types are delivered: a group is not a user.created.
    api.post(
        &format!("/tenants/{TENANT}/groups"),
        &json!({"name": "Not delivered"}),
    )
    .await
    .expect(201);
    let second = api.create_user(TENANT, "second@acme.test", None).await;
    let got = receiver
        .wait("the second user", Duration::from_secs(15), |r| r.len() >= 5)
        .await;
    assert_eq!(got[4].header("tessera-event-type"), "user.created");
    assert_eq!(got[4].json()["data"]["target"]["id"], second["id"]);
    assert_ne!(got[4].delivery_id(), delivery_id);
    assert_eq!(deliveries(&api, TENANT, &hook).await.len(), 2);

    // Deleting the subscription stops deliveries and drops its log.
    assert_eq!(api.delete(&format!("{hooks}/{hook}")).await.status, 204);
    api.get(&format!("{hooks}/{hook}/deliveries"))
        .await
        .expect_error(404, "not_found");
    api.delete(&format!("{hooks}/{hook}"))
        .await
        .expect_error(404, "not_found");
}

/// A receiver that always fails: ten attempts on the documented schedule, then a dead letter,
/// which a redelivery on demand revives.
async fn dead_letter_after_ten_attempts(backend: Backend) {
    let (dep, _server, api) = start(backend).await;
    tenant(&api, TENANT).await;
    let receiver = Receiver::start(500).await;
    let (hook, secret) = subscribe(&api, &receiver.url, &["group.*"]).await;
    api.post(
        &format!("/tenants/{TENANT}/groups"),
        &json!({"name": "Doomed"}),
    )
    .await
    .expect(201);
    let mut delivery = String::new();
    for attempt in 1..=10i64 {
        let got = receiver
            .wait(
                &format!("attempt {attempt}"),
                Duration::from_secs(20),
                |r| r.len() as i64 >= attempt,
            )
            .await;
        assert_eq!(got.len() as i64, attempt, "one POST per attempt");
        let last = &got[attempt as usize - 1];
        check_request(
            last,
            &secret,
            last.header("tessera-event-id"),
            "group.created",
        );
        let log = wait_deliveries(
            &api,
            TENANT,
            &hook,
            &format!("attempt {attempt} to be recorded"),
            Duration::from_secs(10),
            |d| d.len() == 1 && d[0]["attempts"] == attempt,
        )
        .await;
        let d = &log[0];
        delivery = d["id"].as_str().expect("id").to_string();
        assert_eq!(d["last_status_code"], 500, "{d}");
        assert!(
            d["last_error"].as_str().is_some_and(|e| e.contains("500")),
            "the log says why: {d}"
        );
        assert!(d["delivered_at"].is_null());
        if attempt < 10 {
            assert_eq!(d["status"], "pending", "{d}");
            // The retry is scheduled 2 s · 2^(n-1) ± 20 % after the failed attempt.
            let base = 2f64 * 2f64.powi(attempt as i32 - 1);
            let wait = secs_between(last.at, system_time(parse_time(&d["next_attempt_at"])));
            assert!(
                wait >= base * 0.8 - 0.01 && wait <= base * 1.2 + 1.5,
                "attempt {attempt}: retry in {wait:.3} s, expected {base} s ± 20 %"
            );
            // Instead of waiting out the backoff, make the retry due now.
            poll_until(
                "the delivery's lease to be released",
                Duration::from_secs(10),
                || async {
                    let rows = db::deliveries(&dep, &hook).await;
                    (rows.len() == 1 && rows[0].2 == attempt && rows[0].4.is_none()).then_some(())
                },
            )
            .await;
            assert_eq!(db::make_due(&dep, &delivery).await, 1);
        } else {
            assert_eq!(d["status"], "dead", "dead-lettered after 10 attempts: {d}");
        }
    }
    assert_eq!(receiver.received().len(), 10);
    let rows = db::deliveries(&dep, &hook).await;
    assert_eq!(rows[0].1, "dead");
    assert_eq!(rows[0].2, 10);

    // Redelivery on demand brings the dead letter back.
    receiver.answer(200);
    let r = api
        .post_empty(&format!(
            "/tenants/{TENANT}/webhooks/{hook}/deliveries/{delivery}/redeliver"
        ))
        .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let got = receiver
        .wait("the redelivery", Duration::from_secs(15), |r| r.len() >= 11)
        .await;
    assert_eq!(got[10].status, 200);
    assert_eq!(got[10].delivery_id(), delivery);
    let log = wait_deliveries(
        &api,
        TENANT,
        &hook,
        "the redelivered dead letter",
        Duration::from_secs(10),
        |d| d[0]["status"] == "delivered",
    )
    .await;
    assert_eq!(log[0]["attempts"], 1, "{}", log[0]);
    assert_eq!(log[0]["last_status_code"], 200);
}

/// A delivery pending while the receiver answers 503 survives SIGKILL of the server; after a
/// restart on the same database it arrives once the receiver accepts.
async fn pending_delivery_survives_sigkill(backend: Backend) {
    let dep = crate::harness::Deployment::new(backend);
    let server = dep.start().await;
    let api = server.admin_api().await;
    tenant(&api, TENANT).await;
    let receiver = Receiver::start(503).await;
    let (hook, secret) = subscribe(&api, &receiver.url, &["user.created"]).await;
    let user = api.create_user(TENANT, "durable@acme.test", None).await;
    receiver
        .wait("a first, refused attempt", Duration::from_secs(15), |r| {
            !r.is_empty()
        })
        .await;
    // Kill while no attempt is in flight (the lease released), as a crash between attempts.
    poll_until(
        "the failed attempt to be recorded",
        Duration::from_secs(10),
        || async {
            let rows = db::deliveries(&dep, &hook).await;
            (rows.len() == 1 && rows[0].2 >= 1 && rows[0].4.is_none() && rows[0].1 == "pending")
                .then_some(())
        },
    )
    .await;
    drop(api);
    drop(server); // SIGKILL
    let refused = receiver.received().len();
    assert!(receiver.received().iter().all(|r| r.status == 503));

    let restarted = dep.start().await;
    let restart_at = SystemTime::now();
    receiver.answer(200);
    let got = receiver
        .wait(
            "the delivery after the restart",
            Duration::from_secs(30),
            |r| r.iter().any(|x| x.status == 200),
        )
        .await;
    let accepted: Vec<&Received> = got.iter().filter(|r| r.status == 200).collect();
    assert_eq!(accepted.len(), 1, "delivered once");
    assert!(accepted[0].at > restart_at, "by the restarted server");
    assert!(got.len() > refused, "a new attempt after the restart");
    let body = check_request(
        accepted[0],
        &secret,
        accepted[0].header("tessera-event-id"),
        "user.created",
    );
    assert_eq!(body["data"]["target"]["id"], user["id"]);
    let api = restarted.admin_api().await;
    let log = wait_deliveries(
        &api,
        TENANT,
        &hook,
        "the delivery to be recorded after the restart",
        Duration::from_secs(10),
        |d| d.len() == 1 && d[0]["status"] == "delivered",
    )
    .await;
    assert!(
        log[0]["attempts"].as_i64().expect("attempts") >= 2,
        "{}",
        log[0]
    );
    assert_eq!(log[0]["last_status_code"], 200);
    assert_eq!(
        receiver
            .received()
            .iter()
            .filter(|r| r.status == 200)
            .count(),
        1
    );
}

/// A delivery is redelivered only through its own subscription's path.
async fn redeliver_checks_the_subscription(backend: Backend) {
    let (_dep, _server, api) = start(backend).await;
    tenant(&api, TENANT).await;
    let first = Receiver::start(200).await;
    let second = Receiver::start(200).await;
    let (hook_a, _) = subscribe(&api, &first.url, &["user.created"]).await;
    let (hook_b, _) = subscribe(&api, &second.url, &["group.created"]).await;
    api.create_user(TENANT, "once@acme.test", None).await;
    let log = wait_deliveries(
        &api,
        TENANT,
        &hook_a,
        "the delivery",
        Duration::from_secs(10),
        |d| d.len() == 1 && d[0]["status"] == "delivered",
    )
    .await;
    let delivery = log[0]["id"].as_str().expect("id").to_string();
    for other in [hook_b, uuid::Uuid::new_v4().to_string()] {
        api.post_empty(&format!(
            "/tenants/{TENANT}/webhooks/{other}/deliveries/{delivery}/redeliver"
        ))
        .await
        .expect_error(404, "not_found");
    }
    assert_eq!(first.received().len(), 1);
}

on_both_backends!(
    redeliver_checks_the_subscription,
    subscriptions_signatures_and_retries,
    dead_letter_after_ten_attempts,
    pending_delivery_survives_sigkill,
);
