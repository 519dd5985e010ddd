//! The activity log: every change the user made, newest first.

use leptos::prelude::*;
use leptos_meta::Title;

use super::load_then;
use crate::api::{self, ActivityRow};

#[component]
pub fn ActivityList(rows: Vec<ActivityRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="empty">"No activity yet."</p> }.into_any();
    }
    view! {
        <ol class="activity" data-testid="activity">
            {rows.into_iter().map(|r| view! {
                <li data-type=r.event_type.clone()>
                    <time>{r.when.clone()}</time>
                    {match r.task_id.clone() {
                        Some(id) if r.event_type != "task.deleted" => view! { <a href=format!("/tasks/{id}")>{r.summary.clone()}</a> }.into_any(),
                        _ => view! { <span>{r.summary.clone()}</span> }.into_any(),
                    }}
                </li>
            }).collect_view()}
        </ol>
    }
    .into_any()
}

#[component]
pub fn Activity() -> impl IntoView {
    view! {
        <Title text="Activity"/>
        <h1>"Activity"</h1>
        {load_then(api::activity, |rows| view! { <section class="card"><ActivityList rows/></section> }.into_any())}
    }
}
