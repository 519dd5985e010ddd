//! The PostgreSQL adapter, for production: one pool, migrations at connect.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str) -> Result<Self, domain::StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(map_err)?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await.map_err(domain::StoreError::backend)?;
        Ok(Self { pool })
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }
}

super::impl_store!(PgStore, PgUnitOfWork, sqlx::Postgres, sqlx::postgres::PgRow);
