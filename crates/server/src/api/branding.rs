//! `/api/v1/tenants/{slug}/branding/logo`: upload and remove a tenant's logo. The other branding
//! settings (`settings.branding`) go through the tenant update endpoint.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use tessera_core::apikey::{AdminResource, ApiScope};
use tessera_core::branding::{LogoRef, LogoStore, MAX_LOGO_BYTES, TenantLogo, check_logo};

use super::auth::Operator;
use super::tenants::TenantView;
use crate::app::Services;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use axum::Json;

/// Upload or replace the tenant's logo.
///
/// The body is the image itself (`image/png`, `image/jpeg` or `image/svg+xml`, at most
/// 256 KiB). It is served at `{issuer}/logo` with `X-Content-Type-Options: nosniff` and a
/// sandboxing `Content-Security-Policy`, so a scripted SVG cannot run.
#[utoipa::path(put, path = "/tenants/{slug}/branding/logo", tag = "tenants", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug")),
    request_body(content = Vec<u8>, description = "The image", content_type = "image/png"),
    responses(
        (status = 200, body = TenantView, description = "The tenant, with `settings.branding.logo` set"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn put_logo(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    req: Request,
) -> ApiResult<Json<TenantView>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Tenants, ApiScope::Write)
        .await?;
    let declared = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if !tessera_core::branding::LOGO_CONTENT_TYPES.iter().any(|t| {
        declared
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case(t)
    }) {
        return Err(ApiError::UnsupportedMediaType(
            "a logo must be sent as image/png, image/jpeg or image/svg+xml".into(),
        ));
    }
    // Read here rather than through the general body limit: logos may be larger than forms.
    let data = axum::body::to_bytes(Body::new(req.into_body()), MAX_LOGO_BYTES + 1)
        .await
        .map_err(|_| {
            ApiError::PayloadTooLarge(format!("a logo may have at most {MAX_LOGO_BYTES} bytes"))
        })?;
    let content_type = check_logo(&declared, &data)?;
    let logo = TenantLogo {
        content_type: content_type.to_string(),
        data: data.to_vec(),
        updated_at: Services::now(),
    };
    state.services.store.put_logo(tenant.id, &logo).await?;
    let reference = LogoRef {
        content_type: content_type.to_string(),
        version: tessera_crypto::sha256_hex(&logo.data)[..16].to_string(),
        bytes: logo.data.len() as u64,
    };
    let t = state
        .services
        .set_tenant_logo(&slug, Some(reference), op.actor())
        .await?;
    Ok(Json(TenantView::new(t, &state.services.config.public_url)))
}

/// Remove the tenant's logo.
#[utoipa::path(delete, path = "/tenants/{slug}/branding/logo", tag = "tenants", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_logo(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
) -> ApiResult<StatusCode> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Tenants, ApiScope::Write)
        .await?;
    let existed = state.services.store.delete_logo(tenant.id).await?;
    if !existed && tenant.settings.branding.logo.is_none() {
        return Err(ApiError::not_found("logo"));
    }
    state
        .services
        .set_tenant_logo(&slug, None, op.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
