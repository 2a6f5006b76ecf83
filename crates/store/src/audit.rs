//! `AuditStore`: the audit trail, one hash chain per tenant.
//!
//! - `audit_heads` holds, per tenant, the chain head (seq and hash of the newest entry) and the
//!   anchor verification starts from (seq and hash of the last pruned entry). An append takes the
//!   head row's lock as it reads it (`LOCK_HEAD`: an `INSERT … ON CONFLICT DO UPDATE … RETURNING`
//!   that creates the row on first use and otherwise locks and returns it); on SQLite that insert
//!   is the transaction's first statement, so the database's write lock is held before the head
//!   is read. Concurrent appends, on any number of nodes, therefore get seq 1, 2, 3… without
//!   gaps or forks. An append first tries the heads and salts the process remembers
//!   (`audit/tail.rs`): one message on SQLite (`audit/sqlite.rs`), one statement on PostgreSQL
//!   (`audit/postgres.rs`), which writes nothing unless they are still the stored ones; only
//!   then does it take this path.
//! - `audit_entries.body` is the event's non-personal part as JSON text, exactly as hashed
//!   (`serde_json::to_string(&event.body())`); it is parsed again when read, and the hash of an
//!   entry is computed over the parsed value, so what is read back verifies.
//! - Personal data is sealed with a key derived from the master key and a random salt per
//!   subject (`audit_subject_keys`: the subject user, or `tenant` for events without one), with
//!   associated data `audit:{tenant}:{event}`. The chain hashes only the SHA-256 of the sealed
//!   bytes (`personal_digest`). Erasing a subject deletes the salt and the sealed bytes: their
//!   data is unreadable for good, and the chain still verifies.
//! - The webhook deliveries of an event are inserted in the transaction of its entry (see
//!   `webhooks.rs`), so an event and its deliveries are written together or not at all.

pub(crate) mod postgres;
pub(crate) mod sqlite;
pub(crate) mod tail;

use tessera_core::events::{
    AuditCheckpoint, AuditEntry, AuditFilter, Event, GENESIS_HASH, Outcome, PersonalData,
    chain_input,
};
use tessera_core::page::{Page, PageRequest};
use tessera_core::store::{AuditStore, StoreResult};
use tessera_core::webhook::WebhookDelivery;
use tessera_core::{StoreError, TenantId, UserId};
use tessera_crypto::{FieldCrypto, random_bytes, sha256_hex};
use uuid::Uuid;

use crate::Store;
use crate::codec::{from_json, from_millis, id, to_json, to_millis};
use crate::error::corrupt;
use crate::users::page_of;
use crate::webhooks::{DeliveryValues, INSERT_DELIVERY, bind_delivery};

/// The `audit_subject_keys.subject_id` of events without a subject user.
macro_rules! tenant_subject {
    () => {
        "tenant"
    };
}
const TENANT_SUBJECT: &str = tenant_subject!();

/// Length of a subject's random salt, in bytes.
const SALT_LEN: usize = 16;

/// Rows read per round trip while a list filters on the (encrypted) IP address.
const IP_FILTER_BATCH: i64 = 200;

macro_rules! entry_columns {
    () => {
        "e.tenant_id, e.seq, e.event_id, e.occurred_at, e.event_type, e.body, e.subject_user_id, \
         e.personal_sealed, e.personal_digest, e.prev_hash, e.hash"
    };
}

/// Creates the tenant's head on first use, locks it for the rest of the transaction and returns
/// it: the conflict's no-op update takes the row lock that `FOR UPDATE` would (PostgreSQL) and
/// returns the row as it stands (after any concurrent append that held the lock has committed).
const LOCK_HEAD: &str = "INSERT INTO audit_heads (tenant_id, seq, hash, anchor_seq, anchor_hash) \
     VALUES ($1, 0, $2, 0, $2) \
     ON CONFLICT (tenant_id) DO UPDATE SET seq = audit_heads.seq \
     RETURNING seq, hash";

#[derive(sqlx::FromRow)]
struct EntryRow {
    tenant_id: String,
    seq: i64,
    event_id: String,
    occurred_at: i64,
    event_type: String,
    body: String,
    subject_user_id: Option<String>,
    personal_sealed: Option<Vec<u8>>,
    personal_digest: Option<String>,
    prev_hash: String,
    hash: String,
}

