//! The in-process bus: one node, history kept in memory. A restart starts every channel in a
//! new epoch, so resuming clients are told `recovered: false` and reload over HTTP.

use super::{
    At, Audience, Bus, BusError, ConnId, DeliveryHandler, HistoryReply, Publication, new_epoch,
};
use crate::clock::unix_ms;
use crate::live::frame::Frame;
pub use crate::live::frame::HistoryLimits;
use async_trait::async_trait;
use dashmap::DashMap;
use hehe_protocol::{AccountId, Channel, EventEncoder, Member, Position};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

struct Entry {
    offset: u64,
    audience: Audience,
    at: Instant,
    frame: Frame,
}

struct Stream {
    epoch: String,
    top: u64,
    entries: VecDeque<Entry>,
    /// Idempotency key → (offset, when it expires).
    results: HashMap<String, (u64, Instant)>,
    touched: Instant,
}

impl Stream {
    fn new(now: Instant) -> Self {
        Self {
            epoch: new_epoch(),
            top: 0,
            entries: VecDeque::new(),
            results: HashMap::new(),
            touched: now,
        }
    }

    fn prune(&mut self, limits: &HistoryLimits, now: Instant) {
        while self.entries.len() > limits.size {
            self.entries.pop_front();
        }
        while self
            .entries
            .front()
            .is_some_and(|e| now.duration_since(e.at) > limits.ttl)
        {
            self.entries.pop_front();
        }
        self.results.retain(|_, (_, expires)| *expires > now);
    }

    fn position(&self) -> Position {
        Position {
            epoch: self.epoch.clone(),
            offset: self.top,
        }
    }
}

#[derive(Default)]
struct PresenceSet {
    /// Account → (member, its connections here).
    members: HashMap<AccountId, (Member, HashSet<ConnId>)>,
}

pub struct MemoryBus {
    limits: HistoryLimits,
    handler: Arc<dyn DeliveryHandler>,
    // Each stream has its own lock, held while its event is delivered, so deliveries of one
    // channel leave in offset order while other channels go on in parallel.
    streams: DashMap<Channel, Arc<Mutex<Stream>>>,
    presence: DashMap<Channel, PresenceSet>,
}

impl MemoryBus {
    pub fn new(limits: HistoryLimits, handler: Arc<dyn DeliveryHandler>) -> Self {
        Self {
            limits,
            handler,
            streams: DashMap::new(),
            presence: DashMap::new(),
        }
    }

    fn stream(&self, channel: Channel) -> Arc<Mutex<Stream>> {
        self.streams
            .entry(channel)
            .or_insert_with(|| Arc::new(Mutex::new(Stream::new(Instant::now()))))
            .clone()
    }

    /// Number of channels with a stream, for tests and metrics.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }
}

/// A poisoned lock only means another thread panicked mid-update of plain data; the data is
/// still usable, and refusing service over it would be worse.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[async_trait]
impl Bus for MemoryBus {
    async fn publish(&self, p: Publication) -> Result<Position, BusError> {
        let stream = self.stream(p.channel);
        let mut s = lock(&stream);
        let now = Instant::now();
        s.touched = now;
        if let Some(key) = &p.idempotency_key
            && let Some((offset, expires)) = s.results.get(key)
            && *expires > now
        {
            return Ok(Position {
                epoch: s.epoch.clone(),
                offset: *offset,
            });
        }
        s.top += 1;
        let offset = s.top;
        // Real time: every node's hub measures delivery latency against it.
        let time = unix_ms();
        let text = EventEncoder::encode(p.channel, offset, &s.epoch, &p.kind, time, &p.data);
        let frame = Frame::from(text);
        let at = At {
            offset,
            epoch: &s.epoch,
            time,
        };
        self.handler
            .deliver(p.channel, Some(at), p.audience, &frame);
        s.entries.push_back(Entry {
            offset,
            audience: p.audience,
            at: now,
            frame,
        });
        if let Some(key) = p.idempotency_key {
            s.results
                .insert(key, (offset, now + self.limits.idempotency_ttl));
        }
        s.prune(&self.limits, now);
        Ok(s.position())
    }

    async fn broadcast(&self, channel: Channel, frame: Frame) -> Result<(), BusError> {
        self.handler.deliver(channel, None, Audience::All, &frame);
        Ok(())
    }

    async fn history(
        &self,
        channel: Channel,
        since: Option<&Position>,
    ) -> Result<HistoryReply, BusError> {
        let stream = self.stream(channel);
        let mut s = lock(&stream);
        let now = Instant::now();
        s.touched = now;
        s.prune(&self.limits, now);
        let top = s.position();
        let Some(since) = since else {
            return Ok(HistoryReply {
                top,
                events: Some(Vec::new()),
            });
        };
        // The first offset still held; with nothing held, the next one to come.
        let first = s.entries.front().map_or(s.top + 1, |e| e.offset);
        let recoverable =
            since.epoch == s.epoch && since.offset <= s.top && since.offset + 1 >= first;
        let events = recoverable.then(|| {
            s.entries
                .iter()
                .filter(|e| e.offset > since.offset)
                .map(|e| (e.audience, e.frame.clone()))
                .collect()
        });
        Ok(HistoryReply { top, events })
    }

    async fn subscribe(&self, _channel: Channel) -> Result<(), BusError> {
        // One process: every publish reaches the hub already.
        Ok(())
    }

    fn unsubscribe(&self, _channel: Channel) {}

    async fn presence_join(
        &self,
        channel: Channel,
        conn: ConnId,
        member: Member,
    ) -> Result<bool, BusError> {
        let mut set = self.presence.entry(channel).or_default();
        let (_, conns) = set
            .members
            .entry(member.account_id)
            .or_insert_with(|| (member, HashSet::new()));
        let first = conns.is_empty();
        conns.insert(conn);
        Ok(first)
    }

    async fn presence_leave(
        &self,
        channel: Channel,
        conn: ConnId,
        account: AccountId,
    ) -> Result<bool, BusError> {
        let Some(mut set) = self.presence.get_mut(&channel) else {
            return Ok(false);
        };
        let Some((_, conns)) = set.members.get_mut(&account) else {
            return Ok(false);
        };
        if !conns.remove(&conn) {
            return Ok(false);
        }
        let last = conns.is_empty();
        if last {
            set.members.remove(&account);
        }
        let empty = set.members.is_empty();
        drop(set);
        if empty {
            self.presence
                .remove_if(&channel, |_, s| s.members.is_empty());
        }
        Ok(last)
    }

    async fn presence(&self, channel: Channel) -> Result<Vec<Member>, BusError> {
        let mut members: Vec<Member> = self
            .presence
            .get(&channel)
            .map(|set| set.members.values().map(|(m, _)| m.clone()).collect())
            .unwrap_or_default();
        members.sort_by_key(|m| m.account_id);
        Ok(members)
    }

    async fn evict(&self, channel: Channel, account: AccountId) -> Result<bool, BusError> {
        self.handler.evict(channel, account);
        let present = match self.presence.get_mut(&channel) {
            Some(mut set) => set.members.remove(&account).is_some(),
            None => false,
        };
        self.presence
            .remove_if(&channel, |_, s| s.members.is_empty());
        Ok(present)
    }

    async fn ready(&self) -> bool {
        true
    }

    /// Drops expired events and forgets channels idle for longer than the meta TTL, so memory
    /// stays bounded by the channels in use.
    fn sweep(&self) {
        let now = Instant::now();
        self.streams.retain(|_, stream| {
            let mut s = lock(stream);
            s.prune(&self.limits, now);
            now.duration_since(s.touched) <= self.limits.meta_ttl
        });
    }
}
