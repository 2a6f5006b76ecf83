//! The risk engine in the live sign-in path (see docs/risk.md).
//!
//! Every first factor passes here twice:
//! 1. [`before_password`]: the cheap checks on the source (known-bad networks, velocity,
//!    stuffing, spraying, rules on country and network), before the password hash is computed;
//!    a `block` refuses the attempt without spending argon2 time.
//! 2. [`after_first_factor`]: after a right password, passkey, email code or upstream sign-in,
//!    the same checks plus the account's profile (new country, device, network, browser,
//!    unusual hour, impossible travel). `challenge` becomes a step-up with a second factor
//!    (`MfaReason::Risk`), `block` refuses.
//!
//! A refresh-token grant of a public client (the request comes from the person's own device)
//! passes the source checks too ([`refresh`]); a `block` refuses the grant.
//!
//! A completed sign-in teaches the profile ([`learn`]), which is stored sealed in the database
//! (`risk_profiles`), so every node sees it. Velocity windows live in each node's memory, where
//! the checks read them at once, and every count is shared with the other nodes through the
//! database ([`shared`]), so a campaign spread over the nodes is counted whole.
//!
//! Decisions that are not `allow` become `risk.assessed` events (audit, webhooks); every decision
//! is counted in `tessera_risk_decisions_total` and every signal in `tessera_risk_signals_total`.

pub mod device;
pub mod notify;
pub mod pow;
pub mod shared;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum_extra::extract::cookie::CookieJar;
use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::store::{RiskProfileStore, RiskVelocityKind};
use tessera_core::tenant::Tenant;
use tessera_core::user::{User, normalize_email};
use tessera_core::{TenantId, Timestamp, UserId};
use tessera_risk::profile::Profile;
use tessera_risk::{
    Assessment, Attempt, Decision, RiskEngine, RiskMode, RiskSettings, RiskState, Signal,
};

use crate::app::Services;
use crate::state::AppState;

/// Every tenant's engine and state on this node.
#[derive(Default)]
pub struct RiskService {
    tenants: Mutex<HashMap<TenantId, Arc<TenantRisk>>>,
    /// What this node counted, shared with the others through the database (see [`shared`]).
    pub journal: shared::Journal,
    /// Profiles read recently on this node, for the sign-ins in progress (see
    /// [`prefetch_profile`]).
    profiles: Mutex<HashMap<(TenantId, UserId), CachedProfile>>,
}

/// How long a profile read from the database is used without reading it again: the span of a
/// sign-in (the read starts before the password hash; the check after the first factor and the
/// learning at the end use it). Another node's learning within this span is not seen here.
const PROFILE_TTL: std::time::Duration = std::time::Duration::from_secs(5);
/// Above this many cached profiles, stale ones are dropped when one is added.
const PROFILE_SWEEP_AT: usize = 256;

/// One account's profile as read (or being read) from the database; every request that needs
/// it within [`PROFILE_TTL`] waits for the same read.
struct CachedProfile {
    at: std::time::Instant,
    profile: Arc<tokio::sync::OnceCell<Option<Profile>>>,
}

struct TenantRisk {
    /// The tenant's `updated_at` the engine was built from.
    built_from: Timestamp,
    engine: RiskEngine,
    state: Arc<Mutex<RiskState>>,
}

impl TenantRisk {
    /// What the tenant does with an assessment. A refusal it enforces counts against the
    /// attempt's source, here and (through the journal) on the other nodes.
    fn verdict(
        &self,
        state: &AppState,
        tenant: TenantId,
        s: &mut RiskState,
        o: &tessera_risk::Observation,
        assessment: Assessment,
    ) -> Verdict {
        let v = Verdict {
            assessment,
            enforced: self.engine.settings().mode == RiskMode::Enforce,
        };
        if v.effective() == Decision::Block {
            self.engine.record_refused(s, o);
            state
                .risk
                .journal
                .share(tenant, RiskVelocityKind::Refused, o.attempt);
        }
        v
    }
}

/// What the engine said about one attempt, and whether the tenant acts on it.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub assessment: Assessment,
    /// False in `monitor` mode: the decision is recorded, not acted on.
    pub enforced: bool,
}

impl Verdict {
    /// The decision the sign-in must follow (`allow` when not enforced).
    pub fn effective(&self) -> Decision {
        if self.enforced {
            self.assessment.decision
        } else {
            Decision::Allow
        }
    }
}

