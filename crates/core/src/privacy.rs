//! Privacy compliance (GDPR, CCPA): a tenant's processing **purposes** and versioned **policy
//! documents**, the append-only history of each person's **consent records**, their
//! **communication preferences**, and the rules derived from them (current state, "must this
//! person accept a new version before signing in?", the consent receipt).
//!
//! Consent records are never changed: every grant, withdrawal or expiry is a new record, and the
//! current state of a purpose is the newest record. The store seals the IP address and user agent
//! of each record; erasing the account destroys them and keeps the rest as pseudonymous proof.
//!
//! Pure decisions on plain values plus the store port; the server strings them together with
//! the event pipeline, the hosted pages and the admin API.
#![allow(async_fn_in_trait)]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::page::{Page, PageRequest};
use crate::store::StoreResult;
use crate::{CoreError, TenantId, Timestamp, UserId};

/// The CCPA "do not sell or share my personal information" opt-out, a first-class purpose: a
/// `granted` record means the person opted out (asked that their data not be sold or shared).
pub const DO_NOT_SELL: &str = "do-not-sell";
/// The purpose the registration form's terms checkbox records (bound to the `terms` document).
pub const TERMS_OF_SERVICE: &str = "terms-of-service";
/// The policy document kind of the terms of service.
pub const TERMS_DOCUMENT: &str = "terms";
/// Longest grace period a material new version may give before re-consent is enforced.
pub const MAX_GRACE_DAYS: u32 = 365;
const MAX_KEY_CHARS: usize = 64;
const MAX_TEXT_CHARS: usize = 2000;
const MAX_LOCALES: usize = 50;
const MAX_VERSION_CHARS: usize = 64;
const MAX_URL_CHARS: usize = 2000;
/// Longest lifetime a purpose may give its consents (100 years).
pub const MAX_EXPIRY_DAYS: u32 = 36500;
/// Most topics a tenant may offer in the preference centre.
pub const MAX_TOPICS: usize = 50;

/// Why the tenant may process data for a purpose (GDPR Art. 6(1)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    Consent,
    Contract,
    LegitimateInterest,
    LegalObligation,
    VitalInterest,
    PublicTask,
}

impl LegalBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            LegalBasis::Consent => "consent",
            LegalBasis::Contract => "contract",
            LegalBasis::LegitimateInterest => "legitimate_interest",
            LegalBasis::LegalObligation => "legal_obligation",
            LegalBasis::VitalInterest => "vital_interest",
            LegalBasis::PublicTask => "public_task",
        }
    }
    pub fn parse(s: &str) -> Result<LegalBasis, CoreError> {
        Ok(match s {
            "consent" => LegalBasis::Consent,
            "contract" => LegalBasis::Contract,
            "legitimate_interest" => LegalBasis::LegitimateInterest,
            "legal_obligation" => LegalBasis::LegalObligation,
            "vital_interest" => LegalBasis::VitalInterest,
            "public_task" => LegalBasis::PublicTask,
            _ => {
                return Err(CoreError::invalid(
                    "legal_basis",
                    "must be consent, contract, legitimate_interest, legal_obligation, \
                     vital_interest or public_task",
                ));
            }
        })
    }
}

/// A purpose for which the tenant processes personal data (`marketing-email`, `analytics`,
/// `terms-of-service`, `do-not-sell`…).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purpose {
    pub tenant_id: TenantId,
    /// Lowercase letters, digits and `-`, starting with a letter; at most 64. Never changes.
    pub key: String,
    pub legal_basis: LegalBasis,
    /// What the purpose means, by locale (`en`, `de`, …): at least one.
    pub descriptions: BTreeMap<String, String>,
    /// A required purpose cannot be withdrawn in the preference centre (the service depends on
    /// it); an optional one can be toggled at any time.
    pub required: bool,
    /// The kind of policy document (`terms`, `privacy`…) whose version each record of this
    /// purpose names; a material new version of it asks for re-consent.
    pub document: Option<String>,
    /// A granted consent older than this many days expires: the retention job appends an
    /// `expired` record (channel `expiry`). `None`: consents do not expire by time.
    pub expires_after_days: Option<u32>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Checks a purpose key or document kind: a lowercase letter, then lowercase letters, digits
