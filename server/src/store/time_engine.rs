//! The time engine's SQL (series, timers, notifications), written once for
//! both backends: the statements are the same in both dialects but for row
//! locks, which each backend passes in (`FOR UPDATE`, `SKIP LOCKED` on
//! PostgreSQL; nothing on SQLite, whose write transactions run one at a time).

/// Expands, inside a backend's module, to the unit-of-work steps of the time
/// engine (free functions on that backend's connection) and the store's
/// `TimerStore` and `NotificationStore` implementations.
///
/// - `$store`: the store type; it has `reader()` and a `$begin` method that starts a write transaction.
/// - `$conn`: the backend's connection type.
/// - `$row_lock`: what locks the rows a unit of work reads to change.
/// - `$skip_locked`: what makes a claim pass over rows another claim holds.
macro_rules! time_engine_sql {
    ($store:ty, $conn:ty, $begin:ident, $row_lock:expr, $skip_locked:expr) => {
        pub(super) mod time_engine {
            use async_trait::async_trait;
            use chrono::{DateTime, NaiveDate, Utc};
            use domain::event::EventEnvelope;
            use domain::notification::{NewNotification, Notification, NotificationPage};
            use domain::live::LiveEvent;
            use domain::ports::{FeedStore, NotificationStore, TimerJobStore, TimerStore};
            use domain::repeat::SeriesId;
            use domain::spine::Lease;
            use domain::task::{Task, TaskId};
            use domain::timer::{Timer, TimerId, TimerKind};
            use domain::{StoreError, UserId};

            use super::outbox::append_event;
            use crate::store::rows::{
                punctuality_text, NotificationRow, TaskRow, TimerRow, NOTIFICATION_COLUMNS, TASK_COLUMNS,
                TIMER_COLUMNS,
            };
            use crate::store::{decode_all, map_err, millis};

            fn day(d: NaiveDate) -> String {
                d.format("%Y-%m-%d").to_string()
            }

            pub async fn series_tasks_from(
                tx: &mut $conn,
                user: UserId,
                series: SeriesId,
                from: NaiveDate,
            ) -> Result<Vec<Task>, StoreError> {
                let rows: Vec<TaskRow> = sqlx::query_as(&format!(
                    "SELECT {TASK_COLUMNS} FROM tasks WHERE user_id = $1 AND series_id = $2 AND occurrence >= $3 \
                     ORDER BY occurrence{}",
                    $row_lock
                ))
                .bind(user.0)
                .bind(series.0)
                .bind(day(from))
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?;
                decode_all(rows, TaskRow::into_task)
            }

            pub async fn series_end(
                tx: &mut $conn,
                user: UserId,
                series: SeriesId,
            ) -> Result<Option<NaiveDate>, StoreError> {
                let end: Option<Option<String>> =
                    sqlx::query_scalar("SELECT ends_before FROM task_series WHERE id = $1 AND user_id = $2")
                        .bind(series.0)
                        .bind(user.0)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(map_err)?;
                Ok(end.flatten().and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()))
            }

            pub async fn end_series(
                tx: &mut $conn,
                user: UserId,
                series: SeriesId,
                before: NaiveDate,
            ) -> Result<(), StoreError> {
                // An earlier end stays: deleting "this and following" twice keeps the first cut.
                sqlx::query(
                    "UPDATE task_series SET ends_before = $3 WHERE id = $1 AND user_id = $2 \
                     AND (ends_before IS NULL OR ends_before > $3)",
                )
                .bind(series.0)
                .bind(user.0)
                .bind(day(before))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            pub async fn replace_timers(
                tx: &mut $conn,
                task: TaskId,
                kind: TimerKind,
                timers: &[Timer],
            ) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM timers WHERE task_id = $1 AND kind = $2 AND fired_at IS NULL")
                    .bind(task.0)
                    .bind(kind.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                insert_timers(tx, timers).await
            }

            /// Writes timers, in one insert.
            pub async fn insert_timers(tx: &mut $conn, timers: &[Timer]) -> Result<(), StoreError> {
                if timers.is_empty() {
                    return Ok(());
                }
                let mut insert = sqlx::QueryBuilder::new(format!("INSERT INTO timers ({TIMER_COLUMNS}) "));
                insert.push_values(timers, |mut row, t| {
                    row.push_bind(t.id.0)
                        .push_bind(t.user_id.0)
                        .push_bind(t.task_id.0)
                        .push_bind(t.kind.as_str())
                        .push_bind(millis(t.fire_at))
                        .push_bind(&t.title)
                        .push_bind(&t.label);
                });
                insert.build().execute(&mut *tx).await.map_err(map_err)?;
                Ok(())
            }

            pub async fn cancel_timers(tx: &mut $conn, task: TaskId) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM timers WHERE task_id = $1 AND fired_at IS NULL")
                    .bind(task.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            pub async fn insert_notification(
                tx: &mut $conn,
                new: &NewNotification,
            ) -> Result<Option<Notification>, StoreError> {
                let seen: Option<i64> = sqlx::query_scalar("SELECT seq FROM notifications WHERE source_event = $1")
                    .bind(new.source_event)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?;
                if seen.is_some() {
                    return Ok(None);
                }
                // Numbering takes the user's row lock until commit, so numbers
                // are given in commit order: a stream reading "after n" misses none.
                let seq: i64 = sqlx::query_scalar(
                    "UPDATE users SET notification_seq = notification_seq + 1, \
                     unread_notifications = unread_notifications + 1 WHERE id = $1 RETURNING notification_seq",
                )
                .bind(new.user_id.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
                sqlx::query(&format!(
                    "INSERT INTO notifications ({NOTIFICATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)"
                ))
                .bind(new.user_id.0)
                .bind(seq)
                .bind(new.kind.as_str())
                .bind(new.task_id.map(|t| t.0))
                .bind(&new.title)
                .bind(&new.body)
                .bind(punctuality_text(new.punctuality))
                .bind(new.source_event)
                .bind(new.created_at)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                Ok(Some(new.numbered(seq)))
            }

            pub async fn mark_notifications_read(
                tx: &mut $conn,
                user: UserId,
                seq: Option<i64>,
                now: DateTime<Utc>,
            ) -> Result<u64, StoreError> {
                let done = match seq {
                    Some(seq) => sqlx::query(
                        "UPDATE notifications SET read_at = $3 WHERE user_id = $1 AND seq = $2 AND read_at IS NULL",
                    )
                    .bind(user.0)
                    .bind(seq)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?,
                    None => sqlx::query("UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL")
                        .bind(user.0)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?,
                };
                let changed = done.rows_affected();
                if changed > 0 {
                    sqlx::query(
                        "UPDATE users SET unread_notifications = \
                         (SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL) WHERE id = $1",
                    )
                    .bind(user.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                }
                Ok(changed)
            }

            #[async_trait]
            impl TimerStore for $store {
                async fn next_timer_at(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, StoreError> {
                    let at: Option<i64> = sqlx::query_scalar(
                        "SELECT MIN(fire_at) FROM timers WHERE fired_at IS NULL \
                         AND (lease_until IS NULL OR lease_until <= $1)",
                    )
                    .bind(millis(now))
                    .fetch_one(self.reader())
                        .await
                        .map_err(map_err)?;
                    Ok(at.and_then(DateTime::from_timestamp_millis))
                }

                async fn claim_timers(
                    &self,
                    lease: &Lease,
                    now: DateTime<Utc>,
                    limit: u32,
                ) -> Result<Vec<Timer>, StoreError> {
                    let mut tx = self.$begin().await?;
                    let rows: Vec<TimerRow> = sqlx::query_as(&format!(
                        "UPDATE timers SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
                         WHERE id IN (SELECT id FROM timers WHERE fired_at IS NULL AND fire_at <= $3 \
                             AND (lease_until IS NULL OR lease_until <= $3) ORDER BY fire_at LIMIT $4{}) \
                         RETURNING {TIMER_COLUMNS}",
                        $skip_locked
                    ))
                    .bind(&lease.owner)
                    .bind(millis(lease.until))
                    .bind(millis(now))
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    tx.commit().await.map_err(map_err)?;
                    let mut timers = decode_all(rows, TimerRow::into_timer)?;
                    timers.sort_by_key(|t| t.fire_at);
                    Ok(timers)
                }

                async fn fire_timers(
                    &self,
                    fired: &[(TimerId, EventEnvelope)],
                    lease: &Lease,
                ) -> Result<u64, StoreError> {
                    let mut tx = self.$begin().await?;
                    let mut count = 0;
                    let mut rings = $crate::store::Rings::default();
                    for (id, event) in fired {
                        let done = sqlx::query(
                            "UPDATE timers SET fired_at = $3 WHERE id = $1 AND lease_owner = $2 AND fired_at IS NULL",
                        )
                        .bind(id.0)
                        .bind(&lease.owner)
                        .bind(millis(event.occurred_at))
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                        if done.rows_affected() == 1 {
                            append_event(&mut *tx, event, &self.routing.route(event, &mut rings)).await?;
                            count += 1;
                        }
                    }
                    tx.commit().await.map_err(map_err)?;
                    self.routing.ring(rings);
                    Ok(count)
                }

                async fn pending_timers(&self) -> Result<u64, StoreError> {
                    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM timers WHERE fired_at IS NULL")
                        .fetch_one(self.reader())
                        .await
                        .map_err(map_err)?;
                    Ok(u64::try_from(n).unwrap_or(0))
                }

                async fn prune_fired_timers(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
                    let mut tx = self.$begin().await?;
                    let done = sqlx::query("DELETE FROM timers WHERE fired_at IS NOT NULL AND fired_at < $1")
                        .bind(millis(before))
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                    tx.commit().await.map_err(map_err)?;
                    Ok(done.rows_affected())
                }

                async fn claim_timer(
                    &self,
                    id: TimerId,
                    lease: &Lease,
                    now: DateTime<Utc>,
                ) -> Result<Option<Timer>, StoreError> {
                    let mut tx = self.$begin().await?;
                    let row: Option<TimerRow> = sqlx::query_as(&format!(
                        "UPDATE timers SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
                         WHERE id = $4 AND fired_at IS NULL AND fire_at <= $3 \
                         AND (lease_until IS NULL OR lease_until <= $3) RETURNING {TIMER_COLUMNS}"
                    ))
                    .bind(&lease.owner)
                    .bind(millis(lease.until))
                    .bind(millis(now))
                    .bind(id.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    tx.commit().await.map_err(map_err)?;
                    row.map(TimerRow::into_timer).transpose()
                }
            }

            #[async_trait]
            impl TimerJobStore for $store {
                async fn timers_without_jobs(&self, limit: u32) -> Result<Vec<Timer>, StoreError> {
                    let rows: Vec<TimerRow> = sqlx::query_as(&format!(
                        "SELECT {TIMER_COLUMNS} FROM timers WHERE fired_at IS NULL AND NOT EXISTS \
                         (SELECT 1 FROM timer_jobs j WHERE j.timer_id = timers.id AND j.fire_at = timers.fire_at) \
                         ORDER BY fire_at LIMIT $1"
                    ))
                    .bind(i64::from(limit))
                    .fetch_all(self.reader())
                    .await
                    .map_err(map_err)?;
                    decode_all(rows, TimerRow::into_timer)
                }

                async fn stale_jobs(&self, limit: u32) -> Result<Vec<TimerId>, StoreError> {
                    let ids: Vec<uuid::Uuid> = sqlx::query_scalar(
                        "SELECT timer_id FROM timer_jobs j WHERE NOT EXISTS \
                         (SELECT 1 FROM timers t WHERE t.id = j.timer_id AND t.fired_at IS NULL) LIMIT $1",
                    )
                    .bind(i64::from(limit))
                    .fetch_all(self.reader())
                    .await
                    .map_err(map_err)?;
                    Ok(ids.into_iter().map(TimerId).collect())
                }

                async fn record_job(&self, id: TimerId, fire_at: DateTime<Utc>) -> Result<(), StoreError> {
                    let mut tx = self.$begin().await?;
                    sqlx::query(
                        "INSERT INTO timer_jobs (timer_id, fire_at) VALUES ($1, $2) \
                         ON CONFLICT (timer_id) DO UPDATE SET fire_at = excluded.fire_at",
                    )
                    .bind(id.0)
                    .bind(millis(fire_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    tx.commit().await.map_err(map_err)
                }

                async fn forget_job(&self, id: TimerId) -> Result<(), StoreError> {
                    let mut tx = self.$begin().await?;
                    sqlx::query("DELETE FROM timer_jobs WHERE timer_id = $1")
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                    tx.commit().await.map_err(map_err)
                }

                async fn forget_pending_jobs(&self) -> Result<u64, StoreError> {
                    let mut tx = self.$begin().await?;
                    let done = sqlx::query(
                        "DELETE FROM timer_jobs WHERE timer_id IN (SELECT id FROM timers WHERE fired_at IS NULL)",
                    )
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    tx.commit().await.map_err(map_err)?;
                    Ok(done.rows_affected())
                }
            }

            #[async_trait]
            impl FeedStore for $store {
                async fn feed_after(&self, user: UserId, after: i64, limit: u32) -> Result<Vec<LiveEvent>, StoreError> {
                    let rows: Vec<(i64, String, String)> = sqlx::query_as(
                        "SELECT seq, event_type, data FROM user_feed WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                    )
                    .bind(user.0)
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(self.reader())
                    .await
                    .map_err(map_err)?;
                    rows.into_iter()
                        .map(|(seq, event_type, data)| {
                            let data = serde_json::from_str(&data).map_err(StoreError::backend)?;
                            Ok(LiveEvent { seq, event_type, data })
                        })
                        .collect()
                }

                async fn feed_bounds(&self, user: UserId) -> Result<(i64, Option<i64>), StoreError> {
                    sqlx::query_as(
                        "SELECT u.feed_seq, (SELECT MIN(f.seq) FROM user_feed f WHERE f.user_id = u.id) \
                         FROM users u WHERE u.id = $1",
                    )
                    .bind(user.0)
                    .fetch_one(self.reader())
                    .await
                    .map_err(map_err)
                }

                async fn feed_last_row(&self) -> Result<i64, StoreError> {
                    sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM user_feed")
                        .fetch_one(self.reader())
                        .await
                        .map_err(map_err)
                }

                async fn feed_rows_after(&self, after_row: i64, limit: u32) -> Result<Vec<(i64, UserId)>, StoreError> {
                    let rows: Vec<(i64, uuid::Uuid)> =
                        sqlx::query_as("SELECT id, user_id FROM user_feed WHERE id > $1 ORDER BY id LIMIT $2")
                            .bind(after_row)
                            .bind(i64::from(limit))
                            .fetch_all(self.reader())
                            .await
                            .map_err(map_err)?;
                    Ok(rows.into_iter().map(|(id, user)| (id, UserId(user))).collect())
                }

                fn on_feed_commit(&self, hook: domain::ports::FeedHook) {
                    let _ = self.feed_hook.set(hook);
                }

                async fn prune_feed(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
                    let mut tx = self.$begin().await?;
                    let done = sqlx::query("DELETE FROM user_feed WHERE created_at < $1")
                        .bind(before)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                    tx.commit().await.map_err(map_err)?;
                    Ok(done.rows_affected())
                }
            }

            #[async_trait]
            impl NotificationStore for $store {
                async fn notifications(
                    &self,
                    user: UserId,
                    before: Option<i64>,
                    limit: u32,
                ) -> Result<NotificationPage, StoreError> {
                    let rows: Vec<NotificationRow> = sqlx::query_as(&format!(
                        "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE user_id = $1 AND seq < $2 \
                         ORDER BY seq DESC LIMIT $3"
                    ))
                    .bind(user.0)
                    .bind(before.unwrap_or(i64::MAX))
                    .bind(i64::from(limit) + 1)
                    .fetch_all(self.reader())
                    .await
                    .map_err(map_err)?;
                    let mut items = decode_all(rows, NotificationRow::into_notification)?;
                    let more = items.len() > limit as usize;
                    items.truncate(limit as usize);
                    Ok(NotificationPage { items, more })
                }

                async fn notification(&self, user: UserId, seq: i64) -> Result<Notification, StoreError> {
                    sqlx::query_as::<_, NotificationRow>(&format!(
                        "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE user_id = $1 AND seq = $2"
                    ))
                    .bind(user.0)
                    .bind(seq)
                    .fetch_one(self.reader())
                    .await
                    .map_err(map_err)?
                    .into_notification()
                }

                async fn unread_notifications(&self, user: UserId) -> Result<i64, StoreError> {
                    sqlx::query_scalar("SELECT unread_notifications FROM users WHERE id = $1")
                        .bind(user.0)
                        .fetch_one(self.reader())
                        .await
                        .map_err(map_err)
                }
            }
        }
    };
}

pub(crate) use time_engine_sql;
