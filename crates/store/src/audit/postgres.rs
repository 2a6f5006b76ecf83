//! PostgreSQL's audit append from memory, in one statement (see `audit/tail.rs` for when it is
//! tried and what happens when it finds the database moved).
//!
//! On PostgreSQL each statement of the general append is a round trip to the database, and its
//! `BEGIN`, head lock, insert and `COMMIT` are four of them a batch. From memory the batch is
//! one statement, committed on its own:
//!
//! ```text
//! WITH v (tenant_id, seq, hash, new_seq, new_hash) AS (VALUES <each head: as remembered, as moved>),
//! locked AS (SELECT … FROM audit_heads h JOIN v ON <h is as remembered>
//!            ORDER BY h.tenant_id COLLATE "C" FOR UPDATE OF h),
//! moved AS (UPDATE audit_heads h SET seq = v.new_seq, hash = v.new_hash FROM v
//!           WHERE h.tenant_id = v.tenant_id AND (SELECT COUNT(*) FROM locked) = <heads>
//!           AND <every salt remembered is the one stored> RETURNING 1),
//! entries AS (INSERT INTO audit_entries … SELECT … WHERE (SELECT COUNT(*) FROM moved) = <heads>
//!             RETURNING 1),
//! deliveries AS (INSERT INTO webhook_deliveries … JOIN webhook_subscriptions …
//!                WHERE (SELECT COUNT(*) FROM entries) = <entries>)
//! SELECT COUNT(*) FROM moved
//! ```
//!
//! `locked` takes the lock of each head that is as remembered, in the order the general path
//! takes them (byte order of the tenant id, so two appends never wait for each other in a
//! cycle); under `READ COMMITTED` a head moved by a transaction that committed while this one
//! waited for its lock is read again as it now stands, and no longer matches. So the heads move
//! all together, or none of them does, and the entries and deliveries are written only after
//! them: one statement writes the whole batch or nothing. A statement that fails (a repeated
//! event id) writes nothing either.

use std::fmt::Write;

use sqlx::PgPool;
use tessera_core::StoreError;
use tessera_core::events::AuditEntry;
use tessera_core::store::StoreResult;

use super::{ChainHead, ENTRY_PARAMS, PreparedAppend, SubjectSalt, bind_entry};
use crate::error::from_sqlx;
use crate::webhooks::{DELIVERY_PARAMS, bind_delivery, delivery_columns};

/// Writes `entries` (chained from `start` to `heads`, sealed under `salts`) and their deliveries
/// in one statement. `Ok(false)`: a head or salt was not as remembered, and nothing was written.
pub(super) async fn write_in_one_statement(
    pool: &PgPool,
    prepared: &[PreparedAppend<'_>],
    entries: &[AuditEntry],
    start: &[ChainHead],
    heads: &[ChainHead],
    salts: &[SubjectSalt],
) -> StoreResult<bool> {
    let deliveries = prepared.iter().map(|p| p.deliveries.len()).sum();
    let sql = statement_sql(start.len(), salts.len(), entries.len(), deliveries);
    let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql));
    for ((tenant, seq, hash), (_, new_seq, new_hash)) in start.iter().zip(heads) {
        q = q
            .bind(tenant.to_string())
            .bind(*seq)
            .bind(hash.as_str())
            .bind(*new_seq)
            .bind(new_hash.as_str());
    }
    for (tenant, subject, salt) in salts {
        q = q
            .bind(tenant.to_string())
            .bind(subject.as_str())
            .bind(salt.as_slice());
    }
    for (p, entry) in prepared.iter().zip(entries) {
        q = bind_entry!(q, p, entry);
    }
    for d in prepared.iter().flat_map(|p| &p.deliveries) {
        q = bind_delivery!(q, d);
    }
    let moved = q.fetch_one(pool).await.map_err(from_sqlx)?;
    match moved {
        n if n == start.len() as i64 => Ok(true),
        0 => Ok(false),
        other => Err(StoreError::Backend(format!(
            "an audit append moved {other} chain heads of {}",
            start.len()
        ))),
    }
}

/// Appends `($n, $n+1, …)` rows: `rows` of `width` parameters each, numbered on from `*next`.
fn push_rows(sql: &mut String, rows: usize, width: usize, next: &mut usize) {
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..width {
            let _ = write!(sql, "{}${}", if c == 0 { "" } else { ", " }, *next);
            *next += 1;
        }
        sql.push(')');
    }
}

