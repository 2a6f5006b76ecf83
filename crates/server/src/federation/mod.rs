//! Sign-in with upstream identity providers (the protocol is `tessera-federation`'s):
//!
//! - `{issuer}/login/idp/{alias}` sends the browser to the provider, with a `state`, a nonce and
//!   a PKCE verifier kept in the database (digests and sealed values only) and bound to the
//!   browser by the `tessera_fed` cookie ([`start`]);
//! - `{issuer}/login/idp/{alias}/callback` (GET, and POST for `form_post` providers) takes the
//!   state exactly once, checks it belongs to this provider and this browser, exchanges the code,
//!   validates the ID token and decides what the identity may do ([`callback`]): sign in to the
//!   account it is linked to, create an account, or — when an account with its email exists —
//!   ask for proof first ([`proof`]). Every first factor ends in
//!   [`crate::mfa::flow::after_first_factor`], so access and MFA policies apply as for passwords;
//! - `{issuer}/account/identities` lists and removes a person's linked identities and connects
//!   new ones ([`portal`]).
//!
//! Every failure ends on a page with a 4xx (or 502 when the provider cannot be reached) and a
//! `federation.failed` audit event naming the reason; none is an internal error.

pub mod admin;
mod callback;
mod portal;
mod proof;
mod start;
pub mod tokens;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::federation::{FederationStore, IdentityProvider};
use tessera_core::tenant::Tenant;
use tessera_core::{TenantId, UserId};
use tessera_federation::http::{HttpRequest, HttpResponse, Method, Transport};
use tessera_federation::{FailureClass, ProviderConfig};

use crate::app::Services;
use crate::i18n::tr;
use crate::mfa::flow::RequestInfo;
use crate::pages::{error_page, issuer_path};
use crate::routes;
use crate::state::AppState;

/// The cookie that binds sign-ins at providers to the browser that started them.
pub const FED_COOKIE: &str = "tessera_fed";
/// The RFC 8176 registry has no value for "authenticated by an external identity provider";
/// Tessera says so with its own, documented value rather than borrowing one that would claim
/// a factor it did not see (`pwd`, `otp`).
pub const AMR_FED: &str = tessera_core::mfa::AMR_FED;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::LOGIN_IDP, get(start::start))
        .route(
            routes::LOGIN_IDP_CALLBACK,
            get(callback::callback_get).post(callback::callback_post),
        )
        .route(routes::LOGIN_IDP_LINK, get(proof::show))
        .route(routes::LOGIN_IDP_LINK_EMAIL, post(proof::send_code))
        .route(routes::LOGIN_IDP_LINK_CODE, post(proof::check_code))
        .route(routes::LOGIN_IDP_LINK_CONFIRM, get(proof::confirm))
        .route(routes::ACCOUNT_IDENTITIES, get(portal::show))
        .route(routes::ACCOUNT_IDENTITIES_REMOVE, post(portal::remove))
        .route(routes::FEDERATED_TOKEN, get(tokens::for_application))
}

/// What the sign-in page shows of a provider.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Button {
    pub alias: String,
    pub name: String,
    pub preset: Option<String>,
}

/// Shared by all requests of a server: discovery documents and key sets of the providers, and
/// the sign-in page's buttons per tenant (read on every page view, kept for the synchronous
/// rendering code).
#[derive(Default)]
pub struct FederationCaches {
    pub providers: tessera_federation::ProviderCache,
    buttons: Mutex<HashMap<TenantId, Vec<Button>>>,
}

/// Runs the protocol's HTTP with the server's client: 5-second timeouts, no redirects, answers
/// larger than [`tessera_federation::discovery::MAX_RESPONSE_BYTES`] refused.
pub struct HttpTransport<'a>(pub &'a reqwest::Client);

impl Transport for HttpTransport<'_> {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        let mut r = match req.method {
            Method::Get => self.0.get(&req.url),
            Method::Post => self.0.post(&req.url),
        };
        for (k, v) in &req.headers {
            r = r.header(k.as_str(), v.as_str());
        }
        if let Some(form) = &req.form {
            r = r.form(form);
        }
        let mut resp = r.send().await.map_err(|e| e.to_string())?;
        let limit = tessera_federation::discovery::MAX_RESPONSE_BYTES;
        if resp.content_length().is_some_and(|n| n as usize > limit) {
            return Err("the answer is too large".into());
        }
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
            if body.len() + chunk.len() > limit {
                return Err("the answer is too large".into());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            content_type,
            body,
        })
    }
}

