//! Cadence on Dapr, end to end: the real server binary as separate `web` and
//! `worker` processes over one database, with `CADENCE_BUS=dapr`, talking to
//! the sidecar simulator (`dapr_sim`) over gRPC and HTTP as they would to
//! Dapr's sidecar. No Dapr runtime can be installed here; what only a real
//! cluster can confirm is listed in the README.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use domain::event::{EventEnvelope, Topic};
use domain::ports::{DeliveryError, EventHandler};
use reqwest::header::LOCATION;
use reqwest::StatusCode;
use serde_json::{json, Value};
use server::dapr::subscriber::{self, Inbox};
use tokio::net::TcpListener;
use tokio::process::Child;

use crate::dapr_sim::{Answer, DaprSim, SimConfig};
use crate::helpers::{spawn_server_process, TestApp, TestDb};
use crate::live::{Conn, SseReader};

/// A server process with the simulator as its sidecar, killed when dropped.
pub(crate) struct Pod {
    pub address: String,
    /// Where it serves `/metrics`, when asked to.
    pub metrics: Option<String>,
    child: Child,
}

impl Pod {
    async fn start(db: &TestDb, sim: &DaprSim, role: &str) -> Self {
        Self::start_with(db, sim, role, &[]).await
    }

    pub(crate) async fn start_with(db: &TestDb, sim: &DaprSim, role: &str, env: &[(&str, &str)]) -> Self {
        let [(grpc_name, grpc_port), (http_name, http_port)] = sim.env();
        let mut all = vec![
            ("CADENCE_ROLE", role),
            ("CADENCE_BUS", "dapr"),
            ("CADENCE_RELAY_FIRST_BACKOFF_MS", "50"),
            ("CADENCE_SCHEDULER_MAX_SLEEP_MS", "100"),
            ("CADENCE_LIVE_POLL_MS", "20"),
            (grpc_name, grpc_port.as_str()),
            (http_name, http_port.as_str()),
        ];
        all.extend_from_slice(env);
        let process = spawn_server_process(&db.url(), &all).await;
        Self { address: process.address, metrics: process.metrics, child: process.child }
    }

    async fn readyz(&self) -> (StatusCode, Value) {
        let res = reqwest::get(format!("{}/readyz", self.address)).await.unwrap();
        (res.status(), res.json().await.unwrap())
    }
}

/// A simulator that is ready, a worker registered with it, and a web pod.
async fn cluster(db: &TestDb, config: SimConfig) -> (DaprSim, Pod, Pod) {
    let sim = DaprSim::start(config).await;
    sim.set_ready(true);
    let worker = Pod::start(db, &sim, "worker").await;
    sim.add_app(&worker.address).await;
    let web = Pod::start(db, &sim, "web").await;
    (sim, worker, web)
}

pub(crate) async fn create(app: &TestApp, fields: &[(&str, &str)]) -> String {
    let res = app.call("create_task", fields).await;
    assert!(res.status().is_success() || res.status().is_redirection(), "{:?}", res.status());
    res.headers()[LOCATION].to_str().unwrap().trim_start_matches("/tasks/").to_owned()
}

fn today_in_berlin() -> NaiveDate {
    Utc::now().with_timezone(&domain::TimeZone::parse("Europe/Berlin").unwrap().0).date_naive()
}

/// A user signed up on the web pod, their stream open, and a task with a
/// reminder at its due time three days ahead.
pub(crate) async fn a_user_with_a_reminder(web: &Pod, db: &TestDb) -> (TestApp, SseReader) {
    let app = TestApp::attach(&web.address, db.store().await);
    app.sign_up().await;
    let stream = SseReader::open(&app, Conn::Fresh, None).await;
    let later = (today_in_berlin() + chrono::Days::new(3)).to_string();
    create(&app, &[("title", "Pay rent"), ("due_date", &later), ("due_time", "09:00"), ("reminders", "at due")]).await;
    (app, stream)
}

/// Whether `n` messages were published on `topic`, each taken by a consumer
/// at least once, and every delivery (duplicates included) has settled.
fn settled(sim: &DaprSim, topic: &str, n: usize) -> bool {
    sim.messages(topic).len() == n && sim.idle() && all_taken(sim, topic)
}

/// Whether every message on `topic` was taken by a consumer at least once.
fn all_taken(sim: &DaprSim, topic: &str) -> bool {
    let taken: HashSet<String> =
        sim.attempts().into_iter().filter(|a| a.topic == topic && a.answer == Answer::Success).map(|a| a.id).collect();
    sim.messages(topic).iter().all(|m| taken.contains(m.id()))
}

