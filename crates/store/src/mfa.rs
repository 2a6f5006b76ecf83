//! `MfaStore`: the `mfa_factors`, `recovery_codes` and `login_flows` tables.
//!
//! Factor secrets (TOTP keys, WebAuthn credential records) and names are sealed, bound to their
//! row (`mfa.<field>:{tenant}:{factor}`); a flow's pending challenge is sealed the same way
//! (`login_flow.pending:{tenant}:{flow}`). Recovery codes and emailed codes exist only as digests
//! the caller computes. One-time uses (a TOTP step, a recovery code, a flow's completion) are single
//! conditional statements, so two concurrent requests cannot both succeed.

use tessera_core::mfa::{Factor, FactorKind, FlowStage, LoginFlow, PendingChallenge};
use tessera_core::store::{MfaStore, StoreResult};
use tessera_core::{FactorId, LoginFlowId, Secret, StoreError, TenantId, Timestamp, UserId};
use tessera_crypto::FieldCrypto;

use crate::Store;
use crate::codec::{
    Sealer, from_json, from_millis, id, opt_from_millis, opt_to_millis, to_json, to_millis,
};

macro_rules! factor_columns {
    () => {
        "id, tenant_id, user_id, kind, name, secret, credential_id, discoverable, aaguid, \
         confirmed_at, last_used_at, last_totp_step, created_at"
    };
}

macro_rules! flow_columns {
    () => {
        "id, tenant_id, binding_hash, stage, user_id, methods, return_to, reason, webauthn_only, \
         pending, link_hash, attempts, created_at, expires_at"
    };
}

#[derive(sqlx::FromRow)]
struct FactorRow {
    id: String,
    tenant_id: String,
    user_id: String,
    kind: String,
    name: Vec<u8>,
    secret: Vec<u8>,
    credential_id: Option<String>,
    discoverable: bool,
    aaguid: Option<String>,
    confirmed_at: Option<i64>,
    last_used_at: Option<i64>,
    last_totp_step: Option<i64>,
    created_at: i64,
}

