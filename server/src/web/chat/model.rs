//! The model's side of the chat: one streamed `chat.completions` request to
//! an OpenAI-compatible endpoint, its server-sent events read into text
//! deltas and tool calls (whose names and arguments arrive in pieces). Every
//! way the endpoint can fail (down, slow, an error status, a broken or
//! garbled stream) ends as a `ModelError` whose text a user may read; what
//! the endpoint itself said goes to the log only, since it can echo the key.

use std::time::Duration;

use futures::StreamExt as _;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{json, Value};

use crate::config::ChatSettings;

/// The longest answer taken from the model in one round.
const MAX_ANSWER_CHARS: usize = 64 * 1024;

/// Larger than any chat completion: an endpoint sending more is not one.
const MAX_JSON_ANSWER_BYTES: usize = 1 << 20;

/// What one round of the model produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
}

/// A function call the model asked for; `arguments` is its JSON text as sent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("The model server could not be reached. Try again in a moment.")]
    Unreachable,
    #[error("The model server did not answer in time (within {0} s).")]
    Timeout(u64),
    #[error("The model server refused the API key (HTTP {0}).")]
    Refused(u16),
    #[error("The model server answered with an error (HTTP {0}).")]
    Status(u16),
    #[error("The model server reported an error in the middle of its answer.")]
    Reported,
    #[error("The model server sent something that is not a chat completion.")]
    Garbled,
    #[error("The model server's answer broke off before it was complete.")]
    BrokeOff,
    #[error("The model's answer was too long.")]
    TooLong,
}

/// The HTTP client and the endpoint it talks to.
#[derive(Clone)]
pub struct ModelClient {
    http: reqwest::Client,
    settings: ChatSettings,
}

impl ModelClient {
    pub fn new(settings: ChatSettings) -> Self {
        // No overall timeout: a long answer may stream for minutes. Waits are
        // bounded one at a time (`settings.timeout`), in `complete`.
        let http = reqwest::Client::builder()
            .connect_timeout(settings.timeout)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self { http, settings }
    }

    pub fn model(&self) -> &str {
        &self.settings.model
    }

    /// Asks for one streamed completion of `messages` (already in the
    /// endpoint's shape) with `tools`, calling `on_text` with each piece of
    /// text as it arrives.
    pub async fn complete(
        &self,
        messages: Vec<Value>,
        tools: &[Value],
        mut on_text: impl FnMut(&str),
    ) -> Result<Completion, ModelError> {
        let mut body = json!({ "model": self.settings.model, "stream": true, "messages": messages });
        if !tools.is_empty() {
            body["tools"] = Value::Array(tools.to_vec());
        }
        let mut request = self
            .http
            .post(format!("{}/chat/completions", self.settings.base_url))
            .header(ACCEPT, "text/event-stream")
            .json(&body);
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key.expose());
        }
        let wait = self.settings.timeout;
        let res = match tokio::time::timeout(wait, request.send()).await {
            Err(_) => return Err(ModelError::Timeout(wait.as_secs())),
            Ok(Err(e)) if e.is_timeout() => return Err(ModelError::Timeout(wait.as_secs())),
            Ok(Err(e)) => {
                tracing::warn!(error = %e.without_url(), "the model server could not be reached");
                return Err(ModelError::Unreachable);
            }
            Ok(Ok(res)) => res,
        };
        let status = res.status();
        if !status.is_success() {
            let said = read_some(res, wait).await;
            tracing::warn!(status = status.as_u16(), body = %said, "the model server answered with an error");
            return Err(match status.as_u16() {
                401 | 403 => ModelError::Refused(status.as_u16()),
                other => ModelError::Status(other),
            });
        }
        let json = res
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/json"));
        if json {
            // An endpoint that ignores `stream` answers with the whole completion at once.
            return whole_answer(res, wait, on_text).await;
        }
        let mut stream = res.bytes_stream();
        let mut events = SseLines::default();
        let mut answer = Answer::default();
        loop {
            let next = match tokio::time::timeout(wait, stream.next()).await {
                Err(_) => return Err(ModelError::Timeout(wait.as_secs())),
                Ok(next) => next,
            };
            let Some(bytes) = next else { break };
            let bytes = bytes.map_err(|e| {
                tracing::warn!(error = %e.without_url(), "the model server's stream failed");
                ModelError::BrokeOff
            })?;
            for data in events.push(&bytes) {
                if answer.take(&data, &mut on_text)? {
                    return Ok(answer.finish());
                }
            }
        }
        for data in events.end() {
            if answer.take(&data, &mut on_text)? {
                return Ok(answer.finish());
            }
        }
        // Some servers close the stream without `[DONE]` once the answer is finished.
        if answer.finished {
            Ok(answer.finish())
        } else {
            Err(ModelError::BrokeOff)
        }
    }
}

/// The start of an error answer's body, for the log.
async fn read_some(res: reqwest::Response, wait: Duration) -> String {
    match tokio::time::timeout(wait, res.bytes()).await {
        Ok(Ok(bytes)) => String::from_utf8_lossy(&bytes[..bytes.len().min(500)]).into_owned(),
        _ => String::new(),
    }
}

