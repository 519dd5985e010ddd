//! Tasks: creating, editing, completing, deleting and listing them. Every
//! change reads the task it changes under a lock, so concurrent changes to
//! one task queue up instead of overwriting each other.

use uuid::Uuid;

use crate::account::User;
use crate::error::ServiceError;
use crate::event::DomainEvent;
use crate::task::{Tag, Task, TaskDraft, TaskId, TaskInput};
use crate::task_list::{PageRequest, TaskFilter, TaskPage};

use super::{commit_with, Services};

impl Services {
    pub async fn create_task(&self, user: &User, input: &TaskInput) -> Result<Task, ServiceError> {
        let draft = TaskDraft::parse(input, user.time_zone)?;
        let now = self.clock.now();
        let task = Task {
            id: TaskId(Uuid::now_v7()),
            user_id: user.id,
            title: draft.title,
            description: draft.description,
            priority: draft.priority,
            tags: draft.tags,
            due: draft.due,
            completed_at: None,
            created_at: now,
            updated_at: now,
        };
        let mut uow = self.store.begin().await?;
        uow.insert_task(&task).await?;
        let event = self.envelope(user.id, DomainEvent::TaskCreated { after: Box::new(task.clone()) });
        commit_with(uow, event).await?;
        Ok(task)
    }

    pub async fn update_task(&self, user: &User, id: TaskId, input: &TaskInput) -> Result<Task, ServiceError> {
        let draft = TaskDraft::parse(input, user.time_zone)?;
        let mut uow = self.store.begin().await?;
        let before = uow.task_for_update(user.id, id).await?;
        // An unchanged due date keeps the zone it was set in.
        let due = match (draft.due, before.due) {
            (Some(new), Some(old)) if new.date == old.date && new.time == old.time => Some(old),
            (new, _) => new,
        };
        let after = Task {
            title: draft.title,
            description: draft.description,
            priority: draft.priority,
            tags: draft.tags,
            due,
            updated_at: self.clock.now(),
            ..before.clone()
        };
        uow.update_task(&after).await?;
        let event = self
            .envelope(user.id, DomainEvent::TaskUpdated { before: Box::new(before), after: Box::new(after.clone()) });
        commit_with(uow, event).await?;
        Ok(after)
    }

    /// Completes or reopens a task. Asking for the state it already has changes
    /// nothing and emits nothing, so a double click, or forty concurrent
    /// clicks, record one completion.
    pub async fn set_completed(&self, user: &User, id: TaskId, completed: bool) -> Result<Task, ServiceError> {
        let mut uow = self.store.begin().await?;
        let before = uow.task_for_update(user.id, id).await?;
        if before.is_completed() == completed {
            return Ok(before);
        }
        let now = self.clock.now();
        let after = Task { completed_at: completed.then_some(now), updated_at: now, ..before.clone() };
        uow.update_task(&after).await?;
        let (before, after_boxed) = (Box::new(before), Box::new(after.clone()));
        let event = if completed {
            DomainEvent::TaskCompleted { before, after: after_boxed }
        } else {
            DomainEvent::TaskReopened { before, after: after_boxed }
        };
        let event = self.envelope(user.id, event);
        commit_with(uow, event).await?;
        Ok(after)
    }

    pub async fn delete_task(&self, user: &User, id: TaskId) -> Result<Task, ServiceError> {
        let mut uow = self.store.begin().await?;
        let before = uow.task_for_update(user.id, id).await?;
        uow.delete_task(user.id, id).await?;
        let event = self.envelope(user.id, DomainEvent::TaskDeleted { before: Box::new(before.clone()) });
        commit_with(uow, event).await?;
        Ok(before)
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
}
