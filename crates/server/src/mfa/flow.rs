//! A sign-in in progress, from its first factor to its session.
//!
//! Every first factor (password, passkey, emailed code or link) ends in [`after_first_factor`],
//! which applies the access policies and the tenant's MFA policy and either starts the session
//! at once or moves the flow to its second-factor (or enrolment) stage. Every second factor ends
//! in [`second_factor_passed`]. [`complete`] is the one place a session is created for a flow.
//!
//! The flow is bound to the browser by the `tessera_login` cookie (only its digest is stored), so
//! a code or link only works in the browser that asked for it.

use std::net::IpAddr;

use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use tessera_core::authz::{AccessContext, PolicyDecision};
use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::mfa::{
    FlowStage, LoginFlow, MfaFacts, MfaReason, SecondFactor, SecondFactorRequirement,
};
use tessera_core::session::Session;
use tessera_core::store::{MfaStore, SessionStore, ThrottleStore, UserStore};
use tessera_core::tenant::Tenant;
use tessera_core::user::User;
use tessera_core::{Secret, StoreError};
use tessera_crypto::{random_token, sha256_hex};

use crate::app::Services;
use crate::pages::{current_session, issuer_path, session_cookie};
use crate::signin::{SignInError, start_session};
use crate::state::AppState;

/// The policy name of refusals by the risk engine (in `access.denied` events and errors).
pub const RISK_POLICY: &str = "risk";
/// The policy name of a sign-in refused because the account waits for a parental consent.
pub const PARENTAL_CONSENT_POLICY: &str = "parental_consent";

/// The cookie that binds a sign-in in progress to its browser.
pub const FLOW_COOKIE: &str = "tessera_login";

/// The request facts a decision needs.
#[derive(Clone, Debug, Default)]
pub struct RequestInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

/// Where the browser goes next, with the cookies to set.
pub struct Outcome {
    pub jar: CookieJar,
    pub location: String,
    /// The session this step started and its account, when the sign-in completed here; the
    /// authorization request the sign-in was for can then continue in the same response
    /// ([`crate::oidc::authorize::after_sign_in`]).
    pub signed_in: Option<Box<NewSession>>,
}

impl Outcome {
    /// A step that sends the browser on without starting a session.
    pub fn to(jar: CookieJar, location: String) -> Outcome {
        Outcome {
            jar,
            location,
            signed_in: None,
        }
    }
}

/// A session just started, with the account it belongs to as the sign-in read it.
pub struct NewSession {
    pub session: Session,
    pub user: User,
}

/// Why a flow step failed, in words for the page.
#[derive(Debug)]
pub enum FlowError {
    /// No live flow in this browser (expired, finished, or never started).
    NoFlow,
    /// A conditional access policy refuses the sign-in.
    Denied {
        policy: String,
    },
    /// The tenant requires a verified email before sign-in, and this account's is not (after its
    /// grace period).
    EmailUnverified,
    Internal(String),
}

impl From<StoreError> for FlowError {
    fn from(e: StoreError) -> Self {
        FlowError::Internal(e.to_string())
    }
}

impl From<SignInError> for FlowError {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::PolicyDenied { policy, .. } => FlowError::Denied { policy },
            other => FlowError::Internal(format!("{other:?}")),
        }
    }
}

fn flow_cookie(state: &AppState, tenant: &Tenant, value: String) -> Cookie<'static> {
    Cookie::build((FLOW_COOKIE, value))
        .path(issuer_path(&tenant.slug))
        .http_only(true)
        .secure(state.services.config.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(
            tessera_core::mfa::LOGIN_FLOW_TTL_SECS,
        ))
        .build()
}

fn flow_removal(tenant: &Tenant) -> Cookie<'static> {
    Cookie::build((FLOW_COOKIE, ""))
        .path(issuer_path(&tenant.slug))
        .build()
}

