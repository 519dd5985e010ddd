//! The REST API's activity log, `/api/v1/activity`: every change the user
//! made, newest first, as the activity page lists it, or one task's history
//! as the task page shows it, a page at a time with a cursor.

use app::auth::AppState;
use axum::extract::RawQuery;
use axum::{Extension, Json};
use domain::event::{ActivityCursor, AuditEntry};
use domain::{TaskId, ValidationError};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api::{ApiUser, Problem, PROBLEM_JSON, UNAUTHENTICATED};
use super::api_tasks::{instant, param, query_pairs};
use super::openapi;

/// The tag the activity log is grouped under.
const TAG: &str = "Activity";

/// Entries unless `limit` says otherwise, and the most it may say: what the activity page shows.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

pub fn routes() -> OpenApiRouter {
    let about = "The activity log: what happened to your tasks and your account, newest first.";
    OpenApiRouter::with_openapi(openapi::resource(TAG, about)).routes(routes!(list))
}

/// One entry of the log.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ActivityEntryJson {
    /// The event's id (a UUID).
    id: String,
    /// What happened, by name: `task.created`, `task.updated`, `task.completed`, `task.reopened`,
    /// `task.deleted`, `account.updated`, …
    #[schema(examples("task.completed"))]
    event_type: String,
    /// The task it was about, or null.
    #[schema(required = true)]
    task_id: Option<String>,
    /// The change in a sentence, as the activity page shows it.
    summary: String,
    /// RFC 3339, to the microsecond.
    occurred_at: String,
}

impl From<&AuditEntry> for ActivityEntryJson {
    fn from(entry: &AuditEntry) -> Self {
        Self {
            id: entry.event_id.to_string(),
            event_type: entry.event_type.clone(),
            task_id: entry.task_id.map(|t| t.to_string()),
            summary: entry.summary.clone(),
            occurred_at: instant(entry.occurred_at),
        }
    }
}

/// A page of the log.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ActivityJson {
    /// Newest first.
    items: Vec<ActivityEntryJson>,
    /// Pass it back as `cursor` for the next, older page; null on the last page.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// Read the activity log
///
/// Your activity log, newest first, at most `limit` entries a page (up to
/// 200): pass a page's `next_cursor` back as `cursor` for the older ones; no
/// entry is on two pages. With `task`, only that task's history, as its page
/// shows it; a deleted task's history stays readable.
#[utoipa::path(
    get,
    path = "/api/v1/activity",
    operation_id = "listActivity",
    tag = TAG,
    security(("bearer" = ["read"])),
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "Entries, 1 to 200 (default 50)."),
        ("task" = Option<String>, Query, description = "A task's id: only its history."),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the page before."),
    ),
    responses(
        (status = 200, description = "The newest entries.", body = ActivityJson),
        (status = 400, description = "The query string is not form-encoded.", body = Problem, content_type = PROBLEM_JSON),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "`task` names no task of yours, now or in your log.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "`limit` is not 1 to 200, or `cursor` is not one a page gave.",
            body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn list(
    api: ApiUser,
    Extension(state): Extension<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ActivityJson>, Problem> {
    let pairs = query_pairs(raw)?;
    let mut errors = Vec::new();
    let limit = match param(&pairs, "limit").map(str::trim) {
        None | Some("") => DEFAULT_LIMIT,
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                errors.push(ValidationError::new("limit", format!("Ask for 1 to {MAX_LIMIT} entries.")));
                DEFAULT_LIMIT
            }
        },
    };
    let after = match param(&pairs, "cursor").map(str::trim) {
        None | Some("") => None,
        Some(raw) => ActivityCursor::parse(raw).or_else(|| {
            errors.push(ValidationError::new("cursor", "Pass back a next_cursor a page gave you."));
            None
        }),
    };
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let task = match param(&pairs, "task").map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(TaskId::parse(raw).map_err(|_| Problem::not_found())?),
    };
    let svc = &state.services;
    let (entries, next) = svc.activity_page(&api.user, task, after, limit).await?;
    if let (Some(id), true, None) = (task, entries.is_empty(), after) {
        // The log is the caller's alone, so an empty history is either a
        // task of theirs with none yet or no task of theirs at all.
        svc.task(&api.user, id).await?;
    }
    Ok(Json(ActivityJson {
        items: entries.iter().map(ActivityEntryJson::from).collect(),
        next_cursor: next.map(|c| c.encode()),
    }))
}
