//! Receives events from the Dapr sidecar over HTTP (`app-protocol: http`):
//! `GET /dapr/subscribe` lists a subscription for every topic a consumer in
//! this process wants, and `POST /dapr/topics/{topic}` hands each delivered
//! event to those consumers, answering with Dapr's statuses: `SUCCESS` when
//! every consumer took it (or had already: they are idempotent), `RETRY` when
//! one failed for a reason that may pass, `DROP` when it can never be taken
//! (the sidecar then moves it to the topic's dead-letter topic).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::event::{EventEnvelope, Topic};
use domain::ports::{DeliveryError, EventHandler};
use serde::Serialize;
use serde_json::{json, Value};
use tracing::Instrument;

use crate::telemetry::meters::{self, UNREADABLE};
use crate::telemetry::trace;

/// The consumers this process runs, reached through the sidecar.
pub struct Inbox {
    pubsub: String,
    consumers: Vec<Arc<dyn EventHandler>>,
    /// `APP_API_TOKEN`: when set, the sidecar sends it as `dapr-api-token`
    /// and nothing else may deliver events.
    token: Option<String>,
    pub counts: Counts,
}

/// What became of the deliveries, for `/readyz`.
#[derive(Debug, Default)]
pub struct Counts {
    pub succeeded: AtomicU64,
    pub retried: AtomicU64,
    pub dropped: AtomicU64,
}

/// One programmatic subscription, as Dapr reads it from `/dapr/subscribe`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub pubsubname: String,
    pub topic: String,
    pub routes: Routes,
    pub dead_letter_topic: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Routes {
    pub default: String,
}

/// Dapr's answer to a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Success,
    Retry,
    Drop,
}

/// The route a topic's events arrive on.
pub fn route(topic: Topic) -> String {
    format!("/dapr/topics/{}", topic.name())
}

/// The subscriptions for the topics wanted, in `Topic::ALL` order, once each.
pub fn subscriptions(pubsub: &str, wanted: impl IntoIterator<Item = Topic>) -> Vec<Subscription> {
    let wanted: Vec<Topic> = wanted.into_iter().collect();
    Topic::ALL
        .into_iter()
        .filter(|t| wanted.contains(t))
        .map(|t| Subscription {
            pubsubname: pubsub.to_owned(),
            topic: t.name().to_owned(),
            routes: Routes { default: route(t) },
            dead_letter_topic: t.dead_letter().to_owned(),
        })
        .collect()
}

/// Reads a delivery: a structured CloudEvent whose `data` is the envelope
/// (as an object, or as JSON text), or the raw envelope (`rawPayload`). The
/// CloudEvent's `traceparent` (which Dapr sets) becomes the event's trace parent.
pub fn read_delivery(body: &[u8]) -> Result<EventEnvelope, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let trace_parent = value.get("traceparent").and_then(Value::as_str).map(str::to_owned);
    let envelope = match value.get("data") {
        Some(Value::String(text)) if value.get("specversion").is_some() => {
            serde_json::from_str(text).map_err(|e| format!("the CloudEvent's data is not JSON: {e}"))?
        }
        Some(data) if value.get("specversion").is_some() => data.clone(),
        _ => value,
    };
    EventEnvelope::decode(&envelope).map(|event| EventEnvelope { trace_parent, ..event })
}

impl Inbox {
    pub fn new(pubsub: impl Into<String>, consumers: Vec<Arc<dyn EventHandler>>) -> Self {
        Self { pubsub: pubsub.into(), consumers, token: app_token(), counts: Counts::default() }
    }

    pub fn subscriptions(&self) -> Vec<Subscription> {
        subscriptions(&self.pubsub, self.consumers.iter().flat_map(|c| c.topics().iter().copied()))
    }

