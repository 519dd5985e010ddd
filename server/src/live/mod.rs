//! Live streams: each open tab holds one SSE stream (`GET /events`) of its
//! user's feed. A stream replays what the user's feed holds after the tab's
//! cursor (`Last-Event-ID`, or `?after=` from the page), then waits for the
//! feed to move and sends what is new. The database is the source of truth:
//! when a user's feed moves, the hub reads the new entries once and hands
//! them to that user's streams here (each checks they follow its cursor, and
//! reads the feed itself if not), and the watcher learns whose feed moved
//! from PostgreSQL's `LISTEN` (ids only) or, on SQLite, by reading the feed's
//! newest rows, so a change made through any replica reaches streams on
//! every replica.

pub mod lean;
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
use tokio::sync::{broadcast, watch};

pub use watcher::FeedWatcher;

/// How many feed entries one replay step reads; a stream reads on until it has caught up.
const REPLAY_BATCH: u32 = 200;

/// Batches of a user's new feed entries, as the hub read them.
type Batch = Arc<[LiveEvent]>;

/// A user with streams open in this process.
struct UserFeed {
    batches: broadcast::Sender<Batch>,
    /// The last entry the hub has read and sent.
    last: i64,
    /// A read is under way; a wake-up meanwhile asks for another.
    reading: bool,
    again: bool,
}

/// Reads a user's new feed entries once when their feed moves and hands
/// them to every stream of that user in this process (a thousand tabs cost
/// one query, not a thousand), and ends every stream at shutdown.
pub struct LiveHub {
    store: Arc<dyn Store>,
    users: Mutex<HashMap<UserId, UserFeed>>,
    closing: watch::Sender<bool>,
    heartbeat: Duration,
}

/// Batches a stream may fall behind by before it reads the feed itself.
const BATCHES_KEPT: usize = 64;

impl LiveHub {
    pub fn new(store: Arc<dyn Store>, heartbeat: Duration) -> Arc<Self> {
        Arc::new(Self { store, users: Mutex::new(HashMap::new()), closing: watch::channel(false).0, heartbeat })
    }

