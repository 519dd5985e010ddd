//! Tasks: creating, editing, completing, deleting and listing them, and the
//! next instance of a repeating one. Every change reads the task it changes
//! under a lock, so concurrent changes to one task queue up instead of
//! overwriting each other, and sets the task's reminder timers in the same
//! transaction, so a reminder never fires for a task as it no longer is.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::account::{TimeZone, User};
use crate::error::{ServiceError, ValidationError};
use crate::event::DomainEvent;
use crate::ports::UnitOfWork;
use crate::query::TaskQuery;
use crate::reminder::{self, Reminder};
use crate::repeat::{Repeat, RepeatDraft, SeriesId};
use crate::task::{Tag, Task, TaskDraft, TaskId, TaskInput, TaskPatch, TaskVersion};
use crate::task_list::{PageRequest, TaskFilter, TaskPage};
use crate::timer::{Timer, TimerKind};

use super::{commit_with, local_day, Services};

/// What deleting an instance of a repeating task takes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeleteScope {
    /// This task only; a repeating task's series goes on with its next instance.
    #[default]
    This,
    /// This instance and every later one: the series ends before it.
    Following,
}

impl DeleteScope {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim() {
            "" | "this" => Ok(Self::This),
            "following" => Ok(Self::Following),
            _ => Err(ValidationError::new("scope", "Delete this task, or this and all following.")),
        }
    }
}

impl Services {
    pub async fn create_task(&self, user: &User, input: &TaskInput) -> Result<Task, ServiceError> {
        let draft = TaskDraft::parse(input, user.time_zone)?;
        let now = self.clock.now();
        let mut reminders = draft.reminders;
        // The user's default reminder joins a new task that has a due time and no reminders of its own.
        if let (Some(minutes), true, true) =
            (user.default_reminder, reminders.is_empty(), draft.due.is_some_and(|d| d.time.is_some()))
        {
            reminders.push(Reminder::BeforeDue { minutes });
        }
        let repeat = draft.repeat.zip(draft.due).map(|(r, due)| Repeat::first(SeriesId(Uuid::now_v7()), r, &due));
        let task = Task {
            id: TaskId(Uuid::now_v7()),
            user_id: user.id,
            title: draft.title,
            description: draft.description,
            priority: draft.priority,
            tags: draft.tags,
            due: draft.due,
            repeat,
            reminders,
            completed_at: None,
            created_at: now,
            updated_at: now,
        };
        let timers = Timer::for_task(&task, now);
        let mut uow = self.store.begin().await?;
        uow.insert_task(&task).await?;
        uow.replace_timers(task.id, TimerKind::Reminder, &timers).await?;
        let event = self.envelope(user.id, DomainEvent::TaskCreated { after: Box::new(task.clone()) });
        commit_with(uow, event).await?;
        self.timers_set(&timers);
        Ok(task)
    }

    pub async fn update_task(&self, user: &User, id: TaskId, input: &TaskInput) -> Result<Task, ServiceError> {
        let draft = TaskDraft::parse(input, user.time_zone)?;
        let mut uow = self.store.begin().await?;
        let before = uow.task_for_update(user.id, id).await?;
        self.edit(uow, before, draft).await
    }

    /// Changes only the fields `patch` names, read against the task as it is
    /// under the lock, so a concurrent edit of another field is never undone.
    /// The rest goes the way of every edit (`update_task`'s rules). With an
    /// `expected` version, a task that has moved on is [`ServiceError::Stale`].
    pub async fn patch_task(
        &self,
        user: &User,
        id: TaskId,
        patch: &TaskPatch,
        expected: Option<TaskVersion>,
    ) -> Result<Task, ServiceError> {
        self.patch_and_complete(user, id, patch, None, expected).await
    }

