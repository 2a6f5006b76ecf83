//! The event pipeline: every domain event goes through [`Services::emit`], which appends it to the
//! tenant's audit chain and, in the same transaction, queues it in the outbox for each matching
//! webhook or SIEM stream. Metrics count events by type. Handlers never write the audit trail.
//! Appends are group-committed: see [`AuditWriter`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::json;
use tessera_core::TenantId;
use tessera_core::events::{AuditEntry, Event};
use tessera_core::store::{AuditStore, WebhookStore};
use tessera_core::webhook::{DeliveryStatus, WebhookDelivery, WebhookSubscription};
use tessera_store::Store;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::Services;

/// The JSON document webhooks receive (and JSON Lines streams write, one per line).
pub fn envelope(event: &Event, entry: Option<&AuditEntry>) -> serde_json::Value {
    let occurred = event
        .occurred_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut v = json!({
        "id": event.id.to_string(),
        "type": event.kind.type_name(),
        "tenant_id": event.tenant_id.to_string(),
        "occurred_at": occurred,
        "data": event.body(),
    });
    if let (Some(e), Some(obj)) = (entry, v.as_object_mut()) {
        obj.insert("seq".into(), json!(e.seq));
    }
    v
}

/// Most events one audit transaction carries.
const MAX_BATCH: usize = 256;

/// Events waiting for the writer before `emit` waits for room.
const QUEUE: usize = 4096;

/// Group commit for the audit trail. Every `emit` hands its event to one writer task per process,
/// which appends whatever has queued up meanwhile in one transaction (up to [`MAX_BATCH`]), then
/// answers each caller with its entry. Under load, one commit carries many events; alone, an
/// event is written at once, as before. `emit` still returns only once its event is stored, so
/// the order a caller sees is the order of the trail.
///
/// The task starts on first use, in the runtime of the first caller, and ends when the last
/// [`Services`] clone is dropped. Should it be gone (its runtime shut down), `emit` appends
/// directly.
#[derive(Clone, Default)]
pub struct AuditWriter {
    queue: Arc<OnceLock<mpsc::Sender<Pending>>>,
    subscriptions: Subscriptions,
}

/// How long a tenant's webhook subscriptions, once read, serve the audit writer on SQLite, should
/// another process change them (the server's own changes apply at once: see
/// [`Services::webhooks_changed`]).
const SUBSCRIPTIONS_FRESH_FOR: Duration = Duration::from_secs(1);

/// The webhook subscriptions of each tenant, as last read, and when. Under load every audit batch
/// needed them, and reading them each time was one more wait on the database for every event.
/// Kept on SQLite only, where one server process is the deployment: on PostgreSQL several nodes
/// share the database, and a subscription made through one must apply to the very next event of
/// every other, so there they are read for each batch. A subscription deleted meanwhile gets no
/// delivery either way (`INSERT_DELIVERY` stores one only for a subscription that exists).
#[derive(Clone, Default)]
struct Subscriptions {
    inner: Arc<Mutex<SubscriptionsInner>>,
}

#[derive(Default)]
struct SubscriptionsInner {
    by_tenant: HashMap<TenantId, (Instant, Arc<Vec<WebhookSubscription>>)>,
    /// Counts the changes made here: a list read while one was made is not kept, as it may
    /// predate the change.
    changes: u64,
}

impl Subscriptions {
    async fn of(&self, store: &Store, tenant: TenantId) -> Arc<Vec<WebhookSubscription>> {
        if store.backend() != "sqlite" {
            return Arc::new(read_subscriptions(store, tenant).await.unwrap_or_default());
        }
        let changes_before = {
            let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            let cached = inner
                .by_tenant
                .get(&tenant)
                .filter(|(read_at, _)| read_at.elapsed() < SUBSCRIPTIONS_FRESH_FOR);
            if let Some((_, subs)) = cached {
                return subs.clone();
            }
            inner.changes
        };
        let read_at = Instant::now();
        // A list that could not be read is not kept: the next batch tries again.
        let Some(subs) = read_subscriptions(store, tenant).await.map(Arc::new) else {
            return Arc::new(Vec::new());
        };
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        // Drop what has gone stale, so tenants seen once do not stay forever.
        inner
            .by_tenant
            .retain(|_, (at, _)| at.elapsed() < SUBSCRIPTIONS_FRESH_FOR);
        if inner.changes == changes_before {
            inner.by_tenant.insert(tenant, (read_at, subs.clone()));
        }
        subs
    }

    fn forget(&self, tenant: TenantId) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.changes += 1;
        inner.by_tenant.remove(&tenant);
    }
}

/// One event waiting for the writer, and where its entry goes.
struct Pending {
    event: Event,
    reply: oneshot::Sender<Option<AuditEntry>>,
}

impl AuditWriter {
    fn queue(&self, store: &Store) -> &mpsc::Sender<Pending> {
        self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(write_loop(store.clone(), self.subscriptions.clone(), rx));
            tx
        })
    }
}

async fn write_loop(store: Store, subscriptions: Subscriptions, mut rx: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let pending = std::mem::take(&mut batch);
        metrics::histogram!("tessera_audit_batch_events").record(pending.len() as f64);
        let (events, replies): (Vec<Event>, Vec<_>) =
            pending.into_iter().map(|p| (p.event, p.reply)).unzip();
        let entries = append(&store, &subscriptions, &events).await;
        for (reply, entry) in replies.into_iter().zip(entries) {
            // A caller that stopped waiting (its request was dropped) needs no answer.
            let _ = reply.send(entry);
        }
    }
}