/// or `-`; at most 64 characters.
pub fn validate_key(field: &'static str, key: &str) -> Result<(), CoreError> {
    let ok = !key.is_empty()
        && key.len() <= MAX_KEY_CHARS
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !key.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid(
            field,
            "a lowercase letter, then lowercase letters, digits or '-' (at most 64)",
        ))
    }
}

fn validate_texts(
    field: &'static str,
    texts: &BTreeMap<String, String>,
    required: bool,
) -> Result<(), CoreError> {
    if required && texts.is_empty() {
        return Err(CoreError::invalid(
            field,
            "give a text for at least one locale",
        ));
    }
    if texts.len() > MAX_LOCALES {
        return Err(CoreError::invalid(
            field,
            format!("at most {MAX_LOCALES} locales"),
        ));
    }
    for (locale, text) in texts {
        let locale_ok = (2..=16).contains(&locale.len())
            && locale
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !locale_ok {
            return Err(CoreError::invalid(
                field,
                "locales are language tags such as en or de-CH",
            ));
        }
        if text.trim().is_empty() || text.chars().count() > MAX_TEXT_CHARS {
            return Err(CoreError::invalid(
                field,
                format!("each text: 1 to {MAX_TEXT_CHARS} characters"),
            ));
        }
    }
    Ok(())
}

impl Purpose {
    pub fn validate(&self) -> Result<(), CoreError> {
        validate_key("key", &self.key)?;
        validate_texts("descriptions", &self.descriptions, true)?;
        if let Some(d) = &self.document {
            validate_key("document", d)?;
        }
        if self
            .expires_after_days
            .is_some_and(|d| d == 0 || d > MAX_EXPIRY_DAYS)
        {
            return Err(CoreError::invalid(
                "expires_after_days",
                format!("between 1 and {MAX_EXPIRY_DAYS}"),
            ));
        }
        Ok(())
    }

    /// The description in `locale` (or its language), else English, else the first one.
    pub fn description(&self, locale: &str) -> &str {
        let lang = locale.split('-').next().unwrap_or(locale);
        self.descriptions
            .get(locale)
            .or_else(|| self.descriptions.get(lang))
            .or_else(|| self.descriptions.get("en"))
            .or_else(|| self.descriptions.values().next())
            .map(String::as_str)
            .unwrap_or("")
    }

    /// Whether the person may withdraw it in the preference centre.
    pub fn withdrawable(&self) -> bool {
        !self.required
    }
}

/// One version of a policy document (terms of service, privacy notice…). Published versions are
/// never changed; a new version is a new document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyDocument {
    pub id: Uuid,
    pub tenant_id: TenantId,
    /// `terms`, `privacy`, … (same rules as purpose keys).
    pub kind: String,
    /// Free text (`2026-06`, `3.1`); unique per kind.
    pub version: String,
    /// Where people read it (`https://…`, or `http://` for local tests).
    pub url: String,
    /// From when this version applies.
    pub effective_at: Timestamp,
    /// A material change: people who accepted an earlier version must accept this one at their
    /// next sign-in (after the grace period).
    pub material: bool,
    /// Days after `effective_at` during which sign-in continues without the re-consent page.
    pub grace_days: u32,
    pub created_at: Timestamp,
}

impl PolicyDocument {
    pub fn validate(&self) -> Result<(), CoreError> {
        validate_key("kind", &self.kind)?;
        let v = self.version.trim();
        if v.is_empty() || v.len() > MAX_VERSION_CHARS || v != self.version {
            return Err(CoreError::invalid(
                "version",
                format!("1 to {MAX_VERSION_CHARS} characters, no surrounding spaces"),
            ));
        }
        if self.version.chars().any(char::is_control) {
            return Err(CoreError::invalid("version", "no control characters"));
        }
        let url_ok = self.url.len() <= MAX_URL_CHARS
            && url::Url::parse(&self.url)
                .ok()
                .is_some_and(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some());
        if !url_ok {
            return Err(CoreError::invalid(
                "url",
                "an absolute https:// or http:// URL",
            ));
        }
        if self.grace_days > MAX_GRACE_DAYS {
            return Err(CoreError::invalid(
                "grace_days",
                format!("between 0 and {MAX_GRACE_DAYS}"),
            ));
        }
        Ok(())
    }

