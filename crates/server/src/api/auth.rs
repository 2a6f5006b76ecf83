//! Admin API authentication and the authorization rules every handler applies: the caller's
//! scope, and which tenants it reaches. Two kinds of bearer credentials are accepted:
//! - API keys (`tsk_…`), read or write, of any tenant;
//! - OAuth access tokens issued by the `admin` tenant carrying the scope `admin:read` or
//!   `admin:write` (client credentials for automation, authorization code for people).

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use tessera_core::apikey::{API_KEY_PREFIX, AdminResource, AdminRole, ApiKey, ApiScope};
use tessera_core::events::{Actor, ActorKind};
use tessera_core::store::{TenantStore, UserStore};
use tessera_core::tenant::{ADMIN_TENANT, Tenant};
use tessera_core::{TenantId, UserId};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// OAuth scopes of the admin API.
pub const SCOPE_ADMIN_READ: &str = "admin:read";
pub const SCOPE_ADMIN_WRITE: &str = "admin:write";

/// The authenticated caller of an admin API request.
pub struct Operator {
    /// The tenant the credential belongs to.
    pub home_tenant: TenantId,
    pub scopes: Vec<ApiScope>,
    /// The built-in admin role that bounds what the credential may do.
    pub role: AdminRole,
    /// Credentials of the `admin` tenant administer the whole deployment.
    pub deployment_admin: bool,
    /// Who is acting: an API key id, a client id or a user id.
    pub actor: String,
    pub actor_kind: ActorKind,
}

fn allows(scopes: &[ApiScope], needed: ApiScope) -> bool {
    scopes.contains(&needed) || (needed == ApiScope::Read && scopes.contains(&ApiScope::Write))
}

async fn from_access_token(state: &AppState, token: &str) -> Result<Option<Operator>, ApiError> {
    let Some(admin) = state
        .services
        .store
        .get_tenant_by_slug(ADMIN_TENANT)
        .await?
    else {
        return Ok(None);
    };
    let Some(claims) = crate::oidc::access::active_access_token(state, &admin, token).await else {
        return Ok(None);
    };
    let granted: Vec<&str> = claims
        .get("scope")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .split(' ')
        .collect();
    let mut scopes = Vec::new();
    if granted.contains(&SCOPE_ADMIN_READ) {
        scopes.push(ApiScope::Read);
    }
    if granted.contains(&SCOPE_ADMIN_WRITE) {
        scopes.push(ApiScope::Write);
    }
    let sub = claims
        .get("sub")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    // A person's token stays valid only while the operator account is active.
    if let Some(user) = UserId::parse(&sub) {
        match state.services.store.get_user(admin.id, user).await? {
            Some(u) if u.can_sign_in() => {}
            _ => return Ok(None),
        }
    }
    let actor_kind = if UserId::parse(&sub).is_some() {
        ActorKind::User
    } else {
        ActorKind::Client
    };
    let role = if scopes.contains(&ApiScope::Write) {
        AdminRole::Operator
    } else {
        AdminRole::Auditor
    };
    Ok(Some(Operator {
        home_tenant: admin.id,
        scopes,
        role,
        deployment_admin: true,
        actor: sub,
        actor_kind,
    }))
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
                ApiError::Unauthorized(
                    "send an API key or an admin access token: Authorization: Bearer …".into(),
                )
            })?;
        if !presented.starts_with(API_KEY_PREFIX) {
            return from_access_token(state, presented).await?.ok_or_else(|| {
                ApiError::Unauthorized("the access token is invalid, expired or revoked".into())
            });
        }
        let key: ApiKey = state
            .services
            .authenticate_api_key(presented)
            .await?
            .ok_or_else(|| {
                ApiError::Unauthorized("the API key is invalid, expired or revoked".into())
            })?;
        let home = state.services.store.get_tenant(key.tenant_id).await?;
        let deployment_admin = home.as_ref().is_some_and(Tenant::is_admin);
        Ok(Operator {
            home_tenant: key.tenant_id,
            scopes: key.scopes.clone(),
            role: key.effective_role(deployment_admin),
            deployment_admin,
            actor: key.id.to_string(),
            actor_kind: ActorKind::ApiKey,
        })
    }
}

impl Operator {
    /// The actor recorded in audit events.
    pub fn actor(&self) -> Actor {
        Actor {
            kind: self.actor_kind,
            id: Some(self.actor.clone()),
        }
    }

    pub fn require(&self, scope: ApiScope) -> ApiResult<()> {
        if allows(&self.scopes, scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this credential lacks the \"{}\" scope",
                scope.as_str()
            )))
        }
    }

    /// Creating and deleting tenants: the deployment operator only.
    pub fn require_deployment_admin(&self) -> ApiResult<()> {
        if self.deployment_admin && self.role == AdminRole::Operator {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "only the deployment operator (a write credential of the admin tenant) may do this"
                    .into(),
            ))
        }
    }

    /// Loads the tenant named in the path if this key may reach it. A tenant the key may not
    /// reach answers exactly like a missing one, so keys cannot probe for other tenants.
    /// The check also applies the credential's admin role to `resource` (least privilege).
    pub async fn tenant(
        &self,
        state: &AppState,
        slug: &str,
        resource: AdminResource,
        scope: ApiScope,
    ) -> ApiResult<Tenant> {
        self.require(scope)?;
        if !self.role.allows(resource, scope == ApiScope::Write) {
            return Err(ApiError::Forbidden(format!(
                "the {} role may not {} {}",
                self.role.as_str(),
                if scope == ApiScope::Write {
                    "change"
                } else {
                    "read"
                },
                resource_name(resource)
            )));
        }
        let tenant = if tessera_core::tenant::validate_slug(slug).is_ok() {
            state.services.store.get_tenant_by_slug(slug).await?
        } else {
            None
        };
        match tenant {
            Some(t) if self.deployment_admin || t.id == self.home_tenant => Ok(t),
            _ => Err(ApiError::not_found("tenant")),
        }
    }
}

fn resource_name(r: AdminResource) -> &'static str {
    match r {
        AdminResource::Tenants => "tenants",
        AdminResource::Users => "users",
        AdminResource::Groups => "groups",
        AdminResource::Sessions => "sessions",
        AdminResource::Clients => "applications",
        AdminResource::Roles => "roles",
        AdminResource::Assignments => "role assignments",
        AdminResource::Authz => "authorization decisions",
        AdminResource::Audit => "the audit trail",
        AdminResource::Webhooks => "webhooks",
        AdminResource::Privacy => "privacy",
        AdminResource::Analytics => "analytics",
    }
}
