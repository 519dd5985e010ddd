//! Cadence's server: configuration, storage and bus adapters, the outbox relay
//! and its consumers, HTTP middleware, and the application builder.

pub mod bus;
pub mod config;
pub mod consumers;
pub mod hasher;
pub mod relay;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
