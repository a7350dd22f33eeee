//! One virtual client: connects, subscribes, then reads its events until told to stop, and
//! drops and resumes its connection when told to (or when the server closes it with a code
//! that says "reconnect").

use super::protocol::ClientSpec;
use crate::measure::{PerSecond, Received, Tally, histogram, unix_us};
use crate::payload;
use hdrhistogram::Histogram;
use hehe_client::{ClientError, ConnectOptions, Connection, Incoming};
use hehe_protocol::{Event, ServerMsg};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// Reconnection attempts after a drop or a close before the client gives up.
const RECONNECT_ATTEMPTS: u32 = 5;

/// What a worker tells one of its clients.
#[derive(Debug)]
pub enum Ctl {
    /// Drop the connection now, reconnect, resume; answer whether it worked.
    Drop(oneshot::Sender<bool>),
    Stop,
}

/// What every client of a worker adds to.
pub struct Shared {
    pub run: String,
    pub track: bool,
    pub options: ConnectOptions,
    pub connected: AtomicU64,
    pub failed: AtomicU64,
    pub received: AtomicU64,
    pub events: AtomicU64,
    pub reconnects: AtomicU64,
    pub recovered_false: AtomicU64,
    pub stats: Mutex<Stats>,
}

/// Figures behind a lock: histograms and per-second counts.
pub struct Stats {
    pub connect: Histogram<u64>,
    pub subscribe: Histogram<u64>,
    pub latency: Histogram<u64>,
    pub connects_per_second: PerSecond,
    pub deliveries_per_second: PerSecond,
    pub errors: Tally,
    pub closes: Tally,
}

impl Shared {
    pub fn new(run: String, track: bool, options: ConnectOptions) -> Self {
        Self {
            run,
            track,
            options,
            connected: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            received: AtomicU64::new(0),
            events: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            recovered_false: AtomicU64::new(0),
            stats: Mutex::new(Stats {
                connect: histogram(),
                subscribe: histogram(),
                latency: histogram(),
                connects_per_second: PerSecond::new(),
                deliveries_per_second: PerSecond::new(),
                errors: Tally::new(),
                closes: Tally::new(),
            }),
        }
    }

    pub fn stats(&self) -> std::sync::MutexGuard<'_, Stats> {
        // A panicking client cannot leave the figures half-written in a way that matters.
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn error(&self, what: &str, e: &ClientError) {
        *self.stats().errors.entry(error_kind(what, e)).or_default() += 1;
    }

    pub fn closed(&self, code: Option<u16>) {
        let key = code.map_or_else(|| "none".to_owned(), |c| c.to_string());
        *self.stats().closes.entry(key).or_default() += 1;
    }
}

/// A short, stable name for an error, to count errors by kind (never a message body).
fn error_kind(what: &str, e: &ClientError) -> String {
    let kind = match e {
        ClientError::Http(_) => "http".to_owned(),
        ClientError::Api { status, .. } => format!("http {status}"),
        ClientError::WebSocket(text) => {
            // The OS error, without addresses: "Connection refused (os error 111)" and the like.
            let os = text.rsplit(": ").next().unwrap_or_default();
            format!("websocket: {os}")
        }
        ClientError::Closed { code, .. } => format!("closed {code:?}"),
        ClientError::Server { code, .. } => format!("refused: {code}"),
        ClientError::Decode(_) => "decode".to_owned(),
        ClientError::Timeout => "timeout".to_owned(),
        ClientError::Unexpected(_) => "unexpected answer".to_owned(),
    };
    format!("{what}: {kind}")
}

/// Runs one client to the end. `ready` learns whether it connected and subscribed.
pub async fn run(
    spec: ClientSpec,
    shared: Arc<Shared>,
    received: Arc<Mutex<Received>>,
    mut ctl: mpsc::UnboundedReceiver<Ctl>,
    ready: oneshot::Sender<bool>,
) {
    let Some(mut conn) = start(&spec, &shared).await else {
        shared.failed.fetch_add(1, Ordering::Relaxed);
        let _ = ready.send(false);
        return;
    };
    shared.connected.fetch_add(1, Ordering::Relaxed);
    let _ = ready.send(true);
    loop {
        tokio::select! {
            command = ctl.recv() => match command {
                Some(Ctl::Drop(answer)) => {
                    drop_and_resume(&spec, &shared, &received, &mut conn, answer).await;
                }
                Some(Ctl::Stop) | None => break,
            },
            incoming = conn.recv() => match incoming {
                Ok(Incoming::Msg(ServerMsg::Event(event))) => note(&shared, &received, &event),
                Ok(Incoming::Msg(_)) => {}
                Ok(Incoming::Closed { code, .. }) => {
                    shared.closed(code);
                    // 4000-4499 ask the client to come back and resume, as a real one would.
                    let retry = shared.track && code.is_some_and(|c| (4000..4500).contains(&c));
                    if !retry || resume(&spec, &shared, &received, &mut conn).await.is_err() {
                        wait_for_stop(&mut ctl).await;
                        return;
                    }
                }
                Err(e) => {
                    shared.error("read", &e);
                    wait_for_stop(&mut ctl).await;
                    return;
                }
            },
        }
    }
    let _ = conn.close().await;
}

