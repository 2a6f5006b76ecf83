//! `TenantStore`: the `tenants` table. Deleting a tenant cascades to everything it owns through
//! the foreign keys of the schema.

use tessera_core::store::{StoreResult, TenantStore};
use tessera_core::tenant::{Preset, Tenant, TenantSettings};
use tessera_core::{StoreError, TenantId};

use crate::Store;
use crate::codec::{from_json, from_millis, id, to_json, to_millis};
use crate::error::corrupt;

macro_rules! tenant_columns {
    () => {
        "id, slug, name, preset, settings, created_at, updated_at, region"
    };
}

#[derive(sqlx::FromRow)]
struct TenantRow {
    id: String,
    slug: String,
    name: String,
    preset: String,
    settings: String,
    created_at: i64,
    updated_at: i64,
    region: Option<String>,
}

impl TenantRow {
    fn into_tenant(self) -> Result<Tenant, StoreError> {
        Ok(Tenant {
            id: id("tenants.id", &self.id, TenantId::parse)?,
            slug: self.slug,
            name: self.name,
            preset: Preset::parse(&self.preset)
                .map_err(|_| corrupt("tenants.preset is not a known preset"))?,
            region: self.region,
            settings: from_json::<TenantSettings>("tenants.settings", &self.settings)?,
            created_at: from_millis(self.created_at)?,
            updated_at: from_millis(self.updated_at)?,
        })
    }
}

impl TenantStore for Store {
    async fn create_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        let settings = to_json("tenants.settings", &tenant.settings)?;
        execute!(
            self,
            sqlx::query(concat!(
                "INSERT INTO tenants (",
                tenant_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .bind(tenant.id.to_string())
            .bind(&tenant.slug)
            .bind(&tenant.name)
            .bind(tenant.preset.as_str())
            .bind(&settings)
            .bind(to_millis(tenant.created_at))
            .bind(to_millis(tenant.updated_at))
            .bind(tenant.region.as_deref())
        )?;
        Ok(())
    }

    async fn get_tenant(&self, id: TenantId) -> StoreResult<Option<Tenant>> {
        let row: Option<TenantRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                tenant_columns!(),
                " FROM tenants WHERE id = $1"
            ))
            .bind(id.to_string())
        )?;
        row.map(TenantRow::into_tenant).transpose()
    }

    async fn get_tenant_by_slug(&self, slug: &str) -> StoreResult<Option<Tenant>> {
        let row: Option<TenantRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                tenant_columns!(),
                " FROM tenants WHERE slug = $1"
            ))
            .bind(slug)
        )?;
        row.map(TenantRow::into_tenant).transpose()
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        let rows: Vec<TenantRow> = fetch_all!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                tenant_columns!(),
                " FROM tenants ORDER BY slug"
            ))
        )?;
        rows.into_iter().map(TenantRow::into_tenant).collect()
    }

    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        let settings = to_json("tenants.settings", &tenant.settings)?;
        let updated = execute!(
            self,
            sqlx::query(
                "UPDATE tenants SET slug = $2, name = $3, preset = $4, settings = $5, updated_at = $6, region = $7 WHERE id = $1"
            )
            .bind(tenant.id.to_string())
            .bind(&tenant.slug)
            .bind(&tenant.name)
            .bind(tenant.preset.as_str())
            .bind(&settings)
            .bind(to_millis(tenant.updated_at))
            .bind(tenant.region.as_deref())
        )?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_tenant(&self, id: TenantId) -> StoreResult<bool> {
        let deleted = execute!(
            self,
            sqlx::query("DELETE FROM tenants WHERE id = $1").bind(id.to_string())
        )?;
        Ok(deleted > 0)
    }
}
