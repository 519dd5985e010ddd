//! The Cadence server binary: loads configuration, opens the store named by
//! `DATABASE_URL`, serves until SIGINT or SIGTERM, then shuts down gracefully.
//! With arguments it runs an operator command instead (see `admin`).

use server::admin::{self, Command};
use server::config::Config;
use server::startup::Application;

/// Every request allocates on tokio's threads and frees what SQLite's worker
/// threads allocated; mimalloc handles that cross-thread traffic far better
/// than glibc's arenas, which the profile showed busy consolidating.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = match Config::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cadence: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    match Command::parse(&args) {
        Some(Ok(command)) => return run_command(command, &config).await,
        Some(Err(usage)) => {
            eprintln!("{usage}");
            return std::process::ExitCode::from(2);
        }
        None => {}
    }
    let telemetry = match server::telemetry::init(config.log_format) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cadence: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    tracing::info!(bind = %config.bind, relay = config.relay_enabled, traces = telemetry.traces(), "starting Cadence");
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, cause = ?std::error::Error::source(&e), "startup failed");
            return std::process::ExitCode::FAILURE;
        }
    };
    match app.run_until(shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run_command(command: Command, config: &Config) -> std::process::ExitCode {
    match admin::run(command, config, &mut std::io::stdout()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cadence: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
