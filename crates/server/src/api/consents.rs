//! `/api/v1/tenants/{slug}/users/{id}/consents`: the applications a user has authorized, and
//! withdrawal (which also revokes the tokens that application holds for the user).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use tessera_core::UserId;
use tessera_core::apikey::{AdminResource, ApiScope};
use tessera_core::events::{Event, EventKind, Target};
use tessera_core::store::GrantStore;
use utoipa::ToSchema;

use super::auth::Operator;
use crate::app::Services;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct ConsentView {
    pub client_id: String,
    pub scopes: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub granted_at: time::OffsetDateTime,
}

#[derive(Serialize, ToSchema)]
pub struct ConsentList {
    pub items: Vec<ConsentView>,
}

fn uid(id: &str) -> ApiResult<UserId> {
    UserId::parse(id).ok_or_else(|| ApiError::not_found("user"))
}

/// List the applications a user has consented to.
#[utoipa::path(get, path = "/tenants/{slug}/users/{id}/consents", tag = "users", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = ConsentList), (status = 404, body = ErrorBody)))]
pub async fn list_consents(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<ConsentList>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Users, ApiScope::Read)
        .await?;
    let user = uid(&id)?;
    state.services.user(tenant.id, user).await?;
    let items = state
        .services
        .store
        .list_consents(tenant.id, user)
        .await?
        .into_iter()
        .map(|c| ConsentView {
            client_id: c.client_id,
            scopes: c.scopes,
            granted_at: c.granted_at,
        })
        .collect();
    Ok(Json(ConsentList { items }))
}

/// Withdraw a user's consent to an application and revoke the tokens it holds for the user.
#[utoipa::path(delete, path = "/tenants/{slug}/users/{id}/consents/{client_id}", tag = "users", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id"), ("client_id" = String, Path, description = "Client id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_consent(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id, client_id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Users, ApiScope::Write)
        .await?;
    let user = uid(&id)?;
    let store = &state.services.store;
    if !store.delete_consent(tenant.id, user, &client_id).await? {
        return Err(ApiError::not_found("consent"));
    }
    let n = store
        .revoke_user_client_tokens(tenant.id, user, Some(&client_id), Services::now())
        .await?;
    tracing::info!(tenant = %tenant.slug, user = %user, client_id = %client_id, tokens_revoked = n, "consent withdrawn by an operator");
    let kind = EventKind::ConsentWithdrawn {
        client_id: client_id.clone(),
    };
    let ev = Event::new(tenant.id, Services::now(), kind, op.actor())
        .target(Target::new("client", &client_id))
        .subject(user);
    state.services.emit(ev).await;
    Ok(StatusCode::NO_CONTENT)
}
