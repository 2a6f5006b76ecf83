//! Data-subject rights (GDPR Art. 12-21): the **requests** a person makes (access, erasure,
//! rectification, restriction, objection) tracked against their one-month deadline, the
//! **processing-restricted** flag, the tenant's **retention policy**, and the **job leases** that
//! let exactly one node run a background job.
//!
//! Pure rules on plain values plus the store ports; the server strings them together with the
//! account-deletion path, the export, the mail outbox and the event pipeline.
#![allow(async_fn_in_trait)]

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::page::{Page, PageRequest};
use crate::store::StoreResult;
use crate::{CoreError, TenantId, Timestamp, UserId};

/// Days a controller has to answer a request (GDPR Art. 12(3): one month).
pub const DEADLINE_DAYS: i64 = 30;
/// The most one extension may add (Art. 12(3): two further months).
pub const MAX_EXTENSION_DAYS: u32 = 60;
const MAX_NOTE_CHARS: usize = 2000;

/// What the person asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// A copy of their data (Art. 15, 20): completed with the export.
    Access,
    /// Deletion (Art. 17): completed by deleting the account.
    Erasure,
    /// Correction (Art. 16): done by editing the profile, then completed.
    Rectification,
    /// Restriction of processing (Art. 18): completed by setting the restriction flag.
    Restriction,
    /// Objection to processing (Art. 21): decided by the operator.
    Objection,
}

impl RequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Access => "access",
            RequestKind::Erasure => "erasure",
            RequestKind::Rectification => "rectification",
            RequestKind::Restriction => "restriction",
            RequestKind::Objection => "objection",
        }
    }
    pub fn parse(s: &str) -> Result<RequestKind, CoreError> {
        Ok(match s {
            "access" => RequestKind::Access,
            "erasure" => RequestKind::Erasure,
            "rectification" => RequestKind::Rectification,
            "restriction" => RequestKind::Restriction,
            "objection" => RequestKind::Objection,
            _ => {
                return Err(CoreError::invalid(
                    "kind",
                    "must be access, erasure, rectification, restriction or objection",
                ));
            }
        })
    }
}

/// Where a request stands. `open` and `extended` are pending; the other two are final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Open,
    Extended,
    Completed,
    Rejected,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Open => "open",
            RequestStatus::Extended => "extended",
            RequestStatus::Completed => "completed",
            RequestStatus::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Result<RequestStatus, CoreError> {
        Ok(match s {
            "open" => RequestStatus::Open,
            "extended" => RequestStatus::Extended,
            "completed" => RequestStatus::Completed,
            "rejected" => RequestStatus::Rejected,
            _ => {
                return Err(CoreError::invalid(
                    "status",
                    "must be open, extended, completed or rejected",
                ));
            }
        })
    }
    pub fn is_pending(self) -> bool {
        matches!(self, RequestStatus::Open | RequestStatus::Extended)
    }
}

/// A data-subject request and its deadline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivacyRequest {
    pub id: Uuid,
    pub tenant_id: TenantId,
    /// The person (the random id stays after an erasure; it is no personal data by itself).
    pub user_id: UserId,
    pub kind: RequestKind,
    pub status: RequestStatus,
    /// The operator's note (no personal data, please).
    pub note: Option<String>,
    pub received_at: Timestamp,
    /// `received_at` + 30 days, or later once extended.
    pub due_at: Timestamp,
    pub extended_at: Option<Timestamp>,
    pub extension_reason: Option<String>,
    /// When it was completed or rejected.
    pub closed_at: Option<Timestamp>,
    /// Why it was rejected, or what completing it did.
    pub resolution: Option<String>,
    /// Who recorded it (`api_key:<id>`, …).
    pub created_by: String,
}

fn check_text(field: &'static str, text: &str) -> Result<(), CoreError> {
    if text.trim().is_empty()
        || text.chars().count() > MAX_NOTE_CHARS
        || text.chars().any(|c| c.is_control() && c != '\n')
    {
        return Err(CoreError::invalid(
            field,
            format!("1 to {MAX_NOTE_CHARS} characters, no control characters"),
        ));
    }
    Ok(())
}

impl PrivacyRequest {
    /// A request received at `now`, due 30 days later.
    pub fn new(
        tenant_id: TenantId,
        user_id: UserId,
        kind: RequestKind,
        note: Option<String>,
        created_by: String,
        now: Timestamp,
    ) -> Result<PrivacyRequest, CoreError> {
        if let Some(n) = &note {
            check_text("note", n)?;
        }
        Ok(PrivacyRequest {
            id: Uuid::now_v7(),
            tenant_id,
            user_id,
            kind,
            status: RequestStatus::Open,
            note,
            received_at: now,
            due_at: now + time::Duration::days(DEADLINE_DAYS),
            extended_at: None,
            extension_reason: None,
            closed_at: None,
            resolution: None,
            created_by,
        })
    }

