//! Housekeeping that every replica may run, because each step is idempotent:
//! expired sessions are deleted, and events whose every delivery finished
//! long ago leave the outbox (the audit log keeps its own copy), as do timers
//! fired as long ago (their events recorded that they fired), and so do
//! undo records, idempotency keys and long-expired API tokens past their time.

use std::time::Duration;

use domain::services::Services;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct Maintenance {
    pub services: Services,
    pub every: Duration,
    /// How long finished events stay in the outbox, for inspection and replays.
    pub outbox_retention: chrono::Duration,
}

impl Maintenance {
    /// Runs one sweep now and then one every `every`, until `shutdown` turns true.
    pub fn spawn(self, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                self.sweep().await;
                tokio::select! {
                    _ = tokio::time::sleep(self.every) => {}
                    _ = shutdown.changed() => break,
                }
            }
        })
    }

    pub async fn sweep(&self) {
        match self.services.purge_expired_sessions().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "expired sessions purged"),
            Err(e) => tracing::warn!(error = %e, "purging expired sessions failed"),
        }
        let before = self.services.clock.now() - self.outbox_retention;
        match self.services.store.prune_outbox(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(events = n, "delivered events pruned from the outbox"),
            Err(e) => tracing::warn!(error = %e, "pruning the outbox failed"),
        }
        match self.services.store.prune_feed(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(entries = n, "old live feed entries pruned"),
            Err(e) => tracing::warn!(error = %e, "pruning the live feed failed"),
        }
        match self.services.store.prune_fired_timers(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(timers = n, "fired timers pruned"),
            Err(e) => tracing::warn!(error = %e, "pruning fired timers failed"),
        }
        // An undo record is of no use once its action can no longer be undone.
        let stale = self.services.clock.now() - chrono::Duration::minutes(domain::bulk::UNDO_MINUTES);
        match self.services.store.prune_undo(stale).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(records = n, "expired undo records pruned"),
            Err(e) => tracing::warn!(error = %e, "pruning undo records failed"),
        }
        let forgotten = self.services.clock.now() - chrono::Duration::hours(domain::idempotency::KEEP_HOURS);
        match self.services.store.prune_keys(forgotten).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(keys = n, "expired idempotency keys pruned"),
            Err(e) => tracing::warn!(error = %e, "pruning idempotency keys failed"),
        }
        let expired = self.services.clock.now() - chrono::Duration::days(domain::tokens::KEEP_EXPIRED_DAYS);
        match self.services.store.prune_tokens(expired).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(tokens = n, "long-expired API tokens deleted"),
            Err(e) => tracing::warn!(error = %e, "deleting expired API tokens failed"),
        }
        match self.services.store.delivery_stats().await {
            Ok(stats) if stats.dead > 0 => {
                tracing::error!(
                    dead_letters = stats.dead,
                    "dead letters wait for an operator: `server dead-letters list`"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reading delivery counts failed"),
        }
    }
}
