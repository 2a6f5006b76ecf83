//! `{issuer}/verify-email`: confirms an address. With `?token=…` (the emailed link) the page
//! shows a button; only the POST consumes the link, so mail scanners that open links change
//! nothing. Without a token it offers the 6-digit code of the same email.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use tessera_core::tenant::Tenant;
use tessera_core::verification::{VerificationPurpose, VerificationStore};

use super::register::{form_pairs, set_retry_after};
use super::{csrf, issuer_path, load_tenant, render, safe_return_to};
use crate::app::Services;
use crate::i18n::{tr, tr_args};
use crate::self_service::{
    RequestRefused, code_budget, token_hash, verify_with_code, verify_with_token,
};
use crate::state::AppState;

#[derive(Deserialize, Default)]
struct VerifyQuery {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    return_to: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// What the page shows.
enum Step<'a> {
    /// A usable link: a button that consumes it.
    Confirm { token: &'a str },
    /// The code form.
    Code { email: &'a str },
    /// Unknown, used, replaced or expired link.
    BadLink,
    /// Done.
    Verified { email: &'a str },
}

fn page(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    status: StatusCode,
    step: Step<'_>,
    return_to: &str,
    error: Option<&str>,
) -> Response {
    let secure = state.services.config.secure_cookies();
    let (jar, csrf_token) =
        csrf::token_for(jar, &state.csrf_key, &issuer_path(&tenant.slug), secure);
    let base = issuer_path(&tenant.slug);
    let (step_name, token, email) = match step {
        Step::Confirm { token } => ("confirm", token, ""),
        Step::Code { email } => ("code", "", email),
        Step::BadLink => ("bad_link", "", ""),
        Step::Verified { email } => ("verified", "", email),
    };
    // Continue to sign in, and from there back to the application that sent the person here.
    let mut continue_link = format!("{base}/login");
    let q: Vec<(&str, &str)> = [("return_to", return_to), ("login_hint", email)]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if let Ok(qs) = serde_urlencoded::to_string(&q)
        && !qs.is_empty()
    {
        continue_link = format!("{continue_link}?{qs}");
    }
    let r = render(
        state,
        tenant,
        status,
        "verify_email.html",
        minijinja::context! {
            step => step_name, token, email, return_to, error, csrf_token, continue_link,
        },
    );
    (jar, r).into_response()
}

pub async fn show(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let q: VerifyQuery = query
        .and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default();
    let return_to = q
        .return_to
        .as_deref()
        .and_then(|r| safe_return_to(&state.services.config.public_url, r))
        .unwrap_or_default();
    let Some(token) = q.token.filter(|t| !t.is_empty()) else {
        let email: String = q.email.unwrap_or_default().chars().take(254).collect();
        return page(
            &state,
            &tenant,
            jar,
            StatusCode::OK,
            Step::Code { email: &email },
            &return_to,
            None,
        );
    };
    // Looking is not consuming: a mail scanner that opens the link changes nothing.
    let usable = token.len() <= 128
        && matches!(
            state
                .services
                .store
                .find_verification(tenant.id, VerificationPurpose::VerifyEmail, &token_hash(&token))
                .await,
            Ok(Some(t)) if t.is_usable(Services::now())
        );
    if usable {
        page(
            &state,
            &tenant,
            jar,
            StatusCode::OK,
            Step::Confirm { token: &token },
            &return_to,
            None,
        )
    } else {
        page(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            Step::BadLink,
            &return_to,
            Some(&tr("verify-msg-bad-link")),
        )
    }
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

pub async fn submit(
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
    let token = field(&pairs, "token").trim();
    let email: String = field(&pairs, "email").trim().chars().take(254).collect();
    let code = field(&pairs, "code").trim();
    if !csrf::verify(&jar, &state.csrf_key, field(&pairs, "csrf_token")) {
        let step = if token.is_empty() {
            Step::Code { email: &email }
        } else {
            Step::Confirm { token }
        };
        return page(
            &state,
            &tenant,
            jar,
            StatusCode::FORBIDDEN,
            step,
            &return_to,
            Some(&tr("msg-form-expired")),
        );
    }
    if !token.is_empty() {
        return match verify_with_token(&state, &tenant, token).await {
            Ok(Some(user)) => page(
                &state,
                &tenant,
                jar,
                StatusCode::OK,
                Step::Verified { email: &user.email },
                &return_to,
                None,
            ),
            Ok(None) => page(
                &state,
                &tenant,
                jar,
                StatusCode::BAD_REQUEST,
                Step::BadLink,
                &return_to,
                Some(&tr("verify-msg-bad-link")),
            ),
            Err(e) => {
                tracing::error!(error = %e, "email verification failed");
                page(
                    &state,
                    &tenant,
                    jar,
                    StatusCode::SERVICE_UNAVAILABLE,
                    Step::Confirm { token },
                    &return_to,
                    Some(&tr("verify-msg-unavailable")),
                )
            }
        };
    }
    if email.is_empty() || code.is_empty() {
        return page(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            Step::Code { email: &email },
            &return_to,
            Some(&tr("verify-msg-missing")),
        );
    }
    if let Err(refused) = code_budget(&state, &tenant, peer.ip()).await {
        let (status, msg, retry) = match refused {
            RequestRefused::Throttled { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                tr_args(
                    "verify-msg-throttled",
                    &[("minutes", retry_after_secs.div_ceil(60).into())],
                ),
                Some(retry_after_secs),
            ),
            other => {
                tracing::error!(error = ?other, "the code budget could not be checked");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    tr("verify-msg-unavailable"),
                    None,
                )
            }
        };
        let mut r = page(
            &state,
            &tenant,
            jar,
            status,
            Step::Code { email: &email },
            &return_to,
            Some(&msg),
        );
        if let Some(s) = retry {
            set_retry_after(&mut r, s);
        }
        return r;
    }
    match verify_with_code(&state, &tenant, &email, code).await {
        Ok(Some(user)) => page(
            &state,
            &tenant,
            jar,
            StatusCode::OK,
            Step::Verified { email: &user.email },
            &return_to,
            None,
        ),
        Ok(None) => page(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            Step::Code { email: &email },
            &return_to,
            Some(&tr("verify-msg-wrong")),
        ),
        Err(e) => {
            tracing::error!(error = %e, "email verification by code failed");
            page(
                &state,
                &tenant,
                jar,
                StatusCode::SERVICE_UNAVAILABLE,
                Step::Code { email: &email },
                &return_to,
                Some(&tr("verify-msg-unavailable")),
            )
        }
    }
}
