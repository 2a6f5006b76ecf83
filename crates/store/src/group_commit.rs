//! Group commit on SQLite's one writer: writes that many requests make at once (the refresh
//! grant's rotations) share one transaction.
//!
//! Every SQLite commit appends each page it changed to the write-ahead log, and the checkpoint
//! copies each of them back. Two rotations committed apart write the pages they share (the tables'
//! last leaves, the indexes' inner pages, the log's own header) twice; committed together, once.
//! Each transaction also costs the `BEGIN` and `COMMIT` hand-offs to the writer's thread. Under
//! load, then, a task takes whatever writes have queued up meanwhile (up to [`MAX_BATCH`]) and
//! runs them in one transaction; alone, a write runs at once, in a transaction of its own, as
//! before.
//!
//! Each write is all-or-nothing: should one fail, the whole batch is rolled back and every write
//! of it is run again in a transaction of its own, so one bad write loses no other and each caller
//! gets its own outcome. A caller returns only once its write is committed.
//!
//! The task starts on first use, in the runtime of the first caller, and ends when the last handle
//! to the store is dropped. Should it be gone (its runtime shut down), writes run directly.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

use sqlx::{Connection, SqliteConnection};
use tessera_core::StoreError;
use tokio::sync::{mpsc, oneshot};

use crate::sqlite_pool::SqlitePool;

/// Most writes one transaction carries.
const MAX_BATCH: usize = 64;

/// Writes waiting for the task before a caller waits for room.
const QUEUE: usize = 1024;

/// A write that can share a transaction with others of its kind.
pub(crate) trait BatchedWrite: Send + Sync + 'static {
    type Output: Send + 'static;

    /// Runs the write on `conn`, inside a transaction the caller opened and will commit. An `Err`
    /// rolls back the whole transaction, so a write that fails half-way must return `Err`.
    fn run<'c>(
        &'c self,
        conn: &'c mut SqliteConnection,
    ) -> Pin<Box<dyn Future<Output = Result<Self::Output, StoreError>> + Send + 'c>>;
}

/// The queue to one writer task, held by the store's pools (`Db::Sqlite`).
pub(crate) struct GroupCommit<W: BatchedWrite> {
    pool: SqlitePool,
    queue: OnceLock<mpsc::Sender<Pending<W>>>,
}

/// One write waiting for the task, and where its outcome goes.
struct Pending<W: BatchedWrite> {
    write: W,
    reply: oneshot::Sender<Result<W::Output, StoreError>>,
}

impl<W: BatchedWrite> GroupCommit<W> {
    /// Batches writes for `pool`, the store's write pool.
    pub(crate) fn new(pool: SqlitePool) -> GroupCommit<W> {
        GroupCommit {
            pool,
            queue: OnceLock::new(),
        }
    }

    /// Runs `write`, committed with whatever other writes are waiting, and returns its outcome.
    pub(crate) async fn run(&self, write: W) -> Result<W::Output, StoreError> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(write_loop(self.pool.clone(), rx));
            tx
        });
        let (reply, answer) = oneshot::channel();
        match queue.send(Pending { write, reply }).await {
            Ok(()) => answer.await.unwrap_or_else(|_| {
                // The task went away with the write: whether it was committed is unknown.
                Err(StoreError::Backend(
                    "the database writer stopped while a write was waiting; whether it was \
                     stored is unknown"
                        .into(),
                ))
            }),
            // The task is gone (its runtime has shut down): write directly.
            Err(mpsc::error::SendError(p)) => alone(&self.pool, &p.write).await,
        }
    }
}

async fn write_loop<W: BatchedWrite>(pool: SqlitePool, mut rx: mpsc::Receiver<Pending<W>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let pending = std::mem::take(&mut batch);
        if pending.len() > 1 {
            match together(&pool, &pending).await {
                Ok(outputs) => {
                    for (p, output) in pending.into_iter().zip(outputs) {
                        // A caller that stopped waiting (its request was dropped) needs no answer.
                        let _ = p.reply.send(Ok(output));
                    }
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, writes = pending.len(), "a batch of writes could not be committed together; writing them one by one");
                }
            }
        }
        for p in pending {
            let outcome = alone(&pool, &p.write).await;
            let _ = p.reply.send(outcome);
        }
    }
}

/// Every write of `pending` in one transaction, or none of them.
async fn together<W: BatchedWrite>(
    pool: &SqlitePool,
    pending: &[Pending<W>],
) -> Result<Vec<W::Output>, StoreError> {
    in_one_transaction(pool, pending.iter().map(|p| &p.write)).await
}

/// One write in a transaction of its own.
async fn alone<W: BatchedWrite>(pool: &SqlitePool, write: &W) -> Result<W::Output, StoreError> {
    let mut outputs = in_one_transaction(pool, std::iter::once(write)).await?;
    outputs
        .pop()
        .ok_or_else(|| StoreError::Backend("a write returned no outcome".into()))
}

