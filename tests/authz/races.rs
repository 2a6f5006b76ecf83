//! Concurrent changes must not slip past the cycle checks: two requests that each close one half
//! of a cycle (A under B and B under A, at the same time) must not both succeed. A loser of the
//! race is refused with 400 (cycle seen before writing) or 409 (cycle seen after writing, undone).

use serde_json::json;

use crate::harness::{Backend, start};
use crate::support::{Tenant, assert_no_server_errors};

/// Races `rounds` pairs of opposite nestings and composites; returns how many pairs both
/// succeeded (each such pair is a cycle in the stored data), and the first pair's group and role.
async fn opposite_pairs(t: &Tenant, rounds: usize) -> (usize, usize, String, String) {
    let (mut groups, mut roles) = (0, 0);
    let mut first = None;
    for i in 0..rounds {
        let a = t.group(&format!("a{i}")).await;
        let b = t.group(&format!("b{i}")).await;
        let (p1, p2) = (
            format!("/groups/{a}/parents/{b}"),
            format!("/groups/{b}/parents/{a}"),
        );
        let (r1, r2) = tokio::join!(t.put(&p1), t.put(&p2));
        for r in [&r1, &r2] {
            assert!(
                matches!(r.status, 204 | 400 | 409),
                "{}: {}",
                r.what,
                r.text()
            );
        }
        if r1.status == 204 && r2.status == 204 {
            groups += 1;
        }
        let ra = t.simple_role(&format!("ra{i}"), &["x:y"]).await;
        let rb = t.simple_role(&format!("rb{i}"), &["x:y"]).await;
        let (p1, p2) = (format!("/roles/{ra}"), format!("/roles/{rb}"));
        let (b1, b2) = (json!({"composites": [rb]}), json!({"composites": [ra]}));
        let (r1, r2) = tokio::join!(t.patch(&p1, &b1), t.patch(&p2, &b2));
        for r in [&r1, &r2] {
            assert!(
                matches!(r.status, 200 | 400 | 409),
                "{}: {}",
                r.what,
                r.text()
            );
        }
        if r1.status == 200 && r2.status == 200 {
            roles += 1;
        }
        first.get_or_insert((a, ra));
    }
    let (group, role) = first.expect("at least one round");
    (groups, roles, group, role)
}

async fn concurrent_opposite_changes(backend: Backend) {
    let (_dep, server, api) = start(backend).await;
    let t = Tenant::create(&api, "acme").await;
    let (groups, roles, group, role) = opposite_pairs(&t, 20).await;
    // Whatever got stored, checks and explanations still answer (the graph walks are guarded).
    let ann = t.user("ann@acme.test").await;
    t.add_member(&group, &ann).await;
    t.assign_group(&role, &group).await;
    assert!(t.allowed(&ann, "x:y").await);
    assert_eq!(t.permission_names(&ann).await, ["x:y"]);
    assert_no_server_errors(&server);
    assert_eq!(
        (groups, roles),
        (0, 0),
        "pairs of opposite nestings / composites that both succeeded (each a stored cycle) out of 20"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_opposite_changes_cannot_close_a_cycle_sqlite() {
    concurrent_opposite_changes(Backend::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_opposite_changes_cannot_close_a_cycle_postgres() {
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    concurrent_opposite_changes(backend).await;
}
