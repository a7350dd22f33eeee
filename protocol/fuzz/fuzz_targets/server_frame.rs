//! A server frame as every client decodes it: `ServerMsg` through serde_json. A frame that
//! decodes encodes back to one that decodes to the same message, and the server's fast event
//! encoder (`EventEncoder`) writes what clients read as the same event.

#![no_main]

use hehe_protocol::{Channel, ErrorCode, EventEncoder, ServerMsg};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use serde_json::value::RawValue;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(msg) = serde_json::from_str::<ServerMsg>(text) else {
        return;
    };
    let json = msg.to_json();
    assert!(!json.is_empty(), "a decoded frame encodes");
    let again: ServerMsg =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json} does not decode: {e}"));
    same(&msg, &again, &json);

    match &msg {
        ServerMsg::Event(event) => {
            canonical(event.channel);
            let data = RawValue::from_string(event.data.to_string()).unwrap();
            let fast = EventEncoder::encode(
                event.channel,
                event.offset,
                &event.epoch,
                &event.kind,
                event.time,
                &data,
            );
            let decoded: ServerMsg = serde_json::from_str(&fast)
                .unwrap_or_else(|e| panic!("EventEncoder wrote {fast}: {e}"));
            same(&msg, &decoded, &fast);
        }
        ServerMsg::Error { code, .. } | ServerMsg::Unsubscribed { code, .. } => {
            assert!(ErrorCode::ALL.contains(code));
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
        ServerMsg::Presence { channel, .. } => canonical(*channel),
        _ => {}
    }
});

fn canonical(channel: Channel) {
    assert_eq!(channel.to_string().parse::<Channel>(), Ok(channel));
}

/// Equal messages, but for the last bit of a float in an event's free-form `data`: serde_json
/// reads floats fast rather than exactly unless asked (its `float_roundtrip` feature).
fn same(a: &ServerMsg, b: &ServerMsg, json: &str) {
    if a == b {
        return;
    }
    let (a, b) = (
        serde_json::to_value(a).unwrap(),
        serde_json::to_value(b).unwrap(),
    );
    assert!(close(&a, &b), "{json} decodes to another message");
}

fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x != y => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() <= f64::EPSILON * 4.0 * x.abs().max(y.abs()),
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| close(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
        }
        _ => a == b,
    }
}