/// What the caller knows about one attempt.
pub struct AttemptInfo<'a> {
    /// The email typed (password, email code) or the account's address.
    pub email: &'a str,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<&'a str>,
    pub device_id: Option<String>,
    /// What the attempted password tells (spraying, breached list); never the password.
    pub password: Option<PasswordFacts>,
    pub privileged: bool,
}

/// What the engine may know of an attempted password.
#[derive(Clone, Debug)]
pub struct PasswordFacts {
    /// A keyed hash: the same password tried on many accounts is visible, the password is not.
    fingerprint: String,
    breached: bool,
}

impl PasswordFacts {
    pub fn of(state: &AppState, password: &str) -> PasswordFacts {
        let key = &state.derived.risk_password;
        PasswordFacts {
            fingerprint: hex::encode(&tessera_crypto::hmac_sha256(key, password.as_bytes())[..16]),
            breached: tessera_core::password_policy::is_common_password(password),
        }
    }
}

impl RiskService {
    fn tenant(&self, state: &AppState, tenant: &Tenant) -> Option<Arc<TenantRisk>> {
        let settings: &RiskSettings = &tenant.settings.risk;
        if settings.mode == RiskMode::Off {
            return None;
        }
        let mut map = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = map.get(&tenant.id)
            && t.built_from == tenant.updated_at
        {
            return Some(t.clone());
        }
        let geo = state
            .geo
            .clone()
            .map(|g| g as Arc<dyn tessera_risk::geo::GeoLookup>);
        let engine = match RiskEngine::new(settings.clone(), geo) {
            Ok(e) => e,
            Err(e) => {
                // Settings are validated when saved; a stored policy that no longer validates is
                // reported and the engine is skipped rather than failing every sign-in.
                tracing::error!(tenant = %tenant.slug, error = %e, "the tenant's risk settings are invalid; risk checks are skipped until they are fixed");
                return None;
            }
        };
        // Keep what was learned when only the policy changed.
        let state = map
            .get(&tenant.id)
            .map(|t| t.state.clone())
            .unwrap_or_default();
        let t = Arc::new(TenantRisk {
            built_from: tenant.updated_at,
            engine,
            state,
        });
        map.insert(tenant.id, t.clone());
        Some(t)
    }

