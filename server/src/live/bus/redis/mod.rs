//! The Redis bus: history, offsets, idempotency and presence live in Redis, so several nodes
//! share channels. Events travel between nodes over Redis pub/sub as compact envelopes, and
//! each node encodes the client frame once from the envelope it receives.
//!
//! Pub/sub may lose messages (a reconnect, an output-buffer cut). The listener remembers the
//! last offset it handed over per channel, drops repeats, and fills a hole from the channel's
//! stream before delivering what revealed it; a periodic position check against each stream's
//! top finds a lost last event, which nothing later reveals.
//!
//! Keys carry the channel inside a hash tag, so one channel's stream, meta, results and
//! presence share a cluster slot and one Lua script may touch them all.

use super::{
    At, Audience, Bus, BusError, ConnId, DeliveryHandler, HistoryReply, Publication, new_epoch,
};
use crate::live::frame::Frame;
use crate::live::frame::HistoryLimits;
use async_trait::async_trait;
use futures_util::StreamExt;
use hehe_protocol::{AccountId, Channel, EventEncoder, Member, Position};
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSubSink, PubSubStream};
use redis::{Client, Script};
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

mod listener;
mod presence;
mod scripts;

use listener::Listener;
use presence::{Keeper, Present};
use scripts::*;

/// Marks a pub/sub message as an ephemeral frame rather than a numbered event envelope.
const EPHEMERAL: char = '!';
/// Marks a pub/sub message as an eviction: `~<account id>`.
const EVICTION: char = '~';

const READY_TIMEOUT: Duration = Duration::from_secs(1);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// A pub/sub connection can go stale without closing (after a failover); a ping unanswered
/// within the timeout makes the listener reconnect.
const PROBE_EVERY: Duration = Duration::from_secs(15);
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// Reads back from streams happen in the pub/sub read loop; while Redis is away the shared
/// connection can wait out its reconnects for much longer, and the loop must not.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// Most queued subscribe and unsubscribe commands the listener takes in one go.
const MAX_BATCH: usize = 1024;

/// How the Redis bus behaves beyond what history keeps.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// How often the node compares what it delivered on each channel with the stream's top in
    /// Redis. Pub/sub drops messages silently (a reconnect, an output-buffer cut); a hole is
    /// noticed when the next event arrives, but a lost last event has no next one, and only
    /// this check finds it.
    pub position_check_interval: Duration,
    /// How long a presence entry outlives the last sign of its node. Nodes renew their
    /// entries three times per period, so a node's crash shows as leaves this long after it.
    pub presence_ttl: Duration,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            position_check_interval: Duration::from_secs(40),
            presence_ttl: Duration::from_secs(60),
        }
    }
}

#[derive(Clone)]
struct Keys {
    prefix: String,
}

impl Keys {
    fn stream(&self, channel: Channel) -> String {
        format!("{}.stream.{{{channel}}}", self.prefix)
    }
    fn meta(&self, channel: Channel) -> String {
        format!("{}.meta.{{{channel}}}", self.prefix)
    }
    fn result(&self, channel: Channel, key: &str) -> String {
        format!("{}.result.{{{channel}}}.{key}", self.prefix)
    }
    fn presence(&self, channel: Channel) -> String {
        format!("{}.presence.{{{channel}}}", self.prefix)
    }
    fn presence_counts(&self, channel: Channel) -> String {
        format!("{}.presence.count.{{{channel}}}", self.prefix)
    }
    fn presence_expiry(&self, channel: Channel) -> String {
        format!("{}.presence.expiry.{{{channel}}}", self.prefix)
    }
    fn client(&self, channel: Channel) -> String {
        format!("{}.client.{{{channel}}}", self.prefix)
    }
    /// The channel a pub/sub name belongs to, if it is one of ours.
    fn channel_of(&self, name: &str) -> Option<Channel> {
        name.strip_prefix(self.prefix.as_str())?
            .strip_prefix(".client.{")?
            .strip_suffix('}')?
            .parse()
            .ok()
    }
}

fn audience_code(audience: Audience) -> &'static str {
    match audience {
        Audience::All => "a",
        Audience::Staff => "s",
    }
}

/// One numbered event as it travels: `<offset>:<epoch>:<audience>:<time>:<kind>\n<data>`.
struct Envelope<'a> {
    offset: u64,
    epoch: &'a str,
    audience: Audience,
    time: i64,
    kind: &'a str,
    data: &'a RawValue,
}

