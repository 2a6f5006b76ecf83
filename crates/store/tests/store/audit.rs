use std::collections::BTreeSet;

use serde_json::json;
use tessera_core::events::{
    Actor, AuditCheckpoint, AuditEntry, AuditFilter, Event, EventKind, GENESIS_HASH, Outcome,
    PersonalData, Target, chain_input,
};
use tessera_core::page::PageRequest;
use tessera_core::store::{AuditStore, TenantStore, WebhookStore};
use tessera_core::{StoreError, TenantId, UserId};
use tessera_crypto::sha256_hex;
use time::Duration;

use crate::common::*;
use crate::webhooks::{new_delivery, new_webhook};

/// A failed sign-in of `user` at `t0 + secs`, carrying an IP, a user agent and a detail.
pub fn signin_failed(tenant: TenantId, user: UserId, secs: i64, ip: &str) -> Event {
    Event::new(
        tenant,
        t0() + Duration::seconds(secs),
        EventKind::SignInFailed {
            method: "password".into(),
            reason: "invalid_credentials".into(),
        },
        Actor::user(user),
    )
    .target(Target::new("user", user))
    .subject(user)
    .failed()
    .ip(Some(ip.into()))
    .user_agent(Some("Mozilla/5.0 (audit test)".into()))
    .detail("typed_email", json!("someone@example.com"))
}

/// An event without subject or personal data.
pub fn group_created(tenant: TenantId, secs: i64, name: &str) -> Event {
    Event::new(
        tenant,
        t0() + Duration::seconds(secs),
        EventKind::GroupCreated { name: name.into() },
        Actor::api_key("key-1"),
    )
    .target(Target::new("group", name))
}

fn page(limit: u32, after: Option<String>) -> PageRequest {
    PageRequest {
        after,
        limit: Some(limit),
    }
}

/// Reads the tenant's whole chain and checks it from its anchor to its head: seqs without gaps,
/// each entry linked to the previous one, each hash recomputed from `chain_input`, each digest
/// the SHA-256 of the sealed bytes still stored. Returns the entries.
pub async fn verify_chain(s: &tessera_store::Store, tenant: TenantId) -> Vec<AuditEntry> {
    let (mut seq, mut hash) = s.audit_anchor(tenant).await.unwrap();
    let mut all = Vec::new();
    loop {
        let batch = s.audit_chain(tenant, seq, 7).await.unwrap();
        if batch.is_empty() {
            break;
        }
        for e in batch {
            assert_eq!(e.tenant_id, tenant);
            assert_eq!(e.seq, seq + 1, "no gap after {seq}");
            assert_eq!(
                e.prev_hash, hash,
                "entry {} links to its predecessor",
                e.seq
            );
            assert_eq!(
                e.hash,
                sha256_hex(&chain_input(&e)),
                "entry {} hashes to its stored hash",
                e.seq
            );
            if let Some(sealed) = &e.personal_sealed {
                assert_eq!(
                    e.personal_digest.as_deref(),
                    Some(sha256_hex(sealed).as_str())
                );
            }
            seq = e.seq;
            hash = e.hash.clone();
            all.push(e);
        }
    }
    assert_eq!(s.audit_head(tenant).await.unwrap(), (seq, hash));
    all
}