/// A completion sent as one JSON document (`choices[0].message`).
async fn whole_answer(
    res: reqwest::Response,
    wait: Duration,
    mut on_text: impl FnMut(&str),
) -> Result<Completion, ModelError> {
    let bytes = match tokio::time::timeout(wait, res.bytes()).await {
        Err(_) => return Err(ModelError::Timeout(wait.as_secs())),
        Ok(Err(_)) => return Err(ModelError::BrokeOff),
        Ok(Ok(bytes)) => bytes,
    };
    if bytes.len() > MAX_JSON_ANSWER_BYTES {
        return Err(ModelError::TooLong);
    }
    let doc: Value = serde_json::from_slice(&bytes).map_err(|_| ModelError::Garbled)?;
    let message = doc.pointer("/choices/0/message").filter(|m| m.is_object()).ok_or(ModelError::Garbled)?;
    let text = message.get("content").and_then(Value::as_str).unwrap_or_default().to_owned();
    if text.chars().count() > MAX_ANSWER_CHARS {
        return Err(ModelError::TooLong);
    }
    let mut tool_calls = Vec::new();
    for (n, call) in message.get("tool_calls").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let name = call.pointer("/function/name").and_then(Value::as_str).ok_or(ModelError::Garbled)?;
        let arguments = call.pointer("/function/arguments").and_then(Value::as_str).unwrap_or("{}");
        let id = call.get("id").and_then(Value::as_str).map_or_else(|| format!("call_{n}"), str::to_owned);
        tool_calls.push(ToolCall { id, name: name.to_owned(), arguments: arguments.to_owned() });
    }
    if !text.is_empty() {
        on_text(&text);
    }
    Ok(Completion { text, tool_calls })
}

/// Server-sent events cut from a byte stream: the `data` of each event, as
/// the spec joins its lines, whatever the chunks' boundaries.
#[derive(Default)]
struct SseLines {
    pending: Vec<u8>,
    data: Option<String>,
}

impl SseLines {
    fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(bytes);
        let mut done = Vec::new();
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            self.line(line.trim_end_matches(['\n', '\r']), &mut done);
        }
        done
    }

    fn end(&mut self) -> Vec<String> {
        let mut done = Vec::new();
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            let line = String::from_utf8_lossy(&rest).into_owned();
            self.line(line.trim_end_matches('\r'), &mut done);
        }
        done.extend(self.data.take());
        done
    }

    fn line(&mut self, line: &str, done: &mut Vec<String>) {
        if line.is_empty() {
            done.extend(self.data.take());
        } else if let Some(value) = line.strip_prefix("data:") {
            let value = value.strip_prefix(' ').unwrap_or(value);
            match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            }
        }
        // Comments (`:`), `event:`, `id:` and `retry:` lines carry nothing a completion needs.
    }
}

/// A streamed answer as it builds up: the text so far and each tool call,
/// by the index the stream gives it.
#[derive(Default)]
struct Answer {
    text: String,
    chars: usize,
    calls: Vec<(u64, ToolCall)>,
    finished: bool,
}

impl Answer {
    /// Takes one event's data; true when the stream says it is over.
    fn take(&mut self, data: &str, on_text: &mut impl FnMut(&str)) -> Result<bool, ModelError> {
        if data.trim() == "[DONE]" {
            return Ok(true);
        }
        let chunk: Value = serde_json::from_str(data).map_err(|_| ModelError::Garbled)?;
        if let Some(error) = chunk.get("error") {
            tracing::warn!(error = %error, "the model server reported an error in its stream");
            return Err(ModelError::Reported);
        }
        let choices = chunk.get("choices").and_then(Value::as_array).ok_or(ModelError::Garbled)?;
        // A chunk without choices (usage, say) is allowed; only the first choice is asked for.
        let Some(choice) = choices.first() else { return Ok(false) };
        if choice.get("finish_reason").is_some_and(|r| !r.is_null()) {
            self.finished = true;
        }
        let Some(delta) = choice.get("delta").filter(|d| !d.is_null()) else { return Ok(false) };
        if let Some(text) = delta.get("content").and_then(Value::as_str).filter(|t| !t.is_empty()) {
            self.chars += text.chars().count();
            if self.chars > MAX_ANSWER_CHARS {
                return Err(ModelError::TooLong);
            }
            self.text.push_str(text);
            on_text(text);
        }
        let calls = match delta.get("tool_calls") {
            None | Some(Value::Null) => return Ok(false),
            Some(Value::Array(calls)) => calls,
            Some(_) => return Err(ModelError::Garbled),
        };
        for piece in calls {
            let index = piece.get("index").and_then(Value::as_u64).unwrap_or(self.calls.len() as u64);
            let at = match self.calls.iter().position(|(i, _)| *i == index) {
                Some(at) => at,
                None => {
                    let blank = ToolCall { id: String::new(), name: String::new(), arguments: String::new() };
                    self.calls.push((index, blank));
                    self.calls.len() - 1
                }
            };
            let call = &mut self.calls[at].1;
            if let Some(id) = piece.get("id").and_then(Value::as_str) {
                call.id = id.to_owned();
            }
            let function = piece.get("function");
            if let Some(name) = function.and_then(|f| f.get("name")).and_then(Value::as_str) {
                call.name.push_str(name);
            }
            if let Some(arguments) = function.and_then(|f| f.get("arguments")).and_then(Value::as_str) {
                self.chars += arguments.len();
                if self.chars > MAX_ANSWER_CHARS {
                    return Err(ModelError::TooLong);
                }
                call.arguments.push_str(arguments);
            }
        }
        Ok(false)
    }

