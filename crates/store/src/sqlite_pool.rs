//! SQLite's connections, lent out and taken back without a round trip to their threads.
//!
//! Each sqlx SQLite connection runs its statements on a thread of its own, and every statement
//! is a hand-off to that thread and back: two threads woken. sqlx's pool adds two more hand-offs
//! to every statement: it pings a connection before lending it (unless told not to) and always
//! again as it comes back, on a task it spawns for the purpose. Those pings check for a server
//! that went away or a network that dropped the connection, neither of which a file opened by
//! this process has. Under a sign-in load they were half of the hand-offs to the database
//! threads, and every hand-off that wakes a thread on the other core interrupts whatever runs
//! there, an argon2id hash more often than not (docs/performance.md).
//!
//! This pool lends a connection (most recently used first, its cache warm) and takes it back as
//! the lease is dropped, synchronously. At most `max` connections exist; a borrower waits its turn
//! in order of arrival, for at most the acquire timeout. Connections are opened when first
//! needed and closed after [`IDLE_TIMEOUT`] unused (never, for an in-memory database, which
//! lives only as long as a connection to it). A connection whose thread has stopped (a
//! panic inside the driver) is not taken back.
//!
//! A lease dropped in the middle of a statement (its request was cancelled) needs no clean-up
//! here: the connection's thread runs its commands in order, so the next borrower's come after
//! whatever the cancelled one left queued, a dropped transaction's rollback included.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use tessera_core::StoreError;
use tokio::sync::Semaphore;

/// A connection unused for this long is closed (sqlx's pool's default).
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// How often idle connections are looked at when nothing is lent or returned.
const REAP_EVERY: Duration = Duration::from_secs(60);

/// A pool of SQLite connections to one database; cheap to clone.
#[derive(Clone)]
pub(crate) struct SqlitePool {
    inner: Arc<Inner>,
}

struct Inner {
    options: SqliteConnectOptions,
    max: u32,
    acquire_timeout: Duration,
    /// `None`: idle connections are kept for good.
    idle_timeout: Option<Duration>,
    /// One permit per connection that may be lent out.
    permits: Semaphore,
    /// Connections not lent out, the most recently returned last.
    idle: Mutex<Vec<Idle>>,
    closed: AtomicBool,
}

struct Idle {
    connection: SqliteConnection,
    since: Instant,
}

/// A connection lent by [`SqlitePool::acquire`]; dropping it gives the connection back.
pub(crate) struct Lease {
    connection: Option<SqliteConnection>,
    inner: Arc<Inner>,
}

impl SqlitePool {
    /// A pool of at most `max` connections opened with `options`, closed after `idle_timeout`
    /// unused (`None`: kept). One is opened at once, so that a database that cannot be opened is
    /// reported here rather than at the first statement.
    pub(crate) async fn open(
        options: SqliteConnectOptions,
        max: u32,
        acquire_timeout: Duration,
        idle_timeout: Option<Duration>,
    ) -> Result<SqlitePool, sqlx::Error> {
        let first = options.connect().await?;
        let inner = Arc::new(Inner {
            options,
            max,
            acquire_timeout,
            idle_timeout,
            permits: Semaphore::new(max as usize),
            idle: Mutex::new(vec![Idle {
                connection: first,
                since: Instant::now(),
            }]),
            closed: AtomicBool::new(false),
        });
        if let (Some(_), Ok(runtime)) = (idle_timeout, tokio::runtime::Handle::try_current()) {
            runtime.spawn(reap(Arc::downgrade(&inner)));
        }
        Ok(SqlitePool { inner })
    }

    /// Lends a connection: an idle one, or a new one while fewer than `max` exist; otherwise
    /// waits for one to come back, at most the acquire timeout (then `PoolTimedOut`).
    pub(crate) async fn acquire(&self) -> Result<Lease, sqlx::Error> {
        let inner = &self.inner;
        let permit = tokio::time::timeout(inner.acquire_timeout, inner.permits.acquire())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        // The lease gives the permit back when dropped, also if opening a connection fails below.
        permit.forget();
        let mut lease = Lease {
            connection: None,
            inner: inner.clone(),
        };
        let idle = inner.lock_idle().pop();
        lease.connection = Some(match idle {
            Some(idle) => idle.connection,
            None => inner.options.connect().await?,
        });
        Ok(lease)
    }

    /// Waits until every lent connection is back, closes them all and refuses further
    /// borrowers (`PoolClosed`). Closing a closed pool does nothing.
    pub(crate) async fn close(&self) {
        let inner = &self.inner;
        if inner.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Ok(all) = inner.permits.acquire_many(inner.max).await {
            all.forget();
        }
        inner.permits.close();
        let idle = std::mem::take(&mut *inner.lock_idle());
        for idle in idle {
            let _ = idle.connection.close().await;
        }
    }
}

