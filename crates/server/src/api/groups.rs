//! `/api/v1/tenants/{slug}/groups`: groups and their members.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::apikey::{AdminResource, ApiScope};
use tessera_core::events::{Event, EventKind, FieldChange, Target};
use tessera_core::group::Group;
use tessera_core::page::PageRequest;
use tessera_core::store::GroupStore;
use tessera_core::tenant::validate_display_name;
use tessera_core::{GroupId, UserId};
use utoipa::{IntoParams, ToSchema};

use super::auth::Operator;
use super::extract::{ApiJson, ApiQuery, double_option};
use crate::app::Services;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct GroupView {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: time::OffsetDateTime,
}

impl From<Group> for GroupView {
    fn from(g: Group) -> GroupView {
        GroupView {
            id: g.id.to_string(),
            name: g.name,
            description: g.description,
            created_at: g.created_at,
            updated_at: g.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateGroup {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub after: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct GroupPage {
    pub items: Vec<GroupView>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MemberList {
    /// User ids.
    pub items: Vec<String>,
}

fn gid(id: &str) -> ApiResult<GroupId> {
    GroupId::parse(id).ok_or_else(|| ApiError::not_found("group"))
}

async fn load(state: &AppState, tenant: tessera_core::TenantId, id: GroupId) -> ApiResult<Group> {
    state
        .services
        .store
        .get_group(tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("group"))
}

/// List groups.
#[utoipa::path(get, path = "/tenants/{slug}/groups", tag = "groups", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), PageQuery),
    responses((status = 200, body = GroupPage), (status = 404, body = ErrorBody)))]
pub async fn list_groups(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<GroupPage>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Groups, ApiScope::Read)
        .await?;
    if q.after
        .as_deref()
        .is_some_and(|a| GroupId::parse(a).is_none())
    {
        return Err(ApiError::BadRequest {
            field: Some("after"),
            message: "after: not a cursor returned by this API".into(),
        });
    }
    let page = state
        .services
        .store
        .list_groups(
            tenant.id,
            &PageRequest {
                after: q.after,
                limit: q.limit,
            },
        )
        .await?;
    Ok(Json(GroupPage {
        items: page.items.into_iter().map(GroupView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Create a group.
#[utoipa::path(post, path = "/tenants/{slug}/groups", tag = "groups", security(("api_key" = [])), request_body = CreateGroup,
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 201, body = GroupView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_group(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<CreateGroup>,
) -> ApiResult<(StatusCode, Json<GroupView>)> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Groups, ApiScope::Write)
        .await?;
    let group = Group::create(
        tenant.id,
        &body.name,
        body.description.as_deref(),
        Services::now(),
    )?;
    state
        .services
        .store
        .create_group(&group)
        .await
        .map_err(|e| match e {
            tessera_core::StoreError::Conflict(_) => {
                ApiError::Conflict("a group with this name already exists".into())
            }
            other => other.into(),
        })?;
    let ev = Event::new(
        tenant.id,
        group.created_at,
        EventKind::GroupCreated {
            name: group.name.clone(),
        },
        op.actor(),
    )
    .target(Target::new("group", group.id));
    state.services.emit(ev).await;
    Ok((StatusCode::CREATED, Json(group.into())))
}

/// Read a group.
#[utoipa::path(get, path = "/tenants/{slug}/groups/{id}", tag = "groups", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Group id")),
    responses((status = 200, body = GroupView), (status = 404, body = ErrorBody)))]
pub async fn get_group(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<GroupView>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Groups, ApiScope::Read)
        .await?;
    Ok(Json(load(&state, tenant.id, gid(&id)?).await?.into()))
}

/// Rename a group or change its description.
#[utoipa::path(patch, path = "/tenants/{slug}/groups/{id}", tag = "groups", security(("api_key" = [])), request_body = UpdateGroup,
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Group id")),
    responses((status = 200, body = GroupView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_group(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdateGroup>,
) -> ApiResult<Json<GroupView>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Groups, ApiScope::Write)
        .await?;
    let mut group = load(&state, tenant.id, gid(&id)?).await?;
    let before = group.clone();
    if let Some(n) = body.name {
        group.name = validate_display_name("name", &n)?;
    }
    if let Some(d) = body.description {
        // Reuse the creation rules for the description.
        group.description =
            Group::create(tenant.id, &group.name, d.as_deref(), Services::now())?.description;
    }
    group.updated_at = Services::now();
    state
        .services
        .store
        .update_group(&group)
        .await
        .map_err(|e| match e {
            tessera_core::StoreError::Conflict(_) => {
                ApiError::Conflict("a group with this name already exists".into())
            }
            other => other.into(),
        })?;
    let mut changes = BTreeMap::new();
    if before.name != group.name {
        changes.insert(
            "name".to_string(),
            FieldChange::values(before.name.into(), group.name.clone().into()),
        );
    }
    if before.description != group.description {
        changes.insert(
            "description".to_string(),
            FieldChange::values(before.description.into(), group.description.clone().into()),
        );
    }
    if !changes.is_empty() {
        let ev = Event::new(
            tenant.id,
            group.updated_at,
            EventKind::GroupUpdated { changes },
            op.actor(),
        )
        .target(Target::new("group", group.id));
        state.services.emit(ev).await;
    }
    Ok(Json(group.into()))
}

/// Delete a group (its members stay).
#[utoipa::path(delete, path = "/tenants/{slug}/groups/{id}", tag = "groups", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Group id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_group(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Groups, ApiScope::Write)
        .await?;
    if !state
        .services
        .store
        .delete_group(tenant.id, gid(&id)?)
        .await?
    {
        return Err(ApiError::not_found("group"));
    }
    state
        .services
        .emit(
            Event::new(
                tenant.id,
                Services::now(),
                EventKind::GroupDeleted,
                op.actor(),
            )
            .target(Target::new("group", &id)),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// List the members of a group.
#[utoipa::path(get, path = "/tenants/{slug}/groups/{id}/members", tag = "groups", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Group id")),
    responses((status = 200, body = MemberList), (status = 404, body = ErrorBody)))]
pub async fn list_members(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<MemberList>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Groups, ApiScope::Read)
        .await?;
    let id = gid(&id)?;
    load(&state, tenant.id, id).await?;
    let members = state.services.store.list_members(tenant.id, id).await?;
    Ok(Json(MemberList {
        items: members.into_iter().map(|u| u.to_string()).collect(),
    }))
}