    /// When re-consent to this version is enforced: its effective time plus the grace period.
    pub fn enforced_at(&self) -> Timestamp {
        self.effective_at + time::Duration::days(i64::from(self.grace_days))
    }
}

/// The version of `kind` in effect at `now`: the one with the latest effective time not after
/// `now` (ties: the latest published).
pub fn current_document<'a>(
    docs: &'a [PolicyDocument],
    kind: &str,
    now: Timestamp,
) -> Option<&'a PolicyDocument> {
    docs.iter()
        .filter(|d| d.kind == kind && d.effective_at <= now)
        .max_by_key(|d| (d.effective_at, d.created_at))
}

/// What a consent record says about its purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentState {
    Granted,
    Withdrawn,
    Expired,
}

impl ConsentState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentState::Granted => "granted",
            ConsentState::Withdrawn => "withdrawn",
            ConsentState::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Result<ConsentState, CoreError> {
        Ok(match s {
            "granted" => ConsentState::Granted,
            "withdrawn" => ConsentState::Withdrawn,
            "expired" => ConsentState::Expired,
            _ => {
                return Err(CoreError::invalid(
                    "state",
                    "must be granted, withdrawn or expired",
                ));
            }
        })
    }
}

/// Where a consent was given or withdrawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentChannel {
    /// The registration page.
    Signup,
    /// The preference centre of the account portal.
    AccountPortal,
    /// The admin API (on the person's behalf, e.g. from a call centre).
    Api,
    /// Imported from another system.
    Import,
    /// The re-consent page shown at sign-in after a material new version.
    Reconsent,
    /// The retention job: the purpose's `expires_after_days` passed since the grant.
    Expiry,
}

impl ConsentChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentChannel::Signup => "signup",
            ConsentChannel::AccountPortal => "account_portal",
            ConsentChannel::Api => "api",
            ConsentChannel::Import => "import",
            ConsentChannel::Reconsent => "reconsent",
            ConsentChannel::Expiry => "expiry",
        }
    }
    pub fn parse(s: &str) -> Result<ConsentChannel, CoreError> {
        Ok(match s {
            "signup" => ConsentChannel::Signup,
            "account_portal" => ConsentChannel::AccountPortal,
            "api" => ConsentChannel::Api,
            "import" => ConsentChannel::Import,
            "reconsent" => ConsentChannel::Reconsent,
            "expiry" => ConsentChannel::Expiry,
            _ => {
                return Err(CoreError::invalid(
                    "channel",
                    "must be signup, account_portal, api, import, reconsent or expiry",
                ));
            }
        })
    }
}

/// One entry of a person's consent history. Never updated: a change is a new record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentRecord {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub purpose: String,
    pub state: ConsentState,
    /// The version of the purpose's policy document the person saw, when it has one.
    pub policy_version: Option<String>,
    pub channel: ConsentChannel,
    pub recorded_at: Timestamp,
    /// Who recorded it: `user:<id>`, `api_key:<id>`, `cli`… (never personal data).
    pub recorded_by: String,
    /// Sealed at rest; `None` when not known or erased with the account.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// 1, 2, 3… per person and purpose, given by the store: the order of the history.
    pub seq: i64,
}

/// The newest record of each purpose: the person's current state, by purpose key.
pub fn current_state(history: &[ConsentRecord]) -> BTreeMap<String, &ConsentRecord> {
    let mut out: BTreeMap<String, &ConsentRecord> = BTreeMap::new();
    for r in history {
        match out.get(&r.purpose) {
            Some(prev) if prev.seq >= r.seq => {}
            _ => {
                out.insert(r.purpose.clone(), r);
            }
        }
    }
    out
}

/// The purpose keys currently granted, sorted (the `consents` claim).
pub fn granted_purposes(history: &[ConsentRecord]) -> Vec<String> {
    current_state(history)
        .into_iter()
        .filter(|(_, r)| r.state == ConsentState::Granted)
        .map(|(k, _)| k)
        .collect()
}

/// A document the person must accept again before their sign-in continues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReconsentDue {
    pub purpose: String,
    /// The version they accepted last.
    pub accepted_version: Option<String>,
    /// The version in effect now, to accept.
    pub document: PolicyDocument,
}

