//! Retention (GDPR Art. 5(1)(e), storage limitation): the tenant's policy (`settings.retention`,
//! `settings.audit_retention_days`, each purpose's `expires_after_days`) applied by one job.
//!
//! Per tenant, a pass: deletes accounts whose email is still unverified N days after sign-up;
//! warns accounts inactive for a while by email and deletes them once the warning is old enough
//! and the person still did not sign in; writes an `expired` consent record for grants older than
//! their purpose allows; prunes audit entries past retention. Accounts whose processing is
//! restricted (Art. 18) are never deleted by it. Every account deletion goes through
//! [`crate::privacy_requests::erase_account`] (the account-deletion path), so consent records are
//! pseudonymized and audit entries crypto-shredded as for any other deletion.
//!
//! The same code makes the dry-run report (what a pass would do now, doing nothing) and the run.
//! The background pass runs hourly (first one hour after start), on one node only: it takes the
//! `retention` lease in the database first ([`JobLeaseStore`]); an operator's run for one tenant
//! takes the same lease, so the two never overlap.

use std::time::Duration;

use serde::Serialize;
use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::privacy::{ConsentChannel, ConsentState, PrivacyStore};
use tessera_core::privacy_requests::{JobLeaseStore, PrivacyRequestStore, RetentionStore};
use tessera_core::store::{GrantStore, MfaStore, TenantStore, UserStore};
use tessera_core::tenant::Tenant;
use tessera_core::verification::VerificationStore;
use tessera_core::{CoreError, StoreError, UserId};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::rfc3339;
use crate::app::Services;
use crate::privacy::{NewConsent, record_consent};
use crate::state::AppState;

/// The name of the lease that makes one node run retention.
pub const LEASE: &str = "retention";
/// How long a node holds the lease for one pass; a node that dies lets another take over then.
const LEASE_TTL: time::Duration = time::Duration::minutes(30);
/// How often the background pass runs.
const INTERVAL: Duration = Duration::from_secs(3600);
/// Most accounts (or consents) one rule handles per pass; the rest wait for the next one.
pub const PER_RULE: u32 = 500;

/// Accounts one rule selects.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct AccountRule {
    /// The rule's setting (days); 0: the rule is off.
    pub days: u32,
    pub count: usize,
    /// User ids (at most 500 per pass).
    pub user_ids: Vec<String>,
}

/// Granted consents of one purpose that are older than the purpose allows.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ConsentExpiry {
    pub purpose: String,
    pub expires_after_days: u32,
    pub count: usize,
    pub user_ids: Vec<String>,
}

/// Audit entries past `settings.audit_retention_days` (pruned up to a signed checkpoint).
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct AuditRule {
    /// 0: kept forever.
    pub days: u64,
    pub count: i64,
    /// The audit sequence number up to which entries go.
    pub through_seq: Option<i64>,
}

/// What a retention pass would do (`dry_run`) or did, for one tenant.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RetentionReport {
    pub tenant: String,
    pub dry_run: bool,
    pub generated_at: String,
    /// Accounts deleted because their email is unverified `days` after creation.
    pub unverified_accounts: AccountRule,
    /// Inactive accounts that get the warning email now.
    pub inactive_account_warnings: AccountRule,
    /// Inactive accounts deleted (warned at least `inactive_warning_days` ago, no sign-in since).
    pub inactive_accounts: AccountRule,
    pub consent_expiry: Vec<ConsentExpiry>,
    pub audit_entries: AuditRule,
    /// Expired sessions, codes, tokens, sign-ins in progress and spent email links purged
    /// (deployment-wide; every node also purges them every 10 minutes). `null` in a dry run.
    pub expired_credentials_purged: Option<u64>,
    /// Accounts or consents a rule selected but could not handle (see the log); retried next pass.
    pub failures: u64,
}

fn ids(v: &[UserId]) -> Vec<String> {
    v.iter().map(|u| u.to_string()).collect()
}

