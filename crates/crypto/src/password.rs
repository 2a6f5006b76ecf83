//! Password hashing. New hashes are argon2id in PHC form; verification also accepts the hash
//! formats that accounts imported from other systems arrive with (argon2i/d, bcrypt, scrypt,
//! PBKDF2 in RustCrypto, passlib and Django forms), and reports when a hash should be replaced
//! by a fresh argon2id one after a successful sign-in.
//!
//! Every stored hash is parsed completely (and its cost checked against fixed maxima) before any
//! work is done, so an imported hash cannot make a sign-in take minutes or exhaust memory.

mod memory;
mod stored;

pub use memory::release_idle as release_idle_hash_memory;

use std::fmt;

use argon2::{Algorithm, Argon2, Version};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::CryptoError;
use crate::token::random_token;

use stored::{StoredHash, check_argon2_cost};

/// Length of the salt of new hashes: the PHC string format's recommendation.
const SALT_LEN: usize = 16;
/// Length of the digest of new hashes.
const OUTPUT_LEN: usize = 32;

/// The PHC string of an argon2id (v=19) hash: `$argon2id$v=19$m=…,t=…,p=…$salt$digest`, salt and
/// digest in unpadded standard Base64, as the PHC string format and every argon2 library write it.
fn phc_string(params: &Argon2Params, salt: &[u8], digest: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.memory_kib,
        params.iterations,
        params.parallelism,
        b64.encode(salt),
        b64.encode(digest)
    )
}

/// Argon2id cost parameters for new password hashes.
///
/// The default (19 MiB, 2 passes, 1 lane) is OWASP's recommended minimum for argon2id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Number of passes over memory.
    pub iterations: u32,
    /// Number of lanes. More lanes do not make hashing faster here (no threads are used), they
    /// only need proportionally more memory.
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Argon2Params {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// The outcome of checking a password against a well-formed stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCheck {
    /// The password is the one the hash was made from.
    pub matched: bool,
    /// The stored hash is not argon2id with this hasher's exact parameters; after a successful
    /// sign-in the caller should store a fresh [`PasswordHasher::hash`] of the password.
    pub needs_rehash: bool,
}

/// The family of a stored password hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashFamily {
    /// `$argon2id$` PHC string.
    Argon2id,
    /// `$argon2i$` PHC string.
    Argon2i,
    /// `$argon2d$` PHC string.
    Argon2d,
    /// `$2a$`, `$2b$` or `$2y$` bcrypt string.
    Bcrypt,
    /// `$scrypt$` PHC string.
    Scrypt,
    /// PBKDF2-HMAC-SHA256: `$pbkdf2-sha256$` (RustCrypto PHC or passlib form) or Django's
    /// `pbkdf2_sha256$`.
    Pbkdf2Sha256,
    /// PBKDF2-HMAC-SHA512: `$pbkdf2-sha512$` (RustCrypto PHC or passlib form).
    Pbkdf2Sha512,
}

impl HashFamily {
    /// A short stable name, for logs and audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            HashFamily::Argon2id => "argon2id",
            HashFamily::Argon2i => "argon2i",
            HashFamily::Argon2d => "argon2d",
            HashFamily::Bcrypt => "bcrypt",
            HashFamily::Scrypt => "scrypt",
            HashFamily::Pbkdf2Sha256 => "pbkdf2-sha256",
            HashFamily::Pbkdf2Sha512 => "pbkdf2-sha512",
        }
    }
}

