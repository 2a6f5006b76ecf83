//! The device cookie of the risk engine: a random id per browser and tenant, signed so a client
//! cannot pick another browser's id, kept for 400 days (the longest browsers allow). It tells
//! the engine whether a sign-in comes from a browser the account used before; it grants nothing
//! (unlike the "remember this device" cookie of `crate::mfa::device`).

use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use tessera_core::tenant::Tenant;

use crate::pages::issuer_path;
use crate::state::AppState;

pub const DEVICE_ID_COOKIE: &str = "tessera_device_id";
const MAX_AGE_DAYS: i64 = 400;

fn mac(state: &AppState, tenant: &Tenant, id: &str) -> String {
    let key = &state.derived.risk_device;
    let msg = format!("{}|{id}", tenant.id);
    hex::encode(&tessera_crypto::hmac_sha256(key, msg.as_bytes())[..16])
}

/// The id in this browser's cookie, when the cookie is genuine.
pub fn read(state: &AppState, tenant: &Tenant, jar: &CookieJar) -> Option<String> {
    let v = jar.get(DEVICE_ID_COOKIE)?.value();
    if v.len() > 128 {
        return None;
    }
    let (id, sig) = v.split_once('.')?;
    (!id.is_empty() && tessera_crypto::ct_eq(sig.as_bytes(), mac(state, tenant, id).as_bytes()))
        .then(|| id.to_string())
}

/// Adds a new device cookie when the browser has no genuine one; returns the jar and the id.
pub fn ensure(state: &AppState, tenant: &Tenant, jar: CookieJar) -> (CookieJar, String) {
    if let Some(id) = read(state, tenant, &jar) {
        return (jar, id);
    }
    let id = tessera_crypto::random_token(16);
    let value = format!("{id}.{}", mac(state, tenant, &id));
    let cookie = Cookie::build((DEVICE_ID_COOKIE, value))
        .path(issuer_path(&tenant.slug))
        .http_only(true)
        .secure(state.services.config.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(time::Duration::days(MAX_AGE_DAYS))
        .build();
    (jar.add(cookie), id)
}
