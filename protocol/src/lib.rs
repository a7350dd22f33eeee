//! The Hehe wire contract: every frame that crosses a WebSocket, and the JSON bodies of the HTTP
//! API, as typed Rust values. `PROTOCOL.md` beside this crate is the prose version of this code.
//!
//! The crate has no I/O and no runtime dependencies beyond serde, so the server, the Rust client,
//! the load test and the fuzz targets all decode exactly the same way.

pub mod appraisal;
mod channel;
mod client_msg;
mod codes;
pub mod credentials;
mod event_kind;
pub mod http;
mod ids;
pub mod issue;
pub mod meeting;
pub mod notify;
pub mod ops;
pub mod people;
pub mod places;
mod role;
mod server_msg;
pub mod stats;

pub use channel::{Channel, ChannelKind, ParseChannelError};
pub use client_msg::{ClientMsg, DecodeError, Probe, decode_client_msg};
pub use codes::{CloseCode, ErrorCode};
pub use event_kind::EventKind;
pub use ids::{AccountId, IssueId, MeetingId, PlaceId, RequestId, RequestIdError};
pub use role::Role;
pub use server_msg::{
    AccountSummary, Event, EventEncoder, Member, Position, ReplyResult, ServerMsg,
};

/// Version of the frame format. A client states the version it speaks in its `auth` frame;
/// the server refuses a version it does not know with close code 4504.
pub const PROTOCOL_VERSION: u32 = 1;

/// The path of the WebSocket endpoint.
pub const WS_PATH: &str = "/ws";
