//! Kept upstream tokens (providers with `store_tokens`): handed to operators (admin API) and to
//! the account's own applications (`GET {issuer}/federation/{alias}/token` with an access token
//! of scope `federated_tokens`), renewed at the provider with the kept refresh token when they
//! have expired or expire within 30 seconds. Every hand-out is recorded
//! (`federation.token_read`).
//!
//! Two renewals of one identity at the same moment may both present the same refresh token; a
//! provider that rotates refresh tokens then refuses the second, which answers with an error
//! (the first one's tokens are kept).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use tessera_core::events::{Actor, Event, EventKind, Target};
use tessera_core::federation::{FederationStore, IdentityProvider, LinkedIdentity};
use tessera_core::store::TenantStore;
use tessera_core::tenant::Tenant;
use tessera_core::{StoreError, UserId};
use tessera_federation::flow::{Credentials, Upstream, refresh};

use super::{HttpTransport, provider_config, unix_now};
use crate::app::Services;
use crate::state::AppState;

/// The scope an application needs to read its user's upstream tokens.
pub const SCOPE: &str = "federated_tokens";
/// Tokens this close to expiry are renewed before they are handed out.
const LEEWAY_SECS: i64 = 30;

/// What is handed out.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UpstreamToken {
    /// The provider's access token.
    pub access_token: String,
    pub token_type: &'static str,
    /// Unix seconds, when the provider said.
    pub expires_at: Option<i64>,
    pub scope: Option<String>,
    /// The provider's alias.
    pub provider: String,
    /// The token was renewed at the provider for this request.
    pub refreshed: bool,
}

/// Why no token can be handed out.
#[derive(Debug)]
pub enum TokenError {
    /// No such provider, or the account has no identity of it.
    NotLinked,
    /// The provider is not set to keep tokens, or none were kept yet.
    NotKept,
    /// The kept token expired and there is no refresh token to renew it.
    Expired,
    /// The provider refused or failed the renewal.
    Upstream(String),
    Store(StoreError),
}

impl From<StoreError> for TokenError {
    fn from(e: StoreError) -> Self {
        TokenError::Store(e)
    }
}

impl TokenError {
    fn message(&self) -> String {
        match self {
            TokenError::NotLinked => {
                "the account has no identity of this provider (or there is no such provider)".into()
            }
            TokenError::NotKept => {
                "no tokens are kept for this identity: turn on store_tokens for the provider, and the person signs in with it once".into()
            }
            TokenError::Expired => {
                "the kept token expired and the provider gave no refresh token: the person signs in with the provider again".into()
            }
            TokenError::Upstream(e) => format!(
                "the provider refused to renew the token ({e}): the person signs in with the provider again"
            ),
            TokenError::Store(e) => format!("the tokens could not be read: {e}"),
        }
    }
}

async fn linked(
    state: &AppState,
    tenant: &Tenant,
    user: UserId,
    alias: &str,
) -> Result<(IdentityProvider, LinkedIdentity), TokenError> {
    let store = &state.services.store;
    let provider = store
        .find_identity_provider(tenant.id, alias)
        .await?
        .ok_or(TokenError::NotLinked)?;
    let link = store
        .list_linked_identities(tenant.id, user)
        .await?
        .into_iter()
        .find(|l| l.provider_id == provider.id)
        .ok_or(TokenError::NotLinked)?;
    Ok((provider, link))
}

