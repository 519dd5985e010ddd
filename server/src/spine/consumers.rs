//! Event consumers. The audit log records every event once, keyed by event id,
//! so a redelivered event changes nothing.

use std::sync::Arc;

use async_trait::async_trait;
use domain::event::EventEnvelope;
use domain::ports::{AuditStore, DeliveryError, EventHandler};

pub struct AuditLogger {
    store: Arc<dyn AuditStore>,
}

impl AuditLogger {
    pub const NAME: &'static str = "audit-log";

    pub fn new(store: Arc<dyn AuditStore>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl EventHandler for AuditLogger {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    async fn handle(&self, event: &EventEnvelope) -> Result<(), DeliveryError> {
        let fresh = self.store.record_audit(event).await.map_err(|e| DeliveryError::Transient(e.to_string()))?;
        if !fresh {
            tracing::debug!(event_id = %event.id, "audit entry already recorded; redelivery ignored");
        }
        Ok(())
    }
}
