//! Reminders: when each of a task's reminders fires, where a snooze moves
//! one, and how late a fired one was. All of it on the user's wall clock
//! where people think in days ("1 day before" is the same time the day
//! before, across DST too) and on instants where they think in minutes.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _, Utc};
use serde::{Deserialize, Serialize};

use crate::account::TimeZone;
use crate::error::ValidationError;
use crate::task::{resolve_local, wall_label, Due};

/// The form and API field reminder errors name.
pub const FIELD: &str = "reminders";

/// A task has at most this many reminders.
pub const MAX_PER_TASK: usize = 10;

/// Relative reminders reach back at most four weeks.
const MAX_MINUTES_BEFORE: u32 = 4 * 7 * 24 * 60;

/// Where the morning starts: "tomorrow morning" snoozes, and relative
/// reminders of a task due on a day without a time, count from it.
pub const MORNING: NaiveTime = match NaiveTime::from_hms_opt(9, 0, 0) {
    Some(t) => t,
    None => panic!("09:00 is a time"),
};

/// One reminder of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reminder {
    /// At a wall-clock date and time in the user's zone.
    At(NaiveDateTime),
    /// A number of minutes before the task is due (0: at the due time). It
    /// moves when the due time moves and follows each instance of a series.
    BeforeDue { minutes: u32 },
}

impl Reminder {
    /// Parses a relative reminder from a number of minutes before the due time.
    pub fn before_due(minutes: &str) -> Result<Self, ValidationError> {
        let minutes: u32 = minutes.trim().parse().map_err(|_| {
            ValidationError::new(FIELD, "Give the minutes before the due time as a number, 0 for at the due time.")
        })?;
        if minutes > MAX_MINUTES_BEFORE {
            return Err(ValidationError::new(FIELD, "A reminder comes at most four weeks before the due time."));
        }
        Ok(Self::BeforeDue { minutes })
    }

    /// Parses an absolute reminder from an HTML date and time.
    pub fn at(date: &str, time: &str) -> Result<Self, ValidationError> {
        let date = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
            .map_err(|_| ValidationError::new(FIELD, "Pick a date for the reminder."))?;
        let time = NaiveTime::parse_from_str(time.trim(), "%H:%M")
            .map_err(|_| ValidationError::new(FIELD, "Use a time like 17:30 for the reminder."))?;
        Ok(Self::At(date.and_time(time)))
    }

    /// When it fires for a task due `due`, in the user's `zone`; `None` for a
    /// relative reminder of a task with no due date.
    ///
    /// Whole days before are counted on the wall clock ("1 day before" a
    /// 09:00 task fires at 09:00 the day before, even across a DST change);
    /// other spans are counted in real minutes. A task due on a day without
    /// a time counts from [`MORNING`] of that day.
    pub fn fires_at(&self, due: Option<&Due>, zone: TimeZone) -> Option<DateTime<Utc>> {
        match *self {
            Self::At(local) => Some(resolve_local(zone.0, local)),
            Self::BeforeDue { minutes } => {
                let due = due?;
                let (at, wall) = match due.time {
                    Some(time) => (due.at, due.date.and_time(time)),
                    None => {
                        let wall = due.date.and_time(MORNING);
                        (resolve_local(due.zone.0, wall), wall)
                    }
                };
                const DAY: u32 = 24 * 60;
                if minutes % DAY == 0 {
                    Some(resolve_local(due.zone.0, wall - Duration::days(i64::from(minutes / DAY))))
                } else {
                    Some(at - Duration::minutes(i64::from(minutes)))
                }
            }
        }
    }

    /// "15 minutes before", "1 day before", "At the due time", "Mon 30 Mar 2026, 09:00".
    pub fn label(&self) -> String {
        match *self {
            Self::At(local) => wall_label(local.date(), Some(local.time())),
            Self::BeforeDue { minutes: 0 } => "At the due time".to_owned(),
            Self::BeforeDue { minutes } => {
                let (n, unit) = if minutes % (24 * 60) == 0 {
                    (minutes / (24 * 60), "day")
                } else if minutes % 60 == 0 {
                    (minutes / 60, "hour")
                } else {
                    (minutes, "minute")
                };
                format!("{n} {unit}{} before", if n == 1 { "" } else { "s" })
            }
        }
    }
}

