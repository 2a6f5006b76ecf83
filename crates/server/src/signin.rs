//! Password sign-in: throttling before the expensive hash, the hash behind the admission gate,
//! equal cost for unknown accounts, transparent upgrade of imported hashes; and the start of a
//! session once every factor the policy asks for has passed.

use std::net::IpAddr;

use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::session::Session;
use tessera_core::store::{SessionStore, ThrottleStore, UserStore};
use tessera_core::tenant::Tenant;
use tessera_core::throttle::{ThrottleDecision, ThrottlePolicy};
use tessera_core::user::{User, normalize_email};
use tessera_core::{Secret, SessionId, TenantId};
use tessera_crypto::{random_token, sha256_hex};

use crate::app::Services;
use crate::app::users::MAX_PASSWORD_CHARS;
use crate::state::AppState;

pub struct SignedIn {
    pub user: User,
    pub session: Session,
    /// The cookie value; only its digest is stored.
    pub token: Secret,
}

#[derive(Debug)]
pub enum SignInError {
    /// Wrong email or password, unknown account or disabled account: one answer for all, so the
    /// response never tells an attacker which accounts exist.
    InvalidCredentials,
    Throttled {
        retry_after_secs: u64,
    },
    Overloaded,
    /// The risk engine refused the attempt before the password was checked (a known-bad network,
    /// credential stuffing or spraying from this source, a blocking rule). Says nothing about
    /// the account.
    RiskBlocked,
    /// The password was right, but a conditional access policy refuses this sign-in.
    PolicyDenied {
        policy: String,
        mfa_required: bool,
    },
    Internal(String),
}

impl From<tessera_core::StoreError> for SignInError {
    fn from(e: tessera_core::StoreError) -> Self {
        SignInError::Internal(e.to_string())
    }
}

/// Checks an email and password (the first factor). The session starts later, once the MFA
/// policy is satisfied (see `crate::mfa::flow`).
pub async fn password_sign_in(
    state: &AppState,
    tenant: &Tenant,
    email: &str,
    password: Secret,
    ip: Option<IpAddr>,
    user_agent: Option<&str>,
    device_id: Option<String>,
) -> Result<User, SignInError> {
    let result = sign_in_inner(state, tenant, email, password, ip, user_agent, device_id).await;
    let refused = match &result {
        Err(SignInError::Throttled { .. }) => Some("throttled"),
        // Only a tenant's first overload refusal since the last flush gets an entry of its own;
        // the others are counted into one entry a second (`flush_refusals`).
        Err(SignInError::Overloaded) => state.refusals.count(tenant.id).then_some("overloaded"),
        Err(SignInError::RiskBlocked) => Some("risk_blocked"),
        _ => None,
    };
    if let Some(reason) = refused {
        let kind = EventKind::SignInFailed {
            method: "password".into(),
            reason: reason.into(),
        };
        let mut ev = Event::new(tenant.id, Services::now(), kind, Actor::anonymous())
            .failed()
            .ip(ip.map(|i| i.to_string()))
            .user_agent(user_agent.map(str::to_string));
        // An overload refusal records no typed email, so it costs no account lookup: in a
        // storm the database and the cores stay with the sign-ins being served.
        let overloaded = matches!(result, Err(SignInError::Overloaded));
        if !overloaded {
            ev = ev.detail("email", email.chars().take(254).collect::<String>().into());
        }
        // The typed email is personal data of the account it names: file it under that user so
        // erasing the user erases it too.
        let normalized = normalize_email(email);
        if !overloaded
            && normalized.len() <= 254
            && let Ok(Some(u)) = state
                .services
                .store
                .find_user_by_email(tenant.id, &normalized)
                .await
        {
            ev = ev.subject(u.id).target(Target::new("user", u.id));
        }
        state.services.emit(ev).await;
    }
    let outcome = match &result {
        Ok(_) => "success",
        Err(SignInError::InvalidCredentials) => "invalid_credentials",
        Err(SignInError::Throttled { .. }) => "throttled",
        Err(SignInError::Overloaded) => "overloaded",
        Err(SignInError::RiskBlocked) => "risk_blocked",
        Err(SignInError::PolicyDenied { .. }) => "policy_denied",
        Err(SignInError::Internal(_)) => "error",
    };
    metrics::counter!("tessera_signins_total", "method" => "password", "outcome" => outcome)
        .increment(1);
    result
}

