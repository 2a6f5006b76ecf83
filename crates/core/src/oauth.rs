//! OAuth 2 / OpenID Connect grants as the domain sees them: signing keys, authorization codes,
//! refresh-token families, remembered consent, device authorizations and replay records. The
//! wire protocol lives in `tessera-oidc`; this module holds the records and the rules on them.

use serde::{Deserialize, Serialize};

use crate::{SessionId, TenantId, Timestamp, UserId};

/// Lifecycle of a tenant's token signing key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Signs new tokens (one per algorithm and tenant).
    Active,
    /// No longer signs, still published in JWKS until `publish_until` so its tokens verify.
    Retired,
}

/// A signing key as stored: the private key sealed under the master key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub tenant_id: TenantId,
    /// JOSE algorithm name: "RS256", "ES256" or "EdDSA".
    pub alg: String,
    /// PKCS#8 DER of the private key, encrypted (the store does not decrypt it).
    pub private_key_sealed: Vec<u8>,
    pub public_jwk: serde_json::Value,
    pub status: KeyStatus,
    pub created_at: Timestamp,
    pub retired_at: Option<Timestamp>,
    /// After this instant the key is dropped from JWKS (every token it signed has expired).
    pub publish_until: Option<Timestamp>,
}

impl SigningKeyRecord {
    pub fn is_published(&self, now: Timestamp) -> bool {
        self.status == KeyStatus::Active || self.publish_until.is_some_and(|t| now < t)
    }
}

/// What a user authorized at the authorization endpoint, redeemable once at the token endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// SHA-256 (hex) of the code; the code itself is never stored.
    pub code_hash: String,
    pub tenant_id: TenantId,
    pub client_id: String,
    pub user_id: UserId,
    pub session_id: Option<SessionId>,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// Only "S256" is accepted.
    pub code_challenge_method: Option<String>,
    pub auth_time: Timestamp,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Set when redeemed; a second redemption is a replay.
    pub consumed_at: Option<Timestamp>,
}

/// One refresh token. Tokens of one family descend from one grant; reuse of a rotated token
/// revokes the whole family (RFC 6819 §5.2.2.3, OAuth 2.1 §6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshToken {
    pub token_hash: String,
    pub family_id: String,
    pub tenant_id: TenantId,
    pub client_id: String,
    pub user_id: Option<UserId>,
    pub session_id: Option<SessionId>,
    pub scope: String,
    pub auth_time: Option<Timestamp>,
    pub amr: Vec<String>,
    pub acr: Option<String>,
    pub created_at: Timestamp,
    /// Sliding expiry of this token.
    pub expires_at: Timestamp,
    /// Absolute end of the family, however often it is refreshed.
    pub family_expires_at: Timestamp,
    /// Set when this token was exchanged for its successor.
    pub rotated_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// Scopes a user granted to a third-party client, remembered so the consent page shows once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentGrant {
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub client_id: String,
    pub scopes: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub granted_at: Timestamp,
}

impl ConsentGrant {
    /// Whether every requested scope was granted before.
    pub fn covers(&self, requested: &[&str]) -> bool {
        requested.iter().all(|s| self.scopes.iter().any(|g| g == s))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    /// Tokens were issued; the device code cannot be used again.
    Consumed,
}

/// RFC 8628 device authorization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceAuthorization {
    pub device_code_hash: String,
    /// Normalized user code (uppercase letters, no dash).
    pub user_code: String,
    pub tenant_id: TenantId,
    pub client_id: String,
    pub scope: String,
    pub status: DeviceStatus,
    pub user_id: Option<UserId>,
    pub session_id: Option<SessionId>,
    pub auth_time: Option<Timestamp>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub interval_secs: i64,
    pub last_polled_at: Option<Timestamp>,
}

/// PKCE S256 check (RFC 7636 §4.6): BASE64URL(SHA256(verifier)) == challenge, computed by the caller's crypto.
pub fn valid_code_verifier(verifier: &str) -> bool {
    // RFC 7636 §4.1: 43-128 characters from the unreserved set.
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_rules() {
        assert!(valid_code_verifier(&"a".repeat(43)));
        assert!(!valid_code_verifier(&"a".repeat(42)));
        assert!(!valid_code_verifier(&"a".repeat(129)));
        assert!(!valid_code_verifier(&format!("{}+", "a".repeat(43))));
    }

    #[test]
    fn consent_covers() {
        let g = ConsentGrant {
            tenant_id: TenantId::new(),
            user_id: UserId::new(),
            client_id: "c".into(),
            scopes: vec!["openid".into(), "email".into()],
            granted_at: time::macros::datetime!(2026-01-01 0:00 UTC),
        };
        assert!(g.covers(&["openid"]));
        assert!(!g.covers(&["openid", "profile"]));
    }
}
