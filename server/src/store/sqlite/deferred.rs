//! Statements a SQLite unit of work holds back and sends together: the
//! writes whose answer is known in advance (a new task, its tags and timers,
//! an event and its deliveries, the feed and list version at commit). Each
//! statement sent alone costs two hand-offs between the async runtime and the
//! connection's thread, and those hand-offs, not SQLite's work, were most of
//! a create's time; a create now reaches the database in one query, from
//! `BEGIN IMMEDIATE` to `COMMIT`. Its placeholders are anonymous (`?`), and
//! sqlx binds them across the query's statements in order.

use chrono::{DateTime, Utc};
use domain::event::EventEnvelope;
use domain::repeat::SeriesId;
use domain::task::Task;
use domain::timer::Timer;
use domain::{reminder, ListKey, StoreError, UserId};
use sqlx::error::BoxDynError;
use sqlx::sqlite::SqliteArguments;
use sqlx::{Arguments, SqliteConnection};
use uuid::Uuid;

use crate::store::rows::{occurrence_text, repeat_text, tags_text, TASK_COLUMNS, TIMER_COLUMNS};
use crate::store::{map_err, millis};

/// One argument, kept (owned, so a group can be written again unit by unit)
/// until the statements are sent.
pub(super) enum Arg {
    Uuid(Option<Uuid>),
    Text(Option<String>),
    Int(i64),
    Bool(bool),
    Time(Option<DateTime<Utc>>),
}

impl From<Uuid> for Arg {
    fn from(v: Uuid) -> Self {
        Self::Uuid(Some(v))
    }
}
impl From<Option<Uuid>> for Arg {
    fn from(v: Option<Uuid>) -> Self {
        Self::Uuid(v)
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Self::Text(Some(v))
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Self::Text(Some(v.to_owned()))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Self::Text(v)
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}
impl From<DateTime<Utc>> for Arg {
    fn from(v: DateTime<Utc>) -> Self {
        Self::Time(Some(v))
    }
}
impl From<Option<DateTime<Utc>>> for Arg {
    fn from(v: Option<DateTime<Utc>>) -> Self {
        Self::Time(v)
    }
}

impl Arg {
    fn add_to(&self, args: &mut SqliteArguments<'static>) -> Result<(), BoxDynError> {
        match self {
            Self::Uuid(v) => args.add(*v),
            Self::Text(v) => args.add(v.clone()),
            Self::Int(v) => args.add(*v),
            Self::Bool(v) => args.add(*v),
            Self::Time(v) => args.add(*v),
        }
    }
}

/// Sends `parts`' statements in one query, after `first` and before `last`
/// (each a statement without arguments, or ""): a unit of work's writes
/// between `BEGIN IMMEDIATE` and `COMMIT`, or a group's. On failure the
/// statements after the one that failed did not run, and the transaction is
/// the caller's to roll back.
pub(super) async fn send_between(
    conn: &mut SqliteConnection,
    first: &str,
    parts: &[&Deferred],
    last: &str,
) -> Result<u64, StoreError> {
    let mut sql = String::new();
    let mut args = SqliteArguments::default();
    if !first.is_empty() {
        sql.push_str(first);
        sql.push_str(";\n");
    }
    for part in parts {
        sql.push_str(&part.sql);
        for arg in &part.args {
            arg.add_to(&mut args).map_err(StoreError::Backend)?;
        }
    }
    // Every part's new search rows in one statement, after every other
    // write: FTS5 flushes its pending rows at each statement that follows
    // (migration 0016), so written last they make one segment.
    let search: Vec<String> = parts.iter().flat_map(|p| &p.search).map(|id| id.simple().to_string()).collect();
    if !search.is_empty() {
        sql.push_str(SEARCH_ROWS);
        sql.push_str(";\n");
        args.add(serde_json::to_string(&search).expect("ids serialise")).map_err(StoreError::Backend)?;
    }
    if !last.is_empty() {
        sql.push_str(last);
        sql.push_str(";\n");
    }
    let done = sqlx::query_with(&sql, args).execute(conn).await.map_err(map_err)?;
    Ok(done.rows_affected())
}

/// The search rows of the tasks whose ids (hex, in a JSON array) are bound:
/// the same columns the update trigger of migration 0013 writes.
const SEARCH_ROWS: &str = "INSERT INTO task_search (rowid, title, body, scope) \
     SELECT search_id, title, COALESCE(description, '') || ' ' || replace(tags, ',', ' '), \
     'u' || lower(hex(user_id)) || ' u' || lower(hex(user_id)) || (CASE WHEN list_key < '1' THEN 'o' ELSE 'd' END) \
     FROM tasks WHERE id IN (SELECT unhex(value) FROM json_each(?))";

/// Statements not yet sent, and their arguments in order.
#[derive(Default)]
pub(super) struct Deferred {
    sql: String,
    args: Vec<Arg>,
    /// Tasks whose search rows are written after every statement (see `send_between`).
    search: Vec<Uuid>,
}

impl Deferred {
    pub fn is_empty(&self) -> bool {
        self.sql.is_empty() && self.search.is_empty()
    }

