//! Metrics and traces, as an operator's Prometheus and OpenTelemetry collector
//! see them: `/metrics` on its own port with every name the chart's dashboard
//! and alerts use, and one request's trace followed through the outbox and
//! the (simulated) Dapr sidecar to the worker that consumes its event.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use serde_json::Value;
use server::config::Config;
use server::startup::Application;
use tokio::net::TcpListener;

use crate::dapr::{a_user_with_a_reminder, create, stream_until, Pod};
use crate::dapr_sim::{DaprSim, SimConfig};
use crate::helpers::{serve, test_config, TestApp, TestDb};

/// The metric names the chart's dashboard and alert rules use.
fn documented_metrics() -> BTreeSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../charts/cadence/files/monitoring/metrics.txt");
    let text = std::fs::read_to_string(path).expect("the chart lists its metrics");
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_owned).collect()
}

/// The metric families a Prometheus text exposition holds (histogram series
/// under their family name).
fn families(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap())
        .map(|name| ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name).to_owned())
        .collect()
}

async fn scrape(metrics: &str) -> String {
    let res = reqwest::get(format!("{metrics}/metrics")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    res.text().await.unwrap()
}

/// The value of the one series whose line starts with `series` (name and labels as written).
fn value(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find(|l| l.starts_with(series)).and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn metrics_are_served_on_their_own_port_by_route_template_and_never_on_the_public_one() {
    let db = TestDb::for_http().await;
    let config = Config { metrics_bind: Some("127.0.0.1:0".parse().unwrap()), ..test_config(&db) };
    let pools: &[&str] = if db.url().starts_with("postgres") { &["main"] } else { &["read", "write"] };
    let app = Application::build(config).await.expect("app builds");
    let metrics = format!("http://127.0.0.1:{}", app.metrics_port().expect("metrics listen"));
    let app = serve(app, db).await;
    app.sign_up().await;
    let id = create(&app, &[("title", "Water the plants")]).await;
    assert_eq!(app.get(&format!("/tasks/{id}")).await.status(), 200);
    assert_eq!(app.get("/metrics").await.status(), 404, "the public listener has no /metrics");

    let exposition = scrape(&metrics).await;
    let tasks = r#"cadence_http_requests_total{method="GET",route="/tasks/{id}",status="200"}"#;
    assert!(value(&exposition, tasks).is_some_and(|n| n >= 1.0), "{exposition}");
    assert!(!exposition.contains(&id), "a task's id never becomes a label");
    let unmatched = r#"cadence_http_requests_total{method="GET",route="unmatched",status="404"}"#;
    assert!(value(&exposition, unmatched).is_some_and(|n| n >= 1.0), "the 404 is counted, unmatched");
    for pool in pools {
        let max = format!(r#"cadence_db_pool_max_connections{{pool="{pool}"}}"#);
        assert!(value(&exposition, &max).is_some_and(|n| n >= 1.0), "the {pool} pool: {exposition}");
    }
    let audit = r#"cadence_outbox_pending{subscriber="audit-log"}"#;
    assert!(value(&exposition, audit).is_some(), "the outbox backlog is read at scrape time");
    app.stop().await;
}

/// An OpenTelemetry collector that keeps what it is sent over OTLP/HTTP (JSON).
#[derive(Clone, Default)]
struct Collector {
    requests: Arc<Mutex<Vec<Value>>>,
}

/// One exported span: the service that sent it, and its ids and name.
#[derive(Debug, Clone)]
struct Span {
    service: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    name: String,
}

impl Collector {
    async fn start() -> (Self, String) {
        let collector = Self::default();
        let app = Router::new().route("/v1/traces", post(receive)).with_state(collector.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (collector, url)
    }

    fn spans(&self) -> Vec<Span> {
        let mut spans = Vec::new();
        for request in self.requests.lock().unwrap().iter() {
            for resource in request["resourceSpans"].as_array().into_iter().flatten() {
                let service = resource["resource"]["attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|a| a["key"] == "service.name")
                    .and_then(|a| a["value"]["stringValue"].as_str())
                    .unwrap_or_default();
                for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                    for span in scope["spans"].as_array().into_iter().flatten() {
                        let text = |key: &str| span[key].as_str().unwrap_or_default().to_owned();
                        spans.push(Span {
                            service: service.to_owned(),
                            trace_id: text("traceId"),
                            span_id: text("spanId"),
                            parent_span_id: text("parentSpanId"),
                            name: text("name"),
                        });
                    }
                }
            }
        }
        spans
    }

    async fn wait_for(&self, what: &str, check: impl Fn(&[Span]) -> bool) -> Vec<Span> {
        let found = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let spans = self.spans();
                if check(&spans) {
                    return spans;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("the collector never received {what}: {:#?}", self.spans()))
    }
}

async fn receive(State(collector): State<Collector>, body: Bytes) -> &'static str {
    let request: Value = serde_json::from_slice(&body).expect("OTLP/JSON");
    collector.requests.lock().unwrap().push(request);
    "{}"
}

/// A worker and a web pod on the simulated sidecar, exporting traces to
/// `collector` and serving metrics.
async fn traced_cluster(db: &TestDb, collector: &str) -> (DaprSim, Pod, Pod) {
    let sim = DaprSim::start(SimConfig::default()).await;
    sim.set_ready(true);
    let env = |service: &'static str| {
        [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.to_owned()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json".to_owned()),
            ("OTEL_SERVICE_NAME", service.to_owned()),
            ("OTEL_BSP_SCHEDULE_DELAY", "50".to_owned()),
            ("CADENCE_METRICS_BIND", "127.0.0.1:0".to_owned()),
        ]
    };
    let start = |role: &'static str, service: &'static str| {
        let env = env(service);
        let sim = &sim;
        async move {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            Pod::start_with(db, sim, role, &env).await
        }
    };
    let worker = start("worker", "cadence-worker").await;
    sim.add_app(&worker.address).await;
    let web = start("web", "cadence-web").await;
    (sim, worker, web)
}

#[tokio::test]
async fn one_requests_trace_reaches_the_worker_that_consumes_its_event_through_the_outbox_and_dapr() {
    let db = TestDb::for_http().await;
    let (collector, url) = Collector::start().await;
    let (_sim, _worker, web) = traced_cluster(&db, &url).await;
    let app = TestApp::attach(&web.address, db.store().await);
    app.sign_up().await;
    // The request arrives traced, as from a proxy that traces: its trace must reach the consumer.
    let (trace_id, caller) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let res = app
        .client
        .post(app.url("/api/create_task"))
        .header("traceparent", format!("00-{trace_id}-{caller}-01"))
        .form(&[("title", "Traced all the way")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection(), "{:?}", res.status());

    let in_trace = |s: &Span| s.trace_id == trace_id;
    let exported = |spans: &[Span], service: &str, name: &str| {
        spans.iter().any(|s| in_trace(s) && s.service == service && s.name == name)
    };
    // Each process exports its spans as they end, in batches of its own: they arrive in any order.
    // Every pod relays the outbox to Dapr (under a lease), so either may publish the event.
    let spans = collector
        .wait_for("the request's, the publish's and the worker's spans in one trace", |spans| {
            exported(spans, "cadence-web", "POST /api/create_task")
                && spans.iter().any(|s| in_trace(s) && s.name == "dapr-publisher task.created")
                && exported(spans, "cadence-worker", "audit-log task.created")
        })
        .await;
    let request = spans
        .iter()
        .find(|s| in_trace(s) && s.service == "cadence-web" && s.name == "POST /api/create_task")
        .expect("the web pod's request span");
    assert_eq!(request.parent_span_id, caller, "the request continues the caller's trace");
    let publish = spans.iter().find(|s| in_trace(s) && s.name == "dapr-publisher task.created").unwrap();
    let consume = spans.iter().find(|s| in_trace(s) && s.name == "audit-log task.created").unwrap();
    assert_eq!(consume.parent_span_id, publish.span_id, "the worker's span follows the publish, through Dapr");
    // The event was written inside the request, so the publish hangs under its span (through the outbox).
    let mut ancestor = spans.iter().find(|s| s.span_id == publish.parent_span_id);
    while let Some(span) = ancestor.filter(|s| s.span_id != request.span_id) {
        ancestor = spans.iter().find(|s| s.span_id == span.parent_span_id);
    }
    assert!(ancestor.is_some(), "{publish:?} is not under {request:?}: {spans:#?}");
}

#[tokio::test]
async fn every_metric_the_dashboard_and_alerts_use_is_exported_by_the_web_and_worker_pods() {
    let db = TestDb::for_http().await;
    let (collector, url) = Collector::start().await;
    let (sim, worker, web) = traced_cluster(&db, &url).await;
    let (app, mut stream) = a_user_with_a_reminder(&web, &db).await;
    let now = chrono::Utc::now().timestamp_millis();
    db.execute(&format!("UPDATE timers SET fire_at = {now}")).await;
    stream_until(&mut stream, "the notification", |event, _| event == "notification.created").await;
    sim.wait_until("every delivery settled", |sim| sim.idle()).await;

    let web_metrics = scrape(web.metrics.as_deref().expect("the web pod serves metrics")).await;
    // The scheduler counts a firing just after committing it, beside the relay that publishes it.
    let fired = r#"cadence_reminders_fired_total{path="scheduler"}"#;
    let worker_metrics = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let metrics = scrape(worker.metrics.as_deref().expect("the worker serves metrics")).await;
            if value(&metrics, fired).is_some() {
                return metrics;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the worker counts the reminder it fired");
    let exported: BTreeSet<String> = families(&web_metrics).union(&families(&worker_metrics)).cloned().collect();
    let missing: Vec<String> = documented_metrics().into_iter().filter(|m| !exported.contains(m)).collect();
    assert!(missing.is_empty(), "documented but not exported: {missing:?}\n{web_metrics}\n{worker_metrics}");

    assert_eq!(value(&web_metrics, "cadence_sse_streams "), Some(1.0), "the open stream is counted on the web pod");
    assert_eq!(value(&worker_metrics, fired), Some(1.0), "{worker_metrics}");
    assert_eq!(value(&worker_metrics, "cadence_reminder_lateness_seconds_count"), Some(1.0));
    let taken = r#"cadence_dapr_deliveries_total{topic="reminders",status="success"}"#;
    assert!(value(&worker_metrics, taken).is_some_and(|n| n >= 1.0), "{worker_metrics}");
    let dead = r#"cadence_dead_letters_total{consumer="notifier"}"#;
    assert_eq!(value(&worker_metrics, dead), Some(0.0), "dead letters are counted from zero");
    drop(stream);
    drop(app);
    drop(collector);
}