/// The documents to accept again at sign-in: for every purpose bound to a document kind whose
/// current state is `granted`, when a material version published after the accepted one is
/// enforced (effective and past its grace period) at `now`, the version in effect now.
pub fn reconsent_due(
    purposes: &[Purpose],
    docs: &[PolicyDocument],
    history: &[ConsentRecord],
    now: Timestamp,
) -> Vec<ReconsentDue> {
    let state = current_state(history);
    let mut due = Vec::new();
    for p in purposes {
        let Some(kind) = &p.document else { continue };
        let Some(rec) = state.get(&p.key) else {
            continue;
        };
        if rec.state != ConsentState::Granted {
            continue;
        }
        let Some(current) = current_document(docs, kind, now) else {
            continue;
        };
        if rec.policy_version.as_deref() == Some(current.version.as_str()) {
            continue;
        }
        // When the accepted version took effect (unknown versions count as the oldest).
        let accepted_at = docs
            .iter()
            .find(|d| d.kind == *kind && Some(d.version.as_str()) == rec.policy_version.as_deref())
            .map(|d| d.effective_at);
        let material_since = docs.iter().any(|d| {
            d.kind == *kind
                && d.material
                && d.effective_at <= now
                && accepted_at.is_none_or(|a| d.effective_at > a)
                && d.enforced_at() <= now
        });
        if material_since {
            due.push(ReconsentDue {
                purpose: p.key.clone(),
                accepted_version: rec.policy_version.clone(),
                document: current.clone(),
            });
        }
    }
    due
}

/// How often a person wants to hear from the tenant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    Immediately,
    Daily,
    #[default]
    Weekly,
    Monthly,
    Never,
}

impl Frequency {
    pub const ALL: [Frequency; 5] = [
        Frequency::Immediately,
        Frequency::Daily,
        Frequency::Weekly,
        Frequency::Monthly,
        Frequency::Never,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Immediately => "immediately",
            Frequency::Daily => "daily",
            Frequency::Weekly => "weekly",
            Frequency::Monthly => "monthly",
            Frequency::Never => "never",
        }
    }
    pub fn parse(s: &str) -> Result<Frequency, CoreError> {
        Frequency::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                CoreError::invalid(
                    "frequency",
                    "must be immediately, daily, weekly, monthly or never",
                )
            })
    }
}

/// The channels a person may be contacted on.
pub const CHANNELS: [&str; 4] = ["email", "sms", "push", "post"];

/// A topic of the tenant's communications (newsletter, product updates…).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topic {
    /// Same rules as purpose keys.
    pub key: String,
    /// The topic's name by locale.
    pub names: BTreeMap<String, String>,
}

impl Topic {
    pub fn name(&self, locale: &str) -> &str {
        let lang = locale.split('-').next().unwrap_or(locale);
        self.names
            .get(locale)
            .or_else(|| self.names.get(lang))
            .or_else(|| self.names.get("en"))
            .or_else(|| self.names.values().next())
            .map(String::as_str)
            .unwrap_or(&self.key)
    }
}

/// Checks the tenant's topic list: valid, unique keys, at most [`MAX_TOPICS`].
pub fn validate_topics(topics: &[Topic]) -> Result<(), CoreError> {
    if topics.len() > MAX_TOPICS {
        return Err(CoreError::invalid(
            "topics",
            format!("at most {MAX_TOPICS}"),
        ));
    }
    for (i, t) in topics.iter().enumerate() {
        validate_key("topics", &t.key)?;
        validate_texts("topics", &t.names, true)?;
        if topics[..i].iter().any(|o| o.key == t.key) {
            return Err(CoreError::invalid(
                "topics",
                format!("\"{}\" appears twice", t.key),
            ));
        }
    }
    Ok(())
}

/// A person's communication preferences.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommunicationPreferences {
    /// Out of [`CHANNELS`].
    pub channels: Vec<String>,
    /// Keys of the tenant's topics.
    pub topics: Vec<String>,
    pub frequency: Frequency,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub updated_at: Option<Timestamp>,
}