/// A task's reminders: at most [`MAX_PER_TASK`], no two alike, in the order they were given.
pub fn parse_all(reminders: Vec<Reminder>) -> Result<Vec<Reminder>, ValidationError> {
    let mut unique: Vec<Reminder> = Vec::with_capacity(reminders.len());
    for r in reminders {
        if !unique.contains(&r) {
            unique.push(r);
        }
    }
    if unique.len() > MAX_PER_TASK {
        return Err(ValidationError::new(FIELD, format!("A task has at most {MAX_PER_TASK} reminders.")));
    }
    Ok(unique)
}

/// Parses the reminders field of a task form or the API: comma-separated
/// entries such as `at due`, `15m`, `2h`, `1d`, `1w` (before the due time)
/// or `2026-12-24 18:00` (a moment in the user's zone).
pub fn parse_list(text: &str) -> Result<Vec<Reminder>, ValidationError> {
    let mut reminders = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        reminders.push(parse_entry(entry)?);
    }
    parse_all(reminders)
}

fn parse_entry(entry: &str) -> Result<Reminder, ValidationError> {
    let lower = entry.to_ascii_lowercase();
    let lower = lower.trim_end_matches("before").trim();
    if matches!(lower, "at due" | "due" | "at due time" | "0" | "0m") {
        return Ok(Reminder::BeforeDue { minutes: 0 });
    }
    if let Some((date, time)) = lower.split_once(['T', 't', ' ']).filter(|(d, _)| d.len() == 10 && d.contains('-')) {
        return Reminder::at(date, time.trim());
    }
    let digits = lower.chars().take_while(char::is_ascii_digit).count();
    let unit = lower[digits..].trim();
    let per_unit = match unit {
        "m" | "min" | "mins" | "minute" | "minutes" => 1,
        "h" | "hr" | "hrs" | "hour" | "hours" => 60,
        "d" | "day" | "days" => 24 * 60,
        "w" | "week" | "weeks" => 7 * 24 * 60,
        _ => 0,
    };
    let count: Option<u32> = lower[..digits].parse().ok();
    match (count, per_unit) {
        (Some(n), per) if per > 0 => Reminder::before_due(&n.saturating_mul(per).to_string()),
        _ => Err(ValidationError::new(
            FIELD,
            format!("Write reminders like \u{201c}at due, 15m, 1h, 1d\u{201d} or \u{201c}2026-12-24 18:00\u{201d} (not \u{201c}{entry}\u{201d})."),
        )),
    }
}