/// Starts a new flow in this browser (a new cookie, so an old flow's code cannot be reused).
pub async fn start(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    return_to: String,
) -> Result<(CookieJar, LoginFlow), StoreError> {
    let (token, flow) = unsaved(tenant, return_to);
    state.services.store.create_login_flow(&flow).await?;
    Ok((jar.add(flow_cookie(state, tenant, token)), flow))
}

/// A new flow and the cookie value it is bound to, not stored yet.
fn unsaved(tenant: &Tenant, return_to: String) -> (String, LoginFlow) {
    let token = random_token(32);
    let flow = LoginFlow::new(
        tenant.id,
        sha256_hex(token.as_bytes()),
        return_to,
        Services::now(),
    );
    (token, flow)
}

/// The live flow of this browser, if any.
pub async fn current(state: &AppState, tenant: &Tenant, jar: &CookieJar) -> Option<LoginFlow> {
    let token = jar.get(FLOW_COOKIE)?.value();
    if token.is_empty() || token.len() > 128 {
        return None;
    }
    let flow = match state
        .services
        .store
        .find_login_flow(tenant.id, &sha256_hex(token.as_bytes()))
        .await
    {
        Ok(f) => f?,
        Err(e) => {
            tracing::error!(error = %e, "sign-in flow lookup failed");
            return None;
        }
    };
    (flow.stage != FlowStage::Account && flow.is_live(Services::now())).then_some(flow)
}

/// Whether this browser's flow cookie is the one `flow` is bound to.
pub fn is_bound_to(jar: &CookieJar, flow: &LoginFlow) -> bool {
    jar.get(FLOW_COOKIE).is_some_and(|c| {
        tessera_crypto::ct_eq(
            sha256_hex(c.value().as_bytes()).as_bytes(),
            flow.binding_hash.as_bytes(),
        )
    })
}

fn default_target(tenant: &Tenant, flow: &LoginFlow) -> String {
    if flow.return_to.is_empty() {
        format!("{}/account", issuer_path(&tenant.slug))
    } else {
        flow.return_to.clone()
    }
}

/// The facts of the MFA policy for a user who passed `methods` as first factor.
pub async fn mfa_facts(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    methods: &[String],
    jar: &CookieJar,
) -> Result<MfaFacts, StoreError> {
    let settings = &tenant.settings.mfa;
    if !settings.enabled {
        // Second factors are off for the tenant: nothing is asked (a step-up an application
        // requests is added by the caller).
        return Ok(MfaFacts {
            first_factor_is_mfa: tessera_core::mfa::is_multi_factor(methods),
            ..MfaFacts::default()
        });
    }
    let factors = state
        .services
        .store
        .list_factors(tenant.id, user.id)
        .await?;
    let has_enrolled_factor = factors.iter().any(|f| {
        f.is_confirmed()
            && settings.allows(match f.kind {
                tessera_core::mfa::FactorKind::Totp => SecondFactor::Totp,
                tessera_core::mfa::FactorKind::Webauthn => SecondFactor::Webauthn,
            })
    });
    let in_required_group = if settings.required_groups.is_empty() {
        false
    } else {
        let graph = state.authz.graph(&state.services, tenant.id).await?;
        let direct = crate::app::authz::direct_groups(&state.services, tenant.id, user.id).await?;
        let groups = graph.effective_groups(&direct);
        settings
            .required_groups
            .iter()
            .any(|g| groups.contains_key(g))
    };
    // An emailed code cannot be the second factor of a sign-in whose first factor was the email.
    let first_was_email = methods.iter().any(|m| m == tessera_core::mfa::AMR_OTP);
    Ok(MfaFacts {
        tenant_requires: tenant.settings.mfa_required,
        in_required_group,
        has_enrolled_factor,
        can_use_email_code: settings.allows(SecondFactor::EmailCode)
            && user.email_verified
            && !first_was_email,
        first_factor_is_mfa: tessera_core::mfa::is_multi_factor(methods),
        step_up: None,
        remembered_device: super::device::remembers(state, tenant, jar, user.id),
    })
}

