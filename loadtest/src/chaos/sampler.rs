//! Watching the nodes during a run: `/readyz` every 200 ms (so a step can show its fault was
//! felt: a node not ready, or not answering within the 200 ms, while Redis or PostgreSQL was
//! down), and `/metrics` every
//! `metrics_every` (resident memory, connections, CPU: the soak's figures over time).

use crate::net::metric;
use hehe_client::HttpClient;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

const READY_EVERY: Duration = Duration::from_millis(200);

/// One node's figures at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub secs: f64,
    pub node: usize,
    pub resident_bytes: f64,
    pub connections: f64,
    pub cpu_seconds: f64,
}

#[derive(Debug, Default)]
pub struct Samples {
    /// Per node: `/readyz` answers other than 200 (or no answer).
    pub not_ready: Vec<u64>,
    pub metrics: Vec<Sample>,
}

pub struct Sampler {
    pub samples: Arc<Mutex<Samples>>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    pub fn start(nodes: Vec<HttpClient>, metrics_every: Option<Duration>) -> Self {
        let samples = Arc::new(Mutex::new(Samples {
            not_ready: vec![0; nodes.len()],
            metrics: Vec::new(),
        }));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = samples.clone();
        let task = tokio::spawn(async move {
            let began = Instant::now();
            let mut next_metrics = began;
            let mut tick = tokio::time::interval(READY_EVERY);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => {}
                }
                for (k, node) in nodes.iter().enumerate() {
                    // A node waiting on a dead database may hold the request until it is back:
                    // an answer slower than a poll counts as not ready.
                    let answer = tokio::time::timeout(READY_EVERY, node.get_text("/readyz")).await;
                    let ready = matches!(answer, Ok(Ok((200, _))));
                    if !ready {
                        lock(&shared).not_ready[k] += 1;
                    }
                }
                if let Some(every) = metrics_every
                    && Instant::now() >= next_metrics
                {
                    next_metrics += every;
                    let secs = began.elapsed().as_secs_f64();
                    for (k, node) in nodes.iter().enumerate() {
                        if let Some(s) = sample(node, k, secs).await {
                            lock(&shared).metrics.push(s);
                        }
                    }
                }
            }
        });
        Self {
            samples,
            stop,
            task,
        }
    }

    pub async fn finish(self) -> Samples {
        let _ = self.stop.send(());
        let _ = self.task.await;
        std::mem::take(&mut *lock(&self.samples))
    }
}

async fn sample(node: &HttpClient, k: usize, secs: f64) -> Option<Sample> {
    let (status, text) = node.get_text("/metrics").await.ok()?;
    if status != 200 {
        return None;
    }
    Some(Sample {
        secs,
        node: k,
        resident_bytes: metric(&text, "hehe_process_resident_memory_bytes")?,
        connections: metric(&text, "hehe_connections")?,
        cpu_seconds: metric(&text, "hehe_process_cpu_seconds")?,
    })
}

/// A metric (labels included in `name`) summed over the nodes that answer.
pub async fn sum(nodes: &[HttpClient], name: &str) -> f64 {
    let mut total = 0.0;
    for node in nodes {
        if let Ok((200, text)) = node.get_text("/metrics").await {
            total += metric(&text, name).unwrap_or(0.0);
        }
    }
    total
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The samples as a Markdown table: one row per moment, each node's memory and connections.
pub fn table(samples: &[Sample], nodes: usize) -> String {
    let mut out = String::from("| t (s) |");
    for k in 1..=nodes {
        out.push_str(&format!(
            " node {k} RSS (MiB) | node {k} connections | node {k} CPU (s) |"
        ));
    }
    out.push_str("\n| ---: |");
    out.push_str(&" ---: | ---: | ---: |".repeat(nodes));
    out.push('\n');
    let mut moments: Vec<f64> = samples.iter().map(|s| s.secs.round()).collect();
    moments.dedup();
    for t in moments {
        out.push_str(&format!("| {t:.0} |"));
        for k in 0..nodes {
            match samples.iter().find(|s| s.node == k && s.secs.round() == t) {
                Some(s) => out.push_str(&format!(
                    " {:.1} | {:.0} | {:.1} |",
                    s.resident_bytes / 1048576.0,
                    s.connections,
                    s.cpu_seconds
                )),
                None => out.push_str(" – | – | – |"),
            }
        }
        out.push('\n');
    }
    out
}
