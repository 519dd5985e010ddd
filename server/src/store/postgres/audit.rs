//! The audit log on PostgreSQL, read together with the events it has not recorded yet.

use async_trait::async_trait;
use chrono::SubsecRound as _;
use domain::event::{ActivityCursor, AuditEntry, EventEnvelope};
use domain::ports::AuditStore;
use domain::task::TaskId;
use domain::{StoreError, UserId};
use sqlx::types::Json;

use super::PgStore;
use crate::store::rows::AuditRow;
use crate::store::{decode_all, map_err, merge_activity, AUDIT_SUBSCRIBER, UNRECORDED_EVENTS};

#[async_trait]
impl AuditStore for PgStore {
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
        let payloads: Vec<Json<serde_json::Value>> = sqlx::query_scalar(UNRECORDED_EVENTS)
            .bind(AUDIT_SUBSCRIBER)
            .bind(user.0)
            .fetch_all(&mut *conn)
            .await
            .map_err(map_err)?;
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT event_id, event_type, task_id, summary, occurred_at FROM audit_log \
             WHERE user_id = $1 AND ($2 IS NULL OR task_id = $2) \
               AND ($4::timestamptz IS NULL OR (occurred_at, event_id) < ($4, $5::uuid)) \
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
        let unrecorded = payloads.into_iter().map(|Json(value)| value);
        // The log keeps an instant to the microsecond: an event not yet
        // recorded is placed (and paged) as it will be once it is.
        let stored = |at: chrono::DateTime<chrono::Utc>| at.trunc_subsecs(6);
        Ok(merge_activity(decode_all(rows, AuditRow::into_entry)?, unrecorded, task, after, limit, stored))
    }

    /// One insert of every event, its columns bound as arrays: the text is
    /// the same whatever the batch's size, so each connection parses and
    /// plans it once (as multi-row `VALUES` it was parsed anew for most
    /// rounds, a new size each time). Returns how many were new.
    async fn record_audits(&self, events: &[&EventEnvelope]) -> Result<u64, StoreError> {
        if events.is_empty() {
            return Ok(0);
        }
        let entries: Vec<AuditEntry> = events.iter().map(|e| AuditEntry::from_envelope(e)).collect();
        let done = sqlx::query(
            "INSERT INTO audit_log (event_id, user_id, task_id, event_type, summary, occurred_at, recorded_at) \
             SELECT e, u, t, y, s, o, $7 FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], \
               $6::timestamptz[]) AS a (e, u, t, y, s, o) \
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(entries.iter().map(|a| a.event_id).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.user_id.0).collect::<Vec<_>>())
        .bind(entries.iter().map(|a| a.task_id.map(|t| t.0)).collect::<Vec<_>>())
        .bind(entries.iter().map(|a| a.event_type.as_str()).collect::<Vec<_>>())
        .bind(entries.iter().map(|a| a.summary.as_str()).collect::<Vec<_>>())
        .bind(entries.iter().map(|a| a.occurred_at).collect::<Vec<_>>())
        .bind(chrono::Utc::now())
        .execute(self.writer())
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}
