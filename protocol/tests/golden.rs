//! Golden fixtures pin the wire format: each JSON file under `tests/fixtures/` must decode to the
//! value written out here, encode back to the same JSON, and appear verbatim in `PROTOCOL.md`.
//! A renamed field or variant therefore breaks a test instead of silently breaking a client.

use hehe_protocol::http::{
    AccountInfo, ApiError, GrantInfo, LoginRequest, MessageData, MessageInfo, MessagePage,
    PlaceInfo, PlaceKind, RefreshRequest, TokenResponse,
};
use hehe_protocol::{
    AccountId, AccountSummary, Channel, ClientMsg, ErrorCode, Event, EventEncoder, MeetingId,
    Member, PlaceId, Position, ReplyResult, RequestId, Role, ServerMsg, decode_client_msg,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

const HOME: Channel = Channel::Home(PlaceId(12));
const STREET: Channel = Channel::Street(PlaceId(3));
const ROOM: Channel = Channel::Room(MeetingId(7));
const EPOCH: &str = "xkqbmwtz";
/// Stands in for an access token; it is not a real one.
const ACCESS_TOKEN: &str =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiIsImV4cCI6MTc2NzIyNjUwMH0.c2lnbmF0dXJl";
const NEW_ACCESS_TOKEN: &str =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiIsImV4cCI6MTc2NzIyNzQwMH0.c2lnbmF0dXJl";
const REFRESH_TOKEN: &str =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiIsInR5cCI6InJlZnJlc2gifQ.c2lnbmF0dXJl";

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn rid(s: &str) -> RequestId {
    RequestId::parse(s).unwrap()
}

fn wang_fang() -> Member {
    Member {
        account_id: AccountId(42),
        name: "王芳".into(),
        role: Some(Role::Resident),
    }
}

fn li_wei() -> Member {
    Member {
        account_id: AccountId(7),
        name: "李伟".into(),
        role: Some(Role::StreetChief),
    }
}

fn zhao_min() -> Member {
    Member {
        account_id: AccountId(108),
        name: "赵敏".into(),
        role: None,
    }
}

fn message_event(offset: u64, message_id: i64, author: Member, text: &str, time: i64) -> Event {
    let data = MessageData {
        id: message_id,
        author,
        text: text.into(),
    };
    Event {
        channel: HOME,
        offset,
        epoch: EPOCH.into(),
        kind: "message".into(),
        time,
        data: serde_json::to_value(data).unwrap(),
    }
}

/// The event of `server/event.json`.
fn live_event() -> Event {
    message_event(
        44,
        9031,
        wang_fang(),
        "5号楼后面的下水管又漏水了。",
        1_767_225_900_000,
    )
}

fn client_fixtures() -> Vec<(&'static str, ClientMsg)> {
    vec![
        (
            "auth",
            ClientMsg::Auth {
                id: rid("r1"),
                token: ACCESS_TOKEN.into(),
                version: Some(1),
            },
        ),
        (
            "refresh",
            ClientMsg::Refresh {
                id: rid("r9"),
                token: NEW_ACCESS_TOKEN.into(),
            },
        ),
        (
            "subscribe",
            ClientMsg::Subscribe {
                id: rid("r2"),
                channel: HOME,
                since: None,
            },
        ),
        (
            "subscribe_since",
            ClientMsg::Subscribe {
                id: rid("r3"),
                channel: HOME,
                since: Some(Position {
                    epoch: EPOCH.into(),
                    offset: 41,
                }),
            },
        ),
        (
            "unsubscribe",
            ClientMsg::Unsubscribe {
                id: rid("r8"),
                channel: STREET,
            },
        ),
        (
            "presence",
            ClientMsg::Presence {
                id: rid("r5"),
                channel: ROOM,
            },
        ),
        (
            "post",
            ClientMsg::Post {
                id: rid("r6"),
                channel: HOME,
                text: "5号楼后面的下水管又漏水了。".into(),
            },
        ),
        ("ping", ClientMsg::Ping),
        ("pong", ClientMsg::Pong),
    ]
}

fn reply(id: &str, result: ReplyResult) -> ServerMsg {
    ServerMsg::Reply {
        id: rid(id),
        result,
    }
}

fn server_fixtures() -> Vec<(&'static str, ServerMsg)> {
    vec![
        (
            "reply_authenticated",
            reply(
                "r1",
                ReplyResult::Authenticated {
                    account: AccountSummary {
                        id: AccountId(42),
                        username: "wang.fang".into(),
                        display_name: "王芳".into(),
                    },
                    expires_at: 1_767_226_500_000,
                    heartbeat_secs: 25,
                    protocol: 1,
                },
            ),
        ),
        (
            "reply_refreshed",
            reply(
                "r9",
                ReplyResult::Refreshed {
                    expires_at: 1_767_227_400_000,
                },
            ),
        ),
        (
            "reply_subscribed",
            reply(
                "r2",
                ReplyResult::Subscribed {
                    channel: HOME,
                    epoch: EPOCH.into(),
                    offset: 43,
                    recovered: false,
                    events: vec![],
                    presence: None,
                },
            ),
        ),
        (
            "reply_subscribed_recovered",
            reply(
                "r3",
                ReplyResult::Subscribed {
                    channel: HOME,
                    epoch: EPOCH.into(),
                    offset: 43,
                    recovered: true,
                    events: vec![
                        message_event(
                            42,
                            9017,
                            li_wei(),
                            "明早九点在3号楼门口集合，一起清理楼道杂物。",
                            1_767_225_610_000,
                        ),
                        message_event(43, 9018, wang_fang(), "好的，我会到。", 1_767_225_672_000),
                    ],
                    presence: None,
                },
            ),
        ),
        (
            "reply_subscribed_not_recovered",
            reply(
                "r3",
                ReplyResult::Subscribed {
                    channel: HOME,
                    epoch: "pdnrhcaw".into(),
                    offset: 5,
                    recovered: false,
                    events: vec![],
                    presence: None,
                },
            ),
        ),
        (
            "reply_subscribed_room",
            reply(
                "r4",
                ReplyResult::Subscribed {
                    channel: ROOM,
                    epoch: "mfqzvkse".into(),
                    offset: 0,
                    recovered: false,
                    events: vec![],
                    presence: Some(vec![li_wei(), wang_fang()]),
                },
            ),
        ),
        (
            "reply_unsubscribed",
            reply("r8", ReplyResult::Unsubscribed { channel: STREET }),
        ),
        (
            "reply_presence",
            reply(
                "r5",
                ReplyResult::Presence {
                    channel: ROOM,
                    members: vec![li_wei(), wang_fang(), zhao_min()],
                },
            ),
        ),
        (
            "reply_posted",
            reply(
                "r6",
                ReplyResult::Posted {
                    channel: HOME,
                    message_id: 9031,
                    epoch: EPOCH.into(),
                    offset: 44,
                },
            ),
        ),
        (
            "error",
            ServerMsg::Error {
                id: Some(rid("r2")),
                code: ErrorCode::Forbidden,
                message: "you may not read this channel".into(),
            },
        ),
        (
            "error_without_id",
            ServerMsg::Error {
                id: None,
                code: ErrorCode::BadFrame,
                message: "frame is not valid JSON".into(),
            },
        ),
        ("event", ServerMsg::Event(live_event())),
        (
            "presence",
            ServerMsg::Presence {
                channel: ROOM,
                joins: vec![zhao_min()],
                leaves: vec![],
            },
        ),
        ("ping", ServerMsg::Ping),
        ("pong", ServerMsg::Pong),
    ]
}

fn resident_account() -> AccountInfo {
    AccountInfo {
        id: AccountId(42),
        username: "wang.fang".into(),
        display_name: "王芳".into(),
        grants: vec![GrantInfo {
            role: Role::Resident,
            place: Some(PlaceInfo {
                id: PlaceId(12),
                kind: PlaceKind::Community,
                name: "Lakeside Community".into(),
                name_zh: "湖畔社区".into(),
                parent_id: Some(PlaceId(3)),
            }),
            channels: vec![HOME, STREET],
        }],
    }
}

/// HTTP bodies, each checked against its own type.
fn check_http_fixtures(seen: &mut BTreeSet<String>) {
    check(
        seen,
        "http/login_request",
        LoginRequest {
            username: "wang.fang".into(),
            password: "correct horse battery staple".into(),
        },
    );
    check(
        seen,
        "http/refresh_request",
        RefreshRequest {
            refresh_token: REFRESH_TOKEN.into(),
        },
    );
    check(
        seen,
        "http/token_response",
        TokenResponse {
            access_token: ACCESS_TOKEN.into(),
            access_expires_at: 1_767_226_500_000,
            refresh_token: REFRESH_TOKEN.into(),
            refresh_expires_at: 1_769_817_600_000,
            account: resident_account(),
        },
    );
    check(seen, "http/account_info", {
        let mut chief = resident_account();
        chief.id = AccountId(7);
        chief.username = "li.wei".into();
        chief.display_name = "李伟".into();
        chief.grants = vec![
            GrantInfo {
                role: Role::StreetChief,
                place: Some(PlaceInfo {
                    id: PlaceId(3),
                    kind: PlaceKind::Street,
                    name: "Hehe Street".into(),
                    name_zh: "和合街道".into(),
                    parent_id: None,
                }),
                channels: vec![STREET, HOME, Channel::Home(PlaceId(13))],
            },
            GrantInfo {
                role: Role::Resident,
                place: Some(PlaceInfo {
                    id: PlaceId(13),
                    kind: PlaceKind::Community,
                    name: "Orchard Community".into(),
                    name_zh: "果园社区".into(),
                    parent_id: Some(PlaceId(3)),
                }),
                channels: vec![Channel::Home(PlaceId(13)), STREET],
            },
        ];
        chief
    });
    check(
        seen,
        "http/message_page",
        MessagePage {
            messages: vec![
                MessageInfo {
                    id: 9018,
                    channel: HOME,
                    author: wang_fang(),
                    text: "好的，我会到。".into(),
                    time: 1_767_225_672_000,
                },
                MessageInfo {
                    id: 9017,
                    channel: HOME,
                    author: li_wei(),
                    text: "明早九点在3号楼门口集合，一起清理楼道杂物。".into(),
                    time: 1_767_225_610_000,
                },
            ],
            next_before: Some(9017),
        },
    );
    check(
        seen,
        "http/api_error",
        ApiError {
            code: ErrorCode::InvalidCredentials,
            message: "wrong username or password".into(),
        },
    );
}

fn read_fixture(name: &str) -> String {
    let path = fixtures_dir().join(format!("{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Decodes the fixture, compares it with the expected value, and re-encodes it.
fn check<T>(seen: &mut BTreeSet<String>, name: &str, expected: T) -> String
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let text = read_fixture(name);
    let decoded: T =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} does not decode: {e}"));
    assert_eq!(decoded, expected, "{name}: decoded value differs");
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let encoded = serde_json::to_value(&expected).unwrap();
    assert_eq!(
        encoded, fixture,
        "{name}: encoding differs from the fixture"
    );
    assert!(seen.insert(format!("{name}.json")), "{name} checked twice");
    text
}

#[test]
fn client_frames_match_their_fixtures() {
    let mut seen = BTreeSet::new();
    for (name, expected) in client_fixtures() {
        let text = check(&mut seen, &format!("client/{name}"), expected.clone());
        // The server decodes through `decode_client_msg`, so the fixture must pass it too.
        assert_eq!(decode_client_msg(&text), Ok(expected), "{name}");
    }
}

#[test]
fn server_frames_match_their_fixtures() {
    let mut seen = BTreeSet::new();
    for (name, expected) in server_fixtures() {
        check(&mut seen, &format!("server/{name}"), expected);
    }
}

#[test]
fn http_bodies_match_their_fixtures() {
    check_http_fixtures(&mut BTreeSet::new());
}

#[test]
fn every_reply_kind_and_frame_type_has_a_fixture() {
    let kinds: BTreeSet<&str> = server_fixtures()
        .iter()
        .filter_map(|(_, msg)| match msg {
            ServerMsg::Reply { result, .. } => Some(match result {
                ReplyResult::Authenticated { .. } => "authenticated",
                ReplyResult::Refreshed { .. } => "refreshed",
                ReplyResult::Subscribed { .. } => "subscribed",
                ReplyResult::Unsubscribed { .. } => "unsubscribed",
                ReplyResult::Presence { .. } => "presence",
                ReplyResult::Posted { .. } => "posted",
            }),
            _ => None,
        })
        .collect();
    assert_eq!(kinds.len(), 6, "{kinds:?}");

    let server_types: BTreeSet<String> = server_fixtures()
        .iter()
        .map(|(_, msg)| serde_json::to_value(msg).unwrap()["type"].to_string())
        .collect();
    assert_eq!(server_types.len(), 6, "{server_types:?}");

    let client_types: BTreeSet<&str> = client_fixtures()
        .iter()
        .map(|(_, msg)| msg.type_name())
        .collect();
    assert_eq!(client_types.len(), ClientMsg::TYPES.len());
}

#[test]
fn no_fixture_file_goes_unchecked() {
    let mut expected = BTreeSet::new();
    for (name, _) in client_fixtures() {
        expected.insert(format!("client/{name}.json"));
    }
    for (name, _) in server_fixtures() {
        expected.insert(format!("server/{name}.json"));
    }
    check_http_fixtures(&mut expected);
    assert_eq!(all_fixture_files(), expected);
}

#[test]
fn event_encoder_matches_the_event_fixture() {
    let text = read_fixture("server/event");
    let fixture: ServerMsg = serde_json::from_str(&text).unwrap();
    let e = live_event();
    // The server hands the encoder the body as serialized once from `MessageData`.
    let body: MessageData = serde_json::from_value(e.data.clone()).unwrap();
    let data = serde_json::value::to_raw_value(&body).unwrap();
    let encoded = EventEncoder::encode(e.channel, e.offset, &e.epoch, &e.kind, e.time, &data);
    let decoded: ServerMsg = serde_json::from_str(&encoded).unwrap();
    assert_eq!(decoded, fixture);
    // Same keys in the same order: what a browser sees is byte for byte the documented frame.
    assert_eq!(encoded, squeeze(&text));
}

#[test]
fn message_event_data_is_message_data() {
    let e = live_event();
    let data: MessageData = serde_json::from_value(e.data.clone()).unwrap();
    assert_eq!(data.author, wang_fang());
    assert_eq!(
        e.data["author"],
        json!({"account_id": 42, "name": "王芳", "role": "resident"})
    );
}

/// Fixture paths relative to the fixtures directory, e.g. `client/auth.json`.
fn all_fixture_files() -> BTreeSet<String> {
    let mut files = BTreeSet::new();
    for dir in ["client", "server", "http"] {
        for entry in std::fs::read_dir(fixtures_dir().join(dir)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            files.insert(format!("{dir}/{name}"));
        }
    }
    files
}

/// JSON text without the whitespace between tokens, so indentation may differ but key order,
/// spelling and values may not.
fn squeeze(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// The bodies of the ```json blocks of a Markdown text.
fn json_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        let fence = line.trim_start();
        match current.as_mut() {
            None if fence.starts_with("```json") => current = Some(String::new()),
            Some(block) if fence.starts_with("```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    assert!(
        current.is_none(),
        "PROTOCOL.md has an unclosed ```json block"
    );
    blocks
}

#[test]
fn protocol_md_shows_exactly_the_fixtures() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("PROTOCOL.md"))
        .expect("PROTOCOL.md is next to Cargo.toml");
    let blocks: BTreeSet<String> = json_blocks(&doc).iter().map(|b| squeeze(b)).collect();
    let mut fixtures = BTreeSet::new();
    for file in all_fixture_files() {
        let text = read_fixture(file.trim_end_matches(".json"));
        let squeezed = squeeze(&text);
        assert!(
            blocks.contains(&squeezed),
            "PROTOCOL.md lacks the example of fixtures/{file}:\n{text}"
        );
        fixtures.insert(squeezed);
    }
    for block in &blocks {
        assert!(
            fixtures.contains(block),
            "PROTOCOL.md has a ```json example that is no fixture; add it to tests/fixtures \
             or fix it:\n{block}"
        );
    }
}

#[test]
fn squeeze_keeps_whitespace_inside_strings() {
    assert_eq!(
        squeeze("{ \"a b\" : [ 1 ,\n 2 ], \"c\": \"x\\\" y\" }"),
        "{\"a b\":[1,2],\"c\":\"x\\\" y\"}"
    );
}
