//! Presence announcements, batched: joins and leaves of a channel are gathered for a short
//! window and sent as one `presence` frame, so a join storm in a room of thousands costs each
//! member a few frames instead of thousands. A join and a leave of the same person inside one
//! window cancel out.

use crate::live::bus::Bus;
use crate::live::frame::Frame;
use hehe_protocol::{AccountId, Channel, Member, ServerMsg};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct Pending {
    joins: Vec<Member>,
    leaves: Vec<Member>,
}

pub struct PresenceBatcher {
    pending: Mutex<HashMap<Channel, Pending>>,
    wake: Notify,
    window: Duration,
}

impl PresenceBatcher {
    pub fn new(window: Duration) -> Arc<Self> {
        Arc::new(Self {
            pending: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            window,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Channel, Pending>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Someone arrived (their first connection to the channel).
    pub fn joined(&self, channel: Channel, member: Member) {
        let mut pending = self.lock();
        let entry = pending.entry(channel).or_default();
        let before = entry.leaves.len();
        entry.leaves.retain(|m| m.account_id != member.account_id);
        // Left and came back within the window: nothing to tell.
        if entry.leaves.len() == before {
            entry.joins.push(member);
        }
        drop(pending);
        self.wake.notify_one();
    }

    /// Someone left (their last connection to the channel).
    pub fn left(&self, channel: Channel, member: Member) {
        let mut pending = self.lock();
        let entry = pending.entry(channel).or_default();
        let before = entry.joins.len();
        entry.joins.retain(|m| m.account_id != member.account_id);
        if entry.joins.len() == before {
            entry.leaves.push(member);
        }
        drop(pending);
        self.wake.notify_one();
    }

    fn take(&self) -> HashMap<Channel, Pending> {
        std::mem::take(&mut *self.lock())
    }

    /// Sends what gathered, window after window, until `stop`.
    pub async fn run(self: Arc<Self>, bus: Arc<dyn Bus>, stop: CancellationToken) {
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = self.wake.notified() => {}
            }
            // Let the window fill before sending.
            tokio::time::sleep(self.window).await;
            for (channel, batch) in self.take() {
                if batch.joins.is_empty() && batch.leaves.is_empty() {
                    continue;
                }
                let frame = ServerMsg::Presence {
                    channel,
                    joins: batch.joins,
                    leaves: batch.leaves,
                };
                if let Err(e) = bus.broadcast(channel, Frame::from(frame.to_json())).await {
                    tracing::warn!(error = %e, "presence not announced");
                }
            }
        }
    }
}

/// A member as presence leaves show them: only the id matters to clients.
pub fn gone(account_id: AccountId) -> Member {
    Member {
        account_id,
        name: String::new(),
        role: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: i64) -> Member {
        Member {
            account_id: AccountId(id),
            name: format!("m{id}"),
            role: None,
        }
    }

    #[test]
    fn a_window_gathers_and_cancels_out() {
        let b = PresenceBatcher::new(Duration::from_millis(10));
        let room = Channel::Room(hehe_protocol::MeetingId(1));
        for i in 0..100 {
            b.joined(room, m(i));
        }
        b.left(room, m(5));
        b.left(room, m(500));
        b.joined(room, m(500));
        let batch = b.take().remove(&room).unwrap();
        assert_eq!(batch.joins.len(), 99, "5 came and went");
        assert!(batch.leaves.is_empty(), "500 left and came back");
        assert!(b.take().is_empty());
    }
}