    /// Hands one event to every consumer of its topic and says what Dapr should do with it.
    pub async fn deliver(&self, topic: Topic, event: &EventEnvelope) -> (Status, Vec<String>) {
        let mut retry = Vec::new();
        let mut drop = Vec::new();
        let mut refused = Vec::new();
        for consumer in self.consumers.iter().filter(|c| c.topics().contains(&topic)) {
            let span = trace::delivery_span(consumer.name(), event);
            match consumer.handle(event).instrument(span).await {
                Ok(()) => meters::consumed(consumer.name(), event.occurred_at),
                Err(DeliveryError::Transient(e)) => retry.push(format!("{}: {e}", consumer.name())),
                Err(DeliveryError::Permanent(e)) => {
                    drop.push(format!("{}: {e}", consumer.name()));
                    refused.push(consumer.name());
                }
            }
        }
        // A consumer that may yet succeed wins over one that never will: the
        // retry gives it its chance, and the others, idempotent, take it again.
        if !retry.is_empty() {
            (Status::Retry, retry)
        } else if !drop.is_empty() {
            refused.into_iter().for_each(|consumer| meters::dead_lettered(consumer, 1));
            (Status::Drop, drop)
        } else {
            (Status::Success, Vec::new())
        }
    }

    fn count(&self, topic: &str, status: Status) {
        let (counter, label) = match status {
            Status::Success => (&self.counts.succeeded, "success"),
            Status::Retry => (&self.counts.retried, "retry"),
            Status::Drop => (&self.counts.dropped, "drop"),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        meters::dapr_delivery(topic, label);
    }
}

/// The token Dapr sends its app, when `APP_API_TOKEN` sets one.
pub fn app_token() -> Option<String> {
    std::env::var("APP_API_TOKEN").ok().filter(|t| !t.is_empty())
}

/// Whether a request from the sidecar carries the expected `dapr-api-token` (if one is expected).
pub fn authorised(expected: Option<&str>, headers: &HeaderMap) -> bool {
    let Some(expected) = expected else { return true };
    let given = headers.get("dapr-api-token").map(|v| v.as_bytes()).unwrap_or_default();
    // Constant time, so the token cannot be guessed a byte at a time.
    given.len() == expected.len() && given.iter().zip(expected.as_bytes()).fold(0, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// `GET /dapr/subscribe` and the topic routes.
pub fn routes(inbox: Arc<Inbox>) -> Router {
    Router::new().route("/dapr/subscribe", get(list)).route("/dapr/topics/{topic}", post(receive)).with_state(inbox)
}

async fn list(State(inbox): State<Arc<Inbox>>) -> Json<Vec<Subscription>> {
    Json(inbox.subscriptions())
}

fn answer(status: Status) -> Response {
    (StatusCode::OK, Json(json!({ "status": status }))).into_response()
}

async fn receive(
    State(inbox): State<Arc<Inbox>>,
    Path(topic): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorised(inbox.token.as_deref(), &headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({ "error": "dapr-api-token is missing or wrong" })))
            .into_response();
    }
    let Some(topic) = Topic::parse(&topic) else {
        tracing::error!(topic, "a delivery for a topic no consumer here wants; dropped");
        inbox.count("unknown", Status::Drop);
        meters::dead_lettered(UNREADABLE, 1);
        return answer(Status::Drop);
    };
    let event = match read_delivery(&body) {
        // Dapr puts the trace in the CloudEvent and in the header; a raw payload has only the header.
        Ok(event) if event.trace_parent.is_none() => {
            let header = headers.get("traceparent").and_then(|v| v.to_str().ok()).map(str::to_owned);
            EventEnvelope { trace_parent: header, ..event }
        }
        Ok(event) => event,
        Err(reason) => {
            tracing::error!(
                topic = topic.name(),
                reason,
                "a delivery that cannot be read; dropped to the dead-letter topic"
            );
            inbox.count(topic.name(), Status::Drop);
            meters::dead_lettered(UNREADABLE, 1);
            return answer(Status::Drop);
        }
    };
    let (status, reasons) = inbox.deliver(topic, &event).await;
    inbox.count(topic.name(), status);
    let (topic, event_id, event_type) = (topic.name(), event.id.to_string(), event.event_type.as_str());
    match status {
        Status::Success => tracing::debug!(topic, event_id, event_type, "event delivered"),
        Status::Retry => tracing::warn!(topic, event_id, event_type, ?reasons, "event failed; Dapr will retry it"),
        Status::Drop => {
            tracing::error!(
                topic,
                event_id,
                event_type,
                ?reasons,
                "event refused for good; dropped to the dead-letter topic"
            )
        }
    }
    answer(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A consumer that gives one fixed answer.
    struct Answers(&'static str, &'static [Topic], fn() -> Result<(), DeliveryError>);

    #[async_trait::async_trait]
    impl EventHandler for Answers {
        fn name(&self) -> &'static str {
            self.0
        }

        fn topics(&self) -> &'static [Topic] {
            self.1
        }

        async fn handle(&self, _: &EventEnvelope) -> Result<(), DeliveryError> {
            (self.2)()
        }
    }