/// After a first factor: decides what the sign-in still needs and moves there.
#[allow(clippy::too_many_arguments)]
pub async fn after_first_factor(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    flow: Option<LoginFlow>,
    user: &User,
    methods: Vec<String>,
    method_label: &str,
    return_to: String,
    info: &RequestInfo,
) -> Result<Outcome, FlowError> {
    let svc = &state.services;
    let now = Services::now();
    // An emailed code or link proves the address; other first factors need it verified when the
    // tenant says so (after the password, so the answer reveals nothing to a guesser).
    let proved_email = methods.iter().any(|m| m == tessera_core::mfa::AMR_OTP);
    if !proved_email
        && !tessera_core::registration::unverified_sign_in_allowed(
            &tenant.settings.registration,
            user,
            now,
        )
    {
        return Err(FlowError::EmailUnverified);
    }
    // Age gate: an account registered below `parental_consent_below` waits for an operator to
    // record the parental consent (after the first factor, so a guesser learns nothing).
    if tessera_core::registration::parental_consent_pending(user) {
        deny_event(
            state,
            tenant,
            user,
            PARENTAL_CONSENT_POLICY,
            "parental consent not yet recorded",
            info,
        )
        .await;
        return Err(FlowError::Denied {
            policy: PARENTAL_CONSENT_POLICY.into(),
        });
    }
    // Tenant-wide conditional access: a deny ends here; require_mfa becomes a step-up.
    let decision = crate::app::authz::policy_decision(
        svc,
        &state.authz,
        tenant,
        user,
        None,
        AccessContext {
            ip: info.ip,
            auth_time: Some(now),
            amr: methods.clone(),
            country: crate::geo::country(state, info.ip),
            trusted_device: super::device::remembers(state, tenant, &jar, user.id),
            ..Default::default()
        },
    )
    .await?;
    let step_up = match decision {
        PolicyDecision::Allow => None,
        PolicyDecision::Deny { policy } => {
            deny_event(state, tenant, user, &policy, "denied by policy", info).await;
            return Err(FlowError::Denied { policy });
        }
        PolicyDecision::MfaRequired { .. } => Some(MfaReason::Application),
    };
    // The risk engine: this sign-in compared with the account's usual ones and its source's
    // recent behaviour. `block` ends here; `challenge` asks for a second factor.
    let risk_info = crate::risk::AttemptInfo {
        email: &user.email,
        ip: info.ip,
        user_agent: info.user_agent.as_deref(),
        device_id: crate::risk::device_id(state, tenant, &jar),
        password: None,
        privileged: crate::risk::privileged(state, tenant, user).await?,
    };
    let risk = crate::risk::after_first_factor(state, tenant, user, &risk_info, method_label)
        .await
        .map(|v| v.effective());
    if risk == Some(tessera_risk::Decision::Block) {
        return Err(FlowError::Denied {
            policy: RISK_POLICY.into(),
        });
    }
    let mut facts = mfa_facts(state, tenant, user, &methods, &jar).await?;
    facts.step_up = step_up;
    if risk == Some(tessera_risk::Decision::Challenge) && facts.step_up.is_none() {
        facts.step_up = Some(MfaReason::Risk);
        // Without a factor of their own, a person proves the sign-in with a code sent to their
        // verified address, whatever factors the tenant offers otherwise.
        let first_was_email = methods.iter().any(|m| m == tessera_core::mfa::AMR_OTP);
        facts.can_use_email_code |= user.email_verified && !first_was_email;
    }
    let requirement = tessera_core::mfa::second_factor_requirement(&facts);
    if requirement == SecondFactorRequirement::Enroll(MfaReason::Risk) {
        // Nothing to verify the person with: enrolling a factor now would hand the account to
        // whoever holds the password.
        deny_event(
            state,
            tenant,
            user,
            RISK_POLICY,
            "the risk engine asked for a second factor and the account has none",
            info,
        )
        .await;
        return Err(FlowError::Denied {
            policy: RISK_POLICY.into(),
        });
    }
    // Without a flow yet, this request makes one but stores it only if the sign-in stops at a
    // later stage (a second factor, an enrolment, a re-consent): one that completes here, the
    // common case, costs no database write (and no delete) at all.
    let (mut flow, unsaved_token) = match flow {
        Some(f) => (f, None),
        None => {
            let (token, f) = unsaved(tenant, return_to.clone());
            (f, Some(token))
        }
    };
    // Where this first factor was asked to lead wins over what an earlier request of the page
    // (a passkey autofill started before the person typed a password) left in the flow.
    if !return_to.is_empty() {
        flow.return_to = return_to;
    }
    flow.user_id = Some(user.id);
    flow.methods = methods;
    flow.pending = None;
    flow.link_hash = None;
    flow.attempts = 0;
    match requirement {
        SecondFactorRequirement::None => {
            finish(
                state,
                tenant,
                jar,
                flow,
                unsaved_token,
                user,
                method_label,
                info,
            )
            .await
        }
        SecondFactorRequirement::Verify(reason) | SecondFactorRequirement::Enroll(reason) => {
            flow.stage = if matches!(requirement, SecondFactorRequirement::Verify(_)) {
                FlowStage::SecondFactor
            } else {
                FlowStage::Enroll
            };
            flow.reason = Some(reason_str(reason).into());
            flow.expires_at = now + time::Duration::seconds(tessera_core::mfa::LOGIN_FLOW_TTL_SECS);
            let jar = match unsaved_token {
                Some(token) => {
                    svc.store.create_login_flow(&flow).await?;
                    jar.add(flow_cookie(state, tenant, token))
                }
                None => {
                    svc.store.update_login_flow(&flow).await?;
                    jar
                }
            };
            let base = issuer_path(&tenant.slug);
            let location = if flow.stage == FlowStage::Enroll {
                format!("{base}/login/mfa/enroll")
            } else {
                format!("{base}/login/mfa")
            };
            Ok(Outcome::to(jar, location))
        }
    }
}

