//! Publishes the outbox's events through the Dapr sidecar (gRPC
//! `PublishEvent`, with the `dapr` crate). It is one subscriber of the outbox,
//! so a publish that fails or times out leaves the delivery pending and the
//! relay tries again with backoff; nothing is lost while the sidecar is away.
//!
//! Each event becomes a CloudEvent whose `id` is the event id (consumers
//! deduplicate by it), whose `type` names the event and its schema version
//! (`cadence.task.completed.v1`), and whose `data` is the envelope; its
//! partition key is the event's stream (its task, else its account), so the
//! events of one task stay in order on one Kafka partition.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use domain::event::{EventEnvelope, Topic, SOURCE};
use domain::ports::{DeliveryError, EventHandler};

use super::sidecar::SidecarClient;

pub struct DaprPublisher {
    pubsub: String,
    sidecar: SidecarClient,
    timeout: Duration,
}

impl DaprPublisher {
    pub const NAME: &'static str = "dapr-publisher";

    pub fn new(pubsub: impl Into<String>) -> Self {
        let timeout = Duration::from_secs(5);
        Self { pubsub: pubsub.into(), sidecar: SidecarClient::new(timeout), timeout }
    }
}

/// The metadata that makes Dapr's CloudEvent carry our id, type and source,
/// keeps a task's events on one partition, and carries the trace on: the
/// publishing span's when traces are exported here, else the request's as stored.
pub fn metadata(event: &EventEnvelope) -> HashMap<String, String> {
    let mut metadata = HashMap::from([
        ("cloudevent.id".to_owned(), event.id.to_string()),
        ("cloudevent.type".to_owned(), event.cloud_event_type()),
        ("cloudevent.source".to_owned(), SOURCE.to_owned()),
        ("partitionKey".to_owned(), event.stream().to_string()),
    ]);
    if let Some(parent) = crate::telemetry::trace::current_parent().or_else(|| event.trace_parent.clone()) {
        metadata.insert("cloudevent.traceparent".to_owned(), parent);
    }
    metadata
}

#[async_trait]
impl EventHandler for DaprPublisher {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    async fn handle(&self, event: &EventEnvelope) -> Result<(), DeliveryError> {
        let topic = Topic::of(&event.payload).name();
        let data = serde_json::to_vec(event).map_err(|e| DeliveryError::Permanent(e.to_string()))?;
        let mut client = self.sidecar.get().await.map_err(DeliveryError::Transient)?;
        let publish =
            client.publish_event(self.pubsub.as_str(), topic, "application/json", data, Some(metadata(event)));
        match tokio::time::timeout(self.timeout, publish).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(DeliveryError::Transient(format!("the sidecar refused to publish to {topic}: {e}"))),
            Err(_) => Err(DeliveryError::Transient(format!(
                "publishing to {topic} took longer than {} s",
                self.timeout.as_secs()
            ))),
        }
    }
}
