//! Authorization decisions for applications (`authz/check`), token claims and the admin API,
//! from a per-tenant cache of the access graph. A node reloads a tenant's graph when the store's
//! authorization version moved, so a change made on any node applies on every node at the next
//! check (one indexed read per check; no time-based staleness).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use tessera_core::authz::{AccessContext, AuthzGraph, Decision, Step};
use tessera_core::store::{AuthzStore, GroupStore, TenantStore};
use tessera_core::{GroupId, StoreError, TenantId, UserId};

use super::Services;

#[derive(Default)]
pub struct AuthzCache {
    graphs: Mutex<HashMap<TenantId, (i64, Arc<AuthzGraph>)>>,
    /// When this node last wrote a (tenant, user, permission) use: uses are written at most once
    /// per [`USAGE_WRITE_INTERVAL_SECS`] per node, so checks do not each cost a write.
    usage_written: Mutex<HashMap<(TenantId, UserId, String), i64>>,
}

/// How stale "last used" may be in access reviews (per node).
pub const USAGE_WRITE_INTERVAL_SECS: i64 = 300;
/// Bound of the per-node memory of recent writes (cleared when full; a clear costs some writes).
const USAGE_MEMORY: usize = 100_000;

impl AuthzCache {
    /// Records that `user` used `permission` (an allowed check), at most once per interval.
    pub async fn record_use(
        &self,
        svc: &Services,
        tenant: TenantId,
        user: UserId,
        permission: &str,
    ) {
        let now = Services::now();
        let key = (tenant, user, permission.to_string());
        let due = match self.usage_written.lock() {
            Ok(mut m) => {
                let last = m.get(&key).copied();
                let due =
                    last.is_none_or(|t| now.unix_timestamp() - t >= USAGE_WRITE_INTERVAL_SECS);
                if due {
                    if m.len() >= USAGE_MEMORY {
                        m.clear();
                    }
                    m.insert(key, now.unix_timestamp());
                }
                due
            }
            Err(_) => true,
        };
        if due
            && let Err(e) = tessera_core::store::PermissionUsageStore::record_permission_use(
                &svc.store, tenant, user, permission, now,
            )
            .await
        {
            tracing::warn!(error = %e, "could not record a permission use for access reviews");
        }
    }

    /// The tenant's current graph.
    pub async fn graph(
        &self,
        svc: &Services,
        tenant: TenantId,
    ) -> Result<Arc<AuthzGraph>, StoreError> {
        let version = svc.store.authz_version(tenant).await?;
        // Attribute rules live in the tenant's settings: a change there also reloads.
        let rules = svc
            .store
            .get_tenant(tenant)
            .await?
            .map(|t| t.settings.role_rules)
            .unwrap_or_default();
        if let Ok(g) = self.graphs.lock()
            && let Some((v, graph)) = g.get(&tenant)
            && *v == version
            && graph.rules == rules
        {
            return Ok(graph.clone());
        }
        let mut loaded = svc.store.load_authz_graph(tenant).await?;
        loaded.rules = rules;
        let graph = Arc::new(loaded);
        if let Ok(mut g) = self.graphs.lock() {
            g.insert(tenant, (version, graph.clone()));
        }
        Ok(graph)
    }
}

/// The groups a user is directly a member of.
pub async fn direct_groups(
    svc: &Services,
    tenant: TenantId,
    user: UserId,
) -> Result<Vec<GroupId>, StoreError> {
    Ok(svc
        .store
        .groups_of_user(tenant, user)
        .await?
        .into_iter()
        .map(|g| g.id)
        .collect())
}

/// Decides one permission for one user.
pub async fn check(
    svc: &Services,
    cache: &AuthzCache,
    tenant: TenantId,
    user: UserId,
    permission: &str,
    ctx: &AccessContext,
) -> Result<Decision, StoreError> {
    let graph = cache.graph(svc, tenant).await?;
    let groups = direct_groups(svc, tenant, user).await?;
    Ok(graph.check(user, &groups, ctx, Services::now(), permission))
}

/// Effective permissions with their explanations (optionally only those of one application).
pub async fn effective(
    svc: &Services,
    cache: &AuthzCache,
    tenant: TenantId,
    user: UserId,
    ctx: &AccessContext,
    application: Option<&str>,
) -> Result<BTreeMap<String, Vec<Step>>, StoreError> {
    let graph = cache.graph(svc, tenant).await?;
    let groups = direct_groups(svc, tenant, user).await?;
    let mut perms = graph.effective_permissions(user, &groups, ctx, Services::now(), application);
    if let Some(app) = application {
        // Tokens carry only what their audience needs: the application's own roles.
        perms.retain(|_, path| {
            let role = path.iter().rev().find_map(|s| match s {
                Step::Role { id }
                | Step::Assignment { role: id, .. }
                | Step::Rule { role: id, .. } => Some(*id),
                Step::Group { .. } => None,
            });
            role.and_then(|r| graph.roles.get(&r))
                .is_some_and(|r| r.application.as_deref() == Some(app))
        });
    }
    Ok(perms)
}

/// Names of the roles the user holds (directly, through groups or composites) for an application.
pub async fn role_names(
    svc: &Services,
    cache: &AuthzCache,
    tenant: TenantId,
    user: UserId,
    ctx: &AccessContext,
    application: &str,
) -> Result<Vec<String>, StoreError> {
    let graph = cache.graph(svc, tenant).await?;
    let groups = direct_groups(svc, tenant, user).await?;
    let held = graph.effective_roles(user, &groups, ctx, Services::now());
    let mut names: Vec<String> = held
        .iter()
        .filter_map(|r| graph.roles.get(r))
        .filter(|r| r.application.as_deref() == Some(application))
        .map(|r| r.name.clone())
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Evaluates the tenant's conditional access policies for a user, at sign-in (`application`
/// None) or for an application's request. `facts` carries the request's IP and the session's
/// factors; the user's attributes are added here.
pub async fn policy_decision(
    svc: &Services,
    cache: &AuthzCache,
    tenant: &tessera_core::tenant::Tenant,
    user: &tessera_core::user::User,
    application: Option<&str>,
    facts: AccessContext,
) -> Result<tessera_core::authz::PolicyDecision, StoreError> {
    let policies = &tenant.settings.access_policies;
    if policies.is_empty() {
        return Ok(tessera_core::authz::PolicyDecision::Allow);
    }
    let graph = cache.graph(svc, tenant.id).await?;
    let groups = graph.effective_groups(&direct_groups(svc, tenant.id, user.id).await?);
    let ctx = AccessContext {
        attributes: user.attributes.clone(),
        ..facts
    };
    Ok(tessera_core::authz::evaluate_policies(
        policies,
        application,
        &ctx,
        &|g| groups.contains_key(&g),
        Services::now(),
    ))
}

/// The permissions a user holds for one application (its roles and the roles they include).
pub async fn application_permissions(
    svc: &Services,
    cache: &AuthzCache,
    tenant: TenantId,
    user: UserId,
    ctx: &AccessContext,
    application: &str,
) -> Result<Vec<String>, StoreError> {
    let graph = cache.graph(svc, tenant).await?;
    let groups = direct_groups(svc, tenant, user).await?;
    Ok(graph
        .application_permissions(user, &groups, ctx, Services::now(), application)
        .into_iter()
        .collect())
}
