//! Email, end to end: the real server hands messages to a real SMTP server (the aiosmtpd sink of
//! `harness::smtp`) through its SMTP transport; an outage of that server delays a message but
//! loses nothing; the `log` transport needs no SMTP at all; the admin endpoints refuse bad input
//! with JSON errors; and a queued message's recipient and content are not readable in the
//! database.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::smtp::SmtpSink;
use crate::harness::{Api, Backend, Deployment, Server, db, poll_until};

const WAIT: Duration = Duration::from_secs(60);
const FROM: &str = "Mail Co Identity <id@mailco.example>";

async fn start_with_sink(backend: Backend, sink: &SmtpSink) -> (Deployment, Server, Api) {
    let dep = Deployment::new(backend).set("TESSERA_MAIL_FROM", FROM);
    let env = sink.env();
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = dep.start_with(&extra).await;
    let api = server.admin_api().await;
    api.post(
        "/tenants",
        &json!({"slug": "mailco", "preset": "customer", "name": "Mail & Co"}),
    )
    .await
    .expect(201);
    (dep, server, api)
}

/// The outbox item of message `id`, once `ready` says it is in the wanted state.
async fn outbox_item(api: &Api, id: &str, ready: impl Fn(&Value) -> bool) -> Value {
    poll_until("the outbox to show the message", WAIT, || async {
        let outbox = api.get("/tenants/mailco/email/outbox").await.expect(200);
        outbox["items"]
            .as_array()
            .and_then(|items| items.iter().find(|m| m["id"] == id).cloned())
            .filter(&ready)
    })
    .await
}

async fn queue_test(api: &Api, to: &str) -> String {
    let queued = api
        .post("/tenants/mailco/email/test", &json!({ "to": to }))
        .await
        .expect(202);
    assert_eq!(queued["status"], "pending", "{queued}");
    queued["id"].as_str().expect("an id").to_string()
}

async fn test_email_reaches_the_mail_server(backend: Backend) {
    let Some(sink) = SmtpSink::start().await else {
        return;
    };
    let (_dep, server, api) = start_with_sink(backend, &sink).await;
    let to = "Bob.Receiver@Example.com";
    let queued = api
        .post("/tenants/mailco/email/test", &json!({ "to": to }))
        .await
        .expect(202);
    assert_eq!(queued["transport"], "smtp");
    let id = queued["id"].as_str().expect("an id").to_string();

    let mail = sink.wait_for(to, WAIT).await;
    assert_eq!(mail.from, FROM);
    assert_eq!(mail.mail_from, "id@mailco.example", "the envelope sender");
    assert_eq!(mail.rcpt_tos, vec![to.to_string()]);
    assert_eq!(mail.to, to);
    assert_eq!(mail.subject, "Test message from Mail & Co");
    assert!(
        mail.text
            .starts_with("This is a test message from Mail & Co.\n"),
        "{:?}",
        mail.text
    );
    let html = mail.html.as_deref().expect("an HTML alternative");
    assert!(html.contains("<strong>Mail &amp; Co</strong>"), "{html}");
    assert!(mail.message_id.is_some(), "a Message-ID header");
    let raw = mail.raw();
    assert!(raw.contains("multipart/alternative"), "{raw}");

    // The outbox records the delivery without the recipient.
    let item = outbox_item(&api, &id, |m| m["status"] == "sent").await;
    assert_eq!(item["kind"], "test");
    assert_eq!(item["attempts"], 1);
    let outbox = api.get("/tenants/mailco/email/outbox").await.expect(200);
    assert_eq!(outbox["transport"], "smtp");
    assert_eq!(
        (&outbox["pending"], &outbox["sent"], &outbox["dead"]),
        (&json!(0), &json!(1), &json!(0)),
        "{outbox}"
    );
    assert!(
        !outbox.to_string().to_lowercase().contains("bob.receiver"),
        "{outbox}"
    );
    let sent_only = api
        .get("/tenants/mailco/email/outbox?status=sent&limit=1")
        .await
        .expect(200);
    assert_eq!(sent_only["items"].as_array().map(Vec::len), Some(1));

    // The operator's request is audited, without the address.
    let audit = api
        .get("/tenants/mailco/audit?type=mail.test_queued")
        .await
        .expect(200);
    let entry = &audit["items"][0];
    assert_eq!(entry["data"]["mail_id"], id.as_str(), "{audit}");
    assert!(
        !audit.to_string().to_lowercase().contains("bob.receiver"),
        "{audit}"
    );
    // Neither does the server log name the recipient or repeat the message.
    let log = server.log();
    assert!(!log.to_lowercase().contains("bob.receiver"), "{log}");
    assert!(!log.contains("This is a test message"), "{log}");
}

async fn an_outage_loses_no_message(backend: Backend) {
    let Some(mut sink) = SmtpSink::start().await else {
        return;
    };
    sink.stop().await;
    let (dep, _server, api) = start_with_sink(backend, &sink).await;
    let to = "outage.receiver-4471@down.example";
    let id = queue_test(&api, to).await;

    // The mail server is down: the attempt fails and the message waits for its retry.
    let item = outbox_item(&api, &id, |m| m["attempts"].as_i64() >= Some(1)).await;
    assert_eq!(item["status"], "pending", "{item}");
    let error = item["last_error"]
        .as_str()
        .expect("the failure is recorded");
    assert!(!error.contains("outage.receiver"), "{error}");

    // While it waits, neither its recipient nor its content is readable in the database (the
    // SQLite files, or every row of every PostgreSQL table).
    let raw = db::raw_contents(&dep).await;
    assert!(raw.len() > 1000, "the database holds data");
    assert!(
        db::reveals(&raw, "mailco"),
        "sanity: the scan reads the data"
    );
    for secret in [
        to,
        "outage.receiver",
        "down.example",
        "This is a test message",
    ] {
        assert!(
            !db::reveals(&raw, secret),
            "{secret:?} is readable in the database while the message is queued"
        );
    }

    // The mail server comes back on the same port: the message arrives.
    sink.restart().await;
    let mail = sink.wait_for(to, WAIT).await;
    assert_eq!(mail.subject, "Test message from Mail & Co");
    let item = outbox_item(&api, &id, |m| m["status"] == "sent").await;
    assert!(item["attempts"].as_i64() >= Some(2), "{item}");
    assert_eq!(sink.received().len(), 1, "sent exactly once");
}

