//! The hosted pages of a sign-in after its first factor, and of passwordless email sign-in:
//!
//! - `{issuer}/login/mfa`: the second factor (authenticator code, security key or passkey,
//!   emailed code, recovery code), with "remember this device";
//! - `{issuer}/login/mfa/enroll`: forced enrolment when the policy requires a factor the user
//!   does not have yet; `{issuer}/login/mfa/recovery-codes` shows the new recovery codes once;
//! - `{issuer}/login/mfa/step-up`: a signed-in user whose application asks for more factors;
//! - `{issuer}/login/email` and `{issuer}/login/email/link`: sign-in with an emailed code or link.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use tessera_core::mfa::{FactorKind, FlowStage, LoginFlow, PendingChallenge, SecondFactor};
use tessera_core::store::{MfaStore, UserStore};
use tessera_core::tenant::Tenant;
use tessera_core::user::{User, normalize_email};

use super::email_code::{self, CodeVerdict, Sent};
use super::flow::{self, FlowError, Outcome, RequestInfo};
use super::{recovery, totp};
use crate::i18n::{tr, tr_args};
use crate::pages::{
    csrf, current_session, issuer_path, load_tenant, parse_form, render, safe_return_to, see_other,
    user_agent,
};
use crate::routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::LOGIN_MFA, get(challenge).post(challenge_submit))
        .route(routes::LOGIN_MFA_ENROLL, get(enroll).post(enroll_submit))
        .route(
            routes::LOGIN_MFA_RECOVERY_CODES,
            get(recovery_codes).post(recovery_codes_continue),
        )
        .route(routes::LOGIN_MFA_STEP_UP, get(step_up))
        .route(routes::LOGIN_EMAIL, get(email_page).post(email_submit))
        .route(routes::LOGIN_EMAIL_LINK, get(link_page).post(link_submit))
}

fn info(peer: &SocketAddr, headers: &HeaderMap) -> RequestInfo {
    RequestInfo {
        ip: Some(peer.ip()),
        user_agent: user_agent(headers).map(str::to_string),
    }
}

fn csrf_token(state: &AppState, tenant: &Tenant, jar: CookieJar) -> (CookieJar, String) {
    csrf::token_for(
        jar,
        &state.csrf_key,
        &issuer_path(&tenant.slug),
        state.services.config.secure_cookies(),
    )
}

/// The page for a browser without a live sign-in: start again.
fn expired(state: &AppState, tenant: &Tenant) -> Response {
    crate::pages::error_page(
        state,
        tenant,
        StatusCode::BAD_REQUEST,
        &tr("flow-expired-heading"),
        &tr("flow-expired-message"),
        Some(format!("{}/login", issuer_path(&tenant.slug))),
    )
}

/// [`outcome`] for a step that may have completed the sign-in: an authorization request waiting
/// for it continues in this response ([`crate::oidc::authorize::after_sign_in`]).
async fn finished(
    result: Result<Outcome, FlowError>,
    state: &AppState,
    tenant: &Tenant,
    ip: Option<std::net::IpAddr>,
) -> Response {
    match result {
        Ok(o) => crate::oidc::authorize::after_sign_in(state, tenant, o, ip).await,
        Err(e) => outcome(Err(e), state, tenant),
    }
}

fn outcome(result: Result<Outcome, FlowError>, state: &AppState, tenant: &Tenant) -> Response {
    match result {
        Ok(o) => (o.jar, see_other(&o.location)).into_response(),
        Err(FlowError::NoFlow) => expired(state, tenant),
        Err(FlowError::EmailUnverified) => crate::pages::error_page(
            state,
            tenant,
            StatusCode::FORBIDDEN,
            &tr("flow-unverified-heading"),
            &tr("flow-unverified-message"),
            Some(format!("{}/login", issuer_path(&tenant.slug))),
        ),
        Err(FlowError::Denied { .. }) => crate::pages::error_page(
            state,
            tenant,
            StatusCode::FORBIDDEN,
            &tr("flow-denied-heading"),
            &tr("msg-policy-denied"),
            None,
        ),
        Err(FlowError::Internal(e)) => {
            tracing::error!(error = %e, "a sign-in step failed");
            crate::pages::error_page(
                state,
                tenant,
                StatusCode::SERVICE_UNAVAILABLE,
                &tr("flow-unavailable-heading"),
                &tr("msg-try-again-later"),
                None,
            )
        }
    }
}

