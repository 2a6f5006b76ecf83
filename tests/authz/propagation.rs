//! Propagation across nodes (PostgreSQL): two server processes on one database, each with its own
//! cache of the access graph. A change made through one node decides the very next check on the
//! other: the cache is invalidated by the tenant's authorization version, not by time, so these
//! assertions never wait.

use serde_json::json;

use crate::harness::{Api, Backend, Deployment};
use crate::support::{Tenant, assert_no_server_errors};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_on_one_node_decide_the_next_check_on_another() {
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    let dep = Deployment::new(backend);
    let one = dep.start().await;
    let two = dep.start().await;
    let key = one.api_key("admin", "write").await;
    let (api1, api2) = (Api::new(&one, &key), Api::new(&two, &key));
    let n1 = Tenant::create(&api1, "acme").await;
    let n2 = Tenant::existing(&api2, "acme");
    let ann = n1.user("ann@acme.test").await;
    let reader = n1.simple_role("reader", &["invoices:read"]).await;

    // Node 2 has the graph cached (it answered a check) before each change on node 1.
    assert!(!n2.allowed(&ann, "invoices:read").await);
    for round in 0..10 {
        let a = n1.assign_user(&reader, &ann).await;
        assert!(
            n2.allowed(&ann, "invoices:read").await,
            "round {round}: the grant on node 1 holds on node 2 at once"
        );
        n1.unassign(&a).await;
        assert!(
            !n2.allowed(&ann, "invoices:read").await,
            "round {round}: the revocation on node 1 holds on node 2 at once"
        );
    }

    // Other kinds of change, each checked on the other node right after.
    let a = n1.assign_user(&reader, &ann).await;
    assert!(n2.allowed(&ann, "invoices:read").await);
    // The role's permissions change.
    n1.patch(
        &format!("/roles/{reader}"),
        &json!({"permissions": ["invoices:read", "invoices:export"]}),
    )
    .await
    .expect(200);
    assert!(n2.allowed(&ann, "invoices:export").await);
    n1.patch(
        &format!("/roles/{reader}"),
        &json!({"permissions": ["invoices:read"]}),
    )
    .await
    .expect(200);
    assert!(!n2.allowed(&ann, "invoices:export").await);
    // A composite is added and removed.
    let exporter = n1.simple_role("exporter", &["reports:export"]).await;
    n1.patch(
        &format!("/roles/{reader}"),
        &json!({"composites": [exporter]}),
    )
    .await
    .expect(200);
    assert!(n2.allowed(&ann, "reports:export").await);
    n1.patch(&format!("/roles/{reader}"), &json!({"composites": []}))
        .await
        .expect(200);
    assert!(!n2.allowed(&ann, "reports:export").await);
    n1.unassign(&a).await;

    // Groups: membership and nesting, changed on node 1 and on node 2 alternately.
    let team = n1.group("Team").await;
    let dept = n1.group("Department").await;
    let to_dept = n1.assign_group(&reader, &dept).await;
    n2.add_member(&team, &ann).await;
    assert!(
        !n1.allowed(&ann, "invoices:read").await,
        "team is not nested yet"
    );
    n1.nest(&team, &dept).await;
    assert!(n2.allowed(&ann, "invoices:read").await, "nested on node 1");
    let r = n2.delete(&format!("/groups/{team}/parents/{dept}")).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(
        !n1.allowed(&ann, "invoices:read").await,
        "unnested on node 2"
    );
    n2.nest(&team, &dept).await;
    assert!(n1.allowed(&ann, "invoices:read").await, "nested on node 2");
    n1.remove_member(&team, &ann).await;
    assert!(!n2.allowed(&ann, "invoices:read").await, "membership gone");
    n1.add_member(&team, &ann).await;
    assert!(n2.allowed(&ann, "invoices:read").await, "membership back");
    // The effective permissions on node 2 agree.
    assert_eq!(n2.permission_names(&ann).await, ["invoices:read"]);
    n1.unassign(&to_dept).await;
    assert_eq!(n2.permission_names(&ann).await, Vec::<String>::new());

    // Deleting the role on node 2 ends a grant on node 1.
    n2.assign_user(&reader, &ann).await;
    assert!(n1.allowed(&ann, "invoices:read").await);
    let r = n2.delete(&format!("/roles/{reader}")).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(!n1.allowed(&ann, "invoices:read").await);
    // Disabling the user on node 1 denies on node 2 at once.
    let admin = n1.simple_role("admin", &["everything:*"]).await;
    n1.assign_user(&admin, &ann).await;
    assert!(n2.allowed(&ann, "everything:read").await);
    api1.post_empty(&n1.path(&format!("/users/{ann}/disable")))
        .await
        .expect(200);
    assert!(!n2.allowed(&ann, "everything:read").await);

    assert_no_server_errors(&one);
    assert_no_server_errors(&two);
}
