//! Configuration: built-in defaults, then an optional TOML file, then the
//! environment. Secrets are wrapped so that `Debug` never prints them.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

/// A value that must never reach a log.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// What this process does: one binary, deployed once or as several roles
/// over one database (the outbox carries the events between them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything: pages, the API, live streams, the consumers and the scheduler.
    #[default]
    All,
    /// Pages, the API and live streams. The events of its changes wait in
    /// the outbox for a worker's consumers; it fires no reminders.
    Web,
    /// The consumers (audit log, recurrence, notifier), the scheduler and the
    /// maintenance; it serves only the probes.
    Worker,
}

impl Role {
    /// Whether the consumers, the scheduler and the maintenance run here.
    pub fn works(self) -> bool {
        self != Role::Web
    }

    /// Whether pages, the API and live streams are served here.
    pub fn serves(self) -> bool {
        self != Role::Worker
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "all" => Ok(Role::All),
            "web" => Ok(Role::Web),
            "worker" => Ok(Role::Worker),
            _ => Err("use all, web or worker".into()),
        }
    }
}

/// How events travel from the outbox to the consumers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bus {
    /// Each consumer has its own deliveries in the outbox and its own relay,
    /// in every process that works (see `Role`).
    #[default]
    InProcess,
    /// One relay publishes every event through the Dapr sidecar; the consumers
    /// receive them over HTTP from the sidecar in the processes that work.
    Dapr,
}

impl std::str::FromStr for Bus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "in-process" => Ok(Bus::InProcess),
            "dapr" => Ok(Bus::Dapr),
            _ => Err("use in-process or dapr".into()),
        }
    }
}

/// Whether the server migrates the database at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Migrate {
    /// At every start (the embedded default: nothing else would run them).
    #[default]
    Auto,
    /// Never; the server refuses to start on a database whose schema is
    /// behind it. In a cluster a Job runs `server migrate` once per release.
    Off,
}

impl std::str::FromStr for Migrate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Migrate::Auto),
            "off" => Ok(Migrate::Off),
            _ => Err("use auto or off".into()),
        }
    }
}

/// What fires reminders at their time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reminders {
    /// The leased in-process scheduler, in every process that works.
    #[default]
    Scheduler,
    /// A Dapr job per timer (Dapr ≥ 1.18's Jobs API), kept in step with the
    /// timers by the workers; Dapr calls `POST /job/reminder-<id>` at the time.
    DaprJobs,
}