/// The factors a user can answer with at the second-factor page.
struct Options {
    totp: bool,
    webauthn: bool,
    email: bool,
    recovery: bool,
}

async fn options(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    flow: &LoginFlow,
) -> Result<Options, tessera_core::StoreError> {
    let s = &tenant.settings.mfa;
    let factors = state
        .services
        .store
        .list_factors(tenant.id, user.id)
        .await?;
    let has = |k: FactorKind| factors.iter().any(|f| f.kind == k && f.is_confirmed());
    let first_was_email = flow.methods.iter().any(|m| m == tessera_core::mfa::AMR_OTP);
    let only_webauthn = flow.webauthn_only;
    Ok(Options {
        totp: !only_webauthn && s.allows(SecondFactor::Totp) && has(FactorKind::Totp),
        webauthn: s.allows(SecondFactor::Webauthn) && has(FactorKind::Webauthn),
        // A step-up of the risk engine may always use the verified address (see `flow`).
        email: !only_webauthn
            && (s.allows(SecondFactor::EmailCode) || flow.reason.as_deref() == Some("risk"))
            && user.email_verified
            && !first_was_email,
        recovery: !only_webauthn
            && s.allows(SecondFactor::RecoveryCode)
            && state
                .services
                .store
                .count_recovery_codes(tenant.id, user.id)
                .await?
                > 0,
    })
}

/// Loads the flow at `stage` and its user, or answers with the "expired" page.
async fn flow_at(
    state: &AppState,
    tenant: &Tenant,
    jar: &CookieJar,
    stage: FlowStage,
) -> Result<(LoginFlow, User), Response> {
    let Some(flow) = flow::current(state, tenant, jar).await else {
        return Err(expired(state, tenant));
    };
    if flow.stage != stage {
        return Err(expired(state, tenant));
    }
    match flow::flow_user(state, &flow).await {
        Ok(Some(u)) => Ok((flow, u)),
        Ok(None) => Err(expired(state, tenant)),
        Err(e) => Err(outcome(Err(e.into()), state, tenant)),
    }
}

#[allow(clippy::too_many_arguments)]
async fn challenge_page(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    flow: &LoginFlow,
    user: &User,
    status: StatusCode,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    let opts = match options(state, tenant, user, flow).await {
        Ok(o) => o,
        Err(e) => return outcome(Err(e.into()), state, tenant),
    };
    let (jar, csrf_token) = csrf_token(state, tenant, jar);
    let code_sent = matches!(flow.pending, Some(PendingChallenge::EmailCode { .. }));
    let page = render(
        state,
        tenant,
        status,
        "mfa.html",
        minijinja::context! {
            csrf_token,
            error,
            notice,
            totp => opts.totp,
            webauthn => opts.webauthn,
            email => opts.email,
            recovery => opts.recovery,
            code_sent,
            remember_days => tenant.settings.mfa.remember_device_days,
            webauthn_only => flow.webauthn_only,
            step_up => flow.reason.as_deref() == Some("application"),
        },
    );
    (jar, page).into_response()
}

pub async fn challenge(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (flow, user) = match flow_at(&state, &tenant, &jar, FlowStage::SecondFactor).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    challenge_page(
        &state,
        &tenant,
        jar,
        &flow,
        &user,
        StatusCode::OK,
        None,
        None,
    )
    .await
}

#[derive(Deserialize)]
struct ChallengeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    remember_device: Option<String>,
}

