//! Cadence's server: configuration, the storage adapters, the event spine
//! (relays, consumers, maintenance), the Dapr adapter, HTTP middleware, operator commands, and
//! the application builder.

pub mod admin;
pub mod config;
pub mod dapr;
pub mod hasher;
pub mod live;
pub mod spine;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
