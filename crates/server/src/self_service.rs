//! The self-service journeys behind the hosted pages and the admin API: registration, email
//! verification and password recovery. The rules live in `tessera_core::registration`,
//! `tessera_core::password_policy` and `tessera_core::verification`; this module strings them
//! together with the store, the password hasher (behind the admission gate) and the mail outbox.
//!
//! Answers never tell whether an address has an account: registration and "forgot password" do
//! the same visible work (validation, one password hash for registration, one lookup) for every
//! address and then hand the account-specific part (creating the account, mailing a link, or
//! telling an existing account that someone tried to register) to a background task.

use std::net::IpAddr;

use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::password_policy::{PasswordRejection, personal_inputs};
use tessera_core::registration::{FieldProblem, RegistrationInput, validate_registration};
use tessera_core::store::{GrantStore, ThrottleStore, UserStore};
use tessera_core::tenant::Tenant;
use tessera_core::throttle::{ThrottleDecision, ThrottlePolicy};
use tessera_core::user::{User, UserPatch, normalize_email};
use tessera_core::verification::{
    MAX_CODE_ATTEMPTS, VerificationPurpose, VerificationStore, VerificationToken,
};
use tessera_core::{CoreError, Secret, StoreError};
use tessera_crypto::{random_bytes, random_token, sha256_hex};

use crate::app::Services;
use crate::pages::issuer_path;
use crate::state::AppState;

/// Wrong verification codes accepted per client IP and hour (across accounts).
const CODE_ATTEMPTS_PER_IP_PER_HOUR: u32 = 30;

