//! Live streams over HTTP: replay and resume by cursor, another user's
//! events never arriving, heartbeats, the stream's headers, a reset for a
//! cursor older than the feed keeps, and shutdown and restart mid-stream.

use std::time::Duration;

use futures::StreamExt;
use reqwest::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::Value;
use server::config::Config;

use crate::helpers::{spawn_on, spawn_with, test_config, TestApp, TestDb};

/// One server-sent event, or a comment (a heartbeat).
#[derive(Debug, Clone, PartialEq)]
pub enum Sse {
    Event { id: Option<String>, event: String, data: Value },
    Comment,
}

/// Reads a stream's events as they come.
pub struct SseReader {
    body: futures::stream::BoxStream<'static, reqwest::Result<Vec<u8>>>,
    buffer: String,
}

impl SseReader {
    pub async fn open(app: &TestApp, last_event_id: Option<&str>) -> Self {
        Self::open_url(&app.client, &app.url("/events"), last_event_id).await
    }

    pub async fn open_url(client: &reqwest::Client, url: &str, last_event_id: Option<&str>) -> Self {
        let mut request = client.get(url);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let res = request.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        Self::of(res)
    }

    fn of(res: reqwest::Response) -> Self {
        Self { body: res.bytes_stream().map(|chunk| chunk.map(|b| b.to_vec())).boxed(), buffer: String::new() }
    }

    /// The next event or comment, or `None` when the stream ended; panics after `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Sse> {
        tokio::time::timeout(wait, self.next()).await.expect("the stream stayed silent too long")
    }

    async fn next(&mut self) -> Option<Sse> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, "message".to_owned(), String::new());
                let mut comment = false;
                for line in block.lines() {
                    if line.starts_with(':') {
                        comment = true;
                    } else if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if comment && data.is_empty() {
                    return Some(Sse::Comment);
                }
                return Some(Sse::Event { id, event, data: serde_json::from_str(&data).unwrap_or(Value::Null) });
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return None,
            }
        }
    }

    /// The next event, skipping heartbeats.
    pub async fn event(&mut self) -> (String, String, Value) {
        loop {
            match self.next_within(Duration::from_secs(10)).await {
                Some(Sse::Event { id, event, data }) => return (id.unwrap_or_default(), event, data),
                Some(Sse::Comment) => continue,
                None => panic!("the stream ended"),
            }
        }
    }
}

async fn live_app() -> TestApp {
    let db = TestDb::for_http().await;
    let config = Config { live_heartbeat_secs: 1, live_poll_ms: 20, ..test_config(&db) };
    spawn_with(db, config).await
}

