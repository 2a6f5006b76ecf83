//! Data-subject requests (GDPR Art. 15-21) and the processing-restriction flag (Art. 18): record a
//! request with its one-month deadline, extend it once, complete it (an `access` request hands
//! over the account export, an `erasure` deletes the account through the account-deletion path,
//! a `restriction` sets the flag) or reject it; set and clear the flag; the operator's export.
//!
//! The rules live in [`tessera_core::privacy_requests`]; this module strings them together with
//! the store, the export and deletion of `crate::account_portal`, and the event pipeline
//! (`privacy.request_*`, `privacy.restriction_*`).

use serde::Serialize;
use serde_json::Value;
use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::page::PageRequest;
use tessera_core::privacy_requests::{
    PrivacyRequest, PrivacyRequestStore, RequestFilter, RequestKind, RequestStatus,
};
use tessera_core::store::{GrantStore, UserStore};
use tessera_core::tenant::Tenant;
use tessera_core::user::User;
use tessera_core::verification::VerificationStore;
use tessera_core::{CoreError, StoreError, UserId};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::rfc3339;
use crate::app::Services;
use crate::privacy::recorded_by;
use crate::state::AppState;

/// One request as the admin API and the export show it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RequestView {
    pub id: String,
    pub user_id: String,
    /// `access`, `erasure`, `rectification`, `restriction` or `objection`.
    pub kind: String,
    /// `open`, `extended`, `completed` or `rejected`.
    pub status: String,
    pub note: Option<String>,
    pub received_at: String,
    /// `received_at` + 30 days; later once extended.
    pub due_at: String,
    /// Pending past `due_at`.
    pub overdue: bool,
    pub extended_at: Option<String>,
    pub extension_reason: Option<String>,
    /// When it was completed or rejected.
    pub closed_at: Option<String>,
    /// The rejection reason, or the completion note.
    pub resolution: Option<String>,
    /// Who recorded it (`api_key:<id>`, …).
    pub created_by: String,
}

impl RequestView {
    pub fn new(r: &PrivacyRequest, now: tessera_core::Timestamp) -> RequestView {
        RequestView {
            id: r.id.to_string(),
            user_id: r.user_id.to_string(),
            kind: r.kind.as_str().into(),
            status: r.status.as_str().into(),
            note: r.note.clone(),
            received_at: rfc3339(r.received_at),
            due_at: rfc3339(r.due_at),
            overdue: r.is_overdue(now),
            extended_at: r.extended_at.map(rfc3339),
            extension_reason: r.extension_reason.clone(),
            closed_at: r.closed_at.map(rfc3339),
            resolution: r.resolution.clone(),
            created_by: r.created_by.clone(),
        }
    }
}

/// The part of the account export about data-subject rights: since when processing is
/// restricted (or `null`) and the person's requests.
pub async fn export_section(
    state: &AppState,
    tenant: &Tenant,
    user: UserId,
) -> Result<(Option<String>, Vec<Value>), StoreError> {
    let store = &state.services.store;
    let now = Services::now();
    let restricted = store.processing_restricted(tenant.id, user).await?;
    let mut requests = Vec::new();
    let mut page = PageRequest {
        after: None,
        limit: Some(tessera_core::page::MAX_PAGE_SIZE),
    };
    let filter = RequestFilter {
        user: Some(user),
        ..Default::default()
    };
    loop {
        let p = store
            .list_privacy_requests(tenant.id, &filter, &page)
            .await?;
        requests.extend(
            p.items
                .iter()
                .map(|r| serde_json::to_value(RequestView::new(r, now)).unwrap_or_default()),
        );
        match p.next_cursor {
            Some(c) => page.after = Some(c),
            None => break,
        }
    }
    Ok((restricted.map(rfc3339), requests))
}

fn request_event(r: &PrivacyRequest, kind: EventKind, actor: Actor) -> Event {
    Event::new(r.tenant_id, Services::now(), kind, actor)
        .target(Target::new("privacy_request", r.id))
        .subject(r.user_id)
}