pub async fn wait_for_stop(ctl: &mut mpsc::UnboundedReceiver<Ctl>) {
    while let Some(command) = ctl.recv().await {
        match command {
            Ctl::Drop(answer) => {
                let _ = answer.send(false);
            }
            Ctl::Stop => return,
        }
    }
}

/// Connects, authenticates and subscribes, timing each step.
async fn start(spec: &ClientSpec, shared: &Shared) -> Option<Connection> {
    let began = Instant::now();
    let mut conn = match Connection::connect_with(&spec.ws_url, &shared.options, &spec.token).await
    {
        Ok(conn) => conn,
        Err(e) => {
            shared.error("connect", &e);
            return None;
        }
    };
    let connected = Instant::now();
    for channel in &spec.channels {
        if let Err(e) = conn.subscribe(*channel, None).await {
            shared.error("subscribe", &e);
            return None;
        }
    }
    let mut stats = shared.stats();
    let _ = stats
        .connect
        .record((connected - began).as_micros().max(1) as u64);
    let _ = stats
        .subscribe
        .record((connected.elapsed()).as_micros().max(1) as u64);
    *stats
        .connects_per_second
        .entry(unix_us() / 1_000_000)
        .or_default() += 1;
    Some(conn)
}

async fn drop_and_resume(
    spec: &ClientSpec,
    shared: &Shared,
    received: &Mutex<Received>,
    conn: &mut Connection,
    answer: oneshot::Sender<bool>,
) {
    let ok = resume(spec, shared, received, conn).await.is_ok();
    let _ = answer.send(ok);
}

/// Drops the connection (no close handshake: as a phone losing its network would) and opens a
/// new one that resumes every channel from the last position seen.
async fn resume(
    spec: &ClientSpec,
    shared: &Shared,
    received: &Mutex<Received>,
    conn: &mut Connection,
) -> Result<(), ()> {
    let positions = conn.positions();
    shared.reconnects.fetch_add(1, Ordering::Relaxed);
    let mut last_error = None;
    for attempt in 0..RECONNECT_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
        }
        let mut fresh =
            match Connection::connect_with(&spec.ws_url, &shared.options, &spec.token).await {
                Ok(fresh) => fresh,
                Err(e) => {
                    last_error = Some(e);
                    continue;
                }
            };
        match fresh.resume(&positions).await {
            Ok(replies) => {
                for reply in replies {
                    if !reply.recovered {
                        shared.recovered_false.fetch_add(1, Ordering::Relaxed);
                    }
                    for event in &reply.events {
                        note(shared, received, event);
                    }
                }
                // The old connection goes here, abruptly, by being dropped.
                *conn = fresh;
                return Ok(());
            }
            Err(e) => last_error = Some(e),
        }
    }
    if let Some(e) = last_error {
        shared.error("reconnect", &e);
    }
    Err(())
}

/// Counts an event; for this run's numbered events, its latency and its place in the
/// accounting.
fn note(shared: &Shared, received: &Mutex<Received>, event: &Event) {
    note_text(shared, received, payload::text_of(event));
}

/// Counts a received event or line whose text (if it has one) is `text`; for this run's
/// numbered lines, their latency and their place in the accounting.
pub fn note_text(shared: &Shared, received: &Mutex<Received>, text: Option<&str>) {
    shared.events.fetch_add(1, Ordering::Relaxed);
    if !shared.track {
        return;
    }
    let Some(stamp) = text.and_then(|t| payload::decode(&shared.run, t)) else {
        return;
    };
    let fresh = received
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .note(stamp.publisher, stamp.seq);
    if !fresh {
        return;
    }
    shared.received.fetch_add(1, Ordering::Relaxed);
    let now = unix_us();
    let mut stats = shared.stats();
    let _ = stats
        .latency
        .record(now.saturating_sub(stamp.sent_us).max(1));
    *stats
        .deliveries_per_second
        .entry(now / 1_000_000)
        .or_default() += 1;
}