async fn a_queued_message_survives_a_restart(backend: Backend) {
    let Some(mut sink) = SmtpSink::start().await else {
        return;
    };
    sink.stop().await;
    let (dep, mut server, api) = start_with_sink(backend, &sink).await;
    let to = "restart.receiver@example.com";
    let id = queue_test(&api, to).await;
    outbox_item(&api, &id, |m| m["attempts"].as_i64() >= Some(1)).await;
    // The server stops while the mail server is down; the message waits in the database.
    server.stop().await;
    sink.restart().await;
    let env = sink.env();
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let _next = dep.start_with(&extra).await;
    let mail = sink.wait_for(to, WAIT).await;
    assert_eq!(mail.subject, "Test message from Mail & Co");
    assert_eq!(mail.from, FROM);
}

async fn log_transport_needs_no_mail_server(backend: Backend) {
    let dep = Deployment::new(backend);
    let server = dep.start().await;
    let api = server.admin_api().await;
    api.post(
        "/tenants",
        &json!({"slug": "mailco", "preset": "workforce", "name": "Logged Mail Co"}),
    )
    .await
    .expect(201);
    let queued = api
        .post(
            "/tenants/mailco/email/test",
            &json!({ "to": "dev@log.example" }),
        )
        .await
        .expect(202);
    assert_eq!(queued["transport"], "log");
    let id = queued["id"].as_str().expect("an id").to_string();
    let item = outbox_item(&api, &id, |m| m["status"] == "sent").await;
    assert_eq!(item["attempts"], 1);
    let log = server.log();
    assert!(
        log.contains("TESSERA_MAIL_TRANSPORT=log") && log.contains("development only"),
        "a loud warning: {log}"
    );
    assert_eq!(
        log.matches("EMAIL IS NOT SENT").count(),
        1,
        "the warning is said once"
    );
    assert!(
        log.contains("Test message from Logged Mail Co"),
        "the log shows the message: {log}"
    );
    assert!(log.contains("dev@log.example"), "{log}");
}

async fn bad_requests_get_json_errors(backend: Backend) {
    let dep = Deployment::new(backend);
    let server = dep.start().await;
    let api = server.admin_api().await;
    api.create_tenant("mailco", "customer").await;
    let path = "/tenants/mailco/email/test";

    api.post(path, &json!({}))
        .await
        .expect_error(400, "invalid_request");
    api.post(path, &json!({"to": 42}))
        .await
        .expect_error(400, "invalid_request");
    api.post(path, &json!({"to": "a@b.example", "cc": "c@d.example"}))
        .await
        .expect_error(400, "invalid_request");
    for bad in [
        "",
        "not-an-address",
        "two@a.example, three@b.example",
        "Bob <bob@b.example>",
        "bob@b.example\r\nBcc: eve@evil.example",
        "bob@",
    ] {
        let r = api.post(path, &json!({ "to": bad })).await;
        r.expect_error(400, "invalid_request");
        assert_eq!(r.json()["field"], "to", "{bad:?}: {}", r.text());
    }
    api.post(
        "/tenants/nosuchtenant/email/test",
        &json!({"to": "a@b.example"}),
    )
    .await
    .expect_error(404, "not_found");
    api.get("/tenants/nosuchtenant/email/outbox")
        .await
        .expect_error(404, "not_found");
    api.get("/tenants/mailco/email/outbox?status=lost")
        .await
        .expect_error(400, "invalid_request");
    api.with_key(None)
        .post(path, &json!({"to": "a@b.example"}))
        .await
        .expect_error(401, "unauthorized");
    api.with_key(None)
        .get("/tenants/mailco/email/outbox")
        .await
        .expect_error(401, "unauthorized");
    let read_only = Api::new(&server, &server.api_key("admin", "read").await);
    read_only
        .post(path, &json!({"to": "a@b.example"}))
        .await
        .expect_error(403, "forbidden");
    read_only
        .get("/tenants/mailco/email/outbox")
        .await
        .expect(200);
    // A key of another tenant cannot tell that this one exists.
    server.tenant("othermail").await;
    let other = Api::new(&server, &server.api_key("othermail", "write").await);
    other
        .post(path, &json!({"to": "a@b.example"}))
        .await
        .expect_error(404, "not_found");
    // Nothing was queued by any of the refused requests.
    let outbox = api.get("/tenants/mailco/email/outbox").await.expect(200);
    assert_eq!(outbox["items"], json!([]), "{outbox}");

    let doc = api.get("/openapi.json").await.expect(200);
    for p in [
        "/api/v1/tenants/{slug}/email/test",
        "/api/v1/tenants/{slug}/email/outbox",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} is documented");
    }
}

on_both_backends!(
    test_email_reaches_the_mail_server,
    an_outage_loses_no_message,
    a_queued_message_survives_a_restart,
    log_transport_needs_no_mail_server,
    bad_requests_get_json_errors,
);
