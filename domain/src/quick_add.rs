//! Quick-add that understands a sentence: "Pay rent every month on the 1st
//! at 9am #home !high remind me 1 day before" becomes a title, a tag, a
//! priority, a due date and time in the user's zone, a repeat rule and a
//! reminder, as the fields of a task form (`TaskInput`), so the one parser of
//! those fields still decides what is valid.
//!
//! Each phrase it understood is a `Part` with its place in the text, shown
//! back as a removable chip; removing one quotes that phrase (`keep_literal`),
//! and a quoted phrase always stays in the title, so "Watch \"Friday Night
//! Lights\"" keeps its Friday. The words it knows come from a `Lexicon`: English
//! is the first; another language is another value of it.

use chrono::{Datelike, Days, Months, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Weekday};
use serde::{Deserialize, Serialize};

use crate::repeat::{weekday_code, RepeatInput};
use crate::task::{Priority, Tag, TaskInput};

/// A unit of time, as counted in "in 3 days" or "every 2 weeks".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// The words of one language. Each list holds lower-case spellings; the
/// first of a list is the one labels use.
#[derive(Debug)]
pub struct Lexicon {
    pub today: &'static [&'static str],
    pub tomorrow: &'static [&'static str],
    /// Monday first.
    pub weekdays: [&'static [&'static str]; 7],
    /// January first.
    pub months: [&'static [&'static str]; 12],
    pub units: &'static [(Unit, &'static [&'static str])],
    /// "in" of "in 3 days".
    pub within: &'static [&'static str],
    /// "a", "an": one, before a unit.
    pub one: &'static [&'static str],
    pub at: &'static [&'static str],
    pub on: &'static [&'static str],
    pub the: &'static [&'static str],
    pub next: &'static [&'static str],
    /// "this friday": the coming one, today included.
    pub this: &'static [&'static str],
    pub week: &'static [&'static str],
    /// "this weekend": the coming Saturday (alone it is more often a word).
    pub weekend: &'static [&'static str],
    pub and: &'static [&'static str],
    pub every: &'static [&'static str],
    /// "every!": counted from when the task is done, not from its schedule.
    pub every_from_done: &'static [&'static str],
    pub other: &'static [&'static str],
    pub workdays: &'static [&'static str],
    /// Words that are a repeat by themselves: "daily", "weekly"…
    pub adverbs: &'static [(Unit, &'static [&'static str])],
    /// "of the month", after a day of it.
    pub of_the_month: &'static [&'static str],
    pub until: &'static [&'static str],
    /// "for 10 times", "10 times".
    pub for_: &'static [&'static str],
    pub times: &'static [&'static str],
    /// The week of a month: 1 to 4, and -1 for the last.
    pub nth: &'static [(i8, &'static [&'static str])],
    /// The suffixes of ordinal numbers: "1st", "2nd".
    pub ordinal_suffixes: &'static [&'static str],
    pub remind: &'static [&'static [&'static str]],
    pub before: &'static [&'static str],
    pub am: &'static [&'static str],
    pub pm: &'static [&'static str],
    pub noon: &'static [&'static str],
    pub midnight: &'static [&'static str],
    /// `p1` is the most pressing.
    pub priorities: &'static [(Priority, &'static [&'static str])],
    pub month_labels: [&'static str; 12],
    pub weekday_labels: [&'static str; 7],
}

pub static ENGLISH: Lexicon = Lexicon {
    today: &["today"],
    tomorrow: &["tomorrow", "tmr", "tmrw"],
    weekdays: [
        &["monday", "mon"],
        &["tuesday", "tue", "tues"],
        &["wednesday", "wed"],
        &["thursday", "thu", "thur", "thurs"],
        &["friday", "fri"],
        &["saturday", "sat"],
        &["sunday", "sun"],
    ],
    months: [
        &["january", "jan"],
        &["february", "feb"],
        &["march", "mar"],
        &["april", "apr"],
        &["may"],
        &["june", "jun"],
        &["july", "jul"],
        &["august", "aug"],
        &["september", "sep", "sept"],
        &["october", "oct"],
        &["november", "nov"],
        &["december", "dec"],
    ],
    units: &[
        (Unit::Minute, &["minute", "minutes", "min", "mins", "m"]),
        (Unit::Hour, &["hour", "hours", "hr", "hrs", "h"]),
        (Unit::Day, &["day", "days", "d"]),
        (Unit::Week, &["week", "weeks", "wk", "wks", "w"]),
        (Unit::Month, &["month", "months", "mo"]),
        (Unit::Year, &["year", "years", "yr", "yrs", "y"]),
    ],
    within: &["in"],
    one: &["a", "an", "one"],
    at: &["at", "@"],
    on: &["on"],
    the: &["the"],
    next: &["next"],
    this: &["this"],
    week: &["week"],
    weekend: &["weekend"],
    and: &["and", "&", ","],
    every: &["every", "each"],
    every_from_done: &["every!"],
    other: &["other"],
    workdays: &["weekday", "weekdays", "workday", "workdays"],
    adverbs: &[
        (Unit::Day, &["daily"]),
        (Unit::Week, &["weekly"]),
        (Unit::Month, &["monthly"]),
        (Unit::Year, &["yearly", "annually"]),
    ],
    of_the_month: &["of", "the", "month"],
    until: &["until", "till", "til"],
    for_: &["for"],
    times: &["times", "time", "x"],
    nth: &[(1, &["first"]), (2, &["second"]), (3, &["third"]), (4, &["fourth"]), (-1, &["last"])],
    ordinal_suffixes: &["st", "nd", "rd", "th"],
    remind: &[&["remind", "me"], &["remind"]],
    before: &["before", "early", "ahead"],
    am: &["am", "a.m."],
    pm: &["pm", "p.m."],
    noon: &["noon", "midday"],
    midnight: &["midnight"],
    priorities: &[
        (Priority::Urgent, &["!urgent", "p1"]),
        (Priority::High, &["!high", "p2"]),
        (Priority::Medium, &["!medium", "!med", "p3"]),
        (Priority::Low, &["!low", "p4"]),
    ],
    month_labels: ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    weekday_labels: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
};

/// What a phrase set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartKind {
    Due,
    Time,
    Repeat,
    Reminder,
    Tag,
    Priority,
}

/// One phrase understood: where it is in the text (byte offsets) and what it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub kind: PartKind,
    pub start: usize,
    pub end: usize,
    pub label: String,
}

/// A sentence read: the task's fields, and the phrases they came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickAdd {
    pub input: TaskInput,
    pub parts: Vec<Part>,
}

