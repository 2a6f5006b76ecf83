//! Effective permissions: what a user holds through direct assignments, nested groups and
//! composite roles, with the path that grants each permission (the explanation).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde::Serialize;

use super::condition::AccessContext;
use super::model::{Principal, Role, RoleAssignment, permission_matches};
use crate::{AssignmentId, GroupId, RoleId, Timestamp, UserId};

/// One hop in the explanation of a grant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Step {
    /// Membership of a group (directly, or of a group nested in it).
    Group { id: GroupId },
    /// A role assignment to the user or to one of their groups.
    Assignment { id: AssignmentId, role: RoleId },
    /// A role included in the previous role (composite).
    Role { id: RoleId },
    /// A tenant rule giving the role to users whose attribute has a value.
    Rule { attribute: String, role: RoleId },
}

/// The access data of one tenant, as loaded from the store.
#[derive(Clone, Debug, Default)]
pub struct AuthzGraph {
    pub roles: HashMap<RoleId, Role>,
    /// Group → the groups it is a member of (nested groups).
    pub group_parents: HashMap<GroupId, Vec<GroupId>>,
    pub assignments: Vec<RoleAssignment>,
    /// Attribute rules of the tenant (from its settings, not from the role tables).
    pub rules: Vec<super::model::RoleRule>,
}

/// The answer of a check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    /// A plain-words reason: which path allowed it, or why not.
    pub reason: String,
    /// The grant's path when allowed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<Step>,
}

impl AuthzGraph {
    /// Every group the user belongs to, directly or through nesting, with the membership path
    /// (shortest first: breadth-first).
    pub fn effective_groups(&self, direct: &[GroupId]) -> BTreeMap<GroupId, Vec<Step>> {
        let mut seen: BTreeMap<GroupId, Vec<Step>> = BTreeMap::new();
        let mut queue = VecDeque::new();
        for g in direct {
            if !seen.contains_key(g) {
                seen.insert(*g, vec![Step::Group { id: *g }]);
                queue.push_back(*g);
            }
        }
        while let Some(g) = queue.pop_front() {
            for parent in self.group_parents.get(&g).into_iter().flatten() {
                if !seen.contains_key(parent) {
                    let mut path = seen[&g].clone();
                    path.push(Step::Group { id: *parent });
                    seen.insert(*parent, path);
                    queue.push_back(*parent);
                }
            }
        }
        seen
    }

    /// Permission → the shortest path that grants it. Assignments outside their time window or
    /// whose condition fails in `ctx` grant nothing.
    /// The roles the user holds (through assignments, groups and composites).
    pub fn effective_roles(
        &self,
        user: UserId,
        direct_groups: &[GroupId],
        ctx: &AccessContext,
        now: Timestamp,
    ) -> BTreeSet<RoleId> {
        self.role_paths(user, direct_groups, ctx, now)
            .into_keys()
            .collect()
    }

    pub fn effective_permissions(
        &self,
        user: UserId,
        direct_groups: &[GroupId],
        ctx: &AccessContext,
        now: Timestamp,
        application: Option<&str>,
    ) -> BTreeMap<String, Vec<Step>> {
        let role_paths = self.role_paths(user, direct_groups, ctx, now);
        let mut out: BTreeMap<String, Vec<Step>> = BTreeMap::new();
        // Iterate roles by path length so each permission keeps its shortest path.
        let mut reached: Vec<(&RoleId, &Vec<Step>)> = role_paths.iter().collect();
        reached.sort_by_key(|(_, p)| p.len());
        for (rid, path) in reached {
            let role = &self.roles[rid];
            if let Some(app) = application
                && role.application.as_deref().is_some_and(|a| a != app)
            {
                continue;
            }
            for p in &role.permissions {
                out.entry(p.clone()).or_insert_with(|| path.clone());
            }
        }
        out
    }

