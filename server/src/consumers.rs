//! Event consumers. The audit log records every event once, keyed by event id,
//! so a redelivered event changes nothing.

use std::sync::Arc;

use async_trait::async_trait;
use domain::event::EventEnvelope;
use domain::ports::{BusError, EventHandler, Store};

pub struct AuditLogger {
    store: Arc<dyn Store>,
}

impl AuditLogger {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl EventHandler for AuditLogger {
    fn name(&self) -> &'static str {
        "audit-log"
    }

    async fn handle(&self, event: &EventEnvelope) -> Result<(), BusError> {
        let fresh = self.store.record_audit(event).await.map_err(|e| BusError::Transient(e.to_string()))?;
        if !fresh {
            tracing::debug!(event_id = %event.id, "audit entry already recorded; redelivery ignored");
        }
        Ok(())
    }
}
