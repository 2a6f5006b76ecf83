//! SQLite's audit append from memory, in one hand-off to the writer's thread (see
//! `audit/tail.rs` for when it is tried and what happens when it finds the database moved).
//!
//! On SQLite each statement of the general append is a hand-off to the writer connection's
//! thread and back; from memory, the whole batch is one message of statements the thread runs
//! one after the other:
//!
//! ```text
//! BEGIN IMMEDIATE;
//! UPDATE audit_heads SET seq = seq WHERE (tenant_id, seq, hash) IN (<the heads remembered>)
//!     AND <every salt remembered is the one stored>;            -- the check
//! UPDATE audit_heads SET seq = <new>, hash = <new> … WHERE … AND changes() = <heads>;
//! SELECT changes();                                               -- heads moved: all or none
//! INSERT INTO audit_entries … SELECT … WHERE changes() = <heads>;  -- (64 entries a statement)
//! INSERT INTO webhook_deliveries … WHERE changes() = <entries>;
//! COMMIT
//! ```
//!
//! The check changes one row per head that is as remembered, and only if every salt is too;
//! each statement after it writes only if the one before changed what it should, so the message
//! writes the whole batch or nothing. When the database moved under the memory it writes
//! nothing and the empty transaction commits.
//!
//! A message stopped half-way (a repeated event id fails its insert) leaves its transaction
//! open: it is rolled back at once, and a connection whose rollback cannot be confirmed, or
//! whose append was cancelled mid-message, is closed rather than lent again (closing rolls it
//! back too); see [`HandTransaction`].

use std::fmt::Write;

use tessera_core::StoreError;
use tessera_core::events::AuditEntry;
use tessera_core::store::StoreResult;

use super::{ChainHead, ENTRIES_PER_INSERT, ENTRY_PARAMS, PreparedAppend, SubjectSalt, bind_entry};
use crate::error::from_sqlx;
use crate::sqlite_pool::{HandTransaction, SqlitePool};
use crate::webhooks::{DELIVERY_PARAMS, bind_delivery, delivery_columns};

/// Writes `entries` (chained from `start` to `heads`, sealed under `salts`) and their deliveries
/// in one message. `Ok(false)`: a head or salt was not as remembered, and nothing was written.
pub(super) async fn write_in_one_message(
    write: &SqlitePool,
    prepared: &[PreparedAppend<'_>],
    entries: &[AuditEntry],
    start: &[ChainHead],
    heads: &[ChainHead],
    salts: &[SubjectSalt],
) -> StoreResult<bool> {
    let chunks: Vec<usize> = prepared
        .chunks(ENTRIES_PER_INSERT)
        .map(<[_]>::len)
        .collect();
    let deliveries = prepared.iter().map(|p| p.deliveries.len()).sum();
    let sql = message_sql(start.len(), salts.len(), &chunks, deliveries);
    let tenant_texts: Vec<String> = start.iter().map(|(t, _, _)| t.to_string()).collect();
    let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql));
    // The check: the heads as remembered, then the salts.
    for ((_, seq, hash), tenant) in start.iter().zip(&tenant_texts) {
        q = q.bind(tenant.as_str()).bind(*seq).bind(hash.as_str());
    }
    for (tenant, subject, salt) in salts {
        q = q
            .bind(tenant.to_string())
            .bind(subject.as_str())
            .bind(salt.as_slice());
    }
    // The move: the new seqs, the new hashes, the tenants.
    for ((_, seq, _), tenant) in heads.iter().zip(&tenant_texts) {
        q = q.bind(tenant.as_str()).bind(*seq);
    }
    for ((_, _, hash), tenant) in heads.iter().zip(&tenant_texts) {
        q = q.bind(tenant.as_str()).bind(hash.as_str());
    }
    for tenant in &tenant_texts {
        q = q.bind(tenant.as_str());
    }
    for (p, entry) in prepared.iter().zip(entries) {
        q = bind_entry!(q, p, entry);
    }
    for d in prepared.iter().flat_map(|p| &p.deliveries) {
        q = bind_delivery!(q, d);
    }
    let lease = write.acquire().await.map_err(from_sqlx)?;
    let mut open = HandTransaction::begin(lease);
    match q.fetch_all(open.connection()).await {
        Ok(moved) => {
            open.ended();
            match moved.as_slice() {
                [n] if *n == start.len() as i64 => Ok(true),
                [0] => Ok(false),
                other => Err(StoreError::Backend(format!(
                    "an audit append moved {other:?} chain heads of {}",
                    start.len()
                ))),
            }
        }
        Err(e) => {
            open.roll_back().await;
            Err(from_sqlx(e))
        }
    }
}

