//! Tasks on PostgreSQL: the list reads one range of the `(user_id, list_key)`
//! index (the key is collated "C", so it compares byte by byte), tags come
//! aggregated with their task, and a change reads its task `FOR UPDATE`.

use async_trait::async_trait;
use domain::ports::TaskStore;
use domain::reminder;
use domain::task::{Tag, Task, TaskId};
use domain::{ListKey, PageRequest, StoreError, TaskFilter, TaskPage, UserId};
use sqlx::{PgConnection, PgPool};

use super::{expect_one, PgStore};
use crate::store::rows::{occurrence_text, repeat_text, tag, tags_text, SummaryRow, TaskRow, TASK_COLUMNS};
use crate::store::{bind_params, decode_all, map_err, Dialect, ListPlan, ListRead, DISTINCT_TAGS};

/// A list row's columns, its tags among them.
macro_rules! summary_columns {
    () => {
        "t.id, t.title, t.priority, t.due_at, t.due_tz, t.due_has_time, t.completed_at, t.created_at, t.tags, \
         t.series_id IS NOT NULL AS recurring"
    };
}
const SUMMARY: &str = concat!("SELECT ", summary_columns!(), " FROM tasks t");
/// The same with the count of every match (`ListPlan::ranked_with_count`).
const SUMMARY_COUNTED: &str =
    concat!("SELECT ", summary_columns!(), ", (SELECT COUNT(*) FROM m) AS total FROM tasks t");

/// A list row and the count of every match the page was read from.
#[derive(sqlx::FromRow)]
struct CountedRow {
    #[sqlx(flatten)]
    row: SummaryRow,
    total: i64,
}

#[async_trait]
impl TaskStore for PgStore {
    async fn task(&self, user: UserId, id: TaskId) -> Result<Task, StoreError> {
        let mut conn = self.reader().acquire().await.map_err(map_err)?;
        load_task(&mut conn, user, id, Lock::None).await
    }

    async fn tasks(&self, user: UserId, filter: &TaskFilter, page: &PageRequest) -> Result<TaskPage, StoreError> {
        let plan = ListPlan::new(filter, page, Dialect::Postgres);
        // One connection for the page's three reads: the pool checks a connection on every release.
        let mut conn = self.reader().acquire().await.map_err(map_err)?;
        // A ranked first page whose title hits fill it near the top of the list needs no sort of every match.
        let mut rows = None;
        if let Some(read) = plan.title_window(SUMMARY) {
            let found = list_rows(&mut conn, user, &read).await?;
            rows = (found.len() > page.size as usize).then_some(found);
        }
        let mut counted = None;
        let rows = match rows {
            Some(rows) => rows,
            None => match plan.ranked_with_count(SUMMARY_COUNTED) {
                Some(read) => {
                    let found: Vec<CountedRow> = list_rows(&mut conn, user, &read).await?;
                    counted = Some(found.first().map_or(0, |r| r.total));
                    found.into_iter().map(|r| r.row).collect()
                }
                None => list_rows(&mut conn, user, &plan.rows(SUMMARY)).await?,
            },
        };
        let mut tasks = decode_all(rows, SummaryRow::into_summary)?;
        let more = tasks.len() > page.size as usize;
        tasks.truncate(page.size as usize);
        if plan.backwards() {
            tasks.reverse();
        }
        let (total, before): (i64, i64) = match counted {
            // A first page: nothing before it, and the count capped as `count` caps it.
            Some(total) => (total.min(domain::task_list::COUNT_CAP as i64 + 1), 0),
            None => {
                let count = plan.count(tasks.first());
                bind_params(sqlx::query_as(&count.sql).bind(user.0).bind(&count.low).bind(&count.high), &count.params)
                    .persistent(false)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(map_err)?
            }
        };
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

/// Whether a read locks the row until its transaction ends.
pub(super) enum Lock {
    None,
    ForUpdate,
}

async fn distinct_tags(conn: &mut PgConnection, user: UserId) -> Result<Vec<Tag>, StoreError> {
    let names: Vec<String> =
        sqlx::query_scalar(DISTINCT_TAGS).bind(user.0).fetch_all(&mut *conn).await.map_err(map_err)?;
    decode_all(names, tag)
}

/// A list read's rows. Unnamed statements, planned for their values each
/// time: a cached generic plan cannot tell a search that matches a tenth of
/// the list from one that matches three tasks.
async fn list_rows<R>(conn: &mut PgConnection, user: UserId, read: &ListRead) -> Result<Vec<R>, StoreError>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    bind_params(sqlx::query_as(&read.sql).bind(user.0).bind(&read.low).bind(&read.high), &read.params)
        .persistent(false)
        .fetch_all(conn)
        .await
        .map_err(map_err)
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
            .fetch_one(conn)
            .await
            .map_err(map_err)?;
    row.into_task()
}

/// Writes a task; false, and nothing written, when its series already has
/// an instance for its occurrence.
pub(super) async fn insert_task(tx: &mut PgConnection, t: &Task) -> Result<bool, StoreError> {
    if let Some(repeat) = &t.repeat {
        sqlx::query(
            "INSERT INTO task_series (id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
        )
        .bind(repeat.series.0)
        .bind(t.user_id.0)
        .bind(t.created_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    }
    if !insert_row(tx, t).await? {
        return Ok(false);
    }
    super::task_tags::insert_tags(tx, t).await?;
    Ok(true)
}

/// Writes a task's row (not its tags); returns whether it was written: an
/// instance whose series has one for its occurrence already is not.
async fn insert_row(tx: &mut PgConnection, t: &Task) -> Result<bool, StoreError> {
    let mut insert = sqlx::QueryBuilder::new(format!("INSERT INTO tasks ({TASK_COLUMNS}) "));
    insert.push_values([t], |mut row, t| {
        row.push_bind(t.id.0)
            .push_bind(t.user_id.0)
            .push_bind(t.title.as_str())
            .push_bind(t.description.as_ref().map(|d| d.as_str()))
            .push_bind(t.priority.rank())
            .push_bind(t.due.map(|d| d.at))
            .push_bind(t.due.map(|d| d.zone.name()))
            .push_bind(t.due.is_some_and(|d| d.time.is_some()))
            .push_bind(t.completed_at)
            .push_bind(t.created_at)
            .push_bind(t.updated_at)
            .push_bind(tags_text(&t.tags))
            .push_bind(ListKey::for_task(t).as_str().to_owned())
            .push_bind(t.repeat.as_ref().map(|r| r.series.0))
            .push_bind(occurrence_text(t))
            .push_bind(repeat_text(t))
            .push_bind(reminder::format_list(&t.reminders));
    });
    insert.push(" ON CONFLICT (series_id, occurrence) WHERE series_id IS NOT NULL DO NOTHING");
    let done = insert.build().execute(&mut *tx).await.map_err(map_err)?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn update_task(tx: &mut PgConnection, t: &Task) -> Result<(), StoreError> {
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

pub(super) async fn delete_task(tx: &mut PgConnection, user: UserId, id: TaskId) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM tasks WHERE id = $1 AND user_id = $2")
        .bind(id.0)
        .bind(user.0)
        .execute(tx)
        .await
        .map_err(map_err)?;
    expect_one(done.rows_affected())
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
