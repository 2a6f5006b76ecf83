//! The person's data: `GET {issuer}/account/export` (everything Tessera holds about them, as a
//! JSON download) and `POST {issuer}/account/delete` (delete the account, now or after the
//! tenant's grace period). Both need a recent sign-in; deleting also needs the person to type
//! their email address.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use tessera_core::account::deletion_confirmed;
use tessera_core::registration::FieldProblem;

use super::{Feedback, Post, reauth_link, signed_in};
use crate::account_portal::{Deletion, Refused, delete_account, export_account};
use crate::api::rfc3339;
use crate::app::Services;
use crate::i18n::tr;
use crate::pages::security::recently_signed_in;
use crate::pages::{
    error_page, issuer_path, load_tenant, removal_cookie, render, see_other, user_agent,
};
use crate::state::AppState;

/// `GET {issuer}/account/export`: a JSON attachment. A session older than the re-authentication
/// window is sent to sign in again first, and comes back here.
pub async fn export(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (session, user) = match signed_in(&state, &tenant, &jar).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !recently_signed_in(&session) {
        let back = format!("{}/account/export", issuer_path(&tenant.slug));
        return see_other(&reauth_link(&tenant, &back));
    }
    let doc = match export_account(
        &state,
        &tenant,
        &user,
        &session,
        Some(peer.ip()),
        user_agent(&headers),
    )
    .await
    {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "data export failed");
            return error_page(
                &state,
                &tenant,
                StatusCode::SERVICE_UNAVAILABLE,
                &tr("msg-unavailable"),
                &tr("account-error-export"),
                Some(format!("{}/account", issuer_path(&tenant.slug))),
            );
        }
    };
    let body = match serde_json::to_vec_pretty(&doc) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "data export did not serialize");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                tr("account-error-export"),
            )
                .into_response();
        }
    };
    let date = Services::now()
        .format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap_or_default();
    // The slug is [a-z0-9-] and the date digits: safe inside the quoted filename.
    let disposition = format!(
        "attachment; filename=\"{}-account-data-{date}.json\"",
        tenant.slug
    );
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// `POST {issuer}/account/delete`.
pub async fn delete(
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
    if !recently_signed_in(&post.session) {
        return post
            .refused(&state, Refused::ReauthNeeded, Vec::new())
            .await;
    }
    let typed = post.field("confirm").trim().to_string();
    let problem = if typed.is_empty() {
        Some(tr("account-delete-type-email"))
    } else if typed.chars().count() > 254 || !deletion_confirmed(&typed, &post.user.email) {
        Some(tr("account-delete-wrong-email"))
    } else {
        None
    };
    if let Some(message) = problem {
        let fb = Feedback {
            error: Some(tr("account-error-not-deleted")),
            problems: vec![FieldProblem {
                field: "confirm".into(),
                message,
            }],
            ..Default::default()
        };
        return post.answer(&state, StatusCode::BAD_REQUEST, fb).await;
    }
    let outcome = delete_account(
        &state,
        &post.tenant,
        &post.user,
        Some(peer.ip()),
        user_agent(&headers),
    )
    .await;
    let (due_at, due_date) = match outcome {
        Ok(Deletion::Deleted) => (String::new(), String::new()),
        Ok(Deletion::Scheduled { due_at }) => (
            rfc3339(due_at),
            due_at
                .format(time::macros::format_description!("[year]-[month]-[day]"))
                .unwrap_or_default(),
        ),
        Err(e) => {
            return post
                .refused(&state, Refused::Internal(e.to_string()), Vec::new())
                .await;
        }
    };
    // This browser's session ended with the others.
    let jar = post.jar.remove(removal_cookie(&post.tenant));
    let page = render(
        &state,
        &post.tenant,
        StatusCode::OK,
        "account_deleted.html",
        minijinja::context! { due_at, due_date },
    );
    (jar, page).into_response()
}
