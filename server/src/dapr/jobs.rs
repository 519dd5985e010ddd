//! Reminders on Dapr's Jobs API (`CADENCE_REMINDERS=dapr-jobs`, Dapr ≥ 1.18,
//! where it is stable): every unfired timer is a one-shot job
//! `reminder-<timer id>` due at the timer's time, and Dapr's Scheduler calls
//! `POST /job/reminder-<id>` then, on one of the worker pods.
//!
//! The timers table stays the source of truth. `JobSync`, in the processes
//! that work, keeps the jobs in step with it: a job for every timer without
//! one at its current time (scheduled with overwrite), a delete for every
//! job whose timer fired, was cancelled or moved; and every repair interval
//! it schedules every pending timer's job again, so jobs the Scheduler lost
//! (its data gone, say) come back. The callback re-checks the database and
//! fires through the same lease and transaction as the in-process scheduler,
//! so a timer fires once whatever calls back, and however often.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::SecondsFormat;
use domain::ports::{Clock, Store};
use domain::timer::{fire_one, TimerId};
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::sidecar::{Sidecar, SidecarClient};
use crate::spine::scheduler::Wake;

const PREFIX: &str = "reminder-";
const BATCH: u32 = 200;
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How early a callback may come and still fire its timer: the Scheduler's
/// clock and the database's may differ a little.
const EARLY: chrono::Duration = chrono::Duration::seconds(2);

/// The job of a timer.
pub fn job_name(id: TimerId) -> String {
    format!("{PREFIX}{}", id.0)
}

/// The timer a job is for, if it is one of Cadence's.
pub fn timer_of(name: &str) -> Option<TimerId> {
    name.strip_prefix(PREFIX).and_then(|id| Uuid::parse_str(id).ok()).map(TimerId)
}

/// Whether Dapr said "no such job". (The `dapr` crate keeps the gRPC status
/// private, so its debug form is what tells.)
fn not_found(e: &dapr::error::Error) -> bool {
    matches!(e, dapr::error::Error::GrpcError(_)) && format!("{e:?}").contains("code: NotFound")
}

/// Keeps Dapr's jobs in step with the timers.
pub struct JobSync {
    pub store: Arc<dyn Store>,
    pub sidecar: Arc<Sidecar>,
    pub client: SidecarClient,
    pub wake: Arc<Wake>,
    /// The longest wait between rounds: how soon timers set through another process are seen.
    pub max_sleep: Duration,
    pub repair: Duration,
}

impl JobSync {
    /// Deletes the jobs of timers that are done or gone, schedules jobs for
    /// timers that have none at their time; returns how many it changed.
    pub async fn round(&self) -> Result<usize, String> {
        let mut client = self.client.get().await?;
        let mut changed = 0;
        for id in self.store.stale_jobs(BATCH).await.map_err(|e| e.to_string())? {
            match client.delete_job(&job_name(id)).await {
                Ok(_) => {}
                Err(e) if not_found(&e) => {}
                Err(e) => return Err(format!("deleting job {} failed: {e}", job_name(id))),
            }
            self.store.forget_job(id).await.map_err(|e| e.to_string())?;
            changed += 1;
        }
        for timer in self.store.timers_without_jobs(BATCH).await.map_err(|e| e.to_string())? {
            let job = dapr::client::Job {
                name: job_name(timer.id),
                due_time: Some(timer.fire_at.to_rfc3339_opts(SecondsFormat::Millis, true)),
                ..Default::default()
            };
            // Overwrite: the timer may have had a job at another time.
            client.schedule_job(job, Some(true)).await.map_err(|e| format!("scheduling a job failed: {e}"))?;
            self.store.record_job(timer.id, timer.fire_at).await.map_err(|e| e.to_string())?;
            changed += 1;
        }
        Ok(changed)
    }

    /// Runs until `shutdown` turns true, starting once the sidecar is ready.
    pub fn spawn(self, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            if !self.sidecar.wait_ready(&mut shutdown).await {
                return;
            }
            let mut backoff = Duration::from_millis(100);
            let mut repaired = tokio::time::Instant::now();
            loop {
                let wait = match self.round().await {
                    Ok(changed) => {
                        backoff = Duration::from_millis(100);
                        if changed > 0 {
                            tracing::debug!(changed, "Dapr jobs brought in step with the timers");
                            Duration::ZERO
                        } else {
                            self.max_sleep
                        }
                    }
                    Err(error) => {
                        tracing::warn!(
                            error,
                            retry_in_ms = backoff.as_millis() as u64,
                            "syncing Dapr jobs failed; will retry"
                        );
                        let wait = backoff;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        wait
                    }
                };
                if repaired.elapsed() >= self.repair {
                    repaired = tokio::time::Instant::now();
                    match self.store.forget_pending_jobs().await {
                        Ok(n) => tracing::info!(jobs = n, "scheduling every pending reminder's job again (repair)"),
                        Err(e) => tracing::warn!(error = %e, "the jobs' repair could not start"),
                    }
                    continue;
                }
                if *shutdown.borrow() {
                    break;
                }
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = self.wake.notified() => {}
                    _ = shutdown.changed() => break,
                }
            }
        })
    }
}

/// What the job callback needs.
#[derive(Clone)]
pub struct JobCallbacks {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// `APP_API_TOKEN`, as for the topic routes.
    pub token: Option<String>,
}

/// `POST /job/{name}`.
pub fn routes(callbacks: JobCallbacks) -> Router {
    Router::new().route("/job/{name}", post(fire)).with_state(callbacks)
}

async fn fire(State(callbacks): State<JobCallbacks>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    if !super::subscriber::authorised(callbacks.token.as_deref(), &headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({ "error": "dapr-api-token is missing or wrong" })))
            .into_response();
    }
    let Some(id) = timer_of(&name) else {
        // Not ours, and never will be: acknowledged, so Dapr does not retry it.
        tracing::warn!(job = name, "a job callback for a job Cadence does not know; ignored");
        return Json(json!({ "fired": false })).into_response();
    };
    let owner = format!("job/{}", Uuid::new_v4().simple());
    match fire_one(&*callbacks.store, &*callbacks.clock, &owner, chrono::Duration::seconds(30), id, EARLY).await {
        Ok(lateness) => {
            if let Some(lateness) = lateness {
                crate::telemetry::meters::reminder_fired("dapr-job", lateness);
                tracing::debug!(job = name, late_ms = lateness.num_milliseconds(), "reminder fired by its Dapr job");
            } else {
                tracing::debug!(job = name, "a job callback with nothing to fire (fired, cancelled or moved)");
            }
            Json(json!({ "fired": lateness.is_some() })).into_response()
        }
        Err(e) => {
            // A failure answer makes Dapr apply the job's failure policy (it calls again).
            tracing::warn!(job = name, error = %e, "firing a reminder for its job failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "error": "the reminder could not fire yet" })))
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_carry_their_timer_and_others_are_not_ours() {
        let id = TimerId(Uuid::now_v7());
        assert_eq!(timer_of(&job_name(id)), Some(id));
        assert_eq!(timer_of("reminder-nope"), None);
        assert_eq!(timer_of(&id.0.to_string()), None);
    }
}