/// Reads stream events until one satisfies `check`.
pub(crate) async fn stream_until(stream: &mut SseReader, what: &str, check: impl Fn(&str, &Value) -> bool) {
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let (_, event, data) = stream.event().await;
            if check(&event, &data) {
                return;
            }
        }
    })
    .await;
    assert!(found.is_ok(), "the stream never showed {what}");
}

#[tokio::test]
async fn a_completed_repeating_task_travels_through_the_sidecar_to_a_worker_whose_next_instance_reaches_the_web_stream()
{
    let db = TestDb::for_http().await;
    let (sim, _worker, web) = cluster(&db, SimConfig::default()).await;
    let app = TestApp::attach(&web.address, db.store().await);
    app.sign_up().await;
    let mut stream = SseReader::open(&app, Conn::Fresh, None).await;
    let five_days_ago = (today_in_berlin() - chrono::Days::new(5)).to_string();
    let id = create(&app, &[("title", "Stretch"), ("due_date", &five_days_ago), ("repeat", "daily")]).await;
    assert_eq!(app.call("set_completed", &[("id", &id), ("completed", "true")]).await.status(), StatusCode::OK);

    // The web pod published the completion; the worker made the next instance;
    // the worker published that, and the web pod's stream shows it.
    stream_until(&mut stream, "the next instance", |event, data| {
        event == "task.created" && data["task_id"].as_str() != Some(id.as_str())
    })
    .await;
    let completed = sim.messages("task-events").into_iter().find(|m| m.event_type() == "cadence.task.completed.v1");
    let completed = completed.expect("the completion was published on task-events");
    assert_eq!(completed.metadata["partitionKey"], id, "a task's events share its partition");
    assert_eq!(completed.cloud_event["source"], "urn:cadence:server");
    let envelope = EventEnvelope::decode(&completed.cloud_event["data"]).unwrap();
    assert_eq!(completed.id(), envelope.id.to_string(), "the CloudEvent id is the event id");

    // Every message taken, some of them twice on purpose: still one next instance, one audit line each.
    // (The account, the task, its completion, the next instance.)
    sim.wait_until("four task events are taken", |sim| settled(sim, "task-events", 4)).await;
    let mut taken: HashMap<String, usize> = HashMap::new();
    for a in sim.attempts().into_iter().filter(|a| a.answer == Answer::Success) {
        *taken.entry(a.id).or_default() += 1;
    }
    assert!(taken.values().any(|n| *n > 1), "the simulator delivered some message twice: {taken:?}");
    let list: Value = app.call("list_tasks", &[]).await.json().await.unwrap();
    let open = list["rows"].as_array().unwrap();
    assert_eq!(open.len(), 1, "one next instance: {open:?}");
    let audited: HashSet<String> = sim.messages("task-events").iter().map(|m| m.id().to_owned()).collect();
    assert_eq!(db.audit_log_size().await, audited.len() as i64, "each event audited once");
    assert!(sim.messages("task-events-dlq").is_empty());
    let (status, ready) = web.readyz().await;
    assert_eq!((status, ready["sidecar"].as_str()), (StatusCode::OK, Some("ready")), "{ready}");
}

#[tokio::test]
async fn a_reminder_fired_by_the_worker_becomes_a_notification_on_the_web_stream() {
    let db = TestDb::for_http().await;
    let (sim, _worker, web) = cluster(&db, SimConfig::default()).await;
    let (app, mut stream) = a_user_with_a_reminder(&web, &db).await;
    let now = Utc::now().timestamp_millis();
    db.execute(&format!("UPDATE timers SET fire_at = {now}")).await;

    stream_until(&mut stream, "the notification", |event, _| event == "notification.created").await;
    let due = sim.messages("reminders");
    assert_eq!(due.len(), 1, "one reminder.due");
    assert_eq!(due[0].event_type(), "cadence.reminder.due.v1");
    sim.wait_until("the notification is published for integrations", |sim| {
        sim.messages("task-updates").iter().any(|m| m.event_type() == "cadence.notification.created.v1")
    })
    .await;
    sim.wait_until("the reminder is taken", |sim| settled(sim, "reminders", 1)).await;
    let list: Value = app.call("list_notifications", &[]).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "one notification, however often it was delivered");
}

