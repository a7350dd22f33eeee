//! Frames a client sends.

use crate::channel::Channel;
use crate::codes::ErrorCode;
use crate::ids::{IssueId, MeetingId, RequestId};
use crate::issue::{IssueAction, NewIssue};
use crate::meeting::RoomAction;
use crate::server_msg::Position;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

/// A frame from client to server. Every command carries an `id`; the server answers it with a
/// `reply` or an `error` frame carrying the same id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// First frame of every connection: who is connecting.
    Auth {
        id: RequestId,
        /// An access token from `POST /api/auth/login` or `/api/auth/refresh`.
        token: String,
        /// Protocol version the client speaks; absent means the current one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<u32>,
    },
    /// Replace the connection's access token before it expires.
    Refresh {
        id: RequestId,
        token: String,
    },
    /// Start receiving a channel's events. With `since`, the reply carries every event after that
    /// position (`recovered: true`), or none at all (`recovered: false`).
    Subscribe {
        id: RequestId,
        channel: Channel,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<Position>,
    },
    Unsubscribe {
        id: RequestId,
        channel: Channel,
    },
    /// Who is in a channel with presence (a living room), now.
    Presence {
        id: RequestId,
        channel: Channel,
    },
    /// Post a text message to a channel. Applied once per request id.
    Post {
        id: RequestId,
        channel: Channel,
        text: String,
    },
    /// Raise an issue. Applied once per request id; answered with `issue`.
    SubmitIssue {
        id: RequestId,
        issue: NewIssue,
    },
    /// Act on an issue (accept, dispatch, acknowledge, rate…). Applied once per request id;
    /// answered with `issue`.
    IssueAction {
        id: RequestId,
        issue: IssueId,
        action: IssueAction,
    },
    /// Act in a meeting's living room (raise a hand, give the floor, vote…). Applied once per
    /// request id; answered with `room_done`.
    RoomAction {
        id: RequestId,
        meeting: MeetingId,
        action: RoomAction,
    },
    /// Liveness check; the server answers `pong`.
    Ping,
    /// Answer to the server's `ping`.
    Pong,
}

impl ClientMsg {
    pub fn request_id(&self) -> Option<&RequestId> {
        match self {
            ClientMsg::Auth { id, .. }
            | ClientMsg::Refresh { id, .. }
            | ClientMsg::Subscribe { id, .. }
            | ClientMsg::Unsubscribe { id, .. }
            | ClientMsg::Presence { id, .. }
            | ClientMsg::Post { id, .. }
            | ClientMsg::SubmitIssue { id, .. }
            | ClientMsg::IssueAction { id, .. }
            | ClientMsg::RoomAction { id, .. } => Some(id),
            ClientMsg::Ping | ClientMsg::Pong => None,
        }
    }

    /// The frame's `type` tag.
    pub fn type_name(&self) -> &'static str {
        match self {
            ClientMsg::Auth { .. } => "auth",
            ClientMsg::Refresh { .. } => "refresh",
            ClientMsg::Subscribe { .. } => "subscribe",
            ClientMsg::Unsubscribe { .. } => "unsubscribe",
            ClientMsg::Presence { .. } => "presence",
            ClientMsg::Post { .. } => "post",
            ClientMsg::SubmitIssue { .. } => "submit_issue",
            ClientMsg::IssueAction { .. } => "issue_action",
            ClientMsg::RoomAction { .. } => "room_action",
            ClientMsg::Ping => "ping",
            ClientMsg::Pong => "pong",
        }
    }

    /// Every `type` a client may send.
    pub const TYPES: [&'static str; 11] = [
        "auth",
        "refresh",
        "subscribe",
        "unsubscribe",
        "presence",
        "post",
        "submit_issue",
        "issue_action",
        "room_action",
        "ping",
        "pong",
    ];
}

/// The two fields the server tries to read out of a frame that did not decode, so the error
/// can name the request it answers.
#[derive(Debug, Deserialize)]
pub struct Probe {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub id: Option<serde_json::Value>,
}

/// Why a text frame did not decode, with what the server should answer.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError {
    pub code: ErrorCode,
    /// The request id, when the frame had a readable one.
    pub id: Option<RequestId>,
    /// A short, client-facing explanation.
    pub message: String,
}

