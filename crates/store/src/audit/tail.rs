//! What this process's audit appends left in the database, and the append that trusts it.
//!
//! The general append (`Store::append_locked` in `audit.rs`) is a conversation: `BEGIN`, lock
//! and read each tenant's head, read each subject's salt, insert the entries, `COMMIT`. Every
//! request that writes an audit event (a token grant, a sign-in) waits for the commit of its
//! entry, so each of those statements is on such a request's path: on SQLite a hand-off to the
//! writer connection's thread and back, on PostgreSQL a round trip to another process.
//!
//! But an append can know the answers before it asks: the process remembers each tenant's head
//! as its last append left it, and the salt of each subject key it used ([`AuditTail`]). With
//! those it computes the entries first and sends them at once, written only if the heads and
//! salts are still the remembered ones: on SQLite as one message of statements
//! (`audit/sqlite.rs`), on PostgreSQL as one statement (`audit/postgres.rs`). When the database
//! moved under the memory (another process or node appended to the tenant, a tenant was
//! deleted, a subject erased: a salt is never re-created from memory), nothing is written, the
//! tenants and subjects are forgotten, and the batch takes the general path, which reads them
//! afresh and is remembered.
//!
//! Several nodes appending to one tenant (PostgreSQL) move its head under each other's memory
//! all the time; there a tenant whose head was found moved takes the general path for
//! [`AuditTail::new`]'s back-off before its memory is trusted again, so a busy shared tenant
//! costs one wasted statement a back-off, not one an append.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tessera_core::TenantId;
use tessera_core::events::AuditEntry;
use tessera_core::store::StoreResult;

use super::{ChainHead, ENTRY_PARAMS, PreparedAppend, SubjectSalt, batch_subjects, batch_tenants};
use crate::Store;
use crate::webhooks::DELIVERY_PARAMS;

/// The most tenants' heads, and the most subjects' salts, remembered; past either, everything is
/// forgotten and remembered again as appends go (each forgotten one costs an append on the
/// general path).
const MOST_HEADS: usize = 10_000;
const MOST_SALTS: usize = 50_000;

/// The most parameters an append from memory binds; a larger batch (many webhook deliveries, say)
/// takes the general path, which writes in statements of bounded size. Below SQLite's limit on
/// one statement's parameters (32,766) and PostgreSQL's (65,535).
const MOST_PARAMETERS: usize = 30_000;

/// What the process's last appends left in the database, as far as it knows.
pub(crate) struct AuditTail {
    remembered: Mutex<Remembered>,
    /// How long a tenant whose head moved under the memory takes the general path.
    back_off: Duration,
    /// Batches written from memory, and batches that found the database moved and took the
    /// general path (for the tests: which path ran).
    from_memory: AtomicU64,
    moved_under_memory: AtomicU64,
}

#[derive(Default)]
struct Remembered {
    /// Per tenant: seq and hash of its chain's head.
    heads: HashMap<TenantId, (i64, String)>,
    /// Per tenant and subject: the salt of the subject's audit key.
    salts: HashMap<(TenantId, String), Vec<u8>>,
    /// Per tenant: when its head was last found moved (only with a back-off).
    moved_at: HashMap<TenantId, Instant>,
}

