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
//! The writer's automatic checkpoint is set far higher ([`WRITER_AUTOCHECKPOINT_PAGES`]). The log
//! starts again from its beginning only when a write finds every page of it copied; under
//! constant writes that is seldom the case between two passes of the task, so it is the writer's
//! checkpoint at that size that restarts the log (measured under the refresh grant: the log file
//! levels off at about 80 MiB), a short one, as the task has copied all but the last pages. It is
//! also the backstop should the task stop or fall behind. The task ends when the last handle to
//! the store is dropped or the store is closed.

use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use tokio::sync::watch;

/// How often the checkpointer runs; at the refresh grant's rate the log grows by about 6,000
/// pages (24 MiB) in that time.
const INTERVAL: Duration = Duration::from_millis(100);

/// The writer's own automatic checkpoint, in log pages (about 80 MiB): what restarts the log
/// under constant writes, and the backstop should the task stop or fall behind.
pub(crate) const WRITER_AUTOCHECKPOINT_PAGES: &str = "20000";

/// The checkpointer's handle, held by the store's pools (`Db::Sqlite`). Dropping the last one
/// stops the task; [`Checkpointer::close`] stops it and waits for its connection to close.
pub(crate) struct Checkpointer {
    pool: SqlitePool,
    // Never sent on: the task stops when this is dropped.
    _running: watch::Sender<()>,
}

impl Checkpointer {
    /// Opens the checkpointer's connection with the store's options and starts its task.
    pub(crate) async fn start(
        options: SqliteConnectOptions,
    ) -> Result<Arc<Checkpointer>, sqlx::Error> {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(options)
            .await?;
        let (running, stopped) = watch::channel(());
        tokio::spawn(run(pool.clone(), stopped));
        Ok(Arc::new(Checkpointer {
            pool,
            _running: running,
        }))
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

async fn run(pool: SqlitePool, mut stopped: watch::Receiver<()>) {
    let mut tick = tokio::time::interval(INTERVAL);
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
            Ok(_) => {
                if failing {
                    tracing::info!("SQLite checkpoints work again");
                }
                failing = false;
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
