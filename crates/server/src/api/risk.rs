//! `/api/v1/tenants/{slug}/risk/attempts`: the recent sign-in attempts the risk engine challenged
//! or refused, newest first, with their score and reasons. Read from the audit trail
//! (`risk.assessed` events), so the list is as durable and as verifiable as the trail itself.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use tessera_core::apikey::{AdminResource, ApiScope};
use tessera_core::events::AuditFilter;
use tessera_core::page::PageRequest;
use tessera_core::store::AuditStore;
use utoipa::{IntoParams, ToSchema};

use super::auth::Operator;
use super::extract::ApiQuery;
use super::rfc3339;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AttemptsQuery {
    /// `challenge` or `block`; both when absent.
    pub decision: Option<String>,
    /// Only attempts scored at least this (0 to 1).
    pub min_score: Option<f64>,
    /// RFC 3339 lower bound (inclusive) on the time of the attempt.
    pub from: Option<String>,
    /// `next_cursor` of the previous page.
    pub after: Option<String>,
    /// Page size, 1-200 (default 50).
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct RiskAttempt {
    /// The audit event's id.
    pub id: String,
    pub occurred_at: String,
    /// `challenge` or `block`.
    pub decision: String,
    /// 0 to 1.
    pub score: f64,
    /// False when the tenant's risk mode is `monitor` (recorded, not acted on).
    pub enforced: bool,
    /// `before_password` or `first_factor`.
    pub stage: String,
    /// The first factor: `password`, `passkey`, `email`, an identity provider's alias…
    pub method: String,
    /// The account, when the attempt got past its first factor.
    pub user_id: Option<String>,
    /// Each signal or rule, its contribution and what was seen; null once the user was erased.
    #[schema(value_type = Option<Vec<Object>>)]
    pub reasons: Option<serde_json::Value>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RiskAttemptPage {
    pub items: Vec<RiskAttempt>,
    pub next_cursor: Option<String>,
}

/// The most audit entries one request reads while filtering.
const SCAN_MAX: usize = 5_000;

/// Recent challenged or refused sign-in attempts, newest first, with cursor pagination.
#[utoipa::path(get, path = "/tenants/{slug}/risk/attempts", tag = "risk", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), AttemptsQuery),
    responses((status = 200, body = RiskAttemptPage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_attempts(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiQuery(q): ApiQuery<AttemptsQuery>,
) -> ApiResult<Json<RiskAttemptPage>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Audit, ApiScope::Read)
        .await?;
    if let Some(d) = q.decision.as_deref()
        && d != "challenge"
        && d != "block"
    {
        return Err(ApiError::BadRequest {
            field: Some("decision"),
            message: "decision: challenge or block".into(),
        });
    }
    if let Some(s) = q.min_score
        && !(s.is_finite() && (0.0..=1.0).contains(&s))
    {
        return Err(ApiError::BadRequest {
            field: Some("min_score"),
            message: "min_score: a number from 0 to 1".into(),
        });
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::BadRequest {
            field: Some("limit"),
            message: "limit: 1 to 200".into(),
        });
    }
    if q.after
        .as_deref()
        .is_some_and(|a| a.parse::<i64>().is_err())
    {
        return Err(ApiError::BadRequest {
            field: Some("after"),
            message: "after: not a cursor returned by this API".into(),
        });
    }
    let from =
        q.from
            .as_deref()
            .map(|s| {
                time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| ApiError::BadRequest {
                        field: Some("from"),
                        message: "from: use an RFC 3339 time such as 2026-01-31T12:00:00Z".into(),
                    })
            })
            .transpose()?;
    let filter = AuditFilter {
        from,
        event_type: Some("risk.assessed".into()),
        ..Default::default()
    };
    let mut cursor = q.after.clone();
    let mut items = Vec::new();
    let mut scanned = 0usize;
    let next_cursor = loop {
        let page = state
            .services
            .store
            .list_audit(
                tenant.id,
                &filter,
                &PageRequest {
                    after: cursor.clone(),
                    limit: Some(200),
                },
            )
            .await?;
        let mut last_seq = None;
        let mut full = false;
        for (entry, personal) in page.items {
            scanned += 1;
            last_seq = Some(entry.seq);
            let body = &entry.body;
            let decision = body["decision"].as_str().unwrap_or_default().to_string();
            let score = body["score"].as_f64().unwrap_or(0.0);
            if q.decision.as_deref().is_some_and(|d| d != decision)
                || q.min_score.is_some_and(|m| score < m)
            {
                continue;
            }
            let personal = personal.unwrap_or_default();
            items.push(RiskAttempt {
                id: entry.event_id.to_string(),
                occurred_at: rfc3339(entry.occurred_at),
                decision,
                score,
                enforced: body["enforced"].as_bool().unwrap_or(true),
                stage: body["stage"].as_str().unwrap_or_default().to_string(),
                method: body["method"].as_str().unwrap_or_default().to_string(),
                user_id: body["subject"].as_str().map(str::to_string),
                reasons: personal.details.get("reasons").cloned(),
                ip: personal.ip,
                user_agent: personal.user_agent,
            });
            if items.len() == limit as usize {
                full = true;
                break;
            }
        }
        let more = page.next_cursor.is_some();
        if full {
            // Resume right after the last entry returned.
            break last_seq.map(|s| s.to_string());
        }
        if !more {
            break None;
        }
        if scanned >= SCAN_MAX {
            // Resume where the scan stopped; the page may be short.
            break page.next_cursor;
        }
        cursor = page.next_cursor;
    };
    Ok(Json(RiskAttemptPage { items, next_cursor }))
}