async fn sign_in_inner(
    state: &AppState,
    tenant: &Tenant,
    email: &str,
    password: Secret,
    ip: Option<IpAddr>,
    user_agent: Option<&str>,
    device_id: Option<String>,
) -> Result<User, SignInError> {
    // In a storm, turn the excess away before any other work.
    if state.gate.is_full() {
        return Err(SignInError::Overloaded);
    }
    let svc = &state.services;
    let store = &svc.store;
    let now = Services::now();
    let normalized = normalize_email(email);
    // Keys are blind-indexed so the throttle table holds no email or IP in the clear.
    let account_key = format!(
        "acct:{}",
        svc.crypto.blind_index("throttle.account", &normalized)
    );
    let ip_key = ip.map(|ip| {
        format!(
            "ip:{}",
            svc.crypto.blind_index("throttle.ip", &ip.to_string())
        )
    });

    // Cheap checks first: a throttled key never reaches the expensive hash. Both counters come
    // in one read.
    let (account_state, ip_state) = store
        .get_throttle_pair(tenant.id, &account_key, ip_key.as_deref())
        .await?;
    allowed(&state.account_throttle, account_state.as_ref(), now)?;
    allowed(&state.ip_throttle, ip_state.as_ref(), now)?;
    // An account with no failures counted has none to clear after a right password (a failure
    // counted meanwhile, by a concurrent attempt, then stays: the stricter outcome).
    let account_had_failures = account_state.is_some();
    let risk_info = crate::risk::AttemptInfo {
        email: &normalized,
        ip,
        user_agent,
        device_id,
        password: Some(crate::risk::PasswordFacts::of(state, password.expose())),
        privileged: false,
    };
    if crate::risk::before_password(state, tenant, &risk_info, "password")
        .await
        .is_some()
    {
        return Err(SignInError::RiskBlocked);
    }

    let user = if normalized.is_empty() || normalized.len() > 254 {
        None
    } else {
        store.find_user_by_email(tenant.id, &normalized).await?
    };
    // The risk check after a right password needs the account's profile: read it while the
    // hash is computed, so the check adds no database wait to the sign-in.
    if let Some(u) = &user {
        crate::risk::prefetch_profile(state, tenant, u);
    }
    let stored_hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let hasher = svc.hasher.clone();
    let too_long = password.expose().chars().count() > MAX_PASSWORD_CHARS;
    let verdict = state
        .gate
        .run(move || {
            metrics::counter!("tessera_password_hash_computations_total", "purpose" => "signin").increment(1);
            if too_long {
                hasher.verify_dummy("");
                return (false, None);
            }
            match stored_hash {
                Some(h) => match hasher.verify(h.expose(), password.expose()) {
                    Ok(c) if c.matched => {
                        // Upgrade imported or outdated hashes while we hold the password.
                        let upgraded = if c.needs_rehash { hasher.hash(password.expose()).ok() } else { None };
                        (true, upgraded)
                    }
                    Ok(_) => (false, None),
                    Err(e) => {
                        tracing::warn!(error = %e, "a stored password hash could not be read; the sign-in is refused");
                        (false, None)
                    }
                },
                None => {
                    hasher.verify_dummy(password.expose());
                    (false, None)
                }
            }
        })
        .await
        .map_err(|_| SignInError::Overloaded)?;
    let (matched, upgraded_hash) = verdict;

    let user = match user {
        Some(u) if matched && u.can_sign_in() => u,
        other => {
            let reason = match &other {
                None => "unknown_account",
                Some(u) if !u.can_sign_in() => "account_disabled",
                Some(_) => "wrong_password",
            };
            let mut ev = Event::new(
                tenant.id,
                now,
                EventKind::SignInFailed {
                    method: "password".into(),
                    reason: reason.into(),
                },
                Actor::anonymous(),
            )
            .failed()
            .ip(ip.map(|i| i.to_string()))
            .user_agent(user_agent.map(str::to_string));
            ev = match &other {
                Some(u) => ev.subject(u.id).target(Target::new("user", u.id)),
                None => ev.detail(
                    "email",
                    normalized.chars().take(254).collect::<String>().into(),
                ),
            };
            svc.emit(ev).await;
            crate::risk::first_factor_failed(state, tenant, &risk_info);
            store
                .record_failure(tenant.id, &account_key, &state.account_throttle, now)
                .await?;
            if let Some(k) = &ip_key {
                store
                    .record_failure(tenant.id, k, &state.ip_throttle, now)
                    .await?;
            }
            tracing::info!(tenant = %tenant.slug, "password sign-in failed");
            return Err(SignInError::InvalidCredentials);
        }
    };

    if account_had_failures {
        store.clear_throttle(tenant.id, &account_key).await?;
    }
    if let Some(h) = upgraded_hash.as_deref() {
        store
            .record_sign_in(tenant.id, user.id, now, Some(h))
            .await?;
        tracing::info!(tenant = %tenant.slug, user = %user.id, "password hash upgraded to the current argon2id parameters");
    }
    Ok(user)
}