#[tokio::test]
async fn nothing_is_published_until_the_sidecar_is_ready_and_refused_publishes_are_retried_without_loss() {
    let db = TestDb::for_http().await;
    let sim = DaprSim::start(SimConfig::default()).await;
    let web = Pod::start(&db, &sim, "web").await;
    let (status, ready) = web.readyz().await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready["sidecar"], "waiting", "{ready}");
    // The subscription list answers before the sidecar is ready: the sidecar asks for it at its own start.
    let list: Value = reqwest::get(format!("{}/dapr/subscribe", web.address)).await.unwrap().json().await.unwrap();
    assert_eq!(list, json!([]), "a web pod consumes nothing");

    let app = TestApp::attach(&web.address, db.store().await);
    app.sign_up().await;
    for title in ["one", "two", "three"] {
        app.quick_add(title).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(sim.messages("task-events").is_empty(), "nothing leaves before the sidecar is ready");
    assert_eq!(app.store.delivery_stats().await.unwrap().pending, 4, "the events wait in the outbox");

    sim.refuse_publishes(3);
    sim.set_ready(true);
    app.settle().await;
    let ids: Vec<String> = sim.messages("task-events").iter().map(|m| m.id().to_owned()).collect();
    assert_eq!(ids.len(), 4, "every event published once the sidecar took them: {ids:?}");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 4, "and each once");
    let (status, ready) = web.readyz().await;
    assert_eq!((status, ready["sidecar"].as_str()), (StatusCode::OK, Some("ready")));
}

#[tokio::test]
async fn two_workers_compete_for_deliveries_and_each_event_is_handled_once() {
    let db = TestDb::for_http().await;
    let (sim, one, web) = cluster(&db, SimConfig { duplicate_every: 4, ..SimConfig::default() }).await;
    let two = Pod::start(&db, &sim, "worker").await;
    sim.add_app(&two.address).await;
    let app = TestApp::attach(&web.address, db.store().await);
    app.sign_up().await;
    for i in 0..20 {
        app.quick_add(&format!("task {i}")).await;
    }
    app.settle().await;
    sim.wait_until("every task event is taken", |sim| settled(sim, "task-events", 21)).await;
    let by_app: HashSet<String> = sim.attempts().into_iter().map(|a| a.app).collect();
    assert!(by_app.contains(&one.address) && by_app.contains(&two.address), "both workers took deliveries");
    assert_eq!(db.audit_log_size().await, 21, "the account and 20 tasks, each audited once");
}

#[tokio::test]
async fn a_worker_that_is_down_is_retried_until_one_is_back() {
    let db = TestDb::for_http().await;
    let (sim, mut worker, web) = cluster(&db, SimConfig { max_attempts: 100, ..SimConfig::default() }).await;
    worker.child.kill().await.unwrap();
    let app = TestApp::attach(&web.address, db.store().await);
    app.sign_up().await;
    sim.wait_until("a delivery failed", |sim| sim.attempts().iter().any(|a| a.answer == Answer::Unreachable)).await;
    let replacement = Pod::start(&db, &sim, "worker").await;
    sim.remove_app(&worker.address);
    // Between these two the topic has no consumer: the message waits for one.
    tokio::time::sleep(Duration::from_millis(200)).await;
    sim.add_app(&replacement.address).await;
    sim.wait_until("the account event is taken", |sim| settled(sim, "task-events", 1)).await;
    assert_eq!(db.audit_log_size().await, 1);
    assert!(sim.messages("task-events-dlq").is_empty());
}

#[tokio::test]
async fn a_message_no_consumer_can_read_is_dropped_to_the_dead_letter_topic_and_counted() {
    let db = TestDb::for_http().await;
    let (sim, worker, _web) = cluster(&db, SimConfig::default()).await;
    let garbage = json!({"specversion": "1.0", "id": "x-1", "type": "cadence.task.created.v1", "source": "elsewhere",
        "datacontenttype": "application/json", "data": {"schema_version": 1, "type": "task.created"}});
    sim.inject("task-events", garbage, "k");
    sim.wait_until("the message is dead-lettered", |sim| !sim.messages("task-events-dlq").is_empty()).await;
    assert_eq!(sim.messages("task-events-dlq")[0].id(), "x-1");
    let attempts = sim.attempts();
    assert_eq!(attempts.len(), 1, "dropped at once, not retried: {attempts:?}");
    assert_eq!((&attempts[0].answer, attempts[0].event_type.as_str()), (&Answer::Drop, "cadence.task.created.v1"));
    let (_, ready) = worker.readyz().await;
    assert_eq!(ready["received"]["dropped"], 1, "{ready}");
}

/// A consumer that fails for a while, then takes everything.
struct Flaky {
    failures: AtomicU32,
    permanent: bool,
}

#[async_trait::async_trait]
impl EventHandler for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }

    fn topics(&self) -> &'static [Topic] {
        &[Topic::TaskEvents]
    }

    async fn handle(&self, _: &EventEnvelope) -> Result<(), DeliveryError> {
        if self.permanent {
            return Err(DeliveryError::Permanent("never".into()));
        }
        match self.failures.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)) {
            Ok(_) => Err(DeliveryError::Transient("the database is busy".into())),
            Err(_) => Ok(()),
        }
    }
}

