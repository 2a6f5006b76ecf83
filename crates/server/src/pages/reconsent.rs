//! `{issuer}/login/policy-update`: the re-consent page. When a material new version of a policy
//! document a person accepted is in force (past its grace period), their next sign-in stops here
//! after every factor has passed and before the session starts ([`hold`], called from
//! `crate::mfa::flow::complete`). Accepting records a consent with the new version (channel
//! `reconsent`) and the sign-in continues to the application; declining ends the sign-in without
//! a session.
//!
//! The page belongs to the sign-in in progress (the `tessera_login` cookie) and only to one at
//! the `reconsent` stage, so it cannot skip a factor. Its form carries the CSRF token.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use tessera_core::StoreError;
use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::mfa::{FlowStage, LoginFlow};
use tessera_core::privacy::{ConsentChannel, ConsentState, PrivacyStore, ReconsentDue};
use tessera_core::store::{MfaStore, UserStore};
use tessera_core::tenant::Tenant;
use tessera_core::user::User;

use super::{csrf, error_page, issuer_path, load_tenant, render, user_agent};
use crate::app::Services;
use crate::i18n::tr;
use crate::mfa::flow::{self, FlowError, RequestInfo};
use crate::privacy::{NewConsent, reconsent_needed, record_consent};
use crate::state::AppState;

/// Where the re-consent page lives, under the issuer.
pub fn location(tenant: &Tenant) -> String {
    format!("{}/login/policy-update", issuer_path(&tenant.slug))
}

/// The privacy hook of a sign-in that is about to get its session: when the person must accept
/// a new policy version first, moves the flow to the `reconsent` stage (remembering the sign-in
/// method for the event the session start records) and answers where the browser goes. A flow
/// not `stored` yet is stored now.
pub async fn hold(
    state: &AppState,
    tenant: &Tenant,
    flow: &mut LoginFlow,
    user: &User,
    method_label: &str,
    stored: bool,
) -> Result<Option<String>, StoreError> {
    if reconsent_needed(state, tenant, user.id).await?.is_empty() {
        return Ok(None);
    }
    flow.stage = FlowStage::Reconsent;
    flow.reason = Some(method_label.chars().take(64).collect());
    flow.expires_at =
        Services::now() + time::Duration::seconds(tessera_core::mfa::LOGIN_FLOW_TTL_SECS);
    if stored {
        state.services.store.update_login_flow(flow).await?;
    } else {
        state.services.store.create_login_flow(flow).await?;
    }
    Ok(Some(location(tenant)))
}

/// The flow of this browser at the re-consent stage, with its user.
async fn flow_and_user(
    state: &AppState,
    tenant: &Tenant,
    jar: &CookieJar,
) -> Option<(LoginFlow, User)> {
    let f = flow::current(state, tenant, jar)
        .await
        .filter(|f| f.stage == FlowStage::Reconsent)?;
    let user = match state.services.store.get_user(tenant.id, f.user_id?).await {
        Ok(Some(u)) if u.can_sign_in() => u,
        Ok(_) => return None,
        Err(e) => {
            tracing::error!(error = %e, "user lookup failed");
            return None;
        }
    };
    Some((f, user))
}

fn no_flow(state: &AppState, tenant: &Tenant) -> Response {
    error_page(
        state,
        tenant,
        StatusCode::BAD_REQUEST,
        &tr("reconsent-expired-heading"),
        &tr("reconsent-expired-text"),
        Some(format!("{}/login", issuer_path(&tenant.slug))),
    )
}

fn page(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    status: StatusCode,
    due: &[ReconsentDue],
    error: Option<String>,
) -> Response {
    let base = issuer_path(&tenant.slug);
    let (jar, csrf_token) = csrf::token_for(
        jar,
        &state.csrf_key,
        &base,
        state.services.config.secure_cookies(),
    );
    let documents: Vec<minijinja::Value> = due
        .iter()
        .map(|d| {
            minijinja::context! {
                kind => d.document.kind.clone(),
                version => d.document.version.clone(),
                url => d.document.url.clone(),
                accepted_version => d.accepted_version.clone(),
                purpose => d.purpose.clone(),
            }
        })
        .collect();
    let html = render(
        state,
        tenant,
        status,
        "reconsent.html",
        minijinja::context! {
            csrf_token,
            documents,
            error,
            action => location(tenant),
        },
    );
    (jar, html).into_response()
}

/// `GET {issuer}/login/policy-update`.
pub async fn show(
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
    let Some((f, user)) = flow_and_user(&state, &tenant, &jar).await else {
        return no_flow(&state, &tenant);
    };
    let due = match reconsent_needed(&state, &tenant, user.id).await {
        Ok(d) => d,
        Err(e) => return unavailable(&state, &tenant, e),
    };
    if due.is_empty() {
        // Accepted meanwhile (another tab): nothing left to ask.
        let info = RequestInfo {
            ip: Some(peer.ip()),
            user_agent: user_agent(&headers).map(str::to_string),
        };
        return finish(&state, &tenant, jar, f, &user, &info).await;
    }
    page(&state, &tenant, jar, StatusCode::OK, &due, None)
}