#[derive(Debug, thiserror::Error)]
pub enum SelfServiceError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Mail(#[from] crate::mail::MailError),
    #[error("{0}")]
    Core(#[from] CoreError),
}

/// Why a registration or recovery request was not accepted (the page shows each differently).
#[derive(Debug)]
pub enum RequestRefused {
    /// Problems with the form, shown next to their fields.
    Invalid(Vec<FieldProblem>),
    Throttled {
        retry_after_secs: u64,
    },
    Overloaded,
    Internal(String),
}

impl From<StoreError> for RequestRefused {
    fn from(e: StoreError) -> Self {
        RequestRefused::Internal(e.to_string())
    }
}

/// A link and code just issued (only their hashes are stored).
struct Proof {
    token: String,
    code: String,
    minutes: i64,
}

/// A uniformly random 6-digit code.
fn new_code() -> String {
    loop {
        let n = u32::from_be_bytes(random_bytes::<4>());
        // Rejection sampling: the top of the u32 range would favour low codes.
        if n < 4_294_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// The keyed hash a code is stored as: a 6-digit code alone could be reversed from a database
/// dump in a moment.
pub fn code_hash(svc: &Services, user: &User, purpose: VerificationPurpose, code: &str) -> String {
    svc.crypto.blind_index(
        "verification.code",
        &format!("{}:{}:{}", user.id, purpose.as_str(), code.trim()),
    )
}

/// Hash of a link token as stored.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

async fn issue(
    svc: &Services,
    user: &User,
    purpose: VerificationPurpose,
) -> Result<Proof, StoreError> {
    let token = random_token(32);
    let code = new_code();
    let now = Services::now();
    let record = VerificationToken::new(
        user.tenant_id,
        user.id,
        purpose,
        token_hash(&token),
        Some(code_hash(svc, user, purpose, &code)),
        now,
    );
    svc.store.issue_verification(&record).await?;
    Ok(Proof {
        token,
        code,
        minutes: record.minutes_left(now),
    })
}

/// An absolute link to a hosted page of the tenant, with the query parameters given.
pub fn page_link(state: &AppState, tenant: &Tenant, page: &str, query: &[(&str, &str)]) -> String {
    let base = format!(
        "{}{}/{page}",
        state.services.config.public_url.trim_end_matches('/'),
        issuer_path(&tenant.slug)
    );
    let q: Vec<(&str, &str)> = query
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .copied()
        .collect();
    if q.is_empty() {
        return base;
    }
    match serde_urlencoded::to_string(&q) {
        Ok(qs) => format!("{base}?{qs}"),
        Err(_) => base,
    }
}

async fn emit_sent(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    purpose: VerificationPurpose,
    reason: &str,
    actor: Actor,
) {
    let kind = EventKind::VerificationSent {
        purpose: purpose.as_str().into(),
        reason: reason.into(),
    };
    let ev = Event::new(tenant.id, Services::now(), kind, actor)
        .target(Target::new("user", user.id))
        .subject(user.id);
    state.services.emit(ev).await;
}

/// Mails `user` a link (and a 6-digit code) that verifies their address. `return_to` is carried
/// in the link so that the person lands back in the application afterwards.
pub async fn send_verification_email(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    reason: &str,
    actor: Actor,
    return_to: Option<&str>,
) -> Result<(), SelfServiceError> {
    let purpose = VerificationPurpose::VerifyEmail;
    let proof = issue(&state.services, user, purpose).await?;
    let link = page_link(
        state,
        tenant,
        "verify-email",
        &[
            ("token", &proof.token),
            ("return_to", return_to.unwrap_or("")),
        ],
    );
    crate::mail::send_templated_for(
        state,
        tenant,
        Some(user.id),
        &user.email,
        "verify_email_code",
        None,
        minijinja::context! { link, code => proof.code, expires_in_minutes => proof.minutes },
    )
    .await?;
    emit_sent(state, tenant, user, purpose, reason, actor).await;
    Ok(())
}

/// What [`send_password_reset`] mailed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecoveryMail {
    /// A link to choose a new password.
    PasswordReset,
    /// The account has no password: a link (and code) that verifies the address instead.
    PasswordlessRecovery,
}

impl RecoveryMail {
    pub fn as_str(self) -> &'static str {
        match self {
            RecoveryMail::PasswordReset => "password_reset",
            RecoveryMail::PasswordlessRecovery => "passwordless_recovery",
        }
    }
}

/// Issues a recovery link for `user`: a password reset, or for an account without a password an
/// email verification (which is how such an account is recovered). Returns the link, its minutes
/// left, and which one it is.
async fn recovery_link(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    return_to: Option<&str>,
) -> Result<(String, Proof, RecoveryMail), StoreError> {
    let ret = return_to.unwrap_or("");
    if user.password_hash.is_some() {
        let proof = issue(&state.services, user, VerificationPurpose::PasswordReset).await?;
        let link = page_link(
            state,
            tenant,
            "reset-password",
            &[("token", &proof.token), ("return_to", ret)],
        );
        Ok((link, proof, RecoveryMail::PasswordReset))
    } else {
        let proof = issue(&state.services, user, VerificationPurpose::VerifyEmail).await?;
        let link = page_link(
            state,
            tenant,
            "verify-email",
            &[("token", &proof.token), ("return_to", ret)],
        );
        Ok((link, proof, RecoveryMail::PasswordlessRecovery))
    }
}

/// Mails `user` the way back into their account ("forgot password", or an operator's request).
pub async fn send_password_reset(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    reason: &str,
    actor: Actor,
    return_to: Option<&str>,
) -> Result<RecoveryMail, SelfServiceError> {
    let (link, proof, kind) = recovery_link(state, tenant, user, return_to).await?;
    let (template, purpose, reason) = match kind {
        RecoveryMail::PasswordReset => {
            ("password_reset", VerificationPurpose::PasswordReset, reason)
        }
        RecoveryMail::PasswordlessRecovery => (
            "recovery_passwordless",
            VerificationPurpose::VerifyEmail,
            "passwordless_recovery",
        ),
    };
    crate::mail::send_templated_for(
        state,
        tenant,
        Some(user.id),
        &user.email,
        template,
        None,
        minijinja::context! { link, code => proof.code, expires_in_minutes => proof.minutes },
    )
    .await?;
    emit_sent(state, tenant, user, purpose, reason, actor).await;
    Ok(kind)
}

/// Tells the owner of an existing account that someone tried to register with their address,
/// with a way back in (so a person who forgot they had an account is helped, and nobody else
/// learns anything).
async fn notify_existing_account(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    return_to: Option<&str>,
) -> Result<(), SelfServiceError> {
    let (link, proof, kind) = recovery_link(state, tenant, user, return_to).await?;
    crate::mail::send_templated_for(
        state,
        tenant,
        Some(user.id),
        &user.email,
        "registration_exists",
        None,
        minijinja::context! { link, expires_in_minutes => proof.minutes },
    )
    .await?;
    let purpose = match kind {
        RecoveryMail::PasswordReset => VerificationPurpose::PasswordReset,
        RecoveryMail::PasswordlessRecovery => VerificationPurpose::VerifyEmail,
    };
    emit_sent(
        state,
        tenant,
        user,
        purpose,
        "registration_duplicate",
        Actor::anonymous(),
    )
    .await;
    Ok(())
}

/// Counts one request of a kind (`reg`, `recovery`, `code`) from `ip` and refuses it when the
/// address has used up `per_hour` requests in the last hour.
pub async fn ip_budget(
    state: &AppState,
    tenant: &Tenant,
    kind: &str,
    ip: IpAddr,
    per_hour: u32,
) -> Result<(), RequestRefused> {
    let svc = &state.services;
    let per_hour = per_hour.max(1);
    let policy = ThrottlePolicy {
        free_failures: per_hour - 1,
        base_delay_secs: 3600,
        max_delay_secs: 3600,
        lockout_after: per_hour,
        lockout_secs: 3600,
        window_secs: 3600,
    };
    let key = format!(
        "{kind}-ip:{}",
        svc.crypto.blind_index("throttle.ip", &ip.to_string())
    );
    let now = Services::now();
    let current = svc.store.get_throttle(tenant.id, &key).await?;
    if let ThrottleDecision::Wait { retry_after_secs } = policy.decide(current.as_ref(), now) {
        return Err(RequestRefused::Throttled { retry_after_secs });
    }
    svc.store
        .record_failure(tenant.id, &key, &policy, now)
        .await?;
    Ok(())
}

/// The words the strength estimate treats as known to an attacker for this person.
fn password_context(email: &str, names: &[Option<&str>], tenant: &Tenant) -> Vec<String> {
    let names: Vec<&str> = names.iter().flatten().copied().collect();
    let mut words: Vec<String> = personal_inputs(email, &names)
        .into_iter()
        .map(str::to_string)
        .collect();
    words.push(tenant.name.clone());
    words.push(tenant.slug.clone());
    words
}

/// Whether people may sign up without a password: the tenant offers a passwordless way in
/// (emailed codes or links; passkeys are added on the security page once signed in).
pub fn passwordless_allowed(tenant: &Tenant) -> bool {
    let m = &tenant.settings.mfa;
    m.email_code_sign_in || m.magic_link_sign_in
}

/// Checks a new password against the tenant's policy, for the person it will belong to.
pub fn check_new_password(
    tenant: &Tenant,
    password: &str,
    email: &str,
    names: &[Option<&str>],
) -> Result<(), PasswordRejection> {
    let words = password_context(email, names, tenant);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    tenant.settings.password_policy.check(password, &words)
}

/// One line for the page out of a refused password: the problem and zxcvbn's advice.
pub fn password_problem(r: &PasswordRejection) -> FieldProblem {
    FieldProblem {
        field: "password".into(),
        // In the language of the page being answered.
        message: crate::i18n::problems::password_rejection(r),
    }
}

/// A registration as the page hands it over.
pub struct Registration {
    pub input: RegistrationInput,
    pub password: Secret,
    pub return_to: Option<String>,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

/// Validates a sign-up, hashes its password (for new and known addresses alike), and hands the
/// rest to a background task: a new account is created and sent a verification email; a known
/// address gets a message that someone tried to register with it. The caller shows the same
/// "check your email" page either way.
pub async fn register(
    state: &AppState,
    tenant: &Tenant,
    reg: Registration,
) -> Result<(), RequestRefused> {
    let now = Services::now();
    let settings = &tenant.settings.registration;
    let validated = validate_registration(settings, tenant.id, &reg.input, now);
    let email = reg.input.email.trim().to_string();
    // Passwordless sign-up: no password, when the tenant offers a way in without one.
    let passwordless = reg.password.expose().is_empty() && passwordless_allowed(tenant);
    let password_checked = if passwordless {
        Ok(())
    } else {
        check_new_password(
            tenant,
            reg.password.expose(),
            &email,
            &[
                Some(reg.input.name.as_str()),
                Some(reg.input.given_name.as_str()),
                Some(reg.input.family_name.as_str()),
            ],
        )
    };
    let new_user = match (validated, password_checked) {
        (Ok(u), Ok(())) => u,
        (v, p) => {
            let mut problems = v.err().unwrap_or_default();
            if let Err(r) = p {
                problems.push(password_problem(&r));
            }
            return Err(RequestRefused::Invalid(problems));
        }
    };
    let svc = &state.services;
    let existing = svc
        .store
        .find_user_by_email(tenant.id, &normalize_email(&new_user.email))
        .await?;
    // The expensive hash runs for every accepted form with a password, so timing does not tell
    // new from known (a passwordless form does the same no-hash work for both).
    let hash = if passwordless {
        None
    } else {
        let hasher = svc.hasher.clone();
        let password = reg.password;
        Some(
            state
                .gate
                .run(move || hasher.hash(password.expose()))
                .await
                .map_err(|_| RequestRefused::Overloaded)?
                .map_err(|e| RequestRefused::Internal(format!("password hashing failed: {e}")))?,
        )
    };
    let (state, tenant) = (state.clone(), tenant.clone());
    // In the language of the request that asked (see `i18n::carry`).
    tokio::spawn(crate::i18n::carry(async move {
        let result = match existing {
            Some(user) => {
                notify_existing_account(&state, &tenant, &user, reg.return_to.as_deref()).await
            }
            None => {
                create_registered_account(
                    &state,
                    &tenant,
                    new_user,
                    hash.map(Secret::new),
                    reg.return_to.as_deref(),
                    reg.ip,
                    reg.user_agent,
                )
                .await
            }
        };
        if let Err(e) = result {
            tracing::error!(tenant = %tenant.slug, error = %e, "a registration could not be completed");
        }
    }));
    Ok(())
}

async fn create_registered_account(
    state: &AppState,
    tenant: &Tenant,
    new_user: tessera_core::user::NewUser,
    hash: Option<Secret>,
    return_to: Option<&str>,
    ip: Option<IpAddr>,
    user_agent: Option<String>,
) -> Result<(), SelfServiceError> {
    let svc = &state.services;
    let email = new_user.email.clone();
    let user = match svc
        .create_user(tenant.id, new_user, hash, Actor::anonymous())
        .await
    {
        Ok(u) => u,
        // Registered a moment ago by a concurrent request: treat it as a known address.
        Err(CoreError::Conflict(_)) => {
            if let Some(u) = svc
                .store
                .find_user_by_email(tenant.id, &normalize_email(&email))
                .await?
            {
                notify_existing_account(state, tenant, &u, return_to).await?;
            }
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let ev = Event::new(
        tenant.id,
        user.created_at,
        EventKind::UserRegistered,
        Actor::user(user.id),
    )
    .target(Target::new("user", user.id))
    .subject(user.id)
    .ip(ip.map(|i| i.to_string()))
    .user_agent(user_agent.clone().map(|ua| ua.chars().take(512).collect()));
    svc.emit(ev).await;
    tracing::info!(tenant = %tenant.slug, user = %user.id, "account registered");
    // Privacy: the accepted terms become consent records (channel `signup`) of the purposes
    // bound to the `terms` document.
    if tenant.settings.registration.terms.is_some()
        && let Err(e) =
            crate::privacy::record_signup_terms(state, tenant, user.id, ip, user_agent.as_deref())
                .await
    {
        tracing::error!(tenant = %tenant.slug, error = %e, "the accepted terms could not be recorded as consent");
    }
    send_verification_email(
        state,
        tenant,
        &user,
        "registration",
        Actor::user(user.id),
        return_to,
    )
    .await
}

/// "Forgot password": after the same lookup for every address, mails a recovery link in the
/// background when an active account has it. Nothing tells the caller which happened.
pub async fn request_password_reset(
    state: &AppState,
    tenant: &Tenant,
    email: &str,
    return_to: Option<String>,
) -> Result<(), RequestRefused> {
    let normalized = normalize_email(email);
    let user = state
        .services
        .store
        .find_user_by_email(tenant.id, &normalized)
        .await?;
    let Some(user) = user.filter(User::can_sign_in) else {
        return Ok(());
    };
    let (state, tenant) = (state.clone(), tenant.clone());
    // In the language of the request that asked (see `i18n::carry`).
    tokio::spawn(crate::i18n::carry(async move {
        if let Err(e) = send_password_reset(
            &state,
            &tenant,
            &user,
            "forgot_password",
            Actor::anonymous(),
            return_to.as_deref(),
        )
        .await
        {
            tracing::error!(tenant = %tenant.slug, error = %e, "a password reset mail could not be queued");
        }
    }));
    Ok(())
}

/// Marks the address of a proven token's user verified (once) and records how.
async fn mark_verified(
    state: &AppState,
    tenant: &Tenant,
    proof: &VerificationToken,
    method: &str,
) -> Result<User, SelfServiceError> {
    let svc = &state.services;
    let user = svc.user(tenant.id, proof.user_id).await?;
    if user.email_verified {
        return Ok(user);
    }
    let patch = UserPatch {
        email_verified: Some(true),
        ..Default::default()
    };
    let user = svc
        .update_user(tenant.id, user.id, patch, Actor::user(user.id))
        .await?;
    let ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::EmailVerified {
            method: method.into(),
        },
        Actor::user(user.id),
    )
    .target(Target::new("user", user.id))
    .subject(user.id);
    svc.emit(ev).await;
    Ok(user)
}

/// Verifies an address from the emailed link. `None`: the link is unknown, used, replaced by a
/// newer one, or expired.
pub async fn verify_with_token(
    state: &AppState,
    tenant: &Tenant,
    token: &str,
) -> Result<Option<User>, SelfServiceError> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let purpose = VerificationPurpose::VerifyEmail;
    let Some(proof) = state
        .services
        .store
        .consume_verification(tenant.id, purpose, &token_hash(token), Services::now())
        .await?
    else {
        return Ok(None);
    };
    mark_verified(state, tenant, &proof, "link").await.map(Some)
}

/// Verifies an address from the 6-digit code of the email. `None`: unknown address, wrong or
/// expired code, or too many wrong codes (one answer for all).
pub async fn verify_with_code(
    state: &AppState,
    tenant: &Tenant,
    email: &str,
    code: &str,
) -> Result<Option<User>, SelfServiceError> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let svc = &state.services;
    let normalized = normalize_email(email);
    if normalized.is_empty() || normalized.len() > 254 {
        return Ok(None);
    }
    let Some(user) = svc.store.find_user_by_email(tenant.id, &normalized).await? else {
        return Ok(None);
    };
    let purpose = VerificationPurpose::VerifyEmail;
    let Some(proof) = svc
        .store
        .consume_verification_code(
            tenant.id,
            user.id,
            purpose,
            &code_hash(svc, &user, purpose, code),
            MAX_CODE_ATTEMPTS,
            Services::now(),
        )
        .await?
    else {
        return Ok(None);
    };
    mark_verified(state, tenant, &proof, "code").await.map(Some)
}

/// Per-IP budget of code attempts.
pub async fn code_budget(
    state: &AppState,
    tenant: &Tenant,
    ip: IpAddr,
) -> Result<(), RequestRefused> {
    ip_budget(state, tenant, "code", ip, CODE_ATTEMPTS_PER_IP_PER_HOUR).await
}

/// The user a usable reset link belongs to, without consuming it (the form is shown first).
pub async fn reset_link_owner(
    state: &AppState,
    tenant: &Tenant,
    token: &str,
) -> Result<Option<User>, SelfServiceError> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let svc = &state.services;
    let found = svc
        .store
        .find_verification(
            tenant.id,
            VerificationPurpose::PasswordReset,
            &token_hash(token),
        )
        .await?;
    match found.filter(|t| t.is_usable(Services::now())) {
        Some(t) => Ok(svc.store.get_user(tenant.id, t.user_id).await?),
        None => Ok(None),
    }
}

