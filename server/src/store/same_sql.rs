//! The store code whose SQL, binding and decoding are the same on SQLite and
//! PostgreSQL (idempotency keys, API tokens, undo records, saved views, a
//! task's tag rows),
//! written once and stamped out per backend by `same_sql!`. A macro rather
//! than functions generic over `sqlx::Database`: sqlx has no backend-neutral
//! `rows_affected`, and the bounds every bind would need hide the SQL.

/// Declares, in the backend module it is called from, the modules
/// `idempotency`, `tokens`, `undo`, `views` and `task_tags` for that backend's store and
/// connection types (the store by name, the connection by path). The
/// caller's module must have `expect_one`.
macro_rules! same_sql {
    ($store:ident, $conn:ty) => {
        mod idempotency {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use domain::idempotency::{IdempotencyKey, Reservation, StoredResponse};
            use domain::ports::IdempotencyStore;
            use domain::{StoreError, UserId};

            use super::$store;
            use $crate::store::map_err;

            #[async_trait]
            impl IdempotencyStore for $store {
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
                        sqlx::query_as(
                            "SELECT fingerprint, response FROM idempotency_keys WHERE user_id = $1 AND key = $2",
                        )
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
        }

        mod tokens {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use domain::ports::TokenStore;
            use domain::tokens::{ApiToken, TokenId};
            use domain::{StoreError, User, UserId};

            use super::{expect_one, $store};
            use $crate::store::rows::{token_insert_error, TokenRow, TokenUserRow, TOKEN_COLUMNS, TOKEN_USER_COLUMNS};
            use $crate::store::{decode_all, map_err};

            #[async_trait]
            impl TokenStore for $store {
                async fn api_tokens(&self, user: UserId) -> Result<Vec<ApiToken>, StoreError> {
                    let rows: Vec<TokenRow> = sqlx::query_as(&format!(
                        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
                    ))
                    .bind(user.0)
                    .fetch_all(self.reader())
                    .await
                    .map_err(map_err)?;
                    decode_all(rows, TokenRow::into_token)
                }

                async fn token_user(
                    &self,
                    token_hash: &str,
                    now: DateTime<Utc>,
                ) -> Result<Option<(ApiToken, User)>, StoreError> {
                    sqlx::query_as::<_, TokenUserRow>(&format!(
                        "SELECT {TOKEN_USER_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
                         WHERE t.token_hash = $1 AND (t.expires_at IS NULL OR t.expires_at > $2)"
                    ))
                    .bind(token_hash)
                    .bind(now)
                    .fetch_optional(self.reader())
                    .await
                    .map_err(map_err)?
                    .map(TokenUserRow::into_parts)
                    .transpose()
                }

                async fn touch_token(
                    &self,
                    id: TokenId,
                    at: DateTime<Utc>,
                    since: DateTime<Utc>,
                ) -> Result<(), StoreError> {
                    sqlx::query(
                        "UPDATE api_tokens SET last_used_at = $2 \
                         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
                    )
                    .bind(id.0)
                    .bind(at)
                    .bind(since)
                    .execute(self.writer())
                    .await
                    .map_err(map_err)?;
                    Ok(())
                }

                async fn prune_tokens(&self, expired_before: DateTime<Utc>) -> Result<u64, StoreError> {
                    let done = sqlx::query("DELETE FROM api_tokens WHERE expires_at < $1")
                        .bind(expired_before)
                        .execute(self.writer())
                        .await
                        .map_err(map_err)?;
                    Ok(done.rows_affected())
                }
            }

            pub(super) async fn insert_token(
                tx: &mut $conn,
                token: &ApiToken,
                token_hash: &str,
            ) -> Result<(), StoreError> {
                sqlx::query(&format!(
                    "INSERT INTO api_tokens ({TOKEN_COLUMNS}, token_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                ))
                .bind(token.id.0)
                .bind(token.user_id.0)
                .bind(token.name.as_str())
                .bind(token.scopes.as_str())
                .bind(token.created_at)
                .bind(token.expires_at)
                .bind(token.last_used_at)
                .bind(token_hash)
                .execute(tx)
                .await
                .map_err(token_insert_error)?;
                Ok(())
            }

            pub(super) async fn delete_token(tx: &mut $conn, user: UserId, id: TokenId) -> Result<(), StoreError> {
                let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
                    .bind(id.0)
                    .bind(user.0)
                    .execute(tx)
                    .await
                    .map_err(map_err)?;
                expect_one(done.rows_affected())
            }
        }

        mod undo {
            use chrono::{DateTime, Utc};
            use domain::bulk::{UndoId, UndoRecord};
            use domain::{StoreError, UserId};

            use $crate::store::map_err;

            pub(super) async fn insert_undo(tx: &mut $conn, record: &UndoRecord) -> Result<(), StoreError> {
                let payload = serde_json::to_string(record).map_err(StoreError::backend)?;
                sqlx::query("INSERT INTO undo_actions (id, user_id, created_at, payload) VALUES ($1, $2, $3, $4)")
                    .bind(record.id.0)
                    .bind(record.user_id.0)
                    .bind(record.at)
                    .bind(payload)
                    .execute(tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            pub(super) async fn take_undo(
                tx: &mut $conn,
                user: UserId,
                id: UndoId,
            ) -> Result<Option<UndoRecord>, StoreError> {
                let payload: Option<String> =
                    sqlx::query_scalar("DELETE FROM undo_actions WHERE id = $1 AND user_id = $2 RETURNING payload")
                        .bind(id.0)
                        .bind(user.0)
                        .fetch_optional(tx)
                        .await
                        .map_err(map_err)?;
                payload.map(|p| serde_json::from_str(&p).map_err(StoreError::backend)).transpose()
            }

            pub(super) async fn prune_undo(conn: &mut $conn, before: DateTime<Utc>) -> Result<u64, StoreError> {
                let done = sqlx::query("DELETE FROM undo_actions WHERE created_at < $1")
                    .bind(before)
                    .execute(conn)
                    .await
                    .map_err(map_err)?;
                Ok(done.rows_affected())
            }

            pub(super) async fn undo_record(
                conn: &mut $conn,
                user: UserId,
                id: UndoId,
            ) -> Result<Option<UndoRecord>, StoreError> {
                let payload: Option<String> =
                    sqlx::query_scalar("SELECT payload FROM undo_actions WHERE id = $1 AND user_id = $2")
                        .bind(id.0)
                        .bind(user.0)
                        .fetch_optional(conn)
                        .await
                        .map_err(map_err)?;
                payload.map(|p| serde_json::from_str(&p).map_err(StoreError::backend)).transpose()
            }
        }

        mod views {
            use async_trait::async_trait;
            use domain::ports::ViewStore;
            use domain::views::{SavedView, ViewId};
            use domain::{StoreError, UserId};

            use super::{expect_one, $store};
            use $crate::store::rows::{ViewRow, VIEW_COLUMNS};
            use $crate::store::{decode_all, map_err};

            #[async_trait]
            impl ViewStore for $store {
                async fn saved_views(&self, user: UserId) -> Result<Vec<SavedView>, StoreError> {
                    let rows: Vec<ViewRow> = sqlx::query_as(&format!(
                        "SELECT {VIEW_COLUMNS} FROM saved_views WHERE user_id = $1 ORDER BY position, created_at, id"
                    ))
                    .bind(user.0)
                    .fetch_all(self.reader())
                    .await
                    .map_err(map_err)?;
                    decode_all(rows, ViewRow::into_view)
                }
            }

            pub(super) async fn insert_view(tx: &mut $conn, view: &SavedView) -> Result<(), StoreError> {
                sqlx::query(&format!("INSERT INTO saved_views ({VIEW_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"))
                    .bind(view.id.0)
                    .bind(view.user_id.0)
                    .bind(view.name.as_str())
                    .bind(view.query.to_string())
                    .bind(view.position)
                    .bind(view.created_at)
                    .execute(tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            pub(super) async fn delete_view(tx: &mut $conn, user: UserId, id: ViewId) -> Result<(), StoreError> {
                let done = sqlx::query("DELETE FROM saved_views WHERE id = $1 AND user_id = $2")
                    .bind(id.0)
                    .bind(user.0)
                    .execute(tx)
                    .await
                    .map_err(map_err)?;
                expect_one(done.rows_affected())
            }

            pub(super) async fn set_view_order(
                tx: &mut $conn,
                user: UserId,
                order: &[ViewId],
            ) -> Result<(), StoreError> {
                for (position, id) in order.iter().enumerate() {
                    let done = sqlx::query("UPDATE saved_views SET position = $1 WHERE id = $2 AND user_id = $3")
                        .bind(position as i64)
                        .bind(id.0)
                        .bind(user.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                    expect_one(done.rows_affected())?;
                }
                Ok(())
            }
        }

        mod task_tags {
            use domain::task::Task;
            use domain::StoreError;

            use $crate::store::map_err;

            /// Writes a task's tag rows, in one insert (a new task has none to replace).
            pub(super) async fn insert_tags(tx: &mut $conn, task: &Task) -> Result<(), StoreError> {
                let rows: Vec<_> = task
                    .tags
                    .iter()
                    .enumerate()
                    .map(|(position, tag)| (task.id.0, task.user_id.0, tag.as_str(), position as i64))
                    .collect();
                if rows.is_empty() {
                    return Ok(());
                }
                let mut insert = sqlx::QueryBuilder::new("INSERT INTO task_tags (task_id, user_id, tag, position) ");
                insert.push_values(rows, |mut row, (task, user, tag, position)| {
                    row.push_bind(task).push_bind(user).push_bind(tag).push_bind(position);
                });
                insert.build().execute(&mut *tx).await.map_err(map_err)?;
                Ok(())
            }

            /// Replaces a task's tag rows with its tags.
            pub(super) async fn replace_tags(tx: &mut $conn, task: &Task) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM task_tags WHERE task_id = $1")
                    .bind(task.id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                insert_tags(tx, task).await
            }
        }
    };
}

pub(crate) use same_sql;
