//! `UserStore`: the `users` table. Email, names, phone and custom attributes are sealed per field
//! (associated data `user.<field>:{tenant}:{user}`); the email is found again through
//! `email_bidx`, a keyed blind index of the normalized address, unique per tenant.

use tessera_core::page::{Page, PageRequest};
use tessera_core::store::{StoreResult, UserStore};
use tessera_core::user::{User, UserFilter, UserStatus, normalize_email};
use tessera_core::{Secret, StoreError, TenantId, Timestamp, UserId};
use tessera_crypto::FieldCrypto;

use crate::Store;
use crate::authz::BUMP_AUTHZ_VERSION;
use crate::codec::{
    Sealer, from_json, from_millis, id, opt_from_millis, opt_to_millis, to_json, to_millis,
};
use crate::error::corrupt;

/// Blind index purpose of user emails; changing it orphans every stored index.
const EMAIL_INDEX: &str = "user.email";

macro_rules! user_columns {
    () => {
        "tenant_id, id, email, email_verified, name, given_name, family_name, phone, status, attributes, \
         password_hash, created_at, updated_at, last_login_at"
    };
}

#[derive(sqlx::FromRow)]
struct UserRow {
    tenant_id: String,
    id: String,
    email: Vec<u8>,
    email_verified: bool,
    name: Option<Vec<u8>>,
    given_name: Option<Vec<u8>>,
    family_name: Option<Vec<u8>>,
    phone: Option<Vec<u8>>,
    status: String,
    attributes: Vec<u8>,
    password_hash: Option<String>,
    created_at: i64,
    updated_at: i64,
    last_login_at: Option<i64>,
}

impl UserRow {
    fn into_user(self, crypto: &FieldCrypto) -> Result<User, StoreError> {
        let tenant_id = id("users.tenant_id", &self.tenant_id, TenantId::parse)?;
        let user_id = id("users.id", &self.id, UserId::parse)?;
        let sealer = Sealer::new(crypto, "user", tenant_id, user_id);
        Ok(User {
            id: user_id,
            tenant_id,
            email: sealer.open("email", &self.email)?,
            email_verified: self.email_verified,
            name: sealer.open_opt("name", self.name.as_deref())?,
            given_name: sealer.open_opt("given_name", self.given_name.as_deref())?,
            family_name: sealer.open_opt("family_name", self.family_name.as_deref())?,
            phone: sealer.open_opt("phone", self.phone.as_deref())?,
            status: UserStatus::parse(&self.status)
                .map_err(|_| corrupt("users.status is not a known status"))?,
            attributes: from_json(
                "users.attributes",
                &sealer.open("attributes", &self.attributes)?,
            )?,
            password_hash: self.password_hash.map(Secret::new),
            created_at: from_millis(self.created_at)?,
            updated_at: from_millis(self.updated_at)?,
            last_login_at: opt_from_millis(self.last_login_at)?,
        })
    }
}

/// The user columns of a join that names `users` as `u`, each as `u_<column>` so they cannot clash
/// with the other table's (read back by `JoinedUser`).
macro_rules! joined_user_columns {
    () => {
        "u.tenant_id AS u_tenant_id, u.id AS u_id, u.email AS u_email, \
         u.email_verified AS u_email_verified, u.name AS u_name, u.given_name AS u_given_name, \
         u.family_name AS u_family_name, u.phone AS u_phone, u.status AS u_status, \
         u.attributes AS u_attributes, u.password_hash AS u_password_hash, \
         u.created_at AS u_created_at, u.updated_at AS u_updated_at, \
         u.last_login_at AS u_last_login_at"
    };
}
pub(crate) use joined_user_columns;

/// The user of a `LEFT JOIN users u` row (`joined_user_columns!`); `None` when the join found none.
pub(crate) struct JoinedUser(Option<UserRow>);

impl JoinedUser {
    pub(crate) fn into_user(self, crypto: &FieldCrypto) -> Result<Option<User>, StoreError> {
        self.0.map(|r| r.into_user(crypto)).transpose()
    }
}

