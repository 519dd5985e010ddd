//! The application services: every use case of accounts and tasks, parsing raw
//! input once, changing state in one unit of work and emitting its event there.

use std::sync::Arc;

use chrono::Duration;
use uuid::Uuid;

use crate::account::{DisplayName, Email, Password, TimeZone, User, UserId};
use crate::error::{ServiceError, ValidationError};
use crate::event::{AuditEntry, DomainEvent, EventEnvelope};
use crate::ports::{Clock, PasswordHasher, SessionRecord, Store, UnitOfWork};
use crate::task::{PageRequest, Tag, Task, TaskDraft, TaskFilter, TaskId, TaskInput, TaskPage};

/// How long a session lasts without signing in again.
pub const SESSION_TTL_DAYS: i64 = 30;

/// A sign-up form, as posted.
#[derive(Debug, Clone)]
pub struct SignUp {
    pub email: String,
    pub password: String,
    pub display_name: String,
    pub time_zone: String,
}

/// The services, sharing their ports. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub hasher: Arc<dyn PasswordHasher>,
}

async fn commit_with(mut uow: Box<dyn UnitOfWork>, event: EventEnvelope) -> Result<(), ServiceError> {
    uow.append_event(&event).await?;
    uow.commit().await?;
    Ok(())
}

impl Services {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, hasher: Arc<dyn PasswordHasher>) -> Self {
        Self { store, clock, hasher }
    }

    fn envelope(&self, user: UserId, event: DomainEvent) -> EventEnvelope {
        EventEnvelope::new(Uuid::now_v7(), self.clock.now(), user, event)
    }

    // ---- accounts ----

    pub async fn sign_up(&self, form: SignUp) -> Result<User, ServiceError> {
        let email = Email::parse(&form.email)?;
        let password = Password::parse(&form.password, "password")?;
        let display_name = DisplayName::parse(&form.display_name)?;
        let time_zone = TimeZone::parse(&form.time_zone)?;
        let hash = self.hasher.hash(password.expose()).await?;
        let user = User { id: UserId(Uuid::now_v7()), email, display_name, time_zone, created_at: self.clock.now() };
        let mut uow = self.store.begin().await?;
        uow.insert_user(&user, &hash).await.map_err(|e| match e {
            crate::StoreError::Conflict { .. } => ServiceError::Conflict {
                field: "email".into(),
                message: "This email cannot be used to sign up. Try signing in instead.".into(),
            },
            other => other.into(),
        })?;
        let event = self.envelope(user.id, DomainEvent::AccountCreated { user: user.clone() });
        commit_with(uow, event).await?;
        Ok(user)
    }

    /// Checks an email and password. Unknown addresses cost the same hashing
    /// work as known ones, so timing does not reveal which accounts exist.
    pub async fn verify_credentials(&self, email: &str, password: &str) -> Result<User, ServiceError> {
        let found = match Email::parse(email) {
            Ok(email) => self.store.user_by_email(&email).await?,
            Err(_) => None,
        };
        match found {
            Some((user, hash)) if self.hasher.verify(password, &hash).await => Ok(user),
            Some(_) => Err(ServiceError::InvalidCredentials),
            None => {
                self.hasher.verify(password, DUMMY_HASH).await;
                Err(ServiceError::InvalidCredentials)
            }
        }
    }

    /// Stores a new session for `user`; the caller keeps the token, we keep its hash.
    pub async fn open_session(
        &self,
        user: UserId,
        token_hash: String,
        replaces: Option<&str>,
    ) -> Result<SessionRecord, ServiceError> {
        let now = self.clock.now();
        let session = SessionRecord {
            token_hash,
            user_id: user,
            created_at: now,
            expires_at: now + Duration::days(SESSION_TTL_DAYS),
        };
        let mut uow = self.store.begin().await?;
        if let Some(old) = replaces {
            uow.delete_session(old).await?;
        }
        uow.insert_session(&session).await?;
        uow.commit().await?;
        Ok(session)
    }

    pub async fn close_session(&self, token_hash: &str) -> Result<(), ServiceError> {
        let mut uow = self.store.begin().await?;
        uow.delete_session(token_hash).await?;
        uow.commit().await?;
        Ok(())
    }

    /// The signed-in user for a session token hash, if the session is live.
    pub async fn session_user(&self, token_hash: &str) -> Result<Option<User>, ServiceError> {
        match self.store.session(token_hash, self.clock.now()).await? {
            Some(session) => Ok(Some(self.store.user(session.user_id).await?)),
            None => Ok(None),
        }
    }

    pub async fn update_profile(&self, user: &User, display_name: &str, time_zone: &str) -> Result<User, ServiceError> {
        let after = User {
            display_name: DisplayName::parse(display_name)?,
            time_zone: TimeZone::parse(time_zone)?,
            ..user.clone()
        };
        let mut uow = self.store.begin().await?;
        uow.update_user(&after).await?;
        let event = self.envelope(user.id, DomainEvent::AccountUpdated { before: user.clone(), after: after.clone() });
        commit_with(uow, event).await?;
        Ok(after)
    }

    /// Changes the password and signs out every other session of the user.
    pub async fn change_password(
        &self,
        user: &User,
        current: &str,
        new: &str,
        keep_session: &str,
    ) -> Result<(), ServiceError> {
        let hash = self.store.password_hash(user.id).await?;
        if !self.hasher.verify(current, &hash).await {
            return Err(ValidationError::new("current_password", "This is not your current password.").into());
        }
        let new = Password::parse(new, "new_password")?;
        let new_hash = self.hasher.hash(new.expose()).await?;
        let mut uow = self.store.begin().await?;
        uow.set_password_hash(user.id, &new_hash).await?;
        uow.delete_other_sessions(user.id, keep_session).await?;
        let event = self.envelope(user.id, DomainEvent::PasswordChanged { user_id: user.id });
        commit_with(uow, event).await
    }

    // ---- tasks ----

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
        let before = uow.task(user.id, id).await?;
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
    /// nothing and emits nothing, so a double click is harmless.
    pub async fn set_completed(&self, user: &User, id: TaskId, completed: bool) -> Result<Task, ServiceError> {
        let mut uow = self.store.begin().await?;
        let before = uow.task(user.id, id).await?;
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
        let before = uow.task(user.id, id).await?;
        uow.delete_task(user.id, id).await?;
        let event = self.envelope(user.id, DomainEvent::TaskDeleted { before: Box::new(before.clone()) });
        commit_with(uow, event).await?;
        Ok(before)
    }

    pub async fn task(&self, user: &User, id: TaskId) -> Result<Task, ServiceError> {
        Ok(self.store.task(user.id, id).await?)
    }

    pub async fn tasks(&self, user: &User, filter: &TaskFilter, page: PageRequest) -> Result<TaskPage, ServiceError> {
        Ok(self.store.tasks(user.id, filter, page).await?)
    }

    pub async fn tags(&self, user: &User) -> Result<Vec<Tag>, ServiceError> {
        Ok(self.store.tags(user.id).await?)
    }

    pub async fn activity(
        &self,
        user: &User,
        task: Option<TaskId>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, ServiceError> {
        Ok(self.store.activity(user.id, task, limit).await?)
    }
}

/// An argon2id hash of a random string, verified against when the address is
/// unknown so that both paths cost the same.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Jt9aQ2yTr6S5b7pOSkOqgB0IeyqQXQeOqS0YXbh7h7A";
