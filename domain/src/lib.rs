//! Cadence's core: parsed value types, tasks, accounts, versioned events, the
//! ports that adapters implement and the services that drive them. Nothing in
//! this crate performs I/O, so it also builds for wasm32 and the UI shares it.

pub mod account;
pub mod error;
pub mod event;
pub mod markdown;
pub mod ports;
#[cfg(feature = "services")]
pub mod relay;
#[cfg(feature = "services")]
pub mod service;
pub mod task;

pub use account::{DisplayName, Email, Password, TimeZone, User, UserId};
pub use error::{ServiceError, StoreError, ValidationError};
pub use event::{DomainEvent, EventEnvelope};
pub use task::{
    Due, PageRequest, Priority, Tag, Tags, Task, TaskDescription, TaskDraft, TaskFilter, TaskId, TaskPage, TaskTitle,
};
