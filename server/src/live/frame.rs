//! What the bus and the hub hand each other: an encoded frame, who may receive it, where it
//! sits in its channel's stream. Both depend on this module and neither on the other's inside.

use std::time::Duration;

/// An encoded text frame, shared by every recipient: cloning it copies a pointer.
///
/// It is the socket's own text type, though that ties the bus to axum: a frame of our own
/// would have to be checked for UTF-8 again (or copied) on its way into every socket, once per
/// delivery, and delivery is the hot path.
pub type Frame = axum::extract::ws::Utf8Bytes;

/// Who among a channel's subscribers receives an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Audience {
    /// Everyone subscribed.
    #[default]
    All,
    /// Only subscribers marked as staff (internal notes on an issue). The others' positions
    /// move past the event without it, so they see a jump in offsets, not a loss.
    Staff,
}

/// Where a delivered event sits: its offset in the stream its epoch names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At<'a> {
    pub offset: u64,
    pub epoch: &'a str,
    /// When it was published, in milliseconds since the Unix epoch.
    pub time: i64,
}

/// One connection's identity in presence: an account can be present with several connections.
pub type ConnId = u64;

/// Limits of the in-memory history.
#[derive(Debug, Clone, Copy)]
pub struct HistoryLimits {
    /// Events kept per channel.
    pub size: usize,
    /// Age after which an event is dropped.
    pub ttl: Duration,
    /// Idle time after which a channel forgets its epoch and offset.
    pub meta_ttl: Duration,
    /// How long an idempotency key is remembered.
    pub idempotency_ttl: Duration,
}
