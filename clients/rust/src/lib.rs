//! A Rust client for Hehe: [`HttpClient`] logs in and reads the HTTP API, [`Connection`] speaks
//! the WebSocket protocol of `protocol/PROTOCOL.md`. The server's integration tests, the load
//! test and command-line tools all use it, so it exposes raw sends for bad input as well as
//! typed commands.
//!
//! ```no_run
//! use hehe_client::{Connection, HttpClient};
//! use hehe_protocol::{Channel, PlaceId};
//!
//! # async fn demo() -> hehe_client::Result<()> {
//! let http = HttpClient::new("http://127.0.0.1:8080");
//! let tokens = http.login("wang.fang", "secret").await?;
//! let mut conn = Connection::connect(&http.ws_url(), &tokens.access_token).await?;
//! let home = Channel::Home(PlaceId(12));
//! conn.subscribe(home, None).await?;
//! conn.post(home, "The stairwell light is out again.").await?;
//! let event = conn.next_event().await?;
//! assert_eq!(event.kind, "message");
//!
//! // Later, on a new connection, pick up where this one stopped.
//! let positions = conn.positions();
//! let mut again = Connection::connect(&http.ws_url(), &tokens.access_token).await?;
//! for sub in again.resume(&positions).await? {
//!     if !sub.recovered {
//!         http.messages(&tokens.access_token, sub.channel, None, Some(50)).await?;
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod connection;
mod error;
mod http;

pub use connection::{
    ConnectOptions, Connection, Incoming, MAX_MESSAGE_SIZE, Posted, PresenceChange,
    REQUEST_TIMEOUT, Subscribed,
};
pub use error::{ClientError, Result};
pub use http::{HttpClient, PeopleFilter};

/// The protocol crate this client speaks, re-exported so users need not depend on it directly.
pub use hehe_protocol;
