//! Role assignments: to users and to groups, the 404s for unknown or foreign roles and principals,
//! listing with filters, time-bound assignments (not yet valid, expired) and conditional ones
//! (`mfa_within`, `ip_in`, `hours_utc`, `attribute`, `in_group`), each decided by `authz/check`
//! with the context an application passes, and invalid conditions refused.

use serde_json::{Value, json};

use crate::harness::{Backend, start};
use crate::support::{
    Tenant, assert_decision, assert_denied, assert_no_server_errors, expect_400, expect_bad, id,
    rfc3339_in, utc_hour,
};

const UNKNOWN: &str = "0190f5a4-0000-7000-8000-000000000000";

fn ids(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| id(a, "id"))
        .collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn assignments_to_users_and_groups(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let t = Tenant::create(&api, "acme").await;
    let other = Tenant::create(&api, "globex").await;
    let ann = t.user("ann@acme.test").await;
    let bob = t.user("bob@acme.test").await;
    let finance = t.group("Finance").await;
    t.add_member(&finance, &bob).await;
    let reader = t.simple_role("reader", &["invoices:read"]).await;
    let approver = t.simple_role("approver", &["payments:approve"]).await;
    let stranger = other.user("eve@globex.test").await;
    let foreign_group = other.group("Globex staff").await;
    let foreign_role = other.simple_role("reader", &["invoices:read"]).await;

    // To a user: the answer is the assignment, and the check allows at once.
    assert!(!t.allowed(&ann, "invoices:read").await);
    let a = t
        .assign(json!({"role_id": reader, "principal_type": "user", "principal_id": ann}))
        .await;
    let keys: Vec<&String> = a.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "condition",
            "created_at",
            "id",
            "principal_id",
            "principal_type",
            "role_id",
            "valid_from",
            "valid_until"
        ],
        "{a}"
    );
    assert_eq!(a["role_id"], reader.as_str());
    assert_eq!(a["principal_type"], "user");
    assert_eq!(a["principal_id"], ann.as_str());
    assert_eq!(a["valid_from"], Value::Null);
    assert_eq!(a["valid_until"], Value::Null);
    assert_eq!(a["condition"], Value::Null);
    let to_ann = id(&a, "id");
    let d = t.check(&ann, "invoices:read").await;
    assert_eq!(d["allowed"], true, "{d}");
    assert_eq!(
        d["via"],
        json!([{"via": "assignment", "id": to_ann, "role": reader}]),
        "{d}"
    );
    assert!(!t.allowed(&bob, "invoices:read").await, "only Ann");

    // To a group: its members hold the role; others do not.
    let to_finance = t.assign_group(&approver, &finance).await;
    let d = t.check(&bob, "payments:approve").await;
    assert_eq!(
        d["via"],
        json!([
            {"via": "group", "id": finance},
            {"via": "assignment", "id": to_finance, "role": approver}
        ]),
        "{d}"
    );
    assert!(!t.allowed(&ann, "payments:approve").await);

    // Listing and its filters.
    let all = t.get("/assignments").await.expect(200);
    assert_eq!(ids(&all), sorted(vec![to_ann.clone(), to_finance.clone()]));
    assert_eq!(
        ids(&t
            .get(&format!("/assignments?user_id={ann}"))
            .await
            .expect(200)),
        [to_ann.as_str()]
    );
    assert_eq!(
        ids(&t
            .get(&format!("/assignments?group_id={finance}"))
            .await
            .expect(200)),
        [to_finance.as_str()]
    );
    assert_eq!(
        ids(&t
            .get(&format!("/assignments?role_id={approver}"))
            .await
            .expect(200)),
        [to_finance.as_str()]
    );
    assert_eq!(
        ids(&t
            .get(&format!("/assignments?user_id={bob}"))
            .await
            .expect(200)),
        Vec::<String>::new(),
        "group assignments are not listed as the member's own"
    );
    expect_400(
        &t.get(&format!("/assignments?user_id={ann}&group_id={finance}"))
            .await,
    );
    expect_bad(&t.get("/assignments?user_id=nope").await, "user_id");
    expect_bad(&t.get("/assignments?role_id=nope").await, "role_id");
    expect_400(&t.get("/assignments?colour=red").await);
    // Another tenant sees none of them.
    assert_eq!(
        other.get("/assignments").await.expect(200)["items"],
        json!([])
    );

    // Unknown role or principal: 404; so is a role or principal of another tenant.
    let assign = |role: &str, kind: &str, principal: &str| json!({"role_id": role, "principal_type": kind, "principal_id": principal});
    for body in [
        assign(UNKNOWN, "user", &ann),
        assign("not-an-id", "user", &ann),
        assign(&foreign_role, "user", &ann),
        assign(&reader, "user", UNKNOWN),
        assign(&reader, "user", "not-an-id"),
        assign(&reader, "user", &stranger),
        assign(&reader, "group", UNKNOWN),
        assign(&reader, "group", &foreign_group),
        // A group id given as a user and the other way round name nobody.
        assign(&reader, "user", &finance),
        assign(&reader, "group", &ann),
    ] {
        let r = t.post("/assignments", &body).await;
        r.expect_error(404, "not_found");
    }
    expect_bad(
        &t.post("/assignments", &assign(&reader, "robot", &ann))
            .await,
        "principal_type",
    );
    expect_400(
        &t.post(
            "/assignments",
            &json!({"role_id": reader, "principal_type": "user"}),
        )
        .await,
    );
    // Nothing was stored by the refusals, here or in the other tenant.
    assert_eq!(
        ids(&t.get("/assignments").await.expect(200)),
        sorted(vec![to_ann.clone(), to_finance.clone()])
    );
    assert_eq!(
        other.get("/assignments").await.expect(200)["items"],
        json!([])
    );
    let r = other
        .post(
            "/authz/check",
            &json!({"subject": stranger, "permission": "invoices:read"}),
        )
        .await
        .expect(200);
    assert_eq!(r["allowed"], false);

    // Removing: the check denies at once; a second removal and unknown ids are 404.
    t.unassign(&to_ann).await;
    assert_denied(
        &t.check(&ann, "invoices:read").await,
        "no role assigned to the user or their groups",
    );
    for gone in [to_ann.as_str(), UNKNOWN, "nope"] {
        t.delete(&format!("/assignments/{gone}"))
            .await
            .expect_error(404, "not_found");
    }
    // Another tenant cannot remove this tenant's assignment.
    other
        .delete(&format!("/assignments/{to_finance}"))
        .await
        .expect_error(404, "not_found");
    assert!(t.allowed(&bob, "payments:approve").await);
    assert_no_server_errors(&server);
}

