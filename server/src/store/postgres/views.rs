//! Saved views on PostgreSQL: a user's named searches, in the sidebar's order.

use async_trait::async_trait;
use domain::ports::ViewStore;
use domain::views::{SavedView, ViewId};
use domain::{StoreError, UserId};
use sqlx::PgConnection;

use super::{expect_one, PgStore};
use crate::store::rows::{ViewRow, VIEW_COLUMNS};
use crate::store::{decode_all, map_err};

#[async_trait]
impl ViewStore for PgStore {
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

pub(super) async fn insert_view(tx: &mut PgConnection, view: &SavedView) -> Result<(), StoreError> {
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

pub(super) async fn delete_view(tx: &mut PgConnection, user: UserId, id: ViewId) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM saved_views WHERE id = $1 AND user_id = $2")
        .bind(id.0)
        .bind(user.0)
        .execute(tx)
        .await
        .map_err(map_err)?;
    expect_one(done.rows_affected())
}

pub(super) async fn set_view_order(tx: &mut PgConnection, user: UserId, order: &[ViewId]) -> Result<(), StoreError> {
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
