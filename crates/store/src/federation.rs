//! `FederationStore`: the `identity_providers`, `linked_identities` and `federation_states`
//! tables. Client secrets (and Apple private keys), upstream subjects and emails, kept tokens,
//! PKCE verifiers and identities awaiting proof are sealed; upstream subjects are found through a
//! keyed blind index of provider and subject; state, nonce and browser binding exist only as
//! SHA-256 digests.

use tessera_core::federation::{
    FederationStage, FederationState, FederationStateId, FederationStore, IdentityProvider,
    IdentityProviderId, LinkedIdentity, LinkedIdentityId,
};
use tessera_core::store::StoreResult;
use tessera_core::{Secret, StoreError, TenantId, Timestamp, UserId};
use tessera_crypto::FieldCrypto;

use crate::Store;
use crate::codec::{
    Sealer, from_json, from_millis, id, opt_from_millis, opt_to_millis, to_json, to_millis,
};

/// Blind index purpose of upstream subjects; changing it orphans every stored index.
const SUBJECT_INDEX: &str = "federation.subject";

fn subject_index(crypto: &FieldCrypto, provider: IdentityProviderId, subject: &str) -> String {
    crypto.blind_index(SUBJECT_INDEX, &format!("{provider}:{subject}"))
}

macro_rules! provider_columns {
    () => {
        "tenant_id, id, alias, display_name, enabled, trust_email, jit, domains, settings, \
         client_secret, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct ProviderRow {
    tenant_id: String,
    id: String,
    alias: String,
    display_name: String,
    enabled: bool,
    trust_email: bool,
    jit: bool,
    domains: String,
    settings: String,
    client_secret: Option<Vec<u8>>,
    created_at: i64,
    updated_at: i64,
}

impl ProviderRow {
    fn into_provider(self, crypto: &FieldCrypto) -> Result<IdentityProvider, StoreError> {
        let tenant_id = id(
            "identity_providers.tenant_id",
            &self.tenant_id,
            TenantId::parse,
        )?;
        let pid = id("identity_providers.id", &self.id, IdentityProviderId::parse)?;
        let sealer = Sealer::new(crypto, "identity_provider", tenant_id, pid);
        Ok(IdentityProvider {
            id: pid,
            tenant_id,
            alias: self.alias,
            display_name: self.display_name,
            enabled: self.enabled,
            trust_email: self.trust_email,
            jit: self.jit,
            domains: from_json("identity_providers.domains", &self.domains)?,
            settings: from_json("identity_providers.settings", &self.settings)?,
            client_secret: sealer
                .open_opt("client_secret", self.client_secret.as_deref())?
                .map(Secret::new),
            created_at: from_millis(self.created_at)?,
            updated_at: from_millis(self.updated_at)?,
        })
    }
}

fn sealed_secret(
    crypto: &FieldCrypto,
    p: &IdentityProvider,
) -> Result<Option<Vec<u8>>, StoreError> {
    Sealer::new(crypto, "identity_provider", p.tenant_id, p.id).seal_opt(
        "client_secret",
        p.client_secret.as_ref().map(Secret::expose),
    )
}

macro_rules! link_columns {
    () => {
        "id, tenant_id, user_id, provider_id, subject, email, tokens, created_at, last_used_at"
    };
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    id: String,
    tenant_id: String,
    user_id: String,
    provider_id: String,
    subject: Vec<u8>,
    email: Option<Vec<u8>>,
    tokens: Option<Vec<u8>>,
    created_at: i64,
    last_used_at: Option<i64>,
}

impl LinkRow {
    fn into_link(self, crypto: &FieldCrypto) -> Result<LinkedIdentity, StoreError> {
        let lid = id("linked_identities.id", &self.id, LinkedIdentityId::parse)?;
        let tenant_id = id(
            "linked_identities.tenant_id",
            &self.tenant_id,
            TenantId::parse,
        )?;
        let sealer = Sealer::new(crypto, "linked_identity", tenant_id, lid);
        let tokens = match sealer.open_opt("tokens", self.tokens.as_deref())? {
            Some(json) => Some(from_json("linked_identities.tokens", &json)?),
            None => None,
        };
        Ok(LinkedIdentity {
            id: lid,
            tenant_id,
            user_id: id("linked_identities.user_id", &self.user_id, UserId::parse)?,
            provider_id: id(
                "linked_identities.provider_id",
                &self.provider_id,
                IdentityProviderId::parse,
            )?,
            subject: sealer.open("subject", &self.subject)?,
            email: sealer.open_opt("email", self.email.as_deref())?,
            tokens,
            created_at: from_millis(self.created_at)?,
            last_used_at: opt_from_millis(self.last_used_at)?,
        })
    }
}

fn sealed_tokens(
    crypto: &FieldCrypto,
    tenant: TenantId,
    link: LinkedIdentityId,
    tokens: Option<&serde_json::Value>,
) -> Result<Option<Vec<u8>>, StoreError> {
    let sealer = Sealer::new(crypto, "linked_identity", tenant, link);
    match tokens {
        Some(t) => Ok(Some(
            sealer.seal("tokens", &to_json("linked_identities.tokens", t)?)?,
        )),
        None => Ok(None),
    }
}

macro_rules! state_columns {
    () => {
        "id, tenant_id, provider_id, stage, state_hash, binding_hash, nonce_hash, pkce_verifier, \
         return_to, linking_user, target_user, payload, created_at, expires_at"
    };
}

#[derive(sqlx::FromRow)]
struct StateRow {
    id: String,
    tenant_id: String,
    provider_id: String,
    stage: String,
    state_hash: String,
    binding_hash: String,
    nonce_hash: String,
    pkce_verifier: Vec<u8>,
    return_to: String,
    linking_user: Option<String>,
    target_user: Option<String>,
    payload: Option<Vec<u8>>,
    created_at: i64,
    expires_at: i64,
}

impl StateRow {
    fn into_state(self, crypto: &FieldCrypto) -> Result<FederationState, StoreError> {
        let sid = id("federation_states.id", &self.id, FederationStateId::parse)?;
        let tenant_id = id(
            "federation_states.tenant_id",
            &self.tenant_id,
            TenantId::parse,
        )?;
        let sealer = Sealer::new(crypto, "federation_state", tenant_id, sid);
        let payload = match sealer.open_opt("payload", self.payload.as_deref())? {
            Some(json) => Some(from_json("federation_states.payload", &json)?),
            None => None,
        };
        let user = |column: &str, v: Option<String>| {
            v.as_deref()
                .map(|u| id(column, u, UserId::parse))
                .transpose()
        };
        Ok(FederationState {
            id: sid,
            tenant_id,
            provider_id: id(
                "federation_states.provider_id",
                &self.provider_id,
                IdentityProviderId::parse,
            )?,
            stage: FederationStage::parse(&self.stage).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "federation_states.stage {:?} is unknown",
                    self.stage
                ))
            })?,
            state_hash: self.state_hash,
            binding_hash: self.binding_hash,
            nonce_hash: self.nonce_hash,
            pkce_verifier: Secret::new(sealer.open("pkce_verifier", &self.pkce_verifier)?),
            return_to: self.return_to,
            linking_user: user("federation_states.linking_user", self.linking_user)?,
            target_user: user("federation_states.target_user", self.target_user)?,
            payload,
            created_at: from_millis(self.created_at)?,
            expires_at: from_millis(self.expires_at)?,
        })
    }
}

