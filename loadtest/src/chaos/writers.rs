//! The writers of a chaos run: officials posting to the home channel and residents raising
//! issues, each at a steady pace on a connection of its own, every write under a request id of
//! its own that stays the same across retries and nodes (the server applies it once). A write
//! counts as acknowledged only when its `posted` or `issue` reply arrived; those are what the
//! verdict demands to find, exactly once, afterwards.

use super::listener::Control;
use crate::measure::Tally;
use hehe_client::{ClientError, Connection};
use hehe_protocol::issue::NewIssue;
use hehe_protocol::{Channel, PlaceId, RequestId};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

/// How long one write is retried (across reconnects and nodes) before it counts as refused:
/// longer than any outage a step injects, so a write refused during one is acknowledged after.
pub const GIVE_UP: Duration = Duration::from_secs(30);

/// A reply slower than this is treated as lost: the write is sent again with the same id.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub enum WriteKind {
    Post {
        channel: Channel,
        /// Characters of each post (the tag and number included); padded with 😀, four bytes
        /// each, so that slow-consumer floods fill queues fast.
        chars: usize,
    },
    Issue {
        categories: Arc<Vec<String>>,
        place: PlaceId,
    },
}

#[derive(Debug, Clone)]
pub struct WriterSpec {
    pub index: usize,
    pub kind: WriteKind,
    pub token: String,
    /// Every node's WebSocket URL; the writer starts on `index % len` and moves on when one
    /// fails it.
    pub ws_urls: Arc<Vec<String>>,
    /// What every text of the run starts with.
    pub tag: String,
    pub rate: f64,
    pub duration: Duration,
}

/// A write the server acknowledged: its text (a post's text, an issue's title) and the id the
/// reply named.
#[derive(Debug, Clone)]
pub struct Ack {
    pub text: String,
    pub id: i64,
}

#[derive(Debug, Default)]
pub struct WriterLog {
    pub acked: Vec<Ack>,
    /// Writes never acknowledged within [`GIVE_UP`], or refused for good.
    pub refused: u64,
    /// Every failed attempt, by kind (a write may fail several times before its reply).
    pub errors: Tally,
    pub reconnects: u64,
    /// From a write's first attempt to its acknowledgement, the longest.
    pub slowest_ack: Duration,
}

/// Writes at the spec's pace until its duration is over or it is told to stop; a new `drops`
/// tells it to drop its connection at once (a reconnect storm).
pub async fn run(spec: WriterSpec, control: watch::Receiver<Control>) -> WriterLog {
    let mut drops = control.borrow().drops;
    let mut log = WriterLog::default();
    let mut node = spec.index;
    let mut conn: Option<Connection> = None;
    let until = Instant::now() + spec.duration;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / spec.rate));
    // A writer held up by an outage writes fewer, not a burst afterwards.
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut seq = 0u64;
    loop {
        tick.tick().await;
        if Instant::now() >= until || control.borrow().stop_writing {
            break;
        }
        seq += 1;
        let (text, issue) = spec.write(seq);
        let Ok(id) = RequestId::parse(format!(
            "{}-w{}-{seq}",
            spec.tag.replace(' ', "-"),
            spec.index
        )) else {
            log.refused += 1;
            continue;
        };
        let first_try = Instant::now();
        let give_up = first_try + GIVE_UP;
        let mut attempt = 0u32;
        loop {
            let now = control.borrow().drops;
            if now != drops {
                drops = now;
                conn = None;
            }
            if Instant::now() >= give_up {
                log.refused += 1;
                break;
            }
            attempt += 1;
            let c = match conn.as_mut() {
                Some(c) => c,
                None => {
                    let url = &spec.ws_urls[node % spec.ws_urls.len()];
                    match Connection::connect(url, &spec.token).await {
                        Ok(mut c) => {
                            c.set_request_timeout(REQUEST_TIMEOUT);
                            if seq > 1 || attempt > 1 {
                                log.reconnects += 1;
                            }
                            conn.insert(c)
                        }
                        Err(e) => {
                            tally(&mut log.errors, "connect", &e);
                            node += 1;
                            backoff(attempt).await;
                            continue;
                        }
                    }
                }
            };
            let result = match (&spec.kind, &issue) {
                (WriteKind::Post { channel, .. }, _) => c
                    .post_with_id(id.clone(), *channel, &text)
                    .await
                    .map(|p| p.message_id),
                (WriteKind::Issue { .. }, Some(issue)) => c
                    .submit_issue_with_id(id.clone(), issue.clone())
                    .await
                    .map(|s| s.id.0),
                (WriteKind::Issue { .. }, None) => unreachable!("an issue write has its issue"),
            };
            match result {
                Ok(id) => {
                    log.slowest_ack = log.slowest_ack.max(first_try.elapsed());
                    log.acked.push(Ack { text, id });
                    break;
                }
                Err(e) => {
                    tally(&mut log.errors, spec.kind.name(), &e);
                    match &e {
                        ClientError::Server { code, .. } if code.retryable() => {}
                        // Refused for good (forbidden, invalid): nothing was written.
                        ClientError::Server { .. } | ClientError::Decode(_) => {
                            log.refused += 1;
                            break;
                        }
                        // The reply may be lost with the connection: try again elsewhere, with
                        // the same id.
                        _ => {
                            conn = None;
                            node += 1;
                        }
                    }
                    backoff(attempt).await;
                }
            }
        }
    }
    if let Some(mut c) = conn {
        let _ = c.close().await;
    }
    log
}

