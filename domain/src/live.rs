//! The live feed: what a user's open tabs and devices hear about as it
//! happens (their tasks changing, notifications arriving or being read).
//! Each entry gets the user's next feed number when its transaction commits,
//! under the user's row lock, so numbers follow commit order and a stream
//! that resumes "after n" misses nothing and repeats nothing.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::event::{DomainEvent, EventEnvelope};

/// One entry of a user's feed, as a stream sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveEvent {
    /// The user's own counter: the stream's event id.
    pub seq: i64,
    /// The event's type, e.g. `notification.created`: the stream's event name.
    pub event_type: String,
    /// What the islands need to show it, with the user's unread count at the time.
    pub data: Value,
}

/// The feed entry an event makes, if the user's open pages care about it:
/// its type and its data (the unread count is added when it is numbered).
pub fn feed_entry(event: &EventEnvelope) -> Option<(String, Value)> {
    let data = match &event.payload {
        DomainEvent::TaskCreated { after }
        | DomainEvent::TaskUpdated { after, .. }
        | DomainEvent::TaskCompleted { after, .. }
        | DomainEvent::TaskReopened { after, .. } => json!({
            "task_id": after.id,
            "title": after.title.as_str(),
            "completed": after.is_completed(),
        }),
        DomainEvent::TaskDeleted { before } => json!({ "task_id": before.id, "title": before.title.as_str() }),
        DomainEvent::NotificationCreated { notification } => json!({
            "notification": {
                "seq": notification.seq,
                "kind": notification.kind.as_str(),
                "title": notification.title,
                "body": notification.body,
                "link": notification.link(),
            }
        }),
        DomainEvent::NotificationsRead { seq } => json!({ "seq": seq }),
        _ => return None,
    };
    Some((event.event_type.clone(), data))
}
