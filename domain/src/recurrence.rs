//! Recurrence rules: the parts of an RFC 5545 `RRULE` a task needs (FREQ
//! daily to yearly, INTERVAL, BYDAY with ordinals, BYMONTHDAY, BYMONTH,
//! BYSETPOS, COUNT or UNTIL, WKST) plus skipped dates (EXDATE), and the
//! occurrences they produce. Occurrences are worked out on wall-clock dates
//! in the task's zone and only then resolved to instants, so "every day at
//! 09:00 Europe/Berlin" stays 09:00 local across DST, and a wall time that a
//! DST gap skips moves forward exactly as a due date typed for it does.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};

use crate::account::TimeZone;
use crate::error::ValidationError;
use crate::task::Due;

/// The form field (and API field) every rule error names.
pub const FIELD: &str = "recurrence";

/// Rules repeat at most this often between a start and their end; a rule
/// with no occurrence for this long is treated as ended.
const SEARCH_DAYS: u64 = 400 * 366;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Frequency {
    fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "DAILY",
            Self::Weekly => "WEEKLY",
            Self::Monthly => "MONTHLY",
            Self::Yearly => "YEARLY",
        }
    }
}

/// A BYDAY entry: a weekday, optionally the n-th of it in the month or year (negative counts from the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ByDay {
    pub nth: Option<i16>,
    pub weekday: Weekday,
}

/// When a rule stops: never, after a number of occurrences (the start counts
/// as the first), or after a date or an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum End {
    Never,
    Count(u32),
    /// The last day that may hold an occurrence, in the task's zone.
    UntilDate(NaiveDate),
    /// The last instant that may hold an occurrence (`UNTIL=…Z`).
    UntilInstant(DateTime<Utc>),
}

/// A parsed rule. Lists are sorted and free of duplicates, so equal rules compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecurrenceRule {
    pub frequency: Frequency,
    pub interval: u32,
    pub by_day: Vec<ByDay>,
    pub by_month_day: Vec<i8>,
    pub by_month: Vec<u32>,
    pub by_set_pos: Vec<i16>,
    pub week_start: Weekday,
    pub end: End,
}

fn invalid(message: impl Into<String>) -> ValidationError {
    ValidationError::new(FIELD, message)
}

