//! Outgoing email: the message a module wants sent ([`OutgoingMail`]), the row of the persisted
//! outbox the mail worker delivers ([`QueuedMail`]), what operators may see of that row
//! ([`MailRecord`], never the recipient or the content) and the store port of the outbox
//! ([`MailOutboxStore`]).
//!
//! Messages carry one-time codes and links, so they are personal data and secrets at once: the
//! store seals the recipient and the content while a message waits, and erases both once it is
//! sent or given up. `Debug` output never shows them.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::page::{Page, PageRequest};
use crate::store::StoreResult;
use crate::{CoreError, TenantId, Timestamp, UserId};

/// Longest recipient address accepted (RFC 5321 limits a path to 256 octets including `<>`).
pub const MAX_ADDRESS_LEN: usize = 254;
/// Longest `kind` accepted.
pub const MAX_KIND_LEN: usize = 64;

/// A rendered message, ready to queue.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// One bare address (`alice@example.com`), no display name.
    pub to: String,
    pub subject: String,
    /// The plain-text body (always sent).
    pub text: String,
    /// An HTML alternative of the same content, when the template has one.
    pub html: Option<String>,
}

impl std::fmt::Debug for OutgoingMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Codes and links live in the subject and the bodies; the address is personal data.
        f.debug_struct("OutgoingMail")
            .field("to", &"<redacted>")
            .field("subject", &"<redacted>")
            .field("text", &format_args!("<{} bytes>", self.text.len()))
            .field(
                "html",
                &self
                    .html
                    .as_ref()
                    .map(|h| format!("<{} bytes>", h.len()))
                    .unwrap_or_else(|| "None".into()),
            )
            .finish()
    }
}

impl OutgoingMail {
    /// Checks the shape of the message (the transport checks the address fully): a recipient of
    /// sane length without spaces or line breaks, a one-line subject.
    pub fn validate(&self) -> Result<(), CoreError> {
        let to = self.to.as_str();
        let at = to.rfind('@');
        let ok = !to.is_empty()
            && to.len() <= MAX_ADDRESS_LEN
            && at.is_some_and(|i| i > 0 && i + 1 < to.len())
            && !to.chars().any(|c| c.is_whitespace() || c.is_control())
            && !to.contains(['<', '>', ',', ';', '"']);
        if !ok {
            return Err(CoreError::invalid(
                "to",
                "must be one email address such as alice@example.com",
            ));
        }
        if self.subject.trim().is_empty() || self.subject.contains(['\r', '\n']) {
            return Err(CoreError::invalid(
                "subject",
                "must be one non-empty line of text",
            ));
        }
        Ok(())
    }
}

/// Checks a message kind: lowercase letters, digits and `_`, 1 to 64 characters (`email_code`,
/// `verify_email`, `password_reset`, `test`).
pub fn validate_kind(kind: &str) -> Result<(), CoreError> {
    if kind.is_empty()
        || kind.len() > MAX_KIND_LEN
        || !kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(CoreError::invalid(
            "kind",
            "must be 1 to 64 lowercase letters, digits or _",
        ));
    }
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailStatus {
    /// Waiting for its first or next attempt.
    Pending,
    /// Accepted by the mail server (or written to the log by the `log` transport).
    Sent,
    /// Given up after the maximum number of attempts (dead letter).
    Dead,
}

impl MailStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MailStatus::Pending => "pending",
            MailStatus::Sent => "sent",
            MailStatus::Dead => "dead",
        }
    }
    pub fn parse(s: &str) -> Result<MailStatus, CoreError> {
        match s {
            "pending" => Ok(MailStatus::Pending),
            "sent" => Ok(MailStatus::Sent),
            "dead" => Ok(MailStatus::Dead),
            _ => Err(CoreError::invalid(
                "status",
                "must be pending, sent or dead",
            )),
        }
    }
}

/// One message of the outbox with its content: what `enqueue_mail` writes and `claim_mail`
/// returns to the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedMail {
    pub id: Uuid,
    pub tenant_id: TenantId,
    /// What the message is for (`email_code`, `verify_email`, `password_reset`, `test`, …).
    pub kind: String,
    /// The account the message is about, when known; events name it, never the address.
    pub user_id: Option<UserId>,
    pub message: OutgoingMail,
    /// Attempts made before this one.
    pub attempts: i32,
    pub next_attempt_at: Timestamp,
    pub created_at: Timestamp,
}