impl CommunicationPreferences {
    /// Checks channels and topics against what the tenant offers; sorts and de-duplicates them.
    pub fn normalize(&mut self, offered_topics: &[Topic]) -> Result<(), CoreError> {
        for c in &self.channels {
            if !CHANNELS.contains(&c.as_str()) {
                return Err(CoreError::invalid(
                    "channels",
                    "each one of email, sms, push, post",
                ));
            }
        }
        for t in &self.topics {
            if !offered_topics.iter().any(|o| &o.key == t) {
                return Err(CoreError::invalid(
                    "topics",
                    format!(
                        "\"{}\" is not one of the tenant's topics",
                        t.escape_default()
                    ),
                ));
            }
        }
        self.channels.sort();
        self.channels.dedup();
        self.topics.sort();
        self.topics.dedup();
        Ok(())
    }
}

/// The store port of purposes, policy documents, consent records and preferences.
pub trait PrivacyStore {
    /// `Conflict("key")` when the tenant has a purpose with this key.
    async fn create_purpose(&self, purpose: &Purpose) -> StoreResult<()>;
    /// Replaces everything but the key and `created_at`. `NotFound`.
    async fn update_purpose(&self, purpose: &Purpose) -> StoreResult<()>;
    async fn get_purpose(&self, tenant: TenantId, key: &str) -> StoreResult<Option<Purpose>>;
    /// Ordered by key.
    async fn list_purposes(&self, tenant: TenantId) -> StoreResult<Vec<Purpose>>;

    /// `Conflict("version")` when the kind already has this version.
    async fn create_policy_document(&self, doc: &PolicyDocument) -> StoreResult<()>;
    /// Every version of every kind (or of `kind`), oldest effective first.
    async fn list_policy_documents(
        &self,
        tenant: TenantId,
        kind: Option<&str>,
    ) -> StoreResult<Vec<PolicyDocument>>;

