//! The event pipeline: every domain event goes through [`Services::emit`], which appends it to the
//! tenant's audit chain and, in the same transaction, queues it in the outbox for each matching
//! webhook or SIEM stream. Metrics count events by type. Handlers never write the audit trail.

use serde_json::json;
use tessera_core::events::{AuditEntry, Event};
use tessera_core::store::{AuditStore, WebhookStore};
use tessera_core::webhook::{DeliveryStatus, WebhookDelivery};
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

impl Services {
    /// Records an event. A failure to record is logged loudly but does not undo the action that
    /// already happened; the operator sees it in the log and in `tessera_audit_write_failures_total`.
    pub async fn emit(&self, event: Event) -> Option<AuditEntry> {
        let type_name = event.kind.type_name();
        let deliveries = match self.store.list_webhooks(event.tenant_id).await {
            Ok(subs) => subs
                .into_iter()
                .filter(|s| s.wants(&type_name))
                .map(|s| WebhookDelivery {
                    id: Uuid::now_v7(),
                    tenant_id: event.tenant_id,
                    subscription_id: s.id,
                    event_id: event.id,
                    event_type: type_name.clone(),
                    payload: envelope(&event, None).to_string(),
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
            Err(e) => {
                tracing::error!(error = %e, "cannot read webhook subscriptions; the event is audited but not delivered");
                Vec::new()
            }
        };
        match self.store.append_event(&event, &deliveries).await {
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
}