impl<'a> Envelope<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let (head, data) = text.split_once('\n')?;
        let mut parts = head.splitn(5, ':');
        let offset = parts.next()?.parse().ok()?;
        let epoch = parts.next()?;
        let audience = match parts.next()? {
            "a" => Audience::All,
            "s" => Audience::Staff,
            _ => return None,
        };
        let time = parts.next()?.parse().ok()?;
        let kind = parts.next()?;
        let data = serde_json::from_str(data).ok()?;
        Some(Self {
            offset,
            epoch,
            audience,
            time,
            kind,
            data,
        })
    }

    fn frame(&self, channel: Channel) -> Frame {
        Frame::from(EventEncoder::encode(
            channel,
            self.offset,
            self.epoch,
            self.kind,
            self.time,
            self.data,
        ))
    }
}

fn unavailable(e: impl std::fmt::Display) -> BusError {
    BusError::Unavailable(e.to_string())
}

fn millis(d: Duration) -> u64 {
    // PEXPIRE 0 would delete at once; a zero setting means "as short as possible".
    (d.as_millis() as u64).max(1)
}

enum Command {
    /// Make sure the channel is subscribed on the current connection, then answer.
    Subscribe(String, oneshot::Sender<Result<(), String>>),
    Unsubscribe(String),
}

/// Channels this node has local interest in, with how many `subscribe` calls hold each.
type Interest = Arc<Mutex<HashMap<Channel, usize>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct RedisBus {
    conn: ConnectionManager,
    keys: Keys,
    limits: HistoryLimits,
    /// Conn ids count per process; this tells processes apart in the shared presence hashes.
    node: String,
    interest: Interest,
    commands: mpsc::UnboundedSender<Command>,
    listening: Arc<AtomicBool>,
    publish: Script,
    history: Script,
    join: Script,
    leave: Script,
    evict: Script,
    keeper: Arc<Keeper>,
    /// Stops the keeper's renewals when the bus goes, as a crash would.
    _keeping: tokio_util::sync::DropGuard,
}

impl RedisBus {
    /// Connects to Redis at `url`, keeping keys under `prefix`, and starts this node's pub/sub
    /// listener, which hands deliveries to `handler`. The listener ends with the bus.
    pub async fn connect(
        url: &str,
        prefix: &str,
        limits: HistoryLimits,
        handler: Arc<dyn DeliveryHandler>,
    ) -> Result<Self, BusError> {
        Self::connect_with(url, prefix, limits, RedisConfig::default(), handler).await
    }

    /// `connect`, with settings other than the defaults.
    pub async fn connect_with(
        url: &str,
        prefix: &str,
        limits: HistoryLimits,
        config: RedisConfig,
        handler: Arc<dyn DeliveryHandler>,
    ) -> Result<Self, BusError> {
        let client = Client::open(url).map_err(unavailable)?;
        // Few, short retries: while Redis is down a command should fail fast with `unavailable`
        // (the client retries with backoff) rather than hold its caller for seconds; the
        // manager reconnects on the next use anyway.
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(Duration::from_secs(3)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_with_config(client.clone(), manager)
            .await
            .map_err(unavailable)?;
        let keys = Keys {
            prefix: prefix.to_owned(),
        };
        let interest = Interest::default();
        let present = Present::default();
        let listening = Arc::new(AtomicBool::new(false));
        let (commands, rx) = mpsc::unbounded_channel();
        let listener = Listener {
            client,
            conn: conn.clone(),
            position_check: config.position_check_interval.max(Duration::from_millis(1)),
            handler,
            keys: keys.clone(),
            interest: interest.clone(),
            present: present.clone(),
            listening: listening.clone(),
        };
        tokio::spawn(listener.run(rx));
        let keeper = Arc::new(Keeper {
            conn: conn.clone(),
            keys: keys.clone(),
            interest: interest.clone(),
            present,
            ttl: config.presence_ttl.max(Duration::from_millis(30)),
            script: Script::new(PRESENCE_KEEP),
        });
        let keeping = tokio_util::sync::CancellationToken::new();
        tokio::spawn(keeper.clone().run(keeping.clone()));
        Ok(Self {
            keeper,
            _keeping: keeping.drop_guard(),
            conn,
            keys,
            limits,
            node: new_epoch(),
            interest,
            commands,
            listening,
            publish: Script::new(PUBLISH),
            history: Script::new(HISTORY),
            join: Script::new(PRESENCE_JOIN),
            leave: Script::new(PRESENCE_LEAVE),
            evict: Script::new(EVICT),
        })
    }

    fn conn_field(&self, conn: ConnId) -> String {
        format!("{}:{conn}", self.node)
    }

    /// Drops one unit of interest, unsubscribing when it was the last.
    fn release(&self, channel: Channel) {
        let mut interest = lock(&self.interest);
        let Some(count) = interest.get_mut(&channel) else {
            return;
        };
        *count -= 1;
        if *count == 0 {
            interest.remove(&channel);
            // Sent under the lock so the listener sees subscribes and unsubscribes of one
            // channel in the order the counts changed.
            let _ = self
                .commands
                .send(Command::Unsubscribe(self.keys.client(channel)));
        }
    }
}

#[async_trait]
impl Bus for RedisBus {
    async fn publish(&self, p: Publication) -> Result<Position, BusError> {
        // The envelope's header ends at the first newline; a kind holding one would garble it.
        if p.kind.contains('\n') {
            return Err(unavailable("an event kind cannot hold a newline"));
        }
        let mut conn = self.conn.clone();
        let key = p.idempotency_key.as_deref();
        let (offset, epoch): (u64, String) = self
            .publish
            .key(self.keys.stream(p.channel))
            .key(self.keys.meta(p.channel))
            .key(self.keys.result(p.channel, key.unwrap_or("")))
            .arg(self.keys.client(p.channel))
            .arg(new_epoch())
            .arg(self.limits.size.max(1))
            .arg(millis(self.limits.ttl))
            .arg(millis(self.limits.meta_ttl))
            .arg(millis(self.limits.idempotency_ttl))
            .arg(audience_code(p.audience))
            .arg(&p.kind)
            .arg(p.data.get())
            .arg(if key.is_some() { "1" } else { "0" })
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(Position { epoch, offset })
    }

