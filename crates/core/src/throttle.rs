//! Throttling of failed sign-ins per account and per client IP: exponential delay after a few free
//! failures, then a temporary lockout. The counters live in the store so every node sees them.

use crate::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed before any delay applies.
    pub free_failures: u32,
    /// The first delay; each further failure doubles it up to `max_delay_secs`.
    pub base_delay_secs: u64,
    pub max_delay_secs: u64,
    /// After this many failures in the window the key is locked for `lockout_secs`.
    pub lockout_after: u32,
    pub lockout_secs: u64,
    /// Failures older than this no longer count.
    pub window_secs: u64,
}

impl ThrottlePolicy {
    /// Per account: a person mistyping gets three free tries; a guesser is locked out quickly.
    pub fn per_account() -> ThrottlePolicy {
        ThrottlePolicy {
            free_failures: 3,
            base_delay_secs: 1,
            max_delay_secs: 60,
            lockout_after: 10,
            lockout_secs: 15 * 60,
            window_secs: 3600,
        }
    }
    /// Second factors of one account, across sign-ins: a sign-in in progress allows
    /// [`crate::mfa::MAX_FLOW_ATTEMPTS`] wrong answers; starting new sign-ins (the password is
    /// known) only buys delays, then a lockout, never unlimited guesses at a 6-digit code.
    pub fn per_account_second_factor() -> ThrottlePolicy {
        ThrottlePolicy {
            free_failures: 5,
            base_delay_secs: 2,
            max_delay_secs: 60,
            lockout_after: 10,
            lockout_secs: 15 * 60,
            window_secs: 3600,
        }
    }
    /// Per IP: looser, since offices and mobile carriers put many people behind one address.
    pub fn per_ip() -> ThrottlePolicy {
        ThrottlePolicy {
            free_failures: 20,
            base_delay_secs: 1,
            max_delay_secs: 30,
            lockout_after: 100,
            lockout_secs: 15 * 60,
            window_secs: 3600,
        }
    }
}

/// The stored counter for one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottleState {
    pub failures: u32,
    pub last_failure_at: Timestamp,
    pub locked_until: Option<Timestamp>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThrottleDecision {
    Allow,
    /// Refuse without checking the password; try again after this many seconds.
    Wait {
        retry_after_secs: u64,
    },
}

impl ThrottlePolicy {
    pub fn decide(&self, state: Option<&ThrottleState>, now: Timestamp) -> ThrottleDecision {
        let Some(s) = state else {
            return ThrottleDecision::Allow;
        };
        if let Some(until) = s.locked_until
            && now < until
        {
            return ThrottleDecision::Wait {
                retry_after_secs: ceil_secs(until - now),
            };
        }
        if (now - s.last_failure_at).whole_seconds() >= self.window_secs as i64 {
            return ThrottleDecision::Allow;
        }
        if s.failures <= self.free_failures {
            return ThrottleDecision::Allow;
        }
        let doublings = (s.failures - self.free_failures - 1).min(30);
        let delay = self
            .base_delay_secs
            .saturating_mul(1u64 << doublings)
            .min(self.max_delay_secs);
        let next = s.last_failure_at + time::Duration::seconds(delay as i64);
        if now < next {
            ThrottleDecision::Wait {
                retry_after_secs: ceil_secs(next - now),
            }
        } else {
            ThrottleDecision::Allow
        }
    }
}

fn ceil_secs(d: time::Duration) -> u64 {
    let ms = d.whole_milliseconds().max(0) as u64;
    ms.div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn exponential_delay_then_lockout() {
        let p = ThrottlePolicy::per_account();
        let t0 = time::macros::datetime!(2026-01-01 0:00 UTC);
        let st = |failures, locked_until| ThrottleState {
            failures,
            last_failure_at: t0,
            locked_until,
        };
        assert_eq!(p.decide(None, t0), ThrottleDecision::Allow);
        assert_eq!(p.decide(Some(&st(3, None)), t0), ThrottleDecision::Allow);
        assert_eq!(
            p.decide(Some(&st(4, None)), t0),
            ThrottleDecision::Wait {
                retry_after_secs: 1
            }
        );
        assert_eq!(
            p.decide(Some(&st(6, None)), t0),
            ThrottleDecision::Wait {
                retry_after_secs: 4
            }
        );
        assert_eq!(
            p.decide(Some(&st(6, None)), t0 + Duration::seconds(4)),
            ThrottleDecision::Allow
        );
        assert_eq!(
            p.decide(Some(&st(9, None)), t0),
            ThrottleDecision::Wait {
                retry_after_secs: 32
            }
        );
        assert_eq!(
            p.decide(Some(&st(20, None)), t0),
            ThrottleDecision::Wait {
                retry_after_secs: 60
            }
        );
        let locked = st(10, Some(t0 + Duration::minutes(15)));
        assert_eq!(
            p.decide(Some(&locked), t0 + Duration::minutes(5)),
            ThrottleDecision::Wait {
                retry_after_secs: 600
            }
        );
        // Old failures stop counting once the window has passed.
        assert_eq!(
            p.decide(Some(&st(9, None)), t0 + Duration::hours(2)),
            ThrottleDecision::Allow
        );
    }
}