    /// [`Self::patch_task`], and then, when `completed` is given, completes
    /// or reopens the task (see [`Self::set_completed`]: the state it already
    /// has writes nothing), in the same unit of work: both changes are kept,
    /// or neither. The version is checked once, against the task as it was
    /// before either. An empty patch and no change of state write nothing.
    pub async fn patch_and_complete(
        &self,
        user: &User,
        id: TaskId,
        patch: &TaskPatch,
        completed: Option<bool>,
        expected: Option<TaskVersion>,
    ) -> Result<Task, ServiceError> {
        let mut uow = self.store.begin().await?;
        let before = uow.task_for_update(user.id, id).await?;
        check_version(&before, expected)?;
        let now = self.clock.now();
        let mut task = before;
        let mut timers = None;
        if !patch.is_empty() {
            let draft = TaskDraft::parse(&patch.apply(TaskInput::of(&task)), user.time_zone)?;
            let after = edited(&task, draft, now);
            timers = Some(self.write_edit(&mut *uow, task, &after, now).await?);
            task = after;
        }
        if let Some(completed) = completed.filter(|&c| c != task.is_completed()) {
            let after = Task { completed_at: completed.then_some(now), updated_at: now, ..task.clone() };
            timers = Some(self.write_completion(&mut *uow, task, &after, now).await?);
            task = after;
        }
        // The last write placed the timers the task has now.
        if let Some(timers) = timers {
            uow.commit().await?;
            self.timers_set(&timers);
        }
        Ok(task)
    }

    /// Writes `before` edited into `draft` and commits.
    async fn edit(&self, mut uow: Box<dyn UnitOfWork>, before: Task, draft: TaskDraft) -> Result<Task, ServiceError> {
        let now = self.clock.now();
        let after = edited(&before, draft, now);
        let timers = self.write_edit(&mut *uow, before, &after, now).await?;
        uow.commit().await?;
        self.timers_set(&timers);
        Ok(after)
    }

