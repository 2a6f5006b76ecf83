//! Data-subject rights storage: job leases (one holder at a time, even when many ask at once;
//! an expired lease passes to another holder; only the holder releases it), data-subject
//! requests (filters, overdue, cursor paging, a transition only from the expected status), the
//! restriction flag (leaves the consenting-users query, goes with the account) and the
//! retention candidates (unverified, inactive and warned accounts, expired consents).

use std::collections::BTreeMap;

use tessera_core::page::PageRequest;
use tessera_core::privacy::{
    ConsentChannel, ConsentRecord, ConsentState, LegalBasis, PrivacyStore, Purpose,
};
use tessera_core::privacy_requests::{
    JobLeaseStore, PrivacyRequest, PrivacyRequestStore, RequestFilter, RequestKind, RequestStatus,
    RetentionStore,
};
use tessera_core::store::UserStore;
use tessera_core::{StoreError, TenantId, UserId};
use time::Duration;
use uuid::Uuid;

use crate::common::*;

pub async fn one_node_holds_a_job_lease_until_it_expires(h: &Harness) {
    let s = &h.store;
    let now = t0();
    let until = now + Duration::minutes(10);
    assert!(
        s.try_acquire_lease("retention", "node-a", now, until)
            .await
            .unwrap()
    );
    // Another holder is refused while the lease runs; the holder renews it.
    assert!(
        !s.try_acquire_lease("retention", "node-b", now + Duration::minutes(5), until)
            .await
            .unwrap()
    );
    assert!(
        s.try_acquire_lease(
            "retention",
            "node-a",
            now + Duration::minutes(5),
            now + Duration::minutes(20)
        )
        .await
        .unwrap()
    );
    assert!(
        !s.try_acquire_lease(
            "retention",
            "node-b",
            now + Duration::minutes(15),
            now + Duration::minutes(30)
        )
        .await
        .unwrap()
    );
    // Other jobs have leases of their own.
    assert!(
        s.try_acquire_lease("other-job", "node-b", now, until)
            .await
            .unwrap()
    );
    // Expired: another node takes it over, and the old holder no longer has it.
    let later = now + Duration::minutes(21);
    assert!(
        s.try_acquire_lease("retention", "node-b", later, later + Duration::minutes(10))
            .await
            .unwrap()
    );
    assert!(
        !s.try_acquire_lease("retention", "node-a", later, later + Duration::minutes(10))
            .await
            .unwrap()
    );
    // Only the holder releases it; then anyone may take it.
    s.release_lease("retention", "node-a").await.unwrap();
    assert!(
        !s.try_acquire_lease("retention", "node-c", later, later + Duration::minutes(10))
            .await
            .unwrap()
    );
    s.release_lease("retention", "node-b").await.unwrap();
    assert!(
        s.try_acquire_lease("retention", "node-c", later, later + Duration::minutes(10))
            .await
            .unwrap()
    );

    // Many nodes asking at once: exactly one wins.
    let at = later + Duration::hours(1);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let store = s.clone();
        tasks.spawn(async move {
            let me = format!("racer-{i}");
            store
                .try_acquire_lease("race", &me, at, at + Duration::minutes(10))
                .await
                .unwrap()
        });
    }
    let mut winners = 0;
    while let Some(r) = tasks.join_next().await {
        if r.unwrap() {
            winners += 1;
        }
    }
    assert_eq!(
        winners, 1,
        "exactly one of the racing nodes holds the lease"
    );
}

fn request(
    tenant: TenantId,
    user: UserId,
    kind: RequestKind,
    at: time::OffsetDateTime,
) -> PrivacyRequest {
    PrivacyRequest::new(
        tenant,
        user,
        kind,
        Some("ticket 42".into()),
        "cli".into(),
        at,
    )
    .unwrap()
}

