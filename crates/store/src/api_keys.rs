//! `ApiKeyStore`: the `api_keys` table. Keys are stored as the SHA-256 of their value (unique
//! across the deployment, since a presented key is looked up before its tenant is known).

use tessera_core::apikey::{AdminRole, ApiKey, ApiScope};
use tessera_core::store::{ApiKeyStore, StoreResult};
use tessera_core::{ApiKeyId, StoreError, TenantId, Timestamp};

use crate::Store;
use crate::codec::{
    from_json, from_millis, id, opt_from_millis, opt_to_millis, to_json, to_millis,
};

macro_rules! api_key_columns {
    () => {
        "id, tenant_id, name, display_prefix, key_hash, scopes, created_at, expires_at, revoked_at, admin_role"
    };
}

#[derive(sqlx::FromRow)]
struct ApiKeyRow {
    id: String,
    tenant_id: String,
    name: String,
    display_prefix: String,
    key_hash: String,
    scopes: String,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    admin_role: Option<String>,
}

impl ApiKeyRow {
    fn into_api_key(self) -> Result<ApiKey, StoreError> {
        Ok(ApiKey {
            id: id("api_keys.id", &self.id, ApiKeyId::parse)?,
            tenant_id: id("api_keys.tenant_id", &self.tenant_id, TenantId::parse)?,
            name: self.name,
            display_prefix: self.display_prefix,
            key_hash: self.key_hash,
            scopes: from_json::<Vec<ApiScope>>("api_keys.scopes", &self.scopes)?,
            created_at: from_millis(self.created_at)?,
            expires_at: opt_from_millis(self.expires_at)?,
            revoked_at: opt_from_millis(self.revoked_at)?,
            admin_role: match self.admin_role {
                None => None,
                Some(r) => Some(AdminRole::parse(&r).map_err(|_| {
                    StoreError::Corrupt("api_keys.admin_role holds an unknown role".into())
                })?),
            },
        })
    }
}

impl ApiKeyStore for Store {
    async fn create_api_key(&self, key: &ApiKey) -> StoreResult<()> {
        let scopes = to_json("api_keys.scopes", &key.scopes)?;
        execute!(
            self,
            sqlx::query(concat!(
                "INSERT INTO api_keys (",
                api_key_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ))
            .bind(key.id.to_string())
            .bind(key.tenant_id.to_string())
            .bind(&key.name)
            .bind(&key.display_prefix)
            .bind(&key.key_hash)
            .bind(&scopes)
            .bind(to_millis(key.created_at))
            .bind(opt_to_millis(key.expires_at))
            .bind(opt_to_millis(key.revoked_at))
            .bind(key.admin_role.map(AdminRole::as_str))
        )?;
        Ok(())
    }

    async fn find_api_key_by_hash(&self, key_hash: &str) -> StoreResult<Option<ApiKey>> {
        let row: Option<ApiKeyRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                api_key_columns!(),
                " FROM api_keys WHERE key_hash = $1"
            ))
            .bind(key_hash)
        )?;
        row.map(ApiKeyRow::into_api_key).transpose()
    }

    async fn list_api_keys(&self, tenant: TenantId) -> StoreResult<Vec<ApiKey>> {
        let rows: Vec<ApiKeyRow> = fetch_all!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                api_key_columns!(),
                " FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id"
            ))
            .bind(tenant.to_string())
        )?;
        rows.into_iter().map(ApiKeyRow::into_api_key).collect()
    }

    async fn revoke_api_key(
        &self,
        tenant: TenantId,
        id: ApiKeyId,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let revoked = execute!(
            self,
            sqlx::query("UPDATE api_keys SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL")
                .bind(tenant.to_string())
                .bind(id.to_string())
                .bind(to_millis(at))
        )?;
        Ok(revoked > 0)
    }
}