fn weekday(code: &str) -> Option<Weekday> {
    Some(match code {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

fn weekday_code(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

/// Parses a comma-separated list of integers within `range`, none of them 0 unless `zero_ok`.
fn int_list(
    key: &str,
    value: &str,
    range: std::ops::RangeInclusive<i32>,
    zero_ok: bool,
) -> Result<Vec<i32>, ValidationError> {
    value
        .split(',')
        .map(|part| {
            let n: i32 = part
                .trim()
                .parse()
                .map_err(|_| invalid(format!("{key} takes numbers, not \u{201c}{part}\u{201d}.")))?;
            if !range.contains(&n) || (n == 0 && !zero_ok) {
                return Err(invalid(format!(
                    "{key} values lie between {} and {}, without 0.",
                    range.start(),
                    range.end()
                )));
            }
            Ok(n)
        })
        .collect()
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v.dedup();
    v
}

fn parse_until(value: &str) -> Result<End, ValidationError> {
    let bad = || invalid("UNTIL takes a date like 20270331 or a UTC time like 20270331T170000Z.");
    if value.len() == 8 {
        return NaiveDate::parse_from_str(value, "%Y%m%d").map(End::UntilDate).map_err(|_| bad());
    }
    if let Some(utc) = value.strip_suffix('Z') {
        let local = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
        return Ok(End::UntilInstant(local.and_utc()));
    }
    // A floating date-time: the rule's own zone's wall clock; only its date can matter, as a task repeats at one time of day.
    NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S").map(|t| End::UntilDate(t.date())).map_err(|_| bad())
}

impl RecurrenceRule {
    /// Parses `FREQ=…;…`, with or without a leading `RRULE:`. Rules that
    /// repeat more often than daily, and parts a task has no use for (BYHOUR,
    /// BYYEARDAY, BYWEEKNO…), are refused with a message naming them.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let text = raw.trim();
        let text = match text.get(..6) {
            Some(prefix) if prefix.eq_ignore_ascii_case("RRULE:") => &text[6..],
            _ => text,
        };
        if text.is_empty() {
            return Err(invalid("Write a rule such as FREQ=WEEKLY;BYDAY=MO."));
        }
        if text.len() > 500 {
            return Err(invalid("A rule has at most 500 characters."));
        }
        let mut frequency = None;
        let mut rule = Self {
            frequency: Frequency::Daily,
            interval: 1,
            by_day: Vec::new(),
            by_month_day: Vec::new(),
            by_month: Vec::new(),
            by_set_pos: Vec::new(),
            week_start: Weekday::Mon,
            end: End::Never,
        };
        let mut seen = BTreeSet::new();
        for part in text.split(';').filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| invalid(format!("\u{201c}{part}\u{201d} is not of the form NAME=VALUE.")))?;
            let key = key.trim().to_ascii_uppercase();
            let value = value.trim().to_ascii_uppercase();
            if !seen.insert(key.clone()) {
                return Err(invalid(format!("{key} is given twice.")));
            }
            match key.as_str() {
                "FREQ" => {
                    frequency = Some(match value.as_str() {
                        "DAILY" => Frequency::Daily,
                        "WEEKLY" => Frequency::Weekly,
                        "MONTHLY" => Frequency::Monthly,
                        "YEARLY" => Frequency::Yearly,
                        "HOURLY" | "MINUTELY" | "SECONDLY" => {
                            return Err(invalid("A task repeats at most daily: use DAILY, WEEKLY, MONTHLY or YEARLY."))
                        }
                        _ => return Err(invalid("FREQ is DAILY, WEEKLY, MONTHLY or YEARLY.")),
                    })
                }
                "INTERVAL" => match int_list("INTERVAL", &value, 1..=1000, false)?[..] {
                    [n] => rule.interval = n as u32,
                    _ => return Err(invalid("INTERVAL is one number.")),
                },
                "COUNT" => match int_list("COUNT", &value, 1..=10_000, false)?[..] {
                    [n] => rule.end = End::Count(n as u32),
                    _ => return Err(invalid("COUNT is one number.")),
                },
                "UNTIL" => rule.end = parse_until(&value)?,
                "BYMONTH" => {
                    rule.by_month =
                        sorted(int_list("BYMONTH", &value, 1..=12, false)?.into_iter().map(|m| m as u32).collect())
                }
                "BYMONTHDAY" => {
                    rule.by_month_day =
                        sorted(int_list("BYMONTHDAY", &value, -31..=31, false)?.into_iter().map(|d| d as i8).collect())
                }
                "BYSETPOS" => {
                    rule.by_set_pos =
                        sorted(int_list("BYSETPOS", &value, -366..=366, false)?.into_iter().map(|p| p as i16).collect())
                }
                "WKST" => {
                    rule.week_start = weekday(&value).ok_or_else(|| invalid("WKST is a day such as MO or SU."))?
                }
                "BYDAY" => {
                    let mut days = Vec::new();
                    for item in value.split(',') {
                        let item = item.trim();
                        let split = item.len().saturating_sub(2);
                        let day = item.get(split..).and_then(weekday).ok_or_else(|| {
                            invalid(format!("\u{201c}{item}\u{201d} is not a day such as MO, 1MO or -1FR."))
                        })?;
                        let nth = match &item[..split] {
                            "" => None,
                            n => Some(
                                n.trim_start_matches('+')
                                    .parse::<i16>()
                                    .ok()
                                    .filter(|n| *n != 0 && (-53..=53).contains(n))
                                    .ok_or_else(|| invalid(format!("\u{201c}{item}\u{201d}: the number before a day lies between -53 and 53, without 0.")))?,
                            ),
                        };
                        days.push(ByDay { nth, weekday: day });
                    }
                    days.sort_by_key(|d| (d.nth, d.weekday.num_days_from_monday()));
                    days.dedup();
                    rule.by_day = days;
                }
                "BYHOUR" | "BYMINUTE" | "BYSECOND" | "BYYEARDAY" | "BYWEEKNO" => {
                    return Err(invalid(format!("{key} is not supported: a task repeats on days, at its own time.")))
                }
                _ => return Err(invalid(format!("{key} is not a rule part Cadence knows."))),
            }
        }
        if seen.contains("COUNT") && seen.contains("UNTIL") {
            return Err(invalid("Give COUNT or UNTIL, not both."));
        }
        rule.frequency = frequency.ok_or_else(|| invalid("A rule needs FREQ, e.g. FREQ=WEEKLY."))?;
        let ordinal_limit = match rule.frequency {
            Frequency::Monthly => 5,
            Frequency::Yearly if rule.by_month.is_empty() => 53,
            Frequency::Yearly => 5,
            Frequency::Daily | Frequency::Weekly => 0,
        };
        if rule.by_day.iter().any(|d| d.nth.is_some_and(|n| n.unsigned_abs() > ordinal_limit)) {
            return Err(invalid(match ordinal_limit {
                0 => "Numbered days such as 1MO need FREQ=MONTHLY or FREQ=YEARLY.".to_owned(),
                n => format!("A numbered day such as 1MO counts at most {n} from either end here."),
            }));
        }
        if rule.frequency == Frequency::Weekly && !rule.by_month_day.is_empty() {
            return Err(invalid("BYMONTHDAY does not go with FREQ=WEEKLY."));
        }
        if !rule.by_set_pos.is_empty()
            && rule.by_day.is_empty()
            && rule.by_month_day.is_empty()
            && rule.by_month.is_empty()
        {
            return Err(invalid("BYSETPOS picks among the days of BYDAY, BYMONTHDAY or BYMONTH: give one of them."));
        }
        Ok(rule)
    }

    /// The dates the rule gives within one period, BYSETPOS applied last.
    fn period_dates(&self, period: NaiveDate, start: NaiveDate) -> Vec<NaiveDate> {
        let in_months = |d: &NaiveDate| self.by_month.is_empty() || self.by_month.contains(&d.month());
        let weekday_ok = |d: &NaiveDate| self.by_day.is_empty() || self.by_day.iter().any(|b| b.weekday == d.weekday());
        let month_day_ok = |d: &NaiveDate| {
            self.by_month_day.is_empty()
                || self.by_month_day.iter().any(|&m| month_day(d.year(), d.month(), m) == Some(*d))
        };
        let mut dates = match self.frequency {
            Frequency::Daily => vec![period],
            Frequency::Weekly => {
                if self.by_day.is_empty() {
                    vec![week_day(period, start.weekday(), self.week_start)]
                } else {
                    self.by_day.iter().map(|b| week_day(period, b.weekday, self.week_start)).collect()
                }
            }
            Frequency::Monthly => self.month_dates(period.year(), period.month(), start),
            Frequency::Yearly => {
                if self.by_day.iter().any(|b| b.nth.is_some()) && self.by_month.is_empty() {
                    // "20MO" in a yearly rule without BYMONTH counts within the year.
                    let mut dates = by_day_in(year_first(period.year()), year_last(period.year()), &self.by_day);
                    dates.retain(month_day_ok);
                    dates
                } else if self.by_day.is_empty() && self.by_month_day.is_empty() && self.by_month.is_empty() {
                    NaiveDate::from_ymd_opt(period.year(), start.month(), start.day()).into_iter().collect()
                } else {
                    let months: Vec<u32> =
                        if self.by_month.is_empty() { (1..=12).collect() } else { self.by_month.clone() };
                    months.into_iter().flat_map(|m| self.month_dates(period.year(), m, start)).collect()
                }
            }
        };
        dates.retain(|d| in_months(d) && weekday_ok(d) && month_day_ok(d));
        dates.sort();
        dates.dedup();
        if self.by_set_pos.is_empty() {
            return dates;
        }
        let n = dates.len() as i64;
        let mut picked: Vec<NaiveDate> = self
            .by_set_pos
            .iter()
            .filter_map(|&p| {
                let i = if p > 0 { p as i64 - 1 } else { n + p as i64 };
                (0..n).contains(&i).then(|| dates[i as usize])
            })
            .collect();
        picked.sort();
        picked.dedup();
        picked
    }

    /// The dates of one month that BYMONTHDAY and BYDAY give (the start's day of the month when neither is set).
    fn month_dates(&self, year: i32, month: u32, start: NaiveDate) -> Vec<NaiveDate> {
        let Some(first) = NaiveDate::from_ymd_opt(year, month, 1) else { return Vec::new() };
        let last = month_last(first);
        match (self.by_month_day.is_empty(), self.by_day.is_empty()) {
            (true, true) => NaiveDate::from_ymd_opt(year, month, start.day()).into_iter().collect(),
            (false, true) => self.by_month_day.iter().filter_map(|&d| month_day(year, month, d)).collect(),
            (true, false) => by_day_in(first, last, &self.by_day),
            // Both: the days that are in each ("Friday the 13th"), numbered days counted in the month.
            (false, false) => {
                let days = by_day_in(first, last, &self.by_day);
                self.by_month_day
                    .iter()
                    .filter_map(|&d| month_day(year, month, d))
                    .filter(|d| days.contains(d))
                    .collect()
            }
        }
    }

    /// The first day of period `k`, counting the start's period as 0.
    fn period_start(&self, start: NaiveDate, k: u64) -> Option<NaiveDate> {
        let step = k.checked_mul(u64::from(self.interval))?;
        match self.frequency {
            Frequency::Daily => start.checked_add_days(Days::new(step)),
            Frequency::Weekly => week_start(start, self.week_start).checked_add_days(Days::new(step.checked_mul(7)?)),
            Frequency::Monthly => start.with_day(1)?.checked_add_months(Months::new(u32::try_from(step).ok()?)),
            Frequency::Yearly => NaiveDate::from_ymd_opt(start.year().checked_add(i32::try_from(step).ok()?)?, 1, 1),
        }
    }
}

fn year_first(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MAX)
}

