//! Admin API authentication (bearer API keys) and the authorization rules every handler applies:
//! the key's scope, and which tenants it reaches.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use tessera_core::apikey::{ApiKey, ApiScope};
use tessera_core::store::TenantStore;
use tessera_core::tenant::Tenant;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The authenticated caller of an admin API request.
pub struct Operator {
    pub key: ApiKey,
    /// Keys of the `admin` tenant administer the whole deployment.
    pub deployment_admin: bool,
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::Unauthorized("send an API key: Authorization: Bearer tsk_...".into())
            })?;
        let key = state
            .services
            .authenticate_api_key(presented)
            .await?
            .ok_or_else(|| {
                ApiError::Unauthorized("the API key is invalid, expired or revoked".into())
            })?;
        let home = state.services.store.get_tenant(key.tenant_id).await?;
        let deployment_admin = home.as_ref().is_some_and(Tenant::is_admin);
        Ok(Operator {
            key,
            deployment_admin,
        })
    }
}

impl Operator {
    pub fn require(&self, scope: ApiScope) -> ApiResult<()> {
        if self.key.allows(scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this API key lacks the \"{}\" scope",
                scope.as_str()
            )))
        }
    }

    pub fn require_deployment_admin(&self) -> ApiResult<()> {
        if self.deployment_admin {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "only API keys of the admin tenant may do this".into(),
            ))
        }
    }

    /// Loads the tenant named in the path if this key may reach it. A tenant the key may not
    /// reach answers exactly like a missing one, so keys cannot probe for other tenants.
    pub async fn tenant(&self, state: &AppState, slug: &str, scope: ApiScope) -> ApiResult<Tenant> {
        self.require(scope)?;
        let tenant = if tessera_core::tenant::validate_slug(slug).is_ok() {
            state.services.store.get_tenant_by_slug(slug).await?
        } else {
            None
        };
        match tenant {
            Some(t) if self.deployment_admin || t.id == self.key.tenant_id => Ok(t),
            _ => Err(ApiError::not_found("tenant")),
        }
    }
}