/// The protocol settings of a provider as the protocol crate reads them.
pub fn provider_config(p: &IdentityProvider) -> Result<ProviderConfig, String> {
    serde_json::from_value(p.settings.clone())
        .map_err(|e| format!("the stored settings do not parse: {e}"))
}

/// `{public_url}/t/{slug}/login/idp/{alias}/callback`: the redirect URI to register upstream.
pub fn redirect_uri(public_url: &str, tenant_slug: &str, alias: &str) -> String {
    format!(
        "{}{}/login/idp/{alias}/callback",
        public_url.trim_end_matches('/'),
        issuer_path(tenant_slug)
    )
}

fn cookie_path(tenant: &Tenant) -> String {
    format!("{}/login/idp", issuer_path(&tenant.slug))
}

/// This browser's binding token, creating one when it has none (several sign-ins in several
/// tabs share it; each has its own state).
fn binding(state: &AppState, tenant: &Tenant, jar: CookieJar) -> (CookieJar, String) {
    if let Some(c) = jar.get(FED_COOKIE)
        && (32..=128).contains(&c.value().len())
    {
        let v = c.value().to_string();
        return (jar, v);
    }
    let value = tessera_crypto::random_token(32);
    let cookie = Cookie::build((FED_COOKIE, value.clone()))
        .path(cookie_path(tenant))
        .http_only(true)
        .secure(state.services.config.secure_cookies())
        // Lax: the provider's redirect back is a top-level GET navigation, which carries it.
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(
            tessera_core::federation::LINK_PROOF_TTL_SECS,
        ))
        .build();
    (jar.add(cookie), value)
}

/// SHA-256 (hex) of this browser's binding token, if it has one.
fn binding_hash(jar: &CookieJar) -> Option<String> {
    let v = jar.get(FED_COOKIE)?.value();
    (32..=128)
        .contains(&v.len())
        .then(|| tessera_crypto::sha256_hex(v.as_bytes()))
}

/// How long a tenant's enabled identity providers, once read, serve its sign-in pages (see
/// [`crate::app::short_cache`]). Every sign-in page and every password post needs them (the
/// buttons, and the routing of an enterprise domain to its provider); a change made through this
/// node applies at once, one made through another node or the CLI within this time. The sign-in
/// at a provider itself always reads it afresh.
pub const LOGIN_PROVIDERS_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// The enabled providers of a tenant, in alias order.
async fn enabled_providers(state: &AppState, tenant: &Tenant) -> Arc<Vec<IdentityProvider>> {
    let svc = &state.services;
    if let Some(list) = svc.login_providers.get(&tenant.id) {
        return list;
    }
    match svc.store.list_identity_providers(tenant.id).await {
        Ok(list) => {
            let enabled: Arc<Vec<IdentityProvider>> =
                Arc::new(list.into_iter().filter(|p| p.enabled).collect());
            svc.login_providers.put(tenant.id, enabled.clone());
            enabled
        }
        Err(e) => {
            // Not kept: the next page tries again.
            tracing::error!(error = %e, "identity providers could not be listed");
            Arc::new(Vec::new())
        }
    }
}

fn button(p: &IdentityProvider) -> Button {
    Button {
        alias: p.alias.clone(),
        name: p.display_name.clone(),
        preset: p
            .settings
            .get("preset")
            .and_then(|v| v.as_str())
            .map(|s| s.split(':').next().unwrap_or(s).to_string()),
    }
}

/// Reads the tenant's enabled providers for the sign-in page about to be rendered.
pub async fn prepare_login_page(state: &AppState, tenant: &Tenant) {
    let buttons: Vec<Button> = enabled_providers(state, tenant)
        .await
        .iter()
        .map(button)
        .collect();
    if let Ok(mut m) = state.federation.buttons.lock() {
        if m.len() > 10_000 {
            m.clear();
        }
        m.insert(tenant.id, buttons);
    }
}

