//! `{issuer}/login/idp/{alias}/link…`: proofs an upstream identity waits for.
//!
//! - An account with the identity's email exists: the identity joins it only once the person
//!   proves the account is theirs, by signing in to it (its password or passkey, and its second
//!   factor when it has one; `…/link/confirm` then records the link) or with a code emailed to
//!   the account's address.
//! - A new account would be created with an address the provider did not verify: the code
//!   proves the address first (else anyone could claim someone's address at a lax provider and
//!   hold the account before its owner arrives).
//!
//! The identity waits in a sealed record found only through this browser's binding cookie; codes
//! are stored as keyed digests, expire after [`CODE_TTL_SECS`], and allow [`MAX_ATTEMPTS`] tries.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::federation::{
    FederationStage, FederationState, FederationStore, IdentityProvider,
};
use tessera_core::store::{ThrottleStore, UserStore};
use tessera_core::tenant::Tenant;
use tessera_core::throttle::ThrottleDecision;
use tessera_core::user::{User, normalize_email};
use tessera_crypto::ct_eq;
use tessera_federation::FailureClass;
use tessera_federation::mapping::UpstreamIdentity;

use super::callback::{create_link, provision_verified, sign_in};
use super::{AMR_FED, binding_hash, fail, provider_config, request_info};
use crate::app::Services;
use crate::i18n::{tr, tr_args};
use crate::pages::{
    csrf, current_session, error_page, issuer_path, load_tenant, parse_form, render, see_other,
};
use crate::state::AppState;

/// An emailed code is good for ten minutes and five tries.
pub const CODE_TTL_SECS: i64 = 600;
pub const MAX_ATTEMPTS: u32 = 5;

/// The waiting identity and where its proof stands.
struct Waiting {
    state: FederationState,
    provider: IdentityProvider,
    identity: UpstreamIdentity,
    /// The existing account to prove (None: a new account's address to prove).
    account: Option<User>,
}

impl Waiting {
    /// The address the code goes to: the account's own, or the one the new account will have.
    fn email(&self) -> Option<String> {
        match &self.account {
            Some(u) => Some(u.email.clone()),
            None => self.identity.email.clone(),
        }
    }
    fn code_hash(&self) -> Option<&str> {
        self.state.payload.as_ref()?.get("code_hash")?.as_str()
    }
    fn code_sent_at(&self) -> Option<i64> {
        self.state.payload.as_ref()?.get("sent_at")?.as_i64()
    }
    fn attempts(&self) -> u32 {
        self.state
            .payload
            .as_ref()
            .and_then(|p| p.get("attempts"))
            .and_then(Value::as_u64)
            .map_or(0, |n| n as u32)
    }
}

enum Lookup {
    Found(Box<Waiting>),
    /// Nothing waits in this browser (expired, finished, another browser): the response.
    Gone(Response),
}

async fn waiting(state: &AppState, tenant: &Tenant, alias: &str, jar: &CookieJar) -> Lookup {
    let gone = || {
        Lookup::Gone(error_page(
            state,
            tenant,
            StatusCode::NOT_FOUND,
            &tr("federation-error-heading"),
            &tr("federation-error-expired"),
            Some(format!("{}/login", issuer_path(&tenant.slug))),
        ))
    };
    let Some(binding) = binding_hash(jar) else {
        return gone();
    };
    let store = &state.services.store;
    let Ok(Some(st)) = store
        .find_federation_state_by_binding(
            tenant.id,
            &binding,
            FederationStage::AwaitingProof,
            Services::now(),
        )
        .await
    else {
        return gone();
    };
    let Ok(Some(provider)) = store.get_identity_provider(tenant.id, st.provider_id).await else {
        return gone();
    };
    if provider.alias != alias || !provider.enabled {
        return gone();
    }
    let Some(identity) = st
        .payload
        .as_ref()
        .and_then(|p| p.get("identity"))
        .and_then(|i| serde_json::from_value::<UpstreamIdentity>(i.clone()).ok())
    else {
        return gone();
    };
    let account = match st.target_user {
        Some(uid) => match store.get_user(tenant.id, uid).await {
            Ok(Some(u)) if u.can_sign_in() => Some(u),
            _ => return gone(),
        },
        None => None,
    };
    Lookup::Found(Box::new(Waiting {
        state: st,
        provider,
        identity,
        account,
    }))
}

