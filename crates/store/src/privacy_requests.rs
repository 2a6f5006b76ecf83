//! `PrivacyRequestStore` and `RetentionStore`: data-subject requests (`privacy_requests`), the
//! processing-restriction flag (`privacy_restrictions`), retention warnings
//! (`retention_warnings`) and the candidates of the retention rules.
//!
//! Requests have no foreign key to the account: they are the tenant's proof that it answered, and
//! outlive an erasure with nothing but the random user id. A transition is one conditional update
//! (`… AND status = <expected>`), so two operators cannot both close the same request.

use tessera_core::page::{Page, PageRequest};
use tessera_core::privacy_requests::{
    PrivacyRequest, PrivacyRequestStore, RequestFilter, RequestKind, RequestStatus, RetentionStore,
};
use tessera_core::store::StoreResult;
use tessera_core::{StoreError, TenantId, Timestamp, UserId};
use uuid::Uuid;

use crate::Store;
use crate::codec::{from_millis, id, opt_from_millis, opt_to_millis, to_millis};
use crate::error::corrupt;
use crate::users::page_of;

macro_rules! request_columns {
    () => {
        "tenant_id, id, user_id, kind, status, note, received_at, due_at, extended_at, \
         extension_reason, closed_at, resolution, created_by"
    };
}

#[derive(sqlx::FromRow)]
struct RequestRow {
    tenant_id: String,
    id: String,
    user_id: String,
    kind: String,
    status: String,
    note: Option<String>,
    received_at: i64,
    due_at: i64,
    extended_at: Option<i64>,
    extension_reason: Option<String>,
    closed_at: Option<i64>,
    resolution: Option<String>,
    created_by: String,
}

impl RequestRow {
    fn into_request(self) -> Result<PrivacyRequest, StoreError> {
        Ok(PrivacyRequest {
            id: Uuid::parse_str(&self.id)
                .map_err(|_| corrupt("privacy_requests.id is not a UUID"))?,
            tenant_id: id(
                "privacy_requests.tenant_id",
                &self.tenant_id,
                TenantId::parse,
            )?,
            user_id: id("privacy_requests.user_id", &self.user_id, UserId::parse)?,
            kind: RequestKind::parse(&self.kind)
                .map_err(|_| corrupt("privacy_requests.kind is unknown"))?,
            status: RequestStatus::parse(&self.status)
                .map_err(|_| corrupt("privacy_requests.status is unknown"))?,
            note: self.note,
            received_at: from_millis(self.received_at)?,
            due_at: from_millis(self.due_at)?,
            extended_at: opt_from_millis(self.extended_at)?,
            extension_reason: self.extension_reason,
            closed_at: opt_from_millis(self.closed_at)?,
            resolution: self.resolution,
            created_by: self.created_by,
        })
    }
}

fn user_ids(rows: Vec<(String,)>, column: &str) -> StoreResult<Vec<UserId>> {
    rows.into_iter()
        .map(|(u,)| id(column, &u, UserId::parse))
        .collect()
}

impl PrivacyRequestStore for Store {
    async fn create_privacy_request(&self, r: &PrivacyRequest) -> StoreResult<()> {
        execute!(
            self,
            sqlx::query(concat!(
                "INSERT INTO privacy_requests (",
                request_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ))
            .bind(r.tenant_id.to_string())
            .bind(r.id.to_string())
            .bind(r.user_id.to_string())
            .bind(r.kind.as_str())
            .bind(r.status.as_str())
            .bind(&r.note)
            .bind(to_millis(r.received_at))
            .bind(to_millis(r.due_at))
            .bind(opt_to_millis(r.extended_at))
            .bind(&r.extension_reason)
            .bind(opt_to_millis(r.closed_at))
            .bind(&r.resolution)
            .bind(&r.created_by)
        )?;
        Ok(())
    }

    async fn get_privacy_request(
        &self,
        tenant: TenantId,
        request: Uuid,
    ) -> StoreResult<Option<PrivacyRequest>> {
        let row: Option<RequestRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                request_columns!(),
                " FROM privacy_requests WHERE tenant_id = $1 AND id = $2"
            ))
            .bind(tenant.to_string())
            .bind(request.to_string())
        )?;
        row.map(RequestRow::into_request).transpose()
    }

    async fn list_privacy_requests(
        &self,
        tenant: TenantId,
        filter: &RequestFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<PrivacyRequest>> {
        let limit = page.limit();
        // Every UUID sorts after "", so "no cursor" needs no separate query.
        let after = page.after.as_deref().unwrap_or("");
        let rows: Vec<RequestRow> = fetch_all!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                request_columns!(),
                " FROM privacy_requests WHERE tenant_id = $1 AND id > $2",
                " AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR user_id = $4)",
                " AND ($5 IS NULL OR (status IN ('open', 'extended') AND due_at < $5))",
                " ORDER BY id LIMIT $6"
            ))
            .bind(tenant.to_string())
            .bind(after)
            .bind(filter.status.map(RequestStatus::as_str))
            .bind(filter.user.map(|u| u.to_string()))
            .bind(opt_to_millis(filter.overdue_at))
            .bind(i64::from(limit) + 1)
        )?;
        let items = rows
            .into_iter()
            .map(RequestRow::into_request)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page_of(items, limit, |r| r.id.to_string()))
    }

    async fn update_privacy_request(
        &self,
        r: &PrivacyRequest,
        expected: RequestStatus,
    ) -> StoreResult<bool> {
        let n = execute!(
            self,
            sqlx::query(
                "UPDATE privacy_requests SET status = $3, due_at = $4, extended_at = $5, \
                 extension_reason = $6, closed_at = $7, resolution = $8 \
                 WHERE tenant_id = $1 AND id = $2 AND status = $9"
            )
            .bind(r.tenant_id.to_string())
            .bind(r.id.to_string())
            .bind(r.status.as_str())
            .bind(to_millis(r.due_at))
            .bind(opt_to_millis(r.extended_at))
            .bind(&r.extension_reason)
            .bind(opt_to_millis(r.closed_at))
            .bind(&r.resolution)
            .bind(expected.as_str())
        )?;
        Ok(n > 0)
    }

    async fn processing_restricted(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> StoreResult<Option<Timestamp>> {
        let row: Option<(i64,)> = fetch_optional!(
            self,
            sqlx::query_as(
                "SELECT restricted_at FROM privacy_restrictions \
                 WHERE tenant_id = $1 AND user_id = $2"
            )
            .bind(tenant.to_string())
            .bind(user.to_string())
        )?;
        row.map(|(ms,)| from_millis(ms)).transpose()
    }

    async fn set_processing_restricted(
        &self,
        tenant: TenantId,
        user: UserId,
        at: Option<Timestamp>,
    ) -> StoreResult<bool> {
        let n = match at {
            Some(at) => execute!(
                self,
                sqlx::query(
                    "INSERT INTO privacy_restrictions (tenant_id, user_id, restricted_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (tenant_id, user_id) DO NOTHING"
                )
                .bind(tenant.to_string())
                .bind(user.to_string())
                .bind(to_millis(at))
            )?,
            None => execute!(
                self,
                sqlx::query(
                    "DELETE FROM privacy_restrictions WHERE tenant_id = $1 AND user_id = $2"
                )
                .bind(tenant.to_string())
                .bind(user.to_string())
            )?,
        };
        Ok(n > 0)
    }
}

