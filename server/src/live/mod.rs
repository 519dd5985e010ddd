//! Live streams: each open tab holds one SSE stream (`GET /events`) of its
//! user's feed. A stream replays what the user's feed holds after the tab's
//! cursor (`Last-Event-ID`, or `?after=` from the page), then waits for the
//! feed to move and sends what is new. The database is the source of truth:
//! the hub only wakes the streams of a user whose feed moved, and the
//! watcher learns that from PostgreSQL's `LISTEN` (ids only) or, on SQLite,
//! by reading the feed's newest rows, so a change made through any replica
//! reaches streams on every replica.

mod watcher;

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use domain::live::LiveEvent;
use domain::ports::Store;
use domain::UserId;
use futures::stream::{self, Stream};
use serde::Deserialize;
use tokio::sync::watch;

pub use watcher::FeedWatcher;

/// How many feed entries one replay step reads; a stream reads on until it has caught up.
const REPLAY_BATCH: u32 = 200;

/// Wakes the streams of users whose feed moved, and ends every stream at shutdown.
pub struct LiveHub {
    store: Arc<dyn Store>,
    users: Mutex<HashMap<UserId, watch::Sender<u64>>>,
    closing: watch::Sender<bool>,
    heartbeat: Duration,
}

impl LiveHub {
    pub fn new(store: Arc<dyn Store>, heartbeat: Duration) -> Arc<Self> {
        Arc::new(Self { store, users: Mutex::new(HashMap::new()), closing: watch::channel(false).0, heartbeat })
    }

    fn subscribe(&self, user: UserId) -> watch::Receiver<u64> {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        // Users whose every stream has ended leave the map.
        users.retain(|_, tx| tx.receiver_count() > 0);
        users.entry(user).or_insert_with(|| watch::channel(0).0).subscribe()
    }

    /// The user's feed moved: their streams read it again.
    pub fn wake(&self, user: UserId) {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = users.get(&user) {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Wakes every stream (after the watcher may have missed something, e.g. a lost connection).
    pub fn wake_all(&self) {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        for tx in users.values() {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Ends every stream, so a graceful shutdown is not held up by open connections.
    pub fn close(&self) {
        let _ = self.closing.send(true);
    }

    /// Streams open now, for readiness detail.
    pub fn streams(&self) -> usize {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users.values().map(watch::Sender::receiver_count).sum()
    }
}

#[derive(Deserialize)]
pub struct StreamQuery {
    /// The cursor the page was rendered at, for a first connection.
    after: Option<String>,
}

/// What a stream does next.
enum Step {
    Send(LiveEvent),
    /// The cursor is older than the feed keeps: the client must reload.
    Reset,
}

struct StreamState {
    hub: Arc<LiveHub>,
    user: UserId,
    cursor: i64,
    pending: VecDeque<Step>,
    wake: watch::Receiver<u64>,
    closing: watch::Receiver<bool>,
    done: bool,
}

impl StreamState {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if let Some(step) = self.pending.pop_front() {
                let event = match step {
                    Step::Send(e) => {
                        self.cursor = e.seq;
                        Event::default().id(e.seq.to_string()).event(e.event_type).data(e.data.to_string())
                    }
                    Step::Reset => {
                        self.done = true;
                        Event::default().event("reset").data("{\"reload\":true}")
                    }
                };
                return Some((Ok(event), self));
            }
            if self.done || *self.closing.borrow() {
                return None;
            }
            // Mark what has been seen before reading, so a wake-up during the read is not lost.
            self.wake.borrow_and_update();
            match self.hub.store.feed_after(self.user, self.cursor, REPLAY_BATCH).await {
                Ok(events) if !events.is_empty() => {
                    self.pending.extend(events.into_iter().map(Step::Send));
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "reading a live feed failed; the stream waits for the next change")
                }
            }
            tokio::select! {
                changed = self.wake.changed() => if changed.is_err() { return None },
                _ = self.closing.changed() => return None,
                // A safety net: a wake-up lost with a broken listener connection costs at most this.
                _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            }
        }
    }
}

/// `GET /events`: the signed-in user's live stream.
pub async fn stream(
    State(hub): State<Arc<LiveHub>>,
    app::auth::AuthUser(me): app::auth::AuthUser,
    headers: HeaderMap,
    Query(query): Query<StreamQuery>,
) -> Response {
    let user = me.user.id;
    // A reconnecting EventSource sends the last id it saw; a first connection
    // starts at the cursor the page was rendered at, or now.
    let requested = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .or(query.after.as_deref())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|n| *n >= 0);
    let (last, oldest) = match hub.store.feed_bounds(user).await {
        Ok(bounds) => bounds,
        Err(e) => {
            tracing::error!(error = %e, "reading a live feed's bounds failed");
            return (http::StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "5")]).into_response();
        }
    };
    let mut pending = VecDeque::new();
    let cursor = match requested {
        None => last,
        // A cursor from before what the feed keeps cannot be resumed without a gap.
        Some(n) if n < last && oldest.is_none_or(|o| n + 1 < o) => {
            pending.push_back(Step::Reset);
            n
        }
        // A cursor from the future (another database, say) starts now.
        Some(n) => n.min(last),
    };
    let state = StreamState {
        wake: hub.subscribe(user),
        closing: hub.closing.subscribe(),
        hub: hub.clone(),
        user,
        cursor,
        pending,
        done: false,
    };
    let events: std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>> =
        Box::pin(stream::unfold(state, StreamState::next));
    let mut response = Sse::new(events).keep_alive(KeepAlive::new().interval(hub.heartbeat)).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Proxies such as nginx would otherwise hold the stream back in their buffers.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}
