//! How a task repeats: the series it belongs to, its rule and anchor, and
//! which instance of the series it is; and the repeat fields of the task
//! form (presets, every-N, an end, or a raw RRULE) that become a rule.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::account::TimeZone;
use crate::error::ValidationError;
use crate::recurrence::{self, Anchor, ByDay, End, Frequency, Occurrence, Recurrence, RecurrenceRule};
use crate::task::Due;

/// The series a recurring task's instances share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SeriesId(pub Uuid);

impl fmt::Display for SeriesId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A recurring task's place in its series. The series' local start day,
/// wall-clock time and zone are the source of truth of every occurrence (not
/// an instant, so a tz database update cannot shift the series);
/// `occurrence` is the day this instance was scheduled for, the key that
/// makes each instance of a series unique (it stays when the instance alone
/// is moved to another day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repeat {
    pub series: SeriesId,
    pub rule: RecurrenceRule,
    pub anchor: Anchor,
    pub start: NaiveDate,
    /// The series' time of day, on the wall clock; `None` for a day without a time.
    pub time: Option<NaiveTime>,
    pub zone: TimeZone,
    #[serde(default)]
    pub skipped: BTreeSet<NaiveDate>,
    pub occurrence: NaiveDate,
    /// 1 for the first instance; COUNT ends the series after its last.
    pub instance: u32,
}

impl Repeat {
    /// A new series whose first instance is due `due`.
    pub fn first(series: SeriesId, draft: RepeatDraft, due: &Due) -> Self {
        Repeat {
            series,
            rule: draft.rule,
            anchor: draft.anchor,
            start: due.date,
            time: due.time,
            zone: due.zone,
            skipped: draft.skipped.unwrap_or_default(),
            occurrence: due.date,
            instance: 1,
        }
    }

    /// The series' recurrence, from its local start.
    pub fn recurrence(&self) -> Recurrence {
        Recurrence {
            rule: self.rule.clone(),
            start: self.start,
            time: self.time,
            zone: self.zone,
            skipped: self.skipped.clone(),
        }
    }

    /// The instance after this one, completed on the user's local day `done`,
    /// where `due` is this instance's due date; `None` once the series ended.
    pub fn next(&self, due: &Due, done: NaiveDate) -> Option<(Repeat, Occurrence)> {
        let next = self.recurrence().next_instance(self.anchor, due.date.max(self.occurrence), done, self.instance)?;
        let repeat = Repeat { occurrence: next.date(), instance: self.instance.saturating_add(1), ..self.clone() };
        Some((repeat, next))
    }

    /// The next `n` occurrences from this instance on (this one first), as the task page lists them.
    pub fn upcoming(&self, due: &Due, n: usize) -> Vec<Occurrence> {
        let recurrence = self.recurrence();
        let mut dates = vec![Occurrence { due: *due }];
        let mut last = due.date.max(self.occurrence);
        while dates.len() < n {
            match recurrence.next_after(last) {
                Some(o) => {
                    last = o.date();
                    dates.push(o);
                }
                None => break,
            }
        }
        // COUNT counts from the series' start; this instance's number says how many are left.
        if let End::Count(count) = self.rule.end {
            dates.truncate(count.saturating_sub(self.instance.saturating_sub(1)) as usize);
        }
        dates
    }

    /// The rule as a sentence, e.g. "Every 2 weeks on Monday and Wednesday".
    pub fn describe(&self) -> String {
        self.rule.describe(self.start)
    }

    /// The rule and its skipped days as RRULE and EXDATE lines, as a power user edits them.
    pub fn lines(&self) -> String {
        let mut text = format!("RRULE:{}", self.rule);
        if !self.skipped.is_empty() {
            let days: Vec<String> = self.skipped.iter().map(|d| d.format("%Y%m%d").to_string()).collect();
            text.push_str("\nEXDATE:");
            text.push_str(&days.join(","));
        }
        text
    }
}

