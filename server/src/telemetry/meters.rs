//! Prometheus metrics: the recorder (the `metrics` crate's facade, exported by
//! `metrics-exporter-prometheus`), `GET /metrics` on its own port
//! (`CADENCE_METRICS_BIND`), kept off the public listener so the ingress never
//! exposes it, and the few functions the rest of the server records through.
//!
//! The names are a contract: the chart's dashboard and alert rules use them,
//! and `charts/cadence/files/monitoring/metrics.txt` lists them for the test
//! that scrapes a running server.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use domain::ports::Store;
use http::{header, Method, StatusCode};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const HTTP_REQUESTS: &str = "cadence_http_requests_total";
pub const HTTP_DURATION: &str = "cadence_http_request_duration_seconds";
pub const OUTBOX_PENDING: &str = "cadence_outbox_pending";
pub const OUTBOX_OLDEST: &str = "cadence_outbox_oldest_pending_seconds";
pub const OUTBOX_DEAD: &str = "cadence_outbox_dead_letters";
pub const RELAY_LAG: &str = "cadence_relay_lag_seconds";
pub const CONSUMER_LAG: &str = "cadence_consumer_lag_seconds";
pub const DEAD_LETTERS: &str = "cadence_dead_letters_total";
pub const DAPR_DELIVERIES: &str = "cadence_dapr_deliveries_total";
pub const REMINDER_LATENESS: &str = "cadence_reminder_lateness_seconds";
pub const REMINDERS_FIRED: &str = "cadence_reminders_fired_total";
pub const SSE_STREAMS: &str = "cadence_sse_streams";
pub const POOL_CONNECTIONS: &str = "cadence_db_pool_connections";
pub const POOL_MAX: &str = "cadence_db_pool_max_connections";
pub const BUILD_INFO: &str = "cadence_build_info";

/// Request latencies: most pages answer in milliseconds; seconds mean trouble.
const LATENCY_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Lags and lateness: the alert threshold (5 s for reminders, 30 s for the relay) sits on a bucket edge.
const LAG_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0];
/// How long a scrape waits for the database's outbox figures before answering without them.
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(2);

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once (later calls get the same handle;
/// tests build several apps in one process). Until it is installed, recording
/// costs next to nothing and goes nowhere.
pub fn install() -> PrometheusHandle {
    RECORDER
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), LATENCY_BUCKETS)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_lag_seconds".into()), LAG_BUCKETS))
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full(REMINDER_LATENESS.into()), LAG_BUCKETS))
                .expect("the bucket lists are not empty");
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder installed first (none is, in this binary) would take the readings instead.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was installed already; /metrics will stay empty");
            }
            describe();
            gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            handle
        })
        .clone()
}

fn describe() {
    describe_counter!(HTTP_REQUESTS, "HTTP requests answered, by method, route template and status.");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "Time to answer an HTTP request (to its headers).");
    describe_gauge!(OUTBOX_PENDING, "Deliveries waiting in the outbox, by subscriber.");
    describe_gauge!(OUTBOX_OLDEST, Unit::Seconds, "Age of the oldest event a subscriber has not received yet.");
    describe_gauge!(OUTBOX_DEAD, "Dead-lettered deliveries in the outbox, by subscriber.");
    describe_histogram!(RELAY_LAG, Unit::Seconds, "Event commit to its delivery by the outbox relay.");
    describe_histogram!(CONSUMER_LAG, Unit::Seconds, "Event commit to its handling by a consumer.");
    describe_counter!(DEAD_LETTERS, "Deliveries given up for good (outbox dead letters and Dapr DROPs).");
    describe_counter!(DAPR_DELIVERIES, "Events Dapr delivered here, by topic and answer.");
    describe_histogram!(REMINDER_LATENESS, Unit::Seconds, "How long after its time a reminder fired.");
    describe_counter!(REMINDERS_FIRED, "Reminders fired, by what fired them.");
    describe_gauge!(SSE_STREAMS, "Live (server-sent events) streams open in this process.");
    describe_gauge!(POOL_CONNECTIONS, "Database connections, by pool and state.");
    describe_gauge!(POOL_MAX, "The most connections each database pool opens.");
    describe_gauge!(BUILD_INFO, "Always 1; the label names the running version.");
}

/// What `/metrics` reads besides the recorder: the database's figures, taken at scrape time.
#[derive(Clone)]
pub struct Scrape {
    pub handle: PrometheusHandle,
    pub store: Arc<dyn Store>,
}

/// `GET /metrics`, for the metrics listener only.
pub fn routes(scrape: Scrape) -> Router {
    Router::new().route("/metrics", get(render)).with_state(scrape)
}

async fn render(State(scrape): State<Scrape>) -> Response {
    sample_store(&*scrape.store).await;
    scrape.handle.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], scrape.handle.render()).into_response()
}

