//! The REST API's tags, `/api/v1/tags`: each tag with its colour and its
//! open and total task counts as the tags page lists them, renaming (onto a
//! tag you have already: the two merge, as on the page) and recolouring one,
//! and deleting one from every task, as thin routes onto the tag services.

use app::auth::AppState;
use axum::extract::{DefaultBodyLimit, Path};
use axum::{Extension, Json};
use domain::tag::{TagColour, TagCount};
use domain::task::Tag;
use domain::{ServiceError, ValidationError};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::openapi::Object;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api::{ApiUser, Problem, PROBLEM_JSON, READ_ONLY, UNAUTHENTICATED};
use super::api_task_actions::read_body;
use super::api_tasks::{ApiJson, MAX_BODY};
use super::openapi;

/// The tag the tags' operations are grouped under.
const TAG: &str = "Tags";

pub fn routes() -> OpenApiRouter {
    let about = "The tags on your tasks, with their colours and counts: rename, merge, recolour and delete them \
                 across every task at once.";
    OpenApiRouter::with_openapi(openapi::resource(TAG, about))
        .routes(routes!(list))
        .routes(routes!(change, delete))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// A tag as the tags page shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TagJson {
    /// Lower-case letters, digits, `-` and `_`, at most 32.
    name: String,
    #[schema(schema_with = colour_schema, required = true)]
    colour: Option<&'static str>,
    /// Tasks carrying it that are not done.
    open: u64,
    /// Every task carrying it, done ones included.
    total: u64,
}

const COLOURS: [&str; 9] = ["red", "orange", "yellow", "green", "teal", "blue", "purple", "pink", "grey"];

fn colour_schema() -> Object {
    openapi::one_of("The tag's colour from the palette, or null for none.", &COLOURS, true)
}

impl From<&TagCount> for TagJson {
    fn from(tag: &TagCount) -> Self {
        Self {
            name: tag.tag.as_str().to_owned(),
            colour: tag.colour.map(TagColour::as_str),
            open: tag.open,
            total: tag.total,
        }
    }
}

/// Your tags.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TagListJson {
    /// By name.
    items: Vec<TagJson>,
}

/// List your tags
///
/// Every tag on your tasks, by name, each with its colour and how many of
/// your tasks carry it: open ones, and all of them.
#[utoipa::path(
    get,
    path = "/api/v1/tags",
    operation_id = "listTags",
    tag = TAG,
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "Your tags.", body = TagListJson),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn list(api: ApiUser, Extension(state): Extension<AppState>) -> Result<Json<TagListJson>, Problem> {
    let tags = state.services.tag_counts(&api.user).await?;
    Ok(Json(TagListJson { items: tags.iter().map(TagJson::from).collect() }))
}

/// The body `PATCH /api/v1/tags/{name}` takes: a new name, a colour, or both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({ "name": "errands", "colour": "teal" }), json!({ "colour": null })))]
pub(crate) struct TagChanges {
    /// The new name, read as the task form reads a tag (`#Work` is `work`). On every task carrying the tag it
    /// takes its place; where a task has the new name already, the two merge. The colour goes with the name,
    /// unless the new name has one of its own.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false)]
    name: Option<Option<String>>,
    /// `red`, `orange`, `yellow`, `green`, `teal`, `blue`, `purple`, `pink` or `grey`; null or "" takes the
    /// colour away.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, required = false)]
    colour: Option<Option<String>>,
}

