//! Channel names. A channel is written `<kind>:<id>` on the wire, e.g. `home:12`.

use crate::ids::{AccountId, IssueId, MeetingId, PlaceId};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A live channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Channel {
    /// `street:<street id>`: the street chief channel (和合街长).
    Street(PlaceId),
    /// `home:<community id>`: a community's home channel (和合家园).
    Home(PlaceId),
    /// `room:<meeting id>`: a meeting's living room (和合客厅).
    Room(MeetingId),
    /// `issue:<issue id>`: one issue's timeline.
    Issue(IssueId),
    /// `user:<account id>`: a person's own inbox.
    User(AccountId),
    /// `ops:1`: the deployment's live figures for the ops dashboard: every node's counters and
    /// the running load test's. The id names the deployment; there is one, `1`.
    Ops(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Street,
    Home,
    Room,
    Issue,
    User,
    Ops,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 6] = [
        ChannelKind::Street,
        ChannelKind::Home,
        ChannelKind::Room,
        ChannelKind::Issue,
        ChannelKind::User,
        ChannelKind::Ops,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            ChannelKind::Street => "street",
            ChannelKind::Home => "home",
            ChannelKind::Room => "room",
            ChannelKind::Issue => "issue",
            ChannelKind::User => "user",
            ChannelKind::Ops => "ops",
        }
    }
}

impl Channel {
    /// The ops dashboard's channel.
    pub const OPS: Channel = Channel::Ops(1);

    /// Longest valid channel name in bytes (kind, colon and a 19-digit id).
    pub const MAX_LEN: usize = 26;

    pub fn kind(self) -> ChannelKind {
        match self {
            Channel::Street(_) => ChannelKind::Street,
            Channel::Home(_) => ChannelKind::Home,
            Channel::Room(_) => ChannelKind::Room,
            Channel::Issue(_) => ChannelKind::Issue,
            Channel::User(_) => ChannelKind::User,
            Channel::Ops(_) => ChannelKind::Ops,
        }
    }

    /// The numeric id after the colon.
    pub fn raw_id(self) -> i64 {
        match self {
            Channel::Street(id) | Channel::Home(id) => id.0,
            Channel::Room(id) => id.0,
            Channel::Issue(id) => id.0,
            Channel::User(id) => id.0,
            Channel::Ops(id) => id,
        }
    }

    /// Whether subscribers see who else is present. Only meetings keep presence: a home or
    /// street channel has thousands of members and nobody needs to watch them come and go.
    pub fn has_presence(self) -> bool {
        matches!(self, Channel::Room(_))
    }
}

// serde writes a channel as its name through `try_from`/`into`, which the derive cannot see:
// derived, the schema would describe the Rust enum instead of the string on the wire.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Channel {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .pattern(Some("^(street|home|room|issue|user|ops):[1-9][0-9]*$"))
            .max_length(Some(Self::MAX_LEN))
            .description(Some(
                "A live channel, written `<kind>:<id>`: `street`, `home`, `room`, `issue`, \
                 `user` or `ops`, a colon and a positive decimal id without leading zeros.",
            ))
            .examples(["home:12"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Channel {}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind().prefix(), self.raw_id())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseChannelError {
    #[error("a channel is written <kind>:<id>")]
    Shape,
    #[error("unknown channel kind; expected street, home, room, issue, user or ops")]
    UnknownKind,
    #[error("a channel id is a positive integer")]
    BadId,
}

impl FromStr for Channel {
    type Err = ParseChannelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > Self::MAX_LEN {
            return Err(ParseChannelError::Shape);
        }
        let (kind, id) = s.split_once(':').ok_or(ParseChannelError::Shape)?;
        // Only canonical decimal ids: "007" or "+7" would name the same channel twice.
        if id.is_empty() || id.starts_with('0') || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseChannelError::BadId);
        }
        let id: i64 = id.parse().map_err(|_| ParseChannelError::BadId)?;
        Ok(match kind {
            "street" => Channel::Street(PlaceId(id)),
            "home" => Channel::Home(PlaceId(id)),
            "room" => Channel::Room(MeetingId(id)),
            "issue" => Channel::Issue(IssueId(id)),
            "user" => Channel::User(AccountId(id)),
            "ops" => Channel::Ops(id),
            _ => return Err(ParseChannelError::UnknownKind),
        })
    }
}

impl TryFrom<String> for Channel {
    type Error = ParseChannelError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Channel> for String {
    fn from(c: Channel) -> Self {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        for kind in ChannelKind::ALL {
            let name = format!("{}:42", kind.prefix());
            let channel: Channel = name.parse().unwrap();
            assert_eq!(channel.kind(), kind);
            assert_eq!(channel.raw_id(), 42);
            assert_eq!(channel.to_string(), name);
        }
    }

    #[test]
    fn refuses_non_canonical_names() {
        for bad in [
            "",
            "home",
            "home:",
            ":1",
            "home:0",
            "home:01",
            "home:+1",
            "home:-1",
            "home:1a",
            "Home:1",
            "attic:1",
            "home:99999999999999999999",
            "home:1:2",
        ] {
            assert!(bad.parse::<Channel>().is_err(), "{bad:?} should not parse");
        }
    }
}
