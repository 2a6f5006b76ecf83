//! `JobLeaseStore`: the `job_leases` table, one row per background job naming the node that runs
//! it and until when. Taking a lease is one statement on both backends: an insert that, on
//! conflict with an existing row, updates it only when that lease expired or is the same
//! holder's; `RETURNING` yields a row exactly when the lease was taken. The database serializes
//! concurrent attempts on the row, so of two nodes asking at once one wins.

use tessera_core::Timestamp;
use tessera_core::privacy_requests::JobLeaseStore;
use tessera_core::store::StoreResult;

use crate::Store;
use crate::codec::to_millis;

impl JobLeaseStore for Store {
    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> StoreResult<bool> {
        let row: Option<(String,)> = fetch_optional!(
            write self,
            sqlx::query_as(
                "INSERT INTO job_leases (name, holder, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
                   expires_at = excluded.expires_at \
                 WHERE job_leases.expires_at <= $4 OR job_leases.holder = excluded.holder \
                 RETURNING holder"
            )
            .bind(name)
            .bind(holder)
            .bind(to_millis(until))
            .bind(to_millis(now))
        )?;
        Ok(row.is_some_and(|(h,)| h == holder))
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        execute!(
            self,
            sqlx::query("DELETE FROM job_leases WHERE name = $1 AND holder = $2")
                .bind(name)
                .bind(holder)
        )?;
        Ok(())
    }
}
