//! `SessionStore`: the `sessions` table. The cookie value is only ever stored as its hash; the
//! client IP and user agent are sealed (associated data `session.<field>:{tenant}:{session}`).
//!
//! A session is active while it is not revoked, `now < expires_at` and
//! `now < last_seen_at + idle_timeout_secs` (the same rule as `Session::is_active`); lists,
//! revocation counts and touches use that rule in SQL.

use tessera_core::session::{Session, SessionLifetime};
use tessera_core::store::{SessionStore, StoreResult};
use tessera_core::{SessionId, StoreError, TenantId, Timestamp, UserId};
use tessera_crypto::FieldCrypto;

use crate::Store;
use crate::codec::{
    Sealer, from_json, from_millis, id, opt_from_millis, opt_to_millis, to_json, to_millis,
};
use crate::error::corrupt;

macro_rules! session_columns {
    () => {
        "id, tenant_id, user_id, token_hash, created_at, last_seen_at, expires_at, idle_timeout_secs, \
         auth_methods, ip, user_agent, revoked_at"
    };
}

/// The SQL form of "active at `$N`" (see the module comment); `$N` is spliced in by `concat!`.
macro_rules! active_at {
    ($param:literal) => {
        concat!(
            "revoked_at IS NULL AND expires_at > ",
            $param,
            " AND last_seen_at + idle_timeout_secs * 1000 > ",
            $param
        )
    };
}

/// The lifetime columns of a join that names `sessions` as `s`, each as `s_<column>` (read back by
/// `JoinedSessionLifetime`).
macro_rules! joined_session_lifetime_columns {
    () => {
        "s.id AS s_id, s.last_seen_at AS s_last_seen_at, s.expires_at AS s_expires_at, \
         s.idle_timeout_secs AS s_idle_timeout_secs, s.revoked_at AS s_revoked_at"
    };
}
pub(crate) use joined_session_lifetime_columns;

/// The session lifetime of a `LEFT JOIN sessions s` row; `None` when the join found none.
#[derive(sqlx::FromRow)]
pub(crate) struct JoinedSessionLifetime {
    s_id: Option<String>,
    s_last_seen_at: Option<i64>,
    s_expires_at: Option<i64>,
    s_idle_timeout_secs: Option<i64>,
    s_revoked_at: Option<i64>,
}

impl JoinedSessionLifetime {
    pub(crate) fn into_lifetime(self) -> Result<Option<SessionLifetime>, StoreError> {
        if self.s_id.is_none() {
            return Ok(None);
        }
        let (Some(last_seen_at), Some(expires_at), Some(idle_timeout_secs)) = (
            self.s_last_seen_at,
            self.s_expires_at,
            self.s_idle_timeout_secs,
        ) else {
            return Err(corrupt("a session row lacks its lifetime columns"));
        };
        Ok(Some(SessionLifetime {
            last_seen_at: from_millis(last_seen_at)?,
            expires_at: from_millis(expires_at)?,
            idle_timeout_secs,
            revoked_at: opt_from_millis(self.s_revoked_at)?,
        }))
    }
}

/// Binds a session's 12 values, in `session_columns!` order, to `$query`; `$sealed` is its
/// [`SealedSession`].
macro_rules! bind_session {
    ($query:expr, $session:expr, $sealed:expr) => {
        $query
            .bind($session.id.to_string())
            .bind($session.tenant_id.to_string())
            .bind($session.user_id.to_string())
            .bind(&$session.token_hash)
            .bind(to_millis($session.created_at))
            .bind(to_millis($session.last_seen_at))
            .bind(to_millis($session.expires_at))
            .bind($session.idle_timeout_secs.clamp(0, MAX_IDLE_TIMEOUT_SECS))
            .bind(&$sealed.auth_methods)
            .bind(&$sealed.ip)
            .bind(&$sealed.user_agent)
            .bind(opt_to_millis($session.revoked_at))
    };
}

