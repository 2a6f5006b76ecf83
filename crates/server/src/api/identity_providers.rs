//! `/api/v1/tenants/{slug}/identity-providers`: the upstream providers people of a tenant sign in
//! with (social and enterprise), and `/api/v1/tenants/{slug}/users/{id}/identities`: the upstream
//! identities linked to an account. Client secrets (and Apple private keys) are write-only:
//! sealed at rest, never returned, only `has_client_secret` says one is set.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tessera_core::apikey::{AdminResource, ApiScope};
use tessera_core::events::{Event, EventKind, FieldChange, Target, field_changes};
use tessera_core::federation::{
    FederationStore, IdentityProvider, IdentityProviderId, LinkedIdentityId, validate_domains,
};
use tessera_core::{Secret, UserId};
use tessera_federation::ProviderConfig;
use tessera_federation::config::{ClientAuth, merge_patch};
use utoipa::ToSchema;

use super::auth::Operator;
use super::extract::{ApiJson, double_option};
use super::rfc3339;
use crate::app::Services;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct ProviderView {
    pub id: String,
    /// The provider's name in URLs: `{issuer}/login/idp/{alias}`.
    pub alias: String,
    pub display_name: String,
    pub enabled: bool,
    /// A verified email from this provider joins the existing account with that address
    /// without further proof (default false).
    pub trust_email: bool,
    /// Create an account on the first sign-in of someone unknown.
    pub jit: bool,
    /// Email domains whose addresses the sign-in page sends to this provider.
    pub domains: Vec<String>,
    pub preset: Option<String>,
    /// The protocol settings (see docs/federation.md), with the preset's values filled in.
    #[schema(value_type = Object)]
    pub config: Value,
    /// Whether a client secret (or Apple private key) is set. The secret is never returned.
    pub has_client_secret: bool,
    /// The redirect URI to register at the provider.
    pub redirect_uri: String,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
}

fn view(state: &AppState, tenant_slug: &str, p: &IdentityProvider) -> ProviderView {
    ProviderView {
        id: p.id.to_string(),
        alias: p.alias.clone(),
        display_name: p.display_name.clone(),
        enabled: p.enabled,
        trust_email: p.trust_email,
        jit: p.jit,
        domains: p.domains.clone(),
        preset: p
            .settings
            .get("preset")
            .and_then(Value::as_str)
            .map(str::to_string),
        config: p.settings.clone(),
        has_client_secret: p.client_secret.is_some(),
        redirect_uri: crate::federation::redirect_uri(
            &state.services.config.public_url,
            tenant_slug,
            &p.alias,
        ),
        created_at: rfc3339(p.created_at),
        updated_at: rfc3339(p.updated_at),
    }
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProvider {
    pub alias: String,
    /// The button label; default: the preset's provider name, else the alias.
    pub display_name: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `google`, `microsoft` (or `microsoft:<tenant>`), `apple`, `github`, `facebook`.
    pub preset: Option<String>,
    /// The client secret; for Apple, the team's private key (the `.p8` file's PEM text).
    pub client_secret: Option<String>,
    #[serde(default)]
    pub trust_email: bool,
    #[serde(default = "yes")]
    pub jit: bool,
    #[serde(default)]
    pub domains: Vec<String>,
    /// Protocol settings laid over the preset (at least `client_id`; `issuer` for a generic
    /// OpenID Connect provider).
    #[schema(value_type = Object)]
    #[serde(default)]
    pub config: Value,
}

/// Absent fields stay unchanged; `client_secret: null` removes the secret; `config` is a JSON
/// merge patch (RFC 7386) over the current settings.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateProvider {
    pub display_name: Option<String>,
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub client_secret: Option<Option<String>>,
    pub trust_email: Option<bool>,
    pub jit: Option<bool>,
    pub domains: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    pub config: Option<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct ProviderList {
    pub items: Vec<ProviderView>,
}

fn bad(field: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        field: Some(field),
        message: message.into(),
    }
}

fn default_name(preset: Option<&str>, alias: &str) -> String {
    match preset.map(|p| p.split(':').next().unwrap_or(p)) {
        Some("google") => "Google".into(),
        Some("microsoft") => "Microsoft".into(),
        Some("apple") => "Apple".into(),
        Some("github") => "GitHub".into(),
        Some("facebook") => "Facebook".into(),
        _ => alias.to_string(),
    }
}

/// Checks a provider's protocol settings (and its Apple key) and returns them as stored.
fn checked_settings(config: &ProviderConfig, secret: Option<&Secret>) -> ApiResult<Value> {
    config
        .validate(secret.is_some())
        .map_err(|e| ApiError::BadRequest {
            field: Some("config"),
            message: e.to_string(),
        })?;
    if config.client_auth == ClientAuth::AppleJwt
        && let Some(s) = secret
    {
        tessera_federation::apple::read_key(s.expose())
            .map_err(|e| bad("client_secret", format!("client_secret: {e}")))?;
    }
    serde_json::to_value(config).map_err(|e| ApiError::Internal(e.to_string()))
}