    fn ok() -> Result<(), DeliveryError> {
        Ok(())
    }

    fn busy() -> Result<(), DeliveryError> {
        Err(DeliveryError::Transient("busy".into()))
    }

    fn never() -> Result<(), DeliveryError> {
        Err(DeliveryError::Permanent("never".into()))
    }

    fn inbox(consumers: Vec<Answers>) -> Inbox {
        Inbox::new("ps", consumers.into_iter().map(|c| Arc::new(c) as Arc<dyn EventHandler>).collect())
    }

    #[tokio::test]
    async fn a_retry_wins_over_a_drop_and_only_the_topics_consumers_are_asked() {
        let user = domain::account::UserId(uuid::Uuid::nil());
        let event = EventEnvelope::new(
            uuid::Uuid::nil(),
            chrono::Utc::now(),
            user,
            domain::event::DomainEvent::PasswordChanged { user_id: user },
        );
        let tasks: &'static [Topic] = &[Topic::TaskEvents];
        let reminders: &'static [Topic] = &[Topic::Reminders];
        let both = inbox(vec![Answers("a", tasks, busy), Answers("b", tasks, never), Answers("c", tasks, ok)]);
        let (status, reasons) = both.deliver(Topic::TaskEvents, &event).await;
        assert_eq!((status, reasons), (Status::Retry, vec!["a: busy".to_owned()]));
        let dropped = inbox(vec![Answers("b", tasks, never), Answers("c", tasks, ok)]);
        assert_eq!(dropped.deliver(Topic::TaskEvents, &event).await.0, Status::Drop);
        let elsewhere = inbox(vec![Answers("a", reminders, busy), Answers("c", tasks, ok)]);
        assert_eq!(elsewhere.deliver(Topic::TaskEvents, &event).await.0, Status::Success);
        let listed: Vec<String> = elsewhere.subscriptions().into_iter().map(|s| s.topic).collect();
        assert_eq!(listed, ["task-events", "reminders"], "one subscription per topic wanted, in a fixed order");
    }

    #[test]
    fn deliveries_are_read_structured_as_text_or_raw_and_garbage_is_refused() {
        let user = domain::account::UserId(uuid::Uuid::now_v7());
        let event = EventEnvelope::new(
            uuid::Uuid::now_v7(),
            chrono::Utc::now(),
            user,
            domain::event::DomainEvent::PasswordChanged { user_id: user },
        );
        let structured = event.to_cloud_event();
        assert_eq!(read_delivery(structured.to_string().as_bytes()).unwrap(), event);
        let mut text = structured.clone();
        text["data"] = Value::String(serde_json::to_string(&event).unwrap());
        assert_eq!(read_delivery(text.to_string().as_bytes()).unwrap(), event);
        assert_eq!(read_delivery(&serde_json::to_vec(&event).unwrap()).unwrap(), event);
        assert!(read_delivery(b"{nope").unwrap_err().contains("not JSON"));
        let mut newer = serde_json::to_value(&event).unwrap();
        newer["schema_version"] = json!(99);
        assert!(read_delivery(newer.to_string().as_bytes()).unwrap_err().contains("newer"));
    }
}
