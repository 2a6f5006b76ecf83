//! `POST {issuer}/account/sessions/revoke` (one other session) and
//! `POST {issuer}/account/sessions/revoke-others`: the person signs out other browsers and
//! devices; each ended session sends the OpenID Connect back-channel logout to its applications.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use tessera_core::SessionId;

use super::{Feedback, Post};
use crate::account_portal::{revoke_other_sessions, revoke_session};
use crate::i18n::tr;
use crate::state::AppState;

pub async fn revoke(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let post = match Post::read(&state, &slug, jar, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(target) = SessionId::parse(post.field("session_id").trim()) else {
        return post
            .answer(
                &state,
                StatusCode::BAD_REQUEST,
                Feedback::error(tr("account-error-choose-session")),
            )
            .await;
    };
    if target == post.session.id {
        return post
            .answer(
                &state,
                StatusCode::BAD_REQUEST,
                Feedback::error(tr("account-error-current-session")),
            )
            .await;
    }
    match revoke_session(&state, &post.tenant, &post.user, &post.session, target).await {
        Ok(true) => super::done(&post.tenant, "session"),
        Ok(false) => {
            post.answer(
                &state,
                StatusCode::NOT_FOUND,
                Feedback::error(tr("account-error-session-ended")),
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, "session revocation failed");
            post.answer(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                Feedback::error(tr("account-error-unavailable")),
            )
            .await
        }
    }
}

pub async fn revoke_others(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let post = match Post::read(&state, &slug, jar, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match revoke_other_sessions(&state, &post.tenant, &post.user, &post.session).await {
        Ok(_) => super::done(&post.tenant, "sessions"),
        Err(e) => {
            tracing::error!(error = %e, "session revocation failed");
            post.answer(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                Feedback::error(tr("account-error-unavailable")),
            )
            .await
        }
    }
}
