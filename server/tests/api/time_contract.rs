//! The time engine's part of the store contract (series, timers,
//! notifications), run unchanged on SQLite and on PostgreSQL.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::notification::{NewNotification, NotificationKind};
use domain::ports::{Clock, Store};
use domain::recurrence::{Anchor, RecurrenceRule};
use domain::repeat::{Repeat, SeriesId};
use domain::spine::Lease;
use domain::task::{Due, Task};
use domain::timer::{fire_one, fire_round, Timer, TimerKind};
use domain::{TimeZone, User};
use uuid::Uuid;

use crate::contract::{add_user, now, task};
use crate::helpers::TestDb;

/// A clock the test moves by hand.
struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    fn at(t: DateTime<Utc>) -> Self {
        Self(Mutex::new(t))
    }
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

async fn saved_task(store: &Arc<dyn Store>, owner: &User, title: &str) -> Task {
    let t = task(owner, title);
    let mut uow = store.begin().await.unwrap();
    assert!(uow.insert_task(&t).await.unwrap());
    uow.commit().await.unwrap();
    t
}

async fn set_timers(store: &Arc<dyn Store>, t: &Task, at: &[DateTime<Utc>]) -> Vec<Timer> {
    let timers: Vec<Timer> =
        at.iter().map(|at| Timer::new(t, TimerKind::Reminder, *at, "At the due time".into())).collect();
    let mut uow = store.begin().await.unwrap();
    uow.replace_timers(t.id, TimerKind::Reminder, &timers).await.unwrap();
    uow.commit().await.unwrap();
    timers
}

/// The types of the events the outbox holds for `user`, newest first.
async fn event_types(store: &Arc<dyn Store>, user: &User) -> Vec<String> {
    store.activity(user.id, None, None, 1000).await.unwrap().into_iter().map(|e| e.event_type).collect()
}

/// Now, to the millisecond: timers are kept at that precision.
fn t_now() -> DateTime<Utc> {
    use chrono::DurationRound as _;
    now().duration_trunc(Duration::milliseconds(1)).unwrap()
}

fn lease(owner: &str, until: DateTime<Utc>) -> Lease {
    Lease { owner: owner.into(), until }
}

pub async fn a_due_timer_fires_once_with_its_event_and_a_later_one_waits(store: Arc<dyn Store>) {
    store.register_subscribers(&["audit-log"]).await.unwrap();
    let u = add_user(&store, "timer@example.com").await;
    let t = saved_task(&store, &u, "Call the bank").await;
    let t0 = t_now();
    set_timers(&store, &t, &[t0 - Duration::seconds(1), t0 + Duration::hours(1)]).await;
    assert_eq!(store.pending_timers().await.unwrap(), 2);
    assert_eq!(store.next_timer_at(t0).await.unwrap(), Some(t0 - Duration::seconds(1)));
    let clock = TestClock::at(t0);
    let report = fire_round(&*store, &clock, "a", Duration::seconds(30), 100).await.unwrap();
    assert_eq!((report.claimed, report.fired), (1, 1));
    let again = fire_round(&*store, &clock, "a", Duration::seconds(30), 100).await.unwrap();
    assert_eq!(again.fired, 0, "a fired timer never fires again");
    assert_eq!(store.pending_timers().await.unwrap(), 1);
    assert_eq!(store.next_timer_at(t0).await.unwrap(), Some(t0 + Duration::hours(1)));
    let reminders = event_types(&store, &u).await.iter().filter(|e| *e == "reminder.due").count();
    assert_eq!(reminders, 1, "exactly one event for the fired timer");
}

