//! Accounts: signing up and in, sessions, profile and password changes.

use chrono::Duration;
use uuid::Uuid;

use crate::account::{DisplayName, Email, Password, TimeZone, User, UserId};
use crate::error::{ServiceError, StoreError, ValidationError};
use crate::event::DomainEvent;
use crate::ports::{ActiveSession, SessionRecord};

use super::{commit_with, Services};

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

impl Services {
    pub async fn sign_up(&self, form: SignUp) -> Result<User, ServiceError> {
        let email = Email::parse(&form.email)?;
        let password = Password::parse(&form.password, "password")?;
        let display_name = DisplayName::parse(&form.display_name)?;
        let time_zone = TimeZone::parse(&form.time_zone)?;
        let hash = self.hasher.hash(password.expose()).await?;
        let user = User {
            id: UserId(Uuid::now_v7()),
            email,
            display_name,
            time_zone,
            default_reminder: None,
            created_at: self.clock.now(),
        };
        let mut uow = self.store.begin().await?;
        uow.insert_user(&user, &hash).await.map_err(|e| match e {
            StoreError::Conflict { .. } => ServiceError::Conflict {
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
                self.hasher.verify_nothing(password).await;
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

    /// The live session for a token hash, its user and their list version, in one read.
    pub async fn session_user(&self, token_hash: &str) -> Result<Option<ActiveSession>, ServiceError> {
        Ok(self.store.session_user(token_hash, self.clock.now()).await?)
    }

    /// Deletes expired sessions; run now and then by a maintenance worker.
    pub async fn purge_expired_sessions(&self) -> Result<u64, ServiceError> {
        Ok(self.store.purge_expired_sessions(self.clock.now()).await?)
    }

    /// Changes the name, time zone and default reminder (`""` for none, or
    /// one relative reminder such as `15m`).
    pub async fn update_profile(
        &self,
        user: &User,
        display_name: &str,
        time_zone: &str,
        default_reminder: &str,
    ) -> Result<User, ServiceError> {
        let default_reminder = match crate::reminder::parse_list(default_reminder) {
            Ok(list) => match list.as_slice() {
                [] => None,
                [crate::reminder::Reminder::BeforeDue { minutes }] => Some(*minutes),
                _ => {
                    return Err(
                        ValidationError::new("default_reminder", "Choose one reminder before the due time.").into()
                    )
                }
            },
            Err(e) => return Err(ValidationError::new("default_reminder", e.message).into()),
        };
        let after = User {
            display_name: DisplayName::parse(display_name)?,
            time_zone: TimeZone::parse(time_zone)?,
            default_reminder,
            ..user.clone()
        };
        let mut uow = self.store.begin().await?;
        uow.update_user(&after).await?;
        let event = self.envelope(user.id, DomainEvent::AccountUpdated { before: user.clone(), after: after.clone() });
        commit_with(uow, event).await?;
        // A token's requests act as the user as they are now.
        self.tokens_seen.forget_user(user.id);
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
}
