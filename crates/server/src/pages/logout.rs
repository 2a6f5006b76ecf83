//! `{issuer}/logout`: sign-out, and OpenID Connect RP-Initiated Logout (`end_session_endpoint`).
//! GET shows a confirmation (a link or image cannot sign anyone out); the CSRF-protected POST ends
//! the session and, when the application asked, returns to its registered
//! `post_logout_redirect_uri` (exact match) with its `state`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use tessera_core::store::{ClientStore, SessionStore};
use tessera_core::tenant::Tenant;
use tessera_crypto::jws::verify_jwt;
use tessera_oidc::Params;

use super::{
    csrf, current_session, error_page, issuer_path, load_tenant, removal_cookie, render, see_other,
};
use crate::app::Services;
use crate::i18n::tr;
use crate::state::AppState;

/// Where to go after sign-out, once validated.
struct Return {
    uri: String,
    state: Option<String>,
}

/// Validates the RP-initiated logout parameters. `Err` carries the message for an error page.
async fn validate(state: &AppState, tenant: &Tenant, p: &Params) -> Result<Option<Return>, String> {
    let Some(uri) = p.get("post_logout_redirect_uri") else {
        return Ok(None);
    };
    // The client comes from client_id or from the ID token hint's audience (expired hints are fine:
    // they only identify the application).
    let hinted_client = match p.get("id_token_hint") {
        Some(hint) => {
            let keys = state
                .keys
                .keys(&state.services, tenant.id)
                .await
                .map_err(|_| "signing keys unavailable".to_string())?;
            let jwt = verify_jwt(hint, &keys.verifiers, &["RS256", "ES256", "EdDSA"])
                .map_err(|_| "id_token_hint is not a valid ID token of this issuer".to_string())?;
            if jwt.claims.get("iss").and_then(|v| v.as_str())
                != Some(tenant.issuer(&state.services.config.public_url).as_str())
            {
                return Err("id_token_hint was issued by another issuer".into());
            }
            jwt.claims.get("aud").and_then(|a| {
                a.as_str()
                    .map(str::to_string)
                    .or_else(|| a.get(0).and_then(|v| v.as_str()).map(str::to_string))
            })
        }
        None => None,
    };
    let client_id = match (p.get("client_id"), hinted_client.as_deref()) {
        (Some(c), Some(h)) if c != h => {
            return Err("client_id does not match the ID token hint".into());
        }
        (Some(c), _) => c.to_string(),
        (None, Some(h)) => h.to_string(),
        (None, None) => {
            return Err("post_logout_redirect_uri needs client_id or id_token_hint".into());
        }
    };
    let client = state
        .services
        .store
        .get_client(tenant.id, &client_id)
        .await
        .ok()
        .flatten()
        .ok_or("unknown client")?;
    if !client.post_logout_redirect_uris.iter().any(|r| r == uri) {
        return Err("post_logout_redirect_uri is not registered for this application".into());
    }
    Ok(Some(Return {
        uri: uri.to_string(),
        state: p.get("state").map(str::to_string),
    }))
}

fn redirect_back(r: &Return) -> Response {
    match url::Url::parse(&r.uri) {
        Ok(mut u) => {
            if let Some(s) = &r.state {
                u.query_pairs_mut().append_pair("state", s);
            }
            see_other(u.as_str())
        }
        Err(_) => (StatusCode::BAD_REQUEST, "invalid post_logout_redirect_uri").into_response(),
    }
}

pub async fn show(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(q): RawQuery,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let params = match Params::parse(q.unwrap_or_default().as_bytes()) {
        Ok(p) => p,
        Err(e) => {
            return error_page(
                &state,
                &tenant,
                StatusCode::BAD_REQUEST,
                &tr("logout-msg-invalid"),
                &e.description,
                None,
            );
        }
    };
    let ret = match validate(&state, &tenant, &params).await {
        Ok(r) => r,
        Err(m) => {
            return error_page(
                &state,
                &tenant,
                StatusCode::BAD_REQUEST,
                &tr("logout-msg-invalid"),
                &m,
                None,
            );
        }
    };
    let signed_out = current_session(&state, &tenant, &jar).await.is_none();
    if signed_out && let Some(r) = &ret {
        return redirect_back(r);
    }
    let (jar, csrf_token) = csrf::token_for(
        jar,
        &state.csrf_key,
        &issuer_path(&tenant.slug),
        state.services.config.secure_cookies(),
    );
    let ctx = minijinja::context! {
        signed_out,
        csrf_token,
        post_logout_redirect_uri => params.get("post_logout_redirect_uri"),
        client_id => params.get("client_id"),
        id_token_hint => params.get("id_token_hint"),
        logout_state => params.get("state"),
    };
    (
        jar,
        render(&state, &tenant, StatusCode::OK, "logout.html", ctx),
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
    let params = Params::parse(&body).unwrap_or_default();
    if !csrf::verify(
        &jar,
        &state.csrf_key,
        params.get("csrf_token").unwrap_or(""),
    ) {
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
    let ret = match validate(&state, &tenant, &params).await {
        Ok(r) => r,
        Err(m) => {
            return error_page(
                &state,
                &tenant,
                StatusCode::BAD_REQUEST,
                &tr("logout-msg-invalid"),
                &m,
                None,
            );
        }
    };
    if let Some(session) = current_session(&state, &tenant, &jar).await {
        if let Err(e) = state
            .services
            .store
            .revoke_session(tenant.id, session.id, Services::now())
            .await
        {
            tracing::error!(error = %e, "could not revoke a session at sign-out");
            return error_page(
                &state,
                &tenant,
                StatusCode::SERVICE_UNAVAILABLE,
                &tr("logout-msg-failed"),
                &tr("msg-try-again"),
                None,
            );
        }
        tracing::info!(tenant = %tenant.slug, session = %session.id, "signed out");
        crate::oidc::backchannel::session_ended(
            &state,
            &tenant,
            &session,
            "sign_out",
            tessera_core::events::Actor::user(session.user_id),
        )
        .await;
    }
    let jar = jar.remove(removal_cookie(&tenant));
    match ret {
        Some(r) => (jar, redirect_back(&r)).into_response(),
        None => (
            jar,
            render(
                &state,
                &tenant,
                StatusCode::OK,
                "logout.html",
                minijinja::context! { signed_out => true },
            ),
        )
            .into_response(),
    }
}
