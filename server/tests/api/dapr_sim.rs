//! A Dapr sidecar SIMULATOR, for tests only: no Dapr runtime can be installed
//! on these machines. It speaks the part of Dapr's documented protocol that
//! Cadence uses, so the adapter is tested against the protocol, not against
//! Dapr itself:
//!
//! - gRPC `dapr.proto.runtime.v1.Dapr/PublishEvent`, as the `dapr` crate calls
//!   it (every other method answers `Unimplemented`);
//! - HTTP `GET /v1.0/healthz/outbound` (204 once "ready");
//! - subscriptions read from each app's `GET /dapr/subscribe`;
//! - delivery of structured CloudEvents (`application/cloudevents+json`) to
//!   the subscription's route, in order per topic and partition key, one
//!   consumer of the app-id's instances per delivery (competing consumers);
//! - the app's answers: `SUCCESS` (or an empty 2xx), `RETRY` or any other
//!   status (redelivered with backoff, up to a bound), `DROP` or 404; messages
//!   dropped or out of retries go to the subscription's dead-letter topic
//!   (Dapr ≥ 1.13 forwards dropped messages there too);
//! - at-least-once on purpose: every `duplicate_every`-th message is delivered
//!   a second time after it succeeded;
//! - the Jobs API (Dapr ≥ 1.18): gRPC `ScheduleJob` (one-shot `dueTime`,
//!   overwrite or `AlreadyExists`), `GetJob` and `DeleteJob` (`NotFound` for
//!   a job it does not hold), and `POST /job/<name>` to one of the app's
//!   instances at the due time, called again (up to 3 times) while it fails;
//!   `lose_jobs` forgets them all, as a Scheduler that lost its data.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use dapr::dapr::proto::runtime::v1 as pb;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tonic::server::NamedService;
use tonic::{Request, Response, Status};

pub struct SimConfig {
    /// The pub/sub component apps may publish to.
    pub pubsub: String,
    /// Deliver every n-th message twice (0: never).
    pub duplicate_every: u64,
    pub first_backoff: Duration,
    /// Attempts before a message that keeps failing goes to the dead-letter topic.
    pub max_attempts: u32,
    /// Whether jobs call back at their time (false: a Scheduler that accepts jobs and never fires them).
    pub call_jobs: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            pubsub: "cadence-pubsub".into(),
            duplicate_every: 3,
            first_backoff: Duration::from_millis(50),
            max_attempts: 5,
            call_jobs: true,
        }
    }
}

/// A message as the broker holds it.
#[derive(Debug, Clone)]
pub struct Message {
    pub topic: String,
    pub cloud_event: Value,
    pub metadata: HashMap<String, String>,
}

impl Message {
    pub fn id(&self) -> &str {
        self.cloud_event["id"].as_str().unwrap_or_default()
    }

    pub fn event_type(&self) -> &str {
        self.cloud_event["type"].as_str().unwrap_or_default()
    }
}

/// What an app answered to one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Success,
    Retry,
    Drop,
    /// No connection, or no answer.
    Unreachable,
    /// A status without a body Dapr reads.
    Status(u16),
}

/// One call of a job's callback.
#[derive(Debug, Clone)]
pub struct JobCall {
    pub name: String,
    pub at: chrono::DateTime<chrono::Utc>,
    pub answer: Answer,
}

struct Job {
    due: chrono::DateTime<chrono::Utc>,
    timer: JoinHandle<()>,
}

#[derive(Debug, Clone)]
pub struct Attempt {
    pub topic: String,
    pub id: String,
    pub event_type: String,
    pub app: String,
    pub answer: Answer,
}

#[derive(Debug, Clone)]
struct Subscription {
    topic: String,
    route: String,
    dead_letter: Option<String>,
}

#[derive(Debug, Clone)]
struct App {
    url: String,
    subscriptions: Vec<Subscription>,
}

