//! The AI chat's door. `POST /chat/turn` takes the conversation the browser
//! keeps (so any replica can answer it) with the user's new message, or
//! their approval or refusal of the call waiting for it, and streams the
//! turn back as server-sent events (one JSON object each): the answer's
//! text as it comes, each tool call as it starts and ends, a `confirm`
//! before anything destructive, and a last `done` or `error`. The model is
//! any OpenAI-compatible endpoint (`CADENCE_AI_*`); the tools are the
//! user's MCP tools, served in-process. The same turn answers the chat
//! page's plain form, for browsers without JavaScript, rendered whole once
//! it is over.

mod agent;
mod conversation;
mod model;
mod summary;
mod tools;

use std::convert::Infallible;

use app::auth::{AppState, CurrentSession, MaybeAuthUser};
use app::error::AppError;
use app::pages::chat::{ChatItem, ChatSetup, CHAT_PAGE};
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use domain::tokens::TokenScopes;
use domain::User;
use futures::StreamExt as _;
use http::{header, HeaderValue, Method, StatusCode};
use serde_json::{Map, Value};

pub use agent::{ChatEvent, Emit, Turn, MAX_ROUNDS};
pub use conversation::{Message, Start, TurnRequest};
pub use model::{ModelClient, ModelError, ToolCall};
pub use tools::{McpTools, ToolOutcome, ToolSpec, Tools, ToolsUnavailable};

use crate::config::ChatSettings;
use crate::web::api::ApiUser;

/// Where a turn is posted.
pub const TURN_PATH: &str = "/chat/turn";

/// What the page and a turn say while the operator has not configured chat.
pub const OFF: &str = "Chat is off on this server. Its operator turns it on by setting CADENCE_AI_BASE_URL \
                       and CADENCE_AI_MODEL (and CADENCE_AI_API_KEY when the model server needs a key).";

/// The chat as configured: off, or the model it asks.
#[derive(Clone)]
pub struct Chat {
    model: Option<ModelClient>,
}

impl Chat {
    pub fn new(settings: Option<ChatSettings>) -> Self {
        Self { model: settings.map(ModelClient::new) }
    }

    pub fn is_on(&self) -> bool {
        self.model.is_some()
    }
}

pub fn routes(chat: Chat) -> Router {
    Router::new().route(TURN_PATH, post(turn)).with_state(chat)
}

/// A refusal before any turn starts, in the app's error shape, naming the field.
fn refuse(status: StatusCode, field: &str, message: impl Into<String>) -> Response {
    let error = AppError::Invalid { field: field.to_owned(), message: message.into() };
    (status, Json(error)).into_response()
}

async fn turn(State(chat): State<Chat>, MaybeAuthUser(session): MaybeAuthUser, req: Request) -> Response {
    let Some(session) = session else { return AppError::Unauthenticated.into_response() };
    let Some(state) = req.extensions().get::<AppState>().cloned() else {
        tracing::error!("AppState missing from the request");
        return AppError::Internal.into_response();
    };
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if !json {
        return refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, "body", "Send the turn as application/json.");
    }
    let Ok(bytes) = to_bytes(req.into_body(), conversation::MAX_BODY_BYTES).await else {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "messages", "The conversation is too long: start a new one.");
    };
    let Ok(body) = serde_json::from_slice::<Value>(&bytes) else {
        return refuse(StatusCode::BAD_REQUEST, "body", "The turn is not valid JSON.");
    };
    let request = match TurnRequest::parse(&body) {
        Ok(request) => request,
        Err(e) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, &e.field, e.message),
    };
    let Some(model) = chat.model else { return refuse(StatusCode::SERVICE_UNAVAILABLE, "chat", OFF) };
    let user = session.user.clone();
    let (events, heard) = futures::channel::mpsc::unbounded::<ChatEvent>();
    // The turn runs on its own task: tool calls it has begun finish even if
    // the browser goes away; it stops at its next event once nobody listens.
    tokio::spawn(async move {
        run(&model, state, user, request, &mut |event| events.unbounded_send(event).is_ok()).await;
    });
    let stream = heard.map(|event| {
        let data = serde_json::to_string(&event).unwrap_or_default();
        Ok::<_, Infallible>(Event::default().data(data))
    });
    let mut res = Sse::new(stream).keep_alive(KeepAlive::default()).into_response();
    // Proxies that buffer (nginx) would hold the answer back until the end.
    res.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

/// Runs one turn for `user` with their own MCP tools.
#[tracing::instrument(name = "chat turn", skip_all, fields(user = %user.id.0, model = model.model()))]
async fn run(model: &ModelClient, state: AppState, user: User, request: TurnRequest, emit: &mut Emit<'_>) {
    let now = state.services.clock.now();
    let api = ApiUser { user: user.clone(), scopes: TokenScopes::ReadWrite };
    let tools = match McpTools::connect(state, api).await {
        Ok(tools) => tools,
        Err(e) => {
            tracing::error!(error = %e, "the chat could not open the task tools");
            let message = "Your tasks cannot be reached right now. Try again in a moment.".to_owned();
            emit(ChatEvent::Error { message, messages: request.messages });
            return;
        }
    };
    Turn { model, tools: &tools, user: &user, now }.run(request.messages, request.start, emit).await;
    tools.close().await;
}

