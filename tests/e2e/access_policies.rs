//! Conditional access policies: evaluated at sign-in and at the authorization endpoint, refusals
//! are clear to the person, `access_denied` to the application, and audit events.

use serde_json::{Value, json};

use crate::harness::http::unescape;
use crate::harness::{Api, Backend, start};

async fn set_policies(api: &Api, policies: Value) {
    let tenant = api.get("/tenants/corp").await.expect(200);
    let mut settings = tenant["settings"].clone();
    settings["access_policies"] = policies;
    api.patch("/tenants/corp", &json!({ "settings": settings }))
        .await
        .expect(200);
}

async fn policies_at_sign_in_and_for_applications(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    api.create_tenant("corp", "workforce").await;
    let user = api
        .create_user("corp", "ann@corp.test", Some("a long passphrase"))
        .await;
    let client = server
        .cli_json(&[
            "client",
            "create",
            "--tenant",
            "corp",
            "--name",
            "payroll",
            "--redirect-uri",
            "http://localhost:9/cb",
            "--first-party",
        ])
        .await;
    let client_id = client["client_id"].as_str().expect("client_id").to_string();

    // Invalid policies are refused with the field named, and nothing changes.
    let bad = api
        .patch(
            "/tenants/corp",
            &json!({"settings": {"access_policies": [{"name": "x", "when": {"all_of": [{"type": "ip_in", "cidrs": ["nope"]}]}, "effect": "deny"}]}}),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text());

    // A general deny from loopback (where the test runs) refuses the sign-in after the password.
    set_policies(&api, json!([{"name": "no loopback", "when": {"all_of": [{"type": "ip_in", "cidrs": ["127.0.0.0/8", "::1/128"]}]}, "effect": "deny"}])).await;
    let b = server.browser();
    let r = b
        .sign_in("corp", "ann@corp.test", "a long passphrase")
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(
        unescape(&r.text()).contains("access policy does not allow this sign-in"),
        "{}",
        r.text()
    );
    assert!(
        r.set_cookie("tessera_session").is_none(),
        "no session on refusal"
    );
    // A wrong password still answers like a wrong password (the policy reveals nothing first).
    assert_eq!(
        b.sign_in("corp", "ann@corp.test", "wrong password!")
            .await
            .status,
        401
    );

    // require_mfa is not met by a password: a user without a factor must enrol one before any
    // session exists.
    set_policies(
        &api,
        json!([{"name": "mfa for all", "effect": "require_mfa"}]),
    )
    .await;
    let r = b
        .sign_in("corp", "ann@corp.test", "a long passphrase")
        .await;
    assert_eq!(r.expect_see_other(), "/t/corp/login/mfa/enroll");
    assert!(
        r.set_cookie("tessera_session").is_none(),
        "no session before the second factor"
    );
    let page = b.get("/t/corp/login/mfa/enroll").await;
    assert_eq!(page.status, 200);
    assert!(
        unescape(&page.text()).contains("second factor"),
        "{}",
        page.text()
    );

    // A policy for one application does not block sign-in, but refuses that application.
    set_policies(
        &api,
        json!([{"name": "payroll closed", "applications": [client_id], "effect": "deny"}]),
    )
    .await;
    b.sign_in_ok("corp", "ann@corp.test", "a long passphrase")
        .await;
    let r = b
        .get(&format!(
            "/t/corp/authorize?response_type=code&client_id={client_id}&redirect_uri=http%3A%2F%2Flocalhost%3A9%2Fcb&scope=openid&state=s1"
        ))
        .await;
    assert_eq!(r.status, 302, "{}", r.text());
    let location = r.header("location").expect("redirect");
    assert!(location.starts_with("http://localhost:9/cb?"), "{location}");
    assert!(
        location.contains("error=access_denied") && location.contains("state=s1"),
        "{location}"
    );
    assert!(!location.contains("code="), "{location}");

    // Without policies the same request gets a code.
    set_policies(&api, json!([])).await;
    let r = b
        .get(&format!(
            "/t/corp/authorize?response_type=code&client_id={client_id}&redirect_uri=http%3A%2F%2Flocalhost%3A9%2Fcb&scope=openid&state=s2"
        ))
        .await;
    assert!(
        r.header("location").is_some_and(|l| l.contains("code=")),
        "{}",
        r.text()
    );

    // Every refusal is an audit event naming the policy.
    let events = api
        .get("/tenants/corp/audit?type=access.denied")
        .await
        .expect(200);
    let items = events["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{events}");
    assert!(
        items.iter().any(|e| e["data"]["policy"] == "payroll closed"
            && e["data"]["client_id"] == client_id.as_str())
    );
    assert!(items.iter().all(|e| e["data"]["subject"] == user["id"]));
}

on_both_backends!(policies_at_sign_in_and_for_applications);
