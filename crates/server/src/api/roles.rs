//! `/api/v1/tenants/{slug}/roles`, `…/assignments`, group nesting, effective permissions and the
//! authorization check used by applications.

use std::net::IpAddr;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::apikey::{AdminResource, ApiScope};
use tessera_core::authz::{
    AccessContext, Condition, Principal, Role, RoleAssignment, Step, creates_cycle,
    validate_permission,
};
use tessera_core::events::{Event, EventKind, Target, field_changes};
use tessera_core::store::AuthzStore;
use tessera_core::tenant::{Tenant, validate_display_name};
use tessera_core::{AssignmentId, GroupId, RoleId, UserId};
use utoipa::{IntoParams, ToSchema};

use super::auth::Operator;
use super::extract::{ApiJson, ApiQuery};
use crate::app::Services;
use crate::app::authz::{check, effective};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct RoleView {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// The client id of the application the role belongs to; null for tenant-wide roles.
    pub application: Option<String>,
    pub permissions: Vec<String>,
    /// Ids of the roles included in this one.
    pub composites: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

use super::rfc3339;

impl From<Role> for RoleView {
    fn from(r: Role) -> Self {
        RoleView {
            id: r.id.to_string(),
            name: r.name,
            description: r.description,
            application: r.application,
            permissions: r.permissions.into_iter().collect(),
            composites: r.composites.iter().map(|c| c.to_string()).collect(),
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRole {
    pub name: String,
    pub description: Option<String>,
    /// A client id: the role then belongs to that application (and its tokens).
    pub application: Option<String>,
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Role ids to include (composite role); cycles are refused.
    #[serde(default)]
    pub composites: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRole {
    pub name: Option<String>,
    pub description: Option<String>,
    pub permissions: Option<Vec<String>>,
    pub composites: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct RoleList {
    pub items: Vec<RoleView>,
}

fn rid(id: &str) -> ApiResult<RoleId> {
    RoleId::parse(id).ok_or_else(|| ApiError::not_found("role"))
}

fn parse_roles(ids: &[String]) -> ApiResult<Vec<RoleId>> {
    ids.iter()
        .map(|i| {
            RoleId::parse(i).ok_or_else(|| ApiError::BadRequest {
                field: Some("composites"),
                message: format!("composites: \"{i}\" is not a role id"),
            })
        })
        .collect()
}

/// Refuses composites that are unknown in the tenant or would close a cycle.
async fn check_composites(
    state: &AppState,
    tenant: &Tenant,
    role: RoleId,
    composites: &[RoleId],
) -> ApiResult<()> {
    let roles = state.services.store.list_roles(tenant.id).await?;
    let mut edges: std::collections::HashMap<RoleId, Vec<RoleId>> = roles
        .iter()
        .map(|r| {
            (
                r.id,
                r.composites
                    .iter()
                    .copied()
                    .filter(|_| r.id != role)
                    .collect(),
            )
        })
        .collect();
    edges.insert(role, Vec::new());
    for c in composites {
        if !roles.iter().any(|r| r.id == *c) {
            return Err(ApiError::BadRequest {
                field: Some("composites"),
                message: format!("composites: role {c} does not exist in this tenant"),
            });
        }
        if creates_cycle(&edges, role, *c) {
            return Err(ApiError::BadRequest {
                field: Some("composites"),
                message: format!("composites: including role {c} would create a cycle"),
            });
        }
        edges.entry(role).or_default().push(*c);
    }
    Ok(())
}

/// List roles.
#[utoipa::path(get, path = "/tenants/{slug}/roles", tag = "authorization", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = RoleList), (status = 404, body = ErrorBody)))]
pub async fn list_roles(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
) -> ApiResult<Json<RoleList>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Roles, ApiScope::Read)
        .await?;
    let items = state
        .services
        .store
        .list_roles(tenant.id)
        .await?
        .into_iter()
        .map(RoleView::from)
        .collect();
    Ok(Json(RoleList { items }))
}

/// Create a role.
#[utoipa::path(post, path = "/tenants/{slug}/roles", tag = "authorization", security(("api_key" = [])), request_body = CreateRole,
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 201, body = RoleView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_role(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiJson(b): ApiJson<CreateRole>,
) -> ApiResult<(StatusCode, Json<RoleView>)> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Roles, ApiScope::Write)
        .await?;
    if let Some(app) = &b.application {
        state
            .services
            .client(tenant.id, app)
            .await
            .map_err(|_| ApiError::BadRequest {
                field: Some("application"),
                message: "application: no such client in this tenant".into(),
            })?;
    }
    let mut role = Role::create(
        tenant.id,
        &b.name,
        b.application,
        b.permissions,
        Services::now(),
    )?;
    role.description = b.description.filter(|d| !d.trim().is_empty());
    let composites = parse_roles(&b.composites)?;
    check_composites(&state, &tenant, role.id, &composites).await?;
    role.composites = composites.into_iter().collect();
    state
        .services
        .store
        .create_role(&role)
        .await
        .map_err(|e| match e {
            tessera_core::StoreError::Conflict(_) => ApiError::Conflict(
                "a role with this name already exists for this application".into(),
            ),
            other => other.into(),
        })?;
    let ev = Event::new(
        tenant.id,
        role.created_at,
        EventKind::RoleCreated {
            name: role.name.clone(),
        },
        op.actor(),
    )
    .target(Target::new("role", role.id));
    state.services.emit(ev).await;
    Ok((StatusCode::CREATED, Json(role.into())))
}

/// Read a role.
#[utoipa::path(get, path = "/tenants/{slug}/roles/{id}", tag = "authorization", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Role id")),
    responses((status = 200, body = RoleView), (status = 404, body = ErrorBody)))]