/// The identity's current upstream access token, renewed first when needed.
pub async fn current(
    state: &AppState,
    tenant: &Tenant,
    user: UserId,
    alias: &str,
    to: &str,
) -> Result<UpstreamToken, TokenError> {
    let (provider, link) = linked(state, tenant, user, alias).await?;
    let config = provider_config(&provider).map_err(TokenError::Upstream)?;
    let kept = link
        .tokens
        .clone()
        .filter(|_| config.store_tokens)
        .ok_or(TokenError::NotKept)?;
    let text = |k: &str| kept.get(k).and_then(Value::as_str).map(str::to_string);
    let now = unix_now();
    let expires_at = kept.get("expires_at").and_then(Value::as_i64);
    let fresh = expires_at.is_none_or(|e| e > now + LEEWAY_SECS);
    let (token, refreshed) = match text("access_token") {
        Some(access_token) if fresh => (
            UpstreamToken {
                access_token,
                token_type: "Bearer",
                expires_at,
                scope: text("scope"),
                provider: provider.alias.clone(),
                refreshed: false,
            },
            false,
        ),
        _ => {
            let refresh_token = text("refresh_token").ok_or(TokenError::Expired)?;
            let transport = HttpTransport(&state.http);
            let endpoints = state
                .federation
                .providers
                .endpoints(&config, &transport, now)
                .await
                .map_err(|e| TokenError::Upstream(e.to_string()))?;
            let up = Upstream {
                config: &config,
                credentials: match &provider.client_secret {
                    Some(s) => Credentials::Secret(s),
                    None => Credentials::None,
                },
                transport: &transport,
                cache: &state.federation.providers,
                now,
            };
            let t = refresh(&up, &endpoints, &refresh_token)
                .await
                .map_err(|e| TokenError::Upstream(e.to_string()))?;
            let expires_at = t
                .expires_in
                .map(|s| now.saturating_add(s.clamp(0, 10 * 365 * 86400)));
            let scope = t.scope.clone().or_else(|| text("scope"));
            let renewed = json!({
                "access_token": t.access_token,
                // A provider that does not rotate refresh tokens keeps the one it gave.
                "refresh_token": t.refresh_token.clone().unwrap_or(refresh_token),
                "expires_at": expires_at,
                "scope": scope,
            });
            state
                .services
                .store
                .update_linked_identity_tokens(tenant.id, link.id, &renewed)
                .await?;
            (
                UpstreamToken {
                    access_token: t.access_token,
                    token_type: "Bearer",
                    expires_at,
                    scope,
                    provider: provider.alias.clone(),
                    refreshed: true,
                },
                true,
            )
        }
    };
    let kind = EventKind::FederationTokenRead {
        provider: provider.alias.clone(),
        to: to.into(),
        refreshed,
    };
    let actor = if to == "operator" {
        Actor::system()
    } else {
        Actor::user(user)
    };
    let ev = Event::new(tenant.id, Services::now(), kind, actor)
        .target(Target::new("user", user))
        .subject(user);
    state.services.emit(ev).await;
    Ok(token)
}

/// Maps a refusal onto the admin API's errors.
pub fn api_error(e: TokenError) -> crate::error::ApiError {
    use crate::error::ApiError;
    match e {
        TokenError::NotLinked => ApiError::NotFound(e.message()),
        TokenError::NotKept | TokenError::Expired | TokenError::Upstream(_) => {
            ApiError::Conflict(e.message())
        }
        TokenError::Store(s) => ApiError::from(s),
    }
}

/// RFC 6750 §3: a bearer-token error with its `WWW-Authenticate` challenge.
fn bearer_error(status: StatusCode, code: &str, description: &str) -> Response {
    let challenge = format!(
        "Bearer error=\"{code}\", error_description=\"{description}\"{}",
        if code == "insufficient_scope" {
            format!(", scope=\"{SCOPE}\"")
        } else {
            String::new()
        }
    );
    let mut r = (
        status,
        Json(json!({"error": code, "error_description": description})),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

/// `GET {issuer}/federation/{alias}/token`: an application reads its user's upstream token with
/// an access token of scope `federated_tokens` (issued to it for that user).
pub async fn for_application(
    State(state): State<AppState>,
    Path((slug, alias)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let found = if tessera_core::tenant::validate_slug(&slug).is_ok() {
        state.services.store.get_tenant_by_slug(&slug).await
    } else {
        Ok(None)
    };
    let tenant = match found {
        Ok(Some(t)) => t,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({"error": "not_found", "error_description": "unknown tenant"})),
            )
                .into_response();
        }
        Err(e) => {
            tracing::error!(error = %e, "tenant lookup failed");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "temporarily_unavailable", "error_description": "the database did not answer; try again"})),
            )
                .into_response();
        }
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(token) = presented else {
        let mut r = StatusCode::UNAUTHORIZED.into_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    };
    let Some(claims) = crate::oidc::access::active_access_token(&state, &tenant, token).await
    else {
        return bearer_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is invalid, expired or revoked",
        );
    };
    let scopes = claims.get("scope").and_then(Value::as_str).unwrap_or("");
    if !scopes.split(' ').any(|s| s == SCOPE) {
        return bearer_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the access token lacks the federated_tokens scope",
        );
    }
    let Some(user) = claims
        .get("sub")
        .and_then(Value::as_str)
        .and_then(UserId::parse)
    else {
        return bearer_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the access token does not stand for a user",
        );
    };
    let client = claims
        .get("client_id")
        .or_else(|| claims.get("azp"))
        .and_then(Value::as_str)
        .unwrap_or("application")
        .to_string();
    match current(&state, &tenant, user, &alias, &client).await {
        Ok(t) => {
            let mut r = Json(t).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(TokenError::Store(e)) => {
            tracing::error!(error = %e, "kept upstream tokens could not be read");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "temporarily_unavailable", "error_description": "the database did not answer; try again"})),
            )
                .into_response()
        }
        Err(e) => {
            let status = if matches!(e, TokenError::NotLinked) {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::CONFLICT
            };
            (
                status,
                Json(json!({"error": "token_unavailable", "error_description": e.message()})),
            )
                .into_response()
        }
    }
}
