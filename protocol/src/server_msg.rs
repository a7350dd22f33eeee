//! Frames the server sends.

use crate::channel::Channel;
use crate::codes::ErrorCode;
use crate::ids::{AccountId, RequestId};
use crate::role::Role;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A place in a channel's stream: the stream's identity (`epoch`) and the number of the last
/// event seen (`offset`). Offsets start at 1 and grow by one per event; a new epoch means the
/// stream was reset and offsets from the old one mean nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Position {
    pub epoch: String,
    pub offset: u64,
}

/// An event on a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub channel: Channel,
    pub offset: u64,
    pub epoch: String,
    /// What happened, e.g. `message`. Clients ignore kinds they do not know.
    pub kind: String,
    /// Server time the event was published, Unix milliseconds.
    pub time: i64,
    /// The event's body; its shape depends on `kind`.
    pub data: serde_json::Value,
}

/// Someone present in a channel with presence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    pub account_id: AccountId,
    pub name: String,
    /// The member's most senior role, for a badge next to the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub id: AccountId,
    pub username: String,
    pub display_name: String,
}

/// The successful result of a command, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplyResult {
    Authenticated {
        account: AccountSummary,
        /// When the access token expires (Unix ms); send `refresh` before then.
        expires_at: i64,
        /// The server sends `ping` this often; answer with `pong`.
        heartbeat_secs: u64,
        protocol: u32,
    },
    Refreshed {
        expires_at: i64,
    },
    Subscribed {
        channel: Channel,
        /// The stream's position now. Live events continue from here.
        epoch: String,
        offset: u64,
        /// With `since`: true when `events` holds every event after it; false when the position
        /// was too old or of another epoch, and the client must reload the channel over HTTP.
        recovered: bool,
        /// Events missed since `since`, oldest first. Empty without `since`.
        #[serde(default)]
        events: Vec<Event>,
        /// Who is present, for channels with presence.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        presence: Option<Vec<Member>>,
    },
    Unsubscribed {
        channel: Channel,
    },
    Presence {
        channel: Channel,
        members: Vec<Member>,
    },
    Posted {
        channel: Channel,
        message_id: i64,
        epoch: String,
        offset: u64,
    },
    /// A `room_action` was applied; the meeting's log now ends at `seq`.
    RoomDone {
        meeting: crate::ids::MeetingId,
        seq: u32,
    },
    /// The issue after `submit_issue` or `issue_action`.
    Issue {
        // Boxed: a summary is several times the size of every other reply.
        issue: Box<crate::issue::IssueSummary>,
    },
}

/// A frame from server to client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// The command with this id succeeded.
    Reply {
        id: RequestId,
        result: ReplyResult,
    },
    /// A command failed, or a frame could not be read (then `id` may be absent).
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<RequestId>,
        code: ErrorCode,
        message: String,
    },
    Event(Event),
    /// People came into or left a channel with presence. Joins and leaves may be batched.
    Presence {
        channel: Channel,
        #[serde(default)]
        joins: Vec<Member>,
        #[serde(default)]
        leaves: Vec<Member>,
    },
    /// The server ended a subscription (its holder was removed from a meeting, say). Nothing
    /// more of the channel arrives; subscribing again is refused with `code` while it holds.
    Unsubscribed {
        channel: Channel,
        code: ErrorCode,
        message: String,
    },
    /// Heartbeat: answer with `pong`.
    Ping,
    /// Answer to the client's `ping`.
    Pong,
}

impl ServerMsg {
    pub fn to_json(&self) -> String {
        // Serializing these types cannot fail: every map key is a string.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Writes an `event` frame from parts whose `data` is already JSON text, so a broadcast is
/// serialized exactly once, without building a `serde_json::Value` first. The output decodes
/// as `ServerMsg::Event`.
pub struct EventEncoder;

#[derive(Serialize)]
struct EventOut<'a> {
    #[serde(rename = "type")]
    frame: &'static str,
    channel: Channel,
    offset: u64,
    epoch: &'a str,
    kind: &'a str,
    time: i64,
    data: &'a RawValue,
}

impl EventEncoder {
    pub fn encode(
        channel: Channel,
        offset: u64,
        epoch: &str,
        kind: &str,
        time: i64,
        data: &RawValue,
    ) -> String {
        let out = EventOut {
            frame: "event",
            channel,
            offset,
            epoch,
            kind,
            time,
            data,
        };
        serde_json::to_string(&out).unwrap_or_default()
    }
}
