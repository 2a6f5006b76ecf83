//! `{issuer}/not-me`: the "this wasn't me" link of a new sign-in notice. With `?token=…` the page
//! shows a button; only the POST (CSRF-protected) acts, so a mail scanner that opens the link
//! changes nothing. Acting ends every session and token of the account, disables its password
//! and mails a link to choose a new one (see [`crate::risk::notify::report`]).

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use tessera_core::tenant::Tenant;
use tessera_core::verification::{VerificationPurpose, VerificationStore};

use super::register::form_pairs;
use super::{csrf, issuer_path, load_tenant, render};
use crate::app::Services;
use crate::i18n::tr;
use crate::self_service::token_hash;
use crate::state::AppState;

enum Step<'a> {
    Confirm { token: &'a str },
    BadLink,
    Done,
}

fn page(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    status: StatusCode,
    step: Step<'_>,
    error: Option<&str>,
) -> Response {
    let secure = state.services.config.secure_cookies();
    let (jar, csrf_token) =
        csrf::token_for(jar, &state.csrf_key, &issuer_path(&tenant.slug), secure);
    let (step_name, token) = match step {
        Step::Confirm { token } => ("confirm", token),
        Step::BadLink => ("bad_link", ""),
        Step::Done => ("done", ""),
    };
    let r = render(
        state,
        tenant,
        status,
        "not_me.html",
        minijinja::context! { step => step_name, token, error, csrf_token },
    );
    (jar, r).into_response()
}

fn token_param(query: Option<String>) -> String {
    query
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(&q).ok())
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "token"))
        .map(|(_, v)| v)
        .unwrap_or_default()
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
    let token = token_param(query);
    // Looking is not acting.
    let usable = !token.is_empty()
        && token.len() <= 128
        && matches!(
            state
                .services
                .store
                .find_verification(tenant.id, VerificationPurpose::SignInReport, &token_hash(&token))
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
            None,
        )
    } else {
        page(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            Step::BadLink,
            Some(&tr("not-me-bad-link")),
        )
    }
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
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let token = field("token");
    if !csrf::verify(&jar, &state.csrf_key, &field("csrf_token")) {
        return page(
            &state,
            &tenant,
            jar,
            StatusCode::FORBIDDEN,
            Step::Confirm { token: &token },
            Some(&tr("msg-form-expired")),
        );
    }
    if token.is_empty() || token.len() > 128 {
        return page(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            Step::BadLink,
            Some(&tr("not-me-bad-link")),
        );
    }
    match crate::risk::notify::report(&state, &tenant, &token, Some(peer.ip())).await {
        Ok(true) => page(&state, &tenant, jar, StatusCode::OK, Step::Done, None),
        Ok(false) => page(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            Step::BadLink,
            Some(&tr("not-me-bad-link")),
        ),
        Err(e) => {
            tracing::error!(error = %e, "a sign-in report could not be completed");
            page(
                &state,
                &tenant,
                jar,
                StatusCode::SERVICE_UNAVAILABLE,
                Step::Confirm { token: &token },
                Some(&tr("msg-try-again-later")),
            )
        }
    }
}