#[derive(Default, Deserialize)]
pub struct Decision {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    decision: String,
}

/// `POST {issuer}/login/policy-update`: `decision=accept` or `decision=decline`.
pub async fn submit(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let d: Decision = super::parse_form(&body).unwrap_or_default();
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Some((f, user)) = flow_and_user(&state, &tenant, &jar).await else {
        return no_flow(&state, &tenant);
    };
    let due = match reconsent_needed(&state, &tenant, user.id).await {
        Ok(d) => d,
        Err(e) => return unavailable(&state, &tenant, e),
    };
    if !csrf::verify(&jar, &state.csrf_key, &d.csrf_token) {
        return page(
            &state,
            &tenant,
            jar,
            StatusCode::FORBIDDEN,
            &due,
            Some(tr("login-error-form-expired")),
        );
    }
    let info = RequestInfo {
        ip: Some(peer.ip()),
        user_agent: user_agent(&headers).map(str::to_string),
    };
    match d.decision.as_str() {
        "accept" => {
            for item in &due {
                let purpose = match state
                    .services
                    .store
                    .get_purpose(tenant.id, &item.purpose)
                    .await
                {
                    Ok(Some(p)) => p,
                    Ok(None) => continue,
                    Err(e) => return unavailable(&state, &tenant, e),
                };
                if let Err(e) = record_consent(
                    &state,
                    &tenant,
                    NewConsent {
                        user: user.id,
                        purpose: &purpose,
                        state: ConsentState::Granted,
                        channel: ConsentChannel::Reconsent,
                        policy_version: Some(item.document.version.clone()),
                        actor: Actor::user(user.id),
                        ip: info.ip,
                        user_agent: info.user_agent.as_deref(),
                    },
                )
                .await
                {
                    tracing::error!(error = %e, "recording a re-consent failed");
                    return error_page(
                        &state,
                        &tenant,
                        StatusCode::SERVICE_UNAVAILABLE,
                        &tr("msg-unavailable"),
                        &tr("login-error-unavailable"),
                        Some(location(&tenant)),
                    );
                }
            }
            finish(&state, &tenant, jar, f, &user, &info).await
        }
        "decline" => {
            if let Err(e) = state
                .services
                .store
                .delete_login_flow(tenant.id, f.id)
                .await
            {
                return unavailable(&state, &tenant, e);
            }
            let ev = Event::new(
                tenant.id,
                Services::now(),
                EventKind::PrivacyReconsentDeclined {
                    purposes: due.iter().map(|d| d.purpose.clone()).collect(),
                },
                Actor::user(user.id),
            )
            .target(Target::new("user", user.id))
            .subject(user.id)
            .ip(info.ip.map(|i| i.to_string()))
            .user_agent(info.user_agent.clone());
            state.services.emit(ev).await;
            let html = render(
                &state,
                &tenant,
                StatusCode::OK,
                "reconsent.html",
                minijinja::context! {
                    declined => true,
                    login_link => format!("{}/login", issuer_path(&tenant.slug)),
                },
            );
            (jar, html).into_response()
        }
        _ => page(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            &due,
            Some(tr("reconsent-choose")),
        ),
    }
}

/// Continues the sign-in: the session starts and the browser goes where the flow leads.
async fn finish(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    f: LoginFlow,
    user: &User,
    info: &RequestInfo,
) -> Response {
    let label = f.reason.clone().unwrap_or_else(|| "password".into());
    match flow::complete(state, tenant, jar, f, user, &label, info).await {
        Ok(o) => crate::oidc::authorize::after_sign_in(state, tenant, o, info.ip).await,
        Err(FlowError::NoFlow) => no_flow(state, tenant),
        Err(FlowError::Denied { .. }) => error_page(
            state,
            tenant,
            StatusCode::FORBIDDEN,
            &tr("msg-unavailable"),
            &tr("msg-policy-denied"),
            None,
        ),
        Err(e) => {
            tracing::error!(error = ?e, "completing a sign-in after re-consent failed");
            error_page(
                state,
                tenant,
                StatusCode::SERVICE_UNAVAILABLE,
                &tr("msg-unavailable"),
                &tr("login-error-unavailable"),
                None,
            )
        }
    }
}

fn unavailable(state: &AppState, tenant: &Tenant, e: StoreError) -> Response {
    tracing::error!(error = %e, "the re-consent page failed");
    error_page(
        state,
        tenant,
        StatusCode::SERVICE_UNAVAILABLE,
        &tr("msg-unavailable"),
        &tr("login-error-unavailable"),
        None,
    )
}
