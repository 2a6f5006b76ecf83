//! Roles through the admin API: create, read, list, change, delete; permission syntax, name
//! uniqueness per application, applications that must be clients of the tenant, composite roles
//! (unknown members, cycles of any length) and what deleting a role takes with it.

use serde_json::{Value, json};

use crate::harness::{Backend, start};
use crate::support::{Tenant, assert_no_server_errors, expect_400, expect_bad, id};

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| id(r, "name"))
        .collect()
}

async fn roles_crud_validation_and_composites(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let t = Tenant::create(&api, "acme").await;
    let other = Tenant::create(&api, "globex").await;
    let portal = id(
        &t.post(
            "/clients",
            &json!({"name": "Portal", "redirect_uris": ["https://portal.example/cb"]}),
        )
        .await
        .expect(201),
        "client_id",
    );
    let crm = id(
        &t.post(
            "/clients",
            &json!({"name": "CRM", "redirect_uris": ["https://crm.example/cb"]}),
        )
        .await
        .expect(201),
        "client_id",
    );
    let foreign_client = id(
        &other
            .post(
                "/clients",
                &json!({"name": "Elsewhere", "redirect_uris": ["https://globex.example/cb"]}),
            )
            .await
            .expect(201),
        "client_id",
    );

    // Create: the answer is the role, with its permissions sorted and deduplicated.
    let reader = t
        .role(json!({
            "name": "Invoice reader",
            "description": "Reads invoices",
            "permissions": ["invoices:read", "reports:read", "invoices:read"],
        }))
        .await;
    let keys: Vec<&String> = reader.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "application",
            "composites",
            "created_at",
            "description",
            "id",
            "name",
            "permissions",
            "updated_at"
        ],
        "{reader}"
    );
    assert_eq!(reader["name"], "Invoice reader");
    assert_eq!(reader["description"], "Reads invoices");
    assert_eq!(reader["application"], Value::Null, "tenant-wide");
    assert_eq!(
        reader["permissions"],
        json!(["invoices:read", "reports:read"])
    );
    assert_eq!(reader["composites"], json!([]));
    let reader_id = id(&reader, "id");
    assert_eq!(
        t.get(&format!("/roles/{reader_id}")).await.expect(200),
        reader,
        "a read answers what the create answered"
    );

    // Permission syntax: each bad form is a 400 naming the field, and nothing is created.
    for bad in [
        "invoices",
        "Invoices:read",
        "invoices:",
        ":read",
        "*:read",
        "a:b:c",
        "in voices:read",
        "",
    ] {
        let r = t
            .post(
                "/roles",
                &json!({"name": format!("bad {bad}"), "permissions": ["ok:read", bad]}),
            )
            .await;
        let msg = expect_bad(&r, "permissions");
        assert!(msg.contains("resource:action"), "{bad:?}: {msg}");
    }
    let r = t
        .patch(
            &format!("/roles/{reader_id}"),
            &json!({"permissions": ["Invoices:Read"]}),
        )
        .await;
    expect_bad(&r, "permissions");
    // A blank name and unknown fields are refused too.
    expect_bad(&t.post("/roles", &json!({"name": "  "})).await, "name");
    expect_400(
        &t.post("/roles", &json!({"name": "x", "scopes": ["a:b"]}))
            .await,
    );
    expect_400(
        &t.post("/roles", &json!({"name": "x", "permissions": "a:b"}))
            .await,
    );
    assert_eq!(
        names(&t.get("/roles").await.expect(200)),
        ["Invoice reader"],
        "no refused role was stored"
    );

    // Names: unique per application; the same name for two applications (and tenant-wide) is fine.
    let r = t
        .post(
            "/roles",
            &json!({"name": "Invoice reader", "permissions": ["x:y"]}),
        )
        .await;
    r.expect_error(409, "conflict");
    let admin_portal = t
        .role(json!({"name": "admin", "application": portal, "permissions": ["portal:*"]}))
        .await;
    assert_eq!(admin_portal["application"], portal.as_str());
    let admin_crm = t
        .role(json!({"name": "admin", "application": crm, "permissions": ["crm:*"]}))
        .await;
    let admin_tenant = t.role(json!({"name": "admin"})).await;
    t.post(
        "/roles",
        &json!({"name": "admin", "application": portal, "permissions": ["x:y"]}),
    )
    .await
    .expect_error(409, "conflict");
    t.post("/roles", &json!({"name": "admin"}))
        .await
        .expect_error(409, "conflict");
    // A role of another tenant may have the same name.
    other.role(json!({"name": "admin"})).await;
    // Renaming onto a taken name conflicts as well.
    t.patch(
        &format!("/roles/{}", id(&admin_crm, "id")),
        &json!({"name": "admin", "permissions": ["crm:read"]}),
    )
    .await
    .expect(200);
    t.patch(&format!("/roles/{reader_id}"), &json!({"name": "admin"}))
        .await
        .expect_error(409, "conflict");

    // The application must be a client of this tenant.
    for app in ["no-such-client", foreign_client.as_str()] {
        let r = t
            .post("/roles", &json!({"name": "viewer", "application": app}))
            .await;
        expect_bad(&r, "application");
    }
    // And it cannot be changed afterwards (not part of a change).
    expect_400(
        &t.patch(
            &format!("/roles/{}", id(&admin_portal, "id")),
            &json!({"application": crm}),
        )
        .await,
    );

    // Composites: members must exist in this tenant, and no cycle may form.
    let foreign_role = other.simple_role("foreign", &["x:y"]).await;
    for (member, what) in [
        ("not-a-role-id".to_string(), "not an id"),
        (
            "0190f5a4-0000-7000-8000-000000000000".to_string(),
            "unknown id",
        ),
        (foreign_role.clone(), "another tenant's role"),
    ] {
        let r = t
            .post(
                "/roles",
                &json!({"name": "composite", "composites": [member]}),
            )
            .await;
        let msg = expect_bad(&r, "composites");
        assert!(!msg.is_empty(), "{what}");
    }
    let c = t.simple_role("C", &["c:read"]).await;
    let b = id(
        &t.role(json!({"name": "B", "permissions": ["b:read"], "composites": [c]}))
            .await,
        "id",
    );
    let a = t
        .role(json!({"name": "A", "permissions": ["a:read"], "composites": [b]}))
        .await;
    let a_id = id(&a, "id");
    assert_eq!(a["composites"], json!([b]));
    // Self-inclusion, a two-role cycle and a three-role cycle (A → B → C → A) are refused.
    for (role, members) in [
        (&a_id, vec![a_id.clone()]),
        (&c, vec![b.clone()]),
        (&c, vec![a_id.clone()]),
        (&b, vec![c.clone(), a_id.clone()]),
    ] {
        let r = t
            .patch(&format!("/roles/{role}"), &json!({"composites": members}))
            .await;
        let msg = expect_bad(&r, "composites");
        assert!(msg.contains("cycle"), "{msg}");
    }
    // Unchanged after the refusals.
    assert_eq!(
        t.get(&format!("/roles/{c}")).await.expect(200)["composites"],
        json!([])
    );
    assert_eq!(
        t.get(&format!("/roles/{b}")).await.expect(200)["composites"],
        json!([c])
    );
    // A diamond is not a cycle: A includes B and C, B includes C.
    let a2 = t
        .patch(&format!("/roles/{a_id}"), &json!({"composites": [b, c]}))
        .await
        .expect(200);
    let mut both = vec![b.clone(), c.clone()];
    both.sort();
    assert_eq!(a2["composites"], json!(both));
    // Replacing B's composites may break what was a cycle path: C may then include A.
    t.patch(&format!("/roles/{a_id}"), &json!({"composites": []}))
        .await
        .expect(200);
    t.patch(&format!("/roles/{c}"), &json!({"composites": [a_id]}))
        .await
        .expect(200);
    // Now A → (nothing), C → A, B → C: A including B would close A → B → C → A.
    let r = t
        .patch(&format!("/roles/{a_id}"), &json!({"composites": [b]}))
        .await;
    assert!(expect_bad(&r, "composites").contains("cycle"));

    // A user holding B holds B, C and (through C) A.
    let ann = t.user("ann@acme.test").await;
    let assignment = t.assign_user(&b, &ann).await;
    assert_eq!(
        t.permission_names(&ann).await,
        ["a:read", "b:read", "c:read"]
    );

    // Delete C: its assignments and its place in B's composites go with it.
    let c_assignment = t.assign_user(&c, &ann).await;
    let r = t.delete(&format!("/roles/{c}")).await;
    assert_eq!(r.status, 204, "{}", r.text());
    t.get(&format!("/roles/{c}"))
        .await
        .expect_error(404, "not_found");
    t.delete(&format!("/roles/{c}"))
        .await
        .expect_error(404, "not_found");
    t.delete("/roles/not-an-id")
        .await
        .expect_error(404, "not_found");
    assert_eq!(
        t.get(&format!("/roles/{b}")).await.expect(200)["composites"],
        json!([]),
        "the deleted role left B's composites"
    );
    let left = t
        .get(&format!("/assignments?role_id={c}"))
        .await
        .expect(200);
    assert_eq!(left["items"], json!([]), "C's assignments are gone");
    let of_ann = t
        .get(&format!("/assignments?user_id={ann}"))
        .await
        .expect(200);
    let ids: Vec<String> = of_ann["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| id(a, "id"))
        .collect();
    assert_eq!(ids, [assignment.as_str()], "only B's assignment remains");
    assert!(!ids.contains(&c_assignment));
    t.delete(&format!("/assignments/{c_assignment}"))
        .await
        .expect_error(404, "not_found");
    assert_eq!(t.permission_names(&ann).await, ["b:read"]);

    // List: every role of this tenant (and only this tenant's).
    let listed = names(&t.get("/roles").await.expect(200));
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["A", "B", "Invoice reader", "admin", "admin", "admin"],
        "{listed:?}"
    );
    assert_eq!(
        names(&other.get("/roles").await.expect(200)),
        ["admin", "foreign"]
    );
    // Another tenant's role is not reachable through this tenant.
    t.get(&format!("/roles/{foreign_role}"))
        .await
        .expect_error(404, "not_found");
    t.delete(&format!("/roles/{foreign_role}"))
        .await
        .expect_error(404, "not_found");
    other
        .get(&format!("/roles/{foreign_role}"))
        .await
        .expect(200);

    // A change answers the new role and keeps id, application and created_at.
    let changed = t
        .patch(
            &format!("/roles/{}", id(&admin_tenant, "id")),
            &json!({"name": "owner", "description": "Everything", "permissions": ["invoices:*"]}),
        )
        .await
        .expect(200);
    assert_eq!(changed["id"], admin_tenant["id"]);
    assert_eq!(changed["name"], "owner");
    assert_eq!(changed["permissions"], json!(["invoices:*"]));
    assert_eq!(changed["created_at"], admin_tenant["created_at"]);
    assert_eq!(
        t.get(&format!("/roles/{}", id(&admin_tenant, "id")))
            .await
            .expect(200)["name"],
        "owner"
    );
    assert_no_server_errors(&server);
}

on_both_backends!(roles_crud_validation_and_composites);
