//! Views: the sidebar beside the task list (the views every user has, then
//! the saved ones in the user's order), the form that saves the list's current
//! search as a view, the page that moves and deletes saved views, and the
//! Upcoming week with the occurrences repeating tasks will have.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_query_map};

use super::{action_error, load_then, FieldError, FormError};
use crate::api::{self, UpcomingDayView, ViewLink};

/// The sidebar of views; the one being shown is marked current.
#[component]
pub fn ViewsNav() -> impl IntoView {
    let location = use_location();
    let query = use_query_map().get_untracked();
    // The list's address in canonical form, however its search was typed or encoded.
    let here = match location.pathname.get_untracked() {
        path if path == "/tasks" => {
            let get = |name: &str| query.get(name).unwrap_or_default();
            domain::views::list_href(&api::list_query(&get("q"), &get("sort")).0)
        }
        path => path,
    };
    view! {
        <nav class="views-nav" aria-label="Views">
            <h2 class="views-head">"Views"</h2>
            {load_then(api::list_views, move |links: Vec<ViewLink>| {
                let here = here.clone();
                let (built_in, own): (Vec<_>, Vec<_>) = links.into_iter().partition(|l| l.id.is_empty());
                let item = move |l: ViewLink| {
                    let current = (l.href == here).then_some("page");
                    view! { <li><a href=l.href aria-current=current>{l.name}</a></li> }
                };
                view! {
                    <ul>{built_in.into_iter().map(item.clone()).collect_view()}</ul>
                    {(!own.is_empty()).then(|| view! { <ul class="saved-views">{own.into_iter().map(item).collect_view()}</ul> })}
                    <p class="views-manage"><a href="/views">"Manage views"</a></p>
                }
                .into_any()
            })}
        </nav>
    }
}

/// "Save as a view": names the list's search and order (`q`, canonical).
#[component]
pub fn SaveView(q: String) -> impl IntoView {
    let action = ServerAction::<api::SaveView>::new();
    let error = action_error(action);
    // Open after a failed save, so the error is seen next to the name.
    let open = error.is_some();
    let invalid = super::invalid(&error, "name");
    let field_error = error.clone();
    view! {
        <details class="save-view" open=open>
            <summary>"Save as a view"</summary>
            <ActionForm action=action attr:class="inline-form">
                <input type="hidden" name="q" value=q/>
                <label for="view-name">"Name"</label>
                <input id="view-name" name="name" maxlength="60" required placeholder="Work this week"
                    aria-invalid=invalid aria-describedby="name-error"/>
                <button type="submit" class="secondary small">"Save view"</button>
            </ActionForm>
            <FieldError error=field_error name="name"/>
            <FormError error=error/>
        </details>
    }
}

/// The page of saved views: each can move up or down the sidebar, or go.
#[component]
pub fn ViewsPage() -> impl IntoView {
    let moved = ServerAction::<api::MoveView>::new();
    let deleted = ServerAction::<api::DeleteView>::new();
    let error = action_error(moved).or(action_error(deleted));
    view! {
        <Title text="Views"/>
        <div class="page-head"><h1>"Views"</h1></div>
        <FormError error=error/>
        {load_then(api::list_views, move |links: Vec<ViewLink>| {
            let (built_in, own): (Vec<_>, Vec<_>) = links.into_iter().partition(|l| l.id.is_empty());
            let count = own.len();
            view! {
                <section class="card">
                    <h2>"Everyone's views"</h2>
                    <ul class="view-list">
                        {built_in.into_iter().map(|l| view! { <li><a href=l.href>{l.name}</a></li> }).collect_view()}
                    </ul>
                </section>
                <section class="card">
                    <h2>"Your views"</h2>
                    {if own.is_empty() {
                        view! { <p class="empty">"None yet. Search or filter the task list, then \u{201c}Save as a view\u{201d}."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="view-list" aria-label="Your views">
                                {own.into_iter().enumerate().map(|(i, l)| {
                                    let (up, down, gone) = (l.id.clone(), l.id.clone(), l.id.clone());
                                    let (name, up_label, down_label) = (l.name.clone(), format!("Move {} up", l.name), format!("Move {} down", l.name));
                                    view! {
                                        <li class="view-row">
                                            <a href=l.href>{name}</a>
                                            <span class="view-actions">
                                                {(i > 0).then(|| view! {
                                                    <ActionForm action=moved attr:class="inline">
                                                        <input type="hidden" name="id" value=up/>
                                                        <input type="hidden" name="direction" value="up"/>
                                                        <button type="submit" class="secondary small" aria-label=up_label>"↑"</button>
                                                    </ActionForm>
                                                })}
                                                {(i + 1 < count).then(|| view! {
                                                    <ActionForm action=moved attr:class="inline">
                                                        <input type="hidden" name="id" value=down/>
                                                        <input type="hidden" name="direction" value="down"/>
                                                        <button type="submit" class="secondary small" aria-label=down_label>"↓"</button>
                                                    </ActionForm>
                                                })}
                                                <ActionForm action=deleted attr:class="inline">
                                                    <input type="hidden" name="id" value=gone/>
                                                    <button type="submit" class="danger small">"Delete"</button>
                                                </ActionForm>
                                            </span>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </section>
            }
            .into_any()
        })}
    }
}

/// The next seven days, each with the tasks due on it and the occurrences
/// repeating tasks will have (marked, and not yet tasks of their own).
#[component]
pub fn UpcomingPage() -> impl IntoView {
    view! {
        <Title text="Upcoming"/>
        <div class="with-sidebar">
            <ViewsNav/>
            <div class="main-col">
                <div class="page-head"><h1>"Upcoming"</h1></div>
                <p class="hint">"The next seven days. Later dates of repeating tasks are shown as projected: each becomes a task when the one before it is done."</p>
                {load_then(api::upcoming, |days: Vec<UpcomingDayView>| {
                    days.into_iter().map(|day| {
                        let empty = day.rows.is_empty();
                        let label = day.label.clone();
                        view! {
                            <section class="upcoming-day" aria-label=label>
                                <h2>{day.label}</h2>
                                {if empty {
                                    view! { <p class="empty">"Nothing due."</p> }.into_any()
                                } else {
                                    view! { <ul class="task-list">{day.rows.into_iter().map(upcoming_row).collect_view()}</ul> }.into_any()
                                }}
                            </section>
                        }
                    }).collect_view().into_any()
                })}
            </div>
        </div>
    }
}

fn upcoming_row(item: api::UpcomingRow) -> impl IntoView {
    let row = item.row;
    let class = if item.projected { "task projected" } else { "task" };
    let href = format!("/tasks/{}", row.id);
    view! {
        <li class=class>
            <div class="task-main">
                <a class="task-title" href=href>{row.title}</a>
                <p>
                    {item.projected.then(|| view! { <span class="badge projected-badge">"Projected"</span> })}
                    {(row.priority != domain::Priority::None).then(|| view! { <span class="badge">{row.priority.label()}</span> })}
                    {row.due_label.map(|d| view! { <span class="due">{d}</span> })}
                    {row.tags.into_iter().map(|t| {
                        let colour = row.colours.get(&t).map(|c| c.as_str());
                        view! { <span class="tag" data-colour=colour>"#" {t}</span> }
                    }).collect_view()}
                </p>
            </div>
        </li>
    }
}