/// Runs `writes` in one transaction on the writer's connection: committed if every one succeeds,
/// rolled back at the first that fails.
async fn in_one_transaction<'w, W: BatchedWrite>(
    pool: &SqlitePool,
    writes: impl Iterator<Item = &'w W>,
) -> Result<Vec<W::Output>, StoreError> {
    let mut lease = pool.acquire().await.map_err(crate::error::from_sqlx)?;
    let result = async {
        let mut tx = lease
            .connection()
            .begin()
            .await
            .map_err(crate::error::from_sqlx)?;
        let mut outputs = Vec::with_capacity(writes.size_hint().0);
        for write in writes {
            match write.run(&mut tx).await {
                Ok(output) => outputs.push(output),
                Err(e) => {
                    let _ = tx.rollback().await;
                    return Err(e);
                }
            }
        }
        tx.commit().await.map_err(crate::error::from_sqlx)?;
        Ok(outputs)
    }
    .await;
    lease.check(&result);
    result
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Inserts its key; a key already there fails (and must roll back the batch it is in).
    struct Insert(i64);

    impl BatchedWrite for Insert {
        type Output = i64;

        fn run<'c>(
            &'c self,
            conn: &'c mut SqliteConnection,
        ) -> Pin<Box<dyn Future<Output = Result<i64, StoreError>> + Send + 'c>> {
            Box::pin(async move {
                sqlx::query("INSERT INTO t (k) VALUES ($1)")
                    .bind(self.0)
                    .execute(&mut *conn)
                    .await
                    .map_err(crate::error::from_sqlx)?;
                Ok(self.0)
            })
        }
    }

    /// A one-connection database with table `t`, and a count of the commits made on it.
    async fn database() -> (SqlitePool, Arc<AtomicUsize>) {
        let options: sqlx::sqlite::SqliteConnectOptions = "sqlite::memory:".parse().unwrap();
        let pool = SqlitePool::open(options, 1, std::time::Duration::from_secs(5), None)
            .await
            .unwrap();
        let mut lease = pool.acquire().await.unwrap();
        sqlx::raw_sql("CREATE TABLE t (k INTEGER PRIMARY KEY); INSERT INTO t (k) VALUES (0)")
            .execute(lease.connection())
            .await
            .unwrap();
        let commits = Arc::new(AtomicUsize::new(0));
        let counted = commits.clone();
        lease
            .connection()
            .lock_handle()
            .await
            .unwrap()
            .set_commit_hook(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                true
            });
        drop(lease);
        (pool, commits)
    }

    async fn keys(pool: &SqlitePool) -> Vec<i64> {
        let mut lease = pool.acquire().await.unwrap();
        sqlx::query_scalar("SELECT k FROM t ORDER BY k")
            .fetch_all(lease.connection())
            .await
            .unwrap()
    }

    /// Writes from `keys`, all sent before the writer task first runs (a current-thread runtime
    /// runs the spawned callers, in order, before the task they start), with their outcomes.
    async fn run_together(
        group: &Arc<GroupCommit<Insert>>,
        keys: &[i64],
    ) -> Vec<Result<i64, StoreError>> {
        let callers: Vec<_> = keys
            .iter()
            .map(|&k| {
                let group = group.clone();
                tokio::spawn(async move { group.run(Insert(k)).await })
            })
            .collect();
        let mut out = Vec::new();
        for caller in callers {
            out.push(caller.await.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn waiting_writes_share_one_commit() {
        let (pool, commits) = database().await;
        let group = Arc::new(GroupCommit::new(pool.clone()));
        let outcomes = run_together(&group, &[1, 2, 3, 4, 5, 6, 7, 8]).await;
        let outputs: Vec<i64> = outcomes.into_iter().map(Result::unwrap).collect();
        assert_eq!(outputs, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(
            commits.load(Ordering::SeqCst),
            1,
            "eight writes, one commit"
        );
        assert_eq!(keys(&pool).await, [0, 1, 2, 3, 4, 5, 6, 7, 8]);

        // A write with nobody else waiting commits on its own, at once.
        assert_eq!(group.run(Insert(9)).await.unwrap(), 9);
        assert_eq!(commits.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failing_write_loses_no_other() {
        let (pool, commits) = database().await;
        let group = Arc::new(GroupCommit::new(pool.clone()));
        // Key 0 is taken: that write fails, the batch is rolled back and each write is run again
        // alone.
        let outcomes = run_together(&group, &[1, 2, 0, 3, 4]).await;
        assert!(outcomes[2].is_err(), "the taken key is refused");
        let outputs: Vec<i64> = outcomes.into_iter().filter_map(Result::ok).collect();
        assert_eq!(outputs, [1, 2, 3, 4]);
        assert_eq!(
            commits.load(Ordering::SeqCst),
            4,
            "one commit for each good write"
        );
        assert_eq!(keys(&pool).await, [0, 1, 2, 3, 4]);
    }
}