pub async fn get_role(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<RoleView>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Roles, ApiScope::Read)
        .await?;
    let role = state
        .services
        .store
        .get_role(tenant.id, rid(&id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("role"))?;
    Ok(Json(role.into()))
}

/// Change a role's name, description, permissions or composites.
#[utoipa::path(patch, path = "/tenants/{slug}/roles/{id}", tag = "authorization", security(("api_key" = [])), request_body = UpdateRole,
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Role id")),
    responses((status = 200, body = RoleView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_role(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
    ApiJson(b): ApiJson<UpdateRole>,
) -> ApiResult<Json<RoleView>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Roles, ApiScope::Write)
        .await?;
    let mut role = state
        .services
        .store
        .get_role(tenant.id, rid(&id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("role"))?;
    let before = role.clone();
    if let Some(n) = b.name {
        role.name = validate_display_name("name", &n)?;
    }
    if let Some(d) = b.description {
        role.description = Some(d).filter(|d| !d.trim().is_empty());
    }
    if let Some(perms) = b.permissions {
        role.permissions = perms
            .iter()
            .map(|p| validate_permission(p))
            .collect::<Result<_, _>>()?;
    }
    if let Some(c) = b.composites {
        let composites = parse_roles(&c)?;
        check_composites(&state, &tenant, role.id, &composites).await?;
        role.composites = composites.into_iter().collect();
    }
    role.updated_at = Services::now();
    state
        .services
        .store
        .update_role(&role)
        .await
        .map_err(|e| match e {
            tessera_core::StoreError::Conflict(_) => ApiError::Conflict(
                "a role with this name already exists for this application".into(),
            ),
            other => other.into(),
        })?;
    // The check above read the graph before writing; a concurrent change may have closed a cycle
    // in between. Look again now that both writes are in, and undo ours if so.
    if !role.composites.is_empty() {
        let graph = state.services.store.load_authz_graph(tenant.id).await?;
        let edges: std::collections::HashMap<RoleId, Vec<RoleId>> = graph
            .roles
            .values()
            .map(|r| (r.id, r.composites.iter().copied().collect()))
            .collect();
        if role
            .composites
            .iter()
            .any(|c| creates_cycle(&edges, role.id, *c))
        {
            state.services.store.update_role(&before).await?;
            return Err(ApiError::Conflict(
                "a concurrent change would have made the composite roles circular; retry".into(),
            ));
        }
    }
    let changes = field_changes(
        &serde_json::to_value(RoleView::from(before)).unwrap_or_default(),
        &serde_json::to_value(RoleView::from(role.clone())).unwrap_or_default(),
        "",
        &["updated_at"],
    );
    if !changes.is_empty() {
        let ev = Event::new(
            tenant.id,
            role.updated_at,
            EventKind::RoleUpdated { changes },
            op.actor(),
        )
        .target(Target::new("role", role.id));
        state.services.emit(ev).await;
    }
    Ok(Json(role.into()))
}

/// Delete a role, its assignments and its place in composite roles.
#[utoipa::path(delete, path = "/tenants/{slug}/roles/{id}", tag = "authorization", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Role id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_role(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Roles, ApiScope::Write)
        .await?;
    let id = rid(&id)?;
    if !state.services.store.delete_role(tenant.id, id).await? {
        return Err(ApiError::not_found("role"));
    }
    state
        .services
        .emit(
            Event::new(
                tenant.id,
                Services::now(),
                EventKind::RoleDeleted,
                op.actor(),
            )
            .target(Target::new("role", id)),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct AssignmentView {
    pub id: String,
    pub role_id: String,
    /// `user` or `group`.
    pub principal_type: String,
    pub principal_id: String,
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub condition: Option<Condition>,
    pub created_at: String,
}

impl From<RoleAssignment> for AssignmentView {
    fn from(a: RoleAssignment) -> Self {
        let (principal_type, principal_id) = match a.principal {
            Principal::User(u) => ("user".to_string(), u.to_string()),
            Principal::Group(g) => ("group".to_string(), g.to_string()),
        };
        AssignmentView {
            id: a.id.to_string(),
            role_id: a.role_id.to_string(),
            principal_type,
            principal_id,
            valid_from: a.valid_from.map(rfc3339),
            valid_until: a.valid_until.map(rfc3339),
            condition: a.condition,
            created_at: rfc3339(a.created_at),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAssignment {
    pub role_id: String,
    /// `user` or `group`.
    pub principal_type: String,
    pub principal_id: String,
    /// RFC 3339; the assignment applies from then (temporary access).
    pub valid_from: Option<String>,
    /// RFC 3339; the assignment stops applying then.
    pub valid_until: Option<String>,
    /// `{"all_of": [{"type": "mfa_within", "seconds": 900}, {"type": "ip_in", "cidrs": ["10.0.0.0/8"]},
    /// {"type": "hours_utc", "from": 8, "to": 18}, {"type": "attribute", "name": "department", "equals": "finance"},
    /// {"type": "in_group", "group": "<group id>"}]}`
    #[schema(value_type = Option<Object>)]
    pub condition: Option<Condition>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AssignmentQuery {
    pub role_id: Option<String>,
    pub user_id: Option<String>,
    pub group_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AssignmentList {
    pub items: Vec<AssignmentView>,
}

fn parse_time(field: &'static str, v: Option<String>) -> ApiResult<Option<time::OffsetDateTime>> {
    v.map(|s| {
        time::OffsetDateTime::parse(&s, &time::format_description::well_known::Rfc3339).map_err(
            |_| ApiError::BadRequest {
                field: Some(field),
                message: format!("{field}: use an RFC 3339 time"),
            },
        )
    })
    .transpose()
}

/// List role assignments, optionally of one role, user or group.
#[utoipa::path(get, path = "/tenants/{slug}/assignments", tag = "authorization", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), AssignmentQuery),
    responses((status = 200, body = AssignmentList), (status = 400, body = ErrorBody)))]
pub async fn list_assignments(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiQuery(q): ApiQuery<AssignmentQuery>,
) -> ApiResult<Json<AssignmentList>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Assignments, ApiScope::Read)
        .await?;
    let bad = |f: &'static str| ApiError::BadRequest {
        field: Some(f),
        message: format!("{f}: not an id"),
    };
    let principal = match (q.user_id, q.group_id) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("give user_id or group_id, not both"));
        }
        (Some(u), None) => Some(Principal::User(
            UserId::parse(&u).ok_or_else(|| bad("user_id"))?,
        )),
        (None, Some(g)) => Some(Principal::Group(
            GroupId::parse(&g).ok_or_else(|| bad("group_id"))?,
        )),
        (None, None) => None,
    };
    let role = q
        .role_id
        .map(|r| RoleId::parse(&r).ok_or_else(|| bad("role_id")))
        .transpose()?;
    let items = state
        .services
        .store
        .list_assignments(tenant.id, principal, role)
        .await?
        .into_iter()
        .map(AssignmentView::from)
        .collect();
    Ok(Json(AssignmentList { items }))
}

