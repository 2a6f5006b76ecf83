//! `/api/v1/tenants/{slug}/privacy/…`: privacy compliance (GDPR, CCPA). Purposes of processing
//! and versioned policy documents; each person's consent history, current consents, signed
//! consent receipt and communication preferences; the tenant's communication topics; and "which
//! users consent to purpose X now", with cursor paging, for marketing tools.
//!
//! Consent records are append-only: the API records a new grant, withdrawal or expiry (channel
//! `api` or `import`) and never edits one. Published policy documents are never edited either:
//! a change is a new version. Delegated administrators: `user_manager` may read and record
//! consents, `auditor` reads, `app_owner` has no access (resource `privacy`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::apikey::{AdminResource, ApiScope};
use tessera_core::events::{Event, EventKind, FieldChange, Target};
use tessera_core::page::PageRequest;
use tessera_core::privacy::{
    CommunicationPreferences, ConsentChannel, ConsentState, Frequency, LegalBasis, PolicyDocument,
    PrivacyStore, Purpose, Topic, current_state, validate_topics,
};
use tessera_core::tenant::Tenant;
use tessera_core::{CoreError, StoreError, UserId};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::Operator;
use super::extract::{ApiJson, ApiQuery};
use super::rfc3339;
use crate::app::Services;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::privacy::{NewConsent, record_consent};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct PurposeView {
    pub key: String,
    /// `consent`, `contract`, `legitimate_interest`, `legal_obligation`, `vital_interest` or
    /// `public_task`.
    pub legal_basis: String,
    /// Locale → text.
    pub descriptions: BTreeMap<String, String>,
    pub required: bool,
    /// The policy document kind whose version each consent names (`terms`, `privacy`…).
    pub document: Option<String>,
    /// Granted consents older than this many days expire (the retention job records `expired`).
    pub expires_after_days: Option<u32>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Purpose> for PurposeView {
    fn from(p: &Purpose) -> Self {
        PurposeView {
            key: p.key.clone(),
            legal_basis: p.legal_basis.as_str().into(),
            descriptions: p.descriptions.clone(),
            required: p.required,
            document: p.document.clone(),
            expires_after_days: p.expires_after_days,
            created_at: rfc3339(p.created_at),
            updated_at: rfc3339(p.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PurposeList {
    pub items: Vec<PurposeView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePurpose {
    /// Lowercase letters, digits and `-`, starting with a letter (`marketing-email`,
    /// `do-not-sell`); never changes.
    pub key: String,
    pub legal_basis: String,
    /// Locale → text; at least one.
    pub descriptions: BTreeMap<String, String>,
    #[serde(default)]
    pub required: bool,
    pub document: Option<String>,
    /// 1 to 36500: granted consents older than this expire; absent: never.
    pub expires_after_days: Option<u32>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePurpose {
    pub legal_basis: String,
    pub descriptions: BTreeMap<String, String>,
    #[serde(default)]
    pub required: bool,
    pub document: Option<String>,
    /// 1 to 36500: granted consents older than this expire; absent: never.
    pub expires_after_days: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct DocumentView {
    pub id: String,
    pub kind: String,
    pub version: String,
    pub url: String,
    pub effective_at: String,
    pub material: bool,
    pub grace_days: u32,
    pub created_at: String,
}

impl From<&PolicyDocument> for DocumentView {
    fn from(d: &PolicyDocument) -> Self {
        DocumentView {
            id: d.id.to_string(),
            kind: d.kind.clone(),
            version: d.version.clone(),
            url: d.url.clone(),
            effective_at: rfc3339(d.effective_at),
            material: d.material,
            grace_days: d.grace_days,
            created_at: rfc3339(d.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DocumentList {
    pub items: Vec<DocumentView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDocument {
    /// `terms`, `privacy`, … (same rules as purpose keys).
    pub kind: String,
    /// Unique per kind.
    pub version: String,
    pub url: String,
    /// RFC 3339; default now.
    pub effective_at: Option<String>,
    /// A material change asks people who accepted an earlier version to accept this one at their
    /// next sign-in (after `grace_days`).
    #[serde(default)]
    pub material: bool,
    #[serde(default)]
    pub grace_days: u32,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DocumentQuery {
    pub kind: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// `next_cursor` of the previous page.
    pub after: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsentingUsers {
    pub purpose: String,
    /// User ids, ordered.
    pub items: Vec<String>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsentRecordView {
    pub id: String,
    pub purpose: String,
    /// Place in the person's history of this purpose: 1, 2, 3…
    pub seq: i64,
    /// `granted`, `withdrawn` or `expired`.
    pub state: String,
    pub policy_version: Option<String>,
    /// `signup`, `account_portal`, `api`, `import` or `reconsent`.
    pub channel: String,
    pub recorded_at: String,
    pub recorded_by: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsentHistory {
    /// Purpose → current state (the newest record).
    pub current: BTreeMap<String, String>,
    /// Oldest first.
    pub history: Vec<ConsentRecordView>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    pub purpose: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordConsent {
    pub purpose: String,
    /// `granted`, `withdrawn` or `expired`.
    pub state: String,
    /// `api` (default) or `import`.
    pub channel: Option<String>,
    /// The version of the purpose's document the person saw; default the one in effect.
    pub policy_version: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Receipt {
    /// Compact JWS (`typ` `consent-receipt+jwt`), verifiable with the tenant's JWKS.
    pub receipt: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicList {
    #[schema(value_type = Vec<Object>)]
    pub topics: Vec<Topic>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesBody {
    /// Out of `email`, `sms`, `push`, `post`.
    pub channels: Vec<String>,
    /// Keys of the tenant's topics.
    pub topics: Vec<String>,
    /// `immediately`, `daily`, `weekly`, `monthly` or `never`.
    pub frequency: String,
    /// Read only.
    #[serde(default, skip_deserializing)]
    pub updated_at: Option<String>,
}

fn uid(id: &str) -> ApiResult<UserId> {
    UserId::parse(id).ok_or_else(|| ApiError::not_found("user"))
}

fn bad(field: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        field: Some(field),
        message: message.into(),
    }
}

async fn purpose_of(state: &AppState, tenant: &Tenant, key: &str) -> ApiResult<Purpose> {
    state
        .services
        .store
        .get_purpose(tenant.id, key)
        .await?
        .ok_or_else(|| ApiError::not_found("purpose"))
}

/// List the tenant's purposes of processing.
#[utoipa::path(get, path = "/tenants/{slug}/privacy/purposes", tag = "privacy", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = PurposeList), (status = 404, body = ErrorBody)))]
pub async fn list_purposes(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
) -> ApiResult<Json<PurposeList>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Read)
        .await?;
    let items = state
        .services
        .store
        .list_purposes(tenant.id)
        .await?
        .iter()
        .map(PurposeView::from)
        .collect();
    Ok(Json(PurposeList { items }))
}

/// Define a purpose of processing.
#[utoipa::path(post, path = "/tenants/{slug}/privacy/purposes", tag = "privacy", security(("api_key" = [])), request_body = CreatePurpose,
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 201, body = PurposeView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_purpose(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiJson(b): ApiJson<CreatePurpose>,
) -> ApiResult<(StatusCode, Json<PurposeView>)> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Write)
        .await?;
    let now = Services::now();
    let p = Purpose {
        tenant_id: tenant.id,
        key: b.key,
        legal_basis: LegalBasis::parse(&b.legal_basis)?,
        descriptions: b.descriptions,
        required: b.required,
        document: b.document,
        expires_after_days: b.expires_after_days,
        created_at: now,
        updated_at: now,
    };
    p.validate()?;
    match state.services.store.create_purpose(&p).await {
        Ok(()) => state.services.purposes.clear(),
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::Conflict(format!(
                "the tenant already has the purpose \"{}\"",
                p.key
            )));
        }
        Err(e) => return Err(e.into()),
    }
    let ev = Event::new(
        tenant.id,
        now,
        EventKind::PrivacyPurposeCreated {
            key: p.key.clone(),
            legal_basis: p.legal_basis.as_str().into(),
        },
        op.actor(),
    )
    .target(Target::new("privacy_purpose", &p.key));
    state.services.emit(ev).await;
    Ok((StatusCode::CREATED, Json(PurposeView::from(&p))))
}

/// Read a purpose.
#[utoipa::path(get, path = "/tenants/{slug}/privacy/purposes/{key}", tag = "privacy", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("key" = String, Path, description = "Purpose key")),
    responses((status = 200, body = PurposeView), (status = 404, body = ErrorBody)))]
pub async fn get_purpose(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, key)): Path<(String, String)>,
) -> ApiResult<Json<PurposeView>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Read)
        .await?;
    let p = purpose_of(&state, &tenant, &key).await?;
    Ok(Json(PurposeView::from(&p)))
}

/// Replace a purpose's legal basis, descriptions, requirement and document (the key stays).
#[utoipa::path(put, path = "/tenants/{slug}/privacy/purposes/{key}", tag = "privacy", security(("api_key" = [])), request_body = UpdatePurpose,
    params(("slug" = String, Path, description = "Tenant slug"), ("key" = String, Path, description = "Purpose key")),
    responses((status = 200, body = PurposeView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_purpose(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, key)): Path<(String, String)>,
    ApiJson(b): ApiJson<UpdatePurpose>,
) -> ApiResult<Json<PurposeView>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Write)
        .await?;
    let before = purpose_of(&state, &tenant, &key).await?;
    let after = Purpose {
        legal_basis: LegalBasis::parse(&b.legal_basis)?,
        descriptions: b.descriptions,
        required: b.required,
        document: b.document,
        expires_after_days: b.expires_after_days,
        updated_at: Services::now(),
        ..before.clone()
    };
    after.validate()?;
    state.services.store.update_purpose(&after).await?;
    state.services.purposes.clear();
    let view = |p: &Purpose| serde_json::to_value(PurposeView::from(p)).unwrap_or_default();
    let changes: BTreeMap<String, FieldChange> =
        tessera_core::events::field_changes(&view(&before), &view(&after), "", &["updated_at"]);
    let ev = Event::new(
        tenant.id,
        after.updated_at,
        EventKind::PrivacyPurposeUpdated {
            key: after.key.clone(),
            changes,
        },
        op.actor(),
    )
    .target(Target::new("privacy_purpose", &after.key));
    state.services.emit(ev).await;
    Ok(Json(PurposeView::from(&after)))
}

/// The users who consent to a purpose now (their newest record of it is `granted`), ordered by
/// id, with cursor paging. Deleted accounts, and accounts whose processing is restricted, are
/// never listed.
#[utoipa::path(get, path = "/tenants/{slug}/privacy/purposes/{key}/users", tag = "privacy", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("key" = String, Path, description = "Purpose key"), PageQuery),
    responses((status = 200, body = ConsentingUsers), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn consenting_users(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, key)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ConsentingUsers>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Read)
        .await?;
    purpose_of(&state, &tenant, &key).await?;
    if let Some(a) = &q.after
        && UserId::parse(a).is_none()
    {
        return Err(bad("after", "after: the next_cursor of a previous page"));
    }
    if q.limit
        .is_some_and(|l| l == 0 || l > tessera_core::page::MAX_PAGE_SIZE)
    {
        return Err(bad("limit", "limit: 1 to 200"));
    }
    let page = state
        .services
        .store
        .users_consenting(
            tenant.id,
            &key,
            &PageRequest {
                after: q.after,
                limit: q.limit,
            },
        )
        .await?;
    Ok(Json(ConsentingUsers {
        purpose: key,
        items: page.items.iter().map(|u| u.to_string()).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// List policy documents (every version, oldest effective first).
#[utoipa::path(get, path = "/tenants/{slug}/privacy/documents", tag = "privacy", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), DocumentQuery),
    responses((status = 200, body = DocumentList), (status = 404, body = ErrorBody)))]
pub async fn list_documents(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiQuery(q): ApiQuery<DocumentQuery>,
) -> ApiResult<Json<DocumentList>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Read)
        .await?;
    let items = state
        .services
        .store
        .list_policy_documents(tenant.id, q.kind.as_deref())
        .await?
        .iter()
        .map(DocumentView::from)
        .collect();
    Ok(Json(DocumentList { items }))
}

/// Publish a version of a policy document. Versions are never changed: publish a new one.
#[utoipa::path(post, path = "/tenants/{slug}/privacy/documents", tag = "privacy", security(("api_key" = [])), request_body = CreateDocument,
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 201, body = DocumentView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_document(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiJson(b): ApiJson<CreateDocument>,
) -> ApiResult<(StatusCode, Json<DocumentView>)> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Write)
        .await?;
    let now = Services::now();
    let effective_at = match &b.effective_at {
        None => now,
        Some(s) => time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map_err(|_| bad("effective_at", "effective_at: an RFC 3339 time"))?,
    };
    let d = PolicyDocument {
        id: Uuid::now_v7(),
        tenant_id: tenant.id,
        kind: b.kind,
        version: b.version,
        url: b.url,
        effective_at,
        material: b.material,
        grace_days: b.grace_days,
        created_at: now,
    };
    d.validate()?;
    match state.services.store.create_policy_document(&d).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::Conflict(format!(
                "\"{}\" already has the version \"{}\"",
                d.kind, d.version
            )));
        }
        Err(e) => return Err(e.into()),
    }
    let ev = Event::new(
        tenant.id,
        now,
        EventKind::PrivacyDocumentPublished {
            kind: d.kind.clone(),
            version: d.version.clone(),
            material: d.material,
            effective_at: rfc3339(d.effective_at),
        },
        op.actor(),
    )
    .target(Target::new("policy_document", d.id));
    state.services.emit(ev).await;
    Ok((StatusCode::CREATED, Json(DocumentView::from(&d))))
}

