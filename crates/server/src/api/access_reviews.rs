//! `/api/v1/tenants/{slug}/access-reviews`: least-privilege reviews. Who holds a permission,
//! through which grant, and when they last used it (an allowed `authz/check`); and which role
//! assignments nobody used for N days. An operator revokes from the report with
//! `DELETE /tenants/{slug}/assignments/{id}`.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use tessera_core::apikey::{AdminResource, ApiScope};
use tessera_core::authz::review;
use tessera_core::authz::{Principal, RoleAssignment, permission_matches, validate_permission};
use tessera_core::store::{GroupStore, PermissionUsageStore, UserStore};
use tessera_core::{TenantId, Timestamp, UserId};
use utoipa::{IntoParams, ToSchema};

use super::auth::Operator;
use super::extract::ApiQuery;
use crate::app::Services;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Holder {
    pub user_id: String,
    pub email: String,
    /// The last allowed check of this permission by this user (`null`: never seen).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
}

#[derive(Serialize, ToSchema)]
pub struct ReviewedGrant {
    pub assignment_id: String,
    pub role_id: String,
    pub role_name: String,
    /// `user` or `group`.
    pub principal_type: String,
    pub principal_id: String,
    /// The users it reaches (a group's members, nested groups included).
    pub holders: Vec<Holder>,
    /// The assignment has a condition (it grants only when the condition holds).
    pub conditional: bool,
    /// Inside its time window now.
    pub active: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub valid_until: Option<Timestamp>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Serialize, ToSchema)]
pub struct RuleGrant {
    pub attribute: String,
    #[schema(value_type = Object)]
    pub equals: serde_json::Value,
    pub role_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct PermissionReview {
    pub permission: String,
    pub grants: Vec<ReviewedGrant>,
    /// Attribute rules that give the permission (their holders are whoever has the attribute).
    pub rules: Vec<RuleGrant>,
}

#[derive(Serialize, ToSchema)]
pub struct UnusedAssignment {
    pub assignment_id: String,
    pub role_id: String,
    pub role_name: String,
    pub principal_type: String,
    pub principal_id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// The latest use of any of the role's permissions by any holder (`null`: never).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
}

#[derive(Serialize, ToSchema)]
pub struct UnusedReport {
    pub days: u32,
    pub items: Vec<UnusedAssignment>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UnusedQuery {
    /// Assignments older than this many days and unused for as long (default 90, 1–3650).
    pub days: Option<u32>,
}

/// The users an assignment reaches.
async fn holders_of(
    state: &AppState,
    tenant: TenantId,
    graph: &tessera_core::authz::AuthzGraph,
    a: &RoleAssignment,
) -> ApiResult<BTreeSet<UserId>> {
    Ok(match &a.principal {
        Principal::User(u) => [*u].into_iter().collect(),
        Principal::Group(g) => {
            let mut users = BTreeSet::new();
            for group in review::group_and_descendants(graph, *g) {
                users.extend(state.services.store.list_members(tenant, group).await?);
            }
            users
        }
    })
}

fn role_name(graph: &tessera_core::authz::AuthzGraph, a: &RoleAssignment) -> String {
    graph
        .roles
        .get(&a.role_id)
        .map(|r| r.name.clone())
        .unwrap_or_default()
}

/// Who holds a permission, through which grant, and when each last used it.
#[utoipa::path(get, path = "/tenants/{slug}/access-reviews/permissions/{permission}", tag = "authorization", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("permission" = String, Path, description = "A permission, e.g. invoices:write")),
    responses((status = 200, body = PermissionReview), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn permission_review(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, permission)): Path<(String, String)>,
) -> ApiResult<Json<PermissionReview>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Authz, ApiScope::Read)
        .await?;
    let permission = validate_permission(&permission).map_err(|_| ApiError::BadRequest {
        field: Some("permission"),
        message: "permission: resource:action, e.g. invoices:write".into(),
    })?;
    let graph = state.authz.graph(&state.services, tenant.id).await?;
    let uses: BTreeMap<UserId, Timestamp> = state
        .services
        .store
        .permission_uses(tenant.id)
        .await?
        .into_iter()
        .filter(|(_, p, _)| *p == permission)
        .map(|(u, _, t)| (u, t))
        .collect();
    let now = Services::now();
    let mut grants = Vec::new();
    for a in review::assignments_granting(&graph, &permission) {
        let mut holders = Vec::new();
        for u in holders_of(&state, tenant.id, &graph, a).await? {
            if let Some(user) = state.services.store.get_user(tenant.id, u).await? {
                holders.push(Holder {
                    user_id: u.to_string(),
                    email: user.email,
                    last_used_at: uses.get(&u).copied(),
                });
            }
        }
        let (kind, id) = review::principal_label(&a.principal);
        grants.push(ReviewedGrant {
            assignment_id: a.id.to_string(),
            role_id: a.role_id.to_string(),
            role_name: role_name(&graph, a),
            principal_type: kind.into(),
            principal_id: id,
            holders,
            conditional: a.condition.is_some(),
            active: a.in_window(now),
            valid_until: a.valid_until,
            created_at: a.created_at,
        });
    }
    let granting = review::roles_granting(&graph, &permission);
    let rules = graph
        .rules
        .iter()
        .filter(|r| granting.contains(&r.role_id))
        .map(|r| RuleGrant {
            attribute: r.attribute.clone(),
            equals: r.equals.clone(),
            role_id: r.role_id.to_string(),
        })
        .collect();
    Ok(Json(PermissionReview {
        permission,
        grants,
        rules,
    }))
}

/// Role assignments older than N days that none of their holders used for N days.
#[utoipa::path(get, path = "/tenants/{slug}/access-reviews/unused", tag = "authorization", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), UnusedQuery),
    responses((status = 200, body = UnusedReport), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unused_assignments(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiQuery(q): ApiQuery<UnusedQuery>,
) -> ApiResult<Json<UnusedReport>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Authz, ApiScope::Read)
        .await?;
    let days = q.days.unwrap_or(90);
    if !(1..=3650).contains(&days) {
        return Err(ApiError::BadRequest {
            field: Some("days"),
            message: "days: between 1 and 3650".into(),
        });
    }
    let graph = state.authz.graph(&state.services, tenant.id).await?;
    let mut uses: BTreeMap<UserId, Vec<(String, Timestamp)>> = BTreeMap::new();
    for (u, p, t) in state.services.store.permission_uses(tenant.id).await? {
        uses.entry(u).or_default().push((p, t));
    }
    let cutoff = Services::now() - time::Duration::days(i64::from(days));
    let mut items = Vec::new();
    for a in &graph.assignments {
        if a.created_at >= cutoff {
            continue;
        }
        let perms = review::role_permissions(&graph, a.role_id);
        let mut last: Option<Timestamp> = None;
        for u in holders_of(&state, tenant.id, &graph, a).await? {
            for (p, t) in uses.get(&u).into_iter().flatten() {
                if perms.iter().any(|granted| permission_matches(granted, p))
                    && last.is_none_or(|l| *t > l)
                {
                    last = Some(*t);
                }
            }
        }
        if review::is_unused(a, last, cutoff) {
            let (kind, id) = review::principal_label(&a.principal);
            items.push(UnusedAssignment {
                assignment_id: a.id.to_string(),
                role_id: a.role_id.to_string(),
                role_name: role_name(&graph, a),
                principal_type: kind.into(),
                principal_id: id,
                created_at: a.created_at,
                last_used_at: last,
            });
        }
    }
    Ok(Json(UnusedReport { days, items }))
}
