//! `SigningKeyStore`: the `signing_keys` table, keyed by `(tenant_id, kid)`. The private key
//! arrives sealed by the caller and is stored as is; the public JWK is JSON text.
//!
//! A partial unique index (`signing_keys_active_idx`) keeps at most one active key per tenant and
//! algorithm: inserting a second one is `Conflict("active_key")`, which is how concurrent nodes
//! creating a tenant's first key find out that another one won.

use tessera_core::oauth::{KeyStatus, SigningKeyRecord};
use tessera_core::store::{SigningKeyStore, StoreResult};
use tessera_core::{StoreError, TenantId, Timestamp};

use crate::Store;
use crate::codec::{
    from_json, from_millis, id, opt_from_millis, opt_to_millis, to_json, to_millis,
};
use crate::error::corrupt;

macro_rules! signing_key_columns {
    () => {
        "tenant_id, kid, alg, private_key_sealed, public_jwk, status, created_at, retired_at, \
         publish_until"
    };
}

/// The insert shared by `insert_signing_key` and `rotate_signing_key`.
macro_rules! insert_signing_key_sql {
    () => {
        concat!(
            "INSERT INTO signing_keys (",
            signing_key_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )
    };
}

#[derive(sqlx::FromRow)]
struct SigningKeyRow {
    tenant_id: String,
    kid: String,
    alg: String,
    private_key_sealed: Vec<u8>,
    public_jwk: String,
    status: String,
    created_at: i64,
    retired_at: Option<i64>,
    publish_until: Option<i64>,
}

impl SigningKeyRow {
    fn into_record(self) -> Result<SigningKeyRecord, StoreError> {
        Ok(SigningKeyRecord {
            kid: self.kid,
            tenant_id: id("signing_keys.tenant_id", &self.tenant_id, TenantId::parse)?,
            alg: self.alg,
            private_key_sealed: self.private_key_sealed,
            public_jwk: from_json("signing_keys.public_jwk", &self.public_jwk)?,
            status: parse_key_status(&self.status)?,
            created_at: from_millis(self.created_at)?,
            retired_at: opt_from_millis(self.retired_at)?,
            publish_until: opt_from_millis(self.publish_until)?,
        })
    }
}

fn key_status_str(status: KeyStatus) -> &'static str {
    match status {
        KeyStatus::Active => "active",
        KeyStatus::Retired => "retired",
    }
}

fn parse_key_status(s: &str) -> Result<KeyStatus, StoreError> {
    match s {
        "active" => Ok(KeyStatus::Active),
        "retired" => Ok(KeyStatus::Retired),
        _ => Err(corrupt("signing_keys.status is not a known key status")),
    }
}

impl SigningKeyStore for Store {
    /// Stores `key` as given. `Conflict("kid")` when the tenant has that kid already,
    /// `Conflict("active_key")` when `key` is active and the tenant already has an active key of
    /// its algorithm, `NotFound` when the tenant does not exist.
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        let jwk = to_json("signing_keys.public_jwk", &key.public_jwk)?;
        execute!(
            self,
            sqlx::query(insert_signing_key_sql!())
                .bind(key.tenant_id.to_string())
                .bind(&key.kid)
                .bind(&key.alg)
                .bind(&key.private_key_sealed)
                .bind(&jwk)
                .bind(key_status_str(key.status))
                .bind(to_millis(key.created_at))
                .bind(opt_to_millis(key.retired_at))
                .bind(opt_to_millis(key.publish_until))
        )?;
        Ok(())
    }

    async fn list_signing_keys(&self, tenant: TenantId) -> StoreResult<Vec<SigningKeyRecord>> {
        let rows: Vec<SigningKeyRow> = fetch_all!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                signing_key_columns!(),
                " FROM signing_keys WHERE tenant_id = $1 ORDER BY created_at, kid"
            ))
            .bind(tenant.to_string())
        )?;
        rows.into_iter().map(SigningKeyRow::into_record).collect()
    }

    /// `new` is stored active whatever its `status`, `retired_at` and `publish_until` say. Two
    /// rotations of the same tenant and algorithm racing on PostgreSQL: the later one may find
    /// nothing left to retire and then fail with `Conflict("active_key")`, changing nothing.
    async fn rotate_signing_key(
        &self,
        new: &SigningKeyRecord,
        publish_old_until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<()> {
        let jwk = to_json("signing_keys.public_jwk", &new.public_jwk)?;
        let tenant = new.tenant_id.to_string();
        transaction!(self, tx => {
            tx_execute!(
                tx,
                sqlx::query(
                    "UPDATE signing_keys SET status = 'retired', retired_at = $3, publish_until = $4 \
                     WHERE tenant_id = $1 AND alg = $2 AND status = 'active'"
                )
                .bind(&tenant)
                .bind(&new.alg)
                .bind(to_millis(now))
                .bind(to_millis(publish_old_until))
            )?;
            tx_execute!(
                tx,
                sqlx::query(insert_signing_key_sql!())
                    .bind(&tenant)
                    .bind(&new.kid)
                    .bind(&new.alg)
                    .bind(&new.private_key_sealed)
                    .bind(&jwk)
                    .bind(key_status_str(KeyStatus::Active))
                    .bind(to_millis(new.created_at))
                    .bind(None::<i64>)
                    .bind(None::<i64>)
            )?;
            Ok(())
        })
    }

    /// Deletes the retired keys whose `publish_until` is at or before `now` (no longer published,
    /// as `SigningKeyRecord::is_published` sees it). Active keys are never deleted.
    async fn purge_signing_keys(&self, tenant: TenantId, now: Timestamp) -> StoreResult<u64> {
        execute!(
            self,
            sqlx::query(
                "DELETE FROM signing_keys WHERE tenant_id = $1 AND status = 'retired' \
                 AND publish_until IS NOT NULL AND publish_until <= $2"
            )
            .bind(tenant.to_string())
            .bind(to_millis(now))
        )
    }
}
