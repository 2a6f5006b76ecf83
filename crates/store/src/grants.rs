//! `GrantStore`: the OAuth 2 / OpenID Connect grant tables. Codes, refresh tokens, device codes
//! and opaque access tokens are stored only as their SHA-256 (hex), computed by the caller.
//!
//! - `authorization_codes`, `refresh_tokens`, `access_tokens` and `device_authorizations` are
//!   keyed by their hash or id alone (unique across the deployment) and carry their tenant, which
//!   every query filters on.
//! - Single-use transitions (redeeming a code, rotating a refresh token, deciding and consuming a
//!   device authorization, remembering a jti) are one conditional statement each, so exactly one
//!   of any number of concurrent callers, on any number of nodes, wins.
//! - `revoked_families` records each revoked family (a refresh-token family, or an authorization
//!   code whose hash names the family of the tokens it yields) until every token the family can
//!   hold has expired. `is_family_revoked` answers from it even when the family has no rows yet,
//!   and a token written later into a recorded family is stored already revoked: a replayed code
//!   revokes what its first redemption is still about to issue.
//! - A refresh token is kept until its family's absolute end (`family_expires_at`), even when
//!   rotated, so that a reused token is recognised.

use time::Duration;

use tessera_core::oauth::{
    AuthorizationCode, ConsentGrant, DeviceAuthorization, DeviceStatus, RefreshToken,
};
use tessera_core::store::{AccessTokenRecord, GrantStore, PresentedToken, StoreResult};
use tessera_core::{SessionId, StoreError, TenantId, Timestamp, UserId};

use crate::Store;
use crate::codec::{
    from_json, from_millis, id, opt_from_millis, opt_to_millis, to_json, to_millis,
};
use crate::error::corrupt;
use crate::sessions::{JoinedSessionLifetime, joined_session_lifetime_columns};
use crate::users::{JoinedUser, joined_user_columns};

/// The shortest time a revoked family stays recorded, for families whose rows do not tell how long
/// their tokens live (unrecorded tokens, or no rows at all yet).
const MIN_REVOCATION_RETENTION: Duration = Duration::days(1);

macro_rules! code_columns {
    () => {
        "code_hash, tenant_id, client_id, user_id, session_id, redirect_uri, scope, nonce, \
         code_challenge, code_challenge_method, auth_time, acr, amr, created_at, expires_at, \
         consumed_at"
    };
}

macro_rules! refresh_columns {
    () => {
        "token_hash, family_id, tenant_id, client_id, user_id, session_id, scope, auth_time, amr, \
         acr, created_at, expires_at, family_expires_at, rotated_at, revoked_at"
    };
}

macro_rules! access_columns {
    () => {
        "token_id, tenant_id, client_id, user_id, family_id, scope, opaque_claims, created_at, \
         expires_at, revoked_at"
    };
}

macro_rules! device_columns {
    () => {
        "device_code_hash, user_code, tenant_id, client_id, scope, status, user_id, session_id, \
         auth_time, created_at, expires_at, interval_secs, last_polled_at"
    };
}

/// When the family `$2` of tenant `$1` was revoked, if it was (a scalar subquery).
macro_rules! family_revoked_at {
    ($tenant:literal, $family:literal) => {
        concat!(
            "(SELECT revoked_at FROM revoked_families WHERE tenant_id = ",
            $tenant,
            " AND family_id = ",
            $family,
            ")"
        )
    };
}

/// How many records say that the family `$family` of tenant `$tenant` is revoked (a scalar
/// subquery, 0 when it is not): a `revoked_families` row, a revoked access token whose id is the
/// family, a revoked refresh token whose hash is the family. See `is_family_revoked`.
macro_rules! family_hits {
    ($tenant:literal, $family:literal) => {
        concat!(
            "((SELECT COUNT(*) FROM revoked_families f WHERE f.tenant_id = ",
            $tenant,
            " AND f.family_id = ",
            $family,
            ") \
              + (SELECT COUNT(*) FROM access_tokens x WHERE x.tenant_id = ",
            $tenant,
            " AND x.token_id = ",
            $family,
            " AND x.revoked_at IS NOT NULL) \
              + (SELECT COUNT(*) FROM refresh_tokens y WHERE y.tenant_id = ",
            $tenant,
            " AND y.token_hash = ",
            $family,
            " AND y.revoked_at IS NOT NULL))"
        )
    };
}

/// The upsert tail of a `revoked_families` insert: a family revoked again keeps its first
/// revocation time and the later of the two expiries.
macro_rules! on_family_conflict {
    () => {
        " ON CONFLICT (tenant_id, family_id) DO UPDATE SET expires_at = \
           CASE WHEN excluded.expires_at > revoked_families.expires_at \
                THEN excluded.expires_at ELSE revoked_families.expires_at END"
    };
}