/// Longer input is read only this far for phrases (the title keeps it all):
/// a sentence is short, and the reading must stay quick whatever is pasted.
const MAX_READ: usize = 1000;

/// Reads `text` as typed in English at `now`, the user's wall-clock time.
pub fn understand(text: &str, now: NaiveDateTime) -> QuickAdd {
    understand_in(text, now, &ENGLISH)
}

/// The text with `part` quoted, so reading it again leaves that phrase in the title.
pub fn keep_literal(text: &str, part: &Part) -> String {
    match (text.get(..part.start), text.get(part.start..part.end), text.get(part.end..)) {
        (Some(before), Some(phrase), Some(after)) => format!("{before}\"{}\"{after}", phrase.replace('"', "")),
        _ => text.to_owned(),
    }
}

#[derive(Debug, Clone)]
struct Token<'a> {
    /// As typed (without the quotes of a quoted phrase).
    text: &'a str,
    lower: String,
    start: usize,
    end: usize,
    /// A quoted phrase: always part of the title.
    quoted: bool,
}

fn tokenize(text: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '"' {
            chars.next();
            let inner = start + 1;
            let mut end = text.len();
            let mut close = text.len();
            for (i, c) in chars.by_ref() {
                if c == '"' {
                    close = i;
                    end = i + 1;
                    break;
                }
            }
            let inner_text = &text[inner..close.max(inner)];
            tokens.push(Token { text: inner_text, lower: String::new(), start, end, quoted: true });
            continue;
        }
        let mut end = text.len();
        while let Some(&(i, c)) = chars.peek() {
            if c.is_whitespace() || c == '"' {
                end = i;
                break;
            }
            chars.next();
        }
        let word = &text[start..end];
        // A comma or full stop ending a word is a separator of its own ("mon, wed", "tomorrow.").
        let trimmed = word.trim_end_matches([',', '.', ';']);
        if !trimmed.is_empty() && trimmed.len() < word.len() {
            let cut = start + trimmed.len();
            tokens.push(Token { text: trimmed, lower: trimmed.to_lowercase(), start, end: cut, quoted: false });
            let rest = &text[cut..end];
            tokens.push(Token { text: rest, lower: rest[..1].to_owned(), start: cut, end, quoted: false });
        } else {
            tokens.push(Token { text: word, lower: word.to_lowercase(), start, end, quoted: false });
        }
    }
    tokens
}

/// How a task repeats, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Daily,
    Workdays,
    /// On these days (none: the due date's weekday).
    Weekly(Vec<Weekday>),
    /// On this day of the month (none: the due date's).
    Monthly(Option<u32>),
    /// On the nth (or last: -1) weekday of the month.
    MonthlyNth(i8, Weekday),
    Yearly,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RepeatSpec {
    pattern: Pattern,
    every: u32,
    from_done: bool,
    until: Option<NaiveDate>,
    count: Option<u32>,
}

impl RepeatSpec {
    /// Whether `day` can be the first occurrence.
    fn admits(&self, day: NaiveDate) -> bool {
        match &self.pattern {
            Pattern::Daily | Pattern::Yearly | Pattern::Monthly(None) => true,
            Pattern::Workdays => day.weekday().num_days_from_monday() < 5,
            Pattern::Weekly(days) => days.is_empty() || days.contains(&day.weekday()),
            Pattern::Monthly(Some(d)) => day.day() == *d,
            Pattern::MonthlyNth(n, wd) => {
                day.weekday() == *wd && if *n == -1 { is_last(day) } else { nth_of(day) == *n }
            }
        }
    }

    fn input(&self) -> RepeatInput {
        let mut input = RepeatInput {
            repeat_every: if self.every > 1 { self.every.to_string() } else { String::new() },
            repeat_from: if self.from_done { "completion".into() } else { String::new() },
            ..RepeatInput::default()
        };
        if let Some(until) = self.until {
            input.repeat_end = "until".into();
            input.repeat_until = until.format("%Y-%m-%d").to_string();
        } else if let Some(count) = self.count {
            input.repeat_end = "count".into();
            input.repeat_count = count.to_string();
        }
        input.repeat = match &self.pattern {
            Pattern::Daily => "daily".into(),
            Pattern::Workdays => "weekdays".into(),
            Pattern::Weekly(days) => {
                input.repeat_days = days.iter().map(|d| weekday_code(*d)).collect::<Vec<_>>().join(",");
                "weekly".into()
            }
            Pattern::Monthly(_) => "monthly".into(),
            Pattern::Yearly => "yearly".into(),
            Pattern::MonthlyNth(n, wd) => {
                // A custom rule carries its own end: the preset's end fields do not apply to it.
                let mut rule = format!("RRULE:FREQ=MONTHLY;INTERVAL={};BYDAY={n}{}", self.every, weekday_code(*wd));
                if let Some(until) = self.until {
                    rule.push_str(&format!(";UNTIL={}", until.format("%Y%m%d")));
                } else if let Some(count) = self.count {
                    rule.push_str(&format!(";COUNT={count}"));
                }
                input.recurrence = rule;
                input.repeat_end = String::new();
                input.repeat_until = String::new();
                input.repeat_count = String::new();
                "custom".into()
            }
        };
        input
    }
}

fn nth_of(day: NaiveDate) -> i8 {
    ((day.day() - 1) / 7 + 1) as i8
}

fn is_last(day: NaiveDate) -> bool {
    day.checked_add_days(Days::new(7)).is_none_or(|d| d.month() != day.month())
}

/// What the sentence set so far; each field is set once, by its first phrase.
#[derive(Default)]
struct Found {
    date: Option<NaiveDate>,
    time: Option<NaiveTime>,
    repeat: Option<RepeatSpec>,
    reminders: Vec<Reminder>,
    tags: Vec<Tag>,
    priority: Option<Priority>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reminder {
    AtDue,
    Before(u32, Unit),
    At(Option<NaiveDate>, NaiveTime),
}

/// A phrase's reading: how many tokens it took, and what it means.
enum Reading {
    Date(NaiveDate),
    Time(NaiveTime),
    /// A moment ("in 2 hours"): a date and a time together.
    Moment(NaiveDateTime),
    Repeat(RepeatSpec, Option<NaiveTime>),
    Reminders(Vec<Reminder>),
    Tag(Tag),
    Priority(Priority),
}

struct Reader<'a, 'l> {
    tokens: &'a [Token<'a>],
    lex: &'l Lexicon,
    now: NaiveDateTime,
}

fn is(word: &str, list: &[&str]) -> bool {
    list.contains(&word)
}