impl EntryRow {
    fn into_entry(self) -> Result<AuditEntry, StoreError> {
        Ok(AuditEntry {
            tenant_id: id("audit_entries.tenant_id", &self.tenant_id, TenantId::parse)?,
            seq: self.seq,
            event_id: id("audit_entries.event_id", &self.event_id, |s| {
                Uuid::parse_str(s).ok()
            })?,
            occurred_at: from_millis(self.occurred_at)?,
            event_type: self.event_type,
            body: from_json("audit_entries.body", &self.body)?,
            personal_sealed: self.personal_sealed,
            personal_digest: self.personal_digest,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// An entry with the salt of its subject's key (`None` once erased).
#[derive(sqlx::FromRow)]
struct ListedRow {
    #[sqlx(flatten)]
    entry: EntryRow,
    salt: Option<Vec<u8>>,
}

#[derive(sqlx::FromRow)]
struct CheckpointRow {
    tenant_id: String,
    seq: i64,
    hash: String,
    created_at: i64,
    signature: String,
}

impl CheckpointRow {
    fn into_checkpoint(self) -> Result<AuditCheckpoint, StoreError> {
        Ok(AuditCheckpoint {
            tenant_id: id(
                "audit_checkpoints.tenant_id",
                &self.tenant_id,
                TenantId::parse,
            )?,
            seq: self.seq,
            hash: self.hash,
            created_at: from_millis(self.created_at)?,
            signature: self.signature,
        })
    }
}

pub(crate) fn outcome_str(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Success => "success",
        Outcome::Failure => "failure",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The key-derivation purpose of a subject's audit key: changing it makes every sealed entry
/// unreadable.
fn subject_purpose(tenant: TenantId, subject: &str, salt: &[u8]) -> String {
    format!("audit-subject:{tenant}:{subject}:{}", hex(salt))
}

/// Binds sealed personal data to its event.
fn personal_aad(tenant: TenantId, event: Uuid) -> String {
    format!("audit:{tenant}:{event}")
}

/// Opens an entry's personal data. `Some(empty)` when the event carried none; `None` when it was
/// erased (sealed bytes cleared, or the subject's key gone) or cannot be read.
fn open_personal(
    crypto: &FieldCrypto,
    entry: &AuditEntry,
    subject: Option<&str>,
    salt: Option<&[u8]>,
) -> Result<Option<PersonalData>, StoreError> {
    if entry.personal_digest.is_none() {
        return Ok(Some(PersonalData::default()));
    }
    let (Some(sealed), Some(salt)) = (entry.personal_sealed.as_deref(), salt) else {
        return Ok(None);
    };
    let purpose = subject_purpose(entry.tenant_id, subject.unwrap_or(TENANT_SUBJECT), salt);
    let aad = personal_aad(entry.tenant_id, entry.event_id);
    // One unreadable entry (altered, moved, or sealed under another master key) must not hide the
    // rest of the trail: its personal part reads as absent, and `audit verify` names the entry.
    let Ok(json) = crypto.decrypt_with_subkey(&purpose, aad.as_bytes(), sealed) else {
        tracing::warn!(
            tenant = %entry.tenant_id,
            seq = entry.seq,
            "the personal data of an audit entry cannot be decrypted (altered, moved, or another master key); run `tessera audit verify`"
        );
        return Ok(None);
    };
    let Ok(json) = String::from_utf8(json) else {
        return Ok(None);
    };
    Ok(from_json::<PersonalData>("audit_entries.personal_sealed", &json).ok())
}

/// Entries written by one INSERT statement of a batch: [`ENTRY_PARAMS`] parameters each (and
/// three per chain head on the last one, see `with_head_updates`), far below the limits of SQLite
/// (32,766) and PostgreSQL (65,535).
pub(crate) const ENTRIES_PER_INSERT: usize = 64;

/// The values bound for one audit entry, in the column order of `insert_entries_sql`.
pub(crate) const ENTRY_PARAMS: usize = 14;

/// `INSERT INTO audit_entries … VALUES (…), (…)` for `n` entries (1 ≤ n ≤ [`ENTRIES_PER_INSERT`]),
/// with numbered parameters or anonymous ones (see `dialect::push_values`).
fn insert_entries_sql(n: usize, numbered: bool) -> &'static str {
    fn all(numbered: bool) -> Vec<String> {
        (0..=ENTRIES_PER_INSERT)
            .map(|n| {
                let mut sql = String::from(
                    "INSERT INTO audit_entries (tenant_id, seq, event_id, occurred_at, event_type, \
                     actor_id, target_id, outcome, body, subject_user_id, personal_sealed, \
                     personal_digest, prev_hash, hash) VALUES ",
                );
                crate::dialect::push_values(&mut sql, n, ENTRY_PARAMS, numbered);
                sql
            })
            .collect()
    }
    static NUMBERED: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| all(true));
    static ANONYMOUS: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| all(false));
    let sql = if numbered { &NUMBERED } else { &ANONYMOUS };
    &sql[n.min(ENTRIES_PER_INSERT)]
}

/// `entries_sql` (an `insert_entries_sql` of `params` parameters) with the updates of `heads`
/// chain heads, each taking three more parameters in the order seq, hash, tenant: in one message
/// to the database, which on SQLite saves a hand-off to the writer's thread and on PostgreSQL a
/// round trip per batch. Numbered parameters (PostgreSQL): the updates as data-modifying `WITH`
/// parts of the insert; anonymous ones (SQLite): statements after it, sent together (SQLite binds
/// anonymous parameters across them in order).
fn with_head_updates(entries_sql: &str, params: usize, heads: usize, numbered: bool) -> String {
    use std::fmt::Write;
    let mut sql = String::with_capacity(entries_sql.len() + heads * 80);
    if numbered {
        for h in 0..heads {
            let p = params + 3 * h;
            let _ = write!(
                sql,
                "{} h{h} AS (UPDATE audit_heads SET seq = ${}, hash = ${} WHERE tenant_id = ${})",
                if h == 0 { "WITH" } else { "," },
                p + 1,
                p + 2,
                p + 3
            );
        }
        sql.push(' ');
        sql.push_str(entries_sql);
    } else {
        sql.push_str(entries_sql);
        for _ in 0..heads {
            sql.push_str("; UPDATE audit_heads SET seq = ?, hash = ? WHERE tenant_id = ?");
        }
    }
    sql
}

/// What an append computes before its transaction: the texts to store and bind.
pub(crate) struct PreparedAppend<'a> {
    event: &'a Event,
    tenant: String,
    event_id: String,
    event_type: String,
    /// The non-personal part as stored.
    body_text: String,
    occurred_at: i64,
    subject: Option<String>,
    personal: Option<String>,
    deliveries: Vec<DeliveryValues>,
}

impl<'a> PreparedAppend<'a> {
    /// The prepared append, and the body as verification will hash it (moved into the entry).
    fn new(
        event: &'a Event,
        deliveries: &[WebhookDelivery],
    ) -> StoreResult<(PreparedAppend<'a>, serde_json::Value)> {
        if deliveries.iter().any(|d| d.tenant_id != event.tenant_id) {
            return Err(StoreError::Backend(
                "a webhook delivery belongs to another tenant than its event".to_string(),
            ));
        }
        let body = event.body();
        let body_text = to_json("audit_entries.body", &body)?;
        // What verification hashes is the body parsed back from its text. Integers, strings,
        // booleans and nulls come back exactly as they were; a float might not, so only a body
        // with one is parsed back here (most have none, and the parse was a tenth of the
        // audit writer's work per event).
        let body = if has_float(&body) {
            from_json("audit_entries.body", &body_text)?
        } else {
            body
        };
        let personal = if event.personal.is_empty() {
            None
        } else {
            Some(to_json("audit personal data", &event.personal)?)
        };
        let prepared = PreparedAppend {
            event,
            tenant: event.tenant_id.to_string(),
            event_id: event.id.to_string(),
            event_type: event.kind.type_name().to_string(),
            body_text,
            occurred_at: to_millis(event.occurred_at),
            subject: event.subject.map(|u| u.to_string()),
            personal,
            deliveries: deliveries.iter().map(DeliveryValues::new).collect(),
        };
        Ok((prepared, body))
    }

