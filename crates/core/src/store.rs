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
    /// Bulk creation for imports: every user of `users` in ONE transaction. Returns, in order,
    /// whether each was created; `false` means the tenant already had an account with its email
    /// (or its id), and that one alone was skipped. Any other error writes none of them.
    async fn create_users(&self, users: &[User]) -> StoreResult<Vec<bool>>;
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
    /// The session of a completed sign-in: records the sign-in on the account (as
    /// `record_sign_in` does, at the session's `created_at`, the password hash unchanged) and
    /// stores the session (as `create_session` does), in one message to the database.
    /// `NotFound`, with nothing written, when the user is not one of the tenant's.
    async fn start_session(&self, session: &Session) -> StoreResult<()>;
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
    /// A signed-in user authenticated again in the same browser (re-authentication, step-up):
    /// the session keeps its id (so `sid` stays stable for applications) but gets a new cookie
    /// secret, the methods of this authentication and `created_at` (the auth time) = `at`.
    /// Returns false when the session is no longer active.
    async fn reauthenticate_session(
        &self,
        tenant: TenantId,
        id: SessionId,
        token_hash: &str,
        auth_methods: &[String],
        at: Timestamp,
    ) -> StoreResult<bool>;
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
    /// The counters of two keys (an account and, when known, the client's IP), read in one
    /// statement: the sign-in checks both before every password it hashes.
    async fn get_throttle_pair(
        &self,
        tenant: TenantId,
        first: &str,
        second: Option<&str>,
    ) -> StoreResult<(Option<ThrottleState>, Option<ThrottleState>)>;
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

/// A presented token read together with what its checks need, in one round trip: whether its
/// family (grant) was revoked, the account it was issued to and the session it is bound to.
#[derive(Clone, Debug)]
pub struct PresentedToken<T> {
    pub token: T,
    pub family_revoked: bool,
    /// The account the token names, when it names one and the account still exists.
    pub user: Option<User>,
    /// The browser session the token is bound to, when it is bound to one that still exists.
    pub session: Option<crate::session::SessionLifetime>,
}

/// An access token as recorded when it must stay revocable (tokens from user grants, opaque
/// tokens). `client_credentials` JWTs are not recorded: they are short-lived and revoked by jti.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessTokenRecord {
    /// `jti` of a JWT access token, or SHA-256 (hex) of an opaque one.
    pub token_id: String,
    pub tenant_id: TenantId,
    pub client_id: String,
    pub user_id: Option<UserId>,
    /// The refresh-token family (or code) it came from; revoking the family revokes it.
    pub family_id: Option<String>,
    pub scope: String,
    /// Set for opaque tokens: the claims introspection returns.
    pub opaque_claims: Option<serde_json::Value>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

