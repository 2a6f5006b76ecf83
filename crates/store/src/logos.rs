//! `LogoStore`: tenant logos (`tenant_logos`), one row per tenant. Logos are public images, so
//! they are stored as they are, not sealed.

use tessera_core::TenantId;
use tessera_core::branding::{LogoStore, TenantLogo};
use tessera_core::store::StoreResult;

use crate::Store;
use crate::codec::{from_millis, to_millis};

#[derive(sqlx::FromRow)]
struct LogoRow {
    content_type: String,
    data: Vec<u8>,
    updated_at: i64,
}

impl LogoStore for Store {
    async fn get_logo(&self, tenant: TenantId) -> StoreResult<Option<TenantLogo>> {
        let row: Option<LogoRow> = fetch_optional!(
            self,
            sqlx::query_as(
                "SELECT content_type, data, updated_at FROM tenant_logos WHERE tenant_id = $1"
            )
            .bind(tenant.to_string())
        )?;
        row.map(|r| {
            Ok(TenantLogo {
                content_type: r.content_type,
                data: r.data,
                updated_at: from_millis(r.updated_at)?,
            })
        })
        .transpose()
    }

    async fn put_logo(&self, tenant: TenantId, logo: &TenantLogo) -> StoreResult<()> {
        execute!(
            self,
            sqlx::query(
                "INSERT INTO tenant_logos (tenant_id, content_type, data, updated_at) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id) DO UPDATE SET content_type = $2, data = $3, updated_at = $4"
            )
            .bind(tenant.to_string())
            .bind(logo.content_type.clone())
            .bind(logo.data.clone())
            .bind(to_millis(logo.updated_at))
        )?;
        Ok(())
    }

    async fn delete_logo(&self, tenant: TenantId) -> StoreResult<bool> {
        let n = execute!(
            self,
            sqlx::query("DELETE FROM tenant_logos WHERE tenant_id = $1").bind(tenant.to_string())
        )?;
        Ok(n > 0)
    }
}