/// Outbox backlog and pool use, read now. A slow or failing database leaves
/// the last readings in place (and its own alerts fire elsewhere).
async fn sample_store(store: &dyn Store) {
    for pool in store.pools() {
        gauge!(POOL_CONNECTIONS, "pool" => pool.name, "state" => "idle").set(f64::from(pool.idle));
        gauge!(POOL_CONNECTIONS, "pool" => pool.name, "state" => "in_use")
            .set(f64::from(pool.open.saturating_sub(pool.idle)));
        gauge!(POOL_MAX, "pool" => pool.name).set(f64::from(pool.max));
    }
    let stats = match tokio::time::timeout(SAMPLE_TIMEOUT, store.subscriber_stats()).await {
        Ok(Ok(stats)) => stats,
        Ok(Err(e)) => return tracing::warn!(error = %e, "the outbox figures for /metrics could not be read"),
        Err(_) => return tracing::warn!("the outbox figures for /metrics took too long to read"),
    };
    let now = Utc::now();
    for s in stats {
        let oldest = s.oldest_pending.map_or(0.0, |at| seconds_since(at, now));
        gauge!(OUTBOX_PENDING, "subscriber" => s.subscriber.clone()).set(s.pending as f64);
        gauge!(OUTBOX_DEAD, "subscriber" => s.subscriber.clone()).set(s.dead as f64);
        gauge!(OUTBOX_OLDEST, "subscriber" => s.subscriber).set(oldest);
    }
}

fn seconds_since(at: DateTime<Utc>, now: DateTime<Utc>) -> f64 {
    (now - at).num_milliseconds().max(0) as f64 / 1000.0
}

/// The route template a request matched, handed from the router (which knows
/// it) out to `track_http` (which sees every request, matched or not).
#[derive(Clone)]
struct RouteTemplate(String);

/// Whether a recorder takes readings: until `install`, the HTTP middleware
/// passes requests straight through rather than building labels for nothing.
fn recording() -> bool {
    RECORDER.get().is_some()
}

/// Inner middleware, on the router: notes the matched route on the response.
pub async fn note_route(req: Request, next: Next) -> Response {
    if !recording() {
        return next.run(req).await;
    }
    let route = req.extensions().get::<MatchedPath>().map(|p| RouteTemplate(p.as_str().to_owned()));
    let mut response = next.run(req).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}

/// Outer middleware: counts and times every request by method, route
/// template (never the raw path, which would make a series per task id) and status.
pub async fn track_http(req: Request, next: Next) -> Response {
    if !recording() {
        return next.run(req).await;
    }
    let method = method_label(req.method());
    let started = Instant::now();
    let response = next.run(req).await;
    let elapsed = started.elapsed().as_secs_f64();
    let route = response.extensions().get::<RouteTemplate>().map_or_else(|| "unmatched".to_owned(), |r| r.0.clone());
    let status = status_label(response.status());
    counter!(HTTP_REQUESTS, "method" => method, "route" => route.clone(), "status" => status).increment(1);
    histogram!(HTTP_DURATION, "method" => method, "route" => route).record(elapsed);
    response
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

fn status_label(status: StatusCode) -> String {
    status.as_u16().to_string()
}

/// An event delivered by the outbox relay to `subscriber`; a consumer
/// handling it in-process counts toward the consumer lag too.
pub fn relayed(subscriber: &'static str, consumer: bool, occurred_at: DateTime<Utc>) {
    let lag = seconds_since(occurred_at, Utc::now());
    histogram!(RELAY_LAG, "subscriber" => subscriber).record(lag);
    if consumer {
        histogram!(CONSUMER_LAG, "consumer" => subscriber).record(lag);
    }
}

/// An event Dapr delivered, handled by `consumer`.
pub fn consumed(consumer: &'static str, occurred_at: DateTime<Utc>) {
    histogram!(CONSUMER_LAG, "consumer" => consumer).record(seconds_since(occurred_at, Utc::now()));
}

/// Starts each consumer's dead-letter count at zero, so the first one is an
/// increase Prometheus sees (a series that appears at 1 shows no increase).
pub fn count_dead_letters_from_zero(consumers: &[&'static str]) {
    for consumer in consumers.iter().copied().chain([UNREADABLE]) {
        counter!(DEAD_LETTERS, "consumer" => consumer).increment(0);
    }
}

/// Who the dead-letter count names for a Dapr delivery no consumer could even read.
pub const UNREADABLE: &str = "unreadable";

pub fn dead_lettered(consumer: &'static str, count: usize) {
    counter!(DEAD_LETTERS, "consumer" => consumer).increment(count as u64);
}

/// Dapr's delivery to a topic route and its answer (`success`, `retry`, `drop`).
pub fn dapr_delivery(topic: &str, status: &'static str) {
    counter!(DAPR_DELIVERIES, "topic" => topic.to_owned(), "status" => status).increment(1);
}

/// A reminder fired, `lateness` after its time, by `path` (`scheduler`, `dapr-job` or `backstop`).
pub fn reminder_fired(path: &'static str, lateness: chrono::Duration) {
    let seconds = lateness.num_milliseconds().max(0) as f64 / 1000.0;
    histogram!(REMINDER_LATENESS).record(seconds);
    counter!(REMINDERS_FIRED, "path" => path).increment(1);
}

/// Counts one open live stream for as long as it lives.
pub struct OpenStream(());

impl OpenStream {
    pub fn new() -> Self {
        gauge!(SSE_STREAMS).increment(1.0);
        Self(())
    }
}

impl Default for OpenStream {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        gauge!(SSE_STREAMS).decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stay_few_whatever_the_request() {
        assert_eq!(method_label(&Method::from_bytes(b"PROPFIND").unwrap()), "OTHER");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(status_label(StatusCode::IM_A_TEAPOT), "418");
    }

    #[test]
    fn a_lag_is_never_negative_even_when_clocks_disagree() {
        let now = Utc::now();
        assert_eq!(seconds_since(now + chrono::Duration::seconds(3), now), 0.0);
        assert_eq!(seconds_since(now - chrono::Duration::milliseconds(1500), now), 1.5);
    }
}
