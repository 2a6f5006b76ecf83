//! Access reviews: who holds a permission (directly, through a composite role, through a nested
//! group), when each holder last used it, which assignments nobody used for N days (crossed by
//! restarting the server on a later clock), and revoking from the report.

use serde_json::{Value, json};

use crate::harness::{Backend, Deployment, Server, start};
use crate::support::{Tenant, expect_400};

async fn later(dep: &Deployment, mut server: Server, offset_secs: i64) -> Server {
    let public_url = server.public_url.clone();
    server.stop().await;
    let offset = offset_secs.to_string();
    dep.start_with(&[
        ("TESSERA_PUBLIC_URL", public_url.as_str()),
        ("TESSERA_TEST_CLOCK_OFFSET_SECS", offset.as_str()),
    ])
    .await
}

fn grant_for<'a>(review: &'a Value, assignment: &str) -> &'a Value {
    review["grants"]
        .as_array()
        .expect("grants")
        .iter()
        .find(|g| g["assignment_id"] == assignment)
        .unwrap_or_else(|| panic!("grant {assignment} in {review}"))
}

async fn who_holds_a_permission_and_unused_grants(backend: Backend) {
    let (dep, server, api) = start(backend).await;
    let t = Tenant::create(&api, "rev").await;
    let ann = t.user("ann@rev.test").await;
    let bob = t.user("bob@rev.test").await;
    let carl = t.user("carl@rev.test").await;
    let approver = t.simple_role("approver", &["invoices:approve"]).await;
    let lead = t
        .role(json!({"name": "lead", "composites": [approver]}))
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let finance = t.group("finance").await;
    let payables = t.group("payables").await;
    t.nest(&payables, &finance).await;
    t.add_member(&payables, &carl).await;
    let direct = t.assign_user(&approver, &ann).await;
    let via_group = t.assign_group(&lead, &finance).await;
    t.simple_role("viewer", &["invoices:read"]).await;

    let review = t
        .get("/access-reviews/permissions/invoices:approve")
        .await
        .expect(200);
    assert_eq!(
        review["grants"].as_array().expect("grants").len(),
        2,
        "{review}"
    );
    let g = grant_for(&review, &direct);
    assert_eq!(g["principal_type"], "user");
    assert_eq!(g["holders"][0]["user_id"], ann.as_str());
    assert_eq!(g["holders"][0]["email"], "ann@rev.test");
    assert!(g["holders"][0]["last_used_at"].is_null());
    let g = grant_for(&review, &via_group);
    assert_eq!(g["principal_type"], "group");
    assert_eq!(g["role_name"], "lead");
    let holders: Vec<&str> = g["holders"]
        .as_array()
        .expect("holders")
        .iter()
        .map(|h| h["user_id"].as_str().expect("id"))
        .collect();
    assert_eq!(holders, vec![carl.as_str()], "nested group members hold it");
    assert!(!review.to_string().contains(&bob), "bob holds nothing");

    // A use (an allowed check) shows in the review.
    assert!(t.allowed(&ann, "invoices:approve").await);
    assert!(!t.allowed(&bob, "invoices:approve").await);
    let review = t
        .get("/access-reviews/permissions/invoices:approve")
        .await
        .expect(200);
    assert!(grant_for(&review, &direct)["holders"][0]["last_used_at"].is_string());

    // New assignments are never "unused".
    let unused = t.get("/access-reviews/unused?days=90").await.expect(200);
    assert_eq!(unused["items"], json!([]), "{unused}");

    // 100 days later, ann uses her grant again; carl never used his.
    let server = later(&dep, server, 100 * 86_400).await;
    let api = server.admin_api().await;
    let t = Tenant::existing(&api, "rev");
    assert!(t.allowed(&ann, "invoices:approve").await);
    let unused = t.get("/access-reviews/unused?days=90").await.expect(200);
    let items = unused["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{unused}");
    assert_eq!(items[0]["assignment_id"], via_group.as_str());
    assert!(items[0]["last_used_at"].is_null());

    // Revoking from the report.
    t.unassign(&via_group).await;
    let unused = t.get("/access-reviews/unused?days=90").await.expect(200);
    assert_eq!(unused["items"], json!([]));
    let review = t
        .get("/access-reviews/permissions/invoices:approve")
        .await
        .expect(200);
    assert_eq!(review["grants"].as_array().expect("grants").len(), 1);

    // Bad input.
    expect_400(&t.get("/access-reviews/permissions/not a permission").await);
    expect_400(&t.get("/access-reviews/unused?days=0").await);
    expect_400(&t.get("/access-reviews/unused?days=abc").await);
    expect_400(&t.get("/access-reviews/unused?nope=1").await);
    drop(server);
}

on_both_backends!(who_holds_a_permission_and_unused_grants);