#[tokio::test]
async fn no_stream_without_a_session() {
    let app = live_app().await;
    assert_eq!(app.get("/events").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_stream_is_uncompressed_uncached_and_unbuffered_with_heartbeats() {
    let app = live_app().await;
    app.sign_up().await;
    let res = app.client.get(app.url("/events")).header(ACCEPT_ENCODING, "br, gzip").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers();
    assert!(h[CONTENT_TYPE].to_str().unwrap().starts_with("text/event-stream"));
    assert!(h.get(CONTENT_ENCODING).is_none(), "a stream is never compressed (it would be held back)");
    assert_eq!(h[CACHE_CONTROL], "no-store");
    assert_eq!(h["x-accel-buffering"], "no");
    let mut reader = SseReader::of(res);
    assert_eq!(reader.next_within(Duration::from_secs(5)).await, Some(Sse::Comment), "a heartbeat comes");
}

#[tokio::test]
async fn a_stream_replays_after_its_cursor_then_goes_live_and_resumes_without_gaps_or_repeats() {
    let app = live_app().await;
    app.sign_up().await;
    let first = app.quick_add("One").await;
    app.quick_add("Two").await;
    let mut stream = SseReader::open(&app, Some("0")).await;
    let (id, event, data) = stream.event().await;
    assert_eq!((id.as_str(), event.as_str(), data["task_id"].as_str()), ("1", "task.created", Some(first.as_str())));
    assert_eq!(data["title"], "One");
    assert_eq!(data["unread"], 0, "every event carries the unread count");
    assert_eq!(stream.event().await.0, "2");
    // Live: a change made now arrives on the open stream.
    app.call("set_completed", &[("id", &first), ("completed", "true")]).await;
    let (id, event, data) = stream.event().await;
    assert_eq!((id.as_str(), event.as_str(), &data["completed"]), ("3", "task.completed", &Value::Bool(true)));
    drop(stream);
    // A reconnect after 2 gets 3, then what came meanwhile, then goes live again.
    app.quick_add("Three").await;
    let mut again = SseReader::open(&app, Some("2")).await;
    assert_eq!(again.event().await.0, "3");
    assert_eq!(again.event().await.0, "4");
    app.quick_add("Four").await;
    assert_eq!(again.event().await.0, "5");
    // Without a cursor a stream starts now: nothing is replayed.
    let mut fresh = SseReader::open(&app, None).await;
    app.quick_add("Five").await;
    assert_eq!(fresh.event().await.0, "6");
}

#[tokio::test]
async fn another_users_events_never_arrive() {
    let app = live_app().await;
    app.sign_up().await;
    let other = TestApp::handle(&app);
    other.sign_up().await;
    let mut mine = SseReader::open(&app, Some("0")).await;
    other.quick_add("Theirs").await;
    app.quick_add("Mine").await;
    let (_, _, data) = mine.event().await;
    assert_eq!(data["title"], "Mine", "the other user's task never reached this stream");
}

#[tokio::test]
async fn reading_notifications_reaches_the_stream_with_the_new_count() {
    let app = live_app().await;
    app.sign_up().await;
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    let res = app
        .call(
            "create_task",
            &[("title", "Pay rent"), ("due_date", &tomorrow), ("due_time", "09:00"), ("reminders", "at due")],
        )
        .await;
    assert!(res.status().is_redirection() || res.status().is_success());
    let mut stream = SseReader::open(&app, None).await;
    let now = chrono::Utc::now().timestamp_millis();
    app.db.as_ref().unwrap().execute(&format!("UPDATE timers SET fire_at = {now}")).await;
    let (_, event, data) = stream.event().await;
    assert_eq!(event, "notification.created");
    assert_eq!((data["notification"]["title"].as_str(), data["unread"].as_i64()), (Some("Pay rent"), Some(1)));
    let seq = data["notification"]["seq"].to_string();
    app.call("mark_notifications_read", &[("seq", &seq)]).await;
    let (_, event, data) = stream.event().await;
    assert_eq!((event.as_str(), data["unread"].as_i64()), ("notifications.read", Some(0)));
}

#[tokio::test]
async fn a_cursor_older_than_the_feed_keeps_tells_the_client_to_reload() {
    let app = live_app().await;
    app.sign_up().await;
    for title in ["a", "b", "c"] {
        app.quick_add(title).await;
    }
    app.db.as_ref().unwrap().execute("DELETE FROM user_feed WHERE seq < 3").await;
    let mut stale = SseReader::open(&app, Some("0")).await;
    let (_, event, data) = stale.event().await;
    assert_eq!((event.as_str(), &data["reload"]), ("reset", &Value::Bool(true)));
    assert_eq!(stale.next_within(Duration::from_secs(5)).await, None, "and the stream ends");
    let mut current = SseReader::open(&app, Some("2")).await;
    assert_eq!(current.event().await.0, "3", "a cursor the feed still covers resumes");
}

#[tokio::test]
async fn shutdown_ends_open_streams_and_a_restarted_server_resumes_every_event_once() {
    let db = TestDb::for_http().await;
    let config = Config { live_heartbeat_secs: 1, live_poll_ms: 20, ..test_config(&db) };
    let app = spawn_on(&db, config.clone()).await;
    let account = app.sign_up().await;
    app.quick_add("Before").await;
    let mut stream = SseReader::open(&app, Some("0")).await;
    assert_eq!(stream.event().await.0, "1");
    let store = app.store.clone();
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(10), app.stop()).await.expect("shutdown is not held up by a stream");
    assert!(started.elapsed() < Duration::from_secs(5), "shutdown took {:?}", started.elapsed());
    loop {
        match stream.next_within(Duration::from_secs(5)).await {
            Some(Sse::Comment) => continue,
            None => break,
            Some(other) => panic!("nothing new was sent: {other:?}"),
        }
    }
    // Changes while the server is down, straight through the store.
    let user = store.user_by_email(&domain::Email::parse(&account.email).unwrap()).await.unwrap().unwrap().0;
    let services = domain::services::Services::new(
        store.clone(),
        std::sync::Arc::new(domain::ports::SystemClock),
        std::sync::Arc::new(server::hasher::Argon2Hasher::new()),
    );
    for title in ["While down 1", "While down 2"] {
        services
            .create_task(&user, &domain::task::TaskInput { title: title.into(), ..Default::default() })
            .await
            .unwrap();
    }
    let restarted = spawn_on(&db, config).await;
    restarted.sign_in_as(&restarted.client, &account.email, &account.password).await;
    let mut resumed = SseReader::open(&restarted, Some("1")).await;
    let (id, _, data) = resumed.event().await;
    assert_eq!((id.as_str(), data["title"].as_str()), ("2", Some("While down 1")));
    assert_eq!(resumed.event().await.0, "3");
    restarted.quick_add("After").await;
    let (id, _, data) = resumed.event().await;
    assert_eq!((id.as_str(), data["title"].as_str()), ("4", Some("After")), "each event once, in order");
}

#[tokio::test]
async fn a_change_through_another_server_on_the_same_database_reaches_the_stream() {
    let db = TestDb::for_http().await;
    let config = Config { live_heartbeat_secs: 1, live_poll_ms: 20, ..test_config(&db) };
    let (one, two) = (spawn_on(&db, config.clone()).await, spawn_on(&db, config).await);
    let account = one.sign_up().await;
    two.sign_in_as(&two.client, &account.email, &account.password).await;
    let mut on_two = SseReader::open(&two, None).await;
    let id = one.quick_add("Through the other server").await;
    let (_, event, data) = on_two.event().await;
    assert_eq!((event.as_str(), data["task_id"].as_str()), ("task.created", Some(id.as_str())));
}

#[tokio::test]
async fn a_burst_of_changes_reaches_a_stream_in_order_without_gaps() {
    let app = live_app().await;
    app.sign_up().await;
    let mut stream = SseReader::open(&app, None).await;
    // More batches than the hub keeps for a stream that is slow to read them.
    for i in 0..150 {
        app.quick_add(&format!("Task {i}")).await;
    }
    for want in 1..=150 {
        let (id, _, data) = stream.event().await;
        assert_eq!(id, want.to_string(), "in order, none missing, none twice");
        assert_eq!(data["title"], format!("Task {}", want - 1));
    }
}
