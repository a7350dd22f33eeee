//! The scenarios, and what they share: the fleet of workers, spreading clients over workers and
//! source addresses, and adding up the workers' results.

pub mod baseline;
pub mod fanout;
pub mod idle;
pub mod neighbourhood;
pub mod notify;

use crate::cli::{Common, MAX_PER_PROCESS, MAX_PER_SOURCE_IP};
use crate::measure::{self, Percentiles, add_pairs, add_per_second, add_tally, histogram};
use crate::net;
use crate::ops::{self, Feed};
use crate::report::Report;
use crate::worker::link::WorkerLink;
use crate::worker::protocol::{ClientSpec, FromWorker, Job, LatencyNow, ToWorker, WorkerResult};
use anyhow::{Context, bail};
use hehe_client::HttpClient;
use hehe_protocol::ops::LatencySummary;
use indicatif::{ProgressBar, ProgressStyle};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::process::Child;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The servers of a run, checked to be on loopback.
pub struct Servers {
    pub http: Vec<HttpClient>,
}

impl Servers {
    pub fn new(urls: &[String]) -> anyhow::Result<Self> {
        let http = urls
            .iter()
            .map(|u| net::loopback_url(u).map(HttpClient::new))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self { http })
    }

    pub fn ws_url(&self, client: usize) -> String {
        self.http[client % self.http.len()].ws_url()
    }

    pub async fn sample(&self) -> Option<net::ServerSample> {
        net::sample(&self.http).await
    }
}

/// Where connections come from: the source addresses, in turn.
pub struct Sources {
    ips: Vec<IpAddr>,
}

impl Sources {
    pub fn new(common: &Common, connections: u32) -> anyhow::Result<Self> {
        let ips = net::source_ips(&common.source_ips)?;
        let addresses = ips.len().max(1) as u32;
        if connections > MAX_PER_SOURCE_IP * addresses {
            bail!(
                "{connections} connections need more source addresses: one gives at most \
                 {MAX_PER_SOURCE_IP} (e.g. --source-ips 127.0.0.2-127.0.0.{})",
                1 + connections.div_ceil(MAX_PER_SOURCE_IP)
            );
        }
        Ok(Self { ips })
    }

    pub fn ip(&self, client: usize) -> Option<IpAddr> {
        (!self.ips.is_empty()).then(|| self.ips[client % self.ips.len()])
    }
}

/// Splits clients over `workers` jobs, in turn, and checks each fits in a process.
pub fn jobs(
    common: &Common,
    run: &str,
    clients: Vec<ClientSpec>,
    workers: usize,
    track: bool,
) -> anyhow::Result<Vec<Job>> {
    let count = workers.max(1);
    let mut jobs: Vec<Job> = (0..count)
        .map(|worker| Job {
            worker,
            run: run.to_owned(),
            clients: Vec::new(),
            connect_rate: common.connect_rate / count as f64,
            connect_concurrency: common.connect_concurrency,
            read_buffer: common.read_buffer,
            track,
            raw: false,
        })
        .collect();
    for (i, client) in clients.into_iter().enumerate() {
        jobs[i % count].clients.push(client);
    }
    let largest = jobs.iter().map(|j| j.clients.len()).max().unwrap_or(0) as u32;
    if largest > MAX_PER_PROCESS {
        bail!(
            "{largest} connections in one process is too many (at most {MAX_PER_PROCESS}): \
             use --workers or --per-worker"
        );
    }
    Ok(jobs)
}

/// The running workers, seen as one.
pub struct Fleet {
    txs: Vec<mpsc::UnboundedSender<ToWorker>>,
    rx: mpsc::UnboundedReceiver<(usize, FromWorker)>,
    progress: Vec<Progress>,
    attempted: u64,
    /// Events published and acknowledged, counted by the publishers, for the dashboards.
    pub sent: Arc<AtomicU64>,
    ops: Option<OpsState>,
    pub bar: ProgressBar,
    _children: Vec<Child>,
}

