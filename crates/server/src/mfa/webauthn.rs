//! WebAuthn on the hosted pages: passkeys as a username-less first factor, passkeys and security
//! keys as a second factor, and their registration (on the security page, or as the forced
//! enrolment of a sign-in). JSON endpoints called by `static/webauthn.js` (also served here):
//!
//! | endpoint (under `/t/{slug}/webauthn`) | needs | answers |
//! |---|---|---|
//! | `login/start` `{return_to?, conditional?}` | `mfa.passkey_sign_in` | `{publicKey}` (no allowCredentials) |
//! | `login/finish` `{credential}` | a passkey request in this browser's flow | `{redirect}` |
//! | `mfa/start` `{}` | a flow at its second factor | `{publicKey}` (the account's keys) |
//! | `mfa/finish` `{credential, remember_device?}` | that request | `{redirect}` |
//! | `register/start` `{name?, context?}` | a recent session, or a flow at enrolment | `{publicKey}` |
//! | `register/finish` `{credential, name?}` | that request | `{redirect, factor?}` |
//!
//! Every request carries the page's CSRF token in `x-csrf-token`. The ceremony state (challenge,
//! allowed credentials, policy) is kept only in the sign-in flow in the database, sealed, and is
//! consumed by the first answer, so an answer cannot be replayed. Errors are
//! `{"error", "message"}` with a 4xx status.

mod ceremony;
mod register;
mod reply;

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use serde_json::json;
use tessera_core::mfa::{Factor, FactorKind, FlowStage, LoginFlow, PendingChallenge, SecondFactor};
use tessera_core::store::{MfaStore, UserStore};
use tessera_core::tenant::Tenant;
use tessera_core::user::User;
use tessera_core::{Secret, StoreError, UserId};
use webauthn_rs_core::WebauthnCore;
use webauthn_rs_core::proto::{AuthenticationState, Credential, PublicKeyCredential};

use self::reply::Failure;
use super::flow::{self, RequestInfo};
use crate::app::Services;
use crate::pages::{safe_return_to, user_agent};
use crate::routes;
use crate::state::AppState;

/// The script of the hosted pages' passkey buttons (no build step, no inline script).
const SCRIPT: &str = include_str!("../../../../static/webauthn.js");

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::WEBAUTHN_LOGIN_START, post(login_start))
        .route(routes::WEBAUTHN_LOGIN_FINISH, post(login_finish))
        .route(routes::WEBAUTHN_MFA_START, post(mfa_start))
        .route(routes::WEBAUTHN_MFA_FINISH, post(mfa_finish))
        .route(routes::WEBAUTHN_REGISTER_START, post(register_start))
        .route(routes::WEBAUTHN_REGISTER_FINISH, post(register_finish))
        .route(routes::WEBAUTHN_SCRIPT, get(script))
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        SCRIPT,
    )
}

// --- request bodies ----------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
struct LoginStart {
    /// Where to go once signed in (checked to stay on this origin).
    return_to: String,
    /// A request for the browser's autofill (conditional mediation), made when the page opens:
    /// it never displaces a sign-in this browser already has in progress.
    conditional: bool,
}

#[derive(Deserialize)]
struct Assertion {
    credential: PublicKeyCredential,
    #[serde(default)]
    remember_device: bool,
}

// --- handlers ----------------------------------------------------------------------------------

/// The parts of a request every endpoint reads.
struct Call {
    state: AppState,
    slug: String,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
    info: RequestInfo,
}

impl Call {
    /// The tenant, after the CSRF check.
    async fn tenant(&self) -> Result<Tenant, Failure> {
        let tenant = reply::tenant(&self.state, &self.slug).await?;
        reply::check_csrf(&self.jar, &self.headers, &self.state.csrf_key)?;
        Ok(tenant)
    }
}

macro_rules! endpoint {
    ($name:ident => $inner:path) => {
        async fn $name(
            State(state): State<AppState>,
            Path(slug): Path<String>,
            ConnectInfo(peer): ConnectInfo<SocketAddr>,
            jar: CookieJar,
            headers: HeaderMap,
            body: Bytes,
        ) -> Response {
            let info = RequestInfo {
                ip: Some(peer.ip()),
                user_agent: user_agent(&headers).map(str::to_string),
            };
            let call = Call {
                state,
                slug,
                jar,
                headers,
                body,
                info,
            };
            $inner(call)
                .await
                .unwrap_or_else(IntoResponse::into_response)
        }
    };
}