struct State {
    config: SimConfig,
    ready: AtomicBool,
    refuse: AtomicU32,
    apps: Mutex<Vec<App>>,
    log: Mutex<Vec<Message>>,
    attempts: Mutex<Vec<Attempt>>,
    /// Per topic and partition key: the previous message's "settled" flag, so
    /// a key's messages are delivered one at a time, in order, as on a partition.
    chains: Mutex<HashMap<(String, String), watch::Receiver<bool>>>,
    turn: AtomicUsize,
    sequence: AtomicU64,
    /// Messages whose delivery (duplicate included) has not settled yet.
    in_flight: AtomicUsize,
    jobs: Mutex<HashMap<String, Job>>,
    job_calls: Mutex<Vec<JobCall>>,
    changed: Notify,
    http: reqwest::Client,
}

pub struct DaprSim {
    pub grpc_port: u16,
    pub http_port: u16,
    state: Arc<State>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for DaprSim {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl DaprSim {
    /// Starts the simulator's gRPC and HTTP ports; it is not "ready" until told.
    pub async fn start(config: SimConfig) -> Self {
        let state = Arc::new(State {
            config,
            ready: AtomicBool::new(false),
            refuse: AtomicU32::new(0),
            apps: Mutex::default(),
            log: Mutex::default(),
            attempts: Mutex::default(),
            chains: Mutex::default(),
            turn: AtomicUsize::new(0),
            sequence: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            jobs: Mutex::default(),
            job_calls: Mutex::default(),
            changed: Notify::new(),
            http: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap(),
        });
        let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (grpc_port, http_port) = (grpc.local_addr().unwrap().port(), http.local_addr().unwrap().port());
        let service = Grpc(state.clone());
        let grpc_task = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(grpc))
                .await
                .unwrap();
        });
        let ready = state.clone();
        let control = state.clone();
        let health = Router::new()
            .route(
                "/v1.0/healthz/outbound",
                get(move || {
                    let ready = ready.ready.load(Ordering::SeqCst);
                    async move {
                        if ready {
                            StatusCode::NO_CONTENT
                        } else {
                            StatusCode::INTERNAL_SERVER_ERROR
                        }
                    }
                }),
            )
            // Not Dapr's: how a test in another process registers an app instance (its URL as the body).
            .route(
                "/simulator/apps",
                axum::routing::post(move |url: String| {
                    let control = control.clone();
                    async move {
                        control.add_app(url.trim()).await;
                        StatusCode::NO_CONTENT
                    }
                }),
            );
        let http_task = tokio::spawn(async move { axum::serve(http, health).await.unwrap() });
        Self { grpc_port, http_port, state, tasks: vec![grpc_task, http_task] }
    }

    /// The environment Dapr injects into its app.
    pub fn env(&self) -> [(&'static str, String); 2] {
        [("DAPR_GRPC_PORT", self.grpc_port.to_string()), ("DAPR_HTTP_PORT", self.http_port.to_string())]
    }

    pub fn set_ready(&self, ready: bool) {
        self.state.ready.store(ready, Ordering::SeqCst);
    }

    /// Refuses the next `n` publishes with `Unavailable`, as a sidecar whose broker is down.
    pub fn refuse_publishes(&self, n: u32) {
        self.state.refuse.store(n, Ordering::SeqCst);
    }

    /// Registers an instance of the subscribing app: reads its `/dapr/subscribe`, as the sidecar does at start.
    pub async fn add_app(&self, url: &str) {
        self.state.add_app(url).await;
    }

    pub fn remove_app(&self, url: &str) {
        self.state.apps.lock().unwrap().retain(|a| a.url != url);
    }

    /// Every message published to `topic`, in order.
    pub fn messages(&self, topic: &str) -> Vec<Message> {
        self.state.log.lock().unwrap().iter().filter(|m| m.topic == topic).cloned().collect()
    }

    /// Whether every message published so far has settled: taken (and taken
    /// again if it was to be duplicated), dead-lettered, or without a consumer.
    pub fn idle(&self) -> bool {
        self.state.in_flight.load(Ordering::SeqCst) == 0
    }

    pub fn attempts(&self) -> Vec<Attempt> {
        self.state.attempts.lock().unwrap().clone()
    }

    /// The jobs it holds, with their due times, by name.
    pub fn jobs(&self) -> Vec<(String, chrono::DateTime<chrono::Utc>)> {
        let mut jobs: Vec<_> = self.state.jobs.lock().unwrap().iter().map(|(n, j)| (n.clone(), j.due)).collect();
        jobs.sort();
        jobs
    }

    pub fn job_calls(&self) -> Vec<JobCall> {
        self.state.job_calls.lock().unwrap().clone()
    }

    /// Forgets every job, as a Scheduler whose data was lost.
    pub fn lose_jobs(&self) {
        for (_, job) in self.state.jobs.lock().unwrap().drain() {
            job.timer.abort();
        }
    }

    /// Puts a message on a topic as if an app had published it (e.g. one no consumer can read).
    pub fn inject(&self, topic: &str, cloud_event: Value, key: &str) {
        let metadata = HashMap::from([("partitionKey".to_owned(), key.to_owned())]);
        self.state.clone().enqueue(Message { topic: topic.to_owned(), cloud_event, metadata });
    }

    /// Waits (up to 20 s) until `check` holds.
    pub async fn wait_until(&self, what: &str, check: impl Fn(&DaprSim) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let changed = self.state.changed.notified();
            if check(self) {
                return;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                assert!(check(self), "timed out waiting until {what}; attempts: {:#?}", self.attempts());
                return;
            }
        }
    }
}

