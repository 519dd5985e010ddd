//! The SQLite store's write-ahead log: what the writer writes reaches the
//! database file in the background, not in the writer's own commits.

use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;

use crate::contract::{add_task, add_user, task};
use crate::helpers::TestDb;

#[tokio::test]
async fn committed_writes_reach_the_database_file_in_the_background_long_before_the_writer_would_copy_them() {
    let db = TestDb::sqlite();
    let TestDb::Sqlite { dir } = &db else { unreachable!() };
    let store = db.store().await;
    let u = add_user(&store, "wal@example.com").await;
    // A few hundred frames: far below the writer's own threshold of 4,000.
    for i in 0..40 {
        add_task(&store, &task(&u, &format!("kept {i}"))).await;
    }
    // The database file alone, as a copy without its WAL, holds what was
    // checkpointed into it. A copy taken mid-checkpoint may be torn: try again.
    let copy = dir.join("copy.db");
    let mut found = 0;
    for _ in 0..100 {
        std::fs::copy(dir.join("cadence.db"), &copy).unwrap();
        let counted = async {
            let mut conn = SqliteConnectOptions::new().filename(&copy).connect().await?;
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM tasks").fetch_one(&mut conn).await
        };
        found = counted.await.unwrap_or(-1);
        if found == 40 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(found, 40, "every committed task is in the database file itself");
}
