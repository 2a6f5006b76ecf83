//! `{issuer}/logout`: a confirmation page (GET never signs out, so a link or image cannot force it)
//! and the CSRF-protected POST that ends the session.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use tessera_core::store::SessionStore;

use super::{csrf, current_session, issuer_path, load_tenant, parse_form, removal_cookie, render};
use crate::app::Services;
use crate::state::AppState;

#[derive(Deserialize)]
struct LogoutForm {
    #[serde(default)]
    csrf_token: String,
}

pub async fn show(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let signed_out = current_session(&state, &tenant, &jar).await.is_none();
    let (jar, csrf_token) = csrf::token_for(
        jar,
        &state.csrf_key,
        &issuer_path(&tenant.slug),
        state.services.config.secure_cookies(),
    );
    (
        jar,
        render(
            &state,
            &tenant,
            StatusCode::OK,
            "logout.html",
            minijinja::context! { signed_out, csrf_token },
        ),
    )
        .into_response()
}

pub async fn submit(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let token = parse_form::<LogoutForm>(&body)
        .map(|f| f.csrf_token)
        .unwrap_or_default();
    if !csrf::verify(&jar, &state.csrf_key, &token) {
        let (jar, csrf_token) = csrf::token_for(
            jar,
            &state.csrf_key,
            &issuer_path(&tenant.slug),
            state.services.config.secure_cookies(),
        );
        let page = render(
            &state,
            &tenant,
            StatusCode::FORBIDDEN,
            "logout.html",
            minijinja::context! { signed_out => false, csrf_token },
        );
        return (jar, page).into_response();
    }
    if let Some(session) = current_session(&state, &tenant, &jar).await {
        if let Err(e) = state
            .services
            .store
            .revoke_session(tenant.id, session.id, Services::now())
            .await
        {
            tracing::error!(error = %e, "could not revoke a session at sign-out");
            return super::error_page(
                &state,
                &tenant,
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-out failed",
                "Please try again.",
                None,
            );
        }
        tracing::info!(tenant = %tenant.slug, session = %session.id, "signed out");
    }
    let jar = jar.remove(removal_cookie(&tenant));
    (
        jar,
        render(
            &state,
            &tenant,
            StatusCode::OK,
            "logout.html",
            minijinja::context! { signed_out => true },
        ),
    )
        .into_response()
}
