//! `/api/v1/tenants/{slug}/analytics`: anonymized statistics of a tenant, per UTC day, with every
//! count under the tenant's k-anonymity threshold suppressed (see `tessera_core::analytics` and
//! docs/privacy.md). The store aggregates with SQL; no identifier of any person is read.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use tessera_core::analytics::{self, AnalyticsStore, ConsentRates, DayReport};
use tessera_core::apikey::{AdminResource, ApiScope};
use tessera_core::privacy::PrivacyStore;
use utoipa::{IntoParams, ToSchema};

use super::auth::Operator;
use super::extract::ApiQuery;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsQuery {
    /// First day, `YYYY-MM-DD` (UTC), included.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (UTC), included; at most 366 days after `from`.
    pub to: Option<String>,
}

/// The report. Every count is `{"value": <n>, "suppressed": false}` or, below the threshold,
/// `{"value": null, "suppressed": true}`; every rate (0 to 1) likewise.
#[derive(Serialize, ToSchema)]
pub struct AnalyticsView {
    pub from: String,
    pub to: String,
    /// The threshold applied (`settings.analytics.k_anonymity`).
    pub k_anonymity: u32,
    /// One entry per day: `date`, `sign_ups`, `accounts_created`, `emails_verified`,
    /// `sign_ins` (`password`, `passkey`, `email_code`, `federation`, `other`), `active_users`,
    /// `registration_funnel` (`registered`, `email_verified`, `signed_in`, `verification_rate`,
    /// `sign_in_rate`: the cohort registered that day, followed to now).
    #[schema(value_type = Vec<Object>)]
    pub days: Vec<DayReport>,
    /// Now: `accounts` and, per purpose, `granting` (accounts whose current decision is
    /// `granted`) and `rate`.
    #[schema(value_type = Object)]
    pub consent_rates: ConsentRates,
}

fn day(field: &'static str, value: Option<&str>) -> ApiResult<time::Date> {
    let Some(v) = value else {
        return Err(ApiError::BadRequest {
            field: Some(field),
            message: format!("{field}: required, a date as YYYY-MM-DD"),
        });
    };
    Ok(analytics::parse_day(field, v)?)
}

/// Anonymized statistics per day: sign-ups, sign-ins by method, active users, the registration
/// funnel, and the current consent rate of each purpose. Counts below the tenant's k-anonymity
/// threshold are suppressed.
#[utoipa::path(get, path = "/tenants/{slug}/analytics", tag = "analytics", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), AnalyticsQuery),
    responses((status = 200, body = AnalyticsView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn tenant_analytics(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> ApiResult<Json<AnalyticsView>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Analytics, ApiScope::Read)
        .await?;
    let from = day("from", q.from.as_deref())?;
    let to = day("to", q.to.as_deref())?;
    let (start, end) = analytics::range(from, to)?;
    let mut raw = state
        .services
        .store
        .analytics(tenant.id, start, end)
        .await?;
    // Every purpose of the tenant is reported, those nobody grants too (suppressed like any
    // small count), so a missing purpose never says "zero".
    for p in state.services.store.list_purposes(tenant.id).await? {
        if !raw.consents.iter().any(|(k, _)| *k == p.key) {
            raw.consents.push((p.key, 0));
        }
    }
    raw.consents.sort();
    let r = analytics::report(&raw, from, to, tenant.settings.analytics.k_anonymity);
    Ok(Json(AnalyticsView {
        from: r.from,
        to: r.to,
        k_anonymity: r.k_anonymity,
        days: r.days,
        consent_rates: r.consent_rates,
    }))
}