fn year_last(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(NaiveDate::MAX)
}

fn month_last(first: NaiveDate) -> NaiveDate {
    first.checked_add_months(Months::new(1)).and_then(|d| d.pred_opt()).unwrap_or(NaiveDate::MAX)
}

/// Day `n` of a month, negative counting from its end; `None` where the month has no such day.
fn month_day(year: i32, month: u32, n: i8) -> Option<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    if n > 0 {
        NaiveDate::from_ymd_opt(year, month, n as u32)
    } else {
        let last = month_last(first);
        let back = u64::from(n.unsigned_abs()) - 1;
        last.checked_sub_days(Days::new(back)).filter(|d| d.month() == month)
    }
}

fn week_start(date: NaiveDate, wkst: Weekday) -> NaiveDate {
    let back = (7 + date.weekday().num_days_from_monday() - wkst.num_days_from_monday()) % 7;
    date - Days::new(u64::from(back))
}

/// The `day` in the week (starting on `wkst`) that begins on or before `period`.
fn week_day(period: NaiveDate, day: Weekday, wkst: Weekday) -> NaiveDate {
    let ahead = (7 + day.num_days_from_monday() - wkst.num_days_from_monday()) % 7;
    week_start(period, wkst) + Days::new(u64::from(ahead))
}

/// Every date from `first` to `last` that a BYDAY entry names: all such weekdays, or the n-th from either end.
fn by_day_in(first: NaiveDate, last: NaiveDate, by_day: &[ByDay]) -> Vec<NaiveDate> {
    let mut dates = Vec::new();
    for b in by_day {
        let ahead = (7 + b.weekday.num_days_from_monday() - first.weekday().num_days_from_monday()) % 7;
        let all: Vec<NaiveDate> = first
            .checked_add_days(Days::new(u64::from(ahead)))
            .into_iter()
            .flat_map(|d| d.iter_weeks())
            .take_while(|d| *d <= last)
            .collect();
        match b.nth {
            None => dates.extend(all),
            Some(n) if n > 0 => dates.extend(all.get(n as usize - 1)),
            Some(n) => dates.extend(all.len().checked_sub(n.unsigned_abs() as usize).and_then(|i| all.get(i))),
        }
    }
    dates
}