    /// Pending past its deadline.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        self.status.is_pending() && self.due_at < now
    }

    fn pending(&self) -> Result<(), CoreError> {
        if self.status.is_pending() {
            Ok(())
        } else {
            Err(CoreError::Conflict(format!(
                "the request is already {}",
                self.status.as_str()
            )))
        }
    }

    /// Extends the deadline once by 1 to 60 days, with a reason (Art. 12(3)).
    pub fn extend(&mut self, days: u32, reason: String, now: Timestamp) -> Result<(), CoreError> {
        self.pending()?;
        if self.status == RequestStatus::Extended {
            return Err(CoreError::Conflict(
                "the request was already extended once".into(),
            ));
        }
        if !(1..=MAX_EXTENSION_DAYS).contains(&days) {
            return Err(CoreError::invalid(
                "days",
                format!("between 1 and {MAX_EXTENSION_DAYS}"),
            ));
        }
        check_text("reason", &reason)?;
        self.status = RequestStatus::Extended;
        self.due_at += time::Duration::days(i64::from(days));
        self.extended_at = Some(now);
        self.extension_reason = Some(reason);
        Ok(())
    }

    /// Checks that the request can still be closed.
    pub fn check_pending(&self) -> Result<(), CoreError> {
        self.pending()
    }

    pub fn complete(
        &mut self,
        resolution: Option<String>,
        now: Timestamp,
    ) -> Result<(), CoreError> {
        self.pending()?;
        if let Some(r) = &resolution {
            check_text("note", r)?;
        }
        self.status = RequestStatus::Completed;
        self.closed_at = Some(now);
        self.resolution = resolution;
        Ok(())
    }

    pub fn reject(&mut self, reason: String, now: Timestamp) -> Result<(), CoreError> {
        self.pending()?;
        check_text("reason", &reason)?;
        self.status = RequestStatus::Rejected;
        self.closed_at = Some(now);
        self.resolution = Some(reason);
        Ok(())
    }
}

/// What to list.
#[derive(Clone, Debug, Default)]
pub struct RequestFilter {
    pub status: Option<RequestStatus>,
    pub user: Option<UserId>,
    /// Only pending requests due before this time.
    pub overdue_at: Option<Timestamp>,
}

/// The tenant's retention policy (`settings.retention`). 0 switches a rule off.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSettings {
    /// Accounts whose email is still unverified this many days after creation are deleted.
    pub unverified_accounts_days: u32,
    /// Accounts with no sign-in (or, never signed in, no creation) for this many days are
    /// deleted, after a warning email.
    pub inactive_accounts_days: u32,
    /// The warning goes this many days before the deletion; the account is deleted only when the
    /// warning was sent that long ago and the person still did not sign in.
    pub inactive_warning_days: u32,
}

/// The longest period a retention rule may name (100 years).
pub const MAX_RETENTION_DAYS: u32 = 36500;

impl RetentionSettings {
    pub fn validate(&self) -> Result<(), CoreError> {
        for (field, v) in [
            (
                "settings.retention.unverified_accounts_days",
                self.unverified_accounts_days,
            ),
            (
                "settings.retention.inactive_accounts_days",
                self.inactive_accounts_days,
            ),
            (
                "settings.retention.inactive_warning_days",
                self.inactive_warning_days,
            ),
        ] {
            if v > MAX_RETENTION_DAYS {
                return Err(CoreError::invalid(
                    field,
                    format!("must be between 0 and {MAX_RETENTION_DAYS}"),
                ));
            }
        }
        if self.inactive_accounts_days > 0
            && self.inactive_warning_days >= self.inactive_accounts_days
        {
            return Err(CoreError::invalid(
                "settings.retention.inactive_warning_days",
                "must be less than inactive_accounts_days",
            ));
        }
        Ok(())
    }

    /// Accounts inactive since before this are warned (when the rule is on).
    pub fn warn_inactive_before(&self, now: Timestamp) -> Option<Timestamp> {
        (self.inactive_accounts_days > 0).then(|| {
            now - time::Duration::days(i64::from(
                self.inactive_accounts_days - self.inactive_warning_days,
            ))
        })
    }

    /// Accounts inactive since before this, warned before [`Self::warned_before`], are deleted.
    pub fn delete_inactive_before(&self, now: Timestamp) -> Option<Timestamp> {
        (self.inactive_accounts_days > 0)
            .then(|| now - time::Duration::days(i64::from(self.inactive_accounts_days)))
    }

    pub fn warned_before(&self, now: Timestamp) -> Timestamp {
        now - time::Duration::days(i64::from(self.inactive_warning_days))
    }

    /// Unverified accounts created before this are deleted (when the rule is on).
    pub fn unverified_before(&self, now: Timestamp) -> Option<Timestamp> {
        (self.unverified_accounts_days > 0)
            .then(|| now - time::Duration::days(i64::from(self.unverified_accounts_days)))
    }
}

