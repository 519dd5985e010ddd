//! Tasks on SQLite: the list reads one range of the `(user_id, list_key)`
//! index, and tags come aggregated with their task in the same query.

use async_trait::async_trait;
use domain::ports::TaskStore;
use domain::reminder;
use domain::task::{Tag, Task, TaskId};
use domain::{ListKey, PageRequest, StoreError, TaskFilter, TaskPage, UserId};
use sqlx::{SqliteConnection, SqlitePool};

use super::{expect_one, SqliteStore};
use crate::store::rows::{occurrence_text, repeat_text, tag, tags_text, SummaryRow, TaskRow, TASK_COLUMNS};
use crate::store::{bind_params, decode_all, map_err, Dialect, ListPlan, DISTINCT_TAGS};

/// A list row's columns, its tags among them.
const SUMMARY: &str = "SELECT t.id, t.title, t.priority, t.due_at, t.due_tz, t.due_has_time, t.completed_at, \
     t.created_at, t.tags, t.series_id IS NOT NULL AS recurring FROM tasks t";

#[async_trait]
impl TaskStore for SqliteStore {
    async fn task(&self, user: UserId, id: TaskId) -> Result<Task, StoreError> {
        let mut conn = self.reader().acquire().await.map_err(map_err)?;
        load_task(&mut conn, user, id).await
    }

    async fn tasks(&self, user: UserId, filter: &TaskFilter, page: &PageRequest) -> Result<TaskPage, StoreError> {
        let plan = ListPlan::new(filter, page, Dialect::Sqlite);
        let read = plan.rows(SUMMARY);
        // One connection for the page's three reads: the pool checks a connection on every release.
        let mut conn = self.reader().acquire().await.map_err(map_err)?;
        let rows: Vec<SummaryRow> =
            bind_params(sqlx::query_as(&read.sql).bind(user.0).bind(&read.low).bind(&read.high), &read.params)
                .fetch_all(&mut *conn)
                .await
                .map_err(map_err)?;
        let mut tasks = decode_all(rows, SummaryRow::into_summary)?;
        let more = tasks.len() > page.size as usize;
        tasks.truncate(page.size as usize);
        if plan.backwards() {
            tasks.reverse();
        }
        let count = plan.count(tasks.first());
        let (total, before): (i64, i64) =
            bind_params(sqlx::query_as(&count.sql).bind(user.0).bind(&count.low).bind(&count.high), &count.params)
                .fetch_one(&mut *conn)
                .await
                .map_err(map_err)?;
        let (tags, colours) = super::tags::tags_with_colours(&mut conn, user).await?;
        Ok(TaskPage {
            tags,
            colours,
            more_after: if plan.backwards() { !tasks.is_empty() } else { more },
            tasks,
            total: u64::try_from(total).unwrap_or(0),
            offset: u64::try_from(before).unwrap_or(0),
        })
    }

    async fn repeating_tasks(&self, user: UserId) -> Result<Vec<Task>, StoreError> {
        // Open tasks only, so the list index's open range bounds the read; a
        // series has one open instance, so this is one row per series.
        let rows: Vec<TaskRow> = sqlx::query_as(&format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE user_id = $1 AND list_key < '1' AND series_id IS NOT NULL \
             ORDER BY list_key LIMIT 1000"
        ))
        .bind(user.0)
        .fetch_all(self.reader())
        .await
        .map_err(map_err)?;
        decode_all(rows, TaskRow::into_task)
    }

    async fn prune_undo(&self, before: chrono::DateTime<chrono::Utc>) -> Result<u64, StoreError> {
        let mut conn = self.writer().acquire().await.map_err(map_err)?;
        super::undo::prune_undo(&mut conn, before).await
    }

    async fn undo_record(
        &self,
        user: UserId,
        id: domain::bulk::UndoId,
    ) -> Result<Option<domain::bulk::UndoRecord>, StoreError> {
        let mut conn = self.reader().acquire().await.map_err(map_err)?;
        super::undo::undo_record(&mut conn, user, id).await
    }

    async fn tags(&self, user: UserId) -> Result<Vec<Tag>, StoreError> {
        let mut conn = self.reader().acquire().await.map_err(map_err)?;
        distinct_tags(&mut conn, user).await
    }
}

async fn distinct_tags(conn: &mut SqliteConnection, user: UserId) -> Result<Vec<Tag>, StoreError> {
    let names: Vec<String> =
        sqlx::query_scalar(DISTINCT_TAGS).bind(user.0).fetch_all(&mut *conn).await.map_err(map_err)?;
    decode_all(names, tag)
}

/// One of `user`'s tasks with its tags, read on `conn` (pooled, or a transaction).
pub(super) async fn load_task(conn: &mut SqliteConnection, user: UserId, id: TaskId) -> Result<Task, StoreError> {
    let row: TaskRow = sqlx::query_as(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1 AND user_id = $2"))
        .bind(id.0)
        .bind(user.0)
        .fetch_one(conn)
        .await
        .map_err(map_err)?;
    row.into_task()
}

pub(super) async fn update_task(tx: &mut SqliteConnection, t: &Task) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE tasks SET title = $1, description = $2, priority = $3, due_at = $4, due_tz = $5, \
         due_has_time = $6, completed_at = $7, updated_at = $8, tags = $9, list_key = $10, \
         series_id = $13, occurrence = $14, repeat = $15, reminders = $16 \
         WHERE id = $11 AND user_id = $12",
    )
    .bind(t.title.as_str())
    .bind(t.description.as_ref().map(|d| d.as_str()))
    .bind(t.priority.rank())
    .bind(t.due.map(|d| d.at))
    .bind(t.due.map(|d| d.zone.name()))
    .bind(t.due.is_some_and(|d| d.time.is_some()))
    .bind(t.completed_at)
    .bind(t.updated_at)
    .bind(tags_text(&t.tags))
    .bind(ListKey::for_task(t).as_str())
    .bind(t.id.0)
    .bind(t.user_id.0)
    .bind(t.repeat.as_ref().map(|r| r.series.0))
    .bind(occurrence_text(t))
    .bind(repeat_text(t))
    .bind(reminder::format_list(&t.reminders))
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    expect_one(done.rows_affected())?;
    super::task_tags::replace_tags(tx, t).await
}

pub(super) async fn delete_task(tx: &mut SqliteConnection, user: UserId, id: TaskId) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM tasks WHERE id = $1 AND user_id = $2")
        .bind(id.0)
        .bind(user.0)
        .execute(tx)
        .await
        .map_err(map_err)?;
    expect_one(done.rows_affected())
}

/// Gives tasks written before list keys existed their key; a no-op afterwards.
pub(super) async fn backfill_list_keys(pool: &SqlitePool) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
    let rows: Vec<TaskRow> = sqlx::query_as(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE list_key = ''"))
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
    for row in rows {
        let task = row.into_task()?;
        sqlx::query("UPDATE tasks SET list_key = $1 WHERE id = $2")
            .bind(ListKey::for_task(&task).as_str())
            .bind(task.id.0)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    }
    tx.commit().await.map_err(map_err)
}
