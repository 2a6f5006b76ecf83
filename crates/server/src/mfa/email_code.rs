//! One-time sign-in codes and links by email: a passwordless first factor (customer tenants) and
//! a second factor. Short-lived ([`EMAIL_CODE_TTL_SECS`]), single use, bound to the browser that
//! asked (the flow cookie), rate-limited per address, and only digests are stored.
//!
//! Asking for a code never reveals whether the address has an account: unknown addresses get a
//! flow and a page exactly like known ones; no mail is sent and no code can match.

use tessera_core::StoreError;
use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::mfa::{EMAIL_CODE_TTL_SECS, LoginFlow, PendingChallenge};
use tessera_core::store::{MfaStore, ThrottleStore};
use tessera_core::tenant::Tenant;
use tessera_core::throttle::ThrottleDecision;
use tessera_core::user::{User, normalize_email};
use tessera_crypto::{ct_eq, otp, random_token, sha256_hex};

use crate::app::Services;
use crate::pages::issuer_path;
use crate::state::AppState;

/// Seconds before the same flow may ask for another email.
pub const RESEND_AFTER_SECS: i64 = 30;

/// What happened to a request for a code.
#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    /// Queued (or, for an unknown address, pretended to be).
    Sent,
    /// Asked again too soon, or too often for this address.
    TooSoon { retry_after_secs: u64 },
}

fn code_digest(state: &AppState, flow: &LoginFlow, code: &str) -> String {
    state
        .services
        .crypto
        .blind_index("mfa.email_code", &format!("{}:{code}", flow.id))
}

fn throttle_key(state: &AppState, email: &str) -> String {
    format!(
        "mailcode:{}",
        state
            .services
            .crypto
            .blind_index("throttle.email_code", &normalize_email(email))
    )
}

/// Sends a code (and, when `with_link`, a sign-in link) for `flow` to `email`. `user` is the
/// account the address belongs to, if any; without one nothing is mailed, but the flow looks
/// the same.
pub async fn send(
    state: &AppState,
    tenant: &Tenant,
    flow: &mut LoginFlow,
    email: &str,
    user: Option<&User>,
    second_factor: bool,
    with_link: bool,
) -> Result<Sent, StoreError> {
    let svc = &state.services;
    let now = Services::now();
    if let Some(PendingChallenge::EmailCode { sent_at, .. }) = &flow.pending {
        let wait = RESEND_AFTER_SECS - (now - *sent_at).whole_seconds();
        if wait > 0 {
            return Ok(Sent::TooSoon {
                retry_after_secs: wait as u64,
            });
        }
    }
    // Per address, across flows and nodes: each mail counts, a successful sign-in clears it.
    let key = throttle_key(state, email);
    let current = svc.store.get_throttle(tenant.id, &key).await?;
    if let ThrottleDecision::Wait { retry_after_secs } =
        state.account_throttle.decide(current.as_ref(), now)
    {
        return Ok(Sent::TooSoon { retry_after_secs });
    }
    svc.store
        .record_failure(tenant.id, &key, &state.account_throttle, now)
        .await?;

    let code = otp::new_numeric_code(6);
    let link_token = random_token(32);
    flow.pending = Some(PendingChallenge::EmailCode {
        code_hash: code_digest(state, flow, &code),
        sent_at: now,
        user_known: user.is_some(),
    });
    flow.link_hash = with_link.then(|| sha256_hex(link_token.as_bytes()));
    flow.attempts = 0;
    svc.store.update_login_flow(flow).await?;
    if let Some(user) = user {
        let link = with_link.then(|| {
            format!(
                "{}{}/login/email/link?token={link_token}",
                svc.config.public_url,
                issuer_path(&tenant.slug)
            )
        });
        let ctx = minijinja::context! {
            code => &code,
            link => link,
            expires_in_minutes => EMAIL_CODE_TTL_SECS / 60,
            second_factor => second_factor,
        };
        if let Err(e) = crate::mail::send_templated_for(
            state,
            tenant,
            Some(user.id),
            &user.email,
            "sign_in",
            None,
            ctx,
        )
        .await
        {
            tracing::error!(error = %e, "a sign-in code could not be queued");
            return Err(StoreError::Backend(format!(
                "the sign-in email could not be queued: {e}"
            )));
        }
        let purpose = if second_factor {
            "second_factor"
        } else {
            "first_factor"
        };
        let ev = Event::new(
            tenant.id,
            now,
            EventKind::MfaEmailCodeSent {
                purpose: purpose.into(),
            },
            Actor::user(user.id),
        )
        .subject(user.id)
        .target(Target::new("user", user.id));
        svc.emit(ev).await;
    }
    Ok(Sent::Sent)
}

/// The answer to a typed code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeVerdict {
    Accepted,
    Wrong,
    Expired,
    /// No code was sent in this flow.
    NotAsked,
}

/// Checks a typed code against the flow's pending email code (constant-time on the digests).
pub fn check_code(state: &AppState, flow: &LoginFlow, typed: &str) -> CodeVerdict {
    let Some(PendingChallenge::EmailCode {
        code_hash,
        sent_at,
        user_known,
    }) = &flow.pending
    else {
        return CodeVerdict::NotAsked;
    };
    let typed: String = typed
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(12)
        .collect();
    let matched = ct_eq(
        code_digest(state, flow, &typed).as_bytes(),
        code_hash.as_bytes(),
    );
    if (Services::now() - *sent_at).whole_seconds() >= EMAIL_CODE_TTL_SECS {
        return CodeVerdict::Expired;
    }
    if matched && *user_known {
        CodeVerdict::Accepted
    } else {
        CodeVerdict::Wrong
    }
}

/// Whether the flow's emailed link is still valid.
pub fn link_live(flow: &LoginFlow) -> bool {
    matches!(&flow.pending, Some(PendingChallenge::EmailCode { sent_at, user_known: true, .. })
        if (Services::now() - *sent_at).whole_seconds() < EMAIL_CODE_TTL_SECS)
}

/// Clears the per-address send counter after a successful sign-in.
pub async fn clear_throttle(
    state: &AppState,
    tenant: &Tenant,
    email: &str,
) -> Result<(), StoreError> {
    state
        .services
        .store
        .clear_throttle(tenant.id, &throttle_key(state, email))
        .await
}
