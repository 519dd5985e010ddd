//! The outbox relay worker for one subscriber: claims its due deliveries
//! under a lease, hands them to the consumer, records each outcome, backs off
//! while the database is unavailable, and drains what is due once more on
//! shutdown. Deliveries left behind by a crash are still in the outbox, and
//! go out when their lease expires, from this process or another.
//!
//! A relay goes on when a commit in this process rings its bell (see
//! `OutboxStore::ring_on_commit`), or at its next poll for what other
//! processes wrote and for retries that came due.

use std::sync::Arc;
use std::time::Duration;

use domain::ports::{Clock, EventHandler, OutboxStore};
use domain::spine::{relay_round, Bell, RetryPolicy, RoundReport, Wants};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::dapr::sidecar::Sidecar;

const BATCH: u32 = 100;
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long the final drain at shutdown may take before it leaves the rest to the next start.
const FLUSH_BUDGET: Duration = Duration::from_secs(5);

pub struct Relay {
    pub store: Arc<dyn OutboxStore>,
    pub handler: Arc<dyn EventHandler>,
    pub clock: Arc<dyn Clock>,
    pub policy: RetryPolicy,
    /// How long to wait when nothing was due.
    pub poll: Duration,
    /// Names this worker's leases, unique across every process.
    pub owner: String,
    /// A relay that publishes through the Dapr sidecar starts once the sidecar is ready.
    pub gate: Option<Arc<Sidecar>>,
    /// Rung by the store after a commit that wrote this relay a delivery.
    bell: Arc<Notify>,
    /// How long a rung relay waits before its round, so that the commits
    /// of those few milliseconds go in one round rather than a round each.
    pub settle: Duration,
}

impl Relay {
    pub fn new(
        store: Arc<dyn OutboxStore>,
        handler: Arc<dyn EventHandler>,
        clock: Arc<dyn Clock>,
        policy: RetryPolicy,
        poll: Duration,
    ) -> Self {
        let owner = format!("{}/{}", handler.name(), Uuid::new_v4().simple());
        Self { store, handler, clock, policy, poll, owner, gate: None, bell: Arc::default(), settle: Duration::ZERO }
    }

    /// What the store rings, and for which events (see `OutboxStore::ring_on_commit`).
    pub fn bell(&self) -> (Wants, Bell) {
        let bell = self.bell.clone();
        (self.handler.wants(), Arc::new(move || bell.notify_one()))
    }

    pub fn settling(self, settle: Duration) -> Self {
        Self { settle, ..self }
    }

    pub fn gated_by(self, sidecar: Arc<Sidecar>) -> Self {
        Self { gate: Some(sidecar), ..self }
    }

    async fn round(&self) -> Result<RoundReport, domain::StoreError> {
        let report = relay_round(&*self.store, &*self.handler, &*self.clock, &self.policy, &self.owner, BATCH).await?;
        let consumer = self.handler.name();
        if !report.dead.is_empty() {
            crate::telemetry::meters::dead_lettered(consumer, report.dead.len());
        }
        for (seq, reason) in &report.dead {
            tracing::error!(
                consumer,
                seq,
                reason,
                "delivery dead-lettered; requeue it with `server dead-letters requeue`"
            );
        }
        for (seq, error) in &report.retried {
            tracing::warn!(consumer, seq, error, "delivery failed; it will be retried");
        }
        if report.lost > 0 {
            tracing::warn!(consumer, lost = report.lost, "leases expired before their deliveries finished");
        }
        Ok(report)
    }

    /// Runs until `shutdown` turns true, then drains what is due and returns.
    pub fn spawn(self, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            if let Some(sidecar) = &self.gate {
                if !sidecar.wait_ready(&mut shutdown).await {
                    return;
                }
            }
            let mut backoff = self.poll;
            loop {
                let mut failed = false;
                let wait = match self.round().await {
                    Ok(report) => {
                        backoff = self.poll;
                        // A full batch: more is due, so go on at once. Less
                        // than that was all there was: wait for the next poll,
                        // so that under a stream of changes a round carries
                        // the events of many commits rather than of the last
                        // one or two (each round costs the writer a claim
                        // and a finish).
                        if report.handled() >= BATCH as usize {
                            Duration::ZERO
                        } else {
                            self.poll
                        }
                    }
                    Err(e) => {
                        tracing::warn!(consumer = self.handler.name(), error = %e, retry_in_ms = backoff.as_millis() as u64, "outbox relay failed; will retry");
                        failed = true;
                        let wait = backoff;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        wait
                    }
                };
                if *shutdown.borrow() {
                    break;
                }
                if !wait.is_zero() {
                    // While the database fails, a commit's bell does not cut the backoff short.
                    let rung = async {
                        if failed {
                            std::future::pending::<()>().await;
                        }
                        self.bell.notified().await;
                        tokio::time::sleep(self.settle).await;
                    };
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = rung => {}
                        _ = shutdown.changed() => break,
                    }
                } else {
                    tokio::task::yield_now().await;
                }
            }
            self.flush().await;
        })
    }

    async fn flush(&self) {
        let deadline = tokio::time::Instant::now() + FLUSH_BUDGET;
        while tokio::time::Instant::now() < deadline {
            match self.round().await {
                Ok(r) if r.handled() > 0 => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "final outbox drain stopped; deliveries stay queued for the next start");
                    break;
                }
            }
        }
    }
}
