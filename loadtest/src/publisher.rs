//! A publisher: says numbered, time-stamped lines in a living room at a steady rate and keeps
//! the numbers the server acknowledged. One line at a time per publisher, so its lines are
//! applied in the order they were numbered and subscribers can check that order.

use crate::measure::{Tally, histogram, unix_us};
use crate::payload::{self, Stamp};
use hdrhistogram::Histogram;
use hehe_client::{ClientError, ConnectOptions, Connection};
use hehe_protocol::meeting::RoomAction;
use hehe_protocol::{ErrorCode, MeetingId};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::{Instant, MissedTickBehavior};

/// Tries per line: a line whose reply is lost is sent again with the same request id, which the
/// server applies once.
const ATTEMPTS: u32 = 5;

#[derive(Debug, Clone)]
pub struct PublisherSpec {
    pub index: usize,
    pub ws_url: String,
    pub options: ConnectOptions,
    pub token: String,
    pub meeting: MeetingId,
    pub run: String,
    /// Lines per second.
    pub rate: f64,
    /// Bytes per line.
    pub payload: usize,
}

/// What a publisher did.
pub struct Published {
    /// The numbers of the lines the server acknowledged, in order.
    pub acked: Vec<u32>,
    pub sent: u64,
    pub errors: Tally,
    /// From sending a line to its acknowledgement, µs.
    pub ack: Histogram<u64>,
}

/// Publishes until `until`; `acked` counts acknowledgements as they come, for the progress bar.
pub async fn run(spec: PublisherSpec, until: Instant, acked_count: Arc<AtomicU64>) -> Published {
    let mut out = Published {
        acked: Vec::new(),
        sent: 0,
        errors: Tally::new(),
        ack: histogram(),
    };
    let mut conn = match Connection::connect_with(&spec.ws_url, &spec.options, &spec.token).await {
        Ok(conn) => conn,
        Err(e) => {
            *out.errors.entry(kind("publisher connect", &e)).or_default() += 1;
            return out;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / spec.rate.max(0.001)));
    // A server that falls behind gets fewer lines, not a burst: the rate achieved is reported.
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    for seq in 1u32.. {
        tick.tick().await;
        if Instant::now() >= until {
            break;
        }
        let sent_us = unix_us();
        let stamp = Stamp {
            publisher: spec.index,
            seq,
            sent_us,
        };
        let text = payload::encode(&spec.run, stamp, spec.payload);
        let id = conn.next_request_id();
        out.sent += 1;
        for attempt in 1..=ATTEMPTS {
            let action = RoomAction::Say { text: text.clone() };
            match conn
                .room_action_with_id(id.clone(), spec.meeting, action)
                .await
            {
                Ok(_) => {
                    out.acked.push(seq);
                    acked_count.fetch_add(1, Ordering::Relaxed);
                    let _ = out.ack.record(unix_us().saturating_sub(sent_us).max(1));
                    break;
                }
                Err(e) => {
                    *out.errors.entry(kind("publish", &e)).or_default() += 1;
                    let retry = match &e {
                        ClientError::Server { code, .. } => *code == ErrorCode::RequestInProgress,
                        ClientError::Timeout => true,
                        ClientError::Closed { .. } | ClientError::WebSocket(_) => {
                            match Connection::connect_with(&spec.ws_url, &spec.options, &spec.token)
                                .await
                            {
                                Ok(fresh) => {
                                    conn = fresh;
                                    true
                                }
                                Err(_) => false,
                            }
                        }
                        _ => false,
                    };
                    if !retry || attempt == ATTEMPTS {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                }
            }
        }
    }
    let _ = conn.close().await;
    out
}

fn kind(what: &str, e: &ClientError) -> String {
    match e {
        ClientError::Server { code, .. } => format!("{what}: refused: {code}"),
        ClientError::Closed { code, .. } => format!("{what}: closed {code:?}"),
        ClientError::Timeout => format!("{what}: timeout"),
        _ => format!("{what}: other"),
    }
}

/// How long a baseline publisher waits for its own line to come back.
const ECHO_TIMEOUT: Duration = Duration::from_secs(10);

/// A publisher of the baseline server: says numbered lines on a plain WebSocket at a steady
/// rate, one at a time. The server sends every line to every connection, the sender's too: a
/// line is acknowledged when it comes back (the baseline has no replies). A line not back
/// within [`ECHO_TIMEOUT`] is an error and is not acknowledged; it is never sent again (the
/// baseline has no request ids to make a retry safe).
pub async fn run_baseline(
    spec: PublisherSpec,
    until: Instant,
    acked_count: Arc<AtomicU64>,
) -> Published {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let mut out = Published {
        acked: Vec::new(),
        sent: 0,
        errors: Tally::new(),
        ack: histogram(),
    };
    let mut ws = match crate::worker::raw::connect(&spec.ws_url, spec.options.local_ip, None).await
    {
        Ok(ws) => ws,
        Err(e) => {
            *out.errors.entry(kind("publisher connect", &e)).or_default() += 1;
            return out;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / spec.rate.max(0.001)));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    'lines: for seq in 1u32.. {
        tick.tick().await;
        if Instant::now() >= until {
            break;
        }
        let sent_us = unix_us();
        let stamp = Stamp {
            publisher: spec.index,
            seq,
            sent_us,
        };
        let text = payload::encode(&spec.run, stamp, spec.payload);
        out.sent += 1;
        if let Err(e) = ws.send(Message::text(text)).await {
            *out.errors.entry(format!("publish: {e}")).or_default() += 1;
            break;
        }
        let deadline = Instant::now() + ECHO_TIMEOUT;
        loop {
            match tokio::time::timeout_at(deadline, ws.next()).await {
                Err(_) => {
                    *out.errors.entry("publish: timeout".into()).or_default() += 1;
                    continue 'lines;
                }
                Ok(Some(Ok(Message::Text(echo)))) => {
                    if payload::decode(&spec.run, echo.as_str()) == Some(stamp) {
                        out.acked.push(seq);
                        acked_count.fetch_add(1, Ordering::Relaxed);
                        let _ = out.ack.record(unix_us().saturating_sub(sent_us).max(1));
                        continue 'lines;
                    }
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_)) | None) => {
                    *out.errors.entry("publish: closed".into()).or_default() += 1;
                    break 'lines;
                }
            }
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
    out
}
