//! The tab's one live connection, shared by every island that listens (the
//! bell, the toasts, the task board): one `EventSource` on `/events`,
//! opened by the first island that subscribes. The browser reconnects it by
//! itself and resumes with `Last-Event-ID`; when it gives up (the server
//! answered with an error, say during a restart), it is opened again, with
//! a growing wait, at the last id seen. A `reset` (the tab was away longer
//! than the feed keeps) reloads the page.

/// What an island hears: the event's type and its data.
#[cfg(feature = "hydrate")]
pub type Listener = std::rc::Rc<dyn Fn(&str, &serde_json::Value)>;

#[cfg(feature = "hydrate")]
pub use connection::{emit, listen, subscribe};

#[cfg(feature = "hydrate")]
mod connection {
    use std::cell::RefCell;
    use std::time::Duration;

    use leptos::prelude::{set_timeout, window};
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{EventSource, MessageEvent};

    use super::Listener;

    /// The event types the stream sends.
    const TYPES: [&str; 8] = [
        "task.created",
        "task.updated",
        "task.completed",
        "task.reopened",
        "task.deleted",
        "notification.created",
        "notifications.read",
        "reset",
    ];

    #[derive(Default)]
    struct Live {
        source: Option<EventSource>,
        listeners: Vec<Listener>,
        last_id: i64,
        backoff_ms: u32,
    }

    thread_local! {
        static LIVE: RefCell<Live> = RefCell::new(Live::default());
    }

    /// Calls `listener` with every event of this tab's stream, which starts
    /// after `cursor` (the feed number the page was rendered at).
    pub fn subscribe(cursor: i64, listener: Listener) {
        let start = LIVE.with_borrow_mut(|live| {
            live.listeners.push(listener);
            if live.source.is_none() && live.last_id == 0 {
                live.last_id = cursor;
                true
            } else {
                false
            }
        });
        if start {
            open();
        }
    }

    /// Calls `listener` with the tab's events without opening the connection:
    /// for islands that only appear on pages whose header opens it (the bell).
    pub fn listen(listener: Listener) {
        LIVE.with_borrow_mut(|live| live.listeners.push(listener));
    }

    /// Tells this tab's listeners about something that happened here and
    /// that no stream carries (e.g. "you completed this", for an undo toast).
    pub fn emit(kind: &str, data: &serde_json::Value) {
        let listeners = LIVE.with_borrow(|live| live.listeners.clone());
        for listener in listeners {
            listener(kind, data);
        }
    }

    fn open() {
        let after = LIVE.with_borrow(|live| live.last_id);
        let Ok(source) = EventSource::new(&format!("/events?after={after}")) else { return };
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let kind = ev.type_();
            if kind == "reset" {
                let _ = window().location().reload();
                return;
            }
            if let Ok(id) = ev.last_event_id().parse::<i64>() {
                LIVE.with_borrow_mut(|live| {
                    live.last_id = live.last_id.max(id);
                    live.backoff_ms = 0;
                });
            }
            let data = ev.data().as_string().and_then(|d| serde_json::from_str(&d).ok()).unwrap_or_default();
            // Listeners are called outside the borrow: one may subscribe another.
            let listeners = LIVE.with_borrow(|live| live.listeners.clone());
            for listener in listeners {
                listener(&kind, &data);
            }
        });
        for kind in TYPES {
            let _ = source.add_event_listener_with_callback(kind, on_message.as_ref().unchecked_ref());
        }
        on_message.forget();
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            let closed =
                LIVE.with_borrow(|live| live.source.as_ref().is_some_and(|s| s.ready_state() == EventSource::CLOSED));
            if !closed {
                // The browser is reconnecting by itself, with Last-Event-ID.
                return;
            }
            let wait = LIVE.with_borrow_mut(|live| {
                live.source = None;
                live.backoff_ms = (live.backoff_ms * 2).clamp(1_000, 30_000);
                live.backoff_ms
            });
            set_timeout(open, Duration::from_millis(u64::from(wait)));
        });
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
        LIVE.with_borrow_mut(|live| live.source = Some(source));
    }
}
