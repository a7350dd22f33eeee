//! A listener of a chaos run: a resident on the home channel that the writers write to, behaving
//! as PROTOCOL.md §5 asks of a client. It keeps the position of the last event it accepted;
//! an offset it already has is ignored, a gap or a new epoch makes it resubscribe from its
//! position; when its connection ends it reconnects (to the next node when one fails it) and
//! resumes; a `recovered: false` makes it reload the channel over HTTP. What it accepted and
//! reloaded is shared, so the run can wait until every acknowledged write has reached it.

use super::writers::backoff;
use crate::measure::Tally;
use hehe_client::{ClientError, Connection, HttpClient, Incoming, Subscribed};
use hehe_protocol::{Channel, Event, Position, ServerMsg};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// What the run tells its listeners.
#[derive(Debug, Clone, Default)]
pub struct Control {
    /// Raised by one for every reconnect storm: drop the connection, resume at once.
    pub drops: u64,
    /// Slow listeners read nothing until then, or until it is taken back.
    pub pause_until: Option<Instant>,
    /// Writers end before their duration (slow-consumer, once its point is made).
    pub stop_writing: bool,
    pub stop: bool,
}

#[derive(Debug, Clone)]
pub struct ListenerSpec {
    pub index: usize,
    pub token: String,
    pub channel: Channel,
    pub http_urls: Arc<Vec<String>>,
    pub tag: String,
    /// Unix ms a little before the run's first write: reloading reads back to there.
    pub since_ms: i64,
    pub slow: bool,
}

#[derive(Debug, Default)]
pub struct ListenerLog {
    pub subscribed: bool,
    /// Message and issue ids of this run accepted from events, with how often (more than once
    /// means the server sent one write at two positions).
    pub messages: BTreeMap<i64, u32>,
    pub issues: BTreeMap<i64, u32>,
    /// Ids found by reloading over HTTP after `recovered: false`.
    pub reloaded_messages: BTreeSet<i64>,
    pub reloaded_issues: BTreeSet<i64>,
    pub reconnects: u64,
    pub resumed: u64,
    pub recovered_false: u64,
    pub gaps: u64,
    /// Events at a position already accepted (ignored, as the protocol asks).
    pub redelivered: u64,
    /// Closes and failures of its connections, by kind.
    pub closes: Tally,
    pub problems: Vec<String>,
}

impl ListenerLog {
    pub fn has_message(&self, id: i64) -> bool {
        self.messages.contains_key(&id) || self.reloaded_messages.contains(&id)
    }

    pub fn has_issue(&self, id: i64) -> bool {
        self.issues.contains_key(&id) || self.reloaded_issues.contains(&id)
    }
}

struct Listener {
    spec: ListenerSpec,
    log: Arc<Mutex<ListenerLog>>,
    node: usize,
    position: Option<Position>,
}

pub async fn run(
    spec: ListenerSpec,
    log: Arc<Mutex<ListenerLog>>,
    mut control: watch::Receiver<Control>,
) {
    let mut me = Listener {
        node: spec.index,
        spec,
        log,
        position: None,
    };
    let mut drops = control.borrow().drops;
    let mut paused_until: Option<Instant> = None;
    let mut attempt = 0u32;
    'connection: loop {
        if control.borrow().stop {
            break;
        }
        let mut conn = match me.connect().await {
            Ok(conn) => {
                attempt = 0;
                conn
            }
            Err(e) => {
                me.note_close("connect", &e);
                me.node += 1;
                attempt += 1;
                backoff(attempt).await;
                continue;
            }
        };
        loop {
            tokio::select! {
                changed = control.changed() => {
                    if changed.is_err() {
                        break 'connection;
                    }
                    let c = control.borrow_and_update().clone();
                    if c.stop {
                        let _ = conn.close().await;
                        break 'connection;
                    }
                    if c.drops != drops {
                        // A storm: the connection just goes, as when a network blinks.
                        drops = c.drops;
                        drop(conn);
                        continue 'connection;
                    }
                    if me.spec.slow && c.pause_until != paused_until {
                        paused_until = c.pause_until;
                        if let Some(until) = paused_until {
                            // Not reading: the server's queue for this connection fills up.
                            let _ = tokio::time::timeout_at(until, control.changed()).await;
                            paused_until = control.borrow_and_update().pause_until;
                        }
                    }
                }
                incoming = conn.recv() => match incoming {
                    Ok(Incoming::Msg(ServerMsg::Event(event))) => {
                        if let Err(e) = me.on_event(&mut conn, event).await {
                            me.note_close("resubscribe", &e);
                            continue 'connection;
                        }
                    }
                    Ok(Incoming::Msg(_)) => {}
                    Ok(Incoming::Closed { code, .. }) => {
                        let kind = code.map_or("connection lost".to_owned(), |c| format!("closed {c}"));
                        *me.lock().closes.entry(kind).or_default() += 1;
                        me.node += 1;
                        backoff(1).await;
                        continue 'connection;
                    }
                    Err(e) => {
                        me.note_close("read", &e);
                        me.node += 1;
                        backoff(1).await;
                        continue 'connection;
                    }
                },
            }
        }
    }
}