impl Reader<'_, '_> {
    fn word(&self, i: usize) -> Option<&str> {
        self.tokens.get(i).filter(|t| !t.quoted).map(|t| t.lower.as_str())
    }

    fn today(&self) -> NaiveDate {
        self.now.date()
    }

    fn weekday(&self, i: usize) -> Option<Weekday> {
        let w = self.word(i)?;
        let index = self.lex.weekdays.iter().position(|names| is(w, names))?;
        Weekday::try_from(index as u8).ok()
    }

    /// A weekday by its full name only: "sun" and "sat" alone are more often
    /// words than days, so abbreviations count only after "on", "next" or "every".
    fn weekday_named(&self, i: usize) -> Option<Weekday> {
        let w = self.word(i)?;
        let index = self.lex.weekdays.iter().position(|names| names.first() == Some(&w))?;
        Weekday::try_from(index as u8).ok()
    }

    fn month(&self, i: usize) -> Option<u32> {
        let w = self.word(i)?;
        self.lex.months.iter().position(|names| is(w, names)).map(|m| m as u32 + 1)
    }

    fn unit(&self, i: usize) -> Option<Unit> {
        let w = self.word(i)?;
        self.lex.units.iter().find(|(_, names)| is(w, names)).map(|(u, _)| *u)
    }

    /// A count: digits, or "a"/"an"/"one".
    fn count(&self, i: usize) -> Option<u32> {
        let w = self.word(i)?;
        if is(w, self.lex.one) {
            return Some(1);
        }
        w.parse().ok().filter(|n| (1..=1000).contains(n))
    }

    /// "3days", "2w": a count and a unit in one word.
    fn count_unit(&self, i: usize) -> Option<(u32, Unit)> {
        let w = self.word(i)?;
        let digits = w.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 || digits == w.len() {
            return None;
        }
        let n: u32 = w[..digits].parse().ok().filter(|n| (1..=1000).contains(n))?;
        let unit = self.lex.units.iter().find(|(_, names)| is(&w[digits..], names)).map(|(u, _)| *u)?;
        Some((n, unit))
    }

    /// A count then a unit, as one word or two; how many tokens, the count, the unit.
    fn amount(&self, i: usize) -> Option<(usize, u32, Unit)> {
        if let Some((n, unit)) = self.count_unit(i) {
            return Some((1, n, unit));
        }
        Some((2, self.count(i)?, self.unit(i + 1)?))
    }

    /// A day of the month: "12", "12th", "1st".
    fn day_number(&self, i: usize) -> Option<u32> {
        let w = self.word(i)?;
        let digits = w.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 || !(digits == w.len() || is(&w[digits..], self.lex.ordinal_suffixes)) {
            return None;
        }
        w[..digits].parse().ok().filter(|d| (1..=31).contains(d))
    }

    fn ordinal(&self, i: usize) -> Option<u32> {
        let w = self.word(i)?;
        let digits = w.chars().take_while(char::is_ascii_digit).count();
        (digits > 0 && is(&w[digits..], self.lex.ordinal_suffixes))
            .then(|| w[..digits].parse().ok())
            .flatten()
            .filter(|d| (1..=31).contains(d))
    }

    fn year(&self, i: usize) -> Option<i32> {
        let w = self.word(i)?;
        (w.len() == 4).then(|| w.parse().ok()).flatten().filter(|y| (1900..=9999).contains(y))
    }

    /// A date; how many tokens it took. After "on" (`introduced`) a weekday
    /// may be abbreviated.
    fn date(&self, i: usize, introduced: bool) -> Option<(usize, NaiveDate)> {
        let w = self.word(i)?;
        let today = self.today();
        if is(w, self.lex.today) {
            return Some((1, today));
        }
        if is(w, self.lex.tomorrow) {
            return Some((1, today.succ_opt()?));
        }
        if is(w, self.lex.this) {
            if self.word(i + 1).is_some_and(|w| is(w, self.lex.weekend)) {
                return Some((2, next_weekday(today, Weekday::Sat, true)?));
            }
            let day = self.weekday(i + 1)?;
            return Some((2, next_weekday(today, day, true)?));
        }
        if let Ok(date) = NaiveDate::parse_from_str(w, "%Y-%m-%d") {
            return Some((1, date));
        }
        if is(w, self.lex.next) {
            if let Some(day) = self.weekday(i + 1) {
                return Some((2, next_weekday(today, day, false)?));
            }
            if self.word(i + 1).is_some_and(|w| is(w, self.lex.week)) {
                return Some((2, next_weekday(today, Weekday::Mon, false)?));
            }
            return None;
        }
        let day = if introduced { self.weekday(i) } else { self.weekday_named(i) };
        if let Some(day) = day {
            return Some((1, next_weekday(today, day, true)?));
        }
        if is(w, self.lex.within) {
            let (n, count, unit) = self.amount(i + 1)?;
            let date = match unit {
                Unit::Day => today.checked_add_days(Days::new(u64::from(count)))?,
                Unit::Week => today.checked_add_days(Days::new(7 * u64::from(count)))?,
                Unit::Month => today.checked_add_months(Months::new(count))?,
                Unit::Year => today.checked_add_months(Months::new(count.checked_mul(12)?))?,
                Unit::Minute | Unit::Hour => return None,
            };
            return Some((1 + n, date));
        }
        // "12 March [2027]" and "March 12 [2027]".
        let (n, day, month) = if let (Some(day), Some(month)) = (self.day_number(i), self.month(i + 1)) {
            (2, day, month)
        } else if let (Some(month), Some(day)) = (self.month(i), self.day_number(i + 1)) {
            (2, day, month)
        } else {
            return None;
        };
        if let Some(year) = self.year(i + n) {
            return Some((n + 1, NaiveDate::from_ymd_opt(year, month, day)?));
        }
        // The next such day, this year or the next.
        let this_year = NaiveDate::from_ymd_opt(today.year(), month, day);
        match this_year {
            Some(date) if date >= today => Some((n, date)),
            _ => (1..=8)
                .find_map(|ahead| NaiveDate::from_ymd_opt(today.year() + ahead, month, day))
                .map(|date| (n, date)),
        }
    }

