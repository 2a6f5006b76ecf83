//! Browser sessions: created at sign-in, ended by idle or absolute timeout, sign-out or revocation.

use serde::{Deserialize, Serialize};

use crate::{SessionId, TenantId, Timestamp, UserId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    /// SHA-256 (hex) of the cookie value; the value itself is never stored.
    #[serde(skip)]
    pub token_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: Timestamp,
    /// Absolute end of the session.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: Timestamp,
    pub idle_timeout_secs: i64,
    /// Authentication methods used (RFC 8176 `amr` values, e.g. "pwd").
    pub auth_methods: Vec<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<Timestamp>,
}

/// How often a session's `last_seen_at` is written back; reads in between skip the write.
pub const TOUCH_INTERVAL_SECS: i64 = 60;

/// The part of a session that decides whether it is still active: what a token bound to it needs
/// to know, read without the rest (no personal fields to open).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLifetime {
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    pub idle_timeout_secs: i64,
    pub revoked_at: Option<Timestamp>,
}

impl SessionLifetime {
    /// Not revoked, before the absolute end and within the idle timeout.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none()
            && now < self.expires_at
            && now < self.last_seen_at + time::Duration::seconds(self.idle_timeout_secs)
    }
}

impl Session {
    pub fn lifetime(&self) -> SessionLifetime {
        SessionLifetime {
            last_seen_at: self.last_seen_at,
            expires_at: self.expires_at,
            idle_timeout_secs: self.idle_timeout_secs,
            revoked_at: self.revoked_at,
        }
    }

    pub fn is_active(&self, now: Timestamp) -> bool {
        self.lifetime().is_active(now)
    }

    /// Whether a request at `now` should refresh `last_seen_at` in the store.
    pub fn needs_touch(&self, now: Timestamp) -> bool {
        (now - self.last_seen_at).whole_seconds() >= TOUCH_INTERVAL_SECS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn idle_and_absolute_timeouts() {
        let t0 = time::macros::datetime!(2026-01-01 0:00 UTC);
        let mut s = Session {
            id: SessionId::new(),
            tenant_id: TenantId::new(),
            user_id: UserId::new(),
            token_hash: "h".into(),
            created_at: t0,
            last_seen_at: t0,
            expires_at: t0 + Duration::hours(10),
            idle_timeout_secs: 1800,
            auth_methods: vec!["pwd".into()],
            ip: None,
            user_agent: None,
            revoked_at: None,
        };
        assert!(s.is_active(t0 + Duration::minutes(29)));
        assert!(!s.is_active(t0 + Duration::minutes(31)), "idle timeout");
        s.last_seen_at = t0 + Duration::hours(9) + Duration::minutes(50);
        assert!(s.is_active(t0 + Duration::hours(9) + Duration::minutes(55)));
        assert!(!s.is_active(t0 + Duration::hours(10)), "absolute timeout");
        s.revoked_at = Some(t0);
        assert!(!s.is_active(t0 + Duration::hours(9) + Duration::minutes(55)));
    }
}
