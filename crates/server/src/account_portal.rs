//! The journeys behind the account portal (`{issuer}/account`, pages in `crate::pages::account`):
//! editing the profile, moving the account to a new email address, changing (or setting) the
//! password, ending sessions, exporting everything held about the person, and deleting the
//! account now or after the tenant's grace period (with the job that carries it out).
//!
//! The rules live in `tessera_core` (`account`, `user`, `password_policy`, `verification`); this
//! module strings them together with the store, the password hasher (behind the admission gate),
//! the mail outbox and the OpenID Connect back-channel logout. Every change emits its event with
//! the person as the actor.

use std::net::IpAddr;

use fluent_bundle::FluentValue;

use tessera_core::account::{AccountDeletionStore, ScheduledDeletion};
use tessera_core::authz::Principal;
use tessera_core::events::{Actor, AuditFilter, Event, EventKind, Target};
use tessera_core::page::PageRequest;
use tessera_core::password_policy::PasswordRejection;
use tessera_core::registration::FieldProblem;
use tessera_core::session::Session;
use tessera_core::store::{
    AuditStore, AuthzStore, ClientStore, GrantStore, GroupStore, MfaStore, SessionStore,
    ThrottleStore, UserStore,
};
use tessera_core::tenant::Tenant;
use tessera_core::throttle::{ThrottleDecision, ThrottlePolicy};
use tessera_core::user::{User, UserPatch, UserStatus, normalize_email, validate_email};
use tessera_core::verification::{VerificationPurpose, VerificationStore, VerificationToken};
use tessera_core::{CoreError, Secret, SessionId, StoreError, Timestamp};
use tessera_crypto::random_token;

use crate::api::rfc3339;
use crate::app::Services;
use crate::app::users::MAX_PASSWORD_CHARS;
use crate::i18n::{tr, tr_args};
use crate::self_service::{
    SelfServiceError, check_new_password, page_link, password_problem, token_hash,
};
use crate::state::AppState;

/// Email-change requests accepted per account and hour (each one mails two addresses).
const EMAIL_CHANGES_PER_HOUR: u32 = 5;
/// Most audit entries a data export carries (newest first); more are summarized by a count.
const EXPORT_MAX_AUDIT_ENTRIES: usize = 10_000;
/// Scheduled deletions one run of the job handles; the rest wait for the next run.
const DELETIONS_PER_RUN: u32 = 100;
/// How long a node holds a due deletion before another may take it over.
const DELETION_LEASE: time::Duration = time::Duration::minutes(10);

fn user_target(user: &User) -> Target {
    Target::new("user", user.id)
}

fn ua(user_agent: Option<&str>) -> Option<String> {
    user_agent.map(|u| u.chars().take(512).collect())
}

/// Counts one use of a per-account budget (`kind` + the user) and refuses it when `per_hour`
/// uses were made in the last hour.
async fn account_budget(
    state: &AppState,
    tenant: &Tenant,
    kind: &str,
    user: &User,
    per_hour: u32,
) -> Result<(), Refused> {
    let per_hour = per_hour.max(1);
    let policy = ThrottlePolicy {
        free_failures: per_hour - 1,
        base_delay_secs: 3600,
        max_delay_secs: 3600,
        lockout_after: per_hour,
        lockout_secs: 3600,
        window_secs: 3600,
    };
    let key = format!("{kind}:{}", user.id);
    let store = &state.services.store;
    let now = Services::now();
    let current = store.get_throttle(tenant.id, &key).await?;
    if let ThrottleDecision::Wait { retry_after_secs } = policy.decide(current.as_ref(), now) {
        return Err(Refused::Throttled { retry_after_secs });
    }
    store.record_failure(tenant.id, &key, &policy, now).await?;
    Ok(())
}

/// Why a request of the portal was not carried out (the page shows each differently; nothing
/// was changed).
#[derive(Debug)]
pub enum Refused {
    /// Problems with the form, shown next to their fields.
    Invalid(Vec<FieldProblem>),
    /// The action needs a sign-in within the last few minutes.
    ReauthNeeded,
    /// The current password was wrong.
    WrongPassword,
    Throttled {
        retry_after_secs: u64,
    },
    Overloaded,
    Internal(String),
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Refused::Internal(e.to_string())
    }
}

impl From<SelfServiceError> for Refused {
    fn from(e: SelfServiceError) -> Self {
        Refused::Internal(e.to_string())
    }
}

/// Longest name the account keeps (`tessera_core::tenant::validate_display_name`).
const MAX_NAME_CHARS: usize = 200;

fn problem(field: &str, message: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field: field.into(),
        message: message.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Profile

/// A standard profile field as the portal offers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProfileField {
    pub name: &'static str,
    pub input_type: &'static str,
    pub autocomplete: &'static str,
    pub required: bool,
}

