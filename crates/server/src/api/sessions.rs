//! `/api/v1/tenants/{slug}/sessions`: list and revoke browser sessions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::apikey::{AdminResource, ApiScope};
use tessera_core::session::Session;
use tessera_core::store::SessionStore;
use tessera_core::{SessionId, UserId};
use utoipa::{IntoParams, ToSchema};

use super::auth::Operator;
use super::extract::ApiQuery;
use crate::app::Services;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    pub user_id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: time::OffsetDateTime,
    /// RFC 8176 authentication methods, e.g. `pwd`.
    pub auth_methods: Vec<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub active: bool,
}

impl SessionView {
    fn new(s: Session) -> SessionView {
        SessionView {
            active: s.is_active(Services::now()),
            id: s.id.to_string(),
            user_id: s.user_id.to_string(),
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
            auth_methods: s.auth_methods,
            ip: s.ip,
            user_agent: s.user_agent,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SessionQuery {
    /// Only this user's sessions.
    pub user_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionView>,
}

#[derive(Serialize, ToSchema)]
pub struct Revoked {
    pub revoked: u64,
}

/// List active sessions, newest first.
#[utoipa::path(get, path = "/tenants/{slug}/sessions", tag = "sessions", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), SessionQuery),
    responses((status = 200, body = SessionList), (status = 404, body = ErrorBody)))]
pub async fn list_sessions(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiQuery(q): ApiQuery<SessionQuery>,
) -> ApiResult<Json<SessionList>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Sessions, ApiScope::Read)
        .await?;
    let user = match q.user_id {
        Some(u) => Some(UserId::parse(&u).ok_or_else(|| ApiError::BadRequest {
            field: Some("user_id"),
            message: "user_id: not a user id".into(),
        })?),
        None => None,
    };
    let sessions = state
        .services
        .store
        .list_sessions(tenant.id, user, Services::now())
        .await?;
    Ok(Json(SessionList {
        items: sessions.into_iter().map(SessionView::new).collect(),
    }))
}

/// Read a session.
#[utoipa::path(get, path = "/tenants/{slug}/sessions/{id}", tag = "sessions", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Session id")),
    responses((status = 200, body = SessionView), (status = 404, body = ErrorBody)))]
pub async fn get_session(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<SessionView>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Sessions, ApiScope::Read)
        .await?;
    let id = SessionId::parse(&id).ok_or_else(|| ApiError::not_found("session"))?;
    let s = state
        .services
        .store
        .get_session(tenant.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    Ok(Json(SessionView::new(s)))
}

/// Revoke (end) a session.
#[utoipa::path(delete, path = "/tenants/{slug}/sessions/{id}", tag = "sessions", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Session id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_session(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Sessions, ApiScope::Write)
        .await?;
    let id = SessionId::parse(&id).ok_or_else(|| ApiError::not_found("session"))?;
    let session = state.services.store.get_session(tenant.id, id).await?;
    if !state
        .services
        .store
        .revoke_session(tenant.id, id, Services::now())
        .await?
    {
        return Err(ApiError::not_found("active session"));
    }
    if let Some(s) = session {
        crate::oidc::backchannel::session_ended(
            &state,
            &tenant,
            &s,
            "revoked_by_operator",
            op.actor(),
        )
        .await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Revoke every session of a user.
#[utoipa::path(delete, path = "/tenants/{slug}/users/{id}/sessions", tag = "sessions", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = Revoked), (status = 404, body = ErrorBody)))]
pub async fn revoke_user_sessions(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<Revoked>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Sessions, ApiScope::Write)
        .await?;
    let id = UserId::parse(&id).ok_or_else(|| ApiError::not_found("user"))?;
    state.services.user(tenant.id, id).await?;
    let revoked = crate::oidc::backchannel::end_user_sessions(
        &state,
        &tenant,
        id,
        "revoked_by_operator",
        op.actor(),
    )
    .await?;
    Ok(Json(Revoked { revoked }))
}
