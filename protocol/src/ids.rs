//! Identifier newtypes. Numeric ids are 64-bit database keys; request ids are chosen by clients.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

numeric_id!(
    /// A person's account.
    AccountId
);
numeric_id!(
    /// A street, community, grid or building.
    PlaceId
);
numeric_id!(
    /// A meeting held in a living room.
    MeetingId
);
numeric_id!(
    /// A resident's issue (a case).
    IssueId
);

/// A client-chosen id that pairs a command with its reply. A command retried with the same id
/// (also on a new connection) is applied once and answered with the same reply.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
// The pattern is `parse`'s rule: 1 to 64 visible ASCII characters.
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(pattern = "^[!-~]{1,64}$", example = "submit-7f3a")
)]
#[serde(try_from = "String", into = "String")]
pub struct RequestId(String);

impl RequestId {
    /// Longest accepted request id, in bytes.
    pub const MAX_LEN: usize = 64;

    pub fn parse(s: impl Into<String>) -> Result<Self, RequestIdError> {
        let s = s.into();
        if s.is_empty() {
            return Err(RequestIdError::Empty);
        }
        if s.len() > Self::MAX_LEN {
            return Err(RequestIdError::TooLong);
        }
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(RequestIdError::BadCharacter);
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RequestId {
    type Error = RequestIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl From<RequestId> for String {
    fn from(id: RequestId) -> Self {
        id.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestIdError {
    #[error("request id is empty")]
    Empty,
    #[error("request id is longer than 64 bytes")]
    TooLong,
    #[error("request id may only hold visible ASCII characters")]
    BadCharacter,
}