/// The profile fields a person may edit: those the tenant's sign-up form asks for, and any other
/// the account already has a value in (so it can be corrected or cleared). Custom attributes are
/// not offered: the tenant's settings do not say which of them people may change themselves.
pub fn profile_fields(tenant: &Tenant, user: &User) -> Vec<ProfileField> {
    let f = &tenant.settings.registration.fields;
    let all = [
        ("name", f.name, "text", "name", &user.name),
        (
            "given_name",
            f.given_name,
            "text",
            "given-name",
            &user.given_name,
        ),
        (
            "family_name",
            f.family_name,
            "text",
            "family-name",
            &user.family_name,
        ),
        ("phone", f.phone, "tel", "tel", &user.phone),
    ];
    all.into_iter()
        .filter(|(_, req, _, _, value)| req.shown() || value.is_some())
        .map(|(name, req, input_type, autocomplete, _)| ProfileField {
            name,
            input_type,
            autocomplete,
            required: req.required(),
        })
        .collect()
}

/// The label of a standard profile field, in the language of the page being answered.
pub fn field_label(field: &str) -> String {
    match field {
        "name" => tr("account-field-name"),
        "given_name" => tr("account-field-given-name"),
        "family_name" => tr("account-field-family-name"),
        _ => tr("account-field-phone"),
    }
}

/// The current value of a standard profile field.
pub fn profile_value<'a>(user: &'a User, field: &str) -> Option<&'a str> {
    match field {
        "name" => user.name.as_deref(),
        "given_name" => user.given_name.as_deref(),
        "family_name" => user.family_name.as_deref(),
        "phone" => user.phone.as_deref(),
        _ => None,
    }
}

fn patch_field(patch: &mut UserPatch, field: &str, value: Option<String>) {
    match field {
        "name" => patch.name = Some(value),
        "given_name" => patch.given_name = Some(value),
        "family_name" => patch.family_name = Some(value),
        "phone" => patch.phone = Some(value),
        _ => {}
    }
}

/// Saves the profile form. `values` holds what the form sent by field name; an empty field is
/// cleared (unless the tenant requires it), a missing one makes the form incomplete. Every field
/// is checked before anything is written. Returns the account as saved.
pub async fn update_profile(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    values: &[(String, String)],
) -> Result<User, Refused> {
    let mut patch = UserPatch::default();
    let mut problems = Vec::new();
    for f in profile_fields(tenant, user) {
        // A browser sends every field of the form, empty or not: a missing one means the form
        // is not the one the page showed (or was cut short), and nothing is guessed.
        let Some((_, raw)) = values.iter().find(|(k, _)| k == f.name) else {
            if problems.iter().all(|p: &FieldProblem| p.field != "form") {
                problems.push(problem("form", tr("account-profile-incomplete")));
            }
            continue;
        };
        let v = raw.trim();
        if v.is_empty() {
            if f.required {
                problems.push(problem(
                    f.name,
                    tr_args(
                        "account-profile-required",
                        &[("field", field_label(f.name).into())],
                    ),
                ));
                continue;
            }
            patch_field(&mut patch, f.name, None);
            continue;
        }
        // The account's own rules decide (the same as the admin API's): one field at a time, so
        // that every problem is reported at once.
        let mut one = UserPatch::default();
        patch_field(&mut one, f.name, Some(v.to_string()));
        match user.clone().apply(one, Services::now()) {
            Ok(_) => patch_field(&mut patch, f.name, Some(v.to_string())),
            Err(CoreError::Invalid { .. }) => {
                let label = || -> FluentValue<'static> { field_label(f.name).into() };
                let message = if f.name == "phone" {
                    tr("account-profile-phone")
                } else if v.chars().count() > MAX_NAME_CHARS {
                    tr_args(
                        "account-profile-too-long",
                        &[("field", label()), ("max", MAX_NAME_CHARS.into())],
                    )
                } else if v.chars().any(char::is_control) {
                    tr_args("account-profile-control", &[("field", label())])
                } else {
                    tr_args("account-profile-invalid", &[("field", label())])
                };
                problems.push(problem(f.name, message));
            }
            Err(e) => return Err(Refused::Internal(e.to_string())),
        }
    }
    if !problems.is_empty() {
        return Err(Refused::Invalid(problems));
    }
    match state
        .services
        .update_user(tenant.id, user.id, patch, Actor::user(user.id))
        .await
    {
        Ok(u) => Ok(u),
        Err(CoreError::Invalid { .. }) => Err(Refused::Invalid(vec![problem(
            "form",
            tr("account-error-attention"),
        )])),
        Err(e) => Err(Refused::Internal(e.to_string())),
    }
}

// ---------------------------------------------------------------------------------------------
// Email change

