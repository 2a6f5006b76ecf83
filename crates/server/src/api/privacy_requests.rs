//! `/api/v1/tenants/{slug}/privacy/requests…`, `…/privacy/users/{id}/export`,
//! `…/privacy/users/{id}/restriction` and `…/privacy/retention/…`: data-subject requests with
//! their deadlines, the operator's export, the processing-restriction flag, and the retention
//! job's dry-run report and run. Delegated administration: resource `privacy` (reads with read
//! access, everything else with write access).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::apikey::{AdminResource, ApiScope};
use tessera_core::page::PageRequest;
use tessera_core::privacy_requests::{
    PrivacyRequestStore, RequestFilter, RequestKind, RequestStatus,
};
use tessera_core::{CoreError, UserId};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::Operator;
use super::extract::{ApiJson, ApiQuery};
use super::rfc3339;
use crate::app::Services;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::privacy_requests::{self as dsr, RequestView};
use crate::retention::{self, RetentionReport, RunError};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// `access` (export), `erasure`, `rectification`, `restriction` or `objection`.
    pub kind: String,
    pub user_id: String,
    /// The operator's note (how the request arrived, a ticket number…); no personal data.
    pub note: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RequestQuery {
    /// `open`, `extended`, `completed` or `rejected`.
    pub status: Option<String>,
    /// `true`: only pending requests past their deadline.
    pub overdue: Option<bool>,
    pub user_id: Option<String>,
    /// `next_cursor` of the previous page.
    pub after: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct RequestList {
    /// In the order received.
    pub items: Vec<RequestView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    /// What was done (kept with the request).
    pub note: Option<String>,
    /// For `access` requests: answer with the account export (default `true`).
    pub attach_export: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct Completed {
    pub request: RequestView,
    /// The account export, for an `access` request.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<serde_json::Value>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    /// Why (GDPR Art. 12(4): the person must be told).
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendRequest {
    /// 1 to 60; once per request.
    pub days: u32,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct Restriction {
    pub restricted: bool,
    pub restricted_at: Option<String>,
}

fn bad(field: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        field: Some(field),
        message: message.into(),
    }
}

fn request_id(id: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found("privacy request"))
}

fn uid(id: &str) -> ApiResult<UserId> {
    UserId::parse(id).ok_or_else(|| ApiError::not_found("user"))
}

fn view(r: &tessera_core::privacy_requests::PrivacyRequest) -> RequestView {
    RequestView::new(r, Services::now())
}

/// Record a data-subject request; it is due 30 days after it was received.
#[utoipa::path(post, path = "/tenants/{slug}/privacy/requests", tag = "privacy", security(("api_key" = [])), request_body = CreateRequest,
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 201, body = RequestView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_request(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiJson(b): ApiJson<CreateRequest>,
) -> ApiResult<(StatusCode, Json<RequestView>)> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Write)
        .await?;
    let kind = RequestKind::parse(&b.kind)?;
    let user = UserId::parse(&b.user_id)
        .ok_or_else(|| bad("user_id", "user_id: the id of one of the tenant's users"))?;
    let r = match dsr::create(&state, &tenant, user, kind, b.note, op.actor()).await {
        Err(CoreError::NotFound(_)) => {
            return Err(bad(
                "user_id",
                "user_id: the id of one of the tenant's users",
            ));
        }
        other => other?,
    };
    Ok((StatusCode::CREATED, Json(view(&r))))
}

/// List data-subject requests (filter by status, overdue, user), cursor paging.
#[utoipa::path(get, path = "/tenants/{slug}/privacy/requests", tag = "privacy", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), RequestQuery),
    responses((status = 200, body = RequestList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_requests(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiQuery(q): ApiQuery<RequestQuery>,
) -> ApiResult<Json<RequestList>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Read)
        .await?;
    if let Some(a) = &q.after
        && Uuid::parse_str(a).is_err()
    {
        return Err(bad("after", "after: the next_cursor of a previous page"));
    }
    if q.limit
        .is_some_and(|l| l == 0 || l > tessera_core::page::MAX_PAGE_SIZE)
    {
        return Err(bad("limit", "limit: 1 to 200"));
    }
    let status = q.status.as_deref().map(RequestStatus::parse).transpose()?;
    let user = match &q.user_id {
        Some(u) => Some(UserId::parse(u).ok_or_else(|| bad("user_id", "user_id: a user id"))?),
        None => None,
    };
    let filter = RequestFilter {
        status,
        user,
        overdue_at: q.overdue.unwrap_or(false).then(Services::now),
    };
    let page = state
        .services
        .store
        .list_privacy_requests(
            tenant.id,
            &filter,
            &PageRequest {
                after: q.after,
                limit: q.limit,
            },
        )
        .await?;
    Ok(Json(RequestList {
        items: page.items.iter().map(view).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Read a data-subject request.
#[utoipa::path(get, path = "/tenants/{slug}/privacy/requests/{id}", tag = "privacy", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Request id")),
    responses((status = 200, body = RequestView), (status = 404, body = ErrorBody)))]
pub async fn get_request(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<RequestView>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Read)
        .await?;
    let r = dsr::get(&state, &tenant, request_id(&id)?).await?;
    Ok(Json(view(&r)))
}

/// Complete a request and carry it out: `access` answers with the account export, `erasure`
/// deletes the account, `restriction` sets the restriction flag; `rectification` and `objection`
/// are done by the operator first. `409` when it is no longer pending.
#[utoipa::path(post, path = "/tenants/{slug}/privacy/requests/{id}/complete", tag = "privacy", security(("api_key" = [])), request_body = CompleteRequest,
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Request id")),
    responses((status = 200, body = Completed), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn complete_request(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<CompleteRequest>,
) -> ApiResult<Json<Completed>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Write)
        .await?;
    let (r, export) = dsr::complete(
        &state,
        &tenant,
        request_id(&id)?,
        b.note,
        b.attach_export.unwrap_or(true),
        op.actor(),
    )
    .await?;
    Ok(Json(Completed {
        request: view(&r),
        export,
    }))
}