impl QueuedMail {
    /// A new message, due at once.
    pub fn new(
        tenant_id: TenantId,
        kind: &str,
        user_id: Option<UserId>,
        message: OutgoingMail,
        now: Timestamp,
    ) -> QueuedMail {
        QueuedMail {
            id: Uuid::now_v7(),
            tenant_id,
            kind: kind.to_string(),
            user_id,
            message,
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
        }
    }
}

/// An outbox row as operators see it: state and timing, never the recipient or the content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailRecord {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub kind: String,
    pub user_id: Option<UserId>,
    pub status: MailStatus,
    pub attempts: i32,
    pub next_attempt_at: Timestamp,
    /// The last failure, in the transport's words (no address, no content).
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    /// When it was sent, or given up.
    pub finished_at: Option<Timestamp>,
}

/// How many messages of a tenant are in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailCounts {
    pub pending: u64,
    pub sent: u64,
    pub dead: u64,
}

/// The persisted mail outbox. Workers on any number of nodes share it: `claim_mail` leases rows
/// (on PostgreSQL with `FOR UPDATE SKIP LOCKED`), so each message goes to one worker at a time.
#[allow(async_fn_in_trait)]
pub trait MailOutboxStore {
    /// Writes a pending message; recipient and content are sealed by the store.
    /// `NotFound` when the tenant does not exist.
    async fn enqueue_mail(&self, mail: &QueuedMail) -> StoreResult<()>;
    /// Leases up to `limit` pending messages due at `now` whose lease is absent or over, until
    /// `lease_until`. Across all tenants, oldest first.
    async fn claim_mail(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<QueuedMail>>;
    /// Marks a message sent (attempts + 1, lease cleared) and erases its recipient and content.
    /// `NotFound` when no message has that id.
    async fn mark_mail_sent(&self, id: Uuid, now: Timestamp) -> StoreResult<()>;
    /// Records a failed attempt (attempts + 1, lease cleared, `error` kept, cut to 1000
    /// characters). With `retry_at` the message stays pending until then; without, it is dead and
    /// its recipient and content are erased. A message already sent stays sent.
    /// `NotFound` when no message has that id.
    async fn fail_mail(
        &self,
        id: Uuid,
        error: &str,
        now: Timestamp,
        retry_at: Option<Timestamp>,
    ) -> StoreResult<()>;
    /// Newest first; `page.after` is a message id (exclusive); optionally one state only.
    async fn list_mail(
        &self,
        tenant: TenantId,
        status: Option<MailStatus>,
        page: &PageRequest,
    ) -> StoreResult<Page<MailRecord>>;
    async fn count_mail(&self, tenant: TenantId) -> StoreResult<MailCounts>;
    /// Deletes sent and dead messages that finished before `before`; returns how many.
    async fn purge_mail(&self, before: Timestamp) -> StoreResult<u64>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(to: &str, subject: &str) -> OutgoingMail {
        OutgoingMail {
            to: to.into(),
            subject: subject.into(),
            text: "Your code is 123456".into(),
            html: Some("<p>Your code is 123456</p>".into()),
        }
    }

    #[test]
    fn debug_shows_neither_recipient_nor_content() {
        let m = mail("alice@example.com", "Code 123456");
        let q = QueuedMail::new(
            TenantId::new(),
            "email_code",
            None,
            m.clone(),
            time::macros::datetime!(2026-01-01 0:00 UTC),
        );
        for shown in [format!("{m:?}"), format!("{q:?}"), format!("{m:#?}")] {
            assert!(!shown.contains("alice"), "{shown}");
            assert!(!shown.contains("123456"), "{shown}");
        }
    }

    #[test]
    fn validation() {
        mail("alice@example.com", "Hello").validate().unwrap();
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice @example.com",
            "Alice <alice@example.com>",
            "a@b.c,b@c.d",
            "a@b.c\r\nBcc: x@y.z",
        ] {
            assert!(mail(bad, "Hello").validate().is_err(), "{bad:?}");
        }
        assert!(
            mail(&format!("{}@example.com", "a".repeat(250)), "Hello")
                .validate()
                .is_err()
        );
        assert!(mail("a@b.c", "Hi\r\nBcc: x@y.z").validate().is_err());
        assert!(mail("a@b.c", " ").validate().is_err());
        validate_kind("verify_email").unwrap();
        assert!(validate_kind("Verify").is_err() && validate_kind("").is_err());
        assert_eq!(MailStatus::parse("dead").unwrap(), MailStatus::Dead);
        assert!(MailStatus::parse("lost").is_err());
    }
}
