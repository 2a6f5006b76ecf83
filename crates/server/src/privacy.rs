//! The privacy journeys (GDPR, CCPA): recording consent (from the registration page, the
//! preference centre, the re-consent page at sign-in and the admin API), what a person must
//! accept again before signing in, the `consents` claim, the signed consent receipt, and the
//! consent part of a data export and of an erasure.
//!
//! The rules live in [`tessera_core::privacy`]; this module strings them together with the store
//! and the event pipeline. Every consent record emits `privacy.consent_granted`,
//! `privacy.consent_withdrawn` or `privacy.consent_expired`, so webhooks (and through them CRM
//! systems) hear of every change.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::{Value, json};
use tessera_core::events::{Actor, ActorKind, Event, EventKind, Target};
use tessera_core::privacy::{
    ConsentChannel, ConsentRecord, ConsentState, PrivacyStore, Purpose, ReconsentDue,
    current_document, current_state, granted_purposes, reconsent_due,
};
use tessera_core::tenant::Tenant;
use tessera_core::user::User;
use tessera_core::{CoreError, StoreError, TenantId, Timestamp, UserId};
use tessera_crypto::jws::SigningAlg;
use uuid::Uuid;

use crate::api::rfc3339;
use crate::app::Services;
use crate::state::AppState;

/// The OpenID scope that releases the `consents` claim.
pub const CONSENTS_SCOPE: &str = "consents";
/// The `typ` of a signed consent receipt.
pub const RECEIPT_TYP: &str = "consent-receipt+jwt";
/// The Kantara Initiative consent receipt version the receipt follows.
pub const RECEIPT_VERSION: &str = "KI-CR-v1.1.0";
const MAX_UA_CHARS: usize = 512;

/// Who recorded a consent, as stored with the record (never personal data).
pub fn recorded_by(actor: &Actor) -> String {
    let kind = match actor.kind {
        ActorKind::User => "user",
        ActorKind::ApiKey => "api_key",
        ActorKind::Client => "client",
        ActorKind::Cli => "cli",
        ActorKind::System => "system",
        ActorKind::Anonymous => "anonymous",
    };
    match &actor.id {
        Some(id) => format!("{kind}:{id}"),
        None => kind.to_string(),
    }
}

/// A consent to record: who, which purpose, what, where from.
pub struct NewConsent<'a> {
    pub user: UserId,
    pub purpose: &'a Purpose,
    pub state: ConsentState,
    pub channel: ConsentChannel,
    /// The document version the person saw; `None` takes the version in effect now (for a
    /// purpose bound to a document).
    pub policy_version: Option<String>,
    pub actor: Actor,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<&'a str>,
}

/// Appends one consent record and emits its event. `NotFound("user")` when the account is not
/// one of the tenant's; `Invalid("policy_version")` when a version is named that the purpose's
/// document does not have.
pub async fn record_consent(
    state: &AppState,
    tenant: &Tenant,
    c: NewConsent<'_>,
) -> Result<ConsentRecord, CoreError> {
    let svc = &state.services;
    let now = Services::now();
    let policy_version = match (&c.purpose.document, c.policy_version) {
        (None, Some(_)) => {
            return Err(CoreError::invalid(
                "policy_version",
                "this purpose is not bound to a policy document",
            ));
        }
        (None, None) => None,
        (Some(kind), given) => {
            let docs = svc
                .store
                .list_policy_documents(tenant.id, Some(kind))
                .await?;
            match given {
                Some(v) if docs.iter().any(|d| d.version == v) => Some(v),
                Some(_) => {
                    return Err(CoreError::invalid(
                        "policy_version",
                        "the purpose's document has no such version",
                    ));
                }
                None => current_document(&docs, kind, now).map(|d| d.version.clone()),
            }
        }
    };
    let record = ConsentRecord {
        id: Uuid::now_v7(),
        tenant_id: tenant.id,
        user_id: c.user,
        purpose: c.purpose.key.clone(),
        state: c.state,
        policy_version,
        channel: c.channel,
        recorded_at: now,
        recorded_by: recorded_by(&c.actor),
        ip: c.ip.map(|i| i.to_string()),
        user_agent: c.user_agent.map(|u| u.chars().take(MAX_UA_CHARS).collect()),
        seq: 0,
    };
    let record = match svc.store.append_consent(&record).await {
        Ok(r) => r,
        Err(StoreError::NotFound) => return Err(CoreError::NotFound("user")),
        Err(e) => return Err(e.into()),
    };
    let (purpose, policy_version, channel, record_id) = (
        record.purpose.clone(),
        record.policy_version.clone(),
        record.channel.as_str().to_string(),
        record.id.to_string(),
    );
    let kind = match record.state {
        ConsentState::Granted => EventKind::PrivacyConsentGranted {
            purpose,
            policy_version,
            channel,
            record_id,
        },
        ConsentState::Withdrawn => EventKind::PrivacyConsentWithdrawn {
            purpose,
            policy_version,
            channel,
            record_id,
        },
        ConsentState::Expired => EventKind::PrivacyConsentExpired {
            purpose,
            policy_version,
            channel,
            record_id,
        },
    };
    let ev = Event::new(tenant.id, now, kind, c.actor)
        .target(Target::new("user", c.user))
        .subject(c.user)
        .ip(record.ip.clone())
        .user_agent(record.user_agent.clone());
    svc.emit(ev).await;
    Ok(record)
}