impl Lease {
    /// The connection, to run statements on (`&mut SqliteConnection` is a sqlx executor).
    pub(crate) fn connection(&mut self) -> &mut SqliteConnection {
        self.connection
            .as_mut()
            .expect("a lease holds its connection until dropped")
    }

    /// Called with the outcome of the statements run on the lease: a connection whose thread
    /// has stopped is not given back to the pool (the next borrower gets a new one).
    pub(crate) fn check<T, E: Outcome>(&mut self, result: &Result<T, E>) {
        if let Err(e) = result
            && e.worker_crashed()
        {
            tracing::error!(
                "a SQLite connection's thread stopped; the connection is closed and replaced"
            );
            self.connection = None;
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            let stale = {
                let mut idle = self.inner.lock_idle();
                idle.push(Idle {
                    connection,
                    since: Instant::now(),
                });
                take_stale(&mut idle, self.inner.idle_timeout)
            };
            drop(stale);
        }
        self.inner.permits.add_permits(1);
    }
}

/// A lease on which a message of several statements opened a transaction by hand (`BEGIN` …
/// `COMMIT` sent together, see `audit/sqlite.rs`). sqlx does not know of that transaction, so
/// nothing would roll it back should the message stop half-way: an error in one statement ends
/// the message there, and so does its caller being cancelled (the thread stops when no one
/// takes the results). A connection left inside a transaction must not be lent again: every
/// later write on it would join that transaction and never commit.
///
/// So: [`Self::ended`] once the message ran to its end; [`Self::roll_back`] after an error;
/// dropped before either (cancelled), the rollback is sent from a task of its own, the lease
/// held until it is done. A connection whose rollback fails is closed, which rolls it back.
pub(crate) struct HandTransaction {
    lease: Option<Lease>,
}

impl HandTransaction {
    /// `lease`, about to carry a message that begins a transaction.
    pub(crate) fn begin(lease: Lease) -> HandTransaction {
        HandTransaction { lease: Some(lease) }
    }

    pub(crate) fn connection(&mut self) -> &mut SqliteConnection {
        self.lease
            .as_mut()
            .expect("a hand transaction holds its lease until it ends")
            .connection()
    }

    /// The message ran to its end, its `COMMIT` included: the lease goes back as it is.
    pub(crate) fn ended(mut self) {
        self.lease = None;
    }

    /// After a message failed: rolls back whatever it left open.
    pub(crate) async fn roll_back(mut self) {
        if let Some(lease) = self.lease.take() {
            roll_back(lease).await;
        }
    }
}

impl Drop for HandTransaction {
    fn drop(&mut self) {
        let Some(mut lease) = self.lease.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(roll_back(lease));
            }
            // No runtime to roll back on: close the connection instead.
            Err(_) => lease.connection = None,
        }
    }
}

/// Rolls back the transaction a message may have left open on `lease`, then gives the lease
/// back. Its thread runs commands in order, so the rollback comes after whatever the message
/// still had queued. "No transaction is active" means the message had ended (or never began
/// one). Should the rollback fail, or never finish (its task dropped with the runtime), the
/// connection is closed instead of given back.
async fn roll_back(lease: Lease) {
    let mut closing = ClosingLease(Some(lease));
    let Some(lease) = closing.0.as_mut() else {
        return;
    };
    match sqlx::query("ROLLBACK").execute(lease.connection()).await {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.message().contains("no transaction is active") => {}
        Err(e) => {
            tracing::warn!(error = %e, "could not roll back a SQLite transaction; the connection is closed and replaced");
            return;
        }
    }
    // Rolled back: the lease goes back with its connection.
    drop(closing.0.take());
}

/// A lease that closes its connection when dropped, unless taken out first.
struct ClosingLease(Option<Lease>);

impl Drop for ClosingLease {
    fn drop(&mut self) {
        if let Some(mut lease) = self.0.take() {
            lease.connection = None;
        }
    }
}

impl Inner {
    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Removes the connections idle for longer than `timeout` (the oldest come first).
fn take_stale(idle: &mut Vec<Idle>, timeout: Option<Duration>) -> Vec<Idle> {
    let Some(timeout) = timeout else {
        return Vec::new();
    };
    let stale = idle
        .iter()
        .take_while(|i| i.since.elapsed() > timeout)
        .count();
    idle.drain(..stale).collect()
}

/// Closes idle connections now and then, for a pool nobody uses any more; ends with the pool.
async fn reap(pool: Weak<Inner>) {
    let mut every = tokio::time::interval(REAP_EVERY);
    every.tick().await;
    loop {
        every.tick().await;
        let Some(inner) = pool.upgrade() else { return };
        let stale = take_stale(&mut inner.lock_idle(), inner.idle_timeout);
        drop(inner);
        for idle in stale {
            let _ = idle.connection.close().await;
        }
    }
}

/// The error side of what statements on a lease return: `sqlx::Error` for a single statement,
/// `StoreError` for a transaction. Lets the store's macros turn a failed acquire into either,
/// and tell a connection whose thread has stopped.
pub(crate) trait Outcome: Sized {
    fn from_acquire(error: sqlx::Error) -> Self;
    fn worker_crashed(&self) -> bool;
}

impl Outcome for sqlx::Error {
    fn from_acquire(error: sqlx::Error) -> Self {
        error
    }

