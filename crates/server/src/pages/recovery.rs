//! `{issuer}/forgot-password` and `{issuer}/reset-password`: getting back into an account.
//!
//! "Forgot password" answers every well-formed address with the same page after the same work;
//! the mail goes out in the background when an active account has the address. The reset page
//! shows its form only for a usable link, and the link is spent only when a new password that
//! meets the tenant's policy is set.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use tessera_core::Secret;
use tessera_core::tenant::Tenant;
use tessera_core::user::validate_email;

use super::register::{check_email, form_pairs, set_retry_after};
use super::{csrf, issuer_path, load_tenant, render, safe_return_to, user_agent};
use crate::i18n::{tr, tr_args};
use crate::self_service::{
    RequestRefused, ResetRefused, ip_budget, request_password_reset, reset_link_owner,
    reset_password,
};
use crate::state::AppState;

#[derive(Deserialize, Default)]
struct RecoveryQuery {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    return_to: Option<String>,
    #[serde(default)]
    login_hint: Option<String>,
}

fn query(state: &AppState, raw: Option<String>) -> (RecoveryQuery, String) {
    let q: RecoveryQuery = raw
        .and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default();
    let return_to = q
        .return_to
        .as_deref()
        .and_then(|r| safe_return_to(&state.services.config.public_url, r))
        .unwrap_or_default();
    (q, return_to)
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn forgot_form(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    status: StatusCode,
    email: &str,
    return_to: &str,
    error: Option<&str>,
) -> Response {
    let secure = state.services.config.secure_cookies();
    let (jar, csrf_token) =
        csrf::token_for(jar, &state.csrf_key, &issuer_path(&tenant.slug), secure);
    let page = render(
        state,
        tenant,
        status,
        "forgot_password.html",
        minijinja::context! { email, return_to, error, csrf_token },
    );
    (jar, page).into_response()
}

pub async fn show_forgot(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (q, return_to) = query(&state, raw);
    let email = q.login_hint.filter(|h| h.len() <= 254).unwrap_or_default();
    forgot_form(
        &state,
        &tenant,
        jar,
        StatusCode::OK,
        &email,
        &return_to,
        None,
    )
}

pub async fn submit_forgot(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let pairs = form_pairs(&body).unwrap_or_default();
    let return_to = safe_return_to(
        &state.services.config.public_url,
        field(&pairs, "return_to"),
    )
    .unwrap_or_default();
    let email: String = field(&pairs, "email").trim().chars().take(254).collect();
    let respond = |jar, status, error: &str| {
        forgot_form(
            &state,
            &tenant,
            jar,
            status,
            &email,
            &return_to,
            Some(error),
        )
    };
    if !csrf::verify(&jar, &state.csrf_key, field(&pairs, "csrf_token")) {
        return respond(jar, StatusCode::FORBIDDEN, &tr("msg-form-expired"));
    }
    if let Err(refused) = ip_budget(
        &state,
        &tenant,
        "recovery",
        peer.ip(),
        tenant.settings.registration.max_attempts_per_ip_per_hour,
    )
    .await
    {
        return refused_page(jar, refused, respond);
    }
    // The shape of an address says nothing about accounts, so it may be checked openly.
    if field(&pairs, "email").trim().chars().count() > 254 || validate_email(&email).is_err() {
        return respond(jar, StatusCode::BAD_REQUEST, &tr("msg-enter-valid-email"));
    }
    let to = Some(return_to.clone()).filter(|r| !r.is_empty());
    match request_password_reset(&state, &tenant, &email, to).await {
        Ok(()) => check_email(&state, &tenant, jar, "recovery", &email, &return_to),
        Err(refused) => refused_page(jar, refused, respond),
    }
}

fn refused_page(
    jar: CookieJar,
    refused: RequestRefused,
    respond: impl Fn(CookieJar, StatusCode, &str) -> Response,
) -> Response {
    match refused {
        RequestRefused::Throttled { retry_after_secs } => {
            let msg = tr_args(
                "recovery-msg-throttled",
                &[("minutes", retry_after_secs.div_ceil(60).into())],
            );
            let mut r = respond(jar, StatusCode::TOO_MANY_REQUESTS, &msg);
            set_retry_after(&mut r, retry_after_secs);
            r
        }
        RequestRefused::Invalid(p) => {
            let msg = p
                .first()
                .map(crate::i18n::problems::field_problem)
                .unwrap_or_else(|| tr("recovery-msg-check-form"));
            respond(jar, StatusCode::BAD_REQUEST, &msg)
        }
        RequestRefused::Overloaded => {
            respond(jar, StatusCode::SERVICE_UNAVAILABLE, &tr("msg-busy"))
        }
        RequestRefused::Internal(e) => {
            tracing::error!(error = %e, "password recovery failed with an internal error");
            respond(
                jar,
                StatusCode::SERVICE_UNAVAILABLE,
                &tr("recovery-msg-unavailable"),
            )
        }
    }
}

/// `step`: `form` (a usable link), `bad_link`, or `done`.
#[allow(clippy::too_many_arguments)]
fn reset_page(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    status: StatusCode,
    step: &str,
    token: &str,
    return_to: &str,
    error: Option<&str>,
) -> Response {
    let secure = state.services.config.secure_cookies();
    let (jar, csrf_token) =
        csrf::token_for(jar, &state.csrf_key, &issuer_path(&tenant.slug), secure);
    let base = issuer_path(&tenant.slug);
    let sign_in_link = if return_to.is_empty() {
        format!("{base}/login")
    } else {
        serde_urlencoded::to_string([("return_to", return_to)])
            .map(|q| format!("{base}/login?{q}"))
            .unwrap_or_else(|_| format!("{base}/login"))
    };
    let page = render(
        state,
        tenant,
        status,
        "reset_password.html",
        minijinja::context! {
            step, token, return_to, error, csrf_token, sign_in_link,
            min_length => tenant.settings.password_policy.min_length,
        },
    );
    (jar, page).into_response()
}

pub async fn show_reset(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (q, return_to) = query(&state, raw);
    let token = q.token.unwrap_or_default();
    match reset_link_owner(&state, &tenant, &token).await {
        Ok(Some(_)) => reset_page(
            &state,
            &tenant,
            jar,
            StatusCode::OK,
            "form",
            &token,
            &return_to,
            None,
        ),
        Ok(None) => reset_page(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            "bad_link",
            "",
            &return_to,
            Some(&tr("recovery-msg-bad-link")),
        ),
        Err(e) => {
            tracing::error!(error = %e, "reset link lookup failed");
            reset_page(
                &state,
                &tenant,
                jar,
                StatusCode::SERVICE_UNAVAILABLE,
                "bad_link",
                "",
                &return_to,
                Some(&tr("recovery-msg-unavailable")),
            )
        }
    }
}

pub async fn submit_reset(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let pairs = form_pairs(&body).unwrap_or_default();
    let return_to = safe_return_to(
        &state.services.config.public_url,
        field(&pairs, "return_to"),
    )
    .unwrap_or_default();
    let token = field(&pairs, "token").trim();
    let password = field(&pairs, "password");
    if !csrf::verify(&jar, &state.csrf_key, field(&pairs, "csrf_token")) {
        return reset_page(
            &state,
            &tenant,
            jar,
            StatusCode::FORBIDDEN,
            "form",
            token,
            &return_to,
            Some(&tr("msg-form-expired")),
        );
    }
    if password.is_empty() {
        return reset_page(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            "form",
            token,
            &return_to,
            Some(&tr("recovery-msg-enter-password")),
        );
    }
    let result = reset_password(
        &state,
        &tenant,
        token,
        Secret::new(password.to_string()),
        Some(peer.ip()),
        user_agent(&headers),
    )
    .await;
    match result {
        Ok(_) => {
            // The old session of this browser ended with all the others.
            let jar = jar.remove(super::removal_cookie(&tenant));
            reset_page(
                &state,
                &tenant,
                jar,
                StatusCode::OK,
                "done",
                "",
                &return_to,
                None,
            )
        }
        Err(ResetRefused::BadLink) => reset_page(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            "bad_link",
            "",
            &return_to,
            Some(&tr("recovery-msg-bad-link")),
        ),
        Err(ResetRefused::Password(r)) => reset_page(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            "form",
            token,
            &return_to,
            Some(&crate::i18n::problems::password_rejection(&r)),
        ),
        Err(ResetRefused::Overloaded) => {
            let mut r = reset_page(
                &state,
                &tenant,
                jar,
                StatusCode::SERVICE_UNAVAILABLE,
                "form",
                token,
                &return_to,
                Some(&tr("msg-busy")),
            );
            set_retry_after(&mut r, 2);
            r
        }
        Err(ResetRefused::Internal(e)) => {
            tracing::error!(error = %e, "password reset failed with an internal error");
            reset_page(
                &state,
                &tenant,
                jar,
                StatusCode::SERVICE_UNAVAILABLE,
                "form",
                token,
                &return_to,
                Some(&tr("recovery-msg-unavailable")),
            )
        }
    }
}