/// The documents `user` must accept again before a sign-in continues.
/// How long a tenant's purposes, once read, serve the re-consent check of its sign-ins (see
/// [`crate::app::short_cache`]). A change made through this node's admin API applies at once,
/// one made through another node within this time.
pub const PURPOSES_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// A tenant's consent purposes, through the one-second cache the sign-ins read them from.
pub async fn tenant_purposes(
    state: &AppState,
    tenant: TenantId,
) -> Result<Arc<Vec<Purpose>>, StoreError> {
    let svc = &state.services;
    if let Some(list) = svc.purposes.get(&tenant) {
        return Ok(list);
    }
    let list = Arc::new(svc.store.list_purposes(tenant).await?);
    svc.purposes.put(tenant, list.clone());
    Ok(list)
}

pub async fn reconsent_needed(
    state: &AppState,
    tenant: &Tenant,
    user: UserId,
) -> Result<Vec<ReconsentDue>, StoreError> {
    let store = &state.services.store;
    let purposes = tenant_purposes(state, tenant.id).await?;
    if purposes.iter().all(|p| p.document.is_none()) {
        return Ok(Vec::new());
    }
    let docs = store.list_policy_documents(tenant.id, None).await?;
    if docs.is_empty() {
        return Ok(Vec::new());
    }
    let history = store.consent_history(tenant.id, user, None).await?;
    Ok(reconsent_due(&purposes, &docs, &history, Services::now()))
}

/// The purposes the person currently consents to (the `consents` claim), sorted. Errors give an
/// empty list (logged): a token is better without the claim than not issued at all.
pub async fn consents_claim(state: &AppState, tenant: TenantId, user: UserId) -> Vec<String> {
    match state
        .services
        .store
        .consent_history(tenant, user, None)
        .await
    {
        Ok(h) => granted_purposes(&h),
        Err(e) => {
            tracing::warn!(error = %e, "could not load consents for the consents claim");
            Vec::new()
        }
    }
}

/// One record as the APIs, the export and the receipt show it (IP and user agent included:
/// they are the person's own data, shown to them and to operators of their tenant).
pub fn record_json(r: &ConsentRecord) -> Value {
    json!({
        "id": r.id.to_string(),
        "purpose": r.purpose,
        "seq": r.seq,
        "state": r.state.as_str(),
        "policy_version": r.policy_version,
        "channel": r.channel.as_str(),
        "recorded_at": rfc3339(r.recorded_at),
        "recorded_by": r.recorded_by,
        "ip": r.ip,
        "user_agent": r.user_agent,
    })
}

/// The consent part of a data export: every record and the communication preferences.
pub async fn export_section(
    state: &AppState,
    tenant: &Tenant,
    user: UserId,
) -> Result<Value, StoreError> {
    let store = &state.services.store;
    let history = store.consent_history(tenant.id, user, None).await?;
    let current: serde_json::Map<String, Value> = current_state(&history)
        .into_iter()
        .map(|(k, r)| (k, json!(r.state.as_str())))
        .collect();
    let prefs = store.get_preferences(tenant.id, user).await?;
    Ok(json!({
        "current": current,
        "history": history.iter().map(record_json).collect::<Vec<_>>(),
        "communication_preferences": prefs,
    }))
}

/// Erasure: the records stay as pseudonymous proof (purpose, state, version, time), their sealed
/// IP address and user agent are destroyed. Communication preferences go with the account.
pub async fn erase(svc: &Services, tenant: TenantId, user: UserId) {
    match svc.store.erase_consent_personal_data(tenant, user).await {
        Ok(n) => {
            tracing::info!(tenant = %tenant, user = %user, records = n, "consent records pseudonymized")
        }
        Err(e) => {
            tracing::error!(tenant = %tenant, user = %user, error = %e, "could not pseudonymize the user's consent records")
        }
    }
}

