//! Several replicas on one PostgreSQL database, as Kubernetes runs them: two
//! real server processes (the binary this package builds), each with its own
//! relay, driven over loopback HTTP.

use std::time::Duration;

use futures::stream::{self, StreamExt};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;
use tokio::process::{Child, Command};

use crate::helpers::{client, settle, start_server_process, TestDb};

/// A server process on `database_url`, killed when dropped.
struct Replica {
    address: String,
    _child: Child,
}

impl Replica {
    async fn start(database_url: &str) -> Self {
        let (address, child) = start_server_process(database_url, &[]).await;
        Self { address, _child: child }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }
}

async fn call(http: &reqwest::Client, replica: &Replica, name: &str, form: &[(&str, &str)]) -> reqwest::Response {
    http.post(replica.url(&format!("/api/{name}"))).form(form).send().await.expect("request")
}

async fn sign_up(http: &reqwest::Client, replica: &Replica) {
    let email = format!("replica-{}@example.com", uuid::Uuid::new_v4().simple());
    let form =
        [("email", email.as_str()), ("password", "correct horse battery"), ("display_name", "R"), ("time_zone", "UTC")];
    assert_eq!(call(http, replica, "sign_up", &form).await.status(), StatusCode::OK);
}

async fn quick_add(http: &reqwest::Client, replica: &Replica, title: &str) -> String {
    let res = call(http, replica, "quick_add", &[("title", title)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.unwrap()["row"]["id"].as_str().unwrap().to_owned()
}

async fn pool(db: &TestDb) -> PgPool {
    PgPool::connect(&db.url()).await.unwrap()
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn forty_concurrent_completes_across_two_replicas_record_one_completion() {
    let db = TestDb::postgres().await;
    let (a, b) = (Replica::start(&db.url()).await, Replica::start(&db.url()).await);
    let http = client();
    sign_up(&http, &a).await;
    let id = quick_add(&http, &a, "Contended").await;
    // Complete, reopen, complete: each round is forty clicks at once, half on each replica.
    for (round, completed) in ["true", "false", "true"].into_iter().enumerate() {
        let statuses: Vec<StatusCode> = stream::iter(0..40)
            .map(|n| {
                let (http, id, replica) = (http.clone(), id.clone(), if n % 2 == 0 { &a } else { &b });
                async move {
                    call(&http, replica, "set_completed", &[("id", id.as_str()), ("completed", completed)])
                        .await
                        .status()
                }
            })
            .buffer_unordered(40)
            .collect()
            .await;
        assert!(statuses.iter().all(|s| *s == StatusCode::OK), "round {round}: {statuses:?}");
    }
    let store = db.store().await;
    settle(&store).await;
    let pg = pool(&db).await;
    assert_eq!(count(&pg, "SELECT COUNT(*) FROM outbox WHERE event_type = 'task.completed'").await, 2);
    assert_eq!(count(&pg, "SELECT COUNT(*) FROM outbox WHERE event_type = 'task.reopened'").await, 1);
    assert_eq!(
        count(&pg, "SELECT COUNT(*) FROM audit_log WHERE event_type IN ('task.completed', 'task.reopened')").await,
        3
    );
}

#[tokio::test]
async fn thousands_of_changes_through_two_replicas_reach_the_audit_log_once_each_in_order() {
    let db = TestDb::postgres().await;
    let (a, b) = (Replica::start(&db.url()).await, Replica::start(&db.url()).await);
    let http = client();
    sign_up(&http, &a).await;
    let replicas = [&a, &b];
    let ids: Vec<String> = stream::iter(0..100)
        .map(|n| {
            let (http, replica) = (http.clone(), replicas[n % 2]);
            async move { quick_add(&http, replica, &format!("Task {n}")).await }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    // Nine changes per task, each on whichever replica, many tasks at once.
    let changes: Vec<(usize, &str)> =
        (0..9).flat_map(|round| (0..100).map(move |t| (t, if round % 2 == 0 { "true" } else { "false" }))).collect();
    let statuses: Vec<StatusCode> = stream::iter(changes.into_iter().enumerate())
        .map(|(n, (task, completed))| {
            let (http, id, replica) = (http.clone(), ids[task].clone(), replicas[n % 2]);
            async move {
                call(&http, replica, "set_completed", &[("id", id.as_str()), ("completed", completed)]).await.status()
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == StatusCode::OK));
    let store = db.store().await;
    settle(&store).await;
    let pg = pool(&db).await;
    let events = count(&pg, "SELECT COUNT(*) FROM outbox").await;
    assert!(events >= 1000, "{events} events");
    assert_eq!(count(&pg, "SELECT COUNT(*) FROM audit_log").await, events, "every event reached the audit log");
    assert_eq!(
        count(
            &pg,
            "SELECT COUNT(*) FROM outbox_deliveries WHERE subscriber = 'audit-log' AND done_at IS NOT NULL \
             AND attempts = 1"
        )
        .await,
        events,
        "every delivery was made once, by one relay, at the first attempt"
    );
    let out_of_order = count(
        &pg,
        "SELECT COUNT(*) FROM (SELECT \
             ROW_NUMBER() OVER (PARTITION BY a.task_id ORDER BY o.seq) AS by_commit, \
             ROW_NUMBER() OVER (PARTITION BY a.task_id ORDER BY a.recorded_at, o.seq) AS by_record \
           FROM audit_log a JOIN outbox o ON o.event_id = a.event_id WHERE a.task_id IS NOT NULL) x \
         WHERE by_commit <> by_record",
    )
    .await;
    assert_eq!(out_of_order, 0, "each task's events were recorded in the order they were committed");
}

#[tokio::test]
async fn a_poison_event_is_dead_lettered_shown_to_operators_and_the_rest_keep_flowing() {
    let db = TestDb::postgres().await;
    let a = Replica::start(&db.url()).await;
    let http = client();
    sign_up(&http, &a).await;
    let store = db.store().await;
    settle(&store).await;
    let pg = pool(&db).await;
    // An event from a future version of Cadence, in the user's own stream, ahead of their next change.
    let user: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users").fetch_one(&pg).await.unwrap();
    let poison = uuid::Uuid::new_v4();
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO outbox (event_id, event_type, schema_version, user_id, occurred_at, payload) \
         VALUES ($1, 'account.updated', 99, $2, now(), '{\"schema_version\": 99}') RETURNING seq",
    )
    .bind(poison)
    .bind(user)
    .fetch_one(&pg)
    .await
    .unwrap();
    // Owed to the audit log only, so that one consumer's dead letter is the one to follow.
    sqlx::query(
        "INSERT INTO outbox_deliveries (seq, subscriber, stream, available_at) VALUES ($1, 'audit-log', $2, 0)",
    )
    .bind(seq)
    .bind(user)
    .execute(&pg)
    .await
    .unwrap();
    let profile = [("display_name", "Renamed"), ("time_zone", "UTC")];
    assert_eq!(call(&http, &a, "update_profile", &profile).await.status(), StatusCode::OK);
    settle(&store).await;
    let updates = count(&pg, "SELECT COUNT(*) FROM audit_log WHERE event_type = 'account.updated'").await;
    assert_eq!(updates, 1, "the change after the poison event was delivered");
    let letters = store.dead_letters(10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].event_id, poison);
    assert!(letters[0].reason.contains("schema version 99"), "{}", letters[0].reason);
    let ready: Value = http.get(a.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["deliveries"]["dead_letters"], 1, "{ready}");

    let admin = |args: &'static [&'static str]| {
        let url = db.url();
        async move {
            let out =
                Command::new(env!("CARGO_BIN_EXE_server")).args(args).env("DATABASE_URL", url).output().await.unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        }
    };
    let listed = admin(&["dead-letters", "list"]).await;
    assert!(listed.contains(&poison.to_string()) && listed.contains("schema version 99"), "{listed}");
    assert_eq!(admin(&["dead-letters", "requeue", "--all"]).await.trim(), "requeued 1 dead letter(s)");
    // Still unreadable, so it comes back as a dead letter, attempted afresh.
    for _ in 0..500 {
        if store.delivery_stats().await.unwrap().pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(store.dead_letters(10).await.unwrap().len(), 1);
}

/// Polls `sql` until it counts `want`, for up to a minute.
async fn wait_for_count(pg: &PgPool, sql: &str, want: i64) {
    for _ in 0..3000 {
        if count(pg, sql).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(count(pg, sql).await, want, "{sql}");
}

#[tokio::test]
async fn two_replicas_fire_two_thousand_timers_once_each_and_number_their_notifications_without_gaps() {
    let db = TestDb::postgres().await;
    let (a, _b) = (Replica::start(&db.url()).await, Replica::start(&db.url()).await);
    let http = client();
    sign_up(&http, &a).await;
    let pg = pool(&db).await;
    let user: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users").fetch_one(&pg).await.unwrap();
    // 2,000 reminders of as many tasks, due now, set behind both replicas'
    // backs: each scheduler sees them within its longest sleep, and both race for them.
    sqlx::query(
        "INSERT INTO timers (id, user_id, task_id, kind, fire_at, title, label) \
         SELECT gen_random_uuid(), $1, gen_random_uuid(), 'reminder', $2, 'Reminder ' || n, 'At the due time' \
         FROM generate_series(1, 2000) AS n",
    )
    .bind(user)
    .bind(chrono::Utc::now().timestamp_millis())
    .execute(&pg)
    .await
    .unwrap();
    wait_for_count(&pg, "SELECT COUNT(*) FROM timers WHERE fired_at IS NULL", 0).await;
    assert_eq!(count(&pg, "SELECT COUNT(*) FROM outbox WHERE event_type = 'reminder.due'").await, 2000);
    assert_eq!(
        count(
            &pg,
            "SELECT COUNT(DISTINCT payload->'payload'->'reminder'->>'timer_id') FROM outbox \
             WHERE event_type = 'reminder.due'"
        )
        .await,
        2000,
        "one event per timer"
    );
    // Both replicas' notifiers turn them into notifications at once; the user's numbers stay 1..2000.
    wait_for_count(&pg, "SELECT COUNT(*) FROM notifications", 2000).await;
    assert_eq!(count(&pg, "SELECT COUNT(DISTINCT seq) FROM notifications").await, 2000);
    assert_eq!(count(&pg, "SELECT MAX(seq) FROM notifications").await, 2000, "numbered 1 to 2000, no gaps");
    assert_eq!(count(&pg, "SELECT unread_notifications FROM users").await, 2000);
}

#[tokio::test]
async fn a_change_through_one_replica_reaches_a_stream_on_the_other() {
    let db = TestDb::postgres().await;
    let (a, b) = (Replica::start(&db.url()).await, Replica::start(&db.url()).await);
    let http = client();
    sign_up(&http, &a).await;
    // The session cookie is the database's, so it works on either replica.
    let mut on_b = crate::live::SseReader::open_url(&http, &b.url("/events"), None).await;
    for title in ["First through A", "Second through A"] {
        let started = std::time::Instant::now();
        let id = quick_add(&http, &a, title).await;
        let (_, event, data) = on_b.event().await;
        assert_eq!((event.as_str(), data["task_id"].as_str()), ("task.created", Some(id.as_str())));
        eprintln!("{title}: on the other replica's stream after {:?}", started.elapsed());
    }
}