    /// The permissions a user holds through the roles of one application and the roles those
    /// include (what that application's tokens carry).
    pub fn application_permissions(
        &self,
        user: UserId,
        direct_groups: &[GroupId],
        ctx: &AccessContext,
        now: Timestamp,
        application: &str,
    ) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut stack: Vec<RoleId> = self
            .role_paths(user, direct_groups, ctx, now)
            .into_keys()
            .filter(|r| {
                self.roles
                    .get(r)
                    .is_some_and(|role| role.application.as_deref() == Some(application))
            })
            .collect();
        while let Some(r) = stack.pop() {
            if !seen.insert(r) {
                continue;
            }
            if let Some(role) = self.roles.get(&r) {
                out.extend(role.permissions.iter().cloned());
                stack.extend(role.composites.iter().copied());
            }
        }
        out
    }

    /// Role → the shortest path that reaches it.
    fn role_paths(
        &self,
        user: UserId,
        direct_groups: &[GroupId],
        ctx: &AccessContext,
        now: Timestamp,
    ) -> BTreeMap<RoleId, Vec<Step>> {
        let groups = self.effective_groups(direct_groups);
        let in_group = |g: GroupId| groups.contains_key(&g);
        // Roles reached, breadth-first from the applicable assignments.
        let mut role_paths: BTreeMap<RoleId, Vec<Step>> = BTreeMap::new();
        let mut queue: VecDeque<RoleId> = VecDeque::new();
        let mut starts: Vec<(Vec<Step>, &RoleAssignment)> = Vec::new();
        for a in &self.assignments {
            let prefix = match a.principal {
                Principal::User(u) if u == user => Vec::new(),
                Principal::Group(g) => match groups.get(&g) {
                    Some(p) => p.clone(),
                    None => continue,
                },
                _ => continue,
            };
            if !a.in_window(now) {
                continue;
            }
            if let Some(c) = &a.condition
                && c.holds(ctx, &in_group, now).is_err()
            {
                continue;
            }
            starts.push((prefix, a));
        }
        // Shorter prefixes first, so the recorded path is a shortest one.
        starts.sort_by_key(|(p, _)| p.len());
        for (prefix, a) in starts {
            if role_paths.contains_key(&a.role_id) || !self.roles.contains_key(&a.role_id) {
                continue;
            }
            let mut path = prefix;
            path.push(Step::Assignment {
                id: a.id,
                role: a.role_id,
            });
            role_paths.insert(a.role_id, path);
            queue.push_back(a.role_id);
        }
        // Attribute rules (joiner/mover/leaver): evaluated on the user's attributes now, so a
        // changed department changes the roles at the next check, with nothing to re-run.
        for rule in &self.rules {
            if role_paths.contains_key(&rule.role_id) || !self.roles.contains_key(&rule.role_id) {
                continue;
            }
            if ctx.attributes.get(&rule.attribute) == Some(&rule.equals) {
                let step = Step::Rule {
                    attribute: rule.attribute.clone(),
                    role: rule.role_id,
                };
                role_paths.insert(rule.role_id, vec![step]);
                queue.push_back(rule.role_id);
            }
        }
        while let Some(r) = queue.pop_front() {
            let Some(role) = self.roles.get(&r) else {
                continue;
            };
            for c in &role.composites {
                if !role_paths.contains_key(c) && self.roles.contains_key(c) {
                    let mut path = role_paths[&r].clone();
                    path.push(Step::Role { id: *c });
                    role_paths.insert(*c, path);
                    queue.push_back(*c);
                }
            }
        }
        role_paths
    }

    /// Decides whether the user holds `permission` (wildcards granted as `resource:*` count).
    pub fn check(
        &self,
        user: UserId,
        direct_groups: &[GroupId],
        ctx: &AccessContext,
        now: Timestamp,
        permission: &str,
    ) -> Decision {
        let perms = self.effective_permissions(user, direct_groups, ctx, now, None);
        let best = perms
            .iter()
            .filter(|(g, _)| permission_matches(g, permission))
            .min_by_key(|(_, path)| path.len());
        match best {
            Some((granted, path)) => Decision {
                allowed: true,
                reason: if granted == permission {
                    format!("granted through {} step(s)", path.len())
                } else {
                    format!("granted by \"{granted}\" through {} step(s)", path.len())
                },
                path: path.clone(),
            },
            None => {
                // Say why when a conditional or time-bound assignment would have granted it.
                let reason = self.denial_reason(user, direct_groups, ctx, now, permission);
                Decision {
                    allowed: false,
                    reason,
                    path: Vec::new(),
                }
            }
        }
    }

    fn denial_reason(
        &self,
        user: UserId,
        direct_groups: &[GroupId],
        ctx: &AccessContext,
        now: Timestamp,
        permission: &str,
    ) -> String {
        let groups = self.effective_groups(direct_groups);
        let in_group = |g: GroupId| groups.contains_key(&g);
        for a in &self.assignments {
            let applies = match a.principal {
                Principal::User(u) => u == user,
                Principal::Group(g) => groups.contains_key(&g),
            };
            if !applies || !self.role_grants(a.role_id, permission) {
                continue;
            }
            if !a.in_window(now) {
                return "an assignment would grant it, but not at this time (outside its validity window)".into();
            }
            if let Some(c) = &a.condition
                && let Err(why) = c.holds(ctx, &in_group, now)
            {
                return format!(
                    "an assignment would grant it, but its condition is not met: {why}"
                );
            }
        }
        "no role assigned to the user or their groups grants this permission".into()
    }

    fn role_grants(&self, role: RoleId, permission: &str) -> bool {
        let mut seen = BTreeSet::new();
        let mut stack = vec![role];
        while let Some(r) = stack.pop() {
            if !seen.insert(r) {
                continue;
            }
            if let Some(role) = self.roles.get(&r) {
                if role
                    .permissions
                    .iter()
                    .any(|g| permission_matches(g, permission))
                {
                    return true;
                }
                stack.extend(role.composites.iter().copied());
            }
        }
        false
    }
}

