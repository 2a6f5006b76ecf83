//! `/api/v1/tenants/{slug}/clients`: applications, their secrets (shown once, rotated on demand),
//! and validation of their registration.

use serde_json::json;

use crate::harness::{Backend, assert_same, start};

async fn clients_crud_and_secret_rotation(backend: Backend) {
    let (_dep, _server, api) = start(backend).await;
    api.create_tenant("apps", "customer").await;

    let web = api
        .post(
            "/tenants/apps/clients",
            &json!({
                "name": "Web shop",
                "redirect_uris": ["https://shop.example/callback"],
                "allowed_scopes": ["openid", "email"],
                "metadata": {"owner": "team-shop"},
            }),
        )
        .await
        .expect(201);
    let client_id = web["client_id"].as_str().expect("client_id").to_string();
    let secret = web["client_secret"]
        .as_str()
        .expect("a confidential client gets a secret")
        .to_string();
    assert!(secret.len() >= 20);
    assert_eq!(web["client_type"], "confidential");
    assert_eq!(
        web["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(web["metadata"], json!({"owner": "team-shop"}));

    let spa = api
        .post(
            "/tenants/apps/clients",
            &json!({"name": "SPA", "public": true, "redirect_uris": ["https://spa.example/cb"]}),
        )
        .await
        .expect(201);
    assert!(
        spa.as_object()
            .expect("object")
            .contains_key("client_secret")
            && spa["client_secret"].is_null(),
        "public clients have client_secret null: {spa}"
    );
    assert_eq!(spa["client_type"], "public");
    let spa_id = spa["client_id"].as_str().expect("client_id").to_string();

    // Reads never show a secret.
    let path = format!("/tenants/apps/clients/{client_id}");
    let got = api.get(&path).await.expect(200);
    assert!(got.get("client_secret").is_none(), "{got}");
    assert!(
        !got.to_string().contains(&secret),
        "the secret is never shown again"
    );
    assert_eq!(got["name"], "Web shop");
    let list = api.get("/tenants/apps/clients").await.expect(200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2), "{list}");
    assert!(!list.to_string().contains(&secret));

    // Changes are validated as a whole.
    let changed = api
        .patch(
            &path,
            &json!({"name": "Web shop v2", "redirect_uris": ["https://shop.example/cb2"]}),
        )
        .await
        .expect(200);
    assert_eq!(changed["name"], "Web shop v2");
    assert_eq!(
        changed["redirect_uris"],
        json!(["https://shop.example/cb2"])
    );
    for bad in [
        json!({"redirect_uris": ["not a url"]}),
        json!({"metadata": ["not", "an", "object"]}),
        json!({"name": ""}),
        json!({"grant_types": ["password"]}),
    ] {
        api.patch(&path, &bad)
            .await
            .expect_error(400, "invalid_request");
    }
    assert_same(
        &api.get(&path).await.expect(200),
        &changed,
        "refused changes left no trace",
    );
    api.post(
        "/tenants/apps/clients",
        &json!({"name": "Bad", "redirect_uris": ["javascript:alert(1)"]}),
    )
    .await
    .expect_error(400, "invalid_request");

    // Rotation: a new secret each time; public clients have none to rotate.
    let rotated = api.post_empty(&format!("{path}/secret")).await.expect(200);
    assert_eq!(rotated["client_id"], client_id.as_str());
    let new_secret = rotated["client_secret"].as_str().expect("a new secret");
    assert_ne!(new_secret, secret);
    let again = api.post_empty(&format!("{path}/secret")).await.expect(200);
    assert_ne!(again["client_secret"], rotated["client_secret"]);
    api.post_empty(&format!("/tenants/apps/clients/{spa_id}/secret"))
        .await
        .expect_error(400, "invalid_request");
    api.post_empty("/tenants/apps/clients/no-such-client/secret")
        .await
        .expect_error(404, "not_found");

    assert_eq!(api.delete(&path).await.status, 204);
    api.get(&path).await.expect_error(404, "not_found");
    api.delete(&path).await.expect_error(404, "not_found");
    let list = api.get("/tenants/apps/clients").await.expect(200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
}

on_both_backends!(clients_crud_and_secret_rotation);
