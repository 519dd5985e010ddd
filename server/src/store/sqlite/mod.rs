//! The SQLite adapter, the embedded default: WAL mode, foreign keys on, a busy
//! timeout, a pool of read-only connections and one writer whose transactions
//! start `IMMEDIATE`, so a unit of work holds the write lock from its first
//! read (that read is what `task_for_update` relies on) and two processes on
//! one file queue up rather than fail.

use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use domain::event::EventEnvelope;
use domain::notification::{NewNotification, Notification};
use domain::ports::{FeedHook, PoolUsage, SessionRecord, Store, UnitOfWork};
use domain::repeat::SeriesId;
use domain::tag::TagColour;
use domain::task::{Tag, Task, TaskId};
use domain::timer::{Timer, TimerKind};
use domain::{StoreError, User, UserId};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Executor, Sqlite, SqliteConnection, Transaction};

use deferred::{send_between, Deferred};
use group_commit::SqliteGroups;

use super::group_commit::GroupCommit;
use super::{map_err, FeedEntry, Migrations, Rings, Routing};

mod accounts;
mod audit;
mod checkpoint;
mod deferred;
mod group_commit;
mod outbox;
mod tags;
mod tasks;

// idempotency, tokens, undo and views: the SQL both backends share.
super::same_sql::same_sql!(SqliteStore, sqlx::SqliteConnection);

crate::store::time_engine::time_engine_sql!(super::SqliteStore, sqlx::SqliteConnection, begin_immediate, "", "");

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    /// Called after a commit that wrote to a user's feed (see `FeedStore::on_feed_commit`).
    feed_hook: Arc<OnceLock<FeedHook>>,
    routing: Routing,
    group: Arc<GroupCommit<SqliteGroups>>,
    /// The background checkpointer runs while this lives.
    _alive: Arc<()>,
}

impl SqliteStore {
    /// Opens the database, migrating it first.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::open(url, Migrations::Apply).await
    }

    pub async fn open(url: &str, migrations: Migrations) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(map_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        if let Some(dir) = Path::new(options.get_filename()).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(StoreError::backend)?;
            }
        }
        // A pooled SQLite connection lives in this process; pinging it before
        // every use would only add a round trip to its worker thread.
        // The writer keeps its statement journals in memory: a statement
        // that may fail half-way (any insert of a task, with its trigger)
        // journals the pages it changes, past 64 KiB in a temporary file, and
        // those files took seven of every eight writes a create made. It
        // checkpoints only when the background checkpointer falls far
        // behind (see `checkpoint`). Its thread may run 4,096 results ahead
        // of the task reading them: a group commit's hundreds of statements
        // each send one, and with sqlx's 50 the thread stopped every fifty
        // to wait for the runtime.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(
                options
                    .clone()
                    .pragma("temp_store", "memory")
                    .pragma("wal_autocheckpoint", "4000")
                    .row_buffer_size(4096),
            )
            .await
            .map_err(map_err)?;
        crate::store::migrate(&sqlx::migrate!("./migrations/sqlite"), &write, migrations).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .connect_with(options.clone().read_only(true))
            .await
            .map_err(map_err)?;
        let checkpoints =
            SqlitePoolOptions::new().max_connections(1).test_before_acquire(false).connect_lazy_with(options);
        let alive = Arc::new(());
        checkpoint::spawn(checkpoints, Arc::downgrade(&alive));
        let group = Arc::new(GroupCommit::new(SqliteGroups(write.clone())));
        let store = Self { read, write, feed_hook: Arc::default(), routing: Routing::default(), group, _alive: alive };
        if migrations == Migrations::Apply {
            tasks::backfill_list_keys(&store.write).await?;
        }
        Ok(store)
    }

    fn reader(&self) -> &SqlitePool {
        &self.read
    }

    fn writer(&self) -> &SqlitePool {
        &self.write
    }

    async fn begin_immediate(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.writer().begin_with("BEGIN IMMEDIATE").await.map_err(map_err)
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn begin(&self) -> Result<Box<dyn UnitOfWork>, StoreError> {
        Ok(Box::new(SqliteUnitOfWork {
            pool: self.write.clone(),
            group: self.group.clone(),
            conn: None,
            deferred: Deferred::default(),
            list_changed: None,
            inserted: Vec::new(),
            feed: Vec::new(),
            feed_hook: self.feed_hook.clone(),
            routing: self.routing.clone(),
            rings: Rings::default(),
        }))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(self.reader()).await.map_err(map_err)?;
        Ok(())
    }

    fn pools(&self) -> Vec<PoolUsage> {
        vec![crate::store::usage("read", &self.read), crate::store::usage("write", &self.write)]
    }
}

