//! Everything that differs between SQLite and PostgreSQL outside the SQL text of queries:
//! connection options, the embedded migrations of each dialect, how each driver names the
//! unique rule a write broke, and row locking (the only clause whose spelling differs, see
//! [`Locking`]). Query code stays dialect-free.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::error::DatabaseError;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use tessera_core::StoreError;

use crate::Db;
use crate::checkpoint::Checkpointer;
use crate::group_commit::GroupCommit;
use crate::sqlite_pool::SqlitePool;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

const ACCEPTED_URLS: &str = "TESSERA_DATABASE_URL must be sqlite://path/to/tessera.db, sqlite::memory: \
     or postgres://user:password@host:5432/database (postgresql:// also works)";

/// How long a writer waits for SQLite's single write lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections for reads; writes have one of their own (see `Db`).
const SQLITE_READ_CONNECTIONS: u32 = 8;
const POSTGRES_MAX_CONNECTIONS: u32 = 16;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// A PostgreSQL connection idle for longer than this is pinged before it is handed out; one used
/// more recently is not (see [`postgres_pool`]).
const POSTGRES_PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

pub(crate) async fn connect(url: &str) -> Result<Db, StoreError> {
    let url = url.trim();
    if url.starts_with("sqlite:") {
        connect_sqlite(url).await
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        connect_postgres(url).await
    } else {
        Err(StoreError::Backend(format!(
            "unsupported database URL: {ACCEPTED_URLS}"
        )))
    }
}

async fn connect_sqlite(url: &str) -> Result<Db, StoreError> {
    // Errors here never repeat the URL: it may be a path an operator considers private.
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| {
            StoreError::Backend(format!(
                "invalid SQLite URL in TESSERA_DATABASE_URL ({e}); {ACCEPTED_URLS}"
            ))
        })?
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT);
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    if in_memory {
        // An in-memory database lives as long as one connection to it does: keep exactly one
        // connection, forever, for reads and writes alike.
        let pool = SqlitePool::open(options, 1, ACQUIRE_TIMEOUT, None)
            .await
            .map_err(cannot_open_sqlite)?;
        return Ok(Db::Sqlite {
            read: pool.clone(),
            rotations: Arc::new(GroupCommit::new(pool.clone())),
            write: pool,
            checkpointer: None,
        });
    }
    let path = options.get_filename().to_path_buf();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            StoreError::Backend(format!(
                "cannot create the folder {} for the SQLite database: {e}",
                parent.display()
            ))
        })?;
    }
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL is durable in WAL mode except for the last transactions before a power loss.
        .synchronous(SqliteSynchronous::Normal);
    // The writer first: it creates the file and switches it to WAL.
    // Both pools are the store's own (`sqlite_pool.rs`), not sqlx's: sqlx's pool sends every
    // connection a round trip to its thread as it comes back (and by default before it is lent),
    // which a file opened by this process does not need.
    let write = SqlitePool::open(
        options
            .clone()
            .pragma(
                "wal_autocheckpoint",
                crate::checkpoint::WRITER_AUTOCHECKPOINT_PAGES,
            )
            // The writer's temporary structures (a statement's journal, the rows a
            // `RETURNING` collects) stay in memory: as files (SQLite's default) each was
            // created in the system's temporary folder and deleted again, hundreds of times a
            // second under load, every one a wait inside a commit. Its statements are small;
            // the readers, whose sorts can be large, keep the default.
            .pragma("temp_store", "MEMORY"),
        1,
        ACQUIRE_TIMEOUT,
        Some(crate::sqlite_pool::IDLE_TIMEOUT),
    )
    .await
    .map_err(cannot_open_sqlite)?;
    let read = SqlitePool::open(
        options.clone().pragma("query_only", "ON"),
        SQLITE_READ_CONNECTIONS,
        ACQUIRE_TIMEOUT,
        Some(crate::sqlite_pool::IDLE_TIMEOUT),
    )
    .await
    .map_err(cannot_open_sqlite)?;
    let checkpointer = Checkpointer::start(options, write.clone())
        .await
        .map_err(cannot_open_sqlite)?;
    Ok(Db::Sqlite {
        read,
        rotations: Arc::new(GroupCommit::new(write.clone())),
        write,
        checkpointer: Some(checkpointer),
    })
}