/// `FromRow` for each backend's row type: the derive cannot rename every field with a prefix.
macro_rules! joined_user_from_row {
    ($row:ty) => {
        impl<'r> sqlx::FromRow<'r, $row> for JoinedUser {
            fn from_row(row: &'r $row) -> Result<Self, sqlx::Error> {
                use sqlx::Row;
                let Some(id) = row.try_get::<Option<String>, _>("u_id")? else {
                    return Ok(JoinedUser(None));
                };
                Ok(JoinedUser(Some(UserRow {
                    tenant_id: row.try_get("u_tenant_id")?,
                    id,
                    email: row.try_get("u_email")?,
                    email_verified: row.try_get("u_email_verified")?,
                    name: row.try_get("u_name")?,
                    given_name: row.try_get("u_given_name")?,
                    family_name: row.try_get("u_family_name")?,
                    phone: row.try_get("u_phone")?,
                    status: row.try_get("u_status")?,
                    attributes: row.try_get("u_attributes")?,
                    password_hash: row.try_get("u_password_hash")?,
                    created_at: row.try_get("u_created_at")?,
                    updated_at: row.try_get("u_updated_at")?,
                    last_login_at: row.try_get("u_last_login_at")?,
                })))
            }
        }
    };
}
joined_user_from_row!(sqlx::sqlite::SqliteRow);
joined_user_from_row!(sqlx::postgres::PgRow);

/// The columns of a user as they are written: personal fields sealed, email indexed.
struct SealedUser {
    email_bidx: String,
    email: Vec<u8>,
    name: Option<Vec<u8>>,
    given_name: Option<Vec<u8>>,
    family_name: Option<Vec<u8>>,
    phone: Option<Vec<u8>>,
    attributes: Vec<u8>,
}

impl SealedUser {
    fn new(crypto: &FieldCrypto, user: &User) -> Result<SealedUser, StoreError> {
        let sealer = Sealer::new(crypto, "user", user.tenant_id, user.id);
        Ok(SealedUser {
            email_bidx: email_index(crypto, &user.email),
            email: sealer.seal("email", &user.email)?,
            name: sealer.seal_opt("name", user.name.as_deref())?,
            given_name: sealer.seal_opt("given_name", user.given_name.as_deref())?,
            family_name: sealer.seal_opt("family_name", user.family_name.as_deref())?,
            phone: sealer.seal_opt("phone", user.phone.as_deref())?,
            attributes: sealer.seal(
                "attributes",
                &to_json("users.attributes", &user.attributes)?,
            )?,
        })
    }
}

/// Accounts per `INSERT` statement of [`UserStore::create_users`]: 15 parameters each, well under
/// SQLite's limit of 32,766 parameters per statement and PostgreSQL's 65,535. One statement per
/// row cost a round trip to the database (on SQLite, two thread switches) per account.
const INSERT_USERS_ROWS: usize = 200;

/// Parameters per row of [`insert_users_sql`]: `email_bidx` and the `user_columns!()`.
const INSERT_USERS_PARAMS: usize = 15;

/// `INSERT INTO users … VALUES (…), (…) ON CONFLICT DO NOTHING RETURNING id` for `rows` accounts,
/// with numbered parameters or anonymous ones (see `dialect::push_values`).
fn insert_users_sql(rows: usize, numbered: bool) -> String {
    let mut sql = String::with_capacity(96 + rows * INSERT_USERS_PARAMS * 7);
    sql.push_str(concat!(
        "INSERT INTO users (email_bidx, ",
        user_columns!(),
        ") VALUES "
    ));
    crate::dialect::push_values(&mut sql, rows, INSERT_USERS_PARAMS, numbered);
    sql.push_str(" ON CONFLICT DO NOTHING RETURNING id");
    sql
}

fn email_index(crypto: &FieldCrypto, email: &str) -> String {
    crypto.blind_index(EMAIL_INDEX, &normalize_email(email))
}

