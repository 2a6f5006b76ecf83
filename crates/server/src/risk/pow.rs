//! Proof of work on the hosted sign-in and sign-up forms (`settings.risk.proof_of_work`).
//!
//! The page embeds a challenge `v1.<unix time>.<nonce>.<bits>.<mac>` (HMAC under a key derived from
//! the master key, so every node can check it) and `static/pow.js` finds a number `n` such that
//! SHA-256(`<challenge>.<n>`) starts with `bits` zero bits, while the person types. The server
//! checks it only when the tenant's mode asks for it (always, or for suspicious sources), so a
//! person on a clean network never waits for it. A solution is good for 10 minutes and once per
//! node (a used-nonce set in memory).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use tessera_core::tenant::Tenant;
use tessera_risk::ProofOfWorkMode;

use crate::app::Services;
use crate::state::AppState;

/// Form fields.
pub const CHALLENGE_FIELD: &str = "pow_challenge";
pub const SOLUTION_FIELD: &str = "pow_solution";
const MAX_AGE_SECS: i64 = 600;

/// The script that solves challenges in the browser (no build step, no inline script).
const SCRIPT: &str = include_str!("../../../../static/pow.js");

pub fn router() -> Router<AppState> {
    Router::new().route(crate::routes::POW_SCRIPT, get(script))
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        SCRIPT,
    )
}

/// Nonces of solutions accepted in the last 10 minutes, by expiry.
#[derive(Default)]
pub struct UsedNonces(Mutex<HashMap<String, i64>>);

impl UsedNonces {
    /// Marks `nonce` used; false when it already was.
    fn claim(&self, nonce: &str, now: i64) -> bool {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() > 100_000 {
            m.retain(|_, exp| *exp > now);
        }
        match m.get(nonce) {
            Some(exp) if *exp > now => false,
            _ => {
                m.insert(nonce.to_string(), now + MAX_AGE_SECS);
                true
            }
        }
    }
}

fn mac(state: &AppState, tenant: &Tenant, body: &str) -> String {
    let key = &state.derived.risk_pow;
    let msg = format!("{}|{body}", tenant.id);
    hex::encode(&tessera_crypto::hmac_sha256(key, msg.as_bytes())[..16])
}

/// A fresh challenge and its difficulty for the tenant's forms, when proof of work is on.
pub fn challenge(state: &AppState, tenant: &Tenant) -> Option<(String, u8)> {
    let pow = &tenant.settings.risk.proof_of_work;
    if pow.mode == ProofOfWorkMode::Off || tenant.settings.risk.mode == tessera_risk::RiskMode::Off
    {
        return None;
    }
    let body = format!(
        "v1.{}.{}.{}",
        Services::now().unix_timestamp(),
        tessera_crypto::random_token(12),
        pow.difficulty_bits
    );
    let token = format!("{body}.{}", mac(state, tenant, &body));
    Some((token, pow.difficulty_bits))
}

fn leading_zero_bits(d: &[u8]) -> u32 {
    let mut n = 0;
    for b in d {
        if *b == 0 {
            n += 8;
        } else {
            n += b.leading_zeros();
            break;
        }
    }
    n
}

/// Whether `solution` solves `challenge` (genuine, unexpired, not used before on this node, at
/// the difficulty it states and at least the tenant's current one).
pub fn verify(state: &AppState, tenant: &Tenant, challenge: &str, solution: &str) -> bool {
    if challenge.len() > 200 || solution.is_empty() || solution.len() > 20 {
        return false;
    }
    let Some((body, sig)) = challenge.rsplit_once('.') else {
        return false;
    };
    let parts: Vec<&str> = body.split('.').collect();
    let [v, ts, nonce, bits] = parts.as_slice() else {
        return false;
    };
    let (Ok(ts), Ok(bits)) = (ts.parse::<i64>(), bits.parse::<u32>()) else {
        return false;
    };
    if *v != "v1"
        || !tessera_crypto::ct_eq(sig.as_bytes(), mac(state, tenant, body).as_bytes())
        || bits < u32::from(tenant.settings.risk.proof_of_work.difficulty_bits)
        || !solution.bytes().all(|b| b.is_ascii_digit())
    {
        return false;
    }
    let now = Services::now().unix_timestamp();
    if ts > now + 60 || now - ts > MAX_AGE_SECS {
        return false;
    }
    let digest = tessera_crypto::sha256(format!("{challenge}.{solution}").as_bytes());
    leading_zero_bits(&digest) >= bits && state.pow_nonces.claim(nonce, now)
}

/// Whether this submission must carry a proof of work: always, or when the source already looks
/// suspicious to the engine (its checks before the password reach `challenge_at`).
pub fn required(state: &AppState, tenant: &Tenant, info: &super::AttemptInfo<'_>) -> bool {
    match tenant.settings.risk.proof_of_work.mode {
        ProofOfWorkMode::Off => false,
        _ if tenant.settings.risk.mode == tessera_risk::RiskMode::Off => false,
        ProofOfWorkMode::Always => true,
        ProofOfWorkMode::Suspicious => super::suspicious(state, tenant, info),
    }
}

/// Solves a challenge (tests and the benchmark; the browser runs `static/pow.js`).
pub fn solve(challenge: &str) -> Option<String> {
    let bits: u32 = challenge.split('.').nth(3)?.parse().ok()?;
    (0u64..1 << 32)
        .find(|n| {
            leading_zero_bits(&tessera_crypto::sha256(
                format!("{challenge}.{n}").as_bytes(),
            )) >= bits
        })
        .map(|n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_bits() {
        assert_eq!(leading_zero_bits(&[0, 0, 0x0f, 0xff]), 20);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        assert_eq!(leading_zero_bits(&[0x01]), 7);
    }

    #[test]
    fn solving_finds_enough_zero_bits() {
        let c = "v1.1700000000.abc.10.sig";
        let n = solve(c).unwrap();
        let d = tessera_crypto::sha256(format!("{c}.{n}").as_bytes());
        assert!(leading_zero_bits(&d) >= 10);
    }

    #[test]
    fn nonces_are_used_once() {
        let u = UsedNonces::default();
        assert!(u.claim("a", 100));
        assert!(!u.claim("a", 200));
        assert!(u.claim("a", 100 + MAX_AGE_SECS + 1));
    }
}