/// Records a request about one of the tenant's accounts, due in 30 days.
pub async fn create(
    state: &AppState,
    tenant: &Tenant,
    user: UserId,
    kind: RequestKind,
    note: Option<String>,
    actor: Actor,
) -> Result<PrivacyRequest, CoreError> {
    let svc = &state.services;
    svc.user(tenant.id, user).await?;
    let r = PrivacyRequest::new(
        tenant.id,
        user,
        kind,
        note,
        recorded_by(&actor),
        Services::now(),
    )?;
    svc.store.create_privacy_request(&r).await?;
    let ev = request_event(
        &r,
        EventKind::PrivacyRequestCreated {
            request_id: r.id.to_string(),
            kind: kind.as_str().into(),
            due_at: rfc3339(r.due_at),
        },
        actor,
    );
    svc.emit(ev).await;
    Ok(r)
}

pub async fn get(state: &AppState, tenant: &Tenant, id: Uuid) -> Result<PrivacyRequest, CoreError> {
    state
        .services
        .store
        .get_privacy_request(tenant.id, id)
        .await?
        .ok_or(CoreError::NotFound("privacy request"))
}

/// Writes a transition, refusing it when another one got there first.
async fn save(state: &AppState, r: &PrivacyRequest, was: RequestStatus) -> Result<(), CoreError> {
    if state.services.store.update_privacy_request(r, was).await? {
        Ok(())
    } else {
        Err(CoreError::Conflict(
            "the request was changed at the same time; read it again".into(),
        ))
    }
}

/// Extends the deadline once (Art. 12(3)).
pub async fn extend(
    state: &AppState,
    tenant: &Tenant,
    id: Uuid,
    days: u32,
    reason: String,
    actor: Actor,
) -> Result<PrivacyRequest, CoreError> {
    let mut r = get(state, tenant, id).await?;
    let was = r.status;
    r.extend(days, reason, Services::now())?;
    save(state, &r, was).await?;
    let ev = request_event(
        &r,
        EventKind::PrivacyRequestExtended {
            request_id: r.id.to_string(),
            kind: r.kind.as_str().into(),
            days,
            due_at: rfc3339(r.due_at),
        },
        actor,
    );
    state.services.emit(ev).await;
    Ok(r)
}

/// Rejects a request, with the reason (kept with the request, not in the event).
pub async fn reject(
    state: &AppState,
    tenant: &Tenant,
    id: Uuid,
    reason: String,
    actor: Actor,
) -> Result<PrivacyRequest, CoreError> {
    let mut r = get(state, tenant, id).await?;
    let was = r.status;
    let now = Services::now();
    let overdue = r.is_overdue(now);
    r.reject(reason, now)?;
    save(state, &r, was).await?;
    let ev = request_event(
        &r,
        EventKind::PrivacyRequestRejected {
            request_id: r.id.to_string(),
            kind: r.kind.as_str().into(),
            overdue,
        },
        actor,
    );
    state.services.emit(ev).await;
    Ok(r)
}

/// Completes a request and does what it asks: `access` returns the account export (when
/// `attach_export`), `erasure` deletes the account (sessions ended with back-channel logout,
/// tokens revoked, a notice mailed, then the account deletion that crypto-shreds its audit
/// entries and pseudonymizes its consent records), `restriction` sets the flag. The other kinds
/// are carried out by the operator (a profile edit, a decision) before completing.
pub async fn complete(
    state: &AppState,
    tenant: &Tenant,
    id: Uuid,
    note: Option<String>,
    attach_export: bool,
    actor: Actor,
) -> Result<(PrivacyRequest, Option<Value>), CoreError> {
    let svc = &state.services;
    let mut r = get(state, tenant, id).await?;
    let was = r.status;
    let now = Services::now();
    let overdue = r.is_overdue(now);
    // Checked before anything is done, so that a second completion changes nothing.
    r.complete(note.clone(), now)?;
    let mut export = None;
    match r.kind {
        RequestKind::Access if attach_export => {
            let user = svc.user(tenant.id, r.user_id).await?;
            export = Some(operator_export(state, tenant, &user, actor.clone()).await?);
        }
        RequestKind::Erasure => match svc.store.get_user(tenant.id, r.user_id).await? {
            Some(user) => {
                erase_account(state, tenant, &user, actor.clone(), "erasure_request", true).await?
            }
            None => {
                if r.resolution.is_none() {
                    r.resolution = Some("the account was already deleted".into());
                }
            }
        },
        RequestKind::Restriction => {
            set_restriction(state, tenant, r.user_id, true, Some(r.id), actor.clone()).await?;
        }
        _ => {}
    }
    save(state, &r, was).await?;
    let ev = request_event(
        &r,
        EventKind::PrivacyRequestCompleted {
            request_id: r.id.to_string(),
            kind: r.kind.as_str().into(),
            overdue,
        },
        actor,
    );
    svc.emit(ev).await;
    Ok((r, export))
}