fn rule(days: u32, users: &[UserId]) -> AccountRule {
    AccountRule {
        days,
        count: users.len(),
        user_ids: ids(users),
    }
}

/// Drops the accounts whose processing is restricted: the job never deletes or warns them.
async fn unrestricted(
    svc: &Services,
    tenant: &Tenant,
    users: Vec<UserId>,
) -> Result<Vec<UserId>, StoreError> {
    let mut out = Vec::with_capacity(users.len());
    for u in users {
        if svc
            .store
            .processing_restricted(tenant.id, u)
            .await?
            .is_none()
        {
            out.push(u);
        }
    }
    Ok(out)
}

/// One pass over `tenant`: with `dry_run` it only lists, otherwise it acts (as `actor`). The
/// caller holds the lease.
pub async fn run_tenant(
    state: &AppState,
    tenant: &Tenant,
    dry_run: bool,
    actor: Actor,
) -> Result<RetentionReport, CoreError> {
    let svc = &state.services;
    let now = Services::now();
    let policy = &tenant.settings.retention;
    let mut failures = 0;

    let unverified = match policy.unverified_before(now) {
        Some(before) => {
            let found = svc
                .store
                .unverified_accounts(tenant.id, before, PER_RULE)
                .await?;
            unrestricted(svc, tenant, found).await?
        }
        None => Vec::new(),
    };
    let (to_warn, to_delete) = match (
        policy.warn_inactive_before(now),
        policy.delete_inactive_before(now),
    ) {
        (Some(warn_before), Some(delete_before)) => {
            let delete = svc
                .store
                .inactive_warned_accounts(
                    tenant.id,
                    delete_before,
                    policy.warned_before(now),
                    PER_RULE,
                )
                .await?;
            let warn = svc
                .store
                .inactive_unwarned_accounts(tenant.id, warn_before, PER_RULE)
                .await?;
            (
                unrestricted(svc, tenant, warn).await?,
                unrestricted(svc, tenant, delete).await?,
            )
        }
        _ => (Vec::new(), Vec::new()),
    };
    let mut consents = Vec::new();
    for p in svc.store.list_purposes(tenant.id).await? {
        let Some(days) = p.expires_after_days else {
            continue;
        };
        let before = now - time::Duration::days(i64::from(days));
        let users = svc
            .store
            .expired_consents(tenant.id, &p.key, before, PER_RULE)
            .await?;
        consents.push((p, days, users));
    }
    let audit =
        crate::app::audit::retention_plan(svc, tenant.id, tenant.settings.audit_retention_days)
            .await
            .map_err(|e| CoreError::Store(StoreError::Backend(e)))?;

    let mut report = RetentionReport {
        tenant: tenant.slug.clone(),
        dry_run,
        generated_at: rfc3339(now),
        unverified_accounts: rule(policy.unverified_accounts_days, &unverified),
        inactive_account_warnings: rule(policy.inactive_accounts_days, &to_warn),
        inactive_accounts: rule(policy.inactive_accounts_days, &to_delete),
        consent_expiry: consents
            .iter()
            .map(|(p, days, users)| ConsentExpiry {
                purpose: p.key.clone(),
                expires_after_days: *days,
                count: users.len(),
                user_ids: ids(users),
            })
            .collect(),
        audit_entries: AuditRule {
            days: tenant.settings.audit_retention_days,
            count: audit.map(|(anchor, seq)| seq - anchor).unwrap_or(0),
            through_seq: audit.map(|(_, seq)| seq),
        },
        expired_credentials_purged: None,
        failures: 0,
    };
    if dry_run {
        return Ok(report);
    }

    for u in &unverified {
        if let Err(e) = delete_account(state, tenant, *u, "unverified_accounts", &actor).await {
            tracing::warn!(tenant = %tenant.slug, user = %u, error = %e, "retention: could not delete an unverified account");
            failures += 1;
        }
    }
    for u in &to_delete {
        if let Err(e) = delete_account(state, tenant, *u, "inactive_accounts", &actor).await {
            tracing::warn!(tenant = %tenant.slug, user = %u, error = %e, "retention: could not delete an inactive account");
            failures += 1;
        }
    }
    let delete_after = now + time::Duration::days(i64::from(policy.inactive_warning_days));
    for u in &to_warn {
        if let Err(e) = warn_inactive(state, tenant, *u, delete_after, &actor).await {
            tracing::warn!(tenant = %tenant.slug, user = %u, error = %e, "retention: could not warn an inactive account");
            failures += 1;
        }
    }
    for (p, _, users) in &consents {
        for u in users {
            if let Err(e) = expire_consent(state, tenant, p, *u, &actor).await {
                tracing::warn!(tenant = %tenant.slug, user = %u, purpose = %p.key, error = %e, "retention: could not expire a consent");
                failures += 1;
            }
        }
    }
    match crate::app::audit::enforce_retention(svc, tenant.id, tenant.settings.audit_retention_days)
        .await
    {
        Ok(n) if n > 0 => {
            tracing::info!(tenant = %tenant.slug, entries = n, "audit entries past retention pruned")
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(tenant = %tenant.slug, error = %e, "audit retention failed");
            failures += 1;
        }
    }
    report.failures = failures;
    tracing::info!(
        tenant = %tenant.slug,
        unverified = unverified.len(),
        inactive = to_delete.len(),
        warned = to_warn.len(),
        failures,
        "retention pass done"
    );
    Ok(report)
}

