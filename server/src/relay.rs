//! The outbox relay worker: drains committed events to the bus in order, backs
//! off while the bus is unavailable, and drains once more on shutdown. Events
//! left behind by a crash are still in the outbox and go out on the next start.

use std::sync::Arc;
use std::time::Duration;

use domain::ports::{Clock, EventBus, Store};
use domain::relay::drain_once;
use tokio::sync::watch;
use tokio::task::JoinHandle;

const BATCH: u32 = 100;
const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub struct Relay {
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn EventBus>,
    pub clock: Arc<dyn Clock>,
    pub poll: Duration,
}

impl Relay {
    /// Runs until `shutdown` turns true, then flushes what it can and returns.
    pub fn spawn(self, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut backoff = self.poll;
            loop {
                let wait = match drain_once(&self.store, &self.bus, &self.clock, BATCH).await {
                    Ok(report) => {
                        for (id, reason) in &report.dropped {
                            tracing::error!(event_id = %id, reason, "event dropped by the bus");
                        }
                        backoff = self.poll;
                        if report.published + report.dropped.len() == BATCH as usize {
                            Duration::ZERO
                        } else {
                            self.poll
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "outbox relay failed; will retry");
                        let wait = backoff;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        wait
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => break,
                }
                if *shutdown.borrow() {
                    break;
                }
            }
            self.flush().await;
        })
    }

    async fn flush(&self) {
        loop {
            match drain_once(&self.store, &self.bus, &self.clock, BATCH).await {
                Ok(r) if r.published + r.dropped.len() > 0 => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "final outbox flush stopped; events stay queued for the next start");
                    break;
                }
            }
        }
    }
}
