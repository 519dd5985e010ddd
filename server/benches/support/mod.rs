//! What the benchmarks share: a fresh SQLite file and a fresh PostgreSQL
//! database (on `CADENCE_TEST_PG_URL`, default the local server), removed
//! when the benchmark is done.

use sqlx::Connection as _;
use uuid::Uuid;

pub struct Databases {
    pub sqlite_url: String,
    pub pg_url: String,
    dir: std::path::PathBuf,
    admin: sqlx::PgConnection,
    name: String,
}

impl Databases {
    pub async fn create() -> Self {
        let dir = std::env::temp_dir().join(format!("cadence-bench-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let sqlite_url = format!("sqlite://{}/bench.db", dir.display());
        let admin_url = std::env::var("CADENCE_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("cadence_bench_{}", Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.expect("PostgreSQL for the benchmark");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
        let pg_url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
        Self { sqlite_url, pg_url, dir, admin, name }
    }

    pub async fn remove(mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        sqlx::query(&drop).execute(&mut self.admin).await.ok();
    }
}
