//! Where the Dapr sidecar listens, and whether it is ready: at start the app
//! polls the sidecar's `/v1.0/healthz/outbound`, which answers 204 once its
//! components (the pub/sub) are initialised, and publishes nothing until then.
//! `/readyz` says "waiting" meanwhile, so Kubernetes sends no traffic to a pod
//! whose events could not leave it yet. `SidecarClient` is the gRPC
//! connection the publisher and the job scheduler share the code of.

use std::sync::Arc;
use std::time::Duration;

use dapr::client::{ClientOptions, TonicClientWithAuth};
use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;

pub type Client = dapr::Client<TonicClientWithAuth>;

/// The sidecar's gRPC API through the `dapr` crate, connected on first use
/// and again after a failed connection attempt; once connected, tonic's
/// channel reconnects by itself.
pub struct SidecarClient {
    client: Mutex<Option<Client>>,
    timeout: Duration,
}

impl SidecarClient {
    pub fn new(timeout: Duration) -> Self {
        Self { client: Mutex::new(None), timeout }
    }

    /// A client (cheap to clone: it shares the channel), or why there is none.
    pub async fn get(&self) -> Result<Client, String> {
        let mut slot = self.client.lock().await;
        if let Some(client) = &*slot {
            return Ok(client.clone());
        }
        let options = ClientOptions::from_env()
            .map_err(|e| format!("the Dapr client settings are invalid: {e}"))?
            .with_timeout(self.timeout);
        let client =
            dapr::Client::from_options(options).await.map_err(|e| format!("cannot reach the Dapr sidecar: {e}"))?;
        Ok(slot.insert(client).clone())
    }
}

/// How often to ask at first, and at most.
const FIRST_POLL: Duration = Duration::from_millis(100);
const MAX_POLL: Duration = Duration::from_secs(2);

pub struct Sidecar {
    /// The sidecar's HTTP API, e.g. `http://127.0.0.1:3500`.
    http: String,
    ready: watch::Sender<bool>,
}

impl Sidecar {
    /// Reads the address the sidecar injects into the app's environment:
    /// `DAPR_HTTP_ENDPOINT`, else `DAPR_HTTP_PORT` on loopback (3500 by default).
    /// (The gRPC address the `dapr` crate reads itself: `DAPR_GRPC_ENDPOINT` or `DAPR_GRPC_PORT`.)
    pub fn from_env() -> Arc<Self> {
        let http = match (std::env::var("DAPR_HTTP_ENDPOINT"), std::env::var("DAPR_HTTP_PORT")) {
            (Ok(endpoint), _) if !endpoint.is_empty() => endpoint.trim_end_matches('/').to_owned(),
            (_, Ok(port)) if !port.is_empty() => format!("http://127.0.0.1:{port}"),
            _ => "http://127.0.0.1:3500".to_owned(),
        };
        Arc::new(Self { http, ready: watch::channel(false).0 })
    }

    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// Resolves once the sidecar is ready, or with false when `shutdown` turns true first.
    pub async fn wait_ready(&self, shutdown: &mut watch::Receiver<bool>) -> bool {
        let mut ready = self.ready.subscribe();
        tokio::select! {
            r = ready.wait_for(|r| *r) => r.is_ok(),
            _ = shutdown.wait_for(|s| *s) => false,
        }
    }

    /// Polls the sidecar until it is ready (or the process stops).
    pub fn spawn_probe(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap_or_default();
            let url = format!("{}/v1.0/healthz/outbound", self.http);
            let started = tokio::time::Instant::now();
            let mut poll = FIRST_POLL;
            let mut told = Duration::ZERO;
            loop {
                match client.get(&url).send().await {
                    Ok(r) if r.status().is_success() => {
                        tracing::info!(waited_ms = started.elapsed().as_millis() as u64, "the Dapr sidecar is ready");
                        self.ready.send_replace(true);
                        return;
                    }
                    answer => {
                        if started.elapsed() >= told + Duration::from_secs(10) {
                            told = started.elapsed();
                            let answer = match answer {
                                Ok(r) => r.status().to_string(),
                                Err(e) => e.without_url().to_string(),
                            };
                            tracing::warn!(
                                url,
                                answer,
                                waited_s = told.as_secs(),
                                "still waiting for the Dapr sidecar; events stay in the outbox"
                            );
                        }
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = shutdown.wait_for(|s| *s) => return,
                }
                poll = (poll * 2).min(MAX_POLL);
            }
        })
    }
}
