//! The REST API's tasks, `/api/v1/tasks`: list (keyset pages, the list
//! page's `q`), read, create, change (true PATCH) and delete, as thin routes
//! onto the task services. The JSON is read here field by field, so every
//! field that is the wrong shape is named at once; what a field's text means
//! is left to the domain's parsers, the same ones the task form uses.
//! A task carries an `ETag`; a change or delete sent with `If-Match` is
//! compared with it by the service under the task's lock (a 412 if stale).
//! A create sent with an `Idempotency-Key` is made once: a retry with the
//! same key and body gets the first answer again. Each handler's
//! `#[utoipa::path]` is its entry in the OpenAPI document.

use std::sync::Arc;

use app::auth::AppState;
use app::list_cache::Kept;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, RawQuery, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use domain::idempotency::{self, IdempotencyKey, Reservation, StoredResponse};
use domain::query::{QueryError, TaskQuery};
use domain::services::DeleteScope;
use domain::task::{TaskInput, TaskPatch};
use domain::task_list::{Cursor, ListKey, PageRequest, TaskPage, TaskSummary, COUNT_CAP};
use domain::{Due, Task, TaskDraft, TaskId, TaskVersion, User, ValidationError};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use utoipa::openapi::Object;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api::{ApiUser, Problem, PROBLEM_JSON, READ_ONLY, UNAUTHENTICATED};
use super::etag::{self, Expect};
use super::openapi;

/// The largest JSON body a task route reads: a description's 10,000
/// characters, four bytes each at worst, and room for the rest.
pub const MAX_BODY: usize = 64 * 1024;

/// Rows per page unless `limit` says otherwise, and the most it may say.
const DEFAULT_LIMIT: u32 = PageRequest::DEFAULT_SIZE;
const MAX_LIMIT: u32 = 1000;

/// The tag the tasks' operations are grouped under.
pub(crate) const TAG: &str = "Tasks";

/// The `If-Match` header's description, where a change takes one.
pub(crate) const IF_MATCH: &str =
    "The task's `ETag` as you read it, or `*` for any version: a 412 if it has changed since.";

/// A 412's description: what `If-Match` guards.
pub(crate) const STALE: &str =
    "`If-Match` named a version the task no longer has (`precondition_failed`); nothing was written.";

pub fn routes() -> OpenApiRouter {
    let about = "Your tasks: list and search them, read one, create, change, complete and delete.";
    OpenApiRouter::with_openapi(openapi::resource(TAG, about))
        .routes(routes!(list, create))
        .routes(routes!(one, patch, delete))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// A task as the API shows it, every field.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TaskJson {
    /// The task's id (a UUID).
    id: String,
    /// 1 to 200 characters.
    title: String,
    /// Markdown, up to 10,000 characters.
    #[schema(required = true)]
    description: Option<String>,
    #[schema(schema_with = priority_schema)]
    priority: &'static str,
    /// Lower-case, at most 20.
    tags: Vec<String>,
    #[schema(required = true)]
    due: Option<DueJson>,
    /// RRULE (and EXDATE) lines, as `repeat` takes them.
    #[schema(required = true, examples("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"))]
    repeat: Option<String>,
    #[schema(schema_with = repeat_from_schema, required = true)]
    repeat_from: Option<&'static str>,
    /// The rule as a sentence: "Every 2 weeks on Monday".
    #[schema(required = true)]
    repeat_description: Option<String>,
    /// Each as `reminders` takes it: `at due`, `15m`, `1d`, `2026-12-24 18:00`.
    reminders: Vec<String>,
    completed: bool,
    /// When it was completed (RFC 3339), or null.
    #[schema(required = true)]
    completed_at: Option<String>,
    /// RFC 3339, to the microsecond.
    created_at: String,
    /// RFC 3339, to the microsecond.
    updated_at: String,
}

/// When a task is due, in the caller's time zone.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DueJson {
    /// `YYYY-MM-DD`.
    date: String,
    /// `HH:MM`, or null for a whole day.
    #[schema(required = true)]
    time: Option<String>,
    /// The IANA zone the date and time are in: the caller's.
    zone: String,
    /// The instant it is due; a date without a time is due at its end.
    at: String,
}

