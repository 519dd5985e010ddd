//! Cadence's core: parsed value types, tasks and their list, accounts,
//! versioned events and the spine that delivers them, the ports that adapters
//! implement and the services that drive them. Nothing in this crate performs
//! I/O, so it also builds for wasm32 and the UI shares it.

pub mod account;
pub mod bulk;
pub mod error;
pub mod event;
pub mod idempotency;
pub mod live;
pub mod markdown;
pub mod notification;
pub mod ports;
pub mod query;
pub mod quick_add;
pub mod recurrence;
pub mod reminder;
pub mod repeat;
#[cfg(feature = "services")]
pub mod services;
pub mod spine;
pub mod tag;
pub mod task;
pub mod task_list;
pub mod timer;
pub mod tokens;
pub mod views;

pub use account::{DisplayName, Email, Password, TimeZone, User, UserId};
pub use error::{ServiceError, StoreError, ValidationError};
pub use event::{DomainEvent, EventEnvelope};
pub use task::{Due, Priority, Tag, Tags, Task, TaskDescription, TaskDraft, TaskId, TaskTitle, TaskVersion};
pub use task_list::{Cursor, ListKey, PageRequest, TaskFilter, TaskPage, TaskSummary};
