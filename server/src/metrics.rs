//! Prometheus metrics, one registry per server instance (no global recorder, so several servers
//! can run in one test process). Served as text at `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CloseLabels {
    /// The WebSocket close code the server sent.
    pub code: String,
}

pub struct Metrics {
    registry: Registry,
    pub connections: Gauge,
    pub subscriptions: Gauge,
    pub frames_in: Counter,
    pub frames_out: Counter,
    pub events_published: Counter,
    pub events_delivered: Counter,
    pub outbox_drops: Counter,
    pub closes: Family<CloseLabels, Counter>,
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
            registry,
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
        self.closes
            .get_or_create(&CloseLabels {
                code: code.to_string(),
            })
            .inc();
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