fn record_view(r: &tessera_core::privacy::ConsentRecord) -> ConsentRecordView {
    ConsentRecordView {
        id: r.id.to_string(),
        purpose: r.purpose.clone(),
        seq: r.seq,
        state: r.state.as_str().into(),
        policy_version: r.policy_version.clone(),
        channel: r.channel.as_str().into(),
        recorded_at: rfc3339(r.recorded_at),
        recorded_by: r.recorded_by.clone(),
        ip: r.ip.clone(),
        user_agent: r.user_agent.clone(),
    }
}

/// A user's consent history (oldest first) and current state per purpose.
#[utoipa::path(get, path = "/tenants/{slug}/privacy/users/{id}/consents", tag = "privacy", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id"), HistoryQuery),
    responses((status = 200, body = ConsentHistory), (status = 404, body = ErrorBody)))]
pub async fn user_consents(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<ConsentHistory>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Read)
        .await?;
    let user = uid(&id)?;
    state.services.user(tenant.id, user).await?;
    let history = state
        .services
        .store
        .consent_history(tenant.id, user, q.purpose.as_deref())
        .await?;
    let current = current_state(&history)
        .into_iter()
        .map(|(k, r)| (k, r.state.as_str().to_string()))
        .collect();
    Ok(Json(ConsentHistory {
        current,
        history: history.iter().map(record_view).collect(),
    }))
}

