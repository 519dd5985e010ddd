//! The REST API's door, `/api/v1`: who is calling (a personal access token
//! sent as `Authorization: Bearer cad_…`, or the session cookie of a request
//! from our own pages) and its errors as RFC 9457 problem details, among them
//! a path or a method it does not serve. The resources themselves are thin
//! routes onto the domain services, each one's `#[utoipa::path]` annotations
//! making the OpenAPI document (`super::openapi`).

use app::auth::{AppState, CurrentSession};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use domain::tokens::{TokenScopes, TokenSecret};
use domain::{ServiceError, User, ValidationError};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi;

/// Where the API's routes live.
pub const PREFIX: &str = "/api/v1/";

/// The media type of every problem.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// What a 401 says, on every operation: each needs a token.
pub const UNAUTHENTICATED: &str = "No token, or one that is unknown, revoked or expired. \
     `WWW-Authenticate` names the scheme (`Bearer`).";

/// What a 403 says, on every operation that changes something.
pub const READ_ONLY: &str = "The token may only read (`insufficient_scope`); this needs the write scope.";

/// The tag `GET /api/v1/me` is grouped under.
const ACCOUNT: &str = "Account";

/// The API's operations, and the OpenAPI document their annotations make.
///
/// A resource joins both by being merged here. Its file exposes
/// `pub fn routes() -> OpenApiRouter`, which starts from
/// `OpenApiRouter::with_openapi(openapi::resource(TAG, "what it is"))` and
/// adds its handlers with `.routes(routes!(…))` (handlers of one path in one
/// call). Each handler carries `#[utoipa::path(...)]` with its `tag`,
/// `security(("bearer" = ["read"]))` (or `"write"`), its parameters and every
/// response, problems as `body = Problem, content_type =
/// "application/problem+json"`; its JSON types derive `ToSchema`. Then
/// `/api/v1/openapi.json` and `/api/v1/docs` show it, and
/// `server/tests/api/openapi.rs` sends a request to every documented
/// operation and checks that each has its security and its 401 (add the new
/// routes to its `ROUTED` list, which must all be documented).
pub fn operations() -> OpenApiRouter {
    OpenApiRouter::with_openapi(openapi::document())
        .merge(
            OpenApiRouter::with_openapi(openapi::resource(ACCOUNT, "Who the token belongs to, and what it may do."))
                .routes(routes!(me)),
        )
        .merge(super::api_tasks::routes())
        .merge(super::api_task_actions::routes())
        .merge(super::api_tags::routes())
        .merge(super::api_views::routes())
        .merge(super::api_notifications::routes())
        .merge(super::api_activity::routes())
}

/// The API as the app mounts it: the operations, their document and its
/// page, and a problem for any other path under `/api/v1/` or a method a
/// path does not take (`Allow` lists those it does), rather than the pages'
/// HTML 404 or an empty 405.
pub fn routes() -> Router {
    let (operations, document) = operations().split_for_parts();
    operations
        .merge(openapi::routes(&document))
        .route("/api/v1/{*rest}", any(no_route))
        .method_not_allowed_fallback(wrong_method)
}

async fn no_route(method: Method, uri: Uri) -> Problem {
    Problem::new(
        "no_route",
        "No such route",
        StatusCode::NOT_FOUND,
        format!("Nothing answers {method} {}; the API's routes are listed at /api/v1/docs.", uri.path()),
    )
}

async fn wrong_method(method: Method, uri: Uri) -> Problem {
    Problem::new(
        "method_not_allowed",
        "Method not allowed",
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} does not take {method}; the Allow header lists the methods it does.", uri.path()),
    )
}

/// Who the caller is, and what their credentials allow.
#[derive(Debug, Clone)]
pub struct ApiUser {
    pub user: User,
    /// A token's scopes; a session from our own pages may do everything.
    pub scopes: TokenScopes,
}

impl ApiUser {
    /// For routes that change things: a read-only token gets a 403.
    pub fn require_write(&self) -> Result<(), Problem> {
        if self.scopes.can_write() {
            Ok(())
        } else {
            Err(Problem::insufficient_scope())
        }
    }
}

/// An error, as `application/problem+json` (RFC 9457). `type` names the
/// kind of problem for a program to act on; `detail` says what to do about
/// it, for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(examples(json!({
    "type": "urn:cadence:problem:invalid",
    "title": "Invalid input",
    "status": 422,
    "detail": "These fields are not right: due.date, priority.",
    "errors": [
        { "field": "due.date", "message": "Write the date as YYYY-MM-DD." },
        { "field": "priority", "message": "Choose none, low, medium, high or urgent." }
    ]
})))]
pub struct Problem {
    /// `urn:cadence:problem:` and a slug: `invalid`, `not_found`, `no_route`,
    /// `method_not_allowed`, `conflict`, `precondition_failed`, `bad_request`,
    /// `too_large`, `unsupported_media_type`, `unauthenticated`,
    /// `invalid_token`, `insufficient_scope` or `internal`.
    #[serde(rename = "type")]
    #[schema(examples("urn:cadence:problem:not_found"))]
    pub kind: String,
    /// A short, fixed summary of the kind.
    pub title: &'static str,
    /// The HTTP status, repeated.
    pub status: u16,
    /// What went wrong this time, and what to do about it.
    pub detail: String,
    /// Each field a 422 found wrong, under the name the request gave it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<FieldError>)]
    pub errors: Vec<ValidationError>,
    /// The `WWW-Authenticate` challenge of a 401 or a 403 for scope (RFC 6750).
    #[serde(skip)]
    pub challenge: Option<&'static str>,
}

