//! `ThrottleStore`: the `signin_throttle` counters. The caller's key (an account or a client IP)
//! is stored only as a blind index, so the table reveals neither emails nor addresses.

use tessera_core::store::{StoreResult, ThrottleStore};
use tessera_core::throttle::{ThrottlePolicy, ThrottleState};
use tessera_core::{StoreError, TenantId, Timestamp};

use crate::Store;
use crate::codec::{clamp_i64, from_millis, opt_from_millis, to_millis};

/// Blind index purpose of throttle keys.
const KEY_INDEX: &str = "throttle.key";

/// Window and lockout lengths are capped at a century so `now + lockout` cannot overflow in SQL.
const MAX_SPAN_MS: i64 = 100 * 366 * 24 * 3600 * 1000;

#[derive(sqlx::FromRow)]
struct ThrottleRow {
    failures: i64,
    last_failure_at: i64,
    locked_until: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct KeyedThrottleRow {
    key_bidx: String,
    #[sqlx(flatten)]
    row: ThrottleRow,
}

impl ThrottleRow {
    fn into_state(self) -> Result<ThrottleState, StoreError> {
        Ok(ThrottleState {
            failures: u32::try_from(self.failures.max(0)).unwrap_or(u32::MAX),
            last_failure_at: from_millis(self.last_failure_at)?,
            locked_until: opt_from_millis(self.locked_until)?,
        })
    }
}

fn span_ms(secs: u64) -> i64 {
    clamp_i64(secs).saturating_mul(1000).min(MAX_SPAN_MS)
}

impl ThrottleStore for Store {
    async fn get_throttle(
        &self,
        tenant: TenantId,
        key: &str,
    ) -> StoreResult<Option<ThrottleState>> {
        let row: Option<ThrottleRow> = fetch_optional!(
            self,
            sqlx::query_as(
                "SELECT failures, last_failure_at, locked_until FROM signin_throttle \
                 WHERE tenant_id = $1 AND key_bidx = $2"
            )
            .bind(tenant.to_string())
            .bind(self.crypto.blind_index(KEY_INDEX, key))
        )?;
        row.map(ThrottleRow::into_state).transpose()
    }

    async fn get_throttle_pair(
        &self,
        tenant: TenantId,
        first: &str,
        second: Option<&str>,
    ) -> StoreResult<(Option<ThrottleState>, Option<ThrottleState>)> {
        let Some(second) = second else {
            return Ok((self.get_throttle(tenant, first).await?, None));
        };
        let first_bidx = self.crypto.blind_index(KEY_INDEX, first);
        let second_bidx = self.crypto.blind_index(KEY_INDEX, second);
        let rows: Vec<KeyedThrottleRow> = fetch_all!(
            self,
            sqlx::query_as(
                "SELECT key_bidx, failures, last_failure_at, locked_until FROM signin_throttle \
                 WHERE tenant_id = $1 AND key_bidx IN ($2, $3)"
            )
            .bind(tenant.to_string())
            .bind(&first_bidx)
            .bind(&second_bidx)
        )?;
        let (mut a, mut b) = (None, None);
        for row in rows {
            let state = row.row.into_state()?;
            // Two equal keys (never the case for an account and an IP) fill both.
            if row.key_bidx == first_bidx {
                a = Some(state.clone());
            }
            if row.key_bidx == second_bidx {
                b = Some(state);
            }
        }
        Ok((a, b))
    }

    /// One statement, so concurrent failures on any number of nodes are all counted: the row is
    /// created at 1 or, under its row lock, restarted at 1 when the previous failure is outside
    /// the window (`now - last >= window`, as `ThrottlePolicy::decide` sees it) or incremented.
    /// Reaching `lockout_after` sets `locked_until = now + lockout`; otherwise the old lock stays.
    async fn record_failure(
        &self,
        tenant: TenantId,
        key: &str,
        policy: &ThrottlePolicy,
        now: Timestamp,
    ) -> StoreResult<ThrottleState> {
        // $3 now, $4 window, $5 lockout length, $6 lockout threshold.
        let row: ThrottleRow = fetch_one!(
            write self,
            sqlx::query_as(
                "INSERT INTO signin_throttle (tenant_id, key_bidx, failures, last_failure_at, locked_until) \
                 VALUES ($1, $2, 1, $3, CASE WHEN 1 >= $6 THEN $3 + $5 ELSE NULL END) \
                 ON CONFLICT (tenant_id, key_bidx) DO UPDATE SET \
                   failures = CASE WHEN signin_throttle.last_failure_at <= $3 - $4 THEN 1 \
                                   ELSE signin_throttle.failures + 1 END, \
                   last_failure_at = $3, \
                   locked_until = CASE WHEN (CASE WHEN signin_throttle.last_failure_at <= $3 - $4 THEN 1 \
                                                  ELSE signin_throttle.failures + 1 END) >= $6 \
                                       THEN $3 + $5 ELSE signin_throttle.locked_until END \
                 RETURNING failures, last_failure_at, locked_until"
            )
            .bind(tenant.to_string())
            .bind(self.crypto.blind_index(KEY_INDEX, key))
            .bind(to_millis(now))
            .bind(span_ms(policy.window_secs))
            .bind(span_ms(policy.lockout_secs))
            .bind(i64::from(policy.lockout_after))
        )?;
        row.into_state()
    }

    async fn clear_throttle(&self, tenant: TenantId, key: &str) -> StoreResult<()> {
        execute!(
            self,
            sqlx::query("DELETE FROM signin_throttle WHERE tenant_id = $1 AND key_bidx = $2")
                .bind(tenant.to_string())
                .bind(self.crypto.blind_index(KEY_INDEX, key))
        )?;
        Ok(())
    }
}
