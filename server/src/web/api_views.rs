//! The REST API's saved views, `/api/v1/views`: the searches a user named
//! and pinned in the sidebar, in its order; saving one (its query read as
//! strictly as the list's `q`), deleting and moving one, and its tasks, a
//! page at a time exactly as `GET /api/v1/tasks` pages them, since they are
//! read by that route's own code.

use app::auth::AppState;
use axum::extract::{DefaultBodyLimit, Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use domain::query::TaskQuery;
use domain::views::{Move, SavedView, ViewId, ViewName};
use domain::ValidationError;
use serde::{Deserialize, Serialize};
use utoipa::openapi::Object;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api::{ApiUser, Problem, PROBLEM_JSON, READ_ONLY, UNAUTHENTICATED};
use super::api_task_actions::read_body;
use super::api_tasks::{self, instant, param, query_pairs, ApiJson, TaskListJson, MAX_BODY};
use super::openapi;

/// The tag the views' operations are grouped under.
const TAG: &str = "Views";

pub fn routes() -> OpenApiRouter {
    let about = "Saved views: searches of your tasks you named and pinned in the sidebar, in your order.";
    OpenApiRouter::with_openapi(openapi::resource(TAG, about))
        .routes(routes!(list, create))
        .routes(routes!(delete))
        .routes(routes!(move_view))
        .routes(routes!(tasks))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// A saved view.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ViewJson {
    /// The view's id (a UUID).
    id: String,
    /// 1 to 60 characters.
    name: String,
    /// Its search in the canonical form of the list's `q`.
    #[schema(examples("#work !high due:week"))]
    query: String,
    /// Its place in the sidebar, smallest first.
    position: i64,
    /// RFC 3339, to the microsecond.
    created_at: String,
}

impl From<&SavedView> for ViewJson {
    fn from(view: &SavedView) -> Self {
        Self {
            id: view.id.0.to_string(),
            name: view.name.as_str().to_owned(),
            query: view.query.to_string(),
            position: view.position,
            created_at: instant(view.created_at),
        }
    }
}

/// Your saved views.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ViewListJson {
    /// In the sidebar's order.
    items: Vec<ViewJson>,
}

fn view_list(views: &[SavedView]) -> Json<ViewListJson> {
    Json(ViewListJson { items: views.iter().map(ViewJson::from).collect() })
}

/// A malformed id names no view of the caller's: a 404, like an unknown one.
fn view_id(raw: &str) -> Result<ViewId, Problem> {
    ViewId::parse(raw).map_err(|_| Problem::not_found())
}

/// List your saved views
///
/// Your saved views in the sidebar's order, each with its query.
#[utoipa::path(
    get,
    path = "/api/v1/views",
    operation_id = "listViews",
    tag = TAG,
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "Your saved views.", body = ViewListJson),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn list(api: ApiUser, Extension(state): Extension<AppState>) -> Result<Json<ViewListJson>, Problem> {
    Ok(view_list(&state.services.saved_views(&api.user).await?))
}

/// The body `POST /api/v1/views` takes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({ "name": "Work this week", "query": "#work due:week sort:due" })))]
pub(crate) struct NewView {
    /// 1 to 60 characters, unique among your views.
    name: String,
    /// A search as the list's `q` takes it, read as strictly (up to 500 characters); "" for your open tasks.
    query: String,
}

