//! Admin API keys: bearer credentials for automation, stored hashed, with read/write scopes.

use serde::{Deserialize, Serialize};

use crate::{ApiKeyId, CoreError, TenantId, Timestamp};

/// Every API key starts with this, so leaked keys are easy to spot by secret scanners.
pub const API_KEY_PREFIX: &str = "tsk_";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiScope {
    Read,
    Write,
}

impl ApiScope {
    pub fn parse(s: &str) -> Result<ApiScope, CoreError> {
        match s {
            "read" => Ok(ApiScope::Read),
            "write" => Ok(ApiScope::Write),
            _ => Err(CoreError::invalid("scope", "must be \"read\" or \"write\"")),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::Read => "read",
            ApiScope::Write => "write",
        }
    }
}

/// Built-in administrator roles (delegated administration, least privilege).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminRole {
    /// Everything, in every tenant (credentials of the `admin` tenant only).
    Operator,
    /// Everything within its own tenant (not creating or deleting tenants).
    TenantAdmin,
    /// Users, groups, memberships and sessions of its tenant; reads the rest of the directory.
    /// Cannot create roles or assign them, so it can never grant a permission.
    UserManager,
    /// Reads everything of its tenant, including the audit trail; changes nothing.
    Auditor,
    /// Applications (clients) and their roles; reads tenant settings.
    AppOwner,
}

/// What an admin API call touches, for the role matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminResource {
    Tenants,
    Users,
    Groups,
    Sessions,
    Clients,
    Roles,
    Assignments,
    Authz,
    Audit,
    Webhooks,
    /// Purposes, policy documents, consent records and communication preferences.
    Privacy,
    /// Anonymized, aggregated statistics of the tenant (k-anonymous counts, no personal data).
    Analytics,
}

impl AdminRole {
    pub fn parse(s: &str) -> Result<AdminRole, CoreError> {
        match s {
            "operator" => Ok(AdminRole::Operator),
            "tenant_admin" => Ok(AdminRole::TenantAdmin),
            "user_manager" => Ok(AdminRole::UserManager),
            "auditor" => Ok(AdminRole::Auditor),
            "app_owner" => Ok(AdminRole::AppOwner),
            _ => Err(CoreError::invalid(
                "role",
                "must be operator, tenant_admin, user_manager, auditor or app_owner",
            )),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            AdminRole::Operator => "operator",
            AdminRole::TenantAdmin => "tenant_admin",
            AdminRole::UserManager => "user_manager",
            AdminRole::Auditor => "auditor",
            AdminRole::AppOwner => "app_owner",
        }
    }

    /// The role matrix: may this role read (`write == false`) or change the resource?
    pub fn allows(self, resource: AdminResource, write: bool) -> bool {
        use AdminResource::*;
        match self {
            AdminRole::Operator | AdminRole::TenantAdmin => true,
            AdminRole::Auditor => !write,
            AdminRole::UserManager => match resource {
                Users | Groups | Sessions => true,
                Tenants | Roles | Assignments | Authz | Clients => !write,
                Audit | Webhooks | Analytics => false,
                // Consent records are proof about people: a user manager reads them, and
                // records consents given through another channel (a call centre).
                Privacy => true,
            },
            AdminRole::AppOwner => match resource {
                Clients | Roles => true,
                Tenants | Authz => !write,
                Users | Groups | Sessions | Assignments | Audit | Webhooks | Privacy
                | Analytics => false,
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub name: String,
    /// The first characters of the key, shown in listings to tell keys apart.
    pub display_prefix: String,
    #[serde(skip)]
    pub key_hash: String,
    pub scopes: Vec<ApiScope>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<Timestamp>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<Timestamp>,
    /// The built-in admin role; `None` for keys made before roles existed (then `write` acts as
    /// tenant admin, or operator for the `admin` tenant, and `read` as auditor).
    #[serde(default)]
    pub admin_role: Option<AdminRole>,
}

impl ApiKey {
    pub fn is_usable(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }

    /// The effective admin role of the key, given whether it belongs to the `admin` tenant.
    pub fn effective_role(&self, admin_tenant: bool) -> AdminRole {
        match self.admin_role {
            Some(AdminRole::Operator) if !admin_tenant => AdminRole::TenantAdmin,
            Some(r) => r,
            None if self.scopes.contains(&ApiScope::Write) => {
                if admin_tenant {
                    AdminRole::Operator
                } else {
                    AdminRole::TenantAdmin
                }
            }
            None => AdminRole::Auditor,
        }
    }

    /// Write implies read.
    pub fn allows(&self, needed: ApiScope) -> bool {
        self.scopes.contains(&needed)
            || (needed == ApiScope::Read && self.scopes.contains(&ApiScope::Write))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AdminResource::*;

    #[test]
    fn least_privilege_matrix() {
        assert!(AdminRole::Auditor.allows(Audit, false) && !AdminRole::Auditor.allows(Users, true));
        assert!(
            AdminRole::UserManager.allows(Users, true)
                && AdminRole::UserManager.allows(Groups, true)
        );
        // A user manager can never grant a permission: no role or assignment writes.
        assert!(
            !AdminRole::UserManager.allows(Assignments, true)
                && !AdminRole::UserManager.allows(Roles, true)
        );
        assert!(
            !AdminRole::UserManager.allows(Audit, false)
                && !AdminRole::UserManager.allows(Clients, true)
        );
        assert!(
            AdminRole::AppOwner.allows(Clients, true) && !AdminRole::AppOwner.allows(Users, false)
        );
        assert!(!AdminRole::AppOwner.allows(Assignments, true));
        // Analytics: the operator, the tenant administrator and the auditor read them.
        for (role, reads) in [
            (AdminRole::Operator, true),
            (AdminRole::TenantAdmin, true),
            (AdminRole::Auditor, true),
            (AdminRole::UserManager, false),
            (AdminRole::AppOwner, false),
        ] {
            assert_eq!(role.allows(Analytics, false), reads, "{role:?}");
        }
        for r in [
            "operator",
            "tenant_admin",
            "user_manager",
            "auditor",
            "app_owner",
        ] {
            assert_eq!(AdminRole::parse(r).unwrap().as_str(), r);
        }
    }
}