impl std::str::FromStr for Reminders {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "scheduler" => Ok(Reminders::Scheduler),
            "dapr-jobs" => Ok(Reminders::DaprJobs),
            _ => Err("use scheduler or dapr-jobs".into()),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `sqlite://data/cadence.db` (the default) or `postgres://…`.
    pub database_url: Secret,
    /// `auto` (the default: migrate at start) or `off` (`server migrate` does it).
    pub migrate: Migrate,
    pub bind: SocketAddr,
    /// Where `GET /metrics` (Prometheus) is served, apart from the app so the
    /// ingress never exposes it; none (the default) serves no metrics.
    pub metrics_bind: Option<SocketAddr>,
    /// The URL users reach the app at; `https://` turns on Secure cookies and HSTS.
    pub public_url: Option<String>,
    pub log_format: LogFormat,
    /// `all` (the default), `web` or `worker`.
    pub role: Role,
    /// `in-process` (the default) or `dapr`.
    pub bus: Bus,
    /// The Dapr pub/sub component events are published to and received from.
    pub dapr_pubsub: String,
    /// `scheduler` (the default) or `dapr-jobs` (needs `bus = "dapr"`).
    pub reminders: Reminders,
    /// With Dapr jobs: how often the workers schedule again the jobs of every
    /// pending timer, so jobs Dapr's Scheduler lost come back.
    pub jobs_repair_secs: u64,
    /// With Dapr jobs: how long after its time a reminder whose job has not
    /// called back is fired by the workers' own scheduler instead.
    pub jobs_backstop_secs: u32,
    /// How many proxies in front of the app append to `X-Forwarded-For`
    /// (0: none, use the socket's peer; 1: one ingress).
    pub trusted_proxies: u8,
    /// Run the outbox relay in this process.
    pub relay_enabled: bool,
    pub relay_poll_ms: u64,
    /// How long a relay woken by a commit in this process waits before it
    /// claims, so that one round carries the commits of those milliseconds.
    pub relay_settle_ms: u64,
    /// Run the timer scheduler (reminders) in this process.
    pub scheduler_enabled: bool,
    /// The scheduler's longest sleep: how soon it sees timers set through another replica.
    pub scheduler_max_sleep_ms: u64,
    /// Seconds between heartbeat comments on live streams (proxies drop silent connections).
    pub live_heartbeat_secs: u64,
    /// How often, on SQLite, a replica looks for feed rows another process wrote.
    pub live_poll_ms: u64,
    /// Transient failures of one delivery before it becomes a dead letter.
    pub relay_max_attempts: u32,
    /// The wait after a delivery's first failure; it doubles after each one, up to 5 minutes.
    pub relay_first_backoff_ms: u64,
    /// How long events whose every delivery finished stay in the outbox.
    pub outbox_retention_days: u32,
    /// Task-list pages this process keeps at their list version (0: none).
    pub list_cache_pages: usize,
    /// Where cargo-leptos put the site (JS, WASM, CSS).
    pub site_root: String,
    pub sign_in_window_secs: u64,
    pub sign_in_max_per_ip: usize,
    pub sign_in_max_per_account: usize,
    /// Accounts one client address may create per hour.
    pub sign_up_max_per_ip: usize,
    /// The AI chat's OpenAI-compatible endpoint, e.g. `https://api.openai.com/v1`
    /// or a local model server's `http://127.0.0.1:11434/v1`; none: chat is off.
    pub ai_base_url: Option<String>,
    /// The model the chat asks for; none: chat is off.
    pub ai_model: Option<String>,
    /// Sent as `Authorization: Bearer …` when set (local servers need none).
    pub ai_api_key: Option<Secret>,
    /// How long the chat waits for the model server to answer, and between two
    /// pieces of a streamed answer, before it gives up on it.
    pub ai_timeout_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: Secret::new("sqlite://data/cadence.db"),
            migrate: Migrate::Auto,
            bind: SocketAddr::from(([127, 0, 0, 1], 3000)),
            metrics_bind: None,
            public_url: None,
            log_format: LogFormat::Pretty,
            role: Role::All,
            bus: Bus::InProcess,
            dapr_pubsub: "cadence-pubsub".to_owned(),
            reminders: Reminders::Scheduler,
            jobs_repair_secs: 600,
            jobs_backstop_secs: 60,
            trusted_proxies: 0,
            relay_enabled: true,
            relay_poll_ms: 100,
            relay_settle_ms: 10,
            scheduler_enabled: true,
            scheduler_max_sleep_ms: 500,
            live_heartbeat_secs: 15,
            live_poll_ms: 100,
            relay_max_attempts: 20,
            relay_first_backoff_ms: 1000,
            outbox_retention_days: 7,
            list_cache_pages: app::list_cache::ListCache::DEFAULT_CAPACITY,
            site_root: "target/site".to_owned(),
            sign_in_window_secs: 15 * 60,
            sign_in_max_per_ip: 50,
            sign_in_max_per_account: 10,
            sign_up_max_per_ip: 20,
            ai_base_url: None,
            ai_model: None,
            ai_api_key: None,
            ai_timeout_secs: 60,
        }
    }
}

/// Where the AI chat sends its completions, and how long it waits.
#[derive(Debug, Clone)]
pub struct ChatSettings {
    /// The OpenAI-compatible base, without a trailing slash (`…/v1`).
    pub base_url: String,
    pub model: String,
    pub api_key: Option<Secret>,
    pub timeout: std::time::Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}")]
    Read { path: String, source: std::io::Error },
    #[error("the configuration file {path} is invalid: {message}")]
    Parse { path: String, message: String },
    #[error("environment variable {name} is invalid: {message}")]
    Env { name: &'static str, message: String },
}

