//! Domain events: one typed, versioned record for every state change and security-relevant
//! action. One pipeline turns them into the audit trail (hash-chained per tenant), webhook and
//! SIEM deliveries, and metrics; nothing writes the audit trail by hand.
//!
//! Personal data never enters the hashed, plainly stored part of an event: it goes in
//! [`PersonalData`], which the store encrypts under a per-user key so that erasing the user
//! (destroying that key) leaves the chain verifiable and the data unreadable (crypto-shredding).

use std::collections::{BTreeMap, HashMap};
use std::sync::{OnceLock, RwLock};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{TenantId, Timestamp, UserId};

/// Bumped when the meaning of an existing field changes; new event types and fields do not bump it.
pub const EVENT_SCHEMA_VERSION: u32 = 1;

/// What happened. Serialized as `{"type": "<dotted.name>", ...fields}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum EventKind {
    #[serde(rename = "signin.succeeded")]
    SignInSucceeded { method: String },
    #[serde(rename = "signin.failed")]
    SignInFailed { method: String, reason: String },
    #[serde(rename = "session.created")]
    SessionCreated { session_id: String },
    #[serde(rename = "session.revoked")]
    SessionRevoked { session_id: String, reason: String },
    #[serde(rename = "token.issued")]
    TokenIssued {
        client_id: String,
        grant_type: String,
        scope: String,
    },
    #[serde(rename = "token.refreshed")]
    TokenRefreshed { client_id: String },
    #[serde(rename = "token.revoked")]
    TokenRevoked {
        client_id: String,
        token_type: String,
    },
    #[serde(rename = "token.reuse_detected")]
    TokenReuseDetected { client_id: String, what: String },
    #[serde(rename = "consent.given")]
    ConsentGiven {
        client_id: String,
        scopes: Vec<String>,
    },
    #[serde(rename = "consent.withdrawn")]
    ConsentWithdrawn { client_id: String },
    #[serde(rename = "user.created")]
    UserCreated,
    /// `changes` names each changed field with before/after; personal fields say only "changed".
    #[serde(rename = "user.updated")]
    UserUpdated {
        changes: BTreeMap<String, FieldChange>,
    },
    #[serde(rename = "user.disabled")]
    UserDisabled,
    #[serde(rename = "user.enabled")]
    UserEnabled,
    /// A bulk import (one event for the batch; each account is listed by id in `user_ids` when
    /// the batch is small, else only counted).
    #[serde(rename = "users.imported")]
    UsersImported { imported: u64, failed: u64 },
    #[serde(rename = "user.deleted")]
    UserDeleted,
    #[serde(rename = "user.password_changed")]
    PasswordChanged,
    #[serde(rename = "group.created")]
    GroupCreated { name: String },
    #[serde(rename = "group.updated")]
    GroupUpdated {
        changes: BTreeMap<String, FieldChange>,
    },
    #[serde(rename = "group.deleted")]
    GroupDeleted,
    #[serde(rename = "group.member_added")]
    GroupMemberAdded { group_id: String },
    #[serde(rename = "group.member_removed")]
    GroupMemberRemoved { group_id: String },
    #[serde(rename = "client.created")]
    ClientCreated { name: String },
    #[serde(rename = "client.updated")]
    ClientUpdated {
        changes: BTreeMap<String, FieldChange>,
    },
    #[serde(rename = "client.deleted")]
    ClientDeleted,
    #[serde(rename = "client.secret_rotated")]
    ClientSecretRotated,
    #[serde(rename = "tenant.created")]
    TenantCreated {
        slug: String,
        preset: String,
        /// The declared region (data residency), when there is one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        region: Option<String>,
    },
    #[serde(rename = "tenant.updated")]
    TenantUpdated {
        changes: BTreeMap<String, FieldChange>,
    },
    #[serde(rename = "tenant.deleted")]
    TenantDeleted { slug: String },
    #[serde(rename = "keys.rotated")]
    SigningKeysRotated { kids: Vec<String> },
    #[serde(rename = "api_key.created")]
    ApiKeyCreated { key_id: String },
    #[serde(rename = "api_key.revoked")]
    ApiKeyRevoked { key_id: String },
    #[serde(rename = "role.created")]
    RoleCreated { name: String },
    #[serde(rename = "role.updated")]
    RoleUpdated {
        changes: BTreeMap<String, FieldChange>,
    },
    #[serde(rename = "role.deleted")]
    RoleDeleted,
    #[serde(rename = "role.assigned")]
    RoleAssigned {
        role_id: String,
        assignment_id: String,
    },
    #[serde(rename = "role.unassigned")]
    RoleUnassigned {
        role_id: String,
        assignment_id: String,
    },
    #[serde(rename = "group.nested")]
    GroupNested { parent_id: String },
    #[serde(rename = "group.unnested")]
    GroupUnnested { parent_id: String },
    /// A conditional access policy refused a sign-in or an application's request.
    #[serde(rename = "access.denied")]
    AccessDenied {
        policy: String,
        client_id: Option<String>,
        reason: String,
    },
    /// A factor was added (`factor`: `totp`, `webauthn`), confirmed and usable.
    #[serde(rename = "mfa.enrolled")]
    MfaEnrolled { factor: String, factor_id: String },
    /// A factor was renamed by its owner.
    #[serde(rename = "mfa.renamed")]
    MfaRenamed { factor_id: String },
    /// A factor was removed by its owner.
    #[serde(rename = "mfa.removed")]
    MfaRemoved { factor: String, factor_id: String },
    /// An operator removed every factor and recovery code of the account.
    #[serde(rename = "mfa.reset")]
    MfaReset { factors: u64 },
    /// A new set of recovery codes replaced the old one.
    #[serde(rename = "mfa.recovery_codes_generated")]
    RecoveryCodesGenerated { count: u32 },
    /// A factor passed during a sign-in (`factor`: `totp`, `webauthn`, `email_code`,
    /// `recovery_code`).
    #[serde(rename = "mfa.verified")]
    MfaVerified { factor: String },
    /// A factor failed during a sign-in (wrong or replayed code, expired challenge, …).
    #[serde(rename = "mfa.failed")]
    MfaFailed { factor: String, reason: String },
    /// A one-time sign-in code and link were mailed (`purpose`: `first_factor`, `second_factor`).
    #[serde(rename = "mfa.email_code_sent")]
    MfaEmailCodeSent { purpose: String },
    #[serde(rename = "webhook.created")]
    WebhookCreated { webhook_id: String },
    #[serde(rename = "webhook.deleted")]
    WebhookDeleted { webhook_id: String },
    /// A sign-in at an upstream identity provider failed (`reason`: e.g. `state_unknown`,
    /// `browser_mismatch`, `provider_mismatch`, `id_token_audience`, `upstream_access_denied`).
    #[serde(rename = "federation.failed")]
    FederationFailed { provider: String, reason: String },
    /// An upstream identity was linked to the account (`method`: `provisioned`,
    /// `trusted_email`, `password`, `email_code`, `account_portal`).
    #[serde(rename = "federation.linked")]
    FederationLinked { provider: String, method: String },
    /// A linked identity was removed (by its owner or an operator).
    #[serde(rename = "federation.unlinked")]
    FederationUnlinked { provider: String },
    /// The kept tokens of a linked identity were handed out (`to`: `operator` through the admin
    /// API, or the `client_id` of the account's application); `refreshed` when they were renewed
    /// at the provider first.
    #[serde(rename = "federation.token_read")]
    FederationTokenRead {
        provider: String,
        to: String,
        refreshed: bool,
    },
    #[serde(rename = "identity_provider.created")]
    IdentityProviderCreated { alias: String },
    #[serde(rename = "identity_provider.updated")]
    IdentityProviderUpdated {
        changes: BTreeMap<String, FieldChange>,
    },
    #[serde(rename = "identity_provider.deleted")]
    IdentityProviderDeleted { alias: String },
    /// A person created their own account on the registration page.
    #[serde(rename = "user.registered")]
    UserRegistered,
    /// A one-time link (and code) was issued and mailed to the account's address. `purpose`:
    /// `verify_email`, `password_reset`; `reason`: `registration`, `registration_duplicate`,
    /// `forgot_password`, `passwordless_recovery`, `operator`.
    #[serde(rename = "user.verification_sent")]
    VerificationSent { purpose: String, reason: String },
    /// The account's email address was proven, by `method` `link` or `code`.
    #[serde(rename = "user.email_verified")]
    EmailVerified { method: String },
    /// The password was replaced through a reset link; the account's sessions and tokens ended.
    #[serde(rename = "user.password_reset")]
    PasswordReset,
    /// An operator queued a test email (the recipient is not recorded).
    #[serde(rename = "mail.test_queued")]
    MailTestQueued { mail_id: String },
    /// An email was given up after its last attempt (dead-lettered). Names the message and its
    /// kind, never the recipient; the subject is the account it was for, when known.
    #[serde(rename = "mail.delivery_failed")]
    MailDeliveryFailed {
        mail_id: String,
        kind: String,
        attempts: i32,
    },
    /// The owner asked, in the account portal, to move the account to another address; a link
    /// went to the new address and a notice to the old one (addresses only in the personal part).
    /// The address changes when the link is used (`user.updated`, `user.email_verified`).
    #[serde(rename = "user.email_change_requested")]
    EmailChangeRequested,
    /// The owner downloaded everything Tessera holds about them (GDPR Art. 15/20).
    #[serde(rename = "user.data_exported")]
    DataExported,
    /// The owner asked to delete their account. With `grace_days` 0 it is deleted at once
    /// (`user.deleted` follows); otherwise it is disabled and deleted at `due_at` (RFC 3339).
    #[serde(rename = "user.deletion_requested")]
    DeletionRequested {
        grace_days: u32,
        due_at: Option<String>,
    },
    /// A scheduled deletion did not happen: an operator enabled the account again in time.
    #[serde(rename = "user.deletion_cancelled")]
    DeletionCancelled { reason: String },
    /// The owner reported, from a new sign-in notice, a sign-in they did not make: every
    /// session and token of the account ended and its password was disabled (a reset link
    /// follows as `user.verification_sent`).
    #[serde(rename = "user.sign_in_reported")]
    SignInReported,
    /// The risk engine asked a sign-in for a second factor (`decision` `challenge`) or refused it
    /// (`block`); `enforced` is false when the tenant's risk mode is `monitor` (the decision was
    /// only recorded). `stage`: `before_password` (refused before the hash was computed) or
    /// `first_factor` (after a right password, passkey, email code or upstream sign-in);
    /// `signals` names what fired. The details of each reason (counts, countries, networks) are
    /// personal data and travel in the personal part (`details.reasons`).
    #[serde(rename = "risk.assessed")]
    RiskAssessed {
        decision: String,
        score: serde_json::Number,
        enforced: bool,
        stage: String,
        method: String,
        signals: Vec<String>,
    },
    /// A purpose of processing was defined (`legal_basis`: `consent`, `contract`, …).
    #[serde(rename = "privacy.purpose_created")]
    PrivacyPurposeCreated { key: String, legal_basis: String },
    #[serde(rename = "privacy.purpose_updated")]
    PrivacyPurposeUpdated {
        key: String,
        changes: BTreeMap<String, FieldChange>,
    },
    /// A version of a policy document was published (effective at `effective_at`, RFC 3339).
    #[serde(rename = "privacy.document_published")]
    PrivacyDocumentPublished {
        kind: String,
        version: String,
        material: bool,
        effective_at: String,
    },
    /// A person granted consent for a purpose (`channel`: `signup`, `account_portal`, `api`,
    /// `import`, `reconsent`). IP and user agent only in the personal part.
    #[serde(rename = "privacy.consent_granted")]
    PrivacyConsentGranted {
        purpose: String,
        policy_version: Option<String>,
        channel: String,
        record_id: String,
    },
    /// A person withdrew consent for a purpose.
    #[serde(rename = "privacy.consent_withdrawn")]
    PrivacyConsentWithdrawn {
        purpose: String,
        policy_version: Option<String>,
        channel: String,
        record_id: String,
    },
    /// A consent was recorded as expired.
    #[serde(rename = "privacy.consent_expired")]
    PrivacyConsentExpired {
        purpose: String,
        policy_version: Option<String>,
        channel: String,
        record_id: String,
    },
    /// A person declined a material new policy version at sign-in (the sign-in did not continue).
    #[serde(rename = "privacy.reconsent_declined")]
    PrivacyReconsentDeclined { purposes: Vec<String> },
    /// A person (or an operator) changed their communication preferences.
    #[serde(rename = "privacy.preferences_updated")]
    PrivacyPreferencesUpdated {
        channels: Vec<String>,
        topics: Vec<String>,
        frequency: String,
    },
    /// The tenant's communication topics were replaced.
    #[serde(rename = "privacy.topics_updated")]
    PrivacyTopicsUpdated { topics: Vec<String> },
    /// A data-subject request was recorded (`kind`: `access`, `erasure`, `rectification`,
    /// `restriction`, `objection`), due at `due_at` (RFC 3339). Subject: the person.
    #[serde(rename = "privacy.request_created")]
    PrivacyRequestCreated {
        request_id: String,
        kind: String,
        due_at: String,
    },
    /// A request's deadline was extended once, by `days`, to `due_at`.
    #[serde(rename = "privacy.request_extended")]
    PrivacyRequestExtended {
        request_id: String,
        kind: String,
        days: u32,
        due_at: String,
    },
    /// A request was completed (for `erasure`, `user.deleted` follows; for `restriction`,
    /// `privacy.restriction_set`).
    #[serde(rename = "privacy.request_completed")]
    PrivacyRequestCompleted {
        request_id: String,
        kind: String,
        overdue: bool,
    },
    /// A request was rejected (the reason stays with the request).
    #[serde(rename = "privacy.request_rejected")]
    PrivacyRequestRejected {
        request_id: String,
        kind: String,
        overdue: bool,
    },
    /// Processing of the person's data was restricted (GDPR Art. 18), or the restriction lifted.
    #[serde(rename = "privacy.restriction_set")]
    PrivacyRestrictionSet { request_id: Option<String> },
    #[serde(rename = "privacy.restriction_cleared")]
    PrivacyRestrictionCleared,
    /// The retention job warned an inactive account that it will be deleted at `delete_after`
    /// unless the person signs in.
    #[serde(rename = "privacy.retention_warning_sent")]
    PrivacyRetentionWarningSent { delete_after: String },
    /// The retention job is deleting the account under `rule` (`unverified_accounts` or
    /// `inactive_accounts`); `user.deleted` follows.
    #[serde(rename = "privacy.retention_deleted")]
    PrivacyRetentionDeleted { rule: String },
}

