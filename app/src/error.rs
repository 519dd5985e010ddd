//! The one error type of the UI layer: what server functions return, what the
//! browser may see, and the HTTP status each variant maps to.

use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Input that did not parse; `field` is the form field's name.
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("{message}")]
    Conflict { field: String, message: String },
    #[error("This page or task does not exist.")]
    NotFound,
    #[error("The email or password is not right.")]
    InvalidCredentials,
    #[error("Too many attempts. Try again in {retry_after_secs} seconds.")]
    RateLimited { retry_after_secs: u64 },
    #[error("Please sign in first.")]
    Unauthenticated,
    /// The request itself was malformed (a missing or mistyped form field).
    #[error("{0}")]
    BadRequest(String),
    /// Something failed on our side; the cause is in the server log only.
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
}

impl AppError {
    pub fn status(&self) -> u16 {
        match self {
            Self::Invalid { .. } => 422,
            Self::Conflict { .. } => 409,
            Self::NotFound => 404,
            Self::InvalidCredentials | Self::Unauthenticated => 401,
            Self::RateLimited { .. } => 429,
            Self::BadRequest(_) => 400,
            Self::Internal => 500,
        }
    }

    /// The message for one form field, if this error is about it.
    pub fn for_field(&self, name: &str) -> Option<String> {
        match self {
            Self::Invalid { field, message } | Self::Conflict { field, message } if field == name => {
                Some(message.clone())
            }
            _ => None,
        }
    }

    /// Whether the error belongs beside a field rather than above the form.
    pub fn is_field_error(&self) -> bool {
        matches!(self, Self::Invalid { .. } | Self::Conflict { .. })
    }
}

impl From<domain::ValidationError> for AppError {
    fn from(e: domain::ValidationError) -> Self {
        Self::Invalid { field: e.field, message: e.message }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::Deserialization(m) | ServerFnErrorErr::MissingArg(m) => {
                Self::BadRequest(format!("The form was incomplete or malformed: {m}"))
            }
            _ => Self::Internal,
        }
    }
}

#[cfg(feature = "ssr")]
impl From<domain::ServiceError> for AppError {
    fn from(e: domain::ServiceError) -> Self {
        use domain::ServiceError as S;
        match e {
            S::Invalid(v) => v.into(),
            S::NotFound => Self::NotFound,
            S::Conflict { field, message } => Self::Conflict { field, message },
            // The pages never send a version; should one be stale, it is the conflict it is.
            S::Stale => Self::Conflict {
                field: "version".to_owned(),
                message: "This task changed since you opened it. Reload it and try again.".to_owned(),
            },
            S::InvalidCredentials => Self::InvalidCredentials,
            S::Unauthenticated => Self::Unauthenticated,
            S::Internal(cause) => {
                tracing::error!(error = %cause, source = ?std::error::Error::source(&*cause), "service failure");
                Self::Internal
            }
        }
    }
}

/// The one mapping from an error to an HTTP response, for plain routes and
/// for the middleware that fixes the status of server-function errors: the
/// status from [`AppError::status`], a `Retry-After` when the client should
/// wait, and the error as JSON (never an internal cause).
#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let (mut parts, body) = axum::Json(&self).into_response().into_parts();
        self.apply_to(&mut parts.status, &mut parts.headers);
        axum::response::Response::from_parts(parts, body)
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// Gives a response this error's status, and a Retry-After when it asks the client to wait.
    pub fn apply_to(&self, status: &mut http::StatusCode, headers: &mut http::HeaderMap) {
        *status = http::StatusCode::from_u16(self.status()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        if let Self::RateLimited { retry_after_secs } = *self {
            headers.insert(http::header::RETRY_AFTER, http::HeaderValue::from(retry_after_secs));
        }
    }
}
