//! The tags page over HTTP: counts, rename (and merge), colour and delete
//! through plain form posts, validation, and isolation between users; and
//! each tag's colour on the chips of every task row.

use reqwest::header::LOCATION;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_field_error, spawn_app, TestApp};

async fn create(app: &TestApp, title: &str, tags: &str) -> String {
    let res = app.call("create_task", &[("title", title), ("tags", tags)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.headers()[LOCATION].to_str().unwrap().trim_start_matches("/tasks/").to_owned()
}

async fn tags_of(app: &TestApp, id: &str) -> Vec<String> {
    let task: Value = app.call("get_task", &[("id", id)]).await.json().await.unwrap();
    task["row"]["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn the_tags_page_lists_each_tag_with_its_counts_and_a_link_to_its_tasks() {
    let app = spawn_app().await;
    app.sign_up().await;
    create(&app, "Pay rent", "money, home").await;
    let done = create(&app, "Pay tax", "money").await;
    app.call("set_completed", &[("id", &done), ("completed", "true")]).await;

    let page = app.page("/tags").await;

    assert!(page.contains(r#"href="/tags""#), "the header links to the page");
    assert!(page.contains(r#"href="/tasks?q=%23money""#), "each tag links to its tasks");
    assert!(page.contains("1 open · 2 tasks in all") && page.contains("1 open · 1 task in all"), "{page}");
    assert!(page.find("%23home").unwrap() < page.find("%23money").unwrap(), "tags are in name order");
}

#[tokio::test]
async fn renaming_a_tag_with_the_plain_form_shows_the_new_tag_on_the_task_list() {
    let app = spawn_app().await;
    app.sign_up().await;
    let id = create(&app, "Pay rent", "home, money").await;
    let both = create(&app, "Budget", "money, finance").await;

    let res = app.post_html("rename_tag", &[("tag", "money"), ("to", "Finance")], "/tags").await;

    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()[LOCATION], "/tags", "back to the tags page");
    let list = app.page("/tasks").await;
    assert!(list.contains("#finance") && !list.contains("#money"), "the list shows the new name");
    assert_eq!(tags_of(&app, &id).await, ["home", "finance"], "in the old tag's place");
    assert_eq!(tags_of(&app, &both).await, ["finance"], "a task with both keeps one");
    let found: Value = app.call("list_tasks", &[("q", "#finance")]).await.json().await.unwrap();
    assert_eq!(found["total"], 2, "the tag's link finds both");
    let updated = app.db.as_ref().unwrap().outbox_payloads().await;
    assert_eq!(updated.iter().filter(|p| p.contains("task.updated")).count(), 2, "one event per changed task");
}

#[tokio::test]
async fn a_bad_new_name_is_a_422_naming_the_to_field_and_the_plain_form_comes_back_with_it() {
    let app = spawn_app().await;
    app.sign_up().await;
    let id = create(&app, "Pay rent", "money").await;

    assert_field_error(app.call("rename_tag", &[("tag", "money"), ("to", "a/b")]).await, 422, "to").await;

    let form = [("tag", "money"), ("to", "a/b")];
    let res = app.post_html("rename_tag", &form, "/tags").await;
    assert_eq!(res.status(), StatusCode::TEMPORARY_REDIRECT);
    let again = app.repost_html(res.headers()[LOCATION].to_str().unwrap(), &form).await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = again.text().await.unwrap();
    assert!(page.contains(r#"id="to-error""#), "the error sits beside the name");
    assert!(page.contains(r#"value="a/b""#), "with what was typed");
    assert_eq!(tags_of(&app, &id).await, ["money"], "nothing changed");
    assert_field_error(app.call("recolour_tag", &[("tag", "money"), ("colour", "#ff0000")]).await, 422, "colour").await;
}

#[tokio::test]
async fn a_colour_from_the_palette_shows_as_the_tags_swatch() {
    let app = spawn_app().await;
    app.sign_up().await;
    create(&app, "Pay rent", "money").await;

    let res = app.post_html("recolour_tag", &[("tag", "money"), ("colour", "teal")], "/tags").await;

    assert_eq!(res.status(), StatusCode::FOUND);
    let page = app.page("/tags").await;
    assert!(page.contains(r#"data-colour="teal""#));
    assert!(page.contains(r#"value="teal" selected"#), "the select shows the colour chosen");
}

async fn recolour(app: &TestApp, tag: &str, colour: &str) {
    let res = app.post_html("recolour_tag", &[("tag", tag), ("colour", colour)], "/tags").await;
    assert_eq!(res.status(), StatusCode::FOUND, "recolour {tag} {colour:?}");
}

/// A row's chip for `tag` as the list writes it, with `data-colour` when it has one.
fn chip(tag: &str, colour: Option<&str>) -> String {
    match colour {
        Some(c) => format!(r#"<a href="/tasks?tag={tag}" data-colour="{c}">#{tag}</a>"#),
        None => format!(r#"<a href="/tasks?tag={tag}">#{tag}</a>"#),
    }
}

#[tokio::test]
async fn a_colour_set_on_the_tags_page_shows_on_the_task_lists_chips_at_once_and_goes_when_cleared() {
    let app = spawn_app().await;
    app.sign_up().await;
    create(&app, "Pay rent", "home, money").await;
    assert!(app.page("/tasks").await.contains(&chip("home", None)), "the list, read and cached before the colour");

    recolour(&app, "home", "red").await;

    let list = app.page("/tasks").await;
    assert!(list.contains(&chip("home", Some("red"))), "the new colour, not the cached page: {list}");
    assert!(list.contains(&chip("money", None)), "a tag without a colour has no attribute");
    recolour(&app, "home", "").await;
    let list = app.page("/tasks").await;
    assert!(list.contains(&chip("home", None)) && !list.contains("data-colour"), "cleared: {list}");
}

#[tokio::test]
async fn quick_add_the_live_row_the_task_page_and_upcoming_show_the_colour_too() {
    let app = spawn_app().await;
    app.sign_up().await;
    create(&app, "Pay rent", "home").await;
    recolour(&app, "home", "green").await;

    let res = app.call("quick_add", &[("title", "Water plants tomorrow #home #garden")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let added: Value = res.json().await.unwrap();
    let id = added["row"]["id"].as_str().unwrap().to_owned();

    let html = added["html"].as_str().unwrap();
    assert!(html.contains(&chip("home", Some("green"))) && html.contains(&chip("garden", None)), "{html}");
    assert_eq!(added["row"]["colours"], serde_json::json!({ "home": "green" }), "the row says so too");
    let live: Value = app.call("task_row_html", &[("id", &id)]).await.json().await.unwrap();
    assert!(live.as_str().unwrap().contains(&chip("home", Some("green"))), "{live}");
    let page = app.page(&format!("/tasks/{id}")).await;
    assert!(page.contains(&chip("home", Some("green"))), "the single task page");
    let upcoming = app.page("/upcoming").await;
    assert_eq!(upcoming.matches(r#"data-colour="green""#).count(), 1, "the task due tomorrow: {upcoming}");
    let task: Value = app.call("get_task", &[("id", &id)]).await.json().await.unwrap();
    assert_eq!(task["row"]["colours"], serde_json::json!({ "home": "green" }));
}

#[tokio::test]
async fn a_renamed_tag_keeps_its_colour_on_the_chips_and_a_merge_shows_the_targets() {
    let app = spawn_app().await;
    app.sign_up().await;
    create(&app, "Pay rent", "home").await;
    create(&app, "Budget", "money").await;
    recolour(&app, "home", "red").await;
    recolour(&app, "money", "blue").await;
    app.page("/tasks").await;

    let res = app.post_html("rename_tag", &[("tag", "home"), ("to", "house")], "/tags").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let list = app.page("/tasks").await;
    assert!(list.contains(&chip("house", Some("red"))) && !list.contains(r#"?tag=home""#), "{list}");

    let res = app.post_html("rename_tag", &[("tag", "house"), ("to", "money")], "/tags").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let list = app.page("/tasks").await;
    assert_eq!(list.matches(&chip("money", Some("blue"))).count(), 2, "both tasks, in the target's colour: {list}");
    assert!(!list.contains(r#"data-colour="red""#), "the merged tag's colour is gone");
}

#[tokio::test]
async fn another_users_tag_colours_never_show_on_your_chips() {
    let app = spawn_app().await;
    app.sign_up().await;
    create(&app, "Pay rent", "home").await;
    recolour(&app, "home", "red").await;
    let other = TestApp::handle(&app);
    other.sign_up().await;
    let theirs = create(&other, "Tidy up", "home").await;

    assert!(other.page("/tasks").await.contains(&chip("home", None)));
    assert!(!other.page(&format!("/tasks/{theirs}")).await.contains("data-colour"));
    let added: Value = other.call("quick_add", &[("title", "Sweep #home")]).await.json().await.unwrap();
    assert!(!added["html"].as_str().unwrap().contains("data-colour"), "{added}");

    recolour(&other, "home", "purple").await;
    assert!(app.page("/tasks").await.contains(&chip("home", Some("red"))), "each user's colour is their own");
    assert_eq!(other.page("/tasks").await.matches(&chip("home", Some("purple"))).count(), 2);
}

#[tokio::test]
async fn deleting_a_tag_asks_first_then_keeps_its_tasks() {
    let app = spawn_app().await;
    app.sign_up().await;
    let id = create(&app, "Pay rent", "home, money").await;

    let confirm = app.page("/tags/delete?tag=money").await;
    assert!(confirm.contains("Delete this tag?") && confirm.contains("1 task"), "{confirm}");
    let res = app.post_html("delete_tag", &[("tag", "money")], "/tags/delete?tag=money").await;

    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()[LOCATION], "/tags?deleted=1");
    assert_eq!(tags_of(&app, &id).await, ["home"], "the task stays");
    assert!(app.page("/tags?deleted=1").await.contains("Tag deleted."));
    assert_eq!(app.get("/tags/delete?tag=money").await.status(), StatusCode::NOT_FOUND, "nothing left to delete");
}

#[tokio::test]
async fn another_user_cannot_rename_recolour_or_delete_your_tags() {
    let app = spawn_app().await;
    app.sign_up().await;
    let id = create(&app, "Pay rent", "money").await;
    let other = TestApp::handle(&app);
    other.sign_up().await;

    for (name, form) in [
        ("rename_tag", vec![("tag", "money"), ("to", "mine")]),
        ("recolour_tag", vec![("tag", "money"), ("colour", "red")]),
        ("delete_tag", vec![("tag", "money")]),
    ] {
        assert_eq!(other.call(name, &form).await.status(), StatusCode::NOT_FOUND, "{name}");
    }
    assert_eq!(other.get("/tags/delete?tag=money").await.status(), StatusCode::NOT_FOUND);
    assert!(!other.page("/tags").await.contains("%23money"), "nor see them");

    assert_eq!(tags_of(&app, &id).await, ["money"]);
    assert!(!app.page("/tags").await.contains("data-colour=\"red\""));
}

#[tokio::test]
async fn the_tags_page_sends_anonymous_visitors_to_sign_in() {
    let app = spawn_app().await;
    let res = app.get("/tags").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert!(res.headers()[LOCATION].to_str().unwrap().starts_with("/signin?next=/tags"));
    assert_eq!(app.call("rename_tag", &[("tag", "a"), ("to", "b")]).await.status(), StatusCode::UNAUTHORIZED);
}
