//! The bell: the header's link to the notifications page, with the unread
//! count the server rendered, so it is right before any WASM loads and
//! works as a plain link without it. As an island it keeps the count live
//! (every event carries the user's unread count, so reading in one tab
//! updates the others) and opens a panel of the latest notifications, with
//! mark read, mark all read, and on reminders complete and snooze. Enter or
//! Space opens it, arrow keys move through it, Escape closes it and returns
//! focus to the bell.

use leptos::html;
use leptos::prelude::*;

use crate::api::NotificationRow;

/// "Notifications, 3 unread".
fn bell_label(unread: i64) -> String {
    match unread {
        0 => "Notifications".to_owned(),
        n => format!("Notifications, {n} unread"),
    }
}

#[island]
pub fn Bell(unread: i64, cursor: i64) -> impl IntoView {
    let count = RwSignal::new(unread);
    let open = RwSignal::new(false);
    let items = RwSignal::new(Vec::<NotificationRow>::new());
    let bell = NodeRef::<html::A>::new();
    let panel = NodeRef::<html::Div>::new();
    #[cfg(feature = "hydrate")]
    {
        let listener: super::live::Listener = std::rc::Rc::new(move |kind: &str, data: &serde_json::Value| {
            if let Some(n) = data.get("unread").and_then(serde_json::Value::as_i64) {
                count.set(n);
            }
            if open.get_untracked() && kind.starts_with("notification") {
                panel_actions::refresh(items);
            }
        });
        super::live::subscribe(cursor, listener);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = cursor;
    let toggle = move || {
        let now_open = !open.get_untracked();
        open.set(now_open);
        #[cfg(feature = "hydrate")]
        if now_open {
            panel_actions::refresh(items);
        }
    };
    let close = move || {
        open.set(false);
        if let Some(b) = bell.get_untracked() {
            let _ = b.focus();
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Escape" => {
            ev.prevent_default();
            close();
        }
        "ArrowDown" | "ArrowUp" => {
            ev.prevent_default();
            #[cfg(feature = "hydrate")]
            panel_actions::move_focus(panel, ev.key() == "ArrowDown");
        }
        _ => {}
    };
    view! {
        <div class="bell-wrap" on:keydown=on_key>
            <a href="/notifications" class="bell" node_ref=bell aria-label=move || bell_label(count.get())
                aria-haspopup="dialog" aria-expanded=move || open.get().to_string()
                on:click=move |ev| { ev.prevent_default(); toggle(); }
                on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == " " { ev.prevent_default(); toggle(); }>
                "\u{1f514}"
                <span class="count" aria-hidden="true" hidden=move || count.get() == 0>{move || count.get().min(99).to_string()}</span>
            </a>
            <div class="bell-panel" role="dialog" aria-label="Latest notifications" node_ref=panel hidden=move || !open.get()>
                <div class="bell-panel-head">
                    <strong>"Notifications"</strong>
                    <button type="button" class="link-button" on:click=move |_| {
                        #[cfg(feature = "hydrate")]
                        panel_actions::act(items, count, None, "read_all");
                    }>"Mark all read"</button>
                </div>
                <ul class="bell-items">
                    {move || {
                        let rows = items.get();
                        if rows.is_empty() {
                            return view! { <li class="empty">"Nothing yet."</li> }.into_any();
                        }
                        rows.into_iter().take(8).map(|n| item(n, items, count)).collect_view().into_any()
                    }}
                </ul>
                <a href="/notifications" class="see-all">"See all notifications"</a>
            </div>
        </div>
    }
}

fn item(n: NotificationRow, items: RwSignal<Vec<NotificationRow>>, count: RwSignal<i64>) -> impl IntoView {
    let seq = n.seq;
    let act = move |action: &'static str| {
        #[cfg(feature = "hydrate")]
        panel_actions::act(items, count, Some(seq), action);
        #[cfg(not(feature = "hydrate"))]
        let _ = (items, count, action, seq);
    };
    view! {
        <li class=if n.unread { "unread" } else { "" }>
            {match n.link.clone() {
                Some(href) => view! { <a href=href>{n.title.clone()}</a> }.into_any(),
                None => view! { <span>{n.title.clone()}</span> }.into_any(),
            }}
            <p>{n.body.clone()}</p>
            <div class="bell-actions">
                {n.unread.then(|| view! { <button type="button" class="link-button" on:click=move |_| act("read")>"Mark read"</button> })}
                {n.reminder.then(|| view! {
                    <button type="button" class="link-button" on:click=move |_| act("complete")>"Complete"</button>
                    <button type="button" class="link-button" on:click=move |_| act("snooze_10m")>"Snooze 10 min"</button>
                })}
            </div>
        </li>
    }
}

#[cfg(feature = "hydrate")]
mod panel_actions {
    use leptos::html;
    use leptos::prelude::*;
    use leptos::task::spawn_local;
    use wasm_bindgen::JsCast;

    use crate::api::{list_notifications, notification_action, NotificationRow};

    pub fn refresh(items: RwSignal<Vec<NotificationRow>>) {
        spawn_local(async move {
            if let Ok(list) = list_notifications(String::new()).await {
                items.set(list.items);
            }
        });
    }

    pub fn act(items: RwSignal<Vec<NotificationRow>>, count: RwSignal<i64>, seq: Option<i64>, action: &'static str) {
        spawn_local(async move {
            let seq = seq.map(|s| s.to_string()).unwrap_or_default();
            if let Ok(unread) = notification_action(seq, action.to_owned()).await {
                count.set(unread);
            }
            refresh(items);
        });
    }

    /// Moves focus to the next (or previous) link or button in the panel.
    pub fn move_focus(panel: NodeRef<html::Div>, forward: bool) {
        let Some(panel) = panel.get_untracked() else { return };
        let Ok(nodes) = panel.query_selector_all("a, button") else { return };
        let all: Vec<web_sys::HtmlElement> =
            (0..nodes.length()).filter_map(|i| nodes.item(i)?.dyn_into::<web_sys::HtmlElement>().ok()).collect();
        if all.is_empty() {
            return;
        }
        let active = document().active_element();
        let at = all.iter().position(|el| active.as_ref().is_some_and(|a| a == el.unchecked_ref::<web_sys::Element>()));
        let next = match (at, forward) {
            (None, _) => 0,
            (Some(i), true) => (i + 1) % all.len(),
            (Some(i), false) => (i + all.len() - 1) % all.len(),
        };
        let _ = all[next].focus();
    }
}
