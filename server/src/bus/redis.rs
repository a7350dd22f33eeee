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

use super::memory::HistoryLimits;
use super::{At, Audience, Bus, BusError, ConnId, DeliveryHandler, HistoryReply, Publication};
use crate::hub::Frame;
use async_trait::async_trait;
use futures_util::StreamExt;
use hehe_protocol::{AccountId, Channel, EventEncoder, Member, Position};
use rand::Rng;
use rand::distr::Alphanumeric;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSubSink, PubSubStream};
use redis::{Client, Script};
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Takes the next offset, appends and publishes the envelope, all in one atomic step: that is
/// what makes a channel's pub/sub order equal its offset order on every node.
const PUBLISH: &str = r#"
local stream, meta, result = KEYS[1], KEYS[2], KEYS[3]
if ARGV[10] == '1' then
  local cached = redis.call('GET', result)
  if cached then
    local offset, epoch = string.match(cached, '^(%d+):(.*)$')
    if offset then return {tonumber(offset), epoch} end
  end
end
local epoch = redis.call('HGET', meta, 'e')
if not epoch then
  epoch = ARGV[2]
  redis.call('HSET', meta, 'e', epoch)
end
local offset = redis.call('HINCRBY', meta, 's', 1)
redis.call('PEXPIRE', meta, ARGV[5])
if offset == 1 then
  redis.call('DEL', stream)
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local head = string.format('%d', offset)
local envelope = head .. ':' .. epoch .. ':' .. ARGV[7] .. ':' .. string.format('%d', now) .. ':' .. ARGV[8] .. '\n' .. ARGV[9]
redis.call('XADD', stream, 'MAXLEN', '~', ARGV[3], head .. '-0', 'd', envelope, 'a', ARGV[7])
redis.call('PEXPIRE', stream, ARGV[4])
redis.call('PUBLISH', ARGV[1], envelope)
if ARGV[10] == '1' then
  redis.call('SET', result, head .. ':' .. epoch, 'PX', ARGV[6])
end
return {offset, epoch}
"#;

/// Where the stream stands (creating its identity if it has none) and, when asked, the
/// entries from an offset on, with Redis's clock to judge their age by.
const HISTORY: &str = r#"
local stream, meta = KEYS[1], KEYS[2]
local epoch = redis.call('HGET', meta, 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', meta, 'e', epoch)
end
local top = tonumber(redis.call('HGET', meta, 's') or '0') or 0
redis.call('PEXPIRE', meta, ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
if ARGV[3] ~= '' then
  local size = tonumber(ARGV[4])
  local from = math.max(tonumber(ARGV[3]), top - size + 1, 1)
  if from <= top then
    local entries = redis.call('XRANGE', stream, string.format('%d', from) .. '-0', '+', 'COUNT', size)
    for _, entry in ipairs(entries) do
      local fields = entry[2]
      for i = 1, #fields, 2 do
        if fields[i] == 'd' then table.insert(out, fields[i + 1]) end
      end
    end
  end
end
return {top, epoch, now, out}
"#;

/// Returns 1 when the connection is the account's first in the channel. Every entry has an
/// expiry time its node keeps pushing forward: a node that dies stops doing so, and whoever
/// sweeps next removes what it left behind.
const PRESENCE_JOIN: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[4])
redis.call('ZADD', KEYS[3], now + ttl, ARGV[1])
local first = 0
if redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  if redis.call('HINCRBY', KEYS[2], ARGV[3], 1) == 1 then first = 1 end
end
for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, 2 * ttl) end
return first
"#;

/// Returns 1 when the connection was the account's last in the channel.
const PRESENCE_LEAVE: &str = r#"
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[2])
  return 1
end
return 0
"#;

/// Removes the entries whose time ran out, after pushing forward the times of the calling
/// node's own entries (ARGV[3..] in triples: field, member, account), which it puts back when
/// they are missing: a sweep by another node during a partition, or a restarted Redis, must
/// not hide people who are still connected. Returns the accounts that left and those that
/// came back, and with ARGV[2] == '1' everyone present.
const PRESENCE_KEEP: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
local back = {}
for i = 3, #ARGV, 3 do
  local field, member, account = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  redis.call('ZADD', KEYS[3], now + ttl, field)
  if redis.call('HSET', KEYS[1], field, member) == 1 then
    if redis.call('HINCRBY', KEYS[2], account, 1) == 1 then table.insert(back, account) end
  end
