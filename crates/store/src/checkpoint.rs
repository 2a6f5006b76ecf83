//! SQLite's write-ahead log, checkpointed beside the writer instead of by it.
//!
//! In WAL mode every commit appends the pages it changed to the log, and a checkpoint copies them
//! back into the database file (with an `fsync` of each). By default the connection whose commit
//! takes the log past 1,000 pages runs that checkpoint itself, inside its commit. Here that is the
//! one write connection (see `Db`), so every write waited while it ran: measured under the
//! refresh grant (about 35 pages a refresh), 60 checkpoints a second, 79 `fsync`s a second, all
//! on the writer's thread.
//!
//! So a task of its own, on a connection of its own, runs a `PASSIVE` checkpoint every
//! [`INTERVAL`]: it copies what it can without taking any lock a reader or the writer waits for.
//!
//! The log starts again from its beginning only when a write finds every page of it copied.
//! Under constant writes that is seldom the case, as pages are added while a pass runs. So once
//! the log is [`RESTART_AT_PAGES`] long and a pass has copied all it found, the task runs one more
//! pass on the writer's own connection, between two of its writes: it copies only the pages
//! written during the task's pass, and the writer's next write restarts the log. Every write waits
//! while that pass syncs the log and the database, so it is kept short by running right after the
//! task's own. Before, the writer's automatic checkpoint did this when the log passed its size,
//! at any moment of the task's cycle: it then had up to a whole interval's pages to sync and
//! copy, and under the refresh grant stalled every write for 50–60 ms at a time (traced with
//! `perf`: the writer's thread waiting for the log's and the database's pages to reach the disk).
//! That automatic checkpoint ([`WRITER_AUTOCHECKPOINT_PAGES`], set higher) stays as the backstop
//! should the task stop or fall behind. The task ends when the last handle to the store is dropped
//! or the store is closed.

use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use tokio::sync::watch;

use crate::sqlite_pool::SqlitePool as WritePool;

/// How often the checkpointer runs; at the refresh grant's rate the log grows by about 6,000
/// pages (24 MiB) in that time.
const INTERVAL: Duration = Duration::from_millis(100);

/// The writer's own automatic checkpoint, in log pages (about 80 MiB): the backstop should the
/// task stop or fall behind.
pub(crate) const WRITER_AUTOCHECKPOINT_PAGES: &str = "20000";

/// From this many pages in the log (about 48 MiB), a pass that copied all it found is followed by
/// one on the writer's connection, so that the log starts again (see the module comment). Below
/// [`WRITER_AUTOCHECKPOINT_PAGES`], so that the writer's own seldom runs.
const RESTART_AT_PAGES: i64 = 12_000;

/// The checkpointer's handle, held by the store's pools (`Db::Sqlite`). Dropping the last one
/// stops the task; [`Checkpointer::close`] stops it and waits for its connection to close.
pub(crate) struct Checkpointer {
    pool: SqlitePool,
    // Never sent on: the task stops when this is dropped.
    _running: watch::Sender<()>,
}

impl Checkpointer {
    /// Opens the checkpointer's connection with the store's options and starts its task, which
    /// also borrows the writer's connection (from `write`) to restart the log.
    pub(crate) async fn start(
        options: SqliteConnectOptions,
        write: WritePool,
    ) -> Result<Arc<Checkpointer>, sqlx::Error> {
        Self::start_with(options, write, INTERVAL, RESTART_AT_PAGES).await
    }

