//! Application services: the operations the admin API, the hosted pages and the CLI share. They
//! combine the domain rules (`tessera-core`), the store and the cryptography; handlers and CLI
//! commands stay thin wrappers around them.

pub mod apikeys;
pub mod audit;
pub mod authz;
pub mod bootstrap;
pub mod clients;
pub mod events;
pub mod short_cache;
pub mod tenants;
pub mod users;

use std::sync::Arc;

use tessera_crypto::{Argon2Params, FieldCrypto, MasterKey, PasswordHasher};
use tessera_store::Store;

use crate::config::Config;

/// Everything a command or request needs to act on the configured deployment.
#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub store: Store,
    pub crypto: Arc<FieldCrypto>,
    pub hasher: PasswordHasher,
    /// The translations of pages and emails (embedded, with `TESSERA_LOCALES_DIR` over them).
    pub i18n: Arc<crate::i18n::Catalog>,
    /// The audit trail's group commit (see `events.rs`).
    pub audit: events::AuditWriter,
    /// Tenants by slug for the protocol endpoints, kept a second (see `tenants.rs`).
    pub tenant_cache: short_cache::ShortCache<String, tessera_core::tenant::Tenant>,
    /// Clients by tenant and client id for client authentication, kept a second (see
    /// `clients.rs`).
    pub client_cache:
        short_cache::ShortCache<(tessera_core::TenantId, String), tessera_core::client::Client>,
    /// Each tenant's enabled identity providers for the sign-in pages, kept a second (see
    /// `crate::federation::enabled_providers`).
    pub login_providers: short_cache::ShortCache<
        tessera_core::TenantId,
        Arc<Vec<tessera_core::federation::IdentityProvider>>,
    >,
    /// Each tenant's consent purposes for the re-consent check of every sign-in, kept a second
    /// (see `crate::privacy::tenant_purposes`).
    pub purposes:
        short_cache::ShortCache<tessera_core::TenantId, Arc<Vec<tessera_core::privacy::Purpose>>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(pub String);

impl Services {
    /// Loads (or on first start creates) the master key, connects to the database and runs the
    /// migrations. Used by `tessera serve` and by every admin command.
    pub async fn open(config: Config) -> Result<Services, StartupError> {
        // First, so a broken translation file stops start-up before anything is touched.
        let i18n = Arc::new(
            crate::i18n::Catalog::load(config.locales_dir.as_deref())
                .map_err(|e| StartupError(format!("translations (TESSERA_LOCALES_DIR): {e}")))?,
        );
        let key = load_master_key(&config)?;
        let crypto =
            Arc::new(FieldCrypto::new(&key).map_err(|e| {
                StartupError(format!("cannot derive keys from the master key: {e}"))
            })?);
        let hasher = PasswordHasher::new(Argon2Params {
            memory_kib: config.argon2_memory_kib,
            iterations: config.argon2_iterations,
            parallelism: config.argon2_parallelism,
        })
        .map_err(|e| StartupError(format!("invalid argon2 settings: {e}")))?;
        if config.database_url.starts_with("sqlite:") {
            std::fs::create_dir_all(&config.data_dir).map_err(|e| {
                StartupError(format!(
                    "cannot create the data directory {}: {e}",
                    config.data_dir.display()
                ))
            })?;
        }
        let store = Store::connect(&config.database_url, crypto.clone())
            .await
            .map_err(|e| {
                StartupError(format!(
                    "cannot open the database (TESSERA_DATABASE_URL): {e}"
                ))
            })?;
        store
            .migrate()
            .await
            .map_err(|e| StartupError(format!("database migration failed: {e}")))?;
        Ok(Services {
            config: Arc::new(config),
            store,
            crypto,
            hasher,
            i18n,
            audit: events::AuditWriter::default(),
            tenant_cache: short_cache::ShortCache::new(tenants::TENANT_CACHE_TTL),
            client_cache: short_cache::ShortCache::new(clients::CLIENT_CACHE_TTL),
            login_providers: short_cache::ShortCache::new(crate::federation::LOGIN_PROVIDERS_TTL),
            purposes: short_cache::ShortCache::new(crate::privacy::PURPOSES_TTL),
        })
    }

    /// The server's idea of the current time. The test suite can shift it with
    /// `TESSERA_TEST_CLOCK_OFFSET_SECS` (read once per process) to travel through token expiry
    /// without sleeping; a process started with a shift says so loudly in its log.
    pub fn now() -> tessera_core::Timestamp {
        let t = time::OffsetDateTime::now_utc() + time::Duration::seconds(clock_offset_secs());
        // The store keeps milliseconds; answering with the same precision keeps create and read identical.
        t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
            .unwrap_or(t)
    }
}

fn clock_offset_secs() -> i64 {
    static OFFSET: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *OFFSET.get_or_init(|| {
        let offset = std::env::var("TESSERA_TEST_CLOCK_OFFSET_SECS").ok().and_then(|v| v.trim().parse::<i64>().ok()).unwrap_or(0);
        if offset != 0 {
            tracing::warn!(offset_secs = offset, "TESSERA_TEST_CLOCK_OFFSET_SECS is set: this process runs on a shifted clock (tests only, never in production)");
        }
        offset
    })
}

fn load_master_key(config: &Config) -> Result<MasterKey, StartupError> {
    if let Some(b64) = &config.master_key {
        return MasterKey::from_base64(b64)
            .map_err(|e| StartupError(format!("TESSERA_MASTER_KEY: {e}")));
    }
    let path = &config.master_key_file;
    let loaded = MasterKey::load_or_create(path).map_err(|e| {
        StartupError(format!(
            "cannot load the master key file {} (TESSERA_MASTER_KEY_FILE): {e}",
            path.display()
        ))
    })?;
    if loaded.created {
        tracing::warn!(
            path = %path.display(),
            "generated a new master key. It encrypts all personal data and secrets: back it up and keep it OUTSIDE the database backups. In production, provide it with TESSERA_MASTER_KEY_FILE from a secret store."
        );
    }
    if loaded.loose_permissions {
        tracing::warn!(path = %path.display(), "the master key file is readable by other users; run: chmod 600 on it");
    }
    Ok(loaded.key)
}