end
if #ARGV > 2 then
  for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, 2 * ttl) end
end
local gone = {}
for _, field in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)) do
  redis.call('ZREM', KEYS[3], field)
  local member = redis.call('HGET', KEYS[1], field)
  if member then
    redis.call('HDEL', KEYS[1], field)
    local ok, decoded = pcall(cjson.decode, member)
    if ok and decoded['account_id'] then
      local account = string.format('%d', decoded['account_id'])
      if redis.call('HINCRBY', KEYS[2], account, -1) <= 0 then
        redis.call('HDEL', KEYS[2], account)
        table.insert(gone, account)
      end
    end
  end
end
local present = {}
if ARGV[2] == '1' then present = redis.call('HVALS', KEYS[1]) end
return {gone, back, present}
"#;

/// Removes every connection of one account from a channel's presence, then tells every node
/// to end that account's subscriptions: one step, so no node keeps them after the removal.
/// Returns 1 when the account was present.
const EVICT: &str = r#"
local present = redis.call('HDEL', KEYS[2], ARGV[1])
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local ok, member = pcall(cjson.decode, entries[i + 1])
  if ok and tonumber(member['account_id']) == tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[1], entries[i])
    redis.call('ZREM', KEYS[3], entries[i])
  end
end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return present
"#;

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
/// Presence entries renewed by one script run.
const RENEW_CHUNK: usize = 500;
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

fn new_epoch() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(8)
        .map(char::from)
        .collect()
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

/// This node's own presence entries per channel: field → (account, member JSON), what the
/// keeper renews.
type Present = Arc<Mutex<HashMap<Channel, HashMap<String, (AccountId, String)>>>>;

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

/// Renews this node's presence entries and sweeps out expired ones, announcing who left
/// (their node died) or came back (their entry had been swept while this node could not
/// reach Redis).
struct Keeper {
    conn: ConnectionManager,
    keys: Keys,
    interest: Interest,
    present: Present,
    ttl: Duration,
    script: Script,
}