/// Starts moving the account to `new_email`. When no other account uses the address, a link that
/// completes the change goes to it; when another account does, the address gets "this address
/// already has an account" instead and no link. Either way the old address is told, and the
/// caller shows the same page: nobody learns from it whether the address is taken. The address
/// changes only when the link is used ([`confirm_email_change`]). Needs a recent sign-in (the
/// page checks it). Returns the address as typed (trimmed).
pub async fn request_email_change(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    new_email: &str,
    ip: Option<IpAddr>,
    user_agent: Option<&str>,
) -> Result<String, Refused> {
    let invalid = |m: String| Err(Refused::Invalid(vec![problem("email", m)]));
    if new_email.trim().chars().count() > 254 {
        return invalid(tr("account-email-too-long"));
    }
    let Ok(email) = validate_email(new_email) else {
        return invalid(tr("account-email-invalid"));
    };
    let normalized = normalize_email(&email);
    if normalized == normalize_email(&user.email) {
        return invalid(tr("account-email-same"));
    }
    // The tenant's domain rules are public; they say nothing about accounts.
    if tenant
        .settings
        .registration
        .check_email_domain(&email)
        .is_err()
    {
        let domain = normalized.rsplit_once('@').map_or("", |(_, d)| d);
        return invalid(tr_args(
            "account-email-domain",
            &[("domain", domain.to_string().into())],
        ));
    }
    account_budget(state, tenant, "email-change", user, EMAIL_CHANGES_PER_HOUR).await?;
    let svc = &state.services;
    let now = Services::now();
    let taken = svc
        .store
        .find_user_by_email(tenant.id, &normalized)
        .await?
        .is_some();
    let expires_in_minutes;
    if taken {
        // Only the newest request may work: an older link to another address is retired too.
        svc.store
            .revoke_verifications(
                tenant.id,
                user.id,
                Some(VerificationPurpose::EmailChange),
                now,
            )
            .await?;
        expires_in_minutes = VerificationPurpose::EmailChange
            .default_ttl()
            .whole_minutes();
        crate::mail::send_templated_for(
            state,
            tenant,
            Some(user.id),
            &email,
            "account_email_taken",
            None,
            minijinja::context! {
                link => page_link(state, tenant, "forgot-password", &[("login_hint", &email)]),
            },
        )
        .await
        .map_err(SelfServiceError::from)?;
    } else {
        let token = random_token(32);
        let mut record = VerificationToken::new(
            tenant.id,
            user.id,
            VerificationPurpose::EmailChange,
            token_hash(&token),
            None,
            now,
        );
        record.new_email = Some(email.clone());
        svc.store.issue_verification(&record).await?;
        expires_in_minutes = record.minutes_left(now);
        let link = page_link(state, tenant, "account/email/confirm", &[("token", &token)]);
        crate::mail::send_templated_for(
            state,
            tenant,
            Some(user.id),
            &email,
            "account_email_change",
            None,
            minijinja::context! { link, expires_in_minutes },
        )
        .await
        .map_err(SelfServiceError::from)?;
    }
    crate::mail::send_templated_for(
        state,
        tenant,
        Some(user.id),
        &user.email,
        "account_email_change_notice",
        None,
        minijinja::context! {
            new_email => &email,
            requested_at => rfc3339(now),
            expires_in_minutes,
            link => page_link(state, tenant, "forgot-password", &[]),
        },
    )
    .await
    .map_err(SelfServiceError::from)?;
    let ev = Event::new(
        tenant.id,
        now,
        EventKind::EmailChangeRequested,
        Actor::user(user.id),
    )
    .target(user_target(user))
    .subject(user.id)
    .detail("new_email", email.clone().into())
    .ip(ip.map(|i| i.to_string()))
    .user_agent(ua(user_agent));
    svc.emit(ev).await;
    tracing::info!(tenant = %tenant.slug, user = %user.id, "email change requested");
    Ok(email)
}

/// The link of an email change, if it is still usable (without consuming it: the page shows a
/// button first, so mail scanners that open links change nothing).
pub async fn email_change_link_usable(
    state: &AppState,
    tenant: &Tenant,
    token: &str,
) -> Result<bool, StoreError> {
    if token.is_empty() || token.len() > 128 {
        return Ok(false);
    }
    let found = state
        .services
        .store
        .find_verification(
            tenant.id,
            VerificationPurpose::EmailChange,
            &token_hash(token),
        )
        .await?;
    Ok(found.is_some_and(|t| t.is_usable(Services::now())))
}

