//! How SQLite writes a group (see `store::group_commit`): every unit's held-back
//! statements in one query, between `BEGIN IMMEDIATE` and `COMMIT`. WAL mode
//! writes every page a transaction changed once per commit, and a busy
//! writer's pages are mostly the same few: fifty creates in one transaction
//! write them once instead of fifty times.

use async_trait::async_trait;
use domain::StoreError;
use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqlitePool};

use super::deferred::{send_between, Deferred};
use super::rollback_in_place;
use crate::store::group_commit::GroupWriter;
use crate::store::map_err;

/// Writes groups on the store's one writer connection.
pub(super) struct SqliteGroups(pub SqlitePool);

#[async_trait]
impl GroupWriter for SqliteGroups {
    type Unit = Deferred;
    type Conn = PoolConnection<Sqlite>;

    async fn acquire(&self) -> Result<Self::Conn, StoreError> {
        self.0.acquire().await.map_err(map_err)
    }

    async fn write(&self, conn: &mut Self::Conn, units: &[&Deferred]) -> Result<(), StoreError> {
        let outcome = send_between(conn, "BEGIN IMMEDIATE", units, "COMMIT").await.map(drop);
        if outcome.is_err() {
            rollback_in_place(conn).await;
        }
        outcome
    }
}