/// Record a consent, withdrawal or expiry for a user (given through another channel, or
/// imported). Appends to the history; emits `privacy.consent_*`.
#[utoipa::path(post, path = "/tenants/{slug}/privacy/users/{id}/consents", tag = "privacy", security(("api_key" = [])), request_body = RecordConsent,
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 201, body = ConsentRecordView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn record_user_consent(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<RecordConsent>,
) -> ApiResult<(StatusCode, Json<ConsentRecordView>)> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Write)
        .await?;
    let user = uid(&id)?;
    state.services.user(tenant.id, user).await?;
    let new_state = ConsentState::parse(&b.state)?;
    let channel = match b.channel.as_deref().unwrap_or("api") {
        "api" => ConsentChannel::Api,
        "import" => ConsentChannel::Import,
        _ => return Err(bad("channel", "channel: api or import")),
    };
    let purpose = state
        .services
        .store
        .get_purpose(tenant.id, &b.purpose)
        .await?
        .ok_or_else(|| bad("purpose", "purpose: not one of the tenant's purposes"))?;
    let record = record_consent(
        &state,
        &tenant,
        NewConsent {
            user,
            purpose: &purpose,
            state: new_state,
            channel,
            policy_version: b.policy_version,
            actor: op.actor(),
            ip: None,
            user_agent: None,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(record_view(&record))))
}

