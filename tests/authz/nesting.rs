//! Nested groups: `PUT/DELETE /groups/{id}/parents/{parent}`, cycles refused, roles flowing down
//! from every group above, the explanation of `GET /users/{id}/permissions`, and grants that end
//! at the next check when a membership or a nesting is removed.

use serde_json::json;

use crate::harness::{Backend, start};
use crate::support::{Tenant, assert_denied, assert_no_server_errors, expect_bad, id};

const UNKNOWN: &str = "0190f5a4-0000-7000-8000-000000000000";

async fn nested_groups_and_explanations(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let t = Tenant::create(&api, "acme").await;
    let other = Tenant::create(&api, "globex").await;
    let ann = t.user("ann@acme.test").await;
    let bob = t.user("bob@acme.test").await;
    // payables ⊂ finance ⊂ all-staff
    let payables = t.group("Payables").await;
    let finance = t.group("Finance").await;
    let staff = t.group("All staff").await;
    let foreign = other.group("Globex").await;
    t.add_member(&payables, &ann).await;

    // An accountant role including an invoice-editor role, assigned to the grandparent.
    let editor = t.simple_role("invoice editor", &["invoices:write"]).await;
    let accountant = id(
        &t.role(json!({"name": "accountant", "permissions": ["ledger:read"],
                       "composites": [editor]}))
            .await,
        "id",
    );
    let to_staff = t.assign_group(&accountant, &staff).await;
    assert!(!t.allowed(&ann, "invoices:write").await, "not nested yet");

    t.nest(&payables, &finance).await;
    t.nest(&finance, &staff).await;
    // Nesting again is idempotent.
    t.nest(&payables, &finance).await;

    // Ann (in payables) holds the grandparent's role and what it includes.
    let d = t.check(&ann, "invoices:write").await;
    assert_eq!(d["allowed"], true, "{d}");
    let path = json!([
        {"via": "group", "id": payables},
        {"via": "group", "id": finance},
        {"via": "group", "id": staff},
        {"via": "assignment", "id": to_staff, "role": accountant},
        {"via": "role", "id": editor},
    ]);
    assert_eq!(d["via"], path, "{d}");
    assert!(d["reason"].as_str().unwrap_or("").contains("5 step"), "{d}");
    let perms = t.permissions(&ann).await;
    assert_eq!(
        perms,
        vec![
            ("invoices:write".to_string(), path.clone()),
            (
                "ledger:read".to_string(),
                json!([
                    {"via": "group", "id": payables},
                    {"via": "group", "id": finance},
                    {"via": "group", "id": staff},
                    {"via": "assignment", "id": to_staff, "role": accountant},
                ])
            ),
        ]
    );
    // The explanation is the shortest path: a direct assignment of the editor role wins.
    let direct = t.assign_user(&editor, &ann).await;
    let perms = t.permissions(&ann).await;
    assert_eq!(
        perms[0],
        (
            "invoices:write".to_string(),
            json!([{"via": "assignment", "id": direct, "role": editor}])
        )
    );
    t.unassign(&direct).await;
    assert_eq!(t.permissions(&ann).await[0].1, path);
    // Bob is in no group: nothing. Unknown users are 404 here (unlike the check API).
    assert_eq!(t.permissions(&bob).await, vec![]);
    t.get(&format!("/users/{UNKNOWN}/permissions"))
        .await
        .expect_error(404, "not_found");
    other
        .get(&format!("/users/{ann}/permissions"))
        .await
        .expect_error(404, "not_found");

    // Cycles are refused: self, two groups, three groups.
    for (child, parent) in [
        (&payables, &payables),
        (&finance, &payables),
        (&staff, &payables),
    ] {
        let r = t.put(&format!("/groups/{child}/parents/{parent}")).await;
        let msg = expect_bad(&r, "parent_id");
        assert!(msg.contains("cycle"), "{msg}");
    }
    // Unknown or foreign groups: 404.
    for (child, parent) in [
        (UNKNOWN, staff.as_str()),
        (staff.as_str(), UNKNOWN),
        ("not-an-id", staff.as_str()),
        (staff.as_str(), foreign.as_str()),
        (foreign.as_str(), staff.as_str()),
    ] {
        t.put(&format!("/groups/{child}/parents/{parent}"))
            .await
            .expect_error(404, "not_found");
    }
    // The refused requests changed nothing.
    assert_eq!(t.permissions(&ann).await[0].1, path);

    // Removing the membership removes the permission at the next check; adding it back restores it.
    t.remove_member(&payables, &ann).await;
    assert_denied(&t.check(&ann, "invoices:write").await, "no role assigned");
    assert_eq!(t.permissions(&ann).await, vec![]);
    t.add_member(&payables, &ann).await;
    assert!(t.allowed(&ann, "invoices:write").await);

    // Removing a nesting cuts everything below it.
    let r = t
        .delete(&format!("/groups/{finance}/parents/{staff}"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(!t.allowed(&ann, "invoices:write").await);
    assert!(!t.allowed(&ann, "ledger:read").await);
    t.delete(&format!("/groups/{finance}/parents/{staff}"))
        .await
        .expect_error(404, "not_found");
    t.delete(&format!("/groups/{UNKNOWN}/parents/{staff}"))
        .await
        .expect_error(404, "not_found");
    // With that edge gone, staff may now be nested under payables (no longer a cycle); roles
    // flow down, not up, so Ann (in payables) gains nothing from it.
    t.nest(&staff, &payables).await;
    assert!(!t.allowed(&ann, "ledger:read").await, "staff ⊂ payables");
    let r = t
        .delete(&format!("/groups/{staff}/parents/{payables}"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    // payables ⊂ staff: Ann holds staff's role again, by the shorter path.
    t.nest(&payables, &staff).await;
    let d = t.check(&ann, "ledger:read").await;
    assert_eq!(
        d["via"],
        json!([
            {"via": "group", "id": payables},
            {"via": "group", "id": staff},
            {"via": "assignment", "id": to_staff, "role": accountant},
        ]),
        "{d}"
    );

    // Deleting a group in the middle removes its edges with it.
    t.nest(&finance, &staff).await;
    t.remove_member(&payables, &ann).await;
    t.add_member(&finance, &ann).await;
    assert!(t.allowed(&ann, "ledger:read").await);
    let r = t.delete(&format!("/groups/{finance}")).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(!t.allowed(&ann, "ledger:read").await);
    assert_eq!(t.permissions(&ann).await, vec![]);
    assert_no_server_errors(&server);
}

on_both_backends!(nested_groups_and_explanations);