pub async fn challenge_submit(
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
    let (mut flow, user) = match flow_at(&state, &tenant, &jar, FlowStage::SecondFactor).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let req = info(&peer, &headers);
    let Some(f) = parse_form::<ChallengeForm>(&body) else {
        return challenge_page(
            &state,
            &tenant,
            jar,
            &flow,
            &user,
            StatusCode::BAD_REQUEST,
            Some(&tr("msg-form-unreadable")),
            None,
        )
        .await;
    };
    if !csrf::verify(&jar, &state.csrf_key, &f.csrf_token) {
        return challenge_page(
            &state,
            &tenant,
            jar,
            &flow,
            &user,
            StatusCode::FORBIDDEN,
            Some(&tr("msg-form-expired")),
            None,
        )
        .await;
    }
    let opts = match options(&state, &tenant, &user, &flow).await {
        Ok(o) => o,
        Err(e) => return outcome(Err(e.into()), &state, &tenant),
    };
    let remember = f.remember_device.is_some();
    if f.method != "send_email" {
        match flow::factor_throttled(&state, &tenant, user.id).await {
            Ok(None) => {}
            Ok(Some(secs)) => {
                let msg = tr_args("mfa-msg-factor-throttled", &[("seconds", secs.into())]);
                let mut r = challenge_page(
                    &state,
                    &tenant,
                    jar,
                    &flow,
                    &user,
                    StatusCode::TOO_MANY_REQUESTS,
                    Some(&msg),
                    None,
                )
                .await;
                if let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string()) {
                    r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
                }
                return r;
            }
            Err(e) => return outcome(Err(e.into()), &state, &tenant),
        }
    }
    let (factor, accepted, why) = match f.method.as_str() {
        "send_email" if opts.email => {
            return match email_code::send(
                &state,
                &tenant,
                &mut flow,
                &user.email,
                Some(&user),
                true,
                false,
            )
            .await
            {
                Ok(Sent::Sent) => {
                    challenge_page(
                        &state,
                        &tenant,
                        jar,
                        &flow,
                        &user,
                        StatusCode::OK,
                        None,
                        Some(&tr("mfa-msg-code-sent")),
                    )
                    .await
                }
                Ok(Sent::TooSoon { retry_after_secs }) => {
                    let msg = tr_args(
                        "mfa-msg-code-too-soon",
                        &[("seconds", retry_after_secs.into())],
                    );
                    challenge_page(
                        &state,
                        &tenant,
                        jar,
                        &flow,
                        &user,
                        StatusCode::TOO_MANY_REQUESTS,
                        Some(&msg),
                        None,
                    )
                    .await
                }
                Err(e) => outcome(Err(e.into()), &state, &tenant),
            };
        }
        "totp" if opts.totp => match totp::verify(&state, &tenant, &user, &f.code).await {
            Ok(totp::Verdict::Accepted) => (SecondFactor::Totp, true, ""),
            Ok(totp::Verdict::Replayed) => (SecondFactor::Totp, false, "replayed"),
            Ok(totp::Verdict::Wrong) => (SecondFactor::Totp, false, "wrong_code"),
            Err(e) => return outcome(Err(e.into()), &state, &tenant),
        },
        "recovery_code" if opts.recovery => {
            match recovery::use_code(&state, &tenant, &user, &f.code).await {
                Ok(true) => (SecondFactor::RecoveryCode, true, ""),
                Ok(false) => (SecondFactor::RecoveryCode, false, "wrong_code"),
                Err(e) => return outcome(Err(e.into()), &state, &tenant),
            }
        }
        "email_code" if opts.email => match email_code::check_code(&state, &flow, &f.code) {
            CodeVerdict::Accepted => (SecondFactor::EmailCode, true, ""),
            CodeVerdict::Expired => (SecondFactor::EmailCode, false, "expired"),
            CodeVerdict::NotAsked => (SecondFactor::EmailCode, false, "not_sent"),
            CodeVerdict::Wrong => (SecondFactor::EmailCode, false, "wrong_code"),
        },
        _ => {
            return challenge_page(
                &state,
                &tenant,
                jar,
                &flow,
                &user,
                StatusCode::BAD_REQUEST,
                Some(&tr("mfa-msg-choose")),
                None,
            )
            .await;
        }
    };
    if accepted {
        if factor == SecondFactor::EmailCode {
            let _ = email_code::clear_throttle(&state, &tenant, &user.email).await;
        }
        flow.pending = None;
        flow.link_hash = None;
        let result = flow::second_factor_passed(
            &state,
            &tenant,
            jar,
            flow,
            &user,
            factor,
            &[tessera_core::mfa::AMR_OTP],
            remember,
            &req,
        )
        .await;
        return finished(result, &state, &tenant, req.ip).await;
    }
    let exhausted = match flow::wrong_answer(&state, &tenant, &flow, factor, why, &req).await {
        Ok(x) => x,
        Err(e) => return outcome(Err(e.into()), &state, &tenant),
    };
    if exhausted {
        return crate::pages::error_page(
            &state,
            &tenant,
            StatusCode::TOO_MANY_REQUESTS,
            &tr("mfa-msg-too-many-heading"),
            &tr("mfa-msg-too-many"),
            Some(format!("{}/login", issuer_path(&tenant.slug))),
        );
    }
    let msg = tr(match why {
        "replayed" => "mfa-msg-replayed",
        "expired" => "mfa-msg-expired",
        "not_sent" => "mfa-msg-not-sent",
        _ => "mfa-msg-wrong",
    });
    flow.attempts += 1;
    challenge_page(
        &state,
        &tenant,
        jar,
        &flow,
        &user,
        StatusCode::UNAUTHORIZED,
        Some(&msg),
        None,
    )
    .await
}