impl Fleet {
    /// Starts one worker per job: child processes when `processes`, else tasks of this process.
    pub fn start(
        common: &Common,
        jobs: Vec<Job>,
        processes: bool,
        ops: Option<Feed>,
    ) -> anyhow::Result<Self> {
        let exe = match &common.worker_exe {
            Some(exe) => exe.clone(),
            None => std::env::current_exe().context("finding this program to run workers")?,
        };
        let attempted = jobs.iter().map(|j| j.clients.len() as u64).sum();
        let (merged_tx, rx) = mpsc::unbounded_channel();
        let mut txs = Vec::new();
        let mut children = Vec::new();
        for (index, job) in jobs.into_iter().enumerate() {
            let link = if processes {
                WorkerLink::spawn(&exe)?
            } else {
                WorkerLink::in_process()
            };
            let (tx, mut from, child) = link.into_parts();
            tx.send(ToWorker::Job(Box::new(job)))
                .map_err(|_| anyhow::anyhow!("worker {index} is gone"))?;
            let merged = merged_tx.clone();
            tokio::spawn(async move {
                while let Some(message) = from.recv().await {
                    if merged.send((index, message)).is_err() {
                        return;
                    }
                }
            });
            txs.push(tx);
            children.extend(child);
        }
        let bar = if common.quiet {
            ProgressBar::hidden()
        } else {
            let bar = ProgressBar::new(attempted);
            bar.set_style(
                ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        };
        Ok(Self {
            progress: vec![Progress::default(); txs.len()],
            txs,
            rx,
            attempted,
            sent: Arc::new(AtomicU64::new(0)),
            ops: ops.map(|feed| OpsState {
                feed,
                last: Instant::now(),
                received: 0,
            }),
            bar,
            _children: children,
        })
    }

    pub fn workers(&self) -> usize {
        self.txs.len()
    }

    pub fn attempted(&self) -> u64 {
        self.attempted
    }

    pub fn broadcast(&self, message: &ToWorker) {
        for tx in &self.txs {
            let _ = tx.send(message.clone());
        }
    }

    pub fn send(&self, worker: usize, message: ToWorker) {
        if let Some(tx) = self.txs.get(worker) {
            let _ = tx.send(message);
        }
    }

    /// The next message that is not progress (progress updates the bar); a fatal one is an
    /// error.
    pub async fn next(&mut self) -> anyhow::Result<(usize, FromWorker)> {
        loop {
            let Some((index, message)) = self.rx.recv().await else {
                bail!("every worker is gone");
            };
            match message {
                FromWorker::Progress {
                    connected,
                    failed,
                    received,
                    latency,
                } => {
                    self.progress[index] = Progress {
                        connected,
                        failed,
                        received,
                        latency,
                    };
                    let (c, f, r) = self.progress.iter().fold((0, 0, 0), |a, p| {
                        (a.0 + p.connected, a.1 + p.failed, a.2 + p.received)
                    });
                    self.bar.set_position(c + f);
                    self.bar
                        .set_message(format!("connected {c}, failed {f}, received {r}"));
                    self.feed_ops(c, f, r);
                }
                FromWorker::Fatal { error } => bail!("worker {index}: {error}"),
                other => return Ok((index, other)),
            }
        }
    }

    /// Posts progress to the dashboards, at most once per [`ops::INTERVAL`].
    fn feed_ops(&mut self, connections: u64, failed: u64, received: u64) {
        let Some(ops) = self.ops.as_mut() else {
            return;
        };
        let elapsed = ops.last.elapsed();
        if elapsed < ops::INTERVAL {
            return;
        }
        // Percentiles do not add up across workers: the median is weighted by count, the
        // upper percentiles are the workers' worst (an upper bound). The report is exact.
        let latencies: Vec<LatencyNow> = self.progress.iter().filter_map(|p| p.latency).collect();
        let count: u64 = latencies.iter().map(|l| l.count).sum();
        let worst = |f: fn(&LatencyNow) -> f64| latencies.iter().map(f).fold(0.0, f64::max);
        let latency = LatencySummary {
            p50: latencies
                .iter()
                .map(|l| l.p50 * l.count as f64)
                .sum::<f64>()
                / count.max(1) as f64,
            p90: worst(|l| l.p90),
            p99: worst(|l| l.p99),
            max: worst(|l| l.max),
        };
        let live = ops::Live {
            connections,
            sent: self.sent.load(Ordering::Relaxed),
            received,
            deliveries_per_sec: received.saturating_sub(ops.received) as f64
                / elapsed.as_secs_f64(),
            errors: failed,
            latency,
        };
        ops.feed.progress(live);
        ops.last = Instant::now();
        ops.received = received;
    }

    /// Waits until every worker has sent a message `pick` takes, for at most `limit`.
    pub async fn gather<T>(
        &mut self,
        what: &str,
        limit: Duration,
        mut pick: impl FnMut(FromWorker) -> Option<T>,
    ) -> anyhow::Result<Vec<T>> {
        let deadline = Instant::now() + limit;
        let mut answers: Vec<Option<T>> = (0..self.workers()).map(|_| None).collect();
        while answers.iter().any(Option::is_none) {
            let (index, message) = tokio::time::timeout_at(deadline, self.next())
                .await
                .with_context(|| format!("the workers did not finish {what} in time"))??;
            if let Some(answer) = pick(message) {
                answers[index] = Some(answer);
            }
        }
        Ok(answers.into_iter().flatten().collect())
    }

    /// Tells every worker to finish and gathers their results.
    pub async fn finish(
        &mut self,
        acked: Vec<Vec<u32>>,
        drain: Duration,
    ) -> anyhow::Result<Vec<WorkerResult>> {
        self.broadcast(&ToWorker::Finish {
            acked,
            drain_ms: drain.as_millis() as u64,
        });
        // Draining, then closing every connection (a few seconds at most).
        let limit = drain + Duration::from_secs(60);
        let results = self
            .gather("the run", limit, |m| match m {
                FromWorker::Done(result) => Some(*result),
                _ => None,
            })
            .await?;
        self.bar.finish_and_clear();
        Ok(results)
    }
}

/// A worker's last progress.
#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    connected: u64,
    failed: u64,
    received: u64,
    latency: Option<LatencyNow>,
}

