//! `{issuer}/account`: the signed-in landing page (the full account portal grows from here).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use tessera_core::store::UserStore;

use super::{csrf, current_session, issuer_path, load_tenant, render, see_other};
use crate::state::AppState;

pub async fn show(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let base = issuer_path(&tenant.slug);
    let Some(session) = current_session(&state, &tenant, &jar).await else {
        return see_other(&format!(
            "{base}/login?return_to={}",
            urlencode(&format!("{base}/account"))
        ));
    };
    let user = match state
        .services
        .store
        .get_user(tenant.id, session.user_id)
        .await
    {
        Ok(Some(u)) => u,
        _ => return see_other(&format!("{base}/login")),
    };
    let (jar, csrf_token) = csrf::token_for(
        jar,
        &state.csrf_key,
        &base,
        state.services.config.secure_cookies(),
    );
    let signed_in_at = session
        .created_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let page = render(
        &state,
        &tenant,
        StatusCode::OK,
        "account.html",
        minijinja::context! { email => user.email, name => user.name, signed_in_at, csrf_token },
    );
    (jar, page).into_response()
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
