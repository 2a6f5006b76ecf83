//! The account portal's storage: scheduled deletions (reschedule, cancel, leases that one node
//! holds at a time, cascade with the account and isolation between tenants), and the audit query
//! by subject that the data export uses.

use serde_json::json;
use tessera_core::account::{AccountDeletionStore, ScheduledDeletion};
use tessera_core::events::{Actor, AuditFilter, Event, EventKind, Target};
use tessera_core::page::PageRequest;
use tessera_core::store::{AuditStore, UserStore};
use tessera_core::{StoreError, UserId};
use time::Duration;

use crate::common::*;

fn deletion(user: &tessera_core::user::User, due_in_days: i64) -> ScheduledDeletion {
    ScheduledDeletion {
        tenant_id: user.tenant_id,
        user_id: user.id,
        requested_at: t0(),
        due_at: t0() + Duration::days(due_in_days),
    }
}

pub async fn scheduled_deletions_lease_and_cascade(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let other = tenant(s, "other").await;
    let ann = user(s, t.id, "ann@acme.test").await;
    let bob = user(s, t.id, "bob@acme.test").await;
    let cid = user(s, other.id, "cid@other.test").await;

    assert_eq!(s.get_scheduled_deletion(t.id, ann.id).await.unwrap(), None);
    s.schedule_deletion(&deletion(&ann, 7)).await.unwrap();
    s.schedule_deletion(&deletion(&bob, 3)).await.unwrap();
    s.schedule_deletion(&deletion(&cid, 5)).await.unwrap();
    // Scheduling again replaces the date.
    s.schedule_deletion(&deletion(&ann, 2)).await.unwrap();
    assert_eq!(
        s.get_scheduled_deletion(t.id, ann.id).await.unwrap(),
        Some(deletion(&ann, 2))
    );
    // Another tenant neither sees nor cancels it.
    assert_eq!(
        s.get_scheduled_deletion(other.id, ann.id).await.unwrap(),
        None
    );
    assert!(!s.cancel_scheduled_deletion(other.id, ann.id).await.unwrap());
    // A user that does not exist (or belongs to another tenant) cannot be scheduled.
    let ghost = ScheduledDeletion {
        user_id: UserId::new(),
        ..deletion(&ann, 1)
    };
    assert!(matches!(
        s.schedule_deletion(&ghost).await,
        Err(StoreError::NotFound)
    ));
    let foreign = ScheduledDeletion {
        tenant_id: t.id,
        ..deletion(&cid, 1)
    };
    assert!(matches!(
        s.schedule_deletion(&foreign).await,
        Err(StoreError::NotFound)
    ));

    // Nothing is due yet.
    let lease = |now| now + Duration::minutes(10);
    let now = t0() + Duration::days(1);
    assert!(
        s.claim_due_deletions(now, lease(now), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // After four days Ann (2) and Bob (3) are due, oldest first, across tenants; Cid (5) is not.
    let now = t0() + Duration::days(4);
    let due = s.claim_due_deletions(now, lease(now), 10).await.unwrap();
    assert_eq!(due, vec![deletion(&ann, 2), deletion(&bob, 3)]);
    // Leased: another node takes nothing until the lease is over.
    assert!(
        s.claim_due_deletions(now, lease(now), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let later = lease(now) + Duration::seconds(1);
    let limited = s.claim_due_deletions(later, lease(later), 1).await.unwrap();
    assert_eq!(limited, vec![deletion(&ann, 2)], "the limit holds");
    assert!(
        s.claim_due_deletions(later, lease(later), 0)
            .await
            .unwrap()
            .is_empty()
    );

    // Cancelling removes the row; deleting the account removes it too.
    assert!(s.cancel_scheduled_deletion(t.id, bob.id).await.unwrap());
    assert!(!s.cancel_scheduled_deletion(t.id, bob.id).await.unwrap());
    assert!(s.delete_user(t.id, ann.id).await.unwrap());
    assert_eq!(s.get_scheduled_deletion(t.id, ann.id).await.unwrap(), None);
    let much_later = t0() + Duration::days(30);
    let due = s
        .claim_due_deletions(much_later, lease(much_later), 10)
        .await
        .unwrap();
    assert_eq!(due, vec![deletion(&cid, 5)]);
}

pub async fn audit_lists_a_subjects_events(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let ann = user(s, t.id, "ann@acme.test").await;
    let bob = user(s, t.id, "bob@acme.test").await;
    let about = |who: UserId, secs: i64| {
        Event::new(
            t.id,
            t0() + Duration::seconds(secs),
            EventKind::DataExported,
            Actor::user(who),
        )
        .target(Target::new("user", who))
        .subject(who)
        .detail("note", json!(format!("about {who}")))
    };
    s.append_event(&about(ann.id, 1), &[]).await.unwrap();
    s.append_event(&about(bob.id, 2), &[]).await.unwrap();
    s.append_event(&about(ann.id, 3), &[]).await.unwrap();
    let filter = AuditFilter {
        subject: Some(ann.id.to_string()),
        ..Default::default()
    };
    let page = s
        .list_audit(t.id, &filter, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|(e, _)| e.seq).collect::<Vec<_>>(),
        vec![3, 1]
    );
    assert!(page.items.iter().all(|(_, p)| {
        p.as_ref().unwrap().details["note"] == json!(format!("about {}", ann.id))
    }));
    let nobody = AuditFilter {
        subject: Some(UserId::new().to_string()),
        ..Default::default()
    };
    assert!(
        s.list_audit(t.id, &nobody, &PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}