/// Whether adding the edge `from → to` to a directed graph (composite roles, nested groups) would
/// close a cycle: it does exactly when `from` is reachable from `to` (or they are equal).
pub fn creates_cycle<T: Copy + Eq + std::hash::Hash + Ord>(
    edges: &HashMap<T, Vec<T>>,
    from: T,
    to: T,
) -> bool {
    if from == to {
        return true;
    }
    let mut seen = BTreeSet::new();
    let mut stack = vec![to];
    while let Some(n) = stack.pop() {
        if n == from {
            return true;
        }
        if seen.insert(n) {
            stack.extend(edges.get(&n).into_iter().flatten().copied());
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TenantId;
    use crate::authz::condition::{Clause, Condition};
    use proptest::prelude::*;
    use time::macros::datetime;

    const NOW: Timestamp = datetime!(2026-06-01 12:00 UTC);

    fn role(tenant: TenantId, id: RoleId, perms: &[&str], composites: &[RoleId]) -> Role {
        Role {
            id,
            tenant_id: tenant,
            name: format!("r{id}"),
            description: None,
            application: None,
            permissions: perms.iter().map(|s| s.to_string()).collect(),
            composites: composites.iter().copied().collect(),
            created_at: NOW,
            updated_at: NOW,
        }
    }

    fn assign(tenant: TenantId, role: RoleId, p: Principal) -> RoleAssignment {
        RoleAssignment {
            id: AssignmentId::new(),
            tenant_id: tenant,
            role_id: role,
            principal: p,
            valid_from: None,
            valid_until: None,
            condition: None,
            created_at: NOW,
        }
    }

    #[test]
    fn groups_composites_and_explanations() {
        let t = TenantId::new();
        let (base, dev, lead) = (RoleId::new(), RoleId::new(), RoleId::new());
        let (eng, all) = (GroupId::new(), GroupId::new());
        let alice = UserId::new();
        let mut g = AuthzGraph::default();
        g.roles.insert(base, role(t, base, &["wiki:read"], &[]));
        g.roles.insert(dev, role(t, dev, &["code:write"], &[base]));
        g.roles.insert(lead, role(t, lead, &["invoices:*"], &[]));
        g.group_parents.insert(eng, vec![all]);
        g.assignments.push(assign(t, dev, Principal::Group(all)));
        let mut temporary = assign(t, lead, Principal::User(alice));
        temporary.valid_until = Some(NOW - time::Duration::hours(1));
        g.assignments.push(temporary);

        let perms = g.effective_permissions(alice, &[eng], &AccessContext::default(), NOW, None);
        assert_eq!(
            perms.keys().cloned().collect::<Vec<_>>(),
            vec!["code:write", "wiki:read"]
        );
        // wiki:read comes through eng → all → assignment(dev) → composite base.
        let path = &perms["wiki:read"];
        assert_eq!(path.len(), 4);
        assert!(matches!(path[0], Step::Group { id } if id == eng));
        assert!(matches!(path[3], Step::Role { id } if id == base));

        let d = g.check(
            alice,
            &[eng],
            &AccessContext::default(),
            NOW,
            "invoices:write",
        );
        assert!(!d.allowed);
        assert!(d.reason.contains("validity window"), "{}", d.reason);
        assert!(
            g.check(alice, &[eng], &AccessContext::default(), NOW, "code:write")
                .allowed
        );
        assert!(
            !g.check(alice, &[], &AccessContext::default(), NOW, "code:write")
                .allowed
        );
    }

    #[test]
    fn conditions_gate_assignments() {
        let t = TenantId::new();
        let approver = RoleId::new();
        let bob = UserId::new();
        let mut g = AuthzGraph::default();
        g.roles
            .insert(approver, role(t, approver, &["payments:approve"], &[]));
        let mut a = assign(t, approver, Principal::User(bob));
        a.condition = Some(Condition {
            all_of: vec![Clause::MfaWithin { seconds: 900 }],
        });
        g.assignments.push(a);
        let weak = AccessContext {
            auth_time: Some(NOW),
            amr: vec!["pwd".into()],
            ..Default::default()
        };
        let strong = AccessContext {
            auth_time: Some(NOW - time::Duration::minutes(10)),
            amr: vec!["pwd".into(), "otp".into()],
            ..Default::default()
        };
        let d = g.check(bob, &[], &weak, NOW, "payments:approve");
        assert!(
            !d.allowed && d.reason.contains("second factor"),
            "{}",
            d.reason
        );
        assert!(g.check(bob, &[], &strong, NOW, "payments:approve").allowed);
    }

    #[test]
    fn attribute_rules_follow_the_user_as_they_move() {
        let t = TenantId::new();
        let finance = RoleId::new();
        let carol = UserId::new();
        let mut g = AuthzGraph::default();
        g.roles
            .insert(finance, role(t, finance, &["ledger:read"], &[]));
        g.rules.push(crate::authz::RoleRule {
            attribute: "department".into(),
            equals: "finance".into(),
            role_id: finance,
        });
        let in_finance = AccessContext {
            attributes: serde_json::json!({"department": "finance"}),
            ..Default::default()
        };
        let moved = AccessContext {
            attributes: serde_json::json!({"department": "sales"}),
            ..Default::default()
        };
        let d = g.check(carol, &[], &in_finance, NOW, "ledger:read");
        assert!(d.allowed);
        assert!(matches!(&d.path[0], Step::Rule { attribute, .. } if attribute == "department"));
        assert!(
            !g.check(carol, &[], &moved, NOW, "ledger:read").allowed,
            "a mover loses the role"
        );
    }

    #[test]
    fn cycles() {
        let mut edges: HashMap<u32, Vec<u32>> = HashMap::new();
        edges.insert(1, vec![2]);
        edges.insert(2, vec![3]);
        assert!(creates_cycle(&edges, 3, 1));
        assert!(creates_cycle(&edges, 1, 1));
        assert!(!creates_cycle(&edges, 1, 3));
        assert!(!creates_cycle(&edges, 4, 1));
    }

    /// The obviously-correct reference: iterate to a fixpoint over sets.
    fn naive(g: &AuthzGraph, user: UserId, direct: &[GroupId]) -> BTreeSet<String> {
        let mut groups: BTreeSet<GroupId> = direct.iter().copied().collect();
        loop {
            let before = groups.len();
            for gid in groups.clone() {
                for p in g.group_parents.get(&gid).into_iter().flatten() {
                    groups.insert(*p);
                }
            }
            if groups.len() == before {
                break;
            }
        }
        let mut roles: BTreeSet<RoleId> = g
            .assignments
            .iter()
            .filter(|a| a.in_window(NOW))
            .filter(|a| match a.principal {
                Principal::User(u) => u == user,
                Principal::Group(gr) => groups.contains(&gr),
            })
            .map(|a| a.role_id)
            .filter(|r| g.roles.contains_key(r))
            .collect();
        loop {
            let before = roles.len();
            for r in roles.clone() {
                for c in &g.roles[&r].composites {
                    if g.roles.contains_key(c) {
                        roles.insert(*c);
                    }
                }
            }
            if roles.len() == before {
                break;
            }
        }
        roles
            .iter()
            .flat_map(|r| g.roles[r].permissions.iter().cloned())
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn matches_the_naive_reference(
            role_perms in proptest::collection::vec(proptest::collection::vec(0u8..12, 0..4), 1..12),
            composite_edges in proptest::collection::vec((0usize..12, 0usize..12), 0..20),
            group_edges in proptest::collection::vec((0usize..8, 0usize..8), 0..14),
            assignments in proptest::collection::vec((0usize..12, 0usize..9, any::<bool>()), 0..12),
            direct in proptest::collection::vec(0usize..8, 0..3),
        ) {
            let t = TenantId::new();
            let user = UserId::new();
            let role_ids: Vec<RoleId> = (0..role_perms.len()).map(|_| RoleId::new()).collect();
            let group_ids: Vec<GroupId> = (0..8).map(|_| GroupId::new()).collect();
            let mut g = AuthzGraph::default();
            for (i, perms) in role_perms.iter().enumerate() {
                let names: Vec<String> = perms.iter().map(|p| format!("res{}:act", p)).collect();
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                g.roles.insert(role_ids[i], role(t, role_ids[i], &refs, &[]));
            }
            // Composite edges, refusing those that would close a cycle (as the API does).
            let mut comp: HashMap<RoleId, Vec<RoleId>> = HashMap::new();
            for (a, b) in composite_edges {
                let (a, b) = (role_ids[a % role_ids.len()], role_ids[b % role_ids.len()]);
                if !creates_cycle(&comp, a, b) {
                    comp.entry(a).or_default().push(b);
                    if let Some(r) = g.roles.get_mut(&a) { r.composites.insert(b); }
                }
            }
            let mut nest: HashMap<GroupId, Vec<GroupId>> = HashMap::new();
            for (a, b) in group_edges {
                let (a, b) = (group_ids[a], group_ids[b]);
                if !creates_cycle(&nest, a, b) {
                    nest.entry(a).or_default().push(b);
                }
            }
            g.group_parents = nest;
            for (r, who, expired) in assignments {
                let principal = if who == 8 { Principal::User(user) } else { Principal::Group(group_ids[who]) };
                let mut a = assign(t, role_ids[r % role_ids.len()], principal);
                if expired { a.valid_until = Some(NOW); }
                g.assignments.push(a);
            }
            let direct: Vec<GroupId> = direct.iter().map(|i| group_ids[*i]).collect();
            let got = g.effective_permissions(user, &direct, &AccessContext::default(), NOW, None);
            let expected = naive(&g, user, &direct);
            prop_assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), expected);
            // Every explanation is a real chain of edges ending in a role that holds the permission.
            for (perm, path) in &got {
                let last_role = path.iter().rev().find_map(|s| match s {
                    Step::Role { id } => Some(*id),
                    Step::Assignment { role, .. } | Step::Rule { role, .. } => Some(*role),
                    Step::Group { .. } => None,
                });
                prop_assert!(last_role.is_some_and(|r| g.roles[&r].permissions.contains(perm)));
                for w in path.windows(2) {
                    match (&w[0], &w[1]) {
                        (Step::Group { id: a }, Step::Group { id: b }) => prop_assert!(g.group_parents.get(a).is_some_and(|p| p.contains(b))),
                        (Step::Assignment { role, .. }, Step::Role { id }) | (Step::Role { id: role }, Step::Role { id }) => {
                            prop_assert!(g.roles[role].composites.contains(id))
                        }
                        (Step::Group { id }, Step::Assignment { id: aid, .. }) => {
                            prop_assert!(g.assignments.iter().any(|a| a.id == *aid && a.principal == Principal::Group(*id)))
                        }
                        other => prop_assert!(false, "impossible step pair {:?}", other),
                    }
                }
            }
        }
    }
}