async fn time_bound_assignments(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let t = Tenant::create(&api, "acme").await;
    let ann = t.user("ann@acme.test").await;
    let expired_role = t.simple_role("expired", &["reports:export"]).await;
    let future_role = t.simple_role("future", &["payments:approve"]).await;
    let current_role = t.simple_role("current", &["invoices:write"]).await;
    let temp = |role: &str, from: Option<String>, until: Option<String>| {
        json!({"role_id": role, "principal_type": "user", "principal_id": ann,
               "valid_from": from, "valid_until": until})
    };

    // Expired an hour ago.
    let expired = t
        .assign(temp(
            &expired_role,
            Some(rfc3339_in(-7200)),
            Some(rfc3339_in(-3600)),
        ))
        .await;
    assert!(expired["valid_until"].is_string(), "{expired}");
    assert_denied(&t.check(&ann, "reports:export").await, "validity window");
    // Starts tomorrow.
    t.assign(temp(&future_role, Some(rfc3339_in(86_400)), None))
        .await;
    assert_denied(&t.check(&ann, "payments:approve").await, "validity window");
    // Started an hour ago, ends in an hour: holds now.
    let current = t
        .assign(temp(
            &current_role,
            Some(rfc3339_in(-3600)),
            Some(rfc3339_in(3600)),
        ))
        .await;
    let d = t.check(&ann, "invoices:write").await;
    assert_eq!(d["allowed"], true, "{d}");
    assert_eq!(d["via"][0]["id"], current["id"]);
    // The effective permissions list only what holds now.
    assert_eq!(t.permission_names(&ann).await, ["invoices:write"]);

    // Refused windows and times: 400 naming the field; nothing stored.
    let before = t.get("/assignments").await.expect(200);
    let now = rfc3339_in(0);
    expect_bad(
        &t.post(
            "/assignments",
            &temp(&current_role, Some(now.clone()), Some(now.clone())),
        )
        .await,
        "valid_until",
    );
    expect_bad(
        &t.post(
            "/assignments",
            &temp(&current_role, Some(rfc3339_in(60)), Some(rfc3339_in(-60))),
        )
        .await,
        "valid_until",
    );
    expect_bad(
        &t.post(
            "/assignments",
            &temp(&current_role, Some("tomorrow".into()), None),
        )
        .await,
        "valid_from",
    );
    expect_bad(
        &t.post(
            "/assignments",
            &temp(&current_role, None, Some("2026-13-01T00:00:00Z".into())),
        )
        .await,
        "valid_until",
    );
    assert_eq!(t.get("/assignments").await.expect(200), before);
    assert_no_server_errors(&server);
}

