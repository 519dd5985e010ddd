//! Live streams over HTTP: replay and resume by cursor, another user's
//! events never arriving, heartbeats, the stream's headers, a reset for a
//! cursor older than the feed keeps, and shutdown and restart mid-stream.

use std::time::Duration;

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use server::config::Config;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::helpers::{spawn_on, spawn_with, test_config, TestApp, TestDb};

/// One server-sent event, or a comment (a heartbeat).
#[derive(Debug, Clone, PartialEq)]
pub enum Sse {
    Event { id: Option<String>, event: String, data: Value },
    Comment,
}

/// Which of the server's two ways of serving a stream a test opens it on:
/// a connection whose first request is the stream's takes the lean path,
/// one that served another request first stays with axum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Conn {
    Fresh,
    Reused,
}

/// A stream's response head, as sent.
pub struct Head {
    pub status: u16,
    headers: Vec<(String, String)>,
}

impl Head {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

async fn read_head(socket: &mut BufReader<TcpStream>) -> Head {
    let mut line = String::new();
    socket.read_line(&mut line).await.unwrap();
    let status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    let mut headers = Vec::new();
    loop {
        line.clear();
        socket.read_line(&mut line).await.unwrap();
        let Some((name, value)) = line.trim_end().split_once(':') else { break };
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    Head { status, headers }
}

/// Reads a stream's events as they come.
pub struct SseReader {
    body: futures::stream::BoxStream<'static, reqwest::Result<Vec<u8>>>,
    buffer: String,
}

impl SseReader {
    pub async fn open(app: &TestApp, conn: Conn, last_event_id: Option<&str>) -> Self {
        let (head, reader) = Self::open_raw(app, conn, &app.cookie(), last_event_id).await;
        assert_eq!(head.status, 200);
        reader
    }

    /// Opens `GET /events` over a plain socket with the given cookie, as a browser would.
    pub async fn open_raw(app: &TestApp, conn: Conn, cookie: &str, last_event_id: Option<&str>) -> (Head, Self) {
        let mut request =
            "GET /events HTTP/1.1\r\nAccept: text/event-stream\r\nAccept-Encoding: br, gzip\r\n".to_owned();
        if !cookie.is_empty() {
            request.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        if let Some(id) = last_event_id {
            request.push_str(&format!("Last-Event-ID: {id}\r\n"));
        }
        Self::send(app, conn, &request).await
    }

    /// Sends `request` (its request line and headers but `Host`) and reads the response as a stream.
    pub async fn send(app: &TestApp, conn: Conn, request: &str) -> (Head, Self) {
        let addr = app.address.trim_start_matches("http://").to_owned();
        let mut socket = BufReader::new(TcpStream::connect(&addr).await.unwrap());
        if conn == Conn::Reused {
            let probe = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n");
            socket.get_mut().write_all(probe.as_bytes()).await.unwrap();
            let head = read_head(&mut socket).await;
            assert_eq!(head.status, 200);
            let length: usize = head.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
            let mut body = vec![0u8; length];
            socket.read_exact(&mut body).await.unwrap();
        }
        let request = format!("{request}Host: {addr}\r\n\r\n");
        socket.get_mut().write_all(request.as_bytes()).await.unwrap();
        let head = read_head(&mut socket).await;
        let chunked = head.get("transfer-encoding") == Some("chunked");
        let body = futures::stream::unfold(socket, move |mut socket| async move {
            let mut data = Vec::new();
            if chunked {
                let mut size = String::new();
                socket.read_line(&mut size).await.ok()?;
                let size = usize::from_str_radix(size.trim(), 16).ok().filter(|n| *n > 0)?;
                data.resize(size + 2, 0);
                socket.read_exact(&mut data).await.ok()?;
                data.truncate(size);
            } else {
                let mut chunk = [0u8; 4096];
                let n = socket.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
                data.extend_from_slice(&chunk[..n]);
            }
            Some((Ok(data), socket))
        });
        (head, Self { body: body.boxed(), buffer: String::new() })
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

/// Runs each test on both ways of serving a stream.
macro_rules! on_both_paths {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::Conn;

            #[tokio::test]
            async fn on_a_fresh_connection() {
                super::$name(Conn::Fresh).await
            }

            #[tokio::test]
            async fn on_a_connection_that_served_a_request_first() {
                super::$name(Conn::Reused).await
            }
        }
    )*};
}

async fn live_app() -> TestApp {
    let db = TestDb::for_http().await;
    let config = Config { live_heartbeat_secs: 1, live_poll_ms: 20, ..test_config(&db) };
    spawn_with(db, config).await
}

on_both_paths!(
    no_stream_without_a_session,
    the_stream_is_uncompressed_uncached_and_unbuffered_with_heartbeats,
    a_stream_replays_after_its_cursor_then_goes_live_and_resumes_without_gaps_or_repeats,
    another_users_events_never_arrive,
    reading_notifications_reaches_the_stream_with_the_new_count,
    a_cursor_older_than_the_feed_keeps_tells_the_client_to_reload,
    shutdown_ends_open_streams_and_a_restarted_server_resumes_every_event_once,
    a_change_through_another_server_on_the_same_database_reaches_the_stream,
    a_burst_of_changes_reaches_a_stream_in_order_without_gaps,
);

async fn no_stream_without_a_session(conn: Conn) {
    let app = live_app().await;
    let (head, _) = SseReader::open_raw(&app, conn, "", None).await;
    assert_eq!(head.status, 401);
    let (head, _) = SseReader::open_raw(&app, conn, "cadence_session=forged", Some("0")).await;
    assert_eq!(head.status, 401, "nor with a session that does not exist");
}

async fn the_stream_is_uncompressed_uncached_and_unbuffered_with_heartbeats(conn: Conn) {
    let app = live_app().await;
    app.sign_up().await;
    let (head, mut reader) = SseReader::open_raw(&app, conn, &app.cookie(), None).await;
    assert_eq!(head.status, 200);
    assert!(head.get("content-type").unwrap().starts_with("text/event-stream"));
    assert!(head.get("content-encoding").is_none(), "a stream is never compressed (it would be held back)");
    assert_eq!(head.get("cache-control"), Some("no-store"));
    assert_eq!(head.get("x-accel-buffering"), Some("no"));
    match conn {
        // The lean path ends the connection with the stream, so it needs no chunked framing.
        Conn::Fresh => {
            assert_eq!((head.get("connection"), head.get("transfer-encoding")), (Some("close"), None));
        }
        Conn::Reused => assert_eq!(head.get("transfer-encoding"), Some("chunked"), "served by axum"),
    }
    assert_eq!(reader.next_within(Duration::from_secs(5)).await, Some(Sse::Comment), "a heartbeat comes");
    assert_eq!(reader.next_within(Duration::from_secs(5)).await, Some(Sse::Comment), "and another");
}

async fn a_stream_replays_after_its_cursor_then_goes_live_and_resumes_without_gaps_or_repeats(conn: Conn) {
    let app = live_app().await;
    app.sign_up().await;
    let first = app.quick_add("One").await;
    app.quick_add("Two").await;
    let mut stream = SseReader::open(&app, conn, Some("0")).await;
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
    let mut again = SseReader::open(&app, conn, Some("2")).await;
    assert_eq!(again.event().await.0, "3");
    assert_eq!(again.event().await.0, "4");
    app.quick_add("Four").await;
    assert_eq!(again.event().await.0, "5");
    // Without a cursor a stream starts now: nothing is replayed.
    let mut fresh = SseReader::open(&app, conn, None).await;
    app.quick_add("Five").await;
    assert_eq!(fresh.event().await.0, "6");
}

async fn another_users_events_never_arrive(conn: Conn) {
    let app = live_app().await;
    app.sign_up().await;
    let other = TestApp::handle(&app);
    other.sign_up().await;
    let mut mine = SseReader::open(&app, conn, Some("0")).await;
    other.quick_add("Theirs").await;
    app.quick_add("Mine").await;
    let (_, _, data) = mine.event().await;
    assert_eq!(data["title"], "Mine", "the other user's task never reached this stream");
}

async fn reading_notifications_reaches_the_stream_with_the_new_count(conn: Conn) {
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
    let mut stream = SseReader::open(&app, conn, None).await;
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

async fn a_cursor_older_than_the_feed_keeps_tells_the_client_to_reload(conn: Conn) {
    let app = live_app().await;
    app.sign_up().await;
    for title in ["a", "b", "c"] {
        app.quick_add(title).await;
    }
    app.db.as_ref().unwrap().execute("DELETE FROM user_feed WHERE seq < 3").await;
    let mut stale = SseReader::open(&app, conn, Some("0")).await;
    let (_, event, data) = stale.event().await;
    assert_eq!((event.as_str(), &data["reload"]), ("reset", &Value::Bool(true)));
    assert_eq!(stale.next_within(Duration::from_secs(5)).await, None, "and the stream ends");
    let mut current = SseReader::open(&app, conn, Some("2")).await;
    assert_eq!(current.event().await.0, "3", "a cursor the feed still covers resumes");
}

async fn shutdown_ends_open_streams_and_a_restarted_server_resumes_every_event_once(conn: Conn) {
    let db = TestDb::for_http().await;
    let config = Config { live_heartbeat_secs: 1, live_poll_ms: 20, ..test_config(&db) };
    let app = spawn_on(&db, config.clone()).await;
    let account = app.sign_up().await;
    app.quick_add("Before").await;
    let mut stream = SseReader::open(&app, conn, Some("0")).await;
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
    let mut resumed = SseReader::open(&restarted, conn, Some("1")).await;
    let (id, _, data) = resumed.event().await;
    assert_eq!((id.as_str(), data["title"].as_str()), ("2", Some("While down 1")));
    assert_eq!(resumed.event().await.0, "3");
    restarted.quick_add("After").await;
    let (id, _, data) = resumed.event().await;
    assert_eq!((id.as_str(), data["title"].as_str()), ("4", Some("After")), "each event once, in order");
}

async fn a_change_through_another_server_on_the_same_database_reaches_the_stream(conn: Conn) {
    let db = TestDb::for_http().await;
    let config = Config { live_heartbeat_secs: 1, live_poll_ms: 20, ..test_config(&db) };
    let (one, two) = (spawn_on(&db, config.clone()).await, spawn_on(&db, config).await);
    let account = one.sign_up().await;
    two.sign_in_as(&two.client, &account.email, &account.password).await;
    let mut on_two = SseReader::open(&two, conn, None).await;
    let id = one.quick_add("Through the other server").await;
    let (_, event, data) = on_two.event().await;
    assert_eq!((event.as_str(), data["task_id"].as_str()), ("task.created", Some(id.as_str())));
}

async fn a_burst_of_changes_reaches_a_stream_in_order_without_gaps(conn: Conn) {
    let app = live_app().await;
    app.sign_up().await;
    let mut stream = SseReader::open(&app, conn, None).await;
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

#[tokio::test]
async fn a_fresh_connection_streams_from_the_pages_cursor_and_leaves_every_other_request_to_the_app() {
    let app = live_app().await;
    app.sign_up().await;
    app.quick_add("One").await;
    app.quick_add("Two").await;
    let cookie = format!("Cookie: {}\r\n", app.cookie());
    let (head, mut stream) =
        SseReader::send(&app, Conn::Fresh, &format!("GET /events?after=1 HTTP/1.1\r\n{cookie}")).await;
    assert_eq!((head.status, head.get("connection")), (200, Some("close")));
    let (id, _, data) = stream.event().await;
    assert_eq!((id.as_str(), &data["title"]), ("2", &Value::from("Two")), "the page's cursor (`?after=`) is kept");
    // Only the stream's own path takes the lean path.
    for path in ["/eventsource", "/events/x", "/tasks"] {
        let (head, _) = SseReader::send(&app, Conn::Fresh, &format!("GET {path} HTTP/1.1\r\n{cookie}")).await;
        assert_ne!(head.get("connection"), Some("close"), "{path} went to the app");
        assert!(head.status == 200 || head.status == 404, "{path}: {}", head.status);
    }
    let (head, _) =
        SseReader::send(&app, Conn::Fresh, &format!("POST /events HTTP/1.1\r\ncontent-length: 0\r\n{cookie}")).await;
    assert_eq!(head.status, 405, "a POST is the app's to refuse");
    // A head too large for the lean path is refused, not read on forever.
    let huge = format!("GET /events HTTP/1.1\r\nX-Filler: {}\r\n{cookie}", "a".repeat(10_000));
    let (head, _) = SseReader::send(&app, Conn::Fresh, &huge).await;
    assert_eq!(head.status, 431);
}