impl EventKind {
    /// The dotted type name, e.g. `user.created`.
    /// The dotted type (`"token.issued"`): the `type` tag serde writes. Read from the
    /// serialization once per variant and remembered, as the pipeline asks for it several times
    /// per event (each serialization built the whole event as a JSON value).
    pub fn type_name(&self) -> &'static str {
        type Names = HashMap<std::mem::Discriminant<EventKind>, &'static str>;
        static NAMES: OnceLock<RwLock<Names>> = OnceLock::new();
        let names = NAMES.get_or_init(Default::default);
        let variant = std::mem::discriminant(self);
        if let Some(name) = names
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&variant)
        {
            return name;
        }
        let Some(name) = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
        else {
            return "unknown";
        };
        let mut names = names.write().unwrap_or_else(|e| e.into_inner());
        // Leaked once per variant (a fixed, small set): a name lives as long as the program.
        names
            .entry(variant)
            .or_insert_with(|| Box::leak(name.into_boxed_str()))
    }
}

/// Before/after of one field. Personal fields carry no values here (see [`PersonalData`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
    /// True when the values were withheld because the field holds personal data.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
}

/// Top-level fields that differ between two JSON objects (non-personal views of a record), keyed
/// `prefix` + field name; fields in `skip` (such as `updated_at`) are ignored.
pub fn field_changes(
    before: &serde_json::Value,
    after: &serde_json::Value,
    prefix: &str,
    skip: &[&str],
) -> BTreeMap<String, FieldChange> {
    let mut changes = BTreeMap::new();
    if let (Some(b), Some(a)) = (before.as_object(), after.as_object()) {
        for (k, av) in a {
            if !skip.contains(&k.as_str()) && b.get(k) != Some(av) {
                changes.insert(
                    format!("{prefix}{k}"),
                    FieldChange::values(b.get(k).cloned().unwrap_or_default(), av.clone()),
                );
            }
        }
    }
    changes
}

