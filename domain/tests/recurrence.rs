//! Recurrence rules against RFC 5545 §3.8.5.3's own examples (every one that
//! uses the parts a task supports, with the RFC's dates), across DST in
//! several zones, and by property.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Timelike, Weekday};
use domain::recurrence::{End, Recurrence, RecurrenceRule, FIELD};
use domain::TimeZone;
use proptest::prelude::*;

fn zone(name: &str) -> TimeZone {
    TimeZone::parse(name).unwrap()
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y%m%d").unwrap()
}

fn series(rule: &str, start: &str) -> Recurrence {
    let rule = RecurrenceRule::parse(rule).unwrap_or_else(|e| panic!("{rule}: {e}"));
    Recurrence::new(rule, day(start), NaiveTime::from_hms_opt(9, 0, 0), zone("America/New_York"))
}

/// The first `take` occurrences' dates, checking each is at 09:00 New York time.
fn dates(r: &Recurrence, take: usize) -> Vec<NaiveDate> {
    r.occurrences()
        .take(take)
        .map(|o| {
            let local = o.at().with_timezone(&r.zone.0);
            assert_eq!((local.hour(), local.minute()), (9, 0), "{} keeps 09:00 local", o.date());
            o.date()
        })
        .collect()
}

fn days(list: &str) -> Vec<NaiveDate> {
    list.split_whitespace().map(day).collect()
}

fn every_day(from: &str, to: &str) -> Vec<NaiveDate> {
    day(from).iter_days().take_while(|d| *d <= day(to)).collect()
}