/// A session's fields as stored: the IP and user agent sealed, the methods as JSON.
struct SealedSession {
    ip: Option<Vec<u8>>,
    user_agent: Option<Vec<u8>>,
    auth_methods: String,
}

impl SealedSession {
    fn of(store: &Store, session: &Session) -> StoreResult<SealedSession> {
        let sealer = Sealer::new(&store.crypto, "session", session.tenant_id, session.id);
        Ok(SealedSession {
            ip: sealer.seal_opt("ip", session.ip.as_deref())?,
            user_agent: sealer.seal_opt("user_agent", session.user_agent.as_deref())?,
            auth_methods: to_json("sessions.auth_methods", &session.auth_methods)?,
        })
    }
}

/// The account's sign-in time and a new session (`$1`–`$12`, in `session_columns!` order), the
/// session only if the account is the tenant's (see `start_session`). SQLite: two statements sent
/// together, the insert conditional on the update having changed a row (`changes()`);
/// PostgreSQL: one whose data-modifying `WITH` updates the account.
const START_SESSION: crate::dialect::Spelled = crate::dialect::Spelled::new(
    concat!(
        "UPDATE users SET last_login_at = $5 WHERE tenant_id = $2 AND id = $3; \
         INSERT INTO sessions (",
        session_columns!(),
        ") SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 WHERE changes() = 1"
    ),
    concat!(
        "WITH signed_in AS (UPDATE users SET last_login_at = $5 WHERE tenant_id = $2 AND id = $3 \
         RETURNING 1) INSERT INTO sessions (",
        session_columns!(),
        ") SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM signed_in"
    ),
);

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    tenant_id: String,
    user_id: String,
    token_hash: String,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
    idle_timeout_secs: i64,
    auth_methods: String,
    ip: Option<Vec<u8>>,
    user_agent: Option<Vec<u8>>,
    revoked_at: Option<i64>,
}

impl SessionRow {
    fn into_session(self, crypto: &FieldCrypto) -> Result<Session, StoreError> {
        let session_id = id("sessions.id", &self.id, SessionId::parse)?;
        let tenant_id = id("sessions.tenant_id", &self.tenant_id, TenantId::parse)?;
        let sealer = Sealer::new(crypto, "session", tenant_id, session_id);
        Ok(Session {
            id: session_id,
            tenant_id,
            user_id: id("sessions.user_id", &self.user_id, UserId::parse)?,
            token_hash: self.token_hash,
            created_at: from_millis(self.created_at)?,
            last_seen_at: from_millis(self.last_seen_at)?,
            expires_at: from_millis(self.expires_at)?,
            idle_timeout_secs: self.idle_timeout_secs,
            auth_methods: from_json("sessions.auth_methods", &self.auth_methods)?,
            ip: sealer.open_opt("ip", self.ip.as_deref())?,
            user_agent: sealer.open_opt("user_agent", self.user_agent.as_deref())?,
            revoked_at: opt_from_millis(self.revoked_at)?,
        })
    }
}

/// Longest idle timeout kept as given: ten years. Larger values (which the domain never sets)
/// are clamped so that `idle_timeout_secs * 1000` in SQL cannot overflow.
const MAX_IDLE_TIMEOUT_SECS: i64 = 10 * 366 * 24 * 3600;