fn sealed_payload(
    crypto: &FieldCrypto,
    tenant: TenantId,
    state: FederationStateId,
    payload: &serde_json::Value,
) -> Result<Vec<u8>, StoreError> {
    Sealer::new(crypto, "federation_state", tenant, state)
        .seal("payload", &to_json("federation_states.payload", payload)?)
}

impl FederationStore for Store {
    async fn create_identity_provider(&self, p: &IdentityProvider) -> StoreResult<()> {
        let secret = sealed_secret(&self.crypto, p)?;
        execute!(
            self,
            sqlx::query(concat!(
                "INSERT INTO identity_providers (",
                provider_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            ))
            .bind(p.tenant_id.to_string())
            .bind(p.id.to_string())
            .bind(&p.alias)
            .bind(&p.display_name)
            .bind(p.enabled)
            .bind(p.trust_email)
            .bind(p.jit)
            .bind(to_json("identity_providers.domains", &p.domains)?)
            .bind(to_json("identity_providers.settings", &p.settings)?)
            .bind(&secret)
            .bind(to_millis(p.created_at))
            .bind(to_millis(p.updated_at))
        )?;
        Ok(())
    }

    async fn get_identity_provider(
        &self,
        tenant: TenantId,
        id: IdentityProviderId,
    ) -> StoreResult<Option<IdentityProvider>> {
        let row: Option<ProviderRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                provider_columns!(),
                " FROM identity_providers WHERE tenant_id = $1 AND id = $2"
            ))
            .bind(tenant.to_string())
            .bind(id.to_string())
        )?;
        row.map(|r| r.into_provider(&self.crypto)).transpose()
    }

    async fn find_identity_provider(
        &self,
        tenant: TenantId,
        alias: &str,
    ) -> StoreResult<Option<IdentityProvider>> {
        let row: Option<ProviderRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                provider_columns!(),
                " FROM identity_providers WHERE tenant_id = $1 AND alias = $2"
            ))
            .bind(tenant.to_string())
            .bind(alias)
        )?;
        row.map(|r| r.into_provider(&self.crypto)).transpose()
    }

    async fn list_identity_providers(
        &self,
        tenant: TenantId,
    ) -> StoreResult<Vec<IdentityProvider>> {
        let rows: Vec<ProviderRow> = fetch_all!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                provider_columns!(),
                " FROM identity_providers WHERE tenant_id = $1 ORDER BY alias"
            ))
            .bind(tenant.to_string())
        )?;
        rows.into_iter()
            .map(|r| r.into_provider(&self.crypto))
            .collect()
    }

    async fn update_identity_provider(&self, p: &IdentityProvider) -> StoreResult<()> {
        let secret = sealed_secret(&self.crypto, p)?;
        let n = execute!(
            self,
            sqlx::query(
                "UPDATE identity_providers SET alias = $3, display_name = $4, enabled = $5, \
                 trust_email = $6, jit = $7, domains = $8, settings = $9, client_secret = $10, \
                 updated_at = $11 WHERE tenant_id = $1 AND id = $2"
            )
            .bind(p.tenant_id.to_string())
            .bind(p.id.to_string())
            .bind(&p.alias)
            .bind(&p.display_name)
            .bind(p.enabled)
            .bind(p.trust_email)
            .bind(p.jit)
            .bind(to_json("identity_providers.domains", &p.domains)?)
            .bind(to_json("identity_providers.settings", &p.settings)?)
            .bind(&secret)
            .bind(to_millis(p.updated_at))
        )?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_identity_provider(
        &self,
        tenant: TenantId,
        id: IdentityProviderId,
    ) -> StoreResult<bool> {
        // Linked identities and states go with it (ON DELETE CASCADE).
        let n = execute!(
            self,
            sqlx::query("DELETE FROM identity_providers WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.to_string())
                .bind(id.to_string())
        )?;
        Ok(n > 0)
    }

    async fn create_linked_identity(&self, link: &LinkedIdentity) -> StoreResult<()> {
        let sealer = Sealer::new(&self.crypto, "linked_identity", link.tenant_id, link.id);
        let subject = sealer.seal("subject", &link.subject)?;
        let email = sealer.seal_opt("email", link.email.as_deref())?;
        let tokens = sealed_tokens(&self.crypto, link.tenant_id, link.id, link.tokens.as_ref())?;
        execute!(
            self,
            sqlx::query(
                "INSERT INTO linked_identities (id, tenant_id, user_id, provider_id, subject_bidx, \
                 subject, email, tokens, created_at, last_used_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            )
            .bind(link.id.to_string())
            .bind(link.tenant_id.to_string())
            .bind(link.user_id.to_string())
            .bind(link.provider_id.to_string())
            .bind(subject_index(&self.crypto, link.provider_id, &link.subject))
            .bind(&subject)
            .bind(&email)
            .bind(&tokens)
            .bind(to_millis(link.created_at))
            .bind(opt_to_millis(link.last_used_at))
        )?;
        Ok(())
    }

    async fn find_linked_identity(
        &self,
        tenant: TenantId,
        provider: IdentityProviderId,
        subject: &str,
    ) -> StoreResult<Option<LinkedIdentity>> {
        let row: Option<LinkRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                link_columns!(),
                " FROM linked_identities WHERE tenant_id = $1 AND provider_id = $2 AND subject_bidx = $3"
            ))
            .bind(tenant.to_string())
            .bind(provider.to_string())
            .bind(subject_index(&self.crypto, provider, subject))
        )?;
        row.map(|r| r.into_link(&self.crypto)).transpose()
    }

    async fn list_linked_identities(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<Vec<LinkedIdentity>> {
        let rows: Vec<LinkRow> = fetch_all!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                link_columns!(),
                " FROM linked_identities WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, id"
            ))
            .bind(tenant.to_string())
            .bind(user.to_string())
        )?;
        rows.into_iter()
            .map(|r| r.into_link(&self.crypto))
            .collect()
    }

    async fn delete_linked_identity(
        &self,
        tenant: TenantId,
        user: UserId,
        id: LinkedIdentityId,
    ) -> StoreResult<bool> {
        let n = execute!(
            self,
            sqlx::query(
                "DELETE FROM linked_identities WHERE tenant_id = $1 AND user_id = $2 AND id = $3"
            )
            .bind(tenant.to_string())
            .bind(user.to_string())
            .bind(id.to_string())
        )?;
        Ok(n > 0)
    }

    async fn touch_linked_identity(
        &self,
        tenant: TenantId,
        id: LinkedIdentityId,
        at: Timestamp,
        tokens: Option<&serde_json::Value>,
    ) -> StoreResult<()> {
        let tokens = sealed_tokens(&self.crypto, tenant, id, tokens)?;
        execute!(
            self,
            sqlx::query(
                "UPDATE linked_identities SET last_used_at = $3, tokens = COALESCE($4, tokens) \
                 WHERE tenant_id = $1 AND id = $2"
            )
            .bind(tenant.to_string())
            .bind(id.to_string())
            .bind(to_millis(at))
            .bind(&tokens)
        )?;
        Ok(())
    }

    async fn update_linked_identity_tokens(
        &self,
        tenant: TenantId,
        id: LinkedIdentityId,
        tokens: &serde_json::Value,
    ) -> StoreResult<()> {
        let tokens = sealed_tokens(&self.crypto, tenant, id, Some(tokens))?;
        execute!(
            self,
            sqlx::query(
                "UPDATE linked_identities SET tokens = $3 WHERE tenant_id = $1 AND id = $2"
            )
            .bind(tenant.to_string())
            .bind(id.to_string())
            .bind(&tokens)
        )?;
        Ok(())
    }

    async fn create_federation_state(&self, s: &FederationState) -> StoreResult<()> {
        let sealer = Sealer::new(&self.crypto, "federation_state", s.tenant_id, s.id);
        let verifier = sealer.seal("pkce_verifier", s.pkce_verifier.expose())?;
        let payload = s
            .payload
            .as_ref()
            .map(|p| sealed_payload(&self.crypto, s.tenant_id, s.id, p))
            .transpose()?;
        execute!(
            self,
            sqlx::query(concat!(
                "INSERT INTO federation_states (",
                state_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            ))
            .bind(s.id.to_string())
            .bind(s.tenant_id.to_string())
            .bind(s.provider_id.to_string())
            .bind(s.stage.as_str())
            .bind(&s.state_hash)
            .bind(&s.binding_hash)
            .bind(&s.nonce_hash)
            .bind(&verifier)
            .bind(&s.return_to)
            .bind(s.linking_user.map(|u| u.to_string()))
            .bind(s.target_user.map(|u| u.to_string()))
            .bind(&payload)
            .bind(to_millis(s.created_at))
            .bind(to_millis(s.expires_at))
        )?;
        Ok(())
    }

    async fn take_federation_state(
        &self,
        tenant: TenantId,
        state_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<FederationState>> {
        // One statement: of two requests with the same state, exactly one gets the row.
        let row: Option<StateRow> = fetch_optional!(
            write self,
            sqlx::query_as(concat!(
                "DELETE FROM federation_states WHERE tenant_id = $1 AND state_hash = $2 \
                 AND stage = 'authorize' RETURNING ",
                state_columns!()
            ))
            .bind(tenant.to_string())
            .bind(state_hash)
        )?;
        let state = row.map(|r| r.into_state(&self.crypto)).transpose()?;
        Ok(state.filter(|s| s.is_live(now)))
    }

    async fn stash_federation_response(
        &self,
        tenant: TenantId,
        state_hash: &str,
        payload: &serde_json::Value,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let row: Option<(String,)> = fetch_optional!(
            self,
            sqlx::query_as(
                "SELECT id FROM federation_states WHERE tenant_id = $1 AND state_hash = $2 \
                 AND stage = 'authorize' AND payload IS NULL AND expires_at > $3"
            )
            .bind(tenant.to_string())
            .bind(state_hash)
            .bind(to_millis(now))
        )?;
        let Some((sid,)) = row else {
            return Ok(false);
        };
        let state_id = id("federation_states.id", &sid, FederationStateId::parse)?;
        let sealed = sealed_payload(&self.crypto, tenant, state_id, payload)?;
        let n = execute!(
            self,
            sqlx::query(
                "UPDATE federation_states SET payload = $3 \
                 WHERE tenant_id = $1 AND id = $2 AND payload IS NULL"
            )
            .bind(tenant.to_string())
            .bind(&sid)
            .bind(&sealed)
        )?;
        Ok(n > 0)
    }

    async fn find_federation_state_by_binding(
        &self,
        tenant: TenantId,
        binding_hash: &str,
        stage: FederationStage,
        now: Timestamp,
    ) -> StoreResult<Option<FederationState>> {
        let row: Option<StateRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                state_columns!(),
                " FROM federation_states WHERE tenant_id = $1 AND binding_hash = $2 \
                 AND stage = $3 AND expires_at > $4 ORDER BY created_at DESC, id DESC LIMIT 1"
            ))
            .bind(tenant.to_string())
            .bind(binding_hash)
            .bind(stage.as_str())
            .bind(to_millis(now))
        )?;
        row.map(|r| r.into_state(&self.crypto)).transpose()
    }

    async fn update_federation_payload(
        &self,
        tenant: TenantId,
        id: FederationStateId,
        payload: &serde_json::Value,
    ) -> StoreResult<bool> {
        let sealed = sealed_payload(&self.crypto, tenant, id, payload)?;
        let n = execute!(
            self,
            sqlx::query(
                "UPDATE federation_states SET payload = $3 WHERE tenant_id = $1 AND id = $2"
            )
            .bind(tenant.to_string())
            .bind(id.to_string())
            .bind(&sealed)
        )?;
        Ok(n > 0)
    }

    async fn delete_federation_state(
        &self,
        tenant: TenantId,
        id: FederationStateId,
    ) -> StoreResult<bool> {
        let n = execute!(
            self,
            sqlx::query("DELETE FROM federation_states WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.to_string())
                .bind(id.to_string())
        )?;
        Ok(n > 0)
    }

    async fn purge_federation_states(&self, now: Timestamp) -> StoreResult<u64> {
        execute!(
            self,
            sqlx::query("DELETE FROM federation_states WHERE expires_at <= $1")
                .bind(to_millis(now))
        )
    }
}