/// A field that was sent, `null` or not: left out, it stays `None`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Rename or recolour a tag
///
/// Renames the tag on every task carrying it, gives it a colour, or both
/// (the rename first; the colour then goes to the new name). Renaming onto a
/// tag you have already merges the two, as the tags page does; each task
/// changed gets its own change in the activity log. Both fields are checked
/// before anything is written.
#[utoipa::path(
    patch,
    path = "/api/v1/tags/{name}",
    operation_id = "updateTag",
    tag = TAG,
    security(("bearer" = ["write"])),
    params(("name" = String, Path, example = "work", description = "The tag's name (`Work` reads as `work`).")),
    request_body(content = TagChanges, content_type = "application/json", description = "What to change."),
    responses(
        (status = 200, description = "The tag as it now is, under its new name.", body = TagJson),
        (status = 400, description = "The body is not JSON.", body = Problem, content_type = PROBLEM_JSON),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
        (status = 403, description = READ_ONLY, body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No task of yours carries this tag.", body = Problem, content_type = PROBLEM_JSON),
        (status = 413, description = "The body is over 64 KiB.", body = Problem, content_type = PROBLEM_JSON),
        (status = 415, description = "The body is not sent as `application/json`.", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "`name` is not a tag name (or is null), `colour` is not in the palette, or \
            neither was sent; `errors` names each.", body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn change(
    api: ApiUser,
    Extension(state): Extension<AppState>,
    Path(name): Path<String>,
    ApiJson(body): ApiJson,
) -> Result<Json<TagJson>, Problem> {
    api.require_write()?;
    let changes: TagChanges = read_body(body)?;
    let mut errors = Vec::new();
    let to = match &changes.name {
        None => None,
        Some(None) => {
            errors.push(ValidationError::new("name", "A tag's name cannot be cleared; delete the tag instead."));
            None
        }
        Some(Some(raw)) => Tag::parse(raw).map(Some).unwrap_or_else(|e| {
            errors.push(ValidationError::new("name", e.message));
            None
        }),
    };
    let colour = changes.colour.as_ref().map(|c| c.as_deref().unwrap_or(""));
    if let Some(Err(e)) = colour.map(TagColour::parse) {
        errors.push(e);
    }
    if changes.name.is_none() && changes.colour.is_none() {
        errors.push(ValidationError::new("body", "Send a new name, a colour, or both."));
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    // The path's name as the services read it (`Work` is `work`), so the
    // answer finds the tag it changed; one that cannot be a tag is no tag of the caller's.
    let mut current = Tag::parse(&name).map(|t| t.as_str().to_owned()).map_err(|_| Problem::not_found())?;
    let svc = &state.services;
    if let Some(to) = to {
        let renamed = svc.rename_tag(&api.user, &current, to.as_str()).await.map_err(|e| match e {
            ServiceError::Invalid(v) if v.field == "to" => {
                Problem::invalid(vec![ValidationError { field: "name".into(), ..v }])
            }
            other => other.into(),
        })?;
        current = renamed.as_str().to_owned();
    }
    if let Some(colour) = colour {
        svc.recolour_tag(&api.user, &current, colour).await?;
    }
    let tags = svc.tag_counts(&api.user).await?;
    let tag = tags.iter().find(|t| t.tag.as_str() == current).ok_or_else(Problem::not_found)?;
    Ok(Json(TagJson::from(tag)))
}

/// What deleting a tag did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TagDeleted {
    /// How many tasks the tag was taken off.
    changed: usize,
}

/// Delete a tag
///
/// Takes the tag off every task carrying it (the tasks stay) and forgets its
/// colour. Answers how many tasks changed.
#[utoipa::path(
    delete,
    path = "/api/v1/tags/{name}",
    operation_id = "deleteTag",
    tag = TAG,
    security(("bearer" = ["write"])),
    params(("name" = String, Path, example = "work", description = "The tag's name (`Work` reads as `work`).")),
    responses(
        (status = 200, description = "The tag is gone from every task.", body = TagDeleted),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
        (status = 403, description = READ_ONLY, body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No task of yours carries this tag.", body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn delete(
    api: ApiUser,
    Extension(state): Extension<AppState>,
    Path(name): Path<String>,
) -> Result<Json<TagDeleted>, Problem> {
    api.require_write()?;
    let changed = state.services.delete_tag(&api.user, &name).await?;
    Ok(Json(TagDeleted { changed }))
}