    async fn broadcast(&self, channel: Channel, frame: Frame) -> Result<(), BusError> {
        let mut conn = self.conn.clone();
        let payload = format!("{EPHEMERAL}{}", frame.as_str());
        redis::cmd("PUBLISH")
            .arg(self.keys.client(channel))
            .arg(payload)
            .query_async::<()>(&mut conn)
            .await
            .map_err(unavailable)
    }

    async fn history(
        &self,
        channel: Channel,
        since: Option<&Position>,
    ) -> Result<HistoryReply, BusError> {
        let mut conn = self.conn.clone();
        let from = since.map_or(String::new(), |s| s.offset.saturating_add(1).to_string());
        let (top, epoch, now, entries): (u64, String, i64, Vec<Vec<u8>>) = self
            .history
            .key(self.keys.stream(channel))
            .key(self.keys.meta(channel))
            .arg(new_epoch())
            .arg(millis(self.limits.meta_ttl))
            .arg(from)
            .arg(self.limits.size.max(1))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let top_position = Position {
            epoch: epoch.clone(),
            offset: top,
        };
        let Some(since) = since else {
            return Ok(HistoryReply {
                top: top_position,
                events: Some(Vec::new()),
            });
        };
        let events = (since.epoch == epoch && since.offset <= top)
            .then(|| recover(channel, since.offset, top, now, self.limits.ttl, &entries))
            .flatten();
        Ok(HistoryReply {
            top: top_position,
            events,
        })
    }

    async fn subscribe(&self, channel: Channel) -> Result<(), BusError> {
        let (reply, answer) = oneshot::channel();
        {
            let mut interest = lock(&self.interest);
            *interest.entry(channel).or_default() += 1;
            // Every subscribe goes through the listener, not only the first: a second caller
            // must not return before the first one's SUBSCRIBE is in place either.
            let sent = self
                .commands
                .send(Command::Subscribe(self.keys.client(channel), reply));
            if sent.is_err() {
                drop(interest);
                self.release(channel);
                return Err(unavailable("the pub/sub listener has stopped"));
            }
        }
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.release(channel);
                Err(unavailable(e))
            }
            Err(_) => {
                self.release(channel);
                Err(unavailable("the pub/sub listener has stopped"))
            }
        }
    }

    fn unsubscribe(&self, channel: Channel) {
        self.release(channel);
    }

    async fn presence_join(
        &self,
        channel: Channel,
        conn: ConnId,
        member: Member,
    ) -> Result<bool, BusError> {
        let mut redis = self.conn.clone();
        let json = serde_json::to_string(&member).map_err(unavailable)?;
        let field = self.conn_field(conn);
        let first: i64 = self
            .join
            .key(self.keys.presence(channel))
            .key(self.keys.presence_counts(channel))
            .key(self.keys.presence_expiry(channel))
            .arg(&field)
            .arg(&json)
            .arg(member.account_id.0)
            .arg(millis(self.keeper.ttl))
            .invoke_async(&mut redis)
            .await
            .map_err(unavailable)?;
        lock(&self.keeper.present)
            .entry(channel)
            .or_default()
            .insert(field, (member.account_id, json));
        Ok(first == 1)
    }

    async fn presence_leave(
        &self,
        channel: Channel,
        conn: ConnId,
        account: AccountId,
    ) -> Result<bool, BusError> {
        let mut redis = self.conn.clone();
        let field = self.conn_field(conn);
        // Forgotten before the removal, so a renewal cannot put the entry back after it.
        self.keeper.forget(channel, |f, _| f == field);
        let last: i64 = self
            .leave
            .key(self.keys.presence(channel))
            .key(self.keys.presence_counts(channel))
            .key(self.keys.presence_expiry(channel))
            .arg(&field)
            .arg(account.0)
            .invoke_async(&mut redis)
            .await
            .map_err(unavailable)?;
        Ok(last == 1)
    }

    async fn evict(&self, channel: Channel, account: AccountId) -> Result<bool, BusError> {
        let mut redis = self.conn.clone();
        self.keeper.forget(channel, |_, a| a == account);
        let present: i64 = self
            .evict
            .key(self.keys.presence(channel))
            .key(self.keys.presence_counts(channel))
            .key(self.keys.presence_expiry(channel))
            .arg(account.0)
            .arg(self.keys.client(channel))
            .arg(format!("{EVICTION}{}", account.0))
            .invoke_async(&mut redis)
            .await
            .map_err(unavailable)?;
        Ok(present == 1)
    }

    async fn presence(&self, channel: Channel) -> Result<Vec<Member>, BusError> {
        // Swept first, so a crashed node's people are not listed once their time is up.
        let values = self.keeper.sweep(channel).await?;
        let mut members = BTreeMap::new();
        for value in values {
            match serde_json::from_slice::<Member>(&value) {
                Ok(member) => {
                    members.entry(member.account_id).or_insert(member);
                }
                Err(e) => {
                    tracing::warn!(%channel, error = %e, "skipping a malformed presence entry")
                }
            }
        }
        Ok(members.into_values().collect())
    }

    async fn ready(&self) -> bool {
        if !self.listening.load(Ordering::Acquire) {
            return false;
        }
        let mut conn = self.conn.clone();
        let cmd = redis::cmd("PING");
        let ping = cmd.query_async::<()>(&mut conn);
        matches!(tokio::time::timeout(READY_TIMEOUT, ping).await, Ok(Ok(())))
    }
}