impl RetentionStore for Store {
    async fn unverified_accounts(
        &self,
        tenant: TenantId,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<UserId>> {
        let rows: Vec<(String,)> = fetch_all!(
            self,
            sqlx::query_as(
                "SELECT id FROM users WHERE tenant_id = $1 AND email_verified = $2 \
                 AND created_at < $3 ORDER BY created_at, id LIMIT $4"
            )
            .bind(tenant.to_string())
            .bind(false)
            .bind(to_millis(before))
            .bind(i64::from(limit))
        )?;
        user_ids(rows, "users.id")
    }

    async fn inactive_unwarned_accounts(
        &self,
        tenant: TenantId,
        inactive_before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<UserId>> {
        let rows: Vec<(String,)> = fetch_all!(
            self,
            sqlx::query_as(
                "SELECT u.id FROM users u \
                 LEFT JOIN retention_warnings w ON w.tenant_id = u.tenant_id AND w.user_id = u.id \
                 WHERE u.tenant_id = $1 AND COALESCE(u.last_login_at, u.created_at) < $2 \
                   AND (w.warned_at IS NULL OR w.warned_at < COALESCE(u.last_login_at, u.created_at)) \
                 ORDER BY COALESCE(u.last_login_at, u.created_at), u.id LIMIT $3"
            )
            .bind(tenant.to_string())
            .bind(to_millis(inactive_before))
            .bind(i64::from(limit))
        )?;
        user_ids(rows, "users.id")
    }

    async fn inactive_warned_accounts(
        &self,
        tenant: TenantId,
        inactive_before: Timestamp,
        warned_before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<UserId>> {
        let rows: Vec<(String,)> = fetch_all!(
            self,
            sqlx::query_as(
                "SELECT u.id FROM users u \
                 JOIN retention_warnings w ON w.tenant_id = u.tenant_id AND w.user_id = u.id \
                 WHERE u.tenant_id = $1 AND COALESCE(u.last_login_at, u.created_at) < $2 \
                   AND w.warned_at <= $3 \
                   AND w.warned_at >= COALESCE(u.last_login_at, u.created_at) \
                 ORDER BY COALESCE(u.last_login_at, u.created_at), u.id LIMIT $4"
            )
            .bind(tenant.to_string())
            .bind(to_millis(inactive_before))
            .bind(to_millis(warned_before))
            .bind(i64::from(limit))
        )?;
        user_ids(rows, "users.id")
    }

    async fn record_retention_warning(
        &self,
        tenant: TenantId,
        user: UserId,
        at: Timestamp,
    ) -> StoreResult<()> {
        execute!(
            self,
            sqlx::query(
                "INSERT INTO retention_warnings (tenant_id, user_id, warned_at) \
                 VALUES ($1, $2, $3) \
                 ON CONFLICT (tenant_id, user_id) DO UPDATE SET warned_at = excluded.warned_at"
            )
            .bind(tenant.to_string())
            .bind(user.to_string())
            .bind(to_millis(at))
        )?;
        Ok(())
    }

    async fn expired_consents(
        &self,
        tenant: TenantId,
        purpose: &str,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<UserId>> {
        let rows: Vec<(String,)> = fetch_all!(
            self,
            sqlx::query_as(
                "SELECT r.user_id FROM consent_records r \
                 WHERE r.tenant_id = $1 AND r.purpose = $2 AND r.state = 'granted' \
                   AND r.recorded_at < $3 \
                   AND r.seq = (SELECT MAX(m.seq) FROM consent_records m \
                                WHERE m.tenant_id = r.tenant_id AND m.user_id = r.user_id \
                                  AND m.purpose = r.purpose) \
                   AND EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = r.tenant_id AND u.id = r.user_id) \
                 ORDER BY r.recorded_at, r.user_id LIMIT $4"
            )
            .bind(tenant.to_string())
            .bind(purpose)
            .bind(to_millis(before))
            .bind(i64::from(limit))
        )?;
        user_ids(rows, "consent_records.user_id")
    }
}