/// Give a role to a user or a group, optionally time-bound or conditional.
#[utoipa::path(post, path = "/tenants/{slug}/assignments", tag = "authorization", security(("api_key" = [])), request_body = CreateAssignment,
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 201, body = AssignmentView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_assignment(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiJson(b): ApiJson<CreateAssignment>,
) -> ApiResult<(StatusCode, Json<AssignmentView>)> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Assignments, ApiScope::Write)
        .await?;
    let role_id = RoleId::parse(&b.role_id).ok_or_else(|| ApiError::not_found("role"))?;
    let principal = match b.principal_type.as_str() {
        "user" => Principal::User(
            UserId::parse(&b.principal_id).ok_or_else(|| ApiError::not_found("user"))?,
        ),
        "group" => Principal::Group(
            GroupId::parse(&b.principal_id).ok_or_else(|| ApiError::not_found("group"))?,
        ),
        _ => {
            return Err(ApiError::BadRequest {
                field: Some("principal_type"),
                message: "principal_type: user or group".into(),
            });
        }
    };
    let a = RoleAssignment {
        id: AssignmentId::new(),
        tenant_id: tenant.id,
        role_id,
        principal,
        valid_from: parse_time("valid_from", b.valid_from)?,
        valid_until: parse_time("valid_until", b.valid_until)?,
        condition: b.condition,
        created_at: Services::now(),
    };
    a.validate()?;
    state
        .services
        .store
        .create_assignment(&a)
        .await
        .map_err(|e| match e {
            tessera_core::StoreError::NotFound => ApiError::not_found("role or principal"),
            other => other.into(),
        })?;
    let kind = EventKind::RoleAssigned {
        role_id: role_id.to_string(),
        assignment_id: a.id.to_string(),
    };
    let mut ev = Event::new(tenant.id, a.created_at, kind, op.actor());
    ev = match principal {
        Principal::User(u) => ev.target(Target::new("user", u)).subject(u),
        Principal::Group(g) => ev.target(Target::new("group", g)),
    };
    state.services.emit(ev).await;
    Ok((StatusCode::CREATED, Json(a.into())))
}

