use std::collections::{BTreeSet, HashMap};

use tessera_core::authz::{Clause, Condition, Principal, Role, RoleAssignment};
use tessera_core::store::{AuthzStore, GroupStore, TenantStore, UserStore};
use tessera_core::{AssignmentId, GroupId, RoleId, StoreError, TenantId, Timestamp, UserId};
use time::Duration;

use crate::common::*;

pub fn new_role(tenant: TenantId, name: &str, application: Option<&str>, perms: &[&str]) -> Role {
    Role::create(
        tenant,
        name,
        application.map(String::from),
        perms.iter().map(|p| p.to_string()).collect(),
        t0(),
    )
    .unwrap()
}

pub async fn role(
    store: &tessera_store::Store,
    tenant: TenantId,
    name: &str,
    application: Option<&str>,
    perms: &[&str],
) -> Role {
    let r = new_role(tenant, name, application, perms);
    store.create_role(&r).await.unwrap();
    r
}

pub fn new_assignment(
    tenant: TenantId,
    role: RoleId,
    principal: Principal,
    created: Timestamp,
) -> RoleAssignment {
    RoleAssignment {
        id: AssignmentId::new(),
        tenant_id: tenant,
        role_id: role,
        principal,
        valid_from: None,
        valid_until: None,
        condition: None,
        created_at: created,
    }
}

pub async fn assignment(
    store: &tessera_store::Store,
    tenant: TenantId,
    role: RoleId,
    principal: Principal,
    created: Timestamp,
) -> RoleAssignment {
    let a = new_assignment(tenant, role, principal, created);
    store.create_assignment(&a).await.unwrap();
    a
}

fn set<T: Ord + Clone>(items: &[T]) -> BTreeSet<T> {
    items.iter().cloned().collect()
}

fn is_not_found<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::NotFound))
}

fn is_conflict<T: std::fmt::Debug>(r: Result<T, StoreError>, name: &str) -> bool {
    matches!(r, Err(StoreError::Conflict(w)) if w == name)
}

pub async fn roles_crud(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    // Permissions given out of order are kept as a set.
    let mut viewer = role(s, t.id, "viewer", None, &["reports:read", "invoices:read"]).await;
    let billing_admin = role(s, t.id, "admin", Some("billing"), &["invoices:*"]).await;
    let mut admin = new_role(t.id, "admin", None, &["users:*", "groups:*"]);
    admin.description = Some("Everything".into());
    admin.composites = set(&[viewer.id, billing_admin.id]);
    s.create_role(&admin).await.unwrap();

    assert_eq!(
        s.get_role(t.id, admin.id).await.unwrap(),
        Some(admin.clone())
    );
    assert_eq!(
        s.get_role(t.id, viewer.id).await.unwrap(),
        Some(viewer.clone())
    );
    assert_eq!(
        viewer.permissions.iter().collect::<Vec<_>>(),
        vec!["invoices:read", "reports:read"]
    );
    assert_eq!(s.get_role(t.id, RoleId::new()).await.unwrap(), None);
    // Ordered by name; the same name, tenant-wide first.
    assert_eq!(
        s.list_roles(t.id).await.unwrap(),
        vec![admin.clone(), billing_admin.clone(), viewer.clone()]
    );

    // One name per tenant and application; tenant-wide roles are an application of their own.
    let dup = new_role(t.id, "admin", None, &[]);
    assert!(is_conflict(s.create_role(&dup).await, "name"));
    let dup_app = new_role(t.id, "admin", Some("billing"), &[]);
    assert!(is_conflict(s.create_role(&dup_app).await, "name"));
    let other_app = role(s, t.id, "admin", Some("crm"), &[]).await;
    let viewer_app = role(s, t.id, "viewer", Some("billing"), &[]).await;
    let mut same_id = other_app.clone();
    same_id.name = "auditor".into();
    assert!(is_conflict(s.create_role(&same_id).await, "id"));
    assert_eq!(s.list_roles(t.id).await.unwrap().len(), 5);

    // Update replaces name, description, permissions and composites; application is kept.
    viewer.name = "reader".into();
    viewer.description = Some("Reads".into());
    viewer.permissions = set(&["reports:read".to_string()]);
    viewer.composites = set(&[viewer_app.id]);
    viewer.updated_at = t0() + Duration::minutes(5);
    s.update_role(&viewer).await.unwrap();
    assert_eq!(
        s.get_role(t.id, viewer.id).await.unwrap(),
        Some(viewer.clone())
    );
    let mut moved = viewer.clone();
    moved.application = Some("crm".into());
    s.update_role(&moved).await.unwrap();
    assert_eq!(
        s.get_role(t.id, viewer.id)
            .await
            .unwrap()
            .unwrap()
            .application,
        None
    );

    let mut clash = viewer.clone();
    clash.name = "admin".into();
    assert!(is_conflict(s.update_role(&clash).await, "name"));
    assert_eq!(
        s.get_role(t.id, viewer.id).await.unwrap(),
        Some(viewer.clone())
    );
    let ghost = new_role(t.id, "ghost", None, &[]);
    assert!(is_not_found(s.update_role(&ghost).await));

    admin.composites.clear();
    admin.updated_at = t0() + Duration::minutes(6);
    s.update_role(&admin).await.unwrap();
    assert_eq!(
        s.get_role(t.id, admin.id).await.unwrap(),
        Some(admin.clone())
    );

    assert!(s.delete_role(t.id, admin.id).await.unwrap());
    assert!(!s.delete_role(t.id, admin.id).await.unwrap());
    assert_eq!(s.get_role(t.id, admin.id).await.unwrap(), None);
    // The name is free again.
    s.create_role(&dup).await.unwrap();

    // An unknown tenant.
    let stray = new_role(TenantId::new(), "stray", None, &[]);
    assert!(is_not_found(s.create_role(&stray).await));
}

