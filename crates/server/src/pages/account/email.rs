//! Changing the email address. `POST {issuer}/account/email` (recent sign-in) mails a link to the
//! new address and a notice to the old one; `{issuer}/account/email/confirm?token=…` shows a
//! button, and only its POST uses the link (mail scanners that open links change nothing). The
//! confirmation works in any browser: the link itself is the proof.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use tessera_core::tenant::Tenant;

use super::{Post, field};
use crate::account_portal::{
    Refused, confirm_email_change, email_change_link_usable, request_email_change,
};
use crate::i18n::tr;
use crate::pages::security::recently_signed_in;
use crate::pages::{csrf, issuer_path, load_tenant, render, user_agent};
use crate::state::AppState;

pub async fn submit(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let post = match Post::read(&state, &slug, jar, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let typed = post.field("email").to_string();
    let values = vec![("email".to_string(), typed.clone())];
    if !recently_signed_in(&post.session) {
        return post.refused(&state, Refused::ReauthNeeded, values).await;
    }
    match request_email_change(
        &state,
        &post.tenant,
        &post.user,
        &typed,
        Some(peer.ip()),
        user_agent(&headers),
    )
    .await
    {
        Ok(_) => super::done(&post.tenant, "email"),
        Err(refused) => post.refused(&state, refused, values).await,
    }
}

/// `step`: `confirm` (a usable link: the button), `changed`, or `bad_link`.
#[allow(clippy::too_many_arguments)]
fn confirm_page(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    status: StatusCode,
    step: &str,
    token: &str,
    email: &str,
    error: Option<&str>,
) -> Response {
    let (jar, csrf_token) = csrf::token_for(
        jar,
        &state.csrf_key,
        &issuer_path(&tenant.slug),
        state.services.config.secure_cookies(),
    );
    let page = render(
        state,
        tenant,
        status,
        "account_email_confirm.html",
        minijinja::context! { step, token, email, error, csrf_token },
    );
    (jar, page).into_response()
}

/// `GET {issuer}/account/email/confirm?token=…`.
pub async fn show_confirm(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let pairs: Vec<(String, String)> = query
        .and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default();
    let token = field(&pairs, "token").trim().to_string();
    match email_change_link_usable(&state, &tenant, &token).await {
        Ok(true) => confirm_page(
            &state,
            &tenant,
            jar,
            StatusCode::OK,
            "confirm",
            &token,
            "",
            None,
        ),
        Ok(false) => confirm_page(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            "bad_link",
            "",
            "",
            Some(&tr("account-email-bad-link")),
        ),
        Err(e) => {
            tracing::error!(error = %e, "email change link lookup failed");
            confirm_page(
                &state,
                &tenant,
                jar,
                StatusCode::SERVICE_UNAVAILABLE,
                "bad_link",
                "",
                "",
                Some(&tr("account-error-unavailable")),
            )
        }
    }
}

/// `POST {issuer}/account/email/confirm`.
pub async fn submit_confirm(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let pairs = crate::pages::register::form_pairs(&body).unwrap_or_default();
    let token = field(&pairs, "token").trim().to_string();
    if !csrf::verify(&jar, &state.csrf_key, field(&pairs, "csrf_token")) {
        return confirm_page(
            &state,
            &tenant,
            jar,
            StatusCode::FORBIDDEN,
            "confirm",
            &token,
            "",
            Some(&tr("account-error-expired")),
        );
    }
    match confirm_email_change(&state, &tenant, &token).await {
        Ok(Some(user)) => confirm_page(
            &state,
            &tenant,
            jar,
            StatusCode::OK,
            "changed",
            "",
            &user.email,
            None,
        ),
        Ok(None) => confirm_page(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            "bad_link",
            "",
            "",
            Some(&tr("account-email-bad-link")),
        ),
        Err(e) => {
            tracing::error!(error = %e, "email change confirmation failed");
            confirm_page(
                &state,
                &tenant,
                jar,
                StatusCode::SERVICE_UNAVAILABLE,
                "confirm",
                &token,
                "",
                Some(&tr("account-error-unavailable")),
            )
        }
    }
}