impl Keeper {
    async fn run(self: Arc<Self>, stop: tokio_util::sync::CancellationToken) {
        let mut tick = tokio::time::interval(self.ttl / 3);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            // Channels with people of this node's, and channels with presence it delivers:
            // whoever listens to a room keeps its presence honest. (Inboxes, homes and streets
            // keep none; a node delivers tens of thousands of them.)
            let mut channels: HashSet<Channel> = lock(&self.present).keys().copied().collect();
            channels.extend(
                lock(&self.interest)
                    .keys()
                    .copied()
                    .filter(|c| c.has_presence()),
            );
            for channel in channels {
                if stop.is_cancelled() {
                    return;
                }
                if let Err(e) = self.renew(channel).await {
                    tracing::debug!(%channel, error = %e, "presence not renewed");
                }
            }
        }
    }

    fn forget(&self, channel: Channel, matches: impl Fn(&str, AccountId) -> bool) {
        let mut present = lock(&self.present);
        if let Some(entries) = present.get_mut(&channel) {
            entries.retain(|field, (account, _)| !matches(field, *account));
            if entries.is_empty() {
                present.remove(&channel);
            }
        }
    }

    /// Sweeps out the expired entries of `channel` and returns everyone present after it.
    /// Renews nothing: a read comes with every subscribe, and renewing a crowd's entries at
    /// each arrival would cost the square of the crowd.
    async fn sweep(&self, channel: Channel) -> Result<Vec<Vec<u8>>, BusError> {
        self.keep(channel, &[], true).await
    }

    /// Renews this node's entries of `channel`, a bounded number per script so that a big
    /// room's renewal never holds Redis up for long, and sweeps out expired ones.
    async fn renew(&self, channel: Channel) -> Result<(), BusError> {
        let mine: Vec<(String, AccountId, String)> = lock(&self.present)
            .get(&channel)
            .map(|entries| {
                entries
                    .iter()
                    .map(|(field, (account, json))| (field.clone(), *account, json.clone()))
                    .collect()
            })
            .unwrap_or_default();
        if mine.is_empty() {
            self.keep(channel, &[], false).await?;
        }
        for chunk in mine.chunks(RENEW_CHUNK) {
            self.keep(channel, chunk, false).await?;
        }
        Ok(())
    }

    /// One run of the keeping script: `mine` renewed (and put back where missing), expired
    /// entries swept out and announced; with `list`, everyone present after it.
    async fn keep(
        &self,
        channel: Channel,
        mine: &[(String, AccountId, String)],
        list: bool,
    ) -> Result<Vec<Vec<u8>>, BusError> {
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(self.keys.presence(channel))
            .key(self.keys.presence_counts(channel))
            .key(self.keys.presence_expiry(channel))
            .arg(millis(self.ttl))
            .arg(if list { "1" } else { "0" });
        for (field, account, json) in mine {
            invocation.arg(field).arg(json).arg(account.0);
        }
        let mut conn = self.conn.clone();
        let (gone, back, present): (Vec<i64>, Vec<i64>, Vec<Vec<u8>>) = invocation
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        if !gone.is_empty() || !back.is_empty() {
            let joins = back
                .iter()
                .filter_map(|id| {
                    let json = &mine.iter().find(|(_, a, _)| a.0 == *id)?.2;
                    serde_json::from_str::<Member>(json).ok()
                })
                .collect();
            let leaves = gone
                .into_iter()
                .map(|id| crate::presence::gone(AccountId(id)))
                .collect();
            let frame = hehe_protocol::ServerMsg::Presence {
                channel,
                joins,
                leaves,
            };
            redis::cmd("PUBLISH")
                .arg(self.keys.client(channel))
                .arg(format!("{EPHEMERAL}{}", frame.to_json()))
                .query_async::<()>(&mut conn)
                .await
                .map_err(unavailable)?;
        }
        Ok(present)
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

/// This node's pub/sub connection: subscribes what the node has interest in and hands what
/// arrives to the hub, in arrival order.
struct Listener {
    client: Client,
    /// For reading back from streams what pub/sub did not bring.
    conn: ConnectionManager,
    position_check: Duration,
    handler: Arc<dyn DeliveryHandler>,
    keys: Keys,
    interest: Interest,
    /// Evicted people are dropped from it, so this node stops renewing their entries.
    present: Present,
    listening: Arc<AtomicBool>,
}

enum Ended {
    /// The bus is gone.
    Stop,
    /// The connection failed; reconnect.
    Lost,
}

/// The last event this node handed to the hub on a channel: what tells a hole or a repeat in
/// what pub/sub brings.
struct Seen {
    epoch: String,
    last: u64,
}

/// Per channel of local interest. Kept across reconnects, so the first event after an outage
/// reveals what the outage swallowed; dropped with the interest.
type Tracked = HashMap<Channel, Seen>;

/// What to do with a numbered event that pub/sub brought.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// The hub already has it.
    Repeat,
    /// Offsets `from..=to` went missing before it: fetch them from the stream first.
    Fill { from: u64, to: u64 },
    /// Deliver it. Also the answer for a channel's first event and a new epoch's, which
    /// restart the count.
    Deliver,
}

fn next(seen: Option<&Seen>, epoch: &str, offset: u64) -> Next {
    match seen {
        Some(seen) if seen.epoch == epoch => {
            if offset <= seen.last {
                Next::Repeat
            } else if offset > seen.last.saturating_add(1) {
                Next::Fill {
                    from: seen.last + 1,
                    to: offset - 1,
                }
            } else {
                Next::Deliver
            }
        }
        _ => Next::Deliver,
    }
}

