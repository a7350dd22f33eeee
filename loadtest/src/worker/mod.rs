//! A worker holds a share of the run's connections. The coordinator starts several, each in a
//! process of its own (`hehe-loadtest worker`), so that tens of thousands of connections fit the
//! open-files limit of a process; or one inside its own process for small runs and tests.

pub mod client;
pub mod link;
pub mod protocol;
pub mod raw;

use crate::measure::{Counts, Percentiles, Received, to_pairs};
use client::{Ctl, Shared};
use hehe_client::ConnectOptions;
use protocol::{FromWorker, Job, LatencyNow, SubscriberProblem, ToWorker, WorkerResult};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

/// Subscribers with failed accounting listed by name in the report, per worker.
const PROBLEMS_LISTED: usize = 20;

/// How long stopped clients get to close before the worker reports without them.
const STOP_GRACE: Duration = Duration::from_secs(10);

struct Client {
    ctl: mpsc::UnboundedSender<Ctl>,
    received: Arc<Mutex<Received>>,
    task: JoinHandle<()>,
    connected: bool,
}

/// Runs a worker: takes its job from `rx`, answers on `tx`, until told to finish or `rx`
/// closes.
pub async fn run(mut rx: mpsc::UnboundedReceiver<ToWorker>, tx: mpsc::UnboundedSender<FromWorker>) {
    let job = match rx.recv().await {
        Some(ToWorker::Job(job)) => job,
        _ => {
            let _ = tx.send(FromWorker::Fatal {
                error: "the first message must be the job".into(),
            });
            return;
        }
    };
    let options = ConnectOptions {
        read_buffer_size: Some(job.read_buffer.max(256)),
        ..ConnectOptions::default()
    };
    let shared = Arc::new(Shared::new(job.run.clone(), job.track, options));
    let progress = tokio::spawn(report_progress(shared.clone(), tx.clone()));
    let mut clients = connect_all(&job, &shared).await;
    let _ = tx.send(FromWorker::Ready {
        connected: shared.connected.load(Ordering::Relaxed),
        failed: shared.failed.load(Ordering::Relaxed),
    });
    let mut acked = Vec::new();
    while let Some(message) = rx.recv().await {
        match message {
            ToWorker::Job(_) => {}
            ToWorker::Drop { share } => {
                let (dropped, failed) = drop_share(&clients, share).await;
                let _ = tx.send(FromWorker::Dropped { dropped, failed });
            }
            ToWorker::Finish {
                acked: list,
                drain_ms,
            } => {
                acked = list;
                drain(&clients, &acked, Duration::from_millis(drain_ms)).await;
                break;
            }
        }
    }
    stop(&mut clients).await;
    progress.abort();
    let result = result(&job, &shared, &clients, &acked);
    let _ = tx.send(FromWorker::Done(Box::new(result)));
}

/// Starts every client of the job at the job's pace and waits until each has connected and
/// subscribed, or failed to.
async fn connect_all(job: &Job, shared: &Arc<Shared>) -> Vec<Client> {
    let in_flight = Arc::new(Semaphore::new(job.connect_concurrency.max(1)));
    let mut pace = (job.connect_rate > 0.0).then(|| {
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / job.connect_rate));
        // Ticks missed while waiting for a free slot are made up, so the average rate holds.
        tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
        tick
    });
    let mut clients = Vec::with_capacity(job.clients.len());
    let mut outcomes = Vec::with_capacity(job.clients.len());
    for spec in &job.clients {
        if let Some(tick) = pace.as_mut() {
            tick.tick().await;
        }
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break;
        };
        let (ctl, ctl_rx) = mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = oneshot::channel();
        let received = Arc::new(Mutex::new(Received::default()));
        let task = if job.raw {
            tokio::spawn(raw::run(
                spec.clone(),
                shared.clone(),
                received.clone(),
                ctl_rx,
                ready_tx,
            ))
        } else {
            tokio::spawn(client::run(
                spec.clone(),
                shared.clone(),
                received.clone(),
                ctl_rx,
                ready_tx,
            ))
        };
        // The slot is free once the client is connected (or has failed).
        let outcome = tokio::spawn(async move {
            let connected = ready_rx.await.unwrap_or(false);
            drop(permit);
            connected
        });
        outcomes.push(outcome);
        clients.push(Client {
            ctl,
            received,
            task,
            connected: false,
        });
    }
    for (client, outcome) in clients.iter_mut().zip(outcomes) {
        client.connected = outcome.await.unwrap_or(false);
    }
    clients
}