/// The dashboards' feed, and when it was last fed.
struct OpsState {
    feed: Feed,
    last: Instant,
    received: u64,
}

/// How long connecting may take: at the configured pace, plus slack.
pub fn connect_limit(common: &Common, connections: u32) -> Duration {
    let paced = if common.connect_rate > 0.0 {
        f64::from(connections) / common.connect_rate
    } else {
        0.0
    };
    Duration::from_secs_f64(paced * 2.0 + 60.0)
}

/// Adds the workers' results into the report.
pub fn merge(report: &mut Report, attempted: u64, results: &[WorkerResult]) {
    let (mut connect, mut subscribe, mut latency) = (histogram(), histogram(), histogram());
    let c = &mut report.connections;
    c.attempted = attempted;
    for r in results {
        c.connected += r.connected;
        c.failed += r.failed;
        add_pairs(&mut connect, &r.connect_us);
        add_pairs(&mut subscribe, &r.subscribe_us);
        add_pairs(&mut latency, &r.latency_us);
        add_per_second(&mut c.per_second, &r.connects_per_second);
        let d = &mut report.deliveries;
        add_per_second(&mut d.per_second, &r.deliveries_per_second);
        d.events += r.events;
        d.counts.add(&r.counts);
        add_tally(&mut report.errors, &r.errors);
        add_tally(&mut report.closes, &r.closes);
        report.reconnect.reconnects += r.reconnects;
        report.reconnect.recovered_false += r.recovered_false;
        report.problems.extend(r.problems.iter().cloned());
    }
    c.connect = Percentiles::of(&connect);
    c.subscribe = Percentiles::of(&subscribe);
    report.deliveries.latency = Percentiles::of(&latency);
}

/// A new report of `scenario` with its parameters.
pub fn new_report(scenario: &str, parameters: serde_json::Value) -> Report {
    Report {
        scenario: scenario.into(),
        parameters,
        started_at: measure::unix_us() / 1000,
        ok: true,
        ..Report::default()
    }
}

/// A short random tag naming this run in its events.
pub fn run_tag() -> String {
    format!("{:08x}", rand::random::<u32>())
}
