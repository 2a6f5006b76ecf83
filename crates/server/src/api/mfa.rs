//! `/api/v1/tenants/{slug}/users/{id}/factors`: an operator lists a user's enrolled factors
//! (never their secrets) and resets them (a lost phone or key: the user enrols again at the next
//! sign-in if the policy requires a factor).

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use tessera_core::apikey::{AdminResource, ApiScope};
use tessera_core::events::{Event, EventKind, Target};
use tessera_core::store::{MfaStore, UserStore};
use tessera_core::{FactorId, UserId};
use utoipa::ToSchema;

use super::auth::Operator;
use crate::app::Services;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct FactorView {
    pub id: String,
    /// `totp` or `webauthn`.
    pub kind: String,
    pub name: String,
    /// A WebAuthn credential usable without a username (a passkey).
    pub discoverable: bool,
    /// The authenticator model of a WebAuthn credential, when it said.
    pub aaguid: Option<String>,
    /// Always true: factors awaiting confirmation are not listed.
    pub confirmed: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<time::OffsetDateTime>,
}

#[derive(Serialize, ToSchema)]
pub struct FactorList {
    pub items: Vec<FactorView>,
    /// Unused recovery codes.
    pub recovery_codes_left: u32,
}

#[derive(Serialize, ToSchema)]
pub struct FactorsReset {
    /// How many factors were removed (recovery codes are removed too).
    pub removed: u64,
}

async fn user_in(state: &AppState, tenant: tessera_core::TenantId, id: &str) -> ApiResult<UserId> {
    let id = UserId::parse(id).ok_or_else(|| ApiError::not_found("user"))?;
    state
        .services
        .store
        .get_user(tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(id)
}

/// List a user's second factors and passkeys (no secrets).
#[utoipa::path(get, path = "/tenants/{slug}/users/{id}/factors", tag = "users", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = FactorList), (status = 404, body = ErrorBody)))]
pub async fn list_factors(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<FactorList>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Users, ApiScope::Read)
        .await?;
    let user = user_in(&state, tenant.id, &id).await?;
    let store = &state.services.store;
    let items = store
        .list_factors(tenant.id, user)
        .await?
        .into_iter()
        // A TOTP factor awaiting its first code is not usable yet: not listed.
        .filter(|f| f.is_confirmed())
        .map(|f| FactorView {
            id: f.id.to_string(),
            kind: f.kind.as_str().into(),
            confirmed: f.is_confirmed(),
            name: f.name,
            discoverable: f.discoverable,
            aaguid: f.aaguid.map(|a| a.to_string()),
            created_at: f.created_at,
            last_used_at: f.last_used_at,
        })
        .collect();
    Ok(Json(FactorList {
        items,
        recovery_codes_left: store.count_recovery_codes(tenant.id, user).await?,
    }))
}

/// Remove every factor and recovery code of a user.
#[utoipa::path(delete, path = "/tenants/{slug}/users/{id}/factors", tag = "users", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = FactorsReset), (status = 404, body = ErrorBody)))]
pub async fn reset_factors(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<FactorsReset>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Users, ApiScope::Write)
        .await?;
    let user = user_in(&state, tenant.id, &id).await?;
    let removed = state
        .services
        .store
        .delete_all_factors(tenant.id, user)
        .await?;
    let ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::MfaReset { factors: removed },
        op.actor(),
    )
    .subject(user)
    .target(Target::new("user", user));
    state.services.emit(ev).await;
    Ok(Json(FactorsReset { removed }))
}

/// Remove one factor of a user.
#[utoipa::path(delete, path = "/tenants/{slug}/users/{id}/factors/{factor_id}", tag = "users", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id"),
        ("factor_id" = String, Path, description = "Factor id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_factor(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id, factor_id)): Path<(String, String, String)>,
) -> ApiResult<axum::http::StatusCode> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Users, ApiScope::Write)
        .await?;
    let user = user_in(&state, tenant.id, &id).await?;
    let fid = FactorId::parse(&factor_id).ok_or_else(|| ApiError::not_found("factor"))?;
    let store = &state.services.store;
    let factor = store
        .get_factor(tenant.id, fid)
        .await?
        .filter(|f| f.user_id == user)
        .ok_or_else(|| ApiError::not_found("factor"))?;
    if !store.delete_factor(tenant.id, user, fid).await? {
        return Err(ApiError::not_found("factor"));
    }
    let ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::MfaRemoved {
            factor: factor.kind.as_str().into(),
            factor_id: fid.to_string(),
        },
        op.actor(),
    )
    .subject(user)
    .target(Target::new("user", user));
    state.services.emit(ev).await;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
