//! Direct reads of the deployment's database, for facts the product deliberately does not expose
//! (stored password hashes, what the rows hold at rest).

use sqlx::Connection;

use super::process::{Backend, Deployment};

/// The stored password hash of a user (PHC/MCF string), read from the `users` table.
pub async fn password_hash(dep: &Deployment, user_id: &str) -> Option<String> {
    let sql = "SELECT password_hash FROM users WHERE id = $1";
    match dep.backend() {
        Backend::Sqlite => {
            let mut conn =
                sqlx::SqliteConnection::connect(&format!("{}?mode=ro", dep.database_url()))
                    .await
                    .expect("the SQLite file opens read-only");
            let v: Option<String> = sqlx::query_scalar(sql)
                .bind(user_id)
                .fetch_one(&mut conn)
                .await
                .expect("the user row exists");
            let _ = conn.close().await;
            v
        }
        Backend::Postgres(db) => {
            let mut conn = sqlx::PgConnection::connect(db.url())
                .await
                .expect("the PostgreSQL test database accepts connections");
            let v: Option<String> = sqlx::query_scalar(sql)
                .bind(user_id)
                .fetch_one(&mut conn)
                .await
                .expect("the user row exists");
            let _ = conn.close().await;
            v
        }
    }
}

/// Everything the database holds, as bytes: on SQLite the raw database file and its write-ahead
/// log (and shared-memory index); on PostgreSQL every row of every table of the public schema,
/// rendered as JSON text.
pub async fn raw_contents(dep: &Deployment) -> Vec<u8> {
    match dep.backend() {
        Backend::Sqlite => {
            let file = dep.sqlite_file().expect("SQLite has a file");
            let mut all = std::fs::read(&file).expect("the SQLite file can be read");
            for suffix in ["-wal", "-shm"] {
                let side = file.with_file_name(format!(
                    "{}{suffix}",
                    file.file_name().expect("a file name").to_string_lossy()
                ));
                if let Ok(bytes) = std::fs::read(side) {
                    all.extend(bytes);
                }
            }
            all
        }
        Backend::Postgres(db) => {
            let mut conn = sqlx::PgConnection::connect(db.url())
                .await
                .expect("the PostgreSQL test database accepts connections");
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
            )
            .fetch_all(&mut conn)
            .await
            .expect("the table list can be read");
            assert!(
                tables.iter().any(|t| t == "users"),
                "the schema has a users table: {tables:?}"
            );
            let mut all = Vec::new();
            for t in tables {
                // Table names come from the catalogue of a database this test created.
                let sql = format!("SELECT row_to_json(t)::text FROM \"{t}\" t");
                let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&mut conn)
                    .await
                    .expect("the rows can be read");
                for r in rows {
                    all.extend(r.into_bytes());
                    all.push(b'\n');
                }
            }
            let _ = conn.close().await;
            all
        }
    }
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether `haystack` gives `secret` away: as written, lowercased, or hex-encoded (PostgreSQL
/// renders `bytea` as hex, so a value stored unencrypted in a binary column shows up that way).
pub fn reveals(haystack: &[u8], secret: &str) -> bool {
    let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
    contains(haystack, secret.as_bytes())
        || contains(haystack, secret.to_lowercase().as_bytes())
        || contains(haystack, hex.as_bytes())
}
