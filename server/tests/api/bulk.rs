//! Bulk actions over HTTP: the selected tasks changed in one action (one
//! event per task), every task a search selects, all or nothing when an id is
//! not the user's, and undo putting every task back, once.

use reqwest::header::LOCATION;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_field_error, spawn_app, TestApp};

async fn titles(app: &TestApp, q: &str) -> Vec<String> {
    let list: Value = app.call("list_tasks", &[("q", q), ("sort", "title")]).await.json().await.unwrap();
    list["rows"].as_array().unwrap().iter().map(|r| r["title"].as_str().unwrap().to_owned()).collect()
}

async fn events(app: &TestApp, kind: &str) -> usize {
    app.db.as_ref().unwrap().outbox_payloads().await.iter().filter(|p| p.contains(kind)).count()
}

#[tokio::test]
async fn the_selected_tasks_change_in_one_action_and_undo_puts_them_back() {
    let app = spawn_app().await;
    app.sign_up().await;
    let a = app.quick_add("Alpha #home").await;
    let b = app.quick_add("Bravo").await;
    app.quick_add("Charlie").await;

    // The plain form posts each checked box as `ids[]`.
    let form = [("ids[]", a.as_str()), ("ids[]", b.as_str()), ("action", "complete"), ("back", "/tasks?q=sort:title")];
    let res = app.post_html("bulk_tasks", &form, "/tasks").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let back = res.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(back.starts_with("/tasks?q=sort:title&undo="), "back to the list with the undo: {back}");
    assert_eq!(titles(&app, "").await, ["Charlie"]);
    assert_eq!(events(&app, "task.completed").await, 2, "one event per task");
    let page = app.page(&back).await;
    assert!(page.contains("2 tasks completed") && page.contains(">Undo<"), "the notice offers undo: {page}");

    let undo = back.rsplit("undo=").next().unwrap().to_owned();
    let res = app.post_html("undo_bulk", &[("undo", &undo), ("back", "/tasks")], "/tasks").await;
    assert_eq!((res.status(), res.headers()[LOCATION].to_str().unwrap()), (StatusCode::FOUND, "/tasks"));
    assert_eq!(titles(&app, "").await, ["Alpha", "Bravo", "Charlie"]);
    assert_eq!(events(&app, "task.reopened").await, 2);
    assert_eq!(app.call("undo_bulk", &[("undo", &undo)]).await.status(), StatusCode::NOT_FOUND, "undo works once");
    assert!(!app.page(&back).await.contains(">Undo<"), "and the notice goes with it");
}

#[tokio::test]
async fn every_bulk_action_does_what_it_says_and_delete_can_be_undone() {
    let app = spawn_app().await;
    app.sign_up().await;
    let a = app.quick_add("Alpha #home").await;
    let b = app.quick_add("Bravo").await;
    let ids = |action: &'static str| [("ids[]", a.clone()), ("ids[]", b.clone()), ("action", action.to_owned())];
    let call = |form: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let res = app.call("bulk_tasks", &pairs).await;
            assert_eq!(res.status(), StatusCode::OK);
            res.json::<Value>().await.unwrap()
        }
    };
    let mut form = ids("priority").to_vec();
    form.push(("priority", "urgent".to_owned()));
    assert_eq!(call(form).await["summary"], "2 tasks set to urgent priority");
    assert_eq!(titles(&app, "!urgent").await, ["Alpha", "Bravo"]);
    let mut form = ids("tag").to_vec();
    form.push(("tag", "#Work".to_owned()));
    assert_eq!(call(form).await["summary"], "#work added to 2 tasks");
    assert_eq!(titles(&app, "#work #home").await, ["Alpha"]);
    let mut form = ids("untag").to_vec();
    form.push(("tag", "home".to_owned()));
    assert_eq!(call(form).await["changed"], 1, "a task without the tag is left out");
    assert!(titles(&app, "#home").await.is_empty());
    let done = call(ids("delete").to_vec()).await;
    assert_eq!(done["summary"], "2 tasks deleted");
    assert!(titles(&app, "").await.is_empty());
    assert_eq!(events(&app, "task.deleted").await, 2);
    let undo = done["undo"].as_str().unwrap();
    assert_eq!(app.call("undo_bulk", &[("undo", undo)]).await.status(), StatusCode::OK);
    assert_eq!(titles(&app, "#work").await, ["Alpha", "Bravo"], "deleted tasks come back as they were");
    assert_eq!(call(ids("reopen").to_vec()).await["undo"], Value::Null, "nothing changed, nothing to undo");
}

