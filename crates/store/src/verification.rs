//! `VerificationStore`: the `verification_tokens` table. Tokens and codes arrive hashed by the
//! caller; the new address of an email change is sealed, bound to its token. Consumption is one
//! `UPDATE … WHERE consumed_at IS NULL AND expires_at > now RETURNING`, so of two requests
//! racing with the same link exactly one wins, and a replay finds nothing.

use tessera_core::store::StoreResult;
use tessera_core::verification::{VerificationPurpose, VerificationStore, VerificationToken};
use tessera_core::{StoreError, TenantId, Timestamp, UserId};
use tessera_crypto::FieldCrypto;

use crate::Store;
use crate::codec::{Sealer, from_millis, id, opt_from_millis, opt_to_millis, to_millis};
use crate::error::corrupt;

macro_rules! verification_columns {
    () => {
        "token_hash, tenant_id, user_id, purpose, code_hash, new_email, attempts, created_at, \
         expires_at, consumed_at"
    };
}

#[derive(sqlx::FromRow)]
struct VerificationRow {
    token_hash: String,
    tenant_id: String,
    user_id: String,
    purpose: String,
    code_hash: Option<String>,
    new_email: Option<Vec<u8>>,
    attempts: i64,
    created_at: i64,
    expires_at: i64,
    consumed_at: Option<i64>,
}

fn sealer<'a>(crypto: &'a FieldCrypto, tenant: TenantId, token_hash: &str) -> Sealer<'a> {
    Sealer::new(crypto, "verification", tenant, token_hash)
}

impl VerificationRow {
    fn into_token(self, crypto: &FieldCrypto) -> Result<VerificationToken, StoreError> {
        let tenant_id = id(
            "verification_tokens.tenant_id",
            &self.tenant_id,
            TenantId::parse,
        )?;
        let new_email = sealer(crypto, tenant_id, &self.token_hash)
            .open_opt("new_email", self.new_email.as_deref())?;
        Ok(VerificationToken {
            tenant_id,
            user_id: id("verification_tokens.user_id", &self.user_id, UserId::parse)?,
            purpose: VerificationPurpose::parse(&self.purpose)
                .ok_or_else(|| corrupt("verification_tokens.purpose is not a known purpose"))?,
            code_hash: self.code_hash,
            new_email,
            attempts: u32::try_from(self.attempts.max(0)).unwrap_or(u32::MAX),
            created_at: from_millis(self.created_at)?,
            expires_at: from_millis(self.expires_at)?,
            consumed_at: opt_from_millis(self.consumed_at)?,
            token_hash: self.token_hash,
        })
    }
}

impl VerificationStore for Store {
    async fn issue_verification(&self, token: &VerificationToken) -> StoreResult<()> {
        let new_email = sealer(&self.crypto, token.tenant_id, &token.token_hash)
            .seal_opt("new_email", token.new_email.as_deref())?;
        transaction!(self, tx => {
            // The write comes first, so SQLite takes its write lock at once.
            tx_execute!(
                tx,
                sqlx::query(
                    "UPDATE verification_tokens SET consumed_at = $4 \
                     WHERE tenant_id = $1 AND user_id = $2 AND purpose = $3 AND consumed_at IS NULL"
                )
                .bind(token.tenant_id.to_string())
                .bind(token.user_id.to_string())
                .bind(token.purpose.as_str())
                .bind(to_millis(token.created_at))
            )?;
            tx_execute!(
                tx,
                sqlx::query(concat!(
                    "INSERT INTO verification_tokens (",
                    verification_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                ))
                .bind(&token.token_hash)
                .bind(token.tenant_id.to_string())
                .bind(token.user_id.to_string())
                .bind(token.purpose.as_str())
                .bind(token.code_hash.as_deref())
                .bind(new_email.as_deref())
                .bind(i64::from(token.attempts))
                .bind(to_millis(token.created_at))
                .bind(to_millis(token.expires_at))
                .bind(opt_to_millis(token.consumed_at))
            )?;
            Ok(())
        })
    }

    async fn find_verification(
        &self,
        tenant: TenantId,
        purpose: VerificationPurpose,
        token_hash: &str,
    ) -> StoreResult<Option<VerificationToken>> {
        let row: Option<VerificationRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                verification_columns!(),
                " FROM verification_tokens WHERE tenant_id = $1 AND purpose = $2 AND token_hash = $3"
            ))
            .bind(tenant.to_string())
            .bind(purpose.as_str())
            .bind(token_hash)
        )?;
        row.map(|r| r.into_token(&self.crypto)).transpose()
    }

    async fn consume_verification(
        &self,
        tenant: TenantId,
        purpose: VerificationPurpose,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<VerificationToken>> {
        let row: Option<VerificationRow> = fetch_optional!(
            write self,
            sqlx::query_as(concat!(
                "UPDATE verification_tokens SET consumed_at = $4 \
                 WHERE tenant_id = $1 AND purpose = $2 AND token_hash = $3 \
                 AND consumed_at IS NULL AND expires_at > $4 RETURNING ",
                verification_columns!()
            ))
            .bind(tenant.to_string())
            .bind(purpose.as_str())
            .bind(token_hash)
            .bind(to_millis(now))
        )?;
        row.map(|r| r.into_token(&self.crypto)).transpose()
    }

    async fn consume_verification_code(
        &self,
        tenant: TenantId,
        user: UserId,
        purpose: VerificationPurpose,
        code_hash: &str,
        max_attempts: u32,
        now: Timestamp,
    ) -> StoreResult<Option<VerificationToken>> {
        let row: Option<VerificationRow> = fetch_optional!(
            write self,
            sqlx::query_as(concat!(
                "UPDATE verification_tokens SET consumed_at = $5 \
                 WHERE tenant_id = $1 AND user_id = $2 AND purpose = $3 AND code_hash = $4 \
                 AND consumed_at IS NULL AND expires_at > $5 AND attempts < $6 RETURNING ",
                verification_columns!()
            ))
            .bind(tenant.to_string())
            .bind(user.to_string())
            .bind(purpose.as_str())
            .bind(code_hash)
            .bind(to_millis(now))
            .bind(i64::from(max_attempts))
        )?;
        if let Some(r) = row {
            return Ok(Some(r.into_token(&self.crypto)?));
        }
        execute!(
            self,
            sqlx::query(
                "UPDATE verification_tokens SET attempts = attempts + 1 \
                 WHERE tenant_id = $1 AND user_id = $2 AND purpose = $3 \
                 AND consumed_at IS NULL AND expires_at > $4"
            )
            .bind(tenant.to_string())
            .bind(user.to_string())
            .bind(purpose.as_str())
            .bind(to_millis(now))
        )?;
        Ok(None)
    }

    async fn revoke_verifications(
        &self,
        tenant: TenantId,
        user: UserId,
        purpose: Option<VerificationPurpose>,
        now: Timestamp,
    ) -> StoreResult<u64> {
        execute!(
            self,
            sqlx::query(
                "UPDATE verification_tokens SET consumed_at = $3 \
                 WHERE tenant_id = $1 AND user_id = $2 AND consumed_at IS NULL \
                 AND ($4 IS NULL OR purpose = $4)"
            )
            .bind(tenant.to_string())
            .bind(user.to_string())
            .bind(to_millis(now))
            .bind(purpose.map(VerificationPurpose::as_str))
        )
    }

    async fn purge_verifications(&self, before: Timestamp) -> StoreResult<u64> {
        execute!(
            self,
            sqlx::query(
                "DELETE FROM verification_tokens WHERE expires_at < $1 OR consumed_at < $1"
            )
            .bind(to_millis(before))
        )
    }
}
