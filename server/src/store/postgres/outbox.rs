//! The outbox on PostgreSQL. A claim is one statement: it picks the due
//! heads of each stream `FOR UPDATE SKIP LOCKED`, so concurrent relays on
//! other replicas pass over rows one of them is taking, and a row whose lease
//! another relay took meanwhile is re-checked against the conditions and dropped.
//!
//! Commit order within a stream: an outbox row's `seq` is drawn when it is
//! inserted, not when it commits, so across streams a later commit may carry
//! a smaller `seq`. Within one stream it cannot: every change to a task locks
//! the task's row first, so the next event of that task is inserted only after
//! the previous one committed; and a stream's next delivery is claimable only
//! when every earlier one of it is finished.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::event::EventEnvelope;
use domain::ports::OutboxStore;
use domain::spine::{DeadLetter, Delivery, DeliveryStats, Lease, SubscriberStats};
use domain::StoreError;
use sqlx::types::Json;
use sqlx::PgConnection;

use super::PgStore;
use crate::store::rows::{delivery, subscriber_stats, DeadLetterRow, SUBSCRIBER_STATS};
use crate::store::{decode_all, map_err, millis};

/// Open deliveries of `$1` that are due at `$2`, unleased, and the oldest open one of their stream.
/// "The oldest" is a scalar subquery, not `NOT EXISTS`: the planner turns
/// that into an anti join, and while the table's statistics still say it is
/// empty (a new database filling faster than autovacuum analyses it) it
/// chose one that scanned every open delivery of the subscriber for each
/// candidate: 2 s a claim at 25,000 open ones. A subquery runs per candidate,
/// as one probe of the stream index, whatever the statistics say: ordered by
/// stream and seq, which only that index gives without a sort (as `min(seq)`
/// the planner walked the subscriber's open deliveries in seq order instead,
/// filtering by stream, 50 rows a candidate at a backlog of 50).
const CLAIMABLE: &str = "SELECT c.seq FROM outbox_deliveries c \
     WHERE c.subscriber = $1 AND c.done_at IS NULL AND c.dead_at IS NULL \
       AND c.available_at <= $2 AND (c.lease_until IS NULL OR c.lease_until <= $2) \
       AND c.seq = (SELECT p.seq FROM outbox_deliveries p \
           WHERE p.subscriber = c.subscriber AND p.stream = c.stream \
             AND p.done_at IS NULL AND p.dead_at IS NULL ORDER BY p.stream, p.seq LIMIT 1) \
     ORDER BY c.seq LIMIT $3 FOR UPDATE SKIP LOCKED";

/// Which open delivery a lease holder may finish: `$1` subscriber, `$2` seq, `$3` owner.
const HELD: &str = "subscriber = $1 AND seq = $2 AND lease_owner = $3 AND done_at IS NULL AND dead_at IS NULL";