/// The message of `write_in_one_message`, with anonymous parameters (SQLite binds them across
/// the statements in order): `heads` heads, `salts` salts, entries in statements of `chunks`
/// rows, `deliveries` deliveries.
fn message_sql(heads: usize, salts: usize, chunks: &[usize], deliveries: usize) -> String {
    let mut sql = String::with_capacity(600 + 60 * heads + 20 * salts + 90 * chunks.len());
    sql.push_str(
        "BEGIN IMMEDIATE; \
         UPDATE audit_heads SET seq = seq WHERE (tenant_id, seq, hash) IN (VALUES ",
    );
    crate::dialect::push_values(&mut sql, heads, 3, false);
    sql.push(')');
    if salts > 0 {
        sql.push_str(
            " AND (SELECT COUNT(*) FROM audit_subject_keys \
             WHERE (tenant_id, subject_id, salt) IN (VALUES ",
        );
        crate::dialect::push_values(&mut sql, salts, 3, false);
        let _ = write!(sql, ")) = {salts}");
    }
    sql.push_str("; UPDATE audit_heads SET seq = CASE tenant_id");
    for _ in 0..heads {
        sql.push_str(" WHEN ? THEN ?");
    }
    sql.push_str(" END, hash = CASE tenant_id");
    for _ in 0..heads {
        sql.push_str(" WHEN ? THEN ?");
    }
    sql.push_str(" END WHERE tenant_id IN (");
    for h in 0..heads {
        sql.push_str(if h == 0 { "?" } else { ", ?" });
    }
    let _ = write!(sql, ") AND changes() = {heads}; SELECT changes()");
    // Each statement writes only if the one before it changed all it should have.
    let mut before = heads;
    for &rows in chunks {
        sql.push_str(
            "; INSERT INTO audit_entries (tenant_id, seq, event_id, occurred_at, event_type, \
             actor_id, target_id, outcome, body, subject_user_id, personal_sealed, \
             personal_digest, prev_hash, hash) SELECT * FROM (VALUES ",
        );
        crate::dialect::push_values(&mut sql, rows, ENTRY_PARAMS, false);
        let _ = write!(sql, ") WHERE changes() = {before}");
        before = rows;
    }
    if deliveries > 0 {
        // A delivery whose subscription was deleted meanwhile is dropped, as on the general path.
        sql.push_str(concat!(
            "; INSERT INTO webhook_deliveries (",
            delivery_columns!(),
            ") SELECT v.* FROM (VALUES "
        ));
        crate::dialect::push_values(&mut sql, deliveries, DELIVERY_PARAMS, false);
        let _ = write!(
            sql,
            ") AS v JOIN webhook_subscriptions s ON s.tenant_id = v.column2 \
             AND s.id = v.column3 WHERE changes() = {before}"
        );
    }
    sql.push_str("; COMMIT");
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use crate::audit::tail::tests::{counts, event};
    use crate::testing::test_field_crypto;
    use tessera_core::TenantId;
    use tessera_core::store::{AuditStore, TenantStore};
    use tessera_core::tenant::{Preset, Tenant};

    /// Appends one event of `tenant` on `store`; its entry's seq.
    async fn appended_seq(store: &Store, tenant: TenantId, name: &str) -> i64 {
        store
            .append_event(&event(tenant, name), &[])
            .await
            .unwrap()
            .seq
    }

    /// The first append of a tenant reads its head; the next ones are one message each, until
    /// another store (another process on the file) appends: then one append finds the head
    /// moved, writes nothing in its message and takes the general path, and the chain goes on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn appends_after_the_first_are_one_message_until_another_store_appends() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let crypto = test_field_crypto();
        let store = Store::connect(&url, crypto.clone()).await.unwrap();
        store.migrate().await.unwrap();
        let other = Store::connect(&url, crypto).await.unwrap();
        let t = Tenant::new(
            "acme",
            None,
            Preset::Workforce,
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        store.create_tenant(&t).await.unwrap();

        assert_eq!(appended_seq(&store, t.id, "a").await, 1);
        assert_eq!(counts(&store), (0, 0), "the first append reads the head");
        assert_eq!(appended_seq(&store, t.id, "b").await, 2);
        assert_eq!(appended_seq(&store, t.id, "c").await, 3);
        assert_eq!(counts(&store), (2, 0), "then one message each");

        assert_eq!(appended_seq(&other, t.id, "d").await, 4);
        assert_eq!(appended_seq(&store, t.id, "e").await, 5);
        assert_eq!(counts(&store), (2, 1), "the head moved under the memory");
        assert_eq!(appended_seq(&store, t.id, "f").await, 6);
        assert_eq!(counts(&store), (3, 1));

        let chain = store.audit_chain(t.id, 0, 10).await.unwrap();
        assert_eq!(chain.len(), 6);
        for pair in chain.windows(2) {
            assert_eq!(pair[1].prev_hash, pair[0].hash);
        }
        other.close().await;
        store.close().await;
    }

    #[test]
    fn the_message_binds_as_many_parameters_as_it_names() {
        for (heads, salts, chunks, deliveries) in [
            (1, 0, vec![1], 0),
            (2, 3, vec![64, 10], 4),
            (3, 1, vec![5], 0),
        ] {
            let sql = message_sql(heads, salts, &chunks, deliveries);
            let entries: usize = chunks.iter().sum();
            let expected = 3 * heads
                + 3 * salts
                + 5 * heads
                + ENTRY_PARAMS * entries
                + DELIVERY_PARAMS * deliveries;
            assert_eq!(sql.matches('?').count(), expected, "{sql}");
            assert!(sql.starts_with("BEGIN IMMEDIATE;") && sql.ends_with("; COMMIT"));
        }
    }
}
