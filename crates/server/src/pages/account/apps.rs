//! Connected applications: the clients the person consented to, with the scopes and the time of
//! the consent, and `POST {issuer}/account/apps/revoke`, which withdraws one (its tokens for this
//! person are revoked at once).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use tessera_core::UserId;
use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::store::{ClientStore, GrantStore};
use tessera_core::tenant::Tenant;

use super::{Feedback, Post};
use crate::api::rfc3339;
use crate::app::Services;
use crate::i18n::tr;
use crate::state::AppState;

/// The applications the user has granted access to (clients with remembered consent).
pub(super) async fn connected_apps(
    state: &AppState,
    tenant: &Tenant,
    user: UserId,
) -> Vec<minijinja::Value> {
    let store = &state.services.store;
    let consents = match store.list_consents(tenant.id, user).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "consent lookup failed");
            return Vec::new();
        }
    };
    let mut apps = Vec::new();
    for c in consents {
        let name = match store.get_client(tenant.id, &c.client_id).await {
            Ok(Some(client)) => client.name,
            _ => c.client_id.clone(),
        };
        apps.push(minijinja::context! {
            client_id => c.client_id,
            name,
            scopes => c.scopes.join(", "),
            granted_at => rfc3339(c.granted_at),
        });
    }
    apps
}

/// `POST {issuer}/account/apps/revoke`: the user withdraws an application's access; its tokens
/// for this user are revoked at once.
pub async fn revoke_app(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let post = match Post::read(&state, &slug, jar, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let client_id = post.field("client_id").to_string();
    if client_id.is_empty() || client_id.len() > 255 {
        return post
            .answer(
                &state,
                StatusCode::BAD_REQUEST,
                Feedback::error(tr("account-error-choose-app")),
            )
            .await;
    }
    let (tenant, user) = (&post.tenant, post.user.id);
    let store = &state.services.store;
    match store.delete_consent(tenant.id, user, &client_id).await {
        Ok(true) => {
            let revoked = store
                .revoke_user_client_tokens(tenant.id, user, Some(&client_id), Services::now())
                .await
                .unwrap_or(0);
            tracing::info!(tenant = %tenant.slug, user = %user, client_id = %client_id, tokens_revoked = revoked, "the user withdrew an application's access");
            let kind = EventKind::ConsentWithdrawn {
                client_id: client_id.clone(),
            };
            let ev = Event::new(tenant.id, Services::now(), kind, Actor::user(user))
                .target(Target::new("client", &client_id))
                .subject(user);
            state.services.emit(ev).await;
            super::done(&post.tenant, "app")
        }
        Ok(false) => {
            post.answer(
                &state,
                StatusCode::NOT_FOUND,
                Feedback::error(tr("account-error-no-app")),
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, "consent withdrawal failed");
            post.answer(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                Feedback::error(tr("account-error-unavailable")),
            )
            .await
        }
    }
}