pub async fn append_builds_a_verifiable_chain(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    assert_eq!(
        s.audit_head(t.id).await.unwrap(),
        (0, GENESIS_HASH.to_string())
    );
    assert_eq!(
        s.audit_anchor(t.id).await.unwrap(),
        (0, GENESIS_HASH.to_string())
    );
    assert!(s.audit_tenants().await.unwrap().is_empty());

    let e1 = signin_failed(t.id, alice.id, 1, "192.0.2.1");
    let e2 = group_created(t.id, 2, "staff");
    // Personal data without a subject: sealed under the tenant's key.
    let e3 = group_created(t.id, 3, "ops").ip(Some("192.0.2.3".into()));
    let mut appended = Vec::new();
    for e in [&e1, &e2, &e3] {
        appended.push(s.append_event(e, &[]).await.unwrap());
    }
    let first = &appended[0];
    assert_eq!(first.seq, 1);
    assert_eq!(first.prev_hash, GENESIS_HASH);
    assert_eq!(first.event_id, e1.id);
    assert_eq!(first.occurred_at, e1.occurred_at);
    assert_eq!(first.event_type, "signin.failed");
    assert_eq!(first.body, e1.body());
    assert!(first.personal_sealed.is_some());
    assert!(appended[1].personal_sealed.is_none() && appended[1].personal_digest.is_none());
    assert_eq!(appended[1].prev_hash, first.hash);

    // What was returned is what is stored, and it verifies.
    assert_eq!(verify_chain(s, t.id).await, appended);
    assert_eq!(s.audit_tenants().await.unwrap(), vec![t.id]);

    // The body column is the JSON text of the body; no personal value is in it.
    let listed = s
        .list_audit(t.id, &AuditFilter::default(), &PageRequest::default())
        .await
        .unwrap();
    let seqs: Vec<i64> = listed.items.iter().map(|(e, _)| e.seq).collect();
    assert_eq!(seqs, vec![3, 2, 1], "newest first");
    assert_eq!(listed.next_cursor, None);
    assert_eq!(listed.items[2].1.as_ref(), Some(&e1.personal));
    assert_eq!(listed.items[1].1, Some(PersonalData::default()));
    assert_eq!(listed.items[0].1.as_ref(), Some(&e3.personal));
    assert!(!first.body.to_string().contains("192.0.2.1"));

    // The body column holds exactly the JSON text of the body, as TEXT.
    assert_eq!(
        stored_text(h, "SELECT body FROM audit_entries WHERE seq = 1").await,
        serde_json::to_string(&e1.body()).unwrap()
    );
    if h.sqlite_path().is_none() {
        assert_eq!(
            stored_text(
                h,
                "SELECT data_type::text FROM information_schema.columns \
                 WHERE table_name = 'audit_entries' AND column_name = 'body'"
            )
            .await,
            "text"
        );
    }

    // The same event twice is refused and changes nothing.
    assert!(
        matches!(s.append_event(&e2, &[]).await, Err(StoreError::Conflict(w)) if w == "event_id")
    );
    assert_eq!(s.audit_head(t.id).await.unwrap().0, 3);
    // A tenant that does not exist has no chain to append to.
    assert!(matches!(
        s.append_event(&group_created(TenantId::new(), 1, "x"), &[])
            .await,
        Err(StoreError::NotFound)
    ));
}

/// Runs a query returning one text value directly on the database, outside the store.
async fn stored_text(h: &Harness, sql: &'static str) -> String {
    match h.sqlite_path() {
        Some(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            let v = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            v
        }
        None => {
            let pool = sqlx::PgPool::connect(&h.url()).await.unwrap();
            let v = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            v
        }
    }
}

/// An entry altered in the database no longer hashes to its stored hash.
pub async fn tampering_is_detectable(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    for i in 1..=3 {
        s.append_event(&group_created(t.id, i, &format!("g{i}")), &[])
            .await
            .unwrap();
    }
    verify_chain(s, t.id).await;
    h.raw_execute(
        "UPDATE audit_entries SET body = replace(body, '\"g2\"', '\"evil\"') WHERE seq = 2"
            .to_string(),
    )
    .await;
    let chain = s.audit_chain(t.id, 0, 10).await.unwrap();
    assert_eq!(chain[1].body["name"], "evil");
    assert_ne!(chain[1].hash, sha256_hex(&chain_input(&chain[1])));
    assert_eq!(chain[0].hash, sha256_hex(&chain_input(&chain[0])));
    assert_eq!(chain[2].hash, sha256_hex(&chain_input(&chain[2])));
}

pub async fn concurrent_appends_chain_without_gaps(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "busy").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let store = s.clone();
        tasks.spawn(async move {
            let event = if i % 2 == 0 {
                signin_failed(t.id, alice.id, i, &format!("192.0.2.{i}"))
            } else {
                group_created(t.id, i, &format!("group-{i}"))
            };
            store.append_event(&event, &[]).await.unwrap().seq
        });
    }
    let mut seqs = BTreeSet::new();
    while let Some(r) = tasks.join_next().await {
        assert!(seqs.insert(r.unwrap()), "every append gets its own seq");
    }
    assert_eq!(seqs, (1..=50).collect::<BTreeSet<i64>>());
    let chain = verify_chain(s, t.id).await;
    assert_eq!(chain.len(), 50);
    assert_eq!(chain.last().unwrap().seq, 50);
}

