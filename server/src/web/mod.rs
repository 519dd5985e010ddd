//! HTTP middleware and plain routes: the REST API's door (`/api/v1`) and its
//! tasks resource with its ETags, who the client is, CSRF origin checks, the status of
//! server-function errors, security and cache headers with the per-request
//! CSP nonce, and the health probes. Showing a failed form again lives with
//! the forms, in `app::forms`; resolving the session, in `app::auth`.

pub mod api;
pub mod api_tasks;
pub mod client_ip;
pub mod csrf;
pub mod etag;
pub mod headers;
pub mod mcp;
pub mod openapi;
pub mod probes;
pub mod status;