/// The store port of data-subject requests and the restriction flag.
pub trait PrivacyRequestStore {
    async fn create_privacy_request(&self, r: &PrivacyRequest) -> StoreResult<()>;
    async fn get_privacy_request(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> StoreResult<Option<PrivacyRequest>>;
    /// Newest received first; the cursor is the last id of the previous page.
    async fn list_privacy_requests(
        &self,
        tenant: TenantId,
        filter: &RequestFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<PrivacyRequest>>;
    /// Writes the request's status, deadline and closing fields only if its stored status is
    /// still `expected` (so that two operators cannot both complete it). False otherwise.
    async fn update_privacy_request(
        &self,
        r: &PrivacyRequest,
        expected: RequestStatus,
    ) -> StoreResult<bool>;

    /// When processing of the person's data was restricted, if it is.
    async fn processing_restricted(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<Option<Timestamp>>;
    /// Sets (`Some`, keeping an earlier time) or clears (`None`) the flag. `NotFound` when the
    /// user is not one of the tenant's. True when it changed.
    async fn set_processing_restricted(
        &self,
        tenant: TenantId,
        user: UserId,
        at: Option<Timestamp>,
    ) -> StoreResult<bool>;
}

/// Candidates of the retention rules, oldest first, at most `limit` each.
pub trait RetentionStore {
    /// Accounts with an unverified email created before `before`.
    async fn unverified_accounts(
        &self,
        tenant: TenantId,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<UserId>>;
    /// Accounts whose last sign-in (or creation, when never) is before `inactive_before` and
    /// that were not warned since their last sign-in.
    async fn inactive_unwarned_accounts(
        &self,
        tenant: TenantId,
        inactive_before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<UserId>>;
    /// Accounts inactive since before `inactive_before`, warned before `warned_before`, with no
    /// sign-in since the warning.
    async fn inactive_warned_accounts(
        &self,
        tenant: TenantId,
        inactive_before: Timestamp,
        warned_before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<UserId>>;
    async fn record_retention_warning(
        &self,
        tenant: TenantId,
        user: UserId,
        at: Timestamp,
    ) -> StoreResult<()>;
    /// Existing users whose newest record of `purpose` is `granted` and was recorded before
    /// `before`.
    async fn expired_consents(
        &self,
        tenant: TenantId,
        purpose: &str,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<UserId>>;
}

/// Leases that make one node run a background job: a row per job name, held until it expires.
pub trait JobLeaseStore {
    /// Takes the lease `name` for `holder` until `until` when it is free, expired at `now`, or
    /// already `holder`'s (then renewed). One atomic statement: of two nodes asking at once,
    /// exactly one gets it. True when `holder` holds it now.
    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> StoreResult<bool>;
    /// Gives the lease up, if `holder` holds it.
    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
    }

    fn req() -> PrivacyRequest {
        PrivacyRequest::new(
            TenantId(Uuid::nil()),
            UserId(Uuid::nil()),
            RequestKind::Erasure,
            None,
            "api_key:x".into(),
            t("2026-01-01T00:00:00Z"),
        )
        .unwrap()
    }

    #[test]
    fn a_request_is_due_in_thirty_days_and_extends_once() {
        let mut r = req();
        assert_eq!(r.due_at, t("2026-01-31T00:00:00Z"));
        assert!(!r.is_overdue(t("2026-01-30T00:00:00Z")));
        assert!(r.is_overdue(t("2026-02-01T00:00:00Z")));
        assert!(
            r.extend(61, "complex".into(), t("2026-01-10T00:00:00Z"))
                .is_err()
        );
        assert!(r.extend(10, " ".into(), t("2026-01-10T00:00:00Z")).is_err());
        r.extend(60, "many systems".into(), t("2026-01-10T00:00:00Z"))
            .unwrap();
        assert_eq!(r.due_at, t("2026-04-01T00:00:00Z"));
        assert!(matches!(
            r.extend(1, "again".into(), t("2026-01-11T00:00:00Z")),
            Err(CoreError::Conflict(_))
        ));
        r.complete(None, t("2026-01-12T00:00:00Z")).unwrap();
        assert!(!r.is_overdue(t("2027-01-01T00:00:00Z")));
        assert!(matches!(
            r.complete(None, t("2026-01-12T00:00:00Z")),
            Err(CoreError::Conflict(_))
        ));
        assert!(r.reject("no".into(), t("2026-01-12T00:00:00Z")).is_err());
    }

    #[test]
    fn kinds_and_retention_settings_are_checked() {
        assert_eq!(RequestKind::parse("access").unwrap(), RequestKind::Access);
        assert!(RequestKind::parse("export").is_err());
        let mut s = RetentionSettings {
            inactive_accounts_days: 10,
            inactive_warning_days: 3,
            ..Default::default()
        };
        s.validate().unwrap();
        let now = t("2026-01-20T00:00:00Z");
        assert_eq!(s.warn_inactive_before(now), Some(t("2026-01-13T00:00:00Z")));
        assert_eq!(
            s.delete_inactive_before(now),
            Some(t("2026-01-10T00:00:00Z"))
        );
        assert_eq!(s.unverified_before(now), None);
        s.inactive_warning_days = 10;
        assert!(s.validate().is_err());
        s.inactive_warning_days = 0;
        s.unverified_accounts_days = MAX_RETENTION_DAYS + 1;
        assert!(s.validate().is_err());
    }
}
