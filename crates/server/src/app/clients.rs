//! Registering applications: generated client ids and secrets (the secret is shown once).

use tessera_core::client::{Client, ClientType, NewClient};
use tessera_core::store::ClientStore;
use tessera_core::{CoreError, Secret, StoreError, TenantId};
use tessera_crypto::{random_token, sha256_hex};

use tessera_core::events::{Actor, Event, EventKind, Target};

use super::Services;

/// 256 bits: enough entropy that a fast SHA-256 digest is a safe way to store it.
const CLIENT_SECRET_BYTES: usize = 32;

/// How long a client read for client authentication is served from memory (see
/// [`super::short_cache`]). A secret rotated, a client changed or deleted through this node takes
/// effect at once; through another node or the CLI, within this time.
pub const CLIENT_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

impl Services {
    /// The client, from memory when it was read less than [`CLIENT_CACHE_TTL`] ago: the token,
    /// introspection and revocation endpoints authenticate a client on every call.
    pub async fn cached_client(
        &self,
        tenant: TenantId,
        client_id: &str,
    ) -> Result<Option<Client>, StoreError> {
        let key = (tenant, client_id.to_string());
        if let Some(c) = self.client_cache.get(&key) {
            return Ok(Some(c));
        }
        let found = self.store.get_client(tenant, client_id).await?;
        if let Some(c) = &found {
            self.client_cache.put(key, c.clone());
        }
        Ok(found)
    }

    /// Stores a changed client and forgets the cached copies.
    pub async fn save_client(&self, client: &Client) -> Result<(), StoreError> {
        self.store.update_client(client).await?;
        self.client_cache.clear();
        Ok(())
    }

    /// Deletes a client and forgets the cached copies. False when there was none.
    pub async fn remove_client(
        &self,
        tenant: TenantId,
        client_id: &str,
    ) -> Result<bool, StoreError> {
        let deleted = self.store.delete_client(tenant, client_id).await?;
        self.client_cache.clear();
        Ok(deleted)
    }

    /// Registers a client; returns the secret once for confidential clients.
    pub async fn create_client(
        &self,
        tenant: TenantId,
        input: NewClient,
        actor: Actor,
    ) -> Result<(Client, Option<Secret>), CoreError> {
        let secret = (!input.public).then(|| Secret::new(random_token(CLIENT_SECRET_BYTES)));
        let secret_hash = secret.as_ref().map(|s| sha256_hex(s.expose().as_bytes()));
        let client_id = random_token(16);
        let client = Client::create(tenant, client_id, secret_hash, input, Services::now())?;
        self.store
            .create_client(&client)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => CoreError::Conflict("client_id".into()),
                other => other.into(),
            })?;
        tracing::info!(tenant = %tenant, client_id = %client.client_id, "client registered");
        let ev = Event::new(
            tenant,
            client.created_at,
            EventKind::ClientCreated {
                name: client.name.clone(),
            },
            actor,
        )
        .target(Target::new("client", &client.client_id));
        self.emit(ev).await;
        Ok((client, secret))
    }

    pub async fn client(&self, tenant: TenantId, client_id: &str) -> Result<Client, CoreError> {
        self.store
            .get_client(tenant, client_id)
            .await?
            .ok_or(CoreError::NotFound("client"))
    }

    /// Replaces a confidential client's secret; the old one stops working at once.
    pub async fn rotate_client_secret(
        &self,
        tenant: TenantId,
        client_id: &str,
        actor: Actor,
    ) -> Result<(Client, Secret), CoreError> {
        let mut client = self.client(tenant, client_id).await?;
        if client.client_type == ClientType::Public {
            return Err(CoreError::invalid(
                "client_id",
                "public clients have no secret",
            ));
        }
        let secret = Secret::new(random_token(CLIENT_SECRET_BYTES));
        client.secret_hash = Some(sha256_hex(secret.expose().as_bytes()));
        client.updated_at = Services::now();
        self.save_client(&client).await?;
        let ev = Event::new(
            tenant,
            client.updated_at,
            EventKind::ClientSecretRotated,
            actor,
        )
        .target(Target::new("client", &client.client_id));
        self.emit(ev).await;
        Ok((client, secret))
    }
}