impl fmt::Display for RecurrenceRule {
    /// The canonical text of the rule, as stored: parsing it gives the same rule.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FREQ={}", self.frequency.as_str())?;
        if self.interval != 1 {
            write!(f, ";INTERVAL={}", self.interval)?;
        }
        let join = |v: Vec<String>| v.join(",");
        if !self.by_month.is_empty() {
            write!(f, ";BYMONTH={}", join(self.by_month.iter().map(u32::to_string).collect()))?;
        }
        if !self.by_month_day.is_empty() {
            write!(f, ";BYMONTHDAY={}", join(self.by_month_day.iter().map(i8::to_string).collect()))?;
        }
        if !self.by_day.is_empty() {
            let days = self
                .by_day
                .iter()
                .map(|b| format!("{}{}", b.nth.map(|n| n.to_string()).unwrap_or_default(), weekday_code(b.weekday)))
                .collect();
            write!(f, ";BYDAY={}", join(days))?;
        }
        if !self.by_set_pos.is_empty() {
            write!(f, ";BYSETPOS={}", join(self.by_set_pos.iter().map(i16::to_string).collect()))?;
        }
        if self.week_start != Weekday::Mon {
            write!(f, ";WKST={}", weekday_code(self.week_start))?;
        }
        match self.end {
            End::Never => Ok(()),
            End::Count(n) => write!(f, ";COUNT={n}"),
            End::UntilDate(d) => write!(f, ";UNTIL={}", d.format("%Y%m%d")),
            End::UntilInstant(t) => write!(f, ";UNTIL={}", t.format("%Y%m%dT%H%M%SZ")),
        }
    }
}

