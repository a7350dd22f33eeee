//! Stable error codes (in `error` frames and HTTP error bodies) and WebSocket close codes.
//! Both are part of the contract: add new ones, never renumber or rename.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a command or request failed. Serialized as a snake_case string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not valid JSON.
    BadFrame,
    /// The frame's `type` is not one this server knows.
    UnknownFrameType,
    /// The frame's type is known, but a field is missing or invalid.
    InvalidRequest,
    /// A command arrived before `auth`.
    Unauthenticated,
    /// `auth` sent twice on one connection.
    AlreadyAuthenticated,
    /// The token is not one this server signed, or is of the wrong kind.
    InvalidToken,
    /// The token was valid but has expired: refresh it.
    TokenExpired,
    /// Wrong username or password.
    InvalidCredentials,
    /// The role of the caller does not allow this.
    Forbidden,
    /// No such thing, or the caller may not know it exists.
    NotFound,
    /// The connection is already subscribed to that channel.
    AlreadySubscribed,
    /// The connection is not subscribed to that channel.
    NotSubscribed,
    /// The connection holds the most subscriptions it may.
    TooManySubscriptions,
    /// The request conflicts with the current state.
    Conflict,
    /// The same request id is still being applied on another connection: retry shortly.
    RequestInProgress,
    /// Too many requests: slow down.
    RateLimited,
    /// A backing service is down: retry with backoff.
    Unavailable,
    /// Something failed on the server. Nothing internal is disclosed.
    Internal,
    /// The protocol version is not supported.
    UnsupportedVersion,
    /// The body is larger than allowed.
    PayloadTooLarge,
    /// A verification or reset code is wrong, expired, used or out of tries: ask for a new one.
    InvalidCode,
    /// The invite code has expired: ask for a new invite.
    InviteExpired,
    /// The invite code was used already: sign in with the account it made.
    InviteUsed,
    /// The invite was revoked: ask for a new one.
    InviteRevoked,
}

impl ErrorCode {
    /// Every code, for documentation and tests.
    pub const ALL: [ErrorCode; 24] = [
        ErrorCode::BadFrame,
        ErrorCode::UnknownFrameType,
        ErrorCode::InvalidRequest,
        ErrorCode::Unauthenticated,
        ErrorCode::AlreadyAuthenticated,
        ErrorCode::InvalidToken,
        ErrorCode::TokenExpired,
        ErrorCode::InvalidCredentials,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::AlreadySubscribed,
        ErrorCode::NotSubscribed,
        ErrorCode::TooManySubscriptions,
        ErrorCode::Conflict,
        ErrorCode::RequestInProgress,
        ErrorCode::RateLimited,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
        ErrorCode::UnsupportedVersion,
        ErrorCode::PayloadTooLarge,
        ErrorCode::InvalidCode,
        ErrorCode::InviteExpired,
        ErrorCode::InviteUsed,
        ErrorCode::InviteRevoked,
    ];