/// One field a 422 found wrong: the schema of the domain's
/// `ValidationError` as a problem's `errors` carry it (no value of this
/// type is ever made).
#[derive(ToSchema)]
pub struct FieldError {
    /// The field as the request named it: `title`, `due.date`, `limit`,
    /// `Idempotency-Key`, …
    pub field: String,
    /// What is wrong with it, in a sentence a person can act on.
    pub message: String,
}

impl Problem {
    fn new(slug: &str, title: &'static str, status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:cadence:problem:{slug}"),
            title,
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            challenge: None,
        }
    }

    /// A 422 naming each field that was wrong (at least one).
    pub fn invalid(errors: Vec<ValidationError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => one.message.clone(),
            many => {
                let fields: Vec<&str> = many.iter().map(|e| e.field.as_str()).collect();
                format!("These fields are not right: {}.", fields.join(", "))
            }
        };
        Self { errors, ..Self::new("invalid", "Invalid input", StatusCode::UNPROCESSABLE_ENTITY, detail) }
    }

    pub fn not_found() -> Self {
        Self::new("not_found", "Not found", StatusCode::NOT_FOUND, "Nothing of yours has this id.")
    }

    /// A request that cannot be read at all (its status says why: 400, 413 or 415).
    pub fn bad_request(status: StatusCode, detail: impl Into<String>) -> Self {
        let (slug, title) = match status {
            StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "Request body too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "Unsupported media type"),
            _ => ("bad_request", "Bad request"),
        };
        Self::new(slug, title, status, detail)
    }

    fn unauthenticated(detail: &str) -> Self {
        Self {
            challenge: Some(r#"Bearer realm="cadence""#),
            ..Self::new("unauthenticated", "Authentication required", StatusCode::UNAUTHORIZED, detail)
        }
    }

    fn invalid_token() -> Self {
        Self {
            challenge: Some(r#"Bearer realm="cadence", error="invalid_token""#),
            ..Self::new(
                "invalid_token",
                "Invalid token",
                StatusCode::UNAUTHORIZED,
                "The token is unknown, revoked or expired.",
            )
        }
    }

    pub fn insufficient_scope() -> Self {
        Self {
            challenge: Some(r#"Bearer realm="cadence", error="insufficient_scope", scope="write""#),
            ..Self::new(
                "insufficient_scope",
                "Insufficient scope",
                StatusCode::FORBIDDEN,
                "This token may only read; changes need a token with the write scope.",
            )
        }
    }

    /// A 412: the `If-Match` sent is not the task's current `ETag`, so
    /// nothing was written.
    pub fn precondition_failed() -> Self {
        Self::new(
            "precondition_failed",
            "Precondition failed",
            StatusCode::PRECONDITION_FAILED,
            "The task changed since this ETag was read; read it again and retry with its new ETag.",
        )
    }

    fn internal() -> Self {
        Self::new(
            "internal",
            "Internal error",
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on our side. Please try again.",
        )
    }
}

/// The one mapping of the services' errors onto the API, with the statuses
/// the pages give them (`app::error::AppError::status`); an internal cause
/// is logged, never shown.
impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(v) => Self::invalid(vec![v]),
            ServiceError::NotFound => Self::not_found(),
            ServiceError::Conflict { field, message } => Self {
                errors: vec![ValidationError { field, message: message.clone() }],
                ..Self::new("conflict", "Conflict", StatusCode::CONFLICT, message)
            },
            ServiceError::Stale => Self::precondition_failed(),
            ServiceError::InvalidCredentials | ServiceError::Unauthenticated => {
                Self::unauthenticated("Send a personal access token as `Authorization: Bearer cad_…`.")
            }
            ServiceError::Internal(cause) => {
                tracing::error!(error = %cause, source = ?std::error::Error::source(&*cause), "service failure");
                Self::internal()
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, Json(&self)).into_response();
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(challenge) = self.challenge {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        res
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ApiUser {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(state) = parts.extensions.get::<AppState>().cloned() else {
            tracing::error!("AppState missing from the request");
            return Err(Problem::internal());
        };
        if let Some(authorization) = parts.headers.get(header::AUTHORIZATION) {
            // A request that names a token is judged by it alone, never by a cookie beside it.
            return by_token(&state, authorization).await;
        }
        let session = parts.extensions.get::<CurrentSession>().and_then(|s| s.0.clone());
        match session {
            Some(signed_in) if crate::web::csrf::same_origin(&parts.headers, state.public_origin.as_deref()) => {
                Ok(Self { user: signed_in.user.clone(), scopes: TokenScopes::ReadWrite })
            }
            Some(_) => Err(Problem::unauthenticated(
                "A session cookie is accepted only from this site's own pages; send a personal access token.",
            )),
            None => Err(Problem::unauthenticated("Send a personal access token as `Authorization: Bearer cad_…`.")),
        }
    }
}

async fn by_token(state: &AppState, authorization: &HeaderValue) -> Result<ApiUser, Problem> {
    let credentials = authorization.to_str().ok().and_then(|v| v.split_once(' '));
    let Some((_, token)) = credentials.filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer")) else {
        return Err(Problem::unauthenticated("Send a personal access token as `Authorization: Bearer cad_…`."));
    };
    let secret = TokenSecret::parse(token).ok_or_else(Problem::invalid_token)?;
    match state.services.token_user(&secret).await {
        Ok(Some((token, user))) => Ok(ApiUser { user, scopes: token.scopes }),
        Ok(None) => Err(Problem::invalid_token()),
        Err(e) => {
            tracing::error!(error = %e, source = ?std::error::Error::source(&e), "token lookup failed");
            Err(Problem::internal())
        }
    }
}

/// The caller's account and what their credentials allow.
#[derive(Debug, Serialize, ToSchema)]
struct Me {
    /// The user's id (a UUID).
    id: String,
    email: String,
    display_name: String,
    /// The IANA zone due dates and times are read and shown in.
    #[schema(examples("Europe/Berlin"))]
    time_zone: String,
    #[schema(schema_with = scopes_schema)]
    scopes: &'static [&'static str],
}

