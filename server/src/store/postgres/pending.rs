//! Writes a PostgreSQL unit of work holds back: those whose answer is known
//! in advance (a new task, its tags and timers, its events). A unit of work
//! that never needs an answer never opens a transaction of its own: it is
//! committed with others queued at the same moment (see `store::group_commit`),
//! each table's rows for the whole group in one statement. One user's
//! creates used to queue behind each other, one at a time, on the user's row
//! (its feed numbers and list version) through every commit's WAL flush;
//! a group takes that row and waits for that flush once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::event::EventEnvelope;
use domain::task::Task;
use domain::timer::Timer;
use domain::{StoreError, UserId};
use sqlx::pool::PoolConnection;
use sqlx::{Connection, PgConnection, PgPool, Postgres};

use super::{tasks, write_feeds};
use crate::store::group_commit::GroupWriter;
use crate::store::{map_err, millis};

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
    id: uuid::Uuid,
    event_type: String,
    schema_version: i64,
    user_id: uuid::Uuid,
    occurred_at: DateTime<Utc>,
    payload: String,
    trace_parent: Option<String>,
    stream: uuid::Uuid,
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

    /// Sends `units`' writes, a statement per table, in order.
    pub async fn send(tx: &mut PgConnection, units: &[&Pending]) -> Result<(), StoreError> {
        let tasks: Vec<&Task> = units.iter().flat_map(|u| &u.tasks).collect();
        if !tasks.is_empty() {
            let written = tasks::insert_tasks(tx, &tasks).await?;
            if written != tasks.len() as u64 {
                return Err(StoreError::backend(std::io::Error::other("a new task was not written")));
            }
            super::task_tags::insert_tags_of(tx, &tasks).await?;
        }
        let timers: Vec<Timer> = units.iter().flat_map(|u| u.timers.iter().cloned()).collect();
        super::time_engine::insert_timers(tx, &timers).await?;
        let events: Vec<&PendingEvent> = units.iter().flat_map(|u| &u.events).collect();
        append_events(tx, &events).await
    }
}

/// Writes events, each with one delivery per registered subscriber it is
/// not routed away from, in one statement; their outbox numbers follow their order.
async fn append_events(tx: &mut PgConnection, events: &[&PendingEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "WITH v AS (SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::int8[], $4::uuid[], $5::timestamptz[], \
             $6::text[], $7::text[], $8::uuid[], $9::int8[], $10::text[]) WITH ORDINALITY \
             AS v(event_id, event_type, schema_version, user_id, occurred_at, payload, trace_parent, stream, \
                  available_at, skip, ord)), \
         o AS (INSERT INTO outbox (event_id, event_type, schema_version, user_id, occurred_at, payload, trace_parent) \
             SELECT event_id, event_type, schema_version, user_id, occurred_at, payload::jsonb, trace_parent \
             FROM v ORDER BY ord RETURNING seq, event_id) \
         INSERT INTO outbox_deliveries (seq, subscriber, stream, available_at) \
         SELECT o.seq, s.name, v.stream, v.available_at FROM o JOIN v USING (event_id) CROSS JOIN subscribers s \
         WHERE s.name <> ALL (string_to_array(v.skip, ','))",
    )
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
    .execute(tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// A unit of work as the group commit writes it: its held-back writes, its
/// feed entries and whose list it changed.
pub(super) struct PgUnit {
    pub writes: Pending,
    pub feed: Vec<(UserId, String, serde_json::Value)>,
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

    async fn write(&self, conn: &mut Self::Conn, units: &[&PgUnit]) -> Result<(), StoreError> {
        // Dropped uncommitted (a write failed), the transaction is rolled
        // back before the connection's next statement.
        let mut tx = conn.begin().await.map_err(map_err)?;
        write_units(&mut tx, units).await?;
        tx.commit().await.map_err(map_err)
    }
}

/// A group's writes, then its feeds (every user's entries numbered
/// together, under the user's row lock until the commit) and list versions.
async fn write_units(conn: &mut PgConnection, units: &[&PgUnit]) -> Result<(), StoreError> {
    let writes: Vec<&Pending> = units.iter().map(|u| &u.writes).collect();
    Pending::send(conn, &writes).await?;
    let feed = units.iter().flat_map(|u| u.feed.iter().cloned()).collect();
    let mut lists: Vec<UserId> = units.iter().filter_map(|u| u.list_changed).collect();
    lists.sort();
    lists.dedup();
    let users = write_feeds(conn, feed, &lists).await?;
    for user in lists.into_iter().filter(|user| !users.contains(user)) {
        super::accounts::touch_list(conn, user).await?;
    }
    Ok(())
}