/// Hashes new passwords with argon2id and verifies stored hashes of any supported family.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Argon2Params,
    argon2: argon2::Params,
    /// A hash of a random password with this hasher's parameters, for [`Self::verify_dummy`].
    dummy_hash: String,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// A hasher with the given argon2id parameters. Fails with [`CryptoError::InvalidParams`],
    /// naming the parameter, when argon2 cannot use them or they exceed the ceilings that
    /// [`PasswordHasher::verify`] applies to stored hashes (so every hash made here verifies).
    ///
    /// Hashes one random password to prepare [`PasswordHasher::verify_dummy`], so construction
    /// costs one hash computation.
    pub fn new(params: Argon2Params) -> Result<PasswordHasher, CryptoError> {
        let Argon2Params {
            memory_kib,
            iterations,
            parallelism,
        } = params;
        if iterations == 0 {
            return Err(CryptoError::InvalidParams(
                "iterations must be at least 1".into(),
            ));
        }
        if parallelism == 0 {
            return Err(CryptoError::InvalidParams(
                "parallelism must be at least 1".into(),
            ));
        }
        if u64::from(memory_kib) < 8 * u64::from(parallelism) {
            return Err(CryptoError::InvalidParams(format!(
                "memory_kib must be at least 8 per lane (8 x parallelism = {}), got {memory_kib}",
                8 * u64::from(parallelism)
            )));
        }
        check_argon2_cost(
            memory_kib,
            iterations,
            parallelism,
            ["memory_kib", "iterations", "parallelism"],
        )
        .map_err(CryptoError::InvalidParams)?;
        let argon2 = argon2::Params::new(memory_kib, iterations, parallelism, Some(OUTPUT_LEN))
            .map_err(|e| {
                CryptoError::InvalidParams(format!("argon2 rejected the parameters: {e}"))
            })?;

        let mut hasher = PasswordHasher {
            params,
            argon2,
            dummy_hash: String::new(),
        };
        let dummy_password = Zeroizing::new(random_token(32));
        hasher.dummy_hash = hasher.hash(&dummy_password)?;
        Ok(hasher)
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> &Argon2Params {
        &self.params
    }

    /// An argon2id (v=19) PHC string of `password` with a random 16-byte salt.
    pub fn hash(&self, password: &str) -> Result<String, CryptoError> {
        let mut salt = [0u8; SALT_LEN];
        SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| CryptoError::Rng)?;
        let mut digest = Zeroizing::new([0u8; OUTPUT_LEN]);
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.argon2.clone());
        memory::with_blocks(self.argon2.block_count(), |blocks| {
            argon2.hash_password_into_with_memory(password.as_bytes(), &salt, &mut *digest, blocks)
        })
        .map_err(|e| CryptoError::InvalidParams(format!("argon2 hashing failed: {e}")))?;
        Ok(phc_string(&self.params, &salt, &*digest))
    }

    /// Checks `password` against a stored hash of any supported family.
    ///
    /// Returns `Ok` for every well-formed hash, matched or not; `Err` only when the stored hash
    /// is of an unsupported family ([`CryptoError::UnsupportedHash`]) or malformed or too costly
    /// ([`CryptoError::MalformedHash`]).
    ///
    /// bcrypt only ever looks at the first 72 bytes of a password (longer passwords match on
    /// their prefix, as in every bcrypt implementation), and C implementations stop at the first
    /// NUL byte, so for bcrypt hashes a password containing NUL never matches rather than
    /// matching on a prefix.
    pub fn verify(&self, stored: &str, password: &str) -> Result<PasswordCheck, CryptoError> {
        let parsed = StoredHash::parse(stored)?;
        let matched = parsed.matches(password.as_bytes())?;
        Ok(PasswordCheck {
            matched,
            needs_rehash: !self.is_current(&parsed),
        })
    }

    /// Spends the same time as [`PasswordHasher::verify`] of an argon2id hash with this
    /// hasher's parameters, and checks nothing. Called when a sign-in names an account that does
    /// not exist, so the response time does not reveal which accounts exist.
    pub fn verify_dummy(&self, password: &str) {
        // The hash was made by this hasher, so it is well-formed; the result carries no meaning.
        let outcome = self.verify(&self.dummy_hash, password);
        let _ = std::hint::black_box(outcome);
    }

    fn is_current(&self, parsed: &StoredHash) -> bool {
        match parsed {
            StoredHash::Argon2(h) => {
                h.algorithm == Algorithm::Argon2id
                    && h.version == Version::V0x13
                    && h.params.m_cost() == self.params.memory_kib
                    && h.params.t_cost() == self.params.iterations
                    && h.params.p_cost() == self.params.parallelism
                    && h.digest.len() == OUTPUT_LEN
            }
            _ => false,
        }
    }
}