impl Listener {
    async fn run(self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut delay = RETRY_MIN;
        let mut tracked = Tracked::new();
        loop {
            match self.connect().await {
                Ok((sink, stream, subscribed)) => {
                    delay = RETRY_MIN;
                    self.listening.store(true, Ordering::Release);
                    let ended = self
                        .serve(sink, stream, subscribed, &mut commands, &mut tracked)
                        .await;
                    self.listening.store(false, Ordering::Release);
                    match ended {
                        Ended::Stop => return,
                        Ended::Lost => {
                            tracing::warn!("Redis pub/sub connection lost; reconnecting")
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot reach Redis pub/sub; retrying"),
            }
            // While there is no connection, subscribing fails at once: callers learn of the
            // outage instead of waiting on it.
            let pause = tokio::time::sleep(delay);
            tokio::pin!(pause);
            loop {
                tokio::select! {
                    _ = &mut pause => break,
                    command = commands.recv() => match command {
                        None => return,
                        Some(Command::Subscribe(_, reply)) => {
                            let _ = reply.send(Err("Redis pub/sub is reconnecting".into()));
                        }
                        Some(Command::Unsubscribe(name)) => self.forget(&name, &mut tracked),
                    },
                }
            }
            delay = (delay * 2).min(RETRY_MAX);
        }
    }

    fn forget(&self, name: &str, tracked: &mut Tracked) {
        if let Some(channel) = self.keys.channel_of(name) {
            tracked.remove(&channel);
        }
    }

    /// Opens the connection and subscribes every channel of local interest again.
    async fn connect(&self) -> Result<(PubSubSink, PubSubStream, HashSet<String>), String> {
        let pubsub = tokio::time::timeout(CONNECT_TIMEOUT, self.client.get_async_pubsub())
            .await
            .map_err(|_| "connect timed out".to_owned())?
            .map_err(|e| e.to_string())?;
        let (mut sink, stream) = pubsub.split();
        let names: HashSet<String> = lock(&self.interest)
            .keys()
            .map(|c| self.keys.client(*c))
            .collect();
        if !names.is_empty() {
            let list: Vec<&String> = names.iter().collect();
            tokio::time::timeout(PROBE_TIMEOUT, sink.subscribe(list))
                .await
                .map_err(|_| "SUBSCRIBE timed out".to_owned())?
                .map_err(|e| e.to_string())?;
        }
        Ok((sink, stream, names))
    }

    async fn serve(
        &self,
        mut sink: PubSubSink,
        mut stream: PubSubStream,
        mut subscribed: HashSet<String>,
        commands: &mut mpsc::UnboundedReceiver<Command>,
        tracked: &mut Tracked,
    ) -> Ended {
        let mut probe = tokio::time::interval(PROBE_EVERY);
        probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        probe.tick().await;
        // The first tick is not skipped: after a reconnect, what the outage swallowed at the
        // end of a channel is found at once rather than one interval later.
        let mut check = tokio::time::interval(self.position_check);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                message = stream.next() => match message {
                    Some(message) => self.dispatch(&message, tracked).await,
                    None => return Ended::Lost,
                },
                command = commands.recv() => {
                    let Some(first) = command else { return Ended::Stop };
                    // Whatever else is already queued goes with it: a reconnect storm's
                    // thousands of subscribes become a few SUBSCRIBE commands.
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match commands.try_recv() {
                            Ok(command) => batch.push(command),
                            Err(_) => break,
                        }
                    }
                    if self.apply(batch, &mut sink, &mut subscribed, tracked).await.is_err() {
                        return Ended::Lost;
                    }
                }
                _ = probe.tick() => {
                    let ping = sink.ping::<redis::Value>();
                    if !matches!(tokio::time::timeout(PROBE_TIMEOUT, ping).await, Ok(Ok(_))) {
                        return Ended::Lost;
                    }
                }
                _ = check.tick() => self.check_positions(tracked).await,
            }
        }
    }