impl State {
    async fn add_app(&self, url: &str) {
        let list: Value = self.http.get(format!("{url}/dapr/subscribe")).send().await.unwrap().json().await.unwrap();
        let subscriptions = list
            .as_array()
            .expect("/dapr/subscribe answers a JSON array")
            .iter()
            .map(|s| {
                assert_eq!(s["pubsubname"], self.config.pubsub.as_str(), "{s}");
                Subscription {
                    topic: s["topic"].as_str().unwrap().to_owned(),
                    route: s["routes"]["default"].as_str().or(s["route"].as_str()).unwrap().to_owned(),
                    dead_letter: s["deadLetterTopic"].as_str().map(str::to_owned),
                }
            })
            .collect();
        self.apps.lock().unwrap().push(App { url: url.to_owned(), subscriptions });
    }

    fn publish(self: &Arc<Self>, req: pb::PublishEventRequest) -> Result<(), Status> {
        if req.pubsub_name != self.config.pubsub {
            return Err(Status::invalid_argument(format!("pubsub {} is not found", req.pubsub_name)));
        }
        if self.refuse.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
            return Err(Status::unavailable("the broker is unreachable"));
        }
        let md = &req.metadata;
        let data = if req.data_content_type.contains("json") {
            serde_json::from_slice(&req.data).map_err(|e| Status::invalid_argument(format!("data is not JSON: {e}")))?
        } else {
            Value::String(String::from_utf8_lossy(&req.data).into_owned())
        };
        // The CloudEvent Dapr wraps the data in, with the overrides it documents (cloudevent.*).
        // Dapr starts a trace of its own when the publisher sends none; the simulator traces nothing.
        let mut cloud_event = json!({
            "specversion": "1.0",
            "id": md.get("cloudevent.id").cloned().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            "type": md.get("cloudevent.type").cloned().unwrap_or_else(|| "com.dapr.event.sent".into()),
            "source": md.get("cloudevent.source").cloned().unwrap_or_else(|| "cadence".into()),
            "datacontenttype": req.data_content_type,
            "topic": req.topic,
            "pubsubname": req.pubsub_name,
            "data": data,
        });
        if let Some(parent) = md.get("cloudevent.traceparent") {
            cloud_event["traceparent"] = json!(parent);
            cloud_event["traceid"] = json!(parent);
            cloud_event["tracestate"] = json!(md.get("cloudevent.tracestate").cloned().unwrap_or_default());
        }
        self.clone().enqueue(Message { topic: req.topic, cloud_event, metadata: req.metadata });
        Ok(())
    }

    fn get_job(self: &Arc<Self>, req: pb::GetJobRequest) -> Result<pb::GetJobResponse, Status> {
        let due = self.jobs.lock().unwrap().get(&req.name).map(|j| j.due);
        let due = due.ok_or_else(|| Status::not_found(format!("job {} not found", req.name)))?;
        let job = pb::Job { name: req.name, due_time: Some(due.to_rfc3339()), ..Default::default() };
        Ok(pb::GetJobResponse { job: Some(job) })
    }

    fn delete_job(self: &Arc<Self>, req: pb::DeleteJobRequest) -> Result<pb::DeleteJobResponse, Status> {
        let job = self.jobs.lock().unwrap().remove(&req.name);
        let job = job.ok_or_else(|| Status::not_found(format!("job {} not found", req.name)))?;
        job.timer.abort();
        self.changed.notify_waiters();
        Ok(pb::DeleteJobResponse {})
    }

    fn schedule_job(self: &Arc<Self>, req: pb::ScheduleJobRequest) -> Result<pb::ScheduleJobResponse, Status> {
        let job = req.job.ok_or_else(|| Status::invalid_argument("no job"))?;
        let due =
            job.due_time.as_deref().ok_or_else(|| Status::invalid_argument("only one-shot jobs with a dueTime"))?;
        let due = chrono::DateTime::parse_from_rfc3339(due)
            .map_err(|e| Status::invalid_argument(format!("dueTime {due:?}: {e}")))?
            .with_timezone(&chrono::Utc);
        let mut jobs = self.jobs.lock().unwrap();
        if jobs.contains_key(&job.name) && !req.overwrite {
            return Err(Status::already_exists(format!("job {} exists", job.name)));
        }
        let state = self.clone();
        let name = job.name.clone();
        let timer = tokio::spawn(async move {
            if !state.config.call_jobs {
                return;
            }
            let wait = (due - chrono::Utc::now()).to_std().unwrap_or_default();
            tokio::time::sleep(wait).await;
            state.trigger(&name, due).await;
        });
        if let Some(old) = jobs.insert(job.name, Job { due, timer }) {
            old.timer.abort();
        }
        drop(jobs);
        self.changed.notify_waiters();
        Ok(pb::ScheduleJobResponse {})
    }

    /// Calls the job's route on one of the app's instances, again while it fails, then forgets the job.
    async fn trigger(self: &Arc<Self>, name: &str, due: chrono::DateTime<chrono::Utc>) {
        for _ in 0..3 {
            let apps: Vec<String> = self.apps.lock().unwrap().iter().map(|a| a.url.clone()).collect();
            let answer = if apps.is_empty() {
                Answer::Unreachable
            } else {
                let url = &apps[self.turn.fetch_add(1, Ordering::SeqCst) % apps.len()];
                match self.http.post(format!("{url}/job/{name}")).body("{}").send().await {
                    Ok(r) if r.status().is_success() => Answer::Success,
                    Ok(r) => Answer::Status(r.status().as_u16()),
                    Err(_) => Answer::Unreachable,
                }
            };
            let done = answer == Answer::Success;
            self.job_calls.lock().unwrap().push(JobCall { name: name.to_owned(), at: chrono::Utc::now(), answer });
            self.changed.notify_waiters();
            if done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let mut jobs = self.jobs.lock().unwrap();
        // Unless it was scheduled again meanwhile: that is another job now.
        if jobs.get(name).is_some_and(|j| j.due == due) {
            jobs.remove(name);
        }
        drop(jobs);
        self.changed.notify_waiters();
    }

    fn enqueue(self: Arc<Self>, message: Message) {
        let key = message.metadata.get("partitionKey").cloned().unwrap_or_default();
        let (settled, next) = watch::channel(false);
        let previous = self.chains.lock().unwrap().insert((message.topic.clone(), key), next);
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.log.lock().unwrap().push(message.clone());
        self.changed.notify_waiters();
        let n = self.sequence.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::spawn(async move {
            if let Some(mut previous) = previous {
                let _ = previous.wait_for(|s| *s).await;
            }
            let delivered = self.deliver(&message).await;
            if delivered && self.config.duplicate_every > 0 && n.is_multiple_of(self.config.duplicate_every) {
                // At least once: a consumer must take the same message twice without harm.
                self.deliver(&message).await;
            }
            let _ = settled.send(true);
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            self.changed.notify_waiters();
        });
    }

    /// Delivers until the message is taken, dropped or out of retries; true if taken.
    async fn deliver(self: &Arc<Self>, message: &Message) -> bool {
        let mut backoff = self.config.first_backoff;
        let mut attempts = 0;
        loop {
            let subscribed: Vec<(String, Subscription)> = self
                .apps
                .lock()
                .unwrap()
                .iter()
                .filter_map(|a| {
                    let s = a.subscriptions.iter().find(|s| s.topic == message.topic)?;
                    Some((a.url.clone(), s.clone()))
                })
                .collect();
            if subscribed.is_empty() && attempts == 0 {
                // No consumer: the broker keeps it (the log above), nobody takes it.
                return false;
            }
            if subscribed.is_empty() {
                // Its consumers left meanwhile: it waits for one to come back, as on a partition.
                tokio::time::sleep(backoff).await;
                continue;
            }
            let (url, subscription) = &subscribed[self.turn.fetch_add(1, Ordering::SeqCst) % subscribed.len()];
            let answer = self.post(&format!("{url}{}", subscription.route), &message.cloud_event).await;
            attempts += 1;
            self.attempts.lock().unwrap().push(Attempt {
                topic: message.topic.clone(),
                id: message.id().to_owned(),
                event_type: message.event_type().to_owned(),
                app: url.clone(),
                answer: answer.clone(),
            });
            self.changed.notify_waiters();
            let dead = match answer {
                Answer::Success => return true,
                Answer::Drop | Answer::Status(404) => true,
                _ => attempts >= self.config.max_attempts,
            };
            if dead {
                if let Some(topic) = &subscription.dead_letter {
                    let mut letter = message.clone();
                    letter.topic = topic.clone();
                    letter.cloud_event["topic"] = json!(topic);
                    self.clone().enqueue(letter);
                }
                return false;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }

    async fn post(&self, url: &str, cloud_event: &Value) -> Answer {
        let mut request = self.http.post(url).header("content-type", "application/cloudevents+json");
        // As daprd does, the trace goes in the header too.
        if let Some(parent) = cloud_event["traceparent"].as_str() {
            request = request.header("traceparent", parent);
        }
        let sent = request.body(cloud_event.to_string()).send().await;
        let Ok(response) = sent else { return Answer::Unreachable };
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        match (status.as_u16(), body["status"].as_str()) {
            (200..=299, Some("SUCCESS") | None) => Answer::Success,
            (200..=299, Some("RETRY")) => Answer::Retry,
            (200..=299, Some("DROP")) => Answer::Drop,
            (code, _) => Answer::Status(code),
        }
    }
}

/// The gRPC side: `PublishEvent`, and `Unimplemented` for the rest of the Dapr API.
#[derive(Clone)]
struct Grpc(Arc<State>);

impl NamedService for Grpc {
    const NAME: &'static str = "dapr.proto.runtime.v1.Dapr";
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl tower::Service<http::Request<tonic::body::Body>> for Grpc {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let state = self.0.clone();
        match req.uri().path() {
            "/dapr.proto.runtime.v1.Dapr/PublishEvent" => unary(req, state, State::publish),
            "/dapr.proto.runtime.v1.Dapr/ScheduleJob" => unary(req, state, State::schedule_job),
            "/dapr.proto.runtime.v1.Dapr/GetJob" => unary(req, state, State::get_job),
            "/dapr.proto.runtime.v1.Dapr/DeleteJob" => unary(req, state, State::delete_job),
            other => {
                let status = Status::unimplemented(format!("the simulator does not implement {other}"));
                Box::pin(async move { Ok(status.into_http()) })
            }
        }
    }
}

/// Answers one unary gRPC call with `handle`.
fn unary<Req, Resp>(
    req: http::Request<tonic::body::Body>,
    state: Arc<State>,
    handle: fn(&Arc<State>, Req) -> Result<Resp, Status>,
) -> BoxFuture<Result<http::Response<tonic::body::Body>, Infallible>>
where
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
{
    Box::pin(async move {
        let method = tower::service_fn(move |r: Request<Req>| {
            std::future::ready(handle(&state, r.into_inner()).map(Response::new))
        });
        let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
        Ok(grpc.unary(method, req).await)
    })
}
