//! The ports the core needs from the outside world: storage, an event bus,
//! password hashing and a clock. Adapters live in the `server` crate; they are
//! used as `Arc<dyn …>` because Leptos server functions cannot be generic.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::account::{Email, User, UserId};
use crate::error::StoreError;
use crate::event::{AuditEntry, EventEnvelope, OutboxRecord};
use crate::task::{PageRequest, Tag, Task, TaskFilter, TaskId, TaskPage};

/// A server-side session; the browser only ever holds the token, the store only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub token_hash: String,
    pub user_id: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Reads, and the door to atomic writes. Every task read is scoped to one user.
#[async_trait]
pub trait Store: Send + Sync {
    /// Starts a unit of work: its writes and outbox events commit together or not at all.
    async fn begin(&self) -> Result<Box<dyn UnitOfWork>, StoreError>;

    async fn ping(&self) -> Result<(), StoreError>;

    async fn user(&self, id: UserId) -> Result<User, StoreError>;
    /// The user with this address and their password hash.
    async fn user_by_email(&self, email: &Email) -> Result<Option<(User, String)>, StoreError>;
    async fn password_hash(&self, id: UserId) -> Result<String, StoreError>;
    /// The live session with this token hash, if it has not expired at `now`.
    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<SessionRecord>, StoreError>;

    async fn task(&self, user: UserId, id: TaskId) -> Result<Task, StoreError>;
    /// One page of the tasks the filter selects: open tasks first, then by due
    /// instant (undated last), priority and newest; `total` counts every match.
    async fn tasks(&self, user: UserId, filter: &TaskFilter, page: PageRequest) -> Result<TaskPage, StoreError>;
    async fn tags(&self, user: UserId) -> Result<Vec<Tag>, StoreError>;

    /// Newest first; only one task's history when `task` is given.
    async fn activity(&self, user: UserId, task: Option<TaskId>, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;
    /// Records an event in the audit log; false when it was already there.
    async fn record_audit(&self, event: &EventEnvelope) -> Result<bool, StoreError>;

    /// Unpublished outbox rows in commit order.
    async fn pending_events(&self, limit: u32) -> Result<Vec<OutboxRecord>, StoreError>;
    async fn mark_published(&self, seq: i64, at: DateTime<Utc>) -> Result<(), StoreError>;
}

/// One database transaction. Dropping it without `commit` rolls everything back.
#[async_trait]
pub trait UnitOfWork: Send {
    async fn insert_user(&mut self, user: &User, password_hash: &str) -> Result<(), StoreError>;
    async fn update_user(&mut self, user: &User) -> Result<(), StoreError>;
    async fn set_password_hash(&mut self, user: UserId, hash: &str) -> Result<(), StoreError>;

    async fn insert_session(&mut self, session: &SessionRecord) -> Result<(), StoreError>;
    async fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError>;
    /// Ends every session of a user but the one given (after a password change).
    async fn delete_other_sessions(&mut self, user: UserId, keep: &str) -> Result<(), StoreError>;

    /// Reads a task inside the transaction, so the change applied to it cannot race.
    async fn task(&mut self, user: UserId, id: TaskId) -> Result<Task, StoreError>;
    async fn insert_task(&mut self, task: &Task) -> Result<(), StoreError>;
    async fn update_task(&mut self, task: &Task) -> Result<(), StoreError>;
    async fn delete_task(&mut self, user: UserId, id: TaskId) -> Result<(), StoreError>;

    async fn append_event(&mut self, event: &EventEnvelope) -> Result<(), StoreError>;

    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// Why a publish or a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// Worth retrying later: the broker or a consumer is unavailable.
    #[error("transient delivery failure: {0}")]
    Transient(String),
    /// Retrying will never help: the message is malformed.
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

/// Publishes events to a topic, at least once.
#[async_trait]
pub trait EventBus: Send + Sync {
    async fn publish(&self, topic: &str, event: &EventEnvelope) -> Result<(), BusError>;
}

/// A consumer of published events. Must be idempotent: deliveries repeat.
#[async_trait]
pub trait EventHandler: Send + Sync {
    fn name(&self) -> &'static str;
    async fn handle(&self, event: &EventEnvelope) -> Result<(), BusError>;
}

/// Slow, salted password hashing.
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    async fn hash(&self, password: &str) -> Result<String, StoreError>;
    /// False for a wrong password or an unreadable hash.
    async fn verify(&self, password: &str, hash: &str) -> bool;
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