impl FieldChange {
    pub fn values(before: serde_json::Value, after: serde_json::Value) -> Self {
        FieldChange {
            before: Some(before),
            after: Some(after),
            redacted: false,
        }
    }
    pub fn redacted() -> Self {
        FieldChange {
            before: None,
            after: None,
            redacted: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A signed-in person (or one trying to sign in).
    User,
    /// An admin API key.
    ApiKey,
    /// An OAuth client acting for itself.
    Client,
    /// An operator at the command line.
    Cli,
    /// Tessera itself (background jobs).
    System,
    Anonymous,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl Actor {
    pub fn system() -> Actor {
        Actor {
            kind: ActorKind::System,
            id: None,
        }
    }
    pub fn cli() -> Actor {
        Actor {
            kind: ActorKind::Cli,
            id: None,
        }
    }
    pub fn anonymous() -> Actor {
        Actor {
            kind: ActorKind::Anonymous,
            id: None,
        }
    }
    pub fn user(id: UserId) -> Actor {
        Actor {
            kind: ActorKind::User,
            id: Some(id.to_string()),
        }
    }
    pub fn api_key(id: impl Into<String>) -> Actor {
        Actor {
            kind: ActorKind::ApiKey,
            id: Some(id.into()),
        }
    }
    pub fn client(id: impl Into<String>) -> Actor {
        Actor {
            kind: ActorKind::Client,
            id: Some(id.into()),
        }
    }
}

/// What the event is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// `user`, `group`, `client`, `tenant`, `session`, `api_key`, `webhook`, `keys`.
    pub kind: String,
    pub id: String,
}

impl Target {
    pub fn new(kind: &str, id: impl ToString) -> Target {
        Target {
            kind: kind.to_string(),
            id: id.to_string(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}

/// Personal data attached to an event, stored encrypted under the subject user's key (or the
/// tenant's when there is no subject) and never hashed in the clear.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// E.g. the email typed at a failed sign-in, or before/after of personal fields.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub details: BTreeMap<String, serde_json::Value>,
}

impl PersonalData {
    pub fn is_empty(&self) -> bool {
        self.ip.is_none() && self.user_agent.is_none() && self.details.is_empty()
    }
}

/// One event as emitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: Uuid,
    pub tenant_id: TenantId,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: Timestamp,
    pub kind: EventKind,
    pub actor: Actor,
    pub target: Option<Target>,
    pub outcome: Outcome,
    /// The user whose personal data the event carries (erasure pseudonymizes these).
    pub subject: Option<UserId>,
    pub personal: PersonalData,
}

impl Event {
    pub fn new(
        tenant_id: TenantId,
        occurred_at: Timestamp,
        kind: EventKind,
        actor: Actor,
    ) -> Event {
        Event {
            id: Uuid::now_v7(),
            tenant_id,
            occurred_at,
            kind,
            actor,
            target: None,
            outcome: Outcome::Success,
            subject: None,
            personal: PersonalData::default(),
        }
    }
    pub fn target(mut self, t: Target) -> Self {
        self.target = Some(t);
        self
    }
    pub fn subject(mut self, u: UserId) -> Self {
        self.subject = Some(u);
        self
    }
    pub fn failed(mut self) -> Self {
        self.outcome = Outcome::Failure;
        self
    }
    pub fn ip(mut self, ip: Option<String>) -> Self {
        self.personal.ip = ip;
        self
    }
    pub fn user_agent(mut self, ua: Option<String>) -> Self {
        self.personal.user_agent = ua;
        self
    }
    pub fn detail(mut self, key: &str, value: serde_json::Value) -> Self {
        self.personal.details.insert(key.to_string(), value);
        self
    }
}

impl Event {
    /// The non-personal, hashed part of the event as stored in the audit trail and sent to
    /// webhooks: `{"type", ...kind fields, "actor", "target", "outcome", "subject", "v"}`.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::to_value(&self.kind).unwrap_or_else(|_| serde_json::json!({}));
        if let Some(obj) = body.as_object_mut() {
            obj.insert("v".into(), serde_json::json!(EVENT_SCHEMA_VERSION));
            obj.insert(
                "actor".into(),
                serde_json::to_value(&self.actor).unwrap_or_default(),
            );
            obj.insert(
                "target".into(),
                serde_json::to_value(&self.target).unwrap_or_default(),
            );
            obj.insert(
                "outcome".into(),
                serde_json::to_value(self.outcome).unwrap_or_default(),
            );
            obj.insert(
                "subject".into(),
                serde_json::to_value(self.subject).unwrap_or_default(),
            );
        }
        body
    }
}

/// An event as stored in the audit trail: its place in the tenant's hash chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub tenant_id: TenantId,
    /// 1, 2, 3… per tenant, without gaps.
    pub seq: i64,
    pub event_id: Uuid,
    pub occurred_at: Timestamp,
    pub event_type: String,
    /// The hashed, non-personal part: kind fields, actor, target, outcome, subject (canonical JSON).
    pub body: serde_json::Value,
    /// `PersonalData` encrypted under the subject's (or tenant's) audit key; `None` when empty or erased.
    pub personal_sealed: Option<Vec<u8>>,
    /// SHA-256 (hex) of `personal_sealed` as written; part of the hashed content, so the
    /// ciphertext cannot be swapped while the entry stays verifiable after erasure.
    pub personal_digest: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of the entry before the first one of a tenant.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The bytes an entry's hash is computed over: a versioned, fixed-order JSON array,
/// `["tessera-audit-v1", tenant, seq, event_id, occurred_at_ms, type, body, personal_digest, prev_hash]`,
/// compact. serde_json writes object keys in sorted order (BTreeMap-backed maps), so the encoding
/// is canonical. Written element by element: building the array as a `Value` copied the whole
/// body once more for every entry appended or verified.
pub fn chain_input(e: &AuditEntry) -> Vec<u8> {
    fn put(out: &mut Vec<u8>, v: &impl serde::Serialize) {
        // Writing strings, numbers and a `Value` into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, v);
    }
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"[\"tessera-audit-v1\",");
    put(&mut out, &e.tenant_id.to_string());
    out.push(b',');
    put(&mut out, &e.seq);
    out.push(b',');
    put(&mut out, &e.event_id.to_string());
    out.push(b',');
    put(
        &mut out,
        &(e.occurred_at.unix_timestamp_nanos() / 1_000_000),
    );
    out.push(b',');
    put(&mut out, &e.event_type);
    out.push(b',');
    put(&mut out, &e.body);
    out.push(b',');
    put(&mut out, &e.personal_digest);
    out.push(b',');
    put(&mut out, &e.prev_hash);
    out.push(b']');
    out
}

/// Filters for querying the audit trail.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub actor_id: Option<String>,
    pub target_id: Option<String>,
    pub event_type: Option<String>,
    pub outcome: Option<Outcome>,
    /// Matched after decryption (IP is personal data).
    pub ip: Option<String>,
    /// The user the events are about (their `subject`), e.g. for a data export.
    pub subject: Option<String>,
}

