//! HTTP middleware and plain routes: the REST API's door (`/api/v1`) and its
//! resources (tasks with their ETags and actions, tags, saved views,
//! notifications, the activity log), who the client is, CSRF origin checks, the status of
//! server-function errors, security and cache headers with the per-request
//! CSP nonce, and the health probes. Showing a failed form again lives with
//! the forms, in `app::forms`; resolving the session, in `app::auth`.

pub mod api;
pub mod api_activity;
pub mod api_notifications;
pub mod api_tags;
pub mod api_task_actions;
pub mod api_tasks;
pub mod api_views;
pub mod chat;
pub mod client_ip;
pub mod csrf;
pub mod etag;
pub mod headers;
pub mod mcp;
pub mod openapi;
pub mod probes;
pub mod status;
