//! Command-line options. Every scenario takes the common options; the fan-out scenarios (room,
//! reconnect storm, cross-node) share the room's.

use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use std::path::PathBuf;

/// Hard bounds, so that no typo turns a load test into a runaway.
pub const MAX_CONNECTIONS: u32 = 200_000;
pub const MAX_DURATION_SECS: f64 = 3600.0;
pub const MAX_RATE: f64 = 10_000.0;
/// Connections one process holds at most, well under its open-files limit (20,000 here).
pub const MAX_PER_PROCESS: u32 = 15_000;
/// Connections from one source address to one server: the ephemeral ports of one address.
pub const MAX_PER_SOURCE_IP: u32 = 25_000;

#[derive(Debug, Parser)]
#[command(
    name = "hehe-loadtest",
    version,
    about = "Load test for a Hehe server on this machine"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Idle connections, each subscribed to its home and street channels, held for a while:
    /// connect times, server memory per connection, errors.
    Idle {
        #[command(flatten)]
        common: Common,
        /// Connections to open.
        #[arg(long, default_value_t = 1000)]
        connections: u32,
        /// Load-test accounts to spread them over (0: one per connection).
        #[arg(long, default_value_t = 0)]
        accounts: u32,
    },
    /// A living room of members and publishers saying numbered lines: deliveries per second,
    /// end-to-end latency, exact accounting of every line.
    Room {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        room: RoomArgs,
    },
    /// Like `room`; meanwhile a share of the members drop at once and resume from their last
    /// positions. Every line must still arrive exactly once, in order.
    ReconnectStorm {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        room: RoomArgs,
        /// Share of the members that drop.
        #[arg(long, default_value_t = 0.5)]
        drop_share: f64,
        /// Seconds into publishing when they drop (default: half the duration).
        #[arg(long)]
        drop_after: Option<f64>,
    },
    /// Like `room`, with members and publishers spread over several nodes (repeat `--url`)
    /// that share a database, a Redis and a token secret.
    CrossNode {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        room: RoomArgs,
    },
    /// A day in a street: residents raise issues, the official dispatches them, the worker
    /// handles them, the chief holds a vote, the residents rate. How long an issue takes to
    /// reach the worker; whether every step reached the reporter. Runs in this process.
    Neighbourhood {
        #[command(flatten)]
        common: Common,
        /// Residents taking part (every third load-test account, in Riverside).
        #[arg(long, default_value_t = 50)]
        residents: u32,
        /// Sustained load instead of the day: this many issues per second, all residents
        /// together, paced evenly over them for `--duration` seconds; measures submit →
        /// visible to the grid worker and accounts for every issue.
        #[arg(long)]
        submit_rate: Option<f64>,
    },
    /// Notifications: residents raise issues, the official accepts and dispatches them to the
    /// grid worker; every push the steps cause (to the official, the reporter, the worker)
    /// arrives at a Web Push receiver of this process. Notifications created and pushes
    /// received per second, acknowledged step → push arrival, every push accounted for. The
    /// server needs HEHE_PUSH_ALLOW_HTTP=true, and should run with HEHE_NOTIFY_SKIP_READ_MS=0.
    Notify {
        #[command(flatten)]
        common: Common,
        /// Residents raising the issues, each with a push subscription (every third
        /// load-test account, in Riverside).
        #[arg(long, default_value_t = 50)]
        residents: u32,
        /// Issues raised, accepted and dispatched in all (fewer if `--duration` ends first);
        /// each causes four pushes.
        #[arg(long, default_value_t = 100)]
        issues: u32,
        /// Issues in progress at once.
        #[arg(long, default_value_t = 8)]
        concurrency: u32,
    },
    /// A minimal WebSocket broadcast server to compare Hehe with: every text frame a client
    /// sends goes to every connected client; `GET /cpu` on the same port answers its process
    /// CPU seconds and resident memory. Loopback only; stops on Ctrl-C, SIGTERM or
    /// `--max-secs`.
    BaselineServer {
        /// Address to listen on (loopback only; port 0 picks one and prints it).
        #[arg(long, default_value = "127.0.0.1:9300")]
        listen: std::net::SocketAddr,
        /// Seconds after which the server stops by itself.
        #[arg(long, default_value_t = 3600.0)]
        max_secs: f64,
        /// Connections held at once at most; further ones are closed at once.
        #[arg(long, default_value_t = 20_000)]
        max_connections: u32,
        /// Bytes of each connection's WebSocket read buffer (Hehe's default).
        #[arg(long, default_value_t = 512)]
        read_buffer: usize,
        /// Bytes each connection gathers before writing to its socket (Hehe's default).
        #[arg(long, default_value_t = 8192)]
        write_buffer: usize,
    },
    /// `room` against the baseline server (`baseline-server`): members receive numbered,
    /// time-stamped lines from publisher sockets; latency, deliveries per second and per
    /// server CPU-second, exact accounting. A line is acknowledged when its publisher (a
    /// member too) gets it back.
    Baseline {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        room: BaselineArgs,
    },
    /// Real server processes sharing PostgreSQL and Redis, written to and listened to while one
    /// fault is injected; then every acknowledged write must be stored once and have reached
    /// every listener. Exits with 1 when one did not. See `loadtest/chaos/`.
    // A later option overrides an earlier one, so scripts can add to their defaults.
    #[command(args_override_self = true)]
    Chaos(crate::chaos::ChaosArgs),
    /// Internal: a worker process of a run, driven over standard input and output.
    #[command(hide = true)]
    Worker,
}