/// Why a reset did not happen.
#[derive(Debug)]
pub enum ResetRefused {
    /// Unknown, used, replaced or expired link.
    BadLink,
    Password(PasswordRejection),
    Overloaded,
    Internal(String),
}

impl From<StoreError> for ResetRefused {
    fn from(e: StoreError) -> Self {
        ResetRefused::Internal(e.to_string())
    }
}

impl From<SelfServiceError> for ResetRefused {
    fn from(e: SelfServiceError) -> Self {
        ResetRefused::Internal(e.to_string())
    }
}

/// Sets a new password from a reset link: checks the policy, hashes behind the gate, consumes
/// the link atomically, ends every session and token of the account (with back-channel logout),
/// marks the address verified (the link proved it), lifts a sign-in lockout, and mails a
/// notification.
pub async fn reset_password(
    state: &AppState,
    tenant: &Tenant,
    token: &str,
    password: Secret,
    ip: Option<IpAddr>,
    user_agent: Option<&str>,
) -> Result<User, ResetRefused> {
    let Some(user) = reset_link_owner(state, tenant, token).await? else {
        return Err(ResetRefused::BadLink);
    };
    check_new_password(
        tenant,
        password.expose(),
        &user.email,
        &[
            user.name.as_deref(),
            user.given_name.as_deref(),
            user.family_name.as_deref(),
        ],
    )
    .map_err(ResetRefused::Password)?;
    let svc = &state.services;
    let hasher = svc.hasher.clone();
    let hash = state
        .gate
        .run(move || hasher.hash(password.expose()))
        .await
        .map_err(|_| ResetRefused::Overloaded)?
        .map_err(|e| ResetRefused::Internal(format!("password hashing failed: {e}")))?;
    let now = Services::now();
    // Only now is the link spent: a refused password leaves it usable for another try.
    let Some(proof) = svc
        .store
        .consume_verification(
            tenant.id,
            VerificationPurpose::PasswordReset,
            &token_hash(token),
            now,
        )
        .await?
    else {
        return Err(ResetRefused::BadLink);
    };
    let mut user = svc
        .user(tenant.id, proof.user_id)
        .await
        .map_err(|e| ResetRefused::Internal(e.to_string()))?;
    user.password_hash = Some(Secret::new(hash));
    user.email_verified = true;
    user.updated_at = now;
    svc.store.update_user(&user).await?;
    // Every way into the account that did not know the new password ends.
    let ended = crate::oidc::backchannel::end_user_sessions(
        state,
        tenant,
        user.id,
        "password_reset",
        Actor::user(user.id),
    )
    .await?;
    svc.store
        .revoke_user_client_tokens(tenant.id, user.id, None, now)
        .await?;
    svc.store
        .revoke_verifications(
            tenant.id,
            user.id,
            Some(VerificationPurpose::PasswordReset),
            now,
        )
        .await?;
    // The sign-in lockout of this account is lifted: its owner just proved the mailbox.
    let account_key = format!(
        "acct:{}",
        svc.crypto
            .blind_index("throttle.account", &normalize_email(&user.email))
    );
    svc.store.clear_throttle(tenant.id, &account_key).await?;
    let ev = Event::new(
        tenant.id,
        now,
        EventKind::PasswordReset,
        Actor::user(user.id),
    )
    .target(Target::new("user", user.id))
    .subject(user.id)
    .ip(ip.map(|i| i.to_string()))
    .user_agent(user_agent.map(|ua| ua.chars().take(512).collect()));
    svc.emit(ev).await;
    tracing::info!(tenant = %tenant.slug, user = %user.id, sessions_ended = ended, "password reset");
    let link = page_link(state, tenant, "forgot-password", &[]);
    let requested_at = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    if let Err(e) = crate::mail::send_templated_for(
        state,
        tenant,
        Some(user.id),
        &user.email,
        "password_changed",
        None,
        minijinja::context! { link, requested_at },
    )
    .await
    {
        tracing::error!(tenant = %tenant.slug, error = %e, "the password-changed notice could not be queued");
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_six_digits_and_vary() {
        let codes: std::collections::HashSet<String> = (0..200).map(|_| new_code()).collect();
        assert!(codes.len() > 190);
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
        );
    }
}
