//! `PrivacyStore`: purposes (`privacy_purposes`), policy documents (`policy_documents`), the
//! append-only consent history (`consent_records`), communication topics (`privacy_topics`) and
//! preferences (`communication_preferences`).
//!
//! A consent record is inserted once and never updated; its place in the person's history of the
//! purpose (`seq`) is computed by the insert itself, and a concurrent insert that took the same
//! place is retried. The IP address and user agent are sealed (associated data
//! `consent.<field>:{tenant}:{record}`); erasure clears them. Records have no foreign key to the
//! account, so that the proof outlives it pseudonymously; queries of current consent join the
//! accounts that still exist.

use tessera_core::page::{Page, PageRequest};
use tessera_core::privacy::{
    CommunicationPreferences, ConsentChannel, ConsentRecord, ConsentState, Frequency, LegalBasis,
    PolicyDocument, PrivacyStore, Purpose, Topic,
};
use tessera_core::store::StoreResult;
use tessera_core::{StoreError, TenantId, UserId};
use tessera_crypto::FieldCrypto;
use uuid::Uuid;

use crate::Store;
use crate::codec::{Sealer, from_json, from_millis, id, to_json, to_millis};
use crate::error::corrupt;

macro_rules! purpose_columns {
    () => {
        "tenant_id, key, legal_basis, descriptions, required, document, created_at, updated_at, \
         expires_after_days"
    };
}

macro_rules! document_columns {
    () => {
        "tenant_id, id, kind, version, url, effective_at, material, grace_days, created_at"
    };
}

macro_rules! record_columns {
    () => {
        "id, tenant_id, user_id, purpose, seq, state, policy_version, channel, recorded_at, \
         recorded_by, ip, user_agent"
    };
}

#[derive(sqlx::FromRow)]
struct PurposeRow {
    tenant_id: String,
    key: String,
    legal_basis: String,
    descriptions: String,
    required: bool,
    document: Option<String>,
    created_at: i64,
    updated_at: i64,
    expires_after_days: Option<i64>,
}

