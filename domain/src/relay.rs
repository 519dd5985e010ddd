//! The outbox relay's core step: publish pending events in commit order and
//! mark each one published only after the bus accepted it.

use std::sync::Arc;

use uuid::Uuid;

use crate::event::TOPIC;
use crate::ports::{BusError, Clock, EventBus, Store};
use crate::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// What one drain did.
#[derive(Debug, Default, PartialEq)]
pub struct DrainReport {
    pub published: usize,
    /// Events the bus refused for good, with its reason; they are not retried.
    pub dropped: Vec<(Uuid, String)>,
}

/// Publishes up to `batch` pending events. Stops at the first transient failure
/// so order is kept; what is left is retried on the next call.
pub async fn drain_once(
    store: &Arc<dyn Store>,
    bus: &Arc<dyn EventBus>,
    clock: &Arc<dyn Clock>,
    batch: u32,
) -> Result<DrainReport, RelayError> {
    let mut report = DrainReport::default();
    for record in store.pending_events(batch).await? {
        match bus.publish(TOPIC, &record.envelope).await {
            Ok(()) => report.published += 1,
            Err(BusError::Permanent(reason)) => report.dropped.push((record.envelope.id, reason)),
            Err(transient) => return Err(transient.into()),
        }
        store.mark_published(record.seq, clock.now()).await?;
    }
    Ok(report)
}