/// One write transaction; dropping it unfinished rolls back. The writes
/// whose answer is known in advance wait in `deferred`. The first step that
/// needs an answer takes the writer connection, begins the transaction
/// (`BEGIN IMMEDIATE`, so it holds the database's write lock from its first
/// read) and sends them; a unit of work that never needed one is committed
/// with others queued at the same moment (see `store::group_commit`).
pub struct SqliteUnitOfWork {
    pool: SqlitePool,
    group: Arc<GroupCommit<SqliteGroups>>,
    /// The writer connection, in a transaction, once a step needed an answer.
    conn: Option<PoolConnection<Sqlite>>,
    deferred: Deferred,
    /// Whose list version to raise at commit (see `commit`).
    list_changed: Option<UserId>,
    /// Tasks this unit of work inserted: they have no timers yet to replace
    /// (a task's unfired timers are deleted with it), and their search rows
    /// are written at commit.
    inserted: Vec<TaskId>,
    /// Feed entries to number and write at commit, per user.
    feed: Vec<FeedEntry>,
    feed_hook: Arc<OnceLock<FeedHook>>,
    routing: Routing,
    /// The relays to wake once the events appended are committed.
    rings: Rings,
}

impl SqliteUnitOfWork {
    /// The connection, in the transaction, with the deferred statements
    /// sent: for a step that reads, or needs its own statement's answer.
    async fn tx(&mut self) -> Result<&mut SqliteConnection, StoreError> {
        let begin = if self.conn.is_none() {
            self.conn = Some(self.pool.acquire().await.map_err(map_err)?);
            "BEGIN IMMEDIATE"
        } else {
            ""
        };
        let conn = self.conn.as_mut().expect("taken above");
        if !begin.is_empty() || !self.deferred.is_empty() {
            send_between(conn, begin, &[&std::mem::take(&mut self.deferred)], "").await?;
        }
        Ok(conn)
    }
}

/// Ends a transaction that will not commit. A connection that cannot even
/// roll back is closed rather than given back.
async fn rollback_in_place(conn: &mut PoolConnection<Sqlite>) {
    match conn.execute("ROLLBACK").await {
        Ok(_) => {}
        // It failed at BEGIN, or SQLite already rolled back after an I/O error.
        Err(sqlx::Error::Database(e)) if e.message().contains("no transaction is active") => {}
        Err(e) => {
            tracing::warn!(error = %e, "rolling back a unit of work failed; closing its connection");
            conn.close_on_drop();
        }
    }
}

impl Drop for SqliteUnitOfWork {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else { return };
        // The next writer waits for the connection until the rollback is done.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move { rollback_in_place(&mut conn).await });
            }
            // No runtime to roll back on: closing the connection rolls back.
            Err(_) => drop(conn.detach()),
        }
    }
}

#[async_trait]
impl UnitOfWork for SqliteUnitOfWork {
    async fn insert_user(&mut self, user: &User, password_hash: &str) -> Result<(), StoreError> {
        accounts::insert_user(self.tx().await?, user, password_hash).await
    }

    async fn update_user(&mut self, user: &User) -> Result<(), StoreError> {
        accounts::update_user(self.tx().await?, user).await
    }

    async fn set_password_hash(&mut self, user: UserId, hash: &str) -> Result<(), StoreError> {
        accounts::set_password_hash(self.tx().await?, user, hash).await
    }

    async fn insert_session(&mut self, session: &SessionRecord) -> Result<(), StoreError> {
        accounts::insert_session(self.tx().await?, session).await
    }

    async fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError> {
        accounts::delete_session(self.tx().await?, token_hash).await
    }

    async fn delete_other_sessions(&mut self, user: UserId, keep: &str) -> Result<(), StoreError> {
        accounts::delete_other_sessions(self.tx().await?, user, keep).await
    }

    async fn task_for_update(&mut self, user: UserId, id: TaskId) -> Result<Task, StoreError> {
        // The transaction began IMMEDIATE: it already holds the database's write lock.
        tasks::load_task(self.tx().await?, user, id).await
    }

    async fn insert_task(&mut self, task: &Task) -> Result<bool, StoreError> {
        let inserted = match &task.repeat {
            // A task outside a series is written (or the commit fails): its answer is known now.
            None => {
                self.deferred.insert_task(task);
                true
            }
            // An instance is not, when its series has one for its occurrence already.
            Some(repeat) => {
                self.deferred.insert_series(repeat.series, task);
                let tx = self.tx().await?;
                let mut insert = Deferred::default();
                insert.insert_task(task);
                insert.send(tx).await? == 1
            }
        };
        if inserted {
            self.deferred.insert_tags(task);
            self.list_changed = Some(task.user_id);
            self.inserted.push(task.id);
        }
        Ok(inserted)
    }

    async fn update_task(&mut self, task: &Task) -> Result<(), StoreError> {
        tasks::update_task(self.tx().await?, task).await?;
        self.list_changed = Some(task.user_id);
        Ok(())
    }

    async fn delete_task(&mut self, user: UserId, id: TaskId) -> Result<(), StoreError> {
        tasks::delete_task(self.tx().await?, user, id).await?;
        self.list_changed = Some(user);
        Ok(())
    }

    async fn series_tasks_from(
        &mut self,
        user: UserId,
        series: SeriesId,
        from: NaiveDate,
    ) -> Result<Vec<Task>, StoreError> {
        time_engine::series_tasks_from(self.tx().await?, user, series, from).await
    }

