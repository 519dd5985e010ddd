//! Notifications: made from events by the notifier consumer (idempotent by
//! the source event), read and marked read by their user, and snoozed.

use chrono::Duration;

use crate::account::User;
use crate::error::{ServiceError, ValidationError};
use crate::event::{DomainEvent, EventEnvelope};
use crate::notification::{NewNotification, Notification, NotificationKind, NotificationPage};
use crate::ports::UnitOfWork;
use crate::reminder::{Punctuality, Snooze};
use crate::task::{wall_label, Task};
use crate::timer::{Timer, TimerKind};

use super::{commit_with, local_day, Services};

/// "3 minutes", "2 hours", "4 days": how late a reminder came.
fn span(d: Duration) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match d.num_minutes() {
        m if m < 120 => plural(m.max(1), "minute"),
        m if m < 48 * 60 => plural(m / 60, "hour"),
        m => plural(m / (24 * 60), "day"),
    }
}

/// Notifications per page.
pub const PAGE_SIZE: u32 = 30;

impl Services {
    /// Turns an event worth telling its user about into a notification and
    /// its `notification.created` event, in one transaction. Events that tell
    /// nobody anything, and events already turned into one, change nothing.
    pub async fn notify(&self, event: &EventEnvelope) -> Result<Option<Notification>, ServiceError> {
        let Some(new) = self.notification_for(event) else { return Ok(None) };
        let mut uow = self.store.begin().await?;
        let Some(stored) = uow.insert_notification(&new).await? else { return Ok(None) };
        let created =
            self.envelope(stored.user_id, DomainEvent::NotificationCreated { notification: Box::new(stored.clone()) });
        commit_with(uow, created).await?;
        Ok(Some(stored))
    }

    fn notification_for(&self, event: &EventEnvelope) -> Option<NewNotification> {
        let now = self.clock.now();
        let (kind, task_id, title, body, punctuality) = match &event.payload {
            DomainEvent::ReminderDue { reminder } => {
                let late = span(reminder.fired_at - reminder.scheduled_for);
                let when = match reminder.punctuality {
                    Punctuality::OnTime => String::new(),
                    Punctuality::Late => format!(" (late by {late})"),
                    Punctuality::Missed => format!(" (missed: {late} late, while Cadence was down)"),
                };
                let body = match reminder.kind {
                    TimerKind::Reminder => format!("Reminder: {}{when}", reminder.label.to_lowercase()),
                    TimerKind::Snooze => format!("Snoozed reminder{when}"),
                };
                (NotificationKind::Reminder, reminder.task_id, reminder.title.clone(), body, Some(reminder.punctuality))
            }
            // A repeating task's next instance that is due today is worth a word.
            DomainEvent::TaskCreated { after } => {
                let (repeat, due) = (after.repeat.as_ref()?, after.due?);
                if repeat.instance < 2 || due.date != local_day(now, due.zone) || after.is_completed() {
                    return None;
                }
                let body = format!("Next one of a repeating task, due {}", due.label(due.zone));
                (NotificationKind::NextInstance, after.id, after.title.as_str().to_owned(), body, None)
            }
            _ => return None,
        };
        Some(NewNotification {
            user_id: event.user_id,
            kind,
            task_id: Some(task_id),
            title,
            body,
            punctuality,
            source_event: event.id,
            created_at: now,
        })
    }

    pub async fn notifications(&self, user: &User, before: Option<i64>) -> Result<NotificationPage, ServiceError> {
        Ok(self.store.notifications(user.id, before, PAGE_SIZE).await?)
    }

    pub async fn mark_read(&self, user: &User, seq: Option<i64>) -> Result<u64, ServiceError> {
        let mut uow = self.store.begin().await?;
        let changed = self.mark_read_in(&mut *uow, user, seq).await?;
        uow.commit().await?;
        Ok(changed)
    }

    /// Marks one notification (or all) read in `uow` and, if any changed,
    /// writes the event that tells the user's other tabs and devices, so
    /// their counts never go stale.
    async fn mark_read_in(&self, uow: &mut dyn UnitOfWork, user: &User, seq: Option<i64>) -> Result<u64, ServiceError> {
        let changed = uow.mark_notifications_read(user.id, seq, self.clock.now()).await?;
        if changed > 0 {
            uow.append_event(&self.envelope(user.id, DomainEvent::NotificationsRead { seq })).await?;
        }
        Ok(changed)
    }

    /// Completes the task a reminder is about and marks the reminder read.
    pub async fn complete_from_notification(&self, user: &User, seq: i64) -> Result<(), ServiceError> {
        let notification = self.store.notification(user.id, seq).await?;
        if let Some(task) = notification.task_id {
            self.set_completed(user, task, true, None).await?;
        }
        self.mark_read(user, Some(seq)).await?;
        Ok(())
    }

    /// Snoozes a reminder notification: its task reminds again at the chosen
    /// time, and the notification is marked read. Returns when it will.
    pub async fn snooze(
        &self,
        user: &User,
        seq: i64,
        snooze: Snooze,
    ) -> Result<chrono::DateTime<chrono::Utc>, ServiceError> {
        let notification = self.store.notification(user.id, seq).await?;
        let Some(task_id) = notification.task_id.filter(|_| notification.kind == NotificationKind::Reminder) else {
            return Err(ValidationError::new("notification", "Only reminders can be snoozed.").into());
        };
        let now = self.clock.now();
        let until = snooze.until(now, user.time_zone)?;
        if until - now > Duration::days(365) {
            return Err(ValidationError::new("snooze_until", "Snooze for at most a year.").into());
        }
        let mut uow = self.store.begin().await?;
        let task: Task = uow.task_for_update(user.id, task_id).await?;
        if task.is_completed() {
            return Err(ValidationError::new("notification", "This task is done already.").into());
        }
        let label = format!("Snoozed until {}", {
            let local = until.with_timezone(&user.time_zone.0).naive_local();
            wall_label(local.date(), Some(local.time()))
        });
        let timer = Timer::new(&task, TimerKind::Snooze, until, label);
        // A new snooze replaces an earlier one of the same task.
        uow.replace_timers(task.id, TimerKind::Snooze, std::slice::from_ref(&timer)).await?;
        self.mark_read_in(&mut *uow, user, Some(seq)).await?;
        uow.commit().await?;
        self.timers_set(std::slice::from_ref(&timer));
        Ok(until)
    }
}
