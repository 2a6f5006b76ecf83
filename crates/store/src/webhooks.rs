//! `WebhookStore`: `webhook_subscriptions` and the persisted outbox `webhook_deliveries`.
//!
//! - A subscription's HMAC secret is sealed (associated data `webhook.secret:{tenant}:{id}`); its
//!   event types are JSON text.
//! - Deliveries are written by `AuditStore::append_event`, in the transaction of their event's
//!   audit entry (see `audit.rs`). They reference their subscription through
//!   `(tenant_id, subscription_id)` with ON DELETE CASCADE: deleting a subscription drops its
//!   outbox.
//! - Workers on any number of nodes lease due deliveries with `claim_deliveries`: one statement
//!   that sets `lease_until` on the rows it picks. On PostgreSQL the pick skips rows another
//!   claim holds (`FOR UPDATE SKIP LOCKED`) and re-checks the lease of rows a concurrent claim
//!   has just taken, so two claims never get the same row; on SQLite the statement runs under the
//!   database's single write lock. A leased row is not claimed again before its lease ends.
//! - `complete_delivery` and `fail_delivery` name a delivery by its id alone (unique across the
//!   deployment): they are called by the worker that claimed it, across tenants.

use tessera_core::page::{Page, PageRequest};
use tessera_core::store::{StoreResult, WebhookStore};
use tessera_core::webhook::{DeliveryStatus, SinkKind, WebhookDelivery, WebhookSubscription};
use tessera_core::{Secret, StoreError, TenantId, Timestamp};
use uuid::Uuid;

use crate::Store;
use crate::codec::{
    Sealer, from_json, from_millis, id, opt_from_millis, opt_to_millis, to_json, to_millis,
};
use crate::error::{corrupt, from_sqlx};
use crate::users::page_of;

/// The longest error message kept per delivery (in characters); longer ones are cut.
const MAX_ERROR_CHARS: usize = 1000;

macro_rules! webhook_columns {
    () => {
        "tenant_id, id, kind, url, event_types, secret_sealed, enabled, created_at"
    };
}

macro_rules! delivery_columns {
    () => {
        "id, tenant_id, subscription_id, event_id, event_type, payload, status, attempts, \
         next_attempt_at, lease_until, last_error, last_status_code, created_at, delivered_at"
    };
}
pub(crate) use delivery_columns;

/// Inserts one delivery (binds in the order of `DeliveryValues`), provided its subscription is
/// still one of its tenant's: a delivery for a subscription deleted in the meantime is dropped,
/// as the cascade would have dropped it a moment later, instead of failing the event's append.
pub(crate) const INSERT_DELIVERY: &str = concat!(
    "INSERT INTO webhook_deliveries (",
    delivery_columns!(),
    ") SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 \
     FROM webhook_subscriptions WHERE tenant_id = $2 AND id = $3"
);

/// Picks due, unleased deliveries oldest first and leases them until `$2` (`$1` is now, `$3` the
/// most to take).
const CLAIM_DELIVERIES: crate::dialect::Locking = for_update_skip_locked!(
    "UPDATE webhook_deliveries SET lease_until = $2 WHERE id IN (\
       SELECT id FROM webhook_deliveries \
       WHERE status = 'pending' AND next_attempt_at <= $1 \
       AND (lease_until IS NULL OR lease_until <= $1) \
       ORDER BY next_attempt_at, created_at LIMIT $3";
    ") RETURNING ",
    delivery_columns!()
);

fn uuid(column: &str, value: &str) -> Result<Uuid, StoreError> {
    id(column, value, |s| Uuid::parse_str(s).ok())
}

pub(crate) fn delivery_status_str(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Pending => "pending",
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::Dead => "dead",
    }
}

