//! The REST API's task actions beside `/api/v1/tasks`: complete and reopen
//! one task (through the same service as the list's checkbox, honouring
//! `If-Match` as PATCH does), a bulk action over many (the list's bulk bar:
//! all or nothing, with an undo id), and undoing one. Also the JSON-body
//! reader the other resources share: a body read into a type, a field of the
//! wrong shape, missing or unknown answered as a 422 naming it.

use app::auth::AppState;
use axum::extract::{DefaultBodyLimit, Path};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use domain::bulk::{BulkAction, UndoId, UNDO_MINUTES};
use domain::{ServiceError, TaskId, ValidationError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::Object;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api::{ApiUser, Problem, PROBLEM_JSON, READ_ONLY, UNAUTHENTICATED};
use super::api_tasks::{task_id, with_etag, ApiJson, TaskJson, IF_MATCH, MAX_BODY, STALE, TAG};
use super::etag::{self, Expect};
use super::openapi;

/// The tag undo is grouped under.
const UNDO_TAG: &str = "Undo";

pub fn routes() -> OpenApiRouter {
    let about_undo = "Taking back a bulk action, once, within 30 minutes of it.";
    // The actions join the tasks' own tag, which their router already declares.
    OpenApiRouter::new()
        .routes(routes!(complete))
        .routes(routes!(reopen))
        .routes(routes!(bulk))
        .merge(OpenApiRouter::with_openapi(openapi::resource(UNDO_TAG, about_undo)).routes(routes!(undo)))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// A JSON body read as `T`, which names its fields as the request does. The
/// first field of the wrong shape, missing or unknown (`ids[2]`,
/// `action.type`) is a 422 naming it.
pub(crate) fn read_body<T: DeserializeOwned>(body: Value) -> Result<T, Problem> {
    if !body.is_object() {
        return Err(Problem::invalid(vec![ValidationError::new("body", "Send a JSON object.")]));
    }
    read_as(body, "body")
}

/// A JSON object read as `T`; the first field of the wrong shape, missing or
/// unknown is a 422 naming it as the object spells it (`ids[2]`,
/// `action.type`), or `whole` when serde names none. MCP's tool arguments
/// are read with it too.
pub(crate) fn read_as<T: DeserializeOwned>(value: Value, whole: &str) -> Result<T, Problem> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let message = e.inner().to_string();
        let path = e.path().to_string();
        // serde names a field missing or unknown in backquotes; the path
        // already ends with an unknown one, and leads to the object that
        // lacks a missing one.
        let named = message
            .split('`')
            .nth(1)
            .filter(|_| message.starts_with("missing field `") || message.starts_with("unknown field `"));
        let field = match (named, path.as_str()) {
            (Some(name), ".") => name.to_owned(),
            (Some(name), at) if at != name && !at.ends_with(&format!(".{name}")) => format!("{at}.{name}"),
            (None, ".") => whole.to_owned(),
            (_, at) => at.to_owned(),
        };
        Problem::invalid(vec![ValidationError::new(&field, sentence(&message))])
    })
}

/// serde's "invalid type: integer `5`, expected a string" as a sentence.
pub(crate) fn sentence(message: &str) -> String {
    let mut out = message.to_owned();
    if let Some(first) = out.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    out.push('.');
    out
}

