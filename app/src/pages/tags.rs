//! The tags page: each of the user's tags with its colour, its open and total
//! task counts and a link to its tasks, and per tag a rename form (merging
//! into a tag that exists), a colour choice and a delete that asks first on
//! a page of its own. Every form is a plain post, so it works without JavaScript.

use domain::tag::TagColour;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use server_fn::ServerFn;

use super::{action_error, error_view, load_then, FieldError, FormError};
use crate::api::{self, TagRow};
use crate::error::AppError;
use crate::forms::{echoed, FormEcho};

/// The task list filtered by one tag: its search box reads `#tag`.
pub fn tasks_href(tag: &str) -> String {
    let mut href = String::from("/tasks?q=%23");
    for b in tag.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => href.push(b as char),
            _ => href.push_str(&format!("%{b:02X}")),
        }
    }
    href
}

fn delete_href(tag: &str) -> String {
    tasks_href(tag).replacen("/tasks?q=%23", "/tags/delete?tag=", 1)
}

fn counts_label(row: &TagRow) -> String {
    let tasks = if row.total == 1 { "task" } else { "tasks" };
    format!("{} open · {} {tasks} in all", row.open, row.total)
}

/// The error of a failed post from `tag`'s own form, if the page is shown again because of one.
fn row_error(error: &Option<AppError>, echo: &Option<FormEcho>, tag: &str) -> Option<AppError> {
    error.clone().filter(|_| echo.as_ref().is_some_and(|e| e.value("tag") == tag))
}

#[component]
pub fn TagsPage() -> impl IntoView {
    let deleted = use_query_map().get_untracked().get("deleted").is_some();
    let rename = ServerAction::<api::RenameTag>::new();
    let recolour = ServerAction::<api::RecolourTag>::new();
    let (rename_error, recolour_error) = (action_error(rename), action_error(recolour));
    let page_error = rename_error.clone().or(recolour_error.clone());
    view! {
        <Title text="Tags"/>
        <div class="page-head">
            <h1>"Tags"</h1>
        </div>
        {deleted.then(|| view! { <p class="notice" role="status">"Tag deleted. The tasks that had it are kept."</p> })}
        <FormError error=page_error/>
        {load_then(api::list_tags, move |tags: Vec<TagRow>| {
            if tags.is_empty() {
                return view! {
                    <section class="card"><p class="empty">"No tags yet. Add some to a task (\u{201c}#home\u{201d} in quick-add) and they show up here."</p></section>
                }
                .into_any();
            }
            let rename_echo = echoed(api::RenameTag::PATH);
            let recolour_echo = echoed(api::RecolourTag::PATH);
            view! {
                <ul class="tag-list" aria-label="Your tags">
                    {tags.into_iter().enumerate().map(|(i, row)| {
                        let rename_error = row_error(&rename_error, &rename_echo, &row.name);
                        let recolour_error = row_error(&recolour_error, &recolour_echo, &row.name);
                        let typed = rename_echo.as_ref().filter(|_| rename_error.is_some()).map(|e| e.value("to"));
                        tag_row(i, row, rename, recolour, rename_error, recolour_error, typed)
                    }).collect_view()}
                </ul>
            }
            .into_any()
        })}
    }
}

fn tag_row(
    i: usize,
    row: TagRow,
    rename: ServerAction<api::RenameTag>,
    recolour: ServerAction<api::RecolourTag>,
    rename_error: Option<AppError>,
    recolour_error: Option<AppError>,
    typed: Option<String>,
) -> impl IntoView {
    let name = row.name.clone();
    let (rename_id, colour_id) = (format!("rename-{i}"), format!("colour-{i}"));
    let current = row.colour.clone().unwrap_or_default();
    let rename_invalid = rename_error.as_ref().and_then(|e| e.for_field("to")).map(|_| "true");
    let to = typed.unwrap_or_else(|| name.clone());
    let (rename_label, colour_label) = (format!("New name for #{name}"), format!("Colour of #{name}"));
    let (href, delete) = (tasks_href(&name), delete_href(&name));
    let swatch = row.colour.clone().unwrap_or_else(|| "none".to_owned());
    let counts = counts_label(&row);
    // Each form's children are a closure of their own, which takes its copy of the name.
    let (rename_tag, recolour_tag) = (name.clone(), name.clone());
    let options = TagColour::ALL
        .iter()
        .map(|c| view! { <option value=c.as_str() selected=c.as_str() == current>{c.label()}</option> })
        .collect_view();
    view! {
        <li class="tag-row">
            <div class="tag-head">
                <span class="swatch" data-colour=swatch aria-hidden="true"></span>
                <a class="tag-name" href=href>"#" {name}</a>
                <span class="tag-counts">{counts}</span>
            </div>
            <div class="tag-actions">
                <ActionForm action=rename attr:class="tag-form">
                    <input type="hidden" name="tag" value=rename_tag/>
                    <label class="visually-hidden" for=rename_id.clone()>{rename_label}</label>
                    <input id=rename_id name="to" value=to maxlength="40" required
                        aria-invalid=rename_invalid/>
                    <button type="submit" class="secondary small">"Rename"</button>
                </ActionForm>
                <ActionForm action=recolour attr:class="tag-form">
                    <input type="hidden" name="tag" value=recolour_tag/>
                    <label class="visually-hidden" for=colour_id.clone()>{colour_label}</label>
                    <select id=colour_id name="colour">
                        <option value="" selected=current.is_empty()>"No colour"</option>
                        {options}
                    </select>
                    <button type="submit" class="secondary small">"Set colour"</button>
                </ActionForm>
                <a class="button danger small" href=delete>"Delete…"</a>
            </div>
            <FieldError error=rename_error name="to"/>
            <FieldError error=recolour_error name="colour"/>
        </li>
    }
}

#[component]
pub fn DeleteTag() -> impl IntoView {
    let action = ServerAction::<api::DeleteTag>::new();
    let error = action_error(action);
    let name = use_query_map().get_untracked().get("tag").unwrap_or_default();
    load_then(api::list_tags, move |tags: Vec<TagRow>| {
        let Some(row) = tags.into_iter().find(|t| t.name == name) else {
            return error_view(AppError::NotFound);
        };
        let count = if row.total == 1 { "1 task".to_owned() } else { format!("{} tasks", row.total) };
        view! {
            <Title text="Delete tag"/>
            <section class="card narrow">
                <h1>"Delete this tag?"</h1>
                <p>"#" {row.name.clone()} " will be taken off " {count} ". The tasks themselves are kept, and its colour is forgotten."</p>
                <FormError error=error.clone()/>
                <ActionForm action=action>
                    <input type="hidden" name="tag" value=row.name.clone()/>
                    <div class="actions">
                        <button type="submit" class="danger">"Delete tag"</button>
                        <a href="/tags">"Keep it"</a>
                    </div>
                </ActionForm>
            </section>
        }
        .into_any()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tags_task_link_searches_for_it_with_everything_but_letters_digits_dash_and_underscore_encoded() {
        assert_eq!(tasks_href("home-office_2"), "/tasks?q=%23home-office_2");
        assert_eq!(tasks_href("café"), "/tasks?q=%23caf%C3%A9");
        assert_eq!(delete_href("café"), "/tags/delete?tag=caf%C3%A9");
    }
}