fn priority_schema() -> Object {
    openapi::one_of("How urgent the task is.", &["none", "low", "medium", "high", "urgent"], false)
}

fn repeat_from_schema() -> Object {
    let about = "For a repeating task, where its next instance is counted from: `schedule` or `completion`; \
                 null when it does not repeat.";
    openapi::one_of(about, &["schedule", "completion"], true)
}

/// The body `POST /api/v1/tasks` takes. It only describes it: the body is
/// read by hand (`TaskFields::read`), so that every bad field is named at
/// once, and an unknown field is an error.
#[derive(ToSchema)]
#[schema(examples(json!({
    "title": "Pay rent",
    "due": { "date": "2026-12-01", "time": "09:00" },
    "repeat": "FREQ=MONTHLY;BYMONTHDAY=1",
    "reminders": ["1d"]
})))]
pub struct NewTask {
    /// 1 to 200 characters, trimmed.
    pub title: String,
    /// Markdown, up to 10,000 characters; null or "" for none.
    pub description: Option<String>,
    /// `none`, `low`, `medium`, `high` or `urgent`; null or "" for none.
    pub priority: Option<String>,
    /// Up to 20; a leading `#` is dropped and each is lower-cased. No item may contain a comma.
    pub tags: Option<Vec<String>>,
    /// Null for none.
    pub due: Option<DueBody>,
    /// An RRULE (RFC 5545), with EXDATE lines if any, e.g. `FREQ=WEEKLY;BYDAY=MO,TH`; needs a due date.
    /// Null or "" for none.
    pub repeat: Option<String>,
    /// `schedule` (the default) or `completion`: where the next instance is counted from.
    pub repeat_from: Option<String>,
    /// Up to 10, each `at due`, a time before the due time (`15m`, `2h`, `1d`, `1w`) or a moment in
    /// your zone (`2026-12-24 18:00`). A task with a due time and no reminders gets your default one.
    pub reminders: Option<Vec<String>>,
}

/// The body `PATCH /api/v1/tasks/{id}` takes: only the fields it names
/// change, and null clears one (all but `title` and `completed` can be
/// cleared). It only describes the body, which is read by hand
/// (`TaskFields::read`) so that every bad field is named at once; an
/// unknown field is an error.
#[derive(ToSchema)]
#[schema(examples(json!({ "priority": "high", "due": null }), json!({ "completed": true })))]
pub struct TaskChanges {
    /// 1 to 200 characters, trimmed; it cannot be cleared.
    #[schema(required = false)]
    pub title: String,
    /// Markdown, up to 10,000 characters; null or "" clears it.
    pub description: Option<String>,
    /// `none`, `low`, `medium`, `high` or `urgent`; null or "" for none.
    pub priority: Option<String>,
    /// The whole list, replacing the old one (up to 20); null or `[]` clears it.
    pub tags: Option<Vec<String>>,
    /// The new due date; null clears it (and a task without one cannot repeat).
    pub due: Option<DueBody>,
    /// An RRULE with EXDATE lines if any, replacing the rule; null or "" stops it repeating.
    pub repeat: Option<String>,
    /// `schedule` or `completion`; null for the default, `schedule`.
    pub repeat_from: Option<String>,
    /// The whole list, replacing the old one (up to 10); null or `[]` clears it.
    pub reminders: Option<Vec<String>>,
    /// PATCH only. true completes the task the way the list does: a repeating task's next
    /// instance follows and its rule stays. false reopens it. Applied after the other fields.
    #[schema(required = false)]
    pub completed: bool,
}

/// A due date to set, read in the caller's own time zone (a zone is never sent).
#[derive(ToSchema)]
pub struct DueBody {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `HH:MM`; left out or null for a whole day.
    pub time: Option<String>,
}

impl From<&Due> for DueJson {
    fn from(due: &Due) -> Self {
        Self {
            date: due.date_input(),
            time: due.time.map(|_| due.time_input()),
            zone: due.zone.name().to_owned(),
            at: instant(due.at),
        }
    }
}