async fn delete_account(
    state: &AppState,
    tenant: &Tenant,
    user: UserId,
    rule: &str,
    actor: &Actor,
) -> Result<(), CoreError> {
    let svc = &state.services;
    let Some(u) = svc.store.get_user(tenant.id, user).await? else {
        return Ok(());
    };
    let ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::PrivacyRetentionDeleted { rule: rule.into() },
        actor.clone(),
    )
    .target(Target::new("user", user))
    .subject(user);
    svc.emit(ev).await;
    crate::privacy_requests::erase_account(state, tenant, &u, actor.clone(), rule, false).await
}

async fn warn_inactive(
    state: &AppState,
    tenant: &Tenant,
    user: UserId,
    delete_after: tessera_core::Timestamp,
    actor: &Actor,
) -> Result<(), CoreError> {
    let svc = &state.services;
    let Some(u) = svc.store.get_user(tenant.id, user).await? else {
        return Ok(());
    };
    let date = delete_after
        .format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap_or_default();
    crate::mail::send_templated_for(
        state,
        tenant,
        Some(u.id),
        &u.email,
        "retention_inactive_warning",
        None,
        minijinja::context! { due_date => date },
    )
    .await
    .map_err(|e| CoreError::Store(StoreError::Backend(e.to_string())))?;
    let now = Services::now();
    svc.store
        .record_retention_warning(tenant.id, u.id, now)
        .await?;
    let ev = Event::new(
        tenant.id,
        now,
        EventKind::PrivacyRetentionWarningSent {
            delete_after: rfc3339(delete_after),
        },
        actor.clone(),
    )
    .target(Target::new("user", u.id))
    .subject(u.id);
    svc.emit(ev).await;
    Ok(())
}

async fn expire_consent(
    state: &AppState,
    tenant: &Tenant,
    purpose: &tessera_core::privacy::Purpose,
    user: UserId,
    actor: &Actor,
) -> Result<(), CoreError> {
    // The expiry names the version that was granted.
    let version = state
        .services
        .store
        .consent_history(tenant.id, user, Some(&purpose.key))
        .await?
        .last()
        .and_then(|r| r.policy_version.clone());
    record_consent(
        state,
        tenant,
        NewConsent {
            user,
            purpose,
            state: ConsentState::Expired,
            channel: ConsentChannel::Expiry,
            policy_version: version,
            actor: actor.clone(),
            ip: None,
            user_agent: None,
        },
    )
    .await?;
    Ok(())
}

