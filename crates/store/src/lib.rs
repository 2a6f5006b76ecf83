//! Tessera's storage adapter: one [`Store`] that implements every store trait of `tessera-core`
//! on SQLite (the embedded default) and on PostgreSQL.
//!
//! How the two backends share one implementation:
//! - every query is one SQL text, written in the portable subset both understand (`$N`
//!   parameters, `ON CONFLICT … DO UPDATE`, `RETURNING`), and the dispatch macros below expand
//!   the same query-building expression once per pool type, so both drivers type-check it;
//! - the dialect differences (connection options, DDL, how a unique violation names its
//!   constraint, row-locking clauses) live in [`dialect`] and in `migrations/sqlite` /
//!   `migrations/postgres`;
//! - columns use portable types: TEXT ids, integer unix milliseconds, JSON in TEXT, sealed bytes.
//!
//! Personal data (emails, names, phone numbers, custom attributes, session IPs and user agents)
//! is sealed with [`FieldCrypto`] before it reaches SQL; emails are looked up through a keyed blind
//! index. A dump of the database alone reveals no one's identity.
//!
//! OAuth state (`grants.rs`, `signing_keys.rs`) holds no secret in the clear either: codes, refresh
//! tokens, device codes and opaque access tokens are stored as the hashes the caller computes, and
//! signing keys arrive sealed by the caller.
//!
//! The audit trail (`audit.rs`) is a hash chain per tenant whose personal data is sealed under a
//! per-subject key that erasure destroys; the webhook outbox (`webhooks.rs`) is written in the
//! same transaction as the audit entry of its event, and webhook secrets are sealed.
//!
//! Consent records (`privacy.rs`) are append-only, with their IP address and user agent sealed;
//! erasing an account clears those and keeps the rest as pseudonymous proof.
//!
//! Access control (`authz.rs`) keeps roles, composites, assignments and group nesting behind
//! `(tenant_id, id)` foreign keys, and raises a per-tenant version in the transaction of every
//! change to them or to group membership, so nodes know when their cached graph is stale.

#[macro_use]
mod macros;
// Before the modules that use its `for_update!` macros.
#[macro_use]
mod dialect;
mod nodelay;
mod sqlite_pool;

mod account_deletions;
mod analytics;
mod api_keys;
mod audit;
mod authz;
mod checkpoint;
mod clients;
mod codec;
mod error;
mod federation;
mod grants;
mod group_commit;
mod groups;
mod job_leases;
mod logos;
mod mail;
mod mfa;
mod permission_usage;
mod privacy;
mod privacy_requests;
mod risk_profiles;
mod risk_velocity;
pub mod schema;
mod sessions;
mod signing_keys;
mod tenants;
mod throttle;
mod users;
mod verification;
mod webhooks;

#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;

use sqlx::PgPool;

use crate::sqlite_pool::SqlitePool;
use tessera_core::StoreError;
use tessera_crypto::FieldCrypto;

/// How long, on PostgreSQL, a tenant whose audit head another node moved takes the general
/// append path before this process's memory of it is trusted again (`audit/tail.rs`).
const AUDIT_MEMORY_BACK_OFF: std::time::Duration = std::time::Duration::from_secs(1);

/// The database behind Tessera: cheap to clone (a pool handle and a shared key), safe to share
/// between tasks.
#[derive(Clone)]
pub struct Store {
    db: Db,
    crypto: Arc<FieldCrypto>,
    /// The audit chain heads and subject salts this process's appends left (`audit/tail.rs`).
    audit_tail: Arc<audit::tail::AuditTail>,
}

/// The pools of whichever backend the deployment uses. Query code never matches on this by hand:
/// it goes through the macros in `macros.rs`.
///
/// SQLite lets one writer in at a time, and a connection that finds the write lock taken sleeps
/// in its busy handler (milliseconds at a time) before it tries again. So every write goes through
/// one connection (`write`), and writers wait their turn in the pool's queue instead; reads use
/// `read`, whose connections refuse writes (`PRAGMA query_only`). A file's write-ahead log is
/// checkpointed by a connection and task of its own (`checkpoint.rs`). An in-memory database has
/// one connection, which both name, and no log.
#[derive(Clone)]
pub(crate) enum Db {
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
        checkpointer: Option<Arc<checkpoint::Checkpointer>>,
        /// Refresh-token rotations, group-committed on `write` (`group_commit.rs`).
        rotations: Arc<group_commit::GroupCommit<grants::Rotation>>,
    },
    Postgres(PgPool),
}

impl Store {
    /// Connects to the database named by `url`:
    /// - `sqlite://path/to/file.db` (or `sqlite:path`): the file (and its folder) is created when
    ///   missing; WAL journal, foreign keys on, 5 s busy timeout, one connection for writes and
    ///   several for reads;
    /// - `sqlite::memory:`: a private in-memory database (tests, demos);
    /// - `postgres://…` or `postgresql://…`.
    ///
    /// Any other form is refused with a message naming `TESSERA_DATABASE_URL`.
    pub async fn connect(url: &str, crypto: Arc<FieldCrypto>) -> Result<Store, StoreError> {
        let db = dialect::connect(url).await?;
        // On PostgreSQL other nodes append to the same tenants: a tenant whose head moved under
        // this process's memory takes the general path for a while (see `audit/tail.rs`).
        let back_off = match db {
            Db::Sqlite { .. } => std::time::Duration::ZERO,
            Db::Postgres(_) => AUDIT_MEMORY_BACK_OFF,
        };
        Ok(Store {
            db,
            crypto,
            audit_tail: Arc::new(audit::tail::AuditTail::new(back_off)),
        })
    }

    /// Brings the schema up to date. Forward-only and idempotent: running it again (or from
    /// several nodes at once on PostgreSQL, which takes an advisory lock) changes nothing.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        dialect::migrate(&self.db).await
    }

    /// A round trip to the database, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        execute!(self, sqlx::query("SELECT 1"))?;
        Ok(())
    }

    /// Whether statements built at run time number their parameters (`$1`, PostgreSQL) rather
    /// than bind them in order (`?`, SQLite; see `dialect::push_values`).
    pub(crate) fn numbered_parameters(&self) -> bool {
        matches!(self.db, Db::Postgres(_))
    }

    /// `"sqlite"` or `"postgres"`, for logs and diagnostics.
    pub fn backend(&self) -> &'static str {
        match self.db {
            Db::Sqlite { .. } => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection; waits for the ones in use to be returned. On SQLite this also
    /// checkpoints the write-ahead log into the database file.
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite {
                read,
                write,
                checkpointer,
                ..
            } => {
                if let Some(checkpointer) = checkpointer {
                    checkpointer.close().await;
                }
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}
