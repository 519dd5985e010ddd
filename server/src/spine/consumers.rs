//! Event consumers, each idempotent: the audit log records every event once,
//! keyed by event id; the recurrence generator makes a repeating task's next
//! instance once per occurrence; the notifier makes one notification per
//! source event. A redelivered event changes nothing. Each says which events
//! it acts on (`wants`), and is written deliveries of those alone.

use std::sync::Arc;

use async_trait::async_trait;
use domain::event::{DomainEvent, EventEnvelope, Topic};
use domain::ports::{AuditStore, DeliveryError, EventHandler, Store};
use domain::services::Services;
use domain::spine::Wants;
use domain::ServiceError;

/// Every consumer, each a subscriber of the outbox (in-process) or of its
/// topics (with Dapr).
pub fn all(store: &Arc<dyn Store>, services: &Services) -> Vec<Arc<dyn EventHandler>> {
    vec![
        Arc::new(AuditLogger::new(store.clone())),
        Arc::new(RecurrenceGenerator::new(services.clone())),
        Arc::new(Notifier::new(services.clone())),
    ]
}

/// The topics the consumers of `all` want, without building them (for `server dapr subscriptions`).
pub fn topics() -> impl Iterator<Item = Topic> {
    [AuditLogger::TOPICS, RecurrenceGenerator::TOPICS, Notifier::TOPICS].into_iter().flatten().copied()
}

pub struct AuditLogger {
    store: Arc<dyn AuditStore>,
}

impl AuditLogger {
    pub const NAME: &'static str = "audit-log";
    /// Every change and every reminder; notifications are not audited.
    pub const TOPICS: &'static [Topic] = &[Topic::TaskEvents, Topic::Reminders];

    pub fn new(store: Arc<dyn AuditStore>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl EventHandler for AuditLogger {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn topics(&self) -> &'static [Topic] {
        Self::TOPICS
    }

    async fn handle(&self, event: &EventEnvelope) -> Result<(), DeliveryError> {
        self.handle_batch(&[event]).await.remove(0)
    }

    fn batches(&self) -> bool {
        true
    }

    fn wants(&self) -> Wants {
        |event| event.is_audited()
    }

    /// One insert for the whole batch: an event already recorded is skipped
    /// (a redelivery), and if the insert fails every event in it is retried.
    async fn handle_batch(&self, events: &[&EventEnvelope]) -> Vec<Result<(), DeliveryError>> {
        let audited: Vec<&EventEnvelope> = events.iter().copied().filter(|e| e.payload.is_audited()).collect();
        let answer = match self.store.record_audits(&audited).await {
            Ok(fresh) => {
                if (fresh as usize) < audited.len() {
                    tracing::debug!(redelivered = audited.len() - fresh as usize, "audit entries already recorded");
                }
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        };
        events.iter().map(|_| answer.clone().map_err(DeliveryError::Transient)).collect()
    }
}

/// Makes the next instance of a repeating task when one is completed.
/// Idempotent: a series has one instance per occurrence.
pub struct RecurrenceGenerator {
    services: Services,
}

impl RecurrenceGenerator {
    pub const NAME: &'static str = "recurrence";
    pub const TOPICS: &'static [Topic] = &[Topic::TaskEvents];

    pub fn new(services: Services) -> Self {
        Self { services }
    }

    /// A repeating task completed: the only event it acts on.
    fn acts_on(event: &DomainEvent) -> bool {
        matches!(event, DomainEvent::TaskCompleted { after, .. } if after.repeat.is_some())
    }
}

#[async_trait]
impl EventHandler for RecurrenceGenerator {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn topics(&self) -> &'static [Topic] {
        Self::TOPICS
    }

    fn wants(&self) -> Wants {
        Self::acts_on
    }

    async fn handle(&self, event: &EventEnvelope) -> Result<(), DeliveryError> {
        let DomainEvent::TaskCompleted { after, .. } = &event.payload else { return Ok(()) };
        if !Self::acts_on(&event.payload) {
            return Ok(());
        }
        match self.services.create_next_instance(after).await {
            Ok(Some(next)) => {
                tracing::debug!(task = %after.id, next = %next.id, "next instance of a repeating task created");
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }
}

/// Turns reminders (and other events worth a word) into notifications.
/// Idempotent: one notification per source event.
pub struct Notifier {
    services: Services,
}

impl Notifier {
    pub const NAME: &'static str = "notifier";
    pub const TOPICS: &'static [Topic] = &[Topic::TaskEvents, Topic::Reminders];

    pub fn new(services: Services) -> Self {
        Self { services }
    }

    /// A reminder, or a repeating task's new instance (which may be due
    /// today); the service decides which of those become notifications.
    fn acts_on(event: &DomainEvent) -> bool {
        match event {
            DomainEvent::ReminderDue { .. } => true,
            DomainEvent::TaskCreated { after } => after.repeat.is_some(),
            _ => false,
        }
    }
}

#[async_trait]
impl EventHandler for Notifier {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn topics(&self) -> &'static [Topic] {
        Self::TOPICS
    }

    fn wants(&self) -> Wants {
        Self::acts_on
    }

    async fn handle(&self, event: &EventEnvelope) -> Result<(), DeliveryError> {
        if !Self::acts_on(&event.payload) {
            return Ok(());
        }
        self.services.notify(event).await.map(|_| ()).map_err(classify)
    }
}

/// A service failure as a delivery outcome: storage trouble is worth
/// retrying, anything the event itself causes is not.
fn classify(e: ServiceError) -> DeliveryError {
    match e {
        ServiceError::Internal(_) | ServiceError::Conflict { .. } => DeliveryError::Transient(e.to_string()),
        other => DeliveryError::Permanent(other.to_string()),
    }
}