/// The events after `since` up to `top`, or `None` unless every one of them is still held and
/// young enough: recovery is exact or nothing.
fn recover(
    channel: Channel,
    since: u64,
    top: u64,
    now: i64,
    ttl: Duration,
    entries: &[Vec<u8>],
) -> Option<Vec<(Audience, Frame)>> {
    let oldest = now.saturating_sub(ttl.as_millis() as i64);
    let mut events = Vec::with_capacity(entries.len());
    let mut expected = since.saturating_add(1);
    for entry in entries {
        let Some(envelope) = std::str::from_utf8(entry).ok().and_then(Envelope::parse) else {
            tracing::warn!(%channel, "malformed history entry; not recovering");
            return None;
        };
        if envelope.offset > top {
            break;
        }
        if envelope.offset < expected || envelope.time < oldest {
            continue;
        }
        if envelope.offset != expected {
            return None;
        }
        events.push((envelope.audience, envelope.frame(channel)));
        expected = expected.saturating_add(1);
    }
    (expected == top.saturating_add(1)).then_some(events)
}

#[cfg(test)]
mod tests {
    use super::listener::{Next, Seen, next};
    use super::*;
    use hehe_protocol::PlaceId;

    #[test]
    fn envelopes_round_trip_and_malformed_ones_are_refused() {
        let text = "7:abcdEFGH:s:1700000000000:vote:cast\n{\"n\":1}";
        let e = Envelope::parse(text).expect("well-formed");
        assert_eq!(
            (e.offset, e.epoch, e.audience, e.time, e.kind, e.data.get()),
            (
                7,
                "abcdEFGH",
                Audience::Staff,
                1_700_000_000_000,
                "vote:cast",
                "{\"n\":1}"
            )
        );
        for bad in [
            "",
            "7:e:a:1:k",
            "x:e:a:1:k\n{}",
            "7:e:z:1:k\n{}",
            "7:e:a:1:k\n{",
        ] {
            assert!(Envelope::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn holes_and_repeats_are_told_apart_within_an_epoch() {
        let seen = Seen {
            epoch: "e".into(),
            last: 4,
        };
        assert_eq!(next(None, "e", 9), Next::Deliver);
        assert_eq!(next(Some(&seen), "e", 5), Next::Deliver);
        assert_eq!(next(Some(&seen), "e", 4), Next::Repeat);
        assert_eq!(next(Some(&seen), "e", 1), Next::Repeat);
        assert_eq!(next(Some(&seen), "e", 8), Next::Fill { from: 5, to: 7 });
        assert_eq!(next(Some(&seen), "other", 1), Next::Deliver);
        assert_eq!(next(Some(&seen), "other", 9), Next::Deliver);
    }

    #[test]
    fn pub_sub_names_map_back_to_channels() {
        let keys = Keys {
            prefix: "hehe".into(),
        };
        let home = Channel::Home(PlaceId(3));
        assert_eq!(keys.channel_of(&keys.client(home)), Some(home));
        assert_eq!(keys.channel_of("other.client.{home:3}"), None);
        assert_eq!(keys.channel_of("hehe.client.{nonsense}"), None);
    }
}
