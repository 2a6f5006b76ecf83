use std::collections::BTreeSet;

use tessera_core::events::Event;
use tessera_core::page::PageRequest;
use tessera_core::store::{AuditStore, WebhookStore};
use tessera_core::webhook::{DeliveryStatus, SinkKind, WebhookDelivery, WebhookSubscription};
use tessera_core::{Secret, StoreError, TenantId, Timestamp};
use time::Duration;
use uuid::Uuid;

use crate::audit::group_created;
use crate::common::*;

pub fn new_webhook(tenant: TenantId, event_types: &[&str]) -> WebhookSubscription {
    WebhookSubscription {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        kind: SinkKind::Webhook,
        url: "https://crm.example.com/hooks/tessera".into(),
        event_types: event_types.iter().map(|t| t.to_string()).collect(),
        secret: Secret::new(format!("whsec-{}", Uuid::new_v4().simple())),
        enabled: true,
        created_at: t0(),
    }
}

/// A pending delivery of `event` to `sub`, due at `due`.
pub fn new_delivery(sub: &WebhookSubscription, event: &Event, due: Timestamp) -> WebhookDelivery {
    WebhookDelivery {
        id: Uuid::now_v7(),
        tenant_id: sub.tenant_id,
        subscription_id: sub.id,
        event_id: event.id,
        event_type: event.kind.type_name().to_string(),
        payload: serde_json::to_string(&event.body()).unwrap(),
        status: DeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: due,
        lease_until: None,
        last_error: None,
        last_status_code: None,
        created_at: event.occurred_at,
        delivered_at: None,
    }
}