/// Starts a step-up for a signed-in user whose application asks for more than the session has:
/// the flow starts at the second factor, with the session's methods as its first.
pub async fn start_step_up(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    user: &User,
    session_methods: Vec<String>,
    webauthn_only: bool,
    return_to: String,
) -> Result<Outcome, FlowError> {
    let mut facts = mfa_facts(state, tenant, user, &session_methods, &jar).await?;
    facts.step_up = Some(MfaReason::Application);
    facts.first_factor_is_mfa = false;
    facts.remembered_device = false;
    if webauthn_only {
        facts.can_use_email_code = false;
    }
    let requirement = tessera_core::mfa::second_factor_requirement(&facts);
    let (token, mut flow) = unsaved(tenant, return_to);
    flow.user_id = Some(user.id);
    flow.methods = session_methods;
    flow.webauthn_only = webauthn_only;
    flow.reason = Some(reason_str(MfaReason::Application).into());
    flow.stage = match requirement {
        SecondFactorRequirement::Enroll(_) => FlowStage::Enroll,
        _ => FlowStage::SecondFactor,
    };
    // Stored once, at its stage (a new cookie, so an old flow's code cannot be reused).
    state.services.store.create_login_flow(&flow).await?;
    let jar = jar.add(flow_cookie(state, tenant, token));
    let base = issuer_path(&tenant.slug);
    let location = if flow.stage == FlowStage::Enroll {
        format!("{base}/login/mfa/enroll")
    } else {
        format!("{base}/login/mfa")
    };
    Ok(Outcome::to(jar, location))
}

