//! Writes a PostgreSQL unit of work holds back: those whose answer is known
//! in advance (a new task, its tags and timers, its events). A unit of work
//! that never needs an answer never opens a transaction of its own: it is
//! committed with others queued at the same moment (see `store::group_commit`).
//!
//! Whatever is held back is sent as one statement (`WRITE`): every table's
//! rows for the whole group as arrays, unnested by data-modifying CTEs, with
//! the feed's numbering and the users' list versions in the same statement.
//! A group is then one round trip, committed on its own as any statement
//! outside a transaction is; it used to be about ten (its begin, a statement
//! per table, one or two per user, its commit), each a wake-up of both
//! processes on a machine the server shares with its database. And the
//! statement's text is the same whatever the group's size, so it is parsed
//! and planned once per connection, not once per size as multi-row VALUES were.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::event::EventEnvelope;
use domain::task::Task;
use domain::timer::Timer;
use domain::{ListKey, StoreError, UserId};
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};
use uuid::Uuid;

use crate::store::group_commit::GroupWriter;
use crate::store::rows::{occurrence_text, repeat_text, tags_text};
use crate::store::{map_err, millis, FeedEntry};

/// Writes not yet sent.
#[derive(Default)]
pub(super) struct Pending {
    tasks: Vec<Task>,
    timers: Vec<Timer>,
    events: Vec<PendingEvent>,
}

/// An event as its outbox row, taken while its request is current (the
/// group is written on a task of its own, outside the request's trace).
struct PendingEvent {
    id: Uuid,
    event_type: String,
    schema_version: i64,
    user_id: Uuid,
    occurred_at: DateTime<Utc>,
    payload: String,
    trace_parent: Option<String>,
    stream: Uuid,
    /// The subscribers it is not delivered to, joined by commas (names have none).
    skip: String,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty() && self.timers.is_empty() && self.events.is_empty()
    }

    /// A task outside a series (one in a series may already have its occurrence).
    pub fn insert_task(&mut self, task: &Task) {
        debug_assert!(task.repeat.is_none(), "a series instance's insert has an answer to wait for");
        self.tasks.push(task.clone());
    }

    /// A new task's timers (it has none to replace).
    pub fn insert_timers(&mut self, timers: &[Timer]) {
        self.timers.extend_from_slice(timers);
    }

    /// An event, delivered to every registered subscriber but those in `skip`.
    pub fn append_event(&mut self, e: &EventEnvelope, skip: &[&str]) -> Result<(), StoreError> {
        self.events.push(PendingEvent {
            id: e.id,
            event_type: e.event_type.clone(),
            schema_version: i64::from(e.schema_version),
            user_id: e.user_id.0,
            occurred_at: e.occurred_at,
            payload: serde_json::to_string(e).map_err(StoreError::backend)?,
            trace_parent: crate::telemetry::trace::parent_of(e),
            stream: e.stream(),
            skip: skip.join(","),
        });
        Ok(())
    }

    /// Sends `units`' writes (in a transaction: a step is about to read).
    pub async fn send(conn: &mut PgConnection, units: &[&Pending]) -> Result<(), StoreError> {
        write(conn, units, Vec::new(), &[]).await.map(drop)
    }
}

