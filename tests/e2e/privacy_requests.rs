//! Data-subject rights and retention (issue 10) end to end, crossing days by restarting the
//! server on a later clock (`TESSERA_TEST_CLOCK_OFFSET_SECS`), never by sleeping.
//!
//! Requests: bad input is refused with a JSON 4xx and writes nothing; a request is due 30 days
//! after receipt, extends once, completes once; `access` hands over the export, `restriction`
//! sets the flag (the person leaves the consenting-users list, stays able to sign in, and the
//! flag shows in the user and the export), and an `erasure` listed as overdue 31 days later
//! deletes the account when completed.
//!
//! Retention (with an SMTP sink): the dry-run report lists without deleting; an unverified
//! account goes after N days (a restricted one stays); an inactive account is warned by email,
//! then deleted once the warning is old enough (one that signed in stays); a consent older than
//! its purpose allows gets an `expired` record.

use serde_json::{Value, json};

use crate::harness::smtp::SmtpSink;
use crate::harness::{Api, Backend, Deployment, Server, start};
use crate::registration::{WAIT, events, patch_settings};

const PW: &str = "a-long-enough-passphrase";
const DAY: i64 = 86400;

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

/// Restarts the deployment's server `days` later (keeping its mail server, when there is one).
async fn later(dep: &Deployment, mut server: Server, sink: Option<&SmtpSink>, days: i64) -> Server {
    server.stop().await;
    let offset = (days * DAY).to_string();
    let mut env = vec![("TESSERA_TEST_CLOCK_OFFSET_SECS".to_string(), offset)];
    if let Some(s) = sink {
        env.extend(s.env().into_iter().map(|(k, v)| (k.to_string(), v)));
    }
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    dep.start_with(&extra).await
}