    /// [`Checkpointer::start`] with another interval and restart threshold (for tests).
    async fn start_with(
        options: SqliteConnectOptions,
        write: WritePool,
        interval: Duration,
        restart_at_pages: i64,
    ) -> Result<Arc<Checkpointer>, sqlx::Error> {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(options)
            .await?;
        let (running, stopped) = watch::channel(());
        tokio::spawn(run(
            pool.clone(),
            write,
            interval,
            restart_at_pages,
            stopped,
        ));
        Ok(Arc::new(Checkpointer {
            pool,
            _running: running,
        }))
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

async fn run(
    pool: SqlitePool,
    write: WritePool,
    interval: Duration,
    restart_at_pages: i64,
    mut stopped: watch::Receiver<()>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            // Err: every handle was dropped.
            changed = stopped.changed() => if changed.is_err() { break },
            _ = tick.tick() => {}
        }
        if pool.is_closed() {
            break;
        }
        let done = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&pool)
            .await;
        match done {
            Ok((_, log, copied)) => {
                if failing {
                    tracing::info!("SQLite checkpoints work again");
                }
                failing = false;
                if log >= restart_at_pages && copied >= log {
                    finish_on_writer(&write).await;
                }
            }
            Err(_) if pool.is_closed() => break,
            Err(e) => {
                // Said once per outage: the writer's own checkpoint takes over meanwhile.
                if !failing {
                    tracing::warn!(error = %e, "SQLite checkpoint failed; the write connection will checkpoint the log itself until this works again");
                }
                failing = true;
            }
        }
    }
    pool.close().await;
}

/// The pass that lets the log restart: on the writer's connection, so that no write adds pages
/// while it copies the last ones. A failure is left to the next round (and to the writer's own
/// checkpoint): the log only stays longer meanwhile.
async fn finish_on_writer(write: &WritePool) {
    let Ok(mut lease) = write.acquire().await else {
        // Closed (the store is closing) or every write waiting longer than the acquire timeout.
        return;
    };
    let done = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(&mut *lease.connection())
        .await;
    lease.check(&done);
    if let Err(e) = done {
        tracing::debug!(error = %e, "the writer's checkpoint did not run; the log restarts later");
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};

    use super::*;

    /// How many times the log of the database in `dir` has started again from its beginning: the
    /// checkpoint sequence number of its header (bytes 12 to 15, big-endian), which SQLite
    /// increments at each restart.
    fn restarts(dir: &std::path::Path) -> u32 {
        let header = std::fs::read(dir.join("t.db-wal")).unwrap();
        u32::from_be_bytes(header[12..16].try_into().unwrap())
    }

    /// Writes one page-sized row after another for `period`, without a pause, through a writer
    /// whose own checkpoint never runs, beside a checkpointer that restarts the log from
    /// `restart_at` pages. Returns how many times the log restarted and the rows written.
    async fn write_without_pause(restart_at: i64, period: Duration) -> (u32, u64) {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("t.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        let write = WritePool::open(
            options.clone().pragma("wal_autocheckpoint", "0"),
            1,
            Duration::from_secs(5),
            None,
        )
        .await
        .unwrap();
        {
            let mut lease = write.acquire().await.unwrap();
            sqlx::query("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)")
                .execute(lease.connection())
                .await
                .unwrap();
        }
        let checkpointer =
            Checkpointer::start_with(options, write.clone(), Duration::from_millis(5), restart_at)
                .await
                .unwrap();
        let row = vec![7u8; 3000];
        let until = Instant::now() + period;
        let mut written = 0u64;
        while Instant::now() < until {
            let mut lease = write.acquire().await.unwrap();
            sqlx::query("INSERT INTO t (v) VALUES ($1)")
                .bind(&row)
                .execute(lease.connection())
                .await
                .unwrap();
            written += 1;
        }
        checkpointer.close().await;
        let restarted = restarts(dir.path());
        write.close().await;
        (restarted, written)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn under_constant_writes_the_log_starts_again_once_it_is_long() {
        // Each row fills a page of its own: 64 pages are written many times over.
        let (restarted, written) = write_without_pause(64, Duration::from_millis(1500)).await;
        assert!(
            written > 1_000,
            "only {written} rows were written: too few to tell"
        );
        assert!(
            restarted >= 3,
            "the log restarted {restarted} times while {written} rows were written"
        );
    }
}