/// Completes an email change from its link: the account moves to the new address, which counts
/// as verified (the link proved it). `None` for a link that is unknown, used, replaced or
/// expired, for a disabled account, and when the address was taken by another account in the
/// meantime (one neutral answer for all). Every other outstanding link of the account (sent to
/// the old address) is retired.
pub async fn confirm_email_change(
    state: &AppState,
    tenant: &Tenant,
    token: &str,
) -> Result<Option<User>, SelfServiceError> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let svc = &state.services;
    let now = Services::now();
    let Some(proof) = svc
        .store
        .consume_verification(
            tenant.id,
            VerificationPurpose::EmailChange,
            &token_hash(token),
            now,
        )
        .await?
    else {
        return Ok(None);
    };
    let Some(new_email) = proof.new_email else {
        return Ok(None);
    };
    let Some(user) = svc.store.get_user(tenant.id, proof.user_id).await? else {
        return Ok(None);
    };
    if !user.can_sign_in() {
        return Ok(None);
    }
    let patch = UserPatch {
        email: Some(new_email),
        email_verified: Some(true),
        ..Default::default()
    };
    let user = match svc
        .update_user(tenant.id, user.id, patch, Actor::user(user.id))
        .await
    {
        Ok(u) => u,
        Err(CoreError::Conflict(_) | CoreError::Invalid { .. }) => {
            tracing::info!(tenant = %tenant.slug, user = %user.id, "an email change could not complete: the address is no longer available");
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    // Links mailed to the old address (verification, password reset) no longer apply.
    svc.store
        .revoke_verifications(tenant.id, user.id, None, now)
        .await?;
    let ev = Event::new(
        tenant.id,
        now,
        EventKind::EmailVerified {
            method: "email_change".into(),
        },
        Actor::user(user.id),
    )
    .target(user_target(&user))
    .subject(user.id);
    svc.emit(ev).await;
    tracing::info!(tenant = %tenant.slug, user = %user.id, "email address changed");
    Ok(Some(user))
}

// ---------------------------------------------------------------------------------------------
// Password

/// Changes the password: the current one must be right (or, for an account without a password,
/// the sign-in must be recent), the new one must meet the tenant's policy. The new hash replaces
/// the old one, every other session of the account ends (with back-channel logout), unused reset
/// links and a pending email change are retired, and a notice is mailed. Returns how many other sessions ended.
#[allow(clippy::too_many_arguments)]
pub async fn change_password(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    current_session: &Session,
    current: &str,
    new: &str,
    ip: Option<IpAddr>,
    user_agent: Option<&str>,
) -> Result<u64, Refused> {
    let svc = &state.services;
    let mut problems = Vec::new();
    if user.password_hash.is_some() && current.is_empty() {
        problems.push(problem(
            "current_password",
            tr("account-password-enter-current"),
        ));
    }
    if new.is_empty() {
        problems.push(problem("new_password", tr("account-password-enter-new")));
    }
    if !problems.is_empty() {
        return Err(Refused::Invalid(problems));
    }
    let account_key = format!(
        "acct:{}",
        svc.crypto
            .blind_index("throttle.account", &normalize_email(&user.email))
    );
    match &user.password_hash {
        Some(stored) => {
            // The sign-in throttle of the account also guards this form: a stolen session must
            // not become a way to guess the password.
            let now = Services::now();
            let current_state = svc.store.get_throttle(tenant.id, &account_key).await?;
            if let ThrottleDecision::Wait { retry_after_secs } =
                state.account_throttle.decide(current_state.as_ref(), now)
            {
                return Err(Refused::Throttled { retry_after_secs });
            }
            let hasher = svc.hasher.clone();
            let stored = stored.clone();
            let typed = Secret::new(current.to_string());
            let too_long = current.chars().count() > MAX_PASSWORD_CHARS;
            let matched = state
                .gate
                .run(move || {
                    if too_long {
                        hasher.verify_dummy("");
                        return false;
                    }
                    hasher
                        .verify(stored.expose(), typed.expose())
                        .is_ok_and(|c| c.matched)
                })
                .await
                .map_err(|_| Refused::Overloaded)?;
            if !matched {
                svc.store
                    .record_failure(tenant.id, &account_key, &state.account_throttle, now)
                    .await?;
                let ev = Event::new(
                    tenant.id,
                    now,
                    EventKind::PasswordChanged,
                    Actor::user(user.id),
                )
                .failed()
                .target(user_target(user))
                .subject(user.id)
                .ip(ip.map(|i| i.to_string()))
                .user_agent(ua(user_agent));
                svc.emit(ev).await;
                return Err(Refused::WrongPassword);
            }
        }
        None => {
            if !crate::pages::security::recently_signed_in(current_session) {
                return Err(Refused::ReauthNeeded);
            }
        }
    }
    check_new_password(
        tenant,
        new,
        &user.email,
        &[
            user.name.as_deref(),
            user.given_name.as_deref(),
            user.family_name.as_deref(),
        ],
    )
    .map_err(|r: PasswordRejection| {
        let mut p = password_problem(&r);
        p.field = "new_password".into();
        Refused::Invalid(vec![p])
    })?;
    let hasher = svc.hasher.clone();
    let password = Secret::new(new.to_string());
    let hash = state
        .gate
        .run(move || hasher.hash(password.expose()))
        .await
        .map_err(|_| Refused::Overloaded)?
        .map_err(|e| Refused::Internal(format!("password hashing failed: {e}")))?;
    let user = svc
        .set_password_hash(tenant.id, user.id, Secret::new(hash), Actor::user(user.id))
        .await
        .map_err(|e| Refused::Internal(e.to_string()))?;
    let now = Services::now();
    let ended = end_sessions(
        state,
        tenant,
        &user,
        Some(current_session.id),
        "password_changed",
    )
    .await?;
    // Unused reset links, and a pending move to another address: a person who secures their
    // account this way cancels what someone else may have started with it.
    for purpose in [
        VerificationPurpose::PasswordReset,
        VerificationPurpose::EmailChange,
    ] {
        svc.store
            .revoke_verifications(tenant.id, user.id, Some(purpose), now)
            .await?;
    }
    svc.store.clear_throttle(tenant.id, &account_key).await?;
    tracing::info!(tenant = %tenant.slug, user = %user.id, sessions_ended = ended, "password changed in the account portal");
    if let Err(e) = crate::mail::send_templated_for(
        state,
        tenant,
        Some(user.id),
        &user.email,
        "account_password_changed",
        None,
        minijinja::context! {
            requested_at => rfc3339(now),
            link => page_link(state, tenant, "forgot-password", &[]),
        },
    )
    .await
    {
        tracing::error!(tenant = %tenant.slug, error = %e, "the password-changed notice could not be queued");
    }
    Ok(ended)
}

// ---------------------------------------------------------------------------------------------
// Sessions

/// Ends the account's active sessions except `keep`, each with its back-channel logout.
async fn end_sessions(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    keep: Option<SessionId>,
    reason: &str,
) -> Result<u64, StoreError> {
    let store = &state.services.store;
    let now = Services::now();
    let mut ended = 0;
    for s in store.list_sessions(tenant.id, Some(user.id), now).await? {
        if Some(s.id) == keep {
            continue;
        }
        if store.revoke_session(tenant.id, s.id, now).await? {
            crate::oidc::backchannel::session_ended(
                state,
                tenant,
                &s,
                reason,
                Actor::user(user.id),
            )
            .await;
            ended += 1;
        }
    }
    Ok(ended)
}

/// Ends one of the account's other sessions. False when it is not an active session of this
/// account, or is the current one (that one ends by signing out).
pub async fn revoke_session(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    current: &Session,
    target: SessionId,
) -> Result<bool, StoreError> {
    if target == current.id {
        return Ok(false);
    }
    let store = &state.services.store;
    let now = Services::now();
    let Some(s) = store.get_session(tenant.id, target).await? else {
        return Ok(false);
    };
    if s.user_id != user.id || !s.is_active(now) {
        return Ok(false);
    }
    if !store.revoke_session(tenant.id, s.id, now).await? {
        return Ok(false);
    }
    crate::oidc::backchannel::session_ended(
        state,
        tenant,
        &s,
        "revoked_by_user",
        Actor::user(user.id),
    )
    .await;
    Ok(true)
}

/// Ends every session of the account except the current one; returns how many.
pub async fn revoke_other_sessions(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    current: &Session,
) -> Result<u64, StoreError> {
    end_sessions(state, tenant, user, Some(current.id), "revoked_by_user").await
}

// ---------------------------------------------------------------------------------------------
// Data export

fn opt_time(t: Option<Timestamp>) -> Option<String> {
    t.map(rfc3339)
}

/// Everything Tessera holds about the account, as one JSON document (GDPR Art. 15 and 20): the
/// profile (decrypted), custom attributes, email verification, terms acceptance, sessions
/// (without token hashes), factors (kind, name, dates; no secret), how many recovery codes are
/// left, the applications it consented to, groups, role assignments, the consent history and
/// communication preferences (`privacy`), linked upstream identities, the processing
/// restriction and data-subject requests, and the audit events about it (with their personal
/// part). Records `user.data_exported`.
pub async fn export_account(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    current: &Session,
    ip: Option<IpAddr>,
    user_agent: Option<&str>,
) -> Result<serde_json::Value, StoreError> {
    let doc = export_document(state, tenant, user, Some(current.id)).await?;
    let ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::DataExported,
        Actor::user(user.id),
    )
    .target(user_target(user))
    .subject(user.id)
    .ip(ip.map(|i| i.to_string()))
    .user_agent(ua(user_agent));
    state.services.emit(ev).await;
    tracing::info!(tenant = %tenant.slug, user = %user.id, "account data exported");
    Ok(doc)
}