/// The `INSERT` of a refresh token (`&RefreshToken`), its `amr` already JSON. A token of a family
/// already revoked is stored revoked (at the time of the family's revocation).
macro_rules! insert_refresh_query {
    ($token:expr, $amr:expr) => {
        bind_refresh!(
            sqlx::query(concat!(
                "INSERT INTO refresh_tokens (",
                refresh_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, COALESCE($15, ",
                family_revoked_at!("$3", "$2"),
                "))"
            )),
            $token,
            $amr
        )
    };
}

/// Binds a refresh token's 15 values, in `refresh_columns!` order, to `$query`.
macro_rules! bind_refresh {
    ($query:expr, $token:expr, $amr:expr) => {
        $query
            .bind(&$token.token_hash)
            .bind(&$token.family_id)
            .bind($token.tenant_id.to_string())
            .bind(&$token.client_id)
            .bind($token.user_id.map(|u| u.to_string()))
            .bind($token.session_id.map(|s| s.to_string()))
            .bind(&$token.scope)
            .bind(opt_to_millis($token.auth_time))
            .bind($amr)
            .bind(&$token.acr)
            .bind(to_millis($token.created_at))
            .bind(to_millis($token.expires_at))
            .bind(to_millis($token.family_expires_at))
            .bind(opt_to_millis($token.rotated_at))
            .bind(opt_to_millis($token.revoked_at))
    };
}

/// The conditional `UPDATE` that rotates a refresh token: only a token neither rotated nor
/// revoked, of a family not recorded as revoked.
macro_rules! mark_rotated_query {
    ($tenant:expr, $token_hash:expr, $now:expr) => {
        sqlx::query(mark_rotated_sql!())
            .bind($tenant.to_string())
            .bind($token_hash)
            .bind(to_millis($now))
    };
}

/// The SQL of `mark_rotated_query!`: tenant `$1`, token hash `$2`, rotation time `$3`.
macro_rules! mark_rotated_sql {
    () => {
        "UPDATE refresh_tokens SET rotated_at = $3 \
         WHERE tenant_id = $1 AND token_hash = $2 AND rotated_at IS NULL AND revoked_at IS NULL \
         AND NOT EXISTS (SELECT 1 FROM revoked_families f \
                         WHERE f.tenant_id = refresh_tokens.tenant_id \
                         AND f.family_id = refresh_tokens.family_id)"
    };
}

/// The values of the successor refresh token (`$4`–`$18`) and of the access-token record
/// (`$19`–`$28`, all null when there is none) in a rotation, as the tail of an
/// `INSERT … SELECT`; `$rest` is the `FROM`/`WHERE` that makes each insert depend on the rotation.
macro_rules! rotation_successor_sql {
    ($($rest:literal),*) => {
        concat!(
            "INSERT INTO refresh_tokens (",
            refresh_columns!(),
            ") SELECT $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, COALESCE($18, ",
            family_revoked_at!("$6", "$5"),
            ")",
            $($rest),*
        )
    };
}

macro_rules! rotation_access_sql {
    ($($rest:literal),*) => {
        concat!(
            "INSERT INTO access_tokens (",
            access_columns!(),
            ") SELECT $19, $20, $21, $22, $23, $24, $25, $26, $27, COALESCE($28, ",
            family_revoked_at!("$20", "$23"),
            ")",
            $($rest),*
        )
    };
}

/// A refresh token's rotation with the records of its successor, as one message to the database
/// (see `rotate_refresh_token`). PostgreSQL: one statement whose data-modifying `WITH` parts
/// insert only if the rotation updated a row; it returns how many successors it stored.
/// SQLite, which has no data-modifying `WITH`: three statements sent together, each insert
/// conditional on the previous statement having changed one row (`changes()`), run inside a
/// transaction; the rows they changed together say whether the rotation happened.
const ROTATE_WITH_SUCCESSOR: crate::dialect::Spelled = crate::dialect::Spelled::new(
    concat!(
        mark_rotated_sql!(),
        "; ",
        rotation_successor_sql!(" WHERE changes() = 1"),
        "; ",
        rotation_access_sql!(" WHERE changes() = 1 AND $19 IS NOT NULL")
    ),
    concat!(
        "WITH rotated AS (",
        mark_rotated_sql!(),
        " RETURNING 1), successor AS (",
        rotation_successor_sql!(" FROM rotated RETURNING 1"),
        "), access AS (",
        rotation_access_sql!(" FROM rotated WHERE $19 IS NOT NULL"),
        ") SELECT COUNT(*) FROM successor"
    ),
);

/// Binds the 28 parameters of `ROTATE_WITH_SUCCESSOR` to `$query`.
macro_rules! bind_rotation {
    ($query:expr, $tenant:expr, $token_hash:expr, $now:expr, $successor:expr, $amr:expr,
     $access:expr, $access_claims:expr) => {
        bind_refresh!(
            $query
                .bind($tenant.to_string())
                .bind($token_hash)
                .bind(to_millis($now)),
            $successor,
            $amr
        )
        .bind($access.map(|r| r.token_id.clone()))
        .bind($access.map(|r| r.tenant_id.to_string()))
        .bind($access.map(|r| r.client_id.clone()))
        .bind($access.and_then(|r| r.user_id.map(|u| u.to_string())))
        .bind($access.and_then(|r| r.family_id.clone()))
        .bind($access.map(|r| r.scope.clone()))
        .bind($access_claims)
        .bind($access.map(|r| to_millis(r.created_at)))
        .bind($access.map(|r| to_millis(r.expires_at)))
        .bind($access.and_then(|r| opt_to_millis(r.revoked_at)))
    };
}

/// A refresh token's rotation with its successor's records, as the SQLite writer runs it in a
/// group commit (see `rotate_refresh_token`). `Ok(false)`: the token was not rotated (already
/// rotated, revoked, of a revoked family, or unknown), and nothing was written.
pub(crate) struct Rotation {
    tenant: TenantId,
    token_hash: String,
    now: Timestamp,
    access: Option<AccessTokenRecord>,
    access_claims: Option<String>,
    successor: RefreshToken,
    amr: String,
}

impl crate::group_commit::BatchedWrite for Rotation {
    type Output = bool;

    fn run<'c>(
        &'c self,
        conn: &'c mut sqlx::SqliteConnection,
    ) -> std::pin::Pin<Box<dyn Future<Output = StoreResult<bool>> + Send + 'c>> {
        Box::pin(async move {
            let changed = bind_rotation!(
                sqlx::query(ROTATE_WITH_SUCCESSOR.sqlite),
                self.tenant,
                &self.token_hash,
                self.now,
                &self.successor,
                &self.amr,
                self.access.as_ref(),
                &self.access_claims
            )
            .execute(&mut *conn)
            .await
            .map_err(crate::error::from_sqlx)?
            .rows_affected();
            let expected = if self.access.is_some() { 3 } else { 2 };
            match changed {
                0 => Ok(false),
                n if n == expected => Ok(true),
                // Rolled back by the group commit: a rotation without all of its successors.
                n => Err(StoreError::Backend(format!(
                    "a refresh-token rotation changed {n} rows instead of {expected}"
                ))),
            }
        })
    }
}

/// The `INSERT` of an access-token record (`&AccessTokenRecord`), its opaque claims already JSON
/// (see `access_claims_json`). A token of a family already revoked is stored revoked.
macro_rules! insert_access_query {
    ($record:expr, $claims:expr) => {
        bind_access!(sqlx::query(insert_access_sql!()), $record, $claims)
    };
}

