//! `MailOutboxStore`: the persisted mail outbox `mail_outbox`.
//!
//! - While a message waits, its recipient and its content (subject, text and HTML as one JSON
//!   document) are sealed, bound to the row (associated data `mail.recipient:{tenant}:{id}` and
//!   `mail.content:{tenant}:{id}`). Marking it sent, or dead, sets both to NULL in the same
//!   statement: one-time codes and links do not outlive their delivery.
//! - Workers on any number of nodes lease due messages with `claim_mail`, one statement that sets
//!   `lease_until` on the rows it picks (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the database's
//!   single write lock on SQLite), as `claim_deliveries` does for webhooks.
//! - `last_error` holds the transport's words only; callers keep addresses out of it.

use serde::{Deserialize, Serialize};
use tessera_core::mail::{MailCounts, MailOutboxStore, MailRecord, MailStatus, QueuedMail};
use tessera_core::page::{Page, PageRequest};
use tessera_core::store::StoreResult;
use tessera_core::{OutgoingMail, StoreError, TenantId, Timestamp, UserId};
use uuid::Uuid;

use crate::Store;
use crate::codec::{Sealer, from_json, from_millis, id, opt_from_millis, to_json, to_millis};
use crate::error::{corrupt, from_sqlx};
use crate::users::page_of;

/// The longest error message kept per message (in characters); longer ones are cut.
const MAX_ERROR_CHARS: usize = 1000;

macro_rules! mail_columns {
    () => {
        "id, tenant_id, kind, user_id, recipient_sealed, content_sealed, status, attempts, \
         next_attempt_at, lease_until, last_error, created_at, finished_at"
    };
}

/// Picks due, unleased messages oldest first and leases them until `$2` (`$1` is now, `$3` the
/// most to take).
const CLAIM_MAIL: crate::dialect::Locking = for_update_skip_locked!(
    "UPDATE mail_outbox SET lease_until = $2 WHERE id IN (\
       SELECT id FROM mail_outbox \
       WHERE status = 'pending' AND next_attempt_at <= $1 \
       AND (lease_until IS NULL OR lease_until <= $1) \
       ORDER BY next_attempt_at, id LIMIT $3";
    ") AND status = 'pending' RETURNING ",
    mail_columns!()
);

/// The sealed part of a message besides its recipient.
#[derive(Serialize, Deserialize)]
struct Content {
    subject: String,
    text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    html: Option<String>,
}

fn uuid(column: &str, value: &str) -> Result<Uuid, StoreError> {
    id(column, value, |s| Uuid::parse_str(s).ok())
}

fn small_int(column: &str, value: i64) -> Result<i32, StoreError> {
    i32::try_from(value).map_err(|_| corrupt(format!("{column} is out of range")))
}

fn truncate_error(error: &str) -> &str {
    match error.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => &error[..cut],
        None => error,
    }
}

#[derive(sqlx::FromRow)]
struct MailRow {
    id: String,
    tenant_id: String,
    kind: String,
    user_id: Option<String>,
    recipient_sealed: Option<Vec<u8>>,
    content_sealed: Option<Vec<u8>>,
    status: String,
    attempts: i64,
    next_attempt_at: i64,
    #[allow(dead_code)]
    lease_until: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
    finished_at: Option<i64>,
}

impl MailRow {
    fn into_record(self) -> Result<MailRecord, StoreError> {
        Ok(MailRecord {
            id: uuid("mail_outbox.id", &self.id)?,
            tenant_id: id("mail_outbox.tenant_id", &self.tenant_id, TenantId::parse)?,
            kind: self.kind,
            user_id: self
                .user_id
                .map(|u| id("mail_outbox.user_id", &u, UserId::parse))
                .transpose()?,
            status: MailStatus::parse(&self.status)
                .map_err(|_| corrupt("mail_outbox.status is not a known status"))?,
            attempts: small_int("mail_outbox.attempts", self.attempts)?,
            next_attempt_at: from_millis(self.next_attempt_at)?,
            last_error: self.last_error,
            created_at: from_millis(self.created_at)?,
            finished_at: opt_from_millis(self.finished_at)?,
        })
    }

    /// Opens a claimed (pending) row. A pending row always has its recipient and content.
    fn into_queued(mut self, store: &Store) -> Result<QueuedMail, StoreError> {
        let recipient = self.recipient_sealed.take();
        let content = self.content_sealed.take();
        let record = self.into_record()?;
        let (Some(recipient), Some(content)) = (recipient, content) else {
            return Err(corrupt(
                "a pending mail_outbox row has no recipient or content",
            ));
        };
        let sealer = Sealer::new(&store.crypto, "mail", record.tenant_id, record.id);
        let content: Content = from_json(
            "mail_outbox.content_sealed",
            &sealer.open("content", &content)?,
        )?;
        Ok(QueuedMail {
            id: record.id,
            tenant_id: record.tenant_id,
            kind: record.kind,
            user_id: record.user_id,
            message: OutgoingMail {
                to: sealer.open("recipient", &recipient)?,
                subject: content.subject,
                text: content.text,
                html: content.html,
            },
            attempts: record.attempts,
            next_attempt_at: record.next_attempt_at,
            created_at: record.created_at,
        })
    }
}

