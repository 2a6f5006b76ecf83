//! Registration of passkeys and security keys: on the security page (a session signed in within
//! the last ten minutes; the ceremony is kept in a flow bound to the session cookie) or as the
//! forced enrolment of a sign-in (kept in that sign-in's flow).

use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::mfa::{
    Factor, FactorKind, FlowStage, LoginFlow, PendingChallenge, SecondFactor, factor_name,
};
use tessera_core::session::Session;
use tessera_core::store::{MfaStore, UserStore};
use tessera_core::tenant::Tenant;
use tessera_core::user::User;
use tessera_core::{FactorId, Secret, StoreError};
use webauthn_rs_core::proto::{RegisterPublicKeyCredential, RegistrationState};

use super::reply::{self, Failure};
use super::{
    Call, account_unavailable, ceremony, consume, find_factor, open_state, read_record,
    relying_party, seal_state, webauthn_allowed, webauthn_factors,
};
use crate::app::Services;
use crate::mfa::flow;
use crate::pages::{current_session, issuer_path};
use crate::state::AppState;

const DEFAULT_NAME: &str = "Passkey";

#[derive(Deserialize, Default)]
#[serde(default)]
struct RegisterStart {
    name: String,
    /// `account` (the security page) or `enroll` (forced enrolment at sign-in); without it, a
    /// sign-in at its enrolment step wins over a session.
    context: Option<String>,
}

#[derive(Deserialize)]
struct RegisterFinish {
    credential: RegisterPublicKeyCredential,
    #[serde(default)]
    name: Option<String>,
}

// --- handlers ----------------------------------------------------------------------------------

/// `register/start`: options for a new passkey of the signed-in (or enrolling) account.
pub(super) async fn start(c: Call) -> Result<Response, Failure> {
    let tenant = c.tenant().await?;
    let req: RegisterStart = reply::body(&c.body)?;
    registration_allowed(&tenant)?;
    let name =
        factor_name(&req.name, DEFAULT_NAME).map_err(|e| Failure::bad_request(e.to_string()))?;
    let Registrant { user, ceremony } = registrant(&c, &tenant, req.context.as_deref()).await?;
    let existing = webauthn_factors(&c.state, &tenant, user.id).await?;
    if existing.len() >= ceremony::MAX_CREDENTIALS_PER_USER {
        return Err(Failure::new(
            StatusCode::CONFLICT,
            "too_many_credentials",
            format!(
                "An account can have at most {} passkeys and security keys. Remove one first.",
                ceremony::MAX_CREDENTIALS_PER_USER
            ),
        ));
    }
    let exclude = existing
        .iter()
        .map(|f| read_record(f).map(|r| r.cred_id))
        .collect::<Result<Vec<_>, _>>()?;
    let display_name = user
        .name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(&user.email);
    let holder = ceremony::Holder {
        id: user.id.0,
        name: &user.email,
        display_name,
    };
    let rp = relying_party(&c.state, &tenant)?;
    let (options, reg) = ceremony::start_registration(&rp, &tenant.settings.mfa, &holder, exclude)
        .map_err(|e| Failure::unavailable("a passkey registration could not be started", e))?;
    let mut flow = match ceremony {
        Ceremony::Account(session) => account_flow(&c.state, &tenant, &session, &user).await?,
        Ceremony::Enrollment(flow) => flow,
    };
    flow.pending = Some(PendingChallenge::WebauthnRegistration {
        state: seal_state(&reg)?,
        name,
    });
    c.state.services.store.update_login_flow(&flow).await?;
    Ok(reply::ok(c.jar, json!({ "publicKey": options.public_key })))
}