pub async fn webhooks_crud(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let mut first = new_webhook(t.id, &["user.*", "signin.failed"]);
    first.created_at = t0() - Duration::days(1);
    let mut second = new_webhook(t.id, &[]);
    second.kind = SinkKind::SyslogTcp;
    second.url = "siem.example.com:6514".into();
    second.enabled = false;
    s.create_webhook(&second).await.unwrap();
    s.create_webhook(&first).await.unwrap();

    assert_eq!(
        s.get_webhook(t.id, first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(s.get_webhook(t.id, Uuid::now_v7()).await.unwrap(), None);
    assert_eq!(
        s.list_webhooks(t.id).await.unwrap(),
        vec![first.clone(), second.clone()],
        "oldest first"
    );
    assert!(matches!(s.create_webhook(&first).await, Err(StoreError::Conflict(w)) if w == "id"));
    assert!(matches!(
        s.create_webhook(&new_webhook(TenantId::new(), &[])).await,
        Err(StoreError::NotFound)
    ));

    // Deleting a subscription drops its outbox.
    let e = group_created(t.id, 1, "staff");
    s.append_event(
        &e,
        &[
            new_delivery(&first, &e, t0()),
            new_delivery(&second, &e, t0()),
        ],
    )
    .await
    .unwrap();
    assert!(s.delete_webhook(t.id, first.id).await.unwrap());
    assert!(!s.delete_webhook(t.id, first.id).await.unwrap());
    assert!(
        s.list_deliveries(t.id, first.id, &PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        s.list_deliveries(t.id, second.id, &PageRequest::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let claimed = s
        .claim_deliveries(t0(), t0() + Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].subscription_id, second.id);
    assert_eq!(s.list_webhooks(t.id).await.unwrap(), vec![second]);
}

pub async fn delivery_lifecycle(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let hook = new_webhook(t.id, &[]);
    s.create_webhook(&hook).await.unwrap();
    let e1 = group_created(t.id, 1, "one");
    let e2 = group_created(t.id, 2, "two");
    let e3 = group_created(t.id, 3, "three");
    let now = t0() + Duration::minutes(5);
    let d1 = new_delivery(&hook, &e1, t0() + Duration::seconds(2));
    let d2 = new_delivery(&hook, &e2, t0() + Duration::seconds(1));
    let later = new_delivery(&hook, &e3, now + Duration::hours(1));
    s.append_event(&e1, std::slice::from_ref(&d1))
        .await
        .unwrap();
    s.append_event(&e2, std::slice::from_ref(&d2))
        .await
        .unwrap();
    s.append_event(&e3, std::slice::from_ref(&later))
        .await
        .unwrap();

    // Due ones, oldest first, leased.
    let lease = now + Duration::seconds(30);
    let claimed = s.claim_deliveries(now, lease, 10).await.unwrap();
    assert_eq!(
        claimed.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![d2.id, d1.id]
    );
    assert_eq!(
        claimed[1],
        WebhookDelivery {
            lease_until: Some(lease),
            ..d1.clone()
        }
    );
    // Leased: not claimed again until the lease ends, then claimable again.
    assert!(
        s.claim_deliveries(now + Duration::seconds(29), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let lease2 = now + Duration::minutes(2);
    let reclaimed = s
        .claim_deliveries(now + Duration::seconds(30), lease2, 1)
        .await
        .unwrap();
    assert_eq!(reclaimed.len(), 1, "the limit is honoured");
    assert_eq!(reclaimed[0].id, d2.id);
    assert_eq!(reclaimed[0].lease_until, Some(lease2));

    // Delivered.
    let done_at = now + Duration::seconds(40);
    s.complete_delivery(d2.id, done_at, Some(204))
        .await
        .unwrap();
    // Failed, to retry later.
    let retry = now + Duration::minutes(10);
    s.fail_delivery(d1.id, "connection refused", None, Some(retry))
        .await
        .unwrap();
    let listed = s
        .list_deliveries(t.id, hook.id, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        listed.items.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![later.id, d2.id, d1.id],
        "newest first"
    );
    let delivered = &listed.items[1];
    assert_eq!(delivered.status, DeliveryStatus::Delivered);
    assert_eq!(delivered.attempts, 1);
    assert_eq!(delivered.lease_until, None);
    assert_eq!(delivered.delivered_at, Some(done_at));
    assert_eq!(delivered.last_status_code, Some(204));
    let failed = &listed.items[2];
    assert_eq!(failed.status, DeliveryStatus::Pending);
    assert_eq!(failed.attempts, 1);
    assert_eq!(failed.lease_until, None);
    assert_eq!(failed.next_attempt_at, retry);
    assert_eq!(failed.last_error.as_deref(), Some("connection refused"));

    // Not due before `retry`, due then; a delivered one never again.
    assert!(
        s.claim_deliveries(retry - Duration::seconds(1), retry, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let due = s
        .claim_deliveries(retry, retry + Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(due.iter().map(|d| d.id).collect::<Vec<_>>(), vec![d1.id]);

    // Given up: dead, and never claimed.
    s.fail_delivery(d1.id, "HTTP 500", Some(500), None)
        .await
        .unwrap();
    let dead = s
        .list_deliveries(t.id, hook.id, &PageRequest::default())
        .await
        .unwrap()
        .items
        .remove(2);
    assert_eq!(dead.status, DeliveryStatus::Dead);
    assert_eq!(dead.attempts, 2);
    assert_eq!(dead.last_status_code, Some(500));
    let far = now + Duration::days(1);
    let claimed = s
        .claim_deliveries(far, far + Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![later.id]
    );
    s.complete_delivery(later.id, far, Some(200)).await.unwrap();

    // A late failure report does not undo a delivery.
    s.fail_delivery(d2.id, "timeout", None, Some(far))
        .await
        .unwrap();
    let still = s
        .list_deliveries(t.id, hook.id, &PageRequest::default())
        .await
        .unwrap()
        .items
        .remove(1);
    assert_eq!(still.status, DeliveryStatus::Delivered);
    assert_eq!(still.attempts, 1);

    // Redelivered on demand: pending now, attempts reset.
    let again = far + Duration::minutes(1);
    assert!(
        !s.redeliver(t.id, Uuid::now_v7(), d1.id, again)
            .await
            .unwrap(),
        "another subscription's delivery"
    );
    assert!(
        s.redeliver(t.id, d1.subscription_id, d1.id, again)
            .await
            .unwrap()
    );
    assert!(
        s.redeliver(t.id, d2.subscription_id, d2.id, again)
            .await
            .unwrap()
    );
    assert!(
        !s.redeliver(t.id, d1.subscription_id, Uuid::now_v7(), again)
            .await
            .unwrap()
    );
    let claimed = s
        .claim_deliveries(again, again + Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    for d in &claimed {
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert_eq!(d.attempts, 0);
        assert_eq!(d.next_attempt_at, again);
        assert_eq!(d.delivered_at, None);
    }

    // Unknown ids.
    let unknown = Uuid::now_v7();
    assert!(matches!(
        s.complete_delivery(unknown, far, None).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.fail_delivery(unknown, "x", None, None).await,
        Err(StoreError::NotFound)
    ));
    assert!(s.claim_deliveries(far, far, 0).await.unwrap().is_empty());
}

pub async fn deliveries_pagination(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let hook = new_webhook(t.id, &[]);
    let other = new_webhook(t.id, &[]);
    s.create_webhook(&hook).await.unwrap();
    s.create_webhook(&other).await.unwrap();
    let mut all = Vec::new();
    for i in 0..5 {
        let e = group_created(t.id, i, &format!("g{i}"));
        let d = new_delivery(&hook, &e, t0());
        s.append_event(&e, &[d.clone(), new_delivery(&other, &e, t0())])
            .await
            .unwrap();
        all.push(d);
    }
    all.reverse();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let p = s
            .list_deliveries(
                t.id,
                hook.id,
                &PageRequest {
                    after,
                    limit: Some(2),
                },
            )
            .await
            .unwrap();
        seen.extend(p.items);
        match p.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, all);
    // A cursor of another subscription names nothing here.
    let foreign = s
        .list_deliveries(t.id, other.id, &PageRequest::default())
        .await
        .unwrap()
        .items;
    assert_eq!(foreign.len(), 5);
    assert!(
        s.list_deliveries(
            t.id,
            hook.id,
            &PageRequest {
                after: Some(foreign[0].id.to_string()),
                limit: None
            }
        )
        .await
        .unwrap()
        .items
        .is_empty()
    );
}

/// Claimers racing for the outbox never get the same delivery.
pub async fn concurrent_claims_never_share_a_row(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let hook = new_webhook(t.id, &[]);
    s.create_webhook(&hook).await.unwrap();
    let mut expected = BTreeSet::new();
    for i in 0..8 {
        let e = group_created(t.id, i, &format!("g{i}"));
        let deliveries: Vec<WebhookDelivery> = (0..10)
            .map(|_| new_delivery(&hook, &e, t0() + Duration::milliseconds(i)))
            .collect();
        expected.extend(deliveries.iter().map(|d| d.id));
        s.append_event(&e, &deliveries).await.unwrap();
    }
    let now = t0() + Duration::minutes(1);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let store = s.clone();
        tasks.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .claim_deliveries(now, now + Duration::minutes(5), 3)
                    .await
                    .unwrap();
                if batch.is_empty() {
                    break mine;
                }
                mine.extend(batch.into_iter().map(|d| d.id));
                tokio::task::yield_now().await;
            }
        });
    }
    let mut claimed = BTreeSet::new();
    while let Some(r) = tasks.join_next().await {
        for id in r.unwrap() {
            assert!(claimed.insert(id), "delivery {id} was claimed twice");
        }
    }
    assert_eq!(claimed, expected, "every due delivery was claimed once");
}
