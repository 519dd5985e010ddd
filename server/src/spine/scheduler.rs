//! The scheduler in this process: sleeps until the earliest timer is due (or
//! until woken because a nearer one was set, or for at most `max_sleep`, so
//! timers set through another replica are seen too), then fires what is due
//! in leased batches. Any number of replicas may run it over one database:
//! a timer fires only under its lease and only once (see `fire_round`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::ports::{Clock, TimerStore, TimerWake};
use domain::timer::{fire_overdue, FireReport};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use uuid::Uuid;

const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Wakes the scheduler of this process.
#[derive(Default)]
pub struct Wake(Notify);

impl Wake {
    /// Resolves at the next wake-up (or at once, if one came meanwhile).
    pub async fn notified(&self) {
        self.0.notified().await
    }
}

impl TimerWake for Wake {
    fn timers_set(&self, _earliest: DateTime<Utc>) {
        // The scheduler asks the database for the earliest timer again; a
        // permit is kept if it is busy, so a wake-up is never lost.
        self.0.notify_one();
    }
}

pub struct Scheduler {
    pub store: Arc<dyn TimerStore>,
    pub clock: Arc<dyn Clock>,
    pub wake: Arc<Wake>,
    /// The longest sleep, whatever the next timer: how soon timers set through another replica are seen.
    pub max_sleep: Duration,
    /// How long a claimed batch is this scheduler's before another may take it.
    pub lease: chrono::Duration,
    pub batch: u32,
    pub owner: String,
    /// Fire only timers due at least this long ago: zero, or, as the backstop
    /// beside Dapr jobs, the time a job has to call back before this fires it.
    pub grace: chrono::Duration,
}

impl Scheduler {
    pub fn new(store: Arc<dyn TimerStore>, clock: Arc<dyn Clock>, wake: Arc<Wake>, max_sleep: Duration) -> Self {
        Self {
            store,
            clock,
            wake,
            max_sleep,
            lease: chrono::Duration::seconds(30),
            batch: 500,
            owner: format!("scheduler/{}", Uuid::new_v4().simple()),
            grace: chrono::Duration::zero(),
        }
    }

    /// A backstop: it fires only timers overdue by `grace`.
    pub fn backstop(self, grace: chrono::Duration) -> Self {
        Self { grace, ..self }
    }

    /// Fires what is due now, batch after batch, until nothing is.
    pub async fn fire_due(&self) -> Result<u64, domain::StoreError> {
        let mut fired = 0;
        loop {
            let report =
                fire_overdue(&*self.store, &*self.clock, &self.owner, self.lease, self.batch, self.grace).await?;
            self.log(&report);
            fired += report.fired;
            if report.claimed == 0 {
                return Ok(fired);
            }
        }
    }

    fn log(&self, report: &FireReport) {
        let backstop = self.grace > chrono::Duration::zero();
        // When a lease was lost which timers fired is unknown; the other scheduler records those.
        if report.fired as usize == report.claimed {
            let path = if backstop { "backstop" } else { "scheduler" };
            report.lateness.iter().for_each(|late| crate::telemetry::meters::reminder_fired(path, *late));
        }
        let max_late_ms = report.max_late_ms();
        if report.fired > 0 && backstop {
            tracing::warn!(
                fired = report.fired,
                max_late_ms,
                "reminders fired by the backstop: their Dapr jobs did not call back in time"
            );
        } else if report.fired > 0 {
            tracing::debug!(fired = report.fired, max_late_ms, "timers fired");
        }
        if max_late_ms > 60_000 && report.fired > 0 {
            tracing::warn!(fired = report.fired, max_late_ms, "timers fired late (catch-up)");
        }
        if (report.fired as usize) < report.claimed {
            tracing::info!(
                lost = report.claimed - report.fired as usize,
                "timers' leases were lost before firing; another scheduler has them"
            );
        }
    }

    /// How long to sleep: until the next timer, but no longer than `max_sleep`.
    async fn wait(&self) -> Result<Duration, domain::StoreError> {
        let now = self.clock.now();
        Ok(match self.store.next_timer_at(now).await?.map(|at| at + self.grace) {
            Some(at) if at <= now => Duration::ZERO,
            Some(at) => (at - now).to_std().unwrap_or(Duration::ZERO).min(self.max_sleep),
            None => self.max_sleep,
        })
    }

    /// Runs until `shutdown` turns true.
    pub fn spawn(self, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                let wait = match self.fire_due().await {
                    Ok(_) => {
                        backoff = Duration::from_millis(100);
                        self.wait().await
                    }
                    Err(e) => Err(e),
                };
                let wait = wait.unwrap_or_else(|e| {
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "scheduler failed; will retry");
                    let wait = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    wait
                });
                if *shutdown.borrow() {
                    break;
                }
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = self.wake.0.notified() => {}
                    _ = shutdown.changed() => break,
                }
            }
        })
    }
}