fn secret_of(s: Option<String>) -> ApiResult<Option<Secret>> {
    match s {
        Some(v) if v.trim().is_empty() || v.len() > 16 * 1024 => {
            Err(bad("client_secret", "client_secret: 1 to 16384 characters"))
        }
        Some(v) => Ok(Some(Secret::new(v.trim().to_string()))),
        None => Ok(None),
    }
}

/// What an event may show of a provider: everything but the secret.
fn public(p: &IdentityProvider) -> Value {
    serde_json::json!({
        "alias": p.alias, "display_name": p.display_name, "enabled": p.enabled,
        "trust_email": p.trust_email, "jit": p.jit, "domains": p.domains, "config": p.settings,
    })
}

/// List the tenant's identity providers.
#[utoipa::path(get, path = "/tenants/{slug}/identity-providers", tag = "identity providers", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = ProviderList), (status = 404, body = ErrorBody)))]
pub async fn list_providers(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
) -> ApiResult<Json<ProviderList>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Tenants, ApiScope::Read)
        .await?;
    let list = state
        .services
        .store
        .list_identity_providers(tenant.id)
        .await?;
    Ok(Json(ProviderList {
        items: list.iter().map(|p| view(&state, &tenant.slug, p)).collect(),
    }))
}

/// Add an identity provider, from a preset or as a generic OpenID Connect / OAuth 2.0 provider.
#[utoipa::path(post, path = "/tenants/{slug}/identity-providers", tag = "identity providers", security(("api_key" = [])), request_body = CreateProvider,
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 201, body = ProviderView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_provider(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<CreateProvider>,
) -> ApiResult<(StatusCode, Json<ProviderView>)> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Tenants, ApiScope::Write)
        .await?;
    if !body.config.is_object() && !body.config.is_null() {
        return Err(bad("config", "config: must be a JSON object"));
    }
    let settings = if body.config.is_null() {
        serde_json::json!({})
    } else {
        body.config
    };
    let config = tessera_federation::presets::build(body.preset.as_deref(), &settings)
        .map_err(|m| bad("config", m))?;
    let secret = secret_of(body.client_secret)?;
    let settings = checked_settings(&config, secret.as_ref())?;
    let now = Services::now();
    let provider = IdentityProvider {
        id: IdentityProviderId::new(),
        tenant_id: tenant.id,
        display_name: body
            .display_name
            .unwrap_or_else(|| default_name(body.preset.as_deref(), &body.alias)),
        alias: body.alias,
        enabled: body.enabled,
        trust_email: body.trust_email,
        jit: body.jit,
        domains: validate_domains(&body.domains)?,
        settings,
        client_secret: secret,
        created_at: now,
        updated_at: now,
    };
    provider.validate()?;
    state
        .services
        .store
        .create_identity_provider(&provider)
        .await
        .map_err(|e| match e {
            tessera_core::StoreError::Conflict(_) => ApiError::Conflict(format!(
                "the tenant already has an identity provider with alias {}",
                provider.alias
            )),
            other => other.into(),
        })?;
    let ev = Event::new(
        tenant.id,
        now,
        EventKind::IdentityProviderCreated {
            alias: provider.alias.clone(),
        },
        op.actor(),
    )
    .target(Target::new("identity_provider", provider.id));
    state.services.emit(ev).await;
    Ok((
        StatusCode::CREATED,
        Json(view(&state, &tenant.slug, &provider)),
    ))
}

async fn load(
    state: &AppState,
    tenant: tessera_core::TenantId,
    alias: &str,
) -> ApiResult<IdentityProvider> {
    state
        .services
        .store
        .find_identity_provider(tenant, alias)
        .await?
        .ok_or_else(|| ApiError::not_found("identity provider"))
}

/// Read one identity provider.
#[utoipa::path(get, path = "/tenants/{slug}/identity-providers/{alias}", tag = "identity providers", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("alias" = String, Path, description = "Provider alias")),
    responses((status = 200, body = ProviderView), (status = 404, body = ErrorBody)))]
pub async fn get_provider(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, alias)): Path<(String, String)>,
) -> ApiResult<Json<ProviderView>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Tenants, ApiScope::Read)
        .await?;
    let p = load(&state, tenant.id, &alias).await?;
    Ok(Json(view(&state, &tenant.slug, &p)))
}

