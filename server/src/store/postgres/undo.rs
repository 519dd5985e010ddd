//! Undo records of bulk actions on PostgreSQL: one JSON payload per action, taken once by its owner.

use chrono::{DateTime, Utc};
use domain::bulk::{UndoId, UndoRecord};
use domain::{StoreError, UserId};
use sqlx::PgConnection;

use crate::store::map_err;

pub(super) async fn insert_undo(tx: &mut PgConnection, record: &UndoRecord) -> Result<(), StoreError> {
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
    tx: &mut PgConnection,
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

pub(super) async fn prune_undo(conn: &mut PgConnection, before: DateTime<Utc>) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM undo_actions WHERE created_at < $1")
        .bind(before)
        .execute(conn)
        .await
        .map_err(map_err)?;
    Ok(done.rows_affected())
}

pub(super) async fn undo_record(
    conn: &mut PgConnection,
    user: UserId,
    id: UndoId,
) -> Result<Option<UndoRecord>, StoreError> {
    let payload: Option<String> = sqlx::query_scalar("SELECT payload FROM undo_actions WHERE id = $1 AND user_id = $2")
        .bind(id.0)
        .bind(user.0)
        .fetch_optional(conn)
        .await
        .map_err(map_err)?;
    payload.map(|p| serde_json::from_str(&p).map_err(StoreError::backend)).transpose()
}