/// Purges what expired everywhere (deployment-wide, idempotent): grants (codes, tokens,
/// sessions), sign-ins in progress, and email links spent or expired more than a day ago.
/// Returns the rows removed.
pub async fn purge_expired(svc: &Services) -> u64 {
    let now = Services::now();
    let mut total = 0;
    match svc.store.purge_expired_grants(now).await {
        Ok(n) => {
            if n > 0 {
                tracing::info!(rows = n, "purged expired codes and tokens");
            }
            total += n;
        }
        Err(e) => tracing::warn!(error = %e, "maintenance: purge of expired grants failed"),
    }
    // Sign-ins in progress that expired (abandoned at the second factor, unused emailed codes).
    match svc.store.purge_login_flows(now).await {
        Ok(n) => {
            if n > 0 {
                tracing::info!(rows = n, "purged expired sign-ins in progress");
            }
            total += n;
        }
        Err(e) => tracing::warn!(error = %e, "maintenance: purge of sign-ins in progress failed"),
    }
    // Spent or expired email links are kept a day (a late click still finds "already used").
    match svc
        .store
        .purge_verifications(now - time::Duration::days(1))
        .await
    {
        Ok(n) => {
            if n > 0 {
                tracing::info!(rows = n, "purged spent or expired email links");
            }
            total += n;
        }
        Err(e) => tracing::warn!(error = %e, "maintenance: purge of email links failed"),
    }
    total
}

/// Why a run did not happen.
#[derive(Debug)]
pub enum RunError {
    /// Another node (or another run) holds the lease.
    Busy,
    Failed(CoreError),
}

impl From<CoreError> for RunError {
    fn from(e: CoreError) -> Self {
        RunError::Failed(e)
    }
}

impl From<StoreError> for RunError {
    fn from(e: StoreError) -> Self {
        RunError::Failed(e.into())
    }
}

/// Runs `f` holding the `retention` lease, or answers `Busy`.
async fn with_lease<T, F, Fut>(svc: &Services, f: F) -> Result<T, RunError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, RunError>>,
{
    let holder = Uuid::now_v7().to_string();
    let now = Services::now();
    if !svc
        .store
        .try_acquire_lease(LEASE, &holder, now, now + LEASE_TTL)
        .await?
    {
        return Err(RunError::Busy);
    }
    let result = f().await;
    if let Err(e) = svc.store.release_lease(LEASE, &holder).await {
        tracing::warn!(error = %e, "retention: could not release the lease; it expires by itself");
    }
    result
}

/// An operator's run for one tenant, now (under the lease).
pub async fn run_now(
    state: &AppState,
    tenant: &Tenant,
    actor: Actor,
) -> Result<RetentionReport, RunError> {
    with_lease(&state.services, || async {
        let mut report = run_tenant(state, tenant, false, actor).await?;
        report.expired_credentials_purged = Some(purge_expired(&state.services).await);
        Ok::<_, RunError>(report)
    })
    .await
}

/// The background pass over every tenant, on the node that gets the lease.
pub async fn run_scheduled(state: &AppState) {
    let svc = &state.services;
    let r = with_lease(svc, || async {
        for t in svc.store.list_tenants().await? {
            if let Err(e) = run_tenant(state, &t, false, Actor::system()).await {
                tracing::warn!(tenant = %t.slug, error = %e, "retention pass failed");
            }
        }
        purge_expired(svc).await;
        Ok::<_, RunError>(())
    })
    .await;
    match r {
        Ok(()) => {}
        Err(RunError::Busy) => {
            tracing::debug!("retention: another node holds the lease; skipping this pass")
        }
        Err(RunError::Failed(e)) => tracing::warn!(error = %e, "retention: the pass failed"),
    }
}

/// Starts the hourly background pass (the first one an hour after start).
pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let start = tokio::time::Instant::now() + INTERVAL;
        let mut tick = tokio::time::interval_at(start, INTERVAL);
        loop {
            tick.tick().await;
            run_scheduled(&state).await;
        }
    });
}