    /// Appends a record (sealing IP and user agent) and returns it with its `seq`. `NotFound`
    /// when the user is not one of the tenant's.
    async fn append_consent(&self, record: &ConsentRecord) -> StoreResult<ConsentRecord>;
    /// The person's records (of one purpose, or all), oldest first.
    async fn consent_history(
        &self,
        tenant: TenantId,
        user: UserId,
        purpose: Option<&str>,
    ) -> StoreResult<Vec<ConsentRecord>>;
    /// Existing users whose newest record of `purpose` is `granted`, ordered by id; the cursor
    /// (`page.after`) is the last user id of the previous page.
    async fn users_consenting(
        &self,
        tenant: TenantId,
        purpose: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<UserId>>;
    /// Erasure: destroys the sealed IP and user agent of the person's records (the rest stays as
    /// pseudonymous proof). Returns records affected.
    async fn erase_consent_personal_data(&self, tenant: TenantId, user: UserId)
    -> StoreResult<u64>;

    /// The tenant's communication topics (empty when none were set).
    async fn get_topics(&self, tenant: TenantId) -> StoreResult<Vec<Topic>>;
    async fn put_topics(&self, tenant: TenantId, topics: &[Topic]) -> StoreResult<()>;
    async fn get_preferences(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<Option<CommunicationPreferences>>;
    /// `NotFound` when the user is not one of the tenant's.
    async fn put_preferences(
        &self,
        tenant: TenantId,
        user: UserId,
        prefs: &CommunicationPreferences,
    ) -> StoreResult<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
    }

    fn doc(version: &str, effective: &str, material: bool, grace_days: u32) -> PolicyDocument {
        PolicyDocument {
            id: Uuid::now_v7(),
            tenant_id: TenantId(Uuid::nil()),
            kind: "terms".into(),
            version: version.into(),
            url: "https://shop.example/terms".into(),
            effective_at: t(effective),
            material,
            grace_days,
            created_at: t(effective),
        }
    }

    fn rec(purpose: &str, state: ConsentState, version: Option<&str>, seq: i64) -> ConsentRecord {
        ConsentRecord {
            id: Uuid::now_v7(),
            tenant_id: TenantId(Uuid::nil()),
            user_id: UserId(Uuid::nil()),
            purpose: purpose.into(),
            state,
            policy_version: version.map(str::to_string),
            channel: ConsentChannel::Signup,
            recorded_at: t("2026-01-01T00:00:00Z"),
            recorded_by: "user".into(),
            ip: None,
            user_agent: None,
            seq,
        }
    }

    fn tos() -> Purpose {
        Purpose {
            tenant_id: TenantId(Uuid::nil()),
            key: TERMS_OF_SERVICE.into(),
            legal_basis: LegalBasis::Contract,
            descriptions: [("en".to_string(), "Terms".to_string())].into(),
            required: true,
            document: Some("terms".into()),
            expires_after_days: None,
            created_at: t("2026-01-01T00:00:00Z"),
            updated_at: t("2026-01-01T00:00:00Z"),
        }
    }

    #[test]
    fn keys_and_documents_are_checked() {
        for ok in ["marketing-email", "a", "do-not-sell", "x9"] {
            validate_key("key", ok).unwrap();
        }
        for bad in ["", "Marketing", "9a", "a_b", "a-", &"a".repeat(65)] {
            assert!(validate_key("key", bad).is_err(), "{bad}");
        }
        doc("1", "2026-01-01T00:00:00Z", true, 0)
            .validate()
            .unwrap();
        let mut d = doc(" 1", "2026-01-01T00:00:00Z", true, 0);
        assert!(d.validate().is_err());
        d.version = "1".into();
        d.url = "javascript:alert(1)".into();
        assert!(d.validate().is_err());
        d.url = "https://x.example/t".into();
        d.grace_days = MAX_GRACE_DAYS + 1;
        assert!(d.validate().is_err());
        let mut p = tos();
        p.validate().unwrap();
        p.descriptions.clear();
        assert!(p.validate().is_err());
    }

    #[test]
    fn current_state_is_the_newest_record() {
        let h = vec![
            rec("analytics", ConsentState::Granted, None, 1),
            rec("marketing-email", ConsentState::Granted, None, 1),
            rec("analytics", ConsentState::Withdrawn, None, 2),
        ];
        assert_eq!(granted_purposes(&h), ["marketing-email"]);
        let s = current_state(&h);
        assert_eq!(s["analytics"].state, ConsentState::Withdrawn);
    }

    #[test]
    fn only_an_enforced_material_version_asks_for_reconsent() {
        let v1 = doc("1", "2026-01-01T00:00:00Z", true, 0);
        let minor = doc("1.1", "2026-02-01T00:00:00Z", false, 0);
        let v2 = doc("2", "2026-03-01T00:00:00Z", true, 10);
        let h = vec![rec(TERMS_OF_SERVICE, ConsentState::Granted, Some("1"), 1)];
        let purposes = [tos()];
        // A minor version: no re-consent.
        let docs = vec![v1.clone(), minor.clone()];
        assert!(reconsent_due(&purposes, &docs, &h, t("2026-02-15T00:00:00Z")).is_empty());
        // A material one, within its grace period: not yet; after it: yes, to the current one.
        let docs = vec![v1, minor, v2];
        assert!(reconsent_due(&purposes, &docs, &h, t("2026-03-05T00:00:00Z")).is_empty());
        let due = reconsent_due(&purposes, &docs, &h, t("2026-03-12T00:00:00Z"));
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].document.version, "2");
        // Accepted the current version: nothing due. Withdrawn: nothing to re-consent to.
        let h2 = vec![rec(TERMS_OF_SERVICE, ConsentState::Granted, Some("2"), 2)];
        assert!(reconsent_due(&purposes, &docs, &h2, t("2026-03-12T00:00:00Z")).is_empty());
        let h3 = vec![rec(TERMS_OF_SERVICE, ConsentState::Withdrawn, Some("1"), 2)];
        assert!(reconsent_due(&purposes, &docs, &h3, t("2026-03-12T00:00:00Z")).is_empty());
    }

    #[test]
    fn preferences_are_checked_against_the_offer() {
        let topics = vec![Topic {
            key: "newsletter".into(),
            names: [("en".to_string(), "Newsletter".to_string())].into(),
        }];
        validate_topics(&topics).unwrap();
        let mut p = CommunicationPreferences {
            channels: vec!["sms".into(), "email".into(), "email".into()],
            topics: vec!["newsletter".into()],
            ..Default::default()
        };
        p.normalize(&topics).unwrap();
        assert_eq!(p.channels, ["email", "sms"]);
        p.channels.push("fax".into());
        assert!(p.normalize(&topics).is_err());
        let mut q = CommunicationPreferences {
            topics: vec!["other".into()],
            ..Default::default()
        };
        assert!(q.normalize(&topics).is_err());
        assert_eq!(Frequency::parse("daily").unwrap(), Frequency::Daily);
        assert!(Frequency::parse("hourly").is_err());
    }
}
