//! Raw access to the deployment's database, bypassing the product: reading the audit tables as
//! stored, and changing them as someone with database access alone could.

use sqlx::Connection;

use crate::harness::{Backend, Deployment};

/// Runs `$body` with `$conn` bound to a fresh connection to the deployment's database (a
/// `SqliteConnection` or a `PgConnection`; the body is compiled once for each), then closes it.
macro_rules! with_db {
    ($dep:expr, $conn:ident => $body:expr) => {{
        let dep: &$crate::harness::Deployment = $dep;
        match dep.backend() {
            $crate::harness::Backend::Sqlite => {
                let mut $conn = $crate::support::db::sqlite(dep).await;
                let out = $body;
                let _ = sqlx::Connection::close($conn).await;
                out
            }
            $crate::harness::Backend::Postgres(_) => {
                let mut $conn = $crate::support::db::postgres(dep).await;
                let out = $body;
                let _ = sqlx::Connection::close($conn).await;
                out
            }
        }
    }};
}

pub async fn sqlite(dep: &Deployment) -> sqlx::SqliteConnection {
    sqlx::SqliteConnection::connect(&dep.database_url())
        .await
        .expect("the SQLite file opens")
}

pub async fn postgres(dep: &Deployment) -> sqlx::PgConnection {
    assert!(matches!(dep.backend(), Backend::Postgres(_)));
    sqlx::PgConnection::connect(&dep.database_url())
        .await
        .expect("the PostgreSQL test database accepts connections")
}

/// One row of `audit_entries`, as stored.
#[derive(Clone, Debug)]
pub struct EntryRow {
    pub seq: i64,
    pub event_id: String,
    pub occurred_at: i64,
    pub event_type: String,
    pub actor_id: Option<String>,
    pub target_id: Option<String>,
    pub outcome: String,
    pub body: String,
    pub subject_user_id: Option<String>,
    pub personal_sealed: Option<Vec<u8>>,
    pub personal_digest: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

const ENTRY_COLUMNS: &str = "seq, event_id, occurred_at, event_type, actor_id, target_id, \
    outcome, body, subject_user_id, personal_sealed, personal_digest, prev_hash, hash";

type EntryTuple = (
    i64,
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<Vec<u8>>,
    Option<String>,
    String,
    String,
);

impl From<EntryTuple> for EntryRow {
    fn from(t: EntryTuple) -> EntryRow {
        EntryRow {
            seq: t.0,
            event_id: t.1,
            occurred_at: t.2,
            event_type: t.3,
            actor_id: t.4,
            target_id: t.5,
            outcome: t.6,
            body: t.7,
            subject_user_id: t.8,
            personal_sealed: t.9,
            personal_digest: t.10,
            prev_hash: t.11,
            hash: t.12,
        }
    }
}

/// The tenant's stored entries, by seq.
pub async fn entries(dep: &Deployment, tenant: &str) -> Vec<EntryRow> {
    let sql =
        format!("SELECT {ENTRY_COLUMNS} FROM audit_entries WHERE tenant_id = $1 ORDER BY seq");
    let rows: Vec<EntryTuple> = with_db!(dep, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant)
        .fetch_all(&mut c)
        .await
        .expect("audit_entries can be read"));
    rows.into_iter().map(EntryRow::from).collect()
}

/// `(seq, hash, anchor_seq, anchor_hash)` of the tenant's `audit_heads` row.
pub async fn head(dep: &Deployment, tenant: &str) -> (i64, String, i64, String) {
    with_db!(dep, c => sqlx::query_as::<_, (i64, String, i64, String)>(
        "SELECT seq, hash, anchor_seq, anchor_hash FROM audit_heads WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_one(&mut c)
    .await
    .expect("the tenant has a chain head"))
}

/// `(seq, hash, signature)` of the tenant's checkpoints, by seq.
pub async fn checkpoints(dep: &Deployment, tenant: &str) -> Vec<(i64, String, String)> {
    with_db!(dep, c => sqlx::query_as::<_, (i64, String, String)>(
        "SELECT seq, hash, signature FROM audit_checkpoints WHERE tenant_id = $1 ORDER BY seq",
    )
    .bind(tenant)
    .fetch_all(&mut c)
    .await
    .expect("audit_checkpoints can be read"))
}

/// The subjects that still have an audit key (`audit_subject_keys.subject_id`).
pub async fn subject_keys(dep: &Deployment, tenant: &str) -> Vec<String> {
    with_db!(dep, c => sqlx::query_scalar::<_, String>(
        "SELECT subject_id FROM audit_subject_keys WHERE tenant_id = $1 ORDER BY subject_id",
    )
    .bind(tenant)
    .fetch_all(&mut c)
    .await
    .expect("audit_subject_keys can be read"))
}

/// Runs one statement built by the test (values it made itself) and returns the rows affected.
pub async fn exec(dep: &Deployment, sql: String) -> u64 {
    let what = sql.clone();
    with_db!(dep, c => sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut c)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"))
        .rows_affected())
}

/// One row of `webhook_deliveries`: `(id, status, attempts, next_attempt_at, lease_until)`.
pub type DeliveryRow = (String, String, i64, i64, Option<i64>);

/// The deliveries of a subscription, oldest first.
pub async fn deliveries(dep: &Deployment, subscription: &str) -> Vec<DeliveryRow> {
    with_db!(dep, c => sqlx::query_as::<_, DeliveryRow>(
        "SELECT id, status, attempts, next_attempt_at, lease_until FROM webhook_deliveries \
         WHERE subscription_id = $1 ORDER BY created_at, id",
    )
    .bind(subscription)
    .fetch_all(&mut c)
    .await
    .expect("webhook_deliveries can be read"))
}

/// Makes a pending delivery due now (instead of waiting out its backoff).
pub async fn make_due(dep: &Deployment, delivery: &str) -> u64 {
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    with_db!(dep, c => sqlx::query(
        "UPDATE webhook_deliveries SET next_attempt_at = $1 WHERE id = $2 AND status = 'pending'",
    )
    .bind(now_ms)
    .bind(delivery)
    .execute(&mut c)
    .await
    .expect("a delivery can be made due")
    .rows_affected())
}
