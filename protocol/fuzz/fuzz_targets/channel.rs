//! Names and ids clients write: channel names (`<kind>:<id>`), request ids, stream positions
//! and numeric ids. The input is read both as a name and as structured values.
//!
//! A channel name that parses is canonical (it prints back to exactly the input) and serde
//! agrees with `FromStr`; every channel with a positive id prints to a name that parses back.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use hehe_protocol::{
    AccountId, Channel, ChannelKind, CloseCode, ErrorCode, IssueId, MeetingId, PlaceId, Position,
    RequestId,
};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

fuzz_target!(|data: &[u8]| {
    if let Ok(name) = std::str::from_utf8(data) {
        channel_name(name);
        request_id(name);
    }
    let mut u = Unstructured::new(data);
    let _ = structured(&mut u);
});

fn channel_name(name: &str) {
    let parsed = name.parse::<Channel>();
    let via_serde = serde_json::from_value::<Channel>(serde_json::Value::from(name));
    assert_eq!(parsed.is_ok(), via_serde.is_ok(), "{name:?}");
    if let Ok(channel) = parsed {
        assert_eq!(channel.to_string(), name, "not canonical");
        assert!(name.len() <= Channel::MAX_LEN);
        assert!(channel.raw_id() > 0);
        assert_eq!(via_serde.ok(), Some(channel));
        assert_eq!(
            serde_json::to_value(channel).unwrap(),
            serde_json::Value::from(name)
        );
    }
}

fn request_id(s: &str) {
    let valid =
        (1..=RequestId::MAX_LEN).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic());
    match RequestId::parse(s) {
        Ok(id) => {
            assert!(valid, "{s:?}");
            assert_eq!(id.as_str(), s);
            round_trip(&id);
        }
        Err(_) => {
            assert!(!valid, "{s:?}");
            assert!(serde_json::from_value::<RequestId>(serde_json::Value::from(s)).is_err());
        }
    }
}

fn structured(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let kind = *u.choose(&ChannelKind::ALL)?;
    let id = i64::arbitrary(u)?;
    let channel = match kind {
        ChannelKind::Street => Channel::Street(PlaceId(id)),
        ChannelKind::Home => Channel::Home(PlaceId(id)),
        ChannelKind::Room => Channel::Room(MeetingId(id)),
        ChannelKind::Issue => Channel::Issue(IssueId(id)),
        ChannelKind::User => Channel::User(AccountId(id)),
        ChannelKind::Ops => Channel::Ops(id),
    };
    assert_eq!(channel.kind(), kind);
    assert_eq!(channel.raw_id(), id);
    let name = channel.to_string();
    assert!(name.starts_with(kind.prefix()));
    // Ids are positive: a name with 0 or a sign is no channel, so no channel has two names.
    assert_eq!(
        name.parse::<Channel>().ok(),
        (id > 0).then_some(channel),
        "{name}"
    );
    if id > 0 {
        assert!(name.len() <= Channel::MAX_LEN);
        round_trip(&channel);
    }

    round_trip(&PlaceId(id));
    assert_eq!(
        serde_json::to_string(&AccountId(id)).unwrap(),
        id.to_string()
    );
    round_trip(&Position {
        epoch: String::arbitrary(u)?,
        offset: u64::arbitrary(u)?,
    });

    let code = CloseCode(u16::arbitrary(u)?);
    let _ = (code.reconnect(), code.reason());
    if CloseCode::ALL.contains(&code) {
        assert!(!code.reason().is_empty());
    }
    let word = <&str>::arbitrary(u)?;
    if let Ok(code) = serde_json::from_value::<ErrorCode>(serde_json::Value::from(word)) {
        assert_eq!(code.as_str(), word);
    }
    Ok(())
}

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let json = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
    assert_eq!(&back, value, "{json}");
}