/// Each RFC example: the rule, its DTSTART (09:00 America/New_York), and the RFC's dates.
#[test]
fn the_rfc_5545_examples_give_the_rfcs_dates() {
    let table: Vec<(&str, &str, Vec<NaiveDate>)> = vec![
        ("FREQ=DAILY;COUNT=10", "19970902", every_day("19970902", "19970911")),
        ("FREQ=DAILY;UNTIL=19971224T000000Z", "19970902", every_day("19970902", "19971223")),
        ("FREQ=DAILY;INTERVAL=2", "19970902", every_day("19970902", "19971203").into_iter().step_by(2).collect()),
        ("FREQ=DAILY;INTERVAL=10;COUNT=5", "19970902", days("19970902 19970912 19970922 19971002 19971012")),
        (
            "FREQ=YEARLY;UNTIL=20000131T140000Z;BYMONTH=1;BYDAY=SU,MO,TU,WE,TH,FR,SA",
            "19980101",
            [1998, 1999, 2000].iter().flat_map(|y| every_day(&format!("{y}0101"), &format!("{y}0131"))).collect(),
        ),
        (
            "FREQ=DAILY;UNTIL=20000131T140000Z;BYMONTH=1",
            "19980101",
            [1998, 1999, 2000].iter().flat_map(|y| every_day(&format!("{y}0101"), &format!("{y}0131"))).collect(),
        ),
        (
            "FREQ=WEEKLY;COUNT=10",
            "19970902",
            days("19970902 19970909 19970916 19970923 19970930 19971007 19971014 19971021 19971028 19971104"),
        ),
        ("FREQ=WEEKLY;UNTIL=19971224T000000Z", "19970902", every_day("19970902", "19971223").into_iter().step_by(7).collect()),
        (
            "FREQ=WEEKLY;INTERVAL=2;WKST=SU",
            "19970902",
            days("19970902 19970916 19970930 19971014 19971028 19971111 19971125 19971209 19971223 19980106 19980120 19980203 19980217"),
        ),
        (
            "FREQ=WEEKLY;UNTIL=19971007T000000Z;WKST=SU;BYDAY=TU,TH",
            "19970902",
            days("19970902 19970904 19970909 19970911 19970916 19970918 19970923 19970925 19970930 19971002"),
        ),
        (
            "FREQ=WEEKLY;COUNT=10;WKST=SU;BYDAY=TU,TH",
            "19970902",
            days("19970902 19970904 19970909 19970911 19970916 19970918 19970923 19970925 19970930 19971002"),
        ),
        (
            "FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000Z;WKST=SU;BYDAY=MO,WE,FR",
            "19970901",
            days(
                "19970901 19970903 19970905 19970915 19970917 19970919 19970929 19971001 19971003 19971013 19971015 \
                 19971017 19971027 19971029 19971031 19971110 19971112 19971114 19971124 19971126 19971128 19971208 \
                 19971210 19971212 19971222",
            ),
        ),
        (
            "FREQ=WEEKLY;INTERVAL=2;COUNT=8;WKST=SU;BYDAY=TU,TH",
            "19970902",
            days("19970902 19970904 19970916 19970918 19970930 19971002 19971014 19971016"),
        ),
        (
            "FREQ=MONTHLY;COUNT=10;BYDAY=1FR",
            "19970905",
            days("19970905 19971003 19971107 19971205 19980102 19980206 19980306 19980403 19980501 19980605"),
        ),
        ("FREQ=MONTHLY;UNTIL=19971224T000000Z;BYDAY=1FR", "19970905", days("19970905 19971003 19971107 19971205")),
        (
            "FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYDAY=1SU,-1SU",
            "19970907",
            days("19970907 19970928 19971102 19971130 19980104 19980125 19980301 19980329 19980503 19980531"),
        ),
        ("FREQ=MONTHLY;COUNT=6;BYDAY=-2MO", "19970922", days("19970922 19971020 19971117 19971222 19980119 19980216")),
        ("FREQ=MONTHLY;BYMONTHDAY=-3", "19970928", days("19970928 19971029 19971128 19971229 19980129 19980226")),
        (
            "FREQ=MONTHLY;COUNT=10;BYMONTHDAY=2,15",
            "19970902",
            days("19970902 19970915 19971002 19971015 19971102 19971115 19971202 19971215 19980102 19980115"),
        ),
        (
            "FREQ=MONTHLY;COUNT=10;BYMONTHDAY=1,-1",
            "19970930",
            days("19970930 19971001 19971031 19971101 19971130 19971201 19971231 19980101 19980131 19980201"),
        ),
        (
            "FREQ=MONTHLY;INTERVAL=18;COUNT=10;BYMONTHDAY=10,11,12,13,14,15",
            "19970910",
            days("19970910 19970911 19970912 19970913 19970914 19970915 19990310 19990311 19990312 19990313"),
        ),
        (
            "FREQ=MONTHLY;INTERVAL=2;BYDAY=TU",
            "19970902",
            days(
                "19970902 19970909 19970916 19970923 19970930 19971104 19971111 19971118 19971125 19980106 19980113 \
                 19980120 19980127 19980303 19980310 19980317 19980324 19980331",
            ),
        ),
        (
            "FREQ=YEARLY;COUNT=10;BYMONTH=6,7",
            "19970610",
            days("19970610 19970710 19980610 19980710 19990610 19990710 20000610 20000710 20010610 20010710"),
        ),
        (
            "FREQ=YEARLY;INTERVAL=2;COUNT=10;BYMONTH=1,2,3",
            "19970310",
            days("19970310 19990110 19990210 19990310 20010110 20010210 20010310 20030110 20030210 20030310"),
        ),
        ("FREQ=YEARLY;BYDAY=20MO", "19970519", days("19970519 19980518 19990517")),
        (
            "FREQ=YEARLY;BYMONTH=3;BYDAY=TH",
            "19970313",
            days("19970313 19970320 19970327 19980305 19980312 19980319 19980326 19990304 19990311 19990318 19990325"),
        ),
        (
            "FREQ=YEARLY;BYDAY=TH;BYMONTH=6,7,8",
            "19970605",
            [1997, 1999, 1998]
                .iter()
                .flat_map(|y| every_day(&format!("{y}0601"), &format!("{y}0831")))
                .filter(|d| d.weekday() == Weekday::Thu)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
        ),
        (
            "FREQ=MONTHLY;BYDAY=SA;BYMONTHDAY=7,8,9,10,11,12,13",
            "19970913",
            days("19970913 19971011 19971108 19971213 19980110 19980207 19980307 19980411 19980509 19980613"),
        ),
        (
            "FREQ=YEARLY;INTERVAL=4;BYMONTH=11;BYDAY=TU;BYMONTHDAY=2,3,4,5,6,7,8",
            "19961105",
            days("19961105 20001107 20041102"),
        ),
        ("FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3", "19970904", days("19970904 19971007 19971106")),
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2",
            "19970929",
            days("19970929 19971030 19971127 19971230 19980129 19980226 19980330"),
        ),
        ("FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO", "19970805", days("19970805 19970810 19970819 19970824")),
        ("FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU", "19970805", days("19970805 19970817 19970819 19970831")),
        ("FREQ=MONTHLY;BYMONTHDAY=15,30;COUNT=5", "20070115", days("20070115 20070130 20070215 20070315 20070330")),
    ];
    for (rule, start, expected) in table {
        let r = series(rule, start);
        let ends = !matches!(r.rule.end, End::Never);
        let got = dates(&r, if ends { expected.len() + 5 } else { expected.len() });
        assert_eq!(got, expected, "{rule} from {start}");
    }
}

