//! The ports the core needs from the outside world: storage (one trait per
//! feature, joined in `Store`), event consumers, password hashing and a clock.
//! Adapters live in the `server` crate; they are used as `Arc<dyn …>` because
//! Leptos server functions cannot be generic.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::account::{Email, User, UserId};
use crate::bulk::{UndoId, UndoRecord};
use crate::error::StoreError;
use crate::event::{AuditEntry, EventEnvelope};
use crate::idempotency::{IdempotencyKey, Reservation, StoredResponse};
use crate::live::LiveEvent;
use crate::notification::{NewNotification, Notification, NotificationPage};
use crate::repeat::SeriesId;
use crate::spine::{Delivery, DeliveryStats, Lease, SubscriberStats};
use crate::tag::{TagColour, TagColours, TagCount};
use crate::task::{Tag, Task, TaskId};
use crate::task_list::{PageRequest, TaskFilter, TaskPage};
use crate::timer::{Timer, TimerId, TimerKind};
use crate::tokens::{ApiToken, TokenId};
use crate::views::{SavedView, ViewId};

/// A server-side session; the browser only ever holds the token, the store only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub token_hash: String,
    pub user_id: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A live session, its user, and the version of the user's task list: a
/// number every change to the user's tasks raises in its own transaction, so
/// a copy of the list read at this version is still the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSession {
    pub session: SessionRecord,
    pub user: User,
    pub list_version: i64,
    /// How many of the user's notifications are unread (the header's count).
    pub unread_notifications: i64,
    /// The user's last feed number: where a page's live stream starts.
    pub feed_seq: i64,
}

/// Users and their sessions.
#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn user(&self, id: UserId) -> Result<User, StoreError>;
    /// The user with this address and their password hash.
    async fn user_by_email(&self, email: &Email) -> Result<Option<(User, String)>, StoreError>;
    async fn password_hash(&self, id: UserId) -> Result<String, StoreError>;
    /// The live session with this token hash, its user and their list version, read in one query.
    async fn session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<ActiveSession>, StoreError>;
    /// Deletes the sessions that expired before `now`; returns how many went.
    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
    /// The user's list version: raised by every change to their tasks, so a
    /// list read at it is still right while it stays the same.
    async fn list_version(&self, user: UserId) -> Result<i64, StoreError>;
}