/// Save a view
///
/// Names a search (the list's `q`, with its order) and pins it last in the
/// sidebar; you keep up to 50. The query is read as strictly as
/// `GET /api/v1/tasks` reads `q` and kept in its canonical form. Both fields
/// are checked before anything is written.
#[utoipa::path(
    post,
    path = "/api/v1/views",
    operation_id = "createView",
    tag = TAG,
    security(("bearer" = ["write"])),
    request_body(content = NewView, content_type = "application/json", description = "The view's name and query."),
    responses(
        (status = 201, description = "The view saved.", body = ViewJson),
        (status = 400, description = "The body is not JSON.", body = Problem, content_type = PROBLEM_JSON),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
        (status = 403, description = READ_ONLY, body = Problem, content_type = PROBLEM_JSON),
        (status = 413, description = "The body is over 64 KiB.", body = Problem, content_type = PROBLEM_JSON),
        (status = 415, description = "The body is not sent as `application/json`.", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "`name` is empty, too long or one you have already, you have 50 views, or \
            `query` cannot be read; `errors` names each.", body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn create(
    api: ApiUser,
    Extension(state): Extension<AppState>,
    ApiJson(body): ApiJson,
) -> Result<Response, Problem> {
    api.require_write()?;
    let NewView { name, query } = read_body(body)?;
    // Read here only to name both fields at once; the service reads what it saves.
    let mut errors = Vec::new();
    if let Err(e) = ViewName::parse(&name) {
        errors.push(e);
    }
    let max = app::api::MAX_QUERY;
    if query.chars().count() > max {
        errors.push(ValidationError::new("query", format!("A search has at most {max} characters.")));
    } else if let Err(e) = TaskQuery::parse(&query) {
        errors.push(ValidationError::new("query", e.message));
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let view = state.services.save_view(&api.user, &name, &query).await?;
    Ok((StatusCode::CREATED, Json(ViewJson::from(&view))).into_response())
}

/// Delete a view
///
/// Unpins a saved view; the tasks it found are not touched.
#[utoipa::path(
    delete,
    path = "/api/v1/views/{id}",
    operation_id = "deleteView",
    tag = TAG,
    security(("bearer" = ["write"])),
    params(("id" = String, Path, description = "The view's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
        (status = 403, description = READ_ONLY, body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No view of yours has this id.", body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn delete(
    api: ApiUser,
    Extension(state): Extension<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    api.require_write()?;
    state.services.delete_view(&api.user, view_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body `POST /api/v1/views/{id}/move` takes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({ "direction": "up" })))]
pub(crate) struct ViewMove {
    #[schema(schema_with = direction_schema)]
    direction: String,
}

fn direction_schema() -> Object {
    openapi::one_of("One place towards the top of the sidebar (`up`) or the bottom (`down`).", &["up", "down"], false)
}

/// Move a view
///
/// Moves a saved view one place up or down the sidebar (the first one up,
/// or the last one down, stays where it is), and answers every view in the
/// new order.
#[utoipa::path(
    post,
    path = "/api/v1/views/{id}/move",
    operation_id = "moveView",
    tag = TAG,
    security(("bearer" = ["write"])),
    params(("id" = String, Path, description = "The view's id.")),
    request_body(content = ViewMove, content_type = "application/json", description = "Which way."),
    responses(
        (status = 200, description = "Your saved views in their new order.", body = ViewListJson),
        (status = 400, description = "The body is not JSON.", body = Problem, content_type = PROBLEM_JSON),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
        (status = 403, description = READ_ONLY, body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No view of yours has this id.", body = Problem, content_type = PROBLEM_JSON),
        (status = 413, description = "The body is over 64 KiB.", body = Problem, content_type = PROBLEM_JSON),
        (status = 415, description = "The body is not sent as `application/json`.", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "`direction` is neither `up` nor `down`.", body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn move_view(
    api: ApiUser,
    Extension(state): Extension<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson,
) -> Result<Json<ViewListJson>, Problem> {
    api.require_write()?;
    let id = view_id(&id)?;
    let ViewMove { direction } = read_body(body)?;
    let direction = Move::parse(&direction).map_err(|e| Problem::invalid(vec![e]))?;
    let svc = &state.services;
    svc.move_view(&api.user, id, direction).await?;
    Ok(view_list(&svc.saved_views(&api.user).await?))
}

/// List a view's tasks
///
/// The tasks the view's query finds, in its order, a page at a time: the
/// same items, `limit` and `cursor` as `GET /api/v1/tasks` with the view's
/// query as `q`.
#[utoipa::path(
    get,
    path = "/api/v1/views/{id}/tasks",
    operation_id = "listViewTasks",
    tag = TAG,
    security(("bearer" = ["read"])),
    params(
        ("id" = String, Path, description = "The view's id."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Tasks a page, 1 to 1,000 (default 50)."),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the page before."),
    ),
    responses(
        (status = 200, description = "A page of the view's tasks.", body = TaskListJson),
        (status = 400, description = "The query string is not form-encoded.", body = Problem, content_type = PROBLEM_JSON),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No view of yours has this id.", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "`limit` or `cursor` is not right, or a `q` was sent (the view's query is its \
            own); `errors` names each.", body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn tasks(
    api: ApiUser,
    Extension(state): Extension<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let id = view_id(&id)?;
    let pairs = query_pairs(raw)?;
    if param(&pairs, "q").is_some() {
        let message = "A view's tasks are the ones its own query finds; search with GET /api/v1/tasks?q=….";
        return Err(Problem::invalid(vec![ValidationError::new("q", message)]));
    }
    let views = state.services.saved_views(&api.user).await?;
    let view = views.iter().find(|v| v.id == id).ok_or_else(Problem::not_found)?;
    let mut pairs: Vec<(String, String)> = pairs.into_iter().filter(|(k, _)| k == "limit" || k == "cursor").collect();
    pairs.push(("q".to_owned(), view.query.to_string()));
    let raw = serde_urlencoded::to_string(&pairs).expect("pairs of strings encode");
    api_tasks::list(api, Extension(state), RawQuery(Some(raw))).await
}