async fn serve_inbox(consumer: Flaky) -> String {
    let inbox = Arc::new(Inbox::new("cadence-pubsub", vec![Arc::new(consumer)]));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, subscriber::routes(inbox)).await });
    url
}

fn an_event() -> Value {
    let user = domain::account::UserId(uuid::Uuid::now_v7());
    let event = EventEnvelope::new(
        uuid::Uuid::now_v7(),
        Utc::now(),
        user,
        domain::event::DomainEvent::PasswordChanged { user_id: user },
    );
    event.to_cloud_event()
}

#[tokio::test]
async fn a_consumer_that_fails_transiently_is_retried_and_then_succeeds_and_one_that_never_will_is_dead_lettered() {
    let sim = DaprSim::start(SimConfig { duplicate_every: 0, ..SimConfig::default() }).await;
    let flaky = serve_inbox(Flaky { failures: AtomicU32::new(2), permanent: false }).await;
    sim.add_app(&flaky).await;
    sim.inject("task-events", an_event(), "k");
    sim.wait_until("the event is taken", |sim| settled(sim, "task-events", 1)).await;
    let answers: Vec<Answer> = sim.attempts().into_iter().map(|a| a.answer).collect();
    assert_eq!(answers, [Answer::Retry, Answer::Retry, Answer::Success]);

    let sim = DaprSim::start(SimConfig { duplicate_every: 0, ..SimConfig::default() }).await;
    let broken = serve_inbox(Flaky { failures: AtomicU32::new(0), permanent: true }).await;
    sim.add_app(&broken).await;
    sim.inject("task-events", an_event(), "k");
    sim.wait_until("the event is dead-lettered", |sim| sim.messages("task-events-dlq").len() == 1).await;
    let answers: Vec<Answer> = sim.attempts().into_iter().map(|a| a.answer).collect();
    assert_eq!(answers, [Answer::Drop]);
}

#[tokio::test]
async fn the_simulator_answers_publish_and_refuses_the_rest_of_the_dapr_api_as_unimplemented() {
    let sim = DaprSim::start(SimConfig::default()).await;
    let address = format!("http://127.0.0.1:{}", sim.grpc_port);
    let mut client = dapr::Client::<dapr::client::TonicClientWithAuth>::from_options(
        dapr::client::ClientOptions::new().with_address(address),
    )
    .await
    .unwrap();
    client.publish_event("cadence-pubsub", "task-updates", "application/json", b"{}".to_vec(), None).await.unwrap();
    assert_eq!(sim.messages("task-updates").len(), 1);
    let unknown = client.publish_event("other", "task-updates", "application/json", b"{}".to_vec(), None).await;
    assert!(unknown.is_err(), "an unknown pub/sub component is refused");
    let state = client.get_state("store", "key", None).await.unwrap_err();
    assert!(format!("{state:?}").contains("Unimplemented"), "{state:?}");
}

/// With reminders on Dapr jobs: a simulator, a worker keeping the jobs, and a web pod.
async fn jobs_cluster(db: &TestDb) -> (DaprSim, Pod, Pod) {
    jobs_cluster_with(db, SimConfig::default()).await
}

async fn jobs_cluster_with(db: &TestDb, config: SimConfig) -> (DaprSim, Pod, Pod) {
    let sim = DaprSim::start(config).await;
    sim.set_ready(true);
    let env =
        [("CADENCE_REMINDERS", "dapr-jobs"), ("CADENCE_JOBS_REPAIR_SECS", "1"), ("CADENCE_JOBS_BACKSTOP_SECS", "2")];
    let worker = Pod::start_with(db, &sim, "worker", &env).await;
    sim.add_app(&worker.address).await;
    let web = Pod::start_with(db, &sim, "web", &env).await;
    (sim, worker, web)
}

