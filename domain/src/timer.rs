//! Durable timers: what fires, when, for whom. A task's reminders become
//! timers in the transaction that saves the task; the scheduler fires each
//! one exactly once by writing its `reminder.due` event in the transaction
//! that marks it fired. Firing itself is behind the `TimerStore` port, so
//! another scheduler (Dapr's Jobs API) can be an adapter.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::account::UserId;
use crate::reminder::Punctuality;
use crate::task::TaskId;
#[cfg(feature = "services")]
use crate::{
    event::{DomainEvent, EventEnvelope},
    ports::{Clock, TimerStore},
    reminder::Reminder,
    spine::Lease,
    task::Task,
    StoreError,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TimerId(pub Uuid);

/// Why a timer exists: one of a task's reminders, or a snoozed notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimerKind {
    Reminder,
    Snooze,
}

impl TimerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reminder => "reminder",
            Self::Snooze => "snooze",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "reminder" => Some(Self::Reminder),
            "snooze" => Some(Self::Snooze),
            _ => None,
        }
    }
}

/// One timer, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    pub id: TimerId,
    pub user_id: UserId,
    pub task_id: TaskId,
    pub kind: TimerKind,
    pub fire_at: DateTime<Utc>,
    /// The task's title when the timer was set (a change to the task sets its timers again).
    pub title: String,
    /// What the reminder says: "15 minutes before", "Snoozed".
    pub label: String,
}

impl Timer {
    /// The timers of a task's reminders still ahead of `now`.
    #[cfg(feature = "services")]
    pub fn for_task(task: &Task, now: DateTime<Utc>) -> Vec<Timer> {
        task.reminder_times()
            .into_iter()
            .filter(|(_, at)| *at > now)
            .map(|(reminder, at)| Self::new(task, TimerKind::Reminder, at, reminder_label(&reminder)))
            .collect()
    }

    #[cfg(feature = "services")]
    pub fn new(task: &Task, kind: TimerKind, fire_at: DateTime<Utc>, label: String) -> Self {
        Self {
            id: TimerId(Uuid::now_v7()),
            user_id: task.user_id,
            task_id: task.id,
            kind,
            fire_at,
            title: task.title.as_str().to_owned(),
            label,
        }
    }

    /// The event that firing it at `fired_at` writes.
    pub fn fired(&self, fired_at: DateTime<Utc>) -> FiredReminder {
        FiredReminder {
            timer_id: self.id,
            task_id: self.task_id,
            title: self.title.clone(),
            label: self.label.clone(),
            kind: self.kind,
            scheduled_for: self.fire_at,
            fired_at,
            punctuality: Punctuality::of(self.fire_at, fired_at),
        }
    }
}

#[cfg(feature = "services")]
fn reminder_label(reminder: &Reminder) -> String {
    match reminder {
        Reminder::At(_) => "At the time you set".to_owned(),
        relative => relative.label(),
    }
}

/// The payload of `reminder.due`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiredReminder {
    pub timer_id: TimerId,
    pub task_id: TaskId,
    pub title: String,
    pub label: String,
    pub kind: TimerKind,
    pub scheduled_for: DateTime<Utc>,
    pub fired_at: DateTime<Utc>,
    pub punctuality: Punctuality,
}

/// What one round of the scheduler did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FireReport {
    pub claimed: usize,
    pub fired: u64,
    /// How late each claimed timer was when it fired (its time to the firing),
    /// for the lateness histogram and the logs.
    pub lateness: Vec<chrono::Duration>,
}

impl FireReport {
    /// The latest lateness among the fired, in milliseconds.
    pub fn max_late_ms(&self) -> i64 {
        self.lateness.iter().map(chrono::Duration::num_milliseconds).max().unwrap_or(0)
    }
}

#[cfg(feature = "services")]
/// Fires one timer, as a Dapr job calling back for it asks: the same lease and
/// the same transaction as `fire_round`, so it fires once, whichever comes
/// first; a timer due less than `early` from now counts as due (the caller's
/// clock and ours may differ a little). False when there is nothing to fire:
/// the timer fired already, was cancelled or moved later, or another caller
/// holds it right now. When it fired, how late it was (negative when early).
pub async fn fire_one(
    store: &dyn TimerStore,
    clock: &dyn Clock,
    owner: &str,
    lease_for: chrono::Duration,
    id: TimerId,
    early: chrono::Duration,
) -> Result<Option<chrono::Duration>, StoreError> {
    let now = clock.now();
    let lease = Lease { owner: owner.to_owned(), until: now + lease_for };
    let Some(timer) = store.claim_timer(id, &lease, now + early).await? else { return Ok(None) };
    let fired_at = clock.now();
    let event = DomainEvent::ReminderDue { reminder: Box::new(timer.fired(fired_at)) };
    let event = EventEnvelope::new(Uuid::now_v7(), fired_at, timer.user_id, event);
    let fired = store.fire_timers(&[(timer.id, event)], &lease).await? == 1;
    Ok(fired.then(|| fired_at - timer.fire_at))
}

#[cfg(feature = "services")]
/// One round of the scheduler: leases the timers due now, and fires them
/// with their events in one transaction. A crash after the lease and before
/// the commit fires nothing: the lease runs out and a later round (here or
/// on another replica) fires them, once, because firing requires the lease
/// and an unfired mark.
pub async fn fire_round(
    store: &dyn TimerStore,
    clock: &dyn Clock,
    owner: &str,
    lease_for: chrono::Duration,
    batch: u32,
) -> Result<FireReport, StoreError> {
    fire_overdue(store, clock, owner, lease_for, batch, chrono::Duration::zero()).await
}

#[cfg(feature = "services")]
/// `fire_round` for the timers due at least `grace` ago: the backstop when
/// something else (a Dapr job) should have fired them and has not.
pub async fn fire_overdue(
    store: &dyn TimerStore,
    clock: &dyn Clock,
    owner: &str,
    lease_for: chrono::Duration,
    batch: u32,
    grace: chrono::Duration,
) -> Result<FireReport, StoreError> {
    let now = clock.now();
    let lease = Lease { owner: owner.to_owned(), until: now + lease_for };
    let claimed = store.claim_timers(&lease, now - grace, batch).await?;
    if claimed.is_empty() {
        return Ok(FireReport::default());
    }
    let fired_at = clock.now();
    let events: Vec<(TimerId, EventEnvelope)> = claimed
        .iter()
        .map(|t| {
            let event = DomainEvent::ReminderDue { reminder: Box::new(t.fired(fired_at)) };
            (t.id, EventEnvelope::new(Uuid::now_v7(), fired_at, t.user_id, event))
        })
        .collect();
    let lateness = claimed.iter().map(|t| fired_at - t.fire_at).collect();
    let fired = store.fire_timers(&events, &lease).await?;
    Ok(FireReport { claimed: claimed.len(), fired, lateness })
}
