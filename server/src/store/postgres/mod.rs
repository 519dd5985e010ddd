//! The PostgreSQL adapter, for production: one pool, migrations at connect,
//! READ COMMITTED transactions in which a change locks the row it changes
//! (`SELECT … FOR UPDATE`), and outbox claims that skip rows another relay
//! holds (`FOR UPDATE SKIP LOCKED`), so any number of replicas share one database.

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
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{PgConnection, Postgres, Transaction};

use pending::{Pending, PgGroups, PgUnit};

use super::group_commit::GroupCommit;
use super::{map_err, FeedEntry, Migrations, Rings, Routing};

mod accounts;
mod audit;
mod outbox;
mod pending;
mod tags;
mod tasks;

// idempotency, tokens, undo and views: the SQL both backends share.
super::same_sql::same_sql!(PgStore, sqlx::PgConnection);

// Replicas listening hear whose feed moved when a write commits (ids only).
crate::store::time_engine::time_engine_sql!(
    super::PgStore,
    sqlx::PgConnection,
    begin_write,
    " FOR UPDATE",
    " FOR UPDATE SKIP LOCKED"
);

pub struct PgStore {
    pool: PgPool,
    /// Called after a commit that wrote to a user's feed (see `FeedStore::on_feed_commit`).
    feed_hook: Arc<OnceLock<FeedHook>>,
    routing: Routing,
    group: Arc<GroupCommit<PgGroups>>,
}

impl PgStore {
    /// Opens the database, migrating it first.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::open(url, Migrations::Apply).await
    }

    pub async fn open(url: &str, migrations: Migrations) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            // A broken connection fails its query and is replaced; a ping before
            // every use would cost a round trip on every request instead.
            .test_before_acquire(false)
            .connect(url)
            .await
            .map_err(map_err)?;
        crate::store::migrate(&sqlx::migrate!("./migrations/postgres"), &pool, migrations).await?;
        if migrations == Migrations::Apply {
            tasks::backfill_list_keys(&pool).await?;
        }
        let group = Arc::new(GroupCommit::new(PgGroups(pool.clone())));
        Ok(Self { pool, feed_hook: Arc::default(), routing: Routing::default(), group })
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.writer().begin().await.map_err(map_err)
    }
}

#[async_trait]
impl Store for PgStore {
    async fn begin(&self) -> Result<Box<dyn UnitOfWork>, StoreError> {
        Ok(Box::new(PgUnitOfWork {
            pool: self.pool.clone(),
            group: self.group.clone(),
            tx: None,
            pending: Pending::default(),
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
        vec![crate::store::usage("main", &self.pool)]
    }
}

/// One transaction; dropping it unfinished rolls back. The writes whose
/// answer is known in advance wait in `pending`. The first step that needs
/// an answer begins the transaction and sends them; a unit of work that
/// never needed one is committed with others queued at the same moment
/// (see `pending`).
pub struct PgUnitOfWork {
    pool: PgPool,
    group: Arc<GroupCommit<PgGroups>>,
    /// The transaction, once a step needed an answer.
    tx: Option<Transaction<'static, Postgres>>,
    pending: Pending,
    /// Whose list version to raise at commit (see `commit`).
    list_changed: Option<UserId>,
    /// Tasks this unit of work inserted: they have no timers yet to replace
    /// (a task's unfired timers are deleted with it).
    inserted: Vec<TaskId>,
    /// Feed entries to number and write at commit, per user.
    feed: Vec<FeedEntry>,
    feed_hook: Arc<OnceLock<FeedHook>>,
    routing: Routing,
    /// The relays to wake once the events appended are committed.
    rings: Rings,
}

#[async_trait]
impl UnitOfWork for PgUnitOfWork {
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
        tasks::load_task(self.tx().await?, user, id, tasks::Lock::ForUpdate).await
    }

    async fn insert_task(&mut self, task: &Task) -> Result<bool, StoreError> {
        let inserted = match task.repeat {
            // A task outside a series is written (or the commit fails): its answer is known now.
            None => {
                self.pending.insert_task(task);
                true
            }
            // An instance is not, when its series has one for its occurrence already.
            Some(_) => tasks::insert_task(self.tx().await?, task).await?,
        };
        if inserted {
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
            self.pending.insert_timers(timers);
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
        self.pending.append_event(event, &self.routing.route(event, &mut self.rings))?;
        if let Some((event_type, data)) = domain::live::feed_entry(event) {
            self.feed.push((event.user_id, event_type, data));
        }
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        let Some(mut tx) = self.tx.take() else {
            // Never needed an answer: committed with whatever else is queued.
            let mut users: Vec<UserId> = self.feed.iter().map(|(user, _, _)| *user).collect();
            users.sort();
            users.dedup();
            if self.pending.is_empty() && self.feed.is_empty() && self.list_changed.is_none() {
                return Ok(());
            }
            let unit = PgUnit {
                writes: std::mem::take(&mut self.pending),
                feed: std::mem::take(&mut self.feed),
                list_changed: self.list_changed,
            };
            self.group.commit(unit).await?;
            self.routing.ring(self.rings);
            self.feed_hooks(users);
            return Ok(());
        };
        // The list version is raised and the feed entries numbered last, in
        // the statement just before the commit: the user's row stays locked
        // from there to the commit, so concurrent changes to one user's tasks
        // wait on each other only that long.
        let lists: Vec<UserId> = self.list_changed.into_iter().collect();
        let pending = std::mem::take(&mut self.pending);
        let users = pending::write(&mut tx, &[&pending], std::mem::take(&mut self.feed), &lists).await?;
        tx.commit().await.map_err(map_err)?;
        self.routing.ring(self.rings);
        self.feed_hooks(users);
        Ok(())
    }
}

impl PgUnitOfWork {
    /// The transaction, begun if need be, with the held-back writes sent:
    /// for a step that reads, or needs its own statement's answer.
    async fn tx(&mut self) -> Result<&mut PgConnection, StoreError> {
        if self.tx.is_none() {
            self.tx = Some(self.pool.begin().await.map_err(map_err)?);
        }
        let tx = self.tx.as_mut().expect("begun above");
        if !self.pending.is_empty() {
            Pending::send(tx, &[&std::mem::take(&mut self.pending)]).await?;
        }
        Ok(&mut **tx)
    }

    /// Tells whoever listens that these users' feeds moved.
    fn feed_hooks(&self, users: Vec<UserId>) {
        if let Some(hook) = self.feed_hook.get() {
            for user in users {
                hook(user);
            }
        }
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