    /// Writes an edited task in `uow` as every edit does: the task, its
    /// reminder timers as the task now places them, and its `TaskUpdated`
    /// event. The task form takes this path, and so does a change to a tag
    /// across many tasks. Returns the timers set, for `timers_set` after the commit.
    pub(super) async fn write_edit(
        &self,
        uow: &mut dyn UnitOfWork,
        before: Task,
        after: &Task,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Timer>, ServiceError> {
        let timers = Timer::for_task(after, now);
        uow.update_task(after).await?;
        uow.replace_timers(after.id, TimerKind::Reminder, &timers).await?;
        let event = self.envelope(
            after.user_id,
            DomainEvent::TaskUpdated { before: Box::new(before), after: Box::new(after.clone()) },
        );
        uow.append_event(&event).await?;
        Ok(timers)
    }

    /// Completes or reopens a task. Asking for the state it already has changes
    /// nothing and emits nothing, so a double click, or forty concurrent
    /// clicks, record one completion. Completing cancels the task's pending
    /// reminders; reopening sets those still ahead again. A repeating task's
    /// next instance is made by the recurrence consumer of `task.completed`.
    /// With an `expected` version, a task that has moved on is
    /// [`ServiceError::Stale`], even when it already has the state asked for.
    pub async fn set_completed(
        &self,
        user: &User,
        id: TaskId,
        completed: bool,
        expected: Option<TaskVersion>,
    ) -> Result<Task, ServiceError> {
        self.patch_and_complete(user, id, &TaskPatch::default(), Some(completed), expected).await
    }

    /// Writes a task completed or reopened (`after` says which) in `uow`, as
    /// every completion does: the task, its timers (cancelled, or those still
    /// ahead set again) and its `TaskCompleted` or `TaskReopened` event.
    /// Returns the timers set.
    pub(super) async fn write_completion(
        &self,
        uow: &mut dyn UnitOfWork,
        before: Task,
        after: &Task,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Timer>, ServiceError> {
        uow.update_task(after).await?;
        let completed = after.is_completed();
        let timers = if completed {
            uow.cancel_timers(after.id).await?;
            Vec::new()
        } else {
            let timers = Timer::for_task(after, now);
            uow.replace_timers(after.id, TimerKind::Reminder, &timers).await?;
            timers
        };
        let (before, after_boxed) = (Box::new(before), Box::new(after.clone()));
        let event = if completed {
            DomainEvent::TaskCompleted { before, after: after_boxed }
        } else {
            DomainEvent::TaskReopened { before, after: after_boxed }
        };
        uow.append_event(&self.envelope(after.user_id, event)).await?;
        Ok(timers)
    }

    /// Deletes a task. For an instance of a repeating task, `This` lets the
    /// series go on (an open instance is followed by the next one at once),
    /// and `Following` deletes it and every later instance and ends the series.
    /// With an `expected` version, a task that has moved on is
    /// [`ServiceError::Stale`] and nothing is deleted.
    pub async fn delete_task(
        &self,
        user: &User,
        id: TaskId,
        scope: DeleteScope,
        expected: Option<TaskVersion>,
    ) -> Result<Task, ServiceError> {
        let mut uow = self.store.begin().await?;
        let before = uow.task_for_update(user.id, id).await?;
        check_version(&before, expected)?;
        let (_, next) = self.write_delete(&mut *uow, user, &before, scope).await?;
        uow.commit().await?;
        if let Some(next) = &next {
            self.timers_set(&Timer::for_task(next, self.clock.now()));
        }
        Ok(before)
    }

    /// Deletes `before` (read for update in `uow`) as every delete does, with
    /// its events; returns the tasks deleted and the next instance made, if any.
    pub(super) async fn write_delete(
        &self,
        uow: &mut dyn UnitOfWork,
        user: &User,
        before: &Task,
        scope: DeleteScope,
    ) -> Result<(Vec<Task>, Option<Task>), ServiceError> {
        let mut doomed = vec![before.clone()];
        let mut next = None;
        match (&before.repeat, scope) {
            (Some(repeat), DeleteScope::Following) => {
                uow.end_series(user.id, repeat.series, repeat.occurrence).await?;
                for later in uow.series_tasks_from(user.id, repeat.series, repeat.occurrence).await? {
                    if later.id != before.id {
                        doomed.push(later);
                    }
                }
            }
            (Some(_), DeleteScope::This) if !before.is_completed() => {
                let today = local_day(self.clock.now(), before.due.map_or(user.time_zone, |d| d.zone));
                next = self.next_instance(uow, before, today).await?;
            }
            _ => {}
        }
        for task in &doomed {
            uow.cancel_timers(task.id).await?;
            uow.delete_task(user.id, task.id).await?;
            let event = self.envelope(user.id, DomainEvent::TaskDeleted { before: Box::new(task.clone()) });
            uow.append_event(&event).await?;
        }
        if let Some(next) = &next {
            let event = self.envelope(user.id, DomainEvent::TaskCreated { after: Box::new(next.clone()) });
            uow.append_event(&event).await?;
        }
        Ok((doomed, next))
    }

    /// Makes the instance that follows a completed one of a repeating task
    /// (the recurrence consumer of `task.completed` calls this). Idempotent:
    /// a series has one instance per occurrence, so a redelivered event, or
    /// a task completed, reopened and completed again, makes no second one.
    /// Returns the new instance, or `None` when there is none to make.
    pub async fn create_next_instance(&self, completed: &Task) -> Result<Option<Task>, ServiceError> {
        let (Some(done_at), Some(_)) = (completed.completed_at, &completed.repeat) else {
            return Ok(None);
        };
        let zone = completed.due.map_or_else(TimeZone::default, |d| d.zone);
        let mut uow = self.store.begin().await?;
        let Some(next) = self.next_instance(&mut *uow, completed, local_day(done_at, zone)).await? else {
            return Ok(None);
        };
        let event = self.envelope(next.user_id, DomainEvent::TaskCreated { after: Box::new(next.clone()) });
        commit_with(uow, event).await?;
        self.timers_set(&Timer::for_task(&next, self.clock.now()));
        Ok(Some(next))
    }

    /// Writes the instance after `current`, done on the local day `done`,
    /// with its timers: `None` when the series has ended (its rule, or a
    /// deletion of "this and all following") or that instance exists already.
    async fn next_instance(
        &self,
        uow: &mut dyn UnitOfWork,
        current: &Task,
        done: NaiveDate,
    ) -> Result<Option<Task>, ServiceError> {
        let (Some(repeat), Some(due)) = (&current.repeat, current.due) else { return Ok(None) };
        let Some((repeat, occurrence)) = repeat.next(&due, done) else { return Ok(None) };
        if let Some(end) = uow.series_end(current.user_id, repeat.series).await? {
            if occurrence.date() >= end {
                return Ok(None);
            }
        }
        let now = self.clock.now();
        let days = (occurrence.date() - due.date).num_days();
        let next = Task {
            id: TaskId(Uuid::now_v7()),
            due: Some(occurrence.due),
            repeat: Some(repeat),
            reminders: current.reminders.iter().map(|r| reminder::carried(*r, days)).collect(),
            completed_at: None,
            created_at: now,
            updated_at: now,
            ..current.clone()
        };
        if !uow.insert_task(&next).await? {
            return Ok(None);
        }
        uow.replace_timers(next.id, TimerKind::Reminder, &Timer::for_task(&next, now)).await?;
        Ok(Some(next))
    }

    pub async fn task(&self, user: &User, id: TaskId) -> Result<Task, ServiceError> {
        Ok(self.store.task(user.id, id).await?)
    }

    pub async fn tasks(&self, user: &User, filter: &TaskFilter, page: &PageRequest) -> Result<TaskPage, ServiceError> {
        Ok(self.store.tasks(user.id, filter, page).await?)
    }

    pub async fn tags(&self, user: &User) -> Result<Vec<Tag>, ServiceError> {
        Ok(self.store.tags(user.id).await?)
    }

    /// The filter `query` asks for, today being the services' clock's day in
    /// the user's zone: the one way every list, page or door, reads its query.
    pub fn list_filter(&self, user: &User, query: &TaskQuery) -> TaskFilter {
        TaskFilter::of(query, local_day(self.clock.now(), user.time_zone), user.time_zone)
    }

    /// The user's list version, for a copy of a list page read at it.
    pub async fn list_version(&self, user: &User) -> Result<i64, ServiceError> {
        Ok(self.store.list_version(user.id).await?)
    }
}

/// `before` as `draft` edits it at `now`. An unchanged due date keeps the
/// zone it was set in, and a repeat rule goes on from the series it had.
fn edited(before: &Task, draft: TaskDraft, now: chrono::DateTime<chrono::Utc>) -> Task {
    let due = match (draft.due, before.due) {
        (Some(new), Some(old)) if new.date == old.date && new.time == old.time => Some(old),
        (new, _) => new,
    };
    let repeat = match (draft.repeat, due) {
        (Some(new), Some(due)) => Some(edited_repeat(before.repeat.as_ref(), new, &due)),
        _ => None,
    };
    Task {
        title: draft.title,
        description: draft.description,
        priority: draft.priority,
        tags: draft.tags,
        due,
        repeat,
        reminders: draft.reminders,
        updated_at: now,
        ..before.clone()
    }
}

/// Refuses a write meant for another version of the task. Called on the
/// task read for update, so the check and the write are one under its lock:
/// two callers holding the same version cannot both pass.
fn check_version(before: &Task, expected: Option<TaskVersion>) -> Result<(), ServiceError> {
    match expected {
        Some(v) if v != TaskVersion::of(before) => Err(ServiceError::Stale),
        _ => Ok(()),
    }
}

/// The repeat of an edited task. The same rule at the same time of day
/// keeps its series and this instance's place in it (moving only the due
/// date moves only this instance); a changed rule, anchor, set of skipped
/// days or time of day starts the series again from this instance, as a
/// calendar's "this and following" edit does.
fn edited_repeat(before: Option<&Repeat>, new: RepeatDraft, due: &crate::task::Due) -> Repeat {
    match before {
        Some(old) => {
            let skipped = new.skipped.clone().unwrap_or_else(|| old.skipped.clone());
            let same = old.rule == new.rule
                && old.anchor == new.anchor
                && old.skipped == skipped
                && old.time == due.time
                && old.zone == due.zone;
            if same {
                old.clone()
            } else {
                let restarted = Repeat::first(old.series, RepeatDraft { skipped: Some(skipped), ..new }, due);
                Repeat { occurrence: old.occurrence, instance: old.instance, ..restarted }
            }
        }
        None => Repeat::first(SeriesId(Uuid::now_v7()), new, due),
    }
}