    /// The `audit_subject_keys.subject_id` its personal data is sealed under.
    fn subject_key(&self) -> &str {
        self.subject.as_deref().unwrap_or(TENANT_SUBJECT)
    }
}

/// Whether a JSON value holds a floating-point number anywhere.
fn has_float(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Number(n) => n.is_f64(),
        serde_json::Value::Array(items) => items.iter().any(has_float),
        serde_json::Value::Object(fields) => fields.values().any(has_float),
        _ => false,
    }
}

/// Binds an entry's [`ENTRY_PARAMS`] values, in the column order of `insert_entries_sql`.
macro_rules! bind_entry {
    ($q:expr, $p:expr, $entry:expr) => {{
        let (p, entry) = ($p, $entry);
        $q.bind(p.tenant.as_str())
            .bind(entry.seq)
            .bind(p.event_id.as_str())
            .bind(p.occurred_at)
            .bind(p.event_type.as_str())
            .bind(p.event.actor.id.as_deref())
            .bind(p.event.target.as_ref().map(|t| t.id.as_str()))
            .bind($crate::audit::outcome_str(p.event.outcome))
            .bind(p.body_text.as_str())
            .bind(p.subject.as_deref())
            .bind(entry.personal_sealed.as_deref())
            .bind(entry.personal_digest.as_deref())
            .bind(entry.prev_hash.as_str())
            .bind(entry.hash.as_str())
    }};
}
pub(crate) use bind_entry;

