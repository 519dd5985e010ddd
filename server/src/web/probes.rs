//! Health probes. `/healthz`: the process answers. `/readyz`: the database
//! answers (migrations ran before the listener opened) and, with Dapr, the
//! sidecar can reach its components; its JSON body also counts the
//! deliveries waiting and the dead letters, and what the sidecar delivered,
//! for operators.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use domain::ports::Store;
use serde_json::json;

use crate::dapr::sidecar::Sidecar;
use crate::dapr::subscriber::Inbox;

/// What readiness depends on in this process.
#[derive(Clone)]
pub struct Probes {
    pub store: Arc<dyn Store>,
    /// With Dapr: the sidecar, which must be ready before events can leave.
    pub sidecar: Option<Arc<Sidecar>>,
    /// With Dapr, in a process that works: what the sidecar delivered.
    pub inbox: Option<Arc<Inbox>>,
}

/// `/healthz` and `/readyz`.
pub fn routes(probes: Probes) -> Router {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).with_state(probes)
}

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(probes): State<Probes>) -> Response {
    if let Err(e) = probes.store.ping().await {
        tracing::warn!(error = %e, "readiness check failed");
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "database": "unreachable" })))
            .into_response();
    }
    let deliveries = match probes.store.delivery_stats().await {
        Ok(stats) => json!({ "pending": stats.pending, "dead_letters": stats.dead }),
        Err(e) => {
            tracing::warn!(error = %e, "reading delivery counts failed");
            json!(null)
        }
    };
    let mut body = json!({ "status": "ready", "database": "ok", "deliveries": deliveries });
    if let Some(sidecar) = &probes.sidecar {
        body["sidecar"] = json!(if sidecar.is_ready() { "ready" } else { "waiting" });
    }
    if let Some(inbox) = &probes.inbox {
        let c = &inbox.counts;
        body["received"] = json!({
            "succeeded": c.succeeded.load(Ordering::Relaxed),
            "retried": c.retried.load(Ordering::Relaxed),
            "dropped": c.dropped.load(Ordering::Relaxed),
        });
    }
    if probes.sidecar.as_ref().is_some_and(|s| !s.is_ready()) {
        body["status"] = json!("waiting for the Dapr sidecar");
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    Json(body).into_response()
}