pub async fn composites_follow_their_roles(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let other = tenant(s, "other").await;
    let a = role(s, t.id, "a", None, &["a:read"]).await;
    let b = role(s, t.id, "b", None, &["b:read"]).await;
    let c = role(s, t.id, "c", None, &["c:read"]).await;
    let foreign = role(s, other.id, "foreign", None, &["x:read"]).await;
    let mut top = new_role(t.id, "top", None, &[]);
    top.composites = set(&[a.id, b.id, c.id]);
    s.create_role(&top).await.unwrap();
    let mut middle = new_role(t.id, "middle", None, &[]);
    middle.composites = set(&[b.id]);
    s.create_role(&middle).await.unwrap();

    // Deleting a member removes it from every composite.
    assert!(s.delete_role(t.id, b.id).await.unwrap());
    top.composites = set(&[a.id, c.id]);
    assert_eq!(s.get_role(t.id, top.id).await.unwrap(), Some(top.clone()));
    middle.composites.clear();
    assert_eq!(
        s.get_role(t.id, middle.id).await.unwrap(),
        Some(middle.clone())
    );

    // Deleting a composite leaves its members alone.
    assert!(s.delete_role(t.id, middle.id).await.unwrap());
    assert_eq!(s.get_role(t.id, a.id).await.unwrap(), Some(a.clone()));

    // A composite naming a role of another tenant, or no role: NotFound, and nothing changes.
    let mut hijack = top.clone();
    hijack.composites = set(&[a.id, foreign.id]);
    hijack.name = "renamed".into();
    assert!(is_not_found(s.update_role(&hijack).await));
    assert_eq!(s.get_role(t.id, top.id).await.unwrap(), Some(top.clone()));
    hijack.composites = set(&[RoleId::new()]);
    assert!(is_not_found(s.update_role(&hijack).await));
    assert_eq!(s.get_role(t.id, top.id).await.unwrap(), Some(top.clone()));
    let mut sneaky = new_role(t.id, "sneaky", None, &[]);
    sneaky.composites = set(&[foreign.id]);
    assert!(is_not_found(s.create_role(&sneaky).await));
    assert_eq!(s.get_role(t.id, sneaky.id).await.unwrap(), None);
    assert_eq!(
        s.get_role(other.id, foreign.id).await.unwrap(),
        Some(foreign)
    );
}

