//! What the coordinator and its workers say to each other: one JSON object per line, the
//! coordinator on the worker's standard input, the worker on its standard output. A worker run
//! inside the coordinator's process gets the same messages over channels.

use crate::measure::{Counts, PerSecond, Tally};
use hehe_protocol::Channel;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// One virtual client: where it connects from and to, who it is, what it subscribes to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientSpec {
    pub ws_url: String,
    pub local_ip: Option<IpAddr>,
    pub token: String,
    pub channels: Vec<Channel>,
}

/// A worker's share of the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub worker: usize,
    /// The run's tag, written into every event this run publishes.
    pub run: String,
    pub clients: Vec<ClientSpec>,
    /// New connections per second for this worker; 0 means as fast as allowed in flight.
    pub connect_rate: f64,
    /// Connection attempts in flight at once.
    pub connect_concurrency: usize,
    /// Bytes of each WebSocket's read buffer.
    pub read_buffer: usize,
    /// Account for this run's numbered events (fan-out scenarios); otherwise only count events.
    pub track: bool,
    /// Plain WebSocket clients of the baseline server (no `auth`, no subscriptions, every text
    /// frame a line) instead of Hehe clients.
    #[serde(default)]
    pub raw: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
// Externally tagged: an internally tagged enum would buffer its content, and buffered maps
// with number keys (the per-second counts) do not deserialize.
#[serde(rename_all = "snake_case")]
pub enum ToWorker {
    /// The first message: what to connect.
    Job(Box<Job>),
    /// Drop this share of the connected clients at once; each reconnects and resumes.
    Drop { share: f64 },
    /// Publishing is over: wait up to `drain_ms` for the acknowledged events (`acked[p]`: the
    /// numbers publisher `p` had acknowledged), then close everything and report.
    Finish { acked: Vec<Vec<u32>>, drain_ms: u64 },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
// Externally tagged: an internally tagged enum would buffer its content, and buffered maps
// with number keys (the per-second counts) do not deserialize.
#[serde(rename_all = "snake_case")]
pub enum FromWorker {
    /// Sent a few times a second.
    Progress {
        connected: u64,
        failed: u64,
        received: u64,
        /// End-to-end latency so far, for the ops dashboards.
        #[serde(default)]
        latency: Option<LatencyNow>,
    },
    /// Every connection was attempted.
    Ready {
        connected: u64,
        failed: u64,
    },
    /// The clients told to drop have reconnected (or failed to).
    Dropped {
        dropped: u64,
        failed: u64,
    },
    Done(Box<WorkerResult>),
    /// The worker cannot go on.
    Fatal {
        error: String,
    },
}

/// A worker's latency percentiles so far, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct LatencyNow {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// A worker's measurements; histograms as (µs, count) pairs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WorkerResult {
    pub connected: u64,
    pub failed: u64,
    pub connect_us: Vec<(u64, u64)>,
    pub subscribe_us: Vec<(u64, u64)>,
    pub latency_us: Vec<(u64, u64)>,
    pub connects_per_second: PerSecond,
    pub deliveries_per_second: PerSecond,
    /// Every event received, this run's or not.
    pub events: u64,
    pub counts: Counts,
    pub errors: Tally,
    pub closes: Tally,
    pub reconnects: u64,
    pub recovered_false: u64,
    /// Subscribers whose accounting failed, the first few.
    pub problems: Vec<SubscriberProblem>,
}

/// One subscriber whose events did not add up.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubscriberProblem {
    pub worker: usize,
    pub client: usize,
    pub counts: Counts,
}
