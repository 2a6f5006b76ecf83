//! `/api/v1/tenants/{slug}/email`: a test message to check the mail setup, and the state of the
//! tenant's mail outbox (counts and recent messages, never recipients or content).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::apikey::{AdminResource, ApiScope};
use tessera_core::events::{Event, EventKind, Target};
use tessera_core::mail::{MailOutboxStore, MailRecord, MailStatus};
use tessera_core::page::PageRequest;
use utoipa::{IntoParams, ToSchema};

use super::auth::Operator;
use super::extract::{ApiJson, ApiQuery};
use super::rfc3339;
use crate::app::Services;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::mail::{self, MailError};
use crate::state::AppState;

impl From<MailError> for ApiError {
    fn from(e: MailError) -> Self {
        match e {
            MailError::Invalid(c) => ApiError::from(c),
            MailError::Store(s) => ApiError::from(s),
            MailError::Template(t) => ApiError::Internal(t.to_string()),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestEmail {
    /// The address to send the test message to.
    pub to: String,
}

#[derive(Serialize, ToSchema)]
pub struct QueuedEmail {
    /// The message id in the outbox.
    pub id: String,
    /// Always `pending`: the message is queued, the worker sends it.
    pub status: String,
    /// The transport that will deliver it: `smtp` or `log`.
    pub transport: String,
}

/// Queue a test email to check the mail setup. The answer comes once the message is queued;
/// follow it in the outbox.
#[utoipa::path(post, path = "/tenants/{slug}/email/test", tag = "email", security(("api_key" = [])), request_body = TestEmail,
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 202, body = QueuedEmail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn send_test(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiJson(b): ApiJson<TestEmail>,
) -> ApiResult<(StatusCode, Json<QueuedEmail>)> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Tenants, ApiScope::Write)
        .await?;
    let now = Services::now();
    let id = mail::send_templated_for(
        &state,
        &tenant,
        None,
        &b.to,
        "test",
        None,
        minijinja::context! { requested_at => rfc3339(now) },
    )
    .await?;
    let ev = Event::new(
        tenant.id,
        now,
        EventKind::MailTestQueued {
            mail_id: id.to_string(),
        },
        op.actor(),
    )
    .target(Target::new("mail", id));
    state.services.emit(ev).await;
    Ok((
        StatusCode::ACCEPTED,
        Json(QueuedEmail {
            id: id.to_string(),
            status: MailStatus::Pending.as_str().into(),
            transport: state.services.config.mail_transport.as_str().into(),
        }),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct OutboxMessage {
    pub id: String,
    /// `test`, `email_code`, `verify_email`, `password_reset`, …
    pub kind: String,
    /// The account the message is about, when known.
    pub user_id: Option<String>,
    /// `pending`, `sent` or `dead`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: String,
    /// The last failure in the transport's words (addresses removed).
    pub last_error: Option<String>,
    pub created_at: String,
    /// When it was sent or given up.
    pub finished_at: Option<String>,
}

impl From<MailRecord> for OutboxMessage {
    fn from(m: MailRecord) -> Self {
        OutboxMessage {
            id: m.id.to_string(),
            kind: m.kind,
            user_id: m.user_id.map(|u| u.to_string()),
            status: m.status.as_str().into(),
            attempts: m.attempts,
            next_attempt_at: rfc3339(m.next_attempt_at),
            last_error: m.last_error,
            created_at: rfc3339(m.created_at),
            finished_at: m.finished_at.map(rfc3339),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Outbox {
    /// The transport delivering messages: `smtp` or `log`.
    pub transport: String,
    pub pending: u64,
    pub sent: u64,
    pub dead: u64,
    /// Messages newest first (sent and dead ones are kept for 7 days, without their content).
    pub items: Vec<OutboxMessage>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// Only messages in this state: `pending`, `sent` or `dead`.
    pub status: Option<String>,
    pub after: Option<String>,
    pub limit: Option<u32>,
}

/// The tenant's mail outbox: how many messages wait, were sent or were given up, and the
/// latest of them (no recipients, no content).
#[utoipa::path(get, path = "/tenants/{slug}/email/outbox", tag = "email", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), OutboxQuery),
    responses((status = 200, body = Outbox), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn outbox(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiQuery(q): ApiQuery<OutboxQuery>,
) -> ApiResult<Json<Outbox>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Tenants, ApiScope::Read)
        .await?;
    let status = q.status.as_deref().map(MailStatus::parse).transpose()?;
    let store = &state.services.store;
    let counts = store.count_mail(tenant.id).await?;
    let page = store
        .list_mail(
            tenant.id,
            status,
            &PageRequest {
                after: q.after,
                limit: q.limit,
            },
        )
        .await?;
    Ok(Json(Outbox {
        transport: state.services.config.mail_transport.as_str().into(),
        pending: counts.pending,
        sent: counts.sent,
        dead: counts.dead,
        items: page.items.into_iter().map(OutboxMessage::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
