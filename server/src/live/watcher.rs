//! Learns whose feed moved, from any replica, and wakes their streams here:
//! on PostgreSQL by `LISTEN cadence_feed` (each commit that writes a feed
//! notifies with the user's id; a lost connection wakes every stream once
//! it is back), on SQLite by reading the feed's rows written since the last
//! look, every `poll` (one writer at a time, so rows appear in row order).

use std::sync::Arc;
use std::time::Duration;

use domain::UserId;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::LiveHub;

pub enum FeedWatcher {
    Listen { url: String },
    Poll { every: Duration },
}

impl FeedWatcher {
    /// The watcher for the database at `url`.
    pub fn for_database(url: &str, poll: Duration) -> Self {
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Self::Listen { url: url.to_owned() }
        } else {
            Self::Poll { every: poll }
        }
    }

    pub fn spawn(self, hub: Arc<LiveHub>, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            match self {
                Self::Listen { url } => listen(&url, &hub, &mut shutdown).await,
                Self::Poll { every } => poll(every, &hub, &mut shutdown).await,
            }
        })
    }
}

async fn listen(url: &str, hub: &Arc<LiveHub>, shutdown: &mut watch::Receiver<bool>) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let listener = async {
            let mut l = PgListener::connect(url).await?;
            l.listen("cadence_feed").await?;
            Ok::<_, sqlx::Error>(l)
        };
        match listener.await {
            Ok(mut listener) => {
                backoff = Duration::from_millis(200);
                // Whatever moved while nobody listened: every stream reads again.
                hub.wake_all();
                loop {
                    tokio::select! {
                        note = listener.try_recv() => match note {
                            Ok(Some(note)) => {
                                if let Ok(user) = uuid::Uuid::parse_str(note.payload()) {
                                    hub.wake(UserId(user));
                                }
                            }
                            // The connection was lost; sqlx reconnects on the next call.
                            Ok(None) => hub.wake_all(),
                            Err(e) => {
                                tracing::warn!(error = %e, "listening for feed changes failed; reconnecting");
                                break;
                            }
                        },
                        _ = shutdown.changed() => return,
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot listen for feed changes; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

async fn poll(every: Duration, hub: &Arc<LiveHub>, shutdown: &mut watch::Receiver<bool>) {
    // Start after the rows already there: streams read those themselves.
    let mut last = loop {
        match hub.store.feed_last_row().await {
            Ok(last) => break last,
            Err(e) => tracing::warn!(error = %e, "reading the feed's newest row failed; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    };
    loop {
        match hub.store.feed_rows_after(last, 1000).await {
            Ok(rows) if !rows.is_empty() => {
                last = rows.last().map_or(last, |(id, _)| *id);
                let mut users: Vec<UserId> = rows.into_iter().map(|(_, u)| u).collect();
                users.sort();
                users.dedup();
                for user in users {
                    hub.wake(user);
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reading the feed's new rows failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    }
}
