//! The storage ports. Each trait owns one concern; `tessera-store` implements all of them for
//! SQLite and PostgreSQL. Every call that reads or changes tenant data takes the `TenantId`, so no
//! path can reach another tenant's objects.
//!
//! Adapters encrypt personal fields at rest and look emails up through a keyed blind index; the
//! domain hands them plain values.
#![allow(async_fn_in_trait)]

use crate::apikey::ApiKey;
use crate::client::Client;
use crate::group::Group;
use crate::page::{Page, PageRequest};
use crate::session::Session;
use crate::tenant::Tenant;
use crate::throttle::{ThrottlePolicy, ThrottleState};
use crate::user::{User, UserFilter};
use crate::{ApiKeyId, GroupId, SessionId, StoreError, TenantId, Timestamp, UserId};

pub type StoreResult<T> = Result<T, StoreError>;

pub trait TenantStore {
    /// `Conflict("slug")` when the slug is taken.
    async fn create_tenant(&self, tenant: &Tenant) -> StoreResult<()>;
    async fn get_tenant(&self, id: TenantId) -> StoreResult<Option<Tenant>>;
    async fn get_tenant_by_slug(&self, slug: &str) -> StoreResult<Option<Tenant>>;
    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>>;
    /// `NotFound` when the tenant does not exist.
    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<()>;
    /// Deletes the tenant and everything it owns. Returns false when there was nothing to delete.
    async fn delete_tenant(&self, id: TenantId) -> StoreResult<bool>;
}

pub trait UserStore {
    /// `Conflict("email")` when the tenant already has an account with this email.
    async fn create_user(&self, user: &User) -> StoreResult<()>;
    async fn get_user(&self, tenant: TenantId, id: UserId) -> StoreResult<Option<User>>;
    /// Case-insensitive exact match through the blind index.
    async fn find_user_by_email(&self, tenant: TenantId, email: &str) -> StoreResult<Option<User>>;
    async fn list_users(
        &self,
        tenant: TenantId,
        filter: &UserFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<User>>;
    /// Writes every field of `user` (matched on tenant and id). `NotFound`, or `Conflict("email")`.
    async fn update_user(&self, user: &User) -> StoreResult<()>;
    async fn delete_user(&self, tenant: TenantId, id: UserId) -> StoreResult<bool>;
    /// Records a successful sign-in, replacing the password hash when it was upgraded.
    async fn record_sign_in(
        &self,
        tenant: TenantId,
        id: UserId,
        at: Timestamp,
        new_password_hash: Option<&str>,
    ) -> StoreResult<()>;
    async fn count_users(&self, tenant: TenantId) -> StoreResult<u64>;
}

pub trait GroupStore {
    /// `Conflict("name")` when the tenant already has a group of that name.
    async fn create_group(&self, group: &Group) -> StoreResult<()>;
    async fn get_group(&self, tenant: TenantId, id: GroupId) -> StoreResult<Option<Group>>;
    async fn list_groups(&self, tenant: TenantId, page: &PageRequest) -> StoreResult<Page<Group>>;
    async fn update_group(&self, group: &Group) -> StoreResult<()>;
    async fn delete_group(&self, tenant: TenantId, id: GroupId) -> StoreResult<bool>;
    /// Both must belong to `tenant`, else `NotFound`. Adding twice is not an error.
    async fn add_member(&self, tenant: TenantId, group: GroupId, user: UserId) -> StoreResult<()>;
    async fn remove_member(
        &self,
        tenant: TenantId,
        group: GroupId,
        user: UserId,
    ) -> StoreResult<bool>;
    async fn list_members(&self, tenant: TenantId, group: GroupId) -> StoreResult<Vec<UserId>>;
    async fn groups_of_user(&self, tenant: TenantId, user: UserId) -> StoreResult<Vec<Group>>;
}

pub trait ClientStore {
    /// `Conflict("client_id")` when taken.
    async fn create_client(&self, client: &Client) -> StoreResult<()>;
    async fn get_client(&self, tenant: TenantId, client_id: &str) -> StoreResult<Option<Client>>;
    async fn list_clients(&self, tenant: TenantId) -> StoreResult<Vec<Client>>;
    async fn update_client(&self, client: &Client) -> StoreResult<()>;
    async fn delete_client(&self, tenant: TenantId, client_id: &str) -> StoreResult<bool>;
}

pub trait SessionStore {
    async fn create_session(&self, session: &Session) -> StoreResult<()>;
    async fn get_session(&self, tenant: TenantId, id: SessionId) -> StoreResult<Option<Session>>;
    async fn find_session_by_token_hash(
        &self,
        tenant: TenantId,
        token_hash: &str,
    ) -> StoreResult<Option<Session>>;
    async fn touch_session(
        &self,
        tenant: TenantId,
        id: SessionId,
        at: Timestamp,
    ) -> StoreResult<()>;
    /// Returns false when the session did not exist or was already revoked.
    async fn revoke_session(
        &self,
        tenant: TenantId,
        id: SessionId,
        at: Timestamp,
    ) -> StoreResult<bool>;
    /// Revokes every active session of a user; returns how many.
    async fn revoke_user_sessions(
        &self,
        tenant: TenantId,
        user: UserId,
        at: Timestamp,
    ) -> StoreResult<u64>;
    /// Sessions not yet revoked or expired, newest first.
    async fn list_sessions(
        &self,
        tenant: TenantId,
        user: Option<UserId>,
        now: Timestamp,
    ) -> StoreResult<Vec<Session>>;
}

pub trait ThrottleStore {
    async fn get_throttle(&self, tenant: TenantId, key: &str)
    -> StoreResult<Option<ThrottleState>>;
    /// Atomically counts one failure (restarting the count when the last one is outside the
    /// window) and sets the lockout when the count reaches the policy's limit.
    async fn record_failure(
        &self,
        tenant: TenantId,
        key: &str,
        policy: &ThrottlePolicy,
        now: Timestamp,
    ) -> StoreResult<ThrottleState>;
    async fn clear_throttle(&self, tenant: TenantId, key: &str) -> StoreResult<()>;
}

pub trait ApiKeyStore {
    async fn create_api_key(&self, key: &ApiKey) -> StoreResult<()>;
    /// Looks a key up by the SHA-256 of its secret value (across tenants: the key names its tenant).
    async fn find_api_key_by_hash(&self, key_hash: &str) -> StoreResult<Option<ApiKey>>;
    async fn list_api_keys(&self, tenant: TenantId) -> StoreResult<Vec<ApiKey>>;
    async fn revoke_api_key(
        &self,
        tenant: TenantId,
        id: ApiKeyId,
        at: Timestamp,
    ) -> StoreResult<bool>;
}