    fn worker_crashed(&self) -> bool {
        matches!(self, sqlx::Error::WorkerCrashed)
    }
}

impl Outcome for StoreError {
    fn from_acquire(error: sqlx::Error) -> Self {
        crate::error::from_sqlx(error)
    }

    fn worker_crashed(&self) -> bool {
        matches!(self, StoreError::Backend(m) if m == crate::error::WORKER_CRASHED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pool(max: u32, timeout: Duration) -> SqlitePool {
        let options: SqliteConnectOptions = "sqlite::memory:".parse().unwrap();
        SqlitePool::open(options, max, timeout, Some(IDLE_TIMEOUT))
            .await
            .unwrap()
    }

    /// Whether the connection has the temporary table `mark` (temporary tables belong to one
    /// connection; the in-memory database itself is shared by the pool's connections).
    async fn marked(c: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM temp.sqlite_master WHERE name = 'mark'")
            .fetch_one(c)
            .await
    }

    fn idle_count(pool: &SqlitePool) -> usize {
        pool.inner.lock_idle().len()
    }

    #[tokio::test]
    async fn a_returned_connection_is_lent_again_and_no_more_than_max_exist() {
        let pool = pool(2, Duration::from_secs(5)).await;
        let mut a = pool.acquire().await.unwrap();
        // A temporary table tells the connections apart.
        sqlx::query("CREATE TEMP TABLE mark (x INTEGER)")
            .execute(a.connection())
            .await
            .unwrap();
        let mut b = pool.acquire().await.unwrap();
        assert_eq!(marked(b.connection()).await.unwrap(), 0);
        drop(b);
        drop(a);
        assert_eq!(idle_count(&pool), 2);
        // The most recently returned (a, the marked one) comes first.
        let mut again = pool.acquire().await.unwrap();
        assert_eq!(marked(again.connection()).await.unwrap(), 1);
        drop(again);
        assert_eq!(idle_count(&pool), 2);
    }

    #[tokio::test]
    async fn a_borrower_waits_for_a_connection_and_gives_up_after_the_timeout() {
        let pool = pool(1, Duration::from_millis(50)).await;
        let held = pool.acquire().await.unwrap();
        let waited = Instant::now();
        assert!(matches!(
            pool.acquire().await,
            Err(sqlx::Error::PoolTimedOut)
        ));
        assert!(waited.elapsed() >= Duration::from_millis(50));
        // Given back, it is lent at once.
        let waiting = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.acquire().await.map(drop) })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(held);
        waiting.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_cancelled_transaction_is_rolled_back_before_the_next_borrower_runs() {
        let pool = pool(1, Duration::from_secs(5)).await;
        let mut lease = pool.acquire().await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(lease.connection())
            .await
            .unwrap();
        {
            let mut tx = lease.connection().begin().await.unwrap();
            sqlx::query("INSERT INTO t (x) VALUES (1)")
                .execute(&mut *tx)
                .await
                .unwrap();
            // Dropped without commit, as a cancelled request drops it.
        }
        drop(lease);
        let mut next = pool.acquire().await.unwrap();
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
            .fetch_one(next.connection())
            .await
            .unwrap();
        assert_eq!(rows, 0);
        // And the connection is not left inside a transaction: a new one begins.
        let tx = next.connection().begin().await.unwrap();
        tx.rollback().await.unwrap();
    }

    #[tokio::test]
    async fn a_crashed_connection_is_not_taken_back() {
        let pool = pool(1, Duration::from_secs(5)).await;
        let mut lease = pool.acquire().await.unwrap();
        lease.check::<(), _>(&Err(sqlx::Error::WorkerCrashed));
        drop(lease);
        assert_eq!(idle_count(&pool), 0);
        // The permit came back: a new connection is opened for the next borrower.
        let mut next = pool.acquire().await.unwrap();
        sqlx::query("SELECT 1")
            .execute(next.connection())
            .await
            .unwrap();
        // A store error carrying the same cause is told too; another error is not.
        assert!(StoreError::Backend(crate::error::WORKER_CRASHED.into()).worker_crashed());
        assert!(!StoreError::NotFound.worker_crashed());
        assert!(!sqlx::Error::RowNotFound.worker_crashed());
    }

    #[tokio::test]
    async fn close_waits_for_lent_connections_then_refuses_borrowers() {
        let pool = pool(2, Duration::from_secs(5)).await;
        let held = pool.acquire().await.unwrap();
        let closing = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.close().await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !closing.is_finished(),
            "close waits for the lent connection"
        );
        drop(held);
        closing.await.unwrap();
        assert_eq!(idle_count(&pool), 0);
        assert!(matches!(pool.acquire().await, Err(sqlx::Error::PoolClosed)));
        // Closing again does nothing.
        pool.close().await;
    }