endpoint!(login_start => login_start_inner);
endpoint!(login_finish => login_finish_inner);
endpoint!(mfa_start => mfa_start_inner);
endpoint!(mfa_finish => mfa_finish_inner);
endpoint!(register_start => register::start);
endpoint!(register_finish => register::finish);

/// `login/start`: a username-less request for any passkey of this site, kept in this browser's
/// sign-in flow (a new one unless a flow is waiting for its first factor).
async fn login_start_inner(c: Call) -> Result<Response, Failure> {
    let tenant = c.tenant().await?;
    let req: LoginStart = reply::body(&c.body)?;
    passkey_sign_in_enabled(&tenant)?;
    let rp = relying_party(&c.state, &tenant)?;
    let (options, auth) = ceremony::start_authentication(&rp, &tenant.settings.mfa, Vec::new())
        .map_err(|e| Failure::unavailable("a passkey request could not be made", e))?;
    let current = flow::current(&c.state, &tenant, &c.jar).await;
    let busy = current.as_ref().is_some_and(|f| {
        f.stage != FlowStage::FirstFactor
            || matches!(f.pending, Some(PendingChallenge::EmailCode { .. }))
    });
    if req.conditional && busy {
        return Err(Failure::new(
            StatusCode::CONFLICT,
            "sign_in_in_progress",
            "Another sign-in is in progress in this browser.",
        ));
    }
    let (jar, mut flow) = match current {
        Some(f) if f.stage == FlowStage::FirstFactor => (c.jar, f),
        _ => {
            let return_to = safe_return_to(&c.state.services.config.public_url, &req.return_to)
                .unwrap_or_default();
            flow::start(&c.state, &tenant, c.jar, return_to).await?
        }
    };
    flow.pending = Some(PendingChallenge::WebauthnAuthentication {
        state: seal_state(&auth)?,
    });
    c.state.services.store.update_login_flow(&flow).await?;
    Ok(reply::ok(jar, json!({ "publicKey": options.public_key })))
}

/// `login/finish`: the passkey names its account (user handle); its signature is checked with
/// the stored credential, and the sign-in goes on as after any first factor.
async fn login_finish_inner(c: Call) -> Result<Response, Failure> {
    let tenant = c.tenant().await?;
    let req: Assertion = reply::body(&c.body)?;
    passkey_sign_in_enabled(&tenant)?;
    let rp = relying_party(&c.state, &tenant)?;
    let flow = flow::current(&c.state, &tenant, &c.jar)
        .await
        .filter(|f| f.stage == FlowStage::FirstFactor)
        .ok_or_else(Failure::no_ceremony)?;
    let (flow, auth) = take_authentication(&c.state, flow).await?;
    let credential_id = ceremony::credential_id_text(&req.credential.raw_id);
    let Some(factor) = find_factor(&c.state, &tenant, &credential_id).await? else {
        return refuse(
            &c,
            &tenant,
            &flow,
            None,
            "unknown_credential",
            Failure::unknown_credential(),
        )
        .await;
    };
    // The user handle is the account id the passkey was registered for.
    if req.credential.response.user_handle.as_deref() != Some(factor.user_id.0.as_bytes()) {
        return refuse(
            &c,
            &tenant,
            &flow,
            None,
            "user_handle_mismatch",
            Failure::unknown_credential(),
        )
        .await;
    }
    let Some(user) = c
        .state
        .services
        .store
        .get_user(tenant.id, factor.user_id)
        .await?
        .filter(User::can_sign_in)
    else {
        return refuse(
            &c,
            &tenant,
            &flow,
            None,
            "account_disabled",
            account_unavailable(),
        )
        .await;
    };
    let mut record = read_record(&factor)?;
    let proof = match ceremony::finish_authentication(&rp, &req.credential, &auth, &mut record) {
        Ok(p) => p,
        Err(r) => {
            // Only a correctly signed answer (a counter that went backwards) is filed under the
            // account: anyone can name someone else's credential, so other failures stay
            // anonymous and cannot lock the account's factors.
            let owner = (r == ceremony::Refusal::SignCountRegression).then_some(user.id);
            return refuse(&c, &tenant, &flow, owner, r.reason(), Failure::refused(&r)).await;
        }
    };
    save_use(&c.state, &tenant, &factor, &record).await?;
    let return_to = flow.return_to.clone();
    let outcome = flow::after_first_factor(
        &c.state,
        &tenant,
        c.jar.clone(),
        Some(flow),
        &user,
        proof.first_factor_methods(),
        "passkey",
        return_to,
        &c.info,
    )
    .await
    .map_err(Failure::flow)?;
    Ok(reply::ok(
        outcome.jar,
        json!({ "redirect": outcome.location }),
    ))
}

