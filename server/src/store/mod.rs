//! The storage adapters. Both backends run the same SQL (sqlx binds `$1`-style
//! parameters on SQLite too), so one macro writes the `Store` and `UnitOfWork`
//! implementations for each; only connection set-up and migrations differ.

use std::sync::Arc;

use domain::ports::Store;
use domain::StoreError;

pub mod postgres;
pub mod sqlite;

/// Opens the store that `database_url` names: `sqlite:` (the default) or `postgres:`.
pub async fn connect(database_url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::PgStore::connect(database_url).await?))
    } else if database_url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(database_url).await?))
    } else {
        Err(StoreError::backend(std::io::Error::other("DATABASE_URL must start with sqlite: or postgres:")))
    }
}

/// Turns a sqlx error into the store's vocabulary: unique violations become a
/// `Conflict` naming the field, everything else stays an opaque backend error.
pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let text = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
            let field = if text.contains("email") {
                "email"
            } else if text.contains("task_tags") {
                "tags"
            } else if text.contains("event_id") {
                "event id"
            } else {
                "id"
            };
            StoreError::Conflict { field }
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::backend(e),
    }
}

/// Writes `impl Store` for `$store` (with `reader()`/`writer()` pools) and
/// `impl UnitOfWork` for `$uow` (wrapping a `Transaction<'static, $db>`).
macro_rules! impl_store {
    ($store:ty, $uow:ident, $db:ty, $row:ty) => {
        use async_trait::async_trait;
        use chrono::{DateTime, Utc};
        use domain::event::{AuditEntry, EventEnvelope, OutboxRecord};
        use domain::ports::{SessionRecord, Store, UnitOfWork};
        use domain::task::{
            Due, PageRequest, Priority, Tag, Tags, Task, TaskDescription, TaskFilter, TaskId, TaskPage, TaskTitle,
        };
        use domain::{DisplayName, Email, StoreError, TimeZone, User, UserId};
        use sqlx::types::Json;
        use sqlx::Row as _;
        use uuid::Uuid;

        use crate::store::map_err;

        /// One transaction; dropping it unfinished rolls back.
        pub struct $uow {
            tx: sqlx::Transaction<'static, $db>,
        }

        const USER_COLUMNS: &str = "id, email, display_name, time_zone, created_at";
        const TASK_COLUMNS: &str = "id, user_id, title, description, priority, due_at, due_tz, \
             due_has_time, completed_at, created_at, updated_at";

        fn corrupt(what: &str, e: domain::ValidationError) -> StoreError {
            StoreError::backend(std::io::Error::other(format!("stored {what} does not parse: {e}")))
        }

        fn user_from_row(row: &$row) -> Result<User, StoreError> {
            let email: String = row.try_get("email").map_err(map_err)?;
            let name: String = row.try_get("display_name").map_err(map_err)?;
            let zone: String = row.try_get("time_zone").map_err(map_err)?;
            Ok(User {
                id: UserId(row.try_get("id").map_err(map_err)?),
                email: Email::parse(&email).map_err(|e| corrupt("email", e))?,
                display_name: DisplayName::parse(&name).map_err(|e| corrupt("name", e))?,
                time_zone: TimeZone::parse(&zone).map_err(|e| corrupt("time zone", e))?,
                created_at: row.try_get("created_at").map_err(map_err)?,
            })
        }

        /// Builds a task from its row; tags are loaded separately.
        fn task_from_row(row: &$row) -> Result<Task, StoreError> {
            let title: String = row.try_get("title").map_err(map_err)?;
            let description: Option<String> = row.try_get("description").map_err(map_err)?;
            let due_at: Option<DateTime<Utc>> = row.try_get("due_at").map_err(map_err)?;
            let due_tz: Option<String> = row.try_get("due_tz").map_err(map_err)?;
            let due_has_time: bool = row.try_get("due_has_time").map_err(map_err)?;
            let due = match (due_at, due_tz) {
                (Some(at), Some(tz)) => Some(Due::from_stored(
                    at,
                    TimeZone::parse(&tz).map_err(|e| corrupt("due zone", e))?,
                    due_has_time,
                )),
                _ => None,
            };
            Ok(Task {
                id: TaskId(row.try_get("id").map_err(map_err)?),
                user_id: UserId(row.try_get("user_id").map_err(map_err)?),
                title: TaskTitle::parse(&title).map_err(|e| corrupt("title", e))?,
                description: match description {
                    Some(d) => TaskDescription::parse(&d).map_err(|e| corrupt("description", e))?,
                    None => None,
                },
                priority: Priority::from_rank(row.try_get("priority").map_err(map_err)?),
                tags: Tags::default(),
                due,
                completed_at: row.try_get("completed_at").map_err(map_err)?,
                created_at: row.try_get("created_at").map_err(map_err)?,
                updated_at: row.try_get("updated_at").map_err(map_err)?,
            })
        }

        fn tags_from_rows(rows: &[$row]) -> Result<Vec<(Uuid, Tag)>, StoreError> {
            rows.iter()
                .map(|r| {
                    let name: String = r.try_get("tag").map_err(map_err)?;
                    Ok((r.try_get("task_id").map_err(map_err)?, Tag::parse(&name).map_err(|e| corrupt("tag", e))?))
                })
                .collect()
        }

        fn attach_tags(tasks: &mut [Task], tags: Vec<(Uuid, Tag)>) -> Result<(), StoreError> {
            let mut by_task: std::collections::HashMap<Uuid, Vec<Tag>> = std::collections::HashMap::new();
            for (task, tag) in tags {
                by_task.entry(task).or_default().push(tag);
            }
            for task in tasks {
                if let Some(list) = by_task.remove(&task.id.0) {
                    task.tags = Tags::from_tags(list).map_err(|e| corrupt("tags", e))?;
                }
            }
            Ok(())
        }

        /// One of `user`'s tasks with its tags, read on `conn` (a pooled connection or a transaction).
        async fn load_task(
            conn: &mut <$db as sqlx::Database>::Connection,
            user: UserId,
            id: TaskId,
        ) -> Result<Task, StoreError> {
            let row = sqlx::query(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1 AND user_id = $2"))
                .bind(id.0)
                .bind(user.0)
                .fetch_one(&mut *conn)
                .await
                .map_err(map_err)?;
            let mut task = [task_from_row(&row)?];
            load_tags(&mut *conn, user, &mut task).await?;
            let [task] = task;
            Ok(task)
        }

        /// Loads the tags of `user`'s `tasks` in one query, by their ids, and attaches them.
        async fn load_tags<'c>(
            exec: impl sqlx::Executor<'c, Database = $db>,
            user: UserId,
            tasks: &mut [Task],
        ) -> Result<(), StoreError> {
            if tasks.is_empty() {
                return Ok(());
            }
            let ids = (2..=tasks.len() + 1).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
            let query =
                format!("SELECT task_id, tag FROM task_tags WHERE user_id = $1 AND task_id IN ({ids}) ORDER BY position");
            let rows = tasks
                .iter()
                .fold(sqlx::query(&query).bind(user.0), |q, t| q.bind(t.id.0))
                .fetch_all(exec)
                .await
                .map_err(map_err)?;
            attach_tags(tasks, tags_from_rows(&rows)?)
        }

        #[async_trait]
        impl Store for $store {
            async fn begin(&self) -> Result<Box<dyn UnitOfWork>, StoreError> {
                let tx = self.writer().begin().await.map_err(map_err)?;
                Ok(Box::new($uow { tx }))
            }

            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(self.reader()).await.map_err(map_err)?;
                Ok(())
            }

            async fn user(&self, id: UserId) -> Result<User, StoreError> {
                let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
                    .bind(id.0)
                    .fetch_one(self.reader())
                    .await
                    .map_err(map_err)?;
                user_from_row(&row)
            }

            async fn user_by_email(&self, email: &Email) -> Result<Option<(User, String)>, StoreError> {
                let row = sqlx::query(&format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1"))
                    .bind(email.as_str())
                    .fetch_optional(self.reader())
                    .await
                    .map_err(map_err)?;
                match row {
                    Some(row) => Ok(Some((user_from_row(&row)?, row.try_get("password_hash").map_err(map_err)?))),
                    None => Ok(None),
                }
            }

            async fn password_hash(&self, id: UserId) -> Result<String, StoreError> {
                sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
                    .bind(id.0)
                    .fetch_one(self.reader())
                    .await
                    .map_err(map_err)
            }

            async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<SessionRecord>, StoreError> {
                let row = sqlx::query(
                    "SELECT token_hash, user_id, created_at, expires_at FROM sessions \
                     WHERE token_hash = $1 AND expires_at > $2",
                )
                .bind(token_hash)
                .bind(now)
                .fetch_optional(self.reader())
                .await
                .map_err(map_err)?;
                row.map(|r| {
                    Ok(SessionRecord {
                        token_hash: r.try_get("token_hash").map_err(map_err)?,
                        user_id: UserId(r.try_get("user_id").map_err(map_err)?),
                        created_at: r.try_get("created_at").map_err(map_err)?,
                        expires_at: r.try_get("expires_at").map_err(map_err)?,
                    })
                })
                .transpose()
            }

            async fn task(&self, user: UserId, id: TaskId) -> Result<Task, StoreError> {
                let mut conn = self.reader().acquire().await.map_err(map_err)?;
                load_task(&mut conn, user, id).await
            }

            async fn tasks(&self, user: UserId, filter: &TaskFilter, page: PageRequest) -> Result<TaskPage, StoreError> {
                // $1..$4 select, $5/$6 slice.
                const MATCHES: &str = "t.user_id = $1 AND ($2 OR t.completed_at IS NULL) \
                     AND ($3 IS NULL OR EXISTS (SELECT 1 FROM task_tags g WHERE g.task_id = t.id AND g.tag = $3)) \
                     AND ($4 IS NULL OR t.priority = $4)";
                const ORDER: &str = "(t.completed_at IS NOT NULL), (t.due_at IS NULL), t.due_at, t.priority DESC, t.created_at DESC, t.id";
                let tag = filter.tag.as_ref().map(|t| t.as_str().to_owned());
                let priority = filter.priority.map(Priority::rank);
                let limit = i64::from(page.size);
                let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
                let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM tasks t WHERE {MATCHES}"))
                    .bind(user.0)
                    .bind(filter.show_completed)
                    .bind(tag.clone())
                    .bind(priority)
                    .fetch_one(self.reader())
                    .await
                    .map_err(map_err)?;
                let rows = sqlx::query(&format!(
                    "SELECT {TASK_COLUMNS} FROM tasks t WHERE {MATCHES} ORDER BY {ORDER} LIMIT $5 OFFSET $6"
                ))
                .bind(user.0)
                .bind(filter.show_completed)
                .bind(tag)
                .bind(priority)
                .bind(limit)
                .bind(offset)
                .fetch_all(self.reader())
                .await
                .map_err(map_err)?;
                let mut tasks = rows.iter().map(task_from_row).collect::<Result<Vec<_>, _>>()?;
                // By the page's ids, so the filter, sort and offset run only once.
                load_tags(self.reader(), user, &mut tasks).await?;
                Ok(TaskPage { tasks, total: u64::try_from(total).unwrap_or(0) })
            }

            async fn tags(&self, user: UserId) -> Result<Vec<Tag>, StoreError> {
                let names: Vec<String> =
                    sqlx::query_scalar("SELECT DISTINCT tag FROM task_tags WHERE user_id = $1 ORDER BY tag")
                        .bind(user.0)
                        .fetch_all(self.reader())
                        .await
                        .map_err(map_err)?;
                names.iter().map(|n| Tag::parse(n).map_err(|e| corrupt("tag", e))).collect()
            }

            async fn activity(&self, user: UserId, task: Option<TaskId>, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
                let rows = sqlx::query(
                    "SELECT event_id, event_type, task_id, summary, occurred_at FROM audit_log \
                     WHERE user_id = $1 AND ($2 IS NULL OR task_id = $2) \
                     ORDER BY occurred_at DESC, event_id DESC LIMIT $3",
                )
                .bind(user.0)
                .bind(task.map(|t| t.0))
                .bind(i64::from(limit))
                .fetch_all(self.reader())
                .await
                .map_err(map_err)?;
                rows.iter()
                    .map(|r| {
                        Ok(AuditEntry {
                            event_id: r.try_get("event_id").map_err(map_err)?,
                            event_type: r.try_get("event_type").map_err(map_err)?,
                            task_id: r.try_get::<Option<Uuid>, _>("task_id").map_err(map_err)?.map(TaskId),
                            summary: r.try_get("summary").map_err(map_err)?,
                            occurred_at: r.try_get("occurred_at").map_err(map_err)?,
                        })
                    })
                    .collect()
            }

            async fn record_audit(&self, event: &EventEnvelope) -> Result<bool, StoreError> {
                let entry = AuditEntry::from_envelope(event);
                let done = sqlx::query(
                    "INSERT INTO audit_log (event_id, user_id, task_id, event_type, summary, occurred_at, recorded_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id) DO NOTHING",
                )
                .bind(entry.event_id)
                .bind(event.user_id.0)
                .bind(entry.task_id.map(|t| t.0))
                .bind(&entry.event_type)
                .bind(&entry.summary)
                .bind(entry.occurred_at)
                .bind(Utc::now())
                .execute(self.writer())
                .await
                .map_err(map_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn pending_events(&self, limit: u32) -> Result<Vec<OutboxRecord>, StoreError> {
                let rows = sqlx::query("SELECT seq, payload FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1")
                    .bind(i64::from(limit))
                    .fetch_all(self.writer())
                    .await
                    .map_err(map_err)?;
                rows.iter()
                    .map(|r| {
                        let Json(envelope): Json<EventEnvelope> = r.try_get("payload").map_err(map_err)?;
                        Ok(OutboxRecord { seq: r.try_get("seq").map_err(map_err)?, envelope })
                    })
                    .collect()
            }

            async fn mark_published(&self, seq: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
                sqlx::query("UPDATE outbox SET published_at = $1 WHERE seq = $2")
                    .bind(at)
                    .bind(seq)
                    .execute(self.writer())
                    .await
                    .map_err(map_err)?;
                Ok(())
            }
        }

        impl $uow {
            async fn write_tags(&mut self, task: &Task) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM task_tags WHERE task_id = $1")
                    .bind(task.id.0)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                for (position, tag) in task.tags.iter().enumerate() {
                    sqlx::query("INSERT INTO task_tags (task_id, user_id, tag, position) VALUES ($1, $2, $3, $4)")
                        .bind(task.id.0)
                        .bind(task.user_id.0)
                        .bind(tag.as_str())
                        .bind(position as i64)
                        .execute(&mut *self.tx)
                        .await
                        .map_err(map_err)?;
                }
                Ok(())
            }

            fn expect_one(done: u64) -> Result<(), StoreError> {
                if done == 0 {
                    Err(StoreError::NotFound)
                } else {
                    Ok(())
                }
            }
        }

        #[async_trait]
        impl UnitOfWork for $uow {
            async fn insert_user(&mut self, user: &User, password_hash: &str) -> Result<(), StoreError> {
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
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn update_user(&mut self, user: &User) -> Result<(), StoreError> {
                let done = sqlx::query("UPDATE users SET display_name = $1, time_zone = $2 WHERE id = $3")
                    .bind(user.display_name.as_str())
                    .bind(user.time_zone.name())
                    .bind(user.id.0)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Self::expect_one(done.rows_affected())
            }

            async fn set_password_hash(&mut self, user: UserId, hash: &str) -> Result<(), StoreError> {
                let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                    .bind(hash)
                    .bind(user.0)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Self::expect_one(done.rows_affected())
            }

            async fn insert_session(&mut self, s: &SessionRecord) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                    .bind(&s.token_hash)
                    .bind(s.user_id.0)
                    .bind(s.created_at)
                    .bind(s.expires_at)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn delete_other_sessions(&mut self, user: UserId, keep: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
                    .bind(user.0)
                    .bind(keep)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn task(&mut self, user: UserId, id: TaskId) -> Result<Task, StoreError> {
                load_task(&mut self.tx, user, id).await
            }

            async fn insert_task(&mut self, t: &Task) -> Result<(), StoreError> {
                sqlx::query(&format!(
                    "INSERT INTO tasks ({TASK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
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
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
                self.write_tags(t).await
            }

            async fn update_task(&mut self, t: &Task) -> Result<(), StoreError> {
                let done = sqlx::query(
                    "UPDATE tasks SET title = $1, description = $2, priority = $3, due_at = $4, due_tz = $5, \
                     due_has_time = $6, completed_at = $7, updated_at = $8 WHERE id = $9 AND user_id = $10",
                )
                .bind(t.title.as_str())
                .bind(t.description.as_ref().map(|d| d.as_str()))
                .bind(t.priority.rank())
                .bind(t.due.map(|d| d.at))
                .bind(t.due.map(|d| d.zone.name()))
                .bind(t.due.is_some_and(|d| d.time.is_some()))
                .bind(t.completed_at)
                .bind(t.updated_at)
                .bind(t.id.0)
                .bind(t.user_id.0)
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
                Self::expect_one(done.rows_affected())?;
                self.write_tags(t).await
            }

            async fn delete_task(&mut self, user: UserId, id: TaskId) -> Result<(), StoreError> {
                let done = sqlx::query("DELETE FROM tasks WHERE id = $1 AND user_id = $2")
                    .bind(id.0)
                    .bind(user.0)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(map_err)?;
                Self::expect_one(done.rows_affected())
            }

            async fn append_event(&mut self, e: &EventEnvelope) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO outbox (event_id, event_type, schema_version, user_id, occurred_at, payload) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(e.id)
                .bind(&e.event_type)
                .bind(i64::from(e.schema_version))
                .bind(e.user_id.0)
                .bind(e.occurred_at)
                .bind(Json(e))
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn commit(self: Box<Self>) -> Result<(), StoreError> {
                self.tx.commit().await.map_err(map_err)
            }
        }
    };
}

pub(crate) use impl_store;