/// A signed statement "entry `seq` of this tenant has hash `hash`", made with the tenant's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditCheckpoint {
    pub tenant_id: TenantId,
    pub seq: i64,
    pub hash: String,
    pub created_at: Timestamp,
    /// Compact JWS over `{tenant, seq, hash, iat}`.
    pub signature: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_serialize_with_dotted_types() {
        let k = EventKind::SignInFailed {
            method: "password".into(),
            reason: "invalid_credentials".into(),
        };
        let v = serde_json::to_value(&k).unwrap();
        assert_eq!(v["type"], "signin.failed");
        assert_eq!(k.type_name(), "signin.failed");
        let back: EventKind = serde_json::from_value(v).unwrap();
        assert_eq!(back, k);
        assert_eq!(EventKind::UserCreated.type_name(), "user.created");
    }

    #[test]
    fn chain_input_is_stable() {
        let e = AuditEntry {
            tenant_id: TenantId(Uuid::nil()),
            seq: 1,
            event_id: Uuid::nil(),
            occurred_at: time::macros::datetime!(2026-01-01 0:00 UTC),
            event_type: "user.created".into(),
            body: serde_json::json!({"b": 1, "a": 2}),
            personal_sealed: None,
            personal_digest: None,
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
        };
        let s = String::from_utf8(chain_input(&e)).unwrap();
        assert!(s.contains("{\"a\":2,\"b\":1}"), "{s}");
        assert!(s.starts_with("[\"tessera-audit-v1\""));
        // The whole input, byte for byte: a change here breaks the verification of every chain
        // already written.
        let nil = "00000000-0000-0000-0000-000000000000";
        assert_eq!(
            s,
            format!(
                "[\"tessera-audit-v1\",\"{nil}\",1,\"{nil}\",1767225600000,\"user.created\",\
                 {{\"a\":2,\"b\":1}},null,\"{GENESIS_HASH}\"]"
            )
        );
    }

    /// The input as it was first defined (one `json!` array, serialized), which every chain
    /// written so far was hashed over: the element-by-element writer must give the same bytes.
    #[test]
    fn chain_input_matches_the_json_array_it_was_defined_as() {
        let body = serde_json::json!({
            "type": "token.issued",
            "v": 1,
            "actor": {"kind": "client", "id": "svc \"quoted\" \\ é \u{1}"},
            "score": 0.1,
            "nested": [1, -2, {"z": null, "y": true}],
        });
        for digest in [None, Some("ab".repeat(32))] {
            let e = AuditEntry {
                tenant_id: TenantId(Uuid::now_v7()),
                seq: 9_007_199_254_740_993,
                event_id: Uuid::now_v7(),
                occurred_at: time::macros::datetime!(2026-11-30 23:59:59.123456 UTC),
                event_type: "token.issued".into(),
                body: body.clone(),
                personal_sealed: None,
                personal_digest: digest,
                prev_hash: "cd".repeat(32),
                hash: String::new(),
            };
            let as_defined = serde_json::to_vec(&serde_json::json!([
                "tessera-audit-v1",
                e.tenant_id.to_string(),
                e.seq,
                e.event_id.to_string(),
                e.occurred_at.unix_timestamp_nanos() / 1_000_000,
                e.event_type,
                e.body,
                e.personal_digest,
                e.prev_hash,
            ]))
            .unwrap();
            assert_eq!(
                String::from_utf8(chain_input(&e)).unwrap(),
                String::from_utf8(as_defined).unwrap()
            );
        }
    }
}