impl WriteKind {
    fn name(&self) -> &'static str {
        match self {
            WriteKind::Post { .. } => "post",
            WriteKind::Issue { .. } => "submit_issue",
        }
    }
}

impl WriterSpec {
    /// Write `seq`'s text (a post, or an issue's title) and, for issues, the issue.
    fn write(&self, seq: u64) -> (String, Option<NewIssue>) {
        let head = format!("{} w{}-{seq}", self.tag, self.index);
        match &self.kind {
            WriteKind::Post { chars, .. } => {
                let pad = chars.saturating_sub(head.len() + 1);
                let text = if pad > 0 {
                    format!("{head} {}", "😀".repeat(pad))
                } else {
                    head
                };
                (text, None)
            }
            WriteKind::Issue { categories, place } => {
                let category = categories[seq as usize % categories.len()].clone();
                let issue = NewIssue {
                    category,
                    title: head.clone(),
                    description: format!("Chaos report {seq}: the stairwell light is out again."),
                    place_id: *place,
                    location: None,
                    public: true,
                    priority: None,
                    on_behalf_of: None,
                };
                (head, Some(issue))
            }
        }
    }
}

/// Counts a failed attempt by what failed and how.
pub fn tally(errors: &mut Tally, what: &str, e: &ClientError) {
    let how = match e {
        ClientError::Server { code, .. } => code.as_str().to_owned(),
        ClientError::Api { error, .. } => error.code.as_str().to_owned(),
        ClientError::Closed { code: Some(c), .. } => format!("closed {c}"),
        ClientError::Closed { code: None, .. } => "connection lost".into(),
        ClientError::Timeout => "timeout".into(),
        ClientError::WebSocket(_) | ClientError::Http(_) => "unreachable".into(),
        ClientError::Decode(_) | ClientError::Unexpected(_) => "bad answer".into(),
    };
    *errors.entry(format!("{what}: {how}")).or_default() += 1;
}

/// 50 ms, growing with the attempt, at most a second; jittered so a storm spreads out.
pub async fn backoff(attempt: u32) {
    let base = (50u64 << attempt.min(5)).min(1000);
    let jitter = rand::random::<u64>() % (base / 2 + 1);
    tokio::time::sleep(Duration::from_millis(base / 2 + jitter)).await;
}
