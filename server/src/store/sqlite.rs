//! The SQLite adapter, the embedded default: WAL mode, foreign keys on, a busy
//! timeout, and a single writer connection so transactions never fight over the lock.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self, domain::StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(map_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        if let Some(dir) = Path::new(options.get_filename()).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(domain::StoreError::backend)?;
            }
        }
        let write = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await.map_err(map_err)?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await.map_err(domain::StoreError::backend)?;
        let read =
            SqlitePoolOptions::new().max_connections(8).connect_with(options.read_only(true)).await.map_err(map_err)?;
        Ok(Self { read, write })
    }

    fn reader(&self) -> &SqlitePool {
        &self.read
    }

    fn writer(&self) -> &SqlitePool {
        &self.write
    }
}

super::impl_store!(SqliteStore, SqliteUnitOfWork, sqlx::Sqlite, sqlx::sqlite::SqliteRow);