impl FactorRow {
    fn into_factor(self, crypto: &FieldCrypto) -> Result<Factor, StoreError> {
        let factor_id = id("mfa_factors.id", &self.id, FactorId::parse)?;
        let tenant_id = id("mfa_factors.tenant_id", &self.tenant_id, TenantId::parse)?;
        let sealer = Sealer::new(crypto, "mfa", tenant_id, factor_id);
        Ok(Factor {
            id: factor_id,
            tenant_id,
            user_id: id("mfa_factors.user_id", &self.user_id, UserId::parse)?,
            kind: FactorKind::parse(&self.kind).ok_or_else(|| {
                StoreError::Corrupt(format!("mfa_factors.kind {:?} is unknown", self.kind))
            })?,
            name: sealer.open("name", &self.name)?,
            secret: Secret::new(sealer.open("secret", &self.secret)?),
            credential_id: self.credential_id,
            discoverable: self.discoverable,
            aaguid: self
                .aaguid
                .as_deref()
                .map(|a| id("mfa_factors.aaguid", a, |s| uuid::Uuid::parse_str(s).ok()))
                .transpose()?,
            confirmed_at: opt_from_millis(self.confirmed_at)?,
            last_used_at: opt_from_millis(self.last_used_at)?,
            last_totp_step: self.last_totp_step,
            created_at: from_millis(self.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct FlowRow {
    id: String,
    tenant_id: String,
    binding_hash: String,
    stage: String,
    user_id: Option<String>,
    methods: String,
    return_to: String,
    reason: Option<String>,
    webauthn_only: bool,
    pending: Option<Vec<u8>>,
    link_hash: Option<String>,
    attempts: i64,
    created_at: i64,
    expires_at: i64,
}

impl FlowRow {
    fn into_flow(self, crypto: &FieldCrypto) -> Result<LoginFlow, StoreError> {
        let flow_id = id("login_flows.id", &self.id, LoginFlowId::parse)?;
        let tenant_id = id("login_flows.tenant_id", &self.tenant_id, TenantId::parse)?;
        let sealer = Sealer::new(crypto, "login_flow", tenant_id, flow_id);
        let pending = match sealer.open_opt("pending", self.pending.as_deref())? {
            Some(json) => Some(from_json::<PendingChallenge>("login_flows.pending", &json)?),
            None => None,
        };
        Ok(LoginFlow {
            id: flow_id,
            tenant_id,
            binding_hash: self.binding_hash,
            stage: FlowStage::parse(&self.stage).ok_or_else(|| {
                StoreError::Corrupt(format!("login_flows.stage {:?} is unknown", self.stage))
            })?,
            user_id: self
                .user_id
                .as_deref()
                .map(|u| id("login_flows.user_id", u, UserId::parse))
                .transpose()?,
            methods: from_json("login_flows.methods", &self.methods)?,
            return_to: self.return_to,
            reason: self.reason,
            webauthn_only: self.webauthn_only,
            pending,
            link_hash: self.link_hash,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            created_at: from_millis(self.created_at)?,
            expires_at: from_millis(self.expires_at)?,
        })
    }
}

fn seal_pending(crypto: &FieldCrypto, flow: &LoginFlow) -> Result<Option<Vec<u8>>, StoreError> {
    let sealer = Sealer::new(crypto, "login_flow", flow.tenant_id, flow.id);
    match &flow.pending {
        Some(p) => Ok(Some(
            sealer.seal("pending", &to_json("login_flows.pending", p)?)?,
        )),
        None => Ok(None),
    }
}

impl MfaStore for Store {
    async fn create_factor(&self, f: &Factor) -> StoreResult<()> {
        let sealer = Sealer::new(&self.crypto, "mfa", f.tenant_id, f.id);
        let name = sealer.seal("name", &f.name)?;
        let secret = sealer.seal("secret", f.secret.expose())?;
        execute!(
            self,
            sqlx::query(concat!(
                "INSERT INTO mfa_factors (",
                factor_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ))
            .bind(f.id.to_string())
            .bind(f.tenant_id.to_string())
            .bind(f.user_id.to_string())
            .bind(f.kind.as_str())
            .bind(&name)
            .bind(&secret)
            .bind(f.credential_id.as_deref())
            .bind(f.discoverable)
            .bind(f.aaguid.map(|a| a.to_string()))
            .bind(opt_to_millis(f.confirmed_at))
            .bind(opt_to_millis(f.last_used_at))
            .bind(f.last_totp_step)
            .bind(to_millis(f.created_at))
        )?;
        Ok(())
    }

    async fn get_factor(&self, tenant: TenantId, id: FactorId) -> StoreResult<Option<Factor>> {
        let row: Option<FactorRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                factor_columns!(),
                " FROM mfa_factors WHERE tenant_id = $1 AND id = $2"
            ))
            .bind(tenant.to_string())
            .bind(id.to_string())
        )?;
        row.map(|r| r.into_factor(&self.crypto)).transpose()
    }

    async fn list_factors(&self, tenant: TenantId, user: UserId) -> StoreResult<Vec<Factor>> {
        let rows: Vec<FactorRow> = fetch_all!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                factor_columns!(),
                " FROM mfa_factors WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, id"
            ))
            .bind(tenant.to_string())
            .bind(user.to_string())
        )?;
        rows.into_iter()
            .map(|r| r.into_factor(&self.crypto))
            .collect()
    }

    async fn find_factor_by_credential_id(
        &self,
        tenant: TenantId,
        credential_id: &str,
    ) -> StoreResult<Option<Factor>> {
        let row: Option<FactorRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                factor_columns!(),
                " FROM mfa_factors WHERE tenant_id = $1 AND credential_id = $2"
            ))
            .bind(tenant.to_string())
            .bind(credential_id)
        )?;
        row.map(|r| r.into_factor(&self.crypto)).transpose()
    }

    async fn confirm_factor(
        &self,
        tenant: TenantId,
        user: UserId,
        id: FactorId,
        totp_step: Option<i64>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let n = execute!(
            self,
            sqlx::query(
                "UPDATE mfa_factors SET confirmed_at = $4, last_used_at = $4, last_totp_step = $5 \
                 WHERE tenant_id = $1 AND user_id = $2 AND id = $3 AND confirmed_at IS NULL"
            )
            .bind(tenant.to_string())
            .bind(user.to_string())
            .bind(id.to_string())
            .bind(to_millis(now))
            .bind(totp_step)
        )?;
        Ok(n == 1)
    }

    async fn rename_factor(
        &self,
        tenant: TenantId,
        user: UserId,
        id: FactorId,
        name: &str,
    ) -> StoreResult<bool> {
        let sealed = Sealer::new(&self.crypto, "mfa", tenant, id).seal("name", name)?;
        let n = execute!(
            self,
            sqlx::query(
                "UPDATE mfa_factors SET name = $4 WHERE tenant_id = $1 AND user_id = $2 AND id = $3"
            )
            .bind(tenant.to_string())
            .bind(user.to_string())
            .bind(id.to_string())
            .bind(&sealed)
        )?;
        Ok(n == 1)
    }

    async fn delete_factor(
        &self,
        tenant: TenantId,
        user: UserId,
        id: FactorId,
    ) -> StoreResult<bool> {
        let n = execute!(
            self,
            sqlx::query(
                "DELETE FROM mfa_factors WHERE tenant_id = $1 AND user_id = $2 AND id = $3"
            )
            .bind(tenant.to_string())
            .bind(user.to_string())
            .bind(id.to_string())
        )?;
        Ok(n == 1)
    }

    async fn delete_all_factors(&self, tenant: TenantId, user: UserId) -> StoreResult<u64> {
        transaction!(self, tx => {
            let n = tx_execute!(
                tx,
                sqlx::query("DELETE FROM mfa_factors WHERE tenant_id = $1 AND user_id = $2")
                    .bind(tenant.to_string())
                    .bind(user.to_string())
            )?;
            tx_execute!(
                tx,
                sqlx::query("DELETE FROM recovery_codes WHERE tenant_id = $1 AND user_id = $2")
                    .bind(tenant.to_string())
                    .bind(user.to_string())
            )?;
            Ok(n)
        })
    }

    async fn use_totp_step(
        &self,
        tenant: TenantId,
        id: FactorId,
        step: i64,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let n = execute!(
            self,
            sqlx::query(
                "UPDATE mfa_factors SET last_totp_step = $3, last_used_at = $4 \
                 WHERE tenant_id = $1 AND id = $2 AND confirmed_at IS NOT NULL \
                 AND (last_totp_step IS NULL OR last_totp_step < $3)"
            )
            .bind(tenant.to_string())
            .bind(id.to_string())
            .bind(step)
            .bind(to_millis(now))
        )?;
        Ok(n == 1)
    }

    async fn record_webauthn_use(
        &self,
        tenant: TenantId,
        id: FactorId,
        secret: &Secret,
        now: Timestamp,
    ) -> StoreResult<()> {
        let sealed =
            Sealer::new(&self.crypto, "mfa", tenant, id).seal("secret", secret.expose())?;
        execute!(
            self,
            sqlx::query(
                "UPDATE mfa_factors SET secret = $3, last_used_at = $4 WHERE tenant_id = $1 AND id = $2"
            )
            .bind(tenant.to_string())
            .bind(id.to_string())
            .bind(&sealed)
            .bind(to_millis(now))
        )?;
        Ok(())
    }

    async fn replace_recovery_codes(
        &self,
        tenant: TenantId,
        user: UserId,
        digests: &[String],
        now: Timestamp,
    ) -> StoreResult<()> {
        transaction!(self, tx => {
            tx_execute!(
                tx,
                sqlx::query("DELETE FROM recovery_codes WHERE tenant_id = $1 AND user_id = $2")
                    .bind(tenant.to_string())
                    .bind(user.to_string())
            )?;
            for d in digests {
                tx_execute!(
                    tx,
                    sqlx::query(
                        "INSERT INTO recovery_codes (tenant_id, user_id, digest, created_at, used_at) \
                         VALUES ($1, $2, $3, $4, NULL)"
                    )
                    .bind(tenant.to_string())
                    .bind(user.to_string())
                    .bind(d)
                    .bind(to_millis(now))
                )?;
            }
            Ok(())
        })
    }

    async fn use_recovery_code(
        &self,
        tenant: TenantId,
        user: UserId,
        digest: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let n = execute!(
            self,
            sqlx::query(
                "UPDATE recovery_codes SET used_at = $4 \
                 WHERE tenant_id = $1 AND user_id = $2 AND digest = $3 AND used_at IS NULL"
            )
            .bind(tenant.to_string())
            .bind(user.to_string())
            .bind(digest)
            .bind(to_millis(now))
        )?;
        Ok(n == 1)
    }

    async fn count_recovery_codes(&self, tenant: TenantId, user: UserId) -> StoreResult<u32> {
        let (n,): (i64,) = fetch_one!(
            self,
            sqlx::query_as(
                "SELECT COUNT(*) FROM recovery_codes \
                 WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL"
            )
            .bind(tenant.to_string())
            .bind(user.to_string())
        )?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn create_login_flow(&self, flow: &LoginFlow) -> StoreResult<()> {
        let pending = seal_pending(&self.crypto, flow)?;
        let methods = to_json("login_flows.methods", &flow.methods)?;
        execute!(
            self,
            sqlx::query(concat!(
                "INSERT INTO login_flows (",
                flow_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            ))
            .bind(flow.id.to_string())
            .bind(flow.tenant_id.to_string())
            .bind(&flow.binding_hash)
            .bind(flow.stage.as_str())
            .bind(flow.user_id.map(|u| u.to_string()))
            .bind(&methods)
            .bind(&flow.return_to)
            .bind(flow.reason.as_deref())
            .bind(flow.webauthn_only)
            .bind(&pending)
            .bind(flow.link_hash.as_deref())
            .bind(i64::from(flow.attempts))
            .bind(to_millis(flow.created_at))
            .bind(to_millis(flow.expires_at))
        )?;
        Ok(())
    }

    async fn find_login_flow(
        &self,
        tenant: TenantId,
        binding_hash: &str,
    ) -> StoreResult<Option<LoginFlow>> {
        // Newest first: a browser that started several sign-ins continues the latest.
        let row: Option<FlowRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                flow_columns!(),
                " FROM login_flows WHERE tenant_id = $1 AND binding_hash = $2 \
                 ORDER BY created_at DESC, id DESC LIMIT 1"
            ))
            .bind(tenant.to_string())
            .bind(binding_hash)
        )?;
        row.map(|r| r.into_flow(&self.crypto)).transpose()
    }

    async fn find_login_flow_by_id(
        &self,
        tenant: TenantId,
        id: LoginFlowId,
    ) -> StoreResult<Option<LoginFlow>> {
        let row: Option<FlowRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                flow_columns!(),
                " FROM login_flows WHERE tenant_id = $1 AND id = $2"
            ))
            .bind(tenant.to_string())
            .bind(id.to_string())
        )?;
        row.map(|r| r.into_flow(&self.crypto)).transpose()
    }

    async fn find_login_flow_by_link(
        &self,
        tenant: TenantId,
        link_hash: &str,
    ) -> StoreResult<Option<LoginFlow>> {
        let row: Option<FlowRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                flow_columns!(),
                " FROM login_flows WHERE tenant_id = $1 AND link_hash = $2"
            ))
            .bind(tenant.to_string())
            .bind(link_hash)
        )?;
        row.map(|r| r.into_flow(&self.crypto)).transpose()
    }

    async fn update_login_flow(&self, flow: &LoginFlow) -> StoreResult<()> {
        let pending = seal_pending(&self.crypto, flow)?;
        let methods = to_json("login_flows.methods", &flow.methods)?;
        let n = execute!(
            self,
            sqlx::query(
                "UPDATE login_flows SET stage = $3, user_id = $4, methods = $5, reason = $6, \
                 webauthn_only = $7, pending = $8, link_hash = $9, attempts = $10, expires_at = $11 \
                 WHERE tenant_id = $1 AND id = $2"
            )
            .bind(flow.tenant_id.to_string())
            .bind(flow.id.to_string())
            .bind(flow.stage.as_str())
            .bind(flow.user_id.map(|u| u.to_string()))
            .bind(&methods)
            .bind(flow.reason.as_deref())
            .bind(flow.webauthn_only)
            .bind(&pending)
            .bind(flow.link_hash.as_deref())
            .bind(i64::from(flow.attempts))
            .bind(to_millis(flow.expires_at))
        )?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_login_flow(&self, tenant: TenantId, id: LoginFlowId) -> StoreResult<bool> {
        let n = execute!(
            self,
            sqlx::query("DELETE FROM login_flows WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.to_string())
                .bind(id.to_string())
        )?;
        Ok(n == 1)
    }

    async fn record_flow_attempt(&self, tenant: TenantId, id: LoginFlowId) -> StoreResult<u32> {
        let row: Option<(i64,)> = fetch_optional!(
            write self,
            sqlx::query_as(
                "UPDATE login_flows SET attempts = attempts + 1 \
                 WHERE tenant_id = $1 AND id = $2 RETURNING attempts"
            )
            .bind(tenant.to_string())
            .bind(id.to_string())
        )?;
        Ok(row.map_or(u32::MAX, |(n,)| u32::try_from(n).unwrap_or(u32::MAX)))
    }

    async fn purge_login_flows(&self, now: Timestamp) -> StoreResult<u64> {
        execute!(
            self,
            sqlx::query("DELETE FROM login_flows WHERE expires_at < $1").bind(to_millis(now))
        )
    }
}
