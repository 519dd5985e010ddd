//! The application services: every use case of accounts, tasks, tags, API
//! tokens and the activity log, parsing raw input once, changing state in one unit of work
//! and emitting its event there.

use std::sync::Arc;

use uuid::Uuid;

use crate::account::UserId;
use crate::error::ServiceError;
use crate::event::{DomainEvent, EventEnvelope};
use crate::ports::{Clock, NoWake, PasswordHasher, Store, TimerWake, UnitOfWork};
use crate::timer::Timer;

mod accounts;
mod activity;
mod bulk;
mod notifications;
mod tags;
mod tasks;
mod tokens;
mod views;

pub use accounts::{SignUp, SESSION_TTL_DAYS};
pub use tasks::DeleteScope;
pub use tokens::{CreatedToken, NewToken, MAX_TOKENS};
pub use views::MAX_VIEWS;

/// The services, sharing their ports. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub wake: Arc<dyn TimerWake>,
    tokens_seen: Arc<tokens::TokensSeen>,
}

impl Services {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, hasher: Arc<dyn PasswordHasher>) -> Self {
        Self { store, clock, hasher, wake: Arc::new(NoWake), tokens_seen: Arc::default() }
    }

    /// The same services, waking `wake` whenever they set a timer.
    pub fn with_wake(self, wake: Arc<dyn TimerWake>) -> Self {
        Self { wake, ..self }
    }

    /// After a commit that set `timers`, wakes the scheduler for the earliest.
    fn timers_set(&self, timers: &[Timer]) {
        if let Some(earliest) = timers.iter().map(|t| t.fire_at).min() {
            self.wake.timers_set(earliest);
        }
    }

    fn envelope(&self, user: UserId, event: DomainEvent) -> EventEnvelope {
        EventEnvelope::new(Uuid::now_v7(), self.clock.now(), user, event)
    }
}

/// The local day of `at` in `zone`.
fn local_day(at: chrono::DateTime<chrono::Utc>, zone: crate::account::TimeZone) -> chrono::NaiveDate {
    at.with_timezone(&zone.0).date_naive()
}

/// Writes the event beside the change and commits both.
async fn commit_with(mut uow: Box<dyn UnitOfWork>, event: EventEnvelope) -> Result<(), ServiceError> {
    uow.append_event(&event).await?;
    uow.commit().await?;
    Ok(())
}
