//! `AccountDeletionStore`: the `account_deletions` table, accounts waiting for the end of their
//! deletion grace period. Rows reference their account (`ON DELETE CASCADE`), so deleting the
//! account removes its schedule. The deletion job leases due rows with one statement
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single write lock on SQLite), as the mail outbox
//! does, so that one node handles each account.

use tessera_core::account::{AccountDeletionStore, ScheduledDeletion};
use tessera_core::store::StoreResult;
use tessera_core::{StoreError, TenantId, Timestamp, UserId};

use crate::Store;
use crate::codec::{from_millis, id, to_millis};
use crate::error::from_sqlx;

macro_rules! deletion_columns {
    () => {
        "tenant_id, user_id, requested_at, due_at"
    };
}

/// Picks due, unleased rows, oldest due first, and leases them until `$2` (`$1` is now, `$3` the
/// most to take). User ids are unique across tenants, so `user_id` alone names a row.
const CLAIM_DUE: crate::dialect::Locking = for_update_skip_locked!(
    "UPDATE account_deletions SET lease_until = $2 WHERE user_id IN (\
       SELECT user_id FROM account_deletions \
       WHERE due_at <= $1 AND (lease_until IS NULL OR lease_until <= $1) \
       ORDER BY due_at, user_id LIMIT $3";
    ") RETURNING ",
    deletion_columns!()
);

#[derive(sqlx::FromRow)]
struct DeletionRow {
    tenant_id: String,
    user_id: String,
    requested_at: i64,
    due_at: i64,
}

impl DeletionRow {
    fn into_deletion(self) -> Result<ScheduledDeletion, StoreError> {
        Ok(ScheduledDeletion {
            tenant_id: id(
                "account_deletions.tenant_id",
                &self.tenant_id,
                TenantId::parse,
            )?,
            user_id: id("account_deletions.user_id", &self.user_id, UserId::parse)?,
            requested_at: from_millis(self.requested_at)?,
            due_at: from_millis(self.due_at)?,
        })
    }
}

impl AccountDeletionStore for Store {
    async fn schedule_deletion(&self, d: &ScheduledDeletion) -> StoreResult<()> {
        execute!(
            self,
            sqlx::query(concat!(
                "INSERT INTO account_deletions (",
                deletion_columns!(),
                ", lease_until) VALUES ($1, $2, $3, $4, NULL) \
                 ON CONFLICT (tenant_id, user_id) DO UPDATE SET \
                 requested_at = excluded.requested_at, due_at = excluded.due_at, lease_until = NULL"
            ))
            .bind(d.tenant_id.to_string())
            .bind(d.user_id.to_string())
            .bind(to_millis(d.requested_at))
            .bind(to_millis(d.due_at))
        )?;
        Ok(())
    }

    async fn get_scheduled_deletion(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<Option<ScheduledDeletion>> {
        let row: Option<DeletionRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                deletion_columns!(),
                " FROM account_deletions WHERE tenant_id = $1 AND user_id = $2"
            ))
            .bind(tenant.to_string())
            .bind(user.to_string())
        )?;
        row.map(DeletionRow::into_deletion).transpose()
    }

    async fn cancel_scheduled_deletion(&self, tenant: TenantId, user: UserId) -> StoreResult<bool> {
        let n = execute!(
            self,
            sqlx::query("DELETE FROM account_deletions WHERE tenant_id = $1 AND user_id = $2")
                .bind(tenant.to_string())
                .bind(user.to_string())
        )?;
        Ok(n > 0)
    }

    async fn claim_due_deletions(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ScheduledDeletion>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let sql = CLAIM_DUE.text(&self.db);
        let rows: Vec<DeletionRow> = on_pool!(write self, pool => {
            sqlx::query_as(sql)
                .bind(to_millis(now))
                .bind(to_millis(lease_until))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })
        .map_err(from_sqlx)?;
        let mut due = rows
            .into_iter()
            .map(DeletionRow::into_deletion)
            .collect::<Result<Vec<_>, _>>()?;
        due.sort_by_key(|d| (d.due_at, d.user_id.to_string()));
        Ok(due)
    }
}