/// The statement of `write_in_one_statement`: `heads` heads (5 parameters each: tenant, seq and
/// hash as remembered, seq and hash as moved), `salts` salts (tenant, subject, salt), `entries`
/// entries and `deliveries` deliveries, in that order.
fn statement_sql(heads: usize, salts: usize, entries: usize, deliveries: usize) -> String {
    let mut sql =
        String::with_capacity(900 + 30 * heads + 20 * salts + 90 * entries + 90 * deliveries);
    let mut next = 1;
    sql.push_str("WITH v (tenant_id, seq, hash, new_seq, new_hash) AS (VALUES ");
    push_rows(&mut sql, heads, 5, &mut next);
    sql.push_str(
        "), locked AS (SELECT h.tenant_id FROM audit_heads h JOIN v \
         ON h.tenant_id = v.tenant_id AND h.seq = v.seq AND h.hash = v.hash \
         ORDER BY h.tenant_id COLLATE \"C\" FOR UPDATE OF h), \
         moved AS (UPDATE audit_heads h SET seq = v.new_seq, hash = v.new_hash FROM v \
         WHERE h.tenant_id = v.tenant_id",
    );
    let _ = write!(sql, " AND (SELECT COUNT(*) FROM locked) = {heads}");
    if salts > 0 {
        sql.push_str(
            " AND (SELECT COUNT(*) FROM audit_subject_keys \
             WHERE (tenant_id, subject_id, salt) IN (VALUES ",
        );
        push_rows(&mut sql, salts, 3, &mut next);
        let _ = write!(sql, ")) = {salts}");
    }
    sql.push_str(
        " RETURNING 1), entries AS (INSERT INTO audit_entries (tenant_id, seq, event_id, \
         occurred_at, event_type, actor_id, target_id, outcome, body, subject_user_id, \
         personal_sealed, personal_digest, prev_hash, hash) SELECT * FROM (VALUES ",
    );
    push_rows(&mut sql, entries, ENTRY_PARAMS, &mut next);
    let _ = write!(
        sql,
        ") e WHERE (SELECT COUNT(*) FROM moved) = {heads} RETURNING 1)"
    );
    if deliveries > 0 {
        // A delivery whose subscription was deleted meanwhile is dropped, as on the general path.
        sql.push_str(concat!(
            ", deliveries AS (INSERT INTO webhook_deliveries (",
            delivery_columns!(),
            ") SELECT d.* FROM (VALUES "
        ));
        push_rows(&mut sql, deliveries, DELIVERY_PARAMS, &mut next);
        let _ = write!(
            sql,
            ") AS d ({}) JOIN webhook_subscriptions s ON s.tenant_id = d.tenant_id \
             AND s.id = d.subscription_id WHERE (SELECT COUNT(*) FROM entries) = {entries})",
            delivery_columns!()
        );
    }
    sql.push_str(" SELECT COUNT(*) FROM moved");
    sql
}

#[cfg(test)]
mod tests {
    use tessera_core::TenantId;
    use tessera_core::events::{AuditFilter, Event, chain_input};
    use tessera_core::page::PageRequest;
    use tessera_core::secret::Secret;
    use tessera_core::store::{AuditStore, TenantStore, WebhookStore};
    use tessera_core::tenant::{Preset, Tenant};
    use tessera_core::webhook::{DeliveryStatus, SinkKind, WebhookDelivery, WebhookSubscription};
    use uuid::Uuid;

    use super::*;
    use crate::Store;
    use crate::audit::tail::tests::{counts, event};
    use crate::testing::{postgres_test_database, test_field_crypto};

