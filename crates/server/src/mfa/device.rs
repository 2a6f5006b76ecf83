//! "Remember this device": a signed cookie that lets one user skip the second factor in one
//! browser for `settings.mfa.remember_device_days`. It holds no secret of the user: the user id, an
//! expiry and an HMAC under a key derived from the master key (so every node can check it).
//! A step-up an application asks for is never skipped (see `tessera_core::mfa`).

use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use tessera_core::UserId;
use tessera_core::tenant::Tenant;

use crate::app::Services;
use crate::pages::issuer_path;
use crate::state::AppState;

pub const DEVICE_COOKIE: &str = "tessera_device";

fn mac(state: &AppState, tenant: &Tenant, user: UserId, expires: i64) -> String {
    let key = &state.derived.remember_device;
    let msg = format!("{}|{}|{}", tenant.id, user, expires);
    hex::encode(tessera_crypto::hmac_sha256(key, msg.as_bytes()))
}

/// A cookie remembering this device for `user`.
pub fn cookie(state: &AppState, tenant: &Tenant, user: UserId) -> Cookie<'static> {
    let days = i64::from(tenant.settings.mfa.remember_device_days);
    let expires = Services::now().unix_timestamp() + days * 86_400;
    let value = format!("{user}.{expires}.{}", mac(state, tenant, user, expires));
    Cookie::build((DEVICE_COOKIE, value))
        .path(issuer_path(&tenant.slug))
        .http_only(true)
        .secure(state.services.config.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(time::Duration::days(days))
        .build()
}

/// Whether this browser is remembered for `user` (and the tenant still offers the option).
pub fn remembers(state: &AppState, tenant: &Tenant, jar: &CookieJar, user: UserId) -> bool {
    if tenant.settings.mfa.remember_device_days == 0 {
        return false;
    }
    let Some(c) = jar.get(DEVICE_COOKIE) else {
        return false;
    };
    let mut parts = c.value().splitn(3, '.');
    let (Some(u), Some(exp), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let (Some(u), Ok(exp)) = (UserId::parse(u), exp.parse::<i64>()) else {
        return false;
    };
    // An expiry further out than the current setting allows is refused too (the setting shrank).
    let now = Services::now().unix_timestamp();
    let max = now + i64::from(tenant.settings.mfa.remember_device_days) * 86_400;
    u == user
        && exp > now
        && exp <= max
        && tessera_crypto::ct_eq(sig.as_bytes(), mac(state, tenant, u, exp).as_bytes())
}
