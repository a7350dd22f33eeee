//! The local hub: which connections of this node are subscribed to which channel, and the
//! fan-out of each delivery to their outboxes. It holds no policy; sessions ask the domain.

mod outbox;

pub use outbox::{Next, Outbox, PushError};

use crate::infra::metrics::Metrics;
use crate::live::bus::DeliveryHandler;
pub use crate::live::frame::Frame;
use crate::live::frame::{At, Audience};
use dashmap::DashMap;
use hehe_protocol::{AccountId, ServerMsg};
use hehe_protocol::{Channel, CloseCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One connection's subscription to one channel.
pub struct Subscription {
    conn: u64,
    account: AccountId,
    /// Set when the server ended the subscription (the person was removed from a meeting).
    evicted: AtomicBool,
    /// Receives staff-only events.
    staff: bool,
    outbox: Arc<Outbox>,
    state: Mutex<SubState>,
}

/// A position kept per subscription: the offset, and the epoch as a hash (eight bytes rather
/// than a string for each of thousands of subscriptions).
type Pos = (u64, u64);

fn epoch_id(epoch: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    epoch.hash(&mut h);
    h.finish()
}

enum SubState {
    /// Subscribing: live deliveries wait here until the reply with the history has been queued.
    Buffering(Vec<(Option<Pos>, Audience, Frame)>),
    /// Live: the position of the last event queued for the client.
    Live { last: u64, epoch: u64 },
}

impl Subscription {
    /// Whether the server ended this subscription.
    pub fn evicted(&self) -> bool {
        self.evicted.load(Ordering::Acquire)
    }

    fn sees(&self, audience: Audience) -> bool {
        self.staff || audience == Audience::All
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SubState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a delivery, skipping events the client already has and closing the connection
    /// when one is missing.
    fn offer(&self, at: Option<At<'_>>, audience: Audience, frame: &Frame, metrics: &Metrics) {
        let mut state = self.lock();
        let pos = at.map(|a| (a.offset, epoch_id(a.epoch)));
        match &mut *state {
            SubState::Buffering(buffer) => buffer.push((pos, audience, frame.clone())),
            SubState::Live { last, epoch } => {
                if let Some((offset, stream)) = pos {
                    if stream != *epoch {
                        // The stream was reset (its history lost): the client must resubscribe,
                        // learn `recovered: false`, and reload; its old offsets mean nothing.
                        self.outbox.close(CloseCode::INSUFFICIENT_STATE);
                        return;
                    }
                    if offset <= *last {
                        return;
                    }
                    if offset != *last + 1 {
                        // A hole the client cannot see: let it reconnect and resume.
                        self.outbox.close(CloseCode::INSUFFICIENT_STATE);
                        return;
                    }
                    *last = offset;
                }
                if !self.sees(audience) {
                    return;
                }
                match self.outbox.push(frame.clone()) {
                    Ok(()) => metrics.events_delivered.inc(),
                    Err(_) => metrics.outbox_drops.inc(),
                };
            }
        }
    }
}

#[derive(Clone)]
pub struct Hub {
    channels: Arc<DashMap<Channel, Vec<Arc<Subscription>>>>,
    metrics: Arc<Metrics>,
}

impl Hub {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            channels: Arc::new(DashMap::new()),
            metrics,
        }
    }

    /// Adds a subscription that buffers deliveries until `go_live`. Registering before reading
    /// the history is what lets nothing fall between the two.
    pub fn register(
        &self,
        channel: Channel,
        conn: u64,
        account: AccountId,
        outbox: Arc<Outbox>,
        staff: bool,
    ) -> Arc<Subscription> {
        let sub = Arc::new(Subscription {
            conn,
            account,
            evicted: AtomicBool::new(false),
            staff,
            outbox,
            state: Mutex::new(SubState::Buffering(Vec::new())),
        });
        self.channels.entry(channel).or_default().push(sub.clone());
        self.metrics.subscriptions.inc();
        sub
    }

    /// Queues `reply` (the subscribe answer, with the history up to `top`), then what arrived
    /// while subscribing, and turns the subscription live. Returns false when the buffered
    /// events do not continue `top` without a hole; the connection is then closing.
    pub fn go_live(&self, sub: &Subscription, top: u64, epoch: &str, reply: Frame) -> bool {
        let mut state = sub.lock();
        let SubState::Buffering(buffer) = &mut *state else {
            return true;
        };
        let buffer = std::mem::take(buffer);
        // A failed push means the connection is closing; nothing more to do for it.
        let _ = sub.outbox.push(reply);
        let mut last = top;
        let epoch = epoch_id(epoch);
        for (pos, audience, frame) in buffer {
            if let Some((offset, stream)) = pos {
                if stream == epoch && offset <= last {
                    continue;
                }
                if stream != epoch || offset != last + 1 {
                    sub.outbox.close(CloseCode::INSUFFICIENT_STATE);
                    *state = SubState::Live { last, epoch };
                    return false;
                }
                last = offset;
            }
            if sub.sees(audience) {
                let _ = sub.outbox.push(frame);
            }
        }
        *state = SubState::Live { last, epoch };
        true
    }

    pub fn unregister(&self, channel: Channel, sub: &Arc<Subscription>) {
        // An evicted subscription was taken out (and counted) already.
        if sub.evicted() {
            return;
        }
        self.channels.remove_if_mut(&channel, |_, subs| {
            subs.retain(|s| !Arc::ptr_eq(s, sub));
            subs.is_empty()
        });
        self.metrics.subscriptions.dec();
    }

    /// Ends every subscription of `account` to `channel` on this node and tells each connection
    /// so: nothing more of the channel reaches them.
    /// Returns the connections it put out.
    pub fn evict(&self, channel: Channel, account: AccountId) -> Vec<u64> {
        let mut gone = Vec::new();
        self.channels.remove_if_mut(&channel, |_, subs| {
            subs.retain(|s| {
                let keep = s.account != account;
                if !keep {
                    gone.push(s.clone());
                }
                keep
            });
            subs.is_empty()
        });
        let conns = gone.iter().map(|s| s.conn).collect();
        for sub in gone {
            sub.evicted.store(true, Ordering::Release);
            self.metrics.subscriptions.dec();
            let notice = ServerMsg::Unsubscribed {
                channel,
                code: hehe_protocol::ErrorCode::Forbidden,
                message: "you were removed".into(),
            };
            let _ = sub.outbox.push(Frame::from(notice.to_json()));
        }
        conns
    }

    /// Number of local subscribers of a channel.
    pub fn subscriber_count(&self, channel: Channel) -> usize {
        self.channels.get(&channel).map_or(0, |s| s.len())
    }

    /// Connection ids subscribed to a channel, for tests and diagnostics.
    pub fn subscribers(&self, channel: Channel) -> Vec<u64> {
        self.channels
            .get(&channel)
            .map(|s| s.iter().map(|s| s.conn).collect())
            .unwrap_or_default()
    }
}

