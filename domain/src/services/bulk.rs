//! Bulk actions and their undo: one unit of work changes every selected
//! task through the path a single change takes (so each gets its own event,
//! timers and list version), and keeps a record that puts them all back.

use crate::account::User;
use crate::bulk::{BulkAction, BulkOutcome, UndoId, UndoRecord, MAX_BULK};
use crate::error::{ServiceError, StoreError, ValidationError};
use crate::event::DomainEvent;
use crate::task::{Task, TaskId};
use crate::timer::{Timer, TimerKind};

use super::{DeleteScope, Services};

impl Services {
    /// Applies `action` to each of the user's tasks in `ids`, all or none: an
    /// id that is not the user's task fails the whole action. Tasks the action
    /// would not change are left out; when none changes, nothing is recorded.
    pub async fn bulk(&self, user: &User, ids: &[TaskId], action: &BulkAction) -> Result<BulkOutcome, ServiceError> {
        if ids.is_empty() {
            return Err(ValidationError::new("ids", "Select at least one task.").into());
        }
        let mut ids = ids.to_vec();
        // Locked in one order, so two actions over the same tasks queue rather than deadlock.
        ids.sort();
        ids.dedup();
        if ids.len() > MAX_BULK {
            return Err(ValidationError::new("ids", format!("Select at most {MAX_BULK} tasks at once.")).into());
        }
        let now = self.clock.now();
        let mut uow = self.store.begin().await?;
        let (mut restore, mut remove, mut timers, mut changed) = (Vec::new(), Vec::new(), Vec::new(), 0);
        for id in ids {
            let before = uow.task_for_update(user.id, id).await?;
            let Some(after) = action.apply(&before, now) else { continue };
            changed += 1;
            match action {
                BulkAction::Delete => {
                    let (doomed, next) = self.write_delete(&mut *uow, user, &before, DeleteScope::This).await?;
                    restore.extend(doomed);
                    if let Some(next) = next {
                        timers.extend(Timer::for_task(&next, now));
                        remove.push(next.id);
                    }
                    continue;
                }
                BulkAction::Complete | BulkAction::Reopen => {
                    timers.extend(self.write_completion(&mut *uow, before.clone(), &after, now).await?);
                }
                _ => timers.extend(self.write_edit(&mut *uow, before.clone(), &after, now).await?),
            }
            restore.push(before);
        }
        let summary = action.summary(changed);
        if changed == 0 {
            return Ok(BulkOutcome { undo: None, changed, summary });
        }
        let record =
            UndoRecord { id: UndoId(uuid::Uuid::now_v7()), user_id: user.id, at: now, summary, restore, remove };
        uow.insert_undo(&record).await?;
        uow.commit().await?;
        self.timers_set(&timers);
        Ok(BulkOutcome { undo: Some(record.id), changed, summary: record.summary })
    }

    /// What a bulk action of the user's did, while it can still be undone.
    pub async fn undo_summary(&self, user: &User, id: UndoId) -> Result<Option<String>, ServiceError> {
        let record = self.store.undo_record(user.id, id).await?;
        Ok(record.filter(|r| r.fresh(self.clock.now())).map(|r| r.summary))
    }

    /// Undoes a bulk action of the user's, once, within `UNDO_MINUTES`: each
    /// task it changed goes back as it was (with an event, as any change), a
    /// deleted one comes back, and a task it made goes. A task changed again
    /// since the action keeps that change. Returns the action's summary.
    pub async fn undo(&self, user: &User, id: UndoId) -> Result<String, ServiceError> {
        let now = self.clock.now();
        let mut uow = self.store.begin().await?;
        let record = uow.take_undo(user.id, id).await?.filter(|r| r.fresh(now)).ok_or(ServiceError::NotFound)?;
        let mut timers = Vec::new();
        for id in &record.remove {
            match uow.task_for_update(user.id, *id).await {
                // Untouched since the action made it; one edited since is the user's now.
                Ok(made) if made.updated_at <= made.created_at => {
                    uow.cancel_timers(made.id).await?;
                    uow.delete_task(user.id, made.id).await?;
                    let event = self.envelope(user.id, DomainEvent::TaskDeleted { before: Box::new(made) });
                    uow.append_event(&event).await?;
                }
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        for before in &record.restore {
            match uow.task_for_update(user.id, before.id).await {
                // Compared to the microsecond, as both stores keep instants.
                Ok(current) if current.updated_at.timestamp_micros() != record.at.timestamp_micros() => {}
                Ok(current) => {
                    let back = Task { updated_at: now, ..before.clone() };
                    let set = if current.is_completed() != back.is_completed() {
                        self.write_completion(&mut *uow, current, &back, now).await?
                    } else {
                        self.write_edit(&mut *uow, current, &back, now).await?
                    };
                    timers.extend(set);
                }
                Err(StoreError::NotFound) => {
                    if uow.insert_task(before).await? {
                        let set = Timer::for_task(before, now);
                        uow.replace_timers(before.id, TimerKind::Reminder, &set).await?;
                        let event =
                            self.envelope(user.id, DomainEvent::TaskCreated { after: Box::new(before.clone()) });
                        uow.append_event(&event).await?;
                        timers.extend(set);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        uow.commit().await?;
        self.timers_set(&timers);
        Ok(record.summary)
    }
}