/// Parses what a power user may paste into the rule field: one RRULE line
/// (with or without `RRULE:`) and any `EXDATE` lines of days to skip
/// (`YYYYMMDD` or date-times, comma-separated, with or without `;TZID=…`:
/// only their day counts, as a task repeats at one time of day). A `DTSTART`
/// is refused: the series starts at the task's due date.
pub fn parse_lines(text: &str) -> Result<(RecurrenceRule, BTreeSet<NaiveDate>), ValidationError> {
    let mut rule = None;
    let mut skipped = BTreeSet::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (name, value) = match line.split_once(':') {
            Some((name, value)) => (name.split(';').next().unwrap_or(name).to_ascii_uppercase(), value),
            None => ("RRULE".to_owned(), line),
        };
        match name.as_str() {
            "RRULE" if rule.is_none() => rule = Some(RecurrenceRule::parse(value)?),
            "RRULE" => return Err(invalid("Give one RRULE line.")),
            "EXDATE" => {
                for item in value.split(',').map(str::trim) {
                    let date =
                        item.get(..8).and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok()).ok_or_else(|| {
                            invalid(format!("EXDATE takes days like 20270310, not \u{201c}{item}\u{201d}."))
                        })?;
                    skipped.insert(date);
                }
            }
            "DTSTART" => return Err(invalid("Leave out DTSTART: the series starts at the task's due date.")),
            other => {
                return Err(invalid(format!("{other} is not a line Cadence reads here; give RRULE and EXDATE lines.")))
            }
        }
        if skipped.len() > 1000 {
            return Err(invalid("A series skips at most 1,000 days."));
        }
    }
    let rule = rule.ok_or_else(|| invalid("Write a rule such as FREQ=WEEKLY;BYDAY=MO."))?;
    Ok((rule, skipped))
}