/// Checks that an imported hash string is of a supported family, well-formed and within the cost
/// ceilings, without verifying any password. Returns its family.
pub fn inspect_imported_hash(stored: &str) -> Result<HashFamily, CryptoError> {
    StoredHash::parse(stored).map(|h| h.family())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordHasher as _;

    /// The password of the vectors generated for this crate.
    const PW: &str = "correct horse battery staple";

    /// Small parameters keep the tests fast; the defaults are tested once on their own.
    fn small() -> Argon2Params {
        Argon2Params {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        }
    }

    fn hasher() -> PasswordHasher {
        PasswordHasher::new(small()).expect("valid params")
    }

    #[test]
    fn phc_string_is_what_argon2_itself_writes() {
        let salt = *b"tessera-salt-16b";
        let p = small();
        let params =
            argon2::Params::new(p.memory_kib, p.iterations, p.parallelism, Some(OUTPUT_LEN))
                .expect("params");
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let theirs = argon2
            .hash_password_with_salt(PW.as_bytes(), &salt)
            .expect("argon2 hashes")
            .to_string();
        let mut digest = [0u8; OUTPUT_LEN];
        memory::with_blocks(params.block_count(), |blocks| {
            argon2.hash_password_into_with_memory(PW.as_bytes(), &salt, &mut digest, blocks)
        })
        .expect("argon2 hashes into the pool's memory");
        assert_eq!(phc_string(&p, &salt, &digest), theirs);
        // A second run on a reused (dirty) buffer gives the same digest.
        let mut again = [0u8; OUTPUT_LEN];
        memory::with_blocks(params.block_count(), |blocks| {
            argon2.hash_password_into_with_memory(PW.as_bytes(), &salt, &mut again, blocks)
        })
        .expect("argon2 hashes again");
        assert_eq!(again, digest);
    }

    #[test]
    fn hash_then_verify() {
        let h = hasher();
        let stored = h.hash(PW).expect("hash");
        assert!(
            stored.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
            "{stored}"
        );
        assert_eq!(inspect_imported_hash(&stored), Ok(HashFamily::Argon2id));
        assert_eq!(
            h.verify(&stored, PW),
            Ok(PasswordCheck {
                matched: true,
                needs_rehash: false
            })
        );
        assert_eq!(
            h.verify(&stored, "Correct horse battery staple"),
            Ok(PasswordCheck {
                matched: false,
                needs_rehash: false
            })
        );
        // Random salt: the same password never hashes the same twice.
        assert_ne!(stored, h.hash(PW).expect("hash"));
    }

    #[test]
    fn unicode_and_empty_passwords() {
        let h = hasher();
        for pw in ["", "pässwörd ☃", "\u{0}leading-nul"] {
            let stored = h.hash(pw).expect("hash");
            assert!(h.verify(&stored, pw).expect("verify").matched, "{pw:?}");
            assert!(!h.verify(&stored, "other").expect("verify").matched);
        }
    }

    #[test]
    fn needs_rehash_when_params_change() {
        let old = hasher();
        let stored = old.hash(PW).expect("hash");
        for params in [
            Argon2Params {
                memory_kib: 2048,
                ..small()
            },
            Argon2Params {
                iterations: 2,
                ..small()
            },
            Argon2Params {
                parallelism: 2,
                ..small()
            },
        ] {
            let newer = PasswordHasher::new(params).expect("params");
            assert_eq!(
                newer.verify(&stored, PW),
                Ok(PasswordCheck {
                    matched: true,
                    needs_rehash: true
                })
            );
        }
    }

    #[test]
    fn default_params() {
        let params = Argon2Params::default();
        assert_eq!(
            params,
            Argon2Params {
                memory_kib: 19_456,
                iterations: 2,
                parallelism: 1
            }
        );
        let h = PasswordHasher::new(params.clone()).expect("defaults are valid");
        assert_eq!(h.params(), &params);
        let stored = h.hash(PW).expect("hash");
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(!h.verify(&stored, PW).expect("verify").needs_rehash);
    }

    #[test]
    fn invalid_params_name_the_parameter() {
        let cases = [
            (
                Argon2Params {
                    iterations: 0,
                    ..small()
                },
                "iterations",
            ),
            (
                Argon2Params {
                    parallelism: 0,
                    ..small()
                },
                "parallelism",
            ),
            (
                Argon2Params {
                    memory_kib: 7,
                    ..small()
                },
                "memory_kib",
            ),
            (
                Argon2Params {
                    memory_kib: 64,
                    parallelism: 16,
                    ..small()
                },
                "memory_kib",
            ),
            (
                Argon2Params {
                    memory_kib: 4 * 1024 * 1024,
                    ..small()
                },
                "memory_kib",
            ),
            (
                Argon2Params {
                    iterations: 1000,
                    ..small()
                },
                "iterations",
            ),
            (
                Argon2Params {
                    parallelism: 1000,
                    memory_kib: 8000,
                    ..small()
                },
                "parallelism",
            ),
        ];
        for (params, name) in cases {
            match PasswordHasher::new(params.clone()) {
                Err(CryptoError::InvalidParams(msg)) => {
                    assert!(msg.contains(name), "{params:?}: {msg}");
                }
                other => panic!("{params:?}: expected InvalidParams, got {other:?}"),
            }
        }
    }

    #[test]
    fn params_deserialize_with_defaults() {
        // Config files may set only some fields; the others keep their defaults.
        use serde::de::value::{Error, MapDeserializer};
        let fields = vec![("memory_kib".to_owned(), 65_536u32)];
        let params =
            Argon2Params::deserialize(MapDeserializer::<_, Error>::new(fields.into_iter()))
                .expect("deserialize");
        assert_eq!(
            params,
            Argon2Params {
                memory_kib: 65_536,
                ..Argon2Params::default()
            }
        );
    }

    #[test]
    fn verify_dummy_runs() {
        let h = hasher();
        h.verify_dummy(PW);
        h.verify_dummy("");
        assert!(h.dummy_hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        // The dummy hash is well-formed and current, so verify_dummy does a full argon2id run.
        assert!(!h.verify(&h.dummy_hash, PW).expect("verify").needs_rehash);
    }

    #[test]
    fn debug_does_not_show_the_dummy_hash() {
        let h = hasher();
        let shown = format!("{h:?}");
        assert!(!shown.contains("argon2id"), "{shown}");
        assert!(shown.contains("memory_kib"), "{shown}");
    }

    #[test]
    fn argon2id_with_same_params_from_elsewhere_needs_no_rehash() {
        // argon2-cffi output with exactly the test hasher's parameters counts as current.
        let stored = "$argon2id$v=19$m=1024,t=1,p=1$dGVzc2VyYS1zYWx0LTE2Yg$B88u8ABzn6PXPxlj8REB7YC/PG2CihnZ7ohCxW6gfks";
        assert_eq!(
            hasher().verify(stored, PW),
            Ok(PasswordCheck {
                matched: true,
                needs_rehash: false
            })
        );
    }

    #[test]
    fn every_other_family_or_param_set_needs_rehash() {
        let h = hasher();
        for (stored, password) in [
            (
                "$argon2id$v=19$m=512,t=2,p=2$MDEyMzQ1Njc4OWFiY2RlZg$zLJG+dgNWKcL5eY3A22mBDDzFjmJ2ozTjz+6Xvs+srk",
                PW,
            ),
            (
                "$argon2i$v=19$m=1024,t=1,p=1$dGVzc2VyYS1zYWx0LTE2Yg$+iEVSEvyBi7TlqONr1vXETKEQqFLU1aXpOCk8rHgkJw",
                PW,
            ),
            (
                "$argon2d$v=19$m=1024,t=1,p=1$dGVzc2VyYS1zYWx0LTE2Yg$K27L8As8Hms5Txuj6BPt0xldVq6i6yxgDZbQSXhGhKU",
                PW,
            ),
            (
                "$2b$04$mdt2Plo8ABNogPEwjH4aUOhSUBavRhyexC05Lb6lDlAhXbyUwx.nS",
                PW,
            ),
            (
                "$scrypt$ln=4,r=8,p=1$f09pzfnfWytFSImx1to7Zw$Hlyug6M/pWgwMnPOBKkkLunFVmlIprtk84dYy67aO8Q",
                PW,
            ),
            (
                "$pbkdf2-sha256$1000$IARAqNWaU2ptjZESQqjV2g$mrLr0NWbM/BOk5P/HOmaG2v5whT3VaymmBMA4F4qvEg",
                PW,
            ),
            (
                "pbkdf2_sha256$1000$Xk2pQ9rTz7vN4mWb$FEE3zrcWjoLKiENl/fU66kmptNrYXVl+LmvNxcJ/q9g=",
                PW,
            ),
        ] {
            assert_eq!(
                h.verify(stored, password),
                Ok(PasswordCheck {
                    matched: true,
                    needs_rehash: true
                }),
                "{stored}"
            );
        }
    }

    #[test]
    fn hasher_is_clone_send_sync() {
        fn assert_traits<T: Clone + Send + Sync>() {}
        assert_traits::<PasswordHasher>();
        let h = hasher();
        let copy = h.clone();
        let stored = h.hash(PW).expect("hash");
        assert!(copy.verify(&stored, PW).expect("verify").matched);
    }

    #[test]
    fn family_names() {
        assert_eq!(HashFamily::Argon2id.as_str(), "argon2id");
        assert_eq!(HashFamily::Pbkdf2Sha512.as_str(), "pbkdf2-sha512");
    }
}
