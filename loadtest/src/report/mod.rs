//! The report of a run: what was asked, what was measured, and which invariants held. Written
//! as JSON (`--report`) and as a page of its own (`--html`), and summed up on the terminal.

pub mod html;

use crate::measure::{Counts, PerSecond, Percentiles, Tally};
use crate::net::ServerSample;
use crate::worker::protocol::SubscriberProblem;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    pub scenario: String,
    /// The options of the run, as given.
    pub parameters: serde_json::Value,
    /// Unix ms.
    pub started_at: u64,
    pub elapsed_secs: f64,
    pub connections: ConnectionFigures,
    pub deliveries: DeliveryFigures,
    pub publish: PublishFigures,
    pub server: ServerFigures,
    pub errors: Tally,
    /// Connections the server closed, by close code ("none": ended without a code).
    pub closes: Tally,
    pub reconnect: ReconnectFigures,
    /// Further latencies a scenario measures, by what they time.
    #[serde(default)]
    pub latencies: std::collections::BTreeMap<String, Percentiles>,
    /// Further rates a scenario measures, per second, by what they count.
    #[serde(default)]
    pub rates: std::collections::BTreeMap<String, f64>,
    pub invariants: Vec<Invariant>,
    /// Subscribers whose events did not add up, the first few of each worker.
    pub problems: Vec<SubscriberProblem>,
    /// Whether every invariant held.
    pub ok: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConnectionFigures {
    pub attempted: u64,
    pub connected: u64,
    pub failed: u64,
    pub workers: usize,
    /// WebSocket handshake and `auth`.
    pub connect: Percentiles,
    /// Subscribing to every channel of the client, after `auth`.
    pub subscribe: Percentiles,
    pub per_second: PerSecond,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DeliveryFigures {
    /// Every event the clients received, this run's numbered events and others.
    pub events: u64,
    pub counts: Counts,
    /// This run's numbered events received per second, over the publishing time.
    pub per_second_mean: f64,
    /// End to end: the publisher's clock at sending to the subscriber's at reception.
    pub latency: Percentiles,
    pub per_second: PerSecond,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PublishFigures {
    pub publishers: u32,
    pub sent: u64,
    pub acknowledged: u64,
    pub rate_asked: f64,
    pub rate_achieved: f64,
    /// From sending to the server's acknowledgement.
    pub acknowledgement: Percentiles,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServerFigures {
    /// The servers' figures (summed over nodes) before connecting, after connecting, and at the
    /// start and end of publishing.
    pub before_connect: Option<ServerSample>,
    pub after_connect: Option<ServerSample>,
    pub before_publish: Option<ServerSample>,
    pub after_publish: Option<ServerSample>,
    /// (Resident memory after − before connecting) / connections.
    pub memory_per_connection_bytes: Option<f64>,
    pub cpu_seconds: Option<f64>,
    pub deliveries_per_cpu_second: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReconnectFigures {
    pub dropped: u64,
    pub failed: u64,
    /// Every reconnection, asked for or after a close.
    pub reconnects: u64,
    /// Resubscriptions the server answered with `recovered: false`.
    pub recovered_false: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invariant {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

impl Report {
    pub fn check(&mut self, name: &str, ok: bool, detail: String) {
        self.invariants.push(Invariant {
            name: name.into(),
            ok,
            detail,
        });
        self.ok = self.invariants.iter().all(|i| i.ok);
    }

    /// The invariants of exact delivery, for the fan-out scenarios.
    pub fn check_delivery(&mut self) {
        let c = self.deliveries.counts;
        self.check(
            "no_loss",
            c.lost == 0,
            format!("{} of {} expected deliveries lost", c.lost, c.expected),
        );
        self.check(
            "no_duplicates",
            c.duplicated == 0,
            format!("{} duplicate deliveries", c.duplicated),
        );
        self.check(
            "in_order",
            c.out_of_order == 0,
            format!("{} deliveries out of order", c.out_of_order),
        );
        self.check(
            "something_published",
            self.publish.acknowledged > 0 && c.expected > 0,
            format!(
                "{} events acknowledged, {} deliveries expected",
                self.publish.acknowledged, c.expected
            ),
        );
    }

    pub fn check_connections(&mut self) {
        let c = &self.connections;
        let detail = format!("{} of {} connected", c.connected, c.attempted);
        let ok = c.failed == 0 && c.connected == c.attempted;
        self.check("all_connected", ok, detail);
    }

    /// A few lines for the terminal.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let c = &self.connections;
        out.push_str(&format!(
            "{}: {} of {} connected over {} worker(s) in {:.1} s; connect p50 {:.1} ms, p99 {:.1} ms\n",
            self.scenario,
            c.connected,
            c.attempted,
            c.workers,
            self.elapsed_secs,
            c.connect.p50_ms,
            c.connect.p99_ms
        ));
        let d = &self.deliveries;
        if d.counts.expected > 0 || self.publish.sent > 0 {
            out.push_str(&format!(
                "published {} ({} acknowledged, {:.1}/s); deliveries: expected {}, received {}, lost {}, \
                 duplicated {}, out of order {}; {:.0}/s\n",
                self.publish.sent,
                self.publish.acknowledged,
                self.publish.rate_achieved,
                d.counts.expected,
                d.counts.received,
                d.counts.lost,
                d.counts.duplicated,
                d.counts.out_of_order,
                d.per_second_mean
            ));
            let l = &d.latency;
            out.push_str(&format!(
                "latency ms: p50 {:.2}, p90 {:.2}, p99 {:.2}, p99.9 {:.2}, max {:.2}\n",
                l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms
            ));
        }
        let s = &self.server;
        if let Some(bytes) = s.memory_per_connection_bytes {
            out.push_str(&format!(
                "server memory per connection: {:.1} KiB\n",
                bytes / 1024.0
            ));
        }
        if let (Some(cpu), Some(per)) = (s.cpu_seconds, s.deliveries_per_cpu_second) {
            out.push_str(&format!(
                "server CPU {cpu:.2} s; {per:.0} deliveries per CPU-second\n"
            ));
        }
        if self.reconnect.reconnects > 0 {
            let r = &self.reconnect;
            out.push_str(&format!(
                "reconnects {} (dropped {}, failed {}), recovered:false {}\n",
                r.reconnects, r.dropped, r.failed, r.recovered_false
            ));
        }
        for (what, l) in &self.latencies {
            out.push_str(&format!(
                "{what}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({})\n",
                l.p50_ms, l.p99_ms, l.max_ms, l.count
            ));
        }
        for (what, per_second) in &self.rates {
            out.push_str(&format!("{what}: {per_second:.1}/s\n"));
        }
        for (kind, n) in &self.errors {
            out.push_str(&format!("error {kind}: {n}\n"));
        }
        for (code, n) in &self.closes {
            out.push_str(&format!("closed with {code}: {n}\n"));
        }
        for i in &self.invariants {
            let mark = if i.ok { "ok  " } else { "FAIL" };
            out.push_str(&format!("{mark} {}: {}\n", i.name, i.detail));
        }
        out
    }
}
