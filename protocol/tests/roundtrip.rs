//! Property tests: every frame the types can express survives a JSON round trip unchanged, and
//! the server's decoder survives anything a client can send.

use hehe_protocol::issue::{
    Clock, ClosureReason, GeoPoint, IssueAction, IssueActionKind, IssueState, IssueSummary, Level,
    NewIssue, PhotoInfo, PhotoKind, Priority, Resolution, Satisfaction,
};
use hehe_protocol::meeting::{NewVote, RoomAction, RoomEventInfo, RoomMode};
use hehe_protocol::stats::{
    CommunityCounters, Counters, Durations, IssueStats, Satisfaction as SatisfactionCounts,
    StatsReport,
};
use hehe_protocol::{
    AccountId, AccountSummary, Channel, ClientMsg, ErrorCode, Event, IssueId, MeetingId, Member,
    PlaceId, Position, ReplyResult, RequestId, Role, ServerMsg, decode_client_msg,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::Value;
use std::collections::BTreeSet;

const ERROR_CODES: [ErrorCode; 24] = ErrorCode::ALL;

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

fn priority() -> impl Strategy<Value = Priority> {
    prop::sample::select(Priority::ALL.to_vec())
}

fn issue_state() -> impl Strategy<Value = IssueState> {
    prop::sample::select(IssueState::ALL.to_vec())
}

fn clock() -> impl Strategy<Value = Clock> {
    prop::sample::select(Clock::ALL.to_vec())
}

fn level() -> impl Strategy<Value = Level> {
    prop::sample::select(vec![Level::Grid, Level::Community, Level::Street])
}

fn closure_reason() -> impl Strategy<Value = ClosureReason> {
    prop::sample::select(vec![
        ClosureReason::Fixed,
        ClosureReason::NotFixable,
        ClosureReason::NotOurResponsibility,
        ClosureReason::Withdrawn,
    ])
}

fn resolution() -> impl Strategy<Value = Resolution> {
    prop::sample::select(vec![
        Resolution::Fixed,
        Resolution::NotFixable,
        Resolution::NotOurResponsibility,
    ])
}

fn satisfaction() -> impl Strategy<Value = Satisfaction> {
    prop::sample::select(vec![
        Satisfaction::Satisfied,
        Satisfaction::Basic,
        Satisfaction::Unsatisfied,
    ])
}

fn photo_info() -> impl Strategy<Value = PhotoInfo> {
    (
        any::<i64>(),
        prop::sample::select(vec![
            PhotoKind::Before,
            PhotoKind::After,
            PhotoKind::Evidence,
        ]),
        any::<String>(),
        any::<String>(),
        any::<u64>(),
        any::<i64>(),
    )
        .prop_map(|(id, kind, url, content_type, size, time)| PhotoInfo {
            id,
            kind,
            url,
            content_type,
            size,
            time,
        })
}

fn durations() -> impl Strategy<Value = Durations> {
    (
        any::<u32>(),
        prop::option::of(any::<i64>()),
        prop::option::of(any::<i64>()),
    )
        .prop_map(|(count, median_ms, p90_ms)| Durations {
            count,
            median_ms,
            p90_ms,
        })
}

fn issue_stats() -> impl Strategy<Value = IssueStats> {
    (
        any::<i64>(),
        any::<[u32; 4]>(),
        (durations(), durations()),
        prop::option::of(exact_float()),
        any::<[u32; 5]>(),
        prop::option::of(exact_float()),
    )
        .prop_map(
            |(place, [total, open, overdue, fixed], (accept, resolve), on_time, sat, reopen)| {
                IssueStats {
                    place_id: PlaceId(place),
                    total,
                    open,
                    overdue,
                    fixed,
                    time_to_accept: accept,
                    time_to_resolve: resolve,
                    on_time_rate: on_time,
                    satisfaction: SatisfactionCounts {
                        rated: sat[0],
                        satisfied: sat[1],
                        basic: sat[2],
                        unsatisfied: sat[3],
                        not_rated: sat[4],
                    },
                    reopen_rate: reopen,
                }
            },
        )
}

fn stats_report() -> impl Strategy<Value = StatsReport> {
    (issue_stats(), vec(issue_stats(), 0..4), any::<i64>()).prop_map(
        |(overall, parts, computed_at)| StatsReport {
            overall,
            parts,
            computed_at,
        },
    )
}

fn counters() -> impl Strategy<Value = Counters> {
    let community = (any::<i64>(), any::<u32>(), any::<u32>()).prop_map(|(id, open, overdue)| {
        CommunityCounters {
            community_id: PlaceId(id),
            open,
            overdue,
        }
    });
    (
        any::<i64>(),
        any::<u32>(),
        any::<u32>(),
        vec(community, 0..4),
    )
        .prop_map(|(street, open, overdue, communities)| Counters {
            street_id: PlaceId(street),
            open,
            overdue,
            communities,
        })
}

fn geo_point() -> impl Strategy<Value = GeoPoint> {
    (exact_float(), exact_float()).prop_map(|(lat, lon)| GeoPoint { lat, lon })
}

fn new_issue() -> impl Strategy<Value = NewIssue> {
    (
        any::<String>(),
        any::<String>(),
        any::<String>(),
        any::<i64>(),
        prop::option::of(geo_point()),
        any::<bool>(),
        prop::option::of(priority()),
        prop::option::of(any::<i64>()),
    )
        .prop_map(
            |(category, title, description, place, location, public, priority, helped)| NewIssue {
                category,
                title,
                description,
                place_id: PlaceId(place),
                location,
                public,
                priority,
                on_behalf_of: helped.map(AccountId),
            },
        )
}

/// Every kind of action; `strategies_reach_every_variant` checks that none is missing.
fn issue_action() -> impl Strategy<Value = IssueAction> {
    let text = any::<String>;
    prop_oneof![
        Just(IssueAction::Accept),
        text().prop_map(|reason| IssueAction::Reject { reason }),
        any::<i64>().prop_map(|id| IssueAction::Merge { into: IssueId(id) }),
        any::<i64>().prop_map(|id| IssueAction::Dispatch {
            assignee: AccountId(id)
        }),
        Just(IssueAction::Acknowledge),
        text().prop_map(|reason| IssueAction::Return { reason }),
        text().prop_map(|reason| IssueAction::Escalate { reason }),
        (text(), any::<bool>())
            .prop_map(|(text, internal)| IssueAction::PostUpdate { text, internal }),
        any::<Option<String>>().prop_map(|note| IssueAction::Complete { note }),
        (text(), resolution()).prop_map(|(explanation, resolution)| {
            IssueAction::DeclareUnfixable {
                explanation,
                resolution,
            }
        }),
        Just(IssueAction::VerifyOk),
        text().prop_map(|reason| IssueAction::VerifyFail { reason }),
        (
            any::<bool>(),
            prop::option::of(satisfaction()),
            any::<Option<u8>>(),
            any::<Option<String>>(),
        )
            .prop_map(
                |(resolved, satisfaction, stars, comment)| IssueAction::Rate {
                    resolved,
                    satisfaction,
                    stars,
                    comment,
                }
            ),
        Just(IssueAction::Withdraw),
        Just(IssueAction::Follow),
        Just(IssueAction::Unfollow),
        any::<Option<String>>().prop_map(|note| IssueAction::MeToo { note }),
    ]
}

fn new_vote() -> impl Strategy<Value = NewVote> {
    (
        any::<String>(),
        vec(any::<String>(), 0..5),
        any::<[bool; 3]>(),
    )
        .prop_map(
            |(question, options, [multiple, anonymous, hide_results])| NewVote {
                question,
                options,
                multiple,
                anonymous,
                hide_results,
            },
        )
}

/// Every kind of room action; `strategies_reach_every_variant` checks that none is missing.
fn room_action() -> impl Strategy<Value = RoomAction> {
    let text = any::<String>;
    let who = || any::<i64>().prop_map(AccountId);
    prop_oneof![
        Just(RoomAction::Start),
        Just(RoomAction::End),
        text().prop_map(|text| RoomAction::PublishMinutes { text }),
        Just(RoomAction::Lock),
        Just(RoomAction::Unlock),
        prop::sample::select(vec![RoomMode::Open, RoomMode::FloorOnly])
            .prop_map(|mode| RoomAction::SetMode { mode }),
        Just(RoomAction::RaiseHand),
        Just(RoomAction::LowerHand),
        prop::option::of(who()).prop_map(|to| RoomAction::GiveFloor { to }),
        Just(RoomAction::TakeFloor),
        who().prop_map(|who| RoomAction::Mute { who }),
        who().prop_map(|who| RoomAction::Unmute { who }),
        who().prop_map(|who| RoomAction::Remove { who }),
        who().prop_map(|who| RoomAction::Readmit { who }),
        text().prop_map(|text| RoomAction::Say { text }),
        text().prop_map(|emoji| RoomAction::React { emoji }),
        text().prop_map(|text| RoomAction::AppendMinutes { text }),
        any::<u32>().prop_map(|index| RoomAction::SetAgendaItem { index }),
        new_vote().prop_map(|vote| RoomAction::OpenVote { vote }),
        (any::<u32>(), vec(any::<u32>(), 0..5))
            .prop_map(|(vote, choices)| RoomAction::CastVote { vote, choices }),
        any::<u32>().prop_map(|vote| RoomAction::CloseVote { vote }),
        Just(RoomAction::Publish),
        Just(RoomAction::Cancel),
        (text(), any::<i64>())
            .prop_map(|(terms, deadline)| RoomAction::ProposeAgreement { terms, deadline }),
        Just(RoomAction::ConfirmAgreement),
        (text(), prop::option::of(any::<i64>())).prop_map(|(referral, follow_up)| {
            RoomAction::RecordFailure {
                referral,
                follow_up,
            }
        }),
        (text(), vec(text(), 0..3))
            .prop_map(|(text, follow_ups)| RoomAction::PublishDecision { text, follow_ups }),
        text().prop_map(|text| RoomAction::Statement { text }),
    ]
}

fn room_event_info() -> impl Strategy<Value = RoomEventInfo> {
    (
        any::<i64>(),
        any::<u32>(),
        prop::option::of(any::<i64>()),
        any::<String>(),
        json_value(),
        any::<i64>(),
    )
        .prop_map(|(meeting, seq, actor, kind, data, time)| RoomEventInfo {
            meeting: MeetingId(meeting),
            seq,
            actor: actor.map(AccountId),
            kind,
            data,
            time,
        })
}

fn issue_summary() -> impl Strategy<Value = IssueSummary> {
    // Grouped because proptest implements `Strategy` for tuples of at most 12.
    let what = (
        any::<i64>(),
        any::<String>(),
        any::<String>(),
        any::<String>(),
        issue_state(),
        priority(),
        level(),
        any::<bool>(),
    );
    let place = (any::<i64>(), any::<i64>(), any::<i64>(), any::<i64>());
    let progress = (
        prop::option::of(member()),
        prop::option::of((any::<i64>(), clock())),
        any::<bool>(),
        any::<u32>(),
        prop::option::of(closure_reason()),
        any::<Option<bool>>(),
        prop::option::of(any::<i64>()),
        any::<u32>(),
        any::<i64>(),
        any::<i64>(),
    );
    (what, place, progress)
        .prop_map(
            |(
                (id, reference, category, title, state, priority, level, public),
                (street, community, grid, place),
                (
                    assignee,
                    due,
                    overdue,
                    reopen_count,
                    closure_reason,
                    rated,
                    duplicate_of,
                    follower_count,
                    created_at,
                    updated_at,
                ),
            )| IssueSummary {
                id: IssueId(id),
                reference,
                category,
                title,
                state,
                priority,
                level,
                public,
                street_id: PlaceId(street),
                community_id: PlaceId(community),
                grid_id: PlaceId(grid),
                place_id: PlaceId(place),
                assignee,
                due_at: due.map(|(at, _)| at),
                due_clock: due.map(|(_, clock)| clock),
                overdue,
                reopen_count,
                closure_reason,
                rated,
                duplicate_of: duplicate_of.map(IssueId),
                follower_count,
                created_at,
                updated_at,
                allowed_actions: None,
            },
        )
        .prop_flat_map(|summary| {
            let kinds =
                prop::collection::vec(prop::sample::select(IssueActionKind::ALL.to_vec()), 0..5);
            prop::option::of(kinds).prop_map(move |allowed_actions| IssueSummary {
                allowed_actions,
                ..summary.clone()
            })
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
        (request_id(), new_issue()).prop_map(|(id, issue)| ClientMsg::SubmitIssue { id, issue }),
        (request_id(), any::<i64>(), issue_action()).prop_map(|(id, issue, action)| {
            ClientMsg::IssueAction {
                id,
                issue: IssueId(issue),
                action,
            }
        }),
        (request_id(), any::<i64>(), room_action()).prop_map(|(id, meeting, action)| {
            ClientMsg::RoomAction {
                id,
                meeting: MeetingId(meeting),
                action,
            }
        }),
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
        issue_summary().prop_map(|issue| ReplyResult::Issue {
            issue: Box::new(issue)
        }),
        (any::<i64>(), any::<u32>()).prop_map(|(meeting, seq)| ReplyResult::RoomDone {
            meeting: MeetingId(meeting),
            seq,
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
        (channel(), error_code(), any::<String>()).prop_map(|(channel, code, message)| {
            ServerMsg::Unsubscribed {
                channel,
                code,
                message,
            }
        }),
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

    /// The HTTP bodies of photos and statistics, whose absent figures must stay absent, not
    /// turn into zeros.
    #[test]
    fn photo_and_statistics_bodies_round_trip(
        photo in photo_info(),
        report in stats_report(),
        counters in counters(),
    ) {
        let back: PhotoInfo = serde_json::from_str(&serde_json::to_string(&photo).unwrap()).unwrap();
        prop_assert_eq!(back, photo);
        let back: StatsReport =
            serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
        prop_assert_eq!(back, report);
        let back: Counters = serde_json::from_str(&serde_json::to_string(&counters).unwrap()).unwrap();
        prop_assert_eq!(back, counters);
    }

    /// What a `room.event` carries: the log entry, whose absent actor and empty data must stay
    /// absent.
    #[test]
    fn room_event_info_round_trips(entry in room_event_info()) {
        let back: RoomEventInfo = serde_json::from_str(&serde_json::to_string(&entry).unwrap()).unwrap();
        prop_assert_eq!(back, entry);
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

/// The `kind` of an action. Exhaustive, so a new action fails to compile here until it is
/// named, and then `strategies_reach_every_variant` asks for a strategy arm.
fn action_kind(action: &IssueAction) -> &'static str {
    match action {
        IssueAction::Accept => "accept",
        IssueAction::Reject { .. } => "reject",
        IssueAction::Merge { .. } => "merge",
        IssueAction::Dispatch { .. } => "dispatch",
        IssueAction::Acknowledge => "acknowledge",
        IssueAction::Return { .. } => "return",
        IssueAction::Escalate { .. } => "escalate",
        IssueAction::PostUpdate { .. } => "post_update",
        IssueAction::Complete { .. } => "complete",
        IssueAction::DeclareUnfixable { .. } => "declare_unfixable",
        IssueAction::VerifyOk => "verify_ok",
        IssueAction::VerifyFail { .. } => "verify_fail",
        IssueAction::Rate { .. } => "rate",
        IssueAction::Withdraw => "withdraw",
        IssueAction::Follow => "follow",
        IssueAction::Unfollow => "unfollow",
        IssueAction::MeToo { .. } => "me_too",
    }
}

const ACTION_KINDS: [&str; 17] = [
    "accept",
    "reject",
    "merge",
    "dispatch",
    "acknowledge",
    "return",
    "escalate",
    "post_update",
    "complete",
    "declare_unfixable",
    "verify_ok",
    "verify_fail",
    "rate",
    "withdraw",
    "follow",
    "unfollow",
    "me_too",
];

/// The `kind` of a room action, exhaustive like `action_kind`.
fn room_action_kind(action: &RoomAction) -> &'static str {
    match action {
        RoomAction::Start => "start",
        RoomAction::End => "end",
        RoomAction::PublishMinutes { .. } => "publish_minutes",
        RoomAction::Lock => "lock",
        RoomAction::Unlock => "unlock",
        RoomAction::SetMode { .. } => "set_mode",
        RoomAction::RaiseHand => "raise_hand",
        RoomAction::LowerHand => "lower_hand",
        RoomAction::GiveFloor { .. } => "give_floor",
        RoomAction::TakeFloor => "take_floor",
        RoomAction::Mute { .. } => "mute",
        RoomAction::Unmute { .. } => "unmute",
        RoomAction::Remove { .. } => "remove",
        RoomAction::Readmit { .. } => "readmit",
        RoomAction::Say { .. } => "say",
        RoomAction::React { .. } => "react",
        RoomAction::AppendMinutes { .. } => "append_minutes",
        RoomAction::SetAgendaItem { .. } => "set_agenda_item",
        RoomAction::OpenVote { .. } => "open_vote",
        RoomAction::CastVote { .. } => "cast_vote",
        RoomAction::CloseVote { .. } => "close_vote",
        RoomAction::Publish => "publish",
        RoomAction::Cancel => "cancel",
        RoomAction::ProposeAgreement { .. } => "propose_agreement",
        RoomAction::ConfirmAgreement => "confirm_agreement",
        RoomAction::RecordFailure { .. } => "record_failure",
        RoomAction::PublishDecision { .. } => "publish_decision",
        RoomAction::Statement { .. } => "statement",
    }
}

const ROOM_ACTION_KINDS: [&str; 28] = [
    "start",
    "end",
    "publish_minutes",
    "lock",
    "unlock",
    "set_mode",
    "raise_hand",
    "lower_hand",
    "give_floor",
    "take_floor",
    "mute",
    "unmute",
    "remove",
    "readmit",
    "say",
    "react",
    "append_minutes",
    "set_agenda_item",
    "open_vote",
    "cast_vote",
    "close_vote",
    "publish",
    "cancel",
    "propose_agreement",
    "confirm_agreement",
    "record_failure",
    "publish_decision",
    "statement",
];

fn samples<S: Strategy>(strategy: &S, n: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

/// A round trip only proves something for the variants the strategies produce.
#[test]
fn strategies_reach_every_variant() {
    let mut actions = BTreeSet::new();
    for action in samples(&issue_action(), 2000) {
        let tag = serde_json::to_value(&action).unwrap()["kind"].clone();
        assert_eq!(tag, action_kind(&action));
        actions.insert(action_kind(&action));
    }
    assert_eq!(actions, BTreeSet::from(ACTION_KINDS));

    let mut room_actions = BTreeSet::new();
    for action in samples(&room_action(), 2000) {
        let tag = serde_json::to_value(&action).unwrap()["kind"].clone();
        assert_eq!(tag, room_action_kind(&action));
        room_actions.insert(room_action_kind(&action));
    }
    assert_eq!(room_actions, BTreeSet::from(ROOM_ACTION_KINDS));

    let types: BTreeSet<&str> = samples(&client_msg(), 2000)
        .iter()
        .map(ClientMsg::type_name)
        .collect();
    assert_eq!(types, BTreeSet::from(ClientMsg::TYPES));

    let replies = samples(&reply_result(), 2000);
    assert!(
        replies
            .iter()
            .any(|r| matches!(r, ReplyResult::Issue { .. }))
    );
    assert!(
        replies
            .iter()
            .any(|r| matches!(r, ReplyResult::RoomDone { .. }))
    );

    let frames = samples(&server_msg(), 2000);
    assert!(
        frames
            .iter()
            .any(|m| matches!(m, ServerMsg::Unsubscribed { .. }))
    );
}