/// Complete a task
///
/// Marks the task done through the same service as the list's checkbox: a
/// repeating task keeps its rule and its next instance follows. A task done
/// already is answered as it is. With `If-Match`, nothing is written unless
/// the task still has that version.
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/complete",
    operation_id = "completeTask",
    tag = TAG,
    security(("bearer" = ["write"])),
    params(
        ("id" = String, Path, description = "The task's id."),
        ("If-Match" = Option<String>, Header,
            description = IF_MATCH),
    ),
    responses(
        (status = 200, description = "The task, done.", body = TaskJson,
            headers(("ETag" = String, description = "The task's version, for `If-Match` and `If-None-Match`."))),
        (status = 400, description = "`If-Match` is malformed.", body = Problem, content_type = PROBLEM_JSON),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
        (status = 403, description = READ_ONLY, body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No task of yours has this id.", body = Problem, content_type = PROBLEM_JSON),
        (status = 412, description = STALE, body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn complete(
    api: ApiUser,
    Extension(state): Extension<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    set_completed(&api, &state, &id, &headers, true).await
}

/// Reopen a task
///
/// Marks a done task open again; its reminders still ahead are set again.
/// An open task is answered as it is. With `If-Match`, nothing is written
/// unless the task still has that version.
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/reopen",
    operation_id = "reopenTask",
    tag = TAG,
    security(("bearer" = ["write"])),
    params(
        ("id" = String, Path, description = "The task's id."),
        ("If-Match" = Option<String>, Header,
            description = IF_MATCH),
    ),
    responses(
        (status = 200, description = "The task, open.", body = TaskJson,
            headers(("ETag" = String, description = "The task's version, for `If-Match` and `If-None-Match`."))),
        (status = 400, description = "`If-Match` is malformed.", body = Problem, content_type = PROBLEM_JSON),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
        (status = 403, description = READ_ONLY, body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No task of yours has this id.", body = Problem, content_type = PROBLEM_JSON),
        (status = 412, description = STALE, body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn reopen(
    api: ApiUser,
    Extension(state): Extension<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    set_completed(&api, &state, &id, &headers, false).await
}

async fn set_completed(
    api: &ApiUser,
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    completed: bool,
) -> Result<Response, Problem> {
    api.require_write()?;
    let id = task_id(id)?;
    // The service compares the version under the task's lock, even when the
    // task already has the state asked for.
    let expected = Expect::version(etag::if_match(headers)?);
    let task = state.services.set_completed(&api.user, id, completed, expected).await?;
    Ok(with_etag(StatusCode::OK, &task))
}

/// The body of `POST /api/v1/tasks/bulk`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "ids": ["0190f3c2-8b1e-7c4e-9a55-3b0c2f1a9d10", "0190f3c2-8b1e-7c4e-9a55-3b0c2f1a9d11"],
    "action": { "type": "priority", "priority": "high" }
})))]
pub(crate) struct BulkBody {
    /// The tasks' ids, 1 to 1,000 once repeats are dropped.
    ids: Vec<String>,
    action: BulkActionBody,
}

/// What to do with each task.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BulkActionBody {
    #[serde(rename = "type")]
    #[schema(schema_with = action_type_schema)]
    kind: String,
    /// For `priority`: `none`, `low`, `medium`, `high` or `urgent`.
    #[serde(default)]
    priority: Option<String>,
    /// For `tag` and `untag`: the tag, as the task form reads one (`#Work` is `work`).
    #[serde(default)]
    tag: Option<String>,
}

fn action_type_schema() -> Object {
    let about = "`complete`, `reopen`, `delete`, `priority` (with `priority`), `tag` or `untag` (with `tag`).";
    openapi::one_of(about, &["complete", "reopen", "delete", "priority", "tag", "untag"], false)
}

/// What a bulk action did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BulkDone {
    /// How many tasks changed; those the action would not change (a done
    /// task completed again) are left out.
    changed: usize,
    /// "3 tasks completed", as the list's undo notice says it.
    summary: String,
    /// Send it to `POST /api/v1/undo/{id}` within 30 minutes to put every
    /// task back; null when nothing changed.
    #[schema(required = true)]
    undo: Option<String>,
}