impl DeliveryHandler for Hub {
    fn deliver(&self, channel: Channel, at: Option<At<'_>>, audience: Audience, frame: &Frame) {
        if let Some(at) = at {
            // Real time, like the bus's stamp: this is latency, not a domain time.
            self.metrics
                .arrived(crate::clock::unix_ms().saturating_sub(at.time));
        }
        let started = std::time::Instant::now();
        // Only synchronous pushes happen under the map's read lock: no await, no socket I/O.
        if let Some(subs) = self.channels.get(&channel) {
            for sub in subs.iter() {
                sub.offer(at, audience, frame, &self.metrics);
            }
        }
        self.metrics.fanned_out(started.elapsed());
    }

    fn evict(&self, channel: Channel, account: AccountId) {
        Hub::evict(self, channel, account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: u64) -> At<'static> {
        At {
            offset,
            epoch: "e",
            time: 0,
        }
    }

    fn hub() -> Hub {
        Hub::new(Arc::new(Metrics::new()))
    }

    async fn drain(outbox: &Outbox) -> Vec<String> {
        match outbox.next().await {
            Next::Frames(f) => f.iter().map(|f| f.as_str().to_owned()).collect(),
            Next::Close(code) => vec![format!("close {code}")],
        }
    }

    #[tokio::test]
    async fn buffered_deliveries_follow_the_reply_without_duplicates() {
        let hub = hub();
        let channel = Channel::Home(hehe_protocol::PlaceId(1));
        let outbox = Arc::new(Outbox::new(1 << 20));
        let sub = hub.register(channel, 1, AccountId(1), outbox.clone(), false);
        // Offsets 2 and 3 arrive while the history (up to 2) is being read.
        hub.deliver(channel, Some(at(2)), Audience::All, &Frame::from("e2"));
        hub.deliver(channel, None, Audience::All, &Frame::from("p"));
        hub.deliver(channel, Some(at(3)), Audience::All, &Frame::from("e3"));
        assert!(hub.go_live(&sub, 2, "e", Frame::from("reply")));
        hub.deliver(
            channel,
            Some(at(3)),
            Audience::All,
            &Frame::from("e3 again"),
        );
        hub.deliver(channel, Some(at(4)), Audience::All, &Frame::from("e4"));
        assert_eq!(drain(&outbox).await, ["reply", "p", "e3", "e4"]);
    }

