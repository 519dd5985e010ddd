//! Logs, traces and metrics. Logs are pretty for people and JSON for log
//! collectors (`RUST_LOG` filters them); spans are exported to an
//! OpenTelemetry collector when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (see
//! `trace`); metrics are served in Prometheus's format on their own port
//! (see `meters`).

pub mod meters;
pub mod trace;

use tracing_subscriber::layer::Layered;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// What the log and trace layers sit on: the registry behind `RUST_LOG`'s filter.
type Filtered = Layered<EnvFilter, Registry>;

use crate::config::LogFormat;

/// Keeps the trace exporter alive; dropping it sends the spans still batched.
#[must_use = "dropping it stops the trace export"]
pub struct Telemetry {
    traces: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are exported.
    pub fn traces(&self) -> bool {
        self.traces.is_some()
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.traces.take() {
            if let Err(e) = provider.shutdown() {
                eprintln!("cadence: the last spans could not be exported: {e}");
            }
        }
    }
}

/// Installs logging, and trace export when the environment asks for it. An
/// unusable tracing setting is an error naming its variable.
pub fn init(format: LogFormat) -> Result<Telemetry, trace::TraceConfigError> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let logs = tracing_subscriber::fmt::layer().with_target(false);
    let logs = match format {
        LogFormat::Json => logs.json().flatten_event(true).boxed(),
        LogFormat::Pretty => logs.boxed(),
    };
    let traces = trace::provider_from_env()?;
    let mut layers: Vec<Box<dyn Layer<Filtered> + Send + Sync>> = vec![logs];
    if let Some(provider) = &traces {
        layers.push(trace::layer(provider));
    }
    // A second init (tests build several apps in one process) keeps the first.
    let _ = tracing_subscriber::registry().with(filter).with(layers).try_init();
    Ok(Telemetry { traces })
}

/// An outbox subscriber, observed: each delivery runs in a span that
/// continues the trace of the request behind the event, and each one
/// delivered counts toward the relay lag (and the consumer lag, for a consumer).
pub struct Observed {
    inner: std::sync::Arc<dyn domain::ports::EventHandler>,
    consumer: bool,
}

impl Observed {
    /// A consumer handling events in-process.
    pub fn consumer(inner: std::sync::Arc<dyn domain::ports::EventHandler>) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self { inner, consumer: true })
    }

    /// A publisher handing events on (to Dapr).
    pub fn publisher(inner: std::sync::Arc<dyn domain::ports::EventHandler>) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self { inner, consumer: false })
    }
}

#[async_trait::async_trait]
impl domain::ports::EventHandler for Observed {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn topics(&self) -> &'static [domain::event::Topic] {
        self.inner.topics()
    }

    async fn handle(&self, event: &domain::event::EventEnvelope) -> Result<(), domain::ports::DeliveryError> {
        use tracing::Instrument;
        let span = trace::delivery_span(self.inner.name(), event);
        let result = self.inner.handle(event).instrument(span).await;
        if result.is_ok() {
            meters::relayed(self.inner.name(), self.consumer, event.occurred_at);
        }
        result
    }

    fn batches(&self) -> bool {
        self.inner.batches()
    }

    fn wants(&self) -> domain::spine::Wants {
        self.inner.wants()
    }

    /// A batching consumer gets the whole batch (the audit logger's one
    /// insert; handed on one event at a time it was a transaction per
    /// event), and each event still has its span, open while the batch is
    /// handled. Any other handler is called once per event inside its span,
    /// so what it sends on carries that event's trace.
    async fn handle_batch(
        &self,
        events: &[&domain::event::EventEnvelope],
    ) -> Vec<Result<(), domain::ports::DeliveryError>> {
        if !self.inner.batches() {
            return domain::ports::handle_each(self, events).await;
        }
        let spans: Vec<tracing::Span> = events.iter().map(|e| trace::delivery_span(self.inner.name(), e)).collect();
        let answers = self.inner.handle_batch(events).await;
        for (event, answer) in events.iter().zip(&answers) {
            if answer.is_ok() {
                meters::relayed(self.inner.name(), self.consumer, event.occurred_at);
            }
        }
        drop(spans);
        answers
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use domain::event::{DomainEvent, EventEnvelope};
    use domain::ports::{DeliveryError, EventHandler};
    use domain::UserId;
    use uuid::Uuid;

    use super::Observed;

    /// Records how it was called: each call's number of events.
    struct Recorder {
        batches: bool,
        calls: Mutex<Vec<usize>>,
    }

    #[async_trait::async_trait]
    impl EventHandler for Recorder {
        fn name(&self) -> &'static str {
            "recorder"
        }

        fn batches(&self) -> bool {
            self.batches
        }

        async fn handle(&self, _: &EventEnvelope) -> Result<(), DeliveryError> {
            self.calls.lock().unwrap().push(1);
            Ok(())
        }

        async fn handle_batch(&self, events: &[&EventEnvelope]) -> Vec<Result<(), DeliveryError>> {
            if !self.batches {
                return domain::ports::handle_each(self, events).await;
            }
            self.calls.lock().unwrap().push(events.len());
            events.iter().map(|_| Ok(())).collect()
        }
    }

    fn events(n: usize) -> Vec<EventEnvelope> {
        let user = UserId(Uuid::now_v7());
        (0..n)
            .map(|_| {
                EventEnvelope::new(
                    Uuid::now_v7(),
                    chrono::Utc::now(),
                    user,
                    DomainEvent::PasswordChanged { user_id: user },
                )
            })
            .collect()
    }

    async fn calls_through_observed(batches: bool) -> Vec<usize> {
        let inner = Arc::new(Recorder { batches, calls: Mutex::new(Vec::new()) });
        let observed = Observed::consumer(inner.clone());
        let events = events(3);
        let refs: Vec<&EventEnvelope> = events.iter().collect();
        let answers = observed.handle_batch(&refs).await;
        assert_eq!(answers.len(), 3, "every event is answered");
        let calls = inner.calls.lock().unwrap().clone();
        calls
    }

    #[tokio::test]
    async fn a_batching_consumer_gets_the_whole_batch_through_the_observer() {
        assert_eq!(calls_through_observed(true).await, [3], "one call for the batch, not one per event");
    }

    #[tokio::test]
    async fn any_other_handler_is_called_once_per_event_each_in_its_own_span() {
        assert_eq!(calls_through_observed(false).await, [1, 1, 1]);
    }
}
