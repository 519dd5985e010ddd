//! Builds the application from its configuration: the store, the services, the
//! event spine, the router with its middleware, and a bound listener. Tests use
//! it with port 0 and a fresh database.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::auth::{AppState, SignInLimiter};
use app::{shell, App};
use axum::extract::Request;
use axum::routing::get;
use axum::{middleware, Extension, Router};
use domain::ports::{Clock, EventBus, EventHandler, Store, SystemClock};
use domain::service::Services;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::bus::InProcessBus;
use crate::config::Config;
use crate::consumers::AuditLogger;
use crate::hasher::Argon2Hasher;
use crate::relay::Relay;
use crate::web;

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
    relay: Option<Relay>,
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
        let store = crate::store::connect(config.database_url.expose()).await.map_err(StartupError::Store)?;
        Self::build_with_store(config, store).await
    }

    pub async fn build_with_store(config: Config, store: Arc<dyn Store>) -> Result<Self, StartupError> {
        let listener =
            TcpListener::bind(config.bind).await.map_err(|source| StartupError::Bind { addr: config.bind, source })?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind { addr: config.bind, source })?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let services = Services::new(store.clone(), clock.clone(), Arc::new(Argon2Hasher));
        let state = AppState {
            services,
            limiter: Arc::new(SignInLimiter::new(
                Duration::from_secs(config.sign_in_window_secs),
                config.sign_in_max_per_ip,
                config.sign_in_max_per_account,
            )),
            secure_cookies: config.secure_cookies(),
        };
        let handlers: Vec<Arc<dyn EventHandler>> = vec![Arc::new(AuditLogger::new(store.clone()))];
        let bus: Arc<dyn EventBus> = Arc::new(InProcessBus::new(handlers));
        let relay = config.relay_enabled.then(|| Relay {
            store: store.clone(),
            bus,
            clock,
            poll: Duration::from_millis(config.relay_poll_ms),
        });
        let options = leptos_options(&config, addr);
        let router = router(options, state, store.clone(), &config);
        Ok(Self { listener, router, store, relay })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// Serves until `shutdown` resolves, lets in-flight requests finish, then flushes the relay.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_relay, relay_stopped) = watch::channel(false);
        let relay = self.relay.map(|r| r.spawn(relay_stopped));
        tracing::info!(addr = %self.listener.local_addr()?, "Cadence is listening");
        let served = axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await;
        let _ = stop_relay.send(true);
        if let Some(handle) = relay {
            let _ = handle.await;
        }
        tracing::info!("Cadence stopped");
        served
    }
}

fn router(options: LeptosOptions, state: AppState, store: Arc<dyn Store>, config: &Config) -> Router {
    let routes = generate_route_list(App);
    let context = {
        let state = state.clone();
        move || {
            leptos::nonce::provide_nonce();
            provide_context(state.clone());
        }
    };
    let policy = web::HeaderPolicy { hsts: config.secure_cookies(), hashed_assets: options.hash_files };
    let probes =
        Router::new().route("/healthz", get(web::healthz)).route("/readyz", get(web::readyz)).with_state(store);
    // leptos_routes also mounts every server function under /api/.
    let pages = Router::new()
        .leptos_routes_with_context(&options, routes, context.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(context, shell))
        .with_state(options)
        .merge(probes)
        .layer(middleware::from_fn(web::server_fn_status));
    // A layer on a router runs after it has matched the method; showing a failed
    // form again turns a POST into a GET, so it wraps the whole router instead.
    Router::new()
        .fallback_service(pages)
        .layer(middleware::from_fn(web::redisplay_failed_forms))
        .layer(Extension(state))
        .layer(middleware::from_fn(web::csrf_guard))
        .layer(middleware::from_fn_with_state(web::ProxyTrust(config.trust_proxy), web::client_ip))
        .layer(middleware::from_fn_with_state(policy, web::security_headers))
        .layer(CompressionLayer::new())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
