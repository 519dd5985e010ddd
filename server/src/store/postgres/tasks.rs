//! Tasks on PostgreSQL: the list reads one range of the `(user_id, list_key)`
//! index (the key is collated "C", so it compares byte by byte), tags come
//! aggregated with their task, and a change reads its task `FOR UPDATE`.

use async_trait::async_trait;
use domain::ports::TaskStore;
use domain::task::{Priority, Tag, Task, TaskId};
use domain::{Cursor, ListKey, PageRequest, StoreError, TaskFilter, TaskPage, UserId};
use sqlx::{PgConnection, PgPool};

use super::{expect_one, PgStore};
use crate::store::rows::{tag, SummaryRow, TaskRow, TASK_COLUMNS};
use crate::store::{decode_all, map_err};

/// A list row's columns, with its tags in order.
const SUMMARY: &str = "SELECT t.id, t.title, t.priority, t.due_at, t.due_tz, t.due_has_time, t.completed_at, \
     t.created_at, (SELECT string_agg(g.tag, ',' ORDER BY g.position) FROM task_tags g WHERE g.task_id = t.id) AS tags \
     FROM tasks t";

/// The filter: $1 user, $2 and $3 the key range (exclusive), $4 priority, $5 tag.
const MATCHES: &str = "t.user_id = $1 AND t.list_key > $2 AND t.list_key < $3 \
     AND ($4 IS NULL OR t.priority = $4) \
     AND ($5 IS NULL OR EXISTS (SELECT 1 FROM task_tags g WHERE g.task_id = t.id AND g.tag = $5))";

#[async_trait]
impl TaskStore for PgStore {
    async fn task(&self, user: UserId, id: TaskId) -> Result<Task, StoreError> {
        let mut conn = self.reader().acquire().await.map_err(map_err)?;
        load_task(&mut conn, user, id, Lock::None).await
    }

    async fn tasks(&self, user: UserId, filter: &TaskFilter, page: &PageRequest) -> Result<TaskPage, StoreError> {
        let bound = filter.key_upper_bound();
        let (low, high, order) = match &page.cursor {
            Cursor::Start => ("", bound, "ASC"),
            Cursor::After(key) => (key.as_str(), bound, "ASC"),
            Cursor::Before(key) => ("", key.as_str().min(bound), "DESC"),
        };
        let priority = filter.priority.map(Priority::rank);
        let tag = filter.tag.as_ref().map(Tag::as_str);
        // One row more than the page shows, to know whether another page follows.
        let rows: Vec<SummaryRow> =
            sqlx::query_as(&format!("{SUMMARY} WHERE {MATCHES} ORDER BY t.list_key {order} LIMIT $6"))
                .bind(user.0)
                .bind(low)
                .bind(high)
                .bind(priority)
                .bind(tag)
                .bind(i64::from(page.size) + 1)
                .fetch_all(self.reader())
                .await
                .map_err(map_err)?;
        let mut tasks = decode_all(rows, SummaryRow::into_summary)?;
        let more = tasks.len() > page.size as usize;
        tasks.truncate(page.size as usize);
        if order == "DESC" {
            tasks.reverse();
        }
        let first = tasks.first().map(|t| t.list_key());
        let (total, before): (i64, i64) = sqlx::query_as(&format!(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE t.list_key < $6) FROM tasks t WHERE {MATCHES}"
        ))
        .bind(user.0)
        .bind("")
        .bind(bound)
        .bind(priority)
        .bind(tag)
        .bind(first.as_ref().map_or(high, ListKey::as_str))
        .fetch_one(self.reader())
        .await
        .map_err(map_err)?;
        let more_after = match page.cursor {
            Cursor::Before(_) => !tasks.is_empty(),
            _ => more,
        };
        Ok(TaskPage {
            tasks,
            total: u64::try_from(total).unwrap_or(0),
            offset: u64::try_from(before).unwrap_or(0),
            more_after,
        })
    }

    async fn tags(&self, user: UserId) -> Result<Vec<Tag>, StoreError> {
        let names: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT tag FROM task_tags WHERE user_id = $1 ORDER BY tag")
                .bind(user.0)
                .fetch_all(self.reader())
                .await
                .map_err(map_err)?;
        decode_all(names, tag)
    }
}

