//! The in-process event bus, the default: delivers each event to every
//! registered consumer in this process. A failing consumer makes the publish
//! fail, so the relay retries the event later (consumers are idempotent).

use std::sync::Arc;

use async_trait::async_trait;
use domain::event::EventEnvelope;
use domain::ports::{BusError, EventBus, EventHandler};

pub struct InProcessBus {
    handlers: Vec<Arc<dyn EventHandler>>,
}

impl InProcessBus {
    pub fn new(handlers: Vec<Arc<dyn EventHandler>>) -> Self {
        Self { handlers }
    }
}

#[async_trait]
impl EventBus for InProcessBus {
    async fn publish(&self, topic: &str, event: &EventEnvelope) -> Result<(), BusError> {
        for handler in &self.handlers {
            handler.handle(event).await.inspect_err(|e| {
                tracing::warn!(consumer = handler.name(), topic, event_id = %event.id, error = %e, "delivery failed");
            })?;
        }
        Ok(())
    }
}
