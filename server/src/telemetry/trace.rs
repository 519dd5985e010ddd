//! OpenTelemetry traces: export over OTLP/HTTP when configured, and W3C trace
//! context carried from a request, through the outbox (the event's
//! `trace_parent`), to the relay, Dapr's CloudEvent and the consumers, so one
//! request's trace reaches every consumer of its events.
//!
//! Configured by the standard variables: `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) turns export on;
//! `OTEL_EXPORTER_OTLP_PROTOCOL` is `http/protobuf` (the default) or
//! `http/json`; `OTEL_SERVICE_NAME` names the process (default `cadence`);
//! `OTEL_TRACES_SAMPLER` picks the sampler by the specification's names
//! (default `parentbased_traceidratio`: a request that arrives sampled by its
//! caller is always kept) and `OTEL_TRACES_SAMPLER_ARG` is the ratio of new
//! traces kept (default 1).

use std::collections::HashMap;

use domain::event::EventEnvelope;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::Context;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;

use super::Filtered;

#[derive(Debug, thiserror::Error)]
#[error("environment variable {name} is invalid: {message}")]
pub struct TraceConfigError {
    pub name: &'static str,
    pub message: String,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The exporter the environment asks for, or none when no endpoint is set
/// (or `OTEL_SDK_DISABLED=true`).
pub fn provider_from_env() -> Result<Option<SdkTracerProvider>, TraceConfigError> {
    let endpoint = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| env("OTEL_EXPORTER_OTLP_ENDPOINT"));
    if endpoint.is_none() || env("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Ok(None);
    }
    // The exporter reads the protocol itself but quietly ignores one it does not know.
    for name in ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"] {
        if let Some(protocol) = env(name).filter(|p| p != "http/protobuf" && p != "http/json") {
            let message = format!("`{protocol}` is not supported: use http/protobuf or http/json (port 4318)");
            return Err(TraceConfigError { name, message });
        }
    }
    let ratio = match env("OTEL_TRACES_SAMPLER_ARG") {
        None => 1.0,
        Some(raw) => raw.parse::<f64>().ok().filter(|r| (0.0..=1.0).contains(r)).ok_or(TraceConfigError {
            name: "OTEL_TRACES_SAMPLER_ARG",
            message: format!("`{raw}` is not a ratio between 0 and 1"),
        })?,
    };
    let sampler = sampler(env("OTEL_TRACES_SAMPLER").as_deref(), ratio)?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|e| TraceConfigError { name: "OTEL_EXPORTER_OTLP_ENDPOINT", message: e.to_string() })?;
    let mut resource =
        Resource::builder().with_attribute(opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    if env("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name("cadence");
    }
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    Ok(Some(
        SdkTracerProvider::builder()
            .with_sampler(sampler)
            .with_resource(resource.build())
            .with_batch_exporter(exporter)
            .build(),
    ))
}

/// `OTEL_TRACES_SAMPLER`, by the specification's names; parent-based by ratio when unset.
fn sampler(name: Option<&str>, ratio: f64) -> Result<Sampler, TraceConfigError> {
    let parent_based = |root| Sampler::ParentBased(Box::new(root));
    Ok(match name {
        None | Some("parentbased_traceidratio") => parent_based(Sampler::TraceIdRatioBased(ratio)),
        Some("traceidratio") => Sampler::TraceIdRatioBased(ratio),
        Some("always_on") => Sampler::AlwaysOn,
        Some("always_off") => Sampler::AlwaysOff,
        Some("parentbased_always_on") => parent_based(Sampler::AlwaysOn),
        Some("parentbased_always_off") => parent_based(Sampler::AlwaysOff),
        Some(other) => {
            return Err(TraceConfigError {
                name: "OTEL_TRACES_SAMPLER",
                message: format!(
                    "`{other}` is not supported: use parentbased_traceidratio, traceidratio, always_on, \
                     always_off, parentbased_always_on or parentbased_always_off"
                ),
            })
        }
    })
}

/// The layer that turns `tracing` spans into exported OpenTelemetry spans.
pub(super) fn layer(provider: &SdkTracerProvider) -> Box<dyn Layer<Filtered> + Send + Sync> {
    tracing_opentelemetry::layer().with_tracer(provider.tracer("cadence")).boxed()
}

/// The current span's context as a W3C `traceparent`; none when traces are
/// not exported (or the span is not part of a trace).
pub fn current_parent() -> Option<String> {
    let context = Span::current().context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove("traceparent")
}

/// The trace parent stored with an event in the outbox: the one it carries
/// already, else the current request's.
pub fn parent_of(event: &EventEnvelope) -> Option<String> {
    event.trace_parent.clone().or_else(current_parent)
}

/// Makes `span` a child of the remote span a W3C `traceparent` names. A
/// missing or unreadable one leaves the span where it is.
pub fn adopt(span: &Span, trace_parent: Option<&str>) {
    let Some(trace_parent) = trace_parent else { return };
    let carrier = HashMap::from([("traceparent".to_owned(), trace_parent.to_owned())]);
    let context: Context = TraceContextPropagator::new().extract(&carrier);
    if context.span().span_context().is_valid() {
        // Fails only when no OpenTelemetry layer is installed: then there is nothing to link.
        let _ = span.set_parent(context);
    }
}

/// A span for one consumer or publisher handling one event, a child of the
/// request that caused the event (through its stored `trace_parent`).
pub fn delivery_span(handler: &str, event: &EventEnvelope) -> Span {
    let span = tracing::info_span!(
        "deliver",
        otel.name = format!("{handler} {}", event.event_type),
        otel.kind = "consumer",
        consumer = handler,
        event_id = %event.id,
        event_type = %event.event_type,
    );
    adopt(&span, event.trace_parent.as_deref());
    span
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samplers_are_read_by_the_specifications_names_and_others_are_refused() {
        assert!(matches!(sampler(None, 0.5), Ok(Sampler::ParentBased(_))));
        assert!(matches!(sampler(Some("always_off"), 1.0), Ok(Sampler::AlwaysOff)));
        assert!(matches!(sampler(Some("traceidratio"), 0.1), Ok(Sampler::TraceIdRatioBased(r)) if r == 0.1));
        let refused = sampler(Some("jaeger_remote"), 1.0).unwrap_err();
        assert_eq!(refused.name, "OTEL_TRACES_SAMPLER");
        assert!(refused.message.contains("jaeger_remote"));
    }

    #[test]
    fn without_an_exporter_there_is_no_trace_parent_to_store() {
        let span = tracing::info_span!("request");
        let _entered = span.enter();
        assert_eq!(current_parent(), None);
    }
}
