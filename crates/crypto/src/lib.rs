//! Tessera's cryptography: the master key that everything else is derived from, field-level
//! encryption and blind indexes for personal data, password hashing (and verification of hashes
//! imported from other systems), and small token helpers.
//!
//! All primitives come from `aws-lc-rs` except the password hash families it does not provide
//! (argon2, bcrypt, scrypt), which come from the RustCrypto crates.

pub mod error;
pub mod field;
pub mod jws;
pub mod master_key;
pub mod otp;
pub mod password;
pub mod token;

pub use error::CryptoError;
pub use field::{FieldCrypto, hmac_sha256, verify_hmac_sha256};
pub use jws::{
    SigningAlg, SigningKey, VerifiedJwt, VerifyingKey, decode_unverified, token_hash, verify_jwt,
};
pub use master_key::{LoadedMasterKey, MasterKey};
pub use password::{
    Argon2Params, HashFamily, PasswordCheck, PasswordHasher, inspect_imported_hash,
    release_idle_hash_memory,
};
pub use token::{ct_eq, random_bytes, random_password, random_token, sha256, sha256_hex};