/// After a factor was enrolled during sign-in: it counts as the second factor; new recovery
/// codes are shown once before the session starts (when the tenant allows them).
pub async fn after_enrollment(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    mut flow: LoginFlow,
    user: &User,
    factor: SecondFactor,
    amr: &[&str],
) -> Result<Outcome, FlowError> {
    flow.methods = tessera_core::mfa::merge_amr(&flow.methods, amr);
    let ev = tessera_core::events::Event::new(
        tenant.id,
        crate::app::Services::now(),
        tessera_core::events::EventKind::MfaVerified {
            factor: factor.as_str().into(),
        },
        tessera_core::events::Actor::user(user.id),
    )
    .subject(user.id)
    .target(tessera_core::events::Target::new("user", user.id));
    state.services.emit(ev).await;
    if tenant.settings.mfa.allows(SecondFactor::RecoveryCode) {
        let codes = recovery::generate(state, tenant, user).await?;
        flow.pending = Some(PendingChallenge::ShowRecoveryCodes { codes });
        state.services.store.update_login_flow(&flow).await?;
        return Ok(Outcome::to(
            jar,
            format!("{}/login/mfa/recovery-codes", issuer_path(&tenant.slug)),
        ));
    }
    let info = RequestInfo::default();
    flow::complete(state, tenant, jar, flow, user, "enrollment", &info).await
}

async fn enroll_page(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    user: &User,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let s = &tenant.settings.mfa;
    let totp_allowed = s.allows(SecondFactor::Totp);
    let enrollment = if totp_allowed {
        match totp::pending_factor(state, tenant, user).await {
            Ok(f) => Some(totp::enrollment(tenant, user, &f)),
            Err(e) => return outcome(Err(e.into()), state, tenant),
        }
    } else {
        None
    };
    let (jar, csrf_token) = csrf_token(state, tenant, jar);
    let page = render(
        state,
        tenant,
        status,
        "mfa_enroll.html",
        minijinja::context! {
            csrf_token,
            error,
            totp => enrollment.as_ref().map(|e| minijinja::context! {
                factor_id => e.factor_id.to_string(),
                uri => &e.uri,
                qr_svg => minijinja::Value::from_safe_string(e.qr_svg.clone()),
                secret => &e.secret_display,
            }),
            webauthn => s.allows(SecondFactor::Webauthn),
        },
    );
    (jar, page).into_response()
}

