//! The bus: every event is published through it and delivered from it, on every node that has
//! subscribers. It also keeps each channel's numbered history (for resuming) and presence.
//!
//! The embedded implementation lives in this process; a Redis one carries events between nodes.
//! The hub never knows which one runs: one delivery path.

pub mod memory;
pub mod redis;
pub mod sharded;

pub use crate::live::frame::{At, Audience, ConnId, Frame};
use async_trait::async_trait;
use hehe_protocol::{AccountId, Channel, Member, Position};
use serde_json::value::RawValue;

/// A random 8-character stream identity: a new one tells resuming clients that the positions
/// they hold belong to a history that is gone. (The Redis bus names its nodes with it too.)
pub(crate) fn new_epoch() -> String {
    use rand::Rng;
    rand::rng()
        .sample_iter(&rand::distr::Alphanumeric)
        .take(8)
        .map(char::from)
        .collect()
}

/// An event to publish on a channel.
#[derive(Debug, Clone)]
pub struct Publication {
    pub channel: Channel,
    pub audience: Audience,
    /// The event's kind, e.g. `message`.
    pub kind: String,
    /// The event's body, already JSON.
    pub data: Box<RawValue>,
    /// A publish repeated with the same key within the idempotency window returns the first
    /// publish's position and delivers nothing.
    pub idempotency_key: Option<String>,
}

/// Where a channel's stream stands, and what a resuming client missed.
#[derive(Debug, Clone)]
pub struct HistoryReply {
    /// The stream's current position.
    pub top: Position,
    /// With a `since`: every event after it, as encoded `event` frames, oldest first; `None`
    /// when the position cannot be recovered (too old, another epoch, ahead of the stream).
    /// Without a `since`: `Some` and empty.
    pub events: Option<Vec<(Audience, Frame)>>,
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The backing service cannot be reached; the caller may retry.
    #[error("bus unavailable: {0}")]
    Unavailable(String),
}

/// Receives what the bus delivers to this node. Implemented by the hub.
pub trait DeliveryHandler: Send + Sync + 'static {
    /// An event (`at` set) or an ephemeral frame (presence) for a channel. Called in offset
    /// order for each channel. Must not block.
    fn deliver(&self, channel: Channel, at: Option<At<'_>>, audience: Audience, frame: &Frame);

    /// Ends every subscription of `account` to `channel` on this node.
    fn evict(&self, channel: Channel, account: AccountId);
}

#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Takes the channel's next offset, appends the event to its history and delivers it to
    /// every subscribed node. Returns the event's position.
    async fn publish(&self, publication: Publication) -> Result<Position, BusError>;

    /// Delivers a frame to every subscribed node without numbering or keeping it.
    async fn broadcast(&self, channel: Channel, frame: Frame) -> Result<(), BusError>;

    /// The channel's current position and, with `since`, the events after it.
    async fn history(
        &self,
        channel: Channel,
        since: Option<&Position>,
    ) -> Result<HistoryReply, BusError>;

    /// This node wants the channel's deliveries. Each call is matched by one `unsubscribe`.
    async fn subscribe(&self, channel: Channel) -> Result<(), BusError>;

    /// Ends one `subscribe`; the node stops receiving the channel after the last one.
    fn unsubscribe(&self, channel: Channel);

    /// Marks a connection present. True when it is the account's first connection there.
    async fn presence_join(
        &self,
        channel: Channel,
        conn: ConnId,
        member: Member,
    ) -> Result<bool, BusError>;

    /// Marks a connection gone. True when the account has no connection left there.
    async fn presence_leave(
        &self,
        channel: Channel,
        conn: ConnId,
        account: AccountId,
    ) -> Result<bool, BusError>;

    /// Who is present, one entry per account.
    async fn presence(&self, channel: Channel) -> Result<Vec<Member>, BusError>;

    /// Puts `account` out of `channel` on every node (a person removed from a meeting): their
    /// subscriptions end and they leave its presence. True when they were present.
    async fn evict(&self, channel: Channel, account: AccountId) -> Result<bool, BusError>;

    /// Whether the bus can publish and deliver now.
    async fn ready(&self) -> bool;

    /// Drops what has aged out; called periodically. A bus whose store expires data by itself
    /// has nothing to do.
    fn sweep(&self) {}
}