#[derive(Debug, Clone, Args, Serialize)]
pub struct Common {
    /// Server URL, on loopback; repeat for several nodes (clients go to each in turn).
    #[arg(long = "url", default_value = "http://127.0.0.1:8080")]
    pub urls: Vec<String>,
    /// The server's token secret (its HEHE_TOKEN_SECRET): tokens are minted here instead of
    /// logging in every account.
    #[arg(
        long,
        env = "HEHE_TOKEN_SECRET",
        default_value = "",
        hide_env_values = true
    )]
    #[serde(skip)]
    pub token_secret: String,
    /// Password of the demo and load-test accounts.
    #[arg(long, default_value = "hehe-demo")]
    #[serde(skip)]
    pub password: String,
    /// Worker processes holding the connections (0: all in this process).
    #[arg(long, default_value_t = 0)]
    pub workers: usize,
    /// Connections per worker process; when set, starts as many workers as that takes.
    #[arg(long)]
    pub per_worker: Option<u32>,
    /// Source addresses to connect from, e.g. `127.0.0.2-127.0.0.5` (one address offers some
    /// 28,000 ports towards a server). Empty: the system's choice.
    #[arg(long, default_value = "")]
    pub source_ips: String,
    /// New connections per second, all workers together (0: no pacing).
    #[arg(long, default_value_t = 1000.0)]
    pub connect_rate: f64,
    /// Connection attempts in flight at once, per worker.
    #[arg(long, default_value_t = 200)]
    pub connect_concurrency: usize,
    /// Seconds to publish (fan-out scenarios) or to hold the connections (idle).
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds to wait, after publishing, for the last deliveries.
    #[arg(long, default_value_t = 10.0)]
    pub drain: f64,
    /// Bytes of each client's WebSocket read buffer.
    #[arg(long, default_value_t = 4096)]
    pub read_buffer: usize,
    /// Write the report as JSON to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Write the report as a self-contained HTML page to this file.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Exit with 0 even when an invariant fails (only report).
    #[arg(long)]
    pub report_only: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// An ops or admin account (a demo account, e.g. `ops`) to post the run's figures with,
    /// once a second, to the ops channel that the dashboard at /ops shows. None: no posts.
    #[arg(long)]
    pub ops_account: Option<String>,
    /// The program to run workers with (default: this one).
    #[arg(long, hide = true)]
    #[serde(skip)]
    pub worker_exe: Option<PathBuf>,
}

#[derive(Debug, Clone, Args, Serialize)]
pub struct RoomArgs {
    /// Members subscribed to the room.
    #[arg(long, default_value_t = 100)]
    pub members: u32,
    /// Lines said per second, all publishers together.
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Bytes per line (at most 2000, the room's limit).
    #[arg(long, default_value_t = 100)]
    pub payload: usize,
    /// Publishing connections; each says its lines one after another.
    #[arg(long, default_value_t = 1)]
    pub publishers: u32,
    /// The meeting whose room is used (1: the demo's Riverside hearing, whose participants are
    /// every third load-test account).
    #[arg(long, default_value_t = 1)]
    pub meeting: i64,
    /// The demo account that chairs the meeting and starts it.
    #[arg(long, default_value = "chief")]
    pub chair: String,
}

#[derive(Debug, Clone, Args, Serialize)]
pub struct BaselineArgs {
    /// Members connected to the baseline server (publishers come on top).
    #[arg(long, default_value_t = 100)]
    pub members: u32,
    /// Lines said per second, all publishers together.
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Bytes per line (at most 2000, as in a room).
    #[arg(long, default_value_t = 100)]
    pub payload: usize,
    /// Publishing connections; each says its lines one after another.
    #[arg(long, default_value_t = 1)]
    pub publishers: u32,
}

impl BaselineArgs {
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.members >= 1, "at least one member");
        anyhow::ensure!(self.publishers >= 1, "at least one publisher");
        anyhow::ensure!(
            self.rate > 0.0 && self.rate <= MAX_RATE,
            "the rate is between 0 and {MAX_RATE} per second"
        );
        anyhow::ensure!(self.payload <= 2000, "a line holds at most 2000 bytes");
        Ok(())
    }
}

impl Common {
    /// Refuses options outside the hard bounds.
    pub fn validate(&self, connections: u32) -> anyhow::Result<()> {
        anyhow::ensure!(
            connections <= MAX_CONNECTIONS,
            "at most {MAX_CONNECTIONS} connections"
        );
        anyhow::ensure!(
            self.duration > 0.0 && self.duration <= MAX_DURATION_SECS,
            "the duration is between 0 and {MAX_DURATION_SECS} s"
        );
        anyhow::ensure!(
            (0.0..=MAX_DURATION_SECS).contains(&self.drain),
            "the drain is between 0 and {MAX_DURATION_SECS} s"
        );
        anyhow::ensure!(
            self.connect_rate >= 0.0 && self.connect_rate <= 100_000.0,
            "the connect rate is between 0 and 100000 per second"
        );
        anyhow::ensure!(!self.urls.is_empty(), "at least one --url");
        Ok(())
    }

    /// How many worker processes hold `connections` (0: the coordinator's own process).
    pub fn worker_count(&self, connections: u32) -> usize {
        match self.per_worker {
            Some(per) if per > 0 => connections.div_ceil(per) as usize,
            _ => self.workers,
        }
    }
}

impl RoomArgs {
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.members >= 1, "at least one member");
        anyhow::ensure!(self.publishers >= 1, "at least one publisher");
        anyhow::ensure!(
            self.rate > 0.0 && self.rate <= MAX_RATE,
            "the rate is between 0 and {MAX_RATE} per second"
        );
        anyhow::ensure!(self.payload <= 2000, "a line holds at most 2000 bytes");
        Ok(())
    }
}