/// A signed consent receipt of the user's current consents (Kantara consent receipt fields).
#[utoipa::path(get, path = "/tenants/{slug}/privacy/users/{id}/receipt", tag = "privacy", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = Receipt), (status = 404, body = ErrorBody)))]
pub async fn user_receipt(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<Receipt>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Read)
        .await?;
    let user = state.services.user(tenant.id, uid(&id)?).await?;
    let locale = tenant.settings.branding.default_locale.clone();
    let receipt =
        crate::privacy::receipt(&state, &tenant, &user, locale.as_deref().unwrap_or("en"))
            .await
            .map_err(ApiError::from)?;
    Ok(Json(Receipt { receipt }))
}

/// The tenant's communication topics (offered in the preference centre).
#[utoipa::path(get, path = "/tenants/{slug}/privacy/topics", tag = "privacy", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = TopicList), (status = 404, body = ErrorBody)))]
pub async fn get_topics(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
) -> ApiResult<Json<TopicList>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Read)
        .await?;
    let topics = state.services.store.get_topics(tenant.id).await?;
    Ok(Json(TopicList { topics }))
}

/// Replace the tenant's communication topics (`[{key, names: {locale: name}}]`).
#[utoipa::path(put, path = "/tenants/{slug}/privacy/topics", tag = "privacy", security(("api_key" = [])), request_body = TopicList,
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = TopicList), (status = 400, body = ErrorBody)))]
pub async fn put_topics(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiJson(b): ApiJson<TopicList>,
) -> ApiResult<Json<TopicList>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Write)
        .await?;
    validate_topics(&b.topics)?;
    state
        .services
        .store
        .put_topics(tenant.id, &b.topics)
        .await?;
    let ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::PrivacyTopicsUpdated {
            topics: b.topics.iter().map(|t| t.key.clone()).collect(),
        },
        op.actor(),
    )
    .target(Target::new("tenant", tenant.id));
    state.services.emit(ev).await;
    Ok(Json(b))
}

