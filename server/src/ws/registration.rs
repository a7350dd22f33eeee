//! A subscription held by a session. Dropping it undoes everything subscribing did (hub entry,
//! bus interest, presence), however the session ends.

use crate::live::bus::Bus;
use crate::live::hub::{Hub, Subscription};
use crate::live::presence::PresenceBatcher;
use hehe_protocol::{Channel, Member};
use std::sync::Arc;
use tokio_util::task::TaskTracker;

pub struct Registration {
    pub channel: Channel,
    pub conn: u64,
    /// Set once the hub holds the subscription.
    pub sub: Option<Arc<Subscription>>,
    pub hub: Hub,
    pub bus: Arc<dyn Bus>,
    pub batcher: Arc<PresenceBatcher>,
    /// Set once the connection was marked present.
    pub presence: Option<Member>,
    /// The sessions' tracker: the leave below may outlive the session that dropped this, and
    /// shutdown waits for it like for the session.
    pub tasks: TaskTracker,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(sub) = self.sub.take() {
            self.hub.unregister(self.channel, &sub);
        }
        self.bus.unsubscribe(self.channel);
        if let Some(member) = self.presence.take() {
            let (bus, batcher) = (self.bus.clone(), self.batcher.clone());
            let (channel, conn) = (self.channel, self.conn);
            // Drop cannot wait; the leave is settled from a task of its own.
            if tokio::runtime::Handle::try_current().is_ok() {
                self.tasks.spawn(async move {
                    if let Ok(true) = bus.presence_leave(channel, conn, member.account_id).await {
                        batcher.left(channel, member);
                    }
                });
            }
        }
    }
}
