//! Settings, from command-line flags or `HEHE_*` environment variables. `hehe-server --help`
//! prints every one with its default.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "hehe-server",
    version,
    about = "Hehe: the live hub for neighbourhood self-government"
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "HEHE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory for the embedded database, the generated token secret and uploads.
    #[arg(long, env = "HEHE_DATA_DIR", default_value = "hehe-data")]
    pub data_dir: PathBuf,

    /// Database URL. Empty means SQLite at <data dir>/hehe.db. `postgres://…` selects PostgreSQL.
    #[arg(long, env = "HEHE_DATABASE_URL", default_value = "")]
    pub database_url: String,

    /// Largest number of pooled database connections.
    #[arg(long, env = "HEHE_DATABASE_MAX_CONNECTIONS", default_value_t = 8)]
    pub database_max_connections: u32,

    /// Secret that signs tokens (at least 32 bytes). Empty means: generate one on first start
    /// and keep it in <data dir>/token-secret, so tokens survive restarts.
    #[arg(
        long,
        env = "HEHE_TOKEN_SECRET",
        default_value = "",
        hide_env_values = true
    )]
    pub token_secret: String,

    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "HEHE_ACCESS_TOKEN_TTL_SECS", default_value_t = 3600)]
    pub access_token_ttl_secs: u64,

    /// Lifetime of a refresh token, in seconds.
    #[arg(long, env = "HEHE_REFRESH_TOKEN_TTL_SECS", default_value_t = 30 * 24 * 3600)]
    pub refresh_token_ttl_secs: u64,

    /// For how long a refresh token just spent still answers, in seconds: two tabs or two
    /// processes sharing a login that refresh at the same moment both stay signed in.
    #[arg(long, env = "HEHE_REFRESH_REUSE_SECS", default_value_t = 30)]
    pub refresh_reuse_secs: u64,

    /// Seed the demo neighbourhood when the database is empty. Turn off in production.
    #[arg(long, env = "HEHE_SEED_DEMO", default_value_t = true, action = clap::ArgAction::Set)]
    pub seed_demo: bool,

    /// Largest WebSocket frame a client may send, in bytes.
    #[arg(long, env = "HEHE_MAX_FRAME_BYTES", default_value_t = 64 * 1024)]
    pub max_frame_bytes: usize,

    /// Largest HTTP request body, in bytes, except photo uploads (`HEHE_MAX_PHOTO_BYTES`).
    #[arg(long, env = "HEHE_MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,

    /// Bound of each connection's outbound queue, in bytes. A client that falls further behind
    /// is closed with code 4001 (slow consumer).
    #[arg(long, env = "HEHE_OUTBOX_BYTES", default_value_t = 1024 * 1024)]
    pub outbox_bytes: usize,

    /// Read buffer of each WebSocket, in bytes. It is allocated for every connection, idle or
    /// not, and client frames are small: a larger one only saves syscalls on big frames.
    #[arg(long, env = "HEHE_WS_READ_BUFFER_BYTES", default_value_t = 512)]
    pub ws_read_buffer_bytes: usize,

    /// Browser origins (`https://host[:port]`), comma-separated, whose pages may open the
    /// WebSocket besides this server's own; `*` allows every origin. Clients that are not
    /// browsers send no origin and are always let in.
    #[arg(
        long,
        env = "HEHE_ALLOWED_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub allowed_origins: Vec<String>,

    /// Wrong passwords in a row a username may have before its logins are refused for a while
    /// (1 s, then doubling with each further failure).
    #[arg(long, env = "HEHE_LOGIN_FREE_FAILURES", default_value_t = 5)]
    pub login_free_failures: u32,

    /// The longest a username's logins stay refused after failures, in seconds.
    #[arg(long, env = "HEHE_LOGIN_MAX_LOCK_SECS", default_value_t = 900)]
    pub login_max_lock_secs: u64,

    /// Rate limits per client address, account and connection.
    #[command(flatten)]
    pub limits: crate::infra::limits::LimitsConfig,

    /// The SMS gateway and the rules of verification and reset codes.
    #[command(flatten)]
    pub sms: crate::infra::sms::SmsConfig,

    #[command(flatten)]
    pub notify: crate::infra::delivery::NotifyConfig,
    /// Web Push: the VAPID key and subject, and how push services are called.
    #[command(flatten)]
    pub push: crate::infra::push::PushConfig,
    /// The webhook relay notifications leave through (SMS, WeChat… run by the operator).
    #[command(flatten)]
    pub webhook: crate::infra::webhook::WebhookConfig,

    /// The mail server notification email and digests are sent through.
    #[command(flatten)]
    pub email: crate::infra::email::EmailConfig,

    /// Bytes a WebSocket gathers before writing to the socket.
    #[arg(long, env = "HEHE_WS_WRITE_BUFFER_BYTES", default_value_t = 8192)]
    pub ws_write_buffer_bytes: usize,

    /// Most channels one connection may subscribe to.
    #[arg(long, env = "HEHE_MAX_SUBSCRIPTIONS", default_value_t = 128)]
    pub max_subscriptions: usize,

    /// Events kept per channel for resuming.
    #[arg(long, env = "HEHE_HISTORY_SIZE", default_value_t = 300)]
    pub history_size: usize,

    /// How long events are kept for resuming, in seconds.
    #[arg(long, env = "HEHE_HISTORY_TTL_SECS", default_value_t = 600)]
    pub history_ttl_secs: u64,

    /// How long an idle channel keeps its epoch and offset, in seconds. After that its stream
    /// starts afresh and resuming clients get `recovered: false`.
    #[arg(long, env = "HEHE_HISTORY_META_TTL_SECS", default_value_t = 24 * 3600)]
    pub history_meta_ttl_secs: u64,

    /// Redis URL of the bus shared by several nodes, e.g. `redis://127.0.0.1:6379`. Several
    /// comma-separated URLs shard channels over as many Redis instances (the same list, in the
    /// same order, on every node). Empty means the in-process bus: one node, history in memory.
    #[arg(
        long,
        env = "HEHE_REDIS_URL",
        default_value = "",
        hide_env_values = true
    )]
    pub redis_url: String,

    /// Prefix of every Redis key and pub/sub channel of the bus, so several deployments can
    /// share one Redis.
    #[arg(long, env = "HEHE_REDIS_PREFIX", default_value = "hehe")]
    pub redis_prefix: String,

    /// How often a node checks each channel's stream in Redis for events its pub/sub missed
    /// (a lost last event has no successor to reveal the hole), in seconds.
    #[arg(long, env = "HEHE_REDIS_POSITION_CHECK_SECS", default_value_t = 40)]
    pub redis_position_check_secs: u64,

    /// How long a presence entry in Redis outlives the last renewal by its node, in
    /// milliseconds. Nodes renew three times per period; when a node dies, its people are
    /// announced as gone this long after.
    #[arg(long, env = "HEHE_REDIS_PRESENCE_TTL_MS", default_value_t = 60_000)]
    pub redis_presence_ttl_ms: u64,

    /// The name this node reports under on the ops channel; the address it listens on when
    /// empty.
    #[arg(long, env = "HEHE_NODE_NAME", default_value = "")]
    pub node_name: String,

    /// How often this node reports its figures on the ops channel `ops:1`, in milliseconds;
    /// 0 turns the reports off.
    #[arg(long, env = "HEHE_OPS_STATS_MS", default_value_t = 1000)]
    pub ops_stats_ms: u64,

    /// Interval of the server's ping, in seconds.
    #[arg(long, env = "HEHE_HEARTBEAT_SECS", default_value_t = 25)]
    pub heartbeat_secs: u64,

    /// Extra time after a ping for the client to show it is alive, in seconds.
    #[arg(long, env = "HEHE_HEARTBEAT_TIMEOUT_SECS", default_value_t = 10)]
    pub heartbeat_timeout_secs: u64,

    /// Time a new connection has to send its `auth` frame, in seconds.
    #[arg(long, env = "HEHE_AUTH_TIMEOUT_SECS", default_value_t = 10)]
    pub auth_timeout_secs: u64,

    /// Time to write a close frame (after which the socket is dropped), in milliseconds.
    #[arg(long, env = "HEHE_CLOSE_GRACE_MS", default_value_t = 5000)]
    pub close_grace_ms: u64,

    /// On shutdown, how long to wait for connections to close, in seconds.
    #[arg(long, env = "HEHE_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,

    /// How long a publish's idempotency key is remembered, in seconds.
    #[arg(long, env = "HEHE_IDEMPOTENCY_TTL_SECS", default_value_t = 300)]
    pub idempotency_ttl_secs: u64,

    /// Largest photo upload, in bytes.
    #[arg(long, env = "HEHE_MAX_PHOTO_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_photo_bytes: usize,

    /// How long joins and leaves of a channel are gathered into one presence frame, in ms.
    #[arg(long, env = "HEHE_PRESENCE_BATCH_MS", default_value_t = 100)]
    pub presence_batch_ms: u64,

    /// How often due deadlines are looked for, in milliseconds.
    #[arg(long, env = "HEHE_DEADLINE_TICK_MS", default_value_t = 1000)]
    pub deadline_tick_ms: u64,

    /// Offset of the local time of the working-day calendar from UTC, in minutes.
    #[arg(
        long,
        env = "HEHE_UTC_OFFSET_MINUTES",
        default_value_t = 480,
        allow_hyphen_values = true
    )]
    pub utc_offset_minutes: i64,

    /// Public holidays (deadlines pause), comma-separated `YYYY-MM-DD`.
    #[arg(long, env = "HEHE_HOLIDAYS", default_value = "", value_delimiter = ',')]
    pub holidays: Vec<String>,

    /// Weekend days that are working days (make-up days), comma-separated `YYYY-MM-DD`.
    #[arg(
        long,
        env = "HEHE_WORKING_WEEKENDS",
        default_value = "",
        value_delimiter = ','
    )]
    pub working_weekends: Vec<String>,

    /// Log filter in `tracing` syntax, e.g. `info,hehe_server=debug`.
    #[arg(long, env = "HEHE_LOG", default_value = "info")]
    pub log: String,

    /// Log as JSON lines instead of text.
    #[arg(long, env = "HEHE_LOG_JSON", default_value_t = false, action = clap::ArgAction::Set)]
    pub log_json: bool,

    /// Resident accounts `load-00001`… (password `hehe-demo`) added when the demo is seeded,
    /// for `hehe-loadtest`. Leave at 0 outside load tests.
    #[arg(long, env = "HEHE_LOADTEST_ACCOUNTS", default_value_t = 0)]
    pub loadtest_accounts: u32,

    /// How long a staff invite's code may be accepted, in seconds.
    #[arg(long, env = "HEHE_INVITE_TTL_SECS", default_value_t = 7 * 24 * 3600)]
    pub invite_ttl_secs: u64,
}

