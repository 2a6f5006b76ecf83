//! Admin API keys: random bearer secrets, shown once, stored as SHA-256.

use tessera_core::apikey::{API_KEY_PREFIX, AdminRole, ApiKey, ApiScope};
use tessera_core::store::ApiKeyStore;
use tessera_core::tenant::validate_display_name;
use tessera_core::{ApiKeyId, CoreError, Secret, TenantId, Timestamp};
use tessera_crypto::{random_token, sha256_hex};

use tessera_core::events::{Actor, Event, EventKind, Target};

use super::Services;

impl Services {
    pub async fn create_api_key(
        &self,
        tenant: TenantId,
        name: &str,
        scopes: Vec<ApiScope>,
        admin_role: Option<AdminRole>,
        expires_at: Option<Timestamp>,
        actor: Actor,
    ) -> Result<(ApiKey, Secret), CoreError> {
        if scopes.is_empty() {
            return Err(CoreError::invalid(
                "scope",
                "give at least one scope: read or write",
            ));
        }
        let secret = Secret::new(format!("{API_KEY_PREFIX}{}", random_token(32)));
        let key = ApiKey {
            id: ApiKeyId::new(),
            tenant_id: tenant,
            name: validate_display_name("name", name)?,
            display_prefix: secret.expose().chars().take(10).collect(),
            key_hash: sha256_hex(secret.expose().as_bytes()),
            scopes,
            created_at: Services::now(),
            expires_at,
            revoked_at: None,
            admin_role,
        };
        self.store.create_api_key(&key).await?;
        tracing::info!(tenant = %tenant, key = %key.id, "API key created");
        let ev = Event::new(
            tenant,
            key.created_at,
            EventKind::ApiKeyCreated {
                key_id: key.id.to_string(),
            },
            actor,
        )
        .target(Target::new("api_key", key.id));
        self.emit(ev).await;
        Ok((key, secret))
    }

    /// Finds the usable key for a presented bearer value, or `None`.
    pub async fn authenticate_api_key(&self, presented: &str) -> Result<Option<ApiKey>, CoreError> {
        if !presented.starts_with(API_KEY_PREFIX) || presented.len() > 200 {
            return Ok(None);
        }
        // The lookup is by a digest of a 256-bit random value, so timing reveals nothing useful.
        let key = self
            .store
            .find_api_key_by_hash(&sha256_hex(presented.as_bytes()))
            .await?;
        Ok(key.filter(|k| k.is_usable(Services::now())))
    }
}