/// Change many tasks at once
///
/// Applies one action to each task `ids` names, in one transaction and
/// through the path a single change takes (each task gets its own event):
/// complete, reopen, delete, set a priority, or add or take off a tag. It is
/// all or nothing: an id that is not one of your tasks (unknown, malformed,
/// or another user's) is a 404 and no task changes. Tasks the action would
/// not change are left out. The answer's `undo` id takes the whole action
/// back at `POST /api/v1/undo/{id}`, once, within 30 minutes.
#[utoipa::path(
    post,
    path = "/api/v1/tasks/bulk",
    operation_id = "bulkTasks",
    tag = TAG,
    security(("bearer" = ["write"])),
    request_body(content = BulkBody, content_type = "application/json", description = "The tasks and the action."),
    responses(
        (status = 200, description = "What the action did, and how to undo it.", body = BulkDone),
        (status = 400, description = "The body is not JSON.", body = Problem, content_type = PROBLEM_JSON),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
        (status = 403, description = READ_ONLY, body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "An id is not one of your tasks; nothing was changed.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 413, description = "The body is over 64 KiB.", body = Problem, content_type = PROBLEM_JSON),
        (status = 415, description = "The body is not sent as `application/json`.", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "`ids` is empty or over 1,000, or `action.type`, `action.priority` or \
            `action.tag` is not right; `errors` names it.", body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn bulk(
    api: ApiUser,
    Extension(state): Extension<AppState>,
    ApiJson(body): ApiJson,
) -> Result<Json<BulkDone>, Problem> {
    api.require_write()?;
    let BulkBody { ids, action } = read_body(body)?;
    let action = bulk_action(action)?;
    // A malformed id cannot be a task of the caller's: the whole action
    // fails as it does for another user's.
    let ids: Vec<TaskId> =
        ids.iter().map(|raw| TaskId::parse(raw).map_err(|_| none_of_yours())).collect::<Result<_, _>>()?;
    let done = state.services.bulk(&api.user, &ids, &action).await.map_err(|e| match e {
        ServiceError::NotFound => none_of_yours(),
        other => other.into(),
    })?;
    Ok(Json(BulkDone { changed: done.changed, summary: done.summary, undo: done.undo.map(|u| u.0.to_string()) }))
}

fn none_of_yours() -> Problem {
    Problem {
        detail: "An id in `ids` is not one of your tasks; no task was changed.".to_owned(),
        ..Problem::not_found()
    }
}

/// The action as the bulk bar's parser reads it, each field named as this body names it.
fn bulk_action(body: BulkActionBody) -> Result<BulkAction, Problem> {
    let mut errors = Vec::new();
    if body.priority.is_some() && body.kind != "priority" {
        errors.push(ValidationError::new("action.priority", "Only a `priority` action takes a priority."));
    }
    if body.tag.is_some() && !matches!(body.kind.as_str(), "tag" | "untag") {
        errors.push(ValidationError::new("action.tag", "Only a `tag` or `untag` action takes a tag."));
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let (priority, tag) = (body.priority.unwrap_or_default(), body.tag.unwrap_or_default());
    BulkAction::parse(&body.kind, &priority, &tag).map_err(|e| {
        let field = match e.field.as_str() {
            "priority" => "action.priority",
            "tag" => "action.tag",
            _ => "action.type",
        };
        let message = if field == "action.type" {
            "Choose complete, reopen, delete, priority, tag or untag.".to_owned()
        } else {
            e.message
        };
        Problem::invalid(vec![ValidationError::new(field, message)])
    })
}

/// What an undo took back.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Undone {
    /// The action's summary: "3 tasks completed".
    summary: String,
}

/// Undo a bulk action
///
/// Takes back the bulk action the id names, once, within 30 minutes of it:
/// each task it changed goes back as it was (a task changed again since
/// keeps that change), a deleted one comes back, and a repeating task's next
/// instance that the action made goes.
#[utoipa::path(
    post,
    path = "/api/v1/undo/{id}",
    operation_id = "undoBulk",
    tag = UNDO_TAG,
    security(("bearer" = ["write"])),
    params(("id" = String, Path, description = "The `undo` id a bulk action answered.")),
    responses(
        (status = 200, description = "The action was taken back.", body = Undone),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
        (status = 403, description = READ_ONLY, body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No action of yours with this id can be undone: unknown, undone already, or \
            over 30 minutes old.", body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn undo(
    api: ApiUser,
    Extension(state): Extension<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Undone>, Problem> {
    api.require_write()?;
    let id = UndoId::parse(&id).ok_or_else(Problem::not_found)?;
    let summary = state.services.undo(&api.user, id).await.map_err(|e| match e {
        ServiceError::NotFound => Problem {
            detail: format!(
                "No action of yours with this id can be undone: it is unknown, undone already, or over \
                 {UNDO_MINUTES} minutes old."
            ),
            ..Problem::not_found()
        },
        other => other.into(),
    })?;
    Ok(Json(Undone { summary }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(problem: Problem) -> Vec<String> {
        problem.errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_body_of_the_wrong_shape_is_a_422_naming_the_field_where_the_request_has_it() {
        let bad = |body: Value| fields(read_body::<BulkBody>(body).unwrap_err());
        assert_eq!(bad(json!({ "action": { "type": "complete" } })), ["ids"], "missing");
        assert_eq!(bad(json!({ "ids": ["a", 5], "action": { "type": "complete" } })), ["ids[1]"]);
        assert_eq!(bad(json!({ "ids": [], "action": { "type": "complete", "colour": "red" } })), ["action.colour"]);
        assert_eq!(bad(json!({ "ids": [], "action": {} })), ["action.type"]);
        assert_eq!(bad(json!({ "ids": [], "action": { "type": "complete" }, "all": true })), ["all"]);
        assert_eq!(bad(json!(["not", "an", "object"])), ["body"]);
        let message = read_body::<BulkBody>(json!({ "ids": 5, "action": { "type": "x" } })).unwrap_err().detail;
        assert!(message.starts_with("Invalid type: integer `5`") && message.ends_with('.'), "{message}");
    }

    #[test]
    fn a_bulk_action_names_its_fields_under_action() {
        let action = |body: Value| bulk_action(serde_json::from_value(body).unwrap());
        assert_eq!(action(json!({ "type": "complete" })).unwrap(), BulkAction::Complete);
        let tagged = action(json!({ "type": "tag", "tag": "#Work" })).unwrap();
        assert_eq!(tagged, BulkAction::Tag(domain::task::Tag::parse("work").unwrap()));
        assert_eq!(fields(action(json!({ "type": "explode" })).unwrap_err()), ["action.type"]);
        assert_eq!(fields(action(json!({ "type": "priority", "priority": "loud" })).unwrap_err()), ["action.priority"]);
        assert_eq!(fields(action(json!({ "type": "untag", "tag": "a/b" })).unwrap_err()), ["action.tag"]);
        assert_eq!(
            fields(action(json!({ "type": "complete", "priority": "high", "tag": "x" })).unwrap_err()),
            ["action.priority", "action.tag"],
            "a field the action does not take is named, not ignored"
        );
    }
}