    /// The search rows of tasks inserted in this transaction, written when
    /// it is sent, after everything else. Only for statements sent with the
    /// transaction's `COMMIT`: a search row followed by other writes costs a
    /// segment of its own.
    pub fn index_search(&mut self, tasks: impl IntoIterator<Item = Uuid>) {
        self.search.extend(tasks);
    }

    /// Appends one statement; `bind` adds its arguments, one per `?`, in order.
    pub fn push(&mut self, sql: &str, bind: impl FnOnce(&mut Binder<'_>)) {
        self.sql.push_str(sql);
        self.sql.push_str(";\n");
        bind(&mut Binder { deferred: self });
    }

    /// Sends every statement in one query; on failure the statements after
    /// the one that failed did not run, and the transaction is the caller's to roll back.
    pub async fn send(&self, conn: &mut SqliteConnection) -> Result<u64, StoreError> {
        send_between(conn, "", &[self], "").await
    }

    /// A task's row, unless its series already has an instance for its occurrence.
    pub fn insert_task(&mut self, t: &Task) {
        let sql = format!(
            "INSERT INTO tasks ({TASK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (series_id, occurrence) WHERE series_id IS NOT NULL DO NOTHING"
        );
        self.push(&sql, |b| {
            b.bind(t.id.0)
                .bind(t.user_id.0)
                .bind(t.title.as_str().to_owned())
                .bind(t.description.as_ref().map(|d| d.as_str().to_owned()))
                .bind(t.priority.rank())
                .bind(t.due.map(|d| d.at))
                .bind(t.due.map(|d| d.zone.name().to_owned()))
                .bind(t.due.is_some_and(|d| d.time.is_some()))
                .bind(t.completed_at)
                .bind(t.created_at)
                .bind(t.updated_at)
                .bind(tags_text(&t.tags))
                .bind(ListKey::for_task(t).as_str().to_owned())
                .bind(t.repeat.as_ref().map(|r| r.series.0))
                .bind(occurrence_text(t))
                .bind(repeat_text(t))
                .bind(reminder::format_list(&t.reminders));
        });
    }

    /// A task's series, unless it is written already.
    pub fn insert_series(&mut self, series: SeriesId, t: &Task) {
        self.push(
            "INSERT INTO task_series (id, user_id, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
            |b| {
                b.bind(series.0).bind(t.user_id.0).bind(t.created_at);
            },
        );
    }

    /// A new task's tag rows (it has none to replace).
    pub fn insert_tags(&mut self, t: &Task) {
        if t.tags.is_empty() {
            return;
        }
        let rows = vec!["(?, ?, ?, ?)"; t.tags.len()].join(", ");
        self.push(&format!("INSERT INTO task_tags (task_id, user_id, tag, position) VALUES {rows}"), |b| {
            for (position, tag) in t.tags.iter().enumerate() {
                b.bind(t.id.0).bind(t.user_id.0).bind(tag.as_str().to_owned()).bind(position as i64);
            }
        });
    }

    /// Timers of a task that has none yet.
    pub fn insert_timers(&mut self, timers: &[Timer]) {
        if timers.is_empty() {
            return;
        }
        let rows = vec!["(?, ?, ?, ?, ?, ?, ?)"; timers.len()].join(", ");
        self.push(&format!("INSERT INTO timers ({TIMER_COLUMNS}) VALUES {rows}"), |b| {
            for t in timers {
                b.bind(t.id.0)
                    .bind(t.user_id.0)
                    .bind(t.task_id.0)
                    .bind(t.kind.as_str())
                    .bind(millis(t.fire_at))
                    .bind(t.title.clone())
                    .bind(t.label.clone());
            }
        });
    }

    /// The event, and one delivery of it for every registered subscriber
    /// but those in `skip` (found by the event's id: `last_insert_rowid()`
    /// would move on with every delivery inserted).
    pub fn append_event(&mut self, e: &EventEnvelope, skip: &[&str]) {
        // The stored form of an envelope, as `sqlx::types::Json` writes it.
        let payload = serde_json::to_string(e).expect("an event envelope serialises");
        self.push(
            "INSERT INTO outbox (event_id, event_type, schema_version, user_id, occurred_at, payload, trace_parent) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            |b| {
                b.bind(e.id)
                    .bind(e.event_type.clone())
                    .bind(i64::from(e.schema_version))
                    .bind(e.user_id.0)
                    .bind(e.occurred_at)
                    .bind(payload)
                    .bind(crate::telemetry::trace::parent_of(e));
            },
        );
        self.push(
            "INSERT INTO outbox_deliveries (seq, subscriber, stream, available_at) \
             SELECT o.seq, s.name, ?, ? FROM outbox o CROSS JOIN subscribers s \
             WHERE o.event_id = ? AND s.name NOT IN (SELECT value FROM json_each(?))",
            |b| {
                b.bind(e.stream())
                    .bind(millis(e.occurred_at))
                    .bind(e.id)
                    .bind(serde_json::to_string(skip).expect("names serialise"));
            },
        );
    }