impl Listener {
    fn lock(&self) -> std::sync::MutexGuard<'_, ListenerLog> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn note_close(&self, what: &str, e: &ClientError) {
        super::writers::tally(&mut self.lock().closes, what, e);
    }

    /// Connects to the current node and subscribes: from the last position if there is one.
    async fn connect(&mut self) -> Result<Connection, ClientError> {
        let urls = &self.spec.http_urls;
        let http = HttpClient::new(urls[self.node % urls.len()].clone());
        let mut conn = Connection::connect(&http.ws_url(), &self.spec.token).await?;
        conn.set_request_timeout(Duration::from_secs(5));
        let since = self.position.clone();
        let reply = conn.subscribe(self.spec.channel, since.clone()).await?;
        {
            let mut log = self.lock();
            if since.is_some() {
                log.reconnects += 1;
                log.resumed += 1;
            }
            log.subscribed = true;
        }
        self.absorb(&http, since.is_some(), reply).await;
        Ok(conn)
    }

    /// Takes in a subscribe reply: the first one sets the position; a resumed one hands over
    /// what was missed, or says to reload.
    async fn absorb(&mut self, http: &HttpClient, resumed: bool, reply: Subscribed) {
        if resumed && reply.recovered {
            for event in &reply.events {
                self.accept(event);
            }
        } else if resumed {
            self.lock().recovered_false += 1;
            self.reload(http).await;
        }
        self.position = Some(reply.position());
    }

    /// A live event: accepted in order, ignored if already had, else a resubscription.
    async fn on_event(&mut self, conn: &mut Connection, event: Event) -> Result<(), ClientError> {
        if event.channel != self.spec.channel {
            return Ok(());
        }
        let next = match &self.position {
            Some(p) if p.epoch == event.epoch && event.offset <= p.offset => {
                self.lock().redelivered += 1;
                return Ok(());
            }
            Some(p) => p.epoch == event.epoch && event.offset == p.offset + 1,
            None => true,
        };
        if next {
            self.accept(&event);
            return Ok(());
        }
        // A gap or a new epoch: resubscribe from the last position (PROTOCOL.md §5).
        self.lock().gaps += 1;
        conn.unsubscribe(self.spec.channel).await?;
        let reply = conn
            .subscribe(self.spec.channel, self.position.clone())
            .await?;
        let urls = &self.spec.http_urls;
        let http = HttpClient::new(urls[self.node % urls.len()].clone());
        self.absorb(&http, true, reply).await;
        Ok(())
    }

    fn accept(&mut self, event: &Event) {
        if let Some(p) = &self.position
            && p.epoch == event.epoch
            && event.offset <= p.offset
        {
            self.lock().redelivered += 1;
            return;
        }
        self.position = Some(Position {
            epoch: event.epoch.clone(),
            offset: event.offset,
        });
        let tag = &self.spec.tag;
        let mut log = self.lock();
        match event.kind.as_str() {
            "message" => {
                let ours = event.data["text"]
                    .as_str()
                    .is_some_and(|t| t.starts_with(tag));
                if let (true, Some(id)) = (ours, event.data["id"].as_i64()) {
                    *log.messages.entry(id).or_default() += 1;
                }
            }
            "issue.summary" => {
                let issue = &event.data["issue"];
                let ours = issue["title"].as_str().is_some_and(|t| t.starts_with(tag));
                if let (true, Some(id)) = (ours, issue["id"].as_i64()) {
                    *log.issues.entry(id).or_default() += 1;
                }
            }
            _ => {}
        }
    }

    /// Reloads the channel over HTTP: this run's messages and issues (newest first, down to the
    /// first of the run). Retried a few times: the node may be recovering too.
    async fn reload(&mut self, http: &HttpClient) {
        for attempt in 1..=5 {
            match super::verify::run_writes(
                http,
                &self.spec.token,
                self.spec.channel,
                &self.spec.tag,
                self.spec.since_ms,
            )
            .await
            {
                Ok(found) => {
                    let mut log = self.lock();
                    log.reloaded_messages
                        .extend(found.messages.values().flatten().copied());
                    log.reloaded_issues
                        .extend(found.issues.values().flatten().copied());
                    return;
                }
                Err(e) if attempt == 5 => {
                    self.lock().problems.push(format!("reload failed: {e:#}"));
                }
                Err(_) => backoff(attempt).await,
            }
        }
    }
}