/// Appends `events` with their webhook deliveries, in one transaction when it can. Should the
/// batch fail as a whole (one event repeated, say), each event is tried on its own, so one bad
/// event loses no other. One entry (or `None`, logged) per event, in order.
async fn append(
    store: &Store,
    subscriptions: &Subscriptions,
    events: &[Event],
) -> Vec<Option<AuditEntry>> {
    let deliveries = deliveries_of(store, subscriptions, events).await;
    if events.len() > 1 {
        let batch: Vec<(&Event, &[WebhookDelivery])> = events
            .iter()
            .zip(&deliveries)
            .map(|(e, d)| (e, d.as_slice()))
            .collect();
        match store.append_events(&batch).await {
            Ok(entries) => {
                count_events(events);
                return entries.into_iter().map(Some).collect();
            }
            Err(e) => {
                tracing::warn!(error = %e, events = events.len(), "a batch of audit events could not be written together; writing them one by one");
            }
        }
    }
    let mut out = Vec::with_capacity(events.len());
    for (event, deliveries) in events.iter().zip(&deliveries) {
        out.push(append_one(store, event, deliveries).await);
    }
    out
}

async fn append_one(
    store: &Store,
    event: &Event,
    deliveries: &[WebhookDelivery],
) -> Option<AuditEntry> {
    let type_name = event.kind.type_name();
    match store.append_event(event, deliveries).await {
        Ok(entry) => {
            metrics::counter!("tessera_events_total", "type" => type_name).increment(1);
            Some(entry)
        }
        Err(e) => {
            metrics::counter!("tessera_audit_write_failures_total").increment(1);
            tracing::error!(error = %e, event_type = %type_name, "AUDIT WRITE FAILED: an event could not be recorded");
            None
        }
    }
}

/// Counts written events by type: one increment per type and batch, as a batch under load is
/// mostly one type (each increment looks its series up by name and labels).
fn count_events(events: &[Event]) {
    let mut by_type: Vec<(&'static str, u64)> = Vec::new();
    for e in events {
        let name = e.kind.type_name();
        match by_type.iter_mut().find(|(t, _)| *t == name) {
            Some((_, n)) => *n += 1,
            None => by_type.push((name, 1)),
        }
    }
    for (name, n) in by_type {
        metrics::counter!("tessera_events_total", "type" => name).increment(n);
    }
}

/// `None` (logged) when they cannot be read: the event is then audited but not delivered.
async fn read_subscriptions(store: &Store, tenant: TenantId) -> Option<Vec<WebhookSubscription>> {
    store
        .list_webhooks(tenant)
        .await
        .inspect_err(|e| {
            tracing::error!(error = %e, "cannot read webhook subscriptions; the event is audited but not delivered");
        })
        .ok()
}

/// The webhook deliveries of each event, from its tenant's subscriptions.
async fn deliveries_of(
    store: &Store,
    subscriptions: &Subscriptions,
    events: &[Event],
) -> Vec<Vec<WebhookDelivery>> {
    let mut by_tenant: Vec<(TenantId, Arc<Vec<WebhookSubscription>>)> = Vec::new();
    let mut out = Vec::with_capacity(events.len());
    for event in events {
        let i = match by_tenant.iter().position(|(t, _)| *t == event.tenant_id) {
            Some(i) => i,
            None => {
                let subs = subscriptions.of(store, event.tenant_id).await;
                by_tenant.push((event.tenant_id, subs));
                by_tenant.len() - 1
            }
        };
        let type_name = event.kind.type_name();
        out.push(
            by_tenant[i]
                .1
                .iter()
                .filter(|s| s.wants(type_name))
                .map(|s| WebhookDelivery {
                    id: Uuid::now_v7(),
                    tenant_id: event.tenant_id,
                    subscription_id: s.id,
                    event_id: event.id,
                    event_type: type_name.to_string(),
                    payload: envelope(event, None).to_string(),
                    status: DeliveryStatus::Pending,
                    attempts: 0,
                    next_attempt_at: event.occurred_at,
                    lease_until: None,
                    last_error: None,
                    last_status_code: None,
                    created_at: event.occurred_at,
                    delivered_at: None,
                })
                .collect(),
        );
    }
    out
}

impl Services {
    /// Tells the audit writer that `tenant`'s webhook subscriptions were made or deleted here, so
    /// its next events are matched against them at once.
    pub fn webhooks_changed(&self, tenant: TenantId) {
        self.audit.subscriptions.forget(tenant);
    }

    /// Records an event (through the group-committing [`AuditWriter`]) and returns once it is
    /// stored. A failure to record is logged loudly but does not undo the action that already
    /// happened; the operator sees it in the log and in `tessera_audit_write_failures_total`.
    pub async fn emit(&self, event: Event) -> Option<AuditEntry> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending { event, reply };
        match self.audit.queue(&self.store).send(pending).await {
            Ok(()) => match answer.await {
                Ok(entry) => entry,
                // The writer went away with the event: whether it was stored is unknown, and
                // writing it again could record it twice. Say so.
                Err(_) => {
                    metrics::counter!("tessera_audit_write_failures_total").increment(1);
                    tracing::error!(
                        "AUDIT WRITE UNCERTAIN: the audit writer stopped while an event was waiting"
                    );
                    None
                }
            },
            // The writer is gone (its runtime has shut down): write directly.
            Err(mpsc::error::SendError(p)) => {
                let deliveries = deliveries_of(
                    &self.store,
                    &self.audit.subscriptions,
                    std::slice::from_ref(&p.event),
                )
                .await;
                append_one(&self.store, &p.event, &deliveries[0]).await
            }
        }
    }
}
