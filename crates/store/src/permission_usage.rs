//! `PermissionUsageStore`: the `permission_usage` table (no personal data: ids, a permission
//! name and a time).

use tessera_core::store::{PermissionUsageStore, StoreResult};
use tessera_core::{TenantId, Timestamp, UserId};

use crate::Store;
use crate::codec::{from_millis, id, to_millis};

impl PermissionUsageStore for Store {
    async fn record_permission_use(
        &self,
        tenant: TenantId,
        user: UserId,
        permission: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        // A user deleted meanwhile breaks the foreign key: nothing to record then.
        let result = execute!(
            self,
            sqlx::query(
                "INSERT INTO permission_usage (tenant_id, user_id, permission, last_used_at) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id, user_id, permission) DO UPDATE SET last_used_at = $4 \
                 WHERE permission_usage.last_used_at < $4"
            )
            .bind(tenant.to_string())
            .bind(user.to_string())
            .bind(permission)
            .bind(to_millis(at))
        );
        match result {
            Ok(_) | Err(tessera_core::StoreError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn permission_uses(
        &self,
        tenant: TenantId,
    ) -> StoreResult<Vec<(UserId, String, Timestamp)>> {
        let rows: Vec<(String, String, i64)> = fetch_all!(
            self,
            sqlx::query_as(
                "SELECT user_id, permission, last_used_at FROM permission_usage WHERE tenant_id = $1"
            )
            .bind(tenant.to_string())
        )?;
        rows.into_iter()
            .map(|(u, p, t)| {
                Ok((
                    id("permission_usage.user_id", &u, UserId::parse)?,
                    p,
                    from_millis(t)?,
                ))
            })
            .collect()
    }
}