    #[tokio::test]
    async fn a_new_epoch_closes_with_insufficient_state() {
        let hub = hub();
        let channel = Channel::Home(hehe_protocol::PlaceId(1));
        let outbox = Arc::new(Outbox::new(1 << 20));
        let sub = hub.register(channel, 1, AccountId(1), outbox.clone(), false);
        assert!(hub.go_live(&sub, 5, "e", Frame::from("reply")));
        // The stream restarted (its store lost it): offset 1 of a new epoch is no duplicate.
        let reset = At {
            offset: 1,
            epoch: "other",
            time: 0,
        };
        hub.deliver(channel, Some(reset), Audience::All, &Frame::from("new e1"));
        assert_eq!(drain(&outbox).await, ["reply"]);
        assert_eq!(drain(&outbox).await, ["close 4005"]);
    }

    #[tokio::test]
    async fn a_hole_closes_with_insufficient_state() {
        let hub = hub();
        let channel = Channel::Home(hehe_protocol::PlaceId(1));
        let outbox = Arc::new(Outbox::new(1 << 20));
        let sub = hub.register(channel, 1, AccountId(1), outbox.clone(), false);
        assert!(hub.go_live(&sub, 5, "e", Frame::from("reply")));
        hub.deliver(channel, Some(at(7)), Audience::All, &Frame::from("e7"));
        assert_eq!(drain(&outbox).await, ["reply"]);
        assert_eq!(drain(&outbox).await, ["close 4005"]);
    }

    #[tokio::test]
    async fn staff_events_reach_staff_and_only_move_the_others_on() {
        let hub = hub();
        let channel = Channel::Issue(hehe_protocol::IssueId(3));
        let resident = Arc::new(Outbox::new(1 << 20));
        let worker = Arc::new(Outbox::new(1 << 20));
        let r = hub.register(channel, 1, AccountId(1), resident.clone(), false);
        let w = hub.register(channel, 2, AccountId(2), worker.clone(), true);
        hub.deliver(
            channel,
            Some(at(1)),
            Audience::Staff,
            &Frame::from("note while subscribing"),
        );
        assert!(hub.go_live(&r, 0, "e", Frame::from("reply")));
        assert!(hub.go_live(&w, 0, "e", Frame::from("reply")));
        hub.deliver(channel, Some(at(2)), Audience::All, &Frame::from("update"));
        hub.deliver(channel, Some(at(3)), Audience::Staff, &Frame::from("note"));
        hub.deliver(channel, Some(at(4)), Audience::All, &Frame::from("done"));
        assert_eq!(drain(&resident).await, ["reply", "update", "done"]);
        assert_eq!(
            drain(&worker).await,
            ["reply", "note while subscribing", "update", "note", "done"]
        );
    }

    #[tokio::test]
    async fn unregister_removes_only_that_subscription() {
        let hub = hub();
        let channel = Channel::Room(hehe_protocol::MeetingId(9));
        let a = hub.register(channel, 1, AccountId(1), Arc::new(Outbox::new(100)), false);
        let _b = hub.register(channel, 2, AccountId(2), Arc::new(Outbox::new(100)), false);
        hub.unregister(channel, &a);
        assert_eq!(hub.subscribers(channel), [2]);
        hub.unregister(channel, &_b);
        assert_eq!(hub.subscriber_count(channel), 0);
        assert!(hub.channels.is_empty());
    }
}