    /// A time of day; how many tokens it took. A bare number is a time only
    /// after "at" (`with_at`), so "buy 2 apples" keeps its 2.
    fn time(&self, i: usize, with_at: bool) -> Option<(usize, NaiveTime)> {
        let w = self.word(i)?;
        if is(w, self.lex.noon) {
            return Some((1, NaiveTime::from_hms_opt(12, 0, 0)?));
        }
        if is(w, self.lex.midnight) {
            return Some((1, NaiveTime::from_hms_opt(0, 0, 0)?));
        }
        // "9am", "9:30pm", or "9" / "9:30" followed by "am"/"pm".
        let (clock, suffix, n) = match split_suffix(w, self.lex) {
            Some((clock, half)) => (clock, Some(half), 1),
            None => match self.word(i + 1) {
                Some(next) if is(next, self.lex.am) => (w, Some(Half::Am), 2),
                Some(next) if is(next, self.lex.pm) => (w, Some(Half::Pm), 2),
                _ => (w, None, 1),
            },
        };
        // "3.14" alone is a number; "at 9.30" and "9.30pm" are times.
        if clock.contains('.') && !(with_at || suffix.is_some()) {
            return None;
        }
        let (hour, minute) = match clock.split_once([':', '.']) {
            Some((h, m)) if m.len() == 2 && !h.is_empty() && h.len() <= 2 => {
                (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)
            }
            Some(_) => return None,
            None if suffix.is_some() || with_at => (clock.parse::<u32>().ok()?, 0),
            None => return None,
        };
        if clock.split_once([':', '.']).is_none() && clock.len() > 2 {
            return None;
        }
        let hour = match suffix {
            Some(_) if !(1..=12).contains(&hour) => return None,
            Some(Half::Am) => hour % 12,
            Some(Half::Pm) => hour % 12 + 12,
            None => hour,
        };
        Some((n, NaiveTime::from_hms_opt(hour, minute, 0)?))
    }

    /// "at 9am", "@ 17:30", or a time that is plainly one ("9am", "17:30").
    fn at_time(&self, i: usize) -> Option<(usize, NaiveTime)> {
        if self.word(i).is_some_and(|w| is(w, self.lex.at)) {
            let (n, time) = self.time(i + 1, true)?;
            return Some((n + 1, time));
        }
        self.time(i, false)
    }

    /// "on 12 March", "on monday", or a date alone.
    fn on_date(&self, i: usize) -> Option<(usize, NaiveDate)> {
        if self.word(i).is_some_and(|w| is(w, self.lex.on)) {
            let (n, date) = self.date(i + 1, true)?;
            return Some((n + 1, date));
        }
        self.date(i, false)
    }

    /// Weekdays joined by "and" or commas: "tue and thu", "mon, wed, fri".
    fn weekday_list(&self, i: usize) -> Option<(usize, Vec<Weekday>)> {
        let mut days = vec![self.weekday(i)?];
        let mut n = 1;
        loop {
            let mut j = i + n;
            while self.word(j).is_some_and(|w| is(w, self.lex.and)) {
                j += 1;
            }
            match self.weekday(j) {
                Some(day) if j > i + n => {
                    if !days.contains(&day) {
                        days.push(day);
                    }
                    n = j + 1 - i;
                }
                _ => break,
            }
        }
        days.sort_by_key(Weekday::num_days_from_monday);
        Some((n, days))
    }

    /// Skips "of the month" after a day of it.
    fn of_the_month(&self, i: usize) -> usize {
        let words = self.lex.of_the_month;
        let matches = words.iter().enumerate().all(|(k, w)| self.word(i + k) == Some(*w));
        if matches {
            words.len()
        } else {
            0
        }
    }

    /// "the 1st", "1st" (of the month); "the first monday", "last friday".
    fn day_of_month(&self, i: usize) -> Option<(usize, Pattern)> {
        let skip = usize::from(self.word(i).is_some_and(|w| is(w, self.lex.the)));
        let j = i + skip;
        if let Some(day) = self.ordinal(j) {
            return Some((skip + 1 + self.of_the_month(j + 1), Pattern::Monthly(Some(day))));
        }
        let w = self.word(j)?;
        let (nth, _) = self.lex.nth.iter().find(|(_, names)| is(w, names))?;
        let day = self.weekday(j + 1)?;
        Some((skip + 2 + self.of_the_month(j + 2), Pattern::MonthlyNth(*nth, day)))
    }

    /// A repeat: "every …", "every! …", or "daily"/"weekly"/…, with what may follow.
    fn repeat(&self, i: usize) -> Option<(usize, RepeatSpec)> {
        let w = self.word(i)?;
        let from_done = is(w, self.lex.every_from_done);
        let (mut n, pattern, every) = if from_done || is(w, self.lex.every) {
            let (k, pattern, every) = self.repeat_body(i + 1)?;
            (1 + k, pattern, every)
        } else {
            let (unit, _) = self.lex.adverbs.iter().find(|(_, names)| is(w, names))?;
            (1, pattern_of(*unit), 1)
        };
        let mut spec = RepeatSpec { pattern, every, from_done, until: None, count: None };
        // "on tue and thu" after a week, "on the 1st" after a month, "on 12 March" after a year.
        if self.word(i + n).is_some_and(|w| is(w, self.lex.on)) {
            let j = i + n + 1;
            match &spec.pattern {
                Pattern::Weekly(days) if days.is_empty() => {
                    if let Some((k, days)) = self.weekday_list(j) {
                        spec.pattern = Pattern::Weekly(days);
                        n += 1 + k;
                    }
                }
                Pattern::Monthly(None) => {
                    if let Some((k, pattern)) = self.day_of_month(j) {
                        spec.pattern = pattern;
                        n += 1 + k;
                    }
                }
                _ => {}
            }
        }
        // An end: "until 1 June", "for 10 times", "10 times".
        let j = i + n;
        if self.word(j).is_some_and(|w| is(w, self.lex.until)) {
            if let Some((k, until)) = self.date(j + 1, true) {
                spec.until = Some(until);
                n += 1 + k;
            }
        } else {
            let skip = usize::from(self.word(j).is_some_and(|w| is(w, self.lex.for_)));
            if let (Some(count), Some(true)) =
                (self.count(j + skip), self.word(j + skip + 1).map(|w| is(w, self.lex.times)))
            {
                spec.count = Some(count);
                n += skip + 2;
            }
        }
        Some((n, spec))
    }

