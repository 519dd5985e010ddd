//! The audit log on SQLite, read together with the events it has not recorded yet.

use async_trait::async_trait;
use domain::event::{ActivityCursor, AuditEntry, EventEnvelope};
use domain::ports::AuditStore;
use domain::task::TaskId;
use domain::{StoreError, UserId};

use super::SqliteStore;
use crate::store::rows::AuditRow;
use crate::store::{decode_all, map_err, merge_activity, AUDIT_SUBSCRIBER, UNRECORDED_EVENTS};

#[async_trait]
impl AuditStore for SqliteStore {
    async fn activity(
        &self,
        user: UserId,
        task: Option<TaskId>,
        after: Option<ActivityCursor>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut conn = self.reader().acquire().await.map_err(map_err)?;
        // The events not yet recorded are read before the log: an event the
        // audit logger records between the two reads is then in one or the
        // other (in both, it is shown once). Read the other way round, it
        // could be in neither.
        let payloads: Vec<String> = sqlx::query_scalar(UNRECORDED_EVENTS)
            .bind(AUDIT_SUBSCRIBER)
            .bind(user.0)
            .fetch_all(&mut *conn)
            .await
            .map_err(map_err)?;
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT event_id, event_type, task_id, summary, occurred_at FROM audit_log \
             WHERE user_id = $1 AND ($2 IS NULL OR task_id = $2) \
               AND ($4 IS NULL OR (occurred_at, event_id) < ($4, $5)) \
             ORDER BY occurred_at DESC, event_id DESC LIMIT $3",
        )
        .bind(user.0)
        .bind(task.map(|t| t.0))
        .bind(i64::from(limit))
        .bind(after.map(|c| c.occurred_at))
        .bind(after.map(|c| c.event_id))
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
        let unrecorded = payloads.iter().filter_map(|p| serde_json::from_str(p).ok());
        // The log keeps an instant to the nanosecond, as the events carry it.
        Ok(merge_activity(decode_all(rows, AuditRow::into_entry)?, unrecorded, task, after, limit, |at| at))
    }

    /// One insert of every event; returns how many were new.
    async fn record_audits(&self, events: &[&EventEnvelope]) -> Result<u64, StoreError> {
        if events.is_empty() {
            return Ok(0);
        }
        let recorded_at = chrono::Utc::now();
        let mut insert = sqlx::QueryBuilder::new(
            "INSERT INTO audit_log (event_id, user_id, task_id, event_type, summary, occurred_at, recorded_at) ",
        );
        insert.push_values(events, |mut row, event| {
            let entry = AuditEntry::from_envelope(event);
            row.push_bind(entry.event_id)
                .push_bind(event.user_id.0)
                .push_bind(entry.task_id.map(|t| t.0))
                .push_bind(entry.event_type)
                .push_bind(entry.summary)
                .push_bind(entry.occurred_at)
                .push_bind(recorded_at);
        });
        insert.push(" ON CONFLICT (event_id) DO NOTHING");
        let done = insert.build().execute(self.writer()).await.map_err(map_err)?;
        Ok(done.rows_affected())
    }
}
