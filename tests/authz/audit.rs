//! Every authorization change is an audit event of the tenant: `role.created`, `role.updated`,
//! `role.deleted`, `role.assigned`, `role.unassigned`, `group.nested`, `group.unnested`, with
//! their target, the acting key and their fields; refused requests leave no event.

use serde_json::{Value, json};

use crate::harness::{Api, Backend, start};
use crate::support::{Tenant, assert_no_server_errors, id};

/// Every audit entry of the tenant, newest first.
async fn audit(api: &Api, slug: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut q = "limit=200".to_string();
        if let Some(a) = &after {
            q.push_str(&format!("&after={a}"));
        }
        let page = api
            .get(&format!("/tenants/{slug}/audit?{q}"))
            .await
            .expect(200);
        items.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => after = Some(c.to_string()),
            None => return items,
        }
    }
}

fn of_type<'a>(entries: &'a [Value], ty: &str) -> Vec<&'a Value> {
    entries.iter().filter(|e| e["type"] == ty).collect()
}

/// The single entry of type `ty` with this target.
#[track_caller]
fn one<'a>(entries: &'a [Value], ty: &str, kind: &str, target: &str) -> &'a Value {
    let found: Vec<&Value> = entries
        .iter()
        .filter(|e| e["type"] == ty && e["data"]["target"] == json!({"kind": kind, "id": target}))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "exactly one {ty} entry targets {kind} {target}: {}",
        json!(entries)
    );
    let e = found[0];
    assert_eq!(e["data"]["type"], ty, "{e}");
    assert_eq!(e["data"]["outcome"], "success", "{e}");
    assert_eq!(e["data"]["actor"]["kind"], "api_key", "{e}");
    e
}

async fn authorization_changes_are_audited(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let t = Tenant::create(&api, "acme").await;
    let ann = t.user("ann@acme.test").await;
    let team = t.group("Team").await;
    let dept = t.group("Department").await;

    let reader = t.simple_role("reader", &["invoices:read"]).await;
    let auditor = t.simple_role("auditor", &["ledger:read"]).await;
    // Refused: a conflict, a cycle, an unknown principal; none is audited.
    t.post("/roles", &json!({"name": "reader"}))
        .await
        .expect_error(409, "conflict");
    t.patch(
        &format!("/roles/{reader}"),
        &json!({"composites": [reader]}),
    )
    .await
    .expect_error(400, "invalid_request");
    t.post(
        "/assignments",
        &json!({"role_id": reader, "principal_type": "user",
                "principal_id": "0190f5a4-0000-7000-8000-000000000000"}),
    )
    .await
    .expect_error(404, "not_found");
    t.put(&format!("/groups/{team}/parents/{team}"))
        .await
        .expect_error(400, "invalid_request");

    let to_ann = t.assign_user(&reader, &ann).await;
    let to_team = t.assign_group(&auditor, &team).await;
    t.unassign(&to_ann).await;
    t.nest(&team, &dept).await;
    let r = t.delete(&format!("/groups/{team}/parents/{dept}")).await;
    assert_eq!(r.status, 204);
    t.patch(
        &format!("/roles/{reader}"),
        &json!({"permissions": ["invoices:read", "invoices:write"]}),
    )
    .await
    .expect(200);
    let r = t.delete(&format!("/roles/{auditor}")).await;
    assert_eq!(r.status, 204);

    let all = audit(&api, "acme").await;
    let created = one(&all, "role.created", "role", &reader);
    assert_eq!(created["data"]["name"], "reader", "{created}");
    one(&all, "role.created", "role", &auditor);
    assert_eq!(
        of_type(&all, "role.created").len(),
        2,
        "refusals are not audited"
    );

    let assigned = one(&all, "role.assigned", "user", &ann);
    assert_eq!(assigned["data"]["role_id"], reader.as_str(), "{assigned}");
    assert_eq!(assigned["data"]["assignment_id"], to_ann.as_str());
    assert_eq!(assigned["data"]["subject"], ann.as_str());
    let to_group = one(&all, "role.assigned", "group", &team);
    assert_eq!(to_group["data"]["role_id"], auditor.as_str());
    assert_eq!(to_group["data"]["assignment_id"], to_team.as_str());
    assert_eq!(of_type(&all, "role.assigned").len(), 2);

    let unassigned = one(&all, "role.unassigned", "assignment", &to_ann);
    assert_eq!(
        unassigned["data"]["role_id"],
        reader.as_str(),
        "{unassigned}"
    );
    assert_eq!(unassigned["data"]["assignment_id"], to_ann.as_str());
    // Deleting a role removes its assignments without an event per assignment.
    assert_eq!(of_type(&all, "role.unassigned").len(), 1);

    let nested = one(&all, "group.nested", "group", &team);
    assert_eq!(nested["data"]["parent_id"], dept.as_str(), "{nested}");
    assert_eq!(
        of_type(&all, "group.nested").len(),
        1,
        "the refused cycle is not audited"
    );
    let unnested = one(&all, "group.unnested", "group", &team);
    assert_eq!(unnested["data"]["parent_id"], dept.as_str());

    let updated = one(&all, "role.updated", "role", &reader);
    assert_eq!(
        updated["data"]["changes"],
        json!({"permissions": {"before": ["invoices:read"],
                               "after": ["invoices:read", "invoices:write"]}}),
        "{updated}"
    );
    one(&all, "role.deleted", "role", &auditor);

    // Newest first, in the order the changes were made.
    let order: Vec<&str> = all
        .iter()
        .filter_map(|e| e["type"].as_str())
        .filter(|t| {
            t.starts_with("role.")
                || t.starts_with("group.nested")
                || t.starts_with("group.unnested")
        })
        .collect();
    assert_eq!(
        order,
        [
            "role.deleted",
            "role.updated",
            "group.unnested",
            "group.nested",
            "role.unassigned",
            "role.assigned",
            "role.assigned",
            "role.created",
            "role.created"
        ]
    );
    // The type filter of the audit API finds them.
    let page = api
        .get("/tenants/acme/audit?type=role.assigned")
        .await
        .expect(200);
    let ids: Vec<String> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| id(&e["data"], "assignment_id"))
        .collect();
    assert_eq!(ids, [to_team.as_str(), to_ann.as_str()]);
    // All of it stays verifiable.
    let v = api.get("/tenants/acme/audit/verify").await.expect(200);
    assert_eq!(v["intact"], true, "{v}");
    assert_no_server_errors(&server);
}

on_both_backends!(authorization_changes_are_audited);
