//! The one line the page shows for each tool call: while it runs ("Adding
//! task “Buy milk”…"), once it is done ("Added task “Buy milk” — due
//! tomorrow 9:00"), and when it waits for approval ("Delete task “Buy
//! milk”?"). Read from the call's arguments and the tool's JSON result,
//! dates in the user's own terms; plain text, which the page escapes.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Weekday};
use serde_json::Value;

use super::tools::ToolOutcome;

/// How the page words each tool: while it runs, once done, and if it fails.
fn words(name: &str) -> (&'static str, &'static str, &'static str) {
    match name {
        "add_task" => ("Adding task", "Added task", "Could not add the task"),
        "list_tasks" => ("Looking through your tasks", "Found", "Could not list your tasks"),
        "get_task" => ("Reading a task", "Read task", "Could not read the task"),
        "update_task" => ("Updating a task", "Updated task", "Could not update the task"),
        "complete_task" => ("Completing a task", "Completed", "Could not complete the task"),
        "reopen_task" => ("Reopening a task", "Reopened", "Could not reopen the task"),
        "delete_task" => ("Deleting a task", "Deleted task", "Could not delete the task"),
        "snooze_reminder" => ("Snoozing a reminder", "Snoozed the reminder", "Could not snooze the reminder"),
        "list_notifications" => ("Reading your notifications", "Read", "Could not read your notifications"),
        "mark_notifications_read" => {
            ("Marking notifications read", "Marked notifications read", "Could not mark notifications read")
        }
        _ => ("Running a tool", "Ran a tool", "A tool failed"),
    }
}

/// The task's title a result (a task, or one under `task` or `deleted`) or the arguments name.
pub fn title_of(v: &Value) -> Option<&str> {
    [v.get("title"), v.pointer("/task/title"), v.pointer("/deleted/title")]
        .into_iter()
        .flatten()
        .find_map(Value::as_str)
        .filter(|t| !t.is_empty())
}

fn quoted(title: Option<&str>) -> String {
    title.map(|t| format!(" \u{201c}{}\u{201d}", shorten(t, 80))).unwrap_or_default()
}

fn shorten(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    if line.chars().count() <= max {
        line.to_owned()
    } else {
        format!("{}\u{2026}", line.chars().take(max - 1).collect::<String>())
    }
}

/// The line while the call runs.
pub fn starting(name: &str, arguments: &Value) -> String {
    let (doing, _, _) = words(name);
    let title = if name == "add_task" { title_of(arguments) } else { None };
    format!("{doing}{}\u{2026}", quoted(title))
}

/// The line asking the user to approve a call; `title` is the task's, when known.
pub fn confirm(name: &str, title: Option<&str>) -> String {
    match name {
        "delete_task" => format!("Delete task{}?", quoted(title)),
        other => format!("Run {other}{}?", quoted(title)),
    }
}

/// The line for a call the user declined, or left waiting by writing something else.
pub fn not_run(name: &str, declined: bool) -> String {
    let what = if name == "delete_task" { "the task was not deleted" } else { "nothing was done" };
    if declined {
        format!("Cancelled: {what}")
    } else {
        format!("Not approved: {what}")
    }
}

/// The line once the call is done.
pub fn finished(name: &str, arguments: &Value, outcome: &ToolOutcome, today: NaiveDate) -> String {
    let (_, done, failed) = words(name);
    if outcome.is_error {
        // A tool's structured error has the plain sentence; its text names fields for the model.
        let said = outcome.json.as_ref().and_then(|j| j.get("message")).and_then(Value::as_str);
        return format!("{failed}: {}", shorten(said.unwrap_or(&outcome.text), 160));
    }
    let result = outcome.json.as_ref().unwrap_or(&Value::Null);
    let title = title_of(result).or_else(|| title_of(arguments));
    match name {
        "list_tasks" | "list_notifications" => {
            let noun = if name == "list_tasks" { "task" } else { "notification" };
            match count(result) {
                Some(1) => format!("{done} 1 {noun}"),
                Some(n) => format!("{done} {n} {noun}s"),
                None => format!("{done} your {noun}s"),
            }
        }
        "add_task" | "update_task" => {
            let due = due_of(result).map(|(date, time)| format!(" \u{2014} due {}", when(date, time, today)));
            format!("{done}{}{}", quoted(title), due.unwrap_or_default())
        }
        "mark_notifications_read" => done.to_owned(),
        _ if title.is_some() => format!("{done}{}", quoted(title)),
        "delete_task" => "Deleted the task".to_owned(),
        _ => done.to_owned(),
    }
}

/// How many things a listing returned.
fn count(v: &Value) -> Option<usize> {
    if let Some(all) = v.as_array() {
        return Some(all.len());
    }
    ["items", "tasks", "notifications"].into_iter().find_map(|k| v.get(k)?.as_array().map(Vec::len))
}