/// The one statement a group, or a transaction's held-back writes, is sent as.
///
/// - `t`, `g`, `r`: the new tasks (none in a series, so none can conflict),
///   their tags and their timers. A tag row's foreign key is checked at the
///   statement's end, when its task is written.
/// - `v`, `o`, `d`: the events, numbered in the outbox in their order, and
///   one delivery of each for every registered subscriber not skipped.
/// - `f`, `n`, `k`, `u`, `e`: the feed. Each user's entries take the user's
///   next feed numbers, raised under the user's row lock, and carry the
///   user's unread count as it stands (added as the last key, as SQLite's
///   `json_set` adds it). The list version of each user in `$42` is raised in
///   the same update. The users' rows are locked in id order (`k`) first, so
///   two groups that share users wait for each other instead of deadlocking.
/// - The query itself tells other processes whose feed moved (`FeedWatcher`);
///   PostgreSQL sends the notifications at commit.
const WRITE: &str = "WITH \
     t AS (INSERT INTO tasks (id, user_id, title, description, priority, due_at, due_tz, due_has_time, \
               completed_at, created_at, updated_at, tags, list_key, series_id, occurrence, repeat, reminders) \
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int8[], $6::timestamptz[], \
               $7::text[], $8::bool[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::text[], \
               $13::text[], $14::uuid[], $15::text[], $16::text[], $17::text[])), \
     g AS (INSERT INTO task_tags (task_id, user_id, tag, position) \
         SELECT * FROM UNNEST($18::uuid[], $19::uuid[], $20::text[], $21::int8[])), \
     r AS (INSERT INTO timers (id, user_id, task_id, kind, fire_at, title, label) \
         SELECT * FROM UNNEST($22::uuid[], $23::uuid[], $24::uuid[], $25::text[], $26::int8[], $27::text[], \
               $28::text[])), \
     v AS (SELECT * FROM UNNEST($29::uuid[], $30::text[], $31::int8[], $32::uuid[], $33::timestamptz[], \
               $34::text[], $35::text[], $36::uuid[], $37::int8[], $38::text[]) WITH ORDINALITY \
           AS v(event_id, event_type, schema_version, user_id, occurred_at, payload, trace_parent, stream, \
                available_at, skip, ord)), \
     o AS (INSERT INTO outbox (event_id, event_type, schema_version, user_id, occurred_at, payload, trace_parent) \
         SELECT event_id, event_type, schema_version, user_id, occurred_at, payload::jsonb, trace_parent \
         FROM v ORDER BY ord RETURNING seq, event_id), \
     d AS (INSERT INTO outbox_deliveries (seq, subscriber, stream, available_at) \
         SELECT o.seq, s.name, v.stream, v.available_at FROM o JOIN v USING (event_id) CROSS JOIN subscribers s \
         WHERE s.name <> ALL (string_to_array(v.skip, ','))), \
     f AS (SELECT * FROM UNNEST($39::uuid[], $40::text[], $41::text[]) WITH ORDINALITY \
           AS f(user_id, event_type, data, ord)), \
     n AS (SELECT user_id, count(*) AS n FROM f GROUP BY user_id), \
     k AS (SELECT id FROM users WHERE id IN (SELECT user_id FROM n UNION SELECT unnest($42::uuid[])) \
           ORDER BY id FOR NO KEY UPDATE), \
     u AS (UPDATE users SET feed_seq = feed_seq + COALESCE(n.n, 0), \
               list_version = list_version + CASE WHEN users.id = ANY($42::uuid[]) THEN 1 ELSE 0 END \
           FROM k LEFT JOIN n ON n.user_id = k.id WHERE users.id = k.id \
           RETURNING users.id, users.feed_seq - COALESCE(n.n, 0) AS prev, users.unread_notifications AS unread), \
     e AS (INSERT INTO user_feed (user_id, seq, event_type, data, created_at) \
         SELECT f.user_id, u.prev + row_number() OVER (PARTITION BY f.user_id ORDER BY f.ord), f.event_type, \
                left(f.data, -1) || CASE WHEN f.data = '{}' THEN '' ELSE ',' END || '\"unread\":' || u.unread || '}', \
                $43 \
         FROM f JOIN u ON u.id = f.user_id) \
     SELECT pg_notify('cadence_feed', user_id::text) FROM n";

