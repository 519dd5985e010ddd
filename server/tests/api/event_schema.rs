//! The published event contract: every event the app emits, as stored and in
//! its CloudEvent form, matches `dapr/events/cadence-events.v1.schema.json`,
//! and the schema refuses events that drifted from it.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{Days, NaiveDate, Utc};
use domain::reminder::{Punctuality, Reminder};
use domain::timer::TimerKind;
use domain::{DomainEvent, EventEnvelope, Task};
use reqwest::header::LOCATION;
use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

/// A named change to an event that the schema must refuse.
type Mutation = (&'static str, fn(&mut Value));

/// The event type of every `DomainEvent` variant. The match has no `_` arm,
/// so a new variant does not compile until it is listed here, in
/// [`ALL_EVENT_TYPES`], and (by the tests) in the schema.
fn listed_type(event: &DomainEvent) -> &'static str {
    match event {
        DomainEvent::AccountCreated { .. } => "account.created",
        DomainEvent::AccountUpdated { .. } => "account.updated",
        DomainEvent::PasswordChanged { .. } => "account.password_changed",
        DomainEvent::TaskCreated { .. } => "task.created",
        DomainEvent::TaskUpdated { .. } => "task.updated",
        DomainEvent::TaskCompleted { .. } => "task.completed",
        DomainEvent::TaskReopened { .. } => "task.reopened",
        DomainEvent::TaskDeleted { .. } => "task.deleted",
        DomainEvent::ReminderDue { .. } => "reminder.due",
        DomainEvent::NotificationCreated { .. } => "notification.created",
        DomainEvent::NotificationsRead { .. } => "notifications.read",
    }
}

const ALL_EVENT_TYPES: [&str; 11] = [
    "account.created",
    "account.updated",
    "account.password_changed",
    "task.created",
    "task.updated",
    "task.completed",
    "task.reopened",
    "task.deleted",
    "reminder.due",
    "notification.created",
    "notifications.read",
];

/// The shapes inside the events the first test must have met, so a schema
/// that only describes the plainest task cannot pass it.
const EXPECTED_SHAPES: [&str; 14] = [
    "a default reminder",
    "a description",
    "tags",
    "a due date with a time",
    "a due date without a time",
    "a repeating task",
    "a relative reminder",
    "an absolute reminder",
    "a reminder on time",
    "a reminder fired late",
    "a reminder missed",
    "a snoozed reminder",
    "one notification read",
    "all notifications read",
];

fn schema() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dapr/events/cadence-events.v1.schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// A validator for the whole schema (an envelope of any type), with `format` asserted.
fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("the schema does not compile: {e}"))
}

/// A validator for one of the schema's `$defs` (the same document, its root narrowed to that definition).
fn validator_of(schema: &Value, def: &str) -> jsonschema::Validator {
    assert!(schema["$defs"].get(def).is_some(), "the schema has no $defs/{def}");
    let mut narrowed = schema.clone();
    let root = narrowed.as_object_mut().unwrap();
    root.remove("oneOf");
    root.insert("$ref".to_owned(), json!(format!("#/$defs/{def}")));
    validator(&narrowed)
}