#[tokio::test]
async fn with_dapr_jobs_a_reminder_is_a_job_that_fires_once_at_its_time_into_one_notification() {
    let db = TestDb::for_http().await;
    let (sim, worker, web) = jobs_cluster(&db).await;
    let (app, mut stream) = a_user_with_a_reminder(&web, &db).await;
    sim.wait_until("the reminder is a job", |sim| sim.jobs().len() == 1).await;
    let (name, due) = sim.jobs()[0].clone();
    assert!(name.starts_with("reminder-"), "{name}");
    assert!(due > Utc::now() + chrono::Duration::days(2), "due at the reminder's time: {due}");

    // Bring the reminder to a second from now behind the app's back: the job moves with it.
    let soon = Utc::now() + chrono::Duration::seconds(1);
    db.execute(&format!("UPDATE timers SET fire_at = {}", soon.timestamp_millis())).await;
    stream_until(&mut stream, "the notification", |event, _| event == "notification.created").await;
    // (The repair, every second here, may schedule the job again while it calls back: Dapr may
    // then call twice, which the next check shows to be harmless.)
    sim.wait_until("the callback's answer is in", |sim| !sim.job_calls().is_empty()).await;
    let calls = sim.job_calls();
    assert!(calls.iter().all(|c| c.name == name && c.answer == Answer::Success), "{calls:?}");
    let late = calls[0].at - soon;
    assert!(late >= chrono::Duration::zero() && late < chrono::Duration::seconds(1), "called at its time: {late}");
    sim.wait_until("the reminder is taken", |sim| settled(sim, "reminders", 1)).await;

    // A second callback for the same job (Dapr retries, at least once) fires nothing.
    let again = reqwest::Client::new().post(format!("{}/job/{name}", worker.address)).send().await.unwrap();
    assert_eq!(again.json::<Value>().await.unwrap()["fired"], false);
    let unknown = reqwest::Client::new().post(format!("{}/job/backup-nightly", worker.address)).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::OK, "a job that is not Cadence's is acknowledged, not retried");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sim.messages("reminders").len(), 1, "one reminder.due");
    let list: Value = app.call("list_notifications", &[]).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    sim.wait_until("a fired job is gone", |sim| sim.jobs().is_empty()).await;
}

#[tokio::test]
async fn a_reminders_job_moves_with_an_edit_comes_back_when_lost_and_goes_with_its_task() {
    let db = TestDb::for_http().await;
    let (sim, _worker, web) = jobs_cluster(&db).await;
    let app = TestApp::attach(&web.address, db.store().await);
    app.sign_up().await;
    let fields =
        |date: &'static str| [("title", "Dentist"), ("due_date", date), ("due_time", "14:00"), ("reminders", "1h")];
    let id = create(&app, &fields("2099-01-10")).await;
    let due = |date: &str| chrono::DateTime::parse_from_rfc3339(date).unwrap().with_timezone(&Utc);
    sim.wait_until("the job is due an hour before", |sim| {
        sim.jobs().iter().map(|(_, d)| *d).collect::<Vec<_>>() == [due("2099-01-10T12:00:00Z")]
    })
    .await;
    let first = sim.jobs()[0].0.clone();

    let mut edit = fields("2099-01-11").to_vec();
    edit.push(("id", &id));
    let res = app.call("update_task", &edit).await;
    assert!(res.status().is_success() || res.status().is_redirection());
    sim.wait_until("the job moved with the due time", |sim| {
        sim.jobs().iter().map(|(_, d)| *d).collect::<Vec<_>>() == [due("2099-01-11T12:00:00Z")]
    })
    .await;
    assert_ne!(sim.jobs()[0].0, first, "the old timer's job went with it");

    sim.lose_jobs();
    sim.wait_until("the repair scheduled it again", |sim| sim.jobs().len() == 1).await;

    app.call("delete_task", &[("id", &id)]).await;
    sim.wait_until("the job went with its task", |sim| sim.jobs().is_empty()).await;
    assert!(sim.job_calls().is_empty(), "nothing fired");
}

#[tokio::test]
async fn a_reminder_whose_job_never_calls_back_is_fired_by_the_backstop_once() {
    let db = TestDb::for_http().await;
    let (sim, _worker, web) = jobs_cluster_with(&db, SimConfig { call_jobs: false, ..SimConfig::default() }).await;
    let (_app, mut stream) = a_user_with_a_reminder(&web, &db).await;
    sim.wait_until("the reminder is a job", |sim| sim.jobs().len() == 1).await;
    let due = Utc::now();
    db.execute(&format!("UPDATE timers SET fire_at = {}", due.timestamp_millis())).await;
    stream_until(&mut stream, "the notification", |event, _| event == "notification.created").await;
    let late = Utc::now() - due;
    assert!(late >= chrono::Duration::seconds(2), "not before the backstop's grace: {late}");
    assert!(sim.job_calls().is_empty(), "the job never called back");
    sim.wait_until("the reminder is taken", |sim| settled(sim, "reminders", 1)).await;
    let due_event = &sim.messages("reminders")[0].cloud_event["data"]["payload"]["reminder"];
    assert_eq!(due_event["punctuality"], "OnTime", "two seconds late is on time: {due_event}");
}
