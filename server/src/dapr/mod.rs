//! The Dapr adapter, chosen with `CADENCE_BUS=dapr`: a relay publishes every
//! event of the outbox through the sidecar (`publisher`), the processes that
//! work receive them back over HTTP and hand them to the consumers
//! (`subscriber`), and nothing is published before the sidecar says it can
//! reach its components (`sidecar`). With `CADENCE_REMINDERS=dapr-jobs`,
//! reminders are Dapr jobs kept in step with the timers (`jobs`).
//!
//! The outbox stays the source of truth: an event is published at least once,
//! after its change committed, and every consumer is idempotent, so the
//! broker's redeliveries change nothing.

pub mod jobs;
pub mod publisher;
pub mod sidecar;
pub mod subscriber;