#[tokio::test]
async fn select_all_matching_changes_every_task_the_search_selects_and_no_other() {
    let app = spawn_app().await;
    app.sign_up().await;
    for n in 0..60 {
        app.quick_add(&format!("Home {n:02} #home")).await;
    }
    app.quick_add("Work #work").await;
    let res = app.call("bulk_tasks", &[("all", "1"), ("q", "#home"), ("action", "complete")]).await;
    let done: Value = res.json().await.unwrap();
    assert_eq!(done["changed"], 60, "past the first page");
    assert_eq!(titles(&app, "").await, ["Work"]);
    // The filter form's choices go into the bar's search, so "all matching" means what the list shows.
    let page = app.page("/tasks?q=work&tag=work&completed=1").await;
    assert!(page.contains(r#"name="q" value="is:all #work work""#), "{page}");
    assert!(page.contains("The 1 matching task"));
}

#[tokio::test]
async fn a_bulk_action_with_another_users_task_or_a_bad_choice_changes_nothing() {
    let app = spawn_app().await;
    app.sign_up().await;
    let mine = app.quick_add("Mine").await;
    let other = TestApp::handle(&app);
    other.sign_up().await;
    let theirs = other.quick_add("Theirs").await;
    let form = [("ids[]", mine.as_str()), ("ids[]", theirs.as_str()), ("action", "complete")];
    assert_eq!(app.call("bulk_tasks", &form).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(titles(&app, "").await, ["Mine"], "all or nothing");
    assert_eq!(titles(&other, "").await, ["Theirs"]);
    assert_field_error(app.call("bulk_tasks", &[("ids[]", &mine), ("action", "explode")]).await, 422, "action").await;
    assert_field_error(app.call("bulk_tasks", &[("action", "complete")]).await, 422, "ids").await;
    let bad_tag = [("ids[]", mine.as_str()), ("action", "tag"), ("tag", "a/b")];
    assert_field_error(app.call("bulk_tasks", &bad_tag).await, 422, "tag").await;
    let undo_theirs = other.call("bulk_tasks", &[("ids[]", &theirs), ("action", "complete")]).await;
    let undo: Value = undo_theirs.json().await.unwrap();
    let undo = undo["undo"].as_str().unwrap();
    assert_eq!(app.call("undo_bulk", &[("undo", undo)]).await.status(), StatusCode::NOT_FOUND, "not mine to undo");
}

#[tokio::test]
async fn undo_leaves_a_task_changed_since_and_takes_back_the_next_instance_a_delete_made() {
    let app = spawn_app().await;
    app.sign_up().await;
    let a = app.quick_add("Alpha").await;
    let b = app.quick_add("Bravo").await;
    let done: Value =
        app.call("bulk_tasks", &[("ids[]", &a), ("ids[]", &b), ("action", "complete")]).await.json().await.unwrap();
    app.call("set_completed", &[("id", &b), ("completed", "false")]).await;
    app.call("set_completed", &[("id", &b), ("completed", "true")]).await;
    app.call("undo_bulk", &[("undo", done["undo"].as_str().unwrap())]).await;
    let open = titles(&app, "").await;
    assert_eq!(open, ["Alpha"], "Bravo was completed again after the action: that stays");

    let series = app.quick_add("Stretch every day at 7am").await;
    let gone: Value = app.call("bulk_tasks", &[("ids[]", &series), ("action", "delete")]).await.json().await.unwrap();
    let instances: Value = app.call("list_tasks", &[("q", "stretch")]).await.json().await.unwrap();
    let next = instances["rows"][0]["id"].as_str().unwrap().to_owned();
    assert_ne!(next, series, "the series went on with its next instance");
    app.call("undo_bulk", &[("undo", gone["undo"].as_str().unwrap())]).await;
    let instances: Value = app.call("list_tasks", &[("q", "stretch")]).await.json().await.unwrap();
    let ids: Vec<&str> = instances["rows"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [series.as_str()], "the deleted instance is back and the one its delete made is gone");
}