    /// Whether the same request may succeed if sent again later, unchanged.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ErrorCode::RequestInProgress
                | ErrorCode::RateLimited
                | ErrorCode::Unavailable
                | ErrorCode::Internal
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadFrame => "bad_frame",
            ErrorCode::UnknownFrameType => "unknown_frame_type",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::AlreadyAuthenticated => "already_authenticated",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::AlreadySubscribed => "already_subscribed",
            ErrorCode::NotSubscribed => "not_subscribed",
            ErrorCode::TooManySubscriptions => "too_many_subscriptions",
            ErrorCode::Conflict => "conflict",
            ErrorCode::RequestInProgress => "request_in_progress",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::InvalidCode => "invalid_code",
            ErrorCode::InviteExpired => "invite_expired",
            ErrorCode::InviteUsed => "invite_used",
            ErrorCode::InviteRevoked => "invite_revoked",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A WebSocket close code sent by the server.
///
/// 4000–4499: the client should reconnect (with backoff and jitter) and resume its
/// subscriptions. 4500–4999: the client must not reconnect on its own; a person or the app has
/// to act first (log in again, fix the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// The server is shutting down or restarting. Reconnect, possibly to another node.
    pub const SHUTDOWN: CloseCode = CloseCode(4000);
    /// The client did not read fast enough and its queue overflowed. Reconnect and resume.
    pub const SLOW_CONSUMER: CloseCode = CloseCode(4001);
    /// Nothing arrived from the client within the heartbeat timeout.
    pub const HEARTBEAT_TIMEOUT: CloseCode = CloseCode(4002);
    /// The access token expired and no `refresh` came in time. Refresh, then reconnect.
    pub const TOKEN_EXPIRED: CloseCode = CloseCode(4003);
    /// The client sent too much too fast. Reconnect after a backoff.
    pub const RATE_LIMITED: CloseCode = CloseCode(4004);
    /// The server could not keep the connection's state consistent. Reconnect and resume.
    pub const INSUFFICIENT_STATE: CloseCode = CloseCode(4005);
    /// An unexpected server error. Reconnect with backoff.
    pub const INTERNAL: CloseCode = CloseCode(4006);
    /// The account's roles changed: reconnect (the same token works) and resubscribe; channels
    /// the account may no longer read are refused.
    pub const IDENTITY_CHANGED: CloseCode = CloseCode(4007);

    /// The client broke the protocol (binary frames, repeated bad frames, commands before auth).
    pub const PROTOCOL_VIOLATION: CloseCode = CloseCode(4500);
    /// No valid `auth` frame in time, or the token is invalid. Log in again.
    pub const UNAUTHORIZED: CloseCode = CloseCode(4501);
    /// The account may no longer connect.
    pub const FORBIDDEN: CloseCode = CloseCode(4502);
    /// A frame exceeded the size limit.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(4503);
    /// The client speaks a protocol version this server does not.
    pub const UNSUPPORTED_VERSION: CloseCode = CloseCode(4504);

    /// Every code this server sends, for documentation and metrics.
    pub const ALL: [CloseCode; 13] = [
        Self::SHUTDOWN,
        Self::SLOW_CONSUMER,
        Self::HEARTBEAT_TIMEOUT,
        Self::TOKEN_EXPIRED,
        Self::RATE_LIMITED,
        Self::INSUFFICIENT_STATE,
        Self::INTERNAL,
        Self::IDENTITY_CHANGED,
        Self::PROTOCOL_VIOLATION,
        Self::UNAUTHORIZED,
        Self::FORBIDDEN,
        Self::MESSAGE_TOO_BIG,
        Self::UNSUPPORTED_VERSION,
    ];

    /// Whether a client should reconnect by itself after this code. Codes outside the Hehe
    /// ranges (1000–3999) follow RFC 6455: a normal close (1000) or going away (1001) reconnects.
    pub fn reconnect(self) -> bool {
        match self.0 {
            4000..=4499 => true,
            4500..=4999 => false,
            1000 | 1001 | 1006 | 1011 | 1012 | 1013 => true,
            _ => false,
        }
    }

    /// The short reason sent with the close frame.
    pub fn reason(self) -> &'static str {
        match self {
            Self::SHUTDOWN => "shutdown",
            Self::SLOW_CONSUMER => "slow consumer",
            Self::HEARTBEAT_TIMEOUT => "heartbeat timeout",
            Self::TOKEN_EXPIRED => "token expired",
            Self::RATE_LIMITED => "rate limited",
            Self::INSUFFICIENT_STATE => "insufficient state",
            Self::INTERNAL => "internal error",
            Self::IDENTITY_CHANGED => "identity changed: reconnect",
            Self::PROTOCOL_VIOLATION => "protocol violation",
            Self::UNAUTHORIZED => "unauthorized",
            Self::FORBIDDEN => "forbidden",
            Self::MESSAGE_TOO_BIG => "message too big",
            Self::UNSUPPORTED_VERSION => "unsupported version",
            _ => "",
        }
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_decide_reconnect() {
        for code in CloseCode::ALL {
            assert_eq!(code.reconnect(), code.0 < 4500, "{code}");
            assert!(!code.reason().is_empty());
        }
    }

    #[test]
    fn error_code_strings_match_serde() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }
}