    fn finish(self) -> Completion {
        let mut calls = self.calls;
        calls.sort_by_key(|(index, _)| *index);
        let tool_calls = calls
            .into_iter()
            .enumerate()
            .filter(|(_, (_, call))| !call.name.is_empty())
            .map(|(n, (_, mut call))| {
                // Some local servers send no ids; the conversation needs one to pair each result.
                if call.id.is_empty() {
                    call.id = format!("call_{n}");
                }
                if call.arguments.trim().is_empty() {
                    call.arguments = "{}".to_owned();
                }
                call
            })
            .collect();
        Completion { text: self.text, tool_calls }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(chunks: &[&str]) -> (Result<Completion, ModelError>, Vec<String>) {
        let mut lines = SseLines::default();
        let mut answer = Answer::default();
        let mut seen = Vec::new();
        let mut on_text = |t: &str| seen.push(t.to_owned());
        let mut datas: Vec<String> = chunks.iter().flat_map(|c| lines.push(c.as_bytes())).collect();
        datas.extend(lines.end());
        for data in datas {
            match answer.take(&data, &mut on_text) {
                Ok(true) => return (Ok(answer.finish()), seen),
                Ok(false) => {}
                Err(e) => return (Err(e), seen),
            }
        }
        (if answer.finished { Ok(answer.finish()) } else { Err(ModelError::BrokeOff) }, seen)
    }

    #[test]
    fn text_deltas_arrive_in_order_whatever_the_chunk_boundaries() {
        let stream = "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n\
                      data: {\"choices\":[{\"delta\":{\"content\":\"lo \u{1f44b}\"}}]}\r\n\r\n\
                      : keep-alive\n\n\
                      data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
        let bytes = stream.as_bytes();
        for cut in [1, 7, 40, 61, bytes.len() - 3] {
            let (a, b) = bytes.split_at(cut);
            let mut lines = SseLines::default();
            let mut datas = lines.push(a);
            datas.extend(lines.push(b));
            datas.extend(lines.end());
            let mut answer = Answer::default();
            let mut seen = String::new();
            let over = datas.iter().any(|d| answer.take(d, &mut |t: &str| seen.push_str(t)).unwrap());
            assert!(over, "cut at {cut}");
            assert_eq!(seen, "Hello \u{1f44b}");
        }
    }

    #[test]
    fn a_tool_call_split_over_several_deltas_is_put_back_together() {
        let (done, seen) = read(&[
            r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"add_","arguments":""}}]}}]}"#,
            "\n\n",
            r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"task","arguments":"{\"title\":"}}]}}]}"#,
            "\n\n",
            r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":" \"Buy milk\"}"}}]}}]}"#,
            "\n\n",
            r#"data: {"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"name":"list_tasks"}}]}}]}"#,
            "\n\n",
            "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n",
        ]);
        let done = done.unwrap();
        assert!(seen.is_empty());
        assert_eq!(
            done.tool_calls,
            [
                ToolCall { id: "call_a".into(), name: "add_task".into(), arguments: r#"{"title": "Buy milk"}"#.into() },
                ToolCall { id: "call_1".into(), name: "list_tasks".into(), arguments: "{}".into() },
            ]
        );
    }

    #[test]
    fn a_stream_that_is_garbled_reports_an_error_or_stops_short_is_an_error() {
        assert_eq!(read(&["data: {\"choices\": [{\"delta\": \n\n"]).0, Err(ModelError::Garbled));
        assert_eq!(read(&["data: {\"object\":\"chat.completion.chunk\"}\n\n"]).0, Err(ModelError::Garbled));
        assert_eq!(read(&["data: {\"error\":{\"message\":\"overloaded\"}}\n\n"]).0, Err(ModelError::Reported));
        let (short, seen) = read(&["data: {\"choices\":[{\"delta\":{\"content\":\"Hal\"}}]}\n\n"]);
        assert_eq!((short, seen), (Err(ModelError::BrokeOff), vec!["Hal".to_owned()]));
        let finished = read(&["data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n"]);
        assert_eq!(finished.0.unwrap().text, "Hi", "a finished answer needs no [DONE]");
    }

    #[test]
    fn an_answer_longer_than_the_limit_is_refused() {
        let piece = "x".repeat(1000);
        let chunk = format!("data: {{\"choices\":[{{\"delta\":{{\"content\":\"{piece}\"}}}}]}}\n\n");
        let chunks: Vec<&str> = std::iter::repeat_n(chunk.as_str(), MAX_ANSWER_CHARS / 1000 + 1).collect();
        assert_eq!(read(&chunks).0, Err(ModelError::TooLong));
    }
}