/// Remove a role assignment.
#[utoipa::path(delete, path = "/tenants/{slug}/assignments/{id}", tag = "authorization", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Assignment id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_assignment(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Assignments, ApiScope::Write)
        .await?;
    let aid = AssignmentId::parse(&id).ok_or_else(|| ApiError::not_found("assignment"))?;
    let existing = state
        .services
        .store
        .list_assignments(tenant.id, None, None)
        .await?
        .into_iter()
        .find(|a| a.id == aid);
    let Some(a) = existing else {
        return Err(ApiError::not_found("assignment"));
    };
    if !state
        .services
        .store
        .delete_assignment(tenant.id, aid)
        .await?
    {
        return Err(ApiError::not_found("assignment"));
    }
    let kind = EventKind::RoleUnassigned {
        role_id: a.role_id.to_string(),
        assignment_id: aid.to_string(),
    };
    state
        .services
        .emit(
            Event::new(tenant.id, Services::now(), kind, op.actor())
                .target(Target::new("assignment", aid)),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Make a group a member of another group (nested groups; cycles refused).
#[utoipa::path(put, path = "/tenants/{slug}/groups/{id}/parents/{parent_id}", tag = "groups", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Group id"), ("parent_id" = String, Path, description = "Parent group id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn add_parent(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id, parent)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Groups, ApiScope::Write)
        .await?;
    let child = GroupId::parse(&id).ok_or_else(|| ApiError::not_found("group"))?;
    let parent = GroupId::parse(&parent).ok_or_else(|| ApiError::not_found("group"))?;
    let graph = state.services.store.load_authz_graph(tenant.id).await?;
    if creates_cycle(&graph.group_parents, child, parent) {
        return Err(ApiError::BadRequest {
            field: Some("parent_id"),
            message: "this nesting would create a cycle".into(),
        });
    }
    state
        .services
        .store
        .add_group_parent(tenant.id, child, parent)
        .await
        .map_err(|e| match e {
            tessera_core::StoreError::NotFound => ApiError::not_found("group"),
            other => other.into(),
        })?;
    // Re-check after writing: a concurrent nesting may have closed a cycle in between.
    let graph = state.services.store.load_authz_graph(tenant.id).await?;
    if creates_cycle(&graph.group_parents, child, parent)
        && graph
            .group_parents
            .get(&child)
            .is_some_and(|p| p.contains(&parent))
    {
        let mut without = graph.group_parents.clone();
        if let Some(p) = without.get_mut(&child) {
            p.retain(|g| *g != parent);
        }
        if creates_cycle(&without, child, parent) {
            state
                .services
                .store
                .remove_group_parent(tenant.id, child, parent)
                .await?;
            return Err(ApiError::Conflict(
                "a concurrent change would have made the group nesting circular; retry".into(),
            ));
        }
    }
    let ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::GroupNested {
            parent_id: parent.to_string(),
        },
        op.actor(),
    )
    .target(Target::new("group", child));
    state.services.emit(ev).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a nesting.
