//! `authz/check` and `authz/check-batch`: who may call them, wildcards, unknown, disabled, deleted
//! and foreign subjects (denied with 200, never 404), batches (order, the limit of 100) and
//! malformed requests (400 and 415, never 500).

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Api, Backend, start};
use crate::support::{
    Tenant, assert_decision, assert_denied, assert_no_server_errors, expect_400, expect_bad,
};

const UNKNOWN: &str = "0190f5a4-0000-7000-8000-000000000000";

async fn check_and_batch(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let t = Tenant::create(&api, "acme").await;
    let other = Tenant::create(&api, "globex").await;
    let ann = t.user("ann@acme.test").await;
    let bob = t.user("bob@acme.test").await;
    let stranger = other.user("eve@globex.test").await;
    let clerk = t
        .simple_role("clerk", &["invoices:*", "reports:read"])
        .await;
    t.assign_user(&clerk, &ann).await;
    t.assign_user(&clerk, &bob).await;
    let foreign_role = other.simple_role("clerk", &["invoices:*"]).await;
    other.assign_user(&foreign_role, &stranger).await;

    // Wildcards: invoices:* covers every action on invoices, nothing else.
    let d = t.check(&ann, "invoices:read").await;
    assert_eq!(d["allowed"], true, "{d}");
    assert!(
        d["reason"].as_str().unwrap_or("").contains("invoices:*"),
        "the reason names the wildcard: {d}"
    );
    assert!(t.allowed(&ann, "invoices:delete").await);
    assert!(t.allowed(&ann, "invoices:*").await, "the wildcard itself");
    assert!(t.allowed(&ann, "reports:read").await);
    assert!(!t.allowed(&ann, "reports:write").await, "no wildcard there");
    assert!(!t.allowed(&ann, "reports:*").await, "read does not cover *");
    assert!(!t.allowed(&ann, "invoicesx:read").await);
    assert!(!t.allowed(&ann, "payments:read").await);

    // Unknown, foreign, disabled and deleted subjects: denied, 200, same reason.
    let inactive = "the subject is not an active user of this tenant";
    for subject in [UNKNOWN, stranger.as_str()] {
        let d = t.check(subject, "invoices:read").await;
        assert_eq!(d["allowed"], false, "{d}");
        assert_eq!(d["reason"], inactive, "{d}");
    }
    let r = t.post_disable(&bob).await;
    assert_eq!(r["status"], "disabled", "{r}");
    let d = t.check(&bob, "invoices:read").await;
    assert_eq!(d["reason"], inactive, "{d}");
    assert_eq!(d["allowed"], false);
    t.api
        .post_empty(&t.path(&format!("/users/{bob}/enable")))
        .await
        .expect(200);
    assert!(t.allowed(&bob, "invoices:read").await, "enabled again");
    let r = t.delete(&format!("/users/{bob}")).await;
    assert_eq!(r.status, 204, "{}", r.text());
    let d = t.check(&bob, "invoices:read").await;
    assert_eq!(d["reason"], inactive, "{d}");
    // The deleted user's assignment went with the account.
    assert_eq!(
        t.get(&format!("/assignments?user_id={bob}"))
            .await
            .expect(200)["items"],
        json!([])
    );
    // The foreign user holds the role in their own tenant.
    assert!(other.allowed(&stranger, "invoices:read").await);

    // Bad subjects and permissions in a single check: 400.
    expect_bad(
        &t.post(
            "/authz/check",
            &json!({"subject": "ann", "permission": "invoices:read"}),
        )
        .await,
        "subject",
    );
    for bad in ["invoices", "Invoices:read", "*:read", ""] {
        expect_400(
            &t.post("/authz/check", &json!({"subject": ann, "permission": bad}))
                .await,
        );
    }

    // Batch: answers in order, each like the single check.
    let checks = [
        (ann.as_str(), "invoices:read", true),
        (ann.as_str(), "payments:read", false),
        (UNKNOWN, "invoices:read", false),
        (ann.as_str(), "reports:read", true),
    ];
    let body = json!({"checks": checks.iter().map(|(s, p, _)| json!({"subject": s, "permission": p})).collect::<Vec<_>>()});
    let v = t.post("/authz/check-batch", &body).await.expect(200);
    let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["results"], "{v}");
    let results = v["results"].as_array().expect("results");
    assert_eq!(results.len(), checks.len(), "{v}");
    for ((subject, permission, allowed), r) in checks.iter().zip(results) {
        assert_decision(r);
        assert_eq!(r["allowed"], *allowed, "{subject} {permission}: {r}");
        assert_eq!(
            r,
            &t.check(subject, permission).await,
            "same as a single check"
        );
    }
    // With contexts too.
    let v = t
        .post(
            "/authz/check-batch",
            &json!({"checks": [{"subject": ann, "permission": "invoices:read",
                                "context": {"ip": "10.0.0.1", "amr": ["pwd"]}}]}),
        )
        .await
        .expect(200);
    assert_eq!(v["results"][0]["allowed"], true, "{v}");
    // Empty, exactly 100, and 101 (refused).
    let v = t
        .post("/authz/check-batch", &json!({"checks": []}))
        .await
        .expect(200);
    assert_eq!(v, json!({"results": []}));
    let many = |n: usize| {
        json!({"checks": (0..n).map(|i| json!({"subject": ann,
            "permission": if i % 2 == 0 { "invoices:read" } else { "payments:read" }}))
            .collect::<Vec<_>>()})
    };
    let v = t.post("/authz/check-batch", &many(100)).await.expect(200);
    let results = v["results"].as_array().expect("results");
    assert_eq!(results.len(), 100);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["allowed"], i % 2 == 0, "#{i}: {r}");
    }
    let msg = expect_bad(&t.post("/authz/check-batch", &many(101)).await, "checks");
    assert!(msg.contains("100"), "{msg}");
    // Far over the limit, the body-size limit may answer first (413); never a 500.
    let r = t.post("/authz/check-batch", &many(1000)).await;
    match r.status {
        400 => {
            expect_bad(&r, "checks");
        }
        _ => {
            r.expect_error(413, "payload_too_large");
        }
    }
    // One bad item spoils the batch (400, not a partial answer).
    expect_bad(
        &t.post(
            "/authz/check-batch",
            &json!({"checks": [{"subject": ann, "permission": "invoices:read"},
                               {"subject": "nobody", "permission": "invoices:read"}]}),
        )
        .await,
        "subject",
    );

    // Malformed bodies: 415 without JSON, 400 for anything that is not a request.
    for path in ["/authz/check", "/authz/check-batch"] {
        let p = t.path(path);
        let raw = |ct: Option<&'static str>, body: &'static str| {
            let api = t.api.clone();
            let p = p.clone();
            async move {
                api.send_raw(Method::POST, &p, ct, body.as_bytes().to_vec())
                    .await
            }
        };
        raw(None, r#"{"subject": "x", "permission": "a:b"}"#)
            .await
            .expect_error(415, "unsupported_media_type");
        raw(Some("text/plain"), r#"{"checks": []}"#)
            .await
            .expect_error(415, "unsupported_media_type");
        raw(
            Some("application/x-www-form-urlencoded"),
            "subject=x&permission=a:b",
        )
        .await
        .expect_error(415, "unsupported_media_type");
        for body in [
            "",
            "{",
            "[]",
            "null",
            "42",
            r#"{"subject": 1, "permission": "a:b"}"#,
        ] {
            expect_400(&raw(Some("application/json"), body).await);
        }
    }
    for body in [
        json!({"permission": "invoices:read"}),
        json!({"subject": ann}),
        json!({"subject": ann, "permission": "invoices:read", "extra": true}),
        json!({"subject": ann, "permission": "invoices:read", "context": {"device": "x"}}),
        json!({"subject": ann, "permission": "invoices:read", "context": {"amr": "otp"}}),
        json!({"subject": ann, "permission": ["invoices:read"]}),
    ] {
        expect_400(&t.post("/authz/check", &body).await);
    }
    for body in [
        json!({}),
        json!({"checks": {"subject": ann}}),
        json!({"checks": [{"subject": ann}]}),
        json!({"checks": [], "strict": true}),
        json!([{"subject": ann, "permission": "invoices:read"}]),
    ] {
        expect_400(&t.post("/authz/check-batch", &body).await);
    }
    // Methods other than POST are not allowed.
    let r = t.get("/authz/check").await;
    assert_eq!(r.status, 405, "{}", r.text());

    // Who may call it: a read key of the tenant may; it may not change roles. No key: 401.
    let read = Api::new(&server, &server.api_key("acme", "read").await);
    let rt = Tenant::existing(&read, "acme");
    assert!(rt.allowed(&ann, "invoices:read").await);
    let v = rt
        .post(
            "/authz/check-batch",
            &json!({"checks": [{"subject": ann, "permission": "invoices:read"}]}),
        )
        .await
        .expect(200);
    assert_eq!(v["results"][0]["allowed"], true);
    rt.get("/roles").await.expect(200);
    rt.post("/roles", &json!({"name": "sneaky", "permissions": ["a:b"]}))
        .await
        .expect_error(403, "forbidden");
    rt.post(
        "/assignments",
        &json!({"role_id": clerk, "principal_type": "user", "principal_id": ann}),
    )
    .await
    .expect_error(403, "forbidden");
    rt.delete(&format!("/roles/{clerk}"))
        .await
        .expect_error(403, "forbidden");
    // The tenant key reaches only its tenant (404 like a missing tenant).
    Tenant::existing(&read, "globex")
        .post(
            "/authz/check",
            &json!({"subject": stranger, "permission": "invoices:read"}),
        )
        .await
        .expect_error(404, "not_found");
    let anonymous = Tenant::existing(&t.api.with_key(None), "acme");
    anonymous
        .post(
            "/authz/check",
            &json!({"subject": ann, "permission": "invoices:read"}),
        )
        .await
        .expect_error(401, "unauthorized");
    assert_denied(
        &t.check(&ann, "payments:read").await,
        "no role assigned to the user or their groups grants this permission",
    );
    assert_no_server_errors(&server);
}

on_both_backends!(check_and_batch);

/// The `field` of a refused permission in a check names the request's field, `permission`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_permission_in_check_names_the_permission_field() {
    let (_dep, server, api) = start(Backend::sqlite()).await;
    let t = Tenant::create(&api, "acme").await;
    let ann = t.user("ann@acme.test").await;
    let r = t
        .post(
            "/authz/check",
            &json!({"subject": ann, "permission": "Invoices:Read"}),
        )
        .await;
    expect_bad(&r, "permission");
    assert_no_server_errors(&server);
}

/// A permission with surrounding spaces is either refused or decided as the trimmed permission
/// (validation trims it), never silently denied to a user who holds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn padded_permission_is_not_silently_denied() {
    let (_dep, server, api) = start(Backend::sqlite()).await;
    let t = Tenant::create(&api, "acme").await;
    let ann = t.user("ann@acme.test").await;
    let reader = t.simple_role("reader", &["invoices:read"]).await;
    t.assign_user(&reader, &ann).await;
    assert!(t.allowed(&ann, "invoices:read").await);
    let r = t
        .post(
            "/authz/check",
            &json!({"subject": ann, "permission": " invoices:read "}),
        )
        .await;
    if r.status != 400 {
        let v = r.expect(200);
        assert_eq!(v["allowed"], true, "the trimmed permission is held: {v}");
    }
    assert_no_server_errors(&server);
}

impl Tenant {
    /// `POST /users/{id}/disable`, expecting 200; returns the user.
    async fn post_disable(&self, user: &str) -> Value {
        self.api
            .post_empty(&self.path(&format!("/users/{user}/disable")))
            .await
            .expect(200)
    }
}
