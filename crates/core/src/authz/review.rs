//! Access reviews (least privilege): which grants give a permission, and which grants nobody
//! uses. Pure functions over the [`AuthzGraph`]; the server adds who is in each group and when
//! each permission was last used.

use std::collections::{BTreeMap, BTreeSet};

use super::effective::AuthzGraph;
use super::model::{Principal, RoleAssignment, permission_matches};
use crate::{GroupId, RoleId, Timestamp};

/// The roles that grant `permission`, directly or by including (composites) a role that does.
pub fn roles_granting(graph: &AuthzGraph, permission: &str) -> BTreeSet<RoleId> {
    let direct: BTreeSet<RoleId> = graph
        .roles
        .values()
        .filter(|r| {
            r.permissions
                .iter()
                .any(|p| permission_matches(p, permission))
        })
        .map(|r| r.id)
        .collect();
    // A role grants the permission when any role it includes (transitively) does.
    let mut out = direct.clone();
    let mut changed = true;
    while changed {
        changed = false;
        for r in graph.roles.values() {
            if !out.contains(&r.id) && r.composites.iter().any(|c| out.contains(c)) {
                out.insert(r.id);
                changed = true;
            }
        }
    }
    out
}

/// Every permission a role grants, its composites included.
pub fn role_permissions(graph: &AuthzGraph, role: RoleId) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut stack = vec![role];
    while let Some(r) = stack.pop() {
        if !seen.insert(r) {
            continue;
        }
        if let Some(role) = graph.roles.get(&r) {
            out.extend(role.permissions.iter().cloned());
            stack.extend(role.composites.iter().copied());
        }
    }
    out
}

/// The assignments that give `permission` (in their time window at `now` or not: a review also
/// shows grants that start later or have lapsed but were not removed).
pub fn assignments_granting<'a>(
    graph: &'a AuthzGraph,
    permission: &str,
) -> Vec<&'a RoleAssignment> {
    let roles = roles_granting(graph, permission);
    graph
        .assignments
        .iter()
        .filter(|a| roles.contains(&a.role_id))
        .collect()
}

/// A group and every group nested in it (its members hold what is assigned to it).
pub fn group_and_descendants(graph: &AuthzGraph, group: GroupId) -> BTreeSet<GroupId> {
    let mut children: BTreeMap<GroupId, Vec<GroupId>> = BTreeMap::new();
    for (child, parents) in &graph.group_parents {
        for p in parents {
            children.entry(*p).or_default().push(*child);
        }
    }
    let mut out = BTreeSet::new();
    let mut stack = vec![group];
    while let Some(g) = stack.pop() {
        if out.insert(g) {
            stack.extend(children.get(&g).into_iter().flatten().copied());
        }
    }
    out
}

/// Whether an assignment is unused: older than `cutoff`, and none of its holders used any of
/// the role's permissions since `cutoff` (`last_used` is the latest use among its holders).
pub fn is_unused(
    assignment: &RoleAssignment,
    last_used: Option<Timestamp>,
    cutoff: Timestamp,
) -> bool {
    assignment.created_at < cutoff && last_used.is_none_or(|t| t < cutoff)
}

/// The principal of an assignment, as the review shows it.
pub fn principal_label(p: &Principal) -> (&'static str, String) {
    match p {
        Principal::User(u) => ("user", u.to_string()),
        Principal::Group(g) => ("group", g.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::model::Role;
    use crate::{AssignmentId, TenantId, UserId};

    fn t() -> Timestamp {
        time::macros::datetime!(2026-01-01 0:00 UTC)
    }

    fn role(tenant: TenantId, name: &str, perms: &[&str], composites: &[RoleId]) -> Role {
        let mut r = Role::create(
            tenant,
            name,
            None,
            perms.iter().map(|p| p.to_string()).collect(),
            t(),
        )
        .unwrap();
        r.composites = composites.iter().copied().collect();
        r
    }

    #[test]
    fn composites_wildcards_nesting_and_unused() {
        let tenant = TenantId::new();
        let reader = role(tenant, "reader", &["invoices:read"], &[]);
        let admin = role(tenant, "admin", &["invoices:*"], &[]);
        let lead = role(tenant, "lead", &[], &[reader.id]);
        let other = role(tenant, "other", &["payroll:read"], &[]);
        let mut g = AuthzGraph::default();
        for r in [&reader, &admin, &lead, &other] {
            g.roles.insert(r.id, r.clone());
        }
        let granting = roles_granting(&g, "invoices:read");
        assert!(granting.contains(&reader.id));
        assert!(granting.contains(&admin.id));
        assert!(granting.contains(&lead.id));
        assert!(!granting.contains(&other.id));
        assert!(role_permissions(&g, lead.id).contains("invoices:read"));

        let parent = GroupId::new();
        let child = GroupId::new();
        g.group_parents.insert(child, vec![parent]);
        assert_eq!(
            group_and_descendants(&g, parent),
            [parent, child].into_iter().collect()
        );

        let a = RoleAssignment {
            id: AssignmentId::new(),
            tenant_id: tenant,
            role_id: lead.id,
            principal: Principal::User(UserId::new()),
            valid_from: None,
            valid_until: None,
            condition: None,
            created_at: t(),
        };
        g.assignments.push(a.clone());
        assert_eq!(assignments_granting(&g, "invoices:read").len(), 1);
        assert!(assignments_granting(&g, "payroll:read").is_empty());
        let cutoff = t() + time::Duration::days(90);
        assert!(is_unused(&a, None, cutoff));
        assert!(is_unused(&a, Some(t()), cutoff));
        assert!(!is_unused(&a, Some(cutoff), cutoff));
        assert!(
            !is_unused(&a, None, t()),
            "a new assignment is not unused yet"
        );
    }
}