/// Change an identity provider.
#[utoipa::path(patch, path = "/tenants/{slug}/identity-providers/{alias}", tag = "identity providers", security(("api_key" = [])), request_body = UpdateProvider,
    params(("slug" = String, Path, description = "Tenant slug"), ("alias" = String, Path, description = "Provider alias")),
    responses((status = 200, body = ProviderView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_provider(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, alias)): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdateProvider>,
) -> ApiResult<Json<ProviderView>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Tenants, ApiScope::Write)
        .await?;
    let before = load(&state, tenant.id, &alias).await?;
    let mut p = before.clone();
    if let Some(n) = body.display_name {
        p.display_name = n;
    }
    if let Some(e) = body.enabled {
        p.enabled = e;
    }
    if let Some(t) = body.trust_email {
        p.trust_email = t;
    }
    if let Some(j) = body.jit {
        p.jit = j;
    }
    if let Some(d) = body.domains {
        p.domains = validate_domains(&d)?;
    }
    if let Some(s) = body.client_secret {
        p.client_secret = secret_of(s)?;
    }
    let mut settings = p.settings.clone();
    if let Some(patch) = &body.config {
        if !patch.is_object() {
            return Err(bad(
                "config",
                "config: must be a JSON object (a merge patch)",
            ));
        }
        merge_patch(&mut settings, patch);
    }
    let config: ProviderConfig =
        serde_json::from_value(settings).map_err(|e| bad("config", format!("config: {e}")))?;
    p.settings = checked_settings(&config, p.client_secret.as_ref())?;
    p.validate()?;
    p.updated_at = Services::now();
    state.services.store.update_identity_provider(&p).await?;
    if let Ok(old) = crate::federation::provider_config(&before) {
        state.federation.providers.forget(&old);
    }
    state.federation.providers.forget(&config);
    let mut changes = field_changes(&public(&before), &public(&p), "", &[]);
    if before.client_secret != p.client_secret {
        changes.insert("client_secret".into(), FieldChange::redacted());
    }
    let ev = Event::new(
        tenant.id,
        p.updated_at,
        EventKind::IdentityProviderUpdated { changes },
        op.actor(),
    )
    .target(Target::new("identity_provider", p.id));
    state.services.emit(ev).await;
    Ok(Json(view(&state, &tenant.slug, &p)))
}

/// Delete an identity provider with the identities linked through it.
#[utoipa::path(delete, path = "/tenants/{slug}/identity-providers/{alias}", tag = "identity providers", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("alias" = String, Path, description = "Provider alias")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_provider(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, alias)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Tenants, ApiScope::Write)
        .await?;
    let p = load(&state, tenant.id, &alias).await?;
    if !state
        .services
        .store
        .delete_identity_provider(tenant.id, p.id)
        .await?
    {
        return Err(ApiError::not_found("identity provider"));
    }
    if let Ok(c) = crate::federation::provider_config(&p) {
        state.federation.providers.forget(&c);
    }
    let ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::IdentityProviderDeleted { alias: p.alias },
        op.actor(),
    )
    .target(Target::new("identity_provider", p.id));
    state.services.emit(ev).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct IdentityView {
    pub id: String,
    /// The provider's alias.
    pub provider: String,
    /// The provider's identifier of the person.
    pub subject: String,
    /// The email the provider gave when the identity was linked.
    pub email: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct IdentityList {
    pub items: Vec<IdentityView>,
}

fn user_id(id: &str) -> ApiResult<UserId> {
    UserId::parse(id).ok_or_else(|| ApiError::not_found("user"))
}

/// The upstream identities linked to an account.
#[utoipa::path(get, path = "/tenants/{slug}/users/{id}/identities", tag = "identity providers", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = IdentityList), (status = 404, body = ErrorBody)))]
pub async fn list_user_identities(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<IdentityList>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Users, ApiScope::Read)
        .await?;
    let user = state.services.user(tenant.id, user_id(&id)?).await?;
    let store = &state.services.store;
    let providers = store.list_identity_providers(tenant.id).await?;
    let links = store.list_linked_identities(tenant.id, user.id).await?;
    Ok(Json(IdentityList {
        items: links
            .into_iter()
            .map(|l| IdentityView {
                id: l.id.to_string(),
                provider: providers
                    .iter()
                    .find(|p| p.id == l.provider_id)
                    .map(|p| p.alias.clone())
                    .unwrap_or_default(),
                subject: l.subject,
                email: l.email,
                created_at: rfc3339(l.created_at),
                last_used_at: l.last_used_at.map(rfc3339),
            })
            .collect(),
    }))
}

/// Remove a linked identity (the person can no longer sign in with it until it is linked again).
#[utoipa::path(delete, path = "/tenants/{slug}/users/{id}/identities/{identity_id}", tag = "identity providers", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id"), ("identity_id" = String, Path, description = "Linked identity id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_user_identity(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id, identity_id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Users, ApiScope::Write)
        .await?;
    let user = user_id(&id)?;
    let link_id = LinkedIdentityId::parse(&identity_id)
        .ok_or_else(|| ApiError::not_found("linked identity"))?;
    let store = &state.services.store;
    let link = store
        .list_linked_identities(tenant.id, user)
        .await?
        .into_iter()
        .find(|l| l.id == link_id)
        .ok_or_else(|| ApiError::not_found("linked identity"))?;
    if !store
        .delete_linked_identity(tenant.id, user, link_id)
        .await?
    {
        return Err(ApiError::not_found("linked identity"));
    }
    let provider = store
        .get_identity_provider(tenant.id, link.provider_id)
        .await?
        .map(|p| p.alias)
        .unwrap_or_default();
    let ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::FederationUnlinked { provider },
        op.actor(),
    )
    .subject(user)
    .target(Target::new("user", user));
    state.services.emit(ev).await;
    Ok(StatusCode::NO_CONTENT)
}
