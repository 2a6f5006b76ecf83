//! A throwaway PostgreSQL database for one scenario: created on the server that `--database-url`
//! names, dropped afterwards, so every scenario starts from an empty schema.

use anyhow::{Context, Result};
use sqlx::{Connection, PgConnection};
use url::Url;

pub struct ThrowawayDatabase {
    admin_url: String,
    name: String,
    /// The URL the server is given: the admin URL with the database name replaced.
    pub url: String,
}

async fn connect(admin_url: &str) -> Result<PgConnection> {
    // Errors never repeat the URL, which may hold a password.
    PgConnection::connect(admin_url)
        .await
        .context("cannot connect to PostgreSQL with --database-url")
}

/// The admin URL with its path (database name) replaced by `name`.
pub fn database_url(admin_url: &str, name: &str) -> Result<String> {
    let mut url = Url::parse(admin_url).context("--database-url is not a valid URL")?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

impl ThrowawayDatabase {
    pub async fn create(admin_url: &str) -> Result<ThrowawayDatabase> {
        let suffix = hex::encode(tessera_crypto::random_bytes::<8>());
        let name = format!("tessera_bench_{suffix}");
        let url = database_url(admin_url, &name)?;
        let mut conn = connect(admin_url).await?;
        // The name is made here from hex digits only, so splicing it into the statement is safe.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .context("cannot create the benchmark database")?;
        let _ = conn.close().await;
        Ok(ThrowawayDatabase {
            admin_url: admin_url.to_string(),
            name,
            url,
        })
    }

    /// Drops the database (closing any connection left to it; the server has stopped by now).
    pub async fn drop_database(self) -> Result<()> {
        let mut conn = connect(&self.admin_url).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        )))
        .execute(&mut conn)
        .await
        .with_context(|| format!("cannot drop the benchmark database {}", self.name))?;
        let _ = conn.close().await;
        Ok(())
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_the_database_name() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "b1").unwrap(),
            "postgres://postgres@127.0.0.1:5432/b1"
        );
        assert_eq!(
            database_url("postgres://u:p%40ss@db:5433/admin?sslmode=disable", "b2").unwrap(),
            "postgres://u:p%40ss@db:5433/b2?sslmode=disable"
        );
        assert_eq!(
            database_url("postgres://localhost", "b3").unwrap(),
            "postgres://localhost/b3"
        );
    }
}
