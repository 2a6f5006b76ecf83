//! A tenant's branding on the wire: `{issuer}/branding.css` (colours and custom CSS, served
//! from this origin so the pages' `style-src 'self'` holds), `{issuer}/logo`, and the values
//! pages and emails draw with (see docs/branding-i18n.md).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_core::branding::LogoStore;
use tessera_core::tenant::Tenant;

use super::{issuer_path, load_tenant};
use crate::state::AppState;

/// The sandbox a logo is served in: an SVG may style itself but never run script or load
/// anything, even when opened on its own.
pub const LOGO_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/// A short version of the tenant's stylesheet for cache-busting URLs, `None` without one.
pub fn stylesheet_version(tenant: &Tenant) -> Option<String> {
    let b = &tenant.settings.branding;
    b.has_stylesheet()
        .then(|| tessera_crypto::sha256_hex(b.stylesheet().as_bytes())[..16].to_string())
}

/// `branding_css`, `logo_url` and `support_url` for the page templates.
pub fn page_context(tenant: &Tenant) -> minijinja::Value {
    let b = &tenant.settings.branding;
    let base = issuer_path(&tenant.slug);
    minijinja::context! {
        branding_css => stylesheet_version(tenant),
        logo_url => b.logo.as_ref().map(|l| format!("{base}/logo?v={}", l.version)),
        support_url => b.support_url.clone(),
    }
}

/// `brand_color`, `brand_background`, `logo_url` (absolute) and `support_url` for emails.
pub fn email_context(tenant: &Tenant, public_url: &str) -> minijinja::Value {
    let b = &tenant.settings.branding;
    let issuer = tenant.issuer(public_url);
    minijinja::context! {
        brand_color => b.primary_color.clone(),
        brand_background => b.background_color.clone(),
        logo_url => b.logo.as_ref().map(|l| format!("{issuer}/logo?v={}", l.version)),
        support_url => b.support_url.clone(),
    }
}

/// `GET {issuer}/branding.css`.
pub async fn stylesheet(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            // The pages link it with ?v=<version>, so a change reaches browsers at once.
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        tenant.settings.branding.stylesheet(),
    )
        .into_response()
}

/// `GET {issuer}/logo`.
pub async fn logo(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let logo = match state.services.store.get_logo(tenant.id).await {
        Ok(Some(l)) => l,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "No logo.",
            )
                .into_response();
        }
        Err(e) => {
            tracing::error!(error = %e, "logo lookup failed");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable.",
            )
                .into_response();
        }
    };
    let mut resp = logo.data.into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&logo.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(LOGO_CSP),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline; filename=\"logo\""),
    );
    resp
}