/// Whether a read locks the row until its transaction ends.
pub(super) enum Lock {
    None,
    ForUpdate,
}

/// One of `user`'s tasks with its tags, read on `conn` (pooled, or a transaction).
pub(super) async fn load_task(
    conn: &mut PgConnection,
    user: UserId,
    id: TaskId,
    lock: Lock,
) -> Result<Task, StoreError> {
    let lock = match lock {
        Lock::None => "",
        Lock::ForUpdate => " FOR UPDATE",
    };
    let row: TaskRow =
        sqlx::query_as(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1 AND user_id = $2{lock}"))
            .bind(id.0)
            .bind(user.0)
            .fetch_one(&mut *conn)
            .await
            .map_err(map_err)?;
    let tags: Vec<String> = sqlx::query_scalar("SELECT tag FROM task_tags WHERE task_id = $1 ORDER BY position")
        .bind(id.0)
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
    row.into_task(tags)
}

pub(super) async fn insert_task(tx: &mut PgConnection, t: &Task) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO tasks ({TASK_COLUMNS}, list_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(t.id.0)
    .bind(t.user_id.0)
    .bind(t.title.as_str())
    .bind(t.description.as_ref().map(|d| d.as_str()))
    .bind(t.priority.rank())
    .bind(t.due.map(|d| d.at))
    .bind(t.due.map(|d| d.zone.name()))
    .bind(t.due.is_some_and(|d| d.time.is_some()))
    .bind(t.completed_at)
    .bind(t.created_at)
    .bind(t.updated_at)
    .bind(ListKey::for_task(t).as_str())
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    write_tags(tx, t).await
}

pub(super) async fn update_task(tx: &mut PgConnection, t: &Task) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE tasks SET title = $1, description = $2, priority = $3, due_at = $4, due_tz = $5, \
         due_has_time = $6, completed_at = $7, updated_at = $8, list_key = $9 WHERE id = $10 AND user_id = $11",
    )
    .bind(t.title.as_str())
    .bind(t.description.as_ref().map(|d| d.as_str()))
    .bind(t.priority.rank())
    .bind(t.due.map(|d| d.at))
    .bind(t.due.map(|d| d.zone.name()))
    .bind(t.due.is_some_and(|d| d.time.is_some()))
    .bind(t.completed_at)
    .bind(t.updated_at)
    .bind(ListKey::for_task(t).as_str())
    .bind(t.id.0)
    .bind(t.user_id.0)
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    expect_one(done.rows_affected())?;
    write_tags(tx, t).await
}

pub(super) async fn delete_task(tx: &mut PgConnection, user: UserId, id: TaskId) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM tasks WHERE id = $1 AND user_id = $2")
        .bind(id.0)
        .bind(user.0)
        .execute(tx)
        .await
        .map_err(map_err)?;
    expect_one(done.rows_affected())
}

async fn write_tags(tx: &mut PgConnection, task: &Task) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM task_tags WHERE task_id = $1").bind(task.id.0).execute(&mut *tx).await.map_err(map_err)?;
    for (position, tag) in task.tags.iter().enumerate() {
        sqlx::query("INSERT INTO task_tags (task_id, user_id, tag, position) VALUES ($1, $2, $3, $4)")
            .bind(task.id.0)
            .bind(task.user_id.0)
            .bind(tag.as_str())
            .bind(position as i64)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    }
    Ok(())
}

/// Gives tasks written before list keys existed their key; a no-op afterwards.
pub(super) async fn backfill_list_keys(pool: &PgPool) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(map_err)?;
    let rows: Vec<TaskRow> =
        sqlx::query_as(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE list_key = '' FOR UPDATE"))
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?;
    for row in rows {
        let task = row.into_task(Vec::new())?;
        sqlx::query("UPDATE tasks SET list_key = $1 WHERE id = $2")
            .bind(ListKey::for_task(&task).as_str())
            .bind(task.id.0)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    }
    tx.commit().await.map_err(map_err)
}
