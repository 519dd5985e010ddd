//! The event spine's core: what a delivery is, how long a relay may hold one,
//! when a failed one is tried again, when it is set aside as a dead letter,
//! and the relay's step that drives one subscriber's deliveries through the
//! `OutboxStore` port.
//!
//! Guarantees, given the store keeps its side of the port:
//! - at least once: a delivery is marked done only after its consumer accepted it;
//! - per stream, commit order: a stream (one task, or one account) has at most
//!   one open delivery in flight per subscriber, the oldest;
//! - one relay per attempt: a delivery is leased, and only the lease holder
//!   may finish it;
//! - no poison pill: an event that cannot be read, or that a consumer rejects
//!   for good, becomes a dead letter with its reason, and the rest flow on;
//! - routed: a subscriber that says which events it acts on ([`Routes`]) is
//!   written deliveries of those alone; one that says nothing gets every event.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::StoreError;
use crate::event::{DomainEvent, EventEnvelope};
use crate::ports::{Clock, DeliveryError, EventHandler, OutboxStore};

/// A relay's hold on the deliveries it claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Unique per relay (process and worker), so a lost lease is noticed.
    pub owner: String,
    pub until: DateTime<Utc>,
}

/// One event on its way to one subscriber.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub seq: i64,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// The event, or why its stored form could not be read.
    pub event: Result<EventEnvelope, String>,
}

/// A delivery set aside for an operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub seq: i64,
    pub subscriber: String,
    pub event_id: Uuid,
    pub event_type: String,
    pub attempts: u32,
    pub reason: String,
    pub dead_at: DateTime<Utc>,
}

/// How many deliveries wait and how many are dead, over every subscriber.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryStats {
    pub pending: u64,
    pub dead: u64,
}

/// One subscriber's backlog in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberStats {
    pub subscriber: String,
    /// Deliveries not yet done (dead letters aside).
    pub pending: u64,
    pub dead: u64,
    /// When the event of the oldest pending delivery occurred: how far the subscriber lags.
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// How a relay treats failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How long a claimed delivery stays with its relay before another may take it over.
    pub lease: Duration,
    /// The wait after the first failure; it doubles with every further one.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// After this many transient failures the delivery becomes a dead letter.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// About an hour of retries (1 s doubling to 5 min) before a delivery is given up.
    fn default() -> Self {
        Self {
            lease: Duration::seconds(60),
            first_backoff: Duration::seconds(1),
            max_backoff: Duration::minutes(5),
            max_attempts: 20,
        }
    }
}

impl RetryPolicy {
    /// The wait before the next try, after `attempts` failed ones.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        let wait = self.first_backoff.checked_mul(1 << doublings).unwrap_or(self.max_backoff);
        wait.min(self.max_backoff)
    }
}

/// Which events a subscriber acts on. It must answer true for every event
/// the subscriber would do anything with: the outbox writes it no delivery of
/// the others, as a broker's subscription filter would not hand them on.
pub type Wants = fn(&DomainEvent) -> bool;

/// The [`Wants`] of a subscriber that acts on every event.
pub fn every_event(_: &DomainEvent) -> bool {
    true
}

/// Rung after a commit that wrote a delivery for a waiting relay: it goes
/// on at once instead of at its next poll.
pub type Bell = std::sync::Arc<dyn Fn() + Send + Sync>;

