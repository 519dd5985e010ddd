//! Builds the application from its configuration: the store, the services, the
//! event spine (subscribers, relays, maintenance), the router with its
//! middleware, and a bound listener. Tests use it with port 0 and a fresh database.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::auth::{AppState, Limits};
use app::list_cache::ListCache;
use app::{shell, App};
use axum::extract::Request;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{middleware, Extension, Router};
use domain::ports::{Clock, EventHandler, Store, SystemClock};
use domain::services::Services;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

use crate::config::{Bus, Config, Reminders};
use crate::dapr::jobs::{self, JobCallbacks, JobSync};
use crate::dapr::publisher::DaprPublisher;
use crate::dapr::sidecar::{Sidecar, SidecarClient};
use crate::dapr::subscriber::{self, Inbox};
use crate::hasher::Argon2Hasher;
use crate::live::lean::Lean;
use crate::live::{self, FeedWatcher, LiveHub};
use crate::spine::consumers;
use crate::spine::maintenance::Maintenance;
use crate::spine::relay::Relay;
use crate::spine::scheduler::{Scheduler, Wake};
use crate::telemetry::{meters, trace, Observed};
use crate::web::client_ip::TrustedProxies;
use crate::web::csrf::PublicOrigin;
use crate::web::headers::{CspNonce, HeaderPolicy};
use crate::web::probes::Probes;
use crate::web::{api, chat, client_ip, csrf, headers, probes, status};

/// Bodies of this many bytes or fewer go out as they are: they fit in one
/// TCP packet either way, and brotli on every API answer (a task's JSON,
/// some 600 bytes) was 3 % of the machine's CPU under a stream of creates
/// (`perf`). A body whose size is not known in advance (a streamed page) is
/// compressed, as before.
const ONE_PACKET: u16 = 1400;

/// How often, with Dapr, the consumers' relays look for deliveries queued
/// before the switch: none are added, so rarely.
const LEFTOVER_POLL: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot open the database")]
    Store(#[source] domain::StoreError),
    #[error("cannot listen on {addr}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    store: Arc<dyn Store>,
    relays: Vec<Relay>,
    scheduler: Option<Scheduler>,
    job_sync: Option<JobSync>,
    maintenance: Option<Maintenance>,
    hub: Arc<LiveHub>,
    watcher: Option<FeedWatcher>,
    lean: Option<Lean>,
    sidecar: Option<Arc<Sidecar>>,
    /// `GET /metrics` on its own listener, when `metrics_bind` asks for it.
    metrics: Option<(TcpListener, Router)>,
}