/// A task's due date and time, as results give it: `{"date", "time"}` or an
/// ISO date or date and time.
fn due_of(v: &Value) -> Option<(NaiveDate, Option<NaiveTime>)> {
    let due = [v.get("due"), v.pointer("/task/due")].into_iter().flatten().find(|d| !d.is_null())?;
    if let Some(date) = due.get("date").and_then(Value::as_str) {
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
        let time = due.get("time").and_then(Value::as_str).and_then(|t| {
            NaiveTime::parse_from_str(t, "%H:%M").or_else(|_| NaiveTime::parse_from_str(t, "%H:%M:%S")).ok()
        });
        return Some((date, time));
    }
    let text = due.as_str()?;
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some((date, None));
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .into_iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .map(|at| (at.date(), Some(at.time())))
}

/// A day and time as a person says it, seen from `today`: "today 9:00",
/// "tomorrow", "Friday 18:30", "Sat 12 Dec", "Mon 4 Jan 2027".
pub fn when(date: NaiveDate, time: Option<NaiveTime>, today: NaiveDate) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = (date - today).num_days();
    let mut label = match days {
        0 => "today".to_owned(),
        1 => "tomorrow".to_owned(),
        -1 => "yesterday".to_owned(),
        2..=6 => weekday_name(date.weekday()).to_owned(),
        _ => {
            let short = &weekday_name(date.weekday())[..3];
            let year = if date.year() == today.year() { String::new() } else { format!(" {}", date.year()) };
            format!("{short} {} {}{year}", date.day(), MONTHS[date.month0() as usize])
        }
    };
    if let Some(t) = time {
        label.push_str(&format!(" {}:{:02}", t.hour(), t.minute()));
    }
    label
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn ok(json: Value) -> ToolOutcome {
        ToolOutcome { text: json.to_string(), json: Some(json), is_error: false }
    }

    #[test]
    fn days_near_today_are_named_as_people_say_them() {
        let today = day("2026-11-27");
        let nine = NaiveTime::from_hms_opt(9, 0, 0);
        assert_eq!(when(day("2026-11-28"), nine, today), "tomorrow 9:00");
        assert_eq!(when(today, None, today), "today");
        assert_eq!(when(day("2026-11-26"), None, today), "yesterday");
        assert_eq!(when(day("2026-12-02"), NaiveTime::from_hms_opt(18, 30, 0), today), "Wednesday 18:30");
        assert_eq!(when(day("2026-12-12"), None, today), "Sat 12 Dec");
        assert_eq!(when(day("2027-01-04"), None, today), "Mon 4 Jan 2027");
    }

    #[test]
    fn each_call_gets_a_line_from_its_result_or_its_arguments() {
        let today = day("2026-11-27");
        let added = ok(json!({ "id": "t1", "title": "Buy milk", "due": { "date": "2026-11-28", "time": "09:00" } }));
        assert_eq!(
            finished("add_task", &json!({}), &added, today),
            "Added task \u{201c}Buy milk\u{201d} \u{2014} due tomorrow 9:00"
        );
        assert_eq!(
            starting("add_task", &json!({ "title": "Buy milk" })),
            "Adding task \u{201c}Buy milk\u{201d}\u{2026}"
        );
        let listed = ok(json!({ "items": [{ "title": "a" }, { "title": "b" }], "total": 2 }));
        assert_eq!(finished("list_tasks", &json!({}), &listed, today), "Found 2 tasks");
        let completed = ok(json!({ "task": { "title": "Pay rent" } }));
        assert_eq!(finished("complete_task", &json!({}), &completed, today), "Completed \u{201c}Pay rent\u{201d}");
        assert_eq!(finished("delete_task", &json!({ "id": "t1" }), &ok(json!({})), today), "Deleted the task");
        let deleted = ok(json!({ "deleted": { "title": "Old" }, "scope": "this" }));
        assert_eq!(finished("delete_task", &json!({}), &deleted, today), "Deleted task \u{201c}Old\u{201d}");
        let refused = ToolOutcome::refused("Give the task a title.\nMore detail");
        assert_eq!(finished("add_task", &json!({}), &refused, today), "Could not add the task: Give the task a title.");
        assert_eq!(confirm("delete_task", Some("Buy milk")), "Delete task \u{201c}Buy milk\u{201d}?");
        let invalid = ToolOutcome {
            text: "Invalid input: `title`: Give the task a title.".into(),
            json: Some(json!({ "error": "invalid", "message": "Give the task a title." })),
            is_error: true,
        };
        assert_eq!(
            finished("update_task", &json!({}), &invalid, today),
            "Could not update the task: Give the task a title."
        );
        assert_eq!(not_run("delete_task", true), "Cancelled: the task was not deleted");
    }
}