pub async fn enroll(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (_, user) = match flow_at(&state, &tenant, &jar, FlowStage::Enroll).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    enroll_page(&state, &tenant, jar, &user, StatusCode::OK, None).await
}

#[derive(Deserialize)]
struct EnrollForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    factor_id: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
}

pub async fn enroll_submit(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (flow, user) = match flow_at(&state, &tenant, &jar, FlowStage::Enroll).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(f) = parse_form::<EnrollForm>(&body) else {
        return enroll_page(
            &state,
            &tenant,
            jar,
            &user,
            StatusCode::BAD_REQUEST,
            Some(&tr("msg-form-unreadable")),
        )
        .await;
    };
    if !csrf::verify(&jar, &state.csrf_key, &f.csrf_token) {
        return enroll_page(
            &state,
            &tenant,
            jar,
            &user,
            StatusCode::FORBIDDEN,
            Some(&tr("msg-form-expired")),
        )
        .await;
    }
    let Some(factor_id) = tessera_core::FactorId::parse(&f.factor_id) else {
        return enroll_page(
            &state,
            &tenant,
            jar,
            &user,
            StatusCode::BAD_REQUEST,
            Some(&tr("msg-form-unreadable")),
        )
        .await;
    };
    if !tenant.settings.mfa.allows(SecondFactor::Totp) {
        return enroll_page(
            &state,
            &tenant,
            jar,
            &user,
            StatusCode::BAD_REQUEST,
            Some(&tr("mfa-msg-totp-not-offered")),
        )
        .await;
    }
    match totp::confirm(&state, &tenant, &user, factor_id, &f.code, &f.name).await {
        Ok(true) => {
            let r = after_enrollment(
                &state,
                &tenant,
                jar,
                flow,
                &user,
                SecondFactor::Totp,
                &[tessera_core::mfa::AMR_OTP],
            )
            .await;
            outcome(r, &state, &tenant)
        }
        Ok(false) => {
            let req = RequestInfo::default();
            if let Ok(true) = flow::wrong_answer(
                &state,
                &tenant,
                &flow,
                SecondFactor::Totp,
                "wrong_code",
                &req,
            )
            .await
            {
                return expired(&state, &tenant);
            }
            enroll_page(
                &state,
                &tenant,
                jar,
                &user,
                StatusCode::UNAUTHORIZED,
                Some(&tr("mfa-msg-wrong-totp")),
            )
            .await
        }
        Err(e) => outcome(Err(e.into()), &state, &tenant),
    }
}

pub async fn recovery_codes(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (flow, _) = match flow_at(&state, &tenant, &jar, FlowStage::Enroll).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(PendingChallenge::ShowRecoveryCodes { codes }) = &flow.pending else {
        return expired(&state, &tenant);
    };
    let (jar, csrf_token) = csrf_token(&state, &tenant, jar);
    let page = render(
        &state,
        &tenant,
        StatusCode::OK,
        "mfa_recovery_codes.html",
        minijinja::context! { csrf_token, codes, action => format!("{}/login/mfa/recovery-codes", issuer_path(&tenant.slug)) },
    );
    (jar, page).into_response()
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf_token: String,
}

pub async fn recovery_codes_continue(
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
    let (flow, user) = match flow_at(&state, &tenant, &jar, FlowStage::Enroll).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let ok = parse_form::<CsrfOnly>(&body)
        .is_some_and(|f| csrf::verify(&jar, &state.csrf_key, &f.csrf_token));
    if !ok {
        return crate::pages::error_page(
            &state,
            &tenant,
            StatusCode::FORBIDDEN,
            &tr("mfa-msg-form-expired-heading"),
            &tr("mfa-msg-go-back"),
            Some(format!(
                "{}/login/mfa/recovery-codes",
                issuer_path(&tenant.slug)
            )),
        );
    }
    if !matches!(
        flow.pending,
        Some(PendingChallenge::ShowRecoveryCodes { .. })
    ) || !tessera_core::mfa::is_multi_factor(&flow.methods)
    {
        return expired(&state, &tenant);
    }
    let req = info(&peer, &headers);
    let r = flow::complete(&state, &tenant, jar, flow, &user, "enrollment", &req).await;
    finished(r, &state, &tenant, req.ip).await
}