fn env_parse<T: std::str::FromStr>(name: &'static str, target: &mut T) -> Result<(), ConfigError>
where
    T::Err: fmt::Display,
{
    if let Ok(raw) = std::env::var(name) {
        *target = raw.parse().map_err(|e: T::Err| ConfigError::Env { name, message: e.to_string() })?;
    }
    Ok(())
}

impl Config {
    /// Defaults, then `CADENCE_CONFIG` (or `cadence.toml` if present), then the environment.
    pub fn load() -> Result<Self, ConfigError> {
        let explicit = std::env::var("CADENCE_CONFIG").ok();
        let path = explicit.clone().unwrap_or_else(|| "cadence.toml".to_owned());
        let mut config = if explicit.is_some() || Path::new(&path).exists() {
            let text =
                std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
            toml::from_str(&text).map_err(|e| ConfigError::Parse { path, message: e.message().to_owned() })?
        } else {
            Config::default()
        };
        if let Ok(url) = std::env::var("DATABASE_URL") {
            config.database_url = Secret::new(url);
        }
        env_parse("CADENCE_MIGRATE", &mut config.migrate)?;
        env_parse("CADENCE_BIND", &mut config.bind)?;
        if let Ok(raw) = std::env::var("CADENCE_METRICS_BIND") {
            config.metrics_bind = match raw.trim() {
                "" | "off" => None,
                addr => Some(addr.parse().map_err(|e: std::net::AddrParseError| ConfigError::Env {
                    name: "CADENCE_METRICS_BIND",
                    message: format!("{e} (use an address and port such as 0.0.0.0:9464, or off)"),
                })?),
            };
        }
        if let Ok(url) = std::env::var("CADENCE_PUBLIC_URL") {
            config.public_url = Some(url);
        }
        if let Ok(f) = std::env::var("CADENCE_LOG_FORMAT") {
            config.log_format = match f.as_str() {
                "json" => LogFormat::Json,
                "pretty" => LogFormat::Pretty,
                _ => return Err(ConfigError::Env { name: "CADENCE_LOG_FORMAT", message: "use json or pretty".into() }),
            };
        }
        env_parse("CADENCE_ROLE", &mut config.role)?;
        env_parse("CADENCE_BUS", &mut config.bus)?;
        env_parse("CADENCE_DAPR_PUBSUB", &mut config.dapr_pubsub)?;
        env_parse("CADENCE_REMINDERS", &mut config.reminders)?;
        env_parse("CADENCE_JOBS_REPAIR_SECS", &mut config.jobs_repair_secs)?;
        env_parse("CADENCE_JOBS_BACKSTOP_SECS", &mut config.jobs_backstop_secs)?;
        env_parse("CADENCE_TRUSTED_PROXIES", &mut config.trusted_proxies)?;
        env_parse("CADENCE_RELAY_ENABLED", &mut config.relay_enabled)?;
        env_parse("CADENCE_RELAY_POLL_MS", &mut config.relay_poll_ms)?;
        env_parse("CADENCE_RELAY_SETTLE_MS", &mut config.relay_settle_ms)?;
        env_parse("CADENCE_SCHEDULER_ENABLED", &mut config.scheduler_enabled)?;
        env_parse("CADENCE_SCHEDULER_MAX_SLEEP_MS", &mut config.scheduler_max_sleep_ms)?;
        env_parse("CADENCE_LIVE_HEARTBEAT_SECS", &mut config.live_heartbeat_secs)?;
        env_parse("CADENCE_LIVE_POLL_MS", &mut config.live_poll_ms)?;
        env_parse("CADENCE_RELAY_MAX_ATTEMPTS", &mut config.relay_max_attempts)?;
        env_parse("CADENCE_RELAY_FIRST_BACKOFF_MS", &mut config.relay_first_backoff_ms)?;
        env_parse("CADENCE_OUTBOX_RETENTION_DAYS", &mut config.outbox_retention_days)?;
        env_parse("CADENCE_LIST_CACHE_PAGES", &mut config.list_cache_pages)?;
        env_parse("CADENCE_SIGN_UP_MAX_PER_IP", &mut config.sign_up_max_per_ip)?;
        env_parse("LEPTOS_SITE_ROOT", &mut config.site_root)?;
        // An empty value (a chart leaving it blank) is no value: chat stays off.
        let set = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned());
        if let Some(url) = set("CADENCE_AI_BASE_URL") {
            config.ai_base_url = Some(url).filter(|u| !u.is_empty());
        }
        if let Some(model) = set("CADENCE_AI_MODEL") {
            config.ai_model = Some(model).filter(|m| !m.is_empty());
        }
        if let Some(key) = set("CADENCE_AI_API_KEY") {
            config.ai_api_key = Some(key).filter(|k| !k.is_empty()).map(Secret::new);
        }
        env_parse("CADENCE_AI_TIMEOUT_SECS", &mut config.ai_timeout_secs)?;
        config.check()?;
        Ok(config)
    }

    /// Refuses settings that cannot work together.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.metrics_bind.is_some_and(|m| m == self.bind && m.port() != 0) {
            return Err(ConfigError::Env {
                name: "CADENCE_METRICS_BIND",
                message: "must differ from CADENCE_BIND: metrics stay off the public port".into(),
            });
        }
        if let Some(url) = &self.ai_base_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Env {
                    name: "CADENCE_AI_BASE_URL",
                    message: "use an http:// or https:// address such as https://api.openai.com/v1".into(),
                });
            }
        }
        if self.ai_timeout_secs == 0 {
            return Err(ConfigError::Env {
                name: "CADENCE_AI_TIMEOUT_SECS",
                message: "must be at least 1 second".into(),
            });
        }
        if self.reminders == Reminders::DaprJobs && self.bus != Bus::Dapr {
            return Err(ConfigError::Env {
                name: "CADENCE_REMINDERS",
                message: "dapr-jobs needs the Dapr sidecar: set CADENCE_BUS=dapr too".into(),
            });
        }
        Ok(())
    }

    pub fn retry_policy(&self) -> domain::spine::RetryPolicy {
        let first = chrono::Duration::milliseconds(i64::try_from(self.relay_first_backoff_ms).unwrap_or(i64::MAX));
        domain::spine::RetryPolicy {
            first_backoff: first,
            max_attempts: self.relay_max_attempts.max(1),
            ..domain::spine::RetryPolicy::default()
        }
    }

    /// What opening the store does about migrations.
    pub fn migrations(&self) -> crate::store::Migrations {
        match self.migrate {
            Migrate::Auto => crate::store::Migrations::Apply,
            Migrate::Off => crate::store::Migrations::Require,
        }
    }

    /// The chat's model endpoint, when both its address and its model are set.
    pub fn chat(&self) -> Option<ChatSettings> {
        let base_url = self.ai_base_url.as_deref()?.trim().trim_end_matches('/');
        let model = self.ai_model.as_deref()?.trim();
        if base_url.is_empty() || model.is_empty() {
            return None;
        }
        Some(ChatSettings {
            base_url: base_url.to_owned(),
            model: model.to_owned(),
            api_key: self.ai_api_key.clone().filter(|k| !k.expose().is_empty()),
            timeout: std::time::Duration::from_secs(self.ai_timeout_secs.max(1)),
        })
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_origin().is_some_and(|o| o.starts_with("https://"))
    }

    /// The scheme, host and port of the public URL: what browsers send as `Origin`.
    pub fn public_origin(&self) -> Option<String> {
        let url = self.public_url.as_deref()?.trim();
        let (scheme, rest) = url.split_once("://")?;
        let host = rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty())?;
        Some(format!("{}://{}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_read_by_name_and_anything_else_is_refused() {
        assert_eq!(
            ["all", "web", "worker"].map(|r| r.parse::<Role>()),
            [Ok(Role::All), Ok(Role::Web), Ok(Role::Worker)]
        );
        assert!("Worker".parse::<Role>().is_err());
        let config: Config = toml::from_str("role = \"worker\"").unwrap();
        assert_eq!(config.role, Role::Worker);
        assert!(toml::from_str::<Config>("role = \"workers\"").is_err());
        assert!(Role::All.works() && Role::All.serves());
        assert!(!Role::Web.works() && Role::Web.serves());
        assert!(Role::Worker.works() && !Role::Worker.serves());
    }

    #[test]
    fn dapr_jobs_are_refused_without_the_dapr_bus() {
        assert_eq!("dapr-jobs".parse::<Reminders>(), Ok(Reminders::DaprJobs));
        assert!("jobs".parse::<Reminders>().is_err());
        let alone = Config { reminders: Reminders::DaprJobs, ..Config::default() };
        assert!(alone.check().unwrap_err().to_string().contains("CADENCE_REMINDERS"));
        let with_bus = Config { reminders: Reminders::DaprJobs, bus: Bus::Dapr, ..Config::default() };
        assert!(with_bus.check().is_ok());
    }

    #[test]
    fn the_bus_is_read_by_name_and_defaults_to_in_process() {
        assert_eq!(["in-process", "dapr"].map(|b| b.parse::<Bus>()), [Ok(Bus::InProcess), Ok(Bus::Dapr)]);
        assert!("kafka".parse::<Bus>().unwrap_err().contains("in-process or dapr"));
        assert_eq!(Config::default().bus, Bus::InProcess);
        let config: Config = toml::from_str("bus = \"dapr\"\ndapr_pubsub = \"pubsub\"").unwrap();
        assert_eq!((config.bus, config.dapr_pubsub.as_str()), (Bus::Dapr, "pubsub"));
        assert!(toml::from_str::<Config>("bus = \"in_process\"").is_err());
    }

    #[test]
    fn metrics_are_off_by_default_and_never_share_the_public_port() {
        assert_eq!(Config::default().metrics_bind, None);
        let config: Config = toml::from_str("metrics_bind = \"0.0.0.0:9464\"").unwrap();
        assert_eq!(config.metrics_bind.map(|a| a.port()), Some(9464));
        assert!(config.check().is_ok());
        let same = Config { metrics_bind: Some(Config::default().bind), ..Config::default() };
        assert!(same.check().unwrap_err().to_string().contains("CADENCE_METRICS_BIND"));
    }

    #[test]
    fn debug_output_never_contains_the_database_password() {
        let config = Config { database_url: Secret::new("postgres://app:hunter2@db/cadence"), ..Config::default() };
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn a_config_file_overrides_defaults_and_rejects_unknown_keys() {
        let c: Config = toml::from_str("bind = \"0.0.0.0:8080\"\nrelay_enabled = false").unwrap();
        assert_eq!(c.bind.port(), 8080);
        assert!(!c.relay_enabled);
        assert!(toml::from_str::<Config>("bnid = \"x\"").is_err());
    }

    #[test]
    fn chat_is_on_only_with_both_an_address_and_a_model_and_never_prints_its_key() {
        assert!(Config::default().chat().is_none());
        let only_url = Config { ai_base_url: Some("http://127.0.0.1:11434/v1".into()), ..Config::default() };
        assert!(only_url.chat().is_none());
        let config: Config = toml::from_str(
            "ai_base_url = \"https://api.openai.com/v1/\"\nai_model = \"gpt-4o-mini\"\nai_api_key = \"sk-hunter2\"\nai_timeout_secs = 5",
        )
        .unwrap();
        let chat = config.chat().unwrap();
        assert_eq!((chat.base_url.as_str(), chat.model.as_str()), ("https://api.openai.com/v1", "gpt-4o-mini"));
        assert_eq!((chat.api_key.as_ref().map(Secret::expose), chat.timeout.as_secs()), (Some("sk-hunter2"), 5));
        assert!(!format!("{config:?}{chat:?}").contains("hunter2"));
        let local = Config { ai_model: Some("llama3.2".into()), ..only_url };
        assert!(local.chat().unwrap().api_key.is_none(), "a local model server needs no key");
    }

    #[test]
    fn a_chat_address_that_is_not_http_or_a_zero_timeout_is_refused() {
        let ftp = Config { ai_base_url: Some("ftp://models.example".into()), ..Config::default() };
        assert!(ftp.check().unwrap_err().to_string().contains("CADENCE_AI_BASE_URL"));
        let never = Config { ai_timeout_secs: 0, ..Config::default() };
        assert!(never.check().unwrap_err().to_string().contains("CADENCE_AI_TIMEOUT_SECS"));
    }

    #[test]
    fn cookies_are_secure_only_behind_https() {
        let mut c = Config::default();
        assert!(!c.secure_cookies());
        c.public_url = Some("https://Cadence.example/app/".into());
        assert!(c.secure_cookies());
        assert_eq!(c.public_origin().as_deref(), Some("https://cadence.example"));
    }
}