/// The export document itself (see [`export_account`]), shared with the operator's export in
/// the admin API; `current` marks the session the person asks from. Emits nothing.
pub async fn export_document(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    current: Option<SessionId>,
) -> Result<serde_json::Value, StoreError> {
    let store = &state.services.store;
    let now = Services::now();
    let sessions: Vec<serde_json::Value> = store
        .list_sessions(tenant.id, Some(user.id), now)
        .await?
        .into_iter()
        .map(|s| {
            serde_json::json!({
                "id": s.id.to_string(),
                "current": Some(s.id) == current,
                "created_at": rfc3339(s.created_at),
                "last_seen_at": rfc3339(s.last_seen_at),
                "expires_at": rfc3339(s.expires_at),
                "auth_methods": s.auth_methods,
                "ip": s.ip,
                "user_agent": s.user_agent,
                "device": tessera_core::account::device_summary(s.user_agent.as_deref()),
            })
        })
        .collect();
    let factors: Vec<serde_json::Value> = store
        .list_factors(tenant.id, user.id)
        .await?
        .into_iter()
        .map(|f| {
            serde_json::json!({
                "id": f.id.to_string(),
                "kind": f.kind.as_str(),
                "name": f.name,
                "passkey": f.discoverable,
                "confirmed": f.is_confirmed(),
                "created_at": rfc3339(f.created_at),
                "confirmed_at": opt_time(f.confirmed_at),
                "last_used_at": opt_time(f.last_used_at),
            })
        })
        .collect();
    let recovery_codes_left = store.count_recovery_codes(tenant.id, user.id).await?;
    let mut applications = Vec::new();
    for c in store.list_consents(tenant.id, user.id).await? {
        let name = store
            .get_client(tenant.id, &c.client_id)
            .await?
            .map(|client| client.name);
        applications.push(serde_json::json!({
            "client_id": c.client_id,
            "name": name,
            "scopes": c.scopes,
            "granted_at": rfc3339(c.granted_at),
        }));
    }
    let groups = store.groups_of_user(tenant.id, user.id).await?;
    let roles = store.list_roles(tenant.id).await?;
    let role_name = |id| roles.iter().find(|r| r.id == id).map(|r| r.name.clone());
    let mut assignments = Vec::new();
    let mut principals = vec![(Principal::User(user.id), None)];
    principals.extend(
        groups
            .iter()
            .map(|g| (Principal::Group(g.id), Some(g.name.clone()))),
    );
    for (principal, group_name) in principals {
        for a in store
            .list_assignments(tenant.id, Some(principal), None)
            .await?
        {
            assignments.push(serde_json::json!({
                "id": a.id.to_string(),
                "role_id": a.role_id.to_string(),
                "role": role_name(a.role_id),
                "through_group": group_name,
                "valid_from": opt_time(a.valid_from),
                "valid_until": opt_time(a.valid_until),
                "created_at": rfc3339(a.created_at),
            }));
        }
    }
    let groups: Vec<serde_json::Value> = groups
        .into_iter()
        .map(|g| serde_json::json!({"id": g.id.to_string(), "name": g.name}))
        .collect();
    let (audit_events, audit_truncated) = audit_of(state, tenant, user).await?;
    let attributes = user.attributes.clone();
    let terms = attributes
        .get(tessera_core::registration::TERMS_ATTRIBUTE)
        .cloned();
    let deletion = store.get_scheduled_deletion(tenant.id, user.id).await?;
    let privacy = crate::privacy::export_section(state, tenant, user.id).await?;
    let (processing_restricted_at, privacy_requests) =
        crate::privacy_requests::export_section(state, tenant, user.id).await?;
    // Accounts at upstream providers linked to this one (the kept tokens are secrets: only
    // whether there are some).
    let providers =
        tessera_core::federation::FederationStore::list_identity_providers(store, tenant.id)
            .await?;
    let linked_identities: Vec<serde_json::Value> =
        tessera_core::federation::FederationStore::list_linked_identities(
            store, tenant.id, user.id,
        )
        .await?
        .into_iter()
        .map(|l| {
            let provider = providers.iter().find(|p| p.id == l.provider_id);
            serde_json::json!({
                "id": l.id.to_string(),
                "provider": provider.map(|p| p.alias.clone()),
                "provider_name": provider.map(|p| p.display_name.clone()),
                "subject": l.subject,
                "email": l.email,
                "has_tokens": l.tokens.is_some(),
                "created_at": rfc3339(l.created_at),
                "last_used_at": opt_time(l.last_used_at),
            })
        })
        .collect();
    // What the risk engine learned of the account's sign-ins (countries, networks, devices,
    // browsers, hours, the last place), as stored.
    let risk_profile =
        tessera_core::store::RiskProfileStore::risk_profile(store, tenant.id, user.id)
            .await?
            .and_then(|json| serde_json::from_str::<serde_json::Value>(&json).ok());
    let doc = serde_json::json!({
        "format": "tessera.account-export",
        "version": 1,
        "exported_at": rfc3339(now),
        "issuer": tenant.issuer(&state.services.config.public_url),
        "tenant": { "slug": tenant.slug, "name": tenant.name, "region": tenant.region },
        // Data residency: where the account's data is kept (the tenant's declared region).
        "region": tenant.region,
        "profile": {
            "id": user.id.to_string(),
            "email": user.email,
            "email_verified": user.email_verified,
            "name": user.name,
            "given_name": user.given_name,
            "family_name": user.family_name,
            "phone": user.phone,
            "status": user.status.as_str(),
            "parental_consent_required": tessera_core::registration::parental_consent_pending(user),
            "has_password": user.password_hash.is_some(),
            "created_at": rfc3339(user.created_at),
            "updated_at": rfc3339(user.updated_at),
            "last_login_at": opt_time(user.last_login_at),
        },
        "attributes": attributes,
        "terms_acceptance": terms,
        "privacy": privacy,
        "risk_profile": risk_profile,
        "scheduled_deletion": deletion.map(|d| rfc3339(d.due_at)),
        "sessions": sessions,
        "factors": factors,
        "recovery_codes_left": recovery_codes_left,
        "applications": applications,
        "groups": groups,
        "role_assignments": assignments,
        "audit_events": audit_events,
        "audit_events_truncated": audit_truncated,
        "processing_restricted_at": processing_restricted_at,
        "linked_identities": linked_identities,
        "privacy_requests": privacy_requests,
    });
    Ok(doc)
}