fn page(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    status: StatusCode,
    w: &Waiting,
    code_sent: bool,
    error: Option<String>,
) -> Response {
    let base = issuer_path(&tenant.slug);
    let (jar, csrf_token) = csrf::token_for(
        jar,
        &state.csrf_key,
        &base,
        state.services.config.secure_cookies(),
    );
    let link_base = format!("{base}/login/idp/{}/link", w.provider.alias);
    let sign_in_link = w.account.as_ref().map(|u| {
        let q = serde_urlencoded::to_string([
            ("return_to", format!("{link_base}/confirm")),
            ("login_hint", u.email.clone()),
            ("prompt", "login".to_string()),
        ])
        .unwrap_or_default();
        format!("{base}/login?{q}")
    });
    let r = render(
        state,
        tenant,
        status,
        "federation_link.html",
        minijinja::context! {
            provider_name => w.provider.display_name.clone(),
            email => w.email().unwrap_or_default(),
            existing_account => w.account.is_some(),
            sign_in_link,
            send_code_action => format!("{link_base}/email"),
            code_action => format!("{link_base}/code"),
            code_sent,
            csrf_token,
            error,
            cancel_link => format!("{base}/login"),
        },
    );
    (jar, r).into_response()
}

pub async fn show(
    State(state): State<AppState>,
    Path((slug, alias)): Path<(String, String)>,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    match waiting(&state, &tenant, &alias, &jar).await {
        Lookup::Found(w) => {
            let sent = w.code_hash().is_some();
            page(&state, &tenant, jar, StatusCode::OK, &w, sent, None)
        }
        Lookup::Gone(r) => r,
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    code: String,
}

fn code_digest(state: &AppState, w: &Waiting, code: &str) -> String {
    state
        .services
        .crypto
        .blind_index("federation.email_code", &format!("{}:{code}", w.state.id))
}

fn throttle_key(state: &AppState, email: &str) -> String {
    format!(
        "fedcode:{}",
        state
            .services
            .crypto
            .blind_index("throttle.federation_code", &normalize_email(email))
    )
}

/// `POST …/link/email`: mails a code to the account's (or the new account's) address.
pub async fn send_code(
    State(state): State<AppState>,
    Path((slug, alias)): Path<(String, String)>,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let w = match waiting(&state, &tenant, &alias, &jar).await {
        Lookup::Found(w) => w,
        Lookup::Gone(r) => return r,
    };
    let form = parse_form::<CodeForm>(&body);
    if !form
        .as_ref()
        .is_some_and(|f| csrf::verify(&jar, &state.csrf_key, &f.csrf_token))
    {
        let msg = tr("msg-form-expired");
        return page(
            &state,
            &tenant,
            jar,
            StatusCode::FORBIDDEN,
            &w,
            false,
            Some(msg),
        );
    }
    let Some(email) = w.email() else {
        return page(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            &w,
            false,
            None,
        );
    };
    let svc = &state.services;
    let now = Services::now();
    // Per address, across flows and nodes, like every emailed code.
    let key = throttle_key(&state, &email);
    let current = svc.store.get_throttle(tenant.id, &key).await.ok().flatten();
    if let ThrottleDecision::Wait { retry_after_secs } =
        state.account_throttle.decide(current.as_ref(), now)
    {
        let msg = tr_args(
            "email-msg-too-many-requests",
            &[("seconds", retry_after_secs.into())],
        );
        return page(
            &state,
            &tenant,
            jar,
            StatusCode::TOO_MANY_REQUESTS,
            &w,
            false,
            Some(msg),
        );
    }
    if let Err(e) = svc
        .store
        .record_failure(tenant.id, &key, &state.account_throttle, now)
        .await
    {
        tracing::warn!(error = %e, "the code throttle could not be counted");
    }
    let code = tessera_crypto::otp::new_numeric_code(6);
    let mut payload = w.state.payload.clone().unwrap_or_else(|| json!({}));
    payload["code_hash"] = json!(code_digest(&state, &w, &code));
    payload["sent_at"] = json!(now.unix_timestamp());
    payload["attempts"] = json!(0);
    if let Err(e) = svc
        .store
        .update_federation_payload(tenant.id, w.state.id, &payload)
        .await
    {
        tracing::error!(error = %e, "a proof code could not be stored");
        return page(
            &state,
            &tenant,
            jar,
            StatusCode::SERVICE_UNAVAILABLE,
            &w,
            false,
            Some(tr("msg-unavailable")),
        );
    }
    let ctx = minijinja::context! {
        code => &code,
        link => Option::<String>::None,
        expires_in_minutes => CODE_TTL_SECS / 60,
        second_factor => false,
    };
    if let Err(e) = crate::mail::send_templated_for(
        &state,
        &tenant,
        w.account.as_ref().map(|u| u.id),
        &email,
        "sign_in",
        None,
        ctx,
    )
    .await
    {
        tracing::error!(error = %e, "a proof code could not be queued");
        return page(
            &state,
            &tenant,
            jar,
            StatusCode::SERVICE_UNAVAILABLE,
            &w,
            false,
            Some(tr("msg-unavailable")),
        );
    }
    page(&state, &tenant, jar, StatusCode::OK, &w, true, None)
}

/// `POST …/link/code`: checks the code; the identity is then linked (or the account created)
/// and the sign-in goes on.
pub async fn check_code(
    State(state): State<AppState>,
    Path((slug, alias)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let info = request_info(&peer, &headers);
    let w = match waiting(&state, &tenant, &alias, &jar).await {
        Lookup::Found(w) => w,
        Lookup::Gone(r) => return r,
    };
    let Some(form) = parse_form::<CodeForm>(&body)
        .filter(|f| csrf::verify(&jar, &state.csrf_key, &f.csrf_token))
    else {
        let msg = tr("msg-form-expired");
        return page(
            &state,
            &tenant,
            jar,
            StatusCode::FORBIDDEN,
            &w,
            true,
            Some(msg),
        );
    };
    let svc = &state.services;
    let now = Services::now();
    let (Some(expected), Some(sent_at)) = (w.code_hash(), w.code_sent_at()) else {
        return page(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            &w,
            false,
            None,
        );
    };
    let typed: String = form
        .code
        .chars()
        .filter(char::is_ascii_digit)
        .take(12)
        .collect();
    let matched = ct_eq(
        code_digest(&state, &w, &typed).as_bytes(),
        expected.as_bytes(),
    );
    let expired = now.unix_timestamp() - sent_at >= CODE_TTL_SECS;
    if !matched || expired {
        let attempts = w.attempts() + 1;
        let reason = if expired {
            "code_expired"
        } else {
            "code_wrong"
        };
        let user = w.account.as_ref().map(|u| u.id);
        if attempts >= MAX_ATTEMPTS || expired {
            let _ = svc
                .store
                .delete_federation_state(tenant.id, w.state.id)
                .await;
            return fail(
                &state,
                &tenant,
                &w.provider.alias,
                reason,
                FailureClass::Rejected,
                user,
                &info,
            )
            .await;
        }
        let mut payload = w.state.payload.clone().unwrap_or_else(|| json!({}));
        payload["attempts"] = json!(attempts);
        let _ = svc
            .store
            .update_federation_payload(tenant.id, w.state.id, &payload)
            .await;
        let ev = tessera_core::events::Event::new(
            tenant.id,
            now,
            tessera_core::events::EventKind::FederationFailed {
                provider: w.provider.alias.clone(),
                reason: reason.into(),
            },
            user.map_or_else(
                tessera_core::events::Actor::anonymous,
                tessera_core::events::Actor::user,
            ),
        )
        .failed()
        .ip(info.ip.map(|i| i.to_string()));
        svc.emit(ev).await;
        return page(
            &state,
            &tenant,
            jar,
            StatusCode::UNAUTHORIZED,
            &w,
            true,
            Some(tr("mfa-msg-wrong")),
        );
    }
    // The code proves the mailbox: the proof is spent, whatever happens next.
    if !svc
        .store
        .delete_federation_state(tenant.id, w.state.id)
        .await
        .unwrap_or(false)
    {
        return fail(
            &state,
            &tenant,
            &w.provider.alias,
            "state_unknown",
            FailureClass::Rejected,
            None,
            &info,
        )
        .await;
    }
    if let Some(email) = w.email() {
        let _ = svc
            .store
            .clear_throttle(tenant.id, &throttle_key(&state, &email))
            .await;
    }
    let config = match provider_config(&w.provider) {
        Ok(c) => c,
        Err(_) => {
            return fail(
                &state,
                &tenant,
                &w.provider.alias,
                "provider_misconfigured",
                FailureClass::Upstream,
                None,
                &info,
            )
            .await;
        }
    };
    let methods = vec![AMR_FED.to_string(), tessera_core::mfa::AMR_OTP.to_string()];
    let user = match &w.account {
        Some(account) => {
            if let Err(r) = create_link(
                &state,
                &tenant,
                &w.provider,
                &config,
                &w.identity,
                account.id,
                "email_code",
                &info,
            )
            .await
            {
                return r;
            }
            let mut u = account.clone();
            if !u.email_verified {
                u.email_verified = true;
                if let Err(e) = svc.store.update_user(&u).await {
                    tracing::warn!(error = %e, "could not mark an email verified after a proof code");
                }
            }
            u
        }
        None => match provision_verified(
            &state,
            &tenant,
            &w.provider,
            &config,
            &w.identity,
            true,
            &info,
        )
        .await
        {
            Ok(u) => u,
            Err(r) => return r,
        },
    };
    sign_in(
        &state,
        &tenant,
        jar,
        &user,
        &w.provider.alias,
        w.state.return_to.clone(),
        methods,
        &info,
    )
    .await
}

/// `GET …/link/confirm`: back from signing in to the existing account. The link is recorded
/// when the session is that account's and was signed in after the proof was asked for.
pub async fn confirm(
    State(state): State<AppState>,
    Path((slug, alias)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let info = request_info(&peer, &headers);
    let w = match waiting(&state, &tenant, &alias, &jar).await {
        Lookup::Found(w) => w,
        Lookup::Gone(r) => return r,
    };
    let Some(account) = &w.account else {
        return page(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            &w,
            false,
            None,
        );
    };
    let session = current_session(&state, &tenant, &jar).await;
    let proven = session
        .as_ref()
        .is_some_and(|s| s.user_id == account.id && s.created_at >= w.state.created_at);
    if !proven {
        let msg = if session.is_some_and(|s| s.user_id != account.id) {
            tr("federation-link-other-account")
        } else {
            tr("federation-link-sign-in-first")
        };
        return page(
            &state,
            &tenant,
            jar,
            StatusCode::FORBIDDEN,
            &w,
            false,
            Some(msg),
        );
    }
    if !state
        .services
        .store
        .delete_federation_state(tenant.id, w.state.id)
        .await
        .unwrap_or(false)
    {
        return fail(
            &state,
            &tenant,
            &w.provider.alias,
            "state_unknown",
            FailureClass::Rejected,
            None,
            &info,
        )
        .await;
    }
    let config = match provider_config(&w.provider) {
        Ok(c) => c,
        Err(_) => {
            return fail(
                &state,
                &tenant,
                &w.provider.alias,
                "provider_misconfigured",
                FailureClass::Upstream,
                None,
                &info,
            )
            .await;
        }
    };
    if let Err(r) = create_link(
        &state,
        &tenant,
        &w.provider,
        &config,
        &w.identity,
        account.id,
        "sign_in",
        &info,
    )
    .await
    {
        return r;
    }
    let to = if w.state.return_to.is_empty() {
        format!("{}/account", issuer_path(&tenant.slug))
    } else {
        w.state.return_to.clone()
    };
    see_other(&to)
}