/// The page's lines for a conversation: what the user and the assistant
/// wrote, and each tool call's line.
pub fn transcript(messages: &[Message]) -> Vec<ChatItem> {
    messages
        .iter()
        .filter_map(|m| match m {
            Message::User { content } => Some(ChatItem::User(content.clone())),
            Message::Assistant { content, .. } if content.trim().is_empty() => None,
            Message::Assistant { content, .. } => Some(ChatItem::Assistant(content.clone())),
            Message::Tool { summary, ok, .. } => Some(ChatItem::Tool { summary: summary.clone(), ok: *ok }),
        })
        .collect()
}

/// A form no larger than a turn's body, percent-encoded.
const FORM_LIMIT: usize = 3 * conversation::MAX_BODY_BYTES;

/// The chat page, for every request to it: tells the page whether chat is
/// on, and answers the page's plain form (posted without JavaScript) by
/// running the turn to its end and rendering the page with the
/// conversation. Wraps the router inside the session layer and behind the
/// CSRF guard, like the other forms answered by their own page.
pub async fn page(State(chat): State<Chat>, mut req: Request, next: Next) -> Response {
    if req.uri().path() != CHAT_PAGE {
        return next.run(req).await;
    }
    if req.method() != Method::POST {
        req.extensions_mut().insert(ChatSetup { on: chat.is_on(), ..ChatSetup::default() });
        return next.run(req).await;
    }
    let session = req.extensions().get::<CurrentSession>().and_then(|s| s.0.clone());
    let (Some(session), Some(state)) = (session, req.extensions().get::<AppState>().cloned()) else {
        let to = HeaderValue::from_static("/signin?next=%2Fchat");
        return (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response();
    };
    let (mut parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, FORM_LIMIT).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "The conversation is too long: start a new one.").into_response();
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let (page, status) = match form_turn(&fields) {
        Err((kept, message)) => {
            let mut items = transcript(&kept);
            items.push(ChatItem::Error(message));
            let messages = serde_json::to_string(&kept).unwrap_or_default();
            (ChatSetup { on: chat.is_on(), items, messages }, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Ok(request) => match &chat.model {
            None => (ChatSetup::default(), StatusCode::SERVICE_UNAVAILABLE),
            Some(model) => (finish(model, state, session.user.clone(), request).await, StatusCode::OK),
        },
    };
    parts.method = Method::GET;
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.extensions.insert(page);
    let mut res = next.run(Request::from_parts(parts, Body::empty())).await;
    if res.status() == StatusCode::OK {
        *res.status_mut() = status;
    }
    res
}

/// The plain form's fields as a turn: `messages` (the conversation, as JSON
/// in a hidden field) and `message`, `approve` or `decline`. A refusal
/// keeps what could be read of the conversation, to show it again.
fn form_turn(fields: &[(String, String)]) -> Result<TurnRequest, (Vec<Message>, String)> {
    let value = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let mut body = Map::new();
    let messages = match value("messages").map(str::trim).filter(|m| !m.is_empty()) {
        None => Value::Array(Vec::new()),
        Some(raw) => serde_json::from_str(raw).map_err(|_| {
            (Vec::new(), "The conversation could not be read, so it starts afresh. Send your message again.".to_owned())
        })?,
    };
    body.insert("messages".to_owned(), messages);
    for name in ["message", "approve", "decline"] {
        if let Some(v) = value(name) {
            body.insert(name.to_owned(), Value::String(v.to_owned()));
        }
    }
    let body = Value::Object(body);
    TurnRequest::parse(&body).map_err(|e| {
        let alone = serde_json::json!({ "messages": body["messages"], "message": "." });
        (TurnRequest::parse(&alone).map(|r| r.messages).unwrap_or_default(), e.message)
    })
}

/// Runs a turn to its end and makes the page of it.
async fn finish(model: &ModelClient, state: AppState, user: User, request: TurnRequest) -> ChatSetup {
    let mut last = None;
    run(model, state, user, request, &mut |event| {
        if matches!(event, ChatEvent::Done { .. } | ChatEvent::Confirm { .. } | ChatEvent::Error { .. }) {
            last = Some(event);
        }
        true
    })
    .await;
    let (messages, extra) = match last {
        Some(ChatEvent::Confirm { id, summary, messages, .. }) => (messages, Some(ChatItem::Confirm { id, summary })),
        Some(ChatEvent::Error { message, messages }) => (messages, Some(ChatItem::Error(message))),
        Some(ChatEvent::Done { messages }) => (messages, None),
        _ => (Vec::new(), Some(ChatItem::Error("The turn ended without an answer.".to_owned()))),
    };
    let mut items = transcript(&messages);
    items.extend(extra);
    ChatSetup { on: true, items, messages: serde_json::to_string(&messages).unwrap_or_default() }
}