/// The SQL of `insert_access_query!`: the record's values `$1`–`$10`, in `access_columns!` order.
macro_rules! insert_access_sql {
    () => {
        concat!(
            "INSERT INTO access_tokens (",
            access_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, COALESCE($10, ",
            family_revoked_at!("$2", "$5"),
            "))"
        )
    };
}

/// Binds an access-token record's 10 values, in `access_columns!` order, to `$query`.
macro_rules! bind_access {
    ($query:expr, $record:expr, $claims:expr) => {
        $query
            .bind(&$record.token_id)
            .bind($record.tenant_id.to_string())
            .bind(&$record.client_id)
            .bind($record.user_id.map(|u| u.to_string()))
            .bind(&$record.family_id)
            .bind(&$record.scope)
            .bind($claims)
            .bind(to_millis($record.created_at))
            .bind(to_millis($record.expires_at))
            .bind(opt_to_millis($record.revoked_at))
    };
}

macro_rules! insert_code_sql {
    () => {
        concat!(
            "INSERT INTO authorization_codes (",
            code_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        )
    };
}

macro_rules! code_session_client_sql {
    () => {
        "INSERT INTO session_clients (tenant_id, session_id, client_id, created_at) \
         SELECT $2, $5, $3, $14 WHERE $5 IS NOT NULL \
         AND EXISTS (SELECT 1 FROM sessions WHERE tenant_id = $2 AND id = $5) \
         ON CONFLICT (tenant_id, session_id, client_id) DO NOTHING"
    };
}

macro_rules! issued_refresh_sql {
    () => {
        concat!(
            "INSERT INTO refresh_tokens (",
            refresh_columns!(),
            ") VALUES ($11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, \
             COALESCE($25, ",
            family_revoked_at!("$13", "$12"),
            "))"
        )
    };
}

/// An access-token record (`$1`–`$10`) and a refresh token (`$11`–`$25`) issued together, stored
/// in one message to the database (see `insert_issued_tokens`): on SQLite two statements sent
/// together, on PostgreSQL one whose data-modifying `WITH` stores the access token.
const INSERT_ISSUED_TOKENS: crate::dialect::Spelled = crate::dialect::Spelled::new(
    concat!(insert_access_sql!(), "; ", issued_refresh_sql!()),
    concat!(
        "WITH access AS (",
        insert_access_sql!(),
        ") ",
        issued_refresh_sql!()
    ),
);

/// An authorization code (`$1`–`$16`, in `code_columns!` order) and, when it names a session
/// that exists, its client among the session's clients (as `record_session_client` records it,
/// at the code's creation time), in one message to the database (see
/// `insert_authorization_code`): on SQLite two statements sent together, on PostgreSQL one whose
/// data-modifying `WITH` stores the code.
const INSERT_CODE: crate::dialect::Spelled = crate::dialect::Spelled::new(
    concat!(insert_code_sql!(), "; ", code_session_client_sql!()),
    concat!(
        "WITH code AS (",
        insert_code_sql!(),
        ") ",
        code_session_client_sql!()
    ),
);

fn access_claims_json(record: &AccessTokenRecord) -> Result<Option<String>, StoreError> {
    record
        .opaque_claims
        .as_ref()
        .map(|c| to_json("access_tokens.opaque_claims", c))
        .transpose()
}

fn opt_user(column: &str, value: Option<&str>) -> Result<Option<UserId>, StoreError> {
    value.map(|v| id(column, v, UserId::parse)).transpose()
}

fn opt_session(column: &str, value: Option<&str>) -> Result<Option<SessionId>, StoreError> {
    value.map(|v| id(column, v, SessionId::parse)).transpose()
}

#[derive(sqlx::FromRow)]
struct CodeRow {
    code_hash: String,
    tenant_id: String,
    client_id: String,
    user_id: String,
    session_id: Option<String>,
    redirect_uri: String,
    scope: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    auth_time: i64,
    acr: Option<String>,
    amr: String,
    created_at: i64,
    expires_at: i64,
    consumed_at: Option<i64>,
}

impl CodeRow {
    fn into_code(self) -> Result<AuthorizationCode, StoreError> {
        Ok(AuthorizationCode {
            code_hash: self.code_hash,
            tenant_id: id(
                "authorization_codes.tenant_id",
                &self.tenant_id,
                TenantId::parse,
            )?,
            client_id: self.client_id,
            user_id: id("authorization_codes.user_id", &self.user_id, UserId::parse)?,
            session_id: opt_session("authorization_codes.session_id", self.session_id.as_deref())?,
            redirect_uri: self.redirect_uri,
            scope: self.scope,
            nonce: self.nonce,
            code_challenge: self.code_challenge,
            code_challenge_method: self.code_challenge_method,
            auth_time: from_millis(self.auth_time)?,
            acr: self.acr,
            amr: from_json("authorization_codes.amr", &self.amr)?,
            created_at: from_millis(self.created_at)?,
            expires_at: from_millis(self.expires_at)?,
            consumed_at: opt_from_millis(self.consumed_at)?,
        })
    }
}

/// A row with the `family_hits!` count of its family beside it.
#[derive(sqlx::FromRow)]
struct WithFamily<T> {
    #[sqlx(flatten)]
    row: T,
    family_hits: i64,
}

/// The joins of a presented token's derived table `t` to the user (`u`) and the session (`s`) it
/// names, each by its key within the tenant. PostgreSQL gets each as a `LATERAL` subquery: planned
/// as a plain join, the generic plan of a new database (no statistics yet) scanned the tenant's
/// users and sessions (`Index Cond: (tenant_id = $1)`) and filtered them by id (see
/// `crates/store/tests/store/plans.rs`).
macro_rules! join_token_user {
    (sqlite) => {
        " LEFT JOIN users u ON u.id = t.user_id AND u.tenant_id = t.tenant_id"
    };
    (postgres) => {
        " LEFT JOIN LATERAL (SELECT * FROM users WHERE users.id = t.user_id \
           AND users.tenant_id = t.tenant_id OFFSET 0) u ON true"
    };
}

macro_rules! join_token_session {
    (sqlite) => {
        " LEFT JOIN sessions s ON s.id = t.session_id AND s.tenant_id = t.tenant_id"
    };
    (postgres) => {
        " LEFT JOIN LATERAL (SELECT * FROM sessions WHERE sessions.id = t.session_id \
           AND sessions.tenant_id = t.tenant_id OFFSET 0) s ON true"
    };
}

/// `present_refresh_token`'s statement: the token with its family's `family_hits!`, its user and
/// its session's lifetime.
macro_rules! present_refresh_sql {
    ($dialect:ident) => {
        concat!(
            "SELECT t.*, ",
            joined_user_columns!(),
            ", ",
            joined_session_lifetime_columns!(),
            " FROM (SELECT ",
            refresh_columns!(),
            ", ",
            family_hits!("$1", "refresh_tokens.family_id"),
            " AS family_hits FROM refresh_tokens WHERE tenant_id = $1 AND token_hash = $2) t",
            join_token_user!($dialect),
            join_token_session!($dialect)
        )
    };
}

pub(crate) const PRESENT_REFRESH: crate::dialect::Spelled =
    crate::dialect::Spelled::new(present_refresh_sql!(sqlite), present_refresh_sql!(postgres));

/// `present_access_token`'s statement: the token with its family's `family_hits!` and its user.
macro_rules! present_access_sql {
    ($dialect:ident) => {
        concat!(
            "SELECT t.*, ",
            joined_user_columns!(),
            " FROM (SELECT ",
            access_columns!(),
            ", CASE WHEN access_tokens.family_id IS NULL THEN 0 ELSE ",
            family_hits!("$1", "access_tokens.family_id"),
            " END AS family_hits FROM access_tokens WHERE tenant_id = $1 AND token_id = $2) t",
            join_token_user!($dialect)
        )
    };
}

pub(crate) const PRESENT_ACCESS: crate::dialect::Spelled =
    crate::dialect::Spelled::new(present_access_sql!(sqlite), present_access_sql!(postgres));

/// A presented access token's row: the record, its family's `family_hits!` and the joined user.
#[derive(sqlx::FromRow)]
struct PresentedAccessRow {
    #[sqlx(flatten)]
    row: AccessRow,
    family_hits: i64,
    #[sqlx(flatten)]
    user: JoinedUser,
}

/// A presented refresh token's row: as `PresentedAccessRow`, with the bound session's lifetime.
#[derive(sqlx::FromRow)]
struct PresentedRefreshRow {
    #[sqlx(flatten)]
    row: RefreshRow,
    family_hits: i64,
    #[sqlx(flatten)]
    user: JoinedUser,
    #[sqlx(flatten)]
    session: JoinedSessionLifetime,
}

#[derive(sqlx::FromRow)]
struct RefreshRow {
    token_hash: String,
    family_id: String,
    tenant_id: String,
    client_id: String,
    user_id: Option<String>,
    session_id: Option<String>,
    scope: String,
    auth_time: Option<i64>,
    amr: String,
    acr: Option<String>,
    created_at: i64,
    expires_at: i64,
    family_expires_at: i64,
    rotated_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl RefreshRow {
    fn into_token(self) -> Result<RefreshToken, StoreError> {
        Ok(RefreshToken {
            token_hash: self.token_hash,
            family_id: self.family_id,
            tenant_id: id("refresh_tokens.tenant_id", &self.tenant_id, TenantId::parse)?,
            client_id: self.client_id,
            user_id: opt_user("refresh_tokens.user_id", self.user_id.as_deref())?,
            session_id: opt_session("refresh_tokens.session_id", self.session_id.as_deref())?,
            scope: self.scope,
            auth_time: opt_from_millis(self.auth_time)?,
            amr: from_json("refresh_tokens.amr", &self.amr)?,
            acr: self.acr,
            created_at: from_millis(self.created_at)?,
            expires_at: from_millis(self.expires_at)?,
            family_expires_at: from_millis(self.family_expires_at)?,
            rotated_at: opt_from_millis(self.rotated_at)?,
            revoked_at: opt_from_millis(self.revoked_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct AccessRow {
    token_id: String,
    tenant_id: String,
    client_id: String,
    user_id: Option<String>,
    family_id: Option<String>,
    scope: String,
    opaque_claims: Option<String>,
    created_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
}

impl AccessRow {
    fn into_record(self) -> Result<AccessTokenRecord, StoreError> {
        Ok(AccessTokenRecord {
            token_id: self.token_id,
            tenant_id: id("access_tokens.tenant_id", &self.tenant_id, TenantId::parse)?,
            client_id: self.client_id,
            user_id: opt_user("access_tokens.user_id", self.user_id.as_deref())?,
            family_id: self.family_id,
            scope: self.scope,
            opaque_claims: self
                .opaque_claims
                .as_deref()
                .map(|c| from_json("access_tokens.opaque_claims", c))
                .transpose()?,
            created_at: from_millis(self.created_at)?,
            expires_at: from_millis(self.expires_at)?,
            revoked_at: opt_from_millis(self.revoked_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ConsentRow {
    tenant_id: String,
    user_id: String,
    client_id: String,
    scopes: String,
    granted_at: i64,
}

impl ConsentRow {
    fn into_grant(self) -> Result<ConsentGrant, StoreError> {
        Ok(ConsentGrant {
            tenant_id: id("consents.tenant_id", &self.tenant_id, TenantId::parse)?,
            user_id: id("consents.user_id", &self.user_id, UserId::parse)?,
            client_id: self.client_id,
            scopes: from_json("consents.scopes", &self.scopes)?,
            granted_at: from_millis(self.granted_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct DeviceRow {
    device_code_hash: String,
    user_code: String,
    tenant_id: String,
    client_id: String,
    scope: String,
    status: String,
    user_id: Option<String>,
    session_id: Option<String>,
    auth_time: Option<i64>,
    created_at: i64,
    expires_at: i64,
    interval_secs: i64,
    last_polled_at: Option<i64>,
}

impl DeviceRow {
    fn into_device(self) -> Result<DeviceAuthorization, StoreError> {
        Ok(DeviceAuthorization {
            device_code_hash: self.device_code_hash,
            user_code: self.user_code,
            tenant_id: id(
                "device_authorizations.tenant_id",
                &self.tenant_id,
                TenantId::parse,
            )?,
            client_id: self.client_id,
            scope: self.scope,
            status: parse_device_status(&self.status)?,
            user_id: opt_user("device_authorizations.user_id", self.user_id.as_deref())?,
            session_id: opt_session(
                "device_authorizations.session_id",
                self.session_id.as_deref(),
            )?,
            auth_time: opt_from_millis(self.auth_time)?,
            created_at: from_millis(self.created_at)?,
            expires_at: from_millis(self.expires_at)?,
            interval_secs: self.interval_secs,
            last_polled_at: opt_from_millis(self.last_polled_at)?,
        })
    }
}

fn device_status_str(status: DeviceStatus) -> &'static str {
    match status {
        DeviceStatus::Pending => "pending",
        DeviceStatus::Approved => "approved",
        DeviceStatus::Denied => "denied",
        DeviceStatus::Consumed => "consumed",
    }
}

fn parse_device_status(s: &str) -> Result<DeviceStatus, StoreError> {
    match s {
        "pending" => Ok(DeviceStatus::Pending),
        "approved" => Ok(DeviceStatus::Approved),
        "denied" => Ok(DeviceStatus::Denied),
        "consumed" => Ok(DeviceStatus::Consumed),
        _ => Err(corrupt(
            "device_authorizations.status is not a known device status",
        )),
    }
}

impl GrantStore for Store {
    /// `Conflict("code_hash")` when the hash is taken; `NotFound` when the user is not one of the
    /// tenant's. The session's client is recorded in the same message (`INSERT_CODE`).
    async fn insert_authorization_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        let amr = to_json("authorization_codes.amr", &code.amr)?;
        execute!(
            self,
            sqlx::query(INSERT_CODE.text(&self.db))
                .bind(&code.code_hash)
                .bind(code.tenant_id.to_string())
                .bind(&code.client_id)
                .bind(code.user_id.to_string())
                .bind(code.session_id.map(|s| s.to_string()))
                .bind(&code.redirect_uri)
                .bind(&code.scope)
                .bind(&code.nonce)
                .bind(&code.code_challenge)
                .bind(&code.code_challenge_method)
                .bind(to_millis(code.auth_time))
                .bind(&code.acr)
                .bind(&amr)
                .bind(to_millis(code.created_at))
                .bind(to_millis(code.expires_at))
                .bind(opt_to_millis(code.consumed_at))
        )?;
        Ok(())
    }

    /// One conditional `UPDATE … WHERE consumed_at IS NULL RETURNING`: among concurrent callers
    /// exactly one gets the code with `consumed_at == None`. The others (and any later caller)
    /// get it with the time of the first redemption. Expiry is the caller's to check.
    async fn consume_authorization_code(
        &self,
        tenant: TenantId,
        code_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<AuthorizationCode>> {
        let redeemed: Option<CodeRow> = fetch_optional!(
            write self,
            sqlx::query_as(concat!(
                "UPDATE authorization_codes SET consumed_at = $3 \
                 WHERE tenant_id = $1 AND code_hash = $2 AND consumed_at IS NULL RETURNING ",
                code_columns!()
            ))
            .bind(tenant.to_string())
            .bind(code_hash)
            .bind(to_millis(now))
        )?;
        if let Some(row) = redeemed {
            // As it was before this call.
            return Ok(Some(
                CodeRow {
                    consumed_at: None,
                    ..row
                }
                .into_code()?,
            ));
        }
        // Already redeemed (a replay), or unknown.
        let row: Option<CodeRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                code_columns!(),
                " FROM authorization_codes WHERE tenant_id = $1 AND code_hash = $2"
            ))
            .bind(tenant.to_string())
            .bind(code_hash)
        )?;
        row.map(CodeRow::into_code).transpose()
    }

    /// `Conflict("token_hash")` when the hash is taken; `NotFound` when a user is given that is not
    /// one of the tenant's. A token of a family already revoked is stored revoked (at the time of
    /// the family's revocation).
    async fn insert_refresh_token(&self, token: &RefreshToken) -> StoreResult<()> {
        let amr = to_json("refresh_tokens.amr", &token.amr)?;
        execute!(self, insert_refresh_query!(token, &amr))?;
        Ok(())
    }

    async fn get_refresh_token(
        &self,
        tenant: TenantId,
        token_hash: &str,
    ) -> StoreResult<Option<RefreshToken>> {
        let row: Option<RefreshRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                refresh_columns!(),
                " FROM refresh_tokens WHERE tenant_id = $1 AND token_hash = $2"
            ))
            .bind(tenant.to_string())
            .bind(token_hash)
        )?;
        row.map(RefreshRow::into_token).transpose()
    }

    /// One statement: the token and whether its family is revoked.
    async fn get_refresh_token_with_family(
        &self,
        tenant: TenantId,
        token_hash: &str,
    ) -> StoreResult<Option<(RefreshToken, bool)>> {
        let row: Option<WithFamily<RefreshRow>> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                refresh_columns!(),
                ", ",
                family_hits!("$1", "refresh_tokens.family_id"),
                " AS family_hits FROM refresh_tokens WHERE tenant_id = $1 AND token_hash = $2"
            ))
            .bind(tenant.to_string())
            .bind(token_hash)
        )?;
        row.map(|r| Ok((r.row.into_token()?, r.family_hits > 0)))
            .transpose()
    }

    /// One statement (`PRESENT_REFRESH`): `get_refresh_token_with_family`'s query as a derived
    /// table, joined to the user and the session it names (each by its key, within the tenant).
    async fn present_refresh_token(
        &self,
        tenant: TenantId,
        token_hash: &str,
    ) -> StoreResult<Option<PresentedToken<RefreshToken>>> {
        let row: Option<PresentedRefreshRow> = fetch_optional!(
            self,
            sqlx::query_as(PRESENT_REFRESH.text(&self.db))
                .bind(tenant.to_string())
                .bind(token_hash)
        )?;
        row.map(|r| {
            Ok(PresentedToken {
                token: r.row.into_token()?,
                family_revoked: r.family_hits > 0,
                user: r.user.into_user(&self.crypto)?,
                session: r.session.into_lifetime()?,
            })
        })
        .transpose()
    }

    /// One conditional `UPDATE`; a token of a family recorded as revoked is refused too (even if
    /// the token row itself escaped the revocation). Expiry is the caller's to check.
    async fn mark_refresh_rotated(
        &self,
        tenant: TenantId,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let rotated = execute!(self, mark_rotated_query!(tenant, token_hash, now))?;
        Ok(rotated == 1)
    }

    /// What `mark_refresh_rotated`, then (only when it rotated) `insert_access_token` and
    /// `insert_refresh_token` would do, as one message to the database (`ROTATE_WITH_SUCCESSOR`):
    /// no rotated token without its successor. On SQLite the rotation is group-committed with the
    /// others waiting for the writer (`group_commit.rs`).
    async fn rotate_refresh_token(
        &self,
        tenant: TenantId,
        token_hash: &str,
        now: Timestamp,
        access: Option<&AccessTokenRecord>,
        successor: &RefreshToken,
    ) -> StoreResult<bool> {
        let access_claims = access.map(access_claims_json).transpose()?.flatten();
        let amr = to_json("refresh_tokens.amr", &successor.amr)?;
        match &self.db {
            crate::Db::Postgres(pool) => {
                let (stored,): (i64,) = bind_rotation!(
                    sqlx::query_as(ROTATE_WITH_SUCCESSOR.postgres),
                    tenant,
                    token_hash,
                    now,
                    successor,
                    &amr,
                    access,
                    &access_claims
                )
                .fetch_one(pool)
                .await
                .map_err(crate::error::from_sqlx)?;
                Ok(stored == 1)
            }
            crate::Db::Sqlite { rotations, .. } => {
                rotations
                    .run(Rotation {
                        tenant,
                        token_hash: token_hash.to_owned(),
                        now,
                        access: access.cloned(),
                        access_claims,
                        successor: successor.clone(),
                        amr,
                    })
                    .await
            }
        }
    }

    /// Counts the refresh and access tokens this call revoked (tokens revoked before keep their
    /// first revocation time and are not counted). The family is recorded as revoked even when it
    /// has no rows, until the last of its tokens (and of a code of that hash) expires, and for at
    /// least a day.
    async fn revoke_family(
        &self,
        tenant: TenantId,
        family_id: &str,
        now: Timestamp,
    ) -> StoreResult<u64> {
        let tenant = tenant.to_string();
        let at = to_millis(now);
        let keep_until = to_millis(now + MIN_REVOCATION_RETENTION);
        transaction!(self, tx => {
            let refresh = tx_execute!(
                tx,
                sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $3 \
                     WHERE tenant_id = $1 AND family_id = $2 AND revoked_at IS NULL"
                )
                .bind(&tenant)
                .bind(family_id)
                .bind(at)
            )?;
            let access = tx_execute!(
                tx,
                sqlx::query(
                    "UPDATE access_tokens SET revoked_at = $3 \
                     WHERE tenant_id = $1 AND family_id = $2 AND revoked_at IS NULL"
                )
                .bind(&tenant)
                .bind(family_id)
                .bind(at)
            )?;
            // `WHERE true` keeps SQLite from reading the upsert's ON as a join constraint.
            tx_execute!(
                tx,
                sqlx::query(concat!(
                    "INSERT INTO revoked_families (tenant_id, family_id, revoked_at, expires_at) \
                     SELECT $1, $2, $3, MAX(ends.lasts_until) FROM ( \
                       SELECT family_expires_at AS lasts_until FROM refresh_tokens WHERE tenant_id = $1 AND family_id = $2 \
                       UNION ALL SELECT expires_at FROM access_tokens WHERE tenant_id = $1 AND family_id = $2 \
                       UNION ALL SELECT expires_at FROM authorization_codes WHERE tenant_id = $1 AND code_hash = $2 \
                       UNION ALL SELECT $4 \
                     ) ends WHERE true",
                    on_family_conflict!()
                ))
                .bind(&tenant)
                .bind(family_id)
                .bind(at)
                .bind(keep_until)
            )?;
            Ok(refresh + access)
        })
    }

    /// Revokes the user's refresh tokens and recorded access tokens (of `client_id` when given,
    /// else of every client) and records their families, and the user's authorization codes, as
    /// revoked: a code not yet redeemed, or redeemed but not yet exchanged, yields revoked tokens.
    /// Counts the tokens this call revoked.
    async fn revoke_user_client_tokens(
        &self,
        tenant: TenantId,
        user: UserId,
        client_id: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<u64> {
        let tenant = tenant.to_string();
        let user = user.to_string();
        let at = to_millis(now);
        let keep_until = to_millis(now + MIN_REVOCATION_RETENTION);
        transaction!(self, tx => {
            let refresh = tx_execute!(
                tx,
                sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $4 WHERE tenant_id = $1 AND user_id = $2 \
                     AND ($3 IS NULL OR client_id = $3) AND revoked_at IS NULL"
                )
                .bind(&tenant)
                .bind(&user)
                .bind(client_id)
                .bind(at)
            )?;
            let access = tx_execute!(
                tx,
                sqlx::query(
                    "UPDATE access_tokens SET revoked_at = $4 WHERE tenant_id = $1 AND user_id = $2 \
                     AND ($3 IS NULL OR client_id = $3) AND revoked_at IS NULL"
                )
                .bind(&tenant)
                .bind(&user)
                .bind(client_id)
                .bind(at)
            )?;
            // Families whose tokens (or code) may still be live; the same expiry rule as
            // revoke_family.
            tx_execute!(
                tx,
                sqlx::query(concat!(
                    "INSERT INTO revoked_families (tenant_id, family_id, revoked_at, expires_at) \
                     SELECT $1, fams.family_id, $4, \
                            CASE WHEN MAX(fams.lasts_until) > $5 THEN MAX(fams.lasts_until) ELSE $5 END FROM ( \
                       SELECT family_id, family_expires_at AS lasts_until FROM refresh_tokens \
                         WHERE tenant_id = $1 AND user_id = $2 AND ($3 IS NULL OR client_id = $3) \
                       UNION ALL SELECT family_id, expires_at FROM access_tokens \
                         WHERE tenant_id = $1 AND user_id = $2 AND ($3 IS NULL OR client_id = $3) \
                         AND family_id IS NOT NULL \
                       UNION ALL SELECT code_hash, expires_at FROM authorization_codes \
                         WHERE tenant_id = $1 AND user_id = $2 AND ($3 IS NULL OR client_id = $3) \
                     ) fams WHERE fams.lasts_until > $4 GROUP BY fams.family_id",
                    on_family_conflict!()
                ))
                .bind(&tenant)
                .bind(&user)
                .bind(client_id)
                .bind(at)
                .bind(keep_until)
            )?;
            Ok(refresh + access)
        })
    }

    /// `Conflict("token_id")` when the id is taken; `NotFound` when a user is given that is not one
    /// of the tenant's. A token of a family already revoked is stored revoked.
    async fn insert_access_token(&self, record: &AccessTokenRecord) -> StoreResult<()> {
        let claims = access_claims_json(record)?;
        execute!(self, insert_access_query!(record, &claims))?;
        Ok(())
    }

    async fn insert_issued_tokens(
        &self,
        access: &AccessTokenRecord,
        refresh: &RefreshToken,
    ) -> StoreResult<()> {
        let claims = access_claims_json(access)?;
        let amr = to_json("refresh_tokens.amr", &refresh.amr)?;
        let sql = INSERT_ISSUED_TOKENS.text(&self.db);
        execute!(
            self,
            bind_refresh!(
                bind_access!(sqlx::query(sql), access, &claims),
                refresh,
                &amr
            )
        )?;
        Ok(())
    }

    async fn get_access_token(
        &self,
        tenant: TenantId,
        token_id: &str,
    ) -> StoreResult<Option<AccessTokenRecord>> {
        let row: Option<AccessRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                access_columns!(),
                " FROM access_tokens WHERE tenant_id = $1 AND token_id = $2"
            ))
            .bind(tenant.to_string())
            .bind(token_id)
        )?;
        row.map(AccessRow::into_record).transpose()
    }

    /// One statement: the record and whether its family (if it has one) is revoked.
    async fn get_access_token_with_family(
        &self,
        tenant: TenantId,
        token_id: &str,
    ) -> StoreResult<Option<(AccessTokenRecord, bool)>> {
        let row: Option<WithFamily<AccessRow>> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                access_columns!(),
                ", CASE WHEN access_tokens.family_id IS NULL THEN 0 ELSE ",
                family_hits!("$1", "access_tokens.family_id"),
                " END AS family_hits FROM access_tokens WHERE tenant_id = $1 AND token_id = $2"
            ))
            .bind(tenant.to_string())
            .bind(token_id)
        )?;
        row.map(|r| Ok((r.row.into_record()?, r.family_hits > 0)))
            .transpose()
    }

    /// One statement (`PRESENT_ACCESS`): `get_access_token_with_family`'s query as a derived
    /// table, joined to the user it names (by its key, within the tenant).
    async fn present_access_token(
        &self,
        tenant: TenantId,
        token_id: &str,
    ) -> StoreResult<Option<PresentedToken<AccessTokenRecord>>> {
        let row: Option<PresentedAccessRow> = fetch_optional!(
            self,
            sqlx::query_as(PRESENT_ACCESS.text(&self.db))
                .bind(tenant.to_string())
                .bind(token_id)
        )?;
        row.map(|r| {
            Ok(PresentedToken {
                token: r.row.into_record()?,
                family_revoked: r.family_hits > 0,
                user: r.user.into_user(&self.crypto)?,
                session: None,
            })
        })
        .transpose()
    }

    /// Records an unknown token as a revoked row (empty scope, created `now`); a recorded one gets
    /// `revoked_at = now` unless it was revoked before. An id recorded for another tenant is left
    /// alone.
    async fn revoke_access_token(
        &self,
        tenant: TenantId,
        token_id: &str,
        client_id: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<()> {
        execute!(
            self,
            sqlx::query(
                "INSERT INTO access_tokens (token_id, tenant_id, client_id, scope, created_at, expires_at, revoked_at) \
                 VALUES ($1, $2, $3, '', $5, $4, $5) \
                 ON CONFLICT (token_id) DO UPDATE SET revoked_at = excluded.revoked_at \
                 WHERE access_tokens.tenant_id = excluded.tenant_id AND access_tokens.revoked_at IS NULL"
            )
            .bind(token_id)
            .bind(tenant.to_string())
            .bind(client_id)
            .bind(to_millis(expires_at))
            .bind(to_millis(now))
        )?;
        Ok(())
    }

    /// True when `family_id` is recorded as a revoked family, or names a revoked access token
    /// (`token_id`) or refresh token (`token_hash`) of the tenant.
    async fn is_family_revoked(&self, tenant: TenantId, family_id: &str) -> StoreResult<bool> {
        let hits: i64 = fetch_one!(
            self,
            sqlx::query_scalar(concat!("SELECT ", family_hits!("$1", "$2")))
                .bind(tenant.to_string())
                .bind(family_id)
        )?;
        Ok(hits > 0)
    }

    /// Creates or replaces (scopes and `granted_at`) the user's consent for the client. `NotFound`
    /// when the user is not one of the tenant's.
    async fn upsert_consent(&self, grant: &ConsentGrant) -> StoreResult<()> {
        let scopes = to_json("consents.scopes", &grant.scopes)?;
        execute!(
            self,
            sqlx::query(
                "INSERT INTO consents (tenant_id, user_id, client_id, scopes, granted_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (tenant_id, user_id, client_id) DO UPDATE SET \
                   scopes = excluded.scopes, granted_at = excluded.granted_at"
            )
            .bind(grant.tenant_id.to_string())
            .bind(grant.user_id.to_string())
            .bind(&grant.client_id)
            .bind(&scopes)
            .bind(to_millis(grant.granted_at))
        )?;
        Ok(())
    }

    async fn get_consent(
        &self,
        tenant: TenantId,
        user: UserId,
        client_id: &str,
    ) -> StoreResult<Option<ConsentGrant>> {
        let row: Option<ConsentRow> = fetch_optional!(
            self,
            sqlx::query_as(
                "SELECT tenant_id, user_id, client_id, scopes, granted_at FROM consents \
                 WHERE tenant_id = $1 AND user_id = $2 AND client_id = $3"
            )
            .bind(tenant.to_string())
            .bind(user.to_string())
            .bind(client_id)
        )?;
        row.map(ConsentRow::into_grant).transpose()
    }

    /// The user's consents, by client id.
    async fn list_consents(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<Vec<ConsentGrant>> {
        let rows: Vec<ConsentRow> = fetch_all!(
            self,
            sqlx::query_as(
                "SELECT tenant_id, user_id, client_id, scopes, granted_at FROM consents \
                 WHERE tenant_id = $1 AND user_id = $2 ORDER BY client_id"
            )
            .bind(tenant.to_string())
            .bind(user.to_string())
        )?;
        rows.into_iter().map(ConsentRow::into_grant).collect()
    }

    async fn delete_consent(
        &self,
        tenant: TenantId,
        user: UserId,
        client_id: &str,
    ) -> StoreResult<bool> {
        let deleted = execute!(
            self,
            sqlx::query(
                "DELETE FROM consents WHERE tenant_id = $1 AND user_id = $2 AND client_id = $3"
            )
            .bind(tenant.to_string())
            .bind(user.to_string())
            .bind(client_id)
        )?;
        Ok(deleted > 0)
    }

    /// One statement: inserts the jti, or takes over a remembered one that has expired
    /// (`expires_at <= now`); false when a live one is already remembered.
    async fn remember_assertion_jti(
        &self,
        tenant: TenantId,
        client_id: &str,
        jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let remembered = execute!(
            self,
            sqlx::query(
                "INSERT INTO client_assertion_jtis (tenant_id, client_id, jti, expires_at) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id, client_id, jti) DO UPDATE SET expires_at = excluded.expires_at \
                 WHERE client_assertion_jtis.expires_at <= $5"
            )
            .bind(tenant.to_string())
            .bind(client_id)
            .bind(jti)
            .bind(to_millis(expires_at))
            .bind(to_millis(now))
        )?;
        Ok(remembered == 1)
    }

    /// Recording the same pair again is not an error. `NotFound` when the session is not one of
    /// the tenant's. The rows go with the session (ON DELETE CASCADE).
    async fn record_session_client(
        &self,
        tenant: TenantId,
        session: SessionId,
        client_id: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        execute!(
            self,
            sqlx::query(
                "INSERT INTO session_clients (tenant_id, session_id, client_id, created_at) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id, session_id, client_id) DO NOTHING"
            )
            .bind(tenant.to_string())
            .bind(session.to_string())
            .bind(client_id)
            .bind(to_millis(now))
        )?;
        Ok(())
    }

    /// The client ids, in byte order.
    async fn list_session_clients(
        &self,
        tenant: TenantId,
        session: SessionId,
    ) -> StoreResult<Vec<String>> {
        fetch_all!(
            self,
            sqlx::query_scalar(
                "SELECT client_id FROM session_clients WHERE tenant_id = $1 AND session_id = $2 \
                 ORDER BY client_id"
            )
            .bind(tenant.to_string())
            .bind(session.to_string())
        )
    }

    /// `Conflict("device_code_hash")`, or `Conflict("user_code")` when the tenant has a (possibly
    /// expired, not yet purged) authorization with that user code.
    async fn insert_device_authorization(&self, d: &DeviceAuthorization) -> StoreResult<()> {
        execute!(
            self,
            sqlx::query(concat!(
                "INSERT INTO device_authorizations (",
                device_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ))
            .bind(&d.device_code_hash)
            .bind(&d.user_code)
            .bind(d.tenant_id.to_string())
            .bind(&d.client_id)
            .bind(&d.scope)
            .bind(device_status_str(d.status))
            .bind(d.user_id.map(|u| u.to_string()))
            .bind(d.session_id.map(|s| s.to_string()))
            .bind(opt_to_millis(d.auth_time))
            .bind(to_millis(d.created_at))
            .bind(to_millis(d.expires_at))
            .bind(d.interval_secs)
            .bind(opt_to_millis(d.last_polled_at))
        )?;
        Ok(())
    }

    async fn get_device_by_user_code(
        &self,
        tenant: TenantId,
        user_code: &str,
    ) -> StoreResult<Option<DeviceAuthorization>> {
        let row: Option<DeviceRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                device_columns!(),
                " FROM device_authorizations WHERE tenant_id = $1 AND user_code = $2"
            ))
            .bind(tenant.to_string())
            .bind(user_code)
        )?;
        row.map(DeviceRow::into_device).transpose()
    }

    async fn get_device_by_code_hash(
        &self,
        tenant: TenantId,
        device_code_hash: &str,
    ) -> StoreResult<Option<DeviceAuthorization>> {
        let row: Option<DeviceRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                device_columns!(),
                " FROM device_authorizations WHERE tenant_id = $1 AND device_code_hash = $2"
            ))
            .bind(tenant.to_string())
            .bind(device_code_hash)
        )?;
        row.map(DeviceRow::into_device).transpose()
    }

    /// Records who decided (user, session, auth_time) for an approval and a denial alike. Expiry
    /// is the caller's to check. `NotFound` when the user is not one of the tenant's.
    async fn decide_device(
        &self,
        tenant: TenantId,
        user_code: &str,
        approve: bool,
        user: UserId,
        session: Option<SessionId>,
        auth_time: Timestamp,
    ) -> StoreResult<bool> {
        let status = if approve {
            DeviceStatus::Approved
        } else {
            DeviceStatus::Denied
        };
        let decided = execute!(
            self,
            sqlx::query(
                "UPDATE device_authorizations SET status = $3, user_id = $4, session_id = $5, auth_time = $6 \
                 WHERE tenant_id = $1 AND user_code = $2 AND status = 'pending'"
            )
            .bind(tenant.to_string())
            .bind(user_code)
            .bind(device_status_str(status))
            .bind(user.to_string())
            .bind(session.map(|s| s.to_string()))
            .bind(to_millis(auth_time))
        )?;
        Ok(decided == 1)
    }

    async fn consume_device(&self, tenant: TenantId, device_code_hash: &str) -> StoreResult<bool> {
        let consumed = execute!(
            self,
            sqlx::query(
                "UPDATE device_authorizations SET status = 'consumed' \
                 WHERE tenant_id = $1 AND device_code_hash = $2 AND status = 'approved'"
            )
            .bind(tenant.to_string())
            .bind(device_code_hash)
        )?;
        Ok(consumed == 1)
    }

    /// Moves `last_polled_at` forward to `now`, never back. Touching an unknown authorization is
    /// not an error.
    async fn touch_device_poll(
        &self,
        tenant: TenantId,
        device_code_hash: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        execute!(
            self,
            sqlx::query(
                "UPDATE device_authorizations SET last_polled_at = $3 \
                 WHERE tenant_id = $1 AND device_code_hash = $2 \
                 AND (last_polled_at IS NULL OR last_polled_at < $3)"
            )
            .bind(tenant.to_string())
            .bind(device_code_hash)
            .bind(to_millis(now))
        )?;
        Ok(())
    }

    /// Across all tenants, deletes what ended at or before `now`: authorization codes, refresh
    /// tokens whose family has ended, access-token records, remembered jtis, device
    /// authorizations and revoked-family records.
    async fn purge_expired_grants(&self, now: Timestamp) -> StoreResult<u64> {
        let now = to_millis(now);
        let mut purged = 0;
        for sql in [
            "DELETE FROM authorization_codes WHERE expires_at <= $1",
            "DELETE FROM refresh_tokens WHERE family_expires_at <= $1",
            "DELETE FROM access_tokens WHERE expires_at <= $1",
            "DELETE FROM client_assertion_jtis WHERE expires_at <= $1",
            "DELETE FROM device_authorizations WHERE expires_at <= $1",
            "DELETE FROM revoked_families WHERE expires_at <= $1",
        ] {
            purged += execute!(self, sqlx::query(sql).bind(now))?;
        }
        Ok(purged)
    }
}