/// `register/finish`: verifies the new credential, stores it as a factor, and (at enrolment)
/// lets the sign-in go on.
pub(super) async fn finish(c: Call) -> Result<Response, Failure> {
    let tenant = c.tenant().await?;
    let req: RegisterFinish = reply::body(&c.body)?;
    registration_allowed(&tenant)?;
    let (user, flow, enrollment) = pending_registration(&c, &tenant).await?;
    let Some(PendingChallenge::WebauthnRegistration { state, name }) = flow.pending.clone() else {
        return Err(Failure::no_ceremony());
    };
    let name = match req.name.as_deref().filter(|n| !n.trim().is_empty()) {
        Some(n) => factor_name(n, DEFAULT_NAME).map_err(|e| Failure::bad_request(e.to_string()))?,
        None => name,
    };
    let reg: RegistrationState = open_state(&state)?;
    let rp = relying_party(&c.state, &tenant)?;
    let flow = consume(&c.state, flow).await?;
    let exists = || Failure::refused(&ceremony::Refusal::AlreadyRegistered);
    // The engine reports an excluded credential as a generic failure; the id the browser
    // names is checked first (and the attested id again after verification).
    let claimed = ceremony::credential_id_text(&req.credential.raw_id);
    if find_factor(&c.state, &tenant, &claimed).await?.is_some() {
        return Err(refused_registration(
            &tenant,
            &user,
            "credential_exists",
            exists(),
        ));
    }
    let registered =
        match ceremony::finish_registration(&rp, &tenant.settings.mfa, &req.credential, &reg) {
            Ok(r) => r,
            Err(r) => {
                return Err(refused_registration(
                    &tenant,
                    &user,
                    r.reason(),
                    Failure::refused(&r),
                ));
            }
        };
    if find_factor(&c.state, &tenant, &registered.credential_id)
        .await?
        .is_some()
    {
        return Err(refused_registration(
            &tenant,
            &user,
            "credential_exists",
            exists(),
        ));
    }
    let now = Services::now();
    let record = serde_json::to_string(&registered.credential)
        .map_err(|e| Failure::unavailable("a credential record could not be written", e))?;
    let factor = Factor {
        id: FactorId::new(),
        tenant_id: tenant.id,
        user_id: user.id,
        kind: FactorKind::Webauthn,
        name,
        secret: Secret::new(record),
        credential_id: Some(registered.credential_id.clone()),
        discoverable: registered.discoverable,
        aaguid: registered.aaguid,
        confirmed_at: Some(now),
        last_used_at: None,
        last_totp_step: None,
        created_at: now,
    };
    match c.state.services.store.create_factor(&factor).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(exists()),
        Err(e) => return Err(e.into()),
    }
    enrolled_event(&c, &tenant, &user, &factor).await;
    tracing::info!(tenant = %tenant.slug, user = %user.id, factor = %factor.id, discoverable = factor.discoverable, "a passkey was registered");
    let amr = if registered.credential.backup_eligible {
        tessera_core::mfa::AMR_SWK
    } else {
        tessera_core::mfa::AMR_HWK
    };
    let factor_json = json!({ "id": factor.id.to_string(), "name": factor.name });
    if !enrollment {
        c.state
            .services
            .store
            .delete_login_flow(tenant.id, flow.id)
            .await?;
        let redirect = format!("{}/account/security", issuer_path(&tenant.slug));
        return Ok(reply::ok(
            c.jar,
            json!({ "redirect": redirect, "factor": factor_json }),
        ));
    }
    let outcome = crate::mfa::pages::after_enrollment(
        &c.state,
        &tenant,
        c.jar.clone(),
        flow,
        &user,
        SecondFactor::Webauthn,
        &[amr],
    )
    .await
    .map_err(Failure::flow)?;
    Ok(reply::ok(
        outcome.jar,
        json!({ "redirect": outcome.location, "factor": factor_json }),
    ))
}

// --- helpers -----------------------------------------------------------------------------------

/// Passkeys may be registered when they can be used: as a second factor or to sign in.
fn registration_allowed(tenant: &Tenant) -> Result<(), Failure> {
    if tenant.settings.mfa.passkey_sign_in {
        Ok(())
    } else {
        webauthn_allowed(tenant)
    }
}

/// A refused registration: not a wrong answer (nothing was guessed), so it neither counts
/// against the sign-in nor throttles the account; its request is used up all the same.
fn refused_registration(tenant: &Tenant, user: &User, reason: &str, failure: Failure) -> Failure {
    tracing::info!(tenant = %tenant.slug, user = %user.id, reason, "a passkey registration was refused");
    failure
}

async fn enrolled_event(c: &Call, tenant: &Tenant, user: &User, factor: &Factor) {
    let ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::MfaEnrolled {
            factor: SecondFactor::Webauthn.as_str().into(),
            factor_id: factor.id.to_string(),
        },
        Actor::user(user.id),
    )
    .subject(user.id)
    .target(Target::new("user", user.id))
    .ip(c.info.ip.map(|i| i.to_string()))
    .user_agent(c.info.user_agent.clone());
    c.state.services.emit(ev).await;
}

