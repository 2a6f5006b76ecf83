use tessera_core::group::Group;
use tessera_core::page::PageRequest;
use tessera_core::store::{GroupStore, UserStore};
use tessera_core::{GroupId, StoreError, UserId};
use time::Duration;

use crate::common::*;

pub async fn groups_crud(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let mut admins = group(s, t.id, "Admins").await;
    let ops = group(s, t.id, "Ops").await;
    let dev = Group::create(t.id, "Developers", None, t0()).unwrap();
    s.create_group(&dev).await.unwrap();

    assert_eq!(
        s.get_group(t.id, admins.id).await.unwrap(),
        Some(admins.clone())
    );
    assert_eq!(s.get_group(t.id, GroupId::new()).await.unwrap(), None);
    let dup = Group::create(t.id, "Admins", None, t0()).unwrap();
    assert!(matches!(s.create_group(&dup).await, Err(StoreError::Conflict(w)) if w == "name"));

    let p1 = s
        .list_groups(
            t.id,
            &PageRequest {
                after: None,
                limit: Some(2),
            },
        )
        .await
        .unwrap();
    assert_eq!(p1.items, vec![admins.clone(), ops.clone()]);
    let p2 = s
        .list_groups(
            t.id,
            &PageRequest {
                after: p1.next_cursor.clone(),
                limit: Some(2),
            },
        )
        .await
        .unwrap();
    assert_eq!(p2.items, vec![dev.clone()]);
    assert_eq!(p2.next_cursor, None);

    admins.name = "Administrators".into();
    admins.description = None;
    admins.updated_at = t0() + Duration::minutes(1);
    s.update_group(&admins).await.unwrap();
    assert_eq!(
        s.get_group(t.id, admins.id).await.unwrap(),
        Some(admins.clone())
    );
    let mut clash = ops.clone();
    clash.name = "Developers".into();
    assert!(matches!(s.update_group(&clash).await, Err(StoreError::Conflict(w)) if w == "name"));
    let ghost = Group::create(t.id, "Ghost", None, t0()).unwrap();
    assert!(matches!(
        s.update_group(&ghost).await,
        Err(StoreError::NotFound)
    ));

    assert!(s.delete_group(t.id, ops.id).await.unwrap());
    assert!(!s.delete_group(t.id, ops.id).await.unwrap());
    assert_eq!(s.get_group(t.id, ops.id).await.unwrap(), None);
}

pub async fn membership(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let admins = group(s, t.id, "Admins").await;
    let ops = group(s, t.id, "Ops").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let bob = user(s, t.id, "bob@example.com").await;

    s.add_member(t.id, admins.id, alice.id).await.unwrap();
    s.add_member(t.id, admins.id, alice.id).await.unwrap(); // twice is fine
    s.add_member(t.id, admins.id, bob.id).await.unwrap();
    s.add_member(t.id, ops.id, alice.id).await.unwrap();
    let mut expected = vec![alice.id, bob.id];
    expected.sort();
    assert_eq!(s.list_members(t.id, admins.id).await.unwrap(), expected);
    assert_eq!(
        s.groups_of_user(t.id, alice.id).await.unwrap(),
        vec![admins.clone(), ops.clone()]
    );
    assert_eq!(
        s.groups_of_user(t.id, bob.id).await.unwrap(),
        vec![admins.clone()]
    );

    assert!(matches!(
        s.add_member(t.id, admins.id, UserId::new()).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.add_member(t.id, GroupId::new(), alice.id).await,
        Err(StoreError::NotFound)
    ));

    assert!(s.remove_member(t.id, admins.id, bob.id).await.unwrap());
    assert!(!s.remove_member(t.id, admins.id, bob.id).await.unwrap());
    assert_eq!(
        s.list_members(t.id, admins.id).await.unwrap(),
        vec![alice.id]
    );

    // Deleting a user or a group removes its memberships.
    s.add_member(t.id, ops.id, bob.id).await.unwrap();
    assert!(s.delete_user(t.id, alice.id).await.unwrap());
    assert!(s.list_members(t.id, admins.id).await.unwrap().is_empty());
    assert_eq!(s.list_members(t.id, ops.id).await.unwrap(), vec![bob.id]);
    assert!(s.delete_group(t.id, ops.id).await.unwrap());
    assert!(s.groups_of_user(t.id, bob.id).await.unwrap().is_empty());
    // A recreated group of the same id starts empty.
    s.create_group(&ops).await.unwrap();
    assert!(s.list_members(t.id, ops.id).await.unwrap().is_empty());
}
