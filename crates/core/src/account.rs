//! The account portal's rules (`{issuer}/account`): how a person deletes their own account
//! (`settings.account`), the scheduled deletion of an account during its grace period and the
//! store port that keeps it, and how a session's device is described to its owner.
//!
//! Pure decisions on plain values; the server strings them together with the store, the mail
//! outbox and the back-channel logout.
#![allow(async_fn_in_trait)]

use serde::{Deserialize, Serialize};

use crate::store::StoreResult;
use crate::user::normalize_email;
use crate::{CoreError, TenantId, Timestamp, UserId};

/// The longest grace period a tenant may give deleted accounts.
pub const MAX_DELETION_GRACE_DAYS: u32 = 90;

/// `settings.account`: what the account portal lets people do with their own account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountSettings {
    /// Days between "delete my account" and the deletion. `0` deletes at once; otherwise the
    /// account is disabled at once (every session ends) and deleted when the period is over,
    /// unless an operator enables it again before that.
    pub deletion_grace_days: u32,
}

impl AccountSettings {
    pub fn validate(&self) -> Result<(), CoreError> {
        if self.deletion_grace_days > MAX_DELETION_GRACE_DAYS {
            return Err(CoreError::invalid(
                "settings.account.deletion_grace_days",
                format!("must be between 0 and {MAX_DELETION_GRACE_DAYS}"),
            ));
        }
        Ok(())
    }

    /// When an account whose owner asked for deletion at `now` is deleted: `None` for at once.
    pub fn deletion_due_at(&self, now: Timestamp) -> Option<Timestamp> {
        (self.deletion_grace_days > 0)
            .then(|| now + time::Duration::days(i64::from(self.deletion_grace_days)))
    }
}

/// Whether what the person typed to confirm a deletion is their own email address (compared as
/// addresses are: trimmed, case-insensitive).
pub fn deletion_confirmed(typed: &str, email: &str) -> bool {
    let typed = normalize_email(typed);
    !typed.is_empty() && typed == normalize_email(email)
}

/// An account its owner asked to delete, waiting for the end of its grace period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledDeletion {
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub requested_at: Timestamp,
    /// The deletion job deletes the account once this time has passed.
    pub due_at: Timestamp,
}

/// The store port of scheduled account deletions (`account_deletions`). A row goes with its
/// account: deleting the account removes it.
pub trait AccountDeletionStore {
    /// Schedules (or reschedules) the deletion of an account. `NotFound` when the user is not one
    /// of the tenant's.
    async fn schedule_deletion(&self, deletion: &ScheduledDeletion) -> StoreResult<()>;
    async fn get_scheduled_deletion(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<Option<ScheduledDeletion>>;
    /// Removes the schedule; false when there was none.
    async fn cancel_scheduled_deletion(&self, tenant: TenantId, user: UserId) -> StoreResult<bool>;
    /// Leases up to `limit` deletions due at `now` whose lease is absent or over, until
    /// `lease_until` (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so that one node handles each.
    /// Across all tenants, oldest due first.
    async fn claim_due_deletions(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ScheduledDeletion>>;
}

/// A short, human description of the device behind a user agent, such as "Firefox on Linux" or
/// "Safari on iPhone", for the list of sessions. Unknown agents are "Unknown device"; nothing of
/// the raw string is shown beyond the names recognized here.
pub fn device_summary(user_agent: Option<&str>) -> String {
    match device(user_agent) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_string(),
        (None, Some(o)) => format!("A browser on {o}"),
        (None, None) => "Unknown device".into(),
    }
}

/// The browser and operating system names recognized in a user agent (for pages that say
/// "{browser} on {os}" in their own language).
pub fn device(user_agent: Option<&str>) -> (Option<&'static str>, Option<&'static str>) {
    let Some(ua) = user_agent.map(str::trim).filter(|u| !u.is_empty()) else {
        return (None, None);
    };
    // Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari", Android also
    // says "Linux", iOS browsers say "Mac OS X".
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    let os = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("CrOS", "ChromeOS"),
        ("Mac OS X", "macOS"),
        ("Macintosh", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    (browser, os)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_days_are_bounded_and_schedule_the_deletion() {
        let now = time::macros::datetime!(2026-06-04 12:00 UTC);
        let at_once = AccountSettings::default();
        at_once.validate().unwrap();
        assert_eq!(at_once.deletion_due_at(now), None);
        let grace = AccountSettings {
            deletion_grace_days: 14,
        };
        grace.validate().unwrap();
        assert_eq!(
            grace.deletion_due_at(now),
            Some(time::macros::datetime!(2026-06-18 12:00 UTC))
        );
        let e = AccountSettings {
            deletion_grace_days: 91,
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().contains("deletion_grace_days"), "{e}");
        let s: AccountSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(s, AccountSettings::default());
        assert!(serde_json::from_str::<AccountSettings>(r#"{"grace_days": 1}"#).is_err());
    }

    #[test]
    fn deletion_is_confirmed_by_typing_the_address() {
        assert!(deletion_confirmed(" Ann@Shop.TEST ", "ann@shop.test"));
        assert!(!deletion_confirmed("", "ann@shop.test"));
        assert!(!deletion_confirmed("delete", "ann@shop.test"));
        assert!(!deletion_confirmed("ann@shop.tes", "ann@shop.test"));
    }

    #[test]
    fn devices_are_summarized() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari on iPhone",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
                "Safari on macOS",
            ),
            ("curl/8.8.0", "curl"),
            ("something else entirely", "Unknown device"),
            ("", "Unknown device"),
        ];
        for (ua, want) in cases {
            assert_eq!(device_summary(Some(ua)), want, "{ua}");
        }
        assert_eq!(device_summary(None), "Unknown device");
    }
}