    /// What follows "every": "day", "2 weeks", "other month", "weekday",
    /// "mon and thu", "1st", "last friday"; tokens taken, the pattern, the interval.
    fn repeat_body(&self, i: usize) -> Option<(usize, Pattern, u32)> {
        let w = self.word(i)?;
        if is(w, self.lex.workdays) {
            return Some((1, Pattern::Workdays, 1));
        }
        if let Some((n, days)) = self.weekday_list(i) {
            return Some((n, Pattern::Weekly(days), 1));
        }
        if let Some(unit) = self.unit(i) {
            return Some((1, pattern_of(unit), 1)).filter(|_| !matches!(unit, Unit::Minute | Unit::Hour));
        }
        if is(w, self.lex.other) {
            let unit = self.unit(i + 1).filter(|u| !matches!(u, Unit::Minute | Unit::Hour))?;
            return Some((2, pattern_of(unit), 2));
        }
        if let Some((n, count, unit)) = self.amount(i) {
            return Some((n, pattern_of(unit), count)).filter(|_| !matches!(unit, Unit::Minute | Unit::Hour));
        }
        let (n, pattern) = self.day_of_month(i)?;
        Some((n, pattern, 1))
    }

    /// "remind me", "remind me 1 day before", "remind me at 8am", "remind me
    /// tomorrow at 8am", with more joined by "and": "… 1 day and 1 hour before".
    fn reminders(&self, i: usize) -> Option<(usize, Vec<Reminder>)> {
        let words =
            self.lex.remind.iter().find(|words| words.iter().enumerate().all(|(k, w)| self.word(i + k) == Some(*w)))?;
        let mut n = words.len();
        let mut found = Vec::new();
        loop {
            let j = i + n;
            let (k, reminder) = if let Some((k, count, unit)) = self.amount(j) {
                let before = usize::from(self.word(j + k).is_some_and(|w| is(w, self.lex.before)));
                (k + before, Reminder::Before(count, unit))
            } else if let Some((k, date)) = self.on_date(j) {
                match self.at_time(j + k) {
                    Some((t, time)) => (k + t, Reminder::At(Some(date), time)),
                    None => (k, Reminder::At(Some(date), NaiveTime::from_hms_opt(9, 0, 0)?)),
                }
            } else if let Some((k, time)) = self.at_time(j) {
                (k, Reminder::At(None, time))
            } else {
                break;
            };
            found.push(reminder);
            n += k;
            let and = self.word(i + n).is_some_and(|w| is(w, self.lex.and));
            if and && (self.amount(i + n + 1).is_some() || self.at_time(i + n + 1).is_some()) {
                n += 1;
                continue;
            }
            break;
        }
        if found.is_empty() {
            found.push(Reminder::AtDue);
        }
        Some((n, found))
    }

    fn priority(&self, i: usize) -> Option<Priority> {
        let w = self.word(i)?;
        self.lex.priorities.iter().find(|(_, names)| is(w, names)).map(|(p, _)| *p)
    }

    fn tag(&self, i: usize) -> Option<Tag> {
        let token = self.tokens.get(i).filter(|t| !t.quoted)?;
        let name = token.text.strip_prefix('#').filter(|n| !n.is_empty() && !n.starts_with('#'))?;
        Tag::parse(name).ok()
    }

    /// The phrase that starts at token `i`, if any.
    fn read(&self, i: usize, found: &Found) -> Option<(usize, Reading)> {
        if let Some(tag) = self.tag(i) {
            return Some((1, Reading::Tag(tag)));
        }
        if found.priority.is_none() {
            if let Some(p) = self.priority(i) {
                return Some((1, Reading::Priority(p)));
            }
        }
        if let Some((n, reminders)) = self.reminders(i) {
            return Some((n, Reading::Reminders(reminders)));
        }
        if found.repeat.is_none() {
            if let Some((n, spec)) = self.repeat(i) {
                // "every day at 9am": the time belongs to the task.
                return match self.at_time(i + n).filter(|_| found.time.is_none()) {
                    Some((k, time)) => Some((n + k, Reading::Repeat(spec, Some(time)))),
                    None => Some((n, Reading::Repeat(spec, None))),
                };
            }
        }
        if found.date.is_none() {
            if let Some(moment) = self.within_hours(i) {
                return Some(moment);
            }
            if let Some((n, date)) = self.on_date(i) {
                return Some((n, Reading::Date(date)));
            }
        }
        if found.time.is_none() {
            if let Some((n, time)) = self.at_time(i) {
                return Some((n, Reading::Time(time)));
            }
        }
        None
    }

    /// "in 2 hours", "in 30 minutes": a moment from now.
    fn within_hours(&self, i: usize) -> Option<(usize, Reading)> {
        if !self.word(i).is_some_and(|w| is(w, self.lex.within)) {
            return None;
        }
        let (n, count, unit) = self.amount(i + 1)?;
        let minutes = match unit {
            Unit::Minute => i64::from(count),
            Unit::Hour => i64::from(count) * 60,
            _ => return None,
        };
        let at = self.now.checked_add_signed(chrono::Duration::minutes(minutes))?;
        Some((1 + n, Reading::Moment(at.with_second(0)?.with_nanosecond(0)?)))
    }
}

#[derive(Clone, Copy)]
enum Half {
    Am,
    Pm,
}

/// "9am" → ("9", Am).
fn split_suffix<'w>(word: &'w str, lex: &Lexicon) -> Option<(&'w str, Half)> {
    for (list, half) in [(lex.am, Half::Am), (lex.pm, Half::Pm)] {
        for suffix in list {
            if let Some(clock) = word.strip_suffix(suffix).filter(|c| !c.is_empty()) {
                return Some((clock, half));
            }
        }
    }
    None
}

fn pattern_of(unit: Unit) -> Pattern {
    match unit {
        Unit::Week => Pattern::Weekly(Vec::new()),
        Unit::Month => Pattern::Monthly(None),
        Unit::Year => Pattern::Yearly,
        Unit::Minute | Unit::Hour | Unit::Day => Pattern::Daily,
    }
}