    /// The cell of `user`'s profile: the cached one while fresh, else a new, empty one (the
    /// caller fills it). `fresh` tells which.
    fn profile_cell(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> (Arc<tokio::sync::OnceCell<Option<Profile>>>, bool) {
        let mut map = self.profiles.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = map.get(&(tenant, user))
            && c.at.elapsed() < PROFILE_TTL
        {
            return (c.profile.clone(), false);
        }
        if map.len() >= PROFILE_SWEEP_AT {
            map.retain(|_, c| c.at.elapsed() < PROFILE_TTL);
        }
        let cell = Arc::new(tokio::sync::OnceCell::new());
        map.insert(
            (tenant, user),
            CachedProfile {
                at: std::time::Instant::now(),
                profile: cell.clone(),
            },
        );
        (cell, true)
    }

    /// After learning: the next sign-in on this node starts from what was just saved.
    fn remember_profile(&self, tenant: TenantId, user: UserId, profile: Profile) {
        let mut map = self.profiles.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(
            (tenant, user),
            CachedProfile {
                at: std::time::Instant::now(),
                profile: Arc::new(tokio::sync::OnceCell::new_with(Some(Some(profile)))),
            },
        );
    }
}

/// Starts reading `user`'s risk profile now, so the check after the first factor finds it
/// without waiting for the database. The password sign-in calls this before the password hash:
/// the read runs while argon2 does, and adds nothing to the sign-in's time. A read nobody takes
/// (a wrong password) is dropped after a few seconds.
pub fn prefetch_profile(state: &AppState, tenant: &Tenant, user: &User) {
    if tenant.settings.risk.mode == RiskMode::Off {
        return;
    }
    let (cell, new) = state.risk.profile_cell(tenant.id, user.id);
    if !new {
        return;
    }
    let (st, tenant_id, user_id) = (state.clone(), tenant.id, user.id);
    tokio::spawn(async move {
        cell.get_or_init(|| read_profile(&st, tenant_id, user_id))
            .await;
    });
}

/// The engine's key for an account: a keyed blind index of the normalized address, so the
/// node's memory holds no email.
fn account_key(state: &AppState, email: &str) -> String {
    state
        .services
        .crypto
        .blind_index("risk.account", &normalize_email(email))
}

fn attempt(state: &AppState, info: &AttemptInfo, now: Timestamp) -> Attempt {
    let mut a = Attempt::new(now, account_key(state, info.email), info.ip);
    a.user_agent = info.user_agent.map(|s| s.chars().take(512).collect());
    a.device_id = info.device_id.clone();
    a.privileged = info.privileged;
    if let Some(pw) = &info.password {
        a.password_fingerprint = Some(pw.fingerprint.clone());
        a.password_breached = pw.breached;
    }
    a
}

fn count(v: &Verdict, stage: &str) {
    let a = &v.assessment;
    metrics::counter!(
        "tessera_risk_decisions_total",
        "decision" => a.decision.as_str(),
        "stage" => stage.to_string(),
        "enforced" => if v.enforced { "true" } else { "false" }
    )
    .increment(1);
    for r in &a.reasons {
        metrics::counter!("tessera_risk_signals_total", "signal" => r.signal.clone()).increment(1);
    }
}

async fn record(
    state: &AppState,
    tenant: &Tenant,
    v: &Verdict,
    stage: &str,
    method: &str,
    user: Option<&User>,
    info: &AttemptInfo<'_>,
) {
    count(v, stage);
    let a = &v.assessment;
    if a.decision == Decision::Allow {
        return;
    }
    let kind = EventKind::RiskAssessed {
        decision: a.decision.as_str().into(),
        score: serde_json::Number::from_f64(a.score).unwrap_or_else(|| 0.into()),
        enforced: v.enforced,
        stage: stage.into(),
        method: method.into(),
        signals: a.reasons.iter().map(|r| r.signal.clone()).collect(),
    };
    let actor = match user {
        Some(u) => Actor::user(u.id),
        None => Actor::anonymous(),
    };
    let mut ev = Event::new(tenant.id, Services::now(), kind, actor)
        .ip(info.ip.map(|i| i.to_string()))
        .user_agent(info.user_agent.map(str::to_string))
        .detail(
            "reasons",
            serde_json::to_value(&a.reasons).unwrap_or_default(),
        );
    if v.enforced && a.decision == Decision::Block {
        ev = ev.failed();
    }
    ev = match user {
        Some(u) => ev.subject(u.id).target(Target::new("user", u.id)),
        None => ev.detail(
            "email",
            info.email.chars().take(254).collect::<String>().into(),
        ),
    };
    state.services.emit(ev).await;
    tracing::info!(
        tenant = %tenant.slug,
        decision = a.decision.as_str(),
        score = a.score,
        enforced = v.enforced,
        stage,
        "risk engine: {}",
        a.reasons.iter().map(|r| r.signal.as_str()).collect::<Vec<_>>().join(", ")
    );
}

/// Stage 1, before the password hash: `Some` when the tenant's engine refuses the attempt (the
/// caller answers with a refusal and computes no hash). Also counts the attempt's source.
pub async fn before_password(
    state: &AppState,
    tenant: &Tenant,
    info: &AttemptInfo<'_>,
    method: &str,
) -> Option<Verdict> {
    let t = state.risk.tenant(state, tenant)?;
    let started = std::time::Instant::now();
    let a = attempt(state, info, Services::now());
    let o = t.engine.observe(&a);
    let verdict = {
        let mut s = t.state.lock().unwrap_or_else(|e| e.into_inner());
        let assessment = t.engine.before_password(&mut s, &o);
        t.verdict(state, tenant.id, &mut s, &o, assessment)
    };
    metrics::histogram!("tessera_risk_evaluation_seconds", "stage" => "before_password")
        .record(started.elapsed().as_secs_f64());
    if verdict.assessment.decision != Decision::Block {
        count(&verdict, "before_password");
        return None;
    }
    record(
        state,
        tenant,
        &verdict,
        "before_password",
        method,
        None,
        info,
    )
    .await;
    (verdict.effective() == Decision::Block).then_some(verdict)
}

/// A sign-up attempt: the source checks plus sign-up velocity. True when the tenant's engine
/// refuses it (nothing may be created then). Accepted sign-ups count toward the velocity
/// ([`registered`]); a form sent back for a typo does not.
pub async fn registration(state: &AppState, tenant: &Tenant, info: &AttemptInfo<'_>) -> bool {
    let Some(t) = state.risk.tenant(state, tenant) else {
        return false;
    };
    let a = attempt(state, info, Services::now());
    let o = t.engine.observe(&a);
    let verdict = {
        let mut s = t.state.lock().unwrap_or_else(|e| e.into_inner());
        let assessment = t.engine.registration(&mut s, &o);
        Verdict {
            assessment,
            enforced: t.engine.settings().mode == RiskMode::Enforce,
        }
    };
    // A challenge has no second factor to ask for at sign-up: it is recorded, and only a block
    // refuses.
    record(
        state,
        tenant,
        &verdict,
        "registration",
        "registration",
        None,
        info,
    )
    .await;
    verdict.effective() == Decision::Block
}

/// An accepted sign-up: counts toward the sign-up velocity of its address, subnet and network.
pub fn registered(state: &AppState, tenant: &Tenant, info: &AttemptInfo<'_>) {
    let Some(t) = state.risk.tenant(state, tenant) else {
        return;
    };
    let a = attempt(state, info, Services::now());
    let o = t.engine.observe(&a);
    let mut s = t.state.lock().unwrap_or_else(|e| e.into_inner());
    t.engine.record_registration(&mut s, &o);
    state
        .risk
        .journal
        .share(tenant.id, RiskVelocityKind::Registration, &a);
}

/// Whether the source of this attempt already looks suspicious (its checks before the password
/// reach `challenge_at`), without recording anything. Decides when a proof of work is due.
pub fn suspicious(state: &AppState, tenant: &Tenant, info: &AttemptInfo<'_>) -> bool {
    let Some(t) = state.risk.tenant(state, tenant) else {
        return false;
    };
    let a = attempt(state, info, Services::now());
    let o = t.engine.observe(&a);
    let mut s = t.state.lock().unwrap_or_else(|e| e.into_inner());
    t.engine.before_password(&mut s, &o).decision >= Decision::Challenge
}

/// A wrong password, an unknown account or a failed code: counts against the account and the
/// source.
pub fn first_factor_failed(state: &AppState, tenant: &Tenant, info: &AttemptInfo<'_>) {
    let Some(t) = state.risk.tenant(state, tenant) else {
        return;
    };
    let a = attempt(state, info, Services::now());
    let o = t.engine.observe(&a);
    let mut s = t.state.lock().unwrap_or_else(|e| e.into_inner());
    t.engine.record_failure(&mut s, &o);
    state
        .risk
        .journal
        .share(tenant.id, RiskVelocityKind::Failure, &a);
}

/// Stage 2, after a right first factor: the source checks again plus the account's profile
/// (loaded from the database, so every node compares with the same history).
pub async fn after_first_factor(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    info: &AttemptInfo<'_>,
    method: &str,
) -> Option<Verdict> {
    let t = state.risk.tenant(state, tenant)?;
    let started = std::time::Instant::now();
    let stored = stored_profile(state, tenant, user).await;
    let a = attempt(state, info, Services::now());
    let o = t.engine.observe(&a);
    let verdict = {
        let mut s = t.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = stored {
            s.set_profile(&a.account, p);
        }
        let assessment = t.engine.after_password(&mut s, &o);
        // The database holds the profile; memory keeps only the velocity windows.
        s.forget_profile(&a.account);
        t.verdict(state, tenant.id, &mut s, &o, assessment)
    };
    metrics::histogram!("tessera_risk_evaluation_seconds", "stage" => "first_factor")
        .record(started.elapsed().as_secs_f64());
    record(
        state,
        tenant,
        &verdict,
        "first_factor",
        method,
        Some(user),
        info,
    )
    .await;
    Some(verdict)
}

/// A refresh-token grant of a public client, whose requests come from the person's own device:
/// the checks on the source (listed networks, velocity, stuffing from that address) and the
/// tenant's rules that run before a password (such as a blocked country). `Some` when the
/// engine refuses the grant. Only `block` acts: nobody is there to answer a second factor, so a
/// `challenge` is recorded and the grant goes on. The account's own failure count is left out,
/// so someone guessing the password cannot cut the owner's applications off.
pub async fn refresh(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    ip: Option<IpAddr>,
    user_agent: Option<&str>,
) -> Option<Verdict> {
    let t = state.risk.tenant(state, tenant)?;
    let started = std::time::Instant::now();
    let info = AttemptInfo {
        email: &user.email,
        ip,
        user_agent,
        device_id: None,
        password: None,
        privileged: false,
    };
    // An account key of its own: the account's failed sign-ins do not count here.
    let mut a = attempt(state, &info, Services::now());
    a.account = format!("refresh:{}", user.id);
    let o = t.engine.observe(&a);
    let verdict = {
        let mut s = t.state.lock().unwrap_or_else(|e| e.into_inner());
        let assessment = t.engine.before_password(&mut s, &o);
        t.verdict(state, tenant.id, &mut s, &o, assessment)
    };
    metrics::histogram!("tessera_risk_evaluation_seconds", "stage" => "refresh")
        .record(started.elapsed().as_secs_f64());
    record(
        state,
        tenant,
        &verdict,
        "refresh",
        "refresh_token",
        Some(user),
        &info,
    )
    .await;
    (verdict.effective() == Decision::Block).then_some(verdict)
}

/// The profile stored for `user`: read from the database (the truth: another node may have
/// learned the last sign-in), or from this node's cache when the same sign-in read it moments ago
/// (see [`prefetch_profile`]).
async fn stored_profile(state: &AppState, tenant: &Tenant, user: &User) -> Option<Profile> {
    let (cell, _) = state.risk.profile_cell(tenant.id, user.id);
    cell.get_or_init(|| read_profile(state, tenant.id, user.id))
        .await
        .clone()
}

async fn read_profile(state: &AppState, tenant: TenantId, user: UserId) -> Option<Profile> {
    match state.services.store.risk_profile(tenant, user).await {
        Ok(p) => p.and_then(|json| serde_json::from_str::<Profile>(&json).ok()),
        Err(e) => {
            tracing::warn!(error = %e, "the risk profile could not be read; the sign-in is compared with what this node remembers");
            None
        }
    }
}

/// A completed sign-in: the profile learns this context (country, network, device, browser,
/// hour, location) and the account's failures are forgiven. Stored sealed. A country or browser
/// the profile did not know earns the owner a "new sign-in" notice (see [`notify`]).
pub async fn learn(state: &AppState, tenant: &Tenant, user: &User, info: &AttemptInfo<'_>) {
    let Some(t) = state.risk.tenant(state, tenant) else {
        return;
    };
    let started = std::time::Instant::now();
    let stored = stored_profile(state, tenant, user).await;
    let a = attempt(state, info, Services::now());
    let o = t.engine.observe(&a);
    let (profile, news) = {
        let mut s = t.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = stored {
            s.set_profile(&a.account, p);
        }
        let news = t.engine.settings().notify_new_sign_in && {
            let seen = t.engine.after_password(&mut s, &o);
            seen.has(Signal::NewCountry) || seen.has(Signal::NewDevice)
        };
        t.engine.record_success(&mut s, &o);
        state
            .risk
            .journal
            .share(tenant.id, RiskVelocityKind::Success, &a);
        (s.forget_profile(&a.account), news)
    };
    metrics::histogram!("tessera_risk_evaluation_seconds", "stage" => "learn")
        .record(started.elapsed().as_secs_f64());
    // Saving the profile need not hold up the sign-in: it runs on its own, and the next sign-in
    // on this node starts from the profile just learned.
    if let Some(profile) = profile {
        let json = serde_json::to_string(&profile).ok();
        state.risk.remember_profile(tenant.id, user.id, profile);
        let (st, tenant_id, user_id, at) = (state.clone(), tenant.id, user.id, a.at);
        tokio::spawn(async move {
            if let Some(json) = json
                && let Err(e) = st
                    .services
                    .store
                    .save_risk_profile(tenant_id, user_id, &json, at)
                    .await
            {
                tracing::warn!(error = %e, "the risk profile could not be saved");
            }
        });
    }
    // A notice (rare: a new country or browser) is queued before the sign-in answers, so its
    // event takes its place in the audit trail.
    if news {
        let facts = notify::SignInFacts {
            at: a.at,
            country: o.geo.country.as_deref(),
            browser: &o.agent.label,
        };
        notify::notice(state, tenant, user, &facts).await;
    }
}

/// The device id this browser carries for the tenant, if its cookie is genuine.
pub fn device_id(state: &AppState, tenant: &Tenant, jar: &CookieJar) -> Option<String> {
    device::read(state, tenant, jar)
}

/// Whether `user` counts as privileged for the tenant's rules: every account of the admin tenant,
/// and members (nested too) of `settings.risk.privileged_groups`.
pub async fn privileged(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
) -> Result<bool, tessera_core::StoreError> {
    if tenant.is_admin() {
        return Ok(true);
    }
    let wanted = &tenant.settings.risk.privileged_groups;
    if wanted.is_empty() || tenant.settings.risk.mode == RiskMode::Off {
        return Ok(false);
    }
    let graph = state.authz.graph(&state.services, tenant.id).await?;
    let direct = crate::app::authz::direct_groups(&state.services, tenant.id, user.id).await?;
    let groups = graph.effective_groups(&direct);
    Ok(wanted
        .iter()
        .filter_map(|g| tessera_core::GroupId::parse(g))
        .any(|g| groups.contains_key(&g)))
}