/// Why `value` fails `def`, one line per error (the root's `oneOf` would only say that no branch matched).
fn explain(schema: &Value, def: &str, value: &Value) -> String {
    validator_of(schema, def)
        .iter_errors(value)
        .map(|e| format!("  at {}: {e}", e.instance_path))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `$defs` entry describing one event type (titled with it).
fn def_of(schema: &Value, event_type: &str) -> Option<String> {
    schema["$defs"].as_object()?.iter().find(|(_, d)| d["title"] == event_type).map(|(name, _)| name.clone())
}

fn ok(what: &str, res: &Response) {
    assert!(res.status().is_success() || res.status().is_redirection(), "{what}: {}", res.status());
}

/// Creates a task with the full form and returns its id.
async fn create(app: &TestApp, fields: &[(&str, &str)]) -> String {
    let res = app.call("create_task", fields).await;
    ok("create_task", &res);
    let location = res.headers()[LOCATION].to_str().unwrap().to_owned();
    location.trim_start_matches("/tasks/").to_owned()
}

async fn outbox(app: &TestApp) -> Vec<Value> {
    let payloads = app.db.as_ref().expect("the test owns its database").outbox_payloads().await;
    payloads.iter().map(|p| serde_json::from_str(p).expect("an outbox payload is JSON")).collect()
}

/// Waits until the outbox holds at least `n` events of `event_type`: the scheduler runs on its own.
async fn wait_for(app: &TestApp, event_type: &str, n: usize) {
    for _ in 0..200 {
        if outbox(app).await.iter().filter(|e| e["type"] == event_type).count() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {n} {event_type} events");
}

/// Moves the timers matching `filter` to `at_ms` (milliseconds since the epoch), behind the app's back.
async fn move_timers(app: &TestApp, filter: &str, at_ms: i64) {
    let db = app.db.as_ref().expect("the test owns its database");
    db.execute(&format!("UPDATE timers SET fire_at = {at_ms} WHERE fired_at IS NULL AND {filter}")).await;
}

fn today_in(zone: &str) -> NaiveDate {
    Utc::now().with_timezone(&domain::TimeZone::parse(zone).unwrap().0).date_naive()
}

/// What an event shows of the shapes in [`EXPECTED_SHAPES`].
fn shapes_of(event: &DomainEvent) -> Vec<&'static str> {
    let mut shapes = Vec::new();
    let tasks: Vec<&Task> = match event {
        DomainEvent::TaskCreated { after } => vec![&**after],
        DomainEvent::TaskUpdated { before, after }
        | DomainEvent::TaskCompleted { before, after }
        | DomainEvent::TaskReopened { before, after } => vec![&**before, &**after],
        DomainEvent::TaskDeleted { before } => vec![&**before],
        _ => Vec::new(),
    };
    for task in tasks {
        let checks = [
            (task.description.is_some(), "a description"),
            (!task.tags.is_empty(), "tags"),
            (task.due.is_some_and(|d| d.time.is_some()), "a due date with a time"),
            (task.due.is_some_and(|d| d.time.is_none()), "a due date without a time"),
            (task.repeat.is_some(), "a repeating task"),
            (task.reminders.iter().any(|r| matches!(r, Reminder::BeforeDue { .. })), "a relative reminder"),
            (task.reminders.iter().any(|r| matches!(r, Reminder::At(_))), "an absolute reminder"),
        ];
        shapes.extend(checks.into_iter().filter(|(seen, _)| *seen).map(|(_, shape)| shape));
    }
    match event {
        DomainEvent::AccountUpdated { after, .. } if after.default_reminder.is_some() => {
            shapes.push("a default reminder")
        }
        DomainEvent::ReminderDue { reminder } => {
            shapes.push(match reminder.punctuality {
                Punctuality::OnTime => "a reminder on time",
                Punctuality::Late => "a reminder fired late",
                Punctuality::Missed => "a reminder missed",
            });
            if reminder.kind == TimerKind::Snooze {
                shapes.push("a snoozed reminder");
            }
        }
        DomainEvent::NotificationsRead { seq: Some(_) } => shapes.push("one notification read"),
        DomainEvent::NotificationsRead { seq: None } => shapes.push("all notifications read"),
        _ => {}
    }
    shapes
}

/// Drives the app through every kind of change, so that each `DomainEvent` variant is written at least once.
async fn emit_every_event(app: &TestApp) {
    let account = app.sign_up().await;
    let profile = [("display_name", "Ada Lovelace"), ("time_zone", "America/New_York"), ("default_reminder", "15m")];
    ok("update_profile", &app.call("update_profile", &profile).await);
    let passwords = [("current_password", account.password.as_str()), ("new_password", "a brand new password")];
    ok("change_password", &app.call("change_password", &passwords).await);

    let today = today_in("America/New_York");
    let day = |from_today: i64| {
        let d = if from_today < 0 {
            today - Days::new(from_today.unsigned_abs())
        } else {
            today + Days::new(from_today.unsigned_abs())
        };
        d.format("%Y-%m-%d").to_string()
    };

    // A one-off task, then edited to have a description, tags and a due day without a time.
    let plain = app.quick_add("Plain").await;
    let edit = [
        ("id", plain.as_str()),
        ("title", "Plain, edited"),
        ("description", "Now with **Markdown**\n\nand a second paragraph."),
        ("priority", "low"),
        ("tags", "Errands, #Home Office"),
        ("due_date", "2099-05-01"),
    ];
    ok("update_task", &app.call("update_task", &edit).await);

    // A task with every part a reminder needs: relative and absolute reminders before a due time.
    let (rent_due, rent_day_before) = (day(3), day(2));
    assert_ne!(rent_due, rent_day_before);
    let rent = [
        ("title", "Pay rent"),
        ("priority", "urgent"),
        ("tags", "home, money"),
        ("due_date", rent_due.as_str()),
        ("due_time", "09:00"),
        ("reminders", "at due, 1d, 2099-01-09 18:00"),
    ];
    create(app, &rent).await;

    // A repeating task completed late: the recurrence consumer makes its next instance; then reopened.
    let five_days_ago = day(-5);
    let stretch = [
        ("title", "Stretch"),
        ("due_date", five_days_ago.as_str()),
        ("due_time", "07:30"),
        ("repeat", "daily"),
        ("reminders", "15m"),
    ];
    let stretch = create(app, &stretch).await;
    ok("complete", &app.call("set_completed", &[("id", &stretch), ("completed", "true")]).await);
    app.settle().await;
    ok("reopen", &app.call("set_completed", &[("id", &stretch), ("completed", "false")]).await);

    // Deleting "this one" of a series: the next instance takes its place.
    let yesterday = day(-1);
    let standup = [("title", "Standup"), ("due_date", yesterday.as_str()), ("due_time", "10:00"), ("repeat", "daily")];
    let standup = create(app, &standup).await;
    ok("delete this", &app.call("delete_task", &[("id", &standup), ("scope", "this")]).await);

    // A raw rule with every part the canonical text can hold, then its rule edited (the series restarts).
    let rule = "RRULE:FREQ=YEARLY;BYMONTH=1,6;BYDAY=1MO;BYSETPOS=1;WKST=SU;UNTIL=20991231T170000Z\nEXDATE:20990601";
    let review = [
        ("title", "Quarterly review"),
        ("due_date", "2099-01-05"),
        ("due_time", "14:00"),
        ("repeat", "custom"),
        ("repeat_from", "completion"),
        ("recurrence", rule),
    ];
    let review = create(app, &review).await;
    let edit = [
        ("id", review.as_str()),
        ("title", "Quarterly review"),
        ("due_date", "2099-01-05"),
        ("due_time", "14:00"),
        ("repeat", "monthly_weekday"),
        ("repeat_end", "count"),
        ("repeat_count", "12"),
    ];
    ok("update_task (series)", &app.call("update_task", &edit).await);

    // A preset series with days, an interval and an end, deleted with all that follow.
    let sync = [
        ("title", "Team sync"),
        ("due_date", "2099-01-05"),
        ("due_time", "09:00"),
        ("repeat", "weekly"),
        ("repeat_every", "2"),
        ("repeat_mo", "1"),
        ("repeat_we", "1"),
        ("repeat_end", "until"),
        ("repeat_until", "2099-03-31"),
    ];
    let sync = create(app, &sync).await;
    ok("delete following", &app.call("delete_task", &[("id", &sync), ("scope", "following")]).await);

    // Reminders fire: one on time, one three hours late, one two days late (missed).
    let now = Utc::now().timestamp_millis();
    move_timers(app, "title = 'Pay rent' AND label = 'At the due time'", now).await;
    move_timers(app, "title = 'Stretch' AND label = '15 minutes before'", now - 3 * 3_600_000).await;
    move_timers(app, "title = 'Pay rent' AND label = '1 day before'", now - 2 * 86_400_000).await;
    wait_for(app, "reminder.due", 3).await;
    app.settle().await;

    // Snooze the on-time one (it is read now), and let the snooze fire.
    let list: Value = app.call("list_notifications", &[]).await.json().await.unwrap();
    let items = list["items"].as_array().unwrap();
    let seq_of = |body: &str| {
        let found = items.iter().find(|n| n["body"].as_str().is_some_and(|b| b.starts_with(body)));
        found.unwrap_or_else(|| panic!("no notification says {body:?}: {list}"))["seq"].to_string()
    };
    let (on_time, missed) = (seq_of("Reminder: at the due time"), seq_of("Reminder: 1 day before"));
    ok("snooze", &app.call("snooze_notification", &[("seq", &on_time), ("until", "10m")]).await);
    move_timers(app, "kind = 'snooze'", Utc::now().timestamp_millis()).await;
    wait_for(app, "reminder.due", 4).await;
    app.settle().await;

    // Complete the task from a notification, read what is left, delete the one-off.
    ok("complete_from_notification", &app.call("complete_from_notification", &[("seq", &missed)]).await);
    ok("mark all read", &app.call("mark_notifications_read", &[("seq", "")]).await);
    ok("delete", &app.call("delete_task", &[("id", &plain)]).await);
    app.settle().await;
}

#[tokio::test]
async fn every_event_the_app_emits_matches_the_published_schema() {
    let schema = schema();
    let envelopes = validator(&schema);
    let cloud_events = validator_of(&schema, "CloudEvent");
    let documented: BTreeSet<&str> = schema["$defs"]["Envelope"]["properties"]["type"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(documented, BTreeSet::from(ALL_EVENT_TYPES), "the schema's event types are the domain's");
    for event_type in ALL_EVENT_TYPES {
        assert!(def_of(&schema, event_type).is_some(), "the schema has no $defs entry titled {event_type}");
    }

    let app = spawn_app().await;
    emit_every_event(&app).await;

    let events = outbox(&app).await;
    let mut seen = BTreeSet::new();
    let mut shapes = BTreeSet::new();
    let mut failures = Vec::new();
    for event in &events {
        let event_type = event["type"].as_str().unwrap_or("(no type)").to_owned();
        let def = def_of(&schema, &event_type).unwrap_or_else(|| "Envelope".to_owned());
        if !envelopes.is_valid(event) {
            failures.push(format!("{event_type} {} as stored:\n{}", event["id"], explain(&schema, &def, event)));
        }
        let decoded = match EventEnvelope::decode(event) {
            Ok(decoded) => decoded,
            Err(e) => {
                failures.push(format!("{event_type} does not decode: {e}\n  {event}"));
                continue;
            }
        };
        assert_eq!(listed_type(&decoded.payload), event_type, "the envelope's type is its payload's");
        let cloud = decoded.to_cloud_event();
        if !envelopes.is_valid(&cloud["data"]) {
            failures.push(format!(
                "{event_type} {}, CloudEvent data:\n{}",
                event["id"],
                explain(&schema, &def, &cloud["data"])
            ));
        }
        if !cloud_events.is_valid(&cloud) {
            failures.push(format!(
                "{event_type} {}, CloudEvent:\n{}",
                event["id"],
                explain(&schema, "CloudEvent", &cloud)
            ));
        }
        assert_eq!(cloud["type"], format!("cadence.{event_type}.v{}", decoded.schema_version));
        assert_eq!((&cloud["id"], &cloud["source"]), (&event["id"], &json!("urn:cadence:server")));
        shapes.extend(shapes_of(&decoded.payload));
        seen.insert(event_type);
    }
    assert!(
        failures.is_empty(),
        "{} of {} events do not match the schema:\n{}",
        failures.len(),
        events.len(),
        failures.join("\n")
    );

    let missing: Vec<&str> = ALL_EVENT_TYPES.into_iter().filter(|t| !seen.contains(*t)).collect();
    assert!(missing.is_empty(), "no event emitted of type {missing:?}\n  seen: {seen:?}\n  all:  {ALL_EVENT_TYPES:?}");
    let unmet: Vec<&str> = EXPECTED_SHAPES.into_iter().filter(|s| !shapes.contains(s)).collect();
    assert!(unmet.is_empty(), "no event showed {unmet:?}; seen: {shapes:?}");
}

#[tokio::test]
async fn the_schema_refuses_an_event_with_a_renamed_field_or_a_wrong_value() {
    let schema = schema();
    let envelopes = validator(&schema);
    let app = spawn_app().await;
    app.sign_up().await;
    let fields = [
        ("title", "Mutated"),
        ("priority", "high"),
        ("tags", "lab"),
        ("due_date", "2099-01-10"),
        ("due_time", "14:00"),
        ("reminders", "1h, 2099-01-09 18:00"),
    ];
    create(&app, &fields).await;
    let events = outbox(&app).await;
    let created = events.iter().find(|e| e["type"] == "task.created").expect("a task.created event");
    assert!(envelopes.is_valid(created), "unchanged, it matches:\n{}", explain(&schema, "TaskCreatedEvent", created));

    let mutations: [Mutation; 10] = [
        ("a task field renamed (priority to prio)", |e| {
            let task = e["payload"]["after"].as_object_mut().unwrap();
            let priority = task.remove("priority").unwrap();
            task.insert("prio".to_owned(), priority);
        }),
        ("a priority Rust does not have", |e| e["payload"]["after"]["priority"] = json!("asap")),
        ("an envelope field renamed (occurred_at to occurredAt)", |e| {
            let envelope = e.as_object_mut().unwrap();
            let at = envelope.remove("occurred_at").unwrap();
            envelope.insert("occurredAt".to_owned(), at);
        }),
        ("a required field left out (the title)", |e| {
            e["payload"]["after"].as_object_mut().unwrap().remove("title");
        }),
        ("a reminder variant renamed (BeforeDue to before_due)", |e| {
            let reminders = e["payload"]["after"]["reminders"].as_array_mut().unwrap();
            let relative = reminders.iter_mut().find(|r| r.get("BeforeDue").is_some()).unwrap();
            *relative = json!({ "before_due": relative["BeforeDue"].clone() });
        }),
        ("a payload kind that is not its type's", |e| e["payload"]["kind"] = json!("task_updated")),
        ("a newer schema version", |e| e["schema_version"] = json!(2)),
        ("a due date written the American way", |e| e["payload"]["after"]["due"]["date"] = json!("01/10/2099")),
        ("an instant without its zone", |e| e["occurred_at"] = json!("2099-01-10T14:00:00")),
        ("a task id that is not a UUID", |e| e["task_id"] = json!("42")),
    ];
    for (what, mutate) in mutations {
        let mut mutated = created.clone();
        mutate(&mut mutated);
        assert_ne!(&mutated, created, "{what} changed nothing");
        assert!(!envelopes.is_valid(&mutated), "the schema accepted {what}:\n  {mutated}");
    }

    // The CloudEvent form: its type must name the event its data is.
    let cloud_events = validator_of(&schema, "CloudEvent");
    let mut cloud = EventEnvelope::decode(created).unwrap().to_cloud_event();
    assert!(cloud_events.is_valid(&cloud), "unchanged, it matches:\n{}", explain(&schema, "CloudEvent", &cloud));
    cloud["type"] = json!("cadence.task.deleted.v1");
    assert!(!cloud_events.is_valid(&cloud), "the schema accepted a CloudEvent whose type is not its data's");
}
