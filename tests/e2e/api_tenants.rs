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

on_both_backends!(tenants_crud, tenant_keys_reach_only_their_tenant);
