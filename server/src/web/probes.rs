//! Health probes. `/healthz`: the process answers. `/readyz`: the database
//! answers (migrations ran before the listener opened); its JSON body also
//! counts the deliveries waiting and the dead letters, for operators.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::ports::Store;
use serde_json::json;

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(store): State<Arc<dyn Store>>) -> Response {
    if let Err(e) = store.ping().await {
        tracing::warn!(error = %e, "readiness check failed");
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "database": "unreachable" })))
            .into_response();
    }
    let deliveries = match store.delivery_stats().await {
        Ok(stats) => json!({ "pending": stats.pending, "dead_letters": stats.dead }),
        Err(e) => {
            tracing::warn!(error = %e, "reading delivery counts failed");
            json!(null)
        }
    };
    Json(json!({ "status": "ready", "database": "ok", "deliveries": deliveries })).into_response()
}
