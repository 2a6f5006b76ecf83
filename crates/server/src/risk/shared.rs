//! Velocity windows shared across nodes. Each node counts what it sees (failed and refused
//! attempts, completed sign-ins, sign-ups) in its own memory, where the checks read it without
//! waiting for anything; it also appends every count to the `risk_velocity` journal in the
//! database, in batches a fraction of a second apart, and reads what the other nodes appended
//! about once a second into its own windows. Behind a load balancer a campaign spread over the
//! nodes is therefore counted whole, at most a second or two late; a node that starts reads
//! the last day of the journal first, so a restart forgets nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tessera_core::store::{RiskVelocityKind, RiskVelocityRecord, RiskVelocityStore, TenantStore};
use tessera_core::{TenantId, Timestamp};
use tessera_risk::Attempt;

use crate::app::Services;
use crate::state::AppState;

/// How often a node writes what it counted.
const FLUSH_EVERY: Duration = Duration::from_millis(250);
/// How often a node reads what the others counted.
const PULL_EVERY: Duration = Duration::from_secs(1);
/// Records are read again this far back, for those committed late (a batch carries the time of
/// its attempts, not of its commit); ids already applied are skipped.
const OVERLAP: time::Duration = time::Duration::seconds(10);
/// A starting node reads this much history.
const HISTORY: time::Duration = time::Duration::hours(24);
/// The journal keeps the longest window a tenant may configure (7 days) and a margin.
pub const KEEP: time::Duration = time::Duration::days(8);
const BATCH: u32 = 2000;
/// Counts waiting to be written are dropped past this (the database is away); the node's own
/// windows still have them.
const MAX_PENDING: usize = 100_000;

/// This node's side of the journal.
pub struct Journal {
    /// A random id per process: a node skips its own records.
    node: String,
    pending: Mutex<Vec<RiskVelocityRecord>>,
    reader: tokio::sync::Mutex<Reader>,
}

struct Reader {
    /// Records at or after this time are read next (less the overlap).
    cursor: Option<Timestamp>,
    /// Ids applied within the overlap.
    applied: HashMap<i64, Timestamp>,
}

impl Default for Journal {
    fn default() -> Self {
        Journal {
            node: uuid::Uuid::new_v4().to_string(),
            pending: Mutex::new(Vec::new()),
            reader: tokio::sync::Mutex::new(Reader {
                cursor: None,
                applied: HashMap::new(),
            }),
        }
    }
}

impl Journal {
    /// Queues one count for the other nodes.
    pub fn share(&self, tenant: TenantId, kind: RiskVelocityKind, a: &Attempt) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.len() >= MAX_PENDING {
            return;
        }
        pending.push(RiskVelocityRecord {
            id: 0,
            tenant_id: tenant,
            node: self.node.clone(),
            at: a.at,
            kind,
            account: a.account.clone(),
            ip: a.ip.map(|ip| ip.to_string()),
            password_fingerprint: a.password_fingerprint.clone(),
        });
    }
}

/// Starts the writer and the reader of this node.
pub fn spawn(state: AppState) {
    let writer = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            flush(&writer).await;
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PULL_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = pull(&state).await {
                tracing::warn!(error = %e, "could not read the other nodes' risk counts; this node's velocity windows see only its own traffic until the database answers");
            }
        }
    });
}

/// Writes what this node counted since the last call.
pub async fn flush(state: &AppState) {
    let batch = {
        let mut pending = state
            .risk
            .journal
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *pending)
    };
    if batch.is_empty() {
        return;
    }
    match state.services.store.append_risk_velocity(&batch).await {
        Ok(()) => metrics::counter!("tessera_risk_shared_counts_total", "direction" => "written")
            .increment(batch.len() as u64),
        Err(e) => {
            tracing::warn!(error = %e, records = batch.len(), "could not share this node's risk counts with the other nodes; they are counted here only")
        }
    }
}

/// Reads what the other nodes counted since the last call into this node's windows. Returns how
/// many records were applied.
pub async fn pull(state: &AppState) -> Result<usize, tessera_core::StoreError> {
    let journal = &state.risk.journal;
    let mut reader = journal.reader.lock().await;
    let now = Services::now();
    let mut since = match reader.cursor {
        Some(c) => c - OVERLAP,
        None => now - HISTORY,
    };
    let mut tenants: HashMap<TenantId, Option<tessera_core::tenant::Tenant>> = HashMap::new();
    let mut applied = 0;
    loop {
        let records = state
            .services
            .store
            .risk_velocity_since(since, &journal.node, BATCH)
            .await?;
        let full = records.len() == BATCH as usize;
        let mut fresh = 0;
        for r in &records {
            if reader.applied.contains_key(&r.id) {
                continue;
            }
            reader.applied.insert(r.id, r.at);
            fresh += 1;
            if let std::collections::hash_map::Entry::Vacant(e) = tenants.entry(r.tenant_id) {
                e.insert(state.services.store.get_tenant(r.tenant_id).await?);
            }
            if let Some(Some(tenant)) = tenants.get(&r.tenant_id) {
                apply(state, tenant, r);
                applied += 1;
            }
        }
        if let Some(last) = records.last() {
            reader.cursor = Some(reader.cursor.map_or(last.at, |c| c.max(last.at)));
            since = last.at;
        } else if reader.cursor.is_none() {
            reader.cursor = Some(now);
        }
        // A full batch of records already applied (all at one instant) cannot move on.
        if !full || fresh == 0 {
            break;
        }
    }
    metrics::counter!("tessera_risk_shared_counts_total", "direction" => "applied")
        .increment(applied as u64);
    if let Some(cursor) = reader.cursor {
        let horizon = cursor - OVERLAP;
        reader.applied.retain(|_, at| *at >= horizon);
    }
    Ok(applied)
}

fn apply(state: &AppState, tenant: &tessera_core::tenant::Tenant, r: &RiskVelocityRecord) {
    let Some(t) = state.risk.tenant(state, tenant) else {
        return;
    };
    let mut a = Attempt::new(
        r.at,
        r.account.clone(),
        r.ip.as_deref().and_then(|ip| ip.parse().ok()),
    );
    a.password_fingerprint = r.password_fingerprint.clone();
    let o = t.engine.observe(&a);
    let mut s = t.state.lock().unwrap_or_else(|e| e.into_inner());
    match r.kind {
        RiskVelocityKind::Failure => t.engine.record_failure(&mut s, &o),
        RiskVelocityKind::Refused => t.engine.record_refused(&mut s, &o),
        RiskVelocityKind::Success => t.engine.forgive(&mut s, &r.account),
        RiskVelocityKind::Registration => t.engine.record_registration(&mut s, &o),
    }
}