#[derive(Deserialize, Default)]
struct StepUpQuery {
    #[serde(default)]
    return_to: Option<String>,
    #[serde(default)]
    webauthn: Option<String>,
}

/// A signed-in user whose application asks for a second factor (or a phishing-resistant one).
pub async fn step_up(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let q: StepUpQuery = query
        .and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default();
    let return_to = q
        .return_to
        .as_deref()
        .and_then(|r| safe_return_to(&state.services.config.public_url, r))
        .unwrap_or_default();
    let Some(session) = current_session(&state, &tenant, &jar).await else {
        let mut login = url::form_urlencoded::Serializer::new(String::new());
        login.append_pair("return_to", &return_to);
        return see_other(&format!(
            "{}/login?{}",
            issuer_path(&tenant.slug),
            login.finish()
        ));
    };
    let user = match state
        .services
        .store
        .get_user(tenant.id, session.user_id)
        .await
    {
        Ok(Some(u)) if u.can_sign_in() => u,
        Ok(_) => return expired(&state, &tenant),
        Err(e) => return outcome(Err(e.into()), &state, &tenant),
    };
    let r = flow::start_step_up(
        &state,
        &tenant,
        jar,
        &user,
        session.auth_methods.clone(),
        q.webauthn.is_some(),
        return_to,
    )
    .await;
    outcome(r, &state, &tenant)
}

// --- passwordless: emailed code or link ------------------------------------------------------

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    return_to: String,
    /// "send" (ask for a code), "verify" (answer with the code).
    #[serde(default)]
    action: String,
    #[serde(default)]
    code: String,
}

fn email_sign_in_enabled(tenant: &Tenant) -> bool {
    tenant.settings.mfa.email_code_sign_in || tenant.settings.mfa.magic_link_sign_in
}

#[allow(clippy::too_many_arguments)]
fn email_code_page(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    status: StatusCode,
    email: &str,
    sent: bool,
    error: Option<&str>,
    return_to: &str,
) -> Response {
    let (jar, csrf_token) = csrf_token(state, tenant, jar);
    let page = render(
        state,
        tenant,
        status,
        "email_code.html",
        minijinja::context! {
            csrf_token, email, sent, error, return_to,
            with_code => tenant.settings.mfa.email_code_sign_in,
            with_link => tenant.settings.mfa.magic_link_sign_in,
        },
    );
    (jar, page).into_response()
}

pub async fn email_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    if !email_sign_in_enabled(&tenant) {
        return crate::pages::error_page(
            &state,
            &tenant,
            StatusCode::NOT_FOUND,
            &tr("msg-not-available"),
            &tr("email-msg-not-offered"),
            Some(format!("{}/login", issuer_path(&tenant.slug))),
        );
    }
    #[derive(Deserialize, Default)]
    struct Q {
        #[serde(default)]
        return_to: Option<String>,
    }
    let q: Q = query
        .and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default();
    let return_to = q
        .return_to
        .as_deref()
        .and_then(|r| safe_return_to(&state.services.config.public_url, r))
        .unwrap_or_default();
    email_code_page(
        &state,
        &tenant,
        jar,
        StatusCode::OK,
        "",
        false,
        None,
        &return_to,
    )
}