pub async fn list_audit_filters_and_pages(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let bob = user(s, t.id, "bob@example.com").await;
    // seq 1..=4
    s.append_event(&signin_failed(t.id, alice.id, 10, "192.0.2.1"), &[])
        .await
        .unwrap();
    s.append_event(&group_created(t.id, 20, "staff"), &[])
        .await
        .unwrap();
    let ok = Event::new(
        t.id,
        t0() + Duration::seconds(30),
        EventKind::SignInSucceeded {
            method: "password".into(),
        },
        Actor::user(bob.id),
    )
    .target(Target::new("user", bob.id))
    .subject(bob.id)
    .ip(Some("192.0.2.2".into()));
    s.append_event(&ok, &[]).await.unwrap();
    s.append_event(&signin_failed(t.id, bob.id, 40, "192.0.2.2"), &[])
        .await
        .unwrap();

    let seqs = |filter: AuditFilter| async move {
        s.list_audit(t.id, &filter, &PageRequest::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|(e, _)| e.seq)
            .collect::<Vec<_>>()
    };
    assert_eq!(seqs(AuditFilter::default()).await, vec![4, 3, 2, 1]);
    assert_eq!(
        seqs(AuditFilter {
            from: Some(t0() + Duration::seconds(20)),
            until: Some(t0() + Duration::seconds(40)),
            ..Default::default()
        })
        .await,
        vec![3, 2],
        "from is inclusive, until exclusive"
    );
    assert_eq!(
        seqs(AuditFilter {
            actor_id: Some(bob.id.to_string()),
            ..Default::default()
        })
        .await,
        vec![4, 3]
    );
    assert_eq!(
        seqs(AuditFilter {
            target_id: Some("staff".into()),
            ..Default::default()
        })
        .await,
        vec![2]
    );
    assert_eq!(
        seqs(AuditFilter {
            event_type: Some("signin.failed".into()),
            ..Default::default()
        })
        .await,
        vec![4, 1]
    );
    assert!(
        seqs(AuditFilter {
            event_type: Some("signin".into()),
            ..Default::default()
        })
        .await
        .is_empty(),
        "the event type matches exactly"
    );
    assert_eq!(
        seqs(AuditFilter {
            outcome: Some(Outcome::Success),
            ..Default::default()
        })
        .await,
        vec![3, 2]
    );
    assert_eq!(
        seqs(AuditFilter {
            ip: Some("192.0.2.2".into()),
            outcome: Some(Outcome::Failure),
            ..Default::default()
        })
        .await,
        vec![4]
    );

    // Pages of two, following the cursor.
    let p1 = s
        .list_audit(t.id, &AuditFilter::default(), &page(2, None))
        .await
        .unwrap();
    assert_eq!(
        p1.items.iter().map(|(e, _)| e.seq).collect::<Vec<_>>(),
        vec![4, 3]
    );
    assert_eq!(p1.next_cursor.as_deref(), Some("3"));
    let p2 = s
        .list_audit(t.id, &AuditFilter::default(), &page(2, p1.next_cursor))
        .await
        .unwrap();
    assert_eq!(
        p2.items.iter().map(|(e, _)| e.seq).collect::<Vec<_>>(),
        vec![2, 1]
    );
    assert_eq!(p2.next_cursor, None);
    assert!(
        s.list_audit(t.id, &AuditFilter::default(), &page(2, Some("nope".into())))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

/// The IP filter reads past many non-matching rows (more than one batch) to fill its pages.
pub async fn ip_filter_reads_across_batches(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let needle = "198.51.100.7";
    let wanted = [3_i64, 5, 228];
    for seq in 1..=230_i64 {
        let ip = if wanted.contains(&seq) {
            needle.to_string()
        } else {
            format!("192.0.2.{}", seq % 250)
        };
        s.append_event(&signin_failed(t.id, alice.id, seq, &ip), &[])
            .await
            .unwrap();
    }
    let filter = AuditFilter {
        ip: Some(needle.into()),
        ..Default::default()
    };
    let p1 = s.list_audit(t.id, &filter, &page(2, None)).await.unwrap();
    assert_eq!(
        p1.items.iter().map(|(e, _)| e.seq).collect::<Vec<_>>(),
        vec![228, 5]
    );
    assert!(
        p1.items
            .iter()
            .all(|(_, p)| p.as_ref().unwrap().ip.as_deref() == Some(needle))
    );
    assert_eq!(p1.next_cursor.as_deref(), Some("5"));
    let p2 = s
        .list_audit(t.id, &filter, &page(2, p1.next_cursor))
        .await
        .unwrap();
    assert_eq!(
        p2.items.iter().map(|(e, _)| e.seq).collect::<Vec<_>>(),
        vec![3]
    );
    assert_eq!(p2.next_cursor, None);
    let none = AuditFilter {
        ip: Some("203.0.113.1".into()),
        ..Default::default()
    };
    let empty = s.list_audit(t.id, &none, &page(50, None)).await.unwrap();
    assert!(empty.items.is_empty() && empty.next_cursor.is_none());
}

fn checkpoint(entry: &AuditEntry) -> AuditCheckpoint {
    AuditCheckpoint {
        tenant_id: entry.tenant_id,
        seq: entry.seq,
        hash: entry.hash.clone(),
        created_at: t0() + Duration::hours(1),
        signature: format!("eyJhbGciOiJFUzI1NiJ9.cp-{}.sig", entry.seq),
    }
}

pub async fn pruning_requires_a_checkpoint(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let mut entries = Vec::new();
    for i in 1..=10 {
        entries.push(
            s.append_event(&signin_failed(t.id, alice.id, i, "192.0.2.9"), &[])
                .await
                .unwrap(),
        );
    }
    let at = |seq: i64| &entries[usize::try_from(seq - 1).unwrap()];

    // No checkpoint at 5: refused, nothing changed.
    assert!(matches!(
        s.prune_audit(t.id, 5).await,
        Err(StoreError::Backend(m)) if m.contains("checkpoint")
    ));
    assert_eq!(verify_chain(s, t.id).await.len(), 10);

    for seq in [3, 5] {
        s.insert_checkpoint(&checkpoint(at(seq))).await.unwrap();
    }
    assert!(
        matches!(s.insert_checkpoint(&checkpoint(at(5))).await, Err(StoreError::Conflict(w)) if w == "seq")
    );
    // A checkpoint that vouches for another hash than the stored entry's.
    let mut forged = checkpoint(at(8));
    forged.hash = at(7).hash.clone();
    s.insert_checkpoint(&forged).await.unwrap();
    assert_eq!(
        s.list_checkpoints(t.id)
            .await
            .unwrap()
            .iter()
            .map(|c| c.seq)
            .collect::<Vec<_>>(),
        vec![3, 5, 8]
    );
    assert_eq!(
        s.list_checkpoints(t.id).await.unwrap()[1],
        checkpoint(at(5))
    );

    assert_eq!(s.prune_audit(t.id, 5).await.unwrap(), 5);
    assert_eq!(s.audit_anchor(t.id).await.unwrap(), (5, at(5).hash.clone()));
    assert_eq!(s.audit_head(t.id).await.unwrap(), (10, at(10).hash.clone()));
    let rest = verify_chain(s, t.id).await;
    assert_eq!(rest.first().unwrap().seq, 6);
    assert_eq!(rest, entries[5..].to_vec());
    // Older checkpoints are gone; the anchor's and later ones stay.
    assert_eq!(
        s.list_checkpoints(t.id)
            .await
            .unwrap()
            .iter()
            .map(|c| c.seq)
            .collect::<Vec<_>>(),
        vec![5, 8]
    );
    // Again up to the anchor: nothing to do. Below it: no checkpoint any more.
    assert_eq!(s.prune_audit(t.id, 5).await.unwrap(), 0);
    assert!(matches!(
        s.prune_audit(t.id, 3).await,
        Err(StoreError::Backend(_))
    ));
    // The forged checkpoint is refused.
    assert!(matches!(
        s.prune_audit(t.id, 8).await,
        Err(StoreError::Corrupt(_))
    ));
    assert_eq!(verify_chain(s, t.id).await.len(), 5);
    assert_eq!(
        s.list_audit(t.id, &AuditFilter::default(), &PageRequest::default())
            .await
            .unwrap()
            .items
            .len(),
        5
    );

    // The chain goes on from its head.
    let next = s
        .append_event(&group_created(t.id, 11, "after-prune"), &[])
        .await
        .unwrap();
    assert_eq!(next.seq, 11);
    assert_eq!(next.prev_hash, at(10).hash);
    // Pruning everything, up to the head.
    s.insert_checkpoint(&checkpoint(&next)).await.unwrap();
    assert_eq!(s.prune_audit(t.id, 11).await.unwrap(), 6);
    assert_eq!(s.audit_anchor(t.id).await.unwrap(), (11, next.hash.clone()));
    assert_eq!(s.audit_head(t.id).await.unwrap(), (11, next.hash.clone()));
    assert!(verify_chain(s, t.id).await.is_empty());
    assert_eq!(s.audit_tenants().await.unwrap(), vec![t.id]);
}

pub async fn erasure_shreds_personal_data_and_keeps_the_chain(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let bob = user(s, t.id, "bob@example.com").await;
    let a1 = signin_failed(t.id, alice.id, 1, "192.0.2.1");
    let b1 = signin_failed(t.id, bob.id, 2, "192.0.2.2");
    let a2 = signin_failed(t.id, alice.id, 3, "192.0.2.3");
    // Alice is the subject, but there is nothing personal to seal.
    let a3 = Event::new(
        t.id,
        t0() + Duration::seconds(4),
        EventKind::UserDisabled,
        Actor::cli(),
    )
    .subject(alice.id);
    let tenant_level = group_created(t.id, 5, "ops").ip(Some("192.0.2.5".into()));
    for e in [&a1, &b1, &a2, &a3, &tenant_level] {
        s.append_event(e, &[]).await.unwrap();
    }
    let before = verify_chain(s, t.id).await;

    assert_eq!(s.erase_audit_subject(t.id, alice.id).await.unwrap(), 2);
    let after = verify_chain(s, t.id).await;
    assert_eq!(after.len(), 5);
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(a.hash, b.hash, "hashes are unchanged");
        assert_eq!(a.personal_digest, b.personal_digest, "digests are kept");
    }
    assert!(after[0].personal_sealed.is_none() && after[2].personal_sealed.is_none());
    assert!(after[1].personal_sealed.is_some() && after[4].personal_sealed.is_some());

    let listed = s
        .list_audit(t.id, &AuditFilter::default(), &PageRequest::default())
        .await
        .unwrap()
        .items;
    let personal: Vec<Option<PersonalData>> = listed.into_iter().rev().map(|(_, p)| p).collect();
    assert_eq!(personal[0], None, "erased");
    assert_eq!(personal[1].as_ref(), Some(&b1.personal));
    assert_eq!(personal[2], None, "erased");
    assert_eq!(personal[3], Some(PersonalData::default()));
    assert_eq!(personal[4].as_ref(), Some(&tenant_level.personal));

    // Erasing again finds nothing left; a later event of the subject gets a new key.
    assert_eq!(s.erase_audit_subject(t.id, alice.id).await.unwrap(), 0);
    let a4 = signin_failed(t.id, alice.id, 6, "192.0.2.6");
    s.append_event(&a4, &[]).await.unwrap();
    let newest = s
        .list_audit(t.id, &AuditFilter::default(), &page(1, None))
        .await
        .unwrap();
    assert_eq!(newest.items[0].1.as_ref(), Some(&a4.personal));
    assert_eq!(
        s.list_audit(t.id, &AuditFilter::default(), &page(50, None))
            .await
            .unwrap()
            .items
            .iter()
            .filter(|(_, p)| p.is_none())
            .count(),
        2,
        "the old entries stay erased"
    );
    verify_chain(s, t.id).await;
    assert_eq!(s.erase_audit_subject(t.id, UserId::new()).await.unwrap(), 0);
}

/// An event and its deliveries are written together or not at all.
pub async fn append_is_all_or_nothing(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let other = tenant(s, "other").await;
    let hook = new_webhook(t.id, &[]);
    s.create_webhook(&hook).await.unwrap();

    let e1 = group_created(t.id, 1, "staff");
    let d1 = new_delivery(&hook, &e1, t0());
    let mut clash = new_delivery(&hook, &e1, t0());
    clash.id = d1.id;
    assert!(matches!(
        s.append_event(&e1, &[d1.clone(), clash]).await,
        Err(StoreError::Conflict(w)) if w == "id"
    ));
    assert_eq!(
        s.audit_head(t.id).await.unwrap(),
        (0, GENESIS_HASH.to_string())
    );
    assert!(s.audit_chain(t.id, 0, 10).await.unwrap().is_empty());
    assert!(
        s.list_deliveries(t.id, hook.id, &PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(s.audit_tenants().await.unwrap().is_empty());

    // A delivery of another tenant is refused, and nothing is written.
    let other_hook = new_webhook(other.id, &[]);
    s.create_webhook(&other_hook).await.unwrap();
    assert!(matches!(
        s.append_event(&e1, &[new_delivery(&other_hook, &e1, t0())])
            .await,
        Err(StoreError::Backend(_))
    ));
    assert_eq!(s.audit_head(t.id).await.unwrap().0, 0);

    // Written together.
    let d2 = new_delivery(&hook, &e1, t0());
    let entry = s
        .append_event(&e1, &[d1.clone(), d2.clone()])
        .await
        .unwrap();
    assert_eq!(entry.seq, 1);
    let listed = s
        .list_deliveries(t.id, hook.id, &PageRequest::default())
        .await
        .unwrap()
        .items;
    let mut expected = vec![d1, d2];
    expected.sort_by_key(|d| std::cmp::Reverse(d.id.to_string()));
    assert_eq!(listed, expected);

    // A delivery for a subscription deleted meanwhile is dropped; the event is still recorded.
    let gone = new_webhook(t.id, &[]);
    let e2 = group_created(t.id, 2, "ops");
    let orphan = new_delivery(&gone, &e2, t0());
    assert_eq!(s.append_event(&e2, &[orphan]).await.unwrap().seq, 2);
    assert!(
        s.list_deliveries(t.id, gone.id, &PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    verify_chain(s, t.id).await;
}

/// Group commit: one transaction chains a batch that mixes tenants, subjects with and without
/// personal data, and deliveries; a batch with one bad event writes none of its events.
pub async fn batches_chain_across_tenants_all_or_nothing(h: &Harness) {
    let s = &h.store;
    let a = tenant(s, "acme").await;
    let b = tenant(s, "beta").await;
    let alice = user(s, a.id, "alice@example.com").await;
    let hook = new_webhook(a.id, &[]);
    s.create_webhook(&hook).await.unwrap();
    s.append_event(&group_created(a.id, 0, "before"), &[])
        .await
        .unwrap();

    let events = [
        signin_failed(a.id, alice.id, 1, "192.0.2.1"),
        group_created(b.id, 2, "b-one"),
        group_created(a.id, 3, "a-two"),
        signin_failed(a.id, alice.id, 4, "192.0.2.4"),
        group_created(b.id, 5, "b-two"),
    ];
    let delivery = new_delivery(&hook, &events[2], t0());
    let no_deliveries: &[tessera_core::webhook::WebhookDelivery] = &[];
    let batch: Vec<_> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            if i == 2 {
                (e, std::slice::from_ref(&delivery))
            } else {
                (e, no_deliveries)
            }
        })
        .collect();
    let entries = s.append_events(&batch).await.unwrap();
    let seqs: Vec<(TenantId, i64)> = entries.iter().map(|e| (e.tenant_id, e.seq)).collect();
    assert_eq!(
        seqs,
        vec![(a.id, 2), (b.id, 1), (a.id, 3), (a.id, 4), (b.id, 2)],
        "each tenant's chain continues in batch order"
    );
    for (entry, event) in entries.iter().zip(&events) {
        assert_eq!(entry.event_id, event.id);
    }
    let chain_a = verify_chain(s, a.id).await;
    assert_eq!(chain_a.len(), 4);
    assert_eq!(verify_chain(s, b.id).await.len(), 2);
    assert_eq!(
        s.list_deliveries(a.id, hook.id, &PageRequest::default())
            .await
            .unwrap()
            .items,
        vec![delivery]
    );
    // The personal data of batched events reads back.
    let listed = s
        .list_audit(a.id, &AuditFilter::default(), &page(10, None))
        .await
        .unwrap()
        .items;
    let ips: BTreeSet<String> = listed
        .iter()
        .filter_map(|(_, personal)| personal.as_ref().and_then(|p| p.ip.clone()))
        .collect();
    assert_eq!(
        ips,
        BTreeSet::from(["192.0.2.1".to_string(), "192.0.2.4".to_string()])
    );

    // One event already recorded: the whole batch is refused and no head moves.
    let fresh = group_created(b.id, 6, "b-three");
    let repeated = events[0].clone();
    let bad = [(&fresh, no_deliveries), (&repeated, no_deliveries)];
    assert!(matches!(
        s.append_events(&bad).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.audit_head(a.id).await.unwrap().0, 4);
    assert_eq!(s.audit_head(b.id).await.unwrap().0, 2);
    assert!(s.append_events(&[]).await.unwrap().is_empty());
}

/// Two batches in flight at once (two nodes on one PostgreSQL database) that move the same two
/// tenants' heads, listed in opposite orders: both are written and neither waits for the other
/// for good (PostgreSQL would abort one as a deadlock if each locked its first tenant's head
/// first).
pub async fn concurrent_batches_over_the_same_tenants_both_commit(h: &Harness) {
    let s = &h.store;
    let a = tenant(s, "acme").await;
    let b = tenant(s, "beta").await;
    let no_deliveries: &[tessera_core::webhook::WebhookDelivery] = &[];
    for round in 0..20i64 {
        let ab = [
            group_created(a.id, 4 * round, "ab-a"),
            group_created(b.id, 4 * round + 1, "ab-b"),
        ];
        let ba = [
            group_created(b.id, 4 * round + 2, "ba-b"),
            group_created(a.id, 4 * round + 3, "ba-a"),
        ];
        let first: Vec<_> = ab.iter().map(|e| (e, no_deliveries)).collect();
        let second: Vec<_> = ba.iter().map(|e| (e, no_deliveries)).collect();
        let (x, y) = tokio::join!(s.append_events(&first), s.append_events(&second));
        x.unwrap_or_else(|e| panic!("round {round}: the first batch failed: {e}"));
        y.unwrap_or_else(|e| panic!("round {round}: the second batch failed: {e}"));
    }
    assert_eq!(verify_chain(s, a.id).await.len(), 40);
    assert_eq!(verify_chain(s, b.id).await.len(), 40);
}

pub async fn audit_goes_with_its_tenant(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let keep = tenant(s, "keep").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let e = s
        .append_event(&signin_failed(t.id, alice.id, 1, "192.0.2.1"), &[])
        .await
        .unwrap();
    s.insert_checkpoint(&checkpoint(&e)).await.unwrap();
    s.append_event(&group_created(keep.id, 1, "staff"), &[])
        .await
        .unwrap();
    let hook = new_webhook(t.id, &[]);
    s.create_webhook(&hook).await.unwrap();

    assert!(s.delete_tenant(t.id).await.unwrap());
    assert_eq!(s.audit_tenants().await.unwrap(), vec![keep.id]);
    assert_eq!(
        s.audit_head(t.id).await.unwrap(),
        (0, GENESIS_HASH.to_string())
    );
    assert!(s.audit_chain(t.id, 0, 10).await.unwrap().is_empty());
    assert!(s.list_checkpoints(t.id).await.unwrap().is_empty());
    assert!(s.list_webhooks(t.id).await.unwrap().is_empty());
    assert_eq!(verify_chain(s, keep.id).await.len(), 1);
}

/// A batch longer than one `INSERT` of entries (64) over three tenants: every tenant's head moves
/// to its last entry (the heads are updated with the last insert), so the next append of each
/// continues the chain.
pub async fn a_long_batch_moves_every_head(h: &Harness) {
    let s = &h.store;
    let tenants = [
        tenant(s, "acme").await,
        tenant(s, "beta").await,
        tenant(s, "gamma").await,
    ];
    let events: Vec<Event> = (0..150)
        .map(|i| group_created(tenants[i % 3].id, i as i64, &format!("g-{i}")))
        .collect();
    let no_deliveries: &[tessera_core::webhook::WebhookDelivery] = &[];
    let batch: Vec<_> = events.iter().map(|e| (e, no_deliveries)).collect();
    let entries = s.append_events(&batch).await.unwrap();
    assert_eq!(entries.len(), 150);
    for t in &tenants {
        let next = s
            .append_event(&group_created(t.id, 1000, "after"), &[])
            .await
            .unwrap();
        assert_eq!(
            next.seq, 51,
            "the head of {} moved to its 50th entry",
            t.slug
        );
        assert_eq!(verify_chain(s, t.id).await.len(), 51);
    }
}

/// Two stores on one database (the server and the `tessera` command line on one SQLite file, or
/// two nodes on one PostgreSQL database) append in turns: each continues the chain from where
/// the other left it, though each remembers where its own last append left it (SQLite appends
/// from that memory in one message; a head moved by the other store makes it read the head
/// again), with personal data sealed under one key per subject for both.
pub async fn two_stores_on_one_database_continue_each_others_chain(h: &Harness) {
    let s = &h.store;
    let other = h.second_store().await;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let no_deliveries: &[tessera_core::webhook::WebhookDelivery] = &[];
    let mut written = Vec::new();
    for round in 0..4i64 {
        for (i, store) in [s, &other].into_iter().enumerate() {
            let secs = 10 * round + 3 * i as i64;
            let events = [
                signin_failed(t.id, alice.id, secs, &format!("192.0.2.{}", secs + 1)),
                group_created(t.id, secs + 1, &format!("g-{secs}")).ip(Some("192.0.2.200".into())),
            ];
            let batch: Vec<_> = events.iter().map(|e| (e, no_deliveries)).collect();
            let entries = store.append_events(&batch).await.unwrap();
            let seqs: Vec<i64> = entries.iter().map(|e| e.seq).collect();
            let n = written.len() as i64;
            assert_eq!(seqs, vec![n + 1, n + 2], "round {round}, store {i}");
            written.extend(events);
        }
    }
    let chain = verify_chain(s, t.id).await;
    assert_eq!(chain.len(), written.len());
    // Every entry's personal data reads back, whichever store sealed it: one key per subject.
    let listed = s
        .list_audit(t.id, &AuditFilter::default(), &page(50, None))
        .await
        .unwrap()
        .items;
    let mut personal: Vec<_> = listed.into_iter().map(|(_, p)| p).collect();
    personal.reverse();
    let expected: Vec<_> = written.iter().map(|e| Some(e.personal.clone())).collect();
    assert_eq!(personal, expected);
    other.close().await;
}

/// A batch refused for a repeated event id leaves nothing behind, not even an open transaction:
/// the next appends, on the same store, are written and chain on.
pub async fn appends_go_on_after_a_refused_batch(h: &Harness) {
    let s = &h.store;
    let t = tenant(s, "acme").await;
    let alice = user(s, t.id, "alice@example.com").await;
    let no_deliveries: &[tessera_core::webhook::WebhookDelivery] = &[];
    let first = signin_failed(t.id, alice.id, 1, "192.0.2.1");
    s.append_event(&first, &[]).await.unwrap();
    for round in 0..3i64 {
        let fresh = signin_failed(t.id, alice.id, 10 + round, "192.0.2.2");
        let bad = [(&fresh, no_deliveries), (&first, no_deliveries)];
        assert!(
            matches!(s.append_events(&bad).await, Err(StoreError::Conflict(_))),
            "round {round}"
        );
        assert_eq!(s.audit_head(t.id).await.unwrap().0, 1 + round);
        let next = s
            .append_event(&group_created(t.id, 20 + round, "after"), &[])
            .await
            .unwrap();
        assert_eq!(next.seq, 2 + round);
    }
    assert_eq!(verify_chain(s, t.id).await.len(), 4);
}