impl UserStore for Store {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        if self.create_users(std::slice::from_ref(user)).await? == [true] {
            return Ok(());
        }
        // Refused: say which unique value is taken (a repeated id is a caller's bug).
        let id_taken = self.get_user(user.tenant_id, user.id).await?.is_some();
        Err(StoreError::Conflict(
            if id_taken { "id" } else { "email" }.to_string(),
        ))
    }

    async fn create_users(&self, users: &[User]) -> StoreResult<Vec<bool>> {
        let sealed = users
            .iter()
            .map(|u| SealedUser::new(&self.crypto, u))
            .collect::<StoreResult<Vec<_>>>()?;
        if users.is_empty() {
            return Ok(Vec::new());
        }
        transaction!(self, tx => {
            // The ids of the accounts written: `ON CONFLICT DO NOTHING` skips one whose email
            // (or id) is taken, including by an earlier row of the same batch, and `RETURNING`
            // names only the rows written.
            let mut written = std::collections::HashSet::with_capacity(users.len());
            for (users, sealed) in users
                .chunks(INSERT_USERS_ROWS)
                .zip(sealed.chunks(INSERT_USERS_ROWS))
            {
                // Only generated placeholders: no value is ever part of the text.
                let sql = insert_users_sql(users.len(), self.numbered_parameters());
                let ids: Vec<String> = tx_fetch_all!(tx, {
                    let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()));
                    for (user, sealed) in users.iter().zip(sealed) {
                        q = q
                            .bind(&sealed.email_bidx)
                            .bind(user.tenant_id.to_string())
                            .bind(user.id.to_string())
                            .bind(&sealed.email)
                            .bind(user.email_verified)
                            .bind(&sealed.name)
                            .bind(&sealed.given_name)
                            .bind(&sealed.family_name)
                            .bind(&sealed.phone)
                            .bind(user.status.as_str())
                            .bind(&sealed.attributes)
                            .bind(user.password_hash.as_ref().map(Secret::expose))
                            .bind(to_millis(user.created_at))
                            .bind(to_millis(user.updated_at))
                            .bind(opt_to_millis(user.last_login_at));
                    }
                    // Only the two sizes that recur are kept prepared: a whole chunk and one
                    // account (registration); a batch's last chunk has any size.
                    q.persistent(users.len() == INSERT_USERS_ROWS || users.len() == 1)
                })?;
                written.extend(ids);
            }
            Ok(users
                .iter()
                .map(|u| written.contains(&u.id.to_string()))
                .collect())
        })
    }

    async fn get_user(&self, tenant: TenantId, id: UserId) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                user_columns!(),
                " FROM users WHERE tenant_id = $1 AND id = $2"
            ))
            .bind(tenant.to_string())
            .bind(id.to_string())
        )?;
        row.map(|r| r.into_user(&self.crypto)).transpose()
    }

    async fn find_user_by_email(&self, tenant: TenantId, email: &str) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = fetch_optional!(
            self,
            sqlx::query_as(concat!(
                "SELECT ",
                user_columns!(),
                " FROM users WHERE tenant_id = $1 AND email_bidx = $2"
            ))
            .bind(tenant.to_string())
            .bind(email_index(&self.crypto, email))
        )?;
        row.map(|r| r.into_user(&self.crypto)).transpose()
    }

    async fn list_users(
        &self,
        tenant: TenantId,
        filter: &UserFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<User>> {
        let limit = page.limit();
        // Every UUID sorts after "", so "no cursor" needs no separate query.
        let after = page.after.as_deref().unwrap_or("");
        let status = filter.status.map(UserStatus::as_str);
        let rows: Vec<UserRow> = match filter.email.as_deref() {
            // At most one account has the address: found through the unique email index (an
            // "email IS NULL OR …" condition would make the planner walk the whole tenant).
            Some(email) => fetch_all!(
                self,
                sqlx::query_as(concat!(
                    "SELECT ",
                    user_columns!(),
                    " FROM users WHERE tenant_id = $1 AND email_bidx = $2 AND id > $3",
                    " AND ($4 IS NULL OR status = $4)"
                ))
                .bind(tenant.to_string())
                .bind(email_index(&self.crypto, email))
                .bind(after)
                .bind(status)
            )?,
            None => fetch_all!(
                self,
                sqlx::query_as(concat!(
                    "SELECT ",
                    user_columns!(),
                    " FROM users WHERE tenant_id = $1 AND id > $2",
                    " AND ($3 IS NULL OR status = $3)",
                    " ORDER BY id LIMIT $4"
                ))
                .bind(tenant.to_string())
                .bind(after)
                .bind(status)
                .bind(i64::from(limit) + 1)
            )?,
        };
        let users = rows
            .into_iter()
            .map(|r| r.into_user(&self.crypto))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page_of(users, limit, |u| u.id.to_string()))
    }

    async fn update_user(&self, user: &User) -> StoreResult<()> {
        let sealed = SealedUser::new(&self.crypto, user)?;
        let updated = execute!(
            self,
            sqlx::query(
                "UPDATE users SET email_bidx = $3, email = $4, email_verified = $5, name = $6, given_name = $7, \
                 family_name = $8, phone = $9, status = $10, attributes = $11, password_hash = $12, \
                 updated_at = $13, last_login_at = $14 WHERE tenant_id = $1 AND id = $2"
            )
            .bind(user.tenant_id.to_string())
            .bind(user.id.to_string())
            .bind(&sealed.email_bidx)
            .bind(&sealed.email)
            .bind(user.email_verified)
            .bind(&sealed.name)
            .bind(&sealed.given_name)
            .bind(&sealed.family_name)
            .bind(&sealed.phone)
            .bind(user.status.as_str())
            .bind(&sealed.attributes)
            .bind(user.password_hash.as_ref().map(Secret::expose))
            .bind(to_millis(user.updated_at))
            .bind(opt_to_millis(user.last_login_at))
        )?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_user(&self, tenant: TenantId, id: UserId) -> StoreResult<bool> {
        let tenant = tenant.to_string();
        transaction!(self, tx => {
            // Sessions, memberships and role assignments go with the account (ON DELETE
            // CASCADE); losing them changes authorization data, hence the version.
            let deleted = tx_execute!(
                tx,
                sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND id = $2")
                    .bind(&tenant)
                    .bind(id.to_string())
            )?;
            if deleted > 0 {
                tx_execute!(tx, sqlx::query(BUMP_AUTHZ_VERSION).bind(&tenant))?;
            }
            Ok(deleted > 0)
        })
    }

    async fn record_sign_in(
        &self,
        tenant: TenantId,
        id: UserId,
        at: Timestamp,
        new_password_hash: Option<&str>,
    ) -> StoreResult<()> {
        let updated = execute!(
            self,
            sqlx::query(
                "UPDATE users SET last_login_at = $3, password_hash = COALESCE($4, password_hash) \
                 WHERE tenant_id = $1 AND id = $2"
            )
            .bind(tenant.to_string())
            .bind(id.to_string())
            .bind(to_millis(at))
            .bind(new_password_hash)
        )?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn count_users(&self, tenant: TenantId) -> StoreResult<u64> {
        let n: i64 = fetch_one!(
            self,
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE tenant_id = $1")
                .bind(tenant.to_string())
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// Cuts a page out of `limit + 1` rows: the extra row only says that another page exists.
pub(crate) fn page_of<T>(
    mut items: Vec<T>,
    limit: u32,
    cursor_of: impl Fn(&T) -> String,
) -> Page<T> {
    let limit = limit as usize;
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(cursor_of)
    } else {
        None
    };
    Page { items, next_cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_insert_has_one_parameter_per_column_and_row() {
        let numbered = insert_users_sql(2, true);
        assert!(numbered.contains("VALUES ($1, $2, $3, "), "{numbered}");
        assert!(numbered.contains(", ($16, $17, "), "{numbered}");
        assert!(
            numbered.ends_with("$29, $30) ON CONFLICT DO NOTHING RETURNING id"),
            "{numbered}"
        );
        assert_eq!(numbered.matches('$').count(), 2 * INSERT_USERS_PARAMS);

        let anonymous = insert_users_sql(3, false);
        assert_eq!(anonymous.matches('?').count(), 3 * INSERT_USERS_PARAMS);
        assert!(!anonymous.contains('$'), "{anonymous}");
        assert_eq!(anonymous.matches('(').count(), 1 + 3);
        // One column name per parameter of a row.
        let columns = concat!("email_bidx, ", user_columns!()).split(", ").count();
        assert_eq!(columns, INSERT_USERS_PARAMS);
    }
}