pub async fn privacy_requests_filter_page_and_transition_once(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let other = tenant(s, "other").await;
    let ann = user(s, t.id, "ann@acme.test").await;
    let bob = user(s, t.id, "bob@acme.test").await;
    let mut all = Vec::new();
    for (i, (u, kind)) in [
        (ann.id, RequestKind::Access),
        (bob.id, RequestKind::Erasure),
        (ann.id, RequestKind::Restriction),
    ]
    .into_iter()
    .enumerate()
    {
        let r = request(t.id, u, kind, t0() + Duration::days(i as i64 * 10));
        s.create_privacy_request(&r).await.unwrap();
        all.push(r);
    }
    s.create_privacy_request(&request(other.id, ann.id, RequestKind::Access, t0()))
        .await
        .unwrap();
    assert_eq!(
        s.get_privacy_request(t.id, all[0].id).await.unwrap(),
        Some(all[0].clone())
    );
    assert_eq!(
        s.get_privacy_request(other.id, all[0].id).await.unwrap(),
        None
    );
    let list = |filter: RequestFilter, after: Option<String>, limit: u32| {
        let s = s.clone();
        async move {
            s.list_privacy_requests(
                t.id,
                &filter,
                &PageRequest {
                    after,
                    limit: Some(limit),
                },
            )
            .await
            .unwrap()
        }
    };
    // Paging in the order received.
    let p1 = list(RequestFilter::default(), None, 2).await;
    assert_eq!(
        p1.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        [all[0].id, all[1].id]
    );
    let p2 = list(RequestFilter::default(), p1.next_cursor, 2).await;
    assert_eq!(p2.items, [all[2].clone()]);
    assert_eq!(p2.next_cursor, None);
    // By user; overdue (due 30 days after receipt) at day 45: the first two only.
    let anns = list(
        RequestFilter {
            user: Some(ann.id),
            ..Default::default()
        },
        None,
        50,
    )
    .await;
    assert_eq!(anns.items.len(), 2);
    let overdue = list(
        RequestFilter {
            overdue_at: Some(t0() + Duration::days(45)),
            ..Default::default()
        },
        None,
        50,
    )
    .await;
    assert_eq!(
        overdue.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        [all[0].id, all[1].id]
    );
    // A transition is written only from the status it was read in.
    let mut done = all[0].clone();
    done.complete(Some("sent".into()), t0() + Duration::days(1))
        .unwrap();
    assert!(
        s.update_privacy_request(&done, RequestStatus::Open)
            .await
            .unwrap()
    );
    assert!(
        !s.update_privacy_request(&done, RequestStatus::Open)
            .await
            .unwrap()
    );
    assert_eq!(
        s.get_privacy_request(t.id, done.id).await.unwrap(),
        Some(done.clone())
    );
    let completed = list(
        RequestFilter {
            status: Some(RequestStatus::Completed),
            ..Default::default()
        },
        None,
        50,
    )
    .await;
    assert_eq!(completed.items, [done]);
    let overdue = list(
        RequestFilter {
            overdue_at: Some(t0() + Duration::days(45)),
            ..Default::default()
        },
        None,
        50,
    )
    .await;
    assert_eq!(
        overdue.items.len(),
        1,
        "a completed request is never overdue"
    );
    // The request outlives the account (it is the tenant's proof).
    assert!(s.delete_user(t.id, bob.id).await.unwrap());
    assert!(
        s.get_privacy_request(t.id, all[1].id)
            .await
            .unwrap()
            .is_some()
    );
}

fn purpose(tenant: TenantId, key: &str) -> Purpose {
    Purpose {
        tenant_id: tenant,
        key: key.into(),
        legal_basis: LegalBasis::Consent,
        descriptions: BTreeMap::from([("en".to_string(), key.to_string())]),
        required: false,
        document: None,
        expires_after_days: Some(30),
        created_at: t0(),
        updated_at: t0(),
    }
}

fn granted(tenant: TenantId, user: UserId, key: &str, at: time::OffsetDateTime) -> ConsentRecord {
    ConsentRecord {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        user_id: user,
        purpose: key.into(),
        state: ConsentState::Granted,
        policy_version: None,
        channel: ConsentChannel::Api,
        recorded_at: at,
        recorded_by: "cli".into(),
        ip: None,
        user_agent: None,
        seq: 0,
    }
}

