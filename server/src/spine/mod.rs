//! The event spine in this process: the outbox relays that hand each
//! subscriber its deliveries, the consumers that subscribe, and the
//! maintenance that keeps sessions and the outbox from growing forever, and
//! the scheduler that fires durable timers.
//!
//! In-process (the default), every consumer is a subscriber of the outbox
//! with its own deliveries, attempts and dead letters, and its own relay; a
//! consumer that fails holds back none of the others. Any number of server
//! processes may run relays over one database: deliveries are leased.

pub mod consumers;
pub mod maintenance;
pub mod relay;
pub mod scheduler;
