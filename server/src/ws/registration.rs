//! A subscription held by a session. Dropping it undoes everything subscribing did (hub entry,
//! bus interest, presence), however the session ends.

use crate::bus::Bus;
use crate::hub::{Hub, Subscription};
use hehe_protocol::{Channel, Member, ServerMsg};
use std::sync::Arc;

pub struct Registration {
    pub channel: Channel,
    pub conn: u64,
    /// Set once the hub holds the subscription.
    pub sub: Option<Arc<Subscription>>,
    pub hub: Hub,
    pub bus: Arc<dyn Bus>,
    /// Set once the connection was marked present.
    pub presence: Option<Member>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(sub) = self.sub.take() {
            self.hub.unregister(self.channel, &sub);
        }
        self.bus.unsubscribe(self.channel);
        if let Some(member) = self.presence.take() {
            let (bus, channel, conn) = (self.bus.clone(), self.channel, self.conn);
            // Drop cannot wait; the leave is announced from a task of its own.
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    if let Ok(true) = bus.presence_leave(channel, conn, member.account_id).await {
                        let frame = ServerMsg::Presence {
                            channel,
                            joins: vec![],
                            leaves: vec![member],
                        };
                        let _ = bus.broadcast(channel, frame.to_json().into()).await;
                    }
                });
            }
        }
    }
}