pub async fn a_claimed_timer_fires_only_under_its_lease_and_after_expiry_elsewhere(store: Arc<dyn Store>) {
    store.register_subscribers(&["audit-log"]).await.unwrap();
    let u = add_user(&store, "lease@example.com").await;
    let t = saved_task(&store, &u, "Leased").await;
    let t0 = t_now();
    set_timers(&store, &t, &[t0]).await;
    // Replica A claims, then "crashes" before it fires.
    let claimed = store.claim_timers(&lease("a", t0 + Duration::seconds(30)), t0, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(store.claim_timers(&lease("b", t0 + Duration::seconds(30)), t0, 10).await.unwrap().is_empty());
    assert_eq!(store.next_timer_at(t0).await.unwrap(), None, "a leased timer is nobody else's to wait for");
    // Once the lease has run out, B takes it over and fires it.
    let later = t0 + Duration::seconds(31);
    let clock = TestClock::at(later);
    let report = fire_round(&*store, &clock, "b", Duration::seconds(30), 10).await.unwrap();
    assert_eq!(report.fired, 1);
    // A wakes up and tries to fire what it claimed: its lease is gone, nothing happens.
    let event = domain::EventEnvelope::new(
        Uuid::now_v7(),
        later,
        u.id,
        domain::DomainEvent::ReminderDue { reminder: Box::new(claimed[0].fired(later)) },
    );
    let stale = store.fire_timers(&[(claimed[0].id, event)], &lease("a", later)).await.unwrap();
    assert_eq!(stale, 0, "the lost lease fires nothing");
    let reminders = event_types(&store, &u).await.iter().filter(|e| *e == "reminder.due").count();
    assert_eq!(reminders, 1, "fired once");
}

pub async fn replacing_and_cancelling_timers_touch_only_unfired_ones_of_that_kind(store: Arc<dyn Store>) {
    let u = add_user(&store, "replace@example.com").await;
    let t = saved_task(&store, &u, "Replace").await;
    let t0 = t_now();
    set_timers(&store, &t, &[t0 + Duration::hours(1), t0 + Duration::hours(2)]).await;
    let snooze = Timer::new(&t, TimerKind::Snooze, t0 + Duration::minutes(10), "Snoozed".into());
    let mut uow = store.begin().await.unwrap();
    uow.replace_timers(t.id, TimerKind::Snooze, std::slice::from_ref(&snooze)).await.unwrap();
    uow.commit().await.unwrap();
    set_timers(&store, &t, &[t0 + Duration::hours(3)]).await;
    assert_eq!(store.pending_timers().await.unwrap(), 2, "one reminder (replaced) and the snooze");
    assert_eq!(store.next_timer_at(t0).await.unwrap(), Some(snooze.fire_at));
    let mut uow = store.begin().await.unwrap();
    uow.cancel_timers(t.id).await.unwrap();
    uow.commit().await.unwrap();
    assert_eq!(store.pending_timers().await.unwrap(), 0, "a completed or deleted task has no pending timers");
}

fn repeat(series: SeriesId, occurrence: NaiveDate) -> Repeat {
    Repeat {
        series,
        rule: RecurrenceRule::parse("FREQ=DAILY").unwrap(),
        anchor: Anchor::Schedule,
        start: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        time: None,
        zone: TimeZone::parse("Europe/Berlin").unwrap(),
        skipped: BTreeSet::new(),
        occurrence,
        instance: 1,
    }
}

pub async fn a_series_has_one_instance_per_occurrence_and_can_be_cut_short(store: Arc<dyn Store>) {
    let u = add_user(&store, "series@example.com").await;
    let series = SeriesId(Uuid::now_v7());
    let zone = TimeZone::parse("Europe/Berlin").unwrap();
    let instance = |title: &str, day: u32| {
        let date = NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
        let mut t = task(&u, title);
        t.due = Some(Due::new(date, None, zone));
        t.repeat = Some(repeat(series, date));
        t
    };
    let first = instance("Water plants", 1);
    let mut uow = store.begin().await.unwrap();
    assert!(uow.insert_task(&first).await.unwrap());
    assert!(!uow.insert_task(&instance("Again", 1)).await.unwrap(), "the same occurrence is made once");
    assert!(uow.insert_task(&instance("Next", 2)).await.unwrap());
    uow.commit().await.unwrap();
    assert_eq!(store.task(u.id, first.id).await.unwrap(), first, "the repeat round-trips");
    let mut uow = store.begin().await.unwrap();
    let from_2 = uow.series_tasks_from(u.id, series, NaiveDate::from_ymd_opt(2026, 11, 2).unwrap()).await.unwrap();
    assert_eq!(from_2.iter().map(|t| t.title.as_str()).collect::<Vec<_>>(), ["Next"]);
    assert_eq!(uow.series_end(u.id, series).await.unwrap(), None);
    let cut = NaiveDate::from_ymd_opt(2026, 11, 5).unwrap();
    uow.end_series(u.id, series, cut).await.unwrap();
    uow.end_series(u.id, series, NaiveDate::from_ymd_opt(2026, 11, 9).unwrap()).await.unwrap();
    assert_eq!(uow.series_end(u.id, series).await.unwrap(), Some(cut), "the earliest cut stays");
    uow.commit().await.unwrap();
    let stranger = add_user(&store, "stranger@example.com").await;
    let mut uow = store.begin().await.unwrap();
    assert!(uow.series_tasks_from(stranger.id, series, cut - Duration::days(30)).await.unwrap().is_empty());
    assert_eq!(uow.series_end(stranger.id, series).await.unwrap(), None, "series are scoped to their user");
}

fn new_notification(user: &User, title: &str) -> NewNotification {
    NewNotification {
        user_id: user.id,
        kind: NotificationKind::Reminder,
        task_id: None,
        title: title.into(),
        body: "Reminder: at the due time".into(),
        punctuality: None,
        source_event: Uuid::now_v7(),
        created_at: now(),
    }
}

pub async fn notifications_are_numbered_per_user_once_per_event_and_marked_read(store: Arc<dyn Store>) {
    let (a, b) = (add_user(&store, "na@example.com").await, add_user(&store, "nb@example.com").await);
    let mut uow = store.begin().await.unwrap();
    let first = new_notification(&a, "First");
    let n1 = uow.insert_notification(&first).await.unwrap().unwrap();
    assert!(uow.insert_notification(&first).await.unwrap().is_none(), "one notification per source event");
    let n2 = uow.insert_notification(&new_notification(&a, "Second")).await.unwrap().unwrap();
    let other = uow.insert_notification(&new_notification(&b, "Theirs")).await.unwrap().unwrap();
    uow.commit().await.unwrap();
    assert_eq!((n1.seq, n2.seq, other.seq), (1, 2, 1), "numbers count per user");
    assert_eq!(store.unread_notifications(a.id).await.unwrap(), 2);
    let page = store.notifications(a.id, None, 1).await.unwrap();
    assert_eq!((page.items[0].title.as_str(), page.more), ("Second", true), "newest first, one page");
    let older = store.notifications(a.id, Some(2), 10).await.unwrap();
    assert_eq!((older.items.len(), older.items[0].seq, older.more), (1, 1, false));
    let mut uow = store.begin().await.unwrap();
    assert_eq!(uow.mark_notifications_read(a.id, Some(1), now()).await.unwrap(), 1);
    assert_eq!(uow.mark_notifications_read(a.id, Some(1), now()).await.unwrap(), 0, "read stays read");
    assert_eq!(uow.mark_notifications_read(b.id, Some(2), now()).await.unwrap(), 0, "not theirs");
    uow.commit().await.unwrap();
    assert_eq!(store.unread_notifications(a.id).await.unwrap(), 1);
    let mut uow = store.begin().await.unwrap();
    assert_eq!(uow.mark_notifications_read(a.id, None, now()).await.unwrap(), 1);
    uow.commit().await.unwrap();
    assert_eq!(store.unread_notifications(a.id).await.unwrap(), 0);
    assert_eq!(store.unread_notifications(b.id).await.unwrap(), 1, "another user's count is theirs");
    assert!(store.notification(b.id, 2).await.is_err());
}

pub async fn a_scheduler_fires_timers_that_came_due_while_it_was_away_as_late(store: Arc<dyn Store>) {
    store.register_subscribers(&["audit-log"]).await.unwrap();
    let u = add_user(&store, "late@example.com").await;
    let t = saved_task(&store, &u, "Overslept").await;
    let t0 = t_now();
    set_timers(&store, &t, &[t0 - Duration::days(3), t0 - Duration::minutes(30), t0 + Duration::seconds(10)]).await;
    let clock = TestClock::at(t0);
    let report = fire_round(&*store, &clock, "a", Duration::seconds(30), 100).await.unwrap();
    assert_eq!(report.fired, 2, "both that came due fire at start, once each");
    clock.advance(Duration::seconds(10));
    assert_eq!(fire_round(&*store, &clock, "a", Duration::seconds(30), 100).await.unwrap().fired, 1);
    assert_eq!(store.prune_fired_timers(Utc::now() + Duration::minutes(1)).await.unwrap(), 3, "fired ones go later");
}

/// The suite on one backend, with the contract suite's test maker.
pub async fn one_timer_fires_once_by_its_id_when_due_and_not_before(store: Arc<dyn Store>) {
    store.register_subscribers(&["audit-log"]).await.unwrap();
    let u = add_user(&store, "one@example.com").await;
    let t = saved_task(&store, &u, "By id").await;
    let t0 = t_now();
    let timers = set_timers(&store, &t, &[t0 + Duration::seconds(1), t0 + Duration::hours(1)]).await;
    let clock = TestClock::at(t0);
    let early = Duration::seconds(2);
    assert_eq!(
        fire_one(&*store, &clock, "job", Duration::seconds(30), timers[1].id, early).await.unwrap(),
        None,
        "not due"
    );
    assert_eq!(
        fire_one(&*store, &clock, "job", Duration::seconds(30), timers[0].id, early).await.unwrap(),
        Some(Duration::seconds(-1)),
        "due within 2 s, and fired a second early"
    );
    assert_eq!(
        fire_one(&*store, &clock, "job", Duration::seconds(30), timers[0].id, early).await.unwrap(),
        None,
        "once"
    );
    clock.advance(Duration::seconds(5));
    let report = fire_round(&*store, &clock, "scheduler", Duration::seconds(30), 100).await.unwrap();
    assert_eq!(report.fired, 0, "the scheduler finds it fired too");
    let reminders = event_types(&store, &u).await.iter().filter(|e| *e == "reminder.due").count();
    assert_eq!(reminders, 1);
    let held = store.claim_timers(&lease("scheduler", t0 + Duration::hours(2)), t0 + Duration::hours(1), 10).await;
    assert_eq!(held.unwrap().len(), 1);
    clock.advance(Duration::hours(1));
    assert_eq!(
        fire_one(&*store, &clock, "job", Duration::seconds(30), timers[1].id, early).await.unwrap(),
        None,
        "leased"
    );
}

pub async fn timer_jobs_follow_their_timers_until_forgotten(store: Arc<dyn Store>) {
    let u = add_user(&store, "jobs@example.com").await;
    let t = saved_task(&store, &u, "Jobs").await;
    let t0 = t_now();
    let timers = set_timers(&store, &t, &[t0 + Duration::hours(2), t0 + Duration::hours(1)]).await;
    let ids = |ts: Vec<Timer>| ts.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids(store.timers_without_jobs(10).await.unwrap()), [timers[1].id, timers[0].id], "earliest first");
    store.record_job(timers[1].id, timers[1].fire_at).await.unwrap();
    store.record_job(timers[0].id, t0).await.unwrap();
    assert_eq!(ids(store.timers_without_jobs(10).await.unwrap()), [timers[0].id], "its job is at another time");
    store.record_job(timers[0].id, timers[0].fire_at).await.unwrap();
    assert!(store.timers_without_jobs(10).await.unwrap().is_empty());
    assert!(store.stale_jobs(10).await.unwrap().is_empty());
    // Moving the reminders replaces the timers: the old ones' jobs are stale, the new ones have none.
    let moved = set_timers(&store, &t, &[t0 + Duration::hours(3)]).await;
    let mut stale = store.stale_jobs(10).await.unwrap();
    stale.sort();
    let mut old = vec![timers[0].id, timers[1].id];
    old.sort();
    assert_eq!(stale, old);
    for id in stale {
        store.forget_job(id).await.unwrap();
    }
    assert_eq!(ids(store.timers_without_jobs(10).await.unwrap()), [moved[0].id]);
    store.record_job(moved[0].id, moved[0].fire_at).await.unwrap();
    assert_eq!(store.forget_pending_jobs().await.unwrap(), 1, "the repair forgets the pending timers' jobs");
    assert_eq!(ids(store.timers_without_jobs(10).await.unwrap()), [moved[0].id], "so they are scheduled again");
}

macro_rules! time_contract_suite {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;
            contract_suite!(@tests $make;
                a_due_timer_fires_once_with_its_event_and_a_later_one_waits,
                a_claimed_timer_fires_only_under_its_lease_and_after_expiry_elsewhere,
                replacing_and_cancelling_timers_touch_only_unfired_ones_of_that_kind,
                a_series_has_one_instance_per_occurrence_and_can_be_cut_short,
                notifications_are_numbered_per_user_once_per_event_and_marked_read,
                a_scheduler_fires_timers_that_came_due_while_it_was_away_as_late,
                one_timer_fires_once_by_its_id_when_due_and_not_before,
                timer_jobs_follow_their_timers_until_forgotten,
            );
        }
    };
}

time_contract_suite!(sqlite, async { TestDb::sqlite() });
time_contract_suite!(postgres, TestDb::postgres());
