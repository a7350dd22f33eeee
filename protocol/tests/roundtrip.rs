//! Property tests: every frame the types can express survives a JSON round trip unchanged, and
//! the server's decoder survives anything a client can send.

use hehe_protocol::{
    AccountId, AccountSummary, Channel, ClientMsg, ErrorCode, Event, IssueId, MeetingId, Member,
    PlaceId, Position, ReplyResult, RequestId, Role, ServerMsg, decode_client_msg,
};
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::Value;

const ERROR_CODES: [ErrorCode; 20] = ErrorCode::ALL;

fn channel() -> impl Strategy<Value = Channel> {
    // Ids are positive; small ones are the common case, the extremes catch overflow.
    let id = prop_oneof![1..1000i64, 1..=i64::MAX, Just(i64::MAX)];
    (0..5u8, id).prop_map(|(kind, id)| match kind {
        0 => Channel::Street(PlaceId(id)),
        1 => Channel::Home(PlaceId(id)),
        2 => Channel::Room(MeetingId(id)),
        3 => Channel::Issue(IssueId(id)),
        _ => Channel::User(AccountId(id)),
    })
}

fn request_id() -> impl Strategy<Value = RequestId> {
    "[!-~]{1,64}".prop_map(|s| RequestId::parse(s).unwrap())
}

fn position() -> impl Strategy<Value = Position> {
    (any::<String>(), any::<u64>()).prop_map(|(epoch, offset)| Position { epoch, offset })
}

fn role() -> impl Strategy<Value = Role> {
    prop::sample::select(Role::ALL.to_vec())
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    prop::sample::select(ERROR_CODES.to_vec())
}

fn member() -> impl Strategy<Value = Member> {
    (any::<i64>(), any::<String>(), prop::option::of(role())).prop_map(|(id, name, role)| Member {
        account_id: AccountId(id),
        name,
        role,
    })
}