    fn delivery(sub: &WebhookSubscription, event: &Event) -> WebhookDelivery {
        WebhookDelivery {
            id: Uuid::now_v7(),
            tenant_id: sub.tenant_id,
            subscription_id: sub.id,
            event_id: event.id,
            event_type: event.kind.type_name().to_string(),
            payload: serde_json::to_string(&event.body()).unwrap(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_at: event.occurred_at,
            lease_until: None,
            last_error: None,
            last_status_code: None,
            created_at: event.occurred_at,
            delivered_at: None,
        }
    }

    /// Every entry of `tenant`'s chain links to the one before and hashes what it holds; the
    /// seqs of the chain.
    async fn verified_seqs(store: &Store, tenant: TenantId) -> Vec<i64> {
        let chain = store.audit_chain(tenant, 0, 100).await.unwrap();
        let mut prev = tessera_core::events::GENESIS_HASH.to_string();
        for entry in &chain {
            assert_eq!(entry.prev_hash, prev, "seq {}", entry.seq);
            assert_eq!(
                entry.hash,
                tessera_crypto::sha256_hex(&chain_input(entry)),
                "seq {}",
                entry.seq
            );
            prev = entry.hash.clone();
        }
        chain.iter().map(|e| e.seq).collect()
    }

    /// On PostgreSQL: after a tenant's first append, a batch over two tenants with personal
    /// data and a delivery is one statement; a refused batch writes nothing; another node's
    /// append makes the next one find the head moved and back off to the general path.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batches_after_the_first_are_one_statement_until_another_node_appends() {
        let Some(db) = postgres_test_database().await else {
            return;
        };
        let crypto = test_field_crypto();
        let store = Store::connect(db.url(), crypto.clone()).await.unwrap();
        store.migrate().await.unwrap();
        let other = Store::connect(db.url(), crypto).await.unwrap();
        let now = time::OffsetDateTime::now_utc();
        let a = Tenant::new("acme", None, Preset::Workforce, now).unwrap();
        let b = Tenant::new("globex", None, Preset::Customer, now).unwrap();
        store.create_tenant(&a).await.unwrap();
        store.create_tenant(&b).await.unwrap();
        let hook = WebhookSubscription {
            id: Uuid::now_v7(),
            tenant_id: a.id,
            kind: SinkKind::Webhook,
            url: "https://crm.example.com/hooks/tessera".into(),
            event_types: Vec::new(),
            secret: Secret::new("whsec-test".to_string()),
            enabled: true,
            created_at: now,
        };
        store.create_webhook(&hook).await.unwrap();
        let none: &[WebhookDelivery] = &[];

        // The first append of each tenant reads its head and salt.
        let (a1, b1) = (event(a.id, "a1"), event(b.id, "b1"));
        store
            .append_events(&[(&a1, none), (&b1, none)])
            .await
            .unwrap();
        assert_eq!(counts(&store), (0, 0), "the first append reads the heads");

        // Then one statement: both heads, the salts, three entries, a delivery.
        let (a2, b2, a3) = (event(a.id, "a2"), event(b.id, "b2"), event(a.id, "a3"));
        let d = delivery(&hook, &a3);
        let entries = store
            .append_events(&[(&a2, none), (&b2, none), (&a3, std::slice::from_ref(&d))])
            .await
            .unwrap();
        assert_eq!(counts(&store), (1, 0), "one statement");
        assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 2, 3]);
        let delivered = store
            .list_deliveries(a.id, hook.id, &PageRequest::default())
            .await
            .unwrap();
        assert_eq!(delivered.items.len(), 1);
        assert_eq!(delivered.items[0].event_id, a3.id);
        let listed = store
            .list_audit(a.id, &AuditFilter::default(), &PageRequest::default())
            .await
            .unwrap();
        assert_eq!(listed.items.len(), 3);
        for (_, personal) in &listed.items {
            let personal = personal.as_ref().expect("the personal data reads back");
            assert_eq!(personal.ip.as_deref(), Some("192.0.2.7"));
        }

        // A batch with a repeated event id is refused whole, from memory too.
        let fresh = event(b.id, "b-fresh");
        let refused = store.append_events(&[(&fresh, none), (&a2, none)]).await;
        assert!(refused.is_err(), "a repeated event id is refused");
        assert_eq!(verified_seqs(&store, a.id).await, [1, 2, 3]);
        assert_eq!(verified_seqs(&store, b.id).await, [1, 2]);

        // The refusal forgot both tenants: read afresh, then from memory again.
        let (a4, b3) = (event(a.id, "a4"), event(b.id, "b3"));
        let entries = store
            .append_events(&[(&a4, none), (&b3, none)])
            .await
            .unwrap();
        assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 3]);
        assert_eq!(counts(&store), (1, 0), "read afresh");
        let b4 = event(b.id, "b4");
        assert_eq!(store.append_event(&b4, none).await.unwrap().seq, 4);
        assert_eq!(counts(&store), (2, 0));

        // Another node appends to tenant b: the next append here finds the head moved, writes
        // nothing in its statement and takes the general path; b then backs off.
        let b5 = event(b.id, "b5");
        assert_eq!(other.append_event(&b5, none).await.unwrap().seq, 5);
        let b6 = event(b.id, "b6");
        assert_eq!(store.append_event(&b6, none).await.unwrap().seq, 6);
        assert_eq!(counts(&store), (2, 1), "the head moved under the memory");
        let b7 = event(b.id, "b7");
        assert_eq!(store.append_event(&b7, none).await.unwrap().seq, 7);
        assert_eq!(counts(&store), (2, 1), "tenant b backs off");
        // Tenant a was not moved: still one statement.
        let a5 = event(a.id, "a5");
        assert_eq!(store.append_event(&a5, none).await.unwrap().seq, 5);
        assert_eq!(counts(&store), (3, 1));
        assert_eq!(verified_seqs(&store, a.id).await, [1, 2, 3, 4, 5]);
        assert_eq!(verified_seqs(&store, b.id).await, [1, 2, 3, 4, 5, 6, 7]);

        other.close().await;
        store.close().await;
        db.drop_database().await.unwrap();
    }

    #[test]
    fn the_statement_numbers_every_parameter_once() {
        for (heads, salts, entries, deliveries) in [(1, 0, 1, 0), (2, 3, 70, 4), (3, 1, 5, 0)] {
            let sql = statement_sql(heads, salts, entries, deliveries);
            let expected =
                5 * heads + 3 * salts + ENTRY_PARAMS * entries + DELIVERY_PARAMS * deliveries;
            for n in 1..=expected {
                assert_eq!(
                    sql.matches(&format!("${n},")).count() + sql.matches(&format!("${n})")).count(),
                    1,
                    "${n} in {sql}"
                );
            }
            assert!(!sql.contains(&format!("${}", expected + 1)), "{sql}");
            assert!(sql.starts_with("WITH v ") && sql.ends_with(" SELECT COUNT(*) FROM moved"));
        }
    }
}