impl SessionStore for Store {
    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        let sealed = SealedSession::of(self, session)?;
        // A user outside the tenant breaks the (tenant_id, user_id) foreign key: `NotFound`.
        execute!(
            self,
            bind_session!(
                sqlx::query(concat!(
                    "INSERT INTO sessions (",
                    session_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                )),
                session,
                sealed
            )
        )?;
        Ok(())
    }

    async fn start_session(&self, session: &Session) -> StoreResult<()> {
        let sealed = SealedSession::of(self, session)?;
        let changed = execute!(
            self,
            bind_session!(sqlx::query(START_SESSION.text(&self.db)), session, sealed)
        )?;
        // SQLite counts the account's update and the session's insert; PostgreSQL the insert.
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn get_session(&self, tenant: TenantId, id: SessionId) -> StoreResult<Option<Session>> {
        let row: Option<SessionRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                session_columns!(),
                " FROM sessions WHERE tenant_id = $1 AND id = $2"
            ))
            .bind(tenant.to_string())
            .bind(id.to_string())
        )?;
        row.map(|r| r.into_session(&self.crypto)).transpose()
    }

    async fn find_session_by_token_hash(
        &self,
        tenant: TenantId,
        token_hash: &str,
    ) -> StoreResult<Option<Session>> {
        let row: Option<SessionRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                session_columns!(),
                " FROM sessions WHERE tenant_id = $1 AND token_hash = $2"
            ))
            .bind(tenant.to_string())
            .bind(token_hash)
        )?;
        row.map(|r| r.into_session(&self.crypto)).transpose()
    }

    /// Moves `last_seen_at` forward to `at`. Only an active session is touched: an expired or
    /// revoked one can never be brought back. Touching a missing session is not an error (it may
    /// have just been revoked or deleted with its user).
    async fn touch_session(
        &self,
        tenant: TenantId,
        id: SessionId,
        at: Timestamp,
    ) -> StoreResult<()> {
        execute!(
            self,
            sqlx::query(concat!(
                "UPDATE sessions SET last_seen_at = $3 WHERE tenant_id = $1 AND id = $2 AND last_seen_at < $3 AND ",
                active_at!("$3")
            ))
            .bind(tenant.to_string())
            .bind(id.to_string())
            .bind(to_millis(at))
        )?;
        Ok(())
    }

    async fn reauthenticate_session(
        &self,
        tenant: TenantId,
        id: SessionId,
        token_hash: &str,
        auth_methods: &[String],
        at: Timestamp,
    ) -> StoreResult<bool> {
        let methods = to_json("sessions.auth_methods", auth_methods)?;
        let n = execute!(
            self,
            sqlx::query(concat!(
                "UPDATE sessions SET token_hash = $3, auth_methods = $4, created_at = $5, last_seen_at = $5 \
                 WHERE tenant_id = $1 AND id = $2 AND ",
                active_at!("$5")
            ))
            .bind(tenant.to_string())
            .bind(id.to_string())
            .bind(token_hash)
            .bind(&methods)
            .bind(to_millis(at))
        )?;
        Ok(n == 1)
    }

    async fn revoke_session(
        &self,
        tenant: TenantId,
        id: SessionId,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let revoked = execute!(
            self,
            sqlx::query("UPDATE sessions SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL")
                .bind(tenant.to_string())
                .bind(id.to_string())
                .bind(to_millis(at))
        )?;
        Ok(revoked > 0)
    }

    async fn revoke_user_sessions(
        &self,
        tenant: TenantId,
        user: UserId,
        at: Timestamp,
    ) -> StoreResult<u64> {
        execute!(
            self,
            sqlx::query(concat!(
                "UPDATE sessions SET revoked_at = $3 WHERE tenant_id = $1 AND user_id = $2 AND ",
                active_at!("$3")
            ))
            .bind(tenant.to_string())
            .bind(user.to_string())
            .bind(to_millis(at))
        )
    }

    async fn list_sessions(
        &self,
        tenant: TenantId,
        user: Option<UserId>,
        now: Timestamp,
    ) -> StoreResult<Vec<Session>> {
        let rows: Vec<SessionRow> = fetch_all!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                session_columns!(),
                " FROM sessions WHERE tenant_id = $1 AND ($2 IS NULL OR user_id = $2) AND ",
                active_at!("$3"),
                " ORDER BY created_at DESC, id DESC"
            ))
            .bind(tenant.to_string())
            .bind(user.map(|u| u.to_string()))
            .bind(to_millis(now))
        )?;
        rows.into_iter()
            .map(|r| r.into_session(&self.crypto))
            .collect()
    }
}