impl Config {
    /// Defaults for a server whose data lives in `data_dir`: what tests and embedding use.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let mut config = Config::parse_from(["hehe-server"]);
        config.data_dir = data_dir.into();
        config
    }

    pub fn heartbeat(&self) -> Duration {
        Duration::from_secs(self.heartbeat_secs)
    }
    pub fn heartbeat_timeout(&self) -> Duration {
        Duration::from_secs(self.heartbeat_timeout_secs)
    }
    pub fn auth_timeout(&self) -> Duration {
        Duration::from_secs(self.auth_timeout_secs)
    }
    pub fn close_grace(&self) -> Duration {
        Duration::from_millis(self.close_grace_ms)
    }
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
    pub fn history_ttl(&self) -> Duration {
        Duration::from_secs(self.history_ttl_secs)
    }
    pub fn history_meta_ttl(&self) -> Duration {
        Duration::from_secs(self.history_meta_ttl_secs)
    }
    pub fn idempotency_ttl(&self) -> Duration {
        Duration::from_secs(self.idempotency_ttl_secs)
    }

    /// The working-day calendar the settings describe; refuses malformed dates.
    pub fn calendar(&self) -> Result<crate::domain::calendar::Calendar, String> {
        use crate::domain::calendar::{Calendar, parse_day};
        let days = |list: &[String]| -> Result<std::collections::BTreeSet<i64>, String> {
            list.iter()
                .map(|d| d.trim())
                .filter(|d| !d.is_empty())
                .map(|d| parse_day(d).ok_or_else(|| format!("not a date: {d}")))
                .collect()
        };
        Ok(Calendar {
            utc_offset: self.utc_offset_minutes * 60_000,
            holidays: days(&self.holidays)?,
            working_weekends: days(&self.working_weekends)?,
        })
    }

    /// The database URL in force: the configured one, or SQLite in the data directory.
    pub fn effective_database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("hehe.db").display()
            )
        } else {
            self.database_url.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_setting_has_a_flag_an_environment_variable_and_help() {
        let command = Config::command();
        let help = Config::command().render_long_help().to_string();
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if matches!(id, "help" | "version") {
                continue;
            }
            let env = arg.get_env().and_then(|e| e.to_str()).unwrap_or_default();
            assert!(env.starts_with("HEHE_"), "{id} has no HEHE_ variable");
            assert!(arg.get_long().is_some(), "{id} has no flag");
            assert!(arg.get_help().is_some(), "{id} has no help");
            assert!(help.contains(env), "--help does not mention {env}");
        }
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let config = Config::with_data_dir("somewhere");
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.max_frame_bytes, 64 * 1024);
        assert_eq!(config.outbox_bytes, 1024 * 1024);
        assert!(config.seed_demo);
        assert!(
            config
                .effective_database_url()
                .starts_with("sqlite://somewhere")
        );
        let flags = Config::try_parse_from([
            "hehe-server",
            "--seed-demo",
            "false",
            "--listen",
            "0.0.0.0:9000",
        ])
        .unwrap();
        assert!(!flags.seed_demo);
        assert_eq!(flags.listen.port(), 9000);
    }
}