/// A second factor (or an enrolment that proved one) passed: adds its methods and completes.
#[allow(clippy::too_many_arguments)]
pub async fn second_factor_passed(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    mut flow: LoginFlow,
    user: &User,
    factor: SecondFactor,
    amr: &[&str],
    remember_device: bool,
    info: &RequestInfo,
) -> Result<Outcome, FlowError> {
    flow.methods = tessera_core::mfa::merge_amr(&flow.methods, amr);
    state
        .services
        .store
        .clear_throttle(tenant.id, &factor_throttle_key(user.id))
        .await?;
    let ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::MfaVerified {
            factor: factor.as_str().into(),
        },
        Actor::user(user.id),
    )
    .subject(user.id)
    .target(Target::new("user", user.id))
    .ip(info.ip.map(|i| i.to_string()))
    .user_agent(info.user_agent.clone());
    state.services.emit(ev).await;
    let jar = if remember_device && tenant.settings.mfa.remember_device_days > 0 {
        jar.add(super::device::cookie(state, tenant, user.id))
    } else {
        jar
    };
    let label = format!("{}+{}", first_label(&flow.methods), factor.as_str());
    complete(state, tenant, jar, flow, user, &label, info).await
}

fn first_label(methods: &[String]) -> &'static str {
    if methods.iter().any(|m| m == "pwd") {
        "password"
    } else if methods.iter().any(|m| m == "hwk" || m == "swk") {
        "passkey"
    } else {
        "email"
    }
}

/// Ends the flow with a session: checks the policies once more with the final methods, replaces
/// this browser's previous session, sets the cookie and sends the browser on.
pub async fn complete(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    flow: LoginFlow,
    user: &User,
    method_label: &str,
    info: &RequestInfo,
) -> Result<Outcome, FlowError> {
    finish(state, tenant, jar, flow, None, user, method_label, info).await
}

/// `complete`, for a stored flow (`unsaved_token` `None`) or for one this request made and has
/// not stored (`Some`: the cookie value it is bound to), which is stored only if the sign-in stops
/// at the re-consent page.
#[allow(clippy::too_many_arguments)]
async fn finish(
    state: &AppState,
    tenant: &Tenant,
    jar: CookieJar,
    flow: LoginFlow,
    unsaved_token: Option<String>,
    user: &User,
    method_label: &str,
    info: &RequestInfo,
) -> Result<Outcome, FlowError> {
    let svc = &state.services;
    // Privacy (issue 10): a material new policy version the person accepted an earlier version
    // of is accepted first, on the re-consent page, before any session starts.
    let mut flow = flow;
    let stored = unsaved_token.is_none();
    if let Some(location) =
        crate::pages::reconsent::hold(state, tenant, &mut flow, user, method_label, stored).await?
    {
        let jar = match unsaved_token {
            Some(token) => jar.add(flow_cookie(state, tenant, token)),
            None => jar,
        };
        return Ok(Outcome::to(jar, location));
    }
    // A flow completes once: a second request with the same cookie finds it gone. A flow never
    // stored has no cookie to send again.
    if stored && !svc.store.delete_login_flow(tenant.id, flow.id).await? {
        return Err(FlowError::NoFlow);
    }
    let previous = current_session(state, tenant, &jar).await;
    let trusted_device = super::device::remembers(state, tenant, &jar, user.id);
    let signed_in = start_session(
        state,
        tenant,
        user,
        flow.methods.clone(),
        method_label,
        info.ip,
        info.user_agent.as_deref(),
        previous.as_ref(),
        trusted_device,
    )
    .await?;
    if let Some(previous) = previous.filter(|p| p.id != signed_in.session.id)
        && let Ok(true) = svc
            .store
            .revoke_session(tenant.id, previous.id, Services::now())
            .await
    {
        crate::oidc::backchannel::session_ended(
            state,
            tenant,
            &previous,
            "replaced_by_new_sign_in",
            Actor::user(previous.user_id),
        )
        .await;
    }
    let cookie = session_cookie(
        state,
        tenant,
        signed_in.token.expose().to_string(),
        tenant.settings.session_absolute_timeout_secs as i64,
    );
    // The risk profile learns this sign-in, with this browser's device id (a new one if none).
    let (jar, device) = crate::risk::device::ensure(state, tenant, jar);
    let risk_info = crate::risk::AttemptInfo {
        email: &user.email,
        ip: info.ip,
        user_agent: info.user_agent.as_deref(),
        device_id: Some(device),
        password: None,
        privileged: false,
    };
    crate::risk::learn(state, tenant, user, &risk_info).await;
    let location = default_target(tenant, &flow);
    Ok(Outcome {
        jar: jar.add(cookie).add(flow_removal(tenant)),
        location,
        signed_in: Some(Box::new(NewSession {
            session: signed_in.session,
            user: user.clone(),
        })),
    })
}