fn prefs_body(p: CommunicationPreferences) -> PreferencesBody {
    PreferencesBody {
        channels: p.channels,
        topics: p.topics,
        frequency: p.frequency.as_str().into(),
        updated_at: p.updated_at.map(rfc3339),
    }
}

/// A user's communication preferences (defaults when never set).
#[utoipa::path(get, path = "/tenants/{slug}/privacy/users/{id}/preferences", tag = "privacy", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = PreferencesBody), (status = 404, body = ErrorBody)))]
pub async fn get_preferences(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<PreferencesBody>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Read)
        .await?;
    let user = uid(&id)?;
    state.services.user(tenant.id, user).await?;
    let prefs = state
        .services
        .store
        .get_preferences(tenant.id, user)
        .await?
        .unwrap_or_default();
    Ok(Json(prefs_body(prefs)))
}

/// Replace a user's communication preferences.
#[utoipa::path(put, path = "/tenants/{slug}/privacy/users/{id}/preferences", tag = "privacy", security(("api_key" = [])), request_body = PreferencesBody,
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = PreferencesBody), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn put_preferences(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<PreferencesBody>,
) -> ApiResult<Json<PreferencesBody>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Privacy, ApiScope::Write)
        .await?;
    let user = uid(&id)?;
    state.services.user(tenant.id, user).await?;
    let topics = state.services.store.get_topics(tenant.id).await?;
    let mut prefs = CommunicationPreferences {
        channels: b.channels,
        topics: b.topics,
        frequency: Frequency::parse(&b.frequency)?,
        updated_at: Some(Services::now()),
    };
    prefs.normalize(&topics)?;
    crate::pages::account::save_preferences(&state, &tenant, user, &prefs, op.actor())
        .await
        .map_err(|e| ApiError::from(CoreError::from(e)))?;
    Ok(Json(prefs_body(prefs)))
}