/// The next `day` of the week: today counts when `today_counts`.
fn next_weekday(today: NaiveDate, day: Weekday, today_counts: bool) -> Option<NaiveDate> {
    let ahead = (7 + day.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
    let ahead = if ahead == 0 && !today_counts { 7 } else { ahead };
    today.checked_add_days(Days::new(u64::from(ahead)))
}

/// Reads `text` with the words of `lex`, at `now`, the user's wall-clock time.
pub fn understand_in(text: &str, now: NaiveDateTime, lex: &Lexicon) -> QuickAdd {
    let read_to = text.char_indices().map(|(i, _)| i).nth(MAX_READ).unwrap_or(text.len());
    let tokens = tokenize(&text[..read_to]);
    let reader = Reader { tokens: &tokens, lex, now };
    let mut found = Found::default();
    let mut parts = Vec::new();
    let mut title: Vec<String> = Vec::new();
    let mut title_end = None;
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        let reading = if token.quoted { None } else { reader.read(i, &found) };
        let Some((n, reading)) = reading else {
            if !token.quoted && is(&token.lower, &[",", ".", ";"]) {
                // Punctuation stays where it ends a word of the title ("Milk, eggs"), not after a phrase.
                if title_end == Some(token.start) {
                    if let Some(last) = title.last_mut() {
                        last.push_str(token.text);
                    }
                }
            } else {
                title.push(token.text.to_owned());
                title_end = Some(token.end);
            }
            i += 1;
            continue;
        };
        let n = n.max(1).min(tokens.len() - i);
        let (start, end) = (tokens[i].start, tokens[i + n - 1].end);
        let mut part = |kind, label: String| parts.push(Part { kind, start, end, label });
        match reading {
            Reading::Tag(tag) => {
                part(PartKind::Tag, format!("#{}", tag.as_str()));
                if !found.tags.contains(&tag) {
                    found.tags.push(tag);
                }
            }
            Reading::Priority(p) => {
                part(PartKind::Priority, format!("Priority {}", p.as_str()));
                found.priority = Some(p);
            }
            Reading::Reminders(reminders) => {
                part(PartKind::Reminder, text[start..end].to_owned());
                found.reminders.extend(reminders);
            }
            Reading::Repeat(spec, time) => {
                part(PartKind::Repeat, text[start..end].to_owned());
                found.repeat = Some(spec);
                if time.is_some() {
                    found.time = time;
                }
            }
            Reading::Date(date) => {
                part(PartKind::Due, date_label(date, lex));
                found.date = Some(date);
            }
            Reading::Time(time) => {
                part(PartKind::Time, time.format("%H:%M").to_string());
                found.time = Some(time);
            }
            Reading::Moment(at) => {
                part(PartKind::Due, format!("{} {}", date_label(at.date(), lex), at.format("%H:%M")));
                found.date = Some(at.date());
                found.time = Some(at.time());
            }
        }
        i += n;
    }
    if read_to < text.len() {
        title.push(text[read_to..].to_owned());
    }
    // Some phrases (a repeat's time after its date) were read ahead of the
    // title words between them; the parts are shown in the order typed.
    parts.sort_by_key(|p| p.start);
    let (due_date, due_time) = due_of(&found, now);
    let mut input = TaskInput {
        title: title.join(" ").split_whitespace().collect::<Vec<_>>().join(" "),
        priority: found.priority.map(|p| p.as_str().to_owned()).unwrap_or_default(),
        tags: found.tags.iter().map(Tag::as_str).collect::<Vec<_>>().join(", "),
        due_date: due_date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        due_time: due_time.map(|t| t.format("%H:%M").to_string()).unwrap_or_default(),
        ..TaskInput::default()
    };
    if let Some(spec) = &found.repeat {
        input.repeat = spec.input();
    }
    input.reminders = found
        .reminders
        .iter()
        .map(|r| reminder_entry(*r, due_date.unwrap_or(now.date())))
        .collect::<Vec<_>>()
        .join(", ");
    QuickAdd { input, parts }
}

/// The due date and time: as said; a repeat's first occurrence when only the
/// repeat was said; today (or tomorrow, once the time has passed) for a time alone.
fn due_of(found: &Found, now: NaiveDateTime) -> (Option<NaiveDate>, Option<NaiveTime>) {
    let today = now.date();
    let passed = found.time.is_some_and(|t| t <= now.time());
    let date = match (&found.repeat, found.date) {
        (_, Some(date)) => Some(date),
        (Some(spec), None) => {
            let start = if passed { today.succ_opt().unwrap_or(today) } else { today };
            start.iter_days().take(800).find(|d| spec.admits(*d)).or(Some(start))
        }
        (None, None) if found.time.is_some() => Some(if passed { today.succ_opt().unwrap_or(today) } else { today }),
        (None, None) => None,
    };
    (date, found.time)
}

fn date_label(date: NaiveDate, lex: &Lexicon) -> String {
    let weekday = lex.weekday_labels[date.weekday().num_days_from_monday() as usize];
    let month = lex.month_labels[date.month0() as usize];
    format!("{weekday} {} {month} {}", date.day(), date.year())
}

