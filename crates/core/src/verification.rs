//! One-time proofs sent by email: the link (and its 6-digit code alternative) that verifies an
//! address, resets a password or confirms a new address. Only hashes are stored: the link token
//! as SHA-256, the code as a keyed hash (a 6-digit code alone is too easy to reverse). A token
//! works once (consumption is one atomic statement), until it expires, and only while it is the
//! newest of its user and purpose; a code allows a few wrong guesses and then stops working.
#![allow(async_fn_in_trait)]

use serde::{Deserialize, Serialize};

use crate::store::StoreResult;
use crate::{TenantId, Timestamp, UserId};

/// Wrong codes a token tolerates before it stops accepting codes (its link keeps working).
pub const MAX_CODE_ATTEMPTS: u32 = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationPurpose {
    /// Proves that the account's address reaches its owner.
    VerifyEmail,
    /// Lets the owner of the address choose a new password.
    PasswordReset,
    /// Proves a new address before the account switches to it.
    EmailChange,
    /// The "this wasn't me" link of a new sign-in notice: the owner of the address reports a
    /// sign-in they did not make.
    SignInReport,
}

impl VerificationPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            VerificationPurpose::VerifyEmail => "verify_email",
            VerificationPurpose::PasswordReset => "password_reset",
            VerificationPurpose::EmailChange => "email_change",
            VerificationPurpose::SignInReport => "sign_in_report",
        }
    }

    pub fn parse(s: &str) -> Option<VerificationPurpose> {
        match s {
            "verify_email" => Some(VerificationPurpose::VerifyEmail),
            "password_reset" => Some(VerificationPurpose::PasswordReset),
            "email_change" => Some(VerificationPurpose::EmailChange),
            "sign_in_report" => Some(VerificationPurpose::SignInReport),
            _ => None,
        }
    }

    /// How long a link or code stays valid: long enough to find the mail, short enough that an
    /// old mailbox is no key to the account.
    pub fn default_ttl(self) -> time::Duration {
        match self {
            VerificationPurpose::VerifyEmail => time::Duration::hours(24),
            VerificationPurpose::PasswordReset => time::Duration::minutes(30),
            VerificationPurpose::EmailChange => time::Duration::hours(1),
            // A notice may be read days later; the link only ever locks the account down.
            VerificationPurpose::SignInReport => time::Duration::days(7),
        }
    }
}

/// A stored proof (hashes only).
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationToken {
    /// SHA-256 (hex) of the link's token.
    pub token_hash: String,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub purpose: VerificationPurpose,
    /// Keyed hash of the 6-digit code, when the message offers one.
    pub code_hash: Option<String>,
    /// For `EmailChange`: the address the account moves to once it is proven (personal data;
    /// sealed at rest).
    pub new_email: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub consumed_at: Option<Timestamp>,
    /// Wrong codes tried so far.
    pub attempts: u32,
}

impl std::fmt::Debug for VerificationToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationToken")
            .field("tenant_id", &self.tenant_id)
            .field("user_id", &self.user_id)
            .field("purpose", &self.purpose)
            .field("new_email", &self.new_email.as_ref().map(|_| "<redacted>"))
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("consumed_at", &self.consumed_at)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl VerificationToken {
    /// A new, unconsumed token valid for the purpose's default lifetime.
    pub fn new(
        tenant_id: TenantId,
        user_id: UserId,
        purpose: VerificationPurpose,
        token_hash: String,
        code_hash: Option<String>,
        now: Timestamp,
    ) -> VerificationToken {
        VerificationToken {
            token_hash,
            tenant_id,
            user_id,
            purpose,
            code_hash,
            new_email: None,
            created_at: now,
            expires_at: now + purpose.default_ttl(),
            consumed_at: None,
            attempts: 0,
        }
    }

    /// Unconsumed and unexpired.
    pub fn is_usable(&self, now: Timestamp) -> bool {
        self.consumed_at.is_none() && now < self.expires_at
    }

    /// Whole minutes left at `now` (for "expires in N minutes"), at least 1.
    pub fn minutes_left(&self, now: Timestamp) -> i64 {
        ((self.expires_at - now).whole_seconds() / 60).max(1)
    }
}

/// The store port of verification tokens.
pub trait VerificationStore {
    /// Stores `token` and, in the same transaction, consumes (supersedes) every earlier
    /// unconsumed token of the same user and purpose: only the newest link or code works.
    /// `NotFound` when the user is not one of the tenant's.
    async fn issue_verification(&self, token: &VerificationToken) -> StoreResult<()>;
    /// The token as stored, without consuming it (a confirmation page shows before consuming).
    async fn find_verification(
        &self,
        tenant: TenantId,
        purpose: VerificationPurpose,
        token_hash: &str,
    ) -> StoreResult<Option<VerificationToken>>;
    /// Atomically sets `consumed_at = now` if the token is unconsumed and unexpired, and returns
    /// it; `None` when it is unknown, used, superseded or expired (a replay fails).
    async fn consume_verification(
        &self,
        tenant: TenantId,
        purpose: VerificationPurpose,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<VerificationToken>>;
    /// The code alternative: atomically consumes the user's usable token of `purpose` whose code
    /// hash is `code_hash` while it has had fewer than `max_attempts` wrong codes. When none
    /// matches, counts one wrong code against the user's usable tokens of `purpose`.
    async fn consume_verification_code(
        &self,
        tenant: TenantId,
        user: UserId,
        purpose: VerificationPurpose,
        code_hash: &str,
        max_attempts: u32,
        now: Timestamp,
    ) -> StoreResult<Option<VerificationToken>>;
    /// Consumes every unconsumed token of the user (of one purpose, or all); returns how many.
    async fn revoke_verifications(
        &self,
        tenant: TenantId,
        user: UserId,
        purpose: Option<VerificationPurpose>,
        now: Timestamp,
    ) -> StoreResult<u64>;
    /// Deletes tokens that expired, or were consumed, before `before`; returns how many.
    async fn purge_verifications(&self, before: Timestamp) -> StoreResult<u64>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_round_trip_and_expire() {
        for p in [
            VerificationPurpose::VerifyEmail,
            VerificationPurpose::PasswordReset,
            VerificationPurpose::EmailChange,
        ] {
            assert_eq!(VerificationPurpose::parse(p.as_str()), Some(p));
            assert!(p.default_ttl() <= time::Duration::hours(24));
        }
        assert_eq!(VerificationPurpose::parse("other"), None);
        let now = time::macros::datetime!(2026-06-03 0:00 UTC);
        let t = VerificationToken::new(
            TenantId::new(),
            UserId::new(),
            VerificationPurpose::PasswordReset,
            "h".into(),
            None,
            now,
        );
        assert!(t.is_usable(now));
        assert_eq!(t.minutes_left(now), 30);
        assert!(!t.is_usable(t.expires_at));
        let used = VerificationToken {
            consumed_at: Some(now),
            ..t.clone()
        };
        assert!(!used.is_usable(now));
        assert!(!format!("{t:?}").contains("token_hash"));
    }
}