impl PurposeRow {
    fn into_purpose(self) -> Result<Purpose, StoreError> {
        Ok(Purpose {
            tenant_id: id(
                "privacy_purposes.tenant_id",
                &self.tenant_id,
                TenantId::parse,
            )?,
            key: self.key,
            legal_basis: LegalBasis::parse(&self.legal_basis)
                .map_err(|_| corrupt("privacy_purposes.legal_basis is unknown"))?,
            descriptions: from_json("privacy_purposes.descriptions", &self.descriptions)?,
            required: self.required,
            document: self.document,
            expires_after_days: self
                .expires_after_days
                .map(u32::try_from)
                .transpose()
                .map_err(|_| corrupt("privacy_purposes.expires_after_days is out of range"))?,
            created_at: from_millis(self.created_at)?,
            updated_at: from_millis(self.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct DocumentRow {
    tenant_id: String,
    id: String,
    kind: String,
    version: String,
    url: String,
    effective_at: i64,
    material: bool,
    grace_days: i64,
    created_at: i64,
}

impl DocumentRow {
    fn into_document(self) -> Result<PolicyDocument, StoreError> {
        Ok(PolicyDocument {
            id: Uuid::parse_str(&self.id)
                .map_err(|_| corrupt("policy_documents.id is not a UUID"))?,
            tenant_id: id(
                "policy_documents.tenant_id",
                &self.tenant_id,
                TenantId::parse,
            )?,
            kind: self.kind,
            version: self.version,
            url: self.url,
            effective_at: from_millis(self.effective_at)?,
            material: self.material,
            grace_days: u32::try_from(self.grace_days)
                .map_err(|_| corrupt("policy_documents.grace_days is out of range"))?,
            created_at: from_millis(self.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RecordRow {
    id: String,
    tenant_id: String,
    user_id: String,
    purpose: String,
    seq: i64,
    state: String,
    policy_version: Option<String>,
    channel: String,
    recorded_at: i64,
    recorded_by: String,
    ip: Option<Vec<u8>>,
    user_agent: Option<Vec<u8>>,
}

impl RecordRow {
    fn into_record(self, crypto: &FieldCrypto) -> Result<ConsentRecord, StoreError> {
        let record_id =
            Uuid::parse_str(&self.id).map_err(|_| corrupt("consent_records.id is not a UUID"))?;
        let tenant_id = id(
            "consent_records.tenant_id",
            &self.tenant_id,
            TenantId::parse,
        )?;
        let sealer = Sealer::new(crypto, "consent", tenant_id, record_id);
        Ok(ConsentRecord {
            id: record_id,
            tenant_id,
            user_id: id("consent_records.user_id", &self.user_id, UserId::parse)?,
            purpose: self.purpose,
            state: ConsentState::parse(&self.state)
                .map_err(|_| corrupt("consent_records.state is unknown"))?,
            policy_version: self.policy_version,
            channel: ConsentChannel::parse(&self.channel)
                .map_err(|_| corrupt("consent_records.channel is unknown"))?,
            recorded_at: from_millis(self.recorded_at)?,
            recorded_by: self.recorded_by,
            ip: sealer.open_opt("ip", self.ip.as_deref())?,
            user_agent: sealer.open_opt("user_agent", self.user_agent.as_deref())?,
            seq: self.seq,
        })
    }
}

#[derive(sqlx::FromRow)]
struct PreferencesRow {
    channels: String,
    topics: String,
    frequency: String,
    updated_at: i64,
}

/// How often an insert that lost the race for its `seq` is tried again.
const APPEND_ATTEMPTS: usize = 5;

impl PrivacyStore for Store {
    async fn create_purpose(&self, p: &Purpose) -> StoreResult<()> {
        let descriptions = to_json("privacy_purposes.descriptions", &p.descriptions)?;
        execute!(
            self,
            sqlx::query(concat!(
                "INSERT INTO privacy_purposes (",
                purpose_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ))
            .bind(p.tenant_id.to_string())
            .bind(&p.key)
            .bind(p.legal_basis.as_str())
            .bind(&descriptions)
            .bind(p.required)
            .bind(&p.document)
            .bind(to_millis(p.created_at))
            .bind(to_millis(p.updated_at))
            .bind(p.expires_after_days.map(i64::from))
        )
        .map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict("key".into()),
            other => other,
        })?;
        Ok(())
    }

    async fn update_purpose(&self, p: &Purpose) -> StoreResult<()> {
        let descriptions = to_json("privacy_purposes.descriptions", &p.descriptions)?;
        let n = execute!(
            self,
            sqlx::query(
                "UPDATE privacy_purposes SET legal_basis = $3, descriptions = $4, required = $5, \
                 document = $6, updated_at = $7, expires_after_days = $8 \
                 WHERE tenant_id = $1 AND key = $2"
            )
            .bind(p.tenant_id.to_string())
            .bind(&p.key)
            .bind(p.legal_basis.as_str())
            .bind(&descriptions)
            .bind(p.required)
            .bind(&p.document)
            .bind(to_millis(p.updated_at))
            .bind(p.expires_after_days.map(i64::from))
        )?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn get_purpose(&self, tenant: TenantId, key: &str) -> StoreResult<Option<Purpose>> {
        let row: Option<PurposeRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                purpose_columns!(),
                " FROM privacy_purposes WHERE tenant_id = $1 AND key = $2"
            ))
            .bind(tenant.to_string())
            .bind(key)
        )?;
        row.map(PurposeRow::into_purpose).transpose()
    }

    async fn list_purposes(&self, tenant: TenantId) -> StoreResult<Vec<Purpose>> {
        let rows: Vec<PurposeRow> = fetch_all!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                purpose_columns!(),
                " FROM privacy_purposes WHERE tenant_id = $1"
            ))
            .bind(tenant.to_string())
        )?;
        let mut out = rows
            .into_iter()
            .map(PurposeRow::into_purpose)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn create_policy_document(&self, d: &PolicyDocument) -> StoreResult<()> {
        execute!(
            self,
            sqlx::query(concat!(
                "INSERT INTO policy_documents (",
                document_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ))
            .bind(d.tenant_id.to_string())
            .bind(d.id.to_string())
            .bind(&d.kind)
            .bind(&d.version)
            .bind(&d.url)
            .bind(to_millis(d.effective_at))
            .bind(d.material)
            .bind(i64::from(d.grace_days))
            .bind(to_millis(d.created_at))
        )
        .map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict("version".into()),
            other => other,
        })?;
        Ok(())
    }

    async fn list_policy_documents(
        &self,
        tenant: TenantId,
        kind: Option<&str>,
    ) -> StoreResult<Vec<PolicyDocument>> {
        let rows: Vec<DocumentRow> = fetch_all!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                document_columns!(),
                " FROM policy_documents WHERE tenant_id = $1 AND ($2 IS NULL OR kind = $2)"
            ))
            .bind(tenant.to_string())
            .bind(kind)
        )?;
        let mut out = rows
            .into_iter()
            .map(DocumentRow::into_document)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by_key(|d| (d.effective_at, d.created_at));
        Ok(out)
    }

    async fn append_consent(&self, r: &ConsentRecord) -> StoreResult<ConsentRecord> {
        let sealer = Sealer::new(&self.crypto, "consent", r.tenant_id, r.id);
        let ip = sealer.seal_opt("ip", r.ip.as_deref())?;
        let user_agent = sealer.seal_opt("user_agent", r.user_agent.as_deref())?;
        for _ in 0..APPEND_ATTEMPTS {
            // One statement: the next place in the history, and only for an existing account.
            let inserted: Result<Option<(i64,)>, StoreError> = fetch_optional!(
                write self,
                sqlx::query_as(concat!(
                    "INSERT INTO consent_records (",
                    record_columns!(),
                    ") SELECT $1, $2, $3, $4, \
                       (SELECT COALESCE(MAX(seq), 0) + 1 FROM consent_records \
                        WHERE tenant_id = $2 AND user_id = $3 AND purpose = $4), \
                       $5, $6, $7, $8, $9, $10, $11 \
                     WHERE EXISTS (SELECT 1 FROM users WHERE tenant_id = $2 AND id = $3) \
                     RETURNING seq"
                ))
                .bind(r.id.to_string())
                .bind(r.tenant_id.to_string())
                .bind(r.user_id.to_string())
                .bind(&r.purpose)
                .bind(r.state.as_str())
                .bind(&r.policy_version)
                .bind(r.channel.as_str())
                .bind(to_millis(r.recorded_at))
                .bind(&r.recorded_by)
                .bind(&ip)
                .bind(&user_agent)
            );
            match inserted {
                Ok(Some((seq,))) => {
                    let mut out = r.clone();
                    out.seq = seq;
                    out.recorded_at = from_millis(to_millis(r.recorded_at))?;
                    return Ok(out);
                }
                Ok(None) => return Err(StoreError::NotFound),
                // Another record of the same person and purpose took this place first.
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict("seq".into()))
    }

    async fn consent_history(
        &self,
        tenant: TenantId,
        user: UserId,
        purpose: Option<&str>,
    ) -> StoreResult<Vec<ConsentRecord>> {
        let rows: Vec<RecordRow> = fetch_all!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                record_columns!(),
                " FROM consent_records WHERE tenant_id = $1 AND user_id = $2 \
                  AND ($3 IS NULL OR purpose = $3)"
            ))
            .bind(tenant.to_string())
            .bind(user.to_string())
            .bind(purpose)
        )?;
        let mut out = rows
            .into_iter()
            .map(|r| r.into_record(&self.crypto))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| {
            (a.recorded_at, &a.purpose, a.seq).cmp(&(b.recorded_at, &b.purpose, b.seq))
        });
        Ok(out)
    }

    async fn users_consenting(
        &self,
        tenant: TenantId,
        purpose: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<UserId>> {
        let limit = page.limit();
        let after = page.after.clone().unwrap_or_default();
        let ids: Vec<(String,)> = fetch_all!(
            self,
            sqlx::query_as(
                "SELECT r.user_id FROM consent_records r \
                 WHERE r.tenant_id = $1 AND r.purpose = $2 AND r.state = 'granted' \
                   AND r.user_id > $3 \
                   AND r.seq = (SELECT MAX(m.seq) FROM consent_records m \
                                WHERE m.tenant_id = r.tenant_id AND m.user_id = r.user_id \
                                  AND m.purpose = r.purpose) \
                   AND EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = r.tenant_id AND u.id = r.user_id) \
                   AND NOT EXISTS (SELECT 1 FROM privacy_restrictions x \
                                   WHERE x.tenant_id = r.tenant_id AND x.user_id = r.user_id) \
                 ORDER BY r.user_id LIMIT $4"
            )
            .bind(tenant.to_string())
            .bind(purpose)
            .bind(&after)
            .bind(i64::from(limit) + 1)
        )?;
        let mut items = ids
            .into_iter()
            .map(|(u,)| id("consent_records.user_id", &u, UserId::parse))
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|u| u.to_string())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    async fn erase_consent_personal_data(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<u64> {
        execute!(
            self,
            sqlx::query(
                "UPDATE consent_records SET ip = NULL, user_agent = NULL \
                 WHERE tenant_id = $1 AND user_id = $2 AND (ip IS NOT NULL OR user_agent IS NOT NULL)"
            )
            .bind(tenant.to_string())
            .bind(user.to_string())
        )
    }

    async fn get_topics(&self, tenant: TenantId) -> StoreResult<Vec<Topic>> {
        let row: Option<(String,)> = fetch_optional!(
            self,
            sqlx::query_as("SELECT topics FROM privacy_topics WHERE tenant_id = $1")
                .bind(tenant.to_string())
        )?;
        match row {
            Some((t,)) => from_json("privacy_topics.topics", &t),
            None => Ok(Vec::new()),
        }
    }

    async fn put_topics(&self, tenant: TenantId, topics: &[Topic]) -> StoreResult<()> {
        let json = to_json("privacy_topics.topics", topics)?;
        execute!(
            self,
            sqlx::query(
                "INSERT INTO privacy_topics (tenant_id, topics) VALUES ($1, $2) \
                 ON CONFLICT (tenant_id) DO UPDATE SET topics = excluded.topics"
            )
            .bind(tenant.to_string())
            .bind(&json)
        )?;
        Ok(())
    }

    async fn get_preferences(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<Option<CommunicationPreferences>> {
        let row: Option<PreferencesRow> = fetch_optional!(
            self,
            sqlx::query_as(
                "SELECT channels, topics, frequency, updated_at FROM communication_preferences \
                 WHERE tenant_id = $1 AND user_id = $2"
            )
            .bind(tenant.to_string())
            .bind(user.to_string())
        )?;
        row.map(|r| {
            Ok(CommunicationPreferences {
                channels: from_json("communication_preferences.channels", &r.channels)?,
                topics: from_json("communication_preferences.topics", &r.topics)?,
                frequency: Frequency::parse(&r.frequency)
                    .map_err(|_| corrupt("communication_preferences.frequency is unknown"))?,
                updated_at: Some(from_millis(r.updated_at)?),
            })
        })
        .transpose()
    }

    async fn put_preferences(
        &self,
        tenant: TenantId,
        user: UserId,
        prefs: &CommunicationPreferences,
    ) -> StoreResult<()> {
        let channels = to_json("communication_preferences.channels", &prefs.channels)?;
        let topics = to_json("communication_preferences.topics", &prefs.topics)?;
        let at = prefs.updated_at.ok_or_else(|| {
            StoreError::Backend("communication preferences need updated_at".into())
        })?;
        // A user outside the tenant breaks the (tenant_id, user_id) foreign key: `NotFound`.
        execute!(
            self,
            sqlx::query(
                "INSERT INTO communication_preferences \
                 (tenant_id, user_id, channels, topics, frequency, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (tenant_id, user_id) DO UPDATE SET channels = excluded.channels, \
                 topics = excluded.topics, frequency = excluded.frequency, \
                 updated_at = excluded.updated_at"
            )
            .bind(tenant.to_string())
            .bind(user.to_string())
            .bind(&channels)
            .bind(&topics)
            .bind(prefs.frequency.as_str())
            .bind(to_millis(at))
        )?;
        Ok(())
    }
}