/// The repeat fields of a task form, as posted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepeatInput {
    /// `""`/`none`, `daily`, `weekdays`, `weekly`, `monthly`, `monthly_weekday`, `yearly` or `custom`.
    #[serde(default)]
    pub repeat: String,
    /// Every how many days, weeks, months or years; empty for 1.
    #[serde(default)]
    pub repeat_every: String,
    /// Weekly: the days, as codes (`MO,WE`); empty for the due date's weekday.
    #[serde(default)]
    pub repeat_days: String,
    /// `never` (or empty), `until` or `count`.
    #[serde(default)]
    pub repeat_end: String,
    #[serde(default)]
    pub repeat_until: String,
    #[serde(default)]
    pub repeat_count: String,
    /// `schedule` (or empty) or `completion`.
    #[serde(default)]
    pub repeat_from: String,
    /// Custom: RRULE and EXDATE lines.
    #[serde(default)]
    pub recurrence: String,
}

/// A parsed repeat: the rule, its anchor, and the days to skip (`None` keeps
/// what the series skipped before: presets have no field for them).
#[derive(Debug, Clone, PartialEq)]
pub struct RepeatDraft {
    pub rule: RecurrenceRule,
    pub anchor: Anchor,
    pub skipped: Option<BTreeSet<NaiveDate>>,
}

const WEEKDAYS: [(Weekday, &str); 7] = [
    (Weekday::Mon, "MO"),
    (Weekday::Tue, "TU"),
    (Weekday::Wed, "WE"),
    (Weekday::Thu, "TH"),
    (Weekday::Fri, "FR"),
    (Weekday::Sat, "SA"),
    (Weekday::Sun, "SU"),
];

pub fn weekday_code(day: Weekday) -> &'static str {
    WEEKDAYS[day.num_days_from_monday() as usize].1
}

