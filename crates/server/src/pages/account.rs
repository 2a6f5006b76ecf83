//! `{issuer}/account`: the signed-in landing page (the full account portal grows from here).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use tessera_core::UserId;
use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::store::{ClientStore, GrantStore, UserStore};
use tessera_core::tenant::Tenant;

use super::{
    csrf, current_session, error_page, issuer_path, load_tenant, parse_form, render, see_other,
};
use crate::app::Services;
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
    let apps = connected_apps(&state, &tenant, user.id).await;
    let page = render(
        &state,
        &tenant,
        StatusCode::OK,
        "account.html",
        minijinja::context! { email => user.email, name => user.name, signed_in_at, csrf_token, apps },
    );
    (jar, page).into_response()
}

/// The applications the user has granted access to (third-party clients with remembered consent).
async fn connected_apps(state: &AppState, tenant: &Tenant, user: UserId) -> Vec<minijinja::Value> {
    let store = &state.services.store;
    let Ok(consents) = store.list_consents(tenant.id, user).await else {
        return Vec::new();
    };
    let mut apps = Vec::new();
    for c in consents {
        let name = match store.get_client(tenant.id, &c.client_id).await {
            Ok(Some(client)) => client.name,
            _ => c.client_id.clone(),
        };
        apps.push(
            minijinja::context! { client_id => c.client_id, name, scopes => c.scopes.join(", ") },
        );
    }
    apps
}

#[derive(serde::Deserialize)]
struct RevokeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    client_id: String,
}

/// `POST {issuer}/account/apps/revoke`: the user withdraws an application's access; its tokens
/// for this user are revoked at once.
pub async fn revoke_app(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let base = issuer_path(&tenant.slug);
    let Some(session) = current_session(&state, &tenant, &jar).await else {
        return see_other(&format!("{base}/login"));
    };
    let Some(form) = parse_form::<RevokeForm>(&body) else {
        return error_page(
            &state,
            &tenant,
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "The form could not be read.",
            None,
        );
    };
    if !csrf::verify(&jar, &state.csrf_key, &form.csrf_token) {
        return error_page(
            &state,
            &tenant,
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form has expired. Please try again.",
            Some(format!("{base}/account")),
        );
    }
    let store = &state.services.store;
    match store
        .delete_consent(tenant.id, session.user_id, &form.client_id)
        .await
    {
        Ok(true) => {
            let revoked = store
                .revoke_user_client_tokens(
                    tenant.id,
                    session.user_id,
                    Some(&form.client_id),
                    Services::now(),
                )
                .await
                .unwrap_or(0);
            tracing::info!(tenant = %tenant.slug, user = %session.user_id, client_id = %form.client_id, tokens_revoked = revoked, "the user withdrew an application's access");
            let kind = EventKind::ConsentWithdrawn {
                client_id: form.client_id.clone(),
            };
            let ev = Event::new(
                tenant.id,
                Services::now(),
                kind,
                Actor::user(session.user_id),
            )
            .target(Target::new("client", &form.client_id))
            .subject(session.user_id);
            state.services.emit(ev).await;
            see_other(&format!("{base}/account"))
        }
        Ok(false) => error_page(
            &state,
            &tenant,
            StatusCode::NOT_FOUND,
            "Not found",
            "This application has no access to revoke.",
            Some(format!("{base}/account")),
        ),
        Err(e) => {
            tracing::error!(error = %e, "consent withdrawal failed");
            error_page(
                &state,
                &tenant,
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "Please try again.",
                None,
            )
        }
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