impl MailOutboxStore for Store {
    /// `NotFound` when the tenant does not exist; `Conflict("id")` for a reused id.
    async fn enqueue_mail(&self, mail: &QueuedMail) -> StoreResult<()> {
        let sealer = Sealer::new(&self.crypto, "mail", mail.tenant_id, mail.id);
        let recipient = sealer.seal("recipient", &mail.message.to)?;
        let content = sealer.seal(
            "content",
            &to_json(
                "mail_outbox.content_sealed",
                &Content {
                    subject: mail.message.subject.clone(),
                    text: mail.message.text.clone(),
                    html: mail.message.html.clone(),
                },
            )?,
        )?;
        execute!(
            self,
            sqlx::query(concat!(
                "INSERT INTO mail_outbox (",
                mail_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, NULL, NULL, $9, NULL)"
            ))
            .bind(mail.id.to_string())
            .bind(mail.tenant_id.to_string())
            .bind(&mail.kind)
            .bind(mail.user_id.map(|u| u.to_string()))
            .bind(&recipient)
            .bind(&content)
            .bind(i64::from(mail.attempts))
            .bind(to_millis(mail.next_attempt_at))
            .bind(to_millis(mail.created_at))
        )?;
        Ok(())
    }

    /// Returned oldest first (by `next_attempt_at`, then id).
    async fn claim_mail(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<QueuedMail>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let sql = CLAIM_MAIL.text(&self.db);
        let rows: Vec<MailRow> = on_pool!(write self, pool => {
            sqlx::query_as(sql)
                .bind(to_millis(now))
                .bind(to_millis(lease_until))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })
        .map_err(from_sqlx)?;
        let mut claimed = rows
            .into_iter()
            .map(|r| r.into_queued(self))
            .collect::<Result<Vec<_>, _>>()?;
        // RETURNING follows no particular order.
        claimed.sort_by_key(|m| (m.next_attempt_at, m.id));
        Ok(claimed)
    }

    async fn mark_mail_sent(&self, id: Uuid, now: Timestamp) -> StoreResult<()> {
        let updated = execute!(
            self,
            sqlx::query(
                "UPDATE mail_outbox SET status = 'sent', attempts = attempts + 1, \
                 lease_until = NULL, finished_at = $2, last_error = NULL, \
                 recipient_sealed = NULL, content_sealed = NULL \
                 WHERE id = $1"
            )
            .bind(id.to_string())
            .bind(to_millis(now))
        )?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn fail_mail(
        &self,
        id: Uuid,
        error: &str,
        now: Timestamp,
        retry_at: Option<Timestamp>,
    ) -> StoreResult<()> {
        let id = id.to_string();
        let error = truncate_error(error);
        let updated = match retry_at {
            Some(retry_at) => execute!(
                self,
                sqlx::query(
                    "UPDATE mail_outbox SET attempts = attempts + 1, lease_until = NULL, \
                     last_error = $2, next_attempt_at = $3 \
                     WHERE id = $1 AND status = 'pending'"
                )
                .bind(&id)
                .bind(error)
                .bind(to_millis(retry_at))
            )?,
            None => execute!(
                self,
                sqlx::query(
                    "UPDATE mail_outbox SET status = 'dead', attempts = attempts + 1, \
                     lease_until = NULL, last_error = $2, finished_at = $3, \
                     recipient_sealed = NULL, content_sealed = NULL \
                     WHERE id = $1 AND status = 'pending'"
                )
                .bind(&id)
                .bind(error)
                .bind(to_millis(now))
            )?,
        };
        if updated == 0 {
            let known: Option<String> = fetch_optional!(
                self,
                sqlx::query_scalar("SELECT id FROM mail_outbox WHERE id = $1").bind(&id)
            )?;
            if known.is_none() {
                return Err(StoreError::NotFound);
            }
        }
        Ok(())
    }

    /// Newest first (ids are time-ordered UUIDv7). A cursor that names no message gives the
    /// messages older than it would have been.
    async fn list_mail(
        &self,
        tenant: TenantId,
        status: Option<MailStatus>,
        page: &PageRequest,
    ) -> StoreResult<Page<MailRecord>> {
        let limit = page.limit();
        let rows: Vec<MailRow> = fetch_all!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                mail_columns!(),
                " FROM mail_outbox WHERE tenant_id = $1 AND ($2 IS NULL OR id < $2) \
                 AND ($3 IS NULL OR status = $3) ORDER BY id DESC LIMIT $4"
            ))
            .bind(tenant.to_string())
            .bind(page.after.as_deref())
            .bind(status.map(MailStatus::as_str))
            .bind(i64::from(limit) + 1)
        )?;
        let records = rows
            .into_iter()
            .map(MailRow::into_record)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page_of(records, limit, |m| m.id.to_string()))
    }

    async fn count_mail(&self, tenant: TenantId) -> StoreResult<MailCounts> {
        let rows: Vec<(String, i64)> = fetch_all!(
            self,
            sqlx::query_as(
                "SELECT status, COUNT(*) FROM mail_outbox WHERE tenant_id = $1 GROUP BY status"
            )
            .bind(tenant.to_string())
        )?;
        let mut counts = MailCounts::default();
        for (status, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match MailStatus::parse(&status)
                .map_err(|_| corrupt("mail_outbox.status is not a known status"))?
            {
                MailStatus::Pending => counts.pending = n,
                MailStatus::Sent => counts.sent = n,
                MailStatus::Dead => counts.dead = n,
            }
        }
        Ok(counts)
    }

    async fn purge_mail(&self, before: Timestamp) -> StoreResult<u64> {
        execute!(
            self,
            sqlx::query("DELETE FROM mail_outbox WHERE status <> 'pending' AND finished_at < $1")
                .bind(to_millis(before))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_errors_are_cut_on_a_character_boundary() {
        assert_eq!(truncate_error("short"), "short");
        let long = "é".repeat(MAX_ERROR_CHARS + 5);
        assert_eq!(truncate_error(&long).chars().count(), MAX_ERROR_CHARS);
    }
}
