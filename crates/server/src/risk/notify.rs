//! "New sign-in" notices and the "this wasn't me" answer.
//!
//! When a completed sign-in comes from a country or a browser the account's profile does not
//! know (and the profile knows something: a first sign-in is not news), the owner gets an email
//! with the time, the approximate place and the browser, and a link that reports the sign-in.
//! Reporting ([`report`]) ends every session and token of the account, disables its password
//! and mails a password-reset link, so whoever signed in is out and cannot come back with the
//! password they had.

use std::net::IpAddr;

use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::store::{GrantStore, UserStore};
use tessera_core::tenant::Tenant;
use tessera_core::user::User;
use tessera_core::verification::{VerificationPurpose, VerificationStore, VerificationToken};
use tessera_core::{StoreError, Timestamp};
use tessera_crypto::random_token;

use crate::app::Services;
use crate::self_service::{page_link, token_hash};
use crate::state::AppState;

/// What the notice tells about the sign-in.
pub struct SignInFacts<'a> {
    pub at: Timestamp,
    pub country: Option<&'a str>,
    /// Browser family and OS, e.g. `Safari/iOS`.
    pub browser: &'a str,
}

/// Mails the owner a notice of a sign-in from a new device or country, with a "this wasn't me"
/// link (valid 7 days; a newer notice replaces it). Accounts without a verified address get none.
pub async fn notice(state: &AppState, tenant: &Tenant, user: &User, facts: &SignInFacts<'_>) {
    if !user.email_verified || user.email.is_empty() {
        return;
    }
    let token = random_token(32);
    let now = Services::now();
    let record = VerificationToken::new(
        tenant.id,
        user.id,
        VerificationPurpose::SignInReport,
        token_hash(&token),
        None,
        now,
    );
    if let Err(e) = state.services.store.issue_verification(&record).await {
        tracing::warn!(error = %e, "the new sign-in notice could not be prepared");
        return;
    }
    let link = page_link(state, tenant, "not-me", &[("token", &token)]);
    let when = facts
        .at
        .format(&time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default();
    let place = facts.country.unwrap_or("unknown").to_string();
    let queued = crate::mail::send_templated_for(
        state,
        tenant,
        Some(user.id),
        &user.email,
        "new_sign_in",
        None,
        minijinja::context! { link, when, place, browser => facts.browser },
    )
    .await;
    if let Err(e) = queued {
        tracing::warn!(error = %e, "the new sign-in notice could not be queued");
        return;
    }
    let kind = EventKind::VerificationSent {
        purpose: VerificationPurpose::SignInReport.as_str().into(),
        reason: "new_sign_in".into(),
    };
    let ev = Event::new(tenant.id, now, kind, Actor::system())
        .target(Target::new("user", user.id))
        .subject(user.id);
    state.services.emit(ev).await;
}

/// The owner reports a sign-in they did not make (the notice's link): every session ends (with
/// back-channel logout), every token of the account's applications is revoked, the password is
/// disabled, and a password-reset link is mailed. False when the link is unknown, used or
/// expired.
pub async fn report(
    state: &AppState,
    tenant: &Tenant,
    token: &str,
    ip: Option<IpAddr>,
) -> Result<bool, StoreError> {
    let svc = &state.services;
    let now = Services::now();
    let Some(proof) = svc
        .store
        .consume_verification(
            tenant.id,
            VerificationPurpose::SignInReport,
            &token_hash(token),
            now,
        )
        .await?
    else {
        return Ok(false);
    };
    let Some(mut user) = svc.store.get_user(tenant.id, proof.user_id).await? else {
        return Ok(false);
    };
    // The password whoever signed in used stops working at once.
    user.password_hash = None;
    user.updated_at = now;
    svc.store.update_user(&user).await?;
    let ended = crate::oidc::backchannel::end_user_sessions(
        state,
        tenant,
        user.id,
        "sign_in_reported",
        Actor::user(user.id),
    )
    .await?;
    svc.store
        .revoke_user_client_tokens(tenant.id, user.id, None, now)
        .await?;
    let ev = Event::new(
        tenant.id,
        now,
        EventKind::SignInReported,
        Actor::user(user.id),
    )
    .target(Target::new("user", user.id))
    .subject(user.id)
    .ip(ip.map(|i| i.to_string()))
    .detail("sessions_ended", ended.into());
    svc.emit(ev).await;
    tracing::info!(tenant = %tenant.slug, user = %user.id, sessions = ended, "a sign-in was reported by the account's owner; sessions ended and password disabled");
    // The way back in: a reset link to the same (verified) address.
    let token = random_token(32);
    let record = VerificationToken::new(
        tenant.id,
        user.id,
        VerificationPurpose::PasswordReset,
        token_hash(&token),
        None,
        now,
    );
    svc.store.issue_verification(&record).await?;
    let link = page_link(state, tenant, "reset-password", &[("token", &token)]);
    let minutes = record.minutes_left(now);
    if let Err(e) = crate::mail::send_templated_for(
        state,
        tenant,
        Some(user.id),
        &user.email,
        "password_reset",
        None,
        minijinja::context! { link, code => "", expires_in_minutes => minutes },
    )
    .await
    {
        tracing::warn!(error = %e, "the password-reset link after a sign-in report could not be queued; the owner can ask for one on the forgot-password page");
    } else {
        let kind = EventKind::VerificationSent {
            purpose: VerificationPurpose::PasswordReset.as_str().into(),
            reason: "sign_in_reported".into(),
        };
        let ev = Event::new(tenant.id, now, kind, Actor::user(user.id))
            .target(Target::new("user", user.id))
            .subject(user.id);
        svc.emit(ev).await;
    }
    Ok(true)
}
