//! Backend dispatch for queries. Each macro takes a query-building expression (for example
//! `sqlx::query_as::<_, Row>(SQL).bind(a)`) and expands it once per pool type, so the same SQL and
//! the same binds are checked against both drivers and no query code branches on the backend.
//! Driver errors are mapped to `StoreError` on the way out.
//!
//! Reads and writes are told apart: on SQLite they go to different pools (see `Db`). `execute!`,
//! `transaction!` and the `fetch_*!(write …)` forms (for `UPDATE … RETURNING` and the like) write;
//! `fetch_*!` without `write` and `read_transaction!` read. A write sent down the read path fails
//! ("attempt to write a readonly database"), so a wrong choice shows in the store tests.

/// Evaluates `$body` with `$pool` bound to the store's pool for reads (`read`) or for writes
/// (`write`), whichever backend it is. PostgreSQL has one pool for both.
///
/// On SQLite `$pool` is a connection lent by the store's own pool (`sqlite_pool.rs`) for the
/// length of `$body`; on PostgreSQL it is sqlx's pool. `$body` must evaluate to a `Result` whose
/// error is `sqlx::Error` or `StoreError` (see `sqlite_pool::Outcome`).
macro_rules! on_pool {
    (read $store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            crate::Db::Sqlite { read, .. } => on_pool!(@lease read, $pool => $body),
            crate::Db::Postgres($pool) => $body,
        }
    };
    (write $store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            crate::Db::Sqlite { write, .. } => on_pool!(@lease write, $pool => $body),
            crate::Db::Postgres($pool) => $body,
        }
    };
    (@lease $from:ident, $pool:ident => $body:expr) => {
        match $from.acquire().await {
            Ok(mut lease) => {
                let result = {
                    let $pool = lease.connection();
                    $body
                };
                lease.check(&result);
                result
            }
            Err(e) => Err(crate::sqlite_pool::Outcome::from_acquire(e)),
        }
    };
}

/// Runs a statement that writes; evaluates to `Result<u64, StoreError>` with the number of rows
/// affected.
macro_rules! execute {
    ($store:expr, $query:expr) => {
        on_pool!(write $store, pool => $query.execute(pool).await.map(|r| r.rows_affected()))
            .map_err(crate::error::from_sqlx)
    };
}

/// Evaluates to `Result<Option<Row>, StoreError>`. `fetch_optional!(write self, …)` for a
/// statement that writes and returns rows.
macro_rules! fetch_optional {
    (write $store:expr, $query:expr) => {
        on_pool!(write $store, pool => $query.fetch_optional(pool).await)
            .map_err(crate::error::from_sqlx)
    };
    ($store:expr, $query:expr) => {
        on_pool!(read $store, pool => $query.fetch_optional(pool).await)
            .map_err(crate::error::from_sqlx)
    };
}

/// Evaluates to `Result<Row, StoreError>`; `write` as for `fetch_optional!`.
macro_rules! fetch_one {
    (write $store:expr, $query:expr) => {
        on_pool!(write $store, pool => $query.fetch_one(pool).await).map_err(crate::error::from_sqlx)
    };
    ($store:expr, $query:expr) => {
        on_pool!(read $store, pool => $query.fetch_one(pool).await).map_err(crate::error::from_sqlx)
    };
}

/// Evaluates to `Result<Vec<Row>, StoreError>`; `write` as for `fetch_optional!`.
macro_rules! fetch_all {
    (write $store:expr, $query:expr) => {
        on_pool!(write $store, pool => $query.fetch_all(pool).await).map_err(crate::error::from_sqlx)
    };
    ($store:expr, $query:expr) => {
        on_pool!(read $store, pool => $query.fetch_all(pool).await).map_err(crate::error::from_sqlx)
    };
}

/// Runs `$body` (statements evaluating to `Result<T, StoreError>`, `?` allowed) in one
/// transaction, with `$tx` bound to the transaction's connection for the `tx_*` macros below.
/// Commits when the body returns `Ok`, rolls back when it returns `Err`; evaluates to the body's
/// result. On SQLite the transaction is deferred: its first statement should write, so that the
/// write lock is taken (or waited for) at once instead of being upgraded from a read lock.
macro_rules! transaction {
    (@on $role:ident $store:expr, $tx:ident => $body:block) => {
        on_pool!($role $store, pool => async {
            let mut transaction = sqlx::Acquire::begin(pool)
                .await
                .map_err(crate::error::from_sqlx)?;
            let result: Result<_, tessera_core::StoreError> = async {
                let $tx = &mut *transaction;
                $body
            }
            .await;
            match result {
                Ok(value) => {
                    transaction.commit().await.map_err(crate::error::from_sqlx)?;
                    Ok(value)
                }
                Err(err) => {
                    // The connection is rolled back when returned to the pool anyway.
                    let _ = transaction.rollback().await;
                    Err(err)
                }
            }
        }
        .await)
    };
    ($store:expr, $tx:ident => $body:block) => {
        transaction!(@on write $store, $tx => $body)
    };
}

/// `transaction!` for reads only: one consistent snapshot of several statements (see
/// `dialect::snapshot_statement`) on the read path, so it never holds SQLite's writer.
macro_rules! read_transaction {
    ($store:expr, $tx:ident => $body:block) => {
        transaction!(@on read $store, $tx => $body)
    };
}

/// `execute!` inside a `transaction!` body.
macro_rules! tx_execute {
    ($tx:ident, $query:expr) => {
        $query
            .execute(&mut *$tx)
            .await
            .map(|r| r.rows_affected())
            .map_err(crate::error::from_sqlx)
    };
}

/// `fetch_optional!` inside a `transaction!` body.
macro_rules! tx_fetch_optional {
    ($tx:ident, $query:expr) => {
        $query
            .fetch_optional(&mut *$tx)
            .await
            .map_err(crate::error::from_sqlx)
    };
}

/// `fetch_one!` inside a `transaction!` body.
macro_rules! tx_fetch_one {
    ($tx:ident, $query:expr) => {
        $query
            .fetch_one(&mut *$tx)
            .await
            .map_err(crate::error::from_sqlx)
    };
}

/// `fetch_all!` inside a `transaction!` body.
macro_rules! tx_fetch_all {
    ($tx:ident, $query:expr) => {
        $query
            .fetch_all(&mut *$tx)
            .await
            .map_err(crate::error::from_sqlx)
    };
}