pub async fn restriction_and_retention_candidates(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let p = purpose(t.id, "analytics");
    s.create_purpose(&p).await.unwrap();
    assert_eq!(s.get_purpose(t.id, "analytics").await.unwrap(), Some(p));
    let ann = user(s, t.id, "ann@acme.test").await;
    let mut bob = user(s, t.id, "bob@acme.test").await;
    for u in [ann.id, bob.id] {
        s.append_consent(&granted(t.id, u, "analytics", t0()))
            .await
            .unwrap();
    }
    let consenting = || async {
        s.users_consenting(t.id, "analytics", &PageRequest::default())
            .await
            .unwrap()
            .items
    };
    assert_eq!(consenting().await.len(), 2);

    // The restriction flag: set once (an earlier time stays), hides the person, cleared.
    assert!(
        s.set_processing_restricted(t.id, ann.id, Some(t0()))
            .await
            .unwrap()
    );
    assert!(
        !s.set_processing_restricted(t.id, ann.id, Some(t0() + Duration::days(1)))
            .await
            .unwrap()
    );
    assert_eq!(
        s.processing_restricted(t.id, ann.id).await.unwrap(),
        Some(t0())
    );
    assert_eq!(consenting().await, [bob.id]);
    assert!(matches!(
        s.set_processing_restricted(t.id, UserId::new(), Some(t0()))
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(
        s.set_processing_restricted(t.id, ann.id, None)
            .await
            .unwrap()
    );
    assert_eq!(consenting().await.len(), 2);

    // Expired consents: the newest record granted before the cut-off.
    let cut = t0() + Duration::days(30);
    assert_eq!(
        s.expired_consents(t.id, "analytics", t0(), 10)
            .await
            .unwrap(),
        Vec::<UserId>::new()
    );
    let mut withdrawn = granted(t.id, bob.id, "analytics", t0() + Duration::days(1));
    withdrawn.state = ConsentState::Withdrawn;
    s.append_consent(&withdrawn).await.unwrap();
    assert_eq!(
        s.expired_consents(t.id, "analytics", cut, 10)
            .await
            .unwrap(),
        [ann.id]
    );

    // Unverified accounts: created before the cut-off, email not verified.
    bob.email_verified = true;
    s.update_user(&bob).await.unwrap();
    assert_eq!(
        s.unverified_accounts(t.id, t0() + Duration::days(1), 10)
            .await
            .unwrap(),
        [ann.id]
    );
    assert!(
        s.unverified_accounts(t.id, t0(), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Inactive: never signed in since creation; warned; a sign-in after the warning resets it.
    let inactive_before = t0() + Duration::days(10);
    let mut unwarned = s
        .inactive_unwarned_accounts(t.id, inactive_before, 10)
        .await
        .unwrap();
    unwarned.sort_by_key(|u| u.to_string());
    let mut both = vec![ann.id, bob.id];
    both.sort_by_key(|u| u.to_string());
    assert_eq!(unwarned, both);
    let warned_at = t0() + Duration::days(11);
    s.record_retention_warning(t.id, ann.id, warned_at)
        .await
        .unwrap();
    assert_eq!(
        s.inactive_unwarned_accounts(t.id, inactive_before, 10)
            .await
            .unwrap(),
        [bob.id]
    );
    assert!(
        s.inactive_warned_accounts(t.id, inactive_before, warned_at - Duration::days(1), 10)
            .await
            .unwrap()
            .is_empty(),
        "the warning is not old enough yet"
    );
    assert_eq!(
        s.inactive_warned_accounts(t.id, inactive_before, warned_at, 10)
            .await
            .unwrap(),
        [ann.id]
    );
    let mut ann2 = s.get_user(t.id, ann.id).await.unwrap().unwrap();
    ann2.last_login_at = Some(warned_at + Duration::days(1));
    s.update_user(&ann2).await.unwrap();
    assert!(
        s.inactive_warned_accounts(t.id, t0() + Duration::days(40), warned_at, 10)
            .await
            .unwrap()
            .is_empty(),
        "signed in after the warning"
    );
    assert!(
        s.inactive_unwarned_accounts(t.id, t0() + Duration::days(40), 10)
            .await
            .unwrap()
            .contains(&ann.id),
        "warned again when inactive again"
    );
    // Flags and warnings go with the account.
    s.set_processing_restricted(t.id, ann.id, Some(t0()))
        .await
        .unwrap();
    assert!(s.delete_user(t.id, ann.id).await.unwrap());
    assert_eq!(s.processing_restricted(t.id, ann.id).await.unwrap(), None);
}
