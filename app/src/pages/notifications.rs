//! The notifications page: newest first, unread ones marked, with mark read,
//! mark all read, and, on reminders, snooze and complete. Every action is a
//! plain form, so the page works without JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{action_error, load_then, FieldError, FormError};
use crate::api::{self, NotificationList, NotificationRow};

#[component]
pub fn Notifications() -> impl IntoView {
    let query = use_query_map().get_untracked();
    let before = query.get("before").unwrap_or_default();
    let snoozed = query.get("snoozed").is_some();
    let snooze = ServerAction::<api::SnoozeNotification>::new();
    let read = ServerAction::<api::MarkNotificationsRead>::new();
    let complete = ServerAction::<api::CompleteFromNotification>::new();
    let error = action_error(snooze).or(action_error(read)).or(action_error(complete));
    view! {
        <Title text="Notifications"/>
        <div class="page-head">
            <h1>"Notifications"</h1>
            <ActionForm action=read attr:class="inline">
                <button type="submit" class="secondary">"Mark all read"</button>
            </ActionForm>
        </div>
        {snoozed.then(|| view! { <p class="notice" role="status">"Snoozed. You will be reminded again."</p> })}
        <FormError error=error.clone()/>
        <FieldError error=error.clone() name="snooze_until"/>
        {load_then(move || api::list_notifications(before.clone()), move |list: NotificationList| {
            if list.items.is_empty() {
                return view! { <section class="card"><p class="empty">"No notifications yet. Reminders you set on tasks show up here."</p></section> }.into_any();
            }
            view! {
                <ol class="notifications" aria-label="Notifications">
                    {list.items.into_iter().map(|n| row(n, snooze, read, complete)).collect_view()}
                </ol>
                {list.older.map(|seq| view! { <nav class="pager"><a rel="next" href=format!("/notifications?before={seq}")>"Older →"</a></nav> })}
            }
            .into_any()
        })}
    }
}

fn row(
    n: NotificationRow,
    snooze: ServerAction<api::SnoozeNotification>,
    read: ServerAction<api::MarkNotificationsRead>,
    complete: ServerAction<api::CompleteFromNotification>,
) -> impl IntoView {
    let seq = n.seq.to_string();
    let (seq_read, seq_done, seq_snooze) = (seq.clone(), seq.clone(), seq.clone());
    let snooze_id = format!("snooze-{seq}");
    let class = if n.unread { "notification unread" } else { "notification" };
    view! {
        <li class=class data-seq=seq>
            <div>
                {n.unread.then(|| view! { <span class="visually-hidden">"Unread: "</span> })}
                {match n.link.clone() {
                    Some(href) => view! { <a href=href><strong>{n.title.clone()}</strong></a> }.into_any(),
                    None => view! { <strong>{n.title.clone()}</strong> }.into_any(),
                }}
                <p>{n.body.clone()}</p>
                <time>{n.created_label.clone()}</time>
                {n.missed.then(|| view! { <span class="badge">"Missed"</span> })}
            </div>
            <div class="notification-actions">
                {n.unread.then(move || view! {
                    <ActionForm action=read attr:class="inline">
                        <input type="hidden" name="seq" value=seq_read/>
                        <button type="submit" class="link-button">"Mark read"</button>
                    </ActionForm>
                })}
                {n.reminder.then(move || view! {
                    <ActionForm action=complete attr:class="inline">
                        <input type="hidden" name="seq" value=seq_done/>
                        <button type="submit" class="link-button">"Complete task"</button>
                    </ActionForm>
                    <ActionForm action=snooze attr:class="inline snooze">
                        <input type="hidden" name="seq" value=seq_snooze/>
                        <label class="visually-hidden" for=snooze_id.clone()>"Snooze until"</label>
                        <select id=snooze_id name="until">
                            <option value="10m">"10 minutes"</option>
                            <option value="1h">"1 hour"</option>
                            <option value="tomorrow">"Tomorrow morning"</option>
                            <option value="at">"The time I pick:"</option>
                        </select>
                        <input type="date" name="snooze_date" aria-label="Snooze until day"/>
                        <input type="time" name="snooze_time" aria-label="Snooze until time"/>
                        <button type="submit" class="secondary small">"Snooze"</button>
                    </ActionForm>
                })}
            </div>
        </li>
    }
}