/// An instant in RFC 3339, to the microsecond both databases keep, so a
/// task written and a task read back say the same.
pub(crate) fn instant(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

impl From<&Task> for TaskJson {
    fn from(task: &Task) -> Self {
        Self {
            id: task.id.to_string(),
            title: task.title.as_str().to_owned(),
            description: task.description.as_ref().map(|d| d.as_str().to_owned()),
            priority: task.priority.as_str(),
            tags: task.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            due: task.due.as_ref().map(DueJson::from),
            repeat: task.repeat.as_ref().map(|r| r.lines()),
            repeat_from: task.repeat.as_ref().map(|r| r.anchor.as_str()),
            repeat_description: task.repeat.as_ref().map(|r| r.describe()),
            reminders: task.reminders.iter().map(|r| domain::reminder::format_list(std::slice::from_ref(r))).collect(),
            completed: task.is_completed(),
            completed_at: task.completed_at.map(instant),
            created_at: instant(task.created_at),
            updated_at: instant(task.updated_at),
        }
    }
}

/// A list item: what the list reads of a task (the description, repeat
/// rule and reminders are at `/api/v1/tasks/{id}`).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TaskItem {
    /// The task's id (a UUID).
    id: String,
    title: String,
    #[schema(schema_with = priority_schema)]
    priority: &'static str,
    tags: Vec<String>,
    #[schema(required = true)]
    due: Option<DueJson>,
    /// Whether it repeats.
    recurring: bool,
    completed: bool,
    /// When it was completed (RFC 3339), or null.
    #[schema(required = true)]
    completed_at: Option<String>,
    /// RFC 3339, to the microsecond.
    created_at: String,
}

impl From<&TaskSummary> for TaskItem {
    fn from(task: &TaskSummary) -> Self {
        Self {
            id: task.id.to_string(),
            title: task.title.as_str().to_owned(),
            priority: task.priority.as_str(),
            tags: task.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            due: task.due.as_ref().map(DueJson::from),
            recurring: task.recurring,
            completed: task.is_completed(),
            completed_at: task.completed_at.map(instant),
            created_at: instant(task.created_at),
        }
    }
}

/// A page of tasks.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TaskListJson {
    pub(crate) items: Vec<TaskItem>,
    /// Send it back as `cursor` for the next page; null on the last.
    #[schema(required = true)]
    pub(crate) next_cursor: Option<String>,
    /// How many tasks match, counted up to 1,000.
    pub(crate) total: u64,
    /// False when there are more than `total`.
    pub(crate) total_exact: bool,
}

/// The query string's pairs; one that cannot be decoded is a 400.
pub(crate) fn query_pairs(raw: Option<String>) -> Result<Vec<(String, String)>, Problem> {
    serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| Problem::bad_request(StatusCode::BAD_REQUEST, "The query string is not form-encoded."))
}

pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// List your tasks
///
/// Your tasks in the list page's order, filtered as its search box filters
/// them, a page at a time: pass a page's `next_cursor` back as `cursor` for
/// the next one (it is null on the last). Each item is what the list shows
/// of a task; read one for every field.
#[utoipa::path(
    get,
    path = "/api/v1/tasks",
    operation_id = "listTasks",
    tag = TAG,
    security(("bearer" = ["read"])),
    params(
        ("q" = Option<String>, Query, example = "#work !high due:week",
            description = "The search box's query, read strictly: words or \"a phrase\", `is:open|done|all`, \
                `is:overdue`, `!high` (priorities, comma-separated), `#tag`, `-#tag`, `due:today`, `due:week`, \
                `due:<7d`, `due:none`, `due:2026-12-01..2026-12-31`, `is:recurring`, `has:reminder`, \
                `sort:title` or `sort:-updated`. Up to 500 characters; open tasks when it says nothing."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Tasks a page, 1 to 1,000 (default 50)."),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the page before."),
    ),
    responses(
        (status = 200, description = "A page of your tasks.", body = TaskListJson),
        (status = 400, description = "The query string is not form-encoded.", body = Problem, content_type = PROBLEM_JSON),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "`q`, `limit` or `cursor` is not right; `errors` names each.",
            body = Problem, content_type = PROBLEM_JSON),
    )
)]
pub(crate) async fn list(
    api: ApiUser,
    Extension(state): Extension<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let pairs = query_pairs(raw)?;
    let ask = ListAsk::read(param(&pairs, "q"), param(&pairs, "limit"), param(&pairs, "cursor"))?;
    let kept = list_page(&state, &api.user, &ask).await?;
    // Serialised once per page and list version: the rows change only with the version.
    let json = kept.rendered.get_or_init(|| {
        Bytes::from(serde_json::to_vec(&TaskListJson::from(&*kept.page)).expect("a task list serialises"))
    });
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], json.clone()).into_response())
}