pub async fn assignments_crud(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let bob = user(s, t.id, "bob@example.com").await;
    let staff = group(s, t.id, "Staff").await;
    let viewer = role(s, t.id, "viewer", None, &["reports:read"]).await;
    let editor = role(s, t.id, "editor", None, &["reports:write"]).await;

    let mut a1 = new_assignment(t.id, viewer.id, Principal::User(alice.id), t0());
    a1.valid_from = Some(t0() + Duration::hours(1));
    a1.valid_until = Some(t0() + Duration::days(30));
    a1.condition = Some(Condition {
        all_of: vec![
            Clause::MfaWithin { seconds: 900 },
            Clause::IpIn {
                cidrs: vec!["10.0.0.0/8".into()],
            },
            Clause::Attribute {
                name: "department".into(),
                equals: serde_json::json!("finance"),
            },
            Clause::InGroup { group: staff.id },
        ],
    });
    s.create_assignment(&a1).await.unwrap();
    let a2 = assignment(
        s,
        t.id,
        editor.id,
        Principal::Group(staff.id),
        t0() + Duration::seconds(1),
    )
    .await;
    let a3 = assignment(
        s,
        t.id,
        editor.id,
        Principal::User(alice.id),
        t0() + Duration::seconds(2),
    )
    .await;
    let a4 = assignment(
        s,
        t.id,
        viewer.id,
        Principal::User(bob.id),
        t0() + Duration::seconds(3),
    )
    .await;

    // Oldest first, filtered by principal and/or role.
    let all = vec![a1.clone(), a2.clone(), a3.clone(), a4.clone()];
    assert_eq!(s.list_assignments(t.id, None, None).await.unwrap(), all);
    assert_eq!(
        s.list_assignments(t.id, Some(Principal::User(alice.id)), None)
            .await
            .unwrap(),
        vec![a1.clone(), a3.clone()]
    );
    assert_eq!(
        s.list_assignments(t.id, Some(Principal::Group(staff.id)), None)
            .await
            .unwrap(),
        vec![a2.clone()]
    );
    assert_eq!(
        s.list_assignments(t.id, None, Some(editor.id))
            .await
            .unwrap(),
        vec![a2.clone(), a3.clone()]
    );
    assert_eq!(
        s.list_assignments(t.id, Some(Principal::User(alice.id)), Some(editor.id))
            .await
            .unwrap(),
        vec![a3.clone()]
    );
    // A user id never matches a group principal, and the other way round.
    assert!(
        s.list_assignments(t.id, Some(Principal::Group(GroupId(alice.id.0))), None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.list_assignments(t.id, Some(Principal::User(UserId(staff.id.0))), None)
            .await
            .unwrap()
            .is_empty()
    );

    // Unknown role, user or group: NotFound. The same id twice: Conflict("id").
    let ghost_role = new_assignment(t.id, RoleId::new(), Principal::User(alice.id), t0());
    assert!(is_not_found(s.create_assignment(&ghost_role).await));
    let ghost_user = new_assignment(t.id, viewer.id, Principal::User(UserId::new()), t0());
    assert!(is_not_found(s.create_assignment(&ghost_user).await));
    let ghost_group = new_assignment(t.id, viewer.id, Principal::Group(GroupId::new()), t0());
    assert!(is_not_found(s.create_assignment(&ghost_group).await));
    assert!(is_conflict(s.create_assignment(&a4).await, "id"));

    assert!(s.delete_assignment(t.id, a4.id).await.unwrap());
    assert!(!s.delete_assignment(t.id, a4.id).await.unwrap());

    // Deleting the user, the group or the role removes their assignments.
    assert!(s.delete_user(t.id, alice.id).await.unwrap());
    assert_eq!(
        s.list_assignments(t.id, None, None).await.unwrap(),
        vec![a2.clone()]
    );
    let a5 = assignment(s, t.id, viewer.id, Principal::Group(staff.id), t0()).await;
    assert!(s.delete_group(t.id, staff.id).await.unwrap());
    assert!(
        s.list_assignments(t.id, None, None)
            .await
            .unwrap()
            .is_empty()
    );
    let a6 = assignment(s, t.id, viewer.id, Principal::User(bob.id), t0()).await;
    let a7 = assignment(s, t.id, editor.id, Principal::User(bob.id), t0()).await;
    assert!(s.delete_role(t.id, viewer.id).await.unwrap());
    assert_eq!(
        s.list_assignments(t.id, None, None).await.unwrap(),
        vec![a7.clone()]
    );
    assert!(!s.delete_assignment(t.id, a5.id).await.unwrap());
    assert!(!s.delete_assignment(t.id, a6.id).await.unwrap());
}

pub async fn group_nesting(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let eng = group(s, t.id, "Engineering").await;
    let backend = group(s, t.id, "Backend").await;
    let frontend = group(s, t.id, "Frontend").await;
    let all = group(s, t.id, "Everyone").await;

    s.add_group_parent(t.id, backend.id, eng.id).await.unwrap();
    s.add_group_parent(t.id, backend.id, eng.id).await.unwrap(); // twice is fine
    s.add_group_parent(t.id, frontend.id, eng.id).await.unwrap();
    s.add_group_parent(t.id, eng.id, all.id).await.unwrap();
    s.add_group_parent(t.id, backend.id, all.id).await.unwrap();
    let parents = |g: &HashMap<GroupId, Vec<GroupId>>, id: GroupId| {
        g.get(&id)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect::<BTreeSet<_>>()
    };
    let graph = s.load_authz_graph(t.id).await.unwrap();
    assert_eq!(graph.group_parents.len(), 3);
    assert_eq!(
        parents(&graph.group_parents, backend.id),
        set(&[eng.id, all.id])
    );
    assert_eq!(parents(&graph.group_parents, frontend.id), set(&[eng.id]));
    assert_eq!(parents(&graph.group_parents, eng.id), set(&[all.id]));

    assert!(is_not_found(
        s.add_group_parent(t.id, backend.id, GroupId::new()).await
    ));
    assert!(is_not_found(
        s.add_group_parent(t.id, GroupId::new(), eng.id).await
    ));

    assert!(
        s.remove_group_parent(t.id, backend.id, all.id)
            .await
            .unwrap()
    );
    assert!(
        !s.remove_group_parent(t.id, backend.id, all.id)
            .await
            .unwrap()
    );
    // Deleting a group removes its edges on both sides.
    assert!(s.delete_group(t.id, eng.id).await.unwrap());
    let graph = s.load_authz_graph(t.id).await.unwrap();
    assert!(graph.group_parents.is_empty(), "{:?}", graph.group_parents);
}

pub async fn authz_tenant_isolation(h: &Harness) {
    let s = &h.store;
    let a = tenant(s, "tenant-a").await;
    let b = tenant(s, "tenant-b").await;
    let ua = user(s, a.id, "a@example.com").await;
    let ga = group(s, a.id, "Staff").await;
    let ra = role(s, a.id, "viewer", None, &["reports:read"]).await;
    let ub = user(s, b.id, "b@example.com").await;
    let gb = group(s, b.id, "Staff").await;
    let gb2 = group(s, b.id, "Ops").await;
    let rb = role(s, b.id, "viewer", None, &["reports:read"]).await; // same name across tenants
    let ab = assignment(s, b.id, rb.id, Principal::User(ub.id), t0()).await;
    s.add_group_parent(b.id, gb2.id, gb.id).await.unwrap();
    let version_a = s.authz_version(a.id).await.unwrap();
    let version_b = s.authz_version(b.id).await.unwrap();

    // Reads with A's id find nothing of B's.
    assert_eq!(s.get_role(a.id, rb.id).await.unwrap(), None);
    assert_eq!(s.list_roles(a.id).await.unwrap(), vec![ra.clone()]);
    assert!(
        s.list_assignments(a.id, None, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.list_assignments(a.id, Some(Principal::User(ub.id)), Some(rb.id))
            .await
            .unwrap()
            .is_empty()
    );
    let graph = s.load_authz_graph(a.id).await.unwrap();
    assert_eq!(graph.roles.keys().copied().collect::<Vec<_>>(), vec![ra.id]);
    assert!(graph.group_parents.is_empty());
    assert!(graph.assignments.is_empty());

    // Writes with A's id on B's objects change nothing.
    let mut hijack = rb.clone();
    hijack.tenant_id = a.id;
    hijack.permissions = set(&["users:*".to_string()]);
    assert!(is_not_found(s.update_role(&hijack).await));
    assert!(!s.delete_role(a.id, rb.id).await.unwrap());
    assert!(!s.delete_assignment(a.id, ab.id).await.unwrap());
    assert!(!s.remove_group_parent(a.id, gb2.id, gb.id).await.unwrap());

    // Links across tenants are refused.
    let mut composite = new_role(a.id, "composite", None, &[]);
    composite.composites = set(&[rb.id]);
    assert!(is_not_found(s.create_role(&composite).await));
    for principal in [Principal::User(ub.id), Principal::Group(gb.id)] {
        let cross = new_assignment(a.id, ra.id, principal, t0());
        assert!(is_not_found(s.create_assignment(&cross).await));
    }
    let foreign_role = new_assignment(a.id, rb.id, Principal::User(ua.id), t0());
    assert!(is_not_found(s.create_assignment(&foreign_role).await));
    // An assignment filed under B naming A's role is refused as well.
    let foreign_tenant = new_assignment(b.id, ra.id, Principal::User(ub.id), t0());
    assert!(is_not_found(s.create_assignment(&foreign_tenant).await));
    assert!(is_not_found(s.add_group_parent(a.id, ga.id, gb.id).await));
    assert!(is_not_found(s.add_group_parent(a.id, gb.id, ga.id).await));
    assert!(is_not_found(s.add_group_parent(a.id, gb2.id, gb.id).await));

    // Nothing was changed, so neither version moved.
    assert_eq!(s.authz_version(a.id).await.unwrap(), version_a);
    assert_eq!(s.authz_version(b.id).await.unwrap(), version_b);
    assert_eq!(s.get_role(b.id, rb.id).await.unwrap(), Some(rb.clone()));
    assert_eq!(
        s.list_assignments(b.id, None, None).await.unwrap(),
        vec![ab.clone()]
    );
    assert_eq!(
        s.load_authz_graph(b.id).await.unwrap().group_parents,
        HashMap::from([(gb2.id, vec![gb.id])])
    );

    // Deleting a tenant takes its authorization data along, and leaves the other's alone.
    assert!(s.delete_tenant(b.id).await.unwrap());
    assert_eq!(s.authz_version(b.id).await.unwrap(), 0);
    assert!(s.load_authz_graph(b.id).await.unwrap().roles.is_empty());
    assert_eq!(s.list_roles(a.id).await.unwrap(), vec![ra]);
}

pub async fn every_change_bumps_the_version(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let other = tenant(s, "other").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let bob = user(s, t.id, "bob@example.com").await;
    let staff = group(s, t.id, "Staff").await;
    let ops = group(s, t.id, "Ops").await;
    let version = || async { s.authz_version(t.id).await.unwrap() };
    // No row yet (users and groups alone change nothing): 0.
    assert_eq!(version().await, 0);
    assert_eq!(s.authz_version(TenantId::new()).await.unwrap(), 0);

    // Each change raises it by one.
    let mut expected = 0;
    macro_rules! bumps {
        ($change:expr) => {{
            let out = $change;
            expected += 1;
            assert_eq!(version().await, expected, "{}", stringify!($change));
            out
        }};
    }
    macro_rules! keeps {
        ($change:expr) => {{
            let out = $change;
            assert_eq!(version().await, expected, "{}", stringify!($change));
            out
        }};
    }
    let mut viewer = bumps!(role(s, t.id, "viewer", None, &["reports:read"]).await);
    let editor = bumps!(role(s, t.id, "editor", None, &["reports:write"]).await);
    viewer.composites = set(&[editor.id]);
    bumps!(s.update_role(&viewer).await.unwrap());
    let a = bumps!(assignment(s, t.id, viewer.id, Principal::User(alice.id), t0()).await);
    bumps!(assert!(s.delete_assignment(t.id, a.id).await.unwrap()));
    bumps!(s.add_group_parent(t.id, ops.id, staff.id).await.unwrap());
    bumps!(assert!(
        s.remove_group_parent(t.id, ops.id, staff.id).await.unwrap()
    ));
    bumps!(s.add_member(t.id, staff.id, alice.id).await.unwrap());
    bumps!(assert!(
        s.remove_member(t.id, staff.id, alice.id).await.unwrap()
    ));
    bumps!(assert!(s.delete_role(t.id, editor.id).await.unwrap()));
    bumps!(assert!(s.delete_user(t.id, bob.id).await.unwrap()));
    bumps!(assert!(s.delete_group(t.id, ops.id).await.unwrap()));

    // Writes that change nothing, or fail, leave it alone.
    keeps!(assert!(!s.delete_assignment(t.id, a.id).await.unwrap()));
    bumps!(s.add_member(t.id, staff.id, alice.id).await.unwrap());
    keeps!(s.add_member(t.id, staff.id, alice.id).await.unwrap());
    let sub = group(s, t.id, "Sub").await;
    bumps!(s.add_group_parent(t.id, sub.id, staff.id).await.unwrap());
    keeps!(s.add_group_parent(t.id, sub.id, staff.id).await.unwrap());
    keeps!(assert!(
        !s.remove_member(t.id, ops.id, alice.id).await.unwrap()
    ));
    keeps!(assert!(
        !s.remove_group_parent(t.id, ops.id, staff.id).await.unwrap()
    ));
    keeps!(assert!(!s.delete_role(t.id, editor.id).await.unwrap()));
    keeps!(assert!(!s.delete_user(t.id, bob.id).await.unwrap()));
    keeps!(assert!(!s.delete_group(t.id, ops.id).await.unwrap()));
    keeps!(assert!(is_conflict(
        s.create_role(&new_role(t.id, "viewer", None, &[])).await,
        "name"
    )));
    keeps!(assert!(is_not_found(
        s.update_role(&new_role(t.id, "ghost", None, &[])).await
    )));
    keeps!(assert!(is_not_found(
        s.create_assignment(&new_assignment(
            t.id,
            viewer.id,
            Principal::User(UserId::new()),
            t0()
        ))
        .await
    )));
    keeps!(assert!(is_not_found(
        s.add_member(t.id, staff.id, UserId::new()).await
    )));

    // Versions are per tenant.
    assert_eq!(s.authz_version(other.id).await.unwrap(), 0);
    role(s, other.id, "viewer", None, &[]).await;
    assert_eq!(s.authz_version(other.id).await.unwrap(), 1);
    assert_eq!(version().await, expected);
}

pub async fn graph_matches_what_was_written(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let staff = group(s, t.id, "Staff").await;
    let eng = group(s, t.id, "Engineering").await;
    let all = group(s, t.id, "Everyone").await;
    s.add_group_parent(t.id, eng.id, staff.id).await.unwrap();
    s.add_group_parent(t.id, eng.id, all.id).await.unwrap();
    s.add_group_parent(t.id, staff.id, all.id).await.unwrap();

    let reader = role(s, t.id, "reader", None, &["reports:read"]).await;
    let billing = role(s, t.id, "billing", Some("billing-app"), &["invoices:*"]).await;
    let mut admin = new_role(t.id, "admin", None, &["users:*"]);
    admin.composites = set(&[reader.id, billing.id]);
    s.create_role(&admin).await.unwrap();

    let mut conditional = new_assignment(t.id, admin.id, Principal::User(alice.id), t0());
    conditional.valid_until = Some(t0() + Duration::days(1));
    conditional.condition = Some(Condition {
        all_of: vec![
            Clause::HoursUtc { from: 8, to: 18 },
            Clause::InGroup { group: staff.id },
        ],
    });
    s.create_assignment(&conditional).await.unwrap();
    let to_group = assignment(
        s,
        t.id,
        reader.id,
        Principal::Group(eng.id),
        t0() + Duration::seconds(1),
    )
    .await;

    let graph = s.load_authz_graph(t.id).await.unwrap();
    assert_eq!(
        graph.roles,
        HashMap::from([
            (admin.id, admin.clone()),
            (reader.id, reader.clone()),
            (billing.id, billing.clone()),
        ])
    );
    let mut parents = graph.group_parents.clone();
    for p in parents.values_mut() {
        p.sort();
    }
    let mut eng_parents = vec![staff.id, all.id];
    eng_parents.sort();
    assert_eq!(
        parents,
        HashMap::from([(eng.id, eng_parents), (staff.id, vec![all.id])])
    );
    assert_eq!(
        graph.assignments,
        vec![conditional.clone(), to_group.clone()]
    );

    // The loaded graph decides as the written data says.
    let ctx = tessera_core::authz::AccessContext::default();
    let noon = time::macros::datetime!(2026-01-01 12:00 UTC);
    let perms = graph.effective_permissions(alice.id, &[eng.id], &ctx, noon, None);
    assert_eq!(
        perms.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["invoices:*", "reports:read", "users:*"]
    );
    let evening = time::macros::datetime!(2026-01-01 20:00 UTC);
    let perms = graph.effective_permissions(alice.id, &[eng.id], &ctx, evening, None);
    assert_eq!(
        perms.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["reports:read"]
    );

    // An empty tenant loads an empty graph.
    let other = tenant(s, "other").await;
    let empty = s.load_authz_graph(other.id).await.unwrap();
    assert!(empty.roles.is_empty() && empty.group_parents.is_empty());
    assert!(empty.assignments.is_empty());
}
