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

/// A geo-IP database of the test's own: loopback (where the test runs) is in Germany, 81.2.69.0/24
/// in Great Britain.
fn geo_db(dep: &crate::harness::Deployment) -> String {
    use tessera_risk::mmdb::{GeoRecord, build};
    let rec = |country: &str| GeoRecord {
        country: Some(country.into()),
        location: None,
        asn: Some(64_500),
        asn_org: None,
    };
    let bytes = build(
        "Tessera-Test-Country",
        &[
            ("127.0.0.0/8".parse().expect("net"), rec("DE")),
            ("::1/128".parse().expect("net"), rec("DE")),
            ("81.2.69.0/24".parse().expect("net"), rec("GB")),
        ],
    );
    let path = dep.dir().join("geo.mmdb");
    std::fs::write(&path, bytes).expect("the test database can be written");
    path.display().to_string()
}

async fn country_and_trusted_device_conditions(backend: Backend) {
    let dep = crate::harness::Deployment::new(backend);
    let geo = geo_db(&dep);
    let dep = dep.set("TESSERA_GEOIP_DB", &geo);
    let server = dep.start().await;
    let api = server.admin_api().await;
    api.create_tenant("corp", "workforce").await;
    let user = api
        .create_user("corp", "ann@corp.test", Some("a long passphrase"))
        .await;
    let uid = user["id"].as_str().expect("id").to_string();

    // Only France may sign in: the request comes from Germany, refused after the password.
    set_policies(&api, json!([
        {"name": "france", "when": {"all_of": [{"type": "country_in", "countries": ["FR"]}]}, "effect": "allow"},
        {"name": "elsewhere", "effect": "deny"}
    ]))
    .await;
    let b = server.browser();
    let r = b
        .sign_in("corp", "ann@corp.test", "a long passphrase")
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    set_policies(&api, json!([
        {"name": "germany", "when": {"all_of": [{"type": "country_in", "countries": ["de"]}]}, "effect": "allow"},
        {"name": "elsewhere", "effect": "deny"}
    ]))
    .await;
    b.sign_in_ok("corp", "ann@corp.test", "a long passphrase")
        .await;
    set_policies(&api, json!([])).await;
    let bad = api
        .patch(
            "/tenants/corp",
            &json!({"settings": {"access_policies": [{"name": "x", "when": {"all_of": [{"type": "country_in", "countries": ["GBR"]}]}, "effect": "deny"}]}}),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text());

    // Role assignments conditional on the country (placed by the server's database from the IP,
    // or given by the application) and on a trusted device.
    let role = api
        .post(
            "/tenants/corp/roles",
            &json!({"name": "uk-payments", "permissions": ["payments:approve"]}),
        )
        .await
        .expect(201);
    api.post(
        "/tenants/corp/assignments",
        &json!({"role_id": role["id"], "principal_type": "user", "principal_id": uid,
                "condition": {"all_of": [{"type": "country_in", "countries": ["GB"]}, {"type": "trusted_device"}]}}),
    )
    .await
    .expect(201);
    let check = |ctx: Value| {
        let api = api.clone();
        let uid = uid.clone();
        async move {
            api.post(
                "/tenants/corp/authz/check",
                &json!({"subject": uid, "permission": "payments:approve", "context": ctx}),
            )
            .await
        }
    };
    let r = check(json!({"ip": "81.2.69.7", "trusted_device": true}))
        .await
        .expect(200);
    assert_eq!(r["allowed"], true, "{r}");
    let r = check(json!({"ip": "81.2.69.7"})).await.expect(200);
    assert_eq!(r["allowed"], false, "an untrusted device: {r}");
    let r = check(json!({"ip": "127.0.0.1", "trusted_device": true}))
        .await
        .expect(200);
    assert_eq!(r["allowed"], false, "from Germany: {r}");
    let r = check(json!({"country": "gb", "trusted_device": true}))
        .await
        .expect(200);
    assert_eq!(r["allowed"], true, "the application's own country: {r}");
    let r = check(json!({"country": "GBR"})).await;
    assert_eq!(r.status, 400, "{}", r.text());

    // A file that is not a geo-IP database stops the server with a message naming the key.
    let not_mmdb = dep.dir().join("not.mmdb");
    std::fs::write(&not_mmdb, "hello").expect("write");
    let (status, log) = dep
        .serve_expecting_exit(&[("TESSERA_GEOIP_DB", not_mmdb.to_str().expect("path"))])
        .await;
    assert!(!status.success());
    assert!(log.contains("TESSERA_GEOIP_DB"), "{log}");
    drop(server);
}

on_both_backends!(
    policies_at_sign_in_and_for_applications,
    country_and_trusted_device_conditions,
);