fn factor_throttle_key(user: tessera_core::UserId) -> String {
    format!("mfa:{user}")
}

/// Whether the user's second factors are throttled (too many wrong answers across sign-ins);
/// `Some(seconds)` to wait. Checked before any code is compared.
pub async fn factor_throttled(
    state: &AppState,
    tenant: &Tenant,
    user: tessera_core::UserId,
) -> Result<Option<u64>, StoreError> {
    let current = state
        .services
        .store
        .get_throttle(tenant.id, &factor_throttle_key(user))
        .await?;
    Ok(
        match tessera_core::throttle::ThrottlePolicy::per_account_second_factor()
            .decide(current.as_ref(), Services::now())
        {
            tessera_core::throttle::ThrottleDecision::Allow => None,
            tessera_core::throttle::ThrottleDecision::Wait { retry_after_secs } => {
                Some(retry_after_secs)
            }
        },
    )
}

/// Counts a wrong answer on a flow; once the limit is reached the flow is gone.
pub async fn wrong_answer(
    state: &AppState,
    tenant: &Tenant,
    flow: &LoginFlow,
    factor: SecondFactor,
    reason: &str,
    info: &RequestInfo,
) -> Result<bool, StoreError> {
    let n = state
        .services
        .store
        .record_flow_attempt(tenant.id, flow.id)
        .await?;
    if let Some(user) = flow.user_id {
        state
            .services
            .store
            .record_failure(
                tenant.id,
                &factor_throttle_key(user),
                &tessera_core::throttle::ThrottlePolicy::per_account_second_factor(),
                Services::now(),
            )
            .await?;
    }
    let mut ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::MfaFailed {
            factor: factor.as_str().into(),
            reason: reason.into(),
        },
        flow.user_id.map_or_else(Actor::anonymous, Actor::user),
    )
    .failed()
    .ip(info.ip.map(|i| i.to_string()))
    .user_agent(info.user_agent.clone());
    if let Some(u) = flow.user_id {
        ev = ev.subject(u).target(Target::new("user", u));
    }
    state.services.emit(ev).await;
    let exhausted = n >= tessera_core::mfa::MAX_FLOW_ATTEMPTS;
    if exhausted {
        state
            .services
            .store
            .delete_login_flow(tenant.id, flow.id)
            .await?;
    }
    Ok(exhausted)
}

/// Loads the user of a flow that is past its first factor; `None` when the account can no
/// longer sign in.
pub async fn flow_user(state: &AppState, flow: &LoginFlow) -> Result<Option<User>, StoreError> {
    let Some(id) = flow.user_id else {
        return Ok(None);
    };
    Ok(state
        .services
        .store
        .get_user(flow.tenant_id, id)
        .await?
        .filter(User::can_sign_in))
}

fn reason_str(r: MfaReason) -> &'static str {
    match r {
        MfaReason::Tenant => "tenant",
        MfaReason::Group => "group",
        MfaReason::Enrolled => "enrolled",
        MfaReason::Application => "application",
        MfaReason::Risk => "risk",
    }
}

async fn deny_event(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    policy: &str,
    reason: &str,
    info: &RequestInfo,
) {
    let kind = EventKind::AccessDenied {
        policy: policy.to_string(),
        client_id: None,
        reason: reason.into(),
    };
    let ev = Event::new(tenant.id, Services::now(), kind, Actor::user(user.id))
        .failed()
        .subject(user.id)
        .target(Target::new("user", user.id))
        .ip(info.ip.map(|i| i.to_string()));
    state.services.emit(ev).await;
}

/// Hashes a flow cookie or session cookie value the way flows store it.
pub fn binding_hash(token: &Secret) -> String {
    sha256_hex(token.expose().as_bytes())
}