/// The buttons of the sign-in page (as [`prepare_login_page`] last read them), for templates:
/// `identity_providers` is a list of `{alias, name, preset}`.
pub fn login_buttons(state: &AppState, tenant: &Tenant) -> minijinja::Value {
    let list = state
        .federation
        .buttons
        .lock()
        .ok()
        .and_then(|m| m.get(&tenant.id).cloned())
        .unwrap_or_default();
    minijinja::Value::from(minijinja::value::Serde(list))
}

/// Where the sign-in page sends the browser instead of asking for a password: to the provider
/// named by `idp` (the page's `idp` parameter, or an application's `kc_idp_hint` / `idp_hint`),
/// or to the enterprise provider whose `domains` include the typed email's domain.
pub async fn login_redirect(
    state: &AppState,
    tenant: &Tenant,
    idp: Option<&str>,
    email: Option<&str>,
    return_to: &str,
) -> Option<String> {
    let providers = enabled_providers(state, tenant).await;
    let chosen = match idp.map(str::trim).filter(|s| !s.is_empty()) {
        Some(alias) => providers.iter().find(|p| p.alias == alias),
        None => email.and_then(|e| providers.iter().find(|p| p.routes_email(e))),
    }?;
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if !return_to.is_empty() {
        q.append_pair("return_to", return_to);
    }
    if let Some(e) = email.filter(|e| !e.is_empty() && e.len() <= 254) {
        q.append_pair("login_hint", e);
    }
    let query = q.finish();
    let base = format!("{}/login/idp/{}", issuer_path(&tenant.slug), chosen.alias);
    Some(if query.is_empty() {
        base
    } else {
        format!("{base}?{query}")
    })
}

/// Records `federation.failed` and answers with a page: 403 when the person declined or may
/// not sign in, 400 when the answer could not be trusted, 502 when the provider failed.
pub(crate) async fn fail(
    state: &AppState,
    tenant: &Tenant,
    provider: &str,
    reason: &str,
    class: FailureClass,
    user: Option<UserId>,
    info: &RequestInfo,
) -> Response {
    let mut ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::FederationFailed {
            provider: provider.to_string(),
            reason: reason.to_string(),
        },
        user.map_or_else(Actor::anonymous, Actor::user),
    )
    .failed()
    .ip(info.ip.map(|i| i.to_string()))
    .user_agent(info.user_agent.clone());
    if let Some(u) = user {
        ev = ev.subject(u).target(Target::new("user", u));
    }
    state.services.emit(ev).await;
    tracing::info!(tenant = %tenant.slug, provider, reason, "upstream sign-in failed");
    let (status, message) = match class {
        FailureClass::Declined => (StatusCode::FORBIDDEN, tr("federation-error-declined")),
        FailureClass::Rejected => (StatusCode::BAD_REQUEST, tr("federation-error-rejected")),
        FailureClass::Upstream => (StatusCode::BAD_GATEWAY, tr("federation-error-upstream")),
    };
    let message = match reason {
        "no_account" => tr("federation-error-no-account"),
        "no_email" => tr("federation-error-no-email"),
        "account_disabled" => tr("federation-error-disabled"),
        "state_unknown" | "browser_mismatch" => tr("federation-error-expired"),
        "identity_linked_elsewhere" => tr("federation-error-linked-elsewhere"),
        "provider_unknown" => tr("federation-error-unknown-provider"),
        _ => message,
    };
    let status = match reason {
        "no_account" | "account_disabled" | "identity_linked_elsewhere" => StatusCode::FORBIDDEN,
        "provider_unknown" => StatusCode::NOT_FOUND,
        _ => status,
    };
    error_page(
        state,
        tenant,
        status,
        &tr("federation-error-heading"),
        &message,
        Some(format!("{}/login", issuer_path(&tenant.slug))),
    )
}

/// The request facts of a handler.
fn request_info(peer: &std::net::SocketAddr, headers: &axum::http::HeaderMap) -> RequestInfo {
    RequestInfo {
        ip: Some(peer.ip()),
        user_agent: crate::pages::user_agent(headers).map(str::to_string),
    }
}

/// Unix seconds of the server's clock (which tests can shift).
fn unix_now() -> i64 {
    Services::now().unix_timestamp()
}
