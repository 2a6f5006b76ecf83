//! Roles, permissions and assignments.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::condition::Condition;
use crate::tenant::validate_display_name;
use crate::{AssignmentId, CoreError, GroupId, RoleId, TenantId, Timestamp, UserId};

/// A named bundle of permissions, possibly including other roles (composite).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub id: RoleId,
    pub tenant_id: TenantId,
    pub name: String,
    pub description: Option<String>,
    /// The application (client id) the role belongs to; `None` for tenant-wide roles.
    pub application: Option<String>,
    pub permissions: BTreeSet<String>,
    /// Roles whose permissions this role includes.
    pub composites: BTreeSet<RoleId>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: Timestamp,
}

impl Role {
    pub fn create(
        tenant_id: TenantId,
        name: &str,
        application: Option<String>,
        permissions: Vec<String>,
        now: Timestamp,
    ) -> Result<Role, CoreError> {
        let name = validate_display_name("name", name)?;
        let mut set = BTreeSet::new();
        for p in permissions {
            set.insert(validate_permission(&p)?);
        }
        Ok(Role {
            id: RoleId::new(),
            tenant_id,
            name,
            description: None,
            application,
            permissions: set,
            composites: BTreeSet::new(),
            created_at: now,
            updated_at: now,
        })
    }
}

/// Who holds a role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Principal {
    User(UserId),
    Group(GroupId),
}

/// A role given to a user or a group, optionally limited in time or by a condition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssignment {
    pub id: AssignmentId,
    pub tenant_id: TenantId,
    pub role_id: RoleId,
    pub principal: Principal,
    #[serde(with = "time::serde::rfc3339::option")]
    pub valid_from: Option<Timestamp>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub valid_until: Option<Timestamp>,
    pub condition: Option<Condition>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
}

impl RoleAssignment {
    /// Whether the assignment's time window contains `now`.
    pub fn in_window(&self, now: Timestamp) -> bool {
        self.valid_from.is_none_or(|f| f <= now) && self.valid_until.is_none_or(|u| now < u)
    }

    pub fn validate(&self) -> Result<(), CoreError> {
        if let (Some(f), Some(u)) = (self.valid_from, self.valid_until)
            && u <= f
        {
            return Err(CoreError::invalid(
                "valid_until",
                "must be after valid_from",
            ));
        }
        if let Some(c) = &self.condition {
            c.validate()?;
        }
        Ok(())
    }
}

/// A joiner/mover/leaver rule: users whose attribute equals the value hold the role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleRule {
    pub attribute: String,
    pub equals: serde_json::Value,
    pub role_id: RoleId,
}

/// Permissions are `resource:action` (lowercase letters, digits, `_ . -`); the action may be `*`
/// (every action on the resource). Returns the permission trimmed.
pub fn validate_permission(p: &str) -> Result<String, CoreError> {
    let p = p.trim();
    let part_ok = |s: &str, wildcard: bool| {
        !s.is_empty()
            && s.len() <= 64
            && (s == "*" && wildcard
                || s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b)))
    };
    match p.split_once(':') {
        Some((res, act)) if part_ok(res, false) && part_ok(act, true) && !act.contains(':') => {
            Ok(p.to_string())
        }
        _ => Err(CoreError::invalid(
            "permissions",
            format!(
                "\"{}\" is not a permission; use resource:action, e.g. invoices:read or invoices:*",
                p.escape_default()
            ),
        )),
    }
}

/// Whether a granted permission covers the asked one (`invoices:*` covers `invoices:read`).
pub fn permission_matches(granted: &str, asked: &str) -> bool {
    if granted == asked {
        return true;
    }
    match (granted.split_once(':'), asked.split_once(':')) {
        (Some((gr, "*")), Some((ar, _))) => gr == ar,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_syntax_and_wildcards() {
        for ok in [
            "invoices:read",
            "payments:approve",
            "billing.v2:export-csv",
            "invoices:*",
        ] {
            assert!(validate_permission(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "invoices",
            ":read",
            "invoices:",
            "Invoices:read",
            "*:read",
            "a:b:c",
            "in voices:read",
        ] {
            assert!(validate_permission(bad).is_err(), "{bad}");
        }
        assert!(permission_matches("invoices:*", "invoices:read"));
        assert!(!permission_matches("invoices:*", "payments:read"));
        assert!(!permission_matches("invoices:read", "invoices:*"));
    }
}