/// The subscribers that said which events they act on. A registered
/// subscriber not named here (one from another version of the app, say) is
/// not skipped: it gets every event, as before routing.
#[derive(Clone, Debug, Default)]
pub struct Routes(Vec<(&'static str, Wants)>);

impl Routes {
    pub fn new(subscribers: impl IntoIterator<Item = (&'static str, Wants)>) -> Self {
        Self(subscribers.into_iter().collect())
    }

    /// The subscribers that do not act on `event`: none of them is written a delivery of it.
    pub fn not_for(&self, event: &DomainEvent) -> Vec<&'static str> {
        self.0.iter().filter(|(_, wants)| !wants(event)).map(|(name, _)| *name).collect()
    }
}

/// What became of one delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Delivered,
    Retry { at: DateTime<Utc>, error: String },
    Dead { reason: String },
}

impl Outcome {
    /// Decides a delivery's fate from its consumer's answer.
    pub fn of(
        delivery: &Delivery,
        answer: Result<(), DeliveryError>,
        now: DateTime<Utc>,
        policy: &RetryPolicy,
    ) -> Self {
        match answer {
            Ok(()) => Self::Delivered,
            Err(DeliveryError::Permanent(reason)) => Self::Dead { reason },
            Err(DeliveryError::Transient(error)) if delivery.attempts >= policy.max_attempts => {
                Self::Dead { reason: format!("gave up after {} attempts: {error}", delivery.attempts) }
            }
            Err(DeliveryError::Transient(error)) => Self::Retry { at: now + policy.backoff(delivery.attempts), error },
        }
    }
}

/// What one round of a relay did.
#[derive(Debug, Default, PartialEq)]
pub struct RoundReport {
    pub delivered: usize,
    pub retried: Vec<(i64, String)>,
    /// Deliveries that became dead letters, with their reason.
    pub dead: Vec<(i64, String)>,
    /// Deliveries whose lease expired and went to another relay meanwhile.
    pub lost: usize,
}

impl RoundReport {
    pub fn handled(&self) -> usize {
        self.delivered + self.retried.len() + self.dead.len() + self.lost
    }
}

/// Claims up to `batch` of `handler`'s due deliveries, hands them to it (in
/// one batch, see [`EventHandler::handle_batch`]), and records what became of
/// each one: the delivered ones together, in one write, since a busy relay's
/// rounds are many and one write per delivery made the outbox's
/// bookkeeping cost more than the changes it carries.
pub async fn relay_round(
    store: &dyn OutboxStore,
    handler: &dyn EventHandler,
    clock: &dyn Clock,
    policy: &RetryPolicy,
    owner: &str,
    batch: u32,
) -> Result<RoundReport, StoreError> {
    let now = clock.now();
    let lease = Lease { owner: owner.to_owned(), until: now + policy.lease };
    let subscriber = handler.name();
    let mut report = RoundReport::default();
    let deliveries = store.claim_deliveries(subscriber, &lease, now, batch).await?;
    if deliveries.is_empty() {
        return Ok(report);
    }
    let events: Vec<&EventEnvelope> = deliveries.iter().filter_map(|d| d.event.as_ref().ok()).collect();
    let mut answers = handler.handle_batch(&events).await.into_iter();
    let answered = clock.now();
    let mut delivered = Vec::with_capacity(deliveries.len());
    for delivery in &deliveries {
        let outcome = match &delivery.event {
            Err(reason) => Outcome::Dead { reason: format!("the stored event cannot be read: {reason}") },
            Ok(_) => {
                // A handler that answers too few is a bug; its missing answers are retried.
                let answer = answers.next().unwrap_or_else(|| {
                    Err(DeliveryError::Transient(format!("{subscriber} gave no answer for this delivery")))
                });
                Outcome::of(delivery, answer, answered, policy)
            }
        };
        let seq = delivery.seq;
        match outcome {
            Outcome::Delivered => delivered.push(seq),
            Outcome::Retry { at, error } => {
                if store.retry_delivery(subscriber, seq, &lease, at, &error).await? {
                    report.retried.push((seq, error));
                } else {
                    report.lost += 1;
                }
            }
            Outcome::Dead { reason } => {
                if store.dead_letter(subscriber, seq, &lease, &reason, answered).await? {
                    report.dead.push((seq, reason));
                } else {
                    report.lost += 1;
                }
            }
        }
    }
    if !delivered.is_empty() {
        let done = store.complete_deliveries(subscriber, &delivered, &lease, clock.now()).await?;
        report.delivered = done.len();
        report.lost += delivered.len().saturating_sub(done.len());
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(attempts: u32) -> Delivery {
        Delivery { seq: 1, attempts, event: Err("unused".into()) }
    }

    #[test]
    fn an_event_skips_only_the_routed_subscribers_that_do_not_act_on_it() {
        use crate::event::DomainEvent;
        let read = DomainEvent::NotificationsRead { seq: None };
        let routes = Routes::new([
            ("everything", every_event as Wants),
            ("audited", |e: &DomainEvent| e.is_audited()),
            ("nothing", |_: &DomainEvent| false),
        ]);
        assert_eq!(routes.not_for(&read), ["audited", "nothing"]);
        assert!(Routes::default().not_for(&read).is_empty(), "no routes: every subscriber gets every event");
    }

    #[test]
    fn the_backoff_doubles_from_the_first_wait_up_to_the_cap() {
        let p = RetryPolicy::default();
        let secs: Vec<i64> = (1..=12).map(|n| p.backoff(n).num_seconds()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(p.backoff(u32::MAX), p.max_backoff, "no overflow however many attempts");
    }

    #[test]
    fn a_transient_failure_is_retried_until_the_attempts_run_out() {
        let p = RetryPolicy { max_attempts: 3, ..RetryPolicy::default() };
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let fail = || Err(DeliveryError::Transient("broker down".into()));
        assert_eq!(
            Outcome::of(&delivery(2), fail(), now, &p),
            Outcome::Retry { at: now + Duration::seconds(2), error: "broker down".into() }
        );
        assert!(
            matches!(Outcome::of(&delivery(3), fail(), now, &p), Outcome::Dead { reason } if reason.contains("3 attempts"))
        );
    }

    #[test]
    fn a_permanent_failure_is_a_dead_letter_at_once() {
        let answer = Err(DeliveryError::Permanent("unknown type".into()));
        let outcome = Outcome::of(&delivery(1), answer, Utc::now(), &RetryPolicy::default());
        assert_eq!(outcome, Outcome::Dead { reason: "unknown type".into() });
    }
}
