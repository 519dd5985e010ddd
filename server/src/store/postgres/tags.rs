//! Tags on PostgreSQL: counts come from the `(user_id, tag, task_id)` index
//! joined to each task for its completion, colours from `tag_colours` (for
//! the tags page, and for the chips of the list's rows).

use async_trait::async_trait;
use domain::ports::TagStore;
use domain::tag::{TagColour, TagColours, TagCount};
use domain::task::{Tag, TaskId};
use domain::{StoreError, UserId};
use sqlx::PgConnection;
use uuid::Uuid;

use super::PgStore;
use crate::store::rows::{TagColourRow, TagCountRow};
use crate::store::{map_err, DISTINCT_TAGS};

#[async_trait]
impl TagStore for PgStore {
    async fn tag_counts(&self, user: UserId) -> Result<Vec<TagCount>, StoreError> {
        let rows: Vec<TagCountRow> = sqlx::query_as(
            "SELECT g.tag, COUNT(*) AS total_count, COUNT(*) FILTER (WHERE t.completed_at IS NULL) AS open_count, c.colour \
             FROM task_tags g JOIN tasks t ON t.id = g.task_id AND t.user_id = g.user_id \
             LEFT JOIN tag_colours c ON c.user_id = g.user_id AND c.tag = g.tag \
             WHERE g.user_id = $1 GROUP BY g.tag, c.colour",
        )
        .bind(user.0)
        .fetch_all(self.reader())
        .await
        .map_err(map_err)?;
        TagCountRow::into_counts(rows)
    }

    async fn task_tag_colours(&self, user: UserId, task: TaskId) -> Result<TagColours, StoreError> {
        // The task's tags through its own key, joined to the colours' key: one probe per tag.
        let rows: Vec<TagColourRow> = sqlx::query_as(
            "SELECT g.tag, c.colour FROM task_tags g \
             JOIN tag_colours c ON c.user_id = g.user_id AND c.tag = g.tag \
             WHERE g.task_id = $1 AND g.user_id = $2",
        )
        .bind(task.0)
        .bind(user.0)
        .fetch_all(self.reader())
        .await
        .map_err(map_err)?;
        Ok(TagColourRow::into_tags(rows)?.1)
    }
}

/// The user's distinct tags in order with their colours, for the list page:
/// one query, on the page's own connection.
pub(super) async fn tags_with_colours(
    conn: &mut PgConnection,
    user: UserId,
) -> Result<(Vec<Tag>, TagColours), StoreError> {
    let rows: Vec<TagColourRow> = sqlx::query_as(&format!(
        "SELECT d.tag, c.colour FROM ({DISTINCT_TAGS}) d \
         LEFT JOIN tag_colours c ON c.user_id = $1 AND c.tag = d.tag ORDER BY d.tag"
    ))
    .bind(user.0)
    .fetch_all(conn)
    .await
    .map_err(map_err)?;
    TagColourRow::into_tags(rows)
}

/// The ids of the user's tasks carrying `tag`, locked `FOR UPDATE` in id order (as every change locks its task).
pub(super) async fn tagged_task_ids(tx: &mut PgConnection, user: UserId, tag: &Tag) -> Result<Vec<TaskId>, StoreError> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM tasks WHERE user_id = $1 \
         AND id IN (SELECT task_id FROM task_tags WHERE user_id = $1 AND tag = $2) ORDER BY id FOR UPDATE",
    )
    .bind(user.0)
    .bind(tag.as_str())
    .fetch_all(tx)
    .await
    .map_err(map_err)?;
    Ok(ids.into_iter().map(TaskId).collect())
}

pub(super) async fn tag_colour(
    tx: &mut PgConnection,
    user: UserId,
    tag: &Tag,
) -> Result<Option<TagColour>, StoreError> {
    let name: Option<String> = sqlx::query_scalar("SELECT colour FROM tag_colours WHERE user_id = $1 AND tag = $2")
        .bind(user.0)
        .bind(tag.as_str())
        .fetch_optional(tx)
        .await
        .map_err(map_err)?;
    Ok(name.as_deref().and_then(TagColour::from_name))
}

pub(super) async fn set_tag_colour(
    tx: &mut PgConnection,
    user: UserId,
    tag: &Tag,
    colour: Option<TagColour>,
) -> Result<(), StoreError> {
    let query = match colour {
        None => sqlx::query("DELETE FROM tag_colours WHERE user_id = $1 AND tag = $2").bind(user.0).bind(tag.as_str()),
        Some(colour) => sqlx::query(
            "INSERT INTO tag_colours (user_id, tag, colour) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, tag) DO UPDATE SET colour = excluded.colour",
        )
        .bind(user.0)
        .bind(tag.as_str())
        .bind(colour.as_str()),
    };
    query.execute(tx).await.map_err(map_err)?;
    Ok(())
}
