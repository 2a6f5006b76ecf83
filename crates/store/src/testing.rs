//! Test support (cargo feature `testing`): a fresh PostgreSQL database per test, dropped
//! afterwards, and a field-encryption key to build a [`Store`](crate::Store) with.
//!
//! The server is `TESSERA_TEST_POSTGRES_URL` when set, else
//! `postgres://postgres@127.0.0.1:5432/postgres`. When it cannot be reached, tests skip their
//! PostgreSQL half with a notice on stderr, except in CI (`CI=true`), where they fail: CI must
//! prove both backends.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use tessera_core::StoreError;
use tessera_crypto::{FieldCrypto, MasterKey};

/// Where tests look for PostgreSQL when `TESSERA_TEST_POSTGRES_URL` is not set.
pub const DEFAULT_TEST_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The PostgreSQL statements that read a presented token with its user (and session): refresh,
/// then access. Both take the tenant and the token's key as `$1` and `$2`; the plan test checks
/// that each joined row is found by its own key.
pub fn postgres_presented_token_reads() -> [&'static str; 2] {
    [
        crate::grants::PRESENT_REFRESH.postgres,
        crate::grants::PRESENT_ACCESS.postgres,
    ]
}

/// A field-encryption key under a freshly generated master key.
pub fn test_field_crypto() -> Arc<FieldCrypto> {
    let master = MasterKey::generate().expect("the system random number generator works in tests");
    Arc::new(FieldCrypto::new(&master).expect("a freshly generated master key is valid"))
}

/// A database created for one test. Dropped (with `WITH (FORCE)`, closing any connection still
/// open) by [`TestDatabase::drop_database`], or on a best-effort basis when the value is dropped.
pub struct TestDatabase {
    admin_url: String,
    url: String,
    name: String,
    dropped: bool,
}

impl TestDatabase {
    /// The URL of the new database, for `Store::connect` or a server's `TESSERA_DATABASE_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database name (`tessera_t_<random hex>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database now.
    pub async fn drop_database(mut self) -> Result<(), StoreError> {
        self.dropped = true;
        drop_database(&self.admin_url, &self.name).await
    }
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside an async runtime, where blocking on a future is refused: use a
        // helper thread with a runtime of its own.
        let _ = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                let _ = runtime.block_on(drop_database(&admin_url, &name));
            }
        })
        .join();
    }
}

/// Creates a fresh database on the test PostgreSQL server. `None` when the server cannot be
/// reached outside CI (after a notice on stderr); panics when it cannot be reached in CI.
pub async fn postgres_test_database() -> Option<TestDatabase> {
    let admin_url = std::env::var("TESSERA_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_TEST_POSTGRES_URL.to_string());
    match create_database(&admin_url).await {
        Ok(db) => Some(db),
        Err(reason) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "PostgreSQL is required in CI: start it or set TESSERA_TEST_POSTGRES_URL ({reason})"
                );
            }
            eprintln!(
                "notice: skipping the PostgreSQL half of this test: {reason}. Start PostgreSQL on \
                 127.0.0.1:5432 (user postgres) or set TESSERA_TEST_POSTGRES_URL."
            );
            None
        }
    }
}

async fn admin_connection(admin_url: &str) -> Result<PgConnection, String> {
    // Messages never repeat the URL, which may hold a password.
    let options = PgConnectOptions::from_str(admin_url)
        .map_err(|e| format!("invalid TESSERA_TEST_POSTGRES_URL: {e}"))?;
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(format!("cannot connect to PostgreSQL: {e}")),
        Err(_) => Err(format!(
            "cannot connect to PostgreSQL: no answer within {}s",
            CONNECT_TIMEOUT.as_secs()
        )),
    }
}

async fn create_database(admin_url: &str) -> Result<TestDatabase, String> {
    let mut conn = admin_connection(admin_url).await?;
    let name = format!(
        "tessera_t_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    );
    let mut url = url::Url::parse(admin_url)
        .map_err(|e| format!("invalid TESSERA_TEST_POSTGRES_URL: {e}"))?;
    url.set_path(&format!("/{name}"));
    // The name is made here from hex digits only, so splicing it into the statement is safe.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await
        .map_err(|e| format!("cannot create a test database: {e}"))?;
    let _ = conn.close().await;
    Ok(TestDatabase {
        admin_url: admin_url.to_string(),
        url: url.to_string(),
        name,
        dropped: false,
    })
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), StoreError> {
    let mut conn = admin_connection(admin_url)
        .await
        .map_err(StoreError::Backend)?;
    let result = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await;
    let _ = conn.close().await;
    result
        .map(|_| ())
        .map_err(|e| StoreError::Backend(format!("cannot drop test database {name}: {e}")))
}