/// Sets or clears the processing-restricted flag; emits `privacy.restriction_set` or
/// `privacy.restriction_cleared` when it changed. True when it changed.
pub async fn set_restriction(
    state: &AppState,
    tenant: &Tenant,
    user: UserId,
    restricted: bool,
    request: Option<Uuid>,
    actor: Actor,
) -> Result<bool, CoreError> {
    let svc = &state.services;
    svc.user(tenant.id, user).await?;
    let now = Services::now();
    let changed = match svc
        .store
        .set_processing_restricted(tenant.id, user, restricted.then_some(now))
        .await
    {
        Ok(c) => c,
        Err(StoreError::NotFound) => return Err(CoreError::NotFound("user")),
        Err(e) => return Err(e.into()),
    };
    if changed {
        let kind = if restricted {
            EventKind::PrivacyRestrictionSet {
                request_id: request.map(|r| r.to_string()),
            }
        } else {
            EventKind::PrivacyRestrictionCleared
        };
        let ev = Event::new(tenant.id, now, kind, actor)
            .target(Target::new("user", user))
            .subject(user);
        svc.emit(ev).await;
    }
    Ok(changed)
}

/// The account export for an operator (the same document as the account portal's; no session
/// is marked current). Records `user.data_exported` with the operator as the actor.
pub async fn operator_export(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    actor: Actor,
) -> Result<Value, CoreError> {
    let doc = crate::account_portal::export_document(state, tenant, user, None).await?;
    let ev = Event::new(tenant.id, Services::now(), EventKind::DataExported, actor)
        .target(Target::new("user", user.id))
        .subject(user.id);
    state.services.emit(ev).await;
    tracing::info!(tenant = %tenant.slug, user = %user.id, "account data exported by an operator");
    Ok(doc)
}

/// Deletes an account now, on an operator's or the retention job's behalf, the way the account
/// portal does: every session ends with its back-channel logout, the account's tokens and email
/// links are revoked, optionally a "your account was deleted" notice is queued, and then
/// [`Services::delete_user`] deletes it (crypto-shredding its audit entries, pseudonymizing its
/// consent records). A concurrent deletion counts as done.
pub async fn erase_account(
    state: &AppState,
    tenant: &Tenant,
    user: &User,
    actor: Actor,
    reason: &str,
    notify: bool,
) -> Result<(), CoreError> {
    let svc = &state.services;
    let now = Services::now();
    crate::oidc::backchannel::end_user_sessions(state, tenant, user.id, reason, actor.clone())
        .await?;
    svc.store
        .revoke_user_client_tokens(tenant.id, user.id, None, now)
        .await?;
    svc.store
        .revoke_verifications(tenant.id, user.id, None, now)
        .await?;
    if notify {
        crate::account_portal::notify_deleted(state, tenant, user).await;
    }
    match svc.delete_user(tenant.id, user.id, actor).await {
        Ok(()) | Err(CoreError::NotFound(_)) => {}
        Err(e) => return Err(e),
    }
    tracing::info!(tenant = %tenant.slug, user = %user.id, reason, "account erased");
    Ok(())
}