pub async fn email_submit(
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
    if !email_sign_in_enabled(&tenant) {
        return crate::pages::error_page(
            &state,
            &tenant,
            StatusCode::NOT_FOUND,
            &tr("msg-not-available"),
            &tr("email-msg-not-offered"),
            Some(format!("{}/login", issuer_path(&tenant.slug))),
        );
    }
    let Some(f) = parse_form::<EmailForm>(&body) else {
        return email_code_page(
            &state,
            &tenant,
            jar,
            StatusCode::BAD_REQUEST,
            "",
            false,
            Some(&tr("msg-form-unreadable")),
            "",
        );
    };
    let return_to =
        safe_return_to(&state.services.config.public_url, &f.return_to).unwrap_or_default();
    let email = f.email.trim().chars().take(254).collect::<String>();
    if !csrf::verify(&jar, &state.csrf_key, &f.csrf_token) {
        return email_code_page(
            &state,
            &tenant,
            jar,
            StatusCode::FORBIDDEN,
            &email,
            false,
            Some(&tr("msg-form-expired")),
            &return_to,
        );
    }
    let req = info(&peer, &headers);
    match f.action.as_str() {
        "verify" => {
            let Some(mut flow) = flow::current(&state, &tenant, &jar).await else {
                return expired(&state, &tenant);
            };
            if flow.stage != FlowStage::FirstFactor {
                return expired(&state, &tenant);
            }
            match email_code::check_code(&state, &flow, &f.code) {
                CodeVerdict::Accepted => {
                    let user = match flow::flow_user(&state, &flow).await {
                        Ok(Some(u)) => u,
                        Ok(None) => return expired(&state, &tenant),
                        Err(e) => return outcome(Err(e.into()), &state, &tenant),
                    };
                    email_passed(&state, &tenant, jar, &mut flow, user, &req).await
                }
                verdict => {
                    let why = match verdict {
                        CodeVerdict::Expired => "expired",
                        CodeVerdict::NotAsked => "not_sent",
                        _ => "wrong_code",
                    };
                    let exhausted = match flow::wrong_answer(
                        &state,
                        &tenant,
                        &flow,
                        SecondFactor::EmailCode,
                        why,
                        &req,
                    )
                    .await
                    {
                        Ok(x) => x,
                        Err(e) => return outcome(Err(e.into()), &state, &tenant),
                    };
                    let msg = tr(if exhausted {
                        "email-msg-too-many"
                    } else if why == "expired" {
                        "mfa-msg-expired"
                    } else {
                        "mfa-msg-wrong"
                    });
                    email_code_page(
                        &state,
                        &tenant,
                        jar,
                        StatusCode::UNAUTHORIZED,
                        &email,
                        !exhausted,
                        Some(&msg),
                        &flow.return_to,
                    )
                }
            }
        }
        _ => {
            let normalized = normalize_email(&email);
            if normalized.is_empty() || normalized.len() > 254 || !normalized.contains('@') {
                return email_code_page(
                    &state,
                    &tenant,
                    jar,
                    StatusCode::BAD_REQUEST,
                    &email,
                    false,
                    Some(&tr("email-msg-enter-email")),
                    &return_to,
                );
            }
            let user = match state
                .services
                .store
                .find_user_by_email(tenant.id, &normalized)
                .await
            {
                Ok(u) => u.filter(User::can_sign_in),
                Err(e) => return outcome(Err(e.into()), &state, &tenant),
            };
            // A new flow (and cookie) for every request, so an older code stops working.
            let (jar, mut flow) = match flow::start(&state, &tenant, jar, return_to.clone()).await {
                Ok(x) => x,
                Err(e) => return outcome(Err(e.into()), &state, &tenant),
            };
            flow.user_id = user.as_ref().map(|u| u.id);
            let with_link = tenant.settings.mfa.magic_link_sign_in;
            match email_code::send(
                &state,
                &tenant,
                &mut flow,
                &normalized,
                user.as_ref(),
                false,
                with_link,
            )
            .await
            {
                Ok(Sent::Sent) => email_code_page(
                    &state,
                    &tenant,
                    jar,
                    StatusCode::OK,
                    &email,
                    true,
                    None,
                    &return_to,
                ),
                Ok(Sent::TooSoon { retry_after_secs }) => {
                    let msg = tr_args(
                        "email-msg-too-many-requests",
                        &[("seconds", retry_after_secs.into())],
                    );
                    email_code_page(
                        &state,
                        &tenant,
                        jar,
                        StatusCode::TOO_MANY_REQUESTS,
                        &email,
                        false,
                        Some(&msg),
                        &return_to,
                    )
                }
                Err(e) => outcome(Err(e.into()), &state, &tenant),
            }
        }
    }
}

