//! What the ops dashboard reads on `ops:1`: each node's figures every second (`node.stats`) and
//! the running load test's (`loadtest.progress`, posted over HTTP by `hehe-loadtest`).
//!
//! Counters are totals since the node started, so a dashboard that misses a report loses no
//! count: rates are differences between two reports.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One node's figures: the data of a `node.stats` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeStats {
    /// The node, as the address it listens on.
    pub node: String,
    /// When the figures were read, in milliseconds since the Unix epoch.
    pub time: i64,
    pub uptime_secs: u64,
    /// Open WebSocket connections.
    pub connections: i64,
    /// Channel subscriptions held on this node.
    pub subscriptions: i64,
    pub frames_in: u64,
    pub frames_out: u64,
    /// Events published through this node.
    pub events_published: u64,
    /// Events queued for subscribers on this node (one per recipient).
    pub events_delivered: u64,
    /// Deliveries dropped because the recipient's queue overflowed or was closing.
    pub outbox_drops: u64,
    /// Connections the server closed, by close code.
    pub closes: BTreeMap<u16, u64>,
    /// Requests refused by a rate limit, by limit.
    pub rate_limited: BTreeMap<String, u64>,
    /// From an event's publication to its arrival on this node, over the events since the
    /// previous report.
    pub bus_lag: LagWindow,
    /// CPU time this process has used, in seconds.
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
    /// Notification sends (push, relay, email) not yet made, on every node: the pipeline's
    /// queue, as this node last read it. Absent from reports of nodes older than it: 0.
    #[serde(default)]
    pub notify_pending: u64,
    /// Sends that failed every attempt (dead letters), on every node.
    #[serde(default)]
    pub notify_dead: u64,
    /// How long the oldest due send has waited, in milliseconds (0: none is due).
    #[serde(default)]
    pub notify_oldest_due_ms: u64,
    /// Inbox entries this node has written since it started.
    #[serde(default)]
    pub notifications_created: u64,
}

/// Latency over a window, in milliseconds; all zero when nothing arrived.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LagWindow {
    pub count: u64,
    pub mean_ms: f64,
    pub max_ms: f64,
}

/// A load test's figures so far: the data of a `loadtest.progress` event, and the body of
/// `POST /api/ops/loadtest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoadtestProgress {
    /// Names one run, so a dashboard can tell two runs apart.
    pub run: String,
    /// `idle`, `room`, `neighbourhood`, `reconnect-storm` or `cross-node`.
    pub scenario: String,
    pub elapsed_secs: f64,
    /// Virtual clients connected now.
    pub connections: u64,
    /// Events the load test published and saw acknowledged.
    pub sent: u64,
    /// Events its clients received.
    pub received: u64,
    /// Deliveries per second over the last interval.
    pub deliveries_per_sec: f64,
    /// End-to-end latency, publication to receipt, over the run so far.
    pub latency_ms: LatencySummary,
    pub lost: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub errors: u64,
    /// Closes its clients saw, by close code.
    #[serde(default)]
    pub closes: BTreeMap<u16, u64>,
    /// True in the run's last report.
    #[serde(default)]
    pub done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LatencySummary {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl LoadtestProgress {
    /// Longest `run` and `scenario` names accepted.
    pub const MAX_NAME: usize = 64;
}