/// Floats that any JSON parser reads back exactly: a 32-bit mantissa over a small power of two
/// has a short decimal form. (Arbitrary doubles would test serde_json's float parsing, which is
/// only best-effort without its `float_roundtrip` feature, not our types.)
fn exact_float() -> impl Strategy<Value = f64> {
    (any::<i32>(), 0..8u32).prop_map(|(m, e)| f64::from(m) / f64::from(1u32 << e))
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        exact_float().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    // Depth at most 4, at most 32 nodes, at most 5 items per array or object.
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn event() -> impl Strategy<Value = Event> {
    (
        channel(),
        any::<u64>(),
        any::<String>(),
        any::<String>(),
        any::<i64>(),
        json_value(),
    )
        .prop_map(|(channel, offset, epoch, kind, time, data)| Event {
            channel,
            offset,
            epoch,
            kind,
            time,
            data,
        })
}

fn client_msg() -> impl Strategy<Value = ClientMsg> {
    prop_oneof![
        (request_id(), any::<String>(), any::<Option<u32>>())
            .prop_map(|(id, token, version)| ClientMsg::Auth { id, token, version }),
        (request_id(), any::<String>()).prop_map(|(id, token)| ClientMsg::Refresh { id, token }),
        (request_id(), channel(), prop::option::of(position()))
            .prop_map(|(id, channel, since)| ClientMsg::Subscribe { id, channel, since }),
        (request_id(), channel()).prop_map(|(id, channel)| ClientMsg::Unsubscribe { id, channel }),
        (request_id(), channel()).prop_map(|(id, channel)| ClientMsg::Presence { id, channel }),
        (request_id(), channel(), any::<String>())
            .prop_map(|(id, channel, text)| ClientMsg::Post { id, channel, text }),
        Just(ClientMsg::Ping),
        Just(ClientMsg::Pong),
    ]
}

fn reply_result() -> impl Strategy<Value = ReplyResult> {
    prop_oneof![
        (
            any::<i64>(),
            any::<String>(),
            any::<String>(),
            any::<i64>(),
            any::<u64>(),
            any::<u32>()
        )
            .prop_map(
                |(id, username, display_name, expires_at, heartbeat_secs, protocol)| {
                    ReplyResult::Authenticated {
                        account: AccountSummary {
                            id: AccountId(id),
                            username,
                            display_name,
                        },
                        expires_at,
                        heartbeat_secs,
                        protocol,
                    }
                }
            ),
        any::<i64>().prop_map(|expires_at| ReplyResult::Refreshed { expires_at }),
        (
            channel(),
            position(),
            any::<bool>(),
            vec(event(), 0..4),
            prop::option::of(vec(member(), 0..4)),
        )
            .prop_map(|(channel, top, recovered, events, presence)| {
                ReplyResult::Subscribed {
                    channel,
                    epoch: top.epoch,
                    offset: top.offset,
                    recovered,
                    events,
                    presence,
                }
            }),
        channel().prop_map(|channel| ReplyResult::Unsubscribed { channel }),
        (channel(), vec(member(), 0..5))
            .prop_map(|(channel, members)| ReplyResult::Presence { channel, members }),
        (channel(), any::<i64>(), position()).prop_map(|(channel, message_id, at)| {
            ReplyResult::Posted {
                channel,
                message_id,
                epoch: at.epoch,
                offset: at.offset,
            }
        }),
    ]
}

fn server_msg() -> impl Strategy<Value = ServerMsg> {
    prop_oneof![
        (request_id(), reply_result()).prop_map(|(id, result)| ServerMsg::Reply { id, result }),
        (
            prop::option::of(request_id()),
            error_code(),
            any::<String>()
        )
            .prop_map(|(id, code, message)| ServerMsg::Error { id, code, message }),
        event().prop_map(ServerMsg::Event),
        (channel(), vec(member(), 0..4), vec(member(), 0..4)).prop_map(
            |(channel, joins, leaves)| ServerMsg::Presence {
                channel,
                joins,
                leaves,
            }
        ),
        Just(ServerMsg::Ping),
        Just(ServerMsg::Pong),
    ]
}

/// One edit of a frame's text, applied to its characters so the result stays a valid string.
#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    Replace { at: usize, with: char },
    Truncate { at: usize },
    Duplicate { at: usize, len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Positions are taken modulo the text's length when applied.
    let at = any::<usize>();
    prop_oneof![
        (at, 1..8usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (
            at,
            prop_oneof![
                "[\\{\\}\\[\\]\":,\\\\ ]{1,3}",
                "\"[a-z_]{1,10}\"",
                "-?[0-9]{1,25}",
                any::<String>()
            ]
        )
            .prop_map(|(at, text)| Mutation::Insert { at, text }),
        (at, any::<char>()).prop_map(|(at, with)| Mutation::Replace { at, with }),
        at.prop_map(|at| Mutation::Truncate { at }),
        (at, 1..16usize).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for m in mutations {
        let n = chars.len().max(1);
        match m {
            Mutation::Delete { at, len } => {
                let start = (at % n).min(chars.len());
                let end = (start + len).min(chars.len());
                chars.drain(start..end);
            }
            Mutation::Insert { at, text } => {
                let at = (at % (chars.len() + 1)).min(chars.len());
                chars.splice(at..at, text.chars());
            }
            Mutation::Replace { at, with } => {
                if !chars.is_empty() {
                    chars[at % n] = *with;
                }
            }
            Mutation::Truncate { at } => chars.truncate(at % n),
            Mutation::Duplicate { at, len } => {
                let start = (at % n).min(chars.len());
                let end = (start + len).min(chars.len());
                let copy: Vec<char> = chars[start..end].to_vec();
                chars.splice(end..end, copy);
            }
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn client_msg_round_trips(msg in client_msg()) {
        let json = serde_json::to_string(&msg).unwrap();
        let back: ClientMsg = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, msg);
    }

    #[test]
    fn server_msg_round_trips(msg in server_msg()) {
        let json = serde_json::to_string(&msg).unwrap();
        prop_assert_eq!(&msg.to_json(), &json);
        let back: ServerMsg = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, msg);
    }

    #[test]
    fn server_msg_round_trips_pretty(msg in server_msg()) {
        let json = serde_json::to_string_pretty(&msg).unwrap();
        let back: ServerMsg = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, msg);
    }

    #[test]
    fn channel_display_and_parse_agree(channel in channel()) {
        let name = channel.to_string();
        prop_assert!(name.len() <= Channel::MAX_LEN);
        prop_assert_eq!(name.parse::<Channel>(), Ok(channel));
        prop_assert_eq!(
            serde_json::to_value(channel).unwrap(),
            Value::String(name)
        );
    }

    #[test]
    fn channel_parse_never_panics_and_is_canonical(text in "(street|home|room|issue|user|[a-z]{0,6}):?[-+0-9a-z]{0,22}") {
        if let Ok(channel) = text.parse::<Channel>() {
            // Only canonical names parse, so printing gives back the very same text.
            prop_assert_eq!(channel.to_string(), text);
        }
    }

    #[test]
    fn request_id_accepts_exactly_visible_ascii(text in any::<String>()) {
        let ok = !text.is_empty()
            && text.len() <= RequestId::MAX_LEN
            && text.bytes().all(|b| b.is_ascii_graphic());
        prop_assert_eq!(RequestId::parse(text.clone()).is_ok(), ok, "{:?}", text);
    }

    #[test]
    fn decoder_accepts_every_valid_frame(msg in client_msg()) {
        let json = serde_json::to_string(&msg).unwrap();
        prop_assert_eq!(decode_client_msg(&json), Ok(msg.clone()));
        let pretty = serde_json::to_string_pretty(&msg).unwrap();
        prop_assert_eq!(decode_client_msg(&pretty), Ok(msg));
    }

    #[test]
    fn decoder_survives_arbitrary_text(text in any::<String>()) {
        let _ = decode_client_msg(&text);
    }

    #[test]
    fn decoder_survives_json_shaped_noise(text in "[\\{\\}\\[\\]\":,a-z0-9 _-]{0,80}") {
        let _ = decode_client_msg(&text);
    }

    #[test]
    fn decoder_survives_mutated_frames(
        msg in client_msg(),
        mutations in vec(mutation(), 1..4),
    ) {
        let text = mutate(&serde_json::to_string(&msg).unwrap(), &mutations);
        match decode_client_msg(&text) {
            // Whatever decodes must be a frame the types can write back out.
            Ok(decoded) => {
                let again = serde_json::to_string(&decoded).unwrap();
                prop_assert_eq!(decode_client_msg(&again), Ok(decoded));
            }
            Err(e) => {
                prop_assert!(!e.message.is_empty());
                if e.code == ErrorCode::BadFrame {
                    prop_assert!(serde_json::from_str::<Value>(&text).is_err());
                    prop_assert!(e.id.is_none());
                }
            }
        }
    }
}
