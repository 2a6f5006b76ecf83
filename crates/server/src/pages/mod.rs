//! Hosted pages under each tenant's issuer: `{issuer}/login`, `{issuer}/logout`, `{issuer}/account`.
//! Server-rendered, no JavaScript needed, CSRF-protected forms, strict security headers.

pub mod account;
pub mod branding;
pub mod csrf;
pub mod login;
pub mod logout;
pub mod not_me;
pub mod reconsent;
pub mod recovery;
pub mod register;
pub mod security;
pub mod templates;
pub mod verify_email;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use tessera_core::session::Session;
use tessera_core::tenant::Tenant;

use crate::routes;
use crate::signin::active_session;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "tessera_session";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::LOGIN, get(login::show).post(login::submit))
        .route(routes::LOGOUT, get(logout::show).post(logout::submit))
        .route(routes::ACCOUNT, get(account::show))
        .route(routes::ACCOUNT_REVOKE_APP, post(account::revoke_app))
        .route(
            routes::ACCOUNT_SECURITY,
            get(security::show).post(security::submit),
        )
        .route(
            routes::LOGIN_POLICY_UPDATE,
            get(reconsent::show).post(reconsent::submit),
        )
        .route(routes::STYLESHEET, get(stylesheet))
        .route(routes::BRANDING_CSS, get(branding::stylesheet))
        .route(routes::LOGO, get(branding::logo))
        .merge(register::router())
        .merge(account::router())
}

/// `/t/{slug}`: the path every cookie of a tenant is scoped to.
pub fn issuer_path(slug: &str) -> String {
    format!("/t/{slug}")
}

/// Headers on every hosted page: no framing, no inline script or style, nothing cached.
pub fn page_headers() -> [(header::HeaderName, HeaderValue); 6] {
    [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
            ),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

/// Renders a template with the fields every page needs.
pub fn render(
    state: &AppState,
    tenant: &Tenant,
    status: StatusCode,
    name: &str,
    extra: minijinja::Value,
) -> Response {
    let locale = crate::i18n::locale_for(&state.services.i18n, tenant);
    let product = tenant
        .settings
        .branding
        .display_name(&tenant.name)
        .to_string();
    let base = minijinja::context! {
        tenant_name => product.clone(),
        issuer_path => issuer_path(&tenant.slug),
        static_base => "/static",
        self_registration => tenant.settings.self_registration,
        lang => locale.clone(),
        i18n => crate::i18n::Translator::new(state.services.i18n.clone(), &locale, &product).into_value(),
    };
    // Values the page gives win over these (the first map wins).
    let ctx = minijinja::context! { ..extra, ..base, ..branding::page_context(tenant) };
    match state.templates.render(name, ctx) {
        Ok(html) => (status, page_headers(), html).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "a page template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be shown; the server log has details.",
            )
                .into_response()
        }
    }
}

pub fn error_page(
    state: &AppState,
    tenant: &Tenant,
    status: StatusCode,
    heading: &str,
    message: &str,
    retry_link: Option<String>,
) -> Response {
    render(
        state,
        tenant,
        status,
        "error.html",
        minijinja::context! { heading, message, retry_link },
    )
}

/// A plain error page for requests that name no valid tenant.
pub fn unknown_tenant() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "No such tenant.",
    )
        .into_response()
}

pub async fn load_tenant(state: &AppState, slug: &str) -> Result<Tenant, Response> {
    if tessera_core::tenant::validate_slug(slug).is_err() {
        return Err(unknown_tenant());
    }
    match state.services.cached_tenant(slug).await {
        Ok(Some(t)) => {
            // The tenant's default language joins this request's negotiation.
            crate::i18n::set_tenant(&t);
            Ok(t)
        }
        Ok(None) => Err(unknown_tenant()),
        Err(e) => {
            tracing::error!(error = %e, "tenant lookup failed");
            Err((
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable.",
            )
                .into_response())
        }
    }
}

/// The active session of this browser in `tenant`, if any.
pub async fn current_session(
    state: &AppState,
    tenant: &Tenant,
    jar: &CookieJar,
) -> Option<Session> {
    let token = jar.get(SESSION_COOKIE)?.value().to_string();
    match active_session(state, tenant.id, &token).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "session lookup failed");
            None
        }
    }
}

pub fn session_cookie(
    state: &AppState,
    tenant: &Tenant,
    value: String,
    max_age_secs: i64,
) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, value))
        .path(issuer_path(&tenant.slug))
        .http_only(true)
        .secure(state.services.config.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(max_age_secs))
        .build()
}

pub fn removal_cookie(tenant: &Tenant) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, ""))
        .path(issuer_path(&tenant.slug))
        .build()
}

/// Accepts a `return_to` only when it stays on this deployment's origin (never an open redirect).
/// Returns the path-and-query to redirect to.
pub fn safe_return_to(public_url: &str, candidate: &str) -> Option<String> {
    let c = candidate.trim();
    if c.is_empty() || c.len() > 2048 || c.chars().any(|ch| ch.is_control() || ch == '\\') {
        return None;
    }
    let base = url::Url::parse(public_url).ok()?;
    let target = base.join(c).ok()?;
    if target.origin() != base.origin() {
        return None;
    }
    let mut out = target.path().to_string();
    if let Some(q) = target.query() {
        out.push('?');
        out.push_str(q);
    }
    Some(out)
}

/// 303 See Other, so a POST is followed by a GET.
pub fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "Invalid redirect target.").into_response(),
    }
}

pub fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        templates::STYLESHEET,
    )
}

/// Parses a URL-encoded form body; `None` for anything malformed.
pub fn parse_form<T: serde::de::DeserializeOwned>(body: &[u8]) -> Option<T> {
    serde_urlencoded::from_bytes(body).ok()
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn return_to_never_leaves_the_origin() {
        let p = "http://localhost:8080";
        assert_eq!(
            safe_return_to(p, "/t/acme/account").as_deref(),
            Some("/t/acme/account")
        );
        assert_eq!(
            safe_return_to(p, "/t/acme/authorize?a=1&b=2").as_deref(),
            Some("/t/acme/authorize?a=1&b=2")
        );
        assert_eq!(
            safe_return_to(p, "http://localhost:8080/x").as_deref(),
            Some("/x")
        );
        for bad in [
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "http://localhost:8081/x",
            "javascript:alert(1)",
            "http://localhost:8080@evil.example/",
            "\u{0}/x",
        ] {
            assert_eq!(safe_return_to(p, bad), None, "{bad}");
        }
    }
}