async fn requests_track_deadlines_and_carry_out_rights(backend: Backend) {
    let (dep, server, api) = start(backend).await;
    api.create_tenant("shop", "customer").await;
    api.create_tenant("other", "customer").await;
    let ann = id(&api.create_user("shop", "ann@shop.test", Some(PW)).await);
    let bob = id(&api.create_user("shop", "bob@shop.test", Some(PW)).await);
    let stranger = id(&api.create_user("other", "eve@other.test", None).await);
    let base = "/tenants/shop/privacy/requests";

    // Bad input: a JSON 4xx naming the field, and nothing written.
    for (body, field) in [
        (json!({"kind": "export", "user_id": ann}), "kind"),
        (json!({"kind": "access", "user_id": "nope"}), "user_id"),
        (
            json!({"kind": "access", "user_id": "00000000-0000-7000-8000-000000000000"}),
            "user_id",
        ),
        (json!({"kind": "access", "user_id": stranger}), "user_id"),
        (
            json!({"kind": "access", "user_id": ann, "note": " "}),
            "note",
        ),
    ] {
        let r = api.post(base, &body).await;
        r.expect_error(400, "invalid_request");
        assert_eq!(r.json()["field"], field, "{body}: {}", r.text());
    }
    api.post(
        base,
        &json!({"kind": "access", "user_id": ann, "colour": 1}),
    )
    .await
    .expect_error(400, "invalid_request");
    for (query, field) in [
        ("after=not-a-cursor", "after"),
        ("status=pending", "status"),
        ("limit=0", "limit"),
        ("user_id=x", "user_id"),
    ] {
        let r = api.get(&format!("{base}?{query}")).await;
        r.expect_error(400, "invalid_request");
        assert_eq!(r.json()["field"], field, "{query}: {}", r.text());
    }
    api.get(&format!("{base}?overdue=maybe"))
        .await
        .expect_error(400, "invalid_request");
    api.get(&format!("{base}/nope"))
        .await
        .expect_error(404, "not_found");
    api.post(&format!("{base}/nope/complete"), &json!({}))
        .await
        .expect_error(404, "not_found");
    assert_eq!(
        api.get(base).await.expect(200),
        json!({"items": [], "next_cursor": null}),
        "nothing was written"
    );

    // A purpose both consent to.
    api.post(
        "/tenants/shop/privacy/purposes",
        &json!({"key": "marketing-email", "legal_basis": "consent", "descriptions": {"en": "News"}}),
    )
    .await
    .expect(201);
    for u in [&ann, &bob] {
        api.post(
            &format!("/tenants/shop/privacy/users/{u}/consents"),
            &json!({"purpose": "marketing-email", "state": "granted"}),
        )
        .await
        .expect(201);
    }
    let consenting = |api: Api| async move {
        let mut v: Vec<String> = api
            .get("/tenants/shop/privacy/purposes/marketing-email/users")
            .await
            .expect(200)["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|u| u.as_str().expect("an id").to_string())
            .collect();
        v.sort();
        v
    };
    let mut both = vec![ann.clone(), bob.clone()];
    both.sort();
    assert_eq!(consenting(api.clone()).await, both);

    // Requests: due 30 days after receipt.
    let erasure = api
        .post(
            base,
            &json!({"kind": "erasure", "user_id": ann, "note": "by letter, ticket 7"}),
        )
        .await
        .expect(201);
    assert_eq!(erasure["status"], "open");
    assert_eq!(erasure["overdue"], false);
    let received = time::OffsetDateTime::parse(
        erasure["received_at"].as_str().expect("received_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("RFC 3339");
    let due = time::OffsetDateTime::parse(
        erasure["due_at"].as_str().expect("due_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("RFC 3339");
    assert_eq!(due - received, time::Duration::days(30));
    let access = api
        .post(base, &json!({"kind": "access", "user_id": bob}))
        .await
        .expect(201);
    let restriction = api
        .post(base, &json!({"kind": "restriction", "user_id": bob}))
        .await
        .expect(201);
    assert_eq!(
        api.get(base).await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let page = api.get(&format!("{base}?limit=2")).await.expect(200);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let rest = api
        .get(&format!("{base}?limit=2&after={cursor}"))
        .await
        .expect(200);
    assert_eq!(rest["items"][0]["id"], restriction["id"]);
    assert_eq!(rest["next_cursor"], Value::Null);
    assert_eq!(
        api.get(&format!("{base}?overdue=true")).await.expect(200)["items"],
        json!([])
    );
    assert_eq!(
        api.get(&format!("{base}?user_id={bob}")).await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Another tenant's key sees none of them.
    let other_key = server.api_key("other", "write").await;
    let other = api.with_key(Some(&other_key));
    let r = other.get(&format!("{base}/{}", id(&erasure))).await;
    assert!(r.status == 403 || r.status == 404, "{}", r.text());
    // Shop's request under the other tenant's path, with the deployment's key: not found.
    api.get(&format!("/tenants/other/privacy/requests/{}", id(&erasure)))
        .await
        .expect_error(404, "not_found");

    // Extension: once, 1 to 60 days, with a reason.
    let acc = format!("{base}/{}", id(&access));
    let r = api
        .post(
            &format!("{acc}/extend"),
            &json!({"days": 61, "reason": "many systems"}),
        )
        .await;
    r.expect_error(400, "invalid_request");
    assert_eq!(r.json()["field"], "days");
    let extended = api
        .post(
            &format!("{acc}/extend"),
            &json!({"days": 10, "reason": "many systems"}),
        )
        .await
        .expect(200);
    assert_eq!(extended["status"], "extended");
    assert_eq!(extended["extension_reason"], "many systems");
    api.post(
        &format!("{acc}/extend"),
        &json!({"days": 5, "reason": "again"}),
    )
    .await
    .expect_error(409, "conflict");

    // Access: completing hands over the export; a second completion is refused.
    let done = api
        .post(&format!("{acc}/complete"), &json!({}))
        .await
        .expect(200);
    assert_eq!(done["request"]["status"], "completed");
    assert_eq!(done["export"]["format"], "tessera.account-export");
    assert_eq!(done["export"]["profile"]["id"], bob.as_str());
    assert_eq!(
        done["export"]["privacy_requests"].as_array().unwrap().len(),
        2
    );
    api.post(&format!("{acc}/complete"), &json!({}))
        .await
        .expect_error(409, "conflict");
    api.post(&format!("{acc}/reject"), &json!({"reason": "no"}))
        .await
        .expect_error(409, "conflict");
    // The operator's export is the same document.
    let export = api
        .get(&format!("/tenants/shop/privacy/users/{bob}/export"))
        .await
        .expect(200);
    assert_eq!(export["format"], "tessera.account-export");
    assert_eq!(export["processing_restricted_at"], Value::Null);
    api.get("/tenants/shop/privacy/users/nope/export")
        .await
        .expect_error(404, "not_found");
    assert!(!events(&api, "shop", "user.data_exported").await.is_empty());

    // Restriction: the flag is set, shows in the user and the export, hides the person from
    // the consenting users; sign-in still works.
    let res = format!("{base}/{}", id(&restriction));
    api.post(
        &format!("{res}/complete"),
        &json!({"note": "until the dispute ends"}),
    )
    .await
    .expect(200);
    let user = api
        .get(&format!("/tenants/shop/users/{bob}"))
        .await
        .expect(200);
    assert!(user["processing_restricted_at"].is_string(), "{user}");
    assert_eq!(
        api.get(&format!("/tenants/shop/privacy/users/{bob}/restriction"))
            .await
            .expect(200)["restricted"],
        true
    );
    let export = api
        .get(&format!("/tenants/shop/privacy/users/{bob}/export"))
        .await
        .expect(200);
    assert!(export["processing_restricted_at"].is_string());
    assert_eq!(consenting(api.clone()).await, vec![ann.clone()]);
    server
        .browser()
        .sign_in_ok("shop", "bob@shop.test", PW)
        .await;
    assert_eq!(
        events(&api, "shop", "privacy.restriction_set").await.len(),
        1
    );
    // Cleared directly, and set again directly.
    let cleared = api
        .delete(&format!("/tenants/shop/privacy/users/{bob}/restriction"))
        .await
        .expect(200);
    assert_eq!(cleared["restricted"], false);
    assert_eq!(consenting(api.clone()).await, both);
    api.put(&format!("/tenants/shop/privacy/users/{bob}/restriction"))
        .await
        .expect(200);
    assert_eq!(consenting(api.clone()).await, vec![ann.clone()]);

    // 31 days later the erasure is overdue; completing it deletes the account.
    let server = later(&dep, server, None, 31).await;
    let api = server.admin_api().await;
    let overdue = api.get(&format!("{base}?overdue=true")).await.expect(200);
    let items = overdue["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{overdue}");
    assert_eq!(items[0]["id"], erasure["id"]);
    assert_eq!(items[0]["overdue"], true);
    let era = format!("{base}/{}", id(&erasure));
    let done = api
        .post(&format!("{era}/complete"), &json!({}))
        .await
        .expect(200);
    assert_eq!(done["request"]["status"], "completed");
    assert!(done.get("export").is_none());
    api.get(&format!("/tenants/shop/users/{ann}"))
        .await
        .expect_error(404, "not_found");
    api.post(&format!("{era}/complete"), &json!({}))
        .await
        .expect_error(409, "conflict");
    assert_eq!(
        api.get(&format!("{base}?overdue=true")).await.expect(200)["items"],
        json!([])
    );
    assert_eq!(api.get(&era).await.expect(200)["status"], "completed");
    let completed = events(&api, "shop", "privacy.request_completed").await;
    assert_eq!(completed.len(), 3, "{completed:?}");
    assert_eq!(events(&api, "shop", "user.deleted").await.len(), 1);
    assert!(consenting(api.clone()).await.is_empty());
}

async fn retention_warns_deletes_and_expires(backend: Backend) {
    let Some((sink, dep, server, api)) = crate::registration::start(backend).await else {
        return;
    };
    let report_path = "/tenants/shop/privacy/retention/report";
    let run_path = "/tenants/shop/privacy/retention/run";
    // Bad settings are refused and change nothing.
    let r = api
        .patch(
            "/tenants/shop",
            &json!({"settings": {"retention": {"inactive_accounts_days": 10, "inactive_warning_days": 10}}}),
        )
        .await;
    r.expect_error(400, "invalid_request");
    patch_settings(&api, "shop", |s| {
        s["retention"] = json!({
            "unverified_accounts_days": 7,
            "inactive_accounts_days": 30,
            "inactive_warning_days": 5
        });
    })
    .await;
    api.post(
        "/tenants/shop/privacy/purposes",
        &json!({"key": "analytics", "legal_basis": "consent", "descriptions": {"en": "Stats"},
                "expires_after_days": 20}),
    )
    .await
    .expect(201);
    api.post(
        "/tenants/shop/privacy/purposes",
        &json!({"key": "x", "legal_basis": "consent", "descriptions": {"en": "X"},
                "expires_after_days": 0}),
    )
    .await
    .expect_error(400, "invalid_request");

    let verified = |email: &str| json!({"email": email, "password": PW, "email_verified": true});
    let unverified = id(&api.create_user("shop", "unverified@shop.test", None).await);
    let kept = id(&api.create_user("shop", "kept@shop.test", None).await);
    let idle = id(&api
        .post("/tenants/shop/users", &verified("idle@shop.test"))
        .await
        .expect(201));
    let active = id(&api
        .post("/tenants/shop/users", &verified("active@shop.test"))
        .await
        .expect(201));
    api.put(&format!("/tenants/shop/privacy/users/{kept}/restriction"))
        .await
        .expect(200);
    api.post(
        &format!("/tenants/shop/privacy/users/{idle}/consents"),
        &json!({"purpose": "analytics", "state": "granted"}),
    )
    .await
    .expect(201);

    // Day 0: nothing to do.
    let report = api.get(report_path).await.expect(200);
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["unverified_accounts"]["count"], 0, "{report}");
    assert_eq!(report["inactive_account_warnings"]["count"], 0);
    assert_eq!(report["consent_expiry"][0]["count"], 0);

    // Day 8: the unverified account is due; the dry run lists it and deletes nothing.
    let server = later(&dep, server, Some(&sink), 8).await;
    let api = server.admin_api().await;
    let report = api.get(report_path).await.expect(200);
    assert_eq!(
        report["unverified_accounts"]["user_ids"],
        json!([unverified]),
        "the restricted account is left alone: {report}"
    );
    assert_eq!(report["unverified_accounts"]["days"], 7);
    api.get(&format!("/tenants/shop/users/{unverified}"))
        .await
        .expect(200);
    assert!(
        events(&api, "shop", "privacy.retention_deleted")
            .await
            .is_empty()
    );
    let run = api.post(run_path, &json!({})).await.expect(200);
    assert_eq!(run["dry_run"], false);
    assert_eq!(run["unverified_accounts"]["count"], 1);
    assert_eq!(run["failures"], 0);
    api.get(&format!("/tenants/shop/users/{unverified}"))
        .await
        .expect_error(404, "not_found");
    api.get(&format!("/tenants/shop/users/{kept}"))
        .await
        .expect(200);
    let deleted = events(&api, "shop", "privacy.retention_deleted").await;
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!(
        api.get(report_path).await.expect(200)["unverified_accounts"]["count"],
        0
    );

    // Day 26: one account signs in; the other, inactive for 25 days, is warned. The consent
    // granted on day 0 is older than its 20 days and expires.
    let server = later(&dep, server, Some(&sink), 26).await;
    let api = server.admin_api().await;
    server
        .browser()
        .sign_in_ok("shop", "active@shop.test", PW)
        .await;
    let report = api.get(report_path).await.expect(200);
    assert_eq!(
        report["inactive_account_warnings"]["user_ids"],
        json!([idle]),
        "{report}"
    );
    assert_eq!(report["inactive_accounts"]["count"], 0);
    assert_eq!(report["consent_expiry"][0]["purpose"], "analytics");
    assert_eq!(report["consent_expiry"][0]["user_ids"], json!([idle]));
    let run = api.post(run_path, &json!({})).await.expect(200);
    assert_eq!(run["inactive_account_warnings"]["count"], 1, "{run}");
    let mail = sink.wait_for("idle@shop.test", WAIT).await;
    assert!(mail.subject.contains("will be deleted"), "{}", mail.subject);
    assert!(mail.text.contains("/t/shop/account"), "{}", mail.text);
    let consents = api
        .get(&format!("/tenants/shop/privacy/users/{idle}/consents"))
        .await
        .expect(200);
    assert_eq!(consents["current"]["analytics"], "expired", "{consents}");
    let last = consents["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["channel"], "expiry");
    assert_eq!(
        events(&api, "shop", "privacy.consent_expired").await.len(),
        1
    );
    assert_eq!(
        events(&api, "shop", "privacy.retention_warning_sent")
            .await
            .len(),
        1
    );
    // Run again: nothing new (warned once, expired once).
    let again = api.post(run_path, &json!({})).await.expect(200);
    assert_eq!(again["inactive_account_warnings"]["count"], 0, "{again}");
    assert_eq!(again["consent_expiry"][0]["count"], 0);
    api.get(&format!("/tenants/shop/users/{idle}"))
        .await
        .expect(200);

    // Day 32: the warning is 6 days old and the person did not sign in: deleted. The account
    // that signed in stays.
    let server = later(&dep, server, Some(&sink), 32).await;
    let api = server.admin_api().await;
    let report = api.get(report_path).await.expect(200);
    assert_eq!(
        report["inactive_accounts"]["user_ids"],
        json!([idle]),
        "{report}"
    );
    api.get(&format!("/tenants/shop/users/{idle}"))
        .await
        .expect(200);
    let run = api.post(run_path, &json!({})).await.expect(200);
    assert_eq!(run["inactive_accounts"]["count"], 1);
    api.get(&format!("/tenants/shop/users/{idle}"))
        .await
        .expect_error(404, "not_found");
    api.get(&format!("/tenants/shop/users/{active}"))
        .await
        .expect(200);
    api.get(&format!("/tenants/shop/users/{kept}"))
        .await
        .expect(200);
    assert_eq!(
        events(&api, "shop", "privacy.retention_deleted")
            .await
            .len(),
        2
    );
    // Running needs a write key.
    let key = server.api_key("shop", "read").await;
    let reader = api.with_key(Some(&key));
    let r = reader.post(run_path, &json!({})).await;
    assert_eq!(
        r.status,
        403,
        "a read key does not run the job: {}",
        r.text()
    );
}

on_both_backends!(
    requests_track_deadlines_and_carry_out_rights,
    retention_warns_deletes_and_expires,
);
