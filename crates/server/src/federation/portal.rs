//! `{issuer}/account/identities`: the sign-in providers linked to a person's account. They see
//! each one (provider, the address it gave, when it was linked and last used), remove one unless
//! it is their last way to sign in, and connect the tenant's other providers.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::federation::{FederationStore, LinkedIdentityId, can_remove_identity};
use tessera_core::mfa::FactorKind;
use tessera_core::session::Session;
use tessera_core::store::{MfaStore, UserStore};
use tessera_core::tenant::Tenant;
use tessera_core::user::User;

use super::enabled_providers;
use crate::api::rfc3339;
use crate::app::Services;
use crate::i18n::tr;
use crate::pages::{
    csrf, current_session, issuer_path, load_tenant, parse_form, render, see_other,
};
use crate::state::AppState;

async fn signed_in(
    state: &AppState,
    tenant: &Tenant,
    jar: &CookieJar,
) -> Result<(Session, User), Response> {
    let base = issuer_path(&tenant.slug);
    let to_login = || {
        let q = serde_urlencoded::to_string([("return_to", format!("{base}/account/identities"))])
            .unwrap_or_default();
        see_other(&format!("{base}/login?{q}"))
    };
    let Some(session) = current_session(state, tenant, jar).await else {
        return Err(to_login());
    };
    match state
        .services
        .store
        .get_user(tenant.id, session.user_id)
        .await
    {
        Ok(Some(u)) if u.can_sign_in() => Ok((session, u)),
        Ok(_) => Err(to_login()),
        Err(e) => {
            tracing::error!(error = %e, "user lookup failed");
            Err((StatusCode::SERVICE_UNAVAILABLE, tr("msg-unavailable")).into_response())
        }
    }
}

/// Whether the account keeps a way to sign in without one of its `links` identities.
async fn removable(state: &AppState, tenant: &Tenant, user: &User, links: usize) -> bool {
    let has_passkey = tenant.settings.mfa.passkey_sign_in
        && state
            .services
            .store
            .list_factors(tenant.id, user.id)
            .await
            .is_ok_and(|fs| {
                fs.iter()
                    .any(|f| f.kind == FactorKind::Webauthn && f.discoverable && f.is_confirmed())
            });
    let email_sign_in =
        tenant.settings.mfa.email_code_sign_in || tenant.settings.mfa.magic_link_sign_in;
    can_remove_identity(user, links, has_passkey, email_sign_in)
}

async fn page(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    user: &User,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let base = issuer_path(&tenant.slug);
    let store = &state.services.store;
    let links = match store.list_linked_identities(tenant.id, user.id).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "linked identities could not be listed");
            return (StatusCode::SERVICE_UNAVAILABLE, tr("msg-unavailable")).into_response();
        }
    };
    let providers = store
        .list_identity_providers(tenant.id)
        .await
        .unwrap_or_default();
    let can_remove = removable(state, tenant, user, links.len()).await;
    let linked: Vec<minijinja::Value> = links
        .iter()
        .map(|l| {
            let p = providers.iter().find(|p| p.id == l.provider_id);
            minijinja::context! {
                id => l.id.to_string(),
                provider => p.map(|p| p.display_name.clone()).unwrap_or_default(),
                alias => p.map(|p| p.alias.clone()).unwrap_or_default(),
                email => l.email.clone(),
                linked_at => rfc3339(l.created_at),
                last_used_at => l.last_used_at.map(rfc3339),
                removable => can_remove,
            }
        })
        .collect();
    let (jar, csrf_token) = csrf::token_for(
        jar,
        &state.csrf_key,
        &base,
        state.services.config.secure_cookies(),
    );
    let connectable: Vec<minijinja::Value> = enabled_providers(state, tenant)
        .await
        .iter()
        .filter(|p| !links.iter().any(|l| l.provider_id == p.id))
        .map(|p| {
            minijinja::context! {
                name => p.display_name.clone(),
                alias => p.alias.clone(),
                href => format!("{base}/login/idp/{}?link=1&csrf_token={csrf_token}", p.alias),
            }
        })
        .collect();
    let r = render(
        state,
        tenant,
        status,
        "federation_identities.html",
        minijinja::context! {
            linked, connectable, csrf_token, notice, error,
            account_link => format!("{base}/account"),
            remove_action => format!("{base}/account/identities/remove"),
        },
    );
    (jar, r).into_response()
}

pub async fn show(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(_q): RawQuery,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (_, user) = match signed_in(&state, &tenant, &jar).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    page(&state, &tenant, jar, &user, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    id: String,
}

pub async fn remove(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (_, user) = match signed_in(&state, &tenant, &jar).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(form) = parse_form::<RemoveForm>(&body)
        .filter(|f| csrf::verify(&jar, &state.csrf_key, &f.csrf_token))
    else {
        let msg = tr("msg-form-expired");
        return page(
            &state,
            &tenant,
            jar,
            &user,
            StatusCode::FORBIDDEN,
            None,
            Some(msg),
        )
        .await;
    };
    let store = &state.services.store;
    let links = store
        .list_linked_identities(tenant.id, user.id)
        .await
        .unwrap_or_default();
    let Some(link) =
        LinkedIdentityId::parse(&form.id).and_then(|id| links.iter().find(|l| l.id == id).cloned())
    else {
        let msg = tr("federation-identity-not-found");
        return page(
            &state,
            &tenant,
            jar,
            &user,
            StatusCode::NOT_FOUND,
            None,
            Some(msg),
        )
        .await;
    };
    if !removable(&state, &tenant, &user, links.len()).await {
        let msg = tr("federation-identity-last-method");
        return page(
            &state,
            &tenant,
            jar,
            &user,
            StatusCode::CONFLICT,
            None,
            Some(msg),
        )
        .await;
    }
    match store
        .delete_linked_identity(tenant.id, user.id, link.id)
        .await
    {
        Ok(true) => {
            let provider = store
                .get_identity_provider(tenant.id, link.provider_id)
                .await
                .ok()
                .flatten()
                .map(|p| p.alias)
                .unwrap_or_default();
            let ev = Event::new(
                tenant.id,
                Services::now(),
                EventKind::FederationUnlinked { provider },
                Actor::user(user.id),
            )
            .subject(user.id)
            .target(Target::new("user", user.id))
            .ip(Some(peer.ip().to_string()))
            .user_agent(crate::pages::user_agent(&headers).map(str::to_string));
            state.services.emit(ev).await;
            let notice = tr("federation-identity-removed");
            page(
                &state,
                &tenant,
                jar,
                &user,
                StatusCode::OK,
                Some(notice),
                None,
            )
            .await
        }
        Ok(false) => {
            let msg = tr("federation-identity-not-found");
            page(
                &state,
                &tenant,
                jar,
                &user,
                StatusCode::NOT_FOUND,
                None,
                Some(msg),
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, "a linked identity could not be removed");
            page(
                &state,
                &tenant,
                jar,
                &user,
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                Some(tr("msg-unavailable")),
            )
            .await
        }
    }
}
