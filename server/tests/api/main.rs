//! Cadence's integration tests: the app spawned on port 0 with a fresh
//! database, driven over real HTTP; and the store contract suite, run
//! unchanged against SQLite and PostgreSQL.

mod accounts;
mod api_resources;
mod api_tasks;
mod bulk;
mod chat;
#[macro_use]
mod contract;
mod dapr;
mod dapr_sim;
mod event_schema;
mod events;
mod fake_openai;
mod helpers;
mod idempotency_contract;
mod live;
mod mcp;
mod migrations;
mod observability;
mod openapi;
mod replicas;
mod roles;
mod security;
mod sessions;
mod sqlite_wal;
mod tag_contract;
mod tags;
mod tasks;
mod time_contract;
mod time_engine;
mod token_contract;
mod tokens;
mod views;