/// Reject a request, with the reason. `409` when it is no longer pending.
#[utoipa::path(post, path = "/tenants/{slug}/privacy/requests/{id}/reject", tag = "privacy", security(("api_key" = [])), request_body = RejectRequest,
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Request id")),
    responses((status = 200, body = RequestView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reject_request(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<RejectRequest>,
) -> ApiResult<Json<RequestView>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Write)
        .await?;
    let r = dsr::reject(&state, &tenant, request_id(&id)?, b.reason, op.actor()).await?;
    Ok(Json(view(&r)))
}

/// Extend a request's deadline once, by 1 to 60 days, with the reason (GDPR Art. 12(3)).
#[utoipa::path(post, path = "/tenants/{slug}/privacy/requests/{id}/extend", tag = "privacy", security(("api_key" = [])), request_body = ExtendRequest,
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Request id")),
    responses((status = 200, body = RequestView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn extend_request(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<ExtendRequest>,
) -> ApiResult<Json<RequestView>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Write)
        .await?;
    let r = dsr::extend(
        &state,
        &tenant,
        request_id(&id)?,
        b.days,
        b.reason,
        op.actor(),
    )
    .await?;
    Ok(Json(view(&r)))
}

/// Everything held about a user, as the account portal's data export gives it (records
/// `user.data_exported` with the operator as the actor).
#[utoipa::path(get, path = "/tenants/{slug}/privacy/users/{id}/export", tag = "privacy", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = serde_json::Value), (status = 404, body = ErrorBody)))]
pub async fn export_user(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<serde_json::Value>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Read)
        .await?;
    let user = state.services.user(tenant.id, uid(&id)?).await?;
    let doc = dsr::operator_export(&state, &tenant, &user, op.actor()).await?;
    Ok(Json(doc))
}

async fn restriction_of(
    state: &AppState,
    tenant: &tessera_core::tenant::Tenant,
    user: UserId,
) -> ApiResult<Restriction> {
    let at = state
        .services
        .store
        .processing_restricted(tenant.id, user)
        .await?;
    Ok(Restriction {
        restricted: at.is_some(),
        restricted_at: at.map(rfc3339),
    })
}

/// Whether processing of a user's data is restricted (GDPR Art. 18).
#[utoipa::path(get, path = "/tenants/{slug}/privacy/users/{id}/restriction", tag = "privacy", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = Restriction), (status = 404, body = ErrorBody)))]
pub async fn get_restriction(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<Restriction>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Read)
        .await?;
    let user = state.services.user(tenant.id, uid(&id)?).await?;
    Ok(Json(restriction_of(&state, &tenant, user.id).await?))
}

/// Restrict processing of a user's data: they leave the consenting-users lists and the retention
/// job leaves the account alone; sign-in still works.
#[utoipa::path(put, path = "/tenants/{slug}/privacy/users/{id}/restriction", tag = "privacy", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = Restriction), (status = 404, body = ErrorBody)))]
pub async fn set_restriction(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<Restriction>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Write)
        .await?;
    let user = uid(&id)?;
    dsr::set_restriction(&state, &tenant, user, true, None, op.actor()).await?;
    Ok(Json(restriction_of(&state, &tenant, user).await?))
}

/// Lift the restriction.
#[utoipa::path(delete, path = "/tenants/{slug}/privacy/users/{id}/restriction", tag = "privacy", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = Restriction), (status = 404, body = ErrorBody)))]
pub async fn clear_restriction(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<Restriction>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Write)
        .await?;
    let user = uid(&id)?;
    dsr::set_restriction(&state, &tenant, user, false, None, op.actor()).await?;
    Ok(Json(restriction_of(&state, &tenant, user).await?))
}

/// What the retention job would do now for this tenant (counts and user ids per rule), without
/// doing it.
#[utoipa::path(get, path = "/tenants/{slug}/privacy/retention/report", tag = "privacy", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = RetentionReport), (status = 404, body = ErrorBody)))]
pub async fn retention_report(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
) -> ApiResult<Json<RetentionReport>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Read)
        .await?;
    let report = retention::run_tenant(&state, &tenant, true, op.actor()).await?;
    Ok(Json(report))
}

/// Run the retention job for this tenant now (under the job's lease: `409` while another node
/// runs it). Answers what it did.
#[utoipa::path(post, path = "/tenants/{slug}/privacy/retention/run", tag = "privacy", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = RetentionReport), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn retention_run(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
) -> ApiResult<Json<RetentionReport>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Write)
        .await?;
    match retention::run_now(&state, &tenant, op.actor()).await {
        Ok(report) => Ok(Json(report)),
        Err(RunError::Busy) => Err(ApiError::Conflict(
            "the retention job is running (on this or another node); try again in a few minutes"
                .into(),
        )),
        Err(RunError::Failed(e)) => Err(e.into()),
    }
}