/// Tasks, read one user at a time.
#[async_trait]
pub trait TaskStore: Send + Sync {
    async fn task(&self, user: UserId, id: TaskId) -> Result<Task, StoreError>;
    /// One page of the tasks the filter selects, in list-key order.
    async fn tasks(&self, user: UserId, filter: &TaskFilter, page: &PageRequest) -> Result<TaskPage, StoreError>;
    async fn tags(&self, user: UserId) -> Result<Vec<Tag>, StoreError>;
    /// The user's open tasks that repeat, for projecting their occurrences.
    async fn repeating_tasks(&self, user: UserId) -> Result<Vec<Task>, StoreError>;
    /// Forgets undo records made before `before`; returns how many went.
    async fn prune_undo(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
    /// The user's undo record, if it is still kept (read, not taken).
    async fn undo_record(&self, user: UserId, id: UndoId) -> Result<Option<UndoRecord>, StoreError>;
}

/// The views a user saved.
#[async_trait]
pub trait ViewStore: Send + Sync {
    /// In the sidebar's order.
    async fn saved_views(&self, user: UserId) -> Result<Vec<SavedView>, StoreError>;
}

/// Personal access tokens, as their owners list them and the API looks them up.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// The user's tokens, expired ones included, newest first.
    async fn api_tokens(&self, user: UserId) -> Result<Vec<ApiToken>, StoreError>;
    /// The token with this secret hash that is live at `now`, and its user, read in one query.
    async fn token_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<(ApiToken, User)>, StoreError>;
    /// Records a use at `at`, unless one at or after `since` is recorded
    /// already (another request got there first).
    async fn touch_token(&self, id: TokenId, at: DateTime<Utc>, since: DateTime<Utc>) -> Result<(), StoreError>;
    /// Deletes every user's tokens that expired before `expired_before`; returns how many went.
    async fn prune_tokens(&self, expired_before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Idempotency keys of the API's creates, per user.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Takes the key for a request with this fingerprint, unless a request
    /// made since `fresh_after` holds it (an older one is forgotten first);
    /// one of two concurrent callers wins, the other is told what it found.
    async fn reserve_key(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
        fresh_after: DateTime<Utc>,
    ) -> Result<Reservation, StoreError>;
    /// Keeps the answer the reserved key's request was given.
    async fn complete_key(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<(), StoreError>;
    /// Lets a key go whose request failed before it had an answer worth repeating.
    async fn release_key(&self, user: UserId, key: &IdempotencyKey) -> Result<(), StoreError>;
    /// Forgets keys taken before `before`; returns how many went.
    async fn prune_keys(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// A user's tags as the tags page sees them.
#[async_trait]
pub trait TagStore: Send + Sync {
    /// Each tag the user's tasks carry, with how many of those tasks are open
    /// and how many there are in all, and its colour; in name order.
    async fn tag_counts(&self, user: UserId) -> Result<Vec<TagCount>, StoreError>;
    /// The colours of the tags the user's task `task` carries, for its row's
    /// chips when the row is rendered alone (the list reads every colour with its page).
    async fn task_tag_colours(&self, user: UserId, task: TaskId) -> Result<TagColours, StoreError>;
}

/// The audit log that the audit consumer keeps.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Newest first; only one task's history when `task` is given; only the
    /// entries after `after` when it is given (the next page).
    async fn activity(
        &self,
        user: UserId,
        task: Option<TaskId>,
        after: Option<crate::event::ActivityCursor>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;
    /// Records events in the audit log, in one write; returns how many were
    /// not there yet (a redelivered event is recorded once).
    async fn record_audits(&self, events: &[&EventEnvelope]) -> Result<u64, StoreError>;
    /// Records one event in the audit log; false when it was already there.
    async fn record_audit(&self, event: &EventEnvelope) -> Result<bool, StoreError> {
        Ok(self.record_audits(&[event]).await? == 1)
    }
}

/// The outbox's deliveries: one per event and subscriber, each with its own
/// attempts, lease and fate, so one failing consumer holds back no other.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Names the subscribers that every event appended from now on is delivered to.
    async fn register_subscribers(&self, names: &[&str]) -> Result<(), StoreError>;
    /// Stops delivering events appended from now on to these subscribers
    /// (when the bus changes); their deliveries already queued stay queued.
    async fn retire_subscribers(&self, names: &[&str]) -> Result<(), StoreError>;
    /// Which events the subscribers it names act on: an event appended from
    /// now on is not delivered to those that do not. The first routes given stand.
    fn route_deliveries(&self, routes: crate::spine::Routes);
    /// Rings each bell after a commit that appended an event its `Wants`
    /// accepts, so the relay waiting on it claims that event at once. A
    /// relay in another process still finds it at its next poll. The first
    /// bells given stand.
    fn ring_on_commit(&self, bells: Vec<(crate::spine::Wants, crate::spine::Bell)>);
    /// Leases up to `limit` deliveries for `subscriber` that are due at `now`:
    /// only the oldest open delivery of each stream, so a stream is delivered
    /// in commit order, and none that another lease holds. Counts an attempt on each.
    async fn claim_deliveries(
        &self,
        subscriber: &str,
        lease: &Lease,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Marks deliveries done, in one write; returns those it marked (a
    /// delivery whose lease was lost to another relay is left to that relay).
    async fn complete_deliveries(
        &self,
        subscriber: &str,
        seqs: &[i64],
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError>;
    /// Marks one delivery done; false if the lease was lost to another relay.
    async fn complete_delivery(
        &self,
        subscriber: &str,
        seq: i64,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(!self.complete_deliveries(subscriber, &[seq], lease, now).await?.is_empty())
    }
    /// Releases a delivery to be tried again at `retry_at`; false if the lease was lost.
    async fn retry_delivery(
        &self,
        subscriber: &str,
        seq: i64,
        lease: &Lease,
        retry_at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool, StoreError>;
    /// Sets a delivery aside for good with its reason; false if the lease was lost.
    async fn dead_letter(
        &self,
        subscriber: &str,
        seq: i64,
        lease: &Lease,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Dead letters, oldest first.
    async fn dead_letters(&self, limit: u32) -> Result<Vec<crate::spine::DeadLetter>, StoreError>;
    /// Puts dead letters back in line (one, by sequence number and subscriber, or all); returns how many.
    async fn requeue_dead_letters(&self, only: Option<(i64, &str)>, now: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Open and dead deliveries, for readiness detail and tests.
    async fn delivery_stats(&self) -> Result<DeliveryStats, StoreError>;
    /// Each subscriber's backlog (registered ones, and retired ones with
    /// deliveries still open), by name: what the metrics report.
    async fn subscriber_stats(&self) -> Result<Vec<SubscriberStats>, StoreError>;
    /// Deletes events whose every delivery finished before `before`; returns how many.
    async fn prune_outbox(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// The durable timers, as the scheduler sees them.
#[async_trait]
pub trait TimerStore: Send + Sync {
    /// When the earliest unfired timer that no live lease holds at `now` is due, if there is one.
    async fn next_timer_at(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Leases up to `limit` unfired timers due at `now` that no live lease
    /// holds, earliest first, and counts an attempt on each.
    async fn claim_timers(&self, lease: &Lease, now: DateTime<Utc>, limit: u32) -> Result<Vec<Timer>, StoreError>;
    /// In one transaction, marks fired each timer that `lease` still holds
    /// and is not fired yet, and writes its event to the outbox; the others
    /// (their lease lost to another scheduler) are left alone. Returns how many fired.
    async fn fire_timers(&self, fired: &[(TimerId, EventEnvelope)], lease: &Lease) -> Result<u64, StoreError>;
    /// Unfired timers, for tests and readiness detail.
    async fn pending_timers(&self) -> Result<u64, StoreError>;
    /// Deletes timers fired before `before` (their events keep the record); returns how many went.
    async fn prune_fired_timers(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Leases one timer if it is unfired, due at `now`, and no live lease holds it
    /// (a Dapr job calling back for it), counting an attempt.
    async fn claim_timer(&self, id: TimerId, lease: &Lease, now: DateTime<Utc>) -> Result<Option<Timer>, StoreError>;
}

/// The record of the Dapr jobs scheduled for timers (`CADENCE_REMINDERS=dapr-jobs`):
/// what reconciles the timers, the source of truth, with Dapr's Scheduler.
#[async_trait]
pub trait TimerJobStore: Send + Sync {
    /// Unfired timers with no job recorded at their current time, earliest first.
    async fn timers_without_jobs(&self, limit: u32) -> Result<Vec<Timer>, StoreError>;
    /// Timers with a job recorded that have fired or are gone (cancelled, moved, pruned).
    async fn stale_jobs(&self, limit: u32) -> Result<Vec<TimerId>, StoreError>;
    /// Records that a timer's job is scheduled for `fire_at`.
    async fn record_job(&self, id: TimerId, fire_at: DateTime<Utc>) -> Result<(), StoreError>;
    async fn forget_job(&self, id: TimerId) -> Result<(), StoreError>;
    /// Forgets the jobs of every unfired timer, so they are scheduled again
    /// (the repair after the Scheduler lost jobs); returns how many.
    async fn forget_pending_jobs(&self) -> Result<u64, StoreError>;
}

/// A user's notifications.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Newest first, only those numbered below `before` when it is given.
    async fn notifications(
        &self,
        user: UserId,
        before: Option<i64>,
        limit: u32,
    ) -> Result<NotificationPage, StoreError>;
    async fn notification(&self, user: UserId, seq: i64) -> Result<Notification, StoreError>;
    async fn unread_notifications(&self, user: UserId) -> Result<i64, StoreError>;
}

/// The users' live feeds, as streams read them.
#[async_trait]
pub trait FeedStore: Send + Sync {
    /// The user's feed entries numbered after `after`, oldest first, at most `limit`.
    async fn feed_after(&self, user: UserId, after: i64, limit: u32) -> Result<Vec<LiveEvent>, StoreError>;
    /// The user's last feed number and the oldest still kept (`None` when none is kept).
    async fn feed_bounds(&self, user: UserId) -> Result<(i64, Option<i64>), StoreError>;
    /// The newest feed row's number (0 when there is none), where a watcher starts.
    async fn feed_last_row(&self) -> Result<i64, StoreError>;
    /// Feed rows written after the row `after_row` (a store-wide, growing row number),
    /// as (row, user): how a replica without a wake-up channel learns whose feed moved.
    async fn feed_rows_after(&self, after_row: i64, limit: u32) -> Result<Vec<(i64, UserId)>, StoreError>;
    /// Deletes feed entries made before `before`; returns how many went.
    async fn prune_feed(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Calls `hook` with the user after every commit that wrote to their feed
    /// through this store, so this process's streams hear of it at once
    /// rather than when they next look.
    fn on_feed_commit(&self, hook: FeedHook);
}

/// What a store calls after a commit that wrote to a user's feed.
pub type FeedHook = std::sync::Arc<dyn Fn(UserId) + Send + Sync>;

/// Everything the services read, and the door to atomic writes.
#[async_trait]
pub trait Store:
    AccountStore
    + TaskStore
    + TagStore
    + ViewStore
    + TokenStore
    + IdempotencyStore
    + AuditStore
    + OutboxStore
    + TimerStore
    + TimerJobStore
    + NotificationStore
    + FeedStore
{
    /// Starts a unit of work: its writes and outbox events commit together or not at all.
    async fn begin(&self) -> Result<Box<dyn UnitOfWork>, StoreError>;

    async fn ping(&self) -> Result<(), StoreError>;

    /// The adapter's connection pools, for the metrics; none by default.
    fn pools(&self) -> Vec<PoolUsage> {
        Vec::new()
    }
}

/// One connection pool of a store at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// Which pool, where an adapter has several (SQLite: `read` and `write`).
    pub name: &'static str,
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// One database transaction. Dropping it without `commit` rolls everything back.
/// A write whose answer is `()` (or known in advance) may be held back and
/// sent with a later step: its failure (a conflict, say) then comes from
/// that step or from `commit`, and nothing of the unit of work is kept.
#[async_trait]
pub trait UnitOfWork: Send {
    async fn insert_user(&mut self, user: &User, password_hash: &str) -> Result<(), StoreError>;
    async fn update_user(&mut self, user: &User) -> Result<(), StoreError>;
    async fn set_password_hash(&mut self, user: UserId, hash: &str) -> Result<(), StoreError>;

    async fn insert_session(&mut self, session: &SessionRecord) -> Result<(), StoreError>;
    async fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError>;
    /// Ends every session of a user but the one given (after a password change).
    async fn delete_other_sessions(&mut self, user: UserId, keep: &str) -> Result<(), StoreError>;

    /// Reads a task and locks it until the unit of work ends, so that two
    /// changes to one task run one after the other and neither is lost.
    async fn task_for_update(&mut self, user: UserId, id: TaskId) -> Result<Task, StoreError>;
    /// Writing, changing or deleting a task also raises its owner's list version.
    /// False, and nothing written, when the task is an instance of a series
    /// that already has one for its occurrence (a repeated event made it).
    async fn insert_task(&mut self, task: &Task) -> Result<bool, StoreError>;
    async fn update_task(&mut self, task: &Task) -> Result<(), StoreError>;
    async fn delete_task(&mut self, user: UserId, id: TaskId) -> Result<(), StoreError>;

    /// The tasks of a series scheduled on or after `from`, locked like `task_for_update`.
    async fn series_tasks_from(
        &mut self,
        user: UserId,
        series: SeriesId,
        from: NaiveDate,
    ) -> Result<Vec<Task>, StoreError>;
    /// The first day a series may no longer have instances on, if it was cut short.
    async fn series_end(&mut self, user: UserId, series: SeriesId) -> Result<Option<NaiveDate>, StoreError>;
    /// Cuts a series short: no instance on or after `before`.
    async fn end_series(&mut self, user: UserId, series: SeriesId, before: NaiveDate) -> Result<(), StoreError>;

    /// The ids of the user's tasks that carry `tag`, in id order, each locked
    /// as `task_for_update` locks one, so a change across them queues behind
    /// (and ahead of) edits of those tasks.
    async fn tagged_task_ids(&mut self, user: UserId, tag: &Tag) -> Result<Vec<TaskId>, StoreError>;
    /// The colour the user gave `tag`, if any.
    async fn tag_colour(&mut self, user: UserId, tag: &Tag) -> Result<Option<TagColour>, StoreError>;
    /// Sets the colour of the user's `tag`, or forgets it (`None`), and raises
    /// their list version at commit as a task change does: the list's rows
    /// show the colour, so a cached page must not outlive it.
    async fn set_tag_colour(&mut self, user: UserId, tag: &Tag, colour: Option<TagColour>) -> Result<(), StoreError>;

    /// Saves a new view; a name the user already gave another is a `Conflict` on `name`.
    async fn insert_view(&mut self, view: &SavedView) -> Result<(), StoreError>;
    async fn delete_view(&mut self, user: UserId, id: ViewId) -> Result<(), StoreError>;
    /// Puts the user's views in this order (each id's index is its position).
    async fn set_view_order(&mut self, user: UserId, order: &[ViewId]) -> Result<(), StoreError>;

    /// Saves a new token with the hash of its secret; a name the user already
    /// gave another is a `Conflict` on `name`.
    async fn insert_token(&mut self, token: &ApiToken, token_hash: &str) -> Result<(), StoreError>;
    /// Deletes the user's token; another user's, or none, is `NotFound`.
    async fn delete_token(&mut self, user: UserId, id: TokenId) -> Result<(), StoreError>;

    /// Keeps what undoing a bulk action needs.
    async fn insert_undo(&mut self, record: &UndoRecord) -> Result<(), StoreError>;
    /// The user's undo record, taken (deleted) so it is used once.
    async fn take_undo(&mut self, user: UserId, id: UndoId) -> Result<Option<UndoRecord>, StoreError>;

    /// Replaces a task's unfired timers of `kind` with `timers`.
    async fn replace_timers(&mut self, task: TaskId, kind: TimerKind, timers: &[Timer]) -> Result<(), StoreError>;
    /// Removes every unfired timer of a task (it was completed or deleted).
    async fn cancel_timers(&mut self, task: TaskId) -> Result<(), StoreError>;

    /// Numbers and stores a notification; `None`, and nothing written, when
    /// one was already made from its source event.
    async fn insert_notification(&mut self, new: &NewNotification) -> Result<Option<Notification>, StoreError>;
    /// Marks one notification (or, with `None`, all) read; returns how many changed.
    async fn mark_notifications_read(
        &mut self,
        user: UserId,
        seq: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Writes an event to the outbox, with a delivery for every registered
    /// subscriber, and, if its user's open pages care (see `live::feed_entry`),
    /// to the user's feed, numbered at commit.
    async fn append_event(&mut self, event: &EventEnvelope) -> Result<(), StoreError>;

    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// A consumer of events. Must be idempotent: deliveries repeat.
#[async_trait]
pub trait EventHandler: Send + Sync {
    /// The subscriber name its deliveries are kept under; never change it once events flowed.
    fn name(&self) -> &'static str;
    /// The topics whose events it wants when a broker carries them (it still
    /// ignores the events of those topics it has no use for).
    fn topics(&self) -> &'static [crate::event::Topic] {
        &crate::event::Topic::ALL
    }
    async fn handle(&self, event: &EventEnvelope) -> Result<(), DeliveryError>;
    /// Whether [`Self::handle_batch`] does better than one [`Self::handle`]
    /// per event, so a wrapper should hand it whole batches.
    fn batches(&self) -> bool {
        false
    }
    /// Which events it acts on (see [`crate::spine::Wants`]); every event unless it says otherwise.
    fn wants(&self) -> crate::spine::Wants {
        crate::spine::every_event
    }
    /// Handles several events, in order, answering each; one by one unless a
    /// consumer can do better (the audit logger writes them in one insert).
    async fn handle_batch(&self, events: &[&EventEnvelope]) -> Vec<Result<(), DeliveryError>> {
        handle_each(self, events).await
    }
}

/// Hands `events` to `handler` one at a time, in order, answering each: what
/// a handler that does not batch does with a batch.
pub async fn handle_each<H: EventHandler + ?Sized>(
    handler: &H,
    events: &[&EventEnvelope],
) -> Vec<Result<(), DeliveryError>> {
    let mut answers = Vec::with_capacity(events.len());
    for event in events {
        answers.push(handler.handle(event).await);
    }
    answers
}

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying later: a broker, a database or a peer is unavailable.
    #[error("transient delivery failure: {0}")]
    Transient(String),
    /// Retrying will never help: the event is one this consumer cannot accept.
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

/// Slow, salted password hashing.
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    async fn hash(&self, password: &str) -> Result<String, StoreError>;
    /// False for a wrong password or an unreadable hash.
    async fn verify(&self, password: &str, hash: &str) -> bool;
    /// Does the work of a verification that fails, for an unknown account, so
    /// that its answer takes as long as a wrong password's.
    async fn verify_nothing(&self, password: &str);
}

/// Tells the scheduler that timers were set, so that it looks again before
/// its next planned wake-up (a reminder set for a minute from now must not
/// wait for a sleep planned for an hour).
pub trait TimerWake: Send + Sync {
    fn timers_set(&self, earliest: DateTime<Utc>);
}

/// No scheduler to wake (tests, and processes that run none).
pub struct NoWake;

impl TimerWake for NoWake {
    fn timers_set(&self, _: DateTime<Utc>) {}
}

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