async fn conditional_assignments(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let t = Tenant::create(&api, "acme").await;
    let ann = t.user("ann@acme.test").await;
    let conditional = |perm: &str, clauses: Value| {
        let t = t.clone();
        let ann = ann.clone();
        let perm = perm.to_string();
        async move {
            let role = t
                .simple_role(&format!("role for {perm}"), &[perm.as_str()])
                .await;
            let a = t
                .assign(
                    json!({"role_id": role, "principal_type": "user", "principal_id": ann,
                               "condition": {"all_of": clauses}}),
                )
                .await;
            assert_eq!(
                a["condition"]["all_of"], clauses,
                "the condition is kept: {a}"
            );
            a
        }
    };

    // mfa_within: a second factor within the last 15 minutes.
    conditional(
        "payments:approve",
        json!([{"type": "mfa_within", "seconds": 900}]),
    )
    .await;
    let ctx = |amr: Value, auth_time: String| json!({"amr": amr, "auth_time": auth_time});
    let d = t
        .check_with(
            &ann,
            "payments:approve",
            Some(ctx(json!(["pwd", "otp"]), rfc3339_in(-60))),
        )
        .await;
    assert_eq!(d["allowed"], true, "{d}");
    for (amr, at, why) in [
        (json!(["pwd"]), rfc3339_in(-60), "password only"),
        (
            json!(["pwd", "otp"]),
            rfc3339_in(-3600),
            "second factor too old",
        ),
        (json!([]), rfc3339_in(-60), "no methods"),
    ] {
        let d = t
            .check_with(&ann, "payments:approve", Some(ctx(amr, at)))
            .await;
        assert_denied(&d, "second factor");
        assert!(
            d["reason"].as_str().unwrap_or("").contains("900 seconds"),
            "{why}: {d}"
        );
    }
    // Without any context, the condition cannot hold.
    assert_denied(&t.check(&ann, "payments:approve").await, "second factor");
    // hwk (hardware key) counts as a second factor as well.
    let d = t
        .check_with(
            &ann,
            "payments:approve",
            Some(ctx(json!(["hwk"]), rfc3339_in(-10))),
        )
        .await;
    assert_eq!(d["allowed"], true, "{d}");

    // ip_in: the request's network.
    conditional(
        "vault:open",
        json!([{"type": "ip_in", "cidrs": ["10.0.0.0/8", "2001:db8::/32"]}]),
    )
    .await;
    for (ip, allowed) in [
        ("10.1.2.3", true),
        ("2001:db8::7", true),
        ("11.0.0.1", false),
        ("192.168.1.1", false),
        ("2001:db9::1", false),
    ] {
        let d = t
            .check_with(&ann, "vault:open", Some(json!({"ip": ip})))
            .await;
        assert_eq!(d["allowed"], allowed, "{ip}: {d}");
        if !allowed {
            assert_denied(&d, "network");
        }
    }
    assert_denied(&t.check(&ann, "vault:open").await, "network");
    expect_bad(
        &t.post(
            "/authz/check",
            &json!({"subject": ann, "permission": "vault:open", "context": {"ip": "10.1.2"}}),
        )
        .await,
        "context.ip",
    );
    expect_bad(
        &t.post(
            "/authz/check",
            &json!({"subject": ann, "permission": "vault:open", "context": {"auth_time": "yesterday"}}),
        )
        .await,
        "context.auth_time",
    );

    // hours_utc: a window around the current hour, and one that excludes it (each wide enough
    // that the hour turning during the test changes nothing).
    let h = utc_hour();
    conditional(
        "shifts:clock-in",
        json!([{"type": "hours_utc", "from": h, "to": (h + 2) % 24}]),
    )
    .await;
    conditional(
        "shifts:night",
        json!([{"type": "hours_utc", "from": (h + 3) % 24, "to": (h + 5) % 24}]),
    )
    .await;
    assert!(t.allowed(&ann, "shifts:clock-in").await);
    assert_denied(&t.check(&ann, "shifts:night").await, "UTC");

    // attribute: the user's own attribute, set with PATCH /users.
    conditional(
        "ledger:close",
        json!([{"type": "attribute", "name": "department", "equals": "finance"}]),
    )
    .await;
    assert_denied(&t.check(&ann, "ledger:close").await, "department");
    t.patch(
        &format!("/users/{ann}"),
        &json!({"attributes": {"department": "finance"}}),
    )
    .await
    .expect(200);
    assert!(t.allowed(&ann, "ledger:close").await);
    // The effective permissions (evaluated without request facts) include it now, too.
    assert!(
        t.permission_names(&ann)
            .await
            .contains(&"ledger:close".to_string())
    );
    t.patch(
        &format!("/users/{ann}"),
        &json!({"attributes": {"department": "sales"}}),
    )
    .await
    .expect(200);
    assert_denied(&t.check(&ann, "ledger:close").await, "department");

    // in_group: membership, directly or through nesting.
    let auditors = t.group("Auditors").await;
    let interns = t.group("Intern auditors").await;
    conditional(
        "books:audit",
        json!([{"type": "in_group", "group": auditors}]),
    )
    .await;
    assert_denied(&t.check(&ann, "books:audit").await, "membership");
    t.add_member(&interns, &ann).await;
    assert!(!t.allowed(&ann, "books:audit").await);
    t.nest(&interns, &auditors).await;
    assert!(t.allowed(&ann, "books:audit").await, "through nesting");
    t.remove_member(&interns, &ann).await;
    t.add_member(&auditors, &ann).await;
    assert!(t.allowed(&ann, "books:audit").await, "directly");

    // Several clauses: every one must hold.
    conditional(
        "wire:send",
        json!([
            {"type": "ip_in", "cidrs": ["10.0.0.0/8"]},
            {"type": "mfa_within", "seconds": 300}
        ]),
    )
    .await;
    let strong = json!({"ip": "10.0.0.1", "amr": ["pwd", "otp"], "auth_time": rfc3339_in(-30)});
    let d = t.check_with(&ann, "wire:send", Some(strong)).await;
    assert_eq!(d["allowed"], true, "{d}");
    let d = t
        .check_with(
            &ann,
            "wire:send",
            Some(json!({"ip": "10.0.0.1", "amr": ["pwd"], "auth_time": rfc3339_in(-30)})),
        )
        .await;
    assert_denied(&d, "second factor");
    let d = t
        .check_with(
            &ann,
            "wire:send",
            Some(json!({"ip": "8.8.8.8", "amr": ["pwd", "otp"], "auth_time": rfc3339_in(-30)})),
        )
        .await;
    assert_denied(&d, "network");

    // Conditional grants are left out of the effective permissions (no request facts there).
    let names = t.permission_names(&ann).await;
    for p in ["payments:approve", "vault:open", "wire:send"] {
        assert!(!names.contains(&p.to_string()), "{p} in {names:?}");
    }

    // Invalid conditions: 400 naming `condition` (or the body when it does not parse at all).
    let role = t.simple_role("guarded", &["guarded:use"]).await;
    let with = |condition: Value| {
        json!({"role_id": role, "principal_type": "user", "principal_id": ann,
               "condition": condition})
    };
    let before = t.get("/assignments").await.expect(200);
    for bad in [
        json!({"all_of": [{"type": "ip_in", "cidrs": ["10.0.0.0/33"]}]}),
        json!({"all_of": [{"type": "ip_in", "cidrs": ["not-a-network"]}]}),
        json!({"all_of": [{"type": "ip_in", "cidrs": ["10.0.0.0"]}]}),
        json!({"all_of": [{"type": "hours_utc", "from": 24, "to": 2}]}),
        json!({"all_of": [{"type": "hours_utc", "from": 8, "to": 8}]}),
        json!({"all_of": [{"type": "hours_utc", "from": 8, "to": 25}]}),
        json!({"all_of": [{"type": "mfa_within", "seconds": 0}]}),
    ] {
        let r = t.post("/assignments", &with(bad.clone())).await;
        let msg = expect_bad(&r, "condition");
        assert!(!msg.is_empty(), "{bad}");
    }
    for malformed in [
        json!({"all_of": [{"type": "moon_phase", "phase": "full"}]}),
        json!({"all_of": [{"type": "ip_in"}]}),
        json!({"all_of": [{"type": "hours_utc", "from": -1, "to": 5}]}),
        json!({"all_of": [{"type": "in_group", "group": "not-a-group-id"}]}),
        json!({"any_of": []}),
        json!("mfa"),
    ] {
        let r = t.post("/assignments", &with(malformed.clone())).await;
        assert_eq!(r.status, 400, "{malformed}: {}", r.text());
        expect_400(&r);
    }
    assert_eq!(
        t.get("/assignments").await.expect(200),
        before,
        "no refused assignment was stored"
    );
    let d = t.check(&ann, "guarded:use").await;
    assert_decision(&d);
    assert_eq!(d["allowed"], false);
    assert_no_server_errors(&server);
}

/// `mfa_within` means a second factor within the last N seconds: an `auth_time` a day in the
/// future (a forged or broken token) is not "within the last 900 seconds".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mfa_within_refuses_an_auth_time_in_the_future() {
    let (_dep, server, api) = start(Backend::sqlite()).await;
    let t = Tenant::create(&api, "acme").await;
    let ann = t.user("ann@acme.test").await;
    let role = t.simple_role("approver", &["payments:approve"]).await;
    t.assign(
        json!({"role_id": role, "principal_type": "user", "principal_id": ann,
                    "condition": {"all_of": [{"type": "mfa_within", "seconds": 900}]}}),
    )
    .await;
    let d = t
        .check_with(
            &ann,
            "payments:approve",
            Some(json!({"amr": ["pwd", "otp"], "auth_time": rfc3339_in(86_400)})),
        )
        .await;
    assert_denied(&d, "second factor");
    assert_no_server_errors(&server);
}

on_both_backends!(
    assignments_to_users_and_groups,
    time_bound_assignments,
    conditional_assignments
);
