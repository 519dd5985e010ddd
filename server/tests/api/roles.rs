//! Roles: one binary deployed as `web` and `worker` processes over one
//! database. The web process serves pages, the API and live streams and
//! leaves its events in the outbox; the worker runs the consumers and the
//! scheduler and serves only the probes.

use chrono::Utc;
use reqwest::header::LOCATION;
use reqwest::StatusCode;
use server::config::{Config, Role};

use crate::helpers::{settle, spawn_on, test_config, TestDb};
use crate::live::{Conn, SseReader};

#[tokio::test]
async fn a_web_process_leaves_its_events_to_a_worker_whose_next_instance_reaches_the_web_stream() {
    let db = TestDb::for_http().await;
    let base = Config { live_heartbeat_secs: 1, live_poll_ms: 20, ..test_config(&db) };
    let web = spawn_on(&db, Config { role: Role::Web, ..base.clone() }).await;
    web.sign_up().await;
    let yesterday = (Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    let res = web
        .call(
            "create_task",
            &[("title", "Stretch"), ("due_date", &yesterday), ("due_time", "07:30"), ("repeat", "daily")],
        )
        .await;
    assert!(res.status().is_success() || res.status().is_redirection(), "{:?}", res.status());
    let id = res.headers()[LOCATION].to_str().unwrap().trim_start_matches("/tasks/").to_owned();
    let mut stream = SseReader::open(&web, Conn::Fresh, None).await;
    web.call("set_completed", &[("id", &id), ("completed", "true")]).await;
    assert_eq!(stream.event().await.1, "task.completed");
    // Nobody on the web process consumes the events: they wait in the outbox.
    assert!(web.store.delivery_stats().await.unwrap().pending > 0);
    assert_eq!(db.audit_log_size().await, 0, "the web process runs no consumer");

    let worker = spawn_on(&db, Config { role: Role::Worker, ..base }).await;
    settle(&worker.store).await;
    let (_, event, data) = stream.event().await;
    assert_eq!((event.as_str(), data["title"].as_str()), ("task.created", Some("Stretch")), "the next instance");
    assert_ne!(data["task_id"].as_str(), Some(id.as_str()));
    assert!(db.audit_log_size().await >= 3, "the worker recorded the account, the task and its completion");
    // The worker serves the probes and nothing else.
    assert_eq!(worker.get("/readyz").await.status(), StatusCode::OK);
    assert_eq!(worker.get("/healthz").await.status(), StatusCode::OK);
    for path in ["/tasks", "/events", "/signin"] {
        assert_eq!(worker.get(path).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
}