/// How often the overload refusals counted by `AppState::refusals` become audit entries.
pub const REFUSALS_FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Audits the overload refusals counted since the last call: one `signin.failed` entry
/// (reason `overloaded`, no IP or user agent) per tenant, with their number in the detail
/// `refused`. Called every [`REFUSALS_FLUSH_EVERY`] and once more at shutdown.
pub async fn flush_refusals(state: &AppState) {
    for (tenant, refused) in state.refusals.take() {
        let kind = EventKind::SignInFailed {
            method: "password".into(),
            reason: "overloaded".into(),
        };
        let ev = Event::new(tenant, Services::now(), kind, Actor::anonymous())
            .failed()
            .detail("refused", refused.into());
        state.services.emit(ev).await;
    }
}

/// Starts the session of a completed sign-in: the access policies are checked once more with
/// every method used (`amr`), then the session is stored and `signin.succeeded` recorded.
///
/// When this browser already holds an active session of the same user (a re-authentication or
/// step-up), that session is renewed in place: same id (applications' `sid` stays valid, no
/// back-channel logout), a new cookie secret, the new methods and auth time.
#[allow(clippy::too_many_arguments)]
pub async fn start_session(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    amr: Vec<String>,
    method_label: &str,
    ip: Option<IpAddr>,
    user_agent: Option<&str>,
    previous: Option<&Session>,
    trusted_device: bool,
) -> Result<SignedIn, SignInError> {
    let svc = &state.services;
    let store = &svc.store;
    let now = Services::now();
    // Conditional access: decided after the factors (so it reveals nothing to a guesser) and
    // before any session exists.
    let decision = crate::app::authz::policy_decision(
        svc,
        &state.authz,
        tenant,
        user,
        None,
        tessera_core::authz::AccessContext {
            ip,
            auth_time: Some(now),
            amr: amr.clone(),
            country: crate::geo::country(state, ip),
            trusted_device,
            ..Default::default()
        },
    )
    .await?;
    let refused = match decision {
        tessera_core::authz::PolicyDecision::Allow => None,
        tessera_core::authz::PolicyDecision::Deny { policy } => Some((policy, false)),
        tessera_core::authz::PolicyDecision::MfaRequired { policy } => Some((policy, true)),
    };
    if let Some((policy, mfa_required)) = refused {
        let reason = if mfa_required {
            "a second factor is required"
        } else {
            "denied by policy"
        };
        let kind = EventKind::AccessDenied {
            policy: policy.clone(),
            client_id: None,
            reason: reason.into(),
        };
        let ev = Event::new(tenant.id, now, kind, Actor::user(user.id))
            .failed()
            .subject(user.id)
            .target(Target::new("user", user.id))
            .ip(ip.map(|i| i.to_string()));
        svc.emit(ev).await;
        return Err(SignInError::PolicyDenied {
            policy,
            mfa_required,
        });
    }
    let token = Secret::new(random_token(32));
    let token_hash = sha256_hex(token.expose().as_bytes());
    let renewing = previous.filter(|p| p.user_id == user.id);
    if renewing.is_some() {
        store.record_sign_in(tenant.id, user.id, now, None).await?;
    }
    if let Some(prev) = renewing
        && store
            .reauthenticate_session(tenant.id, prev.id, &token_hash, &amr, now)
            .await?
    {
        let mut session = prev.clone();
        session.token_hash = token_hash;
        session.auth_methods = amr;
        session.created_at = now;
        session.last_seen_at = now;
        let ev = Event::new(
            tenant.id,
            now,
            EventKind::SignInSucceeded {
                method: method_label.into(),
            },
            Actor::user(user.id),
        )
        .target(Target::new("session", session.id))
        .subject(user.id)
        .ip(ip.map(|i| i.to_string()))
        .user_agent(user_agent.map(str::to_string))
        .detail("reauthentication", true.into());
        svc.emit(ev).await;
        tracing::info!(tenant = %tenant.slug, user = %user.id, session = %session.id, method = method_label, "authenticated again; session renewed");
        return Ok(SignedIn {
            user: user.clone(),
            session,
            token,
        });
    }
    let session = Session {
        id: SessionId::new(),
        tenant_id: tenant.id,
        user_id: user.id,
        token_hash,
        created_at: now,
        last_seen_at: now,
        expires_at: now
            + time::Duration::seconds(tenant.settings.session_absolute_timeout_secs as i64),
        idle_timeout_secs: tenant.settings.session_idle_timeout_secs as i64,
        auth_methods: amr,
        ip: ip.map(|i| i.to_string()),
        user_agent: user_agent.map(|ua| ua.chars().take(512).collect()),
        revoked_at: None,
    };
    // The account's sign-in time and the new session, in one message to the database.
    store.start_session(&session).await?;
    let ev = Event::new(
        tenant.id,
        now,
        EventKind::SignInSucceeded {
            method: method_label.into(),
        },
        Actor::user(user.id),
    )
    .target(Target::new("session", session.id))
    .subject(user.id)
    .ip(session.ip.clone())
    .user_agent(session.user_agent.clone());
    svc.emit(ev).await;
    tracing::info!(tenant = %tenant.slug, user = %user.id, session = %session.id, method = method_label, "signed in");
    Ok(SignedIn {
        user: user.clone(),
        session,
        token,
    })
}

fn allowed(
    policy: &ThrottlePolicy,
    current: Option<&tessera_core::throttle::ThrottleState>,
    now: tessera_core::Timestamp,
) -> Result<(), SignInError> {
    match policy.decide(current, now) {
        ThrottleDecision::Allow => Ok(()),
        ThrottleDecision::Wait { retry_after_secs } => {
            Err(SignInError::Throttled { retry_after_secs })
        }
    }
}

/// Finds the active session for a cookie value, refreshing its idle clock now and then.
pub async fn active_session(
    state: &AppState,
    tenant: TenantId,
    token: &str,
) -> Result<Option<Session>, tessera_core::StoreError> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let store = &state.services.store;
    let Some(session) = store
        .find_session_by_token_hash(tenant, &sha256_hex(token.as_bytes()))
        .await?
    else {
        return Ok(None);
    };
    let now = Services::now();
    if !session.is_active(now) {
        return Ok(None);
    }
    if session.needs_touch(now) {
        store.touch_session(tenant, session.id, now).await?;
    }
    Ok(Some(session))
}