/// A consent receipt (Kantara Initiative Consent Receipt Specification v1.1 fields) of the
/// person's current consents, signed as a JWS (`typ` `consent-receipt+jwt`, ES256) with the
/// tenant's key, verifiable with the tenant's JWKS.
pub async fn receipt(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    locale: &str,
) -> Result<String, CoreError> {
    let store = &state.services.store;
    let now = Services::now();
    let issuer = tenant.issuer(&state.services.config.public_url);
    let purposes = store.list_purposes(tenant.id).await?;
    let docs = store.list_policy_documents(tenant.id, None).await?;
    let history = store.consent_history(tenant.id, user.id, None).await?;
    let current = current_state(&history);
    let items: Vec<Value> = current
        .values()
        .map(|r| {
            let p = purposes.iter().find(|p| p.key == r.purpose);
            let doc_url = p
                .and_then(|p| p.document.as_ref())
                .and_then(|kind| {
                    docs.iter().find(|d| {
                        &d.kind == kind && Some(d.version.as_str()) == r.policy_version.as_deref()
                    })
                })
                .map(|d| d.url.clone());
            json!({
                "purpose": p.map(|p| p.description(locale)).unwrap_or(&r.purpose),
                "purposeKey": r.purpose,
                "purposeCategory": [r.purpose],
                "consentType": match p.map(|p| p.legal_basis) {
                    Some(tessera_core::privacy::LegalBasis::Consent) | None => "EXPLICIT",
                    Some(_) => "IMPLICIT",
                },
                "legalBasis": p.map(|p| p.legal_basis.as_str()),
                "primaryPurpose": p.is_some_and(|p| p.required),
                "termination": "Until withdrawn in the account portal",
                "thirdPartyDisclosure": false,
                "state": r.state.as_str(),
                "policyVersion": r.policy_version,
                "policyUrl": doc_url,
                "consentTimestamp": r.recorded_at.unix_timestamp(),
                "collectionMethod": r.channel.as_str(),
                "recordId": r.id.to_string(),
            })
        })
        .collect();
    let privacy_url = current_document(&docs, "privacy", now).map(|d| d.url.clone());
    let receipt_id = Uuid::now_v7().to_string();
    let consent_ts = current.values().map(|r| r.recorded_at).max().unwrap_or(now);
    let claims = json!({
        "iss": issuer,
        "sub": user.id.to_string(),
        "iat": now.unix_timestamp(),
        "jti": receipt_id,
        "version": RECEIPT_VERSION,
        "consentReceiptID": receipt_id,
        "consentTimestamp": consent_ts.unix_timestamp(),
        "collectionMethod": "tessera",
        "language": locale,
        "piiPrincipalId": user.id.to_string(),
        "piiControllers": [{
            "piiController": tenant.settings.branding.display_name(&tenant.name),
            "piiControllerUrl": issuer,
        }],
        "policyUrl": privacy_url,
        "services": [{
            "service": tenant.settings.branding.display_name(&tenant.name),
            "purposes": items,
        }],
        "sensitive": false,
        "spiCat": [],
    });
    let keys = state
        .keys
        .keys(&state.services, tenant.id)
        .await
        .map_err(|e| CoreError::Store(StoreError::Backend(e.to_string())))?;
    let signer = keys
        .signer(SigningAlg::ES256)
        .ok_or_else(|| CoreError::Store(StoreError::Backend("no active ES256 key".into())))?;
    signer
        .sign_jwt(RECEIPT_TYP, &claims)
        .map_err(|e| CoreError::Store(StoreError::Backend(e.to_string())))
}

/// Records the grants the registration form implied: every purpose bound to the `terms`
/// document (the form's terms checkbox), with the version in effect, channel `signup`.
pub async fn record_signup_terms(
    state: &AppState,
    tenant: &Tenant,
    user: UserId,
    ip: Option<IpAddr>,
    user_agent: Option<&str>,
) -> Result<(), CoreError> {
    let purposes = state.services.store.list_purposes(tenant.id).await?;
    for p in purposes
        .iter()
        .filter(|p| p.document.as_deref() == Some(tessera_core::privacy::TERMS_DOCUMENT))
    {
        record_consent(
            state,
            tenant,
            NewConsent {
                user,
                purpose: p,
                state: ConsentState::Granted,
                channel: ConsentChannel::Signup,
                policy_version: None,
                actor: Actor::user(user),
                ip,
                user_agent,
            },
        )
        .await?;
    }
    Ok(())
}

/// The terms document in effect for the registration form, as the registration settings'
/// `terms` (so the form's checkbox names the current version): `None` when no `terms` document
/// has been published, and then `settings.registration.terms` applies as before.
pub async fn current_terms(
    state: &AppState,
    tenant: &Tenant,
) -> Option<tessera_core::registration::TermsSettings> {
    let docs = match state
        .services
        .store
        .list_policy_documents(tenant.id, Some(tessera_core::privacy::TERMS_DOCUMENT))
        .await
    {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "could not load the terms documents");
            return None;
        }
    };
    current_document(
        &docs,
        tessera_core::privacy::TERMS_DOCUMENT,
        Services::now(),
    )
    .map(|d| tessera_core::registration::TermsSettings {
        url: d.url.clone(),
        version: d.version.clone(),
    })
}

/// RFC 3339 text or `None`.
pub fn opt_time(t: Option<Timestamp>) -> Option<String> {
    t.map(rfc3339)
}