/// An emailed code or link proved the address: the first factor of a passwordless sign-in.
async fn email_passed(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    flow: &mut LoginFlow,
    user: User,
    req: &RequestInfo,
) -> Response {
    let _ = email_code::clear_throttle(state, tenant, &user.email).await;
    // The code proved the address: mark it verified if it was not.
    if !user.email_verified {
        let mut verified = user.clone();
        verified.email_verified = true;
        if let Err(e) = state.services.store.update_user(&verified).await {
            tracing::warn!(error = %e, "could not mark an email verified after an emailed sign-in code");
        }
    }
    flow.pending = None;
    flow.link_hash = None;
    let return_to = flow.return_to.clone();
    let r = flow::after_first_factor(
        state,
        tenant,
        jar,
        Some(flow.clone()),
        &user,
        vec![tessera_core::mfa::AMR_OTP.to_string()],
        "email",
        return_to,
        req,
    )
    .await;
    finished(r, state, tenant, req.ip).await
}

#[derive(Deserialize, Default)]
struct LinkQuery {
    #[serde(default)]
    token: String,
}

fn link_hash(token: &str) -> Option<String> {
    (!token.is_empty() && token.len() <= 128).then(|| tessera_crypto::sha256_hex(token.as_bytes()))
}

/// Shows a button rather than signing in on GET: mail scanners open links too.
pub async fn link_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
    jar: CookieJar,
) -> Response {
    let tenant = match load_tenant(&state, &slug).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let q: LinkQuery = query
        .and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default();
    let (jar, csrf_token) = csrf_token(&state, &tenant, jar);
    let page = render(
        &state,
        &tenant,
        StatusCode::OK,
        "email_link.html",
        minijinja::context! { csrf_token, token => q.token },
    );
    (jar, page).into_response()
}

#[derive(Deserialize)]
struct LinkForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    token: String,
}

pub async fn link_submit(
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
    let invalid = |state: &AppState, tenant: &Tenant, msg: &str| {
        crate::pages::error_page(
            state,
            tenant,
            StatusCode::BAD_REQUEST,
            &tr("link-msg-heading"),
            msg,
            Some(format!("{}/login", issuer_path(&tenant.slug))),
        )
    };
    let Some(f) = parse_form::<LinkForm>(&body) else {
        return invalid(&state, &tenant, &tr("msg-form-unreadable-short"));
    };
    if !csrf::verify(&jar, &state.csrf_key, &f.csrf_token) {
        return invalid(&state, &tenant, &tr("link-msg-form-expired"));
    }
    if !tenant.settings.mfa.magic_link_sign_in {
        return invalid(&state, &tenant, &tr("link-msg-not-offered"));
    }
    let Some(hash) = link_hash(&f.token) else {
        return invalid(&state, &tenant, &tr("link-msg-incomplete"));
    };
    let mut flow = match state
        .services
        .store
        .find_login_flow_by_link(tenant.id, &hash)
        .await
    {
        Ok(Some(f))
            if f.stage == FlowStage::FirstFactor && f.is_live(crate::app::Services::now()) =>
        {
            f
        }
        Ok(_) => {
            return invalid(&state, &tenant, &tr("link-msg-used"));
        }
        Err(e) => return outcome(Err(e.into()), &state, &tenant),
    };
    if !flow::is_bound_to(&jar, &flow) {
        return invalid(&state, &tenant, &tr("link-msg-other-browser"));
    }
    if !email_code::link_live(&flow) {
        return invalid(&state, &tenant, &tr("link-msg-used"));
    }
    let user = match flow::flow_user(&state, &flow).await {
        Ok(Some(u)) => u,
        Ok(None) => return invalid(&state, &tenant, &tr("link-msg-used-short")),
        Err(e) => return outcome(Err(e.into()), &state, &tenant),
    };
    let req = info(&peer, &headers);
    email_passed(&state, &tenant, jar, &mut flow, user, &req).await
}
