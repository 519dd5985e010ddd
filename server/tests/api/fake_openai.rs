//! A fake OpenAI-compatible model server for the chat's tests: axum on port
//! 0 answering `POST /v1/chat/completions` from a script, one reply per
//! request, streamed as `chat.completion.chunk` server-sent events (each
//! chunk its own write, so the app reads them as they come); or an error
//! status, bytes that are no completion, or silence. It records every
//! request it got (its `Authorization` header and JSON body) for the tests
//! to read.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

/// One scripted answer.
pub enum Reply {
    /// These chunks as `data:` events, then `data: [DONE]`.
    Stream(Vec<Value>),
    /// These chunks, then nothing more for an hour (a server that stalls mid-answer).
    StreamThenStall(Vec<Value>),
    /// A status with a JSON error body, as OpenAI sends one.
    Status(u16),
    /// A 200 event stream whose body is exactly this.
    Raw(&'static str),
    /// No answer at all for an hour.
    Silence,
}

/// What the fake received.
#[derive(Debug, Clone)]
pub struct Received {
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct Script {
    replies: VecDeque<Reply>,
    received: Vec<Received>,
}

pub struct FakeOpenAi {
    /// What `CADENCE_AI_BASE_URL` is set to: `http://127.0.0.1:<port>/v1`.
    pub base_url: String,
    script: Arc<Mutex<Script>>,
}

impl FakeOpenAi {
    pub async fn start(replies: Vec<Reply>) -> Self {
        let script = Arc::new(Mutex::new(Script { replies: replies.into(), received: Vec::new() }));
        let app = Router::new().route("/v1/chat/completions", post(complete)).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base_url, script }
    }

    /// Adds replies to the end of the script (for answers that name what a test made since).
    pub fn then(&self, replies: Vec<Reply>) {
        self.script.lock().unwrap().replies.extend(replies);
    }

    /// Every request so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().received.clone()
    }
}

async fn complete(State(script): State<Arc<Mutex<Script>>>, headers: HeaderMap, body: Bytes) -> Response {
    let reply = {
        let mut script = script.lock().unwrap();
        let authorization = headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap().to_owned());
        let body = serde_json::from_slice(&body).expect("the app sends JSON");
        script.received.push(Received { authorization, body });
        script.replies.pop_front()
    };
    let hour = Duration::from_secs(3600);
    match reply {
        None => panic!("the fake model server got more requests than its script has replies"),
        Some(Reply::Status(code)) => {
            let error =
                json!({ "error": { "message": "The server had an error (key sk-...abcd)", "type": "server_error" } });
            (StatusCode::from_u16(code).unwrap(), axum::Json(error)).into_response()
        }
        Some(Reply::Silence) => {
            tokio::time::sleep(hour).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Some(Reply::Raw(text)) => events(Body::from(text)),
        Some(Reply::Stream(chunks)) => {
            let mut lines: Vec<String> = chunks.iter().map(|c| format!("data: {c}\n\n")).collect();
            lines.push("data: [DONE]\n\n".to_owned());
            events(paced(lines, None))
        }
        Some(Reply::StreamThenStall(chunks)) => {
            events(paced(chunks.iter().map(|c| format!("data: {c}\n\n")).collect(), Some(hour)))
        }
    }
}

fn events(body: Body) -> Response {
    ([(header::CONTENT_TYPE, "text/event-stream")], body).into_response()
}

/// Each line its own write, a moment apart; then, if asked, a long silence
/// before the end.
fn paced(lines: Vec<String>, stall: Option<Duration>) -> Body {
    let stream = futures::stream::unfold((lines.into_iter(), stall), |(mut lines, stall)| async move {
        match lines.next() {
            Some(line) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
                Some((Ok::<_, std::io::Error>(Bytes::from(line)), (lines, stall)))
            }
            None => {
                tokio::time::sleep(stall?).await;
                None
            }
        }
    });
    Body::from_stream(stream)
}

/// A chunk with a piece of the answer's text.
pub fn text(piece: &str) -> Value {
    json!({ "object": "chat.completion.chunk", "choices": [{ "index": 0, "delta": { "content": piece } }] })
}

/// The first piece of a tool call: its id, its name, and the start of its arguments.
pub fn call_starts(index: u32, id: &str, name: &str, arguments: &str) -> Value {
    json!({ "object": "chat.completion.chunk", "choices": [{ "index": 0, "delta": { "tool_calls": [{
        "index": index, "id": id, "type": "function", "function": { "name": name, "arguments": arguments },
    }]}}]})
}

/// A further piece of a tool call's arguments.
pub fn call_continues(index: u32, arguments: &str) -> Value {
    json!({ "object": "chat.completion.chunk", "choices": [{ "index": 0, "delta": { "tool_calls": [{
        "index": index, "function": { "arguments": arguments },
    }]}}]})
}

/// The chunk that ends an answer.
pub fn finish(reason: &str) -> Value {
    json!({ "object": "chat.completion.chunk", "choices": [{ "index": 0, "delta": {}, "finish_reason": reason }] })
}

/// An answer of these pieces of text.
pub fn says(pieces: &[&str]) -> Reply {
    let mut chunks: Vec<Value> = pieces.iter().map(|p| text(p)).collect();
    chunks.push(finish("stop"));
    Reply::Stream(chunks)
}

/// An answer that is one tool call, sent whole in one chunk.
pub fn calls(id: &str, name: &str, arguments: Value) -> Reply {
    Reply::Stream(vec![call_starts(0, id, name, &arguments.to_string()), finish("tool_calls")])
}