/// The audit entries whose subject is the user, newest first, at most
/// [`EXPORT_MAX_AUDIT_ENTRIES`]; the flag says whether older ones were left out.
async fn audit_of(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
) -> Result<(Vec<serde_json::Value>, bool), StoreError> {
    let filter = AuditFilter {
        subject: Some(user.id.to_string()),
        ..Default::default()
    };
    let mut page = PageRequest {
        after: None,
        limit: Some(tessera_core::page::MAX_PAGE_SIZE),
    };
    let mut out = Vec::new();
    loop {
        let p = state
            .services
            .store
            .list_audit(tenant.id, &filter, &page)
            .await?;
        for (e, personal) in p.items {
            if out.len() == EXPORT_MAX_AUDIT_ENTRIES {
                return Ok((out, true));
            }
            out.push(serde_json::json!({
                "seq": e.seq,
                "id": e.event_id.to_string(),
                "occurred_at": rfc3339(e.occurred_at),
                "type": e.event_type,
                "data": e.body,
                "personal": personal,
            }));
        }
        match p.next_cursor {
            Some(c) => page.after = Some(c),
            None => return Ok((out, false)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Deletion

/// What "delete my account" did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deletion {
    /// The account is gone.
    Deleted,
    /// The account is disabled and will be deleted at this time.
    Scheduled { due_at: Timestamp },
}

/// Deletes the account at its owner's request (the page checked the recent sign-in and the typed
/// confirmation). Every session ends first, each with its back-channel logout, and the account's
/// tokens and links are revoked. With no grace period the account is deleted at once (which
/// also erases its personal data from the audit trail); otherwise it is disabled and scheduled
/// for deletion. A confirmation is mailed either way.
pub async fn delete_account(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    ip: Option<IpAddr>,
    user_agent: Option<&str>,
) -> Result<Deletion, SelfServiceError> {
    let svc = &state.services;
    let now = Services::now();
    let due_at = tenant.settings.account.deletion_due_at(now);
    let grace_days = tenant.settings.account.deletion_grace_days;
    let actor = Actor::user(user.id);
    // Schedule first: if anything below fails, the job finds the account still active and drops
    // the schedule instead of deleting an account its owner can still use.
    if let Some(due_at) = due_at {
        svc.store
            .schedule_deletion(&ScheduledDeletion {
                tenant_id: tenant.id,
                user_id: user.id,
                requested_at: now,
                due_at,
            })
            .await?;
    }
    let sessions = svc
        .store
        .list_sessions(tenant.id, Some(user.id), now)
        .await?;
    svc.store
        .revoke_user_sessions(tenant.id, user.id, now)
        .await?;
    let reason = if due_at.is_some() {
        "account_deletion_requested"
    } else {
        "account_deleted"
    };
    for s in &sessions {
        // Waits until the logout tokens are made: the sessions go with the account.
        crate::oidc::backchannel::session_ended_before_deletion(
            state,
            tenant,
            s,
            reason,
            actor.clone(),
        )
        .await;
    }
    svc.store
        .revoke_user_client_tokens(tenant.id, user.id, None, now)
        .await?;
    svc.store
        .revoke_verifications(tenant.id, user.id, None, now)
        .await?;
    let ev = Event::new(
        tenant.id,
        now,
        EventKind::DeletionRequested {
            grace_days,
            due_at: due_at.map(rfc3339),
        },
        actor.clone(),
    )
    .target(user_target(user))
    .subject(user.id)
    .ip(ip.map(|i| i.to_string()))
    .user_agent(ua(user_agent));
    svc.emit(ev).await;
    match due_at {
        None => {
            notify_deleted(state, tenant, user).await;
            svc.delete_user(tenant.id, user.id, actor).await?;
            tracing::info!(tenant = %tenant.slug, user = %user.id, "account deleted by its owner");
            Ok(Deletion::Deleted)
        }
        Some(due_at) => {
            if user.status == UserStatus::Active {
                let patch = UserPatch {
                    status: Some(UserStatus::Disabled),
                    ..Default::default()
                };
                svc.update_user(tenant.id, user.id, patch, actor).await?;
            }
            let date = due_at
                .format(time::macros::format_description!("[year]-[month]-[day]"))
                .unwrap_or_default();
            if let Err(e) = crate::mail::send_templated_for(
                state,
                tenant,
                Some(user.id),
                &user.email,
                "account_deletion_scheduled",
                None,
                minijinja::context! { due_date => date, requested_at => rfc3339(now) },
            )
            .await
            {
                tracing::error!(tenant = %tenant.slug, error = %e, "the deletion notice could not be queued");
            }
            tracing::info!(tenant = %tenant.slug, user = %user.id, due_at = %rfc3339(due_at), "account scheduled for deletion by its owner");
            Ok(Deletion::Scheduled { due_at })
        }
    }
}

/// Mails "your account was deleted" (queued before the account goes; the outbox keeps no link
/// to the account, so the message survives it).
pub(crate) async fn notify_deleted(state: &AppState, tenant: &Tenant, user: &User) {
    if let Err(e) = crate::mail::send_templated_for(
        state,
        tenant,
        Some(user.id),
        &user.email,
        "account_deleted",
        None,
        minijinja::context! { requested_at => rfc3339(Services::now()) },
    )
    .await
    {
        tracing::error!(tenant = %tenant.slug, error = %e, "the account-deleted notice could not be queued");
    }
}

/// The deletion job (run by `crate::jobs` on every node): deletes the accounts whose grace period
/// is over, each under a lease so that one node handles it. An account an operator enabled again
/// is kept and its schedule dropped (`user.deletion_cancelled`). Returns how many were deleted.
pub async fn run_due_deletions(state: &AppState) -> u64 {
    let svc = &state.services;
    let now = Services::now();
    let due = match svc
        .store
        .claim_due_deletions(now, now + DELETION_LEASE, DELETIONS_PER_RUN)
        .await
    {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "account deletions: cannot claim due deletions");
            return 0;
        }
    };
    let mut deleted = 0;
    for d in due {
        match delete_due(state, &d).await {
            Ok(true) => deleted += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(tenant = %d.tenant_id, user = %d.user_id, error = %e, "account deletions: a due deletion failed; it is retried after its lease")
            }
        }
    }
    deleted
}

