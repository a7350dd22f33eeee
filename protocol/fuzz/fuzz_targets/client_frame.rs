//! A client's text frame as the server reads it: `decode_client_msg`, then the checks the server
//! makes on what decoded without I/O (the text of a post).
//!
//! A frame that decodes encodes back to JSON that decodes to the same message; a frame that
//! does not is answered with one of the three documented codes, `bad_frame` exactly when it is
//! not JSON.

#![no_main]

use hehe_fuzz::assert_clean_text;
use hehe_fuzz::domain::text::{MESSAGE, Problem, Text};
use hehe_protocol::{Channel, ClientMsg, ErrorCode, RequestId, decode_client_msg};
use libfuzzer_sys::fuzz_target;
use serde::de::IgnoredAny;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match decode_client_msg(text) {
        Ok(msg) => decoded(&msg),
        Err(e) => {
            // Grammar alone, and what serde_json can hold: a number too large for an f64 is
            // the one thing between, and may be answered either way.
            let grammatical = serde_json::from_str::<IgnoredAny>(text).is_ok();
            let readable = serde_json::from_str::<serde_json::Value>(text).is_ok();
            match e.code {
                ErrorCode::BadFrame => {
                    assert!(!readable, "JSON answered bad_frame: {text:?}");
                    assert!(e.id.is_none());
                }
                ErrorCode::UnknownFrameType | ErrorCode::InvalidRequest => {
                    assert!(grammatical, "not JSON, answered {}: {text:?}", e.code)
                }
                other => panic!("decode_client_msg answered {other}"),
            }
            assert!(!e.message.is_empty());
            if let Some(id) = &e.id {
                request_id(id);
            }
        }
    }
});

fn decoded(msg: &ClientMsg) {
    assert!(ClientMsg::TYPES.contains(&msg.type_name()));
    assert_eq!(
        msg.request_id().is_none(),
        matches!(msg, ClientMsg::Ping | ClientMsg::Pong)
    );
    if let Some(id) = msg.request_id() {
        request_id(id);
    }

    let json = serde_json::to_string(msg).expect("a decoded frame encodes");
    let again =
        decode_client_msg(&json).unwrap_or_else(|e| panic!("{json} does not decode: {e:?}"));
    assert_eq!(&again, msg, "{json}");
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["type"], msg.type_name());

    match msg {
        ClientMsg::Subscribe { channel, .. }
        | ClientMsg::Unsubscribe { channel, .. }
        | ClientMsg::Presence { channel, .. } => canonical(*channel),
        ClientMsg::Post { channel, text, .. } => {
            canonical(*channel);
            post_text(text);
        }
        _ => {}
    }
}

fn request_id(id: &RequestId) {
    let s = id.as_str();
    assert!((1..=RequestId::MAX_LEN).contains(&s.len()));
    assert!(s.bytes().all(|b| b.is_ascii_graphic()));
}

fn canonical(channel: Channel) {
    let name = channel.to_string();
    assert!(name.len() <= Channel::MAX_LEN);
    assert!(channel.raw_id() > 0);
    assert_eq!(name.parse::<Channel>(), Ok(channel));
}

/// The server refuses a post's text, or keeps it trimmed and clean.
fn post_text(raw: &str) {
    match Text::parse(raw, &MESSAGE).map_err(|e| e.problem) {
        Ok(t) => {
            assert_clean_text(t.as_str(), MESSAGE.max_chars, &['\n', '\t'], "post");
            assert_eq!(t.as_str(), raw.trim());
        }
        Err(Problem::Empty) => assert!(raw.trim().is_empty()),
        Err(Problem::TooLong(max)) => assert!(raw.trim().chars().count() > max),
        Err(Problem::LineBreak) => unreachable!("a message is a body"),
        Err(Problem::ControlCharacter) => assert!(
            raw.trim()
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
        ),
    }
}