    fn users(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, UserFeed>> {
        self.users.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The user's batches from now on; `last` is their feed's last entry as the stream read it.
    fn subscribe(&self, user: UserId, last: i64) -> broadcast::Receiver<Batch> {
        let mut users = self.users();
        // Users whose every stream has ended leave the map.
        users.retain(|_, feed| feed.batches.receiver_count() > 0);
        let feed = users.entry(user).or_insert_with(|| UserFeed {
            batches: broadcast::channel(BATCHES_KEPT).0,
            last,
            reading: false,
            again: false,
        });
        feed.batches.subscribe()
    }

    /// The user's feed moved: read what is new once and send it to their streams.
    pub fn wake(self: &Arc<Self>, user: UserId) {
        {
            let mut users = self.users();
            let Some(feed) = users.get_mut(&user) else { return };
            if feed.reading {
                feed.again = true;
                return;
            }
            feed.reading = true;
        }
        let hub = self.clone();
        tokio::spawn(async move { hub.read(user).await });
    }

    async fn read(&self, user: UserId) {
        loop {
            let Some(after) = self.users().get(&user).map(|f| f.last) else { return };
            let events = match self.store.feed_after(user, after, REPLAY_BATCH).await {
                Ok(events) => events,
                Err(e) => {
                    tracing::warn!(error = %e, "reading a live feed failed; its streams read it themselves");
                    Vec::new()
                }
            };
            let mut users = self.users();
            let Some(feed) = users.get_mut(&user) else { return };
            let full = events.len() == REPLAY_BATCH as usize;
            if let Some(last) = events.last() {
                feed.last = feed.last.max(last.seq);
                let _ = feed.batches.send(Arc::from(events));
            }
            if !(full || std::mem::take(&mut feed.again)) {
                feed.reading = false;
                return;
            }
        }
    }

    /// Wakes every user's streams (after the watcher may have missed something, e.g. a lost connection).
    pub fn wake_all(self: &Arc<Self>) {
        let users: Vec<UserId> = self.users().keys().copied().collect();
        for user in users {
            self.wake(user);
        }
    }

    /// Turns true when the hub closes (at shutdown).
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Ends every stream, so a graceful shutdown is not held up by open connections.
    pub fn close(&self) {
        let _ = self.closing.send(true);
    }
}

#[derive(Deserialize)]
pub struct StreamQuery {
    /// The cursor the page was rendered at, for a first connection.
    after: Option<String>,
}

/// What a stream sends next.
enum Step {
    Send(LiveEvent),
    /// The cursor is older than the feed keeps: the client must reload.
    Reset,
}

impl Step {
    fn into_event(self) -> Event {
        match self {
            Step::Send(e) => Event::default().id(e.seq.to_string()).event(e.event_type).data(e.data.to_string()),
            Step::Reset => Event::default().event("reset").data(RESET_DATA),
        }
    }

    /// The event in the stream's wire format, for the lean path that writes it itself.
    fn write_to(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        // Event types are ours and the data is compact JSON: neither holds a line break.
        let _ = match self {
            Step::Send(e) => write!(out, "id: {}\nevent: {}\ndata: {}\n\n", e.seq, e.event_type, e.data),
            Step::Reset => write!(out, "event: reset\ndata: {RESET_DATA}\n\n"),
        };
    }
}

const RESET_DATA: &str = "{\"reload\":true}";

struct StreamState {
    hub: Arc<LiveHub>,
    user: UserId,
    /// The last entry sent (or queued to be sent).
    cursor: i64,
    pending: VecDeque<Step>,
    /// Read the feed from the database before waiting: at the start (the
    /// replay), after a gap in the hub's batches, or after falling behind them.
    read: bool,
    batches: broadcast::Receiver<Batch>,
    closing: watch::Receiver<bool>,
    done: bool,
    /// Counts the stream as open (`cadence_sse_streams`) until it is dropped, on either path.
    _open: crate::telemetry::meters::OpenStream,
}

impl StreamState {
    /// A stream of `user`'s feed after the cursor the client asked for, or
    /// from now. A reconnecting EventSource sends the last id it saw
    /// (`Last-Event-ID`); a first connection sends the cursor the page was
    /// rendered at (`?after=`). Fails (logged) when the feed cannot be read.
    async fn open(
        hub: &Arc<LiveHub>,
        user: UserId,
        headers: &HeaderMap,
        after: Option<&str>,
    ) -> Result<Self, domain::StoreError> {
        let requested = headers.get("last-event-id").and_then(|v| v.to_str().ok()).or(after);
        let requested = requested.and_then(|v| v.trim().parse::<i64>().ok()).filter(|n| *n >= 0);
        let (last, oldest) = hub.store.feed_bounds(user).await.inspect_err(|e| {
            tracing::error!(error = %e, "reading a live feed's bounds failed");
        })?;
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
        Ok(Self {
            // Subscribed before the first read, so nothing committed after it is missed.
            batches: hub.subscribe(user, last),
            closing: hub.closing.subscribe(),
            hub: hub.clone(),
            user,
            cursor,
            pending,
            read: true,
            done: false,
            _open: crate::telemetry::meters::OpenStream::new(),
        })
    }

    fn queue(&mut self, events: impl IntoIterator<Item = LiveEvent>) {
        for e in events {
            if e.seq <= self.cursor {
                continue;
            }
            if e.seq != self.cursor + 1 {
                // Something between is missing from this batch: the database has it.
                self.read = true;
                return;
            }
            self.cursor = e.seq;
            self.pending.push_back(Step::Send(e));
        }
    }

    /// The next thing to send, or `None` when the stream is over. Cancelling
    /// it loses nothing: the cursor moves only with what is queued.
    async fn step(&mut self) -> Option<Step> {
        loop {
            if let Some(step) = self.pending.pop_front() {
                self.done |= matches!(step, Step::Reset);
                return Some(step);
            }
            if self.done || *self.closing.borrow() {
                return None;
            }
            if self.read {
                match self.hub.store.feed_after(self.user, self.cursor, REPLAY_BATCH).await {
                    Ok(events) => {
                        self.read = events.len() == REPLAY_BATCH as usize;
                        self.queue(events);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "reading a live feed failed; the stream waits for the next change");
                        self.read = false;
                    }
                }
                continue;
            }
            tokio::select! {
                batch = self.batches.recv() => match batch {
                    Ok(batch) => self.queue(batch.iter().cloned()),
                    Err(broadcast::error::RecvError::Lagged(_)) => self.read = true,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = self.closing.changed() => return None,
                // A safety net: a wake-up lost with a broken listener connection costs at most this.
                _ = tokio::time::sleep(Duration::from_secs(30)) => self.read = true,
            }
        }
    }
}

/// `GET /events`: the signed-in user's live stream, on a connection that
/// served other requests first (a fresh one takes the lean path, `lean`).
pub async fn stream(
    State(hub): State<Arc<LiveHub>>,
    app::auth::AuthUser(me): app::auth::AuthUser,
    headers: HeaderMap,
    Query(query): Query<StreamQuery>,
) -> Response {
    let Ok(state) = StreamState::open(&hub, me.user.id, &headers, query.after.as_deref()).await else {
        return (http::StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "5")]).into_response();
    };
    let events: std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>> =
        Box::pin(stream::unfold(state, |mut state| async move {
            state.step().await.map(|step| (Ok(step.into_event()), state))
        }));
    let mut response = Sse::new(events).keep_alive(KeepAlive::new().interval(hub.heartbeat)).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Proxies such as nginx would otherwise hold the stream back in their buffers.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