fn cannot_open_sqlite(e: sqlx::Error) -> StoreError {
    StoreError::Backend(format!("cannot open the SQLite database: {e}"))
}

async fn connect_postgres(url: &str) -> Result<Db, StoreError> {
    let options = PgConnectOptions::from_str(url).map_err(|e| {
        StoreError::Backend(format!(
            "invalid PostgreSQL URL in TESSERA_DATABASE_URL ({e}); {ACCEPTED_URLS}"
        ))
    })?;
    let pool = if loopback_without_sslmode(url, &options) {
        match postgres_pool(options.clone().ssl_mode(PgSslMode::Disable)).await {
            // A server that accepts only encrypted connections (`hostssl` rules) refuses this
            // one itself (28000); it gets the driver's default after all. A server that cannot
            // be reached is not tried twice.
            Err(sqlx::Error::Database(_)) => postgres_pool(options).await,
            other => other,
        }
    } else {
        postgres_pool(options).await
    };
    let pool =
        pool.map_err(|e| StoreError::Backend(format!("cannot connect to PostgreSQL: {e}")))?;
    Ok(Db::Postgres(pool))
}

async fn postgres_pool(options: PgConnectOptions) -> Result<sqlx::PgPool, sqlx::Error> {
    let port = options.get_port();
    let over_tcp = options.get_socket().is_none();
    PgPoolOptions::new()
        .max_connections(POSTGRES_MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // sqlx pings every connection as it comes back to the pool, and by default again before
        // handing it out: with both, each statement cost three round trips to the server instead
        // of one. A connection used within the last second was checked as it came back; only
        // one idle for longer (the server or the network may have dropped it since) is pinged
        // before use.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > POSTGRES_PING_WHEN_IDLE_FOR {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        // Nagle's algorithm off on each new connection (see `nodelay.rs`).
        .after_connect(move |_, _| {
            Box::pin(async move {
                if over_tcp {
                    crate::nodelay::on_sockets_to_port(port);
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
}

/// Whether the URL names a server on this host's loopback interface and no `sslmode` is set (in
/// the URL or `PGSSLMODE`). There TLS protects nothing (the traffic never leaves the host) and
/// the driver's default (`prefer`: TLS whenever the server offers it) costs CPU on both ends
/// (docs/performance-history.md: client-credentials 6,967/s without TLS against 4,795–6,348/s with it),
/// so such connections try without TLS first (and fall back to the default when the server
/// refuses them). Any other host keeps the driver's default; an explicit `sslmode` always wins.
fn loopback_without_sslmode(url: &str, options: &PgConnectOptions) -> bool {
    let explicit = url.split_once('?').is_some_and(|(_, query)| {
        query
            .split('&')
            .any(|pair| pair.to_ascii_lowercase().starts_with("sslmode="))
    }) || std::env::var_os("PGSSLMODE").is_some();
    let host = options
        .get_host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = options.get_socket().is_none()
        && (host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()));
    loopback && !explicit
}

pub(crate) async fn migrate(db: &Db) -> Result<(), StoreError> {
    let result = match db {
        Db::Sqlite { write, .. } => match write.acquire().await {
            Ok(mut lease) => SQLITE_MIGRATIONS.run(lease.connection()).await,
            Err(e) => Err(e.into()),
        },
        Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
    };
    result.map_err(|e| StoreError::Backend(format!("database migration failed: {e}")))
}

/// A unique rule of the schema and the name it reports to callers (`StoreError::Conflict(name)`).
/// PostgreSQL names the violated constraint or index; SQLite lists the columns
/// (`UNIQUE constraint failed: users.tenant_id, users.email_bidx`).
struct UniqueRule {
    postgres: &'static str,
    sqlite: &'static str,
    name: &'static str,
}

const fn rule(postgres: &'static str, sqlite: &'static str, name: &'static str) -> UniqueRule {
    UniqueRule {
        postgres,
        sqlite,
        name,
    }
}

const UNIQUE_RULES: &[UniqueRule] = &[
    rule("tenants_slug_unique", "tenants.slug", "slug"),
    rule("tenants_pkey", "tenants.id", "id"),
    rule(
        "users_email_unique",
        "users.tenant_id, users.email_bidx",
        "email",
    ),
    rule("users_pkey", "users.tenant_id, users.id", "id"),
    rule(
        "groups_name_unique",
        "groups.tenant_id, groups.name",
        "name",
    ),
    rule("groups_pkey", "groups.tenant_id, groups.id", "id"),
    rule(
        "clients_pkey",
        "clients.tenant_id, clients.client_id",
        "client_id",
    ),
    rule("sessions_pkey", "sessions.id", "id"),
    rule(
        "sessions_token_hash_idx",
        "sessions.token_hash",
        "token_hash",
    ),
    rule("api_keys_pkey", "api_keys.id", "id"),
    rule("api_keys_key_hash_idx", "api_keys.key_hash", "key_hash"),
    rule(
        "sessions_tenant_id_unique",
        "sessions.tenant_id, sessions.id",
        "id",
    ),
    rule(
        "signing_keys_pkey",
        "signing_keys.tenant_id, signing_keys.kid",
        "kid",
    ),
    rule(
        "signing_keys_active_idx",
        "signing_keys.tenant_id, signing_keys.alg",
        "active_key",
    ),
    rule(
        "authorization_codes_pkey",
        "authorization_codes.code_hash",
        "code_hash",
    ),
    rule(
        "refresh_tokens_pkey",
        "refresh_tokens.token_hash",
        "token_hash",
    ),
    rule("access_tokens_pkey", "access_tokens.token_id", "token_id"),
    rule(
        "device_authorizations_pkey",
        "device_authorizations.device_code_hash",
        "device_code_hash",
    ),
    rule(
        "device_authorizations_user_code_unique",
        "device_authorizations.tenant_id, device_authorizations.user_code",
        "user_code",
    ),
    rule(
        "audit_entries_event_id_unique",
        "audit_entries.event_id",
        "event_id",
    ),
    rule(
        "audit_entries_pkey",
        "audit_entries.tenant_id, audit_entries.seq",
        "seq",
    ),
    rule(
        "audit_checkpoints_pkey",
        "audit_checkpoints.tenant_id, audit_checkpoints.seq",
        "seq",
    ),
    rule(
        "webhook_subscriptions_pkey",
        "webhook_subscriptions.tenant_id, webhook_subscriptions.id",
        "id",
    ),
    rule("webhook_deliveries_pkey", "webhook_deliveries.id", "id"),
    rule("roles_pkey", "roles.tenant_id, roles.id", "id"),
    // An index on an expression: SQLite names the index instead of listing columns.
    rule("roles_name_unique", "index 'roles_name_unique'", "name"),
    rule("role_assignments_pkey", "role_assignments.id", "id"),
    rule(
        "mfa_factors_credential_idx",
        "mfa_factors.tenant_id, mfa_factors.credential_id",
        "credential_id",
    ),
    rule("mfa_factors_pkey", "mfa_factors.id", "id"),
    rule("login_flows_pkey", "login_flows.id", "id"),
    rule("login_flows_link_idx", "login_flows.link_hash", "link_hash"),
    rule(
        "identity_providers_alias_unique",
        "identity_providers.tenant_id, identity_providers.alias",
        "alias",
    ),
    rule(
        "identity_providers_pkey",
        "identity_providers.tenant_id, identity_providers.id",
        "id",
    ),
    rule(
        "linked_identities_subject_unique",
        "linked_identities.tenant_id, linked_identities.provider_id, linked_identities.subject_bidx",
        "subject",
    ),
    rule(
        "linked_identities_user_unique",
        "linked_identities.tenant_id, linked_identities.provider_id, linked_identities.user_id",
        "provider",
    ),
    rule("linked_identities_pkey", "linked_identities.id", "id"),
    rule(
        "federation_states_state_idx",
        "federation_states.state_hash",
        "state_hash",
    ),
    rule("federation_states_pkey", "federation_states.id", "id"),
];

/// Appends the rows of a multi-row `VALUES` list to `sql`: `rows` groups of `columns` parameters,
/// numbered (`($1, $2), ($3, $4)`, PostgreSQL) or anonymous and bound in order (`(?, ?), (?, ?)`,
/// SQLite). SQLite finds a numbered parameter by walking the list of every parameter name in the
/// statement, so binding the thousands of a bulk insert took time quadratic in their number.
pub(crate) fn push_values(sql: &mut String, rows: usize, columns: usize, numbered: bool) {
    use std::fmt::Write;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for col in 0..columns {
            if col > 0 {
                sql.push_str(", ");
            }
            if numbered {
                let _ = write!(sql, "${}", row * columns + col + 1);
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
}

/// Names the unique rule that `err` (a unique violation) broke, for `StoreError::Conflict`.
pub(crate) fn conflict_name(err: &dyn DatabaseError) -> String {
    let sqlite_columns = err
        .message()
        .strip_prefix("UNIQUE constraint failed: ")
        .map(str::trim);
    UNIQUE_RULES
        .iter()
        .find(|rule| match err.constraint() {
            Some(constraint) => rule.postgres == constraint,
            None => sqlite_columns == Some(rule.sqlite),
        })
        .map_or("record", |rule| rule.name)
        .to_string()
}

/// The statement that makes the transaction it opens read one consistent snapshot of the
/// database, if the backend needs one. PostgreSQL's default isolation (read committed) gives each
/// statement its own snapshot, so a read-only transaction asks for repeatable read; a SQLite
/// transaction already reads one snapshot from its first read to its end.
pub(crate) fn snapshot_statement(db: &Db) -> Option<&'static str> {
    match db {
        Db::Sqlite { .. } => None,
        Db::Postgres(_) => Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"),
    }
}

/// A statement in its two spellings, which differ only by row locking. PostgreSQL locks the rows
/// a transaction is about to change (`FOR UPDATE`), or skips the ones another transaction holds
/// (`FOR UPDATE SKIP LOCKED`). SQLite has no row locks and needs none: it serializes writers
/// with one database-wide lock, which a transaction holds from its first write (so a locking
/// read must come after a write in its transaction, see `transaction!`), and a single statement
/// is atomic on its own.
///
/// Built by `for_update_skip_locked!`, the only place the locking clause is spelled;
/// [`Locking::text`] picks the spelling of the store's backend.
pub(crate) struct Locking {
    sqlite: &'static str,
    postgres: &'static str,
}

impl Locking {
    /// Use through the macros below.
    pub(crate) const fn new(sqlite: &'static str, postgres: &'static str) -> Locking {
        Locking { sqlite, postgres }
    }

    /// The statement as `db`'s backend spells it.
    pub(crate) fn text(&self, db: &Db) -> &'static str {
        match db {
            Db::Sqlite { .. } => self.sqlite,
            Db::Postgres(_) => self.postgres,
        }
    }
}

/// `for_update_skip_locked!(head…; tail…)`: the statement `head tail`, with
/// `FOR UPDATE SKIP LOCKED` between the two on PostgreSQL, so that concurrent transactions each
/// take different rows instead of waiting for one another. Each part is a string literal (or a
/// macro expanding to one).
macro_rules! for_update_skip_locked {
    ($($head:expr),+ ; $($tail:expr),* $(,)?) => {
        crate::dialect::Locking::new(
            concat!($($head,)+ $($tail,)*),
            concat!($($head,)+ " FOR UPDATE SKIP LOCKED", $($tail,)*),
        )
    };
}

/// A statement in its two spellings, for the places where the dialects differ (reading a field of
/// JSON text, built by `with_json_text!`; joins and data-modifying `WITH`). [`Spelled::text`]
/// picks the spelling of the store's backend; code that already matched on the backend reads the
/// field.
pub(crate) struct Spelled {
    pub(crate) sqlite: &'static str,
    pub(crate) postgres: &'static str,
}

impl Spelled {
    pub(crate) const fn new(sqlite: &'static str, postgres: &'static str) -> Spelled {
        Spelled { sqlite, postgres }
    }

    pub(crate) fn text(&self, db: &Db) -> &'static str {
        match db {
            Db::Sqlite { .. } => self.sqlite,
            Db::Postgres(_) => self.postgres,
        }
    }
}

/// `with_json_text!(head…; "column", "key"; tail…)`: the statement `head <the text of top-level
/// field key of the JSON text in column> tail`. SQLite: `json_extract(column, '$.key')`;
/// PostgreSQL: `(column::jsonb ->> 'key')`. Column and key are string literals.
macro_rules! with_json_text {
    ($($head:expr),+ ; $col:literal, $key:literal ; $($tail:expr),* $(,)?) => {
        crate::dialect::Spelled::new(
            concat!($($head,)+ "json_extract(", $col, ", '$.", $key, "')", $($tail,)*),
            concat!($($head,)+ "(", $col, "::jsonb ->> '", $key, "')", $($tail,)*),
        )
    };
}

/// The statement listing the schema's tables (one `name` column), migration bookkeeping left out.
pub(crate) fn list_tables_statement(db: &Db) -> &'static str {
    match db {
        Db::Sqlite { .. } => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name"
        }
        Db::Postgres(_) => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             AND table_name <> '_sqlx_migrations' ORDER BY table_name"
        }
    }
}

#[cfg(test)]
mod tests {
    /// The writer keeps its temporary structures in memory (no temporary file per commit); the
    /// readers keep SQLite's default, as their sorts can be large.
    #[tokio::test]
    async fn only_the_sqlite_writer_keeps_temporary_structures_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let crate::Db::Sqlite { read, write, .. } = super::connect(&url).await.unwrap() else {
            panic!("a SQLite URL opens SQLite");
        };
        let temp_store = |pool: crate::sqlite_pool::SqlitePool| async move {
            let mut lease = pool.acquire().await.unwrap();
            sqlx::query_scalar::<_, i64>("PRAGMA temp_store")
                .fetch_one(lease.connection())
                .await
                .unwrap()
        };
        // 2 is MEMORY, 0 the default (files).
        assert_eq!(temp_store(write).await, 2);
        assert_eq!(temp_store(read).await, 0);
    }

    #[test]
    fn loopback_servers_go_without_tls_unless_sslmode_is_named() {
        use std::str::FromStr;

        use sqlx::postgres::PgConnectOptions;

        let decide = |url: &str| {
            let options = PgConnectOptions::from_str(url).expect("a valid URL");
            super::loopback_without_sslmode(url, &options)
        };
        // PGSSLMODE would make every URL explicit; the test environment does not set it.
        if std::env::var_os("PGSSLMODE").is_some() {
            return;
        }
        assert!(decide("postgres://u@127.0.0.1:5432/db"));
        assert!(decide("postgres://u@localhost/db"));
        assert!(decide("postgresql://u@[::1]:5432/db"));
        assert!(decide("postgres://u@127.0.0.2/db?application_name=x"));
        assert!(!decide("postgres://u@127.0.0.1/db?sslmode=require"));
        assert!(!decide(
            "postgres://u@localhost/db?application_name=x&SSLMODE=prefer"
        ));
        assert!(!decide("postgres://u@db.internal:5432/db"));
        assert!(!decide("postgres://u@10.0.0.5/db"));
        // A Unix socket has no TLS to turn off.
        assert!(!decide(
            "postgres://u@localhost/db?host=/var/run/postgresql"
        ));
    }

    #[test]
    fn json_fields_are_read_in_each_dialect() {
        let s = with_json_text!("SELECT "; "body", "method"; " FROM audit_entries");
        assert_eq!(
            s.sqlite,
            "SELECT json_extract(body, '$.method') FROM audit_entries"
        );
        assert_eq!(
            s.postgres,
            "SELECT (body::jsonb ->> 'method') FROM audit_entries"
        );
    }

    #[test]
    fn the_skip_locked_clause_goes_between_head_and_tail_on_postgres_only() {
        let claim = for_update_skip_locked!("UPDATE t SET a = 1 WHERE id IN (SELECT id FROM t LIMIT $1"; ") RETURNING ", "id");
        assert_eq!(
            claim.sqlite,
            "UPDATE t SET a = 1 WHERE id IN (SELECT id FROM t LIMIT $1) RETURNING id"
        );
        assert_eq!(
            claim.postgres,
            "UPDATE t SET a = 1 WHERE id IN (SELECT id FROM t LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING id"
        );
    }
}
