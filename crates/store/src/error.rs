//! Maps driver errors to `StoreError`. Messages carry the driver's own words but never a bound
//! value (PostgreSQL's `detail`, which repeats the offending key, is left out on purpose).

use tessera_core::StoreError;

/// What a statement on a SQLite connection whose thread has stopped fails with (see
/// `sqlite_pool::Outcome`).
pub(crate) const WORKER_CRASHED: &str =
    "the database connection's thread stopped unexpectedly; the connection is replaced";

pub(crate) fn from_sqlx(err: sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::Database(db) => {
            if db.is_unique_violation() {
                StoreError::Conflict(crate::dialect::conflict_name(db.as_ref()))
            } else if db.is_foreign_key_violation() {
                // The row points at a tenant, user or group that does not exist (in that tenant).
                StoreError::NotFound
            } else {
                StoreError::Backend(db.message().to_string())
            }
        }
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::WorkerCrashed => StoreError::Backend(WORKER_CRASHED.to_string()),
        sqlx::Error::ColumnDecode { index, .. } => StoreError::Corrupt(format!(
            "column {index} holds a value of an unexpected type"
        )),
        sqlx::Error::Decode(_) => {
            StoreError::Corrupt("a stored value could not be decoded".to_string())
        }
        other => StoreError::Backend(other.to_string()),
    }
}

pub(crate) fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt(what.into())
}