/// A reminder as the form's reminders field writes it.
fn reminder_entry(reminder: Reminder, due: NaiveDate) -> String {
    match reminder {
        Reminder::AtDue => "at due".to_owned(),
        Reminder::Before(n, unit) => {
            let (n, suffix) = match unit {
                Unit::Minute => (n, "m"),
                Unit::Hour => (n, "h"),
                Unit::Day => (n, "d"),
                Unit::Week => (n, "w"),
                Unit::Month => (n.saturating_mul(30), "d"),
                Unit::Year => (n.saturating_mul(365), "d"),
            };
            format!("{n}{suffix}")
        }
        Reminder::At(date, time) => format!("{} {}", date.unwrap_or(due).format("%Y-%m-%d"), time.format("%H:%M")),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Wednesday 25 November 2026, 10:00 in the user's zone.
    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap().and_hms_opt(10, 0, 0).unwrap()
    }

    /// The repeat fields in one line: preset, interval, days, anchor, end, custom rule.
    fn repeat_line(r: &RepeatInput) -> String {
        let end = match r.repeat_end.as_str() {
            "until" => format!("until {}", r.repeat_until),
            "count" => format!("{} times", r.repeat_count),
            _ => String::new(),
        };
        [r.repeat.as_str(), &r.repeat_every, &r.repeat_days, &r.repeat_from, &end, &r.recurrence]
            .iter()
            .filter(|f| !f.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" / ")
    }

    /// (sentence, title, due date, due time, repeat, reminders, tags, priority)
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    );

    const CASES: &[Case] = &[
        (
            "Pay rent every month on the 1st at 9am #home !high remind me 1 day before",
            "Pay rent",
            "2026-12-01",
            "09:00",
            "monthly",
            "1d",
            "home",
            "high",
        ),
        ("Buy milk", "Buy milk", "", "", "", "", "", ""),
        ("Call mom tomorrow", "Call mom", "2026-11-26", "", "", "", "", ""),
        ("Call mom today", "Call mom", "2026-11-25", "", "", "", "", ""),
        ("Dentist tomorrow at 17:30", "Dentist", "2026-11-26", "17:30", "", "", "", ""),
        ("Dentist at 17:30 tomorrow", "Dentist", "2026-11-26", "17:30", "", "", "", ""),
        ("Report friday", "Report", "2026-11-27", "", "", "", "", ""),
        ("Report on fri", "Report", "2026-11-27", "", "", "", "", ""),
        ("Standup next monday", "Standup", "2026-11-30", "", "", "", "", ""),
        ("Review wednesday", "Review", "2026-11-25", "", "", "", "", ""),
        ("Review next wednesday", "Review", "2026-12-02", "", "", "", "", ""),
        ("Exam next fri", "Exam", "2026-11-27", "", "", "", "", ""),
        ("Plan next week", "Plan", "2026-11-30", "", "", "", "", ""),
        ("Meeting this friday at 3pm", "Meeting", "2026-11-27", "15:00", "", "", "", ""),
        ("Clean garage this weekend", "Clean garage", "2026-11-28", "", "", "", "", ""),
        ("Trip in 3 days", "Trip", "2026-11-28", "", "", "", "", ""),
        ("Renew passport in 2 weeks", "Renew passport", "2026-12-09", "", "", "", "", ""),
        ("Check the boiler in a month", "Check the boiler", "2026-12-25", "", "", "", "", ""),
        ("Stretch in 2 hours", "Stretch", "2026-11-25", "12:00", "", "", "", ""),
        ("Tea in 30 minutes", "Tea", "2026-11-25", "10:30", "", "", "", ""),
        ("Birthday on 12 March", "Birthday", "2027-03-12", "", "", "", "", ""),
        ("Birthday March 12", "Birthday", "2027-03-12", "", "", "", "", ""),
        ("Party 24 december", "Party", "2026-12-24", "", "", "", "", ""),
        ("Launch 1 Jan 2027", "Launch", "2027-01-01", "", "", "", "", ""),
        ("Taxes 2027-04-15", "Taxes", "2027-04-15", "", "", "", "", ""),
        ("Gym at 6pm", "Gym", "2026-11-25", "18:00", "", "", "", ""),
        ("Breakfast at 8am", "Breakfast", "2026-11-26", "08:00", "", "", "", ""),
        ("Lunch at noon", "Lunch", "2026-11-25", "12:00", "", "", "", ""),
        ("Call the plumber at 9", "Call the plumber", "2026-11-26", "09:00", "", "", "", ""),
        ("Meeting 2:30pm", "Meeting", "2026-11-25", "14:30", "", "", "", ""),
        ("Meeting at 9.30pm", "Meeting", "2026-11-25", "21:30", "", "", "", ""),
        ("Water plants every day", "Water plants", "2026-11-25", "", "daily", "", "", ""),
        ("Water plants daily at 7am", "Water plants", "2026-11-26", "07:00", "daily", "", "", ""),
        ("Standup every weekday at 9:15", "Standup", "2026-11-26", "09:15", "weekdays", "", "", ""),
        ("Standup every weekday", "Standup", "2026-11-25", "", "weekdays", "", "", ""),
        ("Yoga every 2 weeks on tue and thu", "Yoga", "2026-11-26", "", "weekly / 2 / TU,TH", "", "", ""),
        ("Yoga every tue, thu", "Yoga", "2026-11-26", "", "weekly / TU,TH", "", "", ""),
        ("Bins every monday", "Bins", "2026-11-30", "", "weekly / MO", "", "", ""),
        ("Bins every mon", "Bins", "2026-11-30", "", "weekly / MO", "", "", ""),
        ("Backup every 3 days", "Backup", "2026-11-25", "", "daily / 3", "", "", ""),
        ("Read every 2 days", "Read", "2026-11-25", "", "daily / 2", "", "", ""),
        ("Water the cactus every! 3 days", "Water the cactus", "2026-11-25", "", "daily / 3 / completion", "", "", ""),
        ("Haircut every! 4 weeks", "Haircut", "2026-11-25", "", "weekly / 4 / completion", "", "", ""),
        ("Review every other week", "Review", "2026-11-25", "", "weekly / 2", "", "", ""),
        ("Pay the card every month", "Pay the card", "2026-11-25", "", "monthly", "", "", ""),
        ("Pay the card monthly on the 15th", "Pay the card", "2026-12-15", "", "monthly", "", "", ""),
        ("Pay rent every month on the 1st", "Pay rent", "2026-12-01", "", "monthly", "", "", ""),
        (
            "Book club every first monday",
            "Book club",
            "2026-12-07",
            "",
            "custom / RRULE:FREQ=MONTHLY;INTERVAL=1;BYDAY=1MO",
            "",
            "",
            "",
        ),
        (
            "Sprint review every last friday of the month",
            "Sprint review",
            "2026-11-27",
            "",
            "custom / RRULE:FREQ=MONTHLY;INTERVAL=1;BYDAY=-1FR",
            "",
            "",
            "",
        ),
        ("Anniversary every year on 12 March", "Anniversary", "2027-03-12", "", "yearly", "", "", ""),
        ("Anniversary every year", "Anniversary", "2026-11-25", "", "yearly", "", "", ""),
        ("Renew the domain every 2 years", "Renew the domain", "2026-11-25", "", "yearly / 2", "", "", ""),
        ("Pills every day until 2026-12-31", "Pills", "2026-11-25", "", "daily / until 2026-12-31", "", "", ""),
        ("Pills every day for 10 times", "Pills", "2026-11-25", "", "daily / 10 times", "", "", ""),
        ("Physio every week 6 times", "Physio", "2026-11-25", "", "weekly / 6 times", "", "", ""),
        ("Call grandma every sunday at 5pm", "Call grandma", "2026-11-29", "17:00", "weekly / SU", "", "", ""),
        ("Run at 7 every day", "Run", "2026-11-26", "07:00", "daily", "", "", ""),
        (
            "Submit timesheet every friday at 4pm remind me 1 hour before",
            "Submit timesheet",
            "2026-11-27",
            "16:00",
            "weekly / FR",
            "1h",
            "",
            "",
        ),
        (
            "Flight on 3 December at 06:40 remind me 1 day and 3 hours before",
            "Flight",
            "2026-12-03",
            "06:40",
            "",
            "1d, 3h",
            "",
            "",
        ),
        ("Call the bank tomorrow remind me", "Call the bank", "2026-11-26", "", "", "at due", "", ""),
        (
            "Call the bank tomorrow at 10am remind me at 9am",
            "Call the bank",
            "2026-11-26",
            "10:00",
            "",
            "2026-11-26 09:00",
            "",
            "",
        ),
        ("Doctor friday remind me thursday at 6pm", "Doctor", "2026-11-27", "", "", "2026-11-26 18:00", "", ""),
        ("Pack remind me 2 days before on 12 December", "Pack", "2026-12-12", "", "", "2d", "", ""),
        ("Fix the bug #work !urgent", "Fix the bug", "", "", "", "", "work", "urgent"),
        ("Fix the bug #work #backend p2", "Fix the bug", "", "", "", "", "work, backend", "high"),
        ("Email #Work", "Email", "", "", "", "", "work", ""),
        ("Tidy up !low #home #home", "Tidy up", "", "", "", "", "home", "low"),
        ("Watch \"Friday Night Lights\"", "Watch Friday Night Lights", "", "", "", "", "", ""),
        ("Read \"tomorrow\" by someone", "Read tomorrow by someone", "", "", "", "", "", ""),
        ("Buy 2 apples", "Buy 2 apples", "", "", "", "", "", ""),
        ("Pay 3.14 dollars", "Pay 3.14 dollars", "", "", "", "", "", ""),
        ("Hang out in the sun", "Hang out in the sun", "", "", "", "", "", ""),
        ("Sat exam prep", "Sat exam prep", "", "", "", "", "", ""),
        ("Plan the weekend", "Plan the weekend", "", "", "", "", "", ""),
        ("Email at the office", "Email at the office", "", "", "", "", "", ""),
        ("Call at 25", "Call at 25", "", "", "", "", "", ""),
        ("Milk, eggs, bread tomorrow", "Milk, eggs, bread", "2026-11-26", "", "", "", "", ""),
        ("Call mom tomorrow.", "Call mom", "2026-11-26", "", "", "", "", ""),
        ("Taxes tomorrow tomorrow", "Taxes tomorrow", "2026-11-26", "", "", "", "", ""),
        ("Priority !high and !urgent", "Priority and !urgent", "", "", "", "", "", "high"),
        ("every day", "", "2026-11-25", "", "daily", "", "", ""),
        ("", "", "", "", "", "", "", ""),
    ];

    #[test]
    fn the_table_of_sentences_reads_as_expected() {
        let mut failures = Vec::new();
        for (text, title, date, time, repeat, reminders, tags, priority) in CASES {
            let got = understand(text, now()).input;
            let got = (
                got.title.as_str(),
                got.due_date.as_str(),
                got.due_time.as_str(),
                repeat_line(&got.repeat),
                got.reminders.as_str(),
                got.tags.as_str(),
                got.priority.as_str(),
            );
            let want = (*title, *date, *time, repeat.to_string(), *reminders, *tags, *priority);
            if got != want {
                failures.push(format!("{text:?}\n   got {got:?}\n  want {want:?}"));
            }
        }
        assert!(CASES.len() >= 60, "at least 60 sentences");
        assert!(
            failures.is_empty(),
            "{} of {} sentences misread:\n{}",
            failures.len(),
            CASES.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn every_phrase_is_a_part_with_its_place_in_the_text() {
        let text = "Pay rent every month on the 1st at 9am #home !high remind me 1 day before";
        let parts = understand(text, now()).parts;
        let phrases: Vec<(PartKind, &str)> = parts.iter().map(|p| (p.kind, &text[p.start..p.end])).collect();
        assert_eq!(
            phrases,
            [
                (PartKind::Repeat, "every month on the 1st at 9am"),
                (PartKind::Tag, "#home"),
                (PartKind::Priority, "!high"),
                (PartKind::Reminder, "remind me 1 day before"),
            ]
        );
        let due = understand("Dentist tomorrow at 17:30", now()).parts;
        assert_eq!(due.iter().map(|p| p.label.as_str()).collect::<Vec<_>>(), ["Thu 26 Nov 2026", "17:30"]);
    }

    #[test]
    fn a_removed_chip_keeps_its_phrase_in_the_title() {
        let text = "Read Tomorrow Never Dies tomorrow";
        let first = understand(text, now());
        assert_eq!(
            (first.input.title.as_str(), first.input.due_date.as_str()),
            ("Read Never Dies tomorrow", "2026-11-26")
        );
        let kept = keep_literal(text, &first.parts[0]);
        assert_eq!(kept, "Read \"Tomorrow\" Never Dies tomorrow");
        let again = understand(&kept, now());
        assert_eq!(
            (again.input.title.as_str(), again.input.due_date.as_str()),
            ("Read Tomorrow Never Dies", "2026-11-26")
        );
    }

    #[test]
    fn what_it_reads_is_what_the_task_form_accepts() {
        let zone = crate::TimeZone::parse("Europe/Berlin").unwrap();
        for (text, ..) in CASES.iter().filter(|c| !c.1.is_empty()) {
            let input = understand(text, now()).input;
            let draft = crate::task::TaskDraft::parse(&input, zone);
            assert!(draft.is_ok(), "{text:?} gave fields the form refuses: {:?}", draft.err());
        }
    }

    proptest! {
        #[test]
        fn any_text_is_read_without_panicking_and_its_parts_lie_inside_it(text in "\\PC{0,300}") {
            let read = understand(&text, now());
            for part in &read.parts {
                prop_assert!(part.start < part.end && part.end <= text.len());
                prop_assert!(text.is_char_boundary(part.start) && text.is_char_boundary(part.end));
            }
        }

        #[test]
        fn sentences_of_its_own_words_are_read_without_panicking(
            words in proptest::collection::vec(proptest::sample::select(vec![
                "every", "every!", "other", "on", "the", "1st", "31st", "last", "first", "friday", "mon", "and", ",",
                "at", "9", "9am", "12:30", "pm", "noon", "in", "a", "3", "days", "weeks", "hours", "month", "year",
                "next", "this", "weekend", "week", "tomorrow", "today", "remind", "me", "before", "until", "for",
                "times", "2026-02-29", "2027-02-28", "29", "february", "#tag", "!high", "p1", "\"", "daily", "of",
            ]), 0..20),
            day in 0u32..3000,
        ) {
            let text = words.join(" ");
            let now = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap().checked_add_days(Days::new(u64::from(day))).unwrap().and_hms_opt(23, 59, 0).unwrap();
            let read = understand(&text, now);
            for part in &read.parts {
                prop_assert!(part.start < part.end && part.end <= text.len());
            }
        }
    }

    #[test]
    fn a_pasted_novel_is_read_only_so_far_and_kept_whole_in_the_title() {
        let novel = "every other day at noon remind me ".repeat(2000);
        let read = understand(&novel, now());
        let horizon = novel.char_indices().nth(MAX_READ).unwrap().0;
        assert!(
            read.parts.iter().all(|p| p.end <= horizon),
            "phrases are looked for in the first {MAX_READ} characters"
        );
        assert!(read.input.title.len() > novel.len() / 2, "what is not read stays in the title");
    }
}
