//! The event spine end to end: outbox, relay, audit log, and recovery after
//! the relay was down.

use domain::ports::EventHandler;
use reqwest::StatusCode;
use serde_json::Value;
use server::config::Config;
use server::consumers::AuditLogger;

use crate::helpers::{spawn_app, spawn_on, test_config, TestDb};

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
    let db = TestDb::sqlite();
    let down = Config { relay_enabled: false, ..test_config(&db) };
    let app = spawn_on(&db, down).await;
    app.sign_up().await;
    app.quick_add("Survives a crash").await;
    assert_eq!(app.store.pending_events(10).await.unwrap().len(), 2, "both events wait in the outbox");
    assert!(activity_types(&app).await.is_empty(), "nothing delivered yet");
    let client = app.client.clone();
    app.stop().await;

    let mut restarted = spawn_on(&db, test_config(&db)).await;
    restarted.client = client;
    restarted.settle().await;
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
    let pool = sqlx::SqlitePool::connect(&db.url()).await.unwrap();
    let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM outbox").fetch_all(&pool).await.unwrap();
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