fn parse_delivery_status(s: &str) -> Result<DeliveryStatus, StoreError> {
    match s {
        "pending" => Ok(DeliveryStatus::Pending),
        "delivered" => Ok(DeliveryStatus::Delivered),
        "dead" => Ok(DeliveryStatus::Dead),
        _ => Err(corrupt(
            "webhook_deliveries.status is not a known delivery status",
        )),
    }
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
struct WebhookRow {
    tenant_id: String,
    id: String,
    kind: String,
    url: String,
    event_types: String,
    secret_sealed: Vec<u8>,
    enabled: bool,
    created_at: i64,
}

impl WebhookRow {
    fn into_subscription(self, store: &Store) -> Result<WebhookSubscription, StoreError> {
        let tenant_id = id(
            "webhook_subscriptions.tenant_id",
            &self.tenant_id,
            TenantId::parse,
        )?;
        let sub_id = uuid("webhook_subscriptions.id", &self.id)?;
        let sealer = Sealer::new(&store.crypto, "webhook", tenant_id, sub_id);
        Ok(WebhookSubscription {
            id: sub_id,
            tenant_id,
            kind: SinkKind::parse(&self.kind)
                .map_err(|_| corrupt("webhook_subscriptions.kind is not a known sink kind"))?,
            url: self.url,
            event_types: from_json("webhook_subscriptions.event_types", &self.event_types)?,
            secret: Secret::new(sealer.open("secret", &self.secret_sealed)?),
            enabled: self.enabled,
            created_at: from_millis(self.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: String,
    tenant_id: String,
    subscription_id: String,
    event_id: String,
    event_type: String,
    payload: String,
    status: String,
    attempts: i64,
    next_attempt_at: i64,
    lease_until: Option<i64>,
    last_error: Option<String>,
    last_status_code: Option<i64>,
    created_at: i64,
    delivered_at: Option<i64>,
}

impl DeliveryRow {
    fn into_delivery(self) -> Result<WebhookDelivery, StoreError> {
        Ok(WebhookDelivery {
            id: uuid("webhook_deliveries.id", &self.id)?,
            tenant_id: id(
                "webhook_deliveries.tenant_id",
                &self.tenant_id,
                TenantId::parse,
            )?,
            subscription_id: uuid("webhook_deliveries.subscription_id", &self.subscription_id)?,
            event_id: uuid("webhook_deliveries.event_id", &self.event_id)?,
            event_type: self.event_type,
            payload: self.payload,
            status: parse_delivery_status(&self.status)?,
            attempts: small_int("webhook_deliveries.attempts", self.attempts)?,
            next_attempt_at: from_millis(self.next_attempt_at)?,
            lease_until: opt_from_millis(self.lease_until)?,
            last_error: self.last_error,
            last_status_code: self
                .last_status_code
                .map(|c| small_int("webhook_deliveries.last_status_code", c))
                .transpose()?,
            created_at: from_millis(self.created_at)?,
            delivered_at: opt_from_millis(self.delivered_at)?,
        })
    }
}

/// The values bound for one delivery, in the column order of `delivery_columns!`.
pub(crate) const DELIVERY_PARAMS: usize = 14;

/// Binds a delivery's [`DELIVERY_PARAMS`] values to `$q`, in the column order of
/// `delivery_columns!`.
macro_rules! bind_delivery {
    ($q:expr, $d:expr) => {{
        let d: &crate::webhooks::DeliveryValues = $d;
        $q.bind(d.id.as_str())
            .bind(d.tenant_id.as_str())
            .bind(d.subscription_id.as_str())
            .bind(d.event_id.as_str())
            .bind(d.event_type.as_str())
            .bind(d.payload.as_str())
            .bind(d.status)
            .bind(d.attempts)
            .bind(d.next_attempt_at)
            .bind(d.lease_until)
            .bind(d.last_error.as_deref())
            .bind(d.last_status_code)
            .bind(d.created_at)
            .bind(d.delivered_at)
    }};
}
pub(crate) use bind_delivery;

/// The column values of a delivery as written, in the order of `delivery_columns!`.
pub(crate) struct DeliveryValues {
    pub(crate) id: String,
    pub(crate) tenant_id: String,
    pub(crate) subscription_id: String,
    pub(crate) event_id: String,
    pub(crate) event_type: String,
    pub(crate) payload: String,
    pub(crate) status: &'static str,
    pub(crate) attempts: i64,
    pub(crate) next_attempt_at: i64,
    pub(crate) lease_until: Option<i64>,
    pub(crate) last_error: Option<String>,
    pub(crate) last_status_code: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) delivered_at: Option<i64>,
}

impl DeliveryValues {
    pub(crate) fn new(d: &WebhookDelivery) -> DeliveryValues {
        DeliveryValues {
            id: d.id.to_string(),
            tenant_id: d.tenant_id.to_string(),
            subscription_id: d.subscription_id.to_string(),
            event_id: d.event_id.to_string(),
            event_type: d.event_type.clone(),
            payload: d.payload.clone(),
            status: delivery_status_str(d.status),
            attempts: i64::from(d.attempts),
            next_attempt_at: to_millis(d.next_attempt_at),
            lease_until: opt_to_millis(d.lease_until),
            last_error: d
                .last_error
                .as_deref()
                .map(|e| truncate_error(e).to_string()),
            last_status_code: d.last_status_code.map(i64::from),
            created_at: to_millis(d.created_at),
            delivered_at: opt_to_millis(d.delivered_at),
        }
    }
}

impl WebhookStore for Store {
    /// `Conflict("id")` when the tenant has a subscription with that id; `NotFound` when the
    /// tenant does not exist.
    async fn create_webhook(&self, sub: &WebhookSubscription) -> StoreResult<()> {
        let sealer = Sealer::new(&self.crypto, "webhook", sub.tenant_id, sub.id);
        let secret = sealer.seal("secret", sub.secret.expose())?;
        let event_types = to_json("webhook_subscriptions.event_types", &sub.event_types)?;
        execute!(
            self,
            sqlx::query(concat!(
                "INSERT INTO webhook_subscriptions (",
                webhook_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .bind(sub.tenant_id.to_string())
            .bind(sub.id.to_string())
            .bind(sub.kind.as_str())
            .bind(&sub.url)
            .bind(&event_types)
            .bind(&secret)
            .bind(sub.enabled)
            .bind(to_millis(sub.created_at))
        )?;
        Ok(())
    }

    async fn get_webhook(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> StoreResult<Option<WebhookSubscription>> {
        let row: Option<WebhookRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                webhook_columns!(),
                " FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2"
            ))
            .bind(tenant.to_string())
            .bind(id.to_string())
        )?;
        row.map(|r| r.into_subscription(self)).transpose()
    }

    /// Oldest first.
    async fn list_webhooks(&self, tenant: TenantId) -> StoreResult<Vec<WebhookSubscription>> {
        let rows: Vec<WebhookRow> = fetch_all!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                webhook_columns!(),
                " FROM webhook_subscriptions WHERE tenant_id = $1 ORDER BY created_at, id"
            ))
            .bind(tenant.to_string())
        )?;
        rows.into_iter()
            .map(|r| r.into_subscription(self))
            .collect()
    }

    /// Its deliveries go with it (ON DELETE CASCADE).
    async fn delete_webhook(&self, tenant: TenantId, id: Uuid) -> StoreResult<bool> {
        let deleted = execute!(
            self,
            sqlx::query("DELETE FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.to_string())
                .bind(id.to_string())
        )?;
        Ok(deleted > 0)
    }

    /// The claimed deliveries are returned oldest first (by `next_attempt_at`, then creation),
    /// with their new `lease_until`.
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let sql = CLAIM_DELIVERIES.text(&self.db);
        let rows: Vec<DeliveryRow> = on_pool!(write self, pool => {
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
            .map(DeliveryRow::into_delivery)
            .collect::<Result<Vec<_>, _>>()?;
        // RETURNING follows no particular order.
        claimed.sort_by(|a, b| {
            (a.next_attempt_at, a.created_at, a.id).cmp(&(b.next_attempt_at, b.created_at, b.id))
        });
        Ok(claimed)
    }

    /// Sets status delivered, `delivered_at = now` and the status code, clears the lease and the
    /// last error. `NotFound` when no delivery has that id.
    async fn complete_delivery(
        &self,
        id: Uuid,
        now: Timestamp,
        status_code: Option<i32>,
    ) -> StoreResult<()> {
        let updated = execute!(
            self,
            sqlx::query(
                "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, \
                 lease_until = NULL, delivered_at = $2, last_status_code = $3, last_error = NULL \
                 WHERE id = $1"
            )
            .bind(id.to_string())
            .bind(to_millis(now))
            .bind(status_code.map(i64::from))
        )?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Records the error (cut to 1000 characters) and status code; with `retry_at` the delivery
    /// stays pending and becomes due then, without it is dead. A delivery already delivered (by
    /// another node after this one's lease ran out) stays delivered. `NotFound` when no delivery
    /// has that id.
    async fn fail_delivery(
        &self,
        id: Uuid,
        error: &str,
        status_code: Option<i32>,
        retry_at: Option<Timestamp>,
    ) -> StoreResult<()> {
        let id = id.to_string();
        let updated = execute!(
            self,
            sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, lease_until = NULL, \
                 last_error = $2, last_status_code = $3, \
                 status = CASE WHEN $4 IS NULL THEN 'dead' ELSE 'pending' END, \
                 next_attempt_at = COALESCE($4, next_attempt_at) \
                 WHERE id = $1 AND status <> 'delivered'"
            )
            .bind(&id)
            .bind(truncate_error(error))
            .bind(status_code.map(i64::from))
            .bind(opt_to_millis(retry_at))
        )?;
        if updated == 0 {
            let known: Option<String> = fetch_optional!(
                self,
                sqlx::query_scalar("SELECT id FROM webhook_deliveries WHERE id = $1").bind(&id)
            )?;
            if known.is_none() {
                return Err(StoreError::NotFound);
            }
        }
        Ok(())
    }

    /// Newest first (by creation, then id). A cursor that names no delivery of the subscription
    /// gives an empty page.
    async fn list_deliveries(
        &self,
        tenant: TenantId,
        subscription: Uuid,
        page: &PageRequest,
    ) -> StoreResult<Page<WebhookDelivery>> {
        let limit = page.limit();
        let rows: Vec<DeliveryRow> = fetch_all!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                delivery_columns!(),
                " FROM webhook_deliveries d WHERE d.tenant_id = $1 AND d.subscription_id = $2 \
                 AND ($3 IS NULL OR EXISTS (SELECT 1 FROM webhook_deliveries c \
                   WHERE c.tenant_id = $1 AND c.subscription_id = $2 AND c.id = $3 \
                   AND (d.created_at < c.created_at OR (d.created_at = c.created_at AND d.id < c.id)))) \
                 ORDER BY d.created_at DESC, d.id DESC LIMIT $4"
            ))
            .bind(tenant.to_string())
            .bind(subscription.to_string())
            .bind(page.after.as_deref())
            .bind(i64::from(limit) + 1)
        )?;
        let deliveries = rows
            .into_iter()
            .map(DeliveryRow::into_delivery)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page_of(deliveries, limit, |d| d.id.to_string()))
    }

    /// Pending, due `now`, attempts 0, lease and `delivered_at` cleared; the last error and
    /// status code are kept until the next attempt.
    async fn redeliver(
        &self,
        tenant: TenantId,
        subscription: Uuid,
        delivery: Uuid,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let updated = execute!(
            self,
            sqlx::query(
                "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, \
                 next_attempt_at = $3, lease_until = NULL, delivered_at = NULL \
                 WHERE tenant_id = $1 AND id = $2 AND subscription_id = $4"
            )
            .bind(tenant.to_string())
            .bind(delivery.to_string())
            .bind(to_millis(now))
            .bind(subscription.to_string())
        )?;
        Ok(updated > 0)
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
