//! `/api/v1/tenants`: create, list, read, rename, change settings, delete; what keys of a
//! non-admin tenant may do.

use serde_json::json;

use crate::harness::{Api, Backend, assert_same, start};

async fn tenants_crud(backend: Backend) {
    let (_dep, server, api) = start(backend).await;

    let created = api
        .post(
            "/tenants",
            &json!({"slug": "globex", "name": "Globex Corporation", "preset": "workforce"}),
        )
        .await
        .expect(201);
    assert_eq!(created["slug"], "globex");
    assert_eq!(created["name"], "Globex Corporation");
    assert_eq!(created["preset"], "workforce");
    assert_eq!(created["issuer"], format!("{}/t/globex", server.public_url));
    assert_eq!(created["settings"]["self_registration"], false);
    let customer = api.create_tenant("shop", "customer").await;
    assert_eq!(
        customer["settings"]["self_registration"], true,
        "{customer}"
    );

    let got = api.get("/tenants/globex").await.expect(200);
    assert_same(&got, &created, "a read returns what the create returned");
    let list = api.get("/tenants").await.expect(200);
    let slugs: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|t| t["slug"].as_str())
        .collect();
    for s in ["admin", "globex", "shop"] {
        assert!(slugs.contains(&s), "{s} is listed: {slugs:?}");
    }

    api.post("/tenants", &json!({"slug": "globex", "preset": "customer"}))
        .await
        .expect_error(409, "conflict");
    api.post("/tenants", &json!({"slug": "x", "preset": "workforce"}))
        .await
        .expect_error(400, "invalid_request");
    api.post(
        "/tenants",
        &json!({"slug": "ok-slug", "preset": "enterprise"}),
    )
    .await
    .expect_error(400, "invalid_request");

    // Rename, then replace the settings as a whole.
    let renamed = api
        .patch("/tenants/globex", &json!({"name": "Globex Inc"}))
        .await
        .expect(200);
    assert_eq!(renamed["name"], "Globex Inc");
    assert_eq!(renamed["settings"], created["settings"]);
    let mut settings = created["settings"].clone();
    settings["self_registration"] = json!(true);
    settings["session_idle_timeout_secs"] = json!(600);
    let changed = api
        .patch("/tenants/globex", &json!({"settings": settings}))
        .await
        .expect(200);
    assert_eq!(changed["settings"], settings);
    assert_eq!(changed["name"], "Globex Inc");
    let mut unknown = settings.clone();
    unknown["no_such_setting"] = json!(true);
    api.patch("/tenants/globex", &json!({"settings": unknown}))
        .await
        .expect_error(400, "invalid_request");
    assert_eq!(
        api.get("/tenants/globex").await.expect(200)["settings"],
        settings,
        "a refused change leaves the settings alone"
    );

    api.delete("/tenants/admin")
        .await
        .expect_error(400, "invalid_request");
    api.get("/tenants/admin").await.expect(200);
    assert_eq!(api.delete("/tenants/shop").await.status, 204);
    api.get("/tenants/shop")
        .await
        .expect_error(404, "not_found");
    api.delete("/tenants/shop")
        .await
        .expect_error(404, "not_found");
    api.patch("/tenants/shop", &json!({"name": "Ghost"}))
        .await
        .expect_error(404, "not_found");
}

async fn tenant_keys_reach_only_their_tenant(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    api.create_tenant("alpha", "workforce").await;
    api.create_tenant("beta", "workforce").await;
    let alpha = Api::new(&server, &server.api_key("alpha", "write").await);

    let list = alpha.get("/tenants").await.expect(200);
    let slugs: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|t| t["slug"].as_str())
        .collect();
    assert_eq!(slugs, ["alpha"], "a tenant key lists only its tenant");
    alpha.get("/tenants/alpha").await.expect(200);
    alpha
        .patch("/tenants/alpha", &json!({"name": "Alpha Team"}))
        .await
        .expect(200);
    for slug in ["beta", "admin"] {
        alpha
            .get(&format!("/tenants/{slug}"))
            .await
            .expect_error(404, "not_found");
        alpha
            .patch(&format!("/tenants/{slug}"), &json!({"name": "Taken over"}))
            .await
            .expect_error(404, "not_found");
        alpha
            .delete(&format!("/tenants/{slug}"))
            .await
            .expect_error(404, "not_found");
    }
    alpha
        .post("/tenants", &json!({"slug": "gamma", "preset": "workforce"}))
        .await
        .expect_error(403, "forbidden");
    alpha
        .delete("/tenants/alpha")
        .await
        .expect_error(403, "forbidden");
    assert_eq!(api.get("/tenants/beta").await.expect(200)["name"], "beta");
    api.get("/tenants/gamma")
        .await
        .expect_error(404, "not_found");
    api.get("/tenants/alpha").await.expect(200);
}

/// Deleting a tenant deletes its keys: they stop working, and do not come back to life when a
/// new tenant takes the same slug.
async fn deleted_tenant_keys_stay_dead(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    api.create_tenant("fleeting", "workforce").await;
    let key = Api::new(&server, &server.api_key("fleeting", "write").await);
    key.get("/tenants/fleeting").await.expect(200);
    assert_eq!(api.delete("/tenants/fleeting").await.status, 204);
    key.get("/tenants").await.expect_error(401, "unauthorized");
    api.create_tenant("fleeting", "workforce").await;
    key.get("/tenants/fleeting")
        .await
        .expect_error(401, "unauthorized");
}

/// The same create sent many times at once: exactly one wins, the others get 409, none a 500.
async fn concurrent_duplicates_conflict(backend: Backend) {
    let (_dep, _server, api) = start(backend).await;
    api.create_tenant("rush-hour", "customer").await;
    let bodies = [
        (
            "/tenants",
            json!({"slug": "contested", "preset": "workforce"}),
        ),
        (
            "/tenants/rush-hour/users",
            json!({"email": "same@rush.test", "password": "same-password-1"}),
        ),
        ("/tenants/rush-hour/groups", json!({"name": "Same group"})),
    ];
    for (path, body) in bodies {
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (api, body) = (api.clone(), body.clone());
                tokio::spawn(async move { api.post(path, &body).await })
            })
            .collect();
        let mut statuses = Vec::new();
        for t in tasks {
            let r = t.await.expect("the request task completes");
            if r.status == 409 {
                r.expect_error(409, "conflict");
            }
            statuses.push(r.status);
        }
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [201, 409, 409, 409, 409, 409, 409, 409],
            "POST {path} eight times at once"
        );
    }
    let users = api.get("/tenants/rush-hour/users").await.expect(200);
    assert_eq!(users["items"].as_array().map(Vec::len), Some(1));
    let groups = api.get("/tenants/rush-hour/groups").await.expect(200);
    assert_eq!(groups["items"].as_array().map(Vec::len), Some(1));
}

on_both_backends!(
    tenants_crud,
    tenant_keys_reach_only_their_tenant,
    deleted_tenant_keys_stay_dead,
    concurrent_duplicates_conflict,
);