/// Sends `units`' writes, with feed entries to number and the users whose
/// list version to raise, as one statement; returns the users whose feed moved.
pub(super) async fn write(
    conn: &mut PgConnection,
    units: &[&Pending],
    feed: Vec<FeedEntry>,
    lists: &[UserId],
) -> Result<Vec<UserId>, StoreError> {
    if units.iter().all(|u| u.is_empty()) && feed.is_empty() && lists.is_empty() {
        return Ok(Vec::new());
    }
    let tasks: Vec<&Task> = units.iter().flat_map(|u| &u.tasks).collect();
    let tags: Vec<(Uuid, Uuid, &str, i64)> = tasks
        .iter()
        .flat_map(|t| {
            t.tags.iter().enumerate().map(|(position, tag)| (t.id.0, t.user_id.0, tag.as_str(), position as i64))
        })
        .collect();
    let timers: Vec<&Timer> = units.iter().flat_map(|u| &u.timers).collect();
    let events: Vec<&PendingEvent> = units.iter().flat_map(|u| &u.events).collect();
    let mut users: Vec<UserId> = feed.iter().map(|(user, _, _)| *user).collect();
    users.sort();
    users.dedup();
    sqlx::query(WRITE)
        .bind(tasks.iter().map(|t| t.id.0).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| t.user_id.0).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| t.title.as_str()).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| t.description.as_ref().map(|d| d.as_str())).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| t.priority.rank()).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| t.due.map(|d| d.at)).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| t.due.map(|d| d.zone.name())).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| t.due.is_some_and(|d| d.time.is_some())).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| t.completed_at).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| t.created_at).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| t.updated_at).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| tags_text(&t.tags)).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| ListKey::for_task(t).as_str().to_owned()).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| t.repeat.as_ref().map(|r| r.series.0)).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| occurrence_text(t)).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| repeat_text(t)).collect::<Vec<_>>())
        .bind(tasks.iter().map(|t| domain::reminder::format_list(&t.reminders)).collect::<Vec<_>>())
        .bind(tags.iter().map(|g| g.0).collect::<Vec<_>>())
        .bind(tags.iter().map(|g| g.1).collect::<Vec<_>>())
        .bind(tags.iter().map(|g| g.2).collect::<Vec<_>>())
        .bind(tags.iter().map(|g| g.3).collect::<Vec<_>>())
        .bind(timers.iter().map(|t| t.id.0).collect::<Vec<_>>())
        .bind(timers.iter().map(|t| t.user_id.0).collect::<Vec<_>>())
        .bind(timers.iter().map(|t| t.task_id.0).collect::<Vec<_>>())
        .bind(timers.iter().map(|t| t.kind.as_str()).collect::<Vec<_>>())
        .bind(timers.iter().map(|t| millis(t.fire_at)).collect::<Vec<_>>())
        .bind(timers.iter().map(|t| t.title.as_str()).collect::<Vec<_>>())
        .bind(timers.iter().map(|t| t.label.as_str()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.id).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.schema_version).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.user_id).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.occurred_at).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.payload.as_str()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.trace_parent.as_deref()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.stream).collect::<Vec<_>>())
        .bind(events.iter().map(|e| millis(e.occurred_at)).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.skip.as_str()).collect::<Vec<_>>())
        .bind(feed.iter().map(|(user, _, _)| user.0).collect::<Vec<_>>())
        .bind(feed.iter().map(|(_, event_type, _)| event_type.as_str()).collect::<Vec<_>>())
        .bind(feed.iter().map(|(_, _, data)| data.to_string()).collect::<Vec<_>>())
        .bind(lists.iter().map(|user| user.0).collect::<Vec<_>>())
        .bind(Utc::now())
        .execute(conn)
        .await
        .map_err(map_err)?;
    Ok(users)
}

/// A unit of work as the group commit writes it: its held-back writes, its
/// feed entries and whose list it changed.
pub(super) struct PgUnit {
    pub writes: Pending,
    pub feed: Vec<FeedEntry>,
    pub list_changed: Option<UserId>,
}

/// Writes groups on a connection of the store's pool.
pub(super) struct PgGroups(pub PgPool);

#[async_trait]
impl GroupWriter for PgGroups {
    type Unit = PgUnit;
    type Conn = PoolConnection<Postgres>;

    async fn acquire(&self) -> Result<Self::Conn, StoreError> {
        self.0.acquire().await.map_err(map_err)
    }

    /// One statement, outside any transaction: it commits, or fails whole.
    async fn write(&self, conn: &mut Self::Conn, units: &[&PgUnit]) -> Result<(), StoreError> {
        let writes: Vec<&Pending> = units.iter().map(|u| &u.writes).collect();
        let feed = units.iter().flat_map(|u| u.feed.iter().cloned()).collect();
        let mut lists: Vec<UserId> = units.iter().filter_map(|u| u.list_changed).collect();
        lists.sort();
        lists.dedup();
        write(conn, &writes, feed, &lists).await.map(drop)
    }
}
