//! Prometheus metrics, one registry per server instance (no global recorder, so several servers
//! can run in one test process). Served as text at `/metrics`.

use hehe_protocol::ops::{LagWindow, NodeStats};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CloseLabels {
    /// The WebSocket close code the server sent.
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    /// Which rate limit refused: connect, login, frame, post, submit, vote, upload.
    pub limit: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    /// push, webhook or email.
    pub channel: String,
    /// sent, skipped, retry or dead.
    pub outcome: String,
}

/// The notification pipeline: what it made and sent, and how far behind it is.
pub struct NotifyMetrics {
    pub created: Counter,
    deliveries: Family<DeliveryLabels, Counter>,
    /// From the change that caused a notification to its inbox entry.
    pub lag: Histogram,
    pub pending: Gauge,
    pub dead: Gauge,
    pub causes_pending: Gauge,
    pub oldest_due_seconds: Gauge<f64, AtomicU64>,
}

impl NotifyMetrics {
    fn register(registry: &mut Registry) -> Self {
        let m = Self {
            created: Counter::default(),
            deliveries: Family::default(),
            lag: Histogram::new(LATENCY_BUCKETS),
            pending: Gauge::default(),
            dead: Gauge::default(),
            causes_pending: Gauge::default(),
            oldest_due_seconds: Gauge::default(),
        };
        registry.register(
            "notifications_created",
            "Inbox entries written",
            m.created.clone(),
        );
        registry.register(
            "notify_deliveries",
            "Sends beyond the socket, by channel and outcome",
            m.deliveries.clone(),
        );
        registry.register(
            "notify_lag_seconds",
            "From a change to the inbox entries it caused",
            m.lag.clone(),
        );
        registry.register(
            "notify_queue_pending",
            "Deliveries not yet sent",
            m.pending.clone(),
        );
        registry.register(
            "notify_queue_dead",
            "Deliveries that failed every attempt",
            m.dead.clone(),
        );
        registry.register(
            "notify_causes_pending",
            "Changes not yet turned into notifications",
            m.causes_pending.clone(),
        );
        registry.register(
            "notify_queue_oldest_due_seconds",
            "How long the oldest due delivery has waited",
            m.oldest_due_seconds.clone(),
        );
        m
    }

    pub fn delivery(&self, channel: &str, outcome: &str) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                channel: channel.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// `n` inbox entries written `lag_ms` after their cause.
    pub fn created(&self, n: u64, lag_ms: i64) {
        if n > 0 {
            self.created.inc_by(n);
            self.lag.observe(lag_ms.max(0) as f64 / 1000.0);
        }
    }

    /// Total sends with an outcome, for tests and the dashboard.
    pub fn deliveries(&self, channel: &str, outcome: &str) -> u64 {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                channel: channel.to_owned(),
                outcome: outcome.to_owned(),
            })
            .get()
    }
}

