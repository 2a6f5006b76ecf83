//! Delegated administration: each built-in admin role tries every admin API route it must not
//! use, and every attempt is refused with 403 while the allowed ones work. Nothing changes.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Api, Backend, start};

/// (method, path, body, resource) for every admin route of tenant `org` (ids filled in).
fn routes(ids: &Value) -> Vec<(Method, String, Option<Value>, &'static str)> {
    let s = |k: &str| ids[k].as_str().expect("id").to_string();
    let (user, group, client, role, hook) =
        (s("user"), s("group"), s("client"), s("role"), s("webhook"));
    let t = "/tenants/org";
    vec![
        (
            Method::GET,
            format!("{t}/analytics?from=2026-01-01&to=2026-01-02"),
            None,
            "analytics",
        ),
        (Method::GET, format!("{t}/users"), None, "users"),
        (
            Method::POST,
            format!("{t}/users"),
            Some(json!({"email": "new@org.test"})),
            "users",
        ),
        (
            Method::PATCH,
            format!("{t}/users/{user}"),
            Some(json!({"name": "X"})),
            "users",
        ),
        (
            Method::POST,
            format!("{t}/users/{user}/disable"),
            None,
            "users",
        ),
        (Method::GET, format!("{t}/groups"), None, "groups"),
        (
            Method::POST,
            format!("{t}/groups"),
            Some(json!({"name": "new"})),
            "groups",
        ),
        (
            Method::PUT,
            format!("{t}/groups/{group}/members/{user}"),
            None,
            "groups",
        ),
        (Method::GET, format!("{t}/sessions"), None, "sessions"),
        (Method::GET, format!("{t}/clients"), None, "clients"),
        (
            Method::POST,
            format!("{t}/clients"),
            Some(json!({"name": "c", "grant_types": ["client_credentials"]})),
            "clients",
        ),
        (
            Method::POST,
            format!("{t}/clients/{client}/secret"),
            None,
            "clients",
        ),
        (Method::GET, format!("{t}/roles"), None, "roles"),
        (
            Method::POST,
            format!("{t}/roles"),
            Some(json!({"name": "escalate", "permissions": ["all:*"]})),
            "roles",
        ),
        (
            Method::PATCH,
            format!("{t}/roles/{role}"),
            Some(json!({"permissions": ["all:*"]})),
            "roles",
        ),
        (Method::GET, format!("{t}/assignments"), None, "assignments"),
        (
            Method::POST,
            format!("{t}/assignments"),
            Some(json!({"role_id": role, "principal_type": "user", "principal_id": user})),
            "assignments",
        ),
        (
            Method::GET,
            format!("{t}/users/{user}/permissions"),
            None,
            "authz",
        ),
        (Method::GET, format!("{t}/audit"), None, "audit"),
        (Method::GET, format!("{t}/webhooks"), None, "webhooks"),
        (
            Method::DELETE,
            format!("{t}/webhooks/{hook}"),
            None,
            "webhooks",
        ),
        (
            Method::PATCH,
            t.to_string(),
            Some(json!({"name": "Renamed"})),
            "tenants",
        ),
        (Method::GET, t.to_string(), None, "tenants"),
        (
            Method::POST,
            "/tenants".to_string(),
            Some(json!({"slug": "grab", "preset": "customer"})),
            "deployment",
        ),
        (Method::DELETE, t.to_string(), None, "deployment"),
    ]
}

/// Whether `role` may perform a call on `resource` (the documented matrix).
fn allowed(role: &str, resource: &str, write: bool) -> bool {
    match role {
        "tenant_admin" => resource != "deployment",
        "auditor" => !write && resource != "deployment",
        "user_manager" => match resource {
            "users" | "groups" | "sessions" => true,
            "tenants" | "roles" | "assignments" | "authz" | "clients" => !write,
            _ => false,
        },
        "app_owner" => match resource {
            "clients" | "roles" => true,
            "tenants" | "authz" => !write,
            _ => false,
        },
        other => panic!("unknown role {other}"),
    }
}

async fn every_role_is_confined_to_its_matrix(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    api.create_tenant("org", "workforce").await;
    let user = api.create_user("org", "ann@org.test", None).await;
    let group = api
        .post("/tenants/org/groups", &json!({"name": "g"}))
        .await
        .expect(201);
    let client = api
        .post(
            "/tenants/org/clients",
            &json!({"name": "app", "redirect_uris": ["https://app.example/cb"]}),
        )
        .await
        .expect(201);
    let role = api
        .post(
            "/tenants/org/roles",
            &json!({"name": "reader", "permissions": ["docs:read"]}),
        )
        .await
        .expect(201);
    let hook = api
        .post(
            "/tenants/org/webhooks",
            &json!({"url": "https://hooks.example/x"}),
        )
        .await
        .expect(201);
    let ids = json!({
        "user": user["id"], "group": group["id"], "client": client["client_id"], "role": role["id"], "webhook": hook["id"],
    });
    let audit_before = api.get("/tenants/org/audit?limit=200").await.expect(200)["items"]
        .as_array()
        .map(Vec::len);

    for role_name in ["auditor", "user_manager", "app_owner", "tenant_admin"] {
        let key = server
            .cli_json(&[
                "keys",
                "create-api-key",
                "--tenant",
                "org",
                "--role",
                role_name,
                "--name",
                role_name,
            ])
            .await["api_key"]
            .as_str()
            .expect("api_key")
            .to_string();
        let as_role: Api = api.with_key(Some(&key));
        for (method, path, body, resource) in routes(&ids) {
            let write = method != Method::GET;
            let expect_ok = allowed(role_name, resource, write);
            if expect_ok && write {
                // Allowed writes are proven by the API suites; here only refusals change nothing.
                continue;
            }
            let r = as_role.send(method.clone(), &path, body.as_ref()).await;
            if expect_ok {
                assert!(
                    r.status < 400,
                    "{role_name} must be able to {method} {path}: {} {}",
                    r.status,
                    r.text()
                );
            } else {
                assert_eq!(
                    r.status,
                    403,
                    "{role_name} must not {method} {path}: {}",
                    r.text()
                );
                assert_eq!(r.json()["error"], "forbidden");
            }
        }
    }
    // Refused calls changed nothing: no new audit entries besides the keys' creation events.
    let audit_after = api.get("/tenants/org/audit?limit=200").await.expect(200)["items"]
        .as_array()
        .map(Vec::len);
    assert_eq!(
        audit_after.map(|n| n - 4),
        audit_before,
        "only the four api_key.created events were added"
    );
    assert_eq!(api.get("/tenants/org").await.expect(200)["name"], "org");
    let roles = api.get("/tenants/org/roles").await.expect(200);
    assert_eq!(
        roles["items"].as_array().map(Vec::len),
        Some(1),
        "no role was created by a refused call"
    );
}

on_both_backends!(every_role_is_confined_to_its_matrix);
