//! The error types of the core: what parsing, storage and services can fail with.

use serde::{Deserialize, Serialize};

/// Input that failed to parse, naming the field so the UI can show the message beside it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self { field: field.to_owned(), message: message.into() }
    }
}

/// What a store adapter can fail with. Backend causes stay opaque to callers.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("record not found")]
    NotFound,
    #[error("a record with this {field} already exists")]
    Conflict { field: &'static str },
    #[error("storage backend failure")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(e))
    }
}

/// What a service call can fail with. The web layer maps each variant to HTTP once.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("not found")]
    NotFound,
    #[error("{field}: {message}")]
    Conflict { field: String, message: String },
    /// The caller expected another version of the task than the one it has
    /// now (someone changed it since it was read); nothing was written.
    #[error("the task changed since it was read")]
    Stale,
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("sign-in required")]
    Unauthenticated,
    #[error("internal failure")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::NotFound,
            StoreError::Conflict { field } => {
                ServiceError::Conflict { field: field.to_owned(), message: format!("this {field} is already taken") }
            }
            StoreError::Backend(cause) => ServiceError::Internal(cause),
        }
    }
}