impl RepeatInput {
    /// The repeat these fields ask for, on a task first due on `due`; `None` for no repeat.
    pub fn parse(&self, due: Option<&Due>) -> Result<Option<RepeatDraft>, ValidationError> {
        let preset = self.repeat.trim().to_ascii_lowercase();
        if preset.is_empty() || preset == "none" {
            return Ok(None);
        }
        let anchor = Anchor::parse(&self.repeat_from)?;
        let Some(due) = due else {
            return Err(ValidationError::new("due_date", "A repeating task needs a due date: its first occurrence."));
        };
        if preset == "custom" {
            let (rule, skipped) = recurrence::parse_lines(&self.recurrence)?;
            return Ok(Some(RepeatDraft { rule, anchor, skipped: Some(skipped) }));
        }
        let every = match self.repeat_every.trim() {
            "" => 1,
            raw => match raw.parse::<u32>() {
                Ok(n) if (1..=1000).contains(&n) => n,
                _ => {
                    return Err(ValidationError::new(
                        "repeat_every",
                        "Repeat every 1 to 1,000 days, weeks, months or years.",
                    ))
                }
            },
        };
        let day = due.date;
        let (freq, by) = match preset.as_str() {
            "daily" => ("DAILY", String::new()),
            "weekdays" => ("WEEKLY", ";BYDAY=MO,TU,WE,TH,FR".to_owned()),
            "weekly" => {
                let mut codes = Vec::new();
                for code in self.repeat_days.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                    let code = code.to_ascii_uppercase();
                    if !WEEKDAYS.iter().any(|(_, c)| *c == code) {
                        return Err(ValidationError::new("repeat_days", "Pick days of the week."));
                    }
                    codes.push(code);
                }
                if codes.is_empty() {
                    codes.push(weekday_code(day.weekday()).to_owned());
                }
                ("WEEKLY", format!(";BYDAY={}", codes.join(",")))
            }
            "monthly" => ("MONTHLY", format!(";BYMONTHDAY={}", day.day())),
            "monthly_weekday" => {
                let nth = (day.day() - 1) / 7 + 1;
                // The fifth of a weekday is always its last.
                let nth = if nth == 5 { "-1".to_owned() } else { nth.to_string() };
                ("MONTHLY", format!(";BYDAY={nth}{}", weekday_code(day.weekday())))
            }
            "yearly" => ("YEARLY", String::new()),
            _ => return Err(ValidationError::new("repeat", "Choose how the task repeats.")),
        };
        let end = match self.repeat_end.trim() {
            "" | "never" => String::new(),
            "until" => {
                let until = NaiveDate::parse_from_str(self.repeat_until.trim(), "%Y-%m-%d")
                    .map_err(|_| ValidationError::new("repeat_until", "Pick the last day the task repeats on."))?;
                if until < day {
                    return Err(ValidationError::new("repeat_until", "The last day comes on or after the due date."));
                }
                format!(";UNTIL={}", until.format("%Y%m%d"))
            }
            "count" => match self.repeat_count.trim().parse::<u32>() {
                Ok(n) if (1..=10_000).contains(&n) => format!(";COUNT={n}"),
                _ => return Err(ValidationError::new("repeat_count", "Repeat 1 to 10,000 times.")),
            },
            _ => return Err(ValidationError::new("repeat_end", "End never, on a day, or after a number of times.")),
        };
        let rule = RecurrenceRule::parse(&format!("FREQ={freq};INTERVAL={every}{by}{end}"))?;
        Ok(Some(RepeatDraft { rule, anchor, skipped: None }))
    }

    /// The fields that show `repeat` in the form again: its preset where the
    /// rule is one, `custom` otherwise; the raw lines are always filled in.
    pub fn of(repeat: &Repeat) -> Self {
        let rule = &repeat.rule;
        let plain_days = rule.by_day.iter().all(|b| b.nth.is_none());
        let weekdays: Vec<ByDay> =
            WEEKDAYS[..5].iter().map(|(weekday, _)| ByDay { nth: None, weekday: *weekday }).collect();
        let simple = rule.by_month.is_empty() && rule.by_set_pos.is_empty() && rule.week_start == Weekday::Mon;
        let start = repeat.start;
        let preset = match rule.frequency {
            _ if !simple => "custom",
            Frequency::Daily if rule.by_day.is_empty() && rule.by_month_day.is_empty() => "daily",
            Frequency::Weekly if rule.by_day == weekdays => "weekdays",
            Frequency::Weekly if plain_days && rule.by_month_day.is_empty() => "weekly",
            Frequency::Monthly if rule.by_day.is_empty() && rule.by_month_day == [start.day() as i8] => "monthly",
            Frequency::Monthly if rule.by_month_day.is_empty() && rule.by_day.len() == 1 && !plain_days => {
                "monthly_weekday"
            }
            Frequency::Yearly if rule.by_day.is_empty() && rule.by_month_day.is_empty() => "yearly",
            _ => "custom",
        };
        let (repeat_end, repeat_until, repeat_count) = match rule.end {
            End::Never => ("never", String::new(), String::new()),
            End::Count(n) => ("count", String::new(), n.to_string()),
            End::UntilDate(d) => ("until", d.format("%Y-%m-%d").to_string(), String::new()),
            End::UntilInstant(t) => ("until", t.date_naive().format("%Y-%m-%d").to_string(), String::new()),
        };
        Self {
            repeat: preset.to_owned(),
            repeat_every: rule.interval.to_string(),
            repeat_days: rule.by_day.iter().map(|b| weekday_code(b.weekday)).collect::<Vec<_>>().join(","),
            repeat_end: repeat_end.to_owned(),
            repeat_until,
            repeat_count,
            repeat_from: repeat.anchor.as_str().to_owned(),
            recurrence: repeat.lines(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(date: &str) -> Due {
        Due::parse(date, "09:00", TimeZone::parse("Europe/Berlin").unwrap()).unwrap().unwrap()
    }

    fn input(repeat: &str) -> RepeatInput {
        RepeatInput { repeat: repeat.to_owned(), ..Default::default() }
    }

    fn rule_of(input: &RepeatInput, date: &str) -> String {
        input.parse(Some(&due(date))).unwrap().unwrap().rule.to_string()
    }

    fn series(rule: &str, start: &str, anchor: Anchor) -> Repeat {
        let draft = RepeatDraft { rule: RecurrenceRule::parse(rule).unwrap(), anchor, skipped: None };
        Repeat::first(SeriesId(Uuid::nil()), draft, &due(start))
    }

    #[test]
    fn presets_become_the_rules_they_name() {
        // 2026-11-26 is the fourth Thursday of November.
        assert_eq!(rule_of(&input("daily"), "2026-11-26"), "FREQ=DAILY");
        assert_eq!(rule_of(&input("weekdays"), "2026-11-26"), "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR");
        assert_eq!(rule_of(&input("weekly"), "2026-11-26"), "FREQ=WEEKLY;BYDAY=TH");
        let weekly = RepeatInput { repeat_every: "2".into(), repeat_days: "mo,WE".into(), ..input("weekly") };
        assert_eq!(rule_of(&weekly, "2026-11-26"), "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE");
        assert_eq!(rule_of(&input("monthly"), "2026-11-26"), "FREQ=MONTHLY;BYMONTHDAY=26");
        assert_eq!(rule_of(&input("monthly_weekday"), "2026-11-26"), "FREQ=MONTHLY;BYDAY=4TH");
        assert_eq!(rule_of(&input("monthly_weekday"), "2026-10-29"), "FREQ=MONTHLY;BYDAY=-1TH", "the 5th is the last");
        assert_eq!(rule_of(&input("yearly"), "2026-11-26"), "FREQ=YEARLY");
        let until = RepeatInput { repeat_end: "until".into(), repeat_until: "2027-03-31".into(), ..input("daily") };
        assert_eq!(rule_of(&until, "2026-11-26"), "FREQ=DAILY;UNTIL=20270331");
        let count = RepeatInput { repeat_end: "count".into(), repeat_count: "5".into(), ..input("daily") };
        assert_eq!(rule_of(&count, "2026-11-26"), "FREQ=DAILY;COUNT=5");
    }

    #[test]
    fn no_repeat_needs_nothing_and_a_repeat_needs_a_due_date() {
        assert_eq!(input("").parse(None).unwrap(), None);
        assert_eq!(input("none").parse(None).unwrap(), None);
        assert_eq!(input("daily").parse(None).unwrap_err().field, "due_date");
    }

    #[test]
    fn bad_repeat_fields_are_refused_naming_the_field() {
        let d = due("2026-11-26");
        let field = |i: RepeatInput| i.parse(Some(&d)).unwrap_err().field;
        assert_eq!(field(RepeatInput { repeat_every: "0".into(), ..input("daily") }), "repeat_every");
        assert_eq!(field(RepeatInput { repeat_every: "x".into(), ..input("daily") }), "repeat_every");
        assert_eq!(field(RepeatInput { repeat_days: "XX".into(), ..input("weekly") }), "repeat_days");
        assert_eq!(field(RepeatInput { repeat_end: "until".into(), ..input("daily") }), "repeat_until");
        let early = RepeatInput { repeat_end: "until".into(), repeat_until: "2026-11-01".into(), ..input("daily") };
        assert_eq!(field(early), "repeat_until");
        assert_eq!(
            field(RepeatInput { repeat_end: "count".into(), repeat_count: "0".into(), ..input("daily") }),
            "repeat_count"
        );
        assert_eq!(field(input("hourly")), "repeat");
        assert_eq!(field(RepeatInput { recurrence: "FREQ=SECONDLY".into(), ..input("custom") }), "recurrence");
        assert_eq!(field(RepeatInput { repeat_from: "later".into(), ..input("daily") }), "repeat_from");
    }

    #[test]
    fn a_custom_rule_keeps_its_skipped_days() {
        let custom = RepeatInput { recurrence: "RRULE:FREQ=DAILY\nEXDATE:20261127".into(), ..input("custom") };
        let draft = custom.parse(Some(&due("2026-11-26"))).unwrap().unwrap();
        assert_eq!(draft.skipped.unwrap().len(), 1);
    }

    #[test]
    fn a_stored_repeat_fills_the_form_with_its_preset_and_reads_back_the_same() {
        for (rule, preset) in [
            ("FREQ=DAILY;INTERVAL=3", "daily"),
            ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "weekdays"),
            ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;UNTIL=20270331", "weekly"),
            ("FREQ=MONTHLY;BYMONTHDAY=26;COUNT=4", "monthly"),
            ("FREQ=MONTHLY;BYDAY=4TH", "monthly_weekday"),
            ("FREQ=YEARLY", "yearly"),
            ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "custom"),
        ] {
            let repeat = series(rule, "2026-11-26", Anchor::Schedule);
            let form = RepeatInput::of(&repeat);
            assert_eq!(form.repeat, preset, "{rule}");
            let back = form.parse(Some(&due("2026-11-26"))).unwrap().unwrap();
            assert_eq!(back.rule, repeat.rule, "{rule}");
        }
    }

    #[test]
    fn the_next_instance_follows_the_schedule_and_skips_past_dates() {
        let daily = series("FREQ=DAILY", "2026-11-01", Anchor::Schedule);
        let first = due("2026-11-01");
        let (next, at) = daily.next(&first, NaiveDate::from_ymd_opt(2026, 11, 6).unwrap()).unwrap();
        assert_eq!(at.date().to_string(), "2026-11-07", "five days late: the next one is tomorrow, not in the past");
        assert_eq!((next.occurrence, next.instance), (at.date(), 2));
        assert_eq!(at.due.time, first.time);
    }

    #[test]
    fn the_next_instance_counts_from_completion_and_never_lands_on_this_one() {
        let every3 = series("FREQ=DAILY;INTERVAL=3", "2026-11-10", Anchor::Completion);
        let d = due("2026-11-10");
        let (_, at) = every3.next(&d, NaiveDate::from_ymd_opt(2026, 11, 12).unwrap()).unwrap();
        assert_eq!(at.date().to_string(), "2026-11-15");
        let (_, early) = every3.next(&d, NaiveDate::from_ymd_opt(2026, 11, 5).unwrap()).unwrap();
        assert!(early.date() > d.date, "done early, the next is still after this one: {}", early.date());
    }

    #[test]
    fn count_ends_the_series_and_upcoming_stops_there() {
        let thrice = series("FREQ=DAILY;COUNT=3", "2026-11-01", Anchor::Schedule);
        let d = due("2026-11-01");
        assert_eq!(thrice.upcoming(&d, 5).len(), 3);
        let (second, at) = thrice.next(&d, d.date).unwrap();
        let (third, at3) = second.next(&at.due, at.date()).unwrap();
        assert_eq!(third.instance, 3);
        assert!(third.next(&at3.due, at3.date()).is_none(), "the third of three is the last");
        assert_eq!(third.upcoming(&at3.due, 5).len(), 1);
    }

    #[test]
    fn an_instance_moved_to_another_time_leaves_the_series_at_its_own() {
        let daily = series("FREQ=DAILY", "2026-11-23", Anchor::Schedule);
        let moved = Due::parse("2026-11-23", "17:00", daily.zone).unwrap().unwrap();
        let (_, next) = daily.next(&moved, moved.date).unwrap();
        assert_eq!((next.date().to_string(), next.due.time_input()), ("2026-11-24".to_owned(), "09:00".to_owned()));
    }

    #[test]
    fn upcoming_lists_this_instance_then_the_next_ones() {
        let weekly = series("FREQ=WEEKLY;BYDAY=MO,WE", "2026-11-23", Anchor::Schedule);
        let dates: Vec<String> = weekly.upcoming(&due("2026-11-23"), 5).iter().map(|o| o.date().to_string()).collect();
        assert_eq!(dates, ["2026-11-23", "2026-11-25", "2026-11-30", "2026-12-02", "2026-12-07"]);
    }
}