#[async_trait]
impl OutboxStore for PgStore {
    async fn register_subscribers(&self, names: &[&str]) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(map_err)?;
        for name in names {
            sqlx::query("INSERT INTO subscribers (name, registered_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(*name)
                .bind(Utc::now())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    fn route_deliveries(&self, routes: domain::spine::Routes) {
        self.routing.set(routes);
    }

    fn ring_on_commit(&self, bells: Vec<(domain::spine::Wants, domain::spine::Bell)>) {
        self.routing.set_bells(bells);
    }

    async fn retire_subscribers(&self, names: &[&str]) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await.map_err(map_err)?;
        for name in names {
            sqlx::query("DELETE FROM subscribers WHERE name = $1")
                .bind(*name)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn claim_deliveries(
        &self,
        subscriber: &str,
        lease: &Lease,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        // The picked deliveries are an array, computed once before the
        // update looks for them. As `seq IN (…)`, while a new database's
        // statistics still said the table was small, the planner joined
        // every delivery of the subscriber against every picked one: after
        // 1,000 tasks made before a run, claims of 100 took 20 to 300 ms,
        // growing with the table (auto_explain), most of PostgreSQL's time.
        // With the array alone, the worst plan still read every delivery the
        // subscriber ever had under the primary key and filtered them by
        // seq: 56,323 rows to claim 100, 30 to 80 ms a claim, after the
        // benchmark's 1,000 seeded tasks, so the relay fell behind the
        // creates. So the update also names the picked rows as open (they
        // are: the subquery locked them so), which lets it find them in an
        // open index: its worst case is now the open deliveries.
        let rows: Vec<(i64, i64, Json<serde_json::Value>, Option<String>)> = sqlx::query_as(&format!(
            "UPDATE outbox_deliveries d SET lease_owner = $4, lease_until = $5, attempts = d.attempts + 1 \
             WHERE d.subscriber = $1 AND d.seq = ANY (ARRAY({CLAIMABLE})) \
               AND d.done_at IS NULL AND d.dead_at IS NULL \
             RETURNING d.seq, d.attempts, (SELECT o.payload FROM outbox o WHERE o.seq = d.seq), \
               (SELECT o.trace_parent FROM outbox o WHERE o.seq = d.seq)"
        ))
        .bind(subscriber)
        .bind(millis(now))
        .bind(i64::from(limit))
        .bind(&lease.owner)
        .bind(millis(lease.until))
        .fetch_all(self.writer())
        .await
        .map_err(map_err)?;
        let mut deliveries: Vec<Delivery> = rows
            .into_iter()
            .map(|(seq, attempts, Json(payload), trace)| delivery(seq, attempts, &payload, trace))
            .collect();
        deliveries.sort_by_key(|d| d.seq);
        Ok(deliveries)
    }

    async fn complete_deliveries(
        &self,
        subscriber: &str,
        seqs: &[i64],
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        sqlx::query_scalar(
            "UPDATE outbox_deliveries SET done_at = $4, lease_owner = NULL, lease_until = NULL \
             WHERE subscriber = $1 AND seq = ANY($2) AND lease_owner = $3 \
               AND done_at IS NULL AND dead_at IS NULL RETURNING seq",
        )
        .bind(subscriber)
        .bind(seqs)
        .bind(&lease.owner)
        .bind(now)
        .fetch_all(self.writer())
        .await
        .map_err(map_err)
    }

    async fn retry_delivery(
        &self,
        subscriber: &str,
        seq: i64,
        lease: &Lease,
        retry_at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(&format!(
            "UPDATE outbox_deliveries SET available_at = $4, last_error = $5, lease_owner = NULL, lease_until = NULL \
             WHERE {HELD}"
        ))
        .bind(subscriber)
        .bind(seq)
        .bind(&lease.owner)
        .bind(millis(retry_at))
        .bind(error)
        .execute(self.writer())
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn dead_letter(
        &self,
        subscriber: &str,
        seq: i64,
        lease: &Lease,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(&format!(
            "UPDATE outbox_deliveries SET dead_at = $4, last_error = $5, lease_owner = NULL, lease_until = NULL \
             WHERE {HELD}"
        ))
        .bind(subscriber)
        .bind(seq)
        .bind(&lease.owner)
        .bind(now)
        .bind(reason)
        .execute(self.writer())
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>, StoreError> {
        let rows: Vec<DeadLetterRow> = sqlx::query_as(
            "SELECT d.seq, d.subscriber, o.event_id, o.event_type, d.attempts, d.last_error, d.dead_at \
             FROM outbox_deliveries d JOIN outbox o ON o.seq = d.seq \
             WHERE d.dead_at IS NOT NULL ORDER BY d.dead_at, d.seq LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await
        .map_err(map_err)?;
        decode_all(rows, DeadLetterRow::into_dead_letter)
    }

    async fn requeue_dead_letters(&self, only: Option<(i64, &str)>, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox_deliveries SET dead_at = NULL, attempts = 0, available_at = $1, last_error = NULL \
             WHERE dead_at IS NOT NULL AND ($2 IS NULL OR (seq = $2 AND subscriber = $3))",
        )
        .bind(millis(now))
        .bind(only.map(|(seq, _)| seq))
        .bind(only.map(|(_, subscriber)| subscriber))
        .execute(self.writer())
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn delivery_stats(&self) -> Result<DeliveryStats, StoreError> {
        let (pending, dead): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE dead_at IS NULL), COUNT(*) FILTER (WHERE dead_at IS NOT NULL) \
             FROM outbox_deliveries WHERE done_at IS NULL",
        )
        .fetch_one(self.reader())
        .await
        .map_err(map_err)?;
        Ok(DeliveryStats { pending: u64::try_from(pending).unwrap_or(0), dead: u64::try_from(dead).unwrap_or(0) })
    }

    async fn subscriber_stats(&self) -> Result<Vec<SubscriberStats>, StoreError> {
        let rows: Vec<(String, i64, i64, Option<DateTime<Utc>>)> =
            sqlx::query_as(SUBSCRIBER_STATS).fetch_all(self.reader()).await.map_err(map_err)?;
        Ok(rows.into_iter().map(subscriber_stats).collect())
    }

    async fn prune_outbox(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM outbox WHERE occurred_at < $1 AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d \
             WHERE d.seq = outbox.seq AND (d.done_at IS NULL OR d.done_at >= $1))",
        )
        .bind(before)
        .execute(self.writer())
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}

/// Writes the event and one delivery of it for every registered subscriber but those in `skip`.
pub(super) async fn append_event(tx: &mut PgConnection, e: &EventEnvelope, skip: &[&str]) -> Result<(), StoreError> {
    let mut append = super::pending::Pending::default();
    append.append_event(e, skip)?;
    super::pending::Pending::send(tx, &[&append]).await
}