/// The reminders field again: what `parse_list` reads back to the same reminders.
pub fn format_list(reminders: &[Reminder]) -> String {
    reminders
        .iter()
        .map(|r| match *r {
            Reminder::At(local) => local.format("%Y-%m-%d %H:%M").to_string(),
            Reminder::BeforeDue { minutes: 0 } => "at due".to_owned(),
            Reminder::BeforeDue { minutes } if minutes % (7 * 24 * 60) == 0 => format!("{}w", minutes / (7 * 24 * 60)),
            Reminder::BeforeDue { minutes } if minutes % (24 * 60) == 0 => format!("{}d", minutes / (24 * 60)),
            Reminder::BeforeDue { minutes } if minutes % 60 == 0 => format!("{}h", minutes / 60),
            Reminder::BeforeDue { minutes } => format!("{minutes}m"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A reminder carried from one instance of a series to the next, `days` later:
/// a relative one is unchanged (it follows the due time), an absolute one
/// moves by the same number of days on the wall clock.
pub fn carried(reminder: Reminder, days: i64) -> Reminder {
    match reminder {
        Reminder::At(local) => Reminder::At(local + Duration::days(days)),
        relative => relative,
    }
}

/// Where a fired reminder may be snoozed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Snooze {
    TenMinutes,
    OneHour,
    /// [`MORNING`] of the next day in the user's zone.
    TomorrowMorning,
    /// A chosen wall-clock time in the user's zone.
    Until(NaiveDateTime),
}

impl Snooze {
    /// The instant the reminder fires again, from `now`; a chosen time that is not in the future is refused.
    pub fn until(self, now: DateTime<Utc>, zone: TimeZone) -> Result<DateTime<Utc>, ValidationError> {
        match self {
            Self::TenMinutes => Ok(now + Duration::minutes(10)),
            Self::OneHour => Ok(now + Duration::hours(1)),
            Self::TomorrowMorning => {
                let today = zone.0.from_utc_datetime(&now.naive_utc()).date_naive();
                let tomorrow = today.succ_opt().unwrap_or(today);
                Ok(resolve_local(zone.0, tomorrow.and_time(MORNING)))
            }
            Self::Until(local) => {
                let at = resolve_local(zone.0, local);
                if at <= now {
                    return Err(ValidationError::new("snooze_until", "Pick a time in the future."));
                }
                Ok(at)
            }
        }
    }
}

/// How a reminder reached its user, measured from when it was due to when it fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Punctuality {
    /// Within a minute of its time.
    OnTime,
    /// Later (say, the servers were down), but within a day: still worth an alert.
    Late,
    /// More than a day late: delivered once, quietly, marked as missed.
    Missed,
}

impl Punctuality {
    /// Its name as stored and as the API and MCP tools show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnTime => "on_time",
            Self::Late => "late",
            Self::Missed => "missed",
        }
    }

    pub fn of(due: DateTime<Utc>, fired: DateTime<Utc>) -> Self {
        let late = fired - due;
        if late <= Duration::minutes(1) {
            Self::OnTime
        } else if late <= Duration::days(1) {
            Self::Late
        } else {
            Self::Missed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> TimeZone {
        TimeZone::parse(name).unwrap()
    }

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn berlin_due(date: &str, time: Option<&str>) -> Due {
        Due::parse(date, time.unwrap_or(""), zone("Europe/Berlin")).unwrap().unwrap()
    }

    fn in_berlin(at: DateTime<Utc>) -> String {
        at.with_timezone(&zone("Europe/Berlin").0).format("%Y-%m-%d %H:%M").to_string()
    }

    #[test]
    fn a_relative_reminder_counts_minutes_in_real_time_and_days_on_the_wall_clock() {
        let z = zone("Europe/Berlin");
        // Berlin moves its clocks forward on 28 March 2027.
        let due = berlin_due("2027-03-28", Some("09:00"));
        let fires = |minutes| in_berlin(Reminder::BeforeDue { minutes }.fires_at(Some(&due), z).unwrap());
        assert_eq!(fires(0), "2027-03-28 09:00");
        assert_eq!(fires(15), "2027-03-28 08:45");
        assert_eq!(fires(24 * 60), "2027-03-27 09:00", "one day before is the same time the day before, across DST");
        assert_eq!(fires(8 * 60), "2027-03-28 00:00", "eight real hours before, across the lost hour");
    }

    #[test]
    fn a_relative_reminder_of_a_day_without_a_time_counts_from_the_morning() {
        let due = berlin_due("2027-05-10", None);
        let z = zone("Europe/Berlin");
        assert_eq!(in_berlin(Reminder::BeforeDue { minutes: 0 }.fires_at(Some(&due), z).unwrap()), "2027-05-10 09:00");
        assert_eq!(
            Reminder::BeforeDue { minutes: 0 }.fires_at(None, z),
            None,
            "no due date, nothing to be relative to"
        );
    }

    #[test]
    fn an_absolute_reminder_fires_at_its_wall_clock_time_in_the_users_zone() {
        let r = Reminder::at("2027-07-01", "18:30").unwrap();
        assert_eq!(in_berlin(r.fires_at(None, zone("Europe/Berlin")).unwrap()), "2027-07-01 18:30");
        assert_eq!(Reminder::at("", "18:30").unwrap_err().field, FIELD);
        assert_eq!(Reminder::at("2027-07-01", "6pm").unwrap_err().field, FIELD);
    }

    #[test]
    fn bad_relative_reminders_name_the_field() {
        assert_eq!(Reminder::before_due("soon").unwrap_err().field, FIELD);
        assert_eq!(Reminder::before_due("-5").unwrap_err().field, FIELD);
        assert_eq!(Reminder::before_due(&(MAX_MINUTES_BEFORE + 1).to_string()).unwrap_err().field, FIELD);
        assert_eq!(Reminder::before_due(" 15 ").unwrap(), Reminder::BeforeDue { minutes: 15 });
    }

    #[test]
    fn a_task_keeps_at_most_ten_distinct_reminders() {
        let many: Vec<_> = (0..11).map(|m| Reminder::BeforeDue { minutes: m }).collect();
        assert_eq!(parse_all(many).unwrap_err().field, FIELD);
        let doubled = vec![Reminder::BeforeDue { minutes: 5 }, Reminder::BeforeDue { minutes: 5 }];
        assert_eq!(parse_all(doubled).unwrap(), vec![Reminder::BeforeDue { minutes: 5 }]);
    }

    #[test]
    fn reminders_read_as_people_say_them() {
        assert_eq!(Reminder::BeforeDue { minutes: 0 }.label(), "At the due time");
        assert_eq!(Reminder::BeforeDue { minutes: 15 }.label(), "15 minutes before");
        assert_eq!(Reminder::BeforeDue { minutes: 60 }.label(), "1 hour before");
        assert_eq!(Reminder::BeforeDue { minutes: 2 * 24 * 60 }.label(), "2 days before");
        assert_eq!(Reminder::At(local("2026-03-30 09:00")).label(), "Mon 30 Mar 2026, 09:00");
    }

    #[test]
    fn snoozes_move_a_reminder_forward_from_now() {
        let z = zone("Europe/Berlin");
        let now = resolve_local(z.0, local("2027-03-27 22:50"));
        assert_eq!(in_berlin(Snooze::TenMinutes.until(now, z).unwrap()), "2027-03-27 23:00");
        assert_eq!(in_berlin(Snooze::OneHour.until(now, z).unwrap()), "2027-03-27 23:50");
        assert_eq!(
            in_berlin(Snooze::TomorrowMorning.until(now, z).unwrap()),
            "2027-03-28 09:00",
            "09:00 local, on the DST day too"
        );
        assert_eq!(in_berlin(Snooze::Until(local("2027-03-29 07:15")).until(now, z).unwrap()), "2027-03-29 07:15");
        assert_eq!(Snooze::Until(local("2027-03-27 22:00")).until(now, z).unwrap_err().field, "snooze_until");
    }

    #[test]
    fn tomorrow_morning_is_the_users_tomorrow_not_utcs() {
        // 23:30 UTC on 1 May is already 2 May in Tokyo: tomorrow morning there is 3 May.
        let z = zone("Asia/Tokyo");
        let now = Utc.with_ymd_and_hms(2027, 5, 1, 23, 30, 0).unwrap();
        let at = Snooze::TomorrowMorning.until(now, z).unwrap().with_timezone(&z.0);
        assert_eq!(at.format("%Y-%m-%d %H:%M").to_string(), "2027-05-03 09:00");
    }

    #[test]
    fn a_reminder_fired_late_is_marked_late_and_one_a_day_late_missed() {
        let due = Utc.with_ymd_and_hms(2027, 1, 1, 9, 0, 0).unwrap();
        assert_eq!(Punctuality::of(due, due + Duration::seconds(2)), Punctuality::OnTime);
        assert_eq!(Punctuality::of(due, due + Duration::hours(3)), Punctuality::Late);
        assert_eq!(Punctuality::of(due, due + Duration::days(3)), Punctuality::Missed);
    }

    #[test]
    fn the_reminders_field_reads_relative_and_absolute_entries_and_prints_them_back() {
        let list = parse_list("at due, 15m, 2 hours before, 1d, 1w, 2026-12-24 18:00, 15 min").unwrap();
        assert_eq!(
            list,
            [
                Reminder::BeforeDue { minutes: 0 },
                Reminder::BeforeDue { minutes: 15 },
                Reminder::BeforeDue { minutes: 120 },
                Reminder::BeforeDue { minutes: 1440 },
                Reminder::BeforeDue { minutes: 10080 },
                Reminder::At(local("2026-12-24 18:00")),
            ],
            "the repeated 15 minutes counts once"
        );
        let text = format_list(&list);
        assert_eq!(text, "at due, 15m, 2h, 1d, 1w, 2026-12-24 18:00");
        assert_eq!(parse_list(&text).unwrap(), list);
        assert_eq!(parse_list("  ").unwrap(), []);
    }

    #[test]
    fn bad_reminder_entries_are_refused_naming_the_reminders_field() {
        for bad in ["soon", "15x", "5w", "2026-13-01 09:00", "m", "1,2,3,4,5,6,7,8,9,10,11"] {
            let e = parse_list(bad).unwrap_err();
            assert_eq!(e.field, FIELD, "{bad}");
        }
    }

    #[test]
    fn a_carried_reminder_moves_with_its_instance_only_when_absolute() {
        assert_eq!(carried(Reminder::BeforeDue { minutes: 15 }, 7), Reminder::BeforeDue { minutes: 15 });
        assert_eq!(carried(Reminder::At(local("2026-12-01 08:00")), 7), Reminder::At(local("2026-12-08 08:00")));
    }
}