impl AuditTail {
    /// `back_off`: how long a tenant whose head was found moved under the memory is appended on
    /// the general path (zero: tried from memory again as soon as it is remembered).
    pub(crate) fn new(back_off: Duration) -> AuditTail {
        AuditTail {
            remembered: Mutex::default(),
            back_off,
            from_memory: AtomicU64::new(0),
            moved_under_memory: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Remembered> {
        self.remembered.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The heads of `tenants` and the salts of `subjects`, if all of them are remembered (and no
    /// tenant is backing off).
    fn recall(
        &self,
        tenants: &[TenantId],
        subjects: &[(TenantId, &str)],
    ) -> Option<(Vec<ChainHead>, Vec<SubjectSalt>)> {
        let mut remembered = self.lock();
        if !remembered.moved_at.is_empty() {
            let back_off = self.back_off;
            remembered.moved_at.retain(|_, at| at.elapsed() < back_off);
            if tenants.iter().any(|t| remembered.moved_at.contains_key(t)) {
                return None;
            }
        }
        let heads = tenants
            .iter()
            .map(|t| {
                let (seq, hash) = remembered.heads.get(t)?;
                Some((*t, *seq, hash.clone()))
            })
            .collect::<Option<Vec<_>>>()?;
        let salts = subjects
            .iter()
            .map(|(t, subject)| {
                let salt = remembered.salts.get(&(*t, subject.to_string()))?;
                Some((*t, subject.to_string(), salt.clone()))
            })
            .collect::<Option<Vec<_>>>()?;
        Some((heads, salts))
    }

    /// Remembers the heads as `entries` (committed) leave them, and `salts`.
    fn remember(&self, entries: &[AuditEntry], salts: Vec<SubjectSalt>) {
        let mut remembered = self.lock();
        if remembered.heads.len() >= MOST_HEADS {
            remembered.heads.clear();
        }
        if remembered.salts.len() + salts.len() > MOST_SALTS {
            remembered.salts.clear();
        }
        for entry in entries {
            remembered
                .heads
                .insert(entry.tenant_id, (entry.seq, entry.hash.clone()));
        }
        for (tenant, subject, salt) in salts {
            remembered.salts.insert((tenant, subject), salt);
        }
    }

    /// Forgets the heads of `tenants` and the salts of `subjects`; `moved`: they were found
    /// moved under the memory, so the tenants back off.
    fn forget(&self, tenants: &[TenantId], subjects: &[(TenantId, &str)], moved: bool) {
        let mut remembered = self.lock();
        for t in tenants {
            remembered.heads.remove(t);
        }
        for (t, subject) in subjects {
            remembered.salts.remove(&(*t, subject.to_string()));
        }
        if moved && !self.back_off.is_zero() {
            if remembered.moved_at.len() >= MOST_HEADS {
                remembered.moved_at.clear();
            }
            let now = Instant::now();
            for t in tenants {
                remembered.moved_at.insert(*t, now);
            }
        }
    }
}

/// Appends a prepared batch: from what the store's tail remembers when it can, otherwise on the
/// general path. See the module comment.
pub(crate) async fn append(
    store: &Store,
    prepared: &[PreparedAppend<'_>],
    mut bodies: Vec<serde_json::Value>,
) -> StoreResult<Vec<AuditEntry>> {
    let tail = &store.audit_tail;
    let tenants = batch_tenants(prepared);
    let subjects = batch_subjects(prepared);
    let parameters = 5 * tenants.len()
        + 3 * subjects.len()
        + prepared
            .iter()
            .map(|p| ENTRY_PARAMS + DELIVERY_PARAMS * p.deliveries.len())
            .sum::<usize>();
    let recalled = if parameters <= MOST_PARAMETERS {
        tail.recall(&tenants, &subjects)
    } else {
        None
    };
    if let Some((start, salts)) = recalled {
        let mut heads = start.clone();
        let entries = store.chain_entries(prepared, &mut bodies, &mut heads, &salts)?;
        let written = match &store.db {
            crate::Db::Sqlite { write, .. } => {
                super::sqlite::write_in_one_message(
                    write, prepared, &entries, &start, &heads, &salts,
                )
                .await
            }
            crate::Db::Postgres(pool) => {
                super::postgres::write_in_one_statement(
                    pool, prepared, &entries, &start, &heads, &salts,
                )
                .await
            }
        };
        match written {
            Ok(true) => {
                tail.from_memory.fetch_add(1, Ordering::Relaxed);
                tail.remember(&entries, Vec::new());
                return Ok(entries);
            }
            Ok(false) => {
                // The database moved under the memory: nothing was written.
                tail.moved_under_memory.fetch_add(1, Ordering::Relaxed);
                tail.forget(&tenants, &subjects, true);
                for (entry, body) in entries.into_iter().zip(bodies.iter_mut()) {
                    *body = entry.body;
                }
            }
            Err(e) => {
                tail.forget(&tenants, &subjects, false);
                return Err(e);
            }
        }
    }
    match store.append_locked(prepared, bodies).await {
        Ok((entries, salts)) => {
            tail.remember(&entries, salts);
            Ok(entries)
        }
        Err(e) => {
            tail.forget(&tenants, &subjects, false);
            Err(e)
        }
    }
}

/// What the tests of both backends' appends from memory share.
#[cfg(test)]
pub(super) mod tests {
    use std::sync::atomic::Ordering;

    use tessera_core::TenantId;
    use tessera_core::events::{Actor, Event, EventKind};

    use crate::Store;

    /// Batches `store` wrote from memory, and batches that found the database moved.
    pub(crate) fn counts(store: &Store) -> (u64, u64) {
        let t = &store.audit_tail;
        (
            t.from_memory.load(Ordering::Relaxed),
            t.moved_under_memory.load(Ordering::Relaxed),
        )
    }

    /// An event of `tenant` with personal data (sealed under the tenant's audit key).
    pub(crate) fn event(tenant: TenantId, name: &str) -> Event {
        Event::new(
            tenant,
            time::OffsetDateTime::now_utc(),
            EventKind::GroupCreated { name: name.into() },
            Actor::cli(),
        )
        .ip(Some("192.0.2.7".into()))
    }
}
