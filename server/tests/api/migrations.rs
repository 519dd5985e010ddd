//! Who migrates the database: the server at start by default; with
//! `CADENCE_MIGRATE=off` only `server migrate` (a Job, once per release),
//! and a server refuses to start on a schema that is behind it.

use server::config::{Config, Migrate};
use server::startup::Application;

use crate::helpers::{test_config, TestDb};

#[tokio::test]
async fn with_migrations_off_a_server_refuses_an_unmigrated_database_until_server_migrate_ran() {
    let db = TestDb::for_http().await;
    let config = Config { migrate: Migrate::Off, ..test_config(&db) };
    let refused = Application::build(config.clone()).await.err().expect("an unmigrated database is refused");
    // What the log shows: the error and its causes.
    let mut causes = Vec::new();
    let mut cause: Option<&dyn std::error::Error> = Some(&refused);
    while let Some(e) = cause {
        causes.push(e.to_string());
        cause = e.source();
    }
    assert!(
        causes.iter().any(|c| c.contains("migration(s) behind this build: run `server migrate` first")),
        "{causes:?}"
    );

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("migrate")
        .env("DATABASE_URL", db.url())
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "the database is up to date");

    let app = Application::build(config).await.expect("a migrated database is accepted");
    assert!(app.store().ping().await.is_ok());
}
