//! Checkpoints the WAL in the background, on a connection of its own, so
//! the writer seldom has to. SQLite's own checkpoint runs inside the commit
//! that pushes the WAL past its threshold: that commit, and every unit of
//! work queued behind the writer, waits while a thousand pages are copied
//! into the database and synced. A passive checkpoint from another
//! connection copies them while the writer goes on (it never blocks a reader
//! or a writer), on the machine's other core.

use std::sync::Weak;
use std::time::Duration;

use sqlx::SqlitePool;

/// How soon to look again after a checkpoint that found frames to copy:
/// under a stream of writes the WAL stays a few hundred pages long.
const BUSY: Duration = Duration::from_millis(25);
/// The longest wait while the WAL is empty, so an idle server seldom wakes.
const IDLE: Duration = Duration::from_secs(1);

/// Checkpoints through `pool` until `alive` (the store's) is gone.
pub(super) fn spawn(pool: SqlitePool, alive: Weak<()>) {
    tokio::spawn(async move {
        let (mut wait, mut last) = (BUSY, 0);
        while alive.strong_count() > 0 {
            tokio::time::sleep(wait).await;
            // How many frames the WAL holds: more than last time, or fewer
            // (the writer started it again), means something was written.
            let result = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&pool).await;
            wait = match result {
                Ok((_, frames, _)) if frames != last => {
                    last = frames;
                    BUSY
                }
                Ok(_) => (wait * 2).min(IDLE),
                Err(e) => {
                    tracing::warn!(error = %e, "a background checkpoint failed; the writer checkpoints meanwhile");
                    IDLE
                }
            };
        }
    });
}