pub trait SigningKeyStore {
    async fn insert_signing_key(&self, key: &crate::oauth::SigningKeyRecord) -> StoreResult<()>;
    /// Every key of the tenant, active and retired, oldest first.
    async fn list_signing_keys(
        &self,
        tenant: TenantId,
    ) -> StoreResult<Vec<crate::oauth::SigningKeyRecord>>;
    /// In one transaction: retires the tenant's active keys of `new.alg` (retired_at = now,
    /// publish_until = `publish_old_until`) and inserts `new` as active.
    async fn rotate_signing_key(
        &self,
        new: &crate::oauth::SigningKeyRecord,
        publish_old_until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Deletes retired keys whose publish_until has passed; returns how many.
    async fn purge_signing_keys(&self, tenant: TenantId, now: Timestamp) -> StoreResult<u64>;
}

pub trait GrantStore {
    /// Stores a code and, when it names a session that exists, records its client among the
    /// session's clients as `record_session_client` does (for back-channel logout), in one
    /// message to the database.
    async fn insert_authorization_code(
        &self,
        code: &crate::oauth::AuthorizationCode,
    ) -> StoreResult<()>;
    /// Atomically sets consumed_at (if still null) and returns the code as it was BEFORE this call:
    /// `consumed_at == None` means this call redeemed it; `Some` means a replay. `None` if unknown.
    async fn consume_authorization_code(
        &self,
        tenant: TenantId,
        code_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<crate::oauth::AuthorizationCode>>;

    async fn insert_refresh_token(&self, token: &crate::oauth::RefreshToken) -> StoreResult<()>;
    async fn get_refresh_token(
        &self,
        tenant: TenantId,
        token_hash: &str,
    ) -> StoreResult<Option<crate::oauth::RefreshToken>>;
    /// `get_refresh_token` and `is_family_revoked` of its family, in one round trip.
    async fn get_refresh_token_with_family(
        &self,
        tenant: TenantId,
        token_hash: &str,
    ) -> StoreResult<Option<(crate::oauth::RefreshToken, bool)>>;
    /// `get_refresh_token_with_family`, the user the token names and the lifetime of the session
    /// it is bound to, in one round trip (what a refresh grant checks before it mints).
    async fn present_refresh_token(
        &self,
        tenant: TenantId,
        token_hash: &str,
    ) -> StoreResult<Option<PresentedToken<crate::oauth::RefreshToken>>>;
    /// Sets rotated_at only if the token is neither rotated nor revoked; true when this call did it
    /// (false means reuse or a lost race: the caller revokes the family).
    async fn mark_refresh_rotated(
        &self,
        tenant: TenantId,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Rotates the presented refresh token and stores what replaces it, in one transaction: marks
    /// `token_hash` rotated as `mark_refresh_rotated` does and, only when that succeeded, inserts
    /// `access` (when given) and `successor` as `insert_access_token` and `insert_refresh_token`
    /// do. False, with nothing written, on reuse or a lost race (the caller revokes the family).
    async fn rotate_refresh_token(
        &self,
        tenant: TenantId,
        token_hash: &str,
        now: Timestamp,
        access: Option<&AccessTokenRecord>,
        successor: &crate::oauth::RefreshToken,
    ) -> StoreResult<bool>;
    /// Revokes every refresh token and recorded access token of the family; returns how many rows changed.
    async fn revoke_family(
        &self,
        tenant: TenantId,
        family_id: &str,
        now: Timestamp,
    ) -> StoreResult<u64>;
    /// Revokes every token a user holds for a client (consent withdrawn, user disabled).
    async fn revoke_user_client_tokens(
        &self,
        tenant: TenantId,
        user: UserId,
        client_id: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<u64>;

    async fn insert_access_token(&self, record: &AccessTokenRecord) -> StoreResult<()>;
    /// Stores the records of an access token and a refresh token issued together (a code
    /// exchange's), as `insert_access_token` and `insert_refresh_token` do, in one message to the
    /// database. Not atomic: should the second insert fail, the access token's record stays,
    /// unused, as it would with the two calls.
    async fn insert_issued_tokens(
        &self,
        access: &AccessTokenRecord,
        refresh: &crate::oauth::RefreshToken,
    ) -> StoreResult<()>;
    async fn get_access_token(
        &self,
        tenant: TenantId,
        token_id: &str,
    ) -> StoreResult<Option<AccessTokenRecord>>;
    /// `get_access_token` and, when the record has a family, `is_family_revoked` of it, in one
    /// round trip (false without a family).
    async fn get_access_token_with_family(
        &self,
        tenant: TenantId,
        token_id: &str,
    ) -> StoreResult<Option<(AccessTokenRecord, bool)>>;
    /// `get_access_token_with_family` and the user the token names, in one round trip (what
    /// UserInfo checks). `session` is always `None`: access records do not name a session.
    async fn present_access_token(
        &self,
        tenant: TenantId,
        token_id: &str,
    ) -> StoreResult<Option<PresentedToken<AccessTokenRecord>>>;
    /// Records the revocation of a (possibly unrecorded) JWT access token by its id until it expires.
    async fn revoke_access_token(
        &self,
        tenant: TenantId,
        token_id: &str,
        client_id: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Whether the family this token belongs to, or the token itself, was revoked.
    async fn is_family_revoked(&self, tenant: TenantId, family_id: &str) -> StoreResult<bool>;

    async fn upsert_consent(&self, grant: &crate::oauth::ConsentGrant) -> StoreResult<()>;
    async fn get_consent(
        &self,
        tenant: TenantId,
        user: UserId,
        client_id: &str,
    ) -> StoreResult<Option<crate::oauth::ConsentGrant>>;
    async fn list_consents(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<Vec<crate::oauth::ConsentGrant>>;
    async fn delete_consent(
        &self,
        tenant: TenantId,
        user: UserId,
        client_id: &str,
    ) -> StoreResult<bool>;

    /// Remembers a client assertion's `jti` until `expires_at`; false when it was seen before (replay).
    async fn remember_assertion_jti(
        &self,
        tenant: TenantId,
        client_id: &str,
        jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool>;

    /// Records that a browser session signed in to a client (for logout fan-out).
    async fn record_session_client(
        &self,
        tenant: TenantId,
        session: SessionId,
        client_id: &str,
        now: Timestamp,
    ) -> StoreResult<()>;
    async fn list_session_clients(
        &self,
        tenant: TenantId,
        session: SessionId,
    ) -> StoreResult<Vec<String>>;

    async fn insert_device_authorization(
        &self,
        d: &crate::oauth::DeviceAuthorization,
    ) -> StoreResult<()>;
    async fn get_device_by_user_code(
        &self,
        tenant: TenantId,
        user_code: &str,
    ) -> StoreResult<Option<crate::oauth::DeviceAuthorization>>;
    async fn get_device_by_code_hash(
        &self,
        tenant: TenantId,
        device_code_hash: &str,
    ) -> StoreResult<Option<crate::oauth::DeviceAuthorization>>;
    /// Moves a pending authorization to approved/denied; false if it was no longer pending.
    async fn decide_device(
        &self,
        tenant: TenantId,
        user_code: &str,
        approve: bool,
        user: UserId,
        session: Option<SessionId>,
        auth_time: Timestamp,
    ) -> StoreResult<bool>;
    /// Approved → consumed, atomically; false if it was not approved (or already consumed).
    async fn consume_device(&self, tenant: TenantId, device_code_hash: &str) -> StoreResult<bool>;
    async fn touch_device_poll(
        &self,
        tenant: TenantId,
        device_code_hash: &str,
        now: Timestamp,
    ) -> StoreResult<()>;

    /// Deletes expired codes, tokens, jtis and device authorizations; returns how many rows.
    async fn purge_expired_grants(&self, now: Timestamp) -> StoreResult<u64>;
}

/// The audit trail: an append-only hash chain per tenant, with signed checkpoints, retention by
/// pruning up to a checkpoint, and erasure by destroying a subject's key (crypto-shredding).
pub trait AuditStore {
    /// In ONE transaction: appends `event` to its tenant's chain (taking the chain head under a
    /// lock, so concurrent writers and several nodes never fork it; seq = head + 1, hash =
    /// SHA-256 hex of [`crate::events::chain_input`]), seals `event.personal` under the subject's
    /// audit key (created on first use; the tenant's when there is no subject), and inserts
    /// `deliveries` into the webhook outbox. Returns the stored entry.
    async fn append_event(
        &self,
        event: &crate::events::Event,
        deliveries: &[crate::webhook::WebhookDelivery],
    ) -> StoreResult<crate::events::AuditEntry>;
    /// Group commit: appends every event of `batch` (each with its deliveries, as
    /// [`AuditStore::append_event`] does) in ONE transaction, in order, and returns their entries
    /// in the same order. All or nothing: any error writes none of them.
    async fn append_events(
        &self,
        batch: &[(&crate::events::Event, &[crate::webhook::WebhookDelivery])],
    ) -> StoreResult<Vec<crate::events::AuditEntry>>;
    /// Entries newest first, filtered; `page.after` is a seq (exclusive). Personal data decrypted
    /// (None when erased). The IP filter matches on the decrypted IP.
    async fn list_audit(
        &self,
        tenant: TenantId,
        filter: &crate::events::AuditFilter,
        page: &PageRequest,
    ) -> StoreResult<
        Page<(
            crate::events::AuditEntry,
            Option<crate::events::PersonalData>,
        )>,
    >;
    /// Raw entries in chain order with seq > `after_seq`, at most `limit` (for verification and export).
    async fn audit_chain(
        &self,
        tenant: TenantId,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<crate::events::AuditEntry>>;
    /// Where verification starts: (seq, hash) of the last pruned entry, or (0, GENESIS_HASH).
    async fn audit_anchor(&self, tenant: TenantId) -> StoreResult<(i64, String)>;
    /// The chain head: (seq, hash) of the newest entry (anchor when empty).
    async fn audit_head(&self, tenant: TenantId) -> StoreResult<(i64, String)>;
    async fn insert_checkpoint(&self, cp: &crate::events::AuditCheckpoint) -> StoreResult<()>;
    /// Checkpoints oldest first.
    async fn list_checkpoints(
        &self,
        tenant: TenantId,
    ) -> StoreResult<Vec<crate::events::AuditCheckpoint>>;
    /// Deletes entries with seq <= `up_to_seq` (which must be a checkpoint) and records that entry's
    /// (seq, hash) as the new anchor, in one transaction. Returns rows deleted.
    async fn prune_audit(&self, tenant: TenantId, up_to_seq: i64) -> StoreResult<u64>;
    /// Destroys the subject's audit key and clears their sealed personal data; the chain stays
    /// verifiable (it hashes only the digest). Returns entries affected.
    async fn erase_audit_subject(&self, tenant: TenantId, user: UserId) -> StoreResult<u64>;
    /// Tenants that have audit entries (for background jobs).
    async fn audit_tenants(&self) -> StoreResult<Vec<TenantId>>;
}

pub trait WebhookStore {
    /// The secret is encrypted at rest by the store.
    async fn create_webhook(&self, sub: &crate::webhook::WebhookSubscription) -> StoreResult<()>;
    async fn get_webhook(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
    ) -> StoreResult<Option<crate::webhook::WebhookSubscription>>;
    async fn list_webhooks(
        &self,
        tenant: TenantId,
    ) -> StoreResult<Vec<crate::webhook::WebhookSubscription>>;
    async fn delete_webhook(&self, tenant: TenantId, id: uuid::Uuid) -> StoreResult<bool>;
    /// Leases up to `limit` pending deliveries whose next_attempt_at <= now and whose lease is
    /// absent or expired, setting lease_until; on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so two
    /// nodes never take the same row. Across all tenants, oldest first.
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<crate::webhook::WebhookDelivery>>;
    /// Marks delivered (attempts + 1, lease cleared).
    async fn complete_delivery(
        &self,
        id: uuid::Uuid,
        now: Timestamp,
        status_code: Option<i32>,
    ) -> StoreResult<()>;
    /// Records a failed attempt (attempts + 1, lease cleared); `retry_at` None moves it to dead.
    async fn fail_delivery(
        &self,
        id: uuid::Uuid,
        error: &str,
        status_code: Option<i32>,
        retry_at: Option<Timestamp>,
    ) -> StoreResult<()>;
    /// Newest first; `page.after` is a delivery id (exclusive).
    async fn list_deliveries(
        &self,
        tenant: TenantId,
        subscription: uuid::Uuid,
        page: &PageRequest,
    ) -> StoreResult<Page<crate::webhook::WebhookDelivery>>;
    /// Puts a delivery of `subscription` back to pending now (attempts reset). False if that
    /// subscription of this tenant has no such delivery.
    async fn redeliver(
        &self,
        tenant: TenantId,
        subscription: uuid::Uuid,
        delivery: uuid::Uuid,
        now: Timestamp,
    ) -> StoreResult<bool>;
}

/// Roles, assignments and group nesting. Every change bumps the tenant's authorization version,
/// which nodes compare to invalidate their cached [`crate::authz::AuthzGraph`].
pub trait AuthzStore {
    /// `Conflict("name")` when the tenant already has a role of that name for the same application.
    async fn create_role(&self, role: &crate::authz::Role) -> StoreResult<()>;
    async fn get_role(
        &self,
        tenant: TenantId,
        id: crate::RoleId,
    ) -> StoreResult<Option<crate::authz::Role>>;
    /// Ordered by name.
    async fn list_roles(&self, tenant: TenantId) -> StoreResult<Vec<crate::authz::Role>>;
    /// Replaces name, description, permissions and composites. `NotFound`, `Conflict("name")`, and
    /// `NotFound` when a composite names a role of another tenant.
    async fn update_role(&self, role: &crate::authz::Role) -> StoreResult<()>;
    /// Also removes its assignments and its place in other roles' composites.
    async fn delete_role(&self, tenant: TenantId, id: crate::RoleId) -> StoreResult<bool>;
    /// The role and the principal must belong to the tenant (`NotFound` otherwise).
    async fn create_assignment(&self, a: &crate::authz::RoleAssignment) -> StoreResult<()>;
    /// Filtered by principal and/or role; oldest first.
    async fn list_assignments(
        &self,
        tenant: TenantId,
        principal: Option<crate::authz::Principal>,
        role: Option<crate::RoleId>,
    ) -> StoreResult<Vec<crate::authz::RoleAssignment>>;
    async fn delete_assignment(
        &self,
        tenant: TenantId,
        id: crate::AssignmentId,
    ) -> StoreResult<bool>;
    /// Makes `child` a member of `parent` (both in the tenant, else `NotFound`); idempotent. The
    /// caller has already refused cycles.
    async fn add_group_parent(
        &self,
        tenant: TenantId,
        child: GroupId,
        parent: GroupId,
    ) -> StoreResult<()>;
    async fn remove_group_parent(
        &self,
        tenant: TenantId,
        child: GroupId,
        parent: GroupId,
    ) -> StoreResult<bool>;
    /// Everything a decision needs: roles (with composites), group nesting edges, assignments.
    async fn load_authz_graph(&self, tenant: TenantId) -> StoreResult<crate::authz::AuthzGraph>;
    /// Increases with every change to roles, assignments, group nesting or group membership.
    async fn authz_version(&self, tenant: TenantId) -> StoreResult<i64>;
}

/// Enrolled factors, recovery codes and sign-ins in progress (multi-factor authentication).
pub trait MfaStore {
    /// `Conflict("credential_id")` when a WebAuthn credential is already registered in the tenant.
    async fn create_factor(&self, factor: &crate::mfa::Factor) -> StoreResult<()>;
    async fn get_factor(
        &self,
        tenant: TenantId,
        id: crate::FactorId,
    ) -> StoreResult<Option<crate::mfa::Factor>>;
    /// The user's factors, oldest first (unconfirmed ones included).
    async fn list_factors(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<Vec<crate::mfa::Factor>>;
    async fn find_factor_by_credential_id(
        &self,
        tenant: TenantId,
        credential_id: &str,
    ) -> StoreResult<Option<crate::mfa::Factor>>;
    /// Marks a factor confirmed (a TOTP factor after its first code, which is also recorded as
    /// used); false when it was not the user's pending factor.
    async fn confirm_factor(
        &self,
        tenant: TenantId,
        user: UserId,
        id: crate::FactorId,
        totp_step: Option<i64>,
        now: Timestamp,
    ) -> StoreResult<bool>;
    async fn rename_factor(
        &self,
        tenant: TenantId,
        user: UserId,
        id: crate::FactorId,
        name: &str,
    ) -> StoreResult<bool>;
    async fn delete_factor(
        &self,
        tenant: TenantId,
        user: UserId,
        id: crate::FactorId,
    ) -> StoreResult<bool>;
    /// Removes every factor and recovery code of the user (admin reset); returns how many factors.
    async fn delete_all_factors(&self, tenant: TenantId, user: UserId) -> StoreResult<u64>;
    /// Records the use of a TOTP time step, atomically and only if it is later than the last one
    /// accepted: false for a replayed (or older) code.
    async fn use_totp_step(
        &self,
        tenant: TenantId,
        id: crate::FactorId,
        step: i64,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Records a WebAuthn use: the updated credential record (sign count) and the time.
    async fn record_webauthn_use(
        &self,
        tenant: TenantId,
        id: crate::FactorId,
        secret: &crate::Secret,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Replaces the user's recovery codes with a new set (digests only).
    async fn replace_recovery_codes(
        &self,
        tenant: TenantId,
        user: UserId,
        digests: &[String],
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Uses a recovery code, atomically: false when it is unknown or already used.
    async fn use_recovery_code(
        &self,
        tenant: TenantId,
        user: UserId,
        digest: &str,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// How many unused recovery codes the user has.
    async fn count_recovery_codes(&self, tenant: TenantId, user: UserId) -> StoreResult<u32>;

    async fn create_login_flow(&self, flow: &crate::mfa::LoginFlow) -> StoreResult<()>;
    async fn find_login_flow(
        &self,
        tenant: TenantId,
        binding_hash: &str,
    ) -> StoreResult<Option<crate::mfa::LoginFlow>>;
    async fn find_login_flow_by_id(
        &self,
        tenant: TenantId,
        id: crate::LoginFlowId,
    ) -> StoreResult<Option<crate::mfa::LoginFlow>>;
    async fn find_login_flow_by_link(
        &self,
        tenant: TenantId,
        link_hash: &str,
    ) -> StoreResult<Option<crate::mfa::LoginFlow>>;
    /// Saves the flow's progress (stage, user, methods, pending challenge, link, attempts).
    async fn update_login_flow(&self, flow: &crate::mfa::LoginFlow) -> StoreResult<()>;
    /// Deletes the flow; false when it was already gone (so a flow completes once).
    async fn delete_login_flow(
        &self,
        tenant: TenantId,
        id: crate::LoginFlowId,
    ) -> StoreResult<bool>;
    /// Counts a wrong answer; returns the new count.
    async fn record_flow_attempt(
        &self,
        tenant: TenantId,
        id: crate::LoginFlowId,
    ) -> StoreResult<u32>;
    /// Deletes flows that expired before `now`; returns how many.
    async fn purge_login_flows(&self, now: Timestamp) -> StoreResult<u64>;
}

/// When each user last used each permission (an allowed `authz/check`), for access reviews.
pub trait PermissionUsageStore {
    /// Records a use at `at` (kept when later than the one stored).
    async fn record_permission_use(
        &self,
        tenant: TenantId,
        user: UserId,
        permission: &str,
        at: Timestamp,
    ) -> StoreResult<()>;
    /// Every recorded use of the tenant: (user, permission, last used).
    async fn permission_uses(
        &self,
        tenant: TenantId,
    ) -> StoreResult<Vec<(UserId, String, Timestamp)>>;
}

/// The risk engine's learned profile of each user (sealed JSON; see `tessera_risk::profile`).
pub trait RiskProfileStore {
    /// The stored profile, as the JSON the engine wrote.
    async fn risk_profile(&self, tenant: TenantId, user: UserId) -> StoreResult<Option<String>>;
    /// Replaces the stored profile.
    async fn save_risk_profile(
        &self,
        tenant: TenantId,
        user: UserId,
        profile_json: &str,
        at: Timestamp,
    ) -> StoreResult<()>;
}

/// What one node's risk engine counted (a failed or refused attempt, a completed sign-in, a
/// sign-up), shared with the other nodes so their velocity windows see the whole cluster's
/// traffic. The account is the engine's keyed blind index, never an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiskVelocityRecord {
    /// Assigned by the store; ignored when appending.
    pub id: i64,
    pub tenant_id: TenantId,
    /// The node that counted it (a random id per process).
    pub node: String,
    pub at: Timestamp,
    pub kind: RiskVelocityKind,
    pub account: String,
    /// Personal data: sealed at rest.
    pub ip: Option<String>,
    /// A keyed hash of an attempted password (spraying), never the password.
    pub password_fingerprint: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RiskVelocityKind {
    /// A wrong password, an unknown account, a failed code: counts against account and source.
    Failure,
    /// An attempt the engine refused: counts against the source only.
    Refused,
    /// A completed sign-in: forgives the account's failures.
    Success,
    /// A sign-up: counts toward the sign-up velocity of the source.
    Registration,
}

impl RiskVelocityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskVelocityKind::Failure => "failure",
            RiskVelocityKind::Refused => "refused",
            RiskVelocityKind::Success => "success",
            RiskVelocityKind::Registration => "registration",
        }
    }

    pub fn parse(s: &str) -> Option<RiskVelocityKind> {
        Some(match s {
            "failure" => RiskVelocityKind::Failure,
            "refused" => RiskVelocityKind::Refused,
            "success" => RiskVelocityKind::Success,
            "registration" => RiskVelocityKind::Registration,
            _ => return None,
        })
    }
}

/// The risk engine's shared velocity journal (`risk_velocity`).
pub trait RiskVelocityStore {
    /// Appends records (one statement per batch).
    async fn append_risk_velocity(&self, records: &[RiskVelocityRecord]) -> StoreResult<()>;
    /// Records of every tenant at or after `since` counted by another node than `except_node`,
    /// oldest first (by time, then id), at most `limit`.
    async fn risk_velocity_since(
        &self,
        since: Timestamp,
        except_node: &str,
        limit: u32,
    ) -> StoreResult<Vec<RiskVelocityRecord>>;
    /// Deletes records older than `before`; returns how many.
    async fn purge_risk_velocity(&self, before: Timestamp) -> StoreResult<u64>;
}
