//! Group commit for SQLite: units of work that never needed an answer from
//! the database (a create, for one) are written together. Each commit joins
//! the queue; whoever holds the writer next writes everything queued in one
//! transaction, so while one group is being written the next one gathers.
//! WAL mode writes every page a transaction changed once per commit, and a
//! busy writer's pages are mostly the same few (the ends of the tasks, outbox
//! and feed tables and their indexes, the user's row): fifty creates in one
//! transaction write them once instead of fifty times.
//!
//! A group is all or nothing as one transaction, but each unit of work keeps
//! its own fate: if the group fails, each is written again alone, and only
//! the ones that fail alone fail.

use std::sync::{Arc, Mutex};

use domain::StoreError;
use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqlitePool};
use tokio::sync::oneshot;

use super::deferred::{send_between, Deferred};
use super::rollback_in_place;
use crate::store::map_err;

/// At most this many units of work in one transaction, so no one waits on an endless group.
const MAX_GROUP: usize = 128;

/// A unit of work's statements, and where its outcome goes.
struct Queued {
    writes: Deferred,
    done: oneshot::Sender<Result<(), StoreError>>,
}

#[derive(Default)]
pub(super) struct GroupCommit {
    queue: Mutex<Vec<Queued>>,
    /// Held by whoever is writing a group: the next group gathers meanwhile.
    writing: tokio::sync::Mutex<()>,
}

impl GroupCommit {
    /// Commits `writes` (statements with no `BEGIN` or `COMMIT` of their
    /// own) in a transaction with whatever else is queued; returns once they
    /// are committed, or failed.
    pub async fn commit(self: &Arc<Self>, pool: &SqlitePool, writes: Deferred) -> Result<(), StoreError> {
        let (done, outcome) = oneshot::channel();
        self.queue.lock().expect("the commit queue is never poisoned").push(Queued { writes, done });
        // The turn is taken on a task of its own: every queued unit of work
        // is written soon, even if its caller goes away meanwhile.
        let (group, pool) = (self.clone(), pool.clone());
        tokio::spawn(async move { group.take_turn(&pool).await });
        outcome
            .await
            .unwrap_or_else(|_| Err(StoreError::backend(std::io::Error::other("the group commit was cut short"))))
    }

    /// Writes everything queued (up to `MAX_GROUP`) once the group before is written.
    async fn take_turn(&self, pool: &SqlitePool) {
        let _turn = self.writing.lock().await;
        let group: Vec<Queued> = {
            let mut queue = self.queue.lock().expect("the commit queue is never poisoned");
            let take = queue.len().min(MAX_GROUP);
            queue.drain(..take).collect()
        };
        if !group.is_empty() {
            write_group(pool, group).await;
        }
    }
}

async fn write_group(pool: &SqlitePool, group: Vec<Queued>) {
    let outcomes = match pool.acquire().await.map_err(map_err) {
        Ok(mut conn) => {
            let outcomes = outcomes(&mut conn, &group).await;
            // The writer goes back to the pool before anyone waiting on this
            // group is woken: returning it is a task of its own, and queued
            // behind a group's worth of woken requests it held up the next
            // group by milliseconds.
            drop(conn);
            outcomes
        }
        Err(e) => {
            let text = e.to_string();
            group.iter().map(|_| Err(StoreError::backend(std::io::Error::other(text.clone())))).collect()
        }
    };
    for (q, outcome) in group.into_iter().zip(outcomes) {
        let _ = q.done.send(outcome);
    }
}

/// Each unit of work's outcome: all together in one transaction, or, if
/// that fails, each alone.
async fn outcomes(conn: &mut PoolConnection<Sqlite>, group: &[Queued]) -> Vec<Result<(), StoreError>> {
    if let [alone] = group {
        return vec![write_alone(conn, &alone.writes).await];
    }
    let parts: Vec<&Deferred> = group.iter().map(|q| &q.writes).collect();
    if send_between(conn, "BEGIN IMMEDIATE", &parts, "COMMIT").await.is_ok() {
        return group.iter().map(|_| Ok(())).collect();
    }
    rollback_in_place(conn).await;
    let mut outcomes = Vec::with_capacity(group.len());
    for q in group {
        outcomes.push(write_alone(conn, &q.writes).await);
    }
    outcomes
}

/// Writes one unit of work's statements in a transaction of their own.
async fn write_alone(conn: &mut PoolConnection<Sqlite>, writes: &Deferred) -> Result<(), StoreError> {
    let outcome = send_between(conn, "BEGIN IMMEDIATE", &[writes], "COMMIT").await.map(drop);
    if outcome.is_err() {
        rollback_in_place(conn).await;
    }
    outcome
}