/// One occurrence: the day, the wall-clock time asked for, and the instant it resolves to in the zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    pub due: Due,
}

impl Occurrence {
    pub fn date(&self) -> NaiveDate {
        self.due.date
    }

    pub fn at(&self) -> DateTime<Utc> {
        self.due.at
    }
}

/// A rule anchored at a task's local start (its first due day and time, in
/// its zone: the source of truth, so a tz database update cannot shift the
/// series), with the days it skips.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    pub rule: RecurrenceRule,
    pub start: NaiveDate,
    pub time: Option<NaiveTime>,
    pub zone: TimeZone,
    pub skipped: BTreeSet<NaiveDate>,
}

impl Recurrence {
    pub fn new(rule: RecurrenceRule, start: NaiveDate, time: Option<NaiveTime>, zone: TimeZone) -> Self {
        Self { rule, start, time, zone, skipped: BTreeSet::new() }
    }

    /// Every occurrence in order, the start first (RFC 5545: DTSTART is
    /// always the first instance and counts toward COUNT), skipped days left
    /// out (they still count, as EXDATE does).
    pub fn occurrences(&self) -> Occurrences<'_> {
        Occurrences {
            recurrence: self,
            period: 0,
            pending: Vec::new(),
            counted: 0,
            started: false,
            last_found: self.start,
            done: false,
        }
    }

    /// The first occurrence strictly after `date`, if the series has one.
    /// Without COUNT it starts a period or so before `date` instead of at the
    /// start, so a series begun decades ago costs what a new one does; with
    /// COUNT (at most 10,000) every earlier occurrence must be counted.
    pub fn next_after(&self, date: NaiveDate) -> Option<Occurrence> {
        let mut occurrences = self.occurrences();
        if !matches!(self.rule.end, End::Count(_)) && date > self.start {
            let interval = i64::from(self.rule.interval);
            let periods = match self.rule.frequency {
                Frequency::Daily => (date - self.start).num_days() / interval,
                Frequency::Weekly => (date - self.start).num_days() / 7 / interval,
                Frequency::Monthly => months_between(self.start, date) / interval,
                Frequency::Yearly => i64::from(date.year() - self.start.year()) / interval,
            };
            occurrences.started = true;
            occurrences.period = u64::try_from(periods - 1).unwrap_or(0);
            occurrences.last_found = date;
        }
        occurrences.find(|o| o.date() > date)
    }

    /// The date of the instance that follows `current` once it is completed on `done`
    /// (the user's local date), or `None` when the series has ended.
    ///
    /// - [`Anchor::Schedule`] (Todoist's `every`): the first occurrence after
    ///   both `current` and `done`. A daily task completed five days late
    ///   comes back tomorrow, not five times in the past; one completed early
    ///   comes back at its next scheduled day.
    /// - [`Anchor::Completion`] (`every!`): the rule counted again from `done`:
    ///   "every 3 days" is three days after it was done. `instances` is how
    ///   many the series has had, so COUNT still ends it. Done before the
    ///   current instance's day, the next one still comes after that day.
    pub fn next_instance(
        &self,
        anchor: Anchor,
        current: NaiveDate,
        done: NaiveDate,
        instances: u32,
    ) -> Option<Occurrence> {
        match anchor {
            Anchor::Schedule => self.next_after(current.max(done)),
            Anchor::Completion => {
                if let End::Count(n) = self.rule.end {
                    if instances >= n {
                        return None;
                    }
                }
                let rule = RecurrenceRule {
                    end: match self.rule.end {
                        End::Count(_) => End::Never,
                        end => end,
                    },
                    ..self.rule.clone()
                };
                // Done early, the interval from `done` may land on or before
                // the current instance's day; the next instance still comes
                // after it, so one day never holds two instances of a series.
                let from_done = Recurrence { rule, start: done, ..self.clone() };
                from_done.next_after(done.max(current))
            }
        }
    }
}

