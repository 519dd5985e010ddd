//! What the chat can do, as the model sees it: the MCP tools of the signed-in
//! user. The agent loop knows them only through `Tools` (list them, call
//! one), so it is tested with tools of its own; `McpTools` is the real one,
//! Cadence's MCP server served in-process over a duplex pipe for one user and
//! talked to by an rmcp client, so the chat goes through the very tools (and
//! checks) that outside MCP clients use.

use app::auth::AppState;
use async_trait::async_trait;
use rmcp::model::CallToolRequestParams;
use rmcp::service::{RoleClient, RunningService, ServiceError};
use rmcp::ServiceExt as _;
use serde_json::{Map, Value};

use crate::web::api::ApiUser;
use crate::web::mcp::CadenceMcp;

/// One tool: what the model is told about it, and whether running it needs
/// the user's approval first.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// The JSON Schema of its arguments (an object schema).
    pub input_schema: Value,
    /// Annotated `destructive_hint: true`: it is run only once the user approves.
    pub destructive: bool,
}

/// What a tool answered. `is_error` is the tool's own refusal (a bad id, a
/// title missing): the model reads it and may try again.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutcome {
    /// The result as the model reads it.
    pub text: String,
    /// The structured result, when the tool gave one (or its text was JSON).
    pub json: Option<Value>,
    pub is_error: bool,
}

impl ToolOutcome {
    /// A refusal the chat itself gives (no such tool, arguments not JSON).
    pub fn refused(text: impl Into<String>) -> Self {
        Self { text: text.into(), json: None, is_error: true }
    }
}

/// The tools could not be reached at all (not a tool's own error).
#[derive(Debug, thiserror::Error)]
#[error("the task tools are unavailable: {0}")]
pub struct ToolsUnavailable(pub String);

#[async_trait]
pub trait Tools: Send + Sync {
    async fn list(&self) -> Result<Vec<ToolSpec>, ToolsUnavailable>;
    async fn call(&self, name: &str, arguments: Map<String, Value>) -> Result<ToolOutcome, ToolsUnavailable>;
}

/// The user's own MCP server, served in-process for one chat turn and
/// talked to over a duplex pipe: no HTTP, no token; the same tools, checks
/// and scopes (read and write: it is the user at their own page).
pub struct McpTools {
    client: RunningService<RoleClient, ()>,
    server: tokio::task::JoinHandle<()>,
}

/// Room for a list of tasks in flight between the client and the server.
const PIPE_BYTES: usize = 256 * 1024;

impl McpTools {
    pub async fn connect(state: AppState, api: ApiUser) -> Result<Self, ToolsUnavailable> {
        let (server_io, client_io) = tokio::io::duplex(PIPE_BYTES);
        // The server waits for the client's `initialize`, so it runs beside it.
        let server = tokio::spawn(async move {
            match CadenceMcp::for_user(state, api).serve(server_io).await {
                Ok(running) => {
                    let _ = running.waiting().await;
                }
                Err(e) => tracing::error!(error = %e, "the chat's MCP server did not start"),
            }
        });
        match ().serve(client_io).await {
            Ok(client) => Ok(Self { client, server }),
            Err(e) => {
                server.abort();
                Err(ToolsUnavailable(e.to_string()))
            }
        }
    }

    /// Ends the session: the client closes the pipe and the server stops with it.
    pub async fn close(self) {
        let _ = self.client.cancel().await;
        let _ = self.server.await;
    }
}

#[async_trait]
impl Tools for McpTools {
    async fn list(&self) -> Result<Vec<ToolSpec>, ToolsUnavailable> {
        let tools = self.client.list_all_tools().await.map_err(|e| ToolsUnavailable(e.to_string()))?;
        Ok(tools
            .into_iter()
            .map(|tool| ToolSpec {
                name: tool.name.to_string(),
                description: tool.description.as_deref().unwrap_or_default().to_owned(),
                input_schema: Value::Object((*tool.input_schema).clone()),
                destructive: tool.annotations.as_ref().and_then(|a| a.destructive_hint) == Some(true),
            })
            .collect())
    }

    async fn call(&self, name: &str, arguments: Map<String, Value>) -> Result<ToolOutcome, ToolsUnavailable> {
        let params = CallToolRequestParams::new(name.to_owned()).with_arguments(arguments);
        let result = match self.client.call_tool(params).await {
            Ok(result) => result,
            // The server refusing the call itself (no such tool) is the model's to read.
            Err(ServiceError::McpError(e)) => return Ok(ToolOutcome::refused(e.message.into_owned())),
            Err(e) => return Err(ToolsUnavailable(e.to_string())),
        };
        let texts: Vec<&str> = result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.as_str()).collect();
        let text = texts.join("\n");
        let json = result
            .structured_content
            .clone()
            .or_else(|| texts.iter().find_map(|t| serde_json::from_str::<Value>(t).ok().filter(Value::is_object)));
        Ok(ToolOutcome { text, json, is_error: result.is_error == Some(true) })
    }
}
