//! The event spine end to end: outbox, relay, audit log, and recovery after
//! the relay was down.

use domain::ports::EventHandler;
use reqwest::StatusCode;
use serde_json::Value;
use server::config::Config;
use server::spine::consumers::AuditLogger;

use crate::helpers::{eventually, spawn_app, spawn_on, test_config, TestDb};

async fn activity_types(app: &crate::helpers::TestApp) -> Vec<String> {
    let rows: Value = app.call("activity", &[]).await.json().await.unwrap();
    rows.as_array().unwrap().iter().map(|r| r["event_type"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn every_change_lands_in_the_activity_log_once_newest_first() {
    let app = spawn_app().await;
    app.sign_up().await;
    let id = app.quick_add("Tracked").await;
    app.call("update_task", &[("id", &id), ("title", "Tracked!")]).await;
    app.call("set_completed", &[("id", &id), ("completed", "true")]).await;
    app.call("set_completed", &[("id", &id), ("completed", "true")]).await;
    app.call("set_completed", &[("id", &id), ("completed", "false")]).await;
    app.call("delete_task", &[("id", &id)]).await;
    app.settle().await;
    assert_eq!(
        activity_types(&app).await,
        ["task.deleted", "task.reopened", "task.completed", "task.updated", "task.created", "account.created"]
    );
    let page = app.page("/activity").await;
    assert!(page.contains("Deleted \u{201c}Tracked!\u{201d}"));
}

#[tokio::test]
async fn a_task_page_shows_that_tasks_own_history() {
    let app = spawn_app().await;
    app.sign_up().await;
    let a = app.quick_add("First").await;
    app.quick_add("Second").await;
    app.call("set_completed", &[("id", &a), ("completed", "true")]).await;
    app.settle().await;
    let detail: Value = app.call("get_task", &[("id", &a)]).await.json().await.unwrap();
    let summaries: Vec<_> =
        detail["history"].as_array().unwrap().iter().map(|h| h["summary"].as_str().unwrap()).collect();
    assert_eq!(summaries, ["Completed \u{201c}First\u{201d}", "Created \u{201c}First\u{201d}"]);
}

#[tokio::test]
async fn events_committed_while_the_relay_was_down_are_delivered_after_a_restart() {
    let db = TestDb::for_http().await;
    let down = Config { relay_enabled: false, ..test_config(&db) };
    let app = spawn_on(&db, down).await;
    app.sign_up().await;
    app.quick_add("Survives a crash").await;
    // Of the three consumers only the audit log acts on a new account and a
    // plain task: the recurrence generator and the notifier are not owed them.
    assert_eq!(app.store.delivery_stats().await.unwrap().pending, 2, "both events wait in the outbox");
    assert_eq!(db.audit_log_size().await, 0, "nothing recorded yet");
    // The activity page reads the outbox too, so the user sees their changes at once anyway.
    assert_eq!(activity_types(&app).await, ["task.created", "account.created"]);
    let client = app.client.clone();
    app.stop().await;

    let mut restarted = spawn_on(&db, test_config(&db)).await;
    restarted.client = client;
    restarted.settle().await;
    assert_eq!(db.audit_log_size().await, 2, "both recorded after the restart");
    assert_eq!(activity_types(&restarted).await, ["task.created", "account.created"]);
    restarted.stop().await;
}

#[tokio::test]
async fn a_redelivered_event_is_recorded_only_once() {
    let app = spawn_app().await;
    app.sign_up().await;
    app.quick_add("Once").await;
    app.settle().await;
    let before = activity_types(&app).await.len();
    // Read the already-delivered events back and deliver them again.
    let db = app.db.as_ref().unwrap();
    let store = db.store().await;
    let payloads = db.outbox_payloads().await;
    let logger = AuditLogger::new(store);
    for p in &payloads {
        let event = serde_json::from_str(p).unwrap();
        logger.handle(&event).await.unwrap();
    }
    assert_eq!(activity_types(&app).await.len(), before);
}

#[tokio::test]
async fn the_audit_log_is_scoped_to_its_user() {
    let app = spawn_app().await;
    app.sign_up().await;
    app.quick_add("Mine").await;
    app.settle().await;
    let other = crate::helpers::TestApp::handle(&app);
    other.sign_up().await;
    other.settle().await;
    assert_eq!(activity_types(&other).await, ["account.created"]);
    assert_eq!(other.call("activity", &[]).await.status(), StatusCode::OK);
}

/// Decides, for a scripted consumer, which events it refuses and how.
type Refusal = Box<dyn Fn(&domain::EventEnvelope) -> Option<domain::ports::DeliveryError> + Send + Sync>;

/// A consumer for the spine's tests: records what it accepted, refuses what it is told to.
struct Scripted {
    name: &'static str,
    accepted: std::sync::Mutex<Vec<uuid::Uuid>>,
    refuse: Refusal,
}

#[async_trait::async_trait]
impl EventHandler for Scripted {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn handle(&self, event: &domain::EventEnvelope) -> Result<(), domain::ports::DeliveryError> {
        match (self.refuse)(event) {
            Some(e) => Err(e),
            None => {
                self.accepted.lock().unwrap().push(event.id);
                Ok(())
            }
        }
    }
}

fn scripted(
    name: &'static str,
    refuse: impl Fn(&domain::EventEnvelope) -> Option<domain::ports::DeliveryError> + Send + Sync + 'static,
) -> std::sync::Arc<Scripted> {
    std::sync::Arc::new(Scripted { name, accepted: Default::default(), refuse: Box::new(refuse) })
}

/// Runs relay rounds for `handler` until one finds nothing due.
async fn drain(store: &std::sync::Arc<dyn domain::ports::Store>, handler: &Scripted) -> domain::spine::RoundReport {
    // A long first wait, so a retried delivery never comes due again within the test.
    let policy = domain::spine::RetryPolicy {
        max_attempts: 3,
        first_backoff: chrono::Duration::minutes(10),
        ..Default::default()
    };
    let mut total = domain::spine::RoundReport::default();
    loop {
        let r = domain::spine::relay_round(&**store, handler, &domain::ports::SystemClock, &policy, "test", 10)
            .await
            .unwrap();
        if r.handled() == 0 {
            return total;
        }
        total.delivered += r.delivered;
        total.retried.extend(r.retried);
        total.dead.extend(r.dead);
    }
}

#[tokio::test]
async fn an_event_a_consumer_rejects_for_good_is_dead_lettered_and_the_rest_flow_on() {
    let db = TestDb::for_http().await;
    let config = Config { relay_enabled: false, ..test_config(&db) };
    let app = spawn_on(&db, config).await;
    app.store.register_subscribers(&["picky"]).await.unwrap();
    app.sign_up().await;
    let id = app.quick_add("Rejected").await;
    app.call("update_task", &[("id", &id), ("title", "Accepted after")]).await;
    let picky = scripted("picky", |e| {
        (e.event_type == "task.created").then(|| domain::ports::DeliveryError::Permanent("cannot use it".into()))
    });
    let report = drain(&app.store, &picky).await;
    assert_eq!(report.dead.len(), 1, "{report:?}");
    assert_eq!(report.dead[0].1, "cannot use it");
    assert_eq!(report.delivered, 2, "the account's event, and the task's next one after its dead head");
    assert_eq!(picky.accepted.lock().unwrap().len(), 2);
    let letters = app.store.dead_letters(10).await.unwrap();
    assert_eq!((letters[0].subscriber.as_str(), letters[0].event_type.as_str()), ("picky", "task.created"));
    app.stop().await;
}

#[tokio::test]
async fn a_failing_consumer_holds_back_no_other_and_retries_on_its_own() {
    let db = TestDb::for_http().await;
    let config = Config { relay_enabled: false, ..test_config(&db) };
    let app = spawn_on(&db, config).await;
    app.store.register_subscribers(&["healthy", "broken"]).await.unwrap();
    app.sign_up().await;
    app.quick_add("One").await;
    app.quick_add("Two").await;
    let broken = scripted("broken", |_| Some(domain::ports::DeliveryError::Transient("down".into())));
    let healthy = scripted("healthy", |_| None);
    let failed = drain(&app.store, &broken).await;
    assert_eq!((failed.delivered, failed.retried.len()), (0, 3), "each failure is scheduled for a retry");
    assert_eq!(drain(&app.store, &healthy).await.delivered, 3, "the healthy consumer got everything meanwhile");
    assert!(drain(&app.store, &broken).await.retried.is_empty(), "the broken one waits for its backoff");
    app.stop().await;
}

/// A signed-up user's app whose relays poll only after the test is over:
/// what they relay in time, a commit's bell woke them for.
async fn signed_up_with_relays_that_poll_after_the_test() -> (TestDb, crate::helpers::TestApp) {
    let db = TestDb::for_http().await;
    let config = Config { relay_poll_ms: 600_000, ..test_config(&db) };
    let app = spawn_on(&db, config).await;
    app.sign_up().await;
    (db, app)
}

#[tokio::test]
async fn a_commit_wakes_the_relay_that_acts_on_it_without_waiting_for_its_poll() {
    let (db, app) = signed_up_with_relays_that_poll_after_the_test().await;
    eventually("the new account is in the audit log", || async { db.audit_log_size().await == 1 }).await;
    app.quick_add("Woken").await;
    eventually("the new task is in the audit log", || async { db.audit_log_size().await == 2 }).await;
    app.stop().await;
}

#[tokio::test]
async fn a_reminder_the_scheduler_fires_wakes_the_notifier_without_waiting_for_its_poll() {
    let (db, app) = signed_up_with_relays_that_poll_after_the_test().await;
    let res = app
        .call(
            "create_task",
            &[("title", "Call back"), ("due_date", "2099-01-10"), ("due_time", "09:00"), ("reminders", "1d")],
        )
        .await;
    assert!(res.status().is_success() || res.status().is_redirection(), "{:?}", res.status());
    assert_eq!(app.store.pending_timers().await.unwrap(), 1);
    // Bring the reminder's time to now behind the app's back: the scheduler fires it within its sleep.
    let now = chrono::Utc::now().timestamp_millis();
    db.execute(&format!("UPDATE timers SET fire_at = {now}")).await;
    eventually("the reminder is a notification", || async {
        let list: Value = app.call("list_notifications", &[]).await.json().await.unwrap();
        list["items"].as_array().unwrap().len() == 1
    })
    .await;
    app.stop().await;
}