    /// Carries out queued commands in their order, each run of subscribes (or unsubscribes) as
    /// one Redis command. Err when the connection failed; every waiting caller has its answer.
    async fn apply(
        &self,
        batch: Vec<Command>,
        sink: &mut PubSubSink,
        subscribed: &mut HashSet<String>,
        tracked: &mut Tracked,
    ) -> Result<(), ()> {
        let mut batch = batch.into_iter().peekable();
        while let Some(command) = batch.next() {
            match command {
                Command::Subscribe(name, reply) => {
                    let mut replies = vec![reply];
                    let mut names = vec![name];
                    while let Some(Command::Subscribe(..)) = batch.peek() {
                        if let Some(Command::Subscribe(name, reply)) = batch.next() {
                            names.push(name);
                            replies.push(reply);
                        }
                    }
                    let fresh: Vec<&String> = names
                        .iter()
                        .filter(|n| !subscribed.contains(*n))
                        .collect::<HashSet<_>>()
                        .into_iter()
                        .collect();
                    let outcome = if fresh.is_empty() {
                        Ok(())
                    } else {
                        match tokio::time::timeout(PROBE_TIMEOUT, sink.subscribe(&fresh)).await {
                            Ok(Ok(())) => Ok(()),
                            Ok(Err(e)) => Err(e.to_string()),
                            Err(_) => Err("SUBSCRIBE timed out".to_owned()),
                        }
                    };
                    let failed = outcome.is_err();
                    if !failed {
                        subscribed.extend(fresh.into_iter().cloned());
                    }
                    for reply in replies {
                        let _ = reply.send(outcome.clone());
                    }
                    if failed {
                        self.abandon(batch, tracked);
                        return Err(());
                    }
                }
                Command::Unsubscribe(name) => {
                    let mut names = vec![name];
                    while let Some(Command::Unsubscribe(_)) = batch.peek() {
                        if let Some(Command::Unsubscribe(name)) = batch.next() {
                            names.push(name);
                        }
                    }
                    for name in &names {
                        self.forget(name, tracked);
                    }
                    let gone: Vec<String> =
                        names.into_iter().filter(|n| subscribed.remove(n)).collect();
                    if !gone.is_empty() {
                        let done = tokio::time::timeout(PROBE_TIMEOUT, sink.unsubscribe(&gone));
                        if !matches!(done.await, Ok(Ok(()))) {
                            self.abandon(batch, tracked);
                            return Err(());
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// What is left of a batch when the connection failed: subscribers learn of the outage,
    /// unsubscribes need no Redis command on the next connection, which subscribes afresh.
    fn abandon(&self, rest: impl Iterator<Item = Command>, tracked: &mut Tracked) {
        for command in rest {
            match command {
                Command::Subscribe(_, reply) => {
                    let _ = reply.send(Err("Redis pub/sub is reconnecting".into()));
                }
                Command::Unsubscribe(name) => self.forget(&name, tracked),
            }
        }
    }

    async fn dispatch(&self, message: &redis::Msg, tracked: &mut Tracked) {
        let Some(channel) = self.keys.channel_of(message.get_channel_name()) else {
            tracing::warn!(
                name = message.get_channel_name(),
                "message on an unknown pub/sub channel"
            );
            return;
        };
        let Ok(text) = std::str::from_utf8(message.get_payload_bytes()) else {
            tracing::warn!(%channel, "skipping a pub/sub message that is not UTF-8");
            return;
        };
        if let Some(account) = text.strip_prefix(EVICTION) {
            match account.parse::<i64>() {
                Ok(id) => {
                    if let Some(entries) = lock(&self.present).get_mut(&channel) {
                        entries.retain(|_, (account, _)| account.0 != id);
                    }
                    self.handler.evict(channel, AccountId(id));
                }
                Err(_) => tracing::warn!(%channel, "skipping a malformed eviction"),
            }
            return;
        }
        if let Some(frame) = text.strip_prefix(EPHEMERAL) {
            self.handler
                .deliver(channel, None, Audience::All, &Frame::from(frame));
            return;
        }
        let Some(envelope) = Envelope::parse(text) else {
            tracing::warn!(%channel, "skipping a malformed pub/sub message");
            return;
        };
        match next(tracked.get(&channel), envelope.epoch, envelope.offset) {
            Next::Repeat => return,
            // Awaited here rather than handed to another task: everything after this event on
            // the connection must wait for the hole to be filled anyway, or the channel's
            // order breaks. It costs one round trip, bounded by `FETCH_TIMEOUT`, and happens
            // only when pub/sub has already lost something.
            Next::Fill { from, to } => self.fill(channel, envelope.epoch, from, to, tracked).await,
            Next::Deliver => {}
        }
        self.hand_over(channel, &envelope, tracked);
    }

    fn hand_over(&self, channel: Channel, envelope: &Envelope<'_>, tracked: &mut Tracked) {
        let at = At {
            offset: envelope.offset,
            epoch: envelope.epoch,
            time: envelope.time,
        };
        self.handler.deliver(
            channel,
            Some(at),
            envelope.audience,
            &envelope.frame(channel),
        );
        match tracked.get_mut(&channel) {
            Some(seen) if seen.epoch == envelope.epoch => seen.last = envelope.offset,
            _ => {
                tracked.insert(
                    channel,
                    Seen {
                        epoch: envelope.epoch.to_owned(),
                        last: envelope.offset,
                    },
                );
            }
        }
    }

    /// Delivers, in order, the entries `from..=to` of `epoch` that the stream still holds.
    /// What it no longer holds (trimmed or expired), or what cannot be read now, stays missing:
    /// the event that revealed the hole is delivered after this all the same, the hub closes
    /// the subscribers that see the hole with 4005, and they resume from their position or
    /// reload, as after any loss.
    async fn fill(&self, channel: Channel, epoch: &str, from: u64, to: u64, tracked: &mut Tracked) {
        let mut conn = self.conn.clone();
        let mut range = redis::cmd("XRANGE");
        range
            .arg(self.keys.stream(channel))
            .arg(format!("{from}-0"))
            .arg(format!("{to}-0"));
        let read = range.query_async::<Vec<(String, HashMap<String, Vec<u8>>)>>(&mut conn);
        let entries = match tokio::time::timeout(FETCH_TIMEOUT, read).await {
            Ok(Ok(entries)) => entries,
            Ok(Err(e)) => {
                tracing::warn!(%channel, error = %e, "cannot read back missed events");
                return;
            }
            Err(_) => {
                tracing::warn!(%channel, "reading back missed events timed out");
                return;
            }
        };
        let mut filled = 0;
        for (_, fields) in &entries {
            let Some(envelope) = fields
                .get("d")
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(Envelope::parse)
            else {
                tracing::warn!(%channel, "skipping a malformed stream entry");
                continue;
            };
            // A stream restarted in another epoch reuses offsets; its entries are not the
            // ones missed.
            if envelope.epoch != epoch
                || next(tracked.get(&channel), epoch, envelope.offset) == Next::Repeat
            {
                continue;
            }
            self.hand_over(channel, &envelope, tracked);
            filled += 1;
        }
        let missing = to - from + 1;
        if filled < missing {
            tracing::warn!(%channel, missing, filled, "missed events are gone from the stream");
        } else {
            tracing::debug!(%channel, filled, "filled a hole in pub/sub deliveries");
        }
    }

    /// Catches a lost last event, which no later event reveals. All channels' tops come in
    /// one pipelined round trip; a failure only waits for the next check. Runs in the read
    /// loop for the same reason as `fill`: what it delivers must not cross what pub/sub
    /// delivers on the same channel.
    async fn check_positions(&self, tracked: &mut Tracked) {
        {
            // An event read just after its channel's unsubscribe starts tracking again for a
            // channel nobody here wants; this is where such leftovers go.
            let interest = lock(&self.interest);
            tracked.retain(|channel, _| interest.contains_key(channel));
        }
        if tracked.is_empty() {
            return;
        }
        let channels: Vec<Channel> = tracked.keys().copied().collect();
        let mut pipe = redis::pipe();
        for channel in &channels {
            pipe.cmd("HMGET")
                .arg(self.keys.meta(*channel))
                .arg("e")
                .arg("s");
        }
        let mut conn = self.conn.clone();
        let read = pipe.query_async::<Vec<(Option<String>, Option<u64>)>>(&mut conn);
        let tops = match tokio::time::timeout(FETCH_TIMEOUT, read).await {
            Ok(Ok(tops)) => tops,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "position check failed; trying again later");
                return;
            }
            Err(_) => {
                tracing::warn!("position check timed out; trying again later");
                return;
            }
        };
        for (channel, top) in channels.into_iter().zip(tops) {
            let (Some(epoch), Some(top)) = top else {
                continue;
            };
            let Some(seen) = tracked.get(&channel) else {
                continue;
            };
            if seen.epoch == epoch && top > seen.last {
                let from = seen.last + 1;
                self.fill(channel, &epoch, from, top, tracked).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
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