    async fn series_end(&mut self, user: UserId, series: SeriesId) -> Result<Option<NaiveDate>, StoreError> {
        time_engine::series_end(self.tx().await?, user, series).await
    }

    async fn end_series(&mut self, user: UserId, series: SeriesId, before: NaiveDate) -> Result<(), StoreError> {
        time_engine::end_series(self.tx().await?, user, series, before).await
    }

    async fn insert_view(&mut self, view: &domain::views::SavedView) -> Result<(), StoreError> {
        views::insert_view(self.tx().await?, view).await
    }

    async fn delete_view(&mut self, user: UserId, id: domain::views::ViewId) -> Result<(), StoreError> {
        views::delete_view(self.tx().await?, user, id).await
    }

    async fn set_view_order(&mut self, user: UserId, order: &[domain::views::ViewId]) -> Result<(), StoreError> {
        views::set_view_order(self.tx().await?, user, order).await
    }

    async fn insert_token(&mut self, token: &domain::tokens::ApiToken, token_hash: &str) -> Result<(), StoreError> {
        tokens::insert_token(self.tx().await?, token, token_hash).await
    }

    async fn delete_token(&mut self, user: UserId, id: domain::tokens::TokenId) -> Result<(), StoreError> {
        tokens::delete_token(self.tx().await?, user, id).await
    }

    async fn insert_undo(&mut self, record: &domain::bulk::UndoRecord) -> Result<(), StoreError> {
        undo::insert_undo(self.tx().await?, record).await
    }

    async fn take_undo(
        &mut self,
        user: UserId,
        id: domain::bulk::UndoId,
    ) -> Result<Option<domain::bulk::UndoRecord>, StoreError> {
        undo::take_undo(self.tx().await?, user, id).await
    }

    async fn tagged_task_ids(&mut self, user: UserId, tag: &Tag) -> Result<Vec<TaskId>, StoreError> {
        tags::tagged_task_ids(self.tx().await?, user, tag).await
    }

    async fn tag_colour(&mut self, user: UserId, tag: &Tag) -> Result<Option<TagColour>, StoreError> {
        tags::tag_colour(self.tx().await?, user, tag).await
    }

    async fn set_tag_colour(&mut self, user: UserId, tag: &Tag, colour: Option<TagColour>) -> Result<(), StoreError> {
        tags::set_tag_colour(self.tx().await?, user, tag, colour).await?;
        // The list's chips show the colour: a page cached before it is stale.
        self.list_changed = Some(user);
        Ok(())
    }

    async fn replace_timers(&mut self, task: TaskId, kind: TimerKind, timers: &[Timer]) -> Result<(), StoreError> {
        if self.inserted.contains(&task) {
            self.deferred.insert_timers(timers);
            return Ok(());
        }
        time_engine::replace_timers(self.tx().await?, task, kind, timers).await
    }

    async fn cancel_timers(&mut self, task: TaskId) -> Result<(), StoreError> {
        time_engine::cancel_timers(self.tx().await?, task).await
    }

    async fn insert_notification(&mut self, new: &NewNotification) -> Result<Option<Notification>, StoreError> {
        time_engine::insert_notification(self.tx().await?, new).await
    }

    async fn mark_notifications_read(
        &mut self,
        user: UserId,
        seq: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        time_engine::mark_notifications_read(self.tx().await?, user, seq, now).await
    }

    async fn append_event(&mut self, event: &EventEnvelope) -> Result<(), StoreError> {
        self.deferred.append_event(event, &self.routing.route(event, &mut self.rings));
        if let Some((event_type, data)) = domain::live::feed_entry(event) {
            self.feed.push((event.user_id, event_type, data));
        }
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        // The list version is raised last, just before the commit: the user's
        // row stays locked from here to the commit, so concurrent changes to
        // one user's tasks wait on each other only that long. Feed entries
        // are numbered last too, under the same row lock (and in the same
        // statement, when the list's user has entries).
        let now = Utc::now();
        let mut users = Vec::new();
        for (user, entries) in crate::store::feed_by_user(std::mem::take(&mut self.feed)) {
            self.deferred.write_feed(user, entries, now, self.list_changed == Some(user));
            users.push(user);
        }
        if let Some(user) = self.list_changed.filter(|user| !users.contains(user)) {
            self.deferred.touch_list(user);
        }
        self.deferred.index_search(self.inserted.iter().map(|t| t.0));
        let writes = std::mem::take(&mut self.deferred);
        match self.conn.take() {
            // Never needed an answer: committed with whatever else is queued.
            None if writes.is_empty() => {}
            None => self.group.commit(writes).await?,
            Some(mut conn) => {
                if let Err(e) = send_between(&mut conn, "", &[&writes], "COMMIT").await {
                    rollback_in_place(&mut conn).await;
                    return Err(e);
                }
            }
        }
        self.routing.ring(self.rings);
        if let Some(hook) = self.feed_hook.get() {
            for user in users {
                hook(user);
            }
        }
        Ok(())
    }
}

/// Fails with `NotFound` when a write touched no row: the row is not the user's, or gone.
fn expect_one(rows_affected: u64) -> Result<(), StoreError> {
    if rows_affected == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
