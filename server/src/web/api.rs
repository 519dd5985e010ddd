//! The REST API's door, `/api/v1`: who is calling (a personal access token
//! sent as `Authorization: Bearer cad_…`, or the session cookie of a request
//! from our own pages) and its errors as RFC 9457 problem details. The
//! resources themselves are thin routes onto the domain services.

use app::auth::{AppState, CurrentSession};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use domain::tokens::{TokenScopes, TokenSecret};
use domain::{ServiceError, User, ValidationError};
use serde::Serialize;

/// Where the API's routes live.
pub const PREFIX: &str = "/api/v1/";

pub fn routes() -> Router {
    Router::new().route("/api/v1/me", get(me)).merge(super::api_tasks::routes())
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

/// The API's errors, as `application/problem+json` (RFC 9457).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// Each field a 422 found wrong, under the name the request gave it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ValidationError>,
    /// The `WWW-Authenticate` challenge of a 401 or a 403 for scope (RFC 6750).
    #[serde(skip)]
    pub challenge: Option<&'static str>,
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
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
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
#[derive(Debug, Serialize)]
struct Me {
    id: String,
    email: String,
    display_name: String,
    time_zone: String,
    scopes: &'static [&'static str],
}

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
