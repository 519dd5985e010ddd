//! The door for AI agents: an MCP server (Model Context Protocol, through
//! the official Rust SDK, `rmcp`) at `/mcp` over streamable HTTP, and the
//! same server in-process for the AI chat ([`CadenceMcp::for_user`]). Its
//! tools and the saved views it lists as resources are thin calls onto the
//! domain services, acting as one user only: the owner of the personal
//! access token the request carries, with that token's scopes.
//!
//! It runs stateless: every request is authenticated and answered on its
//! own, with no session kept in memory, so a client whose requests land on
//! different replicas keeps working.

mod notifications;
mod reply;
mod tasks;
mod tools;

use std::sync::Arc;

use app::auth::{AppState, CurrentSession};
use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use domain::task_list::PageRequest;
use domain::views::{SavedView, ViewId};
use domain::TimeZone;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListResourcesResult, ListToolsResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};

use super::api::{ApiUser, Problem};
use super::api_tasks::{list_page, ListAsk, TaskListJson, MAX_BODY};

/// Where the MCP server listens.
pub const PATH: &str = "/mcp";

/// Where the saved views are, as resources: `cadence://views/{id}`.
const VIEW_URI: &str = "cadence://views/";

pub fn routes() -> Router {
    Router::new().route(PATH, any(serve))
}

/// One HTTP request to `/mcp`: the token is checked before rmcp sees the
/// request, and the server that answers it knows that token's user only.
async fn serve(req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    // A session cookie carries no authority here: a page a signed-in user
    // visits could otherwise make their browser call tools. Without the
    // session, the API's extractor accepts a bearer token alone, and answers
    // anything else with its 401 and `WWW-Authenticate: Bearer`.
    parts.extensions.remove::<CurrentSession>();
    let api = match ApiUser::from_request_parts(&mut parts, &()).await {
        Ok(api) => api,
        Err(problem) => return problem.into_response(),
    };
    let Some(state) = parts.extensions.get::<AppState>().cloned() else {
        // The extractor has just read it; this cannot happen.
        return Problem::from(domain::ServiceError::Internal("AppState missing from the request".into()))
            .into_response();
    };
    let config = http_config(state.public_origin.as_deref());
    let server = CadenceMcp::for_user(state, api);
    // Stateless, so the session manager never makes a session: each request
    // is served by a fresh copy of this user's server and then forgotten.
    let service =
        StreamableHttpService::new(move || Ok(server.clone()), Arc::new(NeverSessionManager::default()), config);
    service.handle(Request::from_parts(parts, body)).await.map(Body::new)
}

/// Stateless JSON answers, the API's body limit, and the `Host` names a
/// request may carry (DNS-rebinding protection): loopback, and the public
/// URL's when one is configured.
fn http_config(public_origin: Option<&str>) -> StreamableHttpServerConfig {
    let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    if let Some((_, authority)) = public_origin.and_then(|o| o.split_once("://")) {
        hosts.push(authority.to_owned());
    }
    StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_allowed_hosts(hosts)
        .with_max_request_body_bytes(MAX_BODY)
}

/// Cadence's MCP server for one user: the tools and resources, with what
/// that user's credentials allow. Serve it over any rmcp transport; over
/// HTTP [`routes`] makes one per request from the request's token.
#[derive(Clone)]
pub struct CadenceMcp {
    state: AppState,
    api: ApiUser,
}

impl CadenceMcp {
    /// The server as `api` (a user and their scopes) may use it, without
    /// HTTP: the AI chat serves it in-process, e.g. over `tokio::io::duplex`.
    pub fn for_user(state: AppState, api: ApiUser) -> Self {
        Self { state, api }
    }

    fn zone(&self) -> TimeZone {
        self.api.user.time_zone
    }

    /// The user's wall-clock time now, as the quick-add box reads a sentence at.
    fn now_local(&self) -> chrono::NaiveDateTime {
        self.state.services.clock.now().with_timezone(&self.zone().0).naive_local()
    }

    async fn view(&self, uri: &str) -> Result<SavedView, ErrorData> {
        let not_found = || ErrorData::resource_not_found(format!("No view of yours is at {uri}."), None);
        let id = uri.strip_prefix(VIEW_URI).and_then(|id| ViewId::parse(id).ok()).ok_or_else(not_found)?;
        let views = self.state.services.saved_views(&self.api.user).await.map_err(internal)?;
        views.into_iter().find(|v| v.id == id).ok_or_else(not_found)
    }
}

/// A failure that is not the caller's: logged once (through the API's one
/// mapping), never shown.
fn internal(e: domain::ServiceError) -> ErrorData {
    failed(Problem::from(e))
}

/// A problem as a protocol error: only its words, already safe to show.
fn failed(problem: Problem) -> ErrorData {
    ErrorData::internal_error(problem.detail, None)
}

fn view_uri(view: &SavedView) -> String {
    format!("{VIEW_URI}{}", view.id.0)
}

impl ServerHandler for CadenceMcp {
    fn get_info(&self) -> ServerConfig {
        let zone = self.api.user.time_zone.name();
        let write = if self.api.scopes.can_write() {
            "This connection may read and change tasks."
        } else {
            "This connection may only read: tools that change something answer with an error."
        };
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_resources().build())
            .with_server_info(Implementation::new("cadence", env!("CARGO_PKG_VERSION")))
            .with_instructions(format!(
                "Cadence is a task manager. Every tool acts on the tasks and notifications of one user, \
                 {name}. Dates and times are wall-clock times in their time zone, {zone}. Task ids are \
                 UUIDs from list_tasks or add_task. Each saved view (a named search) is a resource \
                 whose content is the first page of its tasks. {write}",
                name = self.api.user.display_name.as_str(),
            ))
    }

    async fn list_tools(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools::all().to_vec()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools::all().iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = request.arguments.unwrap_or_default();
        match tools::call(self, &request.name, arguments).await {
            Some(result) => Ok(result.into()),
            None => Err(ErrorData::invalid_params(format!("There is no tool named {}.", request.name), None)),
        }
    }

    async fn list_resources(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let views = self.state.services.saved_views(&self.api.user).await.map_err(internal)?;
        let resources = views
            .iter()
            .map(|view| {
                Resource::new(view_uri(view), view.name.as_str())
                    .with_description(view.query.to_string())
                    .with_mime_type("application/json")
            })
            .collect();
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let view = self.view(&request.uri).await?;
        let first = ListAsk { query: view.query.clone(), page: PageRequest::first() };
        let page = TaskListJson::from(&*list_page(&self.state, &self.api.user, &first).await.map_err(failed)?.page);
        let json = serde_json::to_string(&page).map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let contents = ResourceContents::text(json, view_uri(&view)).with_mime_type("application/json");
        Ok(ReadResourceResult::new(vec![contents]).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_may_name_a_loopback_host_or_the_public_urls_and_no_other() {
        assert_eq!(http_config(None).allowed_hosts, ["localhost", "127.0.0.1", "::1"]);
        let behind_a_port = http_config(Some("https://cadence.example:8443")).allowed_hosts;
        assert_eq!(behind_a_port, ["localhost", "127.0.0.1", "::1", "cadence.example:8443"]);
        assert_eq!(http_config(Some("https://cadence.example")).allowed_hosts[3], "cadence.example");
    }
}