fn leptos_options(config: &Config, addr: SocketAddr) -> LeptosOptions {
    // cargo-leptos (with hash-files) writes hash.txt beside the server binary.
    let hashed =
        std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.join("hash.txt"))).is_some_and(|p| p.exists());
    LeptosOptions::builder()
        .output_name(std::env::var("LEPTOS_OUTPUT_NAME").unwrap_or_else(|_| "cadence".into()))
        .site_root(config.site_root.clone())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .hash_files(hashed)
        .build()
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let store = crate::store::connect_with(config.database_url.expose(), config.migrations())
            .await
            .map_err(StartupError::Store)?;
        Self::build_with_store(config, store).await
    }

    pub async fn build_with_store(config: Config, store: Arc<dyn Store>) -> Result<Self, StartupError> {
        Self::build_with_routes(config, store, Router::new()).await
    }

    /// Builds the application with plain axum routes of its own beside the
    /// pages; they run behind the same middleware, so they know the signed-in
    /// user through `AuthUser` and `MaybeAuthUser`.
    pub async fn build_with_routes(
        config: Config,
        store: Arc<dyn Store>,
        routes: Router,
    ) -> Result<Self, StartupError> {
        let listener =
            TcpListener::bind(config.bind).await.map_err(|source| StartupError::Bind { addr: config.bind, source })?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind { addr: config.bind, source })?;
        let metrics = match config.metrics_bind {
            None => None,
            Some(addr) => {
                let listener = TcpListener::bind(addr).await.map_err(|source| StartupError::Bind { addr, source })?;
                let scrape = meters::Scrape { handle: meters::install(), store: store.clone() };
                Some((listener, meters::routes(scrape)))
            }
        };
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let wake = Arc::new(Wake::default());
        let services =
            Services::new(store.clone(), clock.clone(), Arc::new(Argon2Hasher::new())).with_wake(wake.clone());
        let state = AppState {
            services: services.clone(),
            limits: Arc::new(Limits::new(
                Duration::from_secs(config.sign_in_window_secs),
                config.sign_in_max_per_ip,
                config.sign_in_max_per_account,
                config.sign_up_max_per_ip,
            )),
            public_origin: config.public_origin(),
            list_cache: Arc::new(ListCache::new(config.list_cache_pages)),
        };
        let consumers = consumers::all(&store, &services);
        let names: Vec<&'static str> = consumers.iter().map(|c| c.name()).collect();
        meters::count_dead_letters_from_zero(&names);
        // Every replica registers the same subscribers, whether or not it runs their relays,
        // so no event is ever written without its deliveries. With Dapr the publisher is the
        // outbox's one subscriber; the consumers' deliveries still queued from before the
        // switch are relayed in-process until none are left.
        let (subscribers, retired) = match config.bus {
            Bus::InProcess => (names, vec![DaprPublisher::NAME]),
            Bus::Dapr => (vec![DaprPublisher::NAME], names),
        };
        store.register_subscribers(&subscribers).await.map_err(StartupError::Store)?;
        // A plain create is the audit log's alone: the recurrence generator
        // and the notifier are not written deliveries of events they ignore.
        store.route_deliveries(domain::spine::Routes::new(consumers.iter().map(|c| (c.name(), c.wants()))));
        store.retire_subscribers(&retired).await.map_err(StartupError::Store)?;
        // A web process leaves its events to the workers' consumers, and its reminders to their scheduler.
        let (works, serves) = (config.role.works(), config.role.serves());
        let poll = Duration::from_millis(config.relay_poll_ms);
        let settle = Duration::from_millis(config.relay_settle_ms);
        let relay = |handler: Arc<dyn EventHandler>, poll| {
            Relay::new(store.clone(), handler, clock.clone(), config.retry_policy(), poll).settling(settle)
        };
        let sidecar = (config.bus == Bus::Dapr).then(Sidecar::from_env);
        let mut relays = Vec::new();
        let mut inbox = None;
        match &sidecar {
            None if config.relay_enabled && works => {
                relays.extend(consumers.into_iter().map(|c| relay(Observed::consumer(c), poll)))
            }
            None => {}
            Some(sidecar) => {
                // Every role publishes its own events (a worker's too: next instances, reminders).
                if config.relay_enabled {
                    let publisher = Observed::publisher(Arc::new(DaprPublisher::new(config.dapr_pubsub.clone())));
                    relays.push(relay(publisher, poll).gated_by(sidecar.clone()));
                }
                if works {
                    if config.relay_enabled {
                        relays.extend(consumers.iter().map(|c| relay(Observed::consumer(c.clone()), LEFTOVER_POLL)));
                    }
                    inbox = Some(Arc::new(Inbox::new(config.dapr_pubsub.clone(), consumers)));
                }
            }
        }
        // This process's commits wake its relays of current subscribers (not
        // the ones draining what was queued before a switch of bus).
        store.ring_on_commit(
            relays.iter().filter(|r| subscribers.contains(&r.handler.name())).map(Relay::bell).collect(),
        );
        let max_sleep = Duration::from_millis(config.scheduler_max_sleep_ms);
        // Beside Dapr jobs the scheduler stays, as a backstop for reminders whose job did not call back.
        let scheduler = (config.scheduler_enabled && works).then(|| {
            let scheduler = Scheduler::new(store.clone(), clock.clone(), wake.clone(), max_sleep);
            match config.reminders {
                Reminders::Scheduler => scheduler,
                Reminders::DaprJobs => {
                    scheduler.backstop(chrono::Duration::seconds(i64::from(config.jobs_backstop_secs)))
                }
            }
        });
        // With Dapr jobs, the workers keep one job per timer and Dapr calls back at the time.
        let jobs = match (&sidecar, config.reminders) {
            (Some(sidecar), Reminders::DaprJobs) if works => Some((
                JobSync {
                    store: store.clone(),
                    sidecar: sidecar.clone(),
                    client: SidecarClient::new(Duration::from_secs(5)),
                    wake: wake.clone(),
                    max_sleep,
                    repair: Duration::from_secs(config.jobs_repair_secs.max(1)),
                },
                JobCallbacks { store: store.clone(), clock: clock.clone(), token: subscriber::app_token() },
            )),
            _ => None,
        };
        let maintenance = works.then(|| Maintenance {
            services,
            every: Duration::from_secs(3600),
            outbox_retention: chrono::Duration::days(i64::from(config.outbox_retention_days)),
        });
        let hub = LiveHub::new(store.clone(), Duration::from_secs(config.live_heartbeat_secs.max(1)));
        // Changes made in this process reach its streams at once; the watcher brings the others'.
        // (Weak: the store must not keep the hub, which keeps the store, alive forever.)
        store.on_feed_commit({
            let hub = Arc::downgrade(&hub);
            Arc::new(move |user| {
                if let Some(hub) = hub.upgrade() {
                    hub.wake(user);
                }
            })
        });
        // Only a process that serves streams needs to know whose feed moved.
        let watcher = serves.then(|| {
            FeedWatcher::for_database(config.database_url.expose(), Duration::from_millis(config.live_poll_ms))
        });
        // The stream skips the page middleware: every layer that wraps a response
        // body is kept for the stream's whole life (the compression layer's alone
        // is 5.7 KB), and an event stream has no use for them. It needs the session only.
        let live = Router::new()
            .route("/events", get(live::stream))
            .with_state(hub.clone())
            .layer(middleware::from_fn_with_state(state.clone(), app::auth::resolve_session));
        let options = leptos_options(&config, addr);
        let lean = serves.then(|| Lean { hub: hub.clone(), state: state.clone() });
        let probes = Probes { store: store.clone(), sidecar: sidecar.clone(), inbox: inbox.clone() };
        // The sidecar's routes skip the page middleware too: it sends no Origin and no session.
        let (job_sync, job_callbacks) = jobs.unzip();
        let mut dapr = Router::new();
        if sidecar.is_some() {
            let inbox = inbox.unwrap_or_else(|| Arc::new(Inbox::new(config.dapr_pubsub.clone(), Vec::new())));
            dapr = subscriber::routes(inbox);
        }
        if let Some(callbacks) = job_callbacks {
            dapr = dapr.merge(jobs::routes(callbacks));
        }
        let router = if serves {
            live.merge(dapr).merge(router(options, state, probes, &config, routes))
        } else {
            dapr.merge(probes::routes(probes))
        };
        Ok(Self {
            listener,
            router,
            store,
            relays,
            scheduler,
            job_sync,
            maintenance,
            hub,
            watcher,
            lean,
            sidecar,
            metrics,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// The port `/metrics` listens on, when it does.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().and_then(|(l, _)| l.local_addr().ok()).map(|a| a.port())
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// Serves until `shutdown` resolves, lets in-flight requests finish, then drains the relays.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop, stopped) = watch::channel(false);
        let mut workers: Vec<_> = self.relays.into_iter().map(|r| r.spawn(stopped.clone())).collect();
        workers.extend(self.scheduler.map(|s| s.spawn(stopped.clone())));
        workers.extend(self.watcher.map(|w| w.spawn(self.hub.clone(), stopped.clone())));
        workers.extend(self.job_sync.map(|j| j.spawn(stopped.clone())));
        workers.extend(self.sidecar.map(|s| s.spawn_probe(stopped.clone())));
        workers.extend(self.maintenance.map(|m| m.spawn(stopped.clone())));
        if let Some((listener, router)) = self.metrics {
            tracing::info!(addr = %listener.local_addr()?, "metrics are served at /metrics");
            let mut stopped = stopped;
            workers.push(tokio::spawn(async move {
                let stop = async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                };
                if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(stop).await {
                    tracing::warn!(error = %e, "the metrics listener failed");
                }
            }));
        }
        tracing::info!(addr = %self.listener.local_addr()?, "Cadence is listening");
        // Open live streams would hold a graceful shutdown up forever: they end first.
        let hub = self.hub.clone();
        let shutdown = async move {
            shutdown.await;
            hub.close();
        };
        // Connections that open with `GET /events` take the lean path; axum gets the rest.
        // (`tap_io` is the wrapper axum gives the peer's address for over any listener.)
        let listener = live::lean::split(self.listener, self.lean, self.hub.closing())?.tap_io(|_| {});
        let served = axum::serve(listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await;
        let _ = stop.send(true);
        for worker in workers {
            let _ = worker.await;
        }
        tracing::info!("Cadence stopped");
        served
    }
}

