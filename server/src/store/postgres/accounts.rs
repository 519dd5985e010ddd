//! Users and sessions on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::{AccountStore, ActiveSession, SessionRecord};
use domain::{Email, StoreError, User, UserId};
use sqlx::PgConnection;

use super::{expect_one, PgStore};
use crate::store::map_err;
use crate::store::rows::{SessionUserRow, UserRow, UserWithHashRow, USER_COLUMNS};

#[async_trait]
impl AccountStore for PgStore {
    async fn user(&self, id: UserId) -> Result<User, StoreError> {
        sqlx::query_as::<_, UserRow>(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id.0)
            .fetch_one(self.reader())
            .await
            .map_err(map_err)?
            .into_user()
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<(User, String)>, StoreError> {
        sqlx::query_as::<_, UserWithHashRow>(&format!(
            "SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1"
        ))
        .bind(email.as_str())
        .fetch_optional(self.reader())
        .await
        .map_err(map_err)?
        .map(UserWithHashRow::into_parts)
        .transpose()
    }

    async fn password_hash(&self, id: UserId) -> Result<String, StoreError> {
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(id.0)
            .fetch_one(self.reader())
            .await
            .map_err(map_err)
    }

    async fn session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<ActiveSession>, StoreError> {
        sqlx::query_as::<_, SessionUserRow>(
            "SELECT s.token_hash, s.created_at AS session_created_at, s.expires_at, u.list_version, \
                    u.unread_notifications, u.feed_seq, u.id, u.email, u.display_name, u.time_zone, u.default_reminder, \
                    u.created_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.reader())
        .await
        .map_err(map_err)?
        .map(SessionUserRow::into_active)
        .transpose()
    }

    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(self.writer())
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn list_version(&self, user: UserId) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT list_version FROM users WHERE id = $1")
            .bind(user.0)
            .fetch_optional(self.reader())
            .await
            .map_err(map_err)?
            .ok_or(StoreError::NotFound)
    }
}

pub(super) async fn insert_user(tx: &mut PgConnection, user: &User, password_hash: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO users (id, email, display_name, time_zone, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(user.id.0)
    .bind(user.email.as_str())
    .bind(user.display_name.as_str())
    .bind(user.time_zone.name())
    .bind(password_hash)
    .bind(user.created_at)
    .execute(tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(super) async fn update_user(tx: &mut PgConnection, user: &User) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE users SET display_name = $1, time_zone = $2, default_reminder = $4 WHERE id = $3")
        .bind(user.display_name.as_str())
        .bind(user.time_zone.name())
        .bind(user.id.0)
        .bind(user.default_reminder.map(i64::from))
        .execute(tx)
        .await
        .map_err(map_err)?;
    expect_one(done.rows_affected())
}

pub(super) async fn set_password_hash(tx: &mut PgConnection, user: UserId, hash: &str) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(user.0)
        .execute(tx)
        .await
        .map_err(map_err)?;
    expect_one(done.rows_affected())
}

pub(super) async fn insert_session(tx: &mut PgConnection, s: &SessionRecord) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(&s.token_hash)
        .bind(s.user_id.0)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

pub(super) async fn delete_session(tx: &mut PgConnection, token_hash: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(tx).await.map_err(map_err)?;
    Ok(())
}

pub(super) async fn delete_other_sessions(tx: &mut PgConnection, user: UserId, keep: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
        .bind(user.0)
        .bind(keep)
        .execute(tx)
        .await
        .map_err(map_err)?;
    Ok(())
}