    #[test]
    fn only_connections_idle_past_the_timeout_are_stale() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let options: SqliteConnectOptions = "sqlite::memory:".parse().unwrap();
            let Some(long_ago) = Instant::now().checked_sub(IDLE_TIMEOUT + Duration::from_secs(1))
            else {
                return; // the machine started less than ten minutes ago
            };
            let old = options.connect().await.unwrap();
            let new = options.connect().await.unwrap();
            let mut idle = vec![
                Idle {
                    connection: old,
                    since: long_ago,
                },
                Idle {
                    connection: new,
                    since: Instant::now(),
                },
            ];
            // Kept for good without a timeout (an in-memory database).
            assert!(take_stale(&mut idle, None).is_empty());
            let stale = take_stale(&mut idle, Some(IDLE_TIMEOUT));
            assert_eq!(stale.len(), 1);
            assert_eq!(idle.len(), 1);
        });
    }
    /// A file database (an in-memory one dies with its connection, which a failed rollback
    /// closes) with the table `t`, and one connection.
    async fn file_pool(dir: &tempfile::TempDir) -> SqlitePool {
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("t.db"))
            .create_if_missing(true);
        let pool = SqlitePool::open(options, 1, Duration::from_secs(5), None)
            .await
            .unwrap();
        let mut lease = pool.acquire().await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER PRIMARY KEY)")
            .execute(lease.connection())
            .await
            .unwrap();
        pool
    }

    async fn rows(pool: &SqlitePool) -> Vec<i64> {
        let mut lease = pool.acquire().await.unwrap();
        sqlx::query_scalar("SELECT x FROM t ORDER BY x")
            .fetch_all(lease.connection())
            .await
            .unwrap()
    }

    /// A message that fails half-way leaves its transaction open; `roll_back` closes it, and the
    /// next borrower writes and commits on its own.
    #[tokio::test]
    async fn a_hand_transaction_that_fails_half_way_is_rolled_back() {
        let dir = tempfile::tempdir().unwrap();
        let pool = file_pool(&dir).await;
        let mut open = HandTransaction::begin(pool.acquire().await.unwrap());
        let failed = sqlx::query(
            "BEGIN IMMEDIATE; INSERT INTO t VALUES (1); INSERT INTO t VALUES (1); COMMIT",
        )
        .execute(open.connection())
        .await;
        assert!(failed.is_err(), "the repeated key fails the message");
        open.roll_back().await;
        let mut lease = pool.acquire().await.unwrap();
        sqlx::query("INSERT INTO t VALUES (2)")
            .execute(lease.connection())
            .await
            .unwrap();
        drop(lease);
        assert_eq!(
            rows(&pool).await,
            vec![2],
            "the first insert was rolled back"
        );
        // A message that ran to its end is kept, and its lease goes back as it is.
        let mut open = HandTransaction::begin(pool.acquire().await.unwrap());
        sqlx::query("BEGIN IMMEDIATE; INSERT INTO t VALUES (3); COMMIT")
            .execute(open.connection())
            .await
            .unwrap();
        open.ended();
        assert_eq!(rows(&pool).await, vec![2, 3]);
    }

    /// Dropped before it ended (its caller cancelled), a hand transaction is rolled back before
    /// its connection is lent again; one whose message had committed loses nothing.
    #[tokio::test]
    async fn a_dropped_hand_transaction_is_rolled_back_before_the_next_borrower_runs() {
        let dir = tempfile::tempdir().unwrap();
        let pool = file_pool(&dir).await;
        let mut open = HandTransaction::begin(pool.acquire().await.unwrap());
        sqlx::query("BEGIN IMMEDIATE; INSERT INTO t VALUES (1)")
            .execute(open.connection())
            .await
            .unwrap();
        drop(open);
        let mut lease = pool.acquire().await.unwrap();
        sqlx::query("INSERT INTO t VALUES (2)")
            .execute(lease.connection())
            .await
            .expect("no transaction is left open on the connection");
        drop(lease);
        assert_eq!(rows(&pool).await, vec![2]);

        let mut open = HandTransaction::begin(pool.acquire().await.unwrap());
        sqlx::query("BEGIN IMMEDIATE; INSERT INTO t VALUES (3); COMMIT")
            .execute(open.connection())
            .await
            .unwrap();
        drop(open);
        assert_eq!(rows(&pool).await, vec![2, 3]);
    }
}