/// Add a user to a group (idempotent).
#[utoipa::path(put, path = "/tenants/{slug}/groups/{id}/members/{user_id}", tag = "groups", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Group id"), ("user_id" = String, Path, description = "User id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn add_member(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id, user_id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Groups, ApiScope::Write)
        .await?;
    let user = UserId::parse(&user_id).ok_or_else(|| ApiError::not_found("user"))?;
    state
        .services
        .store
        .add_member(tenant.id, gid(&id)?, user)
        .await
        .map_err(|e| match e {
            tessera_core::StoreError::NotFound => ApiError::not_found("group or user"),
            other => other.into(),
        })?;
    let ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::GroupMemberAdded {
            group_id: id.clone(),
        },
        op.actor(),
    )
    .target(Target::new("user", user))
    .subject(user);
    state.services.emit(ev).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a user from a group.
#[utoipa::path(delete, path = "/tenants/{slug}/groups/{id}/members/{user_id}", tag = "groups", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "Group id"), ("user_id" = String, Path, description = "User id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn remove_member(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id, user_id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Groups, ApiScope::Write)
        .await?;
    let user = UserId::parse(&user_id).ok_or_else(|| ApiError::not_found("membership"))?;
    if !state
        .services
        .store
        .remove_member(tenant.id, gid(&id)?, user)
        .await?
    {
        return Err(ApiError::not_found("membership"));
    }
    let ev = Event::new(
        tenant.id,
        Services::now(),
        EventKind::GroupMemberRemoved {
            group_id: id.clone(),
        },
        op.actor(),
    )
    .target(Target::new("user", user))
    .subject(user);
    state.services.emit(ev).await;
    Ok(StatusCode::NO_CONTENT)
}
