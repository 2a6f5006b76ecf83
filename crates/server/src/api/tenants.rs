//! `/api/v1/tenants`: create, list, read, change and delete tenants.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::apikey::{AdminResource, ApiScope};
use tessera_core::store::TenantStore;
use tessera_core::tenant::{Preset, Tenant, TenantSettings};
use utoipa::ToSchema;

use super::auth::Operator;
use super::extract::ApiJson;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct TenantView {
    pub id: String,
    pub slug: String,
    pub name: String,
    /// `workforce` or `customer`.
    pub preset: String,
    /// The tenant's OpenID issuer: `{public_url}/t/{slug}`.
    pub issuer: String,
    /// Where the tenant's data lives (data residency), such as `eu` or `us-east`; `null` when
    /// not declared.
    pub region: Option<String>,
    #[schema(value_type = Object)]
    pub settings: TenantSettings,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: time::OffsetDateTime,
}

impl TenantView {
    pub fn new(t: Tenant, public_url: &str) -> TenantView {
        TenantView {
            id: t.id.to_string(),
            issuer: t.issuer(public_url),
            slug: t.slug,
            name: t.name,
            preset: t.preset.as_str().into(),
            region: t.region,
            settings: t.settings,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// 2-63 characters: lowercase letters, digits, inner hyphens.
    pub slug: String,
    pub name: Option<String>,
    /// `workforce` or `customer`.
    pub preset: String,
    /// Data residency: 2-32 lowercase letters and digits in hyphen-joined parts (`eu`,
    /// `us-east`). A deployment started with `TESSERA_REGION` gives its region when this is
    /// left out and refuses another one (`400`, `field` `region`).
    pub region: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    pub name: Option<String>,
    /// Declares the tenant's region (data residency); same rules as at creation.
    pub region: Option<String>,
    /// The complete settings object (unknown keys are refused).
    #[schema(value_type = Object)]
    pub settings: Option<TenantSettings>,
}

#[derive(Serialize, ToSchema)]
pub struct TenantList {
    pub items: Vec<TenantView>,
}

/// List all tenants (admin-tenant keys only).
#[utoipa::path(get, path = "/tenants", tag = "tenants", security(("api_key" = [])),
    responses((status = 200, body = TenantList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_tenants(
    State(state): State<AppState>,
    op: Operator,
) -> ApiResult<Json<TenantList>> {
    op.require(ApiScope::Read)?;
    let url = &state.services.config.public_url;
    let tenants = state.services.store.list_tenants().await?;
    let items = tenants
        .into_iter()
        .filter(|t| op.deployment_admin || t.id == op.home_tenant)
        .map(|t| TenantView::new(t, url))
        .collect();
    Ok(Json(TenantList { items }))
}

/// Create a tenant from a preset (admin-tenant keys only).
#[utoipa::path(post, path = "/tenants", tag = "tenants", security(("api_key" = [])), request_body = CreateTenant,
    responses((status = 201, body = TenantView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_tenant(
    State(state): State<AppState>,
    op: Operator,
    ApiJson(body): ApiJson<CreateTenant>,
) -> ApiResult<(StatusCode, Json<TenantView>)> {
    op.require(ApiScope::Write)?;
    op.require_deployment_admin()?;
    let preset = Preset::parse(&body.preset)?;
    let tenant = state
        .services
        .create_tenant(
            &body.slug,
            body.name.as_deref(),
            preset,
            body.region.as_deref(),
            op.actor(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TenantView::new(tenant, &state.services.config.public_url)),
    ))
}

/// Read one tenant.
#[utoipa::path(get, path = "/tenants/{slug}", tag = "tenants", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = TenantView), (status = 404, body = ErrorBody)))]
pub async fn get_tenant(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
) -> ApiResult<Json<TenantView>> {
    let t = op
        .tenant(&state, &slug, AdminResource::Tenants, ApiScope::Read)
        .await?;
    Ok(Json(TenantView::new(t, &state.services.config.public_url)))
}

/// Rename a tenant, declare its region or replace its settings.
#[utoipa::path(patch, path = "/tenants/{slug}", tag = "tenants", security(("api_key" = [])), request_body = UpdateTenant,
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = TenantView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_tenant(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<UpdateTenant>,
) -> ApiResult<Json<TenantView>> {
    op.tenant(&state, &slug, AdminResource::Tenants, ApiScope::Write)
        .await?;
    let t = state
        .services
        .update_tenant(
            &slug,
            body.name.as_deref(),
            body.region.as_deref(),
            body.settings,
            op.actor(),
        )
        .await?;
    Ok(Json(TenantView::new(t, &state.services.config.public_url)))
}

/// Delete a tenant and everything it owns (admin-tenant keys only; the admin tenant stays).
#[utoipa::path(delete, path = "/tenants/{slug}", tag = "tenants", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_tenant(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
) -> ApiResult<StatusCode> {
    op.tenant(&state, &slug, AdminResource::Tenants, ApiScope::Write)
        .await?;
    op.require_deployment_admin()?;
    state
        .services
        .delete_tenant(&slug, op.actor())
        .await
        .map_err(ApiError::from)?;
    Ok(StatusCode::NO_CONTENT)
}
