//! `/api/v1/tenants/{slug}/users`: accounts, with cursor pagination and password import.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::apikey::{AdminResource, ApiScope};
use tessera_core::page::PageRequest;
use tessera_core::store::{GroupStore, UserStore};
use tessera_core::user::{NewUser, User, UserFilter, UserPatch, UserStatus};
use tessera_core::{Secret, UserId};
use utoipa::{IntoParams, ToSchema};

use super::auth::Operator;
use super::extract::{ApiJson, ApiQuery, double_option};
use super::groups::GroupView;
use crate::app::users::{PasswordInput, prepare_password};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub phone: Option<String>,
    /// `active` or `disabled`.
    pub status: String,
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    /// Age gate: registered below `settings.registration.parental_consent_below`; cannot sign
    /// in until the parental consent is recorded (`POST …/users/{id}/parental-consent`).
    pub parental_consent_required: bool,
    /// Whether the account has a password (the hash itself is never returned).
    pub has_password: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_login_at: Option<time::OffsetDateTime>,
    /// Since when processing of the person's data is restricted (GDPR Art. 18; see
    /// docs/privacy.md). Given by `GET …/users/{id}` only; lists leave it out.
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub processing_restricted_at: Option<time::OffsetDateTime>,
}

impl From<User> for UserView {
    fn from(u: User) -> UserView {
        let parental_consent_required = tessera_core::registration::parental_consent_pending(&u);
        UserView {
            id: u.id.to_string(),
            email: u.email,
            email_verified: u.email_verified,
            name: u.name,
            given_name: u.given_name,
            family_name: u.family_name,
            phone: u.phone,
            status: u.status.as_str().into(),
            parental_consent_required,
            attributes: u.attributes,
            has_password: u.password_hash.is_some(),
            created_at: u.created_at,
            updated_at: u.updated_at,
            last_login_at: u.last_login_at,
            processing_restricted_at: None,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    /// A new password (8-1024 characters), hashed with argon2id.
    pub password: Option<String>,
    /// An existing hash to import instead (argon2, bcrypt, scrypt, PBKDF2 in PHC/MCF form);
    /// upgraded to argon2id at the next sign-in.
    pub password_hash: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub phone: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<serde_json::Value>,
}

/// Fields absent stay unchanged; `null` clears an optional field.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub given_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub family_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// `active` or `disabled` (disabling also ends the user's sessions).
    pub status: Option<String>,
    /// Replaces the whole attributes object.
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<serde_json::Value>,
    /// Sets a new password.
    pub password: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UserListQuery {
    /// Exact email (case-insensitive).
    pub email: Option<String>,
    /// `active` or `disabled`.
    pub status: Option<String>,
    /// `next_cursor` of the previous page.
    pub after: Option<String>,
    /// Page size, 1-200 (default 50).
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<UserView>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

fn parse_user_id(id: &str) -> ApiResult<UserId> {
    UserId::parse(id).ok_or_else(|| ApiError::not_found("user"))
}

/// Hashes through the admission gate, so API-driven account creation cannot starve sign-ins of CPU.
async fn prepare(state: &AppState, input: PasswordInput) -> ApiResult<Option<Secret>> {
    let hasher = state.services.hasher.clone();
    state
        .gate
        .run(move || prepare_password(&hasher, input))
        .await
        .map_err(|_| ApiError::Unavailable {
            retry_after_secs: 2,
            message: "password hashing is saturated; retry shortly".into(),
        })?
        .map_err(ApiError::from)
}

/// List users, optionally filtered by email or status, with cursor pagination.
#[utoipa::path(get, path = "/tenants/{slug}/users", tag = "users", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), UserListQuery),
    responses((status = 200, body = UserList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiQuery(q): ApiQuery<UserListQuery>,
) -> ApiResult<Json<UserList>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Users, ApiScope::Read)
        .await?;
    let filter = UserFilter {
        email: q.email,
        status: q.status.as_deref().map(UserStatus::parse).transpose()?,
    };
    if let Some(after) = &q.after
        && UserId::parse(after).is_none()
    {
        return Err(ApiError::BadRequest {
            field: Some("after"),
            message: "after: not a cursor returned by this API".into(),
        });
    }
    let page = state
        .services
        .store
        .list_users(
            tenant.id,
            &filter,
            &PageRequest {
                after: q.after,
                limit: q.limit,
            },
        )
        .await?;
    Ok(Json(UserList {
        items: page.items.into_iter().map(UserView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Create a user with a password, an imported password hash, or no password.
#[utoipa::path(post, path = "/tenants/{slug}/users", tag = "users", security(("api_key" = [])), request_body = CreateUser,
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 201, body = UserView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    op: Operator,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Users, ApiScope::Write)
        .await?;
    let input = match (body.password, body.password_hash) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest {
                field: Some("password"),
                message: "give either password or password_hash, not both".into(),
            });
        }
        (Some(p), None) => PasswordInput::Plain(Secret::new(p)),
        (None, Some(h)) => PasswordInput::Imported(Secret::new(h)),
        (None, None) => PasswordInput::None,
    };
    let new = NewUser {
        email: body.email,
        email_verified: body.email_verified,
        name: body.name,
        given_name: body.given_name,
        family_name: body.family_name,
        phone: body.phone,
        attributes: body.attributes,
    };
    // Validate the cheap fields before spending a hash on them.
    tessera_core::user::User::create(tenant.id, new.clone(), None, crate::app::Services::now())?;
    let hash = prepare(&state, input).await?;
    let user = state
        .services
        .create_user(tenant.id, new, hash, op.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Read one user.
#[utoipa::path(get, path = "/tenants/{slug}/users/{id}", tag = "users", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody)))]
pub async fn get_user(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<UserView>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Users, ApiScope::Read)
        .await?;
    let user = state.services.user(tenant.id, parse_user_id(&id)?).await?;
    let restricted = tessera_core::privacy_requests::PrivacyRequestStore::processing_restricted(
        &state.services.store,
        tenant.id,
        user.id,
    )
    .await?;
    let mut view = UserView::from(user);
    view.processing_restricted_at = restricted;
    Ok(Json(view))
}

/// Change a user; absent fields stay, `null` clears.
#[utoipa::path(patch, path = "/tenants/{slug}/users/{id}", tag = "users", security(("api_key" = [])), request_body = UpdateUser,
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_user(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> ApiResult<Json<UserView>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Users, ApiScope::Write)
        .await?;
    let id = parse_user_id(&id)?;
    let mut user = state.services.user(tenant.id, id).await?;
    let patch = UserPatch {
        email: body.email,
        email_verified: body.email_verified,
        name: body.name,
        given_name: body.given_name,
        family_name: body.family_name,
        phone: body.phone,
        status: body.status.as_deref().map(UserStatus::parse).transpose()?,
        attributes: body.attributes,
    };
    // Check the whole patch on a copy first, so a bad field never leaves a half-applied change.
    user.apply(patch.clone(), crate::app::Services::now())?;
    let hash = match body.password {
        Some(p) => prepare(&state, PasswordInput::Plain(Secret::new(p))).await?,
        None => None,
    };
    let mut user = state
        .services
        .update_user(tenant.id, id, patch, op.actor())
        .await?;
    if let Some(h) = hash {
        user = state
            .services
            .set_password_hash(tenant.id, id, h, op.actor())
            .await?;
    }
    Ok(Json(user.into()))
}

/// Delete a user, their sessions and memberships.
#[utoipa::path(delete, path = "/tenants/{slug}/users/{id}", tag = "users", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_user(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Users, ApiScope::Write)
        .await?;
    state
        .services
        .delete_user(tenant.id, parse_user_id(&id)?, op.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_status(
    state: &AppState,
    op: &Operator,
    slug: &str,
    id: &str,
    status: UserStatus,
) -> ApiResult<Json<UserView>> {
    let tenant = op
        .tenant(state, slug, AdminResource::Users, ApiScope::Write)
        .await?;
    let patch = UserPatch {
        status: Some(status),
        ..Default::default()
    };
    let user = state
        .services
        .update_user(tenant.id, parse_user_id(id)?, patch, op.actor())
        .await?;
    Ok(Json(user.into()))
}

/// Disable a user: sign-in is refused and every session ends.
#[utoipa::path(post, path = "/tenants/{slug}/users/{id}/disable", tag = "users", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody)))]
pub async fn disable_user(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<UserView>> {
    set_status(&state, &op, &slug, &id, UserStatus::Disabled).await
}

/// Enable a disabled user again.
#[utoipa::path(post, path = "/tenants/{slug}/users/{id}/enable", tag = "users", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody)))]
pub async fn enable_user(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<UserView>> {
    set_status(&state, &op, &slug, &id, UserStatus::Active).await
}

#[derive(Serialize, ToSchema)]
pub struct GroupList {
    pub items: Vec<GroupView>,
}

/// The groups a user belongs to.
#[utoipa::path(get, path = "/tenants/{slug}/users/{id}/groups", tag = "users", security(("api_key" = [])),
    params(("slug" = String, Path, description = "Tenant slug"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = GroupList), (status = 404, body = ErrorBody)))]
pub async fn user_groups(
    State(state): State<AppState>,
    op: Operator,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<GroupList>> {
    let tenant = op
        .tenant(&state, &slug, AdminResource::Users, ApiScope::Read)
        .await?;
    let id = parse_user_id(&id)?;
    state.services.user(tenant.id, id).await?;
    let groups = state.services.store.groups_of_user(tenant.id, id).await?;
    Ok(Json(GroupList {
        items: groups.into_iter().map(GroupView::from).collect(),
    }))
}