/// `mfa/start`: a request for one of the account's passkeys or security keys.
async fn mfa_start_inner(c: Call) -> Result<Response, Failure> {
    let tenant = c.tenant().await?;
    let _: serde::de::IgnoredAny = reply::body(&c.body)?;
    webauthn_allowed(&tenant)?;
    let mut flow = second_factor_flow(&c, &tenant).await?;
    let user = flow::flow_user(&c.state, &flow)
        .await?
        .ok_or_else(Failure::no_ceremony)?;
    let records: Vec<Credential> = webauthn_factors(&c.state, &tenant, user.id)
        .await?
        .iter()
        .map(read_record)
        .collect::<Result<_, _>>()?;
    if records.is_empty() {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "no_passkey",
            "You have no passkey or security key yet. Choose another way to confirm it is you.",
        ));
    }
    let rp = relying_party(&c.state, &tenant)?;
    let (options, auth) = ceremony::start_authentication(&rp, &tenant.settings.mfa, records)
        .map_err(|e| Failure::unavailable("a security key request could not be made", e))?;
    flow.pending = Some(PendingChallenge::WebauthnAuthentication {
        state: seal_state(&auth)?,
    });
    c.state.services.store.update_login_flow(&flow).await?;
    Ok(reply::ok(c.jar, json!({ "publicKey": options.public_key })))
}

/// `mfa/finish`: the key must be one of the flow's account; then the second factor has passed.
async fn mfa_finish_inner(c: Call) -> Result<Response, Failure> {
    let tenant = c.tenant().await?;
    let req: Assertion = reply::body(&c.body)?;
    webauthn_allowed(&tenant)?;
    let flow = second_factor_flow(&c, &tenant).await?;
    let user = flow::flow_user(&c.state, &flow)
        .await?
        .ok_or_else(Failure::no_ceremony)?;
    // The account's second factors are throttled across sign-ins, whichever factor failed.
    if let Some(secs) = flow::factor_throttled(&c.state, &tenant, user.id).await? {
        return Err(Failure::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!("Too many failed attempts for this account. Try again in {secs} seconds."),
        )
        .retry_after(secs));
    }
    let (flow, auth) = take_authentication(&c.state, flow).await?;
    let credential_id = ceremony::credential_id_text(&req.credential.raw_id);
    let factor = find_factor(&c.state, &tenant, &credential_id)
        .await?
        .filter(|f| f.user_id == user.id);
    let Some(factor) = factor else {
        return refuse(
            &c,
            &tenant,
            &flow,
            None,
            "unknown_credential",
            Failure::unknown_credential(),
        )
        .await;
    };
    if let Some(handle) = req.credential.response.user_handle.as_deref()
        && handle != user.id.0.as_bytes()
    {
        return refuse(
            &c,
            &tenant,
            &flow,
            None,
            "user_handle_mismatch",
            Failure::unknown_credential(),
        )
        .await;
    }
    let mut record = read_record(&factor)?;
    let proof = match ceremony::finish_authentication(
        &relying_party(&c.state, &tenant)?,
        &req.credential,
        &auth,
        &mut record,
    ) {
        Ok(p) => p,
        Err(r) => return refuse(&c, &tenant, &flow, None, r.reason(), Failure::refused(&r)).await,
    };
    save_use(&c.state, &tenant, &factor, &record).await?;
    let outcome = flow::second_factor_passed(
        &c.state,
        &tenant,
        c.jar.clone(),
        flow,
        &user,
        SecondFactor::Webauthn,
        &[proof.key_amr()],
        req.remember_device,
        &c.info,
    )
    .await
    .map_err(Failure::flow)?;
    Ok(reply::ok(
        outcome.jar,
        json!({ "redirect": outcome.location }),
    ))
}

// --- helpers -----------------------------------------------------------------------------------

fn relying_party(state: &AppState, tenant: &Tenant) -> Result<WebauthnCore, Failure> {
    ceremony::relying_party(&state.services.config.public_url, &tenant.name)
        .map_err(|e| Failure::unavailable("the WebAuthn relying party cannot be configured", e))
}

fn passkey_sign_in_enabled(tenant: &Tenant) -> Result<(), Failure> {
    if tenant.settings.mfa.passkey_sign_in {
        Ok(())
    } else {
        Err(Failure::new(
            StatusCode::FORBIDDEN,
            "passkey_sign_in_disabled",
            "Signing in with a passkey is not enabled here. Sign in with your email and password.",
        ))
    }
}

