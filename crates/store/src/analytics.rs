//! `AnalyticsStore`: aggregate counts of the audit trail (by UTC day) and of the current consent
//! state, for the anonymized analytics of a tenant. Every query groups in SQL and returns counts
//! only, never an identifier; the k-anonymity rule is applied by `tessera_core::analytics`.

use tessera_core::analytics::{AnalyticsStore, DayCount, FunnelDay, RawAnalytics};
use tessera_core::store::StoreResult;
use tessera_core::{TenantId, Timestamp};

use crate::Store;
use crate::codec::to_millis;

/// Day number (days since 1970-01-01 UTC) of `occurred_at` (unix milliseconds); integer division
/// in both dialects.
macro_rules! day_of {
    ($col:literal) => {
        concat!($col, " / 86400000")
    };
}

const EVENT_COUNTS: &str = concat!(
    "SELECT ",
    day_of!("occurred_at"),
    " AS day, event_type, COUNT(*) AS n FROM audit_entries \
     WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3 \
     AND event_type IN ('user.registered', 'user.created', 'user.email_verified') \
     GROUP BY 1, 2"
);

const SIGN_INS_BY_METHOD: crate::dialect::Spelled = with_json_text!(
    "SELECT ", day_of!("occurred_at"), " AS day, ";
    "body", "method";
    " AS method, COUNT(*) AS n FROM audit_entries \
     WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3 \
     AND event_type = 'signin.succeeded' GROUP BY 1, 2"
);

const ACTIVE_USERS: &str = concat!(
    "SELECT ",
    day_of!("occurred_at"),
    " AS day, COUNT(DISTINCT subject_user_id) AS n FROM audit_entries \
     WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3 \
     AND event_type = 'signin.succeeded' AND subject_user_id IS NOT NULL GROUP BY 1"
);

/// The cohort of each day's registrations, followed to now: how many have a later
/// `user.email_verified` and `signin.succeeded` in the trail.
const FUNNEL: &str = concat!(
    "SELECT ",
    day_of!("r.occurred_at"),
    " AS day, COUNT(*) AS registered, \
     SUM(CASE WHEN EXISTS (SELECT 1 FROM audit_entries v WHERE v.tenant_id = r.tenant_id \
         AND v.subject_user_id = r.subject_user_id AND v.event_type = 'user.email_verified') \
         THEN 1 ELSE 0 END) AS verified, \
     SUM(CASE WHEN EXISTS (SELECT 1 FROM audit_entries s WHERE s.tenant_id = r.tenant_id \
         AND s.subject_user_id = r.subject_user_id AND s.event_type = 'signin.succeeded') \
         THEN 1 ELSE 0 END) AS signed_in \
     FROM audit_entries r \
     WHERE r.tenant_id = $1 AND r.occurred_at >= $2 AND r.occurred_at < $3 \
     AND r.event_type = 'user.registered' AND r.subject_user_id IS NOT NULL GROUP BY 1"
);

/// Existing accounts whose newest record of a purpose is `granted`, per purpose.
const CONSENTS: &str = "SELECT r.purpose, COUNT(*) AS n FROM consent_records r \
     WHERE r.tenant_id = $1 AND r.state = 'granted' \
     AND r.seq = (SELECT MAX(m.seq) FROM consent_records m \
                  WHERE m.tenant_id = r.tenant_id AND m.user_id = r.user_id \
                  AND m.purpose = r.purpose) \
     AND EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = r.tenant_id AND u.id = r.user_id) \
     GROUP BY r.purpose";

fn day_counts(rows: Vec<(i64, String, i64)>) -> Vec<DayCount> {
    rows.into_iter()
        .map(|(day, key, count)| DayCount { day, key, count })
        .collect()
}

impl AnalyticsStore for Store {
    async fn analytics(
        &self,
        tenant: TenantId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<RawAnalytics> {
        let (t, from, to) = (tenant.to_string(), to_millis(from), to_millis(to));
        let events: Vec<(i64, String, i64)> = fetch_all!(
            self,
            sqlx::query_as(EVENT_COUNTS).bind(&t).bind(from).bind(to)
        )?;
        // A sign-in whose body lacks a method (none is written so) counts as `other`.
        let sign_ins: Vec<(i64, Option<String>, i64)> = fetch_all!(
            self,
            sqlx::query_as(SIGN_INS_BY_METHOD.text(&self.db))
                .bind(&t)
                .bind(from)
                .bind(to)
        )?;
        let active: Vec<(i64, i64)> = fetch_all!(
            self,
            sqlx::query_as(ACTIVE_USERS).bind(&t).bind(from).bind(to)
        )?;
        let funnel: Vec<(i64, i64, i64, i64)> =
            fetch_all!(self, sqlx::query_as(FUNNEL).bind(&t).bind(from).bind(to))?;
        let (accounts,): (i64,) = fetch_one!(
            self,
            sqlx::query_as("SELECT COUNT(*) FROM users WHERE tenant_id = $1").bind(&t)
        )?;
        let consents: Vec<(String, i64)> = fetch_all!(self, sqlx::query_as(CONSENTS).bind(&t))?;
        Ok(RawAnalytics {
            events: day_counts(events),
            sign_ins: day_counts(
                sign_ins
                    .into_iter()
                    .map(|(d, m, n)| (d, m.unwrap_or_default(), n))
                    .collect(),
            ),
            active_users: active
                .into_iter()
                .map(|(day, count)| DayCount {
                    day,
                    key: String::new(),
                    count,
                })
                .collect(),
            funnel: funnel
                .into_iter()
                .map(|(day, registered, verified, signed_in)| FunnelDay {
                    day,
                    registered,
                    verified,
                    signed_in,
                })
                .collect(),
            accounts,
            consents,
        })
    }
}

impl Store {
    /// The names of the schema's tables (migration bookkeeping left out), sorted. For the test
    /// that every table is covered by the account export or listed as holding no one's data.
    pub async fn table_names(&self) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> = fetch_all!(
            self,
            sqlx::query_as(crate::dialect::list_tables_statement(&self.db))
        )?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }
}