fn scopes_schema() -> utoipa::openapi::Array {
    let scope = openapi::one_of("A scope: `read`, or `write` to change things.", &["read", "write"], false);
    utoipa::openapi::ArrayBuilder::new()
        .items(scope)
        .description(Some("What the token may do: `[\"read\"]` or `[\"read\", \"write\"]`."))
        .build()
}

/// Who am I?
///
/// The account the token belongs to, and the token's scopes: `["read"]`, or
/// `["read", "write"]` for a token that may change tasks.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    operation_id = "getMe",
    tag = ACCOUNT,
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "The caller's account.", body = Me),
        (status = 401, description = UNAUTHENTICATED, body = Problem, content_type = PROBLEM_JSON),
    )
)]
async fn me(api: ApiUser) -> Json<Me> {
    Json(Me {
        id: api.user.id.to_string(),
        email: api.user.email.as_str().to_owned(),
        display_name: api.user.display_name.as_str().to_owned(),
        time_zone: api.user.time_zone.name().to_owned(),
        scopes: api.scopes.names(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;
    use chrono::Utc;
    use domain::{DisplayName, Email, TimeZone, UserId};

    fn caller(scopes: TokenScopes) -> ApiUser {
        let user = User {
            id: UserId(uuid::Uuid::nil()),
            email: Email::parse("me@example.com").unwrap(),
            display_name: DisplayName::parse("Me").unwrap(),
            time_zone: TimeZone::parse("UTC").unwrap(),
            default_reminder: None,
            created_at: Utc::now(),
        };
        ApiUser { user, scopes }
    }

    #[test]
    fn service_errors_become_problems_with_the_pages_statuses_and_never_show_an_internal_cause() {
        let invalid = Problem::from(ServiceError::Invalid(ValidationError::new("title", "Give the task a title.")));
        assert_eq!((invalid.status, invalid.detail.as_str()), (422, "Give the task a title."));
        assert_eq!(invalid.errors, [ValidationError::new("title", "Give the task a title.")]);
        assert_eq!(Problem::from(ServiceError::NotFound).status, 404);
        let stale = Problem::from(ServiceError::Stale);
        assert_eq!((stale.status, stale.kind.as_str()), (412, "urn:cadence:problem:precondition_failed"));
        let conflict = Problem::from(ServiceError::Conflict { field: "name".into(), message: "Taken.".into() });
        assert_eq!((conflict.status, conflict.errors[0].field.as_str()), (409, "name"));
        let cause = std::io::Error::other("disk I/O error at page 7");
        let internal = Problem::from(ServiceError::Internal(Box::new(cause)));
        assert_eq!(internal.status, 500);
        assert!(!serde_json::to_string(&internal).unwrap().contains("disk"), "the cause stays in the log");
    }

    #[tokio::test]
    async fn a_read_only_token_is_refused_a_change_with_a_403_problem_naming_the_scope() {
        assert_eq!(caller(TokenScopes::ReadWrite).require_write(), Ok(()));
        let res = caller(TokenScopes::Read).require_write().unwrap_err().into_response();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/problem+json");
        assert!(res.headers()[header::WWW_AUTHENTICATE].to_str().unwrap().contains(r#"error="insufficient_scope""#));
        let body: serde_json::Value = serde_json::from_slice(&to_bytes(res.into_body(), 4096).await.unwrap()).unwrap();
        assert_eq!(body["type"], "urn:cadence:problem:insufficient_scope");
        assert_eq!(body["status"], 403);
        assert_eq!(body["title"], "Insufficient scope");
        assert!(body["detail"].as_str().unwrap().contains("write"));
    }
}
