//! The toasts: each new notification slides in for five seconds (held while
//! the pointer is over it or focus is in it), can be dismissed, and offers a
//! reminder's actions (open, complete, snooze 10 minutes). At most three
//! show at once; each is announced through a polite live region. Without
//! JavaScript there are none: the bell's count and the notifications page
//! say the same. A task completed here gets a toast too, "Task completed",
//! whose Undo really reopens it.

use leptos::prelude::*;

/// One toast.
#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    pub seq: i64,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub reminder: bool,
    /// The task an Undo reopens (a toast for the user's own completion).
    pub undo_task: Option<String>,
    /// Bumped by every hover or focus, so a timer set before it does not close the toast.
    pub generation: u32,
    pub held: bool,
}

#[island]
pub fn Toasts(cursor: i64) -> impl IntoView {
    let toasts = RwSignal::new(Vec::<Toast>::new());
    #[cfg(feature = "hydrate")]
    {
        let listener: super::live::Listener = std::rc::Rc::new(move |kind: &str, data: &serde_json::Value| {
            let toast = match kind {
                "notification.created" => timing::from_event(data).inspect(|t| {
                    super::desktop::show_if_hidden(t.seq, &t.title, &t.body, t.link.as_deref());
                }),
                "local.task_completed" => timing::completed(data),
                _ => None,
            };
            if let Some(toast) = toast {
                timing::show(toasts, toast);
            }
        });
        super::live::subscribe(cursor, listener);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = cursor;
    view! {
        <div class="toasts" role="status" aria-live="polite" aria-label="New notifications">
            <For each=move || toasts.get() key=|t| t.seq let:t>
                {toast_view(t, toasts)}
            </For>
        </div>
    }
}

fn toast_view(t: Toast, toasts: RwSignal<Vec<Toast>>) -> impl IntoView {
    let seq = t.seq;
    let hold = move |held: bool| {
        #[cfg(feature = "hydrate")]
        timing::hold(toasts, seq, held);
        #[cfg(not(feature = "hydrate"))]
        let _ = (toasts, held);
    };
    let dismiss = move || toasts.update(|all| all.retain(|x| x.seq != seq));
    let undo = t.undo_task.clone().map(|task| {
        move |_| {
            let task = task.clone();
            #[cfg(feature = "hydrate")]
            leptos::task::spawn_local(async move {
                let _ = crate::api::set_completed(task, false).await;
            });
            #[cfg(not(feature = "hydrate"))]
            let _ = task;
            dismiss();
        }
    });
    let act = move |action: &'static str| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let _ = crate::api::notification_action(seq.to_string(), action.to_owned()).await;
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = action;
        dismiss();
    };
    view! {
        <div class="toast" data-seq=seq.to_string()
            on:mouseenter=move |_| hold(true) on:mouseleave=move |_| hold(false)
            on:focusin=move |_| hold(true) on:focusout=move |_| hold(false)>
            <div class="toast-text">
                <strong>{t.title.clone()}</strong>
                <p>{t.body.clone()}</p>
            </div>
            <div class="toast-actions">
                {t.link.clone().map(|href| view! { <a href=href>"Open"</a> })}
                {undo.map(|undo| view! { <button type="button" class="link-button" on:click=undo>"Undo"</button> })}
                {t.reminder.then(|| view! {
                    <button type="button" class="link-button" on:click=move |_| act("complete")>"Complete"</button>
                    <button type="button" class="link-button" on:click=move |_| act("snooze_10m")>"Snooze 10 min"</button>
                })}
                <button type="button" class="toast-close" aria-label="Dismiss" on:click=move |_| dismiss()>"\u{d7}"</button>
            </div>
        </div>
    }
}

#[cfg(feature = "hydrate")]
mod timing {
    use std::time::Duration;

    use leptos::prelude::*;

    use super::Toast;

    /// How many toasts show at once; the oldest goes first.
    const MAX_TOASTS: usize = 3;

    /// How long a toast stays when nobody holds it.
    const SHOWN_FOR: Duration = Duration::from_secs(5);

    pub fn from_event(data: &serde_json::Value) -> Option<Toast> {
        let n = data.get("notification")?;
        Some(Toast {
            seq: n.get("seq")?.as_i64()?,
            title: n.get("title")?.as_str()?.to_owned(),
            body: n.get("body").and_then(|b| b.as_str()).unwrap_or_default().to_owned(),
            link: n.get("link").and_then(|l| l.as_str()).map(str::to_owned),
            reminder: n.get("kind").and_then(|k| k.as_str()) == Some("reminder"),
            undo_task: None,
            generation: 0,
            held: false,
        })
    }

    /// The toast for a task completed in this tab; its number is negative, so
    /// it never meets a notification's.
    pub fn completed(data: &serde_json::Value) -> Option<Toast> {
        thread_local! { static NEXT: std::cell::Cell<i64> = const { std::cell::Cell::new(-1) }; }
        Some(Toast {
            seq: NEXT.with(|n| n.replace(n.get() - 1)),
            title: "Task completed".to_owned(),
            body: data.get("title")?.as_str()?.to_owned(),
            link: None,
            reminder: false,
            undo_task: Some(data.get("task_id")?.as_str()?.to_owned()),
            generation: 0,
            held: false,
        })
    }

    pub fn show(toasts: RwSignal<Vec<Toast>>, toast: Toast) {
        let seq = toast.seq;
        toasts.update(|all| {
            if all.iter().any(|t| t.seq == seq) {
                return;
            }
            all.push(toast);
            let extra = all.len().saturating_sub(MAX_TOASTS);
            all.drain(..extra);
        });
        expire_later(toasts, seq, 0);
    }

    fn expire_later(toasts: RwSignal<Vec<Toast>>, seq: i64, generation: u32) {
        set_timeout(
            move || {
                toasts.update(|all| all.retain(|t| t.seq != seq || t.held || t.generation != generation));
            },
            SHOWN_FOR,
        );
    }

    /// Holds a toast while hovered or focused; letting go gives it its full time again.
    pub fn hold(toasts: RwSignal<Vec<Toast>>, seq: i64, held: bool) {
        let mut generation = None;
        toasts.update(|all| {
            if let Some(t) = all.iter_mut().find(|t| t.seq == seq) {
                t.held = held;
                t.generation += 1;
                generation = Some(t.generation);
            }
        });
        if let (false, Some(g)) = (held, generation) {
            expire_later(toasts, seq, g);
        }
    }
}
