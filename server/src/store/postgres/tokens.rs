//! Personal access tokens on PostgreSQL: listed by owner, found by the hash of
//! their secret together with their user, their last use written at most
//! once a minute.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::TokenStore;
use domain::tokens::{ApiToken, TokenId};
use domain::{StoreError, User, UserId};
use sqlx::PgConnection;

use super::{expect_one, PgStore};
use crate::store::rows::{token_insert_error, TokenRow, TokenUserRow, TOKEN_COLUMNS, TOKEN_USER_COLUMNS};
use crate::store::{decode_all, map_err};

#[async_trait]
impl TokenStore for PgStore {
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

    async fn token_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<(ApiToken, User)>, StoreError> {
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

    async fn touch_token(&self, id: TokenId, at: DateTime<Utc>, since: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(id.0)
        .bind(at)
        .bind(since)
        .execute(self.writer())
        .await
        .map_err(map_err)?;
        Ok(())
    }
}

pub(super) async fn insert_token(tx: &mut PgConnection, token: &ApiToken, token_hash: &str) -> Result<(), StoreError> {
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

pub(super) async fn delete_token(tx: &mut PgConnection, user: UserId, id: TokenId) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
        .bind(id.0)
        .bind(user.0)
        .execute(tx)
        .await
        .map_err(map_err)?;
    expect_one(done.rows_affected())
}