/// Whose passkey a registration makes, and where its ceremony is kept.
struct Registrant {
    user: User,
    ceremony: Ceremony,
}

enum Ceremony {
    /// A signed-in user on the security page: a flow bound to the session.
    Account(Session),
    /// A sign-in that must enrol a factor before its session starts: its own flow.
    Enrollment(LoginFlow),
}

/// Who registers: the sign-in of this browser at its enrolment step, or its session (signed in
/// within the last ten minutes). `context` picks one explicitly.
async fn registrant(
    c: &Call,
    tenant: &Tenant,
    context: Option<&str>,
) -> Result<Registrant, Failure> {
    match context {
        None | Some("enroll") => {}
        Some("account") => return account_registrant(c, tenant, true).await,
        Some(_) => {
            return Err(Failure::bad_request(
                "context must be \"account\" or \"enroll\".",
            ));
        }
    }
    if let Some(flow) = flow::current(&c.state, tenant, &c.jar)
        .await
        .filter(|f| f.stage == FlowStage::Enroll)
        && let Some(user) = flow::flow_user(&c.state, &flow).await?
    {
        return Ok(Registrant {
            user,
            ceremony: Ceremony::Enrollment(flow),
        });
    }
    if context == Some("enroll") {
        return Err(Failure::no_ceremony());
    }
    account_registrant(c, tenant, true).await
}

async fn account_registrant(
    c: &Call,
    tenant: &Tenant,
    fresh_sign_in: bool,
) -> Result<Registrant, Failure> {
    let Some(session) = current_session(&c.state, tenant, &c.jar).await else {
        return Err(Failure::new(
            StatusCode::UNAUTHORIZED,
            "not_signed_in",
            "Please sign in first.",
        ));
    };
    // The security page's rule: a sign-in within the last ten minutes.
    if fresh_sign_in && !crate::pages::security::recently_signed_in(&session) {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            "reauthentication_required",
            "For your security, please sign in again before adding a passkey.",
        ));
    }
    let Some(user) = c
        .state
        .services
        .store
        .get_user(tenant.id, session.user_id)
        .await?
        .filter(User::can_sign_in)
    else {
        return Err(account_unavailable());
    };
    Ok(Registrant {
        user,
        ceremony: Ceremony::Account(session),
    })
}

/// The ceremony flow of a session (security page): bound to the session cookie, never to a
/// cookie of its own.
async fn account_flow(
    state: &AppState,
    tenant: &Tenant,
    session: &Session,
    user: &User,
) -> Result<LoginFlow, Failure> {
    let store = &state.services.store;
    let now = Services::now();
    if let Some(f) = store
        .find_login_flow(tenant.id, &session.token_hash)
        .await?
        && f.stage == FlowStage::Account
        && f.user_id == Some(user.id)
        && f.is_live(now)
    {
        return Ok(f);
    }
    let mut f = LoginFlow::new(tenant.id, session.token_hash.clone(), String::new(), now);
    f.stage = FlowStage::Account;
    f.user_id = Some(user.id);
    store.create_login_flow(&f).await?;
    Ok(f)
}

/// The registration awaiting an answer in this browser: the enrolling sign-in's, else the
/// session's. Returns the account, the flow holding the request, and whether it is an enrolment.
async fn pending_registration(
    c: &Call,
    tenant: &Tenant,
) -> Result<(User, LoginFlow, bool), Failure> {
    let awaits = |f: &LoginFlow| {
        matches!(
            f.pending,
            Some(PendingChallenge::WebauthnRegistration { .. })
        )
    };
    if let Some(flow) = flow::current(&c.state, tenant, &c.jar)
        .await
        .filter(|f| f.stage == FlowStage::Enroll && awaits(f))
    {
        let user = flow::flow_user(&c.state, &flow)
            .await?
            .ok_or_else(Failure::no_ceremony)?;
        return Ok((user, flow, true));
    }
    let Registrant { user, ceremony } = account_registrant(c, tenant, false).await?;
    let Ceremony::Account(session) = ceremony else {
        return Err(Failure::no_ceremony());
    };
    let flow = c
        .state
        .services
        .store
        .find_login_flow(tenant.id, &session.token_hash)
        .await?
        .filter(|f| {
            f.stage == FlowStage::Account
                && f.user_id == Some(user.id)
                && f.is_live(Services::now())
                && awaits(f)
        })
        .ok_or_else(Failure::no_ceremony)?;
    Ok((user, flow, false))
}
