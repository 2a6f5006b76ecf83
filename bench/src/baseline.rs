//! In-process baselines: how fast this machine signs and verifies ES256 JWTs with the server's
//! own code (`tessera_crypto::jws`), on every core. A scenario's rate divided by its baseline
//! says how close the server comes to its cryptographic limit, and stays comparable across
//! machines where absolute requests per second do not.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, ensure};
use serde_json::{Value, json};
use tessera_crypto::jws::{SigningAlg, SigningKey, verify_jwt};
use tessera_crypto::{Argon2Params, PasswordHasher};

use crate::report::Baseline;
use crate::scenario::SIGNIN_PASSWORD;

/// Claims shaped like the server's client-credentials access tokens (RFC 9068), so the payload
/// that is serialized and signed has the same size.
fn access_token_claims(n: u64) -> Value {
    json!({
        "iss": "http://127.0.0.1:8080/t/bench",
        "sub": "tc_0123456789abcdef0123456789abcdef",
        "aud": "tc_0123456789abcdef0123456789abcdef",
        "client_id": "tc_0123456789abcdef0123456789abcdef",
        "scope": "api:read",
        "jti": format!("{n:032x}"),
        "iat": 1_800_000_000u64,
        "exp": 1_800_000_600u64,
    })
}

/// Runs `op` in a loop on `threads` threads for `duration` and returns operations per second
/// (all threads together). `op` gets a per-thread counter and fails the whole measurement on
/// its first error.
fn on_all_cores<F>(threads: usize, duration: Duration, op: F) -> Result<f64>
where
    F: Fn(u64) -> Result<()> + Send + Sync + 'static,
{
    let op = Arc::new(op);
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let op = Arc::clone(&op);
            let stop = Arc::clone(&stop);
            thread::spawn(move || -> Result<u64> {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    op(n)?;
                    n += 1;
                }
                Ok(n)
            })
        })
        .collect();
    thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let mut total = 0u64;
    for h in handles {
        total += h
            .join()
            .map_err(|_| anyhow!("a baseline thread panicked"))??;
    }
    // Divide by the time the threads really ran (they finish their last operation after `stop`).
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

fn threads() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// The total time is split into this many rounds and the best round is kept: a burst of other
/// work on a shared machine lowers one round, not the whole baseline. The best round is the
/// closest to what the machine can do, which is what a scenario is compared with.
pub const ROUNDS: u32 = 4;

fn best_round<F>(total: Duration, op: F) -> Result<f64>
where
    F: Fn(u64) -> Result<()> + Send + Sync + 'static,
{
    let op = Arc::new(op);
    let mut best: f64 = 0.0;
    for _ in 0..ROUNDS {
        let op = Arc::clone(&op);
        best = best.max(on_all_cores(threads(), total / ROUNDS, move |n| op(n))?);
    }
    Ok(best)
}

/// ES256 JWT signatures per second on all cores (best of [`ROUNDS`] rounds over `duration`):
/// `SigningKey::sign_jwt` with one shared key, as the server's request handlers share theirs.
pub fn es256_sign(duration: Duration) -> Result<Baseline> {
    let key = Arc::new(SigningKey::generate(SigningAlg::ES256).context("generating a P-256 key")?);
    let rate = best_round(duration, move |n| {
        key.sign_jwt("at+jwt", &access_token_claims(n))
            .map(drop)
            .context("signing a JWT")
    })?;
    Ok(Baseline {
        name: "ES256 sign".into(),
        rate,
    })
}

/// Token pairs signed per second on all cores (best of [`ROUNDS`] rounds over `duration`): an
/// ES256 access token and an RS256 ID token, each with a key shared by the threads. A refresh
/// whose scope holds `openid` signs exactly these two (RS256 is OpenID Connect's default ID-token
/// algorithm), so this is the ceiling its cryptography sets.
pub fn token_pair_sign(duration: Duration) -> Result<Baseline> {
    let access =
        Arc::new(SigningKey::generate(SigningAlg::ES256).context("generating a P-256 key")?);
    let id = Arc::new(SigningKey::generate(SigningAlg::RS256).context("generating an RSA key")?);
    let rate = best_round(duration, move |n| {
        let claims = access_token_claims(n);
        access
            .sign_jwt("at+jwt", &claims)
            .and_then(|_| id.sign_jwt("JWT", &claims))
            .map(drop)
            .context("signing a JWT")
    })?;
    Ok(Baseline {
        name: "ES256+RS256 sign".into(),
        rate,
    })
}

/// ES256 JWT verifications per second on all cores (best of [`ROUNDS`] rounds over
/// `duration`): `verify_jwt` of one access-token-shaped JWT (header and claims parsed each
/// time, as for a presented token).
pub fn es256_verify(duration: Duration) -> Result<Baseline> {
    let key = SigningKey::generate(SigningAlg::ES256).context("generating a P-256 key")?;
    let token = key
        .sign_jwt("at+jwt", &access_token_claims(0))
        .context("signing a JWT")?;
    let keys = vec![key.verifying_key()];
    let rate = best_round(duration, move |_| {
        verify_jwt(&token, &keys, &["ES256"])
            .map(drop)
            .context("verifying a JWT")
    })?;
    Ok(Baseline {
        name: "ES256 verify".into(),
        rate,
    })
}

/// argon2id password verifications per second on all cores, with the server's default
/// parameters (m=19456 KiB, t=2, p=1): `PasswordHasher::verify` of a matching password, the
/// expensive step of every password sign-in.
pub fn argon2_verify(duration: Duration) -> Result<Baseline> {
    let hasher = PasswordHasher::new(Argon2Params::default()).context("building the hasher")?;
    let stored = hasher
        .hash(SIGNIN_PASSWORD)
        .context("hashing the password")?;
    let rate = best_round(duration, move |_| {
        let check = hasher
            .verify(&stored, SIGNIN_PASSWORD)
            .context("verifying the password")?;
        ensure!(check.matched, "the password does not match its own hash");
        Ok(())
    })?;
    Ok(Baseline {
        name: "argon2id verify".into(),
        rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_operations_on_every_thread() {
        let rate = best_round(Duration::from_millis(40), |_| Ok(())).expect("no error");
        assert!(rate > 0.0);
    }

    #[test]
    fn the_first_failure_fails_the_baseline() {
        let e = best_round(Duration::from_millis(40), |n| {
            if n == 3 { Err(anyhow!("boom")) } else { Ok(()) }
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "boom");
    }

    #[test]
    fn sign_and_verify_baselines_run_the_server_code() {
        // A short run: that the tokens are made and verify, not how fast.
        let sign = es256_sign(Duration::from_millis(40)).expect("signing works");
        let verify = es256_verify(Duration::from_millis(40)).expect("verification works");
        let pair = token_pair_sign(Duration::from_millis(40)).expect("both keys sign");
        assert!(sign.rate > 0.0 && verify.rate > 0.0 && pair.rate > 0.0);
        assert_eq!(
            (sign.name.as_str(), verify.name.as_str(), pair.name.as_str()),
            ("ES256 sign", "ES256 verify", "ES256+RS256 sign")
        );
    }

    #[test]
    fn argon2_baseline_verifies_the_sign_in_password() {
        let b = argon2_verify(Duration::from_millis(40)).expect("the password verifies");
        assert!(b.rate > 0.0);
    }
}
