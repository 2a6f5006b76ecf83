//! The one error type of this crate. Messages are meant for operators reading logs, so they name
//! what is wrong in plain words and never carry key material, passwords or hash digests.

/// Everything that can go wrong in `tessera-crypto`.
///
/// Marked non-exhaustive so that a new failure mode does not break callers that map errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A key (master key, key file contents) is unusable.
    #[error("invalid key: {0}")]
    InvalidKey(String),

    /// Cost parameters given to Tessera's own password hasher are unusable; the message names
    /// the parameter.
    #[error("invalid password hashing parameters: {0}")]
    InvalidParams(String),

    /// Sealed data could not be opened: it was tampered with, truncated, bound to another place
    /// (associated data), or sealed under another key. Deliberately says nothing more, so the
    /// error cannot be used as an oracle.
    #[error("decryption failed")]
    Decrypt,

    /// Sealing data failed (the input was too large for one AES-GCM message).
    #[error("encryption failed")]
    Encrypt,

    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Rng,

    /// A stored password hash is of a family or variant Tessera does not verify.
    #[error("unsupported password hash: {0}")]
    UnsupportedHash(String),

    /// A stored password hash claims a supported family but is malformed or asks for absurd
    /// costs.
    #[error("malformed password hash: {0}")]
    MalformedHash(String),

    /// Reading or writing a key file failed.
    #[error("key file i/o error: {0}")]
    Io(String),

    /// A signed token (compact JWS) is malformed, uses an algorithm that is not allowed, or its
    /// signature does not verify under any of the given keys. The message never quotes the
    /// token or its claims.
    #[error("invalid token: {0}")]
    InvalidToken(String),

    /// Producing a signature failed inside the cryptographic library.
    #[error("signing failed")]
    Sign,
}