    /// Numbers `user`'s feed entries after the user's last (under the write
    /// lock the transaction holds) and writes each with the user's unread
    /// count as it stands; raises the user's list version in the same
    /// statement when `raise_list`.
    pub fn write_feed(
        &mut self,
        user: UserId,
        entries: Vec<(String, serde_json::Value)>,
        now: DateTime<Utc>,
        raise_list: bool,
    ) {
        let n = entries.len() as i64;
        self.push("UPDATE users SET feed_seq = feed_seq + ?, list_version = list_version + ? WHERE id = ?", |b| {
            b.bind(n).bind(i64::from(raise_list)).bind(user.0);
        });
        for (i, (event_type, data)) in entries.into_iter().enumerate() {
            // The data with the user's unread count added as its last key (as on
            // PostgreSQL), numbered from the new last.
            self.push(
                "INSERT INTO user_feed (user_id, seq, event_type, data, created_at) \
                 SELECT id, feed_seq - ?, ?, json_set(?, '$.unread', unread_notifications), ? FROM users WHERE id = ?",
                |b| {
                    b.bind(n - 1 - i as i64).bind(event_type).bind(data.to_string()).bind(now).bind(user.0);
                },
            );
        }
    }

    /// Raises `user`'s list version, for a change with no feed entry of theirs.
    pub fn touch_list(&mut self, user: UserId) {
        self.push("UPDATE users SET list_version = list_version + 1 WHERE id = ?", |b| {
            b.bind(user.0);
        });
    }
}

/// Adds one statement's arguments to the deferred ones.
pub(super) struct Binder<'d> {
    deferred: &'d mut Deferred,
}

impl Binder<'_> {
    pub fn bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.deferred.args.push(value.into());
        self
    }
}