pub struct Metrics {
    registry: Registry,
    pub notify: NotifyMetrics,
    pub connections: Gauge,
    pub subscriptions: Gauge,
    pub frames_in: Counter,
    pub frames_out: Counter,
    pub events_published: Counter,
    pub events_delivered: Counter,
    pub outbox_drops: Counter,
    pub closes: Family<CloseLabels, Counter>,
    /// The same counts, readable for the ops channel's reports.
    closes_by_code: Mutex<BTreeMap<u16, u64>>,
    rate_limited: Family<LimitLabels, Counter>,
    rate_limited_by_limit: Mutex<BTreeMap<String, u64>>,
    bus_lag: Histogram,
    lag_window: LagCounters,
    fanout: Histogram,
    /// Read from /proc at every scrape, so the load test and dashboards see this process's
    /// cost without a separate exporter.
    cpu_seconds: Gauge<f64, AtomicU64>,
    resident_bytes: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("hehe");
        let connections = Gauge::default();
        let subscriptions = Gauge::default();
        let frames_in = Counter::default();
        let frames_out = Counter::default();
        let events_published = Counter::default();
        let events_delivered = Counter::default();
        let outbox_drops = Counter::default();
        let closes = Family::<CloseLabels, Counter>::default();
        registry.register(
            "connections",
            "Open WebSocket connections",
            connections.clone(),
        );
        registry.register(
            "subscriptions",
            "Channel subscriptions on this node",
            subscriptions.clone(),
        );
        registry.register(
            "frames_in",
            "Frames received from clients",
            frames_in.clone(),
        );
        registry.register(
            "frames_out",
            "Frames written to clients",
            frames_out.clone(),
        );
        registry.register(
            "events_published",
            "Events published through this node",
            events_published.clone(),
        );
        registry.register(
            "events_delivered",
            "Events queued for subscribers on this node (one per recipient)",
            events_delivered.clone(),
        );
        registry.register(
            "outbox_drops",
            "Deliveries dropped because the recipient's queue overflowed or was closing",
            outbox_drops.clone(),
        );
        registry.register(
            "closes",
            "Connections closed by the server, by close code",
            closes.clone(),
        );
        let rate_limited = Family::<LimitLabels, Counter>::default();
        registry.register(
            "rate_limited",
            "Actions refused by a rate limit, by limit",
            rate_limited.clone(),
        );
        let bus_lag = Histogram::new(LATENCY_BUCKETS);
        registry.register(
            "bus_lag_seconds",
            "From an event's publication (on any node) to its arrival at this node's hub",
            bus_lag.clone(),
        );
        let fanout = Histogram::new(LATENCY_BUCKETS);
        let notify = NotifyMetrics::register(&mut registry);
        registry.register(
            "fanout_seconds",
            "Time to queue one event for every local subscriber of its channel",
            fanout.clone(),
        );
        let cpu_seconds = Gauge::<f64, AtomicU64>::default();
        let resident_bytes = Gauge::default();
        registry.register(
            "process_cpu_seconds",
            "CPU time (user + system) this process has used, in seconds",
            cpu_seconds.clone(),
        );
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory of this process, in bytes",
            resident_bytes.clone(),
        );
        Self {
            notify,
            registry,
            closes_by_code: Mutex::new(BTreeMap::new()),
            rate_limited,
            rate_limited_by_limit: Mutex::new(BTreeMap::new()),
            bus_lag,
            lag_window: LagCounters::default(),
            fanout,
            cpu_seconds,
            resident_bytes,
            connections,
            subscriptions,
            frames_in,
            frames_out,
            events_published,
            events_delivered,
            outbox_drops,
            closes,
        }
    }

    pub fn closed(&self, code: u16) {
        *self
            .closes_by_code
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(code)
            .or_default() += 1;
        self.closes
            .get_or_create(&CloseLabels {
                code: code.to_string(),
            })
            .inc();
    }

    /// A rate limit refused something.
    pub fn rate_limited(&self, limit: &'static str) {
        *self
            .rate_limited_by_limit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(limit.to_owned())
            .or_default() += 1;
        self.rate_limited
            .get_or_create(&LimitLabels {
                limit: limit.to_owned(),
            })
            .inc();
    }

    /// An event arrived `lag_ms` after its publication.
    pub fn arrived(&self, lag_ms: i64) {
        // Clocks of two nodes may disagree by a little; a negative lag is no lag.
        let ms = lag_ms.max(0) as u64;
        self.bus_lag.observe(ms as f64 / 1000.0);
        self.lag_window.count.fetch_add(1, Ordering::Relaxed);
        self.lag_window.sum_ms.fetch_add(ms, Ordering::Relaxed);
        self.lag_window.max_ms.fetch_max(ms, Ordering::Relaxed);
    }

    pub fn fanned_out(&self, took: std::time::Duration) {
        self.fanout.observe(took.as_secs_f64());
    }

    /// This node's figures for the ops channel, as `node` at `time`; the lag window starts
    /// over.
    pub fn node_stats(&self, node: &str, time: i64, uptime_secs: u64) -> NodeStats {
        self.sample_process();
        let count = self.lag_window.count.swap(0, Ordering::Relaxed);
        let sum = self.lag_window.sum_ms.swap(0, Ordering::Relaxed);
        let max = self.lag_window.max_ms.swap(0, Ordering::Relaxed);
        NodeStats {
            node: node.to_owned(),
            time,
            uptime_secs,
            connections: self.connections.get(),
            subscriptions: self.subscriptions.get(),
            frames_in: self.frames_in.get(),
            frames_out: self.frames_out.get(),
            events_published: self.events_published.get(),
            events_delivered: self.events_delivered.get(),
            outbox_drops: self.outbox_drops.get(),
            closes: self
                .closes_by_code
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            rate_limited: self
                .rate_limited_by_limit
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            bus_lag: LagWindow {
                count,
                mean_ms: if count == 0 {
                    0.0
                } else {
                    sum as f64 / count as f64
                },
                max_ms: max as f64,
            },
            cpu_seconds: self.cpu_seconds.get(),
            resident_bytes: self.resident_bytes.get().max(0) as u64,
            notify_pending: self.notify.pending.get().max(0) as u64,
            notify_dead: self.notify.dead.get().max(0) as u64,
            notify_oldest_due_ms: (self.notify.oldest_due_seconds.get().max(0.0) * 1000.0).round()
                as u64,
            notifications_created: self.notify.created.get(),
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        self.sample_process();
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    fn sample_process(&self) {
        // Several servers may share one test process; they then report the same figures,
        // which is true of the process they share.
        let Ok(me) = procfs::process::Process::myself() else {
            return;
        };
        if let Ok(stat) = me.stat() {
            let ticks = (stat.utime + stat.stime) as f64;
            self.cpu_seconds
                .set(ticks / procfs::ticks_per_second() as f64);
        }
        if let Ok(statm) = me.statm() {
            let bytes = statm.resident.saturating_mul(procfs::page_size());
            self.resident_bytes
                .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        }
    }
}

/// Seconds: from well under a millisecond (one node) to seconds (a node in trouble).
const LATENCY_BUCKETS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
struct LagCounters {
    count: AtomicU64,
    sum_ms: AtomicU64,
    max_ms: AtomicU64,
}
