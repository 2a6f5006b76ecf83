//! `/api/v1/tenants/{slug}/webhooks`: event subscriptions (webhooks, JSON Lines and syslog
//! streams), their delivery log and redelivery.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::Secret;
use tessera_core::apikey::{AdminResource, ApiScope};
use tessera_core::events::{Event, EventKind, Target};
use tessera_core::page::PageRequest;
use tessera_core::store::WebhookStore;
use tessera_core::webhook::{DeliveryStatus, SinkKind, WebhookDelivery, WebhookSubscription};
use tessera_crypto::random_token;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::Operator;
use super::extract::{ApiJson, ApiQuery};
use crate::app::Services;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    pub id: String,
    /// `webhook`, `json_lines`, `syslog_tcp` or `syslog_udp`.
    pub kind: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub created_at: String,
}

impl From<WebhookSubscription> for WebhookView {
    fn from(s: WebhookSubscription) -> Self {
        WebhookView {
            id: s.id.to_string(),
            kind: s.kind.as_str().into(),
            url: s.url,
            event_types: s.event_types,
            enabled: s.enabled,
            created_at: s
                .created_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// The HMAC key for `Tessera-Signature`; shown once.
    pub secret: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Default `webhook`.
    pub kind: Option<String>,
    /// `https://…` (loopback `http://` allowed) or `host:port` for syslog.
    pub url: String,
    /// Event types or prefixes with `*` (`user.*`); empty or absent: all events.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// The signing secret; generated when absent (at least 16 characters when given).
    pub secret: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<WebhookView>,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub last_status_code: Option<i32>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

use super::rfc3339;

impl From<WebhookDelivery> for DeliveryView {
    fn from(d: WebhookDelivery) -> Self {
        DeliveryView {
            id: d.id.to_string(),
            event_id: d.event_id.to_string(),
            event_type: d.event_type,
            status: match d.status {
                DeliveryStatus::Pending => "pending",
                DeliveryStatus::Delivered => "delivered",
                DeliveryStatus::Dead => "dead",
            }
            .into(),
            attempts: d.attempts,
            next_attempt_at: rfc3339(d.next_attempt_at),
            last_error: d.last_error,
            last_status_code: d.last_status_code,
            created_at: rfc3339(d.created_at),
            delivered_at: d.delivered_at.map(rfc3339),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryPage {
    pub items: Vec<DeliveryView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    pub after: Option<String>,
    pub limit: Option<u32>,
}

fn wid(id: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found("webhook"))
}

/// List subscriptions.
#[utoipa::path(get, path = "/tenants/{slug}/webhooks", tag = "webhooks", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = WebhookList), (status = 404, body = ErrorBody)))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
) -> ApiResult<Json<WebhookList>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Webhooks, ApiScope::Read)
        .await?;
    let items = state
        .services
        .store
        .list_webhooks(tenant.id)
        .await?
        .into_iter()
        .map(WebhookView::from)
        .collect();
    Ok(Json(WebhookList { items }))
}

/// Subscribe to events. The response carries the signing secret once.
#[utoipa::path(post, path = "/tenants/{slug}/webhooks", tag = "webhooks", security(("api_key" = [])), request_body = CreateWebhook,
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 201, body = CreatedWebhook), (status = 400, body = ErrorBody)))]
pub async fn create_webhook(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiJson(b): ApiJson<CreateWebhook>,
) -> ApiResult<(StatusCode, Json<CreatedWebhook>)> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Webhooks, ApiScope::Write)
        .await?;
    let kind = b
        .kind
        .as_deref()
        .map(SinkKind::parse)
        .transpose()?
        .unwrap_or(SinkKind::Webhook);
    let secret = match b.secret {
        Some(s) if s.chars().count() < 16 || s.len() > 512 => {
            return Err(ApiError::BadRequest {
                field: Some("secret"),
                message: "secret: 16 to 512 characters".into(),
            });
        }
        Some(s) => s,
        None => random_token(32),
    };
    let sub = WebhookSubscription {
        id: Uuid::now_v7(),
        tenant_id: tenant.id,
        kind,
        url: b.url.trim().to_string(),
        event_types: b.event_types,
        secret: Secret::new(secret.clone()),
        enabled: true,
        created_at: Services::now(),
    };
    sub.validate()?;
    state.services.store.create_webhook(&sub).await?;
    state.services.webhooks_changed(tenant.id);
    let ev = Event::new(
        tenant.id,
        sub.created_at,
        EventKind::WebhookCreated {
            webhook_id: sub.id.to_string(),
        },
        op.actor(),
    )
    .target(Target::new("webhook", sub.id));
    state.services.emit(ev).await;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhook {
            webhook: sub.into(),
            secret,
        }),
    ))
}

/// Read a subscription.
#[utoipa::path(get, path = "/tenants/{slug}/webhooks/{id}", tag = "webhooks", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = WebhookView), (status = 404, body = ErrorBody)))]
pub async fn get_webhook(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<WebhookView>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Webhooks, ApiScope::Read)
        .await?;
    let sub = state
        .services
        .store
        .get_webhook(tenant.id, wid(&id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    Ok(Json(sub.into()))
}

/// Delete a subscription and its pending deliveries.
#[utoipa::path(delete, path = "/tenants/{slug}/webhooks/{id}", tag = "webhooks", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Webhook id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Webhooks, ApiScope::Write)
        .await?;
    let id = wid(&id)?;
    if !state.services.store.delete_webhook(tenant.id, id).await? {
        return Err(ApiError::not_found("webhook"));
    }
    state.services.webhooks_changed(tenant.id);
    let ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::WebhookDeleted {
            webhook_id: id.to_string(),
        },
        op.actor(),
    )
    .target(Target::new("webhook", id));
    state.services.emit(ev).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The delivery log of a subscription, newest first.
#[utoipa::path(get, path = "/tenants/{slug}/webhooks/{id}/deliveries", tag = "webhooks", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Webhook id"), DeliveryQuery),
    responses((status = 200, body = DeliveryPage), (status = 404, body = ErrorBody)))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<DeliveryPage>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Webhooks, ApiScope::Read)
        .await?;
    let id = wid(&id)?;
    state
        .services
        .store
        .get_webhook(tenant.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    if q.after
        .as_deref()
        .is_some_and(|a| Uuid::parse_str(a).is_err())
    {
        return Err(ApiError::BadRequest {
            field: Some("after"),
            message: "after: not a cursor returned by this API".into(),
        });
    }
    let p = state
        .services
        .store
        .list_deliveries(
            tenant.id,
            id,
            &PageRequest {
                after: q.after,
                limit: q.limit,
            },
        )
        .await?;
    Ok(Json(DeliveryPage {
        items: p.items.into_iter().map(DeliveryView::from).collect(),
        next_cursor: p.next_cursor,
    }))
}

/// Queue a delivery again (for dead-lettered or already delivered events).
#[utoipa::path(post, path = "/tenants/{slug}/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "webhooks", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Webhook id"), ("delivery_id" = String, Path, description = "Delivery id")),
    responses((status = 202), (status = 404, body = ErrorBody)))]
pub async fn redeliver(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id, delivery)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Webhooks, ApiScope::Write)
        .await?;
    let subscription = wid(&id)?;
    let delivery = Uuid::parse_str(&delivery).map_err(|_| ApiError::not_found("delivery"))?;
    if !state
        .services
        .store
        .redeliver(tenant.id, subscription, delivery, Services::now())
        .await?
    {
        return Err(ApiError::not_found("delivery"));
    }
    Ok(StatusCode::ACCEPTED)
}