#[test]
fn friday_the_13th_skips_its_unmatched_start_as_the_rfc_does_with_exdate() {
    let mut r = series("FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", "19970902");
    r.skipped.insert(day("19970902"));
    assert_eq!(dates(&r, 5), days("19980213 19980313 19981113 19990813 20001013"));
}

#[test]
fn a_skipped_day_still_counts_toward_count() {
    let mut r = series("FREQ=DAILY;COUNT=3", "20270101");
    r.skipped.insert(day("20270102"));
    assert_eq!(dates(&r, 10), days("20270101 20270103"));
}

#[test]
fn the_rfc_examples_this_app_does_not_support_are_refused_naming_the_field() {
    for rule in [
        "FREQ=YEARLY;INTERVAL=3;COUNT=10;BYYEARDAY=1,100,200",
        "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO",
        "FREQ=HOURLY;INTERVAL=3;UNTIL=19970902T170000Z",
        "FREQ=MINUTELY;INTERVAL=15;COUNT=6",
        "FREQ=DAILY;BYHOUR=9,10,11,12,13,14,15,16;BYMINUTE=0,20,40",
        "FREQ=SECONDLY",
    ] {
        let err = RecurrenceRule::parse(rule).unwrap_err();
        assert_eq!(err.field, FIELD, "{rule}");
    }
}

