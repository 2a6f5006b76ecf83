//! `/api/v1/tenants/{slug}/audit`: query, export (JSON Lines) and verification of the audit trail.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use tessera_core::apikey::{AdminResource, ApiScope};
use tessera_core::events::{AuditEntry, AuditFilter, Outcome, PersonalData};
use tessera_core::page::PageRequest;
use tessera_core::store::AuditStore;
use utoipa::{IntoParams, ToSchema};

use super::auth::Operator;
use super::extract::ApiQuery;
use crate::app::audit::{VerifyReport, verify_chain};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// RFC 3339 lower bound (inclusive) on the time of the event.
    pub from: Option<String>,
    /// RFC 3339 upper bound (exclusive).
    pub until: Option<String>,
    /// Actor id (user id, API key id or client id).
    pub actor: Option<String>,
    /// Target id.
    pub target: Option<String>,
    /// Event type, e.g. `signin.failed`.
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// `success` or `failure`.
    pub outcome: Option<String>,
    /// Client IP address (matched exactly).
    pub ip: Option<String>,
    /// `next_cursor` of the previous page.
    pub after: Option<String>,
    /// Page size, 1-200 (default 50).
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntryView {
    pub seq: i64,
    pub id: String,
    pub occurred_at: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// The event: kind fields, actor, target, outcome, subject.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// IP, user agent and personal details; null when none or erased.
    #[schema(value_type = Option<Object>)]
    pub personal: Option<PersonalData>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntryView {
    fn new(e: AuditEntry, p: Option<PersonalData>) -> AuditEntryView {
        AuditEntryView {
            seq: e.seq,
            id: e.event_id.to_string(),
            occurred_at: e
                .occurred_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            event_type: e.event_type,
            data: e.body,
            personal: p,
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntryView>,
    pub next_cursor: Option<String>,
}

fn parse_time(field: &'static str, v: Option<String>) -> ApiResult<Option<time::OffsetDateTime>> {
    v.map(|s| {
        time::OffsetDateTime::parse(&s, &time::format_description::well_known::Rfc3339).map_err(
            |_| ApiError::BadRequest {
                field: Some(field),
                message: format!("{field}: use an RFC 3339 time such as 2026-01-31T12:00:00Z"),
            },
        )
    })
    .transpose()
}

fn filter(q: &mut AuditQuery) -> ApiResult<(AuditFilter, PageRequest)> {
    let outcome = match q.outcome.as_deref() {
        None => None,
        Some("success") => Some(Outcome::Success),
        Some("failure") => Some(Outcome::Failure),
        Some(_) => {
            return Err(ApiError::BadRequest {
                field: Some("outcome"),
                message: "outcome: success or failure".into(),
            });
        }
    };
    if q.after
        .as_deref()
        .is_some_and(|a| a.parse::<i64>().is_err())
    {
        return Err(ApiError::BadRequest {
            field: Some("after"),
            message: "after: not a cursor returned by this API".into(),
        });
    }
    let f = AuditFilter {
        from: parse_time("from", q.from.take())?,
        until: parse_time("until", q.until.take())?,
        actor_id: q.actor.take(),
        target_id: q.target.take(),
        event_type: q.event_type.take(),
        outcome,
        ip: q.ip.take(),
        subject: None,
    };
    Ok((
        f,
        PageRequest {
            after: q.after.take(),
            limit: q.limit,
        },
    ))
}

/// Search the audit trail, newest first, with cursor pagination.
#[utoipa::path(get, path = "/tenants/{slug}/audit", tag = "audit", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_audit(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiQuery(mut q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Audit, ApiScope::Read)
        .await?;
    let (f, page) = filter(&mut q)?;
    let p = state
        .services
        .store
        .list_audit(tenant.id, &f, &page)
        .await?;
    Ok(Json(AuditPage {
        items: p
            .items
            .into_iter()
            .map(|(e, pd)| AuditEntryView::new(e, pd))
            .collect(),
        next_cursor: p.next_cursor,
    }))
}

/// The most entries one export returns; narrow the time range for more.
const EXPORT_MAX: usize = 100_000;

/// Export matching entries as JSON Lines (newest first), up to 100,000 per request.
#[utoipa::path(get, path = "/tenants/{slug}/audit/export", tag = "audit", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), AuditQuery),
    responses((status = 200, description = "application/x-ndjson, one entry per line"), (status = 400, body = ErrorBody)))]
pub async fn export_audit(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiQuery(mut q): ApiQuery<AuditQuery>,
) -> ApiResult<impl IntoResponse> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Audit, ApiScope::Read)
        .await?;
    let (f, mut page) = filter(&mut q)?;
    page.limit = Some(tessera_core::page::MAX_PAGE_SIZE);
    let mut out = String::new();
    let mut count = 0;
    loop {
        let p = state
            .services
            .store
            .list_audit(tenant.id, &f, &page)
            .await?;
        for (e, pd) in p.items {
            out.push_str(
                &serde_json::to_string(&AuditEntryView::new(e, pd))
                    .map_err(|e| ApiError::Internal(e.to_string()))?,
            );
            out.push('\n');
            count += 1;
        }
        match p.next_cursor {
            Some(c) if count < EXPORT_MAX => page.after = Some(c),
            _ => break,
        }
    }
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], out))
}

#[derive(Serialize, ToSchema)]
pub struct VerifyView {
    pub intact: bool,
    pub entries: u64,
    pub checkpoints: u64,
    pub anchor_seq: i64,
    pub head_seq: i64,
    pub first_broken_seq: Option<i64>,
    pub problem: Option<String>,
}

impl From<VerifyReport> for VerifyView {
    fn from(r: VerifyReport) -> Self {
        VerifyView {
            intact: r.intact,
            entries: r.entries,
            checkpoints: r.checkpoints,
            anchor_seq: r.anchor_seq,
            head_seq: r.head_seq,
            first_broken_seq: r.first_broken_seq,
            problem: r.problem,
        }
    }
}

/// Verify the tenant's hash chain and signed checkpoints.
#[utoipa::path(get, path = "/tenants/{slug}/audit/verify", tag = "audit", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = VerifyView), (status = 404, body = ErrorBody)))]
pub async fn verify_audit(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
) -> ApiResult<Json<VerifyView>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Audit, ApiScope::Read)
        .await?;
    let r = verify_chain(&state.services, tenant.id, &tenant.slug)
        .await
        .map_err(ApiError::Internal)?;
    Ok(Json(r.into()))
}
