//! `/api/v1/tenants/{slug}/identity-providers`: the upstream providers people of a tenant sign in
//! with (social and enterprise), and `/api/v1/tenants/{slug}/users/{id}/identities`: the upstream
//! identities linked to an account. Client secrets (and Apple private keys) are write-only:
//! sealed at rest, never returned, only `has_client_secret` says one is set.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tessera_core::UserId;
use tessera_core::apikey::{AdminResource, ApiScope};
use tessera_core::events::{Event, EventKind, Target};
use tessera_core::federation::{FederationStore, IdentityProvider, LinkedIdentityId};
use utoipa::ToSchema;

use super::auth::Operator;
use super::extract::{ApiJson, double_option};
use super::rfc3339;
use crate::app::Services;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::federation::admin::{self, NewProvider, ProviderChange};
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

/// The API's (and the CLI's) view of a provider: never the secret.
pub fn view(public_url: &str, tenant_slug: &str, p: &IdentityProvider) -> ProviderView {
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
        redirect_uri: crate::federation::redirect_uri(public_url, tenant_slug, &p.alias),
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
        items: list
            .iter()
            .map(|p| view(&state.services.config.public_url, &tenant.slug, p))
            .collect(),
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
    let input = NewProvider {
        alias: body.alias,
        display_name: body.display_name,
        enabled: body.enabled,
        preset: body.preset,
        client_secret: body
            .client_secret
            .as_deref()
            .map(admin::secret)
            .transpose()?,
        trust_email: body.trust_email,
        jit: body.jit,
        domains: body.domains,
        config: body.config,
    };
    let provider = admin::create_provider(&state.services, &tenant, input, op.actor()).await?;
    Ok((
        StatusCode::CREATED,
        Json(view(
            &state.services.config.public_url,
            &tenant.slug,
            &provider,
        )),
    ))
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
    let p = admin::provider(&state.services, &tenant, &alias).await?;
    Ok(Json(view(
        &state.services.config.public_url,
        &tenant.slug,
        &p,
    )))
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
    let change = ProviderChange {
        display_name: body.display_name,
        enabled: body.enabled,
        client_secret: body
            .client_secret
            .map(|s| s.as_deref().map(admin::secret).transpose())
            .transpose()?,
        trust_email: body.trust_email,
        jit: body.jit,
        domains: body.domains,
        config: body.config,
    };
    let (before, p) =
        admin::update_provider(&state.services, &tenant, &alias, change, op.actor()).await?;
    for prov in [&before, &p] {
        if let Ok(c) = crate::federation::provider_config(prov) {
            state.federation.providers.forget(&c);
        }
    }
    Ok(Json(view(
        &state.services.config.public_url,
        &tenant.slug,
        &p,
    )))
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
    let p = admin::delete_provider(&state.services, &tenant, &alias, op.actor()).await?;
    if let Ok(c) = crate::federation::provider_config(&p) {
        state.federation.providers.forget(&c);
    }
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

/// The kept upstream access token of a user's linked identity (providers with `store_tokens`),
/// renewed at the provider first when it has expired. Recorded as `federation.token_read`.
/// Needs write access to users: the token acts as the person at the provider.
#[utoipa::path(get, path = "/tenants/{slug}/users/{id}/identities/{alias}/token", tag = "identity providers", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id"), ("alias" = String, Path, description = "Provider alias")),
    responses((status = 200, body = crate::federation::tokens::UpstreamToken), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn user_identity_token(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id, alias)): Path<(String, String, String)>,
) -> ApiResult<Json<crate::federation::tokens::UpstreamToken>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Users, ApiScope::Write)
        .await?;
    let user = state.services.user(tenant.id, user_id(&id)?).await?;
    crate::federation::tokens::current(&state, &tenant, user.id, &alias, "operator")
        .await
        .map(Json)
        .map_err(crate::federation::tokens::api_error)
}