#[test]
fn malformed_rules_are_refused_with_a_message_naming_the_problem() {
    for (rule, says) in [
        ("", "FREQ"),
        ("INTERVAL=2", "FREQ"),
        ("FREQ=WEEKLY;FREQ=DAILY", "twice"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20270101", "not both"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
        ("FREQ=DAILY;COUNT=100000", "COUNT"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYDAY=6MO", "at most 5"),
        ("FREQ=DAILY;BYDAY=1MO", "MONTHLY"),
        ("FREQ=WEEKLY;BYMONTHDAY=1", "WEEKLY"),
        ("FREQ=MONTHLY;BYSETPOS=1", "BYSETPOS"),
        ("FREQ=DAILY;UNTIL=tomorrow", "UNTIL"),
        ("FREQ=DAILY;X-FOO=1", "X-FOO"),
        ("FREQ=WEEKLY;BYDAY=XX", "XX"),
    ] {
        let err = RecurrenceRule::parse(rule).unwrap_err();
        assert_eq!(err.field, FIELD);
        assert!(err.message.contains(says), "{rule}: {}", err.message);
    }
}

#[test]
fn a_rule_that_can_never_repeat_ends_instead_of_searching_forever() {
    let r = series("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "20270101");
    assert_eq!(dates(&r, 5), days("20270101"));
    let r = series("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "20270101");
    assert_eq!(dates(&r, 5), days("20270101"));
}

#[test]
fn leap_days_repeat_every_leap_year_only() {
    let r = series("FREQ=YEARLY", "20240229");
    assert_eq!(dates(&r, 4), days("20240229 20280229 20320229 20360229"));
    let r = series("FREQ=MONTHLY", "20270131");
    assert_eq!(
        dates(&r, 4),
        days("20270131 20270331 20270531 20270731"),
        "months without a 31st are skipped, as RFC 5545 says"
    );
}

/// Zones with DST, a southern one and one whose shift is 30 minutes.
const DST_ZONES: [&str; 4] = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "Australia/Lord_Howe"];

#[test]
fn every_day_at_nine_stays_at_nine_local_through_a_year_of_dst_changes() {
    for name in DST_ZONES {
        let z = zone(name);
        let r = Recurrence::new(
            RecurrenceRule::parse("FREQ=DAILY").unwrap(),
            day("20270101"),
            NaiveTime::from_hms_opt(9, 0, 0),
            z,
        );
        let all: Vec<_> = r.occurrences().take(366).collect();
        for (n, o) in all.iter().enumerate() {
            assert_eq!(
                o.date(),
                day("20270101") + Duration::days(n as i64),
                "{name}: one per day, none skipped or doubled"
            );
            let local = o.at().with_timezone(&z.0);
            assert_eq!((local.date_naive(), local.hour(), local.minute()), (o.date(), 9, 0), "{name}");
        }
    }
}

#[test]
fn a_time_inside_a_dst_gap_moves_forward_once_and_the_series_keeps_its_time_after() {
    // Europe/Berlin skips 02:00–03:00 on 28 March 2027; New York on 14 March 2027.
    for (name, gap_day) in [("Europe/Berlin", "20270328"), ("America/New_York", "20270314")] {
        let z = zone(name);
        let r = Recurrence::new(
            RecurrenceRule::parse("FREQ=DAILY").unwrap(),
            day("20270320"),
            NaiveTime::from_hms_opt(2, 30, 0),
            z,
        );
        let all: Vec<_> = r.occurrences().take(20).collect();
        let mut instants: Vec<_> = all.iter().map(|o| o.at()).collect();
        instants.dedup();
        assert_eq!(instants.len(), 20, "{name}: no two occurrences at one instant");
        for o in &all {
            let local = o.at().with_timezone(&z.0);
            if o.date() == day(gap_day) {
                // RFC 5545 §3.3.5: read with the offset before the gap, so an hour later.
                assert_eq!((local.hour(), local.minute()), (3, 30), "{name}: 02:30 does not exist that day");
            } else {
                assert_eq!((local.hour(), local.minute()), (2, 30), "{name} on {}", o.date());
            }
        }
    }
}

#[test]
fn the_canonical_text_parses_back_to_the_same_rule() {
    let r = RecurrenceRule::parse("rrule:freq=monthly;byday=-1fr,1mo;interval=2;until=20271231;wkst=su").unwrap();
    assert_eq!(r.to_string(), "FREQ=MONTHLY;INTERVAL=2;BYDAY=-1FR,1MO;WKST=SU;UNTIL=20271231");
    assert_eq!(RecurrenceRule::parse(&r.to_string()).unwrap(), r);
}

fn any_rule() -> impl Strategy<Value = String> {
    let freq = prop::sample::select(vec!["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]);
    let days = prop::sample::subsequence(vec!["MO", "TU", "WE", "TH", "FR", "SA", "SU"], 0..4);
    let nth = prop::option::of(prop::sample::select(vec![1i32, 2, -1, -2]));
    let month_days = prop::sample::subsequence(vec![1, 2, 13, 15, 28, 29, 30, 31, -1, -3], 0..3);
    let months = prop::sample::subsequence(vec![1, 2, 3, 6, 11, 12], 0..3);
    let setpos = prop::option::of(prop::sample::select(vec![1, 2, -1]));
    (freq, 1u32..4, days, nth, month_days, months, setpos).prop_map(
        |(freq, interval, days, nth, month_days, months, setpos)| {
            let mut rule = format!("FREQ={freq};INTERVAL={interval}");
            let numbered = matches!(freq, "MONTHLY" | "YEARLY");
            if !days.is_empty() {
                let days: Vec<String> = days
                    .iter()
                    .map(|d| format!("{}{d}", nth.filter(|_| numbered).map(|n| n.to_string()).unwrap_or_default()))
                    .collect();
                rule.push_str(&format!(";BYDAY={}", days.join(",")));
            }
            if !month_days.is_empty() && freq != "WEEKLY" {
                rule.push_str(&format!(
                    ";BYMONTHDAY={}",
                    month_days.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
                ));
            }
            if !months.is_empty() {
                rule.push_str(&format!(";BYMONTH={}", months.iter().map(i32::to_string).collect::<Vec<_>>().join(",")));
            }
            if let Some(p) = setpos {
                if !days.is_empty() || !months.is_empty() || (!month_days.is_empty() && freq != "WEEKLY") {
                    rule.push_str(&format!(";BYSETPOS={p}"));
                }
            }
            rule
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn occurrences_increase_strictly_match_their_rule_and_keep_the_wall_clock(
        rule in any_rule(),
        start_days in 0i64..3000,
        zi in 0usize..DST_ZONES.len(),
        minutes in 0u32..(24 * 60),
    ) {
        let parsed = RecurrenceRule::parse(&rule).unwrap();
        let z = zone(DST_ZONES[zi]);
        let start = day("20250101") + Duration::days(start_days);
        let time = NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).unwrap();
        let r = Recurrence::new(parsed.clone(), start, Some(time), z);
        let all: Vec<_> = r.occurrences().take(40).collect();
        prop_assert_eq!(all.first().map(|o| o.date()), Some(start), "the start is the first occurrence");
        for pair in all.windows(2) {
            prop_assert!(pair[0].date() < pair[1].date() && pair[0].at() < pair[1].at(), "{} then {}", pair[0].date(), pair[1].date());
        }
        for o in all.iter().skip(1) {
            let d = o.date();
            prop_assert!(parsed.by_month.is_empty() || parsed.by_month.contains(&d.month()), "{rule}: {d} month");
            prop_assert!(parsed.by_day.is_empty() || parsed.by_day.iter().any(|b| b.weekday == d.weekday()), "{rule}: {d} weekday");
            let local = o.at().with_timezone(&z.0);
            // Wall-clock time kept, unless a DST gap swallowed it; then moved forward by at most the gap.
            let asked = d.and_time(time);
            let got = local.naive_local();
            prop_assert!(got >= asked && got - asked <= Duration::hours(1), "{rule}: {asked} became {got}");
        }
    }

    #[test]
    fn any_rule_that_parses_prints_back_to_itself(rule in any_rule()) {
        let parsed = RecurrenceRule::parse(&rule).unwrap();
        prop_assert_eq!(RecurrenceRule::parse(&parsed.to_string()).unwrap(), parsed);
    }
}

#[test]
fn rules_read_as_sentences() {
    let start = day("20270310"); // a Wednesday
    for (rule, sentence) in [
        ("FREQ=DAILY", "Every day"),
        ("FREQ=DAILY;INTERVAL=3;COUNT=5", "Every 3 days, 5 times"),
        ("FREQ=WEEKLY", "Every week on Wednesday"),
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;UNTIL=20270331",
            "Every 2 weeks on Monday and Wednesday, until 31 March 2027",
        ),
        ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "Every week on weekdays"),
        ("FREQ=MONTHLY", "Every month on the 10th"),
        ("FREQ=MONTHLY;BYDAY=1MO", "Every month on the 1st Monday"),
        ("FREQ=MONTHLY;BYDAY=-1FR", "Every month on the last Friday"),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", "Every month on the last day"),
        ("FREQ=MONTHLY;BYMONTHDAY=1,15", "Every month on the 1st and the 15th"),
        ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "Every month on the last weekday"),
        ("FREQ=YEARLY", "Every year on 10 March"),
        ("FREQ=YEARLY;BYMONTH=6,7", "Every year on the 10th in June and July"),
        ("FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", "Every month on the 13th when it falls on Friday"),
        ("FREQ=DAILY;COUNT=1", "Every day, once"),
    ] {
        assert_eq!(RecurrenceRule::parse(rule).unwrap().describe(start), sentence, "{rule}");
    }
}

#[test]
fn completing_on_schedule_late_or_early_gives_the_next_future_occurrence() {
    use domain::recurrence::Anchor::Schedule;
    let r = series("FREQ=DAILY", "20270301");
    let next = |current, done| r.next_instance(Schedule, day(current), day(done), 1).map(|o| o.date());
    assert_eq!(next("20270301", "20270301"), Some(day("20270302")), "on time: the next day");
    assert_eq!(next("20270301", "20270306"), Some(day("20270307")), "five days late: tomorrow, not a day in the past");
    let weekly = series("FREQ=WEEKLY;BYDAY=MO", "20270301");
    assert_eq!(
        weekly.next_instance(Schedule, day("20270301"), day("20270226"), 1).map(|o| o.date()),
        Some(day("20270308")),
        "early: the next scheduled Monday after this one"
    );
}

#[test]
fn completing_with_the_completion_anchor_counts_the_interval_from_the_day_it_was_done() {
    use domain::recurrence::Anchor::Completion;
    let r = series("FREQ=DAILY;INTERVAL=3", "20270301");
    assert_eq!(
        r.next_instance(Completion, day("20270301"), day("20270305"), 1).map(|o| o.date()),
        Some(day("20270308"))
    );
    let counted = series("FREQ=DAILY;INTERVAL=3;COUNT=2", "20270301");
    assert!(
        counted.next_instance(Completion, day("20270304"), day("20270305"), 2).is_none(),
        "COUNT still ends the series"
    );
    assert_eq!(
        counted.next_instance(Completion, day("20270301"), day("20270305"), 1).map(|o| o.date()),
        Some(day("20270308"))
    );
    let until = series("FREQ=DAILY;INTERVAL=3;UNTIL=20270307", "20270301");
    assert!(until.next_instance(Completion, day("20270301"), day("20270305"), 1).is_none(), "UNTIL still ends it");
}

#[test]
fn a_series_begun_long_ago_finds_its_next_date_without_walking_every_day_since() {
    let r = series("FREQ=DAILY", "19000101");
    assert_eq!(r.next_after(day("20270310")).map(|o| o.date()), Some(day("20270311")));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn next_after_agrees_with_walking_the_series(rule in any_rule(), start_days in 0i64..2000, after_days in 0i64..4000) {
        let start = day("20200101") + Duration::days(start_days);
        let r = Recurrence::new(RecurrenceRule::parse(&rule).unwrap(), start, NaiveTime::from_hms_opt(9, 0, 0), zone("Europe/Berlin"));
        let after = day("20200101") + Duration::days(after_days);
        let walked = r.occurrences().find(|o| o.date() > after);
        prop_assert_eq!(r.next_after(after).map(|o| o.date()), walked.map(|o| o.date()), "{} from {} after {}", rule, start, after);
    }
}

#[test]
fn rules_with_far_ends_stay_cheap_to_read() {
    // An UNTIL in year 9999 is accepted; reading the series is lazy, and the next date after a day decades on is found at once.
    let r = series("FREQ=DAILY;UNTIL=99991231", "20270101");
    assert_eq!(dates(&r, 3), days("20270101 20270102 20270103"));
    assert_eq!(r.next_after(day("29991231")).map(|o| o.date()), Some(day("30000101")));
    // COUNT is bounded at 10,000, so counting to its end is bounded too.
    let counted = series("FREQ=DAILY;COUNT=10000", "20270101");
    assert_eq!(counted.occurrences().count(), 10_000);
    assert!(counted.next_after(day("21000101")).is_none());
}

#[test]
fn pasted_rrule_and_exdate_lines_give_the_rule_and_the_days_to_skip() {
    use domain::recurrence::parse_lines;
    let (rule, skipped) = parse_lines(
        "RRULE:FREQ=WEEKLY;BYDAY=MO\nEXDATE;TZID=Europe/Berlin:20270315T090000,20270329T090000\nEXDATE:20270405",
    )
    .unwrap();
    assert_eq!(rule.to_string(), "FREQ=WEEKLY;BYDAY=MO");
    assert_eq!(skipped.into_iter().collect::<Vec<_>>(), days("20270315 20270329 20270405"));
    assert_eq!(parse_lines("FREQ=DAILY").unwrap().0.to_string(), "FREQ=DAILY", "a bare rule is an RRULE line");
    for (text, says) in [
        ("DTSTART:20270301T090000\nRRULE:FREQ=DAILY", "DTSTART"),
        ("RRULE:FREQ=DAILY\nRRULE:FREQ=WEEKLY", "one RRULE"),
        ("RRULE:FREQ=DAILY\nEXDATE:soon", "EXDATE"),
        ("EXDATE:20270301", "FREQ"),
        ("RDATE:20270301\nRRULE:FREQ=DAILY", "RDATE"),
    ] {
        let err = parse_lines(text).unwrap_err();
        assert_eq!(err.field, FIELD);
        assert!(err.message.contains(says), "{text}: {}", err.message);
    }
}