/// What the next instance of a recurring task is counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Anchor {
    /// The schedule: the rule's own dates, the next one still ahead.
    #[default]
    Schedule,
    /// The completion: the interval counted from when the task was done.
    Completion,
}

impl Anchor {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Completion => "completion",
        }
    }

    /// Parses the form's or the API's `repeat_from`: `schedule` (the default) or `completion`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "" | "schedule" => Ok(Self::Schedule),
            "completion" => Ok(Self::Completion),
            _ => Err(ValidationError::new("repeat_from", "Repeat from the schedule or from completion.")),
        }
    }

    /// What the anchor means, as the task page says it.
    pub fn explain(self) -> &'static str {
        match self {
            Self::Schedule => {
                "The next one follows the schedule: completing it late skips the dates already past, never leaving one due in the past."
            }
            Self::Completion => "The next one is counted from the day you complete this one.",
        }
    }
}

/// The rule travels in events and stored rows as its canonical text.
impl serde::Serialize for RecurrenceRule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for RecurrenceRule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn months_between(from: NaiveDate, to: NaiveDate) -> i64 {
    i64::from(to.year() - from.year()) * 12 + i64::from(to.month()) - i64::from(from.month())
}

/// The iterator of [`Recurrence::occurrences`]: lazy, so a rule without an end costs only what is read of it.
pub struct Occurrences<'a> {
    recurrence: &'a Recurrence,
    period: u64,
    /// Dates of the current period not yet given, latest first.
    pending: Vec<NaiveDate>,
    counted: u32,
    started: bool,
    last_found: NaiveDate,
    done: bool,
}

impl Occurrences<'_> {
    /// The next date the rule gives, before COUNT, UNTIL and skipped days.
    fn next_date(&mut self) -> Option<NaiveDate> {
        let r = self.recurrence;
        if !self.started {
            self.started = true;
            return Some(r.start);
        }
        loop {
            if let Some(d) = self.pending.pop() {
                return Some(d);
            }
            let period = r.rule.period_start(r.start, self.period)?;
            self.period += 1;
            // A rule that gives nothing for centuries (30 February) has ended.
            if (period - self.last_found).num_days() > SEARCH_DAYS as i64 {
                return None;
            }
            let mut dates = r.rule.period_dates(period, r.start);
            dates.retain(|d| *d > r.start);
            if let Some(last) = dates.last() {
                self.last_found = *last;
            }
            dates.reverse();
            self.pending = dates;
        }
    }
}

impl Iterator for Occurrences<'_> {
    type Item = Occurrence;

    fn next(&mut self) -> Option<Occurrence> {
        let r = self.recurrence;
        while !self.done {
            let Some(date) = self.next_date() else {
                self.done = true;
                break;
            };
            let due = Due::new(date, r.time, r.zone);
            let ended = match r.rule.end {
                End::Never => false,
                End::Count(n) => self.counted >= n,
                End::UntilDate(until) => date > until,
                End::UntilInstant(until) => due.at > until,
            };
            if ended {
                self.done = true;
                break;
            }
            self.counted += 1;
            if !r.skipped.contains(&date) {
                return Some(Occurrence { due });
            }
        }
        None
    }
}

const WEEKDAY_NAMES: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn weekday_name(day: Weekday) -> &'static str {
    WEEKDAY_NAMES[day.num_days_from_monday() as usize]
}

fn month_name(month: u32) -> &'static str {
    MONTH_NAMES[(month as usize + 11) % 12]
}