/// Drops the first `share` of the connected clients at once and waits until each has resumed.
async fn drop_share(clients: &[Client], share: f64) -> (u64, u64) {
    let connected: Vec<&Client> = clients.iter().filter(|c| c.connected).collect();
    let count = ((connected.len() as f64) * share.clamp(0.0, 1.0)).round() as usize;
    let mut answers = Vec::with_capacity(count);
    for client in connected.into_iter().take(count) {
        let (tx, rx) = oneshot::channel();
        if client.ctl.send(Ctl::Drop(tx)).is_ok() {
            answers.push(rx);
        }
    }
    let dropped = answers.len() as u64;
    let mut failed = 0;
    for answer in answers {
        if !answer.await.unwrap_or(false) {
            failed += 1;
        }
    }
    (dropped, failed)
}

/// Waits until every connected client has every acknowledged event, or `limit` has passed.
async fn drain(clients: &[Client], acked: &[Vec<u32>], limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let complete = clients.iter().filter(|c| c.connected).all(|c| {
            c.task.is_finished()
                || c.received
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .complete(acked)
        });
        if complete {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn stop(clients: &mut [Client]) {
    for client in clients.iter() {
        let _ = client.ctl.send(Ctl::Stop);
    }
    let deadline = Instant::now() + STOP_GRACE;
    for client in clients.iter_mut() {
        if tokio::time::timeout_at(deadline, &mut client.task)
            .await
            .is_err()
        {
            client.task.abort();
        }
    }
}

fn result(job: &Job, shared: &Shared, clients: &[Client], acked: &[Vec<u32>]) -> WorkerResult {
    let mut counts = Counts::default();
    let mut problems = Vec::new();
    if job.track {
        for (index, client) in clients.iter().enumerate().filter(|(_, c)| c.connected) {
            let mine = client
                .received
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .counts(acked);
            counts.add(&mine);
            let bad = mine.lost + mine.duplicated + mine.out_of_order > 0;
            if bad && problems.len() < PROBLEMS_LISTED {
                problems.push(SubscriberProblem {
                    worker: job.worker,
                    client: index,
                    counts: mine,
                });
            }
        }
    }
    let stats = shared.stats.lock().unwrap_or_else(|e| e.into_inner());
    WorkerResult {
        connected: shared.connected.load(Ordering::Relaxed),
        failed: shared.failed.load(Ordering::Relaxed),
        connect_us: to_pairs(&stats.connect),
        subscribe_us: to_pairs(&stats.subscribe),
        latency_us: to_pairs(&stats.latency),
        connects_per_second: stats.connects_per_second.clone(),
        deliveries_per_second: stats.deliveries_per_second.clone(),
        events: shared.events.load(Ordering::Relaxed),
        counts,
        errors: stats.errors.clone(),
        closes: stats.closes.clone(),
        reconnects: shared.reconnects.load(Ordering::Relaxed),
        recovered_false: shared.recovered_false.load(Ordering::Relaxed),
        problems,
    }
}

async fn report_progress(shared: Arc<Shared>, tx: mpsc::UnboundedSender<FromWorker>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        let latency = {
            let stats = shared.stats.lock().unwrap_or_else(|e| e.into_inner());
            let p = Percentiles::of(&stats.latency);
            (p.count > 0).then_some(LatencyNow {
                count: p.count,
                p50: p.p50_ms,
                p90: p.p90_ms,
                p99: p.p99_ms,
                max: p.max_ms,
            })
        };
        let progress = FromWorker::Progress {
            connected: shared.connected.load(Ordering::Relaxed),
            failed: shared.failed.load(Ordering::Relaxed),
            received: shared.received.load(Ordering::Relaxed),
            latency,
        };
        if tx.send(progress).is_err() {
            return;
        }
    }
}
