//! `/api/v1/tenants/{slug}/groups`: groups, their members, and a user's groups.

use serde_json::json;

use crate::harness::{Backend, assert_same, start};

async fn groups_and_members(backend: Backend) {
    let (_dep, _server, api) = start(backend).await;
    api.create_tenant("org", "workforce").await;
    let ann = api.create_user("org", "ann@org.test", None).await;
    let ben = api.create_user("org", "ben@org.test", None).await;
    let (ann, ben) = (
        ann["id"].as_str().expect("id").to_string(),
        ben["id"].as_str().expect("id").to_string(),
    );

    let eng = api
        .post(
            "/tenants/org/groups",
            &json!({"name": "Engineering", "description": "Builds things"}),
        )
        .await
        .expect(201);
    assert_eq!(eng["name"], "Engineering");
    assert_eq!(eng["description"], "Builds things");
    let eng_id = eng["id"].as_str().expect("id").to_string();
    let ops = api
        .post("/tenants/org/groups", &json!({"name": "Operations"}))
        .await
        .expect(201);
    assert!(ops["description"].is_null());
    let ops_id = ops["id"].as_str().expect("id").to_string();
    api.post("/tenants/org/groups", &json!({"name": "Engineering"}))
        .await
        .expect_error(409, "conflict");
    api.post("/tenants/org/groups", &json!({"name": "  "}))
        .await
        .expect_error(400, "invalid_request");

    let g = format!("/tenants/org/groups/{eng_id}");
    assert_same(
        &api.get(&g).await.expect(200),
        &eng,
        "a read returns the created group",
    );
    let list = api.get("/tenants/org/groups").await.expect(200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2), "{list}");
    let first = api.get("/tenants/org/groups?limit=1").await.expect(200);
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let second = api
        .get(&format!("/tenants/org/groups?limit=1&after={cursor}"))
        .await
        .expect(200);
    assert_ne!(first["items"][0]["id"], second["items"][0]["id"]);
    assert!(second["next_cursor"].is_null());

    // Rename and clear the description with null; a taken name is refused.
    let renamed = api
        .patch(&g, &json!({"name": "Platform", "description": null}))
        .await
        .expect(200);
    assert_eq!(renamed["name"], "Platform");
    assert!(renamed["description"].is_null(), "{renamed}");
    api.patch(&g, &json!({"name": "Operations"}))
        .await
        .expect_error(409, "conflict");
    assert_eq!(api.get(&g).await.expect(200)["name"], "Platform");

    // Membership: idempotent adds, listing both ways, removal.
    for user in [&ann, &ben, &ann] {
        assert_eq!(api.put(&format!("{g}/members/{user}")).await.status, 204);
    }
    assert_eq!(
        api.put(&format!("/tenants/org/groups/{ops_id}/members/{ann}"))
            .await
            .status,
        204
    );
    let members = api.get(&format!("{g}/members")).await.expect(200);
    let mut got: Vec<&str> = members["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    got.sort_unstable();
    let mut want = vec![ann.as_str(), ben.as_str()];
    want.sort_unstable();
    assert_eq!(got, want);
    let anns = api
        .get(&format!("/tenants/org/users/{ann}/groups"))
        .await
        .expect(200);
    let mut names: Vec<&str> = anns["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["Operations", "Platform"]);

    let ghost = uuid::Uuid::new_v4();
    api.put(&format!("{g}/members/{ghost}"))
        .await
        .expect_error(404, "not_found");
    api.put(&format!("/tenants/org/groups/{ghost}/members/{ann}"))
        .await
        .expect_error(404, "not_found");
    assert_eq!(api.delete(&format!("{g}/members/{ben}")).await.status, 204);
    api.delete(&format!("{g}/members/{ben}"))
        .await
        .expect_error(404, "not_found");
    let members = api.get(&format!("{g}/members")).await.expect(200);
    assert_eq!(members["items"], json!([ann]));

    // Deleting a user drops their memberships; deleting a group keeps its members.
    assert_eq!(
        api.delete(&format!("/tenants/org/users/{ann}"))
            .await
            .status,
        204
    );
    let members = api.get(&format!("{g}/members")).await.expect(200);
    assert_eq!(members["items"], json!([]));
    assert_eq!(api.delete(&g).await.status, 204);
    api.get(&g).await.expect_error(404, "not_found");
    api.get(&format!("{g}/members"))
        .await
        .expect_error(404, "not_found");
    api.get(&format!("/tenants/org/users/{ben}"))
        .await
        .expect(200);
    let bens = api
        .get(&format!("/tenants/org/users/{ben}/groups"))
        .await
        .expect(200);
    assert_eq!(bens["items"], json!([]));
}

on_both_backends!(groups_and_members);
