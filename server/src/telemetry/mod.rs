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
}