fn router(options: LeptosOptions, state: AppState, probes: Probes, config: &Config, extra: Router) -> Router {
    let routes = generate_route_list(App);
    let context = {
        let state = state.clone();
        move || {
            // The nonce the header middleware drew for this request, so the page's
            // scripts carry the one its policy allows.
            let nonce = use_context::<http::request::Parts>().and_then(|p| p.extensions.get::<CspNonce>().cloned());
            if let Some(CspNonce(nonce)) = nonce {
                provide_context(leptos::nonce::Nonce::from_value(nonce));
            }
            provide_context(state.clone());
        }
    };
    let policy = HeaderPolicy { hsts: config.secure_cookies(), hashed_assets: options.hash_files };
    let probes = probes::routes(probes);
    // Static files are served here rather than by Leptos's fallback, which
    // treats every status but 200 as "not found": a browser revalidating its
    // cached favicon (304 Not Modified) got the 404 page instead.
    let site = std::path::Path::new(&*options.site_root).to_path_buf();
    let pkg = ServeDir::new(site.join(&*options.site_pkg_dir)).precompressed_br().precompressed_gzip();
    let favicon = ServeFile::new(site.join("favicon.svg"));
    let chat = chat::Chat::new(config.chat());
    // leptos_routes also mounts every server function under /api/.
    let pages = Router::new()
        .nest_service("/pkg", pkg)
        .route_service("/favicon.svg", favicon)
        .leptos_routes_with_context(&options, routes, context.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(context, shell))
        .with_state(options)
        .merge(probes)
        .merge(api::routes())
        .merge(crate::web::mcp::routes())
        .merge(chat::routes(chat.clone()))
        .merge(extra)
        .layer(middleware::from_fn(status::server_fn_status))
        .layer(middleware::from_fn(meters::note_route));
    // Showing a failed form again turns a POST into a GET, so it wraps the whole
    // router: a layer on a router runs after it has matched the method.
    Router::new()
        .fallback_service(pages)
        .layer(middleware::from_fn(app::forms::redisplay_failed_forms))
        // The API token form is answered by its page (the new secret in that
        // body alone), a POST turned into a GET as above; it needs the user, so
        // it runs inside the session layer.
        .layer(middleware::from_fn(app::api::create_token_from_form))
        // The chat page's plain form is answered by the page too, once its turn is over.
        .layer(middleware::from_fn_with_state(chat, chat::page))
        .layer(middleware::from_fn_with_state(state.clone(), app::auth::resolve_session))
        .layer(Extension(state))
        .layer(middleware::from_fn_with_state(PublicOrigin(config.public_origin()), csrf::csrf_guard))
        .layer(middleware::from_fn_with_state(TrustedProxies(config.trusted_proxies), client_ip::client_ip))
        .layer(middleware::from_fn_with_state(policy, headers::security_headers))
        // The default would be brotli's slowest level (11) on every dynamic page;
        // level 4 gets most of the size for a small part of the CPU.
        .layer(
            CompressionLayer::new().quality(CompressionLevel::Precise(4)).compress_when(
                SizeAbove::new(ONE_PACKET)
                    .and(NotForContentType::GRPC)
                    .and(NotForContentType::IMAGES)
                    .and(NotForContentType::SSE),
            ),
        )
        .layer(middleware::from_fn(meters::track_http))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            let span = tracing::info_span!(
                "request",
                otel.name = format!("{} {}", req.method(), req.uri().path()),
                otel.kind = "server",
                method = %req.method(),
                path = %req.uri().path(),
                request_id = %id,
            );
            // A caller that traces (a proxy, another service) makes this request part of its trace.
            trace::adopt(&span, req.headers().get("traceparent").and_then(|v| v.to_str().ok()));
            span
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
