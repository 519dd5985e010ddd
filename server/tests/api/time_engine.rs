//! The time engine over HTTP: repeating tasks from the form to their next
//! instance, reminders from the form to a notification, and the
//! notifications page with its count in the header.

use std::time::Duration;

use chrono::{NaiveDate, Utc};
use reqwest::header::LOCATION;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_field_error, eventually, spawn_app, TestApp};

fn today_in_berlin() -> NaiveDate {
    Utc::now().with_timezone(&domain::TimeZone::parse("Europe/Berlin").unwrap().0).date_naive()
}

async fn create(app: &TestApp, fields: &[(&str, &str)]) -> String {
    let res = app.call("create_task", fields).await;
    assert!(res.status().is_success() || res.status().is_redirection(), "{:?}", res.status());
    let location = res.headers()[LOCATION].to_str().unwrap().to_owned();
    location.trim_start_matches("/tasks/").to_owned()
}

async fn detail(app: &TestApp, id: &str) -> Value {
    let res = app.call("get_task", &[("id", id)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// The list's rows (open ones, or all with `completed`).
async fn rows(app: &TestApp, completed: bool) -> Vec<Value> {
    let query: &[(&str, &str)] = if completed { &[("completed", "1")] } else { &[] };
    let list: Value = app.call("list_tasks", query).await.json().await.unwrap();
    list["rows"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_repeating_task_shows_its_rule_as_a_sentence_its_next_five_dates_and_a_badge() {
    let app = spawn_app().await;
    app.sign_up().await;
    let id = create(
        &app,
        &[
            ("title", "Team sync"),
            ("due_date", "2026-11-30"),
            ("due_time", "09:00"),
            ("repeat", "weekly"),
            ("repeat_every", "2"),
            ("repeat_mo", "1"),
            ("repeat_we", "1"),
            ("repeat_end", "until"),
            ("repeat_until", "2027-03-31"),
        ],
    )
    .await;
    let task = detail(&app, &id).await;
    assert_eq!(task["repeat_sentence"], "Every 2 weeks on Monday and Wednesday, until 31 March 2027");
    let upcoming: Vec<&str> = task["upcoming"].as_array().unwrap().iter().map(|u| u.as_str().unwrap()).collect();
    assert_eq!(
        upcoming,
        [
            "Mon 30 Nov 2026, 09:00",
            "Wed 2 Dec 2026, 09:00",
            "Mon 14 Dec 2026, 09:00",
            "Wed 16 Dec 2026, 09:00",
            "Mon 28 Dec 2026, 09:00"
        ]
    );
    assert_eq!(task["repeat"]["repeat"], "weekly", "the form shows the preset again");
    assert_eq!(task["repeat"]["recurrence"], "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;UNTIL=20270331");
    let page = app.page(&format!("/tasks/{id}")).await;
    assert!(page.contains("Every 2 weeks on Monday and Wednesday, until 31 March 2027"), "{page}");
    assert!(page.contains("Wed 16 Dec 2026, 09:00"));
    let list = app.page("/tasks").await;
    assert!(list.contains("class=\"repeat\""), "the list marks it as repeating");
    let edit = app.page(&format!("/tasks/{id}/edit")).await;
    assert!(edit.contains("<option value=\"weekly\" selected"), "the edit form selects the preset");
}

#[tokio::test]
async fn a_bad_repeat_is_refused_naming_its_field_and_nothing_is_written() {
    let app = spawn_app().await;
    app.sign_up().await;
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("title", "No date"), ("repeat", "daily")], "due_date"),
        (
            &[("title", "Secondly"), ("due_date", "2026-12-01"), ("repeat", "custom"), ("recurrence", "FREQ=SECONDLY")],
            "recurrence",
        ),
        (&[("title", "Zero"), ("due_date", "2026-12-01"), ("repeat", "daily"), ("repeat_every", "0")], "repeat_every"),
        (
            &[
                ("title", "Never"),
                ("due_date", "2026-12-01"),
                ("repeat", "daily"),
                ("repeat_end", "count"),
                ("repeat_count", "99999"),
            ],
            "repeat_count",
        ),
        (&[("title", "Reminder"), ("due_date", "2026-12-01"), ("reminders", "soonish")], "reminders"),
    ];
    for (form, field) in cases {
        assert_field_error(app.call("create_task", form).await, 422, field).await;
    }
    assert!(rows(&app, true).await.is_empty(), "no task was half-written");
    // A rule that runs to the year 9999 is fine: occurrences are worked out lazily.
    let id = create(
        &app,
        &[
            ("title", "Forever"),
            ("due_date", "2026-12-01"),
            ("repeat", "custom"),
            ("recurrence", "FREQ=DAILY;UNTIL=99991231"),
        ],
    )
    .await;
    assert_eq!(detail(&app, &id).await["upcoming"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn completing_a_repeating_task_creates_its_next_instance_once_and_keeps_the_done_one() {
    let app = spawn_app().await;
    app.sign_up().await;
    let today = today_in_berlin();
    let five_days_ago = (today - chrono::Days::new(5)).to_string();
    let id = create(
        &app,
        &[
            ("title", "Stretch"),
            ("tags", "health"),
            ("priority", "high"),
            ("due_date", &five_days_ago),
            ("due_time", "07:30"),
            ("repeat", "daily"),
            ("reminders", "15m"),
        ],
    )
    .await;
    // Complete, reopen, complete: one completion event per round, one next instance in all.
    for completed in ["true", "false", "true"] {
        assert_eq!(app.call("set_completed", &[("id", &id), ("completed", completed)]).await.status(), StatusCode::OK);
        app.settle().await;
    }
    let open = rows(&app, false).await;
    assert_eq!(open.len(), 1, "one next instance: {open:?}");
    let next_id = open[0]["id"].as_str().unwrap().to_owned();
    assert_ne!(next_id, id);
    let next = detail(&app, &next_id).await;
    let tomorrow = (today + chrono::Days::new(1)).format("%Y-%m-%d").to_string();
    assert_eq!(next["due_date"], tomorrow, "five days late, the next one is still ahead: tomorrow");
    assert_eq!(next["due_time"], "07:30");
    assert_eq!(next["tags_input"], "health");
    assert_eq!(next["row"]["priority"], "high");
    assert_eq!(next["reminders_input"], "15m", "reminders carry over");
    assert!(next["repeat_anchor"].as_str().unwrap().contains("follows the schedule"));
    let all = rows(&app, true).await;
    assert_eq!(all.len(), 2, "the completed instance stays in history");
    assert!(all.iter().any(|r| r["id"] == id.as_str() && r["completed"] == true));
}

#[tokio::test]
async fn a_series_counted_from_completion_comes_back_the_interval_after_it_was_done() {
    let app = spawn_app().await;
    app.sign_up().await;
    let today = today_in_berlin();
    let id = create(
        &app,
        &[
            ("title", "Water the cactus"),
            ("due_date", &(today - chrono::Days::new(10)).to_string()),
            ("repeat", "daily"),
            ("repeat_every", "3"),
            ("repeat_from", "completion"),
        ],
    )
    .await;
    app.call("set_completed", &[("id", &id), ("completed", "true")]).await;
    app.settle().await;
    let open = rows(&app, false).await;
    let next = detail(&app, open[0]["id"].as_str().unwrap()).await;
    assert_eq!(next["due_date"], (today + chrono::Days::new(3)).to_string(), "three days after it was done");
}

#[tokio::test]
async fn deleting_this_one_moves_the_series_on_and_this_and_following_ends_it() {
    let app = spawn_app().await;
    app.sign_up().await;
    let today = today_in_berlin();
    let id = create(
        &app,
        &[("title", "Standup"), ("due_date", &today.to_string()), ("due_time", "10:00"), ("repeat", "daily")],
    )
    .await;
    let res = app.call("delete_task", &[("id", &id), ("scope", "this")]).await;
    assert!(res.status().is_success() || res.status().is_redirection());
    let open = rows(&app, false).await;
    assert_eq!(open.len(), 1, "the next one takes the deleted one's place");
    let next = open[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(detail(&app, &next).await["due_date"], (today + chrono::Days::new(1)).to_string());
    app.call("delete_task", &[("id", &next), ("scope", "following")]).await;
    app.settle().await;
    assert!(rows(&app, true).await.is_empty(), "this and all following are gone, and the series ended");
    let bad = app.call("delete_task", &[("id", &next), ("scope", "sideways")]).await;
    assert_field_error(bad, 422, "scope").await;
}

#[tokio::test]
async fn a_reminder_that_comes_due_becomes_one_notification_counted_in_the_header() {
    let app = spawn_app().await;
    app.sign_up().await;
    // Three days ahead, so "1 day before" is ahead too at any hour the test runs.
    let later = (today_in_berlin() + chrono::Days::new(3)).to_string();
    let id = create(
        &app,
        &[("title", "Pay rent"), ("due_date", &later), ("due_time", "09:00"), ("reminders", "at due, 1d")],
    )
    .await;
    let task = detail(&app, &id).await;
    assert_eq!(task["reminders"].as_array().unwrap().len(), 2, "{task}");
    assert_eq!(app.store.pending_timers().await.unwrap(), 2);
    // Bring the "at due" reminder's time to now, behind the app's back: the scheduler sees it within its sleep.
    let now = Utc::now().timestamp_millis();
    let db = app.db.as_ref().unwrap();
    db.execute(&format!("UPDATE timers SET fire_at = {now} WHERE label = 'At the due time'")).await;
    eventually("the reminder is a notification", || async {
        app.call("list_notifications", &[]).await.json::<Value>().await.unwrap()["items"].as_array().unwrap().len() == 1
    })
    .await;
    let list: Value = app.call("list_notifications", &[]).await.json().await.unwrap();
    let n = &list["items"][0];
    assert_eq!(
        (n["title"].as_str(), n["unread"].as_bool(), n["reminder"].as_bool()),
        (Some("Pay rent"), Some(true), Some(true))
    );
    assert_eq!(n["link"], format!("/tasks/{id}"));
    assert_eq!(n["body"], "Reminder: at the due time");
    let header = app.page("/tasks").await;
    assert!(header.contains("Notifications, 1 unread"), "the header counts it");
    let page = app.page("/notifications").await;
    assert!(page.contains("Pay rent") && page.contains("Snooze"), "{page}");
    // Snooze it: it is read now, and a snooze timer waits.
    let res = app.call("snooze_notification", &[("seq", "1"), ("until", "10m")]).await;
    assert!(res.status().is_success() || res.status().is_redirection(), "{:?}", res.status());
    assert_eq!(app.store.pending_timers().await.unwrap(), 2, "the 1-day reminder and the snooze");
    assert!(app.page("/tasks").await.contains("aria-label=\"Notifications\""), "nothing unread");
    // Completing from the notification cancels every pending reminder of the task.
    app.call("complete_from_notification", &[("seq", "1")]).await;
    assert_eq!(app.store.pending_timers().await.unwrap(), 0);
    assert_eq!(detail(&app, &id).await["row"]["completed"], true);
    let bad = app.call("snooze_notification", &[("seq", "1"), ("until", "at"), ("snooze_date", "")]).await;
    assert_field_error(bad, 422, "snooze_until").await;
    assert_eq!(app.call("mark_notifications_read", &[("seq", "x")]).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn editing_moves_pending_reminders_and_deleting_cancels_them() {
    let app = spawn_app().await;
    app.sign_up().await;
    let id =
        create(&app, &[("title", "Dentist"), ("due_date", "2099-01-10"), ("due_time", "14:00"), ("reminders", "1h")])
            .await;
    let fire_at = || async {
        let store = app.store.clone();
        store.next_timer_at(Utc::now()).await.unwrap().unwrap()
    };
    assert_eq!(fire_at().await.to_rfc3339(), "2099-01-10T12:00:00+00:00", "an hour before 14:00 in Berlin");
    let res = app
        .call(
            "update_task",
            &[
                ("id", &id),
                ("title", "Dentist"),
                ("due_date", "2099-01-11"),
                ("due_time", "14:00"),
                ("reminders", "1h"),
            ],
        )
        .await;
    assert!(res.status().is_success() || res.status().is_redirection());
    assert_eq!(fire_at().await.to_rfc3339(), "2099-01-11T12:00:00+00:00", "the reminder moved with the due time");
    app.call("delete_task", &[("id", &id)]).await;
    assert_eq!(app.store.pending_timers().await.unwrap(), 0);
}

#[tokio::test]
async fn the_default_reminder_joins_new_tasks_with_a_due_time() {
    let app = spawn_app().await;
    app.sign_up().await;
    let profile = [("display_name", "Test User"), ("time_zone", "Europe/Berlin"), ("default_reminder", "15m")];
    let res = app.call("update_profile", &profile).await;
    assert!(res.status().is_success() || res.status().is_redirection());
    let timed = create(&app, &[("title", "Timed"), ("due_date", "2099-01-10"), ("due_time", "14:00")]).await;
    assert_eq!(detail(&app, &timed).await["reminders_input"], "15m");
    let dated = create(&app, &[("title", "Dated"), ("due_date", "2099-01-10")]).await;
    assert_eq!(detail(&app, &dated).await["reminders_input"], "", "a day without a time gets none");
    let bad = [("display_name", "Test User"), ("time_zone", "Europe/Berlin"), ("default_reminder", "2026-12-01 09:00")];
    assert_field_error(app.call("update_profile", &bad).await, 422, "default_reminder").await;
}

#[tokio::test]
async fn the_scheduler_sleeps_until_the_earliest_timer_and_wakes_for_a_nearer_one_set_meanwhile() {
    use std::sync::Arc;

    use domain::ports::{SystemClock, TimerWake};
    use domain::timer::{Timer, TimerKind};
    use server::spine::scheduler::{Scheduler, Wake};

    let db = crate::helpers::TestDb::for_http().await;
    let store = db.store().await;
    let owner = crate::contract::add_user(&store, "wake@example.com").await;
    // Each timer for a task of its own (a task's reminders are replaced as one).
    let set = |at: chrono::DateTime<Utc>| {
        let (store, task) = (store.clone(), crate::contract::task(&owner, "Soon"));
        async move {
            let timer = Timer::new(&task, TimerKind::Reminder, at, "At the due time".into());
            let mut uow = store.begin().await.unwrap();
            uow.replace_timers(task.id, TimerKind::Reminder, &[timer]).await.unwrap();
            uow.commit().await.unwrap();
        }
    };
    // Hours away: the scheduler plans to sleep for its longest sleep, here a minute.
    set(Utc::now() + chrono::Duration::hours(2)).await;
    let wake = Arc::new(Wake::default());
    let scheduler = Scheduler::new(store.clone(), Arc::new(SystemClock), wake.clone(), Duration::from_secs(60));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = scheduler.spawn(stopped);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A timer 300 ms ahead, and the wake-up a service sends after committing one.
    let soon = Utc::now() + chrono::Duration::milliseconds(300);
    set(soon).await;
    wake.timers_set(soon);
    let started = std::time::Instant::now();
    while store.pending_timers().await.unwrap() > 1 {
        assert!(started.elapsed() < Duration::from_secs(10), "the scheduler was not woken for the nearer timer");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(Utc::now() >= soon, "it fired when due, not before");
    let _ = stop.send(true);
    running.await.unwrap();
}

#[tokio::test]
async fn editing_a_series_moves_one_instance_or_restarts_the_series_from_it() {
    let app = spawn_app().await;
    app.sign_up().await;
    let fields = |date: &'static str, repeat: &'static str| {
        vec![("title", "Yoga"), ("due_date", date), ("due_time", "09:00"), ("repeat", repeat)]
    };
    let id = create(&app, &fields("2099-03-02", "daily")).await;
    let app = &app;
    let edit = |form: Vec<(&'static str, &'static str)>| {
        let mut form: Vec<(&str, &str)> = form;
        form.push(("id", id.as_str()));
        async move {
            let res = app.call("update_task", &form).await;
            assert!(res.status().is_success() || res.status().is_redirection(), "{:?}", res.status());
        }
    };
    // Moving this one to the 4th: the series stays daily from the 2nd, so the next comes on the 5th.
    edit(fields("2099-03-04", "daily")).await;
    let task = detail(app, &id).await;
    let upcoming: Vec<&str> = task["upcoming"].as_array().unwrap().iter().map(|u| u.as_str().unwrap()).collect();
    assert_eq!(upcoming[..2], ["Wed 4 Mar 2099, 09:00", "Thu 5 Mar 2099, 09:00"]);
    // A new rule restarts the series from this instance: weekly on its weekday.
    edit(fields("2099-03-04", "weekly")).await;
    let task = detail(app, &id).await;
    assert_eq!(task["repeat_sentence"], "Every week on Wednesday");
    assert_eq!(task["upcoming"][1], "Wed 11 Mar 2099, 09:00");
    // No repeat any more: the task stays, as a one-off.
    edit(fields("2099-03-04", "")).await;
    let task = detail(app, &id).await;
    assert!(task["repeat_sentence"].is_null() && task["upcoming"].as_array().unwrap().is_empty());
    assert_eq!(rows(app, false).await[0]["recurring"], false);
}

#[tokio::test]
async fn quick_add_reads_the_due_date_repeat_reminder_tag_and_priority_out_of_one_sentence() {
    let app = spawn_app().await;
    app.sign_up().await;
    let sentence = "Pay rent every month on 1 March 2099 at 9am #home !high remind me 1 day before";
    let id = app.quick_add(sentence).await;
    let task = detail(&app, &id).await;
    assert_eq!(task["row"]["title"], "Pay rent");
    assert_eq!((task["due_date"].as_str(), task["due_time"].as_str()), (Some("2099-03-01"), Some("09:00")));
    assert_eq!(task["repeat_sentence"], "Every month on the 1st");
    assert_eq!(task["reminders_input"], "1d");
    assert_eq!(task["tags_input"], "home");
    assert_eq!(task["row"]["priority"], "high");
}

#[tokio::test]
async fn quick_add_keeps_quoted_words_in_the_title_and_asks_for_a_title_when_only_details_are_given() {
    let app = spawn_app().await;
    app.sign_up().await;
    let id = app.quick_add("Watch \"Friday Night Lights\" #tv").await;
    let task = detail(&app, &id).await;
    assert_eq!(
        (task["row"]["title"].as_str(), task["due_date"].as_str()),
        (Some("Watch Friday Night Lights"), Some(""))
    );
    let res = app.call("quick_add", &[("title", "tomorrow at 9am")]).await;
    assert_field_error(res, 422, "title").await;
    assert_eq!(rows(&app, true).await.len(), 1, "nothing half-made");
}
