//! The storage adapters: SQLite (the embedded default) and PostgreSQL, one
//! module each, every one split by feature (accounts, tasks, audit, outbox).
//! Each backend writes its own SQL where the dialects differ (row locks,
//! `SKIP LOCKED`, tag aggregation); what they share is the decoding of rows
//! into domain values, here in `rows`. One contract suite runs on both.

use std::sync::Arc;

use domain::ports::Store;
use domain::StoreError;

pub mod postgres;
mod rows;
pub mod sqlite;
mod time_engine;

/// Whether opening the store brings its schema up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrations {
    /// Apply what is pending (the embedded default, and `server migrate`).
    Apply,
    /// Apply nothing, and refuse a database whose schema is behind this
    /// build: in a cluster, a Job migrates once per release and pods only check.
    Require,
}

/// Opens the store that `database_url` names, migrating it first.
pub async fn connect(database_url: &str) -> Result<Arc<dyn Store>, StoreError> {
    connect_with(database_url, Migrations::Apply).await
}

/// Opens the store that `database_url` names: `sqlite:` (the default) or `postgres:`.
pub async fn connect_with(database_url: &str, migrations: Migrations) -> Result<Arc<dyn Store>, StoreError> {
    if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::PgStore::open(database_url, migrations).await?))
    } else if database_url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::open(database_url, migrations).await?))
    } else {
        Err(StoreError::backend(std::io::Error::other("DATABASE_URL must start with sqlite: or postgres:")))
    }
}

/// Applies `migrator`'s pending migrations, or, with `Require`, fails naming
/// how many are pending.
pub(crate) async fn migrate<'c, A>(
    migrator: &sqlx::migrate::Migrator,
    pool: A,
    migrations: Migrations,
) -> Result<(), StoreError>
where
    A: sqlx::Acquire<'c>,
    <A::Connection as std::ops::Deref>::Target: sqlx::migrate::Migrate,
{
    let mut conn = pool.acquire().await.map_err(map_err)?;
    if migrations == Migrations::Apply {
        return migrator.run_direct(&mut *conn).await.map_err(StoreError::backend);
    }
    // A database never migrated has no table to list: everything is pending.
    let applied: Vec<i64> = match sqlx::migrate::Migrate::list_applied_migrations(&mut *conn).await {
        Ok(applied) => applied.into_iter().map(|m| m.version).collect(),
        Err(_) => Vec::new(),
    };
    let pending = migrator.iter().filter(|m| !applied.contains(&m.version)).count();
    if pending > 0 {
        return Err(StoreError::backend(std::io::Error::other(format!(
            "the database is {pending} migration(s) behind this build: run `server migrate` first"
        ))));
    }
    Ok(())
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

/// Milliseconds since the epoch: how delivery schedules are stored, so both
/// databases compare them as plain integers.
pub(crate) fn millis(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp_millis()
}

/// The SQL spoken to a store where the two differ (full-text search).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// A value a task list's `WHERE` clause binds, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
    Time(chrono::DateTime<chrono::Utc>),
}

/// The `WHERE` clause of a task list and what it binds after its first three
/// parameters (`$1` the user, `$2` and `$3` the list-key range, exclusive).
/// Each part of the filter adds its clause only when it is set, so an
/// unfiltered list (and its count) reads nothing but the `(user_id, list_key)` index.
pub(crate) fn list_matches(filter: &domain::TaskFilter, dialect: Dialect) -> (String, Vec<Param>) {
    let mut sql = String::from("t.user_id = $1 AND t.list_key > $2 AND t.list_key < $3");
    let mut params: Vec<Param> = Vec::new();
    // Adds a parameter and names its placeholder.
    fn next(params: &mut Vec<Param>, value: Param) -> String {
        params.push(value);
        format!("${}", params.len() + 3)
    }
    // Sets of task ids first: with the list index holding the id, these are
    // tested without reading the row, which only the later clauses need.
    for tag in &filter.tags_all {
        let p = next(&mut params, Param::Text(tag.as_str().to_owned()));
        sql.push_str(&format!(" AND t.id IN (SELECT g.task_id FROM task_tags g WHERE g.user_id = $1 AND g.tag = {p})"));
    }
    for (set, negated) in [(&filter.tags_any, ""), (&filter.tags_none, "NOT ")] {
        if !set.is_empty() {
            let list: Vec<String> = set.iter().map(|t| next(&mut params, Param::Text(t.as_str().to_owned()))).collect();
            sql.push_str(&format!(
                " AND t.id {negated}IN (SELECT g.task_id FROM task_tags g WHERE g.user_id = $1 AND g.tag IN ({}))",
                list.join(", ")
            ));
        }
    }
    if !filter.terms.is_empty() {
        // The terms are folded runs of letters and digits: nothing in them is syntax to either engine.
        match dialect {
            Dialect::Sqlite => {
                let query = filter.terms.iter().map(|t| format!("\"{t}\"*")).collect::<Vec<_>>().join(" ");
                let p = next(&mut params, Param::Text(query));
                sql.push_str(&format!(
                    " AND t.id IN (SELECT m.task_id FROM task_search s JOIN task_search_ids m ON m.id = s.rowid \
                     WHERE task_search MATCH {p})"
                ));
            }
            Dialect::Postgres => {
                let query = filter.terms.iter().map(|t| format!("{t}:*")).collect::<Vec<_>>().join(" & ");
                let p = next(&mut params, Param::Text(query));
                sql.push_str(&format!(" AND t.search @@ to_tsquery('simple', cadence_fold({p}))"));
            }
        }
    }
    if !filter.priorities.is_empty() {
        let list: Vec<String> = filter.priorities.iter().map(|p| next(&mut params, Param::Int(p.rank()))).collect();
        sql.push_str(&format!(" AND t.priority IN ({})", list.join(", ")));
    }
    match filter.due {
        None => {}
        Some(domain::task_list::DueWindow::Undated) => sql.push_str(" AND t.due_at IS NULL"),
        Some(domain::task_list::DueWindow::Between { from, to }) => {
            sql.push_str(" AND t.due_at IS NOT NULL");
            if let Some(from) = from {
                sql.push_str(&format!(" AND t.due_at >= {}", next(&mut params, Param::Time(from))));
            }
            if let Some(to) = to {
                sql.push_str(&format!(" AND t.due_at < {}", next(&mut params, Param::Time(to))));
            }
        }
    }
    match filter.recurring {
        Some(true) => sql.push_str(" AND t.series_id IS NOT NULL"),
        Some(false) => sql.push_str(" AND t.series_id IS NULL"),
        None => {}
    }
    match filter.has_reminders {
        Some(true) => sql.push_str(" AND t.reminders <> ''"),
        Some(false) => sql.push_str(" AND t.reminders = ''"),
        None => {}
    }
    (sql, params)
}