/// "1st", "2nd", "last", "2nd to last".
fn ordinal(n: i64) -> String {
    let suffix = |n: i64| match (n % 10, n % 100) {
        (1, r) if r != 11 => "st",
        (2, r) if r != 12 => "nd",
        (3, r) if r != 13 => "rd",
        _ => "th",
    };
    match n {
        -1 => "last".to_owned(),
        n if n < 0 => format!("{}{} to last", -n, suffix(-n)),
        n => format!("{n}{}", suffix(n)),
    }
}

/// "a, b and c".
fn and_list(items: Vec<String>) -> String {
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

impl RecurrenceRule {
    /// The rule as a sentence, e.g. "Every 2 weeks on Monday and Wednesday,
    /// until 31 March 2027"; `start` gives the day a rule without BY parts repeats on.
    pub fn describe(&self, start: NaiveDate) -> String {
        let (unit, units) = match self.frequency {
            Frequency::Daily => ("day", "days"),
            Frequency::Weekly => ("week", "weeks"),
            Frequency::Monthly => ("month", "months"),
            Frequency::Yearly => ("year", "years"),
        };
        let mut s =
            if self.interval == 1 { format!("Every {unit}") } else { format!("Every {} {units}", self.interval) };
        let weekdays = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];
        let days: Vec<String> = self
            .by_day
            .iter()
            .map(|b| match b.nth {
                None => weekday_name(b.weekday).to_owned(),
                Some(n) => format!("the {} {}", ordinal(i64::from(n)), weekday_name(b.weekday)),
            })
            .collect();
        let month_days: Vec<String> = self
            .by_month_day
            .iter()
            .map(|&d| if d == -1 { "the last day".to_owned() } else { format!("the {}", ordinal(i64::from(d))) })
            .collect();
        let is_weekdays =
            self.by_day.len() == 5 && self.by_day.iter().all(|b| b.nth.is_none() && weekdays.contains(&b.weekday));
        if !self.by_set_pos.is_empty() {
            let which = and_list(self.by_set_pos.iter().map(|&p| ordinal(i64::from(p))).collect());
            let among =
                if is_weekdays { "weekday".to_owned() } else { and_list([days.clone(), month_days.clone()].concat()) };
            s.push_str(&format!(" on the {which} {among}"));
            if !self.by_day.is_empty() && !is_weekdays {
                s.push_str(" (whichever comes)");
            }
        } else if is_weekdays && self.frequency != Frequency::Monthly && self.frequency != Frequency::Yearly {
            s.push_str(" on weekdays");
        } else if !days.is_empty() && !month_days.is_empty() {
            s.push_str(&format!(" on {} when it falls on {}", and_list(month_days), and_list(days)));
        } else if !days.is_empty() {
            s.push_str(&format!(" on {}", and_list(days)));
        } else if !month_days.is_empty() {
            s.push_str(&format!(" on {}", and_list(month_days)));
        } else {
            match self.frequency {
                Frequency::Daily => {}
                Frequency::Weekly => s.push_str(&format!(" on {}", weekday_name(start.weekday()))),
                Frequency::Monthly => s.push_str(&format!(" on the {}", ordinal(i64::from(start.day())))),
                Frequency::Yearly if self.by_month.is_empty() => {
                    s.push_str(&format!(" on {} {}", start.day(), month_name(start.month())))
                }
                Frequency::Yearly => s.push_str(&format!(" on the {}", ordinal(i64::from(start.day())))),
            }
        }
        if !self.by_month.is_empty() {
            s.push_str(&format!(" in {}", and_list(self.by_month.iter().map(|&m| month_name(m).to_owned()).collect())));
        }
        let until = match self.end {
            End::Never => None,
            End::Count(1) => {
                s.push_str(", once");
                None
            }
            End::Count(n) => {
                s.push_str(&format!(", {n} times"));
                None
            }
            End::UntilDate(d) => Some(d),
            End::UntilInstant(t) => Some(t.date_naive()),
        };
        if let Some(d) = until {
            s.push_str(&format!(", until {} {} {}", d.day(), month_name(d.month()), d.year()));
        }
        s
    }
}