/// What a list request asks for, read from its raw values (the REST
/// query string's, or an MCP tool's arguments): every bad one is named.
pub(crate) struct ListAsk {
    pub(crate) query: TaskQuery,
    pub(crate) page: PageRequest,
}

impl ListAsk {
    /// `q` in the list page's query language, read strictly; `limit` 1 to
    /// [`MAX_LIMIT`] rows; `cursor` a `next_cursor` given before.
    pub(crate) fn read(q: Option<&str>, limit: Option<&str>, cursor: Option<&str>) -> Result<Self, Problem> {
        let mut errors = Vec::new();
        let size = match limit.map(str::trim) {
            None | Some("") => DEFAULT_LIMIT,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    errors.push(ValidationError::new("limit", format!("Ask for 1 to {MAX_LIMIT} tasks a page.")));
                    DEFAULT_LIMIT
                }
            },
        };
        let cursor = match cursor.map(str::trim) {
            None | Some("") => Cursor::Start,
            Some(raw) => match ListKey::from_cursor(raw) {
                Some(key) => Cursor::After(key),
                None => {
                    errors.push(ValidationError::new("cursor", "Pass back a next_cursor a list gave you."));
                    Cursor::Start
                }
            },
        };
        let q = q.unwrap_or("");
        let query = if q.chars().count() > app::api::MAX_QUERY {
            let max = app::api::MAX_QUERY;
            errors.push(ValidationError::new(QueryError::FIELD, format!("A search has at most {max} characters.")));
            TaskQuery::default()
        } else {
            TaskQuery::parse(q).unwrap_or_else(|e| {
                errors.push(e.into());
                TaskQuery::default()
            })
        };
        if errors.is_empty() {
            Ok(Self { query, page: PageRequest { cursor, size } })
        } else {
            Err(Problem::invalid(errors))
        }
    }
}

/// The page of the user's tasks `ask` selects: this replica's copy when the
/// user's list version says nothing has changed since it was read (one
/// indexed read instead of the page's), else read and kept.
pub(crate) async fn list_page(state: &AppState, user: &User, ask: &ListAsk) -> Result<Kept, Problem> {
    let svc = &state.services;
    let filter = svc.list_filter(user, &ask.query);
    let version = svc.list_version(user).await?;
    if let Some(kept) = state.list_cache.get(user.id, &filter, &ask.page, version) {
        return Ok(kept);
    }
    let page = Arc::new(svc.tasks(user, &filter, &ask.page).await?);
    Ok(state.list_cache.put(user.id, &filter, &ask.page, version, page))
}

impl From<&TaskPage> for TaskListJson {
    fn from(page: &TaskPage) -> Self {
        Self {
            items: page.tasks.iter().map(TaskItem::from).collect(),
            next_cursor: page.next().map(|k| k.as_str().to_owned()),
            total: page.total.min(COUNT_CAP),
            total_exact: page.total_exact(),
        }
    }
}

/// A malformed id names no task of the caller's: a 404, like an unknown one.
pub(crate) fn task_id(raw: &str) -> Result<TaskId, Problem> {
    TaskId::parse(raw).map_err(|_| Problem::not_found())
}

/// A task's JSON with its `ETag`, as every answer that shows one task sends it.
pub(crate) fn with_etag(status: StatusCode, task: &Task) -> Response {
    (status, [(header::ETAG, etag::of(task))], Json(TaskJson::from(task))).into_response()
}