async fn delete_due(state: &AppState, d: &ScheduledDeletion) -> Result<bool, CoreError> {
    use tessera_core::store::TenantStore;
    let svc = &state.services;
    let Some(user) = svc.store.get_user(d.tenant_id, d.user_id).await? else {
        svc.store
            .cancel_scheduled_deletion(d.tenant_id, d.user_id)
            .await?;
        return Ok(false);
    };
    if user.status == UserStatus::Active {
        svc.store
            .cancel_scheduled_deletion(d.tenant_id, d.user_id)
            .await?;
        let ev = Event::new(
            d.tenant_id,
            Services::now(),
            EventKind::DeletionCancelled {
                reason: "account_enabled".into(),
            },
            Actor::system(),
        )
        .target(user_target(&user))
        .subject(user.id);
        svc.emit(ev).await;
        tracing::info!(tenant = %d.tenant_id, user = %user.id, "scheduled deletion dropped: the account was enabled again");
        return Ok(false);
    }
    if let Some(tenant) = svc.store.get_tenant(d.tenant_id).await? {
        notify_deleted(state, &tenant, &user).await;
    }
    match svc
        .delete_user(d.tenant_id, d.user_id, Actor::system())
        .await
    {
        Ok(()) | Err(CoreError::NotFound(_)) => {}
        Err(e) => return Err(e),
    }
    tracing::info!(tenant = %d.tenant_id, user = %d.user_id, "account deleted at the end of its grace period");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use tessera_core::registration::FieldRequirement;
    use tessera_core::tenant::Preset;
    use tessera_core::user::NewUser;

    use super::*;

    #[test]
    fn the_profile_offers_the_sign_up_fields_and_those_already_filled_in() {
        let now = time::macros::datetime!(2026-06-04 12:00 UTC);
        let mut tenant = Tenant::new("shop", None, Preset::Customer, now).unwrap();
        let user = |phone: Option<&str>| {
            User::create(
                tenant.id,
                NewUser {
                    email: "ann@shop.test".into(),
                    phone: phone.map(str::to_string),
                    ..Default::default()
                },
                None,
                now,
            )
            .unwrap()
        };
        let names = |t: &Tenant, u: &User| -> Vec<&'static str> {
            profile_fields(t, u).iter().map(|f| f.name).collect()
        };
        // Default sign-up form: the name only.
        assert_eq!(names(&tenant, &user(None)), ["name"]);
        // A phone number set by an operator can be corrected or cleared.
        assert_eq!(
            names(&tenant, &user(Some("+4930123456"))),
            ["name", "phone"]
        );
        tenant.settings.registration.fields.family_name = FieldRequirement::Required;
        tenant.settings.registration.fields.name = FieldRequirement::Hidden;
        let fields = profile_fields(&tenant, &user(None));
        assert_eq!(fields.len(), 1);
        assert_eq!(
            (fields[0].name, fields[0].required, fields[0].autocomplete),
            ("family_name", true, "family-name")
        );
        let u = user(Some("+4930123456"));
        assert_eq!(profile_value(&u, "phone"), Some("+4930123456"));
        assert_eq!(profile_value(&u, "name"), None);
    }
}
