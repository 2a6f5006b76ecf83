//! The two-backend harness: every behaviour is one test body, run once on a SQLite file in a
//! temporary folder and once on a fresh PostgreSQL database (see `tessera_store::testing`).

use std::path::{Path, PathBuf};

use tempfile::TempDir;
use tessera_core::client::{Client, NewClient};
use tessera_core::group::Group;
use tessera_core::session::Session;
use tessera_core::store::{ClientStore, GroupStore, SessionStore, TenantStore, UserStore};
use tessera_core::tenant::{Preset, Tenant};
use tessera_core::user::{NewUser, User};
use tessera_core::{SessionId, TenantId, Timestamp};
use tessera_store::Store;
use tessera_store::testing::{TestDatabase, postgres_test_database, test_field_crypto};
use time::Duration;

pub struct Harness {
    pub store: Store,
    kind: Kind,
    /// The store's master key (a second store with it reads what the first sealed).
    crypto: std::sync::Arc<tessera_crypto::FieldCrypto>,
}

enum Kind {
    Sqlite { _dir: TempDir, path: PathBuf },
    Postgres { db: TestDatabase },
}

impl Harness {
    pub async fn sqlite() -> Harness {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("data").join("tessera.db");
        let crypto = test_field_crypto();
        let store = Store::connect(&format!("sqlite://{}", path.display()), crypto.clone())
            .await
            .expect("SQLite opens");
        store.migrate().await.expect("SQLite migrations run");
        Harness {
            store,
            kind: Kind::Sqlite { _dir: dir, path },
            crypto,
        }
    }

    pub async fn postgres() -> Option<Harness> {
        let db = postgres_test_database().await?;
        let crypto = test_field_crypto();
        let store = Store::connect(db.url(), crypto.clone())
            .await
            .expect("PostgreSQL test database accepts connections");
        store.migrate().await.expect("PostgreSQL migrations run");
        Some(Harness {
            store,
            kind: Kind::Postgres { db },
            crypto,
        })
    }

    /// The URL the store was opened with.
    pub fn url(&self) -> String {
        match &self.kind {
            Kind::Sqlite { path, .. } => format!("sqlite://{}", path.display()),
            Kind::Postgres { db } => db.url().to_string(),
        }
    }

    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.kind {
            Kind::Sqlite { path, .. } => Some(path),
            Kind::Postgres { .. } => None,
        }
    }

    /// A second store on the same database with the same master key (another process or node).
    pub async fn second_store(&self) -> Store {
        Store::connect(&self.url(), self.crypto.clone())
            .await
            .expect("second store connects")
    }

    /// A second store on the same database with a different master key.
    pub async fn store_with_other_key(&self) -> Store {
        Store::connect(&self.url(), test_field_crypto())
            .await
            .expect("second store connects")
    }

    /// Runs one statement outside the store (to tamper with data on purpose).
    pub async fn raw_execute(&self, sql: String) {
        match &self.kind {
            Kind::Sqlite { path, .. } => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                    .await
                    .unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&pool)
                    .await
                    .unwrap();
                pool.close().await;
            }
            Kind::Postgres { db } => {
                let pool = sqlx::PgPool::connect(db.url()).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&pool)
                    .await
                    .unwrap();
                pool.close().await;
            }
        }
    }

    /// Closes the store and drops the PostgreSQL database.
    pub async fn finish(self) {
        self.store.close().await;
        if let Kind::Postgres { db } = self.kind {
            db.drop_database().await.expect("test database is dropped");
        }
    }
}

/// Declares, for each shared test body `module::name(&Harness)`, one test per backend:
/// `sqlite::name` and `postgres::name`.
macro_rules! on_both_backends {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let h = crate::common::Harness::sqlite().await;
                    crate::$module::$name(&h).await;
                    h.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(h) = crate::common::Harness::postgres().await else { return };
                    crate::$module::$name(&h).await;
                    h.finish().await;
                }
            )*
        }
    };
}

/// A fixed start time with millisecond precision (the store keeps milliseconds).
pub fn t0() -> Timestamp {
    time::macros::datetime!(2026-01-01 00:00:00.250 UTC)
}

pub async fn tenant(store: &Store, slug: &str) -> Tenant {
    let t = Tenant::new(slug, None, Preset::Workforce, t0()).unwrap();
    store.create_tenant(&t).await.unwrap();
    t
}

pub fn new_user(tenant: TenantId, email: &str) -> User {
    User::create(
        tenant,
        NewUser {
            email: email.into(),
            ..Default::default()
        },
        None,
        t0(),
    )
    .unwrap()
}

pub async fn user(store: &Store, tenant: TenantId, email: &str) -> User {
    let u = new_user(tenant, email);
    store.create_user(&u).await.unwrap();
    u
}

pub async fn group(store: &Store, tenant: TenantId, name: &str) -> Group {
    let g = Group::create(tenant, name, Some("a group"), t0()).unwrap();
    store.create_group(&g).await.unwrap();
    g
}

pub fn new_client(tenant: TenantId, client_id: &str) -> Client {
    Client::create(
        tenant,
        client_id.into(),
        Some("5e1f0a".into()),
        NewClient {
            name: "Web app".into(),
            redirect_uris: vec!["https://app.example.com/cb".into()],
            allowed_scopes: vec!["openid".into(), "email".into()],
            metadata: Some(serde_json::json!({"id_token_signed_response_alg": "ES256"})),
            ..Default::default()
        },
        t0(),
    )
    .unwrap()
}

pub async fn client(store: &Store, tenant: TenantId, client_id: &str) -> Client {
    let c = new_client(tenant, client_id);
    store.create_client(&c).await.unwrap();
    c
}

/// A session created at `created` that lasts ten hours, idle after thirty minutes.
pub fn new_session(user: &User, token_hash: &str, created: Timestamp) -> Session {
    Session {
        id: SessionId::new(),
        tenant_id: user.tenant_id,
        user_id: user.id,
        token_hash: token_hash.into(),
        created_at: created,
        last_seen_at: created,
        expires_at: created + Duration::hours(10),
        idle_timeout_secs: 1800,
        auth_methods: vec!["pwd".into()],
        ip: Some("192.0.2.10".into()),
        user_agent: Some("Mozilla/5.0 (test)".into()),
        revoked_at: None,
    }
}

pub async fn session(store: &Store, user: &User, token_hash: &str, created: Timestamp) -> Session {
    let s = new_session(user, token_hash, created);
    store.create_session(&s).await.unwrap();
    s
}