/// Read a task
///
/// Every field of one of your tasks, with its `ETag`. Send that back as
/// `If-None-Match` to get a 304 while the task is unchanged, or as
/// `If-Match` to change or delete only the version you read.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}",
    operation_id = "getTask",
    tag = TAG,
    security(("bearer" = ["read"])),
    params(
        ("id" = String, Path, description = "The task's id."),
        ("If-None-Match" = Option<String>, Header, description = "An `ETag` of this task: a 304 if it is still the current one."),
    ),
    responses(
        (status = 200, description = "The task.", body = TaskJson, headers(("ETag" = String, description = "The task's version, for `If-Match` and `If-None-Match`."))),
        (status = 304, description = "The task still has the version `If-None-Match` named.",
            headers(("ETag" = String))),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No task of yours has this id.", body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn one(
    api: ApiUser,
    Extension(state): Extension<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let task = state.services.task(&api.user, task_id(&id)?).await?;
    let tag = etag::of(&task);
    if etag::none_match(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    Ok(with_etag(StatusCode::OK, &task))
}

/// Create a task
///
/// Makes a task from the fields sent (only `title` is needed) and answers it
/// whole, with its `Location` and `ETag`. Every field that is not right is
/// named at once in a 422, and nothing is made. With an `Idempotency-Key`, a
/// retry with the same key and body gets the first answer again instead of a
/// second task.
#[utoipa::path(
    post,
    path = "/api/v1/tasks",
    operation_id = "createTask",
    tag = TAG,
    security(("bearer" = ["write"])),
    params(
        ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255,
            description = "1 to 255 visible ASCII characters, kept 24 hours per user: a retry with the same key \
                and body is answered as the first was."),
    ),
    request_body(content = NewTask, content_type = "application/json", description = "The new task's fields."),
    responses(
        (status = 201, description = "The task made (or, for a repeated `Idempotency-Key`, the first answer).",
            body = TaskJson, headers(("Location" = String, description = "The task's URL."), ("ETag" = String, description = "The task's version, for `If-Match` and `If-None-Match`."))),
        (status = 400, description = "The body is not JSON.", body = Problem, content_type = PROBLEM_JSON),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
        (status = 403, description = READ_ONLY, body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "A request with this `Idempotency-Key` is still being answered; retry in a moment.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 413, description = "The body is over 64 KiB.", body = Problem, content_type = PROBLEM_JSON),
        (status = 415, description = "The body is not sent as `application/json`.", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "Fields that are not right, each named in `errors` (`title`, `due.date`, `repeat`, \
            …), or an `Idempotency-Key` sent before with another body.", body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn create(
    api: ApiUser,
    Extension(state): Extension<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson,
) -> Result<Response, Problem> {
    api.require_write()?;
    let Some(key) = idempotency_key(&headers)? else {
        return Ok(created(&new_task(&api, &state, body).await?));
    };
    let store = &state.services.store;
    let fingerprint: String = Sha256::digest(body.to_string()).iter().map(|b| format!("{b:02x}")).collect();
    let now = state.services.clock.now();
    let fresh_after = now - chrono::Duration::hours(idempotency::KEEP_HOURS);
    let taken = store.reserve_key(api.user.id, &key, &fingerprint, now, fresh_after).await.map_err(store_problem)?;
    match taken {
        Reservation::Taken { fingerprint: first, .. } if first != fingerprint => {
            Err(Problem::invalid(vec![ValidationError::new(
                IdempotencyKey::FIELD,
                "This key was sent before with another body; use a new key.",
            )]))
        }
        Reservation::Taken { response: Some(first), .. } => Ok(replay(first)),
        Reservation::Taken { response: None, .. } => Err(domain::ServiceError::Conflict {
            field: IdempotencyKey::FIELD.to_owned(),
            message: "A request with this key is still being answered; retry in a moment.".to_owned(),
        }
        .into()),
        Reservation::Reserved => match new_task(&api, &state, body).await {
            Ok(task) => {
                let first = StoredResponse {
                    status: StatusCode::CREATED.as_u16(),
                    location: Some(location(&task)),
                    body: serde_json::to_string(&TaskJson::from(&task)).expect("a task serialises"),
                };
                // The task exists whatever happens to the key: answer it, and
                // let a retry meet a key still in progress rather than a second task.
                if let Err(e) = store.complete_key(api.user.id, &key, &first).await {
                    tracing::error!(error = %e, "keeping an idempotent answer failed");
                }
                Ok(created(&task))
            }
            Err(problem) => {
                // Nothing was created: the key is free for a retry to try again.
                if let Err(e) = store.release_key(api.user.id, &key).await {
                    tracing::error!(error = %e, "releasing an idempotency key failed");
                }
                Err(problem)
            }
        },
    }
}

/// Creates the task a POST's body describes.
async fn new_task(api: &ApiUser, state: &AppState, body: Value) -> Result<Task, Problem> {
    let fields = TaskFields::read(body, false)?;
    let input = fields.patch.apply(TaskInput::default());
    // Parsed once here only to name every bad field at once; the service parses what it writes.
    TaskDraft::parse_each(&input, api.user.time_zone).map_err(|errors| invalid(errors.into_iter()))?;
    state.services.create_task(&api.user, &input).await.map_err(renamed)
}

fn location(task: &Task) -> String {
    format!("/api/v1/tasks/{}", task.id)
}

/// The 201 of a create, with the task's `Location` and `ETag`.
fn created(task: &Task) -> Response {
    let location = HeaderValue::try_from(location(task)).expect("a uuid is a header value");
    let mut res = with_etag(StatusCode::CREATED, task);
    res.headers_mut().insert(header::LOCATION, location);
    res
}

/// The first answer to a key, again. It carries no `ETag`: the task may
/// have changed since, and a GET gives the one it has now.
fn replay(first: StoredResponse) -> Response {
    let status = StatusCode::from_u16(first.status).unwrap_or(StatusCode::CREATED);
    let mut res =
        (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], first.body).into_response();
    if let Some(location) = first.location.and_then(|l| HeaderValue::try_from(l).ok()) {
        res.headers_mut().insert(header::LOCATION, location);
    }
    res
}

/// The `Idempotency-Key` header, if sent; sent wrong (or twice) it is a 422 naming it.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, Problem> {
    let mut values = headers.get_all(IdempotencyKey::FIELD).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let raw = if values.next().is_some() { "" } else { value.to_str().unwrap_or("") };
    IdempotencyKey::parse(raw).map(Some).map_err(|e| Problem::invalid(vec![e]))
}

fn store_problem(e: domain::StoreError) -> Problem {
    domain::ServiceError::from(e).into()
}

/// Change a task
///
/// Changes only the fields the body names, under the task's lock; null
/// clears one. `"completed": true` completes the task as the list does (a
/// repeating task keeps its rule and its next instance follows), `false`
/// reopens it; the fields and the completion are written together, or
/// neither. With `If-Match`, nothing is written unless the task still has
/// that version. Every field that is not right is named at once in a 422, and
/// nothing is written.
#[utoipa::path(
    patch,
    path = "/api/v1/tasks/{id}",
    operation_id = "updateTask",
    tag = TAG,
    security(("bearer" = ["write"])),
    params(
        ("id" = String, Path, description = "The task's id."),
        ("If-Match" = Option<String>, Header,
            description = IF_MATCH),
    ),
    request_body(content = TaskChanges, content_type = "application/json", description = "The fields to change."),
    responses(
        (status = 200, description = "The task as it now is.", body = TaskJson, headers(("ETag" = String, description = "The task's version, for `If-Match` and `If-None-Match`."))),
        (status = 400, description = "The body is not JSON, or `If-Match` is malformed.", body = Problem, content_type = PROBLEM_JSON),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
        (status = 403, description = READ_ONLY, body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No task of yours has this id.", body = Problem, content_type = PROBLEM_JSON),
        (status = 412, description = STALE, body = Problem, content_type = PROBLEM_JSON),
        (status = 413, description = "The body is over 64 KiB.", body = Problem, content_type = PROBLEM_JSON),
        (status = 415, description = "The body is not sent as `application/json`.", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "Fields that are not right, each named in `errors`.", body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn patch(
    api: ApiUser,
    Extension(state): Extension<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson,
) -> Result<Response, Problem> {
    api.require_write()?;
    let id = task_id(&id)?;
    let expect = etag::if_match(&headers)?;
    let fields = TaskFields::read(body, true)?;
    let svc = &state.services;
    let expected = Expect::version(expect);
    if !fields.patch.is_empty() {
        // Checked against the task as it is only to name every bad field at
        // once; the service applies the patch to the task under its lock,
        // and compares the version there too.
        let current = svc.task(&api.user, id).await?;
        stale_now(&current, expected)?;
        TaskDraft::parse_each(&fields.patch.apply(TaskInput::of(&current)), api.user.time_zone)
            .map_err(|errors| invalid(errors.into_iter()))?;
    }
    // The fields and the completion in one unit of work, kept together or
    // not at all; completing as the service does it everywhere, so a
    // repeating task's next instance follows and its rule stays, whatever
    // else was sent. With nothing to write, a stale If-Match is still refused.
    let task =
        svc.patch_and_complete(&api.user, id, &fields.patch, fields.completed, expected).await.map_err(renamed)?;
    Ok(with_etag(StatusCode::OK, &task))
}

/// A 412 before any work when the task read outside the lock has already
/// moved on; the service's check under the lock is the one that counts.
fn stale_now(current: &Task, expected: Option<TaskVersion>) -> Result<(), Problem> {
    match expected {
        Some(v) if v != TaskVersion::of(current) => Err(Problem::precondition_failed()),
        _ => Ok(()),
    }
}

/// Delete a task
///
/// Deletes one of your tasks. For an instance of a repeating series,
/// `scope=following` also ends the series there. With `If-Match`, nothing is
/// deleted unless the task still has that version.
#[utoipa::path(
    delete,
    path = "/api/v1/tasks/{id}",
    operation_id = "deleteTask",
    tag = TAG,
    security(("bearer" = ["write"])),
    params(
        ("id" = String, Path, description = "The task's id."),
        ("scope" = Option<String>, Query, example = "following",
            description = "`this` (the default) deletes this task alone; `following` also ends its series here."),
        ("If-Match" = Option<String>, Header,
            description = IF_MATCH),
    ),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "`If-Match` is malformed, or the query string is not form-encoded.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
        (status = 403, description = READ_ONLY, body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No task of yours has this id.", body = Problem, content_type = PROBLEM_JSON),
        (status = 412, description = STALE, body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "`scope` is neither `this` nor `following`.", body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn delete(
    api: ApiUser,
    Extension(state): Extension<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<StatusCode, Problem> {
    api.require_write()?;
    let id = task_id(&id)?;
    let expected = Expect::version(etag::if_match(&headers)?);
    let pairs = query_pairs(raw)?;
    let scope = DeleteScope::parse(param(&pairs, "scope").unwrap_or("")).map_err(|e| Problem::invalid(vec![e]))?;
    state.services.delete_task(&api.user, id, scope, expected).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The domain's field names as this API spells them.
fn api_field(field: String) -> String {
    match field.as_str() {
        "due_date" => "due.date".to_owned(),
        "due_time" => "due.time".to_owned(),
        "recurrence" => "repeat".to_owned(),
        _ => field,
    }
}

pub(crate) fn invalid(errors: impl Iterator<Item = ValidationError>) -> Problem {
    Problem::invalid(errors.map(|e| ValidationError { field: api_field(e.field), ..e }).collect())
}

/// A service error, its field named as the API names it.
pub(crate) fn renamed(e: domain::ServiceError) -> Problem {
    match e {
        domain::ServiceError::Invalid(v) => invalid(std::iter::once(v)),
        other => other.into(),
    }
}

/// The fields of a task's JSON body, as the task form's raw text.
pub(crate) struct TaskFields {
    pub(crate) patch: TaskPatch,
    pub(crate) completed: Option<bool>,
}

impl TaskFields {
    /// Reads a JSON object: in a PATCH a field left out is left alone and
    /// `null` clears it; a create takes no `completed`. Every field of the
    /// wrong shape, and every unknown one, is named.
    pub(crate) fn read(body: Value, patching: bool) -> Result<Self, Problem> {
        let Value::Object(map) = body else {
            return Err(Problem::invalid(vec![ValidationError::new("body", "Send a JSON object of task fields.")]));
        };
        let mut errors = Vec::new();
        let mut fields = Self { patch: TaskPatch::default(), completed: None };
        for (name, value) in map {
            let patch = &mut fields.patch;
            let read = match name.as_str() {
                "title" => text(&name, value, false).map(|v| patch.title = v),
                "description" => text(&name, value, true).map(|v| patch.description = v),
                "priority" => text(&name, value, true).map(|v| patch.priority = v),
                "repeat" => text(&name, value, true).map(|v| patch.repeat = v),
                "repeat_from" => text(&name, value, true).map(|v| patch.repeat_from = v),
                "tags" => strings(&name, value).map(|v| patch.tags = v),
                "reminders" => strings(&name, value).map(|v| patch.reminders = v),
                "due" => due(value).map(|v| patch.due = v),
                "completed" if patching => match value {
                    Value::Bool(done) => {
                        fields.completed = Some(done);
                        Ok(())
                    }
                    _ => Err(vec![ValidationError::new("completed", "Send true or false.")]),
                },
                _ => Err(vec![ValidationError::new(&name, "This is not a task field.")]),
            };
            if let Err(mut bad) = read {
                errors.append(&mut bad);
            }
        }
        if errors.is_empty() {
            Ok(fields)
        } else {
            // In the order of their names, whatever order the object had.
            errors.sort_by(|a, b| a.field.cmp(&b.field));
            Err(Problem::invalid(errors))
        }
    }
}

type Read<T> = Result<Option<T>, Vec<ValidationError>>;

/// A string field; `null` clears it where it can be cleared.
fn text(name: &str, value: Value, clearable: bool) -> Read<String> {
    match value {
        Value::String(s) => Ok(Some(s)),
        Value::Null if clearable => Ok(Some(String::new())),
        _ => Err(vec![ValidationError::new(name, if clearable { "Send a string or null." } else { "Send a string." })]),
    }
}

/// An array of strings, given to the domain as the form's comma-separated
/// field; `null` clears it.
fn strings(name: &str, value: Value) -> Read<String> {
    let shape = || vec![ValidationError::new(name, "Send an array of strings, or null.")];
    match value {
        Value::Null => Ok(Some(String::new())),
        Value::Array(items) => {
            let items: Option<Vec<String>> =
                items.into_iter().map(|v| if let Value::String(s) = v { Some(s) } else { None }).collect();
            let items = items.ok_or_else(shape)?;
            // A comma inside one item would split it into two: refuse it, as a tag or reminder never has one.
            if items.iter().any(|i| i.contains(',')) {
                return Err(vec![ValidationError::new(name, "An item may not contain a comma.")]);
            }
            Ok(Some(items.join(", ")))
        }
        _ => Err(shape()),
    }
}

/// `due`: `{ "date": "2026-12-01", "time": "09:00" }` (the time may be left
/// out or `null`), or `null` for none.
fn due(value: Value) -> Read<(String, String)> {
    let mut obj: Map<String, Value> = match value {
        Value::Null => return Ok(Some((String::new(), String::new()))),
        Value::Object(obj) => obj,
        _ => {
            return Err(vec![ValidationError::new(
                "due",
                "Send { \"date\": \"YYYY-MM-DD\", \"time\": \"HH:MM\" } or null.",
            )])
        }
    };
    let mut errors = Vec::new();
    let date = match obj.remove("date") {
        Some(Value::String(s)) => s,
        _ => {
            errors.push(ValidationError::new("due.date", "Send the date as \"YYYY-MM-DD\"."));
            String::new()
        }
    };
    let time = match obj.remove("time") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s,
        Some(_) => {
            errors.push(ValidationError::new("due.time", "Send the time as \"HH:MM\", or null."));
            String::new()
        }
    };
    for (name, _) in obj {
        // The zone is the caller's own; a due date's zone is never sent.
        errors.push(ValidationError::new(&format!("due.{name}"), "A due date takes a date and a time."));
    }
    if errors.is_empty() {
        Ok(Some((date, time)))
    } else {
        Err(errors)
    }
}

/// A JSON body: a body over [`MAX_BODY`] is a 413, one that is not
/// `application/json` a 415, and one that is not JSON a 400, each a problem.
pub(crate) struct ApiJson(pub(crate) Value);

impl<S: Send + Sync> FromRequest<S> for ApiJson {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
            let essence = v.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
        });
        if !json {
            return Err(Problem::bad_request(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Send the body as JSON, with `Content-Type: application/json`.",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::bad_request(StatusCode::PAYLOAD_TOO_LARGE, format!("A body has at most {MAX_BODY} bytes."))
            } else {
                Problem::bad_request(StatusCode::BAD_REQUEST, "The body could not be read.")
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(Self)
            .map_err(|e| Problem::bad_request(StatusCode::BAD_REQUEST, format!("The body is not valid JSON: {e}.")))
    }
}
