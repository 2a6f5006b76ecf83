//! `/api/v1/tenants/{slug}/clients`: applications that sign users in (OAuth 2 / OIDC clients).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::apikey::{AdminResource, ApiScope};
use tessera_core::client::{Client, NewClient};
use tessera_core::events::{Event, EventKind, Target, field_changes};
use tessera_core::store::ClientStore;
use tessera_core::tenant::validate_display_name;
use utoipa::ToSchema;

use super::auth::Operator;
use super::extract::ApiJson;
use crate::app::Services;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    /// `confidential` or `public`.
    pub client_type: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub allowed_scopes: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub first_party: bool,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: time::OffsetDateTime,
}

impl From<Client> for ClientView {
    fn from(c: Client) -> ClientView {
        ClientView {
            client_type: match c.client_type {
                tessera_core::client::ClientType::Confidential => "confidential".into(),
                tessera_core::client::ClientType::Public => "public".into(),
            },
            client_id: c.client_id,
            name: c.name,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            grant_types: c.grant_types,
            allowed_scopes: c.allowed_scopes,
            token_endpoint_auth_method: c.token_endpoint_auth_method,
            first_party: c.first_party,
            metadata: c.metadata,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A new client, with its secret shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedClient {
    #[serde(flatten)]
    pub client: ClientView,
    /// Null for public clients. Store it now: it cannot be shown again (only rotated).
    pub client_secret: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    pub name: String,
    /// Public clients (SPAs, native apps) have no secret and must use PKCE.
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Default: authorization_code and refresh_token.
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub allowed_scopes: Vec<String>,
    pub token_endpoint_auth_method: Option<String>,
    /// First-party applications skip the consent page.
    #[serde(default)]
    pub first_party: bool,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClient {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub allowed_scopes: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    pub first_party: Option<bool>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct ClientList {
    pub items: Vec<ClientView>,
}

#[derive(Serialize, ToSchema)]
pub struct RotatedSecret {
    pub client_id: String,
    pub client_secret: String,
}

/// List clients.
#[utoipa::path(get, path = "/tenants/{slug}/clients", tag = "clients", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = ClientList), (status = 404, body = ErrorBody)))]
pub async fn list_clients(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
) -> ApiResult<Json<ClientList>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Clients, ApiScope::Read)
        .await?;
    let clients = state.services.store.list_clients(tenant.id).await?;
    Ok(Json(ClientList {
        items: clients.into_iter().map(ClientView::from).collect(),
    }))
}

/// Register a client; the response carries the secret once.
#[utoipa::path(post, path = "/tenants/{slug}/clients", tag = "clients", security(("api_key" = [])), request_body = CreateClient,
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 201, body = CreatedClient), (status = 400, body = ErrorBody)))]
pub async fn create_client(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiJson(b): ApiJson<CreateClient>,
) -> ApiResult<(StatusCode, Json<CreatedClient>)> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Clients, ApiScope::Write)
        .await?;
    let input = NewClient {
        name: b.name,
        public: b.public,
        redirect_uris: b.redirect_uris,
        post_logout_redirect_uris: b.post_logout_redirect_uris,
        grant_types: b.grant_types,
        allowed_scopes: b.allowed_scopes,
        token_endpoint_auth_method: b.token_endpoint_auth_method,
        first_party: b.first_party,
        metadata: b.metadata,
    };
    let (client, secret) = state
        .services
        .create_client(tenant.id, input, op.actor())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedClient {
            client: client.into(),
            client_secret: secret.map(|s| s.expose().to_string()),
        }),
    ))
}

/// Read a client.
#[utoipa::path(get, path = "/tenants/{slug}/clients/{client_id}", tag = "clients", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("client_id" = String, Path, description = "Client id")),
    responses((status = 200, body = ClientView), (status = 404, body = ErrorBody)))]
pub async fn get_client(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<ClientView>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Clients, ApiScope::Read)
        .await?;
    Ok(Json(state.services.client(tenant.id, &id).await?.into()))
}

/// Change a client's registration (validated as a whole before it is saved).
#[utoipa::path(patch, path = "/tenants/{slug}/clients/{client_id}", tag = "clients", security(("api_key" = [])), request_body = UpdateClient,
    params(("slug" = String, Path, description = "Tenant slug"), ("client_id" = String, Path, description = "Client id")),
    responses((status = 200, body = ClientView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_client(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<UpdateClient>,
) -> ApiResult<Json<ClientView>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Clients, ApiScope::Write)
        .await?;
    let mut c = state.services.client(tenant.id, &id).await?;
    let before = c.clone();
    if let Some(n) = b.name {
        c.name = validate_display_name("name", &n)?;
    }
    if let Some(v) = b.redirect_uris {
        c.redirect_uris = v;
    }
    if let Some(v) = b.post_logout_redirect_uris {
        c.post_logout_redirect_uris = v;
    }
    if let Some(v) = b.grant_types {
        c.grant_types = v;
    }
    if let Some(v) = b.allowed_scopes {
        c.allowed_scopes = v;
    }
    if let Some(v) = b.token_endpoint_auth_method {
        c.token_endpoint_auth_method = v;
    }
    if let Some(v) = b.first_party {
        c.first_party = v;
    }
    if let Some(m) = b.metadata {
        if !m.is_object() {
            return Err(ApiError::BadRequest {
                field: Some("metadata"),
                message: "metadata: must be a JSON object".into(),
            });
        }
        c.metadata = m;
    }
    c.validate()?;
    c.updated_at = Services::now();
    state.services.save_client(&c).await?;
    let changes = field_changes(
        &serde_json::to_value(ClientView::from(before)).unwrap_or_default(),
        &serde_json::to_value(ClientView::from(c.clone())).unwrap_or_default(),
        "",
        &["updated_at"],
    );
    if !changes.is_empty() {
        let ev = Event::new(
            tenant.id,
            c.updated_at,
            EventKind::ClientUpdated { changes },
            op.actor(),
        )
        .target(Target::new("client", &c.client_id));
        state.services.emit(ev).await;
    }
    Ok(Json(c.into()))
}

/// Delete a client.
#[utoipa::path(delete, path = "/tenants/{slug}/clients/{client_id}", tag = "clients", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("client_id" = String, Path, description = "Client id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_client(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Clients, ApiScope::Write)
        .await?;
    if !state.services.remove_client(tenant.id, &id).await? {
        return Err(ApiError::not_found("client"));
    }
    state
        .services
        .emit(
            Event::new(
                tenant.id,
                Services::now(),
                EventKind::ClientDeleted,
                op.actor(),
            )
            .target(Target::new("client", &id)),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace a confidential client's secret; the old one stops working at once.
#[utoipa::path(post, path = "/tenants/{slug}/clients/{client_id}/secret", tag = "clients", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("client_id" = String, Path, description = "Client id")),
    responses((status = 200, body = RotatedSecret), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<RotatedSecret>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Clients, ApiScope::Write)
        .await?;
    let (c, secret) = state
        .services
        .rotate_client_secret(tenant.id, &id, op.actor())
        .await?;
    Ok(Json(RotatedSecret {
        client_id: c.client_id,
        client_secret: secret.expose().to_string(),
    }))
}