/// Binds what `list_matches` numbered after its first three parameters.
pub(crate) fn bind_params<'q, DB, O>(
    mut query: sqlx::query::QueryAs<'q, DB, O, <DB as sqlx::Database>::Arguments<'q>>,
    params: &'q [Param],
) -> sqlx::query::QueryAs<'q, DB, O, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    chrono::DateTime<chrono::Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for param in params {
        query = match param {
            Param::Int(n) => query.bind(*n),
            Param::Text(text) => query.bind(text.as_str()),
            Param::Time(at) => query.bind(*at),
        };
    }
    query
}

/// A user's distinct tags in order, one index probe per tag (a "loose index
/// scan"), rather than reading every tag of every task to drop the repeats.
pub(crate) const DISTINCT_TAGS: &str = "WITH RECURSIVE seen(tag) AS ( \
         SELECT MIN(tag) FROM task_tags WHERE user_id = $1 \
         UNION ALL \
         SELECT (SELECT MIN(g.tag) FROM task_tags g WHERE g.user_id = $1 AND g.tag > seen.tag) \
         FROM seen WHERE seen.tag IS NOT NULL) \
     SELECT tag FROM seen WHERE tag IS NOT NULL";

/// The subscriber whose open deliveries the activity log reads as well.
pub(crate) const AUDIT_SUBSCRIBER: &str = crate::spine::consumers::AuditLogger::NAME;

/// The user's events the audit consumer has not recorded yet, from the outbox:
/// joined with what it has, the activity log shows every committed change at
/// once (read-your-writes), though the log itself is kept asynchronously.
pub(crate) const UNRECORDED_EVENTS: &str = "SELECT o.payload FROM outbox_deliveries d JOIN outbox o ON o.seq = d.seq \
     WHERE d.subscriber = $1 AND d.done_at IS NULL AND o.user_id = $2";

/// Joins recorded entries with events not recorded yet: one entry per event,
/// newest first, only one task's when `task` is given, at most `limit`.
pub(crate) fn merge_activity(
    mut entries: Vec<domain::event::AuditEntry>,
    unrecorded: impl IntoIterator<Item = serde_json::Value>,
    task: Option<domain::TaskId>,
    limit: u32,
) -> Vec<domain::event::AuditEntry> {
    for value in unrecorded {
        // An event that cannot be read is a dead letter's business, not the page's.
        let Ok(event) = domain::EventEnvelope::decode(&value) else { continue };
        if !event.payload.is_audited() || (task.is_some() && event.task_id != task) {
            continue;
        }
        if !entries.iter().any(|e| e.event_id == event.id) {
            entries.push(domain::event::AuditEntry::from_envelope(&event));
        }
    }
    entries.sort_by(|a, b| b.occurred_at.cmp(&a.occurred_at).then(b.event_id.cmp(&a.event_id)));
    entries.truncate(limit as usize);
    entries
}

/// Decodes a query's rows into domain values, failing on the first that does not parse.
pub(crate) fn decode_all<R, T>(
    rows: Vec<R>,
    decode: impl Fn(R) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.into_iter().map(decode).collect()
}

/// What a pool holds now, for the metrics.
pub(crate) fn usage<DB: sqlx::Database>(name: &'static str, pool: &sqlx::Pool<DB>) -> domain::ports::PoolUsage {
    let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
    domain::ports::PoolUsage { name, open: pool.size(), idle, max: pool.options().get_max_connections() }
}