fn webauthn_allowed(tenant: &Tenant) -> Result<(), Failure> {
    if tenant.settings.mfa.allows(SecondFactor::Webauthn) {
        Ok(())
    } else {
        Err(Failure::new(
            StatusCode::FORBIDDEN,
            "webauthn_not_allowed",
            "Passkeys and security keys are not enabled here.",
        ))
    }
}

fn account_unavailable() -> Failure {
    Failure::new(
        StatusCode::FORBIDDEN,
        "account_unavailable",
        "This account cannot sign in. Please contact your administrator.",
    )
}

fn seal_state<T: serde::Serialize>(s: &T) -> Result<String, Failure> {
    serde_json::to_string(s)
        .map_err(|e| Failure::unavailable("a ceremony state could not be written", e))
}

fn open_state<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, Failure> {
    serde_json::from_str(s)
        .map_err(|e| Failure::unavailable("a stored ceremony state is unreadable", e))
}

fn read_record(f: &Factor) -> Result<Credential, Failure> {
    ceremony::parse_record(f.secret.expose())
        .map_err(|e| Failure::unavailable("a stored credential is unreadable", e))
}

/// The flow of this browser at its second factor.
async fn second_factor_flow(c: &Call, tenant: &Tenant) -> Result<LoginFlow, Failure> {
    flow::current(&c.state, tenant, &c.jar)
        .await
        .filter(|f| f.stage == FlowStage::SecondFactor)
        .ok_or_else(Failure::no_ceremony)
}

/// Takes the flow's pending authentication request: it is answered once, right or wrong.
async fn take_authentication(
    state: &AppState,
    flow: LoginFlow,
) -> Result<(LoginFlow, AuthenticationState), Failure> {
    let Some(PendingChallenge::WebauthnAuthentication { state: s }) = &flow.pending else {
        return Err(Failure::no_ceremony());
    };
    let auth = open_state(s)?;
    Ok((consume(state, flow).await?, auth))
}

/// Clears the flow's pending challenge in the store before the answer is checked.
async fn consume(state: &AppState, mut flow: LoginFlow) -> Result<LoginFlow, Failure> {
    flow.pending = None;
    match state.services.store.update_login_flow(&flow).await {
        Ok(()) => Ok(flow),
        Err(StoreError::NotFound) => Err(Failure::no_ceremony()),
        Err(e) => Err(e.into()),
    }
}

/// Counts a wrong answer (`mfa.failed`, filed under the account when known) and answers with
/// `failure`, or with "too many attempts" once the flow is used up.
async fn refuse(
    c: &Call,
    tenant: &Tenant,
    flow: &LoginFlow,
    user: Option<UserId>,
    reason: &str,
    failure: Failure,
) -> Result<Response, Failure> {
    let mut f = flow.clone();
    if f.user_id.is_none() {
        f.user_id = user;
    }
    let exhausted = flow::wrong_answer(
        &c.state,
        tenant,
        &f,
        SecondFactor::Webauthn,
        reason,
        &c.info,
    )
    .await?;
    tracing::info!(tenant = %tenant.slug, reason, "a WebAuthn response was refused");
    Err(if exhausted && failure.status == StatusCode::UNAUTHORIZED {
        Failure::too_many_attempts()
    } else {
        failure
    })
}

async fn find_factor(
    state: &AppState,
    tenant: &Tenant,
    credential_id: &str,
) -> Result<Option<Factor>, Failure> {
    if credential_id.is_empty() || credential_id.len() > 1400 {
        return Ok(None);
    }
    Ok(state
        .services
        .store
        .find_factor_by_credential_id(tenant.id, credential_id)
        .await?
        .filter(|f| f.kind == FactorKind::Webauthn && f.tenant_id == tenant.id))
}

async fn webauthn_factors(
    state: &AppState,
    tenant: &Tenant,
    user: UserId,
) -> Result<Vec<Factor>, Failure> {
    Ok(state
        .services
        .store
        .list_factors(tenant.id, user)
        .await?
        .into_iter()
        .filter(|f| f.kind == FactorKind::Webauthn && f.is_confirmed())
        .collect())
}

async fn save_use(
    state: &AppState,
    tenant: &Tenant,
    factor: &Factor,
    record: &Credential,
) -> Result<(), Failure> {
    let json = serde_json::to_string(record)
        .map_err(|e| Failure::unavailable("a credential record could not be written", e))?;
    state
        .services
        .store
        .record_webauthn_use(tenant.id, factor.id, &Secret::new(json), Services::now())
        .await?;
    Ok(())
}
