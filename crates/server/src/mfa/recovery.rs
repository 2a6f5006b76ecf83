//! Recovery codes: a set of ten, shown once, stored as keyed digests, each usable once; a new set
//! replaces the old one.

use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::mfa::RECOVERY_CODES_PER_SET;
use tessera_core::store::MfaStore;
use tessera_core::tenant::Tenant;
use tessera_core::user::User;
use tessera_core::{StoreError, UserId};
use tessera_crypto::otp;

use crate::app::Services;
use crate::state::AppState;

fn digest(state: &AppState, user: UserId, normalized: &str) -> String {
    state
        .services
        .crypto
        .blind_index("mfa.recovery_code", &format!("{user}:{normalized}"))
}

/// Makes a new set of codes (replacing any previous set) and returns them for showing once.
pub async fn generate(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
) -> Result<Vec<String>, StoreError> {
    let codes: Vec<String> = (0..RECOVERY_CODES_PER_SET)
        .map(|_| otp::new_recovery_code())
        .collect();
    let digests: Vec<String> = codes
        .iter()
        .map(|c| digest(state, user.id, &otp::normalize_recovery_code(c)))
        .collect();
    let now = Services::now();
    state
        .services
        .store
        .replace_recovery_codes(tenant.id, user.id, &digests, now)
        .await?;
    let ev = Event::new(
        tenant.id,
        now,
        EventKind::RecoveryCodesGenerated {
            count: codes.len() as u32,
        },
        Actor::user(user.id),
    )
    .subject(user.id)
    .target(Target::new("user", user.id));
    state.services.emit(ev).await;
    Ok(codes)
}

/// Uses a typed recovery code: true once per code.
pub async fn use_code(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    typed: &str,
) -> Result<bool, StoreError> {
    let normalized = otp::normalize_recovery_code(typed);
    if normalized.len() != 10 {
        return Ok(false);
    }
    state
        .services
        .store
        .use_recovery_code(
            tenant.id,
            user.id,
            &digest(state, user.id, &normalized),
            Services::now(),
        )
        .await
}
