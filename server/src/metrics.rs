//! Prometheus metrics, one registry per server instance (no global recorder, so several servers
//! can run in one test process). Served as text at `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

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
        Self {
            registry,
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
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