#[utoipa::path(delete, path = "/tenants/{slug}/groups/{id}/parents/{parent_id}", tag = "groups", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Group id"), ("parent_id" = String, Path, description = "Parent group id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn remove_parent(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id, parent)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Groups, ApiScope::Write)
        .await?;
    let child = GroupId::parse(&id).ok_or_else(|| ApiError::not_found("group"))?;
    let parent = GroupId::parse(&parent).ok_or_else(|| ApiError::not_found("group"))?;
    if !state
        .services
        .store
        .remove_group_parent(tenant.id, child, parent)
        .await?
    {
        return Err(ApiError::not_found("nesting"));
    }
    let ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::GroupUnnested {
            parent_id: parent.to_string(),
        },
        op.actor(),
    )
    .target(Target::new("group", child));
    state.services.emit(ev).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct EffectivePermission {
    pub permission: String,
    /// How the user holds it: groups, the assignment, composite roles.
    #[schema(value_type = Vec<Object>)]
    pub via: Vec<Step>,
}

#[derive(Serialize, ToSchema)]
pub struct EffectivePermissions {
    pub items: Vec<EffectivePermission>,
}

/// The user's effective permissions, each with the path of assignments that grants it.
#[utoipa::path(get, path = "/tenants/{slug}/users/{id}/permissions", tag = "authorization", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = EffectivePermissions), (status = 404, body = ErrorBody)))]
pub async fn user_permissions(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<EffectivePermissions>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Authz, ApiScope::Read)
        .await?;
    let user = UserId::parse(&id).ok_or_else(|| ApiError::not_found("user"))?;
    let u = state.services.user(tenant.id, user).await?;
    // Conditions are evaluated without request facts here (no IP, no recent MFA): conditional
    // grants appear only when they hold unconditionally. Use authz/check with a context for those.
    let ctx = AccessContext {
        attributes: u.attributes.clone(),
        ..Default::default()
    };
    let perms = effective(&state.services, &state.authz, tenant.id, user, &ctx, None).await?;
    Ok(Json(EffectivePermissions {
        items: perms
            .into_iter()
            .map(|(permission, via)| EffectivePermission { permission, via })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckContext {
    /// The client IP of the request being authorized.
    pub ip: Option<String>,
    /// RFC 3339 time of the user's last authentication (`auth_time` of their token).
    pub auth_time: Option<String>,
    /// Authentication methods (`amr` of their token), e.g. ["pwd", "otp"].
    #[serde(default)]
    pub amr: Vec<String>,
    /// ISO 3166-1 alpha-2 country of the request; when absent and `ip` is given, the server's
    /// geo-IP database (`TESSERA_GEOIP_DB`) places the IP.
    pub country: Option<String>,
    /// The request comes from a device the user trusted (the application's own knowledge).
    #[serde(default)]
    pub trusted_device: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// The user id (the `sub` of their tokens).
    pub subject: String,
    pub permission: String,
    pub context: Option<CheckContext>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchCheckRequest {
    pub checks: Vec<CheckRequest>,
}

#[derive(Serialize, ToSchema)]
pub struct CheckResponse {
    pub allowed: bool,
    pub reason: String,
    #[schema(value_type = Vec<Object>)]
    pub via: Vec<Step>,
}

#[derive(Serialize, ToSchema)]
pub struct BatchCheckResponse {
    pub results: Vec<CheckResponse>,
}

async fn decide(state: &AppState, tenant: &Tenant, req: CheckRequest) -> ApiResult<CheckResponse> {
    let user = UserId::parse(&req.subject).ok_or_else(|| ApiError::BadRequest {
        field: Some("subject"),
        message: "subject: a user id".into(),
    })?;
    let permission = validate_permission(&req.permission).map_err(|e| match e {
        tessera_core::CoreError::Invalid { message, .. } => ApiError::BadRequest {
            field: Some("permission"),
            message: format!("permission: {message}"),
        },
        other => other.into(),
    })?;
    let u = match state.services.user(tenant.id, user).await {
        Ok(u) if u.can_sign_in() => u,
        // Unknown and disabled users hold nothing; answering the same avoids probing for accounts.
        _ => {
            return Ok(CheckResponse {
                allowed: false,
                reason: "the subject is not an active user of this tenant".into(),
                via: vec![],
            });
        }
    };
    let mut ctx = AccessContext {
        attributes: u.attributes.clone(),
        ..Default::default()
    };
    if let Some(c) = req.context {
        ctx.ip =
            c.ip.map(|i| {
                i.parse::<IpAddr>().map_err(|_| ApiError::BadRequest {
                    field: Some("context.ip"),
                    message: "context.ip: an IP address".into(),
                })
            })
            .transpose()?;
        ctx.auth_time = c
            .auth_time
            .map(|t| {
                time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
            })
            .transpose()
            .map_err(|_| ApiError::BadRequest {
                field: Some("context.auth_time"),
                message: "context.auth_time: RFC 3339".into(),
            })?;
        ctx.amr = c.amr;
        ctx.trusted_device = c.trusted_device;
        ctx.country = match c.country {
            Some(country)
                if country.len() == 2 && country.bytes().all(|b| b.is_ascii_alphabetic()) =>
            {
                Some(country.to_ascii_uppercase())
            }
            Some(_) => {
                return Err(ApiError::BadRequest {
                    field: Some("context.country"),
                    message: "context.country: an ISO 3166-1 alpha-2 code such as \"DE\"".into(),
                });
            }
            None => crate::geo::country(state, ctx.ip),
        };
    }
    let d = check(
        &state.services,
        &state.authz,
        tenant.id,
        user,
        &permission,
        &ctx,
    )
    .await?;
    if d.allowed {
        state
            .authz
            .record_use(&state.services, tenant.id, user, &permission)
            .await;
    }
    Ok(CheckResponse {
        allowed: d.allowed,
        reason: d.reason,
        via: d.path,
    })
}

/// May this user do that? Answers allow or deny with the reason (and the granting path).
#[utoipa::path(post, path = "/tenants/{slug}/authz/check", tag = "authorization", security(("api_key" = [])), request_body = CheckRequest,
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = CheckResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn check_one(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiJson(req): ApiJson<CheckRequest>,
) -> ApiResult<Json<CheckResponse>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Authz, ApiScope::Read)
        .await?;
    Ok(Json(decide(&state, &tenant, req).await?))
}

/// Several checks in one call (at most 100), answered in order.
#[utoipa::path(post, path = "/tenants/{slug}/authz/check-batch", tag = "authorization", security(("api_key" = [])), request_body = BatchCheckRequest,
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = BatchCheckResponse), (status = 400, body = ErrorBody)))]
pub async fn check_batch(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiJson(req): ApiJson<BatchCheckRequest>,
) -> ApiResult<Json<BatchCheckResponse>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Authz, ApiScope::Read)
        .await?;
    if req.checks.len() > 100 {
        return Err(ApiError::BadRequest {
            field: Some("checks"),
            message: "checks: at most 100 per call".into(),
        });
    }
    let mut results = Vec::with_capacity(req.checks.len());
    for c in req.checks {
        results.push(decide(&state, &tenant, c).await?);
    }
    Ok(Json(BatchCheckResponse { results }))
}
