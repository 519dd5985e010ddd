//! Idempotency keys on SQLite: reserved by a unique insert, so of two
//! concurrent requests with one key exactly one creates; the answer is kept
//! as JSON beside the key.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::idempotency::{IdempotencyKey, Reservation, StoredResponse};
use domain::ports::IdempotencyStore;
use domain::{StoreError, UserId};

use super::SqliteStore;
use crate::store::map_err;

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn reserve_key(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
        fresh_after: DateTime<Utc>,
    ) -> Result<Reservation, StoreError> {
        // A key past its day is free again, whether or not the sweep has come by.
        sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND created_at <= $3")
            .bind(user.0)
            .bind(key.as_str())
            .bind(fresh_after)
            .execute(self.writer())
            .await
            .map_err(map_err)?;
        let taken = sqlx::query(
            "INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, key) DO NOTHING",
        )
        .bind(user.0)
        .bind(key.as_str())
        .bind(fingerprint)
        .bind(now)
        .execute(self.writer())
        .await
        .map_err(map_err)?;
        if taken.rows_affected() == 1 {
            return Ok(Reservation::Reserved);
        }
        let row: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT fingerprint, response FROM idempotency_keys WHERE user_id = $1 AND key = $2")
                .bind(user.0)
                .bind(key.as_str())
                .fetch_optional(self.writer())
                .await
                .map_err(map_err)?;
        // Released between the insert and this read: in progress, as far as the caller can tell.
        let Some((fingerprint, response)) = row else {
            return Ok(Reservation::Taken { fingerprint: fingerprint.to_owned(), response: None });
        };
        let response = response.map(|r| serde_json::from_str(&r).map_err(StoreError::backend)).transpose()?;
        Ok(Reservation::Taken { fingerprint, response })
    }

    async fn complete_key(
        &self,
        user: UserId,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(response).map_err(StoreError::backend)?;
        sqlx::query("UPDATE idempotency_keys SET response = $3 WHERE user_id = $1 AND key = $2")
            .bind(user.0)
            .bind(key.as_str())
            .bind(json)
            .execute(self.writer())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn release_key(&self, user: UserId, key: &IdempotencyKey) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND response IS NULL")
            .bind(user.0)
            .bind(key.as_str())
            .execute(self.writer())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn prune_keys(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(before)
            .execute(self.writer())
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}