/// Decodes one text frame, classifying failures into the documented error codes:
/// not JSON → `bad_frame`; unknown `type` → `unknown_frame_type`; bad fields → `invalid_request`.
pub fn decode_client_msg(text: &str) -> Result<ClientMsg, DecodeError> {
    let err = match serde_json::from_str::<ClientMsg>(text) {
        Ok(msg) => return Ok(msg),
        Err(e) => e,
    };
    // serde stops at the first thing that does not fit a frame, before reading the rest: `1{x`
    // fails as "an integer is no frame", `{"type":"x"}}` as an unknown type. Not JSON all the
    // same, and bad frames are what a connection is closed for.
    if err.is_syntax() || err.is_eof() || serde_json::from_str::<IgnoredAny>(text).is_err() {
        return Err(DecodeError {
            code: ErrorCode::BadFrame,
            id: None,
            message: "frame is not valid JSON".into(),
        });
    }
    let probe = serde_json::from_str::<Probe>(text).ok();
    let id = probe
        .as_ref()
        .and_then(|p| p.id.as_ref())
        .and_then(|v| v.as_str())
        .and_then(|s| RequestId::parse(s).ok());
    match probe.and_then(|p| p.kind) {
        Some(kind) if ClientMsg::TYPES.contains(&kind.as_str()) => Err(DecodeError {
            code: ErrorCode::InvalidRequest,
            id,
            message: format!("invalid {kind} frame: {}", serde_message(&err)),
        }),
        Some(_) => Err(DecodeError {
            code: ErrorCode::UnknownFrameType,
            id,
            message: "unknown frame type".into(),
        }),
        None => Err(DecodeError {
            code: ErrorCode::InvalidRequest,
            id,
            message: "a frame is a JSON object with a string field \"type\"".into(),
        }),
    }
}

/// serde's message without the " at line 1 column 40" suffix, which says nothing to a client.
fn serde_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_failures() {
        let e = decode_client_msg("{not json").unwrap_err();
        assert_eq!(e.code, ErrorCode::BadFrame);

        let e = decode_client_msg(r#"{"type":"dance","id":"r1"}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnknownFrameType);
        assert_eq!(e.id.unwrap().as_str(), "r1");

        let e =
            decode_client_msg(r#"{"type":"subscribe","id":"r2","channel":"attic:1"}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert_eq!(e.id.unwrap().as_str(), "r2");
        assert!(!e.message.contains("line"), "{}", e.message);

        let e = decode_client_msg(r#"[1,2,3]"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
    }

    /// Found by the `client_frame` fuzz target: text that starts like JSON of the wrong shape
    /// was answered `invalid_request` or `unknown_frame_type`, and escaped the bad-frame count.
    #[test]
    fn text_that_is_not_json_is_a_bad_frame_whatever_it_starts_with() {
        for text in [
            "1{notz json",
            r#"{"type":"dance","id":"r1"}}"#,
            r#"{"type":"subscribe","id":"r2","channel":"attic:1"} trailing"#,
            "[1,2,3]]",
        ] {
            let e = decode_client_msg(text).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadFrame, "{text}");
            assert_eq!(e.id, None);
        }
    }

    #[test]
    fn type_names_cover_every_variant() {
        let samples = [
            r#"{"type":"auth","id":"a","token":"t"}"#,
            r#"{"type":"refresh","id":"a","token":"t"}"#,
            r#"{"type":"subscribe","id":"a","channel":"home:1"}"#,
            r#"{"type":"unsubscribe","id":"a","channel":"home:1"}"#,
            r#"{"type":"presence","id":"a","channel":"room:1"}"#,
            r#"{"type":"post","id":"a","channel":"home:1","text":"hi"}"#,
            r#"{"type":"submit_issue","id":"a","issue":{"category":"drainage","title":"t","description":"d","place_id":3}}"#,
            r#"{"type":"issue_action","id":"a","issue":5,"action":{"kind":"accept"}}"#,
            r#"{"type":"room_action","id":"a","meeting":1,"action":{"kind":"raise_hand"}}"#,
            r#"{"type":"ping"}"#,
            r#"{"type":"pong"}"#,
        ];
        for (sample, name) in samples.iter().zip(ClientMsg::TYPES) {
            assert_eq!(decode_client_msg(sample).unwrap().type_name(), name);
        }
    }
}
