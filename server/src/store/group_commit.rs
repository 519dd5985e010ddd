//! Group commit: units of work that never needed an answer from the
//! database (a create, for one) are written together. Each commit joins the
//! queue; one task, started by the first commit to find none at work, writes
//! everything queued in one transaction, then what queued meanwhile, until
//! the queue is empty: while one group is being written the next one gathers.
//! A commit's fixed costs are paid once per group instead of once per unit:
//! on SQLite the WAL's pages that every create changes (the ends of the
//! tasks, outbox and feed tables, the user's row), on PostgreSQL the wait
//! for the WAL flush with the user's row locked, which one user's creates
//! otherwise queue behind one at a time.
//!
//! A group is all or nothing as one transaction, but each unit of work keeps
//! its own fate: if the group fails, each is written again alone, and only
//! the ones that fail alone fail.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use domain::StoreError;
use tokio::sync::oneshot;

/// At most this many units of work in one transaction, so no one waits on an endless group.
const MAX_GROUP: usize = 128;

/// How a backend writes a group.
#[async_trait]
pub(crate) trait GroupWriter: Send + Sync + 'static {
    /// One unit of work's held-back writes.
    type Unit: Send + Sync + 'static;
    /// The connection a group and its retries are written on.
    type Conn: Send;

    async fn acquire(&self) -> Result<Self::Conn, StoreError>;

    /// Writes `units` in one transaction of their own, committed; on
    /// failure rolls it back and leaves `conn` fit for the next one.
    async fn write(&self, conn: &mut Self::Conn, units: &[&Self::Unit]) -> Result<(), StoreError>;
}

/// A unit of work's writes, and where its outcome goes.
struct Queued<U> {
    unit: U,
    done: oneshot::Sender<Result<(), StoreError>>,
}

pub(crate) struct GroupCommit<W: GroupWriter> {
    writer: W,
    queue: Mutex<Queue<W::Unit>>,
}

struct Queue<U> {
    waiting: Vec<Queued<U>>,
    /// Whether a task is writing groups: it takes what is waiting until nothing is.
    writing: bool,
}

impl<W: GroupWriter> GroupCommit<W> {
    pub fn new(writer: W) -> Self {
        Self { writer, queue: Mutex::new(Queue { waiting: Vec::new(), writing: false }) }
    }

    /// Commits `unit` in a transaction with whatever else is queued; returns
    /// once it is committed, or failed.
    pub async fn commit(self: &Arc<Self>, unit: W::Unit) -> Result<(), StoreError> {
        let (done, outcome) = oneshot::channel();
        let start = {
            let mut queue = self.queue.lock().expect("the commit queue is never poisoned");
            queue.waiting.push(Queued { unit, done });
            !std::mem::replace(&mut queue.writing, true)
        };
        // The groups are written on a task of their own: every queued unit
        // of work is written soon, even if its caller goes away meanwhile.
        if start {
            let group = self.clone();
            tokio::spawn(async move { group.write_while_queued().await });
        }
        outcome
            .await
            .unwrap_or_else(|_| Err(StoreError::backend(std::io::Error::other("the group commit was cut short"))))
    }

    /// Writes what is queued, up to `MAX_GROUP` at a time, until nothing is.
    async fn write_while_queued(&self) {
        let mut early = EndedEarly { queue: &self.queue, armed: true };
        loop {
            let group: Vec<Queued<W::Unit>> = {
                let mut queue = self.queue.lock().expect("the commit queue is never poisoned");
                if queue.waiting.is_empty() {
                    queue.writing = false;
                    early.armed = false;
                    return;
                }
                let take = queue.waiting.len().min(MAX_GROUP);
                queue.waiting.drain(..take).collect()
            };
            self.write_group(group).await;
        }
    }

    async fn write_group(&self, group: Vec<Queued<W::Unit>>) {
        let outcomes = match self.writer.acquire().await {
            Ok(mut conn) => {
                let outcomes = self.outcomes(&mut conn, &group).await;
                // The connection goes back to its pool before anyone waiting
                // on this group is woken: returning it is a task of its own,
                // and queued behind a group's worth of woken requests it held
                // up the next group by milliseconds.
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
    async fn outcomes(&self, conn: &mut W::Conn, group: &[Queued<W::Unit>]) -> Vec<Result<(), StoreError>> {
        let units: Vec<&W::Unit> = group.iter().map(|q| &q.unit).collect();
        if units.len() == 1 {
            return vec![self.writer.write(conn, &units).await];
        }
        if self.writer.write(conn, &units).await.is_ok() {
            return units.iter().map(|_| Ok(())).collect();
        }
        let mut outcomes = Vec::with_capacity(units.len());
        for unit in units {
            outcomes.push(self.writer.write(conn, &[unit]).await);
        }
        outcomes
    }
}

/// Clears `writing` when the writing task ends before the queue is empty
/// (dropped with its runtime, or panicking), so the next commit starts another.
struct EndedEarly<'a, U> {
    queue: &'a Mutex<Queue<U>>,
    armed: bool,
}

impl<U> Drop for EndedEarly<'_, U> {
    fn drop(&mut self) {
        if self.armed {
            self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).writing = false;
        }
    }
}
