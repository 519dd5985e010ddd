//! The test harness: fresh databases (a SQLite file, or a PostgreSQL database
//! dropped afterwards), the app spawned on port 0, and an HTTP client with a cookie jar.

use std::path::PathBuf;
use std::sync::Arc;

use domain::ports::Store;
use reqwest::header::{ACCEPT, REFERER};
use reqwest::{Response, StatusCode};
use serde_json::Value;
use server::config::{Config, Secret};
use server::startup::Application;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// The PostgreSQL server the suite uses; the test command makes sure one is listening.
pub fn pg_admin_url() -> String {
    std::env::var("CADENCE_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that exists for one test and is removed when dropped.
pub enum TestDb {
    Sqlite { dir: PathBuf },
    Postgres { name: String },
}

impl TestDb {
    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("cadence-test-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self::Sqlite { dir }
    }

    pub async fn postgres() -> Self {
        use sqlx::Connection as _;
        let name = format!("cadence_test_{}", Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&pg_admin_url()).await.unwrap_or_else(|e| {
            panic!("PostgreSQL is required for this test and was not reachable at {}: {e}", pg_admin_url())
        });
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create test database");
        Self::Postgres { name }
    }

    /// The database the HTTP tests run on: SQLite, or PostgreSQL when
    /// `CADENCE_TEST_BACKEND=postgres` (the test command runs them both ways).
    pub async fn for_http() -> Self {
        match std::env::var("CADENCE_TEST_BACKEND").as_deref() {
            Ok("postgres") => Self::postgres().await,
            Ok("sqlite") | Err(_) => Self::sqlite(),
            Ok(other) => panic!("CADENCE_TEST_BACKEND must be sqlite or postgres, not {other}"),
        }
    }

    /// Runs one statement straight on the database, behind the app's back.
    pub async fn execute(&self, sql: &str) {
        match self {
            Self::Sqlite { .. } => {
                let pool = sqlx::SqlitePool::connect(&self.url()).await.unwrap();
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            Self::Postgres { .. } => {
                let pool = sqlx::PgPool::connect(&self.url()).await.unwrap();
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
        }
    }

    /// How many entries the audit consumer has recorded.
    pub async fn audit_log_size(&self) -> i64 {
        let sql = "SELECT COUNT(*) FROM audit_log";
        match self {
            Self::Sqlite { .. } => {
                let pool = sqlx::SqlitePool::connect(&self.url()).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap()
            }
            Self::Postgres { .. } => {
                let pool = sqlx::PgPool::connect(&self.url()).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap()
            }
        }
    }

    /// Every event the outbox holds, as stored.
    pub async fn outbox_payloads(&self) -> Vec<String> {
        match self {
            Self::Sqlite { .. } => {
                let pool = sqlx::SqlitePool::connect(&self.url()).await.unwrap();
                sqlx::query_scalar("SELECT payload FROM outbox").fetch_all(&pool).await.unwrap()
            }
            Self::Postgres { .. } => {
                let pool = sqlx::PgPool::connect(&self.url()).await.unwrap();
                sqlx::query_scalar("SELECT payload::text FROM outbox").fetch_all(&pool).await.unwrap()
            }
        }
    }

    pub fn url(&self) -> String {
        match self {
            Self::Sqlite { dir } => format!("sqlite://{}/cadence.db", dir.display()),
            Self::Postgres { name } => {
                let admin = pg_admin_url();
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                format!("{base}/{name}")
            }
        }
    }

    pub async fn store(&self) -> Arc<dyn Store> {
        server::store::connect(&self.url()).await.expect("open test store")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self {
            Self::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Self::Postgres { name } => {
                let name = name.clone();
                // Drop runs inside the test's runtime; a thread of its own may block.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                    rt.block_on(async {
                        use sqlx::Connection as _;
                        let mut admin = sqlx::PgConnection::connect(&pg_admin_url()).await.ok()?;
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut admin)
                            .await
                            .ok()
                    })
                })
                .join();
            }
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// The client's cookies, for requests made without it.
    pub jar: Arc<reqwest::cookie::Jar>,
    pub store: Arc<dyn Store>,
    pub db: Option<TestDb>,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
}

pub fn test_config(db: &TestDb) -> Config {
    Config {
        database_url: Secret::new(db.url()),
        bind: "127.0.0.1:0".parse().unwrap(),
        relay_poll_ms: 20,
        ..Config::default()
    }
}

pub fn client() -> reqwest::Client {
    client_with(Arc::default())
}

fn client_with(jar: Arc<reqwest::cookie::Jar>) -> reqwest::Client {
    reqwest::Client::builder().cookie_provider(jar).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The app on a fresh database (see `TestDb::for_http`) with the relay running.
pub async fn spawn_app() -> TestApp {
    let db = TestDb::for_http().await;
    let config = test_config(&db);
    spawn_with(db, config).await
}

pub async fn spawn_with(db: TestDb, config: Config) -> TestApp {
    let mut app = spawn_on(&db, config).await;
    app.db = Some(db);
    app
}

/// Spawns the app on a database the caller keeps (to restart on it later).
pub async fn spawn_on(_db: &TestDb, config: Config) -> TestApp {
    run(Application::build(config).await.expect("app builds"))
}

/// Serves an application built by the caller, keeping its database for the test's life.
pub async fn serve(app: Application, db: TestDb) -> TestApp {
    let mut app = run(app);
    app.db = Some(db);
    app
}

fn run(app: Application) -> TestApp {
    let address = format!("http://127.0.0.1:{}", app.port());
    let store = app.store();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let jar = Arc::<reqwest::cookie::Jar>::default();
    TestApp { address, client: client_with(jar.clone()), jar, store, db: None, stop: Some(stop), handle: Some(handle) }
}

/// A signed-up user's credentials.
pub struct Account {
    pub email: String,
    pub password: String,
}

impl TestApp {
    /// Stops the server gracefully and waits for the relay to flush.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            let _ = handle.await;
        }
    }

    /// The `Cookie` header the client would send.
    pub fn cookie(&self) -> String {
        use reqwest::cookie::CookieStore;
        let url = self.address.parse().unwrap();
        self.jar.cookies(&url).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Calls a server function the way the islands do: form-encoded, JSON back.
    pub async fn call(&self, name: &str, form: &[(&str, &str)]) -> Response {
        self.client.post(self.url(&format!("/api/{name}"))).form(form).send().await.expect("request")
    }

    /// Posts a form the way a browser without JavaScript does.
    pub async fn post_html(&self, name: &str, form: &[(&str, &str)], referer: &str) -> Response {
        self.browser_post(&self.url(&format!("/api/{name}")), &self.url(referer), form).await
    }

    /// Follows a 307 the way a browser does: the same form, posted again to the new address.
    pub async fn repost_html(&self, location: &str, form: &[(&str, &str)]) -> Response {
        let url = if location.starts_with("http") { location.to_owned() } else { self.url(location) };
        self.browser_post(&url, &url, form).await
    }

    async fn browser_post(&self, url: &str, referer: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(url)
            .header(ACCEPT, "text/html,application/xhtml+xml")
            .header(REFERER, referer)
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// Posts the sign-up form as an island would.
    pub async fn sign_up_form(&self, email: &str, password: &str, name: &str, zone: &str) -> Response {
        self.call("sign_up", &[("email", email), ("password", password), ("display_name", name), ("time_zone", zone)])
            .await
    }

    /// Signs in on `client` (which keeps its own cookies).
    pub async fn sign_in_as(&self, client: &reqwest::Client, email: &str, password: &str) -> Response {
        client
            .post(self.url("/api/sign_in"))
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("request")
    }

    pub async fn page(&self, path: &str) -> String {
        let res = self.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.text().await.unwrap()
    }

    pub async fn sign_up(&self) -> Account {
        let email = format!("user-{}@example.com", Uuid::new_v4().simple());
        let password = "correct horse battery".to_owned();
        let res = self.sign_up_form(&email, &password, "Test User", "Europe/Berlin").await;
        assert_eq!(res.status(), StatusCode::OK, "sign up: {}", res.text().await.unwrap());
        Account { email, password }
    }

    /// Creates a task through the quick-add server function and returns its id.
    pub async fn quick_add(&self, title: &str) -> String {
        let res = self.call("quick_add", &[("title", title)]).await;
        assert_eq!(res.status(), StatusCode::OK);
        let row: Value = res.json().await.unwrap();
        row["row"]["id"].as_str().unwrap().to_owned()
    }

    /// Waits until the relays have delivered everything the outbox holds.
    pub async fn settle(&self) {
        settle(&self.store).await;
    }
}

/// Waits until no delivery is open in `store` (dead letters aside).
pub async fn settle(store: &Arc<dyn Store>) {
    for _ in 0..1000 {
        if store.delivery_stats().await.unwrap().pending == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the outbox did not drain: {:?}", store.delivery_stats().await.unwrap());
}

/// Asserts an error response: its status and the field it names.
pub async fn assert_field_error(res: Response, status: u16, field: &str) {
    assert_eq!(res.status().as_u16(), status);
    let body: Value = res.json().await.expect("JSON error body");
    let named = body.get("Invalid").or_else(|| body.get("Conflict")).and_then(|v| v["field"].as_str());
    assert_eq!(named, Some(field), "error body: {body}");
}

impl TestApp {
    /// A client of a server this test started some other way (a process of the binary).
    pub fn attach(address: &str, store: Arc<dyn Store>) -> TestApp {
        let jar = Arc::<reqwest::cookie::Jar>::default();
        TestApp {
            address: address.to_owned(),
            client: client_with(jar.clone()),
            jar,
            store,
            db: None,
            stop: None,
            handle: None,
        }
    }

    /// Another client on the same running app (no cookies, does not own the server).
    pub fn handle(app: &TestApp) -> TestApp {
        let jar = Arc::<reqwest::cookie::Jar>::default();
        TestApp {
            address: app.address.clone(),
            client: client_with(jar.clone()),
            jar,
            store: app.store.clone(),
            db: None,
            stop: None,
            handle: None,
        }
    }
}

/// Starts the server binary this package builds on `database_url`, on a free
/// port, with `env` besides the defaults; returns its address once it
/// listens, and the process (killed when dropped).
pub async fn start_server_process(database_url: &str, env: &[(&str, &str)]) -> (String, tokio::process::Child) {
    let process = spawn_server_process(database_url, env).await;
    (process.address, process.child)
}

/// A server process the tests started.
pub struct ServerProcess {
    pub address: String,
    /// Where it serves `/metrics`, when `CADENCE_METRICS_BIND` asked it to.
    pub metrics: Option<String>,
    pub child: tokio::process::Child,
}

/// `start_server_process`, also reading from the log where the metrics listen.
pub async fn spawn_server_process(database_url: &str, env: &[(&str, &str)]) -> ServerProcess {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .env("DATABASE_URL", database_url)
        .env("CADENCE_BIND", "127.0.0.1:0")
        .env("CADENCE_LOG_FORMAT", "json")
        .env("CADENCE_RELAY_POLL_MS", "20")
        .env("RUST_LOG", "info,sqlx=warn,tower_http=warn")
        .env("LEPTOS_SITE_ROOT", std::env::temp_dir())
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("the server binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (address, metrics) = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        let mut metrics = None;
        while let Some(line) = lines.next_line().await.unwrap() {
            let Ok(log) = serde_json::from_str::<Value>(&line) else { continue };
            // Logged before "Cadence is listening".
            if log["message"] == "metrics are served at /metrics" {
                metrics = Some(format!("http://{}", log["addr"].as_str().unwrap()));
            }
            if log["message"] == "Cadence is listening" {
                return (format!("http://{}", log["addr"].as_str().unwrap()), metrics);
            }
        }
        panic!("the server exited before it listened");
    })
    .await
    .expect("the server listens within a minute");
    // Keep reading its log so the pipe never fills and blocks it.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    ServerProcess { address, metrics, child }
}

/// Waits until `check` holds, polling: consumers and the scheduler run on their own.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..250 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}