/// The tenants whose heads a batch moves, each once, in one fixed order: two batches in flight at
/// once (two nodes on one PostgreSQL database) lock the heads they share in the same order, so
/// neither waits for a lock the other holds while holding one it waits for (PostgreSQL would
/// abort one of them as a deadlock).
pub(crate) fn batch_tenants(prepared: &[PreparedAppend<'_>]) -> Vec<TenantId> {
    let mut tenants: Vec<(TenantId, &str)> = prepared
        .iter()
        .map(|p| (p.event.tenant_id, p.tenant.as_str()))
        .collect();
    tenants.sort_unstable_by(|a, b| a.1.cmp(b.1));
    tenants.dedup_by(|a, b| a.0 == b.0);
    tenants.into_iter().map(|(t, _)| t).collect()
}

/// The subjects whose audit keys seal a batch's personal data, each once, in order of first use.
pub(crate) fn batch_subjects<'a>(prepared: &'a [PreparedAppend<'_>]) -> Vec<(TenantId, &'a str)> {
    let mut subjects: Vec<(TenantId, &str)> = Vec::new();
    for p in prepared.iter().filter(|p| p.personal.is_some()) {
        let subject = (p.event.tenant_id, p.subject_key());
        if !subjects.contains(&subject) {
            subjects.push(subject);
        }
    }
    subjects
}

/// A subject's audit-key salt: tenant, subject (`audit_subject_keys.subject_id`), salt.
pub(crate) type SubjectSalt = (TenantId, String, Vec<u8>);

/// A tenant's chain head: tenant, seq and hash of its newest entry.
pub(crate) type ChainHead = (TenantId, i64, String);

impl Store {
    /// Appends a batch in one transaction that locks and reads the heads and reads (or creates)
    /// the salts itself; returns the entries and the salts it used. See `append_events`.
    pub(crate) async fn append_locked(
        &self,
        prepared: &[PreparedAppend<'_>],
        mut bodies: Vec<serde_json::Value>,
    ) -> StoreResult<(Vec<AuditEntry>, Vec<SubjectSalt>)> {
        let tenants = batch_tenants(prepared);
        let subjects = batch_subjects(prepared);
        transaction!(self, tx => {
            // Per tenant: (seq, hash) of the head as this batch has moved it. The first statement
            // writes (see the module comment): it creates the head on first use, locks it (on
            // SQLite, takes the write lock) and reads it, in one round trip.
            let mut heads: Vec<ChainHead> = Vec::with_capacity(tenants.len());
            for tenant_id in &tenants {
                let (seq, hash): (i64, String) = tx_fetch_one!(
                    tx,
                    sqlx::query_as(LOCK_HEAD).bind(tenant_id.to_string()).bind(GENESIS_HASH)
                )?;
                heads.push((*tenant_id, seq, hash));
            }
            // The salt of each subject's audit key. Most subjects have their key already: read
            // it first, and only for a new one write it (then read again, as a concurrent batch
            // on another PostgreSQL connection may have written it first).
            let mut salts: Vec<SubjectSalt> = Vec::with_capacity(subjects.len());
            for (tenant_id, subject) in &subjects {
                let tenant = tenant_id.to_string();
                let read_salt = || {
                    sqlx::query_scalar::<_, Vec<u8>>(
                        "SELECT salt FROM audit_subject_keys WHERE tenant_id = $1 AND subject_id = $2"
                    )
                    .bind(tenant.as_str())
                    .bind(*subject)
                };
                let salt = match tx_fetch_optional!(tx, read_salt())? {
                    Some(salt) => salt,
                    None => {
                        let created_at = prepared
                            .iter()
                            .find(|p| p.event.tenant_id == *tenant_id && p.subject_key() == *subject)
                            .map_or(0, |p| p.occurred_at);
                        tx_execute!(
                            tx,
                            sqlx::query(
                                "INSERT INTO audit_subject_keys (tenant_id, subject_id, salt, created_at) \
                                 VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, subject_id) DO NOTHING"
                            )
                            .bind(tenant.as_str())
                            .bind(*subject)
                            .bind(random_bytes::<SALT_LEN>().to_vec())
                            .bind(created_at)
                        )?;
                        tx_fetch_one!(tx, read_salt())?
                    }
                };
                salts.push((*tenant_id, subject.to_string(), salt));
            }
            let entries = self.chain_entries(prepared, &mut bodies, &mut heads, &salts)?;
            // The entries in as few statements as the parameter limits allow; the last one also
            // moves the heads.
            let numbered = self.numbered_parameters();
            let chunks = prepared.len().div_ceil(ENTRIES_PER_INSERT);
            for (i, (chunk, entries)) in prepared
                .chunks(ENTRIES_PER_INSERT)
                .zip(entries.chunks(ENTRIES_PER_INSERT))
                .enumerate()
            {
                let last = i + 1 == chunks;
                tx_execute!(tx, {
                    let entries_sql = insert_entries_sql(chunk.len(), numbered);
                    let sql = if last {
                        with_head_updates(
                            entries_sql,
                            chunk.len() * ENTRY_PARAMS,
                            heads.len(),
                            numbered,
                        )
                    } else {
                        entries_sql.to_string()
                    };
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for (p, entry) in chunk.iter().zip(entries) {
                        q = bind_entry!(q, p, entry);
                    }
                    if last {
                        for (tenant, seq, hash) in &heads {
                            q = q.bind(*seq).bind(hash.as_str()).bind(tenant.to_string());
                        }
                    }
                    q
                })?;
            }
            // Deliveries after their events' entries.
            for d in prepared.iter().flat_map(|p| &p.deliveries) {
                tx_execute!(tx, bind_delivery!(sqlx::query(INSERT_DELIVERY), d))?;
            }
            Ok((entries, salts))
        })
    }

    /// The entries of a batch, chained on from `heads` (moved to each tenant's last entry), their
    /// personal data sealed under `salts` (one per subject of `batch_subjects`). The bodies move
    /// into the entries.
    pub(crate) fn chain_entries(
        &self,
        prepared: &[PreparedAppend<'_>],
        bodies: &mut [serde_json::Value],
        heads: &mut [ChainHead],
        salts: &[SubjectSalt],
    ) -> StoreResult<Vec<AuditEntry>> {
        let mut entries = Vec::with_capacity(prepared.len());
        for (p, body) in prepared.iter().zip(bodies.iter_mut()) {
            let event = p.event;
            let head = heads
                .iter()
                .position(|(t, _, _)| *t == event.tenant_id)
                .ok_or_else(|| {
                    StoreError::Backend("an audit event's tenant head was not read".into())
                })?;
            let (personal_sealed, personal_digest) = match &p.personal {
                None => (None, None),
                Some(json) => {
                    let salt = salts
                        .iter()
                        .find(|(t, subject, _)| *t == event.tenant_id && subject == p.subject_key())
                        .map(|(_, _, salt)| salt)
                        .ok_or_else(|| {
                            StoreError::Backend("an audit subject's key was not read".into())
                        })?;
                    let sealed = self
                        .crypto
                        .encrypt_with_subkey(
                            &subject_purpose(event.tenant_id, p.subject_key(), salt),
                            personal_aad(event.tenant_id, event.id).as_bytes(),
                            json.as_bytes(),
                        )
                        .map_err(|e| {
                            StoreError::Backend(format!(
                                "could not encrypt the personal data of an audit entry: {e}"
                            ))
                        })?;
                    let digest = sha256_hex(&sealed);
                    (Some(sealed), Some(digest))
                }
            };
            let (_, head_seq, head_hash) = &heads[head];
            let mut entry = AuditEntry {
                tenant_id: event.tenant_id,
                seq: head_seq + 1,
                event_id: event.id,
                occurred_at: from_millis(p.occurred_at)?,
                event_type: p.event_type.clone(),
                // Moved, not copied: only `body_text` is stored.
                body: std::mem::take(body),
                personal_sealed,
                personal_digest,
                prev_hash: head_hash.clone(),
                hash: String::new(),
            };
            entry.hash = sha256_hex(&chain_input(&entry));
            heads[head].1 = entry.seq;
            heads[head].2 = entry.hash.clone();
            entries.push(entry);
        }
        Ok(entries)
    }
}

impl AuditStore for Store {
    /// `Conflict("event_id")` when the event was appended before (nothing is written). Every
    /// delivery must belong to the event's tenant; a delivery whose subscription no longer exists
    /// is dropped (its subscription's deletion would have removed it anyway).
    async fn append_event(
        &self,
        event: &Event,
        deliveries: &[WebhookDelivery],
    ) -> StoreResult<AuditEntry> {
        let mut entries = self.append_events(&[(event, deliveries)]).await?;
        entries
            .pop()
            .ok_or_else(|| StoreError::Backend("an append wrote no audit entry".to_string()))
    }

    /// The batch shares one transaction: each tenant's head is created and locked once, the
    /// events are chained in order, and each head is written once at the end. Any error (a
    /// repeated event id, say) rolls the whole batch back. The batch is first tried in one
    /// message (SQLite) or one statement (PostgreSQL) from the heads and salts the process
    /// remembers (`audit/tail.rs`).
    async fn append_events(
        &self,
        batch: &[(&Event, &[WebhookDelivery])],
    ) -> StoreResult<Vec<AuditEntry>> {
        let (prepared, bodies): (Vec<_>, Vec<_>) = batch
            .iter()
            .map(|(event, deliveries)| PreparedAppend::new(event, deliveries))
            .collect::<StoreResult<Vec<_>>>()?
            .into_iter()
            .unzip();
        if prepared.is_empty() {
            return Ok(Vec::new());
        }
        tail::append(self, &prepared, bodies).await
    }

    /// Newest first. `from` is inclusive and `until` exclusive; `event_type` matches exactly. The
    /// cursor is the seq of the last entry seen; one that is not a number gives an empty page.
    /// The personal data of an event that carried none is `Some` (empty); `None` means erased.
    async fn list_audit(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<(AuditEntry, Option<PersonalData>)>> {
        let limit = page.limit();
        let mut before = match page.after.as_deref() {
            None => i64::MAX,
            Some(cursor) => match cursor.parse::<i64>() {
                Ok(seq) => seq,
                Err(_) => {
                    return Ok(Page {
                        items: Vec::new(),
                        next_cursor: None,
                    });
                }
            },
        };
        // One row more than the page, to know whether another page follows.
        let wanted = limit as usize + 1;
        let batch = match filter.ip {
            None => i64::from(limit) + 1,
            Some(_) => IP_FILTER_BATCH.max(i64::from(limit) + 1),
        };
        let tenant_text = tenant.to_string();
        let mut items = Vec::new();
        loop {
            let rows: Vec<ListedRow> = fetch_all!(
                self,
                sqlx::query_as(concat!(
                    "SELECT ",
                    entry_columns!(),
                    ", k.salt FROM audit_entries e LEFT JOIN audit_subject_keys k \
                     ON k.tenant_id = e.tenant_id \
                     AND k.subject_id = COALESCE(e.subject_user_id, '",
                    tenant_subject!(),
                    "') WHERE e.tenant_id = $1 AND e.seq < $2 \
                     AND ($3 IS NULL OR e.occurred_at >= $3) AND ($4 IS NULL OR e.occurred_at < $4) \
                     AND ($5 IS NULL OR e.actor_id = $5) AND ($6 IS NULL OR e.target_id = $6) \
                     AND ($7 IS NULL OR e.event_type = $7) AND ($8 IS NULL OR e.outcome = $8) \
                     AND ($10 IS NULL OR e.subject_user_id = $10) \
                     ORDER BY e.seq DESC LIMIT $9"
                ))
                .bind(&tenant_text)
                .bind(before)
                .bind(filter.from.map(to_millis))
                .bind(filter.until.map(to_millis))
                .bind(filter.actor_id.as_deref())
                .bind(filter.target_id.as_deref())
                .bind(filter.event_type.as_deref())
                .bind(filter.outcome.map(outcome_str))
                .bind(batch)
                .bind(filter.subject.as_deref())
            )?;
            let exhausted = (rows.len() as i64) < batch;
            for row in rows {
                before = row.entry.seq;
                let subject = row.entry.subject_user_id.clone();
                let entry = row.entry.into_entry()?;
                let personal = open_personal(
                    &self.crypto,
                    &entry,
                    subject.as_deref(),
                    row.salt.as_deref(),
                )?;
                let ip_matches = filter
                    .ip
                    .as_deref()
                    .is_none_or(|ip| personal.as_ref().and_then(|p| p.ip.as_deref()) == Some(ip));
                if ip_matches {
                    items.push((entry, personal));
                    if items.len() == wanted {
                        break;
                    }
                }
            }
            if exhausted || items.len() == wanted {
                break;
            }
        }
        Ok(page_of(items, limit, |(e, _)| e.seq.to_string()))
    }

    async fn audit_chain(
        &self,
        tenant: TenantId,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        let rows: Vec<EntryRow> = fetch_all!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                entry_columns!(),
                " FROM audit_entries e WHERE e.tenant_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3"
            ))
            .bind(tenant.to_string())
            .bind(after_seq)
            .bind(i64::from(limit))
        )?;
        rows.into_iter().map(EntryRow::into_entry).collect()
    }

    async fn audit_anchor(&self, tenant: TenantId) -> StoreResult<(i64, String)> {
        let anchor: Option<(i64, String)> = fetch_optional!(
            self,
            sqlx::query_as("SELECT anchor_seq, anchor_hash FROM audit_heads WHERE tenant_id = $1")
                .bind(tenant.to_string())
        )?;
        Ok(anchor.unwrap_or_else(|| (0, GENESIS_HASH.to_string())))
    }

    async fn audit_head(&self, tenant: TenantId) -> StoreResult<(i64, String)> {
        let head: Option<(i64, String)> = fetch_optional!(
            self,
            sqlx::query_as("SELECT seq, hash FROM audit_heads WHERE tenant_id = $1")
                .bind(tenant.to_string())
        )?;
        Ok(head.unwrap_or_else(|| (0, GENESIS_HASH.to_string())))
    }

    /// `Conflict("seq")` when the tenant has a checkpoint at that seq; `NotFound` when the tenant
    /// does not exist.
    async fn insert_checkpoint(&self, cp: &AuditCheckpoint) -> StoreResult<()> {
        execute!(
            self,
            sqlx::query(
                "INSERT INTO audit_checkpoints (tenant_id, seq, hash, created_at, signature) \
                 VALUES ($1, $2, $3, $4, $5)"
            )
            .bind(cp.tenant_id.to_string())
            .bind(cp.seq)
            .bind(&cp.hash)
            .bind(to_millis(cp.created_at))
            .bind(&cp.signature)
        )?;
        Ok(())
    }

    async fn list_checkpoints(&self, tenant: TenantId) -> StoreResult<Vec<AuditCheckpoint>> {
        let rows: Vec<CheckpointRow> = fetch_all!(
            self,
            sqlx::query_as(
                "SELECT tenant_id, seq, hash, created_at, signature FROM audit_checkpoints \
                 WHERE tenant_id = $1 ORDER BY seq"
            )
            .bind(tenant.to_string())
        )?;
        rows.into_iter()
            .map(CheckpointRow::into_checkpoint)
            .collect()
    }

    /// Refused (`StoreError::Backend`, nothing changed) unless the tenant has a checkpoint at
    /// exactly `up_to_seq`, and (`StoreError::Corrupt`) when the checkpoint's hash is not the hash
    /// of the stored entry. Also deletes the checkpoints before `up_to_seq` (the one at
    /// `up_to_seq` stays, vouching for the anchor). Pruning again up to the anchor deletes nothing.
    async fn prune_audit(&self, tenant: TenantId, up_to_seq: i64) -> StoreResult<u64> {
        let tenant = tenant.to_string();
        transaction!(self, tx => {
            // A write first: takes the write lock on SQLite and the head's row lock on
            // PostgreSQL, so no append or other pruning runs meanwhile.
            let head: Option<(i64, i64)> = tx_fetch_optional!(
                tx,
                sqlx::query_as(
                    "UPDATE audit_heads SET seq = seq WHERE tenant_id = $1 \
                     RETURNING seq, anchor_seq"
                )
                .bind(&tenant)
            )?;
            let checkpoint: Option<String> = tx_fetch_optional!(
                tx,
                sqlx::query_scalar(
                    "SELECT hash FROM audit_checkpoints WHERE tenant_id = $1 AND seq = $2"
                )
                .bind(&tenant)
                .bind(up_to_seq)
            )?;
            let Some(checkpoint_hash) = checkpoint else {
                return Err(StoreError::Backend(format!(
                    "cannot prune the audit trail up to entry {up_to_seq}: there is no checkpoint \
                     at that entry (prune only up to a checkpoint)"
                )));
            };
            let Some((head_seq, anchor_seq)) = head else {
                return Err(StoreError::Backend(format!(
                    "cannot prune the audit trail up to entry {up_to_seq}: the tenant has no \
                     audit entries"
                )));
            };
            if up_to_seq == anchor_seq {
                return Ok(0);
            }
            if up_to_seq < anchor_seq || up_to_seq > head_seq {
                return Err(StoreError::Backend(format!(
                    "cannot prune the audit trail up to entry {up_to_seq}: it holds entries \
                     {} to {head_seq}",
                    anchor_seq + 1
                )));
            }
            let entry_hash: Option<String> = tx_fetch_optional!(
                tx,
                sqlx::query_scalar("SELECT hash FROM audit_entries WHERE tenant_id = $1 AND seq = $2")
                    .bind(&tenant)
                    .bind(up_to_seq)
            )?;
            if entry_hash.as_deref() != Some(checkpoint_hash.as_str()) {
                return Err(corrupt(format!(
                    "audit entry {up_to_seq} does not have the hash its checkpoint vouches for; \
                     not pruning"
                )));
            }
            let deleted = tx_execute!(
                tx,
                sqlx::query("DELETE FROM audit_entries WHERE tenant_id = $1 AND seq <= $2")
                    .bind(&tenant)
                    .bind(up_to_seq)
            )?;
            tx_execute!(
                tx,
                sqlx::query(
                    "UPDATE audit_heads SET anchor_seq = $2, anchor_hash = $3 WHERE tenant_id = $1"
                )
                .bind(&tenant)
                .bind(up_to_seq)
                .bind(&checkpoint_hash)
            )?;
            tx_execute!(
                tx,
                sqlx::query("DELETE FROM audit_checkpoints WHERE tenant_id = $1 AND seq < $2")
                    .bind(&tenant)
                    .bind(up_to_seq)
            )?;
            Ok(deleted)
        })
    }

    /// Counts the entries whose sealed data was cleared. Events without a subject (sealed under
    /// the tenant's key) are not touched.
    async fn erase_audit_subject(&self, tenant: TenantId, user: UserId) -> StoreResult<u64> {
        let tenant = tenant.to_string();
        let user = user.to_string();
        transaction!(self, tx => {
            tx_execute!(
                tx,
                sqlx::query("DELETE FROM audit_subject_keys WHERE tenant_id = $1 AND subject_id = $2")
                    .bind(&tenant)
                    .bind(&user)
            )?;
            tx_execute!(
                tx,
                sqlx::query(
                    "UPDATE audit_entries SET personal_sealed = NULL \
                     WHERE tenant_id = $1 AND subject_user_id = $2 AND personal_sealed IS NOT NULL"
                )
                .bind(&tenant)
                .bind(&user)
            )
        })
    }

    /// In byte order of their ids.
    async fn audit_tenants(&self) -> StoreResult<Vec<TenantId>> {
        let ids: Vec<String> = fetch_all!(
            self,
            sqlx::query_scalar("SELECT tenant_id FROM audit_heads WHERE seq > 0")
        )?;
        let mut tenants = ids
            .iter()
            .map(|t| id("audit_heads.tenant_id", t, TenantId::parse))
            .collect::<Result<Vec<_>, _>>()?;
        tenants.sort_by_key(|t| t.to_string());
        Ok(tenants)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Changing these formats makes every sealed entry unreadable.
    #[test]
    fn batch_insert_numbers_every_parameter_once() {
        let sql = insert_entries_sql(3, true);
        assert!(
            sql.ends_with("($29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41, $42)")
        );
        assert_eq!(sql.matches('$').count(), 42);
        assert!(insert_entries_sql(1, true).contains("VALUES ($1, $2,"));
        let sql = insert_entries_sql(3, false);
        assert_eq!(sql.matches('?').count(), 42);
        assert!(!sql.contains('$'));
        assert!(sql.contains("VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?"));
    }

    #[test]
    fn floats_are_found_at_any_depth() {
        assert!(!has_float(
            &serde_json::json!({"a": [1, -2, "x", null, true], "b": {"c": 3}})
        ));
        assert!(has_float(&serde_json::json!({"a": [1, {"score": 0.25}]})));
        assert!(has_float(&serde_json::json!(1.0)));
    }

    /// Without floats, the body as built serializes to the bytes of the body parsed back from
    /// its text, so the chain hashes the same either way.
    #[test]
    fn a_body_without_floats_survives_its_text_unchanged() {
        let body = serde_json::json!({
            "type": "token.issued", "v": 1, "n": -9_007_199_254_740_993_i64, "big": u64::MAX,
            "s": "é \"q\" \\ \u{7}", "nested": [{"z": null, "a": false}],
        });
        let text = serde_json::to_string(&body).unwrap();
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, body);
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
    }

    #[test]
    fn key_purpose_and_associated_data_are_stable() {
        let tenant = TenantId(Uuid::nil());
        assert_eq!(
            subject_purpose(tenant, TENANT_SUBJECT, &[0xab, 0x01, 0x00]),
            "audit-subject:00000000-0000-0000-0000-000000000000:tenant:ab0100"
        );
        assert_eq!(
            personal_aad(tenant, Uuid::nil()),
            "audit:00000000-0000-0000-0000-000000000000:00000000-0000-0000-0000-000000000000"
        );
    }
}
