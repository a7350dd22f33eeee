//! Golden fixtures pin the wire format: each JSON file under `tests/fixtures/` must decode to the
//! value written out here, encode back to the same JSON, and appear verbatim in `PROTOCOL.md`.
//! A renamed field or variant therefore breaks a test instead of silently breaking a client.

use hehe_protocol::http::{
    AccountInfo, ApiError, GrantInfo, LoginRequest, MessageData, MessageInfo, MessagePage,
    PlaceDetail, PlaceInfo, PlaceKind, RefreshRequest, TokenResponse,
};
use hehe_protocol::issue::{
    CategoryInfo, Clock, DeadlineInfo, GeoPoint, IssueAction, IssueActionKind, IssueDetail,
    IssueEventInfo, IssueState, IssueSummary, IssueUpdate, Level, NewIssue, PhotoInfo, PhotoKind,
    Priority, Satisfaction, Visibility,
};
use hehe_protocol::meeting::{NewVote, RoomAction, RoomEventInfo, RoomMode};
use hehe_protocol::ops::{LagWindow, LatencySummary, LoadtestProgress, NodeStats};
use hehe_protocol::places::{ImportCreated, ImportRefusal, ImportReport};
use hehe_protocol::stats::{
    CommunityCounters, Counters, Durations, IssueStats, Satisfaction as SatisfactionCounts,
    StatsReport,
};
use hehe_protocol::{
    AccountId, AccountSummary, Channel, ClientMsg, ErrorCode, Event, EventEncoder, IssueId,
    MeetingId, Member, PlaceId, Position, ReplyResult, RequestId, Role, ServerMsg,
    decode_client_msg,
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

// The issue fixtures follow one case: on Monday 5 January 2026 (times below are Beijing time)
// 王芳 reports the leaking drainage pipe behind building 5 (place 14, in grid 18 of community 12)
// and adds a photo of it, 陈静 accepts it and dispatches it to the grid worker 张强, who
// acknowledges it; her neighbour 赵敏, about to report the same leak, finds it among the similar
// issues and says "me too". Drainage is a yellow category, so its deadlines count working days;
// the 5th and 6th are both working days.
const LEAK: IssueId = IssueId(7);
const LEAK_EPOCH: &str = "tgwbnqse";
const BUILDING_5: PlaceId = PlaceId(14);
const GRID: PlaceId = PlaceId(18);
const LEAK_TITLE: &str = "5号楼后面的排水管漏水";
const LEAK_DESCRIPTION: &str =
    "5号楼后门外的排水管接口裂了，一直往外漏水，地面结了冰，老人进出容易滑倒。";
/// 08:42, when the accept clock starts (4 working hours).
const SUBMITTED_AT: i64 = 1_767_573_720_000;
/// 08:44, when 王芳 adds her photo of the leak.
const PHOTO_AT: i64 = 1_767_573_840_000;
/// 09:15.
const ACCEPTED_AT: i64 = 1_767_575_700_000;
/// 09:20, when the acknowledge (4 h) and resolve (24 h) clocks start.
const DISPATCHED_AT: i64 = 1_767_576_000_000;
/// 09:25.
const UPDATED_AT: i64 = 1_767_576_300_000;
/// 10:02.
const ACKNOWLEDGED_AT: i64 = 1_767_578_520_000;
/// Acknowledge deadline: 13:20, warning at 80 % (12:32).
const ACKNOWLEDGE_DUE: i64 = 1_767_590_400_000;
/// Resolve deadline: Tuesday 09:20, warning at 80 % (Tuesday 04:32).
const RESOLVE_DUE: i64 = 1_767_662_400_000;

fn chen_jing() -> Member {
    Member {
        account_id: AccountId(23),
        name: "陈静".into(),
        role: Some(Role::CommunityOfficial),
    }
}

fn zhang_qiang() -> Member {
    Member {
        account_id: AccountId(56),
        name: "张强".into(),
        role: Some(Role::GridWorker),
    }
}

fn leak_location() -> GeoPoint {
    GeoPoint {
        lat: 30.2741,
        lon: 120.1551,
    }
}

/// The leak as it was raised, before anyone acted on it.
fn leak_submitted() -> IssueSummary {
    IssueSummary {
        id: LEAK,
        reference: "HH-000007".into(),
        category: "drainage".into(),
        title: LEAK_TITLE.into(),
        state: IssueState::Submitted,
        priority: Priority::Yellow,
        level: Level::Grid,
        public: true,
        street_id: PlaceId(3),
        community_id: PlaceId(12),
        grid_id: GRID,
        place_id: BUILDING_5,
        assignee: None,
        due_at: Some(1_767_588_120_000),
        due_clock: Some(Clock::Accept),
        overdue: false,
        reopen_count: 0,
        closure_reason: None,
        rated: None,
        duplicate_of: None,
        follower_count: 3,
        created_at: SUBMITTED_AT,
        updated_at: SUBMITTED_AT,
        allowed_actions: None,
    }
}

/// The leak right after 陈静 dispatched it: waiting for 张强 to acknowledge.
fn leak_dispatched() -> IssueSummary {
    IssueSummary {
        state: IssueState::Dispatched,
        assignee: Some(zhang_qiang()),
        due_at: Some(ACKNOWLEDGE_DUE),
        due_clock: Some(Clock::Acknowledge),
        updated_at: DISPATCHED_AT,
        ..leak_submitted()
    }
}

fn public_entry(
    seq: u32,
    kind: &str,
    (from, to): (Option<IssueState>, Option<IssueState>),
    actor: Member,
    text: Option<&str>,
    data: Value,
    time: i64,
) -> IssueEventInfo {
    IssueEventInfo {
        seq,
        kind: kind.into(),
        from,
        to,
        actor: Some(actor),
        visibility: Visibility::Public,
        text: text.map(Into::into),
        data,
        time,
    }
}

/// The leak once 张强 acknowledged it: in progress, against the resolve clock.
fn leak_in_progress() -> IssueSummary {
    IssueSummary {
        state: IssueState::InProgress,
        due_at: Some(RESOLVE_DUE),
        due_clock: Some(Clock::Resolve),
        updated_at: ACKNOWLEDGED_AT,
        ..leak_dispatched()
    }
}

/// The event of `server/event_issue_updated.json`: the sixth entry of the leak's timeline, after
/// the five of `leak_detail`.
fn leak_acknowledged_event() -> Event {
    let update = IssueUpdate {
        issue: leak_in_progress(),
        event: Some(public_entry(
            6,
            "acknowledged",
            (Some(IssueState::Dispatched), Some(IssueState::InProgress)),
            zhang_qiang(),
            None,
            Value::Null,
            ACKNOWLEDGED_AT,
        )),
    };
    Event {
        channel: Channel::Issue(LEAK),
        offset: 6,
        epoch: LEAK_EPOCH.into(),
        kind: "issue.updated".into(),
        time: ACKNOWLEDGED_AT,
        data: serde_json::to_value(update).unwrap(),
    }
}

/// 王芳's photo of the leak, as `POST /api/issues/7/photos` answered it (`http/photo_info.json`),
/// its location stripped.
fn leak_photo() -> PhotoInfo {
    PhotoInfo {
        id: 31,
        kind: PhotoKind::Before,
        url: "/api/issues/7/photos/31".into(),
        content_type: "image/jpeg".into(),
        size: 2_318_406,
        time: PHOTO_AT,
    }
}

fn leak_detail() -> IssueDetail {
    let deadline = |clock, started_at, warn_at, due_at, running| DeadlineInfo {
        clock,
        started_at,
        warn_at,
        due_at,
        running,
        warned: false,
        breached: false,
    };
    IssueDetail {
        // As 王芳, its reporter, reads it: she may withdraw it while it is being worked on.
        issue: IssueSummary {
            updated_at: UPDATED_AT,
            allowed_actions: Some(vec![IssueActionKind::Withdraw, IssueActionKind::Unfollow]),
            ..leak_dispatched()
        },
        description: LEAK_DESCRIPTION.into(),
        location: Some(leak_location()),
        reporter: Some(wang_fang()),
        resolution: None,
        deadlines: vec![
            // Accepted in time, so the accept clock stopped before its warning.
            deadline(
                Clock::Accept,
                SUBMITTED_AT,
                1_767_585_240_000,
                1_767_588_120_000,
                false,
            ),
            deadline(
                Clock::Acknowledge,
                DISPATCHED_AT,
                1_767_587_520_000,
                ACKNOWLEDGE_DUE,
                true,
            ),
            deadline(
                Clock::Resolve,
                DISPATCHED_AT,
                1_767_645_120_000,
                RESOLVE_DUE,
                true,
            ),
        ],
        timeline: vec![
            public_entry(
                1,
                "submitted",
                (None, Some(IssueState::Submitted)),
                wang_fang(),
                None,
                json!({"category": "drainage", "on_behalf": false, "priority": "yellow"}),
                SUBMITTED_AT,
            ),
            public_entry(
                2,
                "photo",
                (None, None),
                wang_fang(),
                None,
                json!({ "photo": leak_photo() }),
                PHOTO_AT,
            ),
            public_entry(
                3,
                "accepted",
                (Some(IssueState::Submitted), Some(IssueState::Accepted)),
                chen_jing(),
                None,
                Value::Null,
                ACCEPTED_AT,
            ),
            public_entry(
                4,
                "dispatched",
                (Some(IssueState::Accepted), Some(IssueState::Dispatched)),
                chen_jing(),
                None,
                json!({"assignee": 56}),
                DISPATCHED_AT,
            ),
            public_entry(
                5,
                "update",
                (None, None),
                chen_jing(),
                Some("已请网格员张强上午到现场查看，修好之前请大家绕开5号楼后门的结冰路面。"),
                Value::Null,
                UPDATED_AT,
            ),
        ],
        // The reporter is asking, and follows her own issue.
        following: true,
        submissions: 1,
        photos: vec![leak_photo()],
    }
}

/// The counters of the street's live board right after 张强 acknowledged the leak
/// (`server/event_stats_counters.json`). Issues 1 to 7 exist by then; five of them are open.
fn counters_event() -> Event {
    let community = |id, open, overdue| CommunityCounters {
        community_id: PlaceId(id),
        open,
        overdue,
    };
    let counters = Counters {
        street_id: PlaceId(3),
        open: 5,
        overdue: 1,
        communities: vec![community(12, 3, 1), community(13, 2, 0)],
    };
    Event {
        channel: STREET,
        offset: 217,
        epoch: "hvmcrdjp".into(),
        kind: "stats.counters".into(),
        time: ACKNOWLEDGED_AT,
        data: serde_json::to_value(counters).unwrap(),
    }
}

/// One node's report on the ops channel (`server/event_ops_node_stats.json`), a day after it
/// started.
fn node_stats_event() -> Event {
    let stats = NodeStats {
        node: "10.0.3.11:8080".into(),
        time: 1_767_578_520_000,
        uptime_secs: 86_400,
        connections: 12_840,
        subscriptions: 25_680,
        frames_in: 3_311_842,
        frames_out: 48_112_090,
        events_published: 402_113,
        events_delivered: 47_998_512,
        outbox_drops: 12,
        closes: [(4000, 310), (4001, 2)].into(),
        rate_limited: Default::default(),
        bus_lag: LagWindow {
            count: 1480,
            mean_ms: 0.6,
            max_ms: 4.0,
        },
        cpu_seconds: 5120.5,
        resident_bytes: 183_500_800,
        notify_pending: 37,
        notify_dead: 2,
        notify_oldest_due_ms: 1250,
        notifications_created: 91_344,
    };
    Event {
        channel: Channel::OPS,
        offset: 5071,
        epoch: "qpzkvmwa".into(),
        kind: "node.stats".into(),
        time: 1_767_578_520_004,
        data: serde_json::to_value(stats).unwrap(),
    }
}

/// Thirty seconds into a 5,000-member room run of the load test.
fn loadtest_progress() -> LoadtestProgress {
    LoadtestProgress {
        run: "room-5000-20".into(),
        scenario: "room".into(),
        elapsed_secs: 30.0,
        connections: 5000,
        sent: 600,
        received: 3_000_000,
        deliveries_per_sec: 100_000.0,
        latency_ms: LatencySummary {
            p50: 3.1,
            p90: 7.9,
            p99: 14.2,
            max: 31.0,
        },
        lost: 0,
        duplicates: 0,
        out_of_order: 0,
        errors: 0,
        closes: Default::default(),
        done: false,
    }
}

fn durations(count: u32, median_ms: i64, p90_ms: i64) -> Durations {
    Durations {
        count,
        median_ms: Some(median_ms),
        p90_ms: Some(p90_ms),
    }
}

/// Minutes and hours in milliseconds, for durations.
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// 陈静's January report for community 12 (`http/stats_report.json`): the community and its
/// grids 18 and 19, over the issues raised since New Year, computed on Monday 2 February 08:30.
fn january_report() -> StatsReport {
    let grid_18 = IssueStats {
        place_id: GRID,
        total: 21,
        open: 4,
        overdue: 1,
        fixed: 13,
        time_to_accept: durations(17, 33 * MINUTE, 5 * HOUR + 40 * MINUTE),
        time_to_resolve: durations(15, 27 * HOUR, 74 * HOUR),
        // 12 of 15 resolved in time; 3 of them were reopened, the leak among them.
        on_time_rate: Some(12.0 / 15.0),
        satisfaction: SatisfactionCounts {
            rated: 11,
            satisfied: 7,
            basic: 3,
            unsatisfied: 1,
            not_rated: 3,
        },
        reopen_rate: Some(3.0 / 15.0),
    };
    let grid_19 = IssueStats {
        place_id: PlaceId(19),
        total: 16,
        open: 3,
        overdue: 0,
        fixed: 9,
        time_to_accept: durations(13, 45 * MINUTE, 4 * HOUR + 5 * MINUTE),
        time_to_resolve: durations(10, 31 * HOUR, 52 * HOUR),
        on_time_rate: Some(9.0 / 10.0),
        satisfaction: SatisfactionCounts {
            rated: 8,
            satisfied: 6,
            basic: 2,
            unsatisfied: 0,
            not_rated: 2,
        },
        reopen_rate: Some(1.0 / 10.0),
    };
    let community = IssueStats {
        place_id: PlaceId(12),
        total: 37,
        open: 7,
        overdue: 1,
        fixed: 22,
        time_to_accept: durations(30, 40 * MINUTE, 5 * HOUR + 5 * MINUTE),
        time_to_resolve: durations(25, 28 * HOUR, 60 * HOUR),
        on_time_rate: Some(21.0 / 25.0),
        satisfaction: SatisfactionCounts {
            rated: 19,
            satisfied: 13,
            basic: 5,
            unsatisfied: 1,
            not_rated: 5,
        },
        reopen_rate: Some(4.0 / 25.0),
    };
    StatsReport {
        overall: community,
        parts: vec![grid_18, grid_19],
        // Monday 2 February 2026, 08:30.
        computed_at: 1_769_992_200_000,
    }
}

/// A building lead's report for a neighbour, as in `http/new_issue.json`, and the answer to it.
fn clutter_report() -> NewIssue {
    NewIssue {
        category: "clutter".into(),
        title: "5号楼二单元楼道堆满杂物".into(),
        description: "二单元一到三楼的楼道堆着旧家具和纸箱，把消防通道堵住了。赵敏阿姨腿脚不便，托我代为反映。".into(),
        place_id: BUILDING_5,
        location: None,
        public: true,
        // Clutter defaults to blue; a blocked fire escape is more urgent.
        priority: Some(Priority::Yellow),
        on_behalf_of: Some(AccountId(108)),
    }
}

fn clutter_submitted() -> IssueSummary {
    // 14:10, so the 4-hour accept clock runs until 18:10.
    let at = 1_767_593_400_000;
    IssueSummary {
        id: IssueId(8),
        reference: "HH-000008".into(),
        category: "clutter".into(),
        title: "5号楼二单元楼道堆满杂物".into(),
        due_at: Some(1_767_607_800_000),
        follower_count: 0,
        created_at: at,
        updated_at: at,
        ..leak_submitted()
    }
}

// The room fixtures follow the hearing on the leak that community 12 holds on Thursday
// 8 January 2026 (Beijing time) in meeting 5: should the maintenance fund pay for replacing the
// whole drainage pipe behind building 5 rather than its joints once more? 陈静 chairs. 王芳
// raises her hand and is given the floor first; later the residents vote, anonymously and with
// the tally hidden until the vote closes. Nothing but log entries reaches the room's channel
// before the result, so up to then each entry's channel offset equals its seq.
const HEARING: MeetingId = MeetingId(5);
const HEARING_ROOM: Channel = Channel::Room(HEARING);
const HEARING_EPOCH: &str = "rvkdnbqe";
/// The ninth entry of the hearing's log: 陈静 gives 王芳 the floor, at 19:12:30.
const FLOOR_GIVEN_SEQ: u32 = 9;
const FLOOR_GIVEN_AT: i64 = 1_767_870_750_000;
/// 19:41, when 陈静 closes vote 1 (the log's 41st entry, 23 ballots after it opened).
const VOTE_CLOSED_AT: i64 = 1_767_872_460_000;

/// The vote of the hearing, as 陈静 opens it.
fn fund_vote() -> NewVote {
    NewVote {
        question: "是否动用专项维修资金，整段更换5号楼后面的排水管？".into(),
        options: vec!["同意".into(), "不同意".into(), "弃权".into()],
        multiple: false,
        anonymous: true,
        hide_results: true,
    }
}

/// The event of `server/event_room_floor_given.json`: the log entry as the room's channel
/// carries it, its `data` being the entry itself.
fn floor_given_event() -> Event {
    let entry = RoomEventInfo {
        meeting: HEARING,
        seq: FLOOR_GIVEN_SEQ,
        actor: Some(chen_jing().account_id),
        kind: "floor_given".into(),
        data: json!({"kind": "floor_given", "to": 42}),
        time: FLOOR_GIVEN_AT,
    };
    Event {
        channel: HEARING_ROOM,
        offset: u64::from(FLOOR_GIVEN_SEQ),
        epoch: HEARING_EPOCH.into(),
        kind: "room.event".into(),
        time: FLOOR_GIVEN_AT,
        data: serde_json::to_value(entry).unwrap(),
    }
}

/// The event of `server/event_room_vote_result.json`, right after the `vote_closed` entry
/// (offset 41). The server writes the body from a `json!` object, whose keys serde_json sorts.
fn vote_result_event() -> Event {
    Event {
        channel: HEARING_ROOM,
        offset: 42,
        epoch: HEARING_EPOCH.into(),
        kind: "room.vote_result".into(),
        time: VOTE_CLOSED_AT,
        data: json!({"vote": 1, "counts": [17, 4, 2], "ballots": 23}),
    }
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
        (
            "submit_issue",
            ClientMsg::SubmitIssue {
                id: rid("r10"),
                issue: NewIssue {
                    category: "drainage".into(),
                    title: LEAK_TITLE.into(),
                    description: LEAK_DESCRIPTION.into(),
                    place_id: BUILDING_5,
                    location: Some(leak_location()),
                    public: true,
                    priority: None,
                    on_behalf_of: None,
                },
            },
        ),
        (
            "issue_action_dispatch",
            ClientMsg::IssueAction {
                id: rid("r11"),
                issue: LEAK,
                action: IssueAction::Dispatch {
                    assignee: AccountId(56),
                },
            },
        ),
        (
            "issue_action_rate",
            ClientMsg::IssueAction {
                id: rid("r12"),
                issue: LEAK,
                action: IssueAction::Rate {
                    resolved: false,
                    satisfaction: Some(Satisfaction::Unsatisfied),
                    stars: Some(2),
                    comment: Some("接口换了，可一下雨还是往外渗水，楼后面的地又结冰了。".into()),
                },
            },
        ),
        (
            "issue_action_me_too",
            ClientMsg::IssueAction {
                id: rid("r13"),
                issue: LEAK,
                action: IssueAction::MeToo {
                    note: Some(
                        "二单元这边也看到了，楼后那段路结了冰，我腿脚不便，根本不敢走。".into(),
                    ),
                },
            },
        ),
        (
            "room_action_give_floor",
            ClientMsg::RoomAction {
                id: rid("r14"),
                meeting: HEARING,
                action: RoomAction::GiveFloor {
                    to: Some(wang_fang().account_id),
                },
            },
        ),
        (
            "room_action_cast_vote",
            ClientMsg::RoomAction {
                id: rid("r15"),
                meeting: HEARING,
                action: RoomAction::CastVote {
                    vote: 1,
                    choices: vec![0],
                },
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
            "reply_issue",
            reply(
                "r11",
                // 陈静, the community official who dispatched it, may go on with these.
                ReplyResult::Issue {
                    issue: Box::new(IssueSummary {
                        allowed_actions: Some(vec![
                            IssueActionKind::PostUpdate,
                            IssueActionKind::PostNote,
                            IssueActionKind::Escalate,
                            IssueActionKind::Follow,
                        ]),
                        ..leak_dispatched()
                    }),
                },
            ),
        ),
        (
            "reply_room_done",
            reply(
                "r14",
                ReplyResult::RoomDone {
                    meeting: HEARING,
                    seq: FLOOR_GIVEN_SEQ,
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
            "event_issue_updated",
            ServerMsg::Event(leak_acknowledged_event()),
        ),
        ("event_stats_counters", ServerMsg::Event(counters_event())),
        ("event_ops_node_stats", ServerMsg::Event(node_stats_event())),
        (
            "event_room_floor_given",
            ServerMsg::Event(floor_given_event()),
        ),
        (
            "event_room_vote_result",
            ServerMsg::Event(vote_result_event()),
        ),
        (
            "presence",
            ServerMsg::Presence {
                channel: ROOM,
                joins: vec![zhao_min()],
                leaves: vec![],
            },
        ),
        (
            "unsubscribed",
            ServerMsg::Unsubscribed {
                channel: HEARING_ROOM,
                code: ErrorCode::Forbidden,
                message: "you were removed".into(),
            },
        ),
        ("ping", ServerMsg::Ping),
        ("pong", ServerMsg::Pong),
    ]
}

/// 王芳's community, as `GET /api/places/12` answers it.
fn lakeside_detail() -> PlaceDetail {
    let place = |id, kind, name: &str, name_zh: &str, parent_id: Option<i64>| PlaceInfo {
        id: PlaceId(id),
        kind,
        name: name.into(),
        name_zh: name_zh.into(),
        parent_id: parent_id.map(PlaceId),
        archived: false,
        units: None,
        floors: None,
    };
    PlaceDetail {
        place: place(
            12,
            PlaceKind::Community,
            "Lakeside Community",
            "湖畔社区",
            Some(3),
        ),
        ancestors: vec![place(3, PlaceKind::Street, "Hehe Street", "和合街道", None)],
        children: vec![
            place(
                21,
                PlaceKind::Grid,
                "Lakeside grid 1",
                "湖畔社区第1网格",
                Some(12),
            ),
            place(
                22,
                PlaceKind::Grid,
                "Lakeside grid 2",
                "湖畔社区第2网格",
                Some(12),
            ),
        ],
    }
}

fn resident_account() -> AccountInfo {
    AccountInfo {
        id: AccountId(42),
        username: "wang.fang".into(),
        display_name: "王芳".into(),
        romanised_name: None,
        grants: vec![GrantInfo {
            role: Role::Resident,
            place: Some(PlaceInfo {
                id: PlaceId(12),
                kind: PlaceKind::Community,
                name: "Lakeside Community".into(),
                name_zh: "湖畔社区".into(),
                parent_id: Some(PlaceId(3)),
                archived: false,
                units: None,
                floors: None,
            }),
            channels: vec![HOME, STREET],
        }],
    }
}

/// HTTP bodies, each checked against its own type.
fn check_http_fixtures(seen: &mut BTreeSet<String>) {
    check(
        seen,
        "http/import_report",
        ImportReport {
            dry_run: true,
            applied: false,
            lines: 3,
            created: [
                ("compound", "金桂小区", "东湖街道/桂花社区/金桂小区"),
                ("grid", "一网格", "东湖街道/桂花社区/金桂小区/一网格"),
                ("building", "1栋", "东湖街道/桂花社区/金桂小区/一网格/1栋"),
            ]
            .into_iter()
            .map(|(kind, name_zh, path)| ImportCreated {
                line: 2,
                kind: kind.into(),
                name_zh: name_zh.into(),
                path: path.into(),
                id: None,
            })
            .collect(),
            unchanged: 1,
            refused: vec![ImportRefusal {
                line: 4,
                code: "outside_scope".into(),
                message: "您的角色不能在此处新建网格“二网格”。Your role does not let you create \
                          the grid \"二网格\" there."
                    .into(),
            }],
        },
    );
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
                    archived: false,
                    units: None,
                    floors: None,
                }),
                channels: vec![
                    Channel::User(AccountId(7)),
                    STREET,
                    HOME,
                    Channel::Home(PlaceId(13)),
                ],
            },
            GrantInfo {
                role: Role::Resident,
                place: Some(PlaceInfo {
                    id: PlaceId(13),
                    kind: PlaceKind::Community,
                    name: "Orchard Community".into(),
                    name_zh: "果园社区".into(),
                    parent_id: Some(PlaceId(3)),
                    archived: false,
                    units: None,
                    floors: None,
                }),
                channels: vec![
                    Channel::User(AccountId(7)),
                    STREET,
                    Channel::Home(PlaceId(13)),
                ],
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
    check(
        seen,
        "http/category",
        CategoryInfo {
            code: "drainage".into(),
            name: "Drainage".into(),
            name_zh: "排水管道".into(),
            default_priority: Priority::Yellow,
            requires_after_photo: true,
            requires_verification: true,
        },
    );
    check(seen, "http/new_issue", clutter_report());
    check(seen, "http/issue_summary", clutter_submitted());
    check(seen, "http/issue_detail", leak_detail());
    check(seen, "http/photo_info", leak_photo());
    // What 赵敏 is shown at 10:30 before reporting the leak from building 5 herself.
    check(seen, "http/similar", vec![leak_in_progress()]);
    check(seen, "http/stats_report", january_report());
    check(seen, "http/loadtest_progress", loadtest_progress());
    check(seen, "http/place_detail", lakeside_detail());
    check(
        seen,
        "http/issue_action",
        IssueAction::PostUpdate {
            text: "物业维修班明早八点到场，换接口前要关5号楼总阀，停水通知请楼道长帮忙贴。".into(),
            internal: true,
        },
    );
    check_people_fixtures(seen);
    check_notify_fixtures(seen);
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

/// Every `result.kind` of a reply. A new `ReplyResult` variant breaks the match in
/// `reply_kind`; give it its kind here and a fixture, or the test below fails.
const REPLY_KINDS: [&str; 8] = [
    "authenticated",
    "refreshed",
    "subscribed",
    "unsubscribed",
    "presence",
    "posted",
    "issue",
    "room_done",
];

/// Every `type` of a server frame, kept in step with `ServerMsg` like `REPLY_KINDS`.
const SERVER_TYPES: [&str; 7] = [
    "reply",
    "error",
    "event",
    "presence",
    "unsubscribed",
    "ping",
    "pong",
];

fn reply_kind(result: &ReplyResult) -> &'static str {
    match result {
        ReplyResult::Authenticated { .. } => "authenticated",
        ReplyResult::Refreshed { .. } => "refreshed",
        ReplyResult::Subscribed { .. } => "subscribed",
        ReplyResult::Unsubscribed { .. } => "unsubscribed",
        ReplyResult::Presence { .. } => "presence",
        ReplyResult::Posted { .. } => "posted",
        ReplyResult::Issue { .. } => "issue",
        ReplyResult::RoomDone { .. } => "room_done",
    }
}

fn server_type(msg: &ServerMsg) -> &'static str {
    match msg {
        ServerMsg::Reply { .. } => "reply",
        ServerMsg::Error { .. } => "error",
        ServerMsg::Event(_) => "event",
        ServerMsg::Presence { .. } => "presence",
        ServerMsg::Unsubscribed { .. } => "unsubscribed",
        ServerMsg::Ping => "ping",
        ServerMsg::Pong => "pong",
    }
}

#[test]
fn every_reply_kind_and_frame_type_has_a_fixture() {
    let mut kinds = BTreeSet::new();
    let mut server_types = BTreeSet::new();
    for (name, msg) in server_fixtures() {
        let json = serde_json::to_value(&msg).unwrap();
        // The names above are the ones on the wire, not just labels of this test.
        assert_eq!(json["type"], server_type(&msg), "{name}");
        server_types.insert(server_type(&msg));
        if let ServerMsg::Reply { result, .. } = &msg {
            assert_eq!(json["result"]["kind"], reply_kind(result), "{name}");
            kinds.insert(reply_kind(result));
        }
    }
    assert_eq!(kinds, BTreeSet::from(REPLY_KINDS));
    assert_eq!(server_types, BTreeSet::from(SERVER_TYPES));

    let mut client_types = BTreeSet::new();
    for (name, msg) in client_fixtures() {
        let json = serde_json::to_value(&msg).unwrap();
        assert_eq!(json["type"], msg.type_name(), "{name}");
        client_types.insert(msg.type_name());
    }
    assert_eq!(client_types, BTreeSet::from(ClientMsg::TYPES));
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

/// Checks that the server's way of writing an event, from `data` serialized once from its
/// typed body `T`, gives exactly the fixture's frame.
fn assert_encoder_matches<T>(fixture: &str, e: &Event)
where
    T: Serialize + DeserializeOwned,
{
    let text = read_fixture(fixture);
    let decoded_fixture: ServerMsg = serde_json::from_str(&text).unwrap();
    let body: T = serde_json::from_value(e.data.clone()).unwrap();
    let data = serde_json::value::to_raw_value(&body).unwrap();
    let encoded = EventEncoder::encode(e.channel, e.offset, &e.epoch, &e.kind, e.time, &data);
    let decoded: ServerMsg = serde_json::from_str(&encoded).unwrap();
    assert_eq!(decoded, decoded_fixture, "{fixture}");
    // Same keys in the same order: what a browser sees is byte for byte the documented frame.
    assert_eq!(encoded, squeeze(&text), "{fixture}");
}

#[test]
fn event_encoder_matches_the_event_fixtures() {
    assert_encoder_matches::<MessageData>("server/event", &live_event());
    assert_encoder_matches::<IssueUpdate>("server/event_issue_updated", &leak_acknowledged_event());
    assert_encoder_matches::<Counters>("server/event_stats_counters", &counters_event());
    assert_encoder_matches::<NodeStats>("server/event_ops_node_stats", &node_stats_event());
    assert_encoder_matches::<RoomEventInfo>("server/event_room_floor_given", &floor_given_event());
    assert_encoder_matches::<Value>("server/event_room_vote_result", &vote_result_event());
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

#[test]
fn issue_event_data_is_an_issue_update() {
    let e = leak_acknowledged_event();
    assert_eq!(e.channel, Channel::Issue(LEAK));
    let update: IssueUpdate = serde_json::from_value(e.data.clone()).unwrap();
    let entry = update
        .event
        .expect("issue.updated carries its timeline entry");
    // The summary is the issue after the entry, so the two must agree.
    assert_eq!(entry.to, Some(update.issue.state));
    assert_eq!(update.issue.updated_at, entry.time);
}

#[test]
fn the_photo_entry_carries_the_photo_of_the_detail() {
    let detail = leak_detail();
    let seqs: Vec<u32> = detail.timeline.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    let entry = &detail.timeline[1];
    assert_eq!(
        (entry.kind.as_str(), entry.from, entry.to),
        ("photo", None, None)
    );
    let photo: PhotoInfo = serde_json::from_value(entry.data["photo"].clone()).unwrap();
    assert_eq!(detail.photos, std::slice::from_ref(&photo));
    assert_eq!(entry.time, photo.time);
    assert_eq!(
        photo.url,
        format!("/api/issues/{}/photos/{}", LEAK.0, photo.id)
    );
    // The acknowledgement is the entry after the detail's last one.
    let update: IssueUpdate = serde_json::from_value(leak_acknowledged_event().data).unwrap();
    assert_eq!(update.event.map(|e| e.seq), Some(6));
}

#[test]
fn the_stats_report_adds_up() {
    let report = january_report();
    let overall = &report.overall;
    let sum = |figure: fn(&IssueStats) -> u32| report.parts.iter().map(figure).sum::<u32>();
    let counts: [fn(&IssueStats) -> u32; 11] = [
        |s| s.total,
        |s| s.open,
        |s| s.overdue,
        |s| s.fixed,
        |s| s.time_to_accept.count,
        |s| s.time_to_resolve.count,
        |s| s.satisfaction.rated,
        |s| s.satisfaction.satisfied,
        |s| s.satisfaction.basic,
        |s| s.satisfaction.unsatisfied,
        |s| s.satisfaction.not_rated,
    ];
    for (i, figure) in counts.into_iter().enumerate() {
        assert_eq!(figure(overall), sum(figure), "count {i}");
    }
    // Both rates are shares of the resolved issues, the ones `time_to_resolve` is over.
    let resolved_count = |s: &IssueStats, rate: Option<f64>| {
        (rate.unwrap() * f64::from(s.time_to_resolve.count)).round()
    };
    let rates: [fn(&IssueStats) -> Option<f64>; 2] = [|s| s.on_time_rate, |s| s.reopen_rate];
    for rate in rates {
        let parts: f64 = report
            .parts
            .iter()
            .map(|s| resolved_count(s, rate(s)))
            .sum();
        assert_eq!(resolved_count(overall, rate(overall)), parts);
    }
    for s in std::iter::once(overall).chain(&report.parts) {
        assert!(s.overdue <= s.open && s.open + s.fixed <= s.total, "{s:?}");
        assert!(s.time_to_resolve.count <= s.time_to_accept.count, "{s:?}");
        let sat = &s.satisfaction;
        assert_eq!(
            sat.rated,
            sat.satisfied + sat.basic + sat.unsatisfied,
            "{s:?}"
        );
        for d in [s.time_to_accept, s.time_to_resolve] {
            assert!(d.median_ms <= d.p90_ms, "{s:?}");
        }
    }
    let grids: Vec<PlaceId> = report.parts.iter().map(|s| s.place_id).collect();
    assert_eq!(
        grids,
        [GRID, PlaceId(19)],
        "the grids of community 12, by id"
    );
}

#[test]
fn the_counters_add_up() {
    let e = counters_event();
    assert_eq!(e.channel, STREET);
    let counters: Counters = serde_json::from_value(e.data).unwrap();
    let open: u32 = counters.communities.iter().map(|c| c.open).sum();
    let overdue: u32 = counters.communities.iter().map(|c| c.overdue).sum();
    assert_eq!((counters.open, counters.overdue), (open, overdue));
    // Issues 1 to 7 are all there is at 10:02; the leak is one of community 12's open ones.
    assert!(counters.open <= 7 && counters.communities[0].community_id == PlaceId(12));
}

#[test]
fn the_room_fixtures_tell_one_story() {
    let event = floor_given_event();
    let entry: RoomEventInfo = serde_json::from_value(event.data.clone()).unwrap();
    assert_eq!(Channel::Room(entry.meeting), event.channel);
    assert_eq!(entry.time, event.time);
    // `data` is the log entry itself, tagged by the entry's kind.
    assert_eq!(entry.data["kind"], entry.kind.as_str());
    assert_eq!(
        entry.actor,
        Some(chen_jing().account_id),
        "the chair gave the floor"
    );

    // The entry is what the chair's `give_floor` added, and the reply to it names its seq.
    let command = client_fixtures()
        .into_iter()
        .find(|(name, _)| *name == "room_action_give_floor")
        .unwrap()
        .1;
    let ClientMsg::RoomAction {
        id,
        meeting,
        action: RoomAction::GiveFloor { to: Some(to) },
    } = command
    else {
        panic!("room_action_give_floor gives the floor to someone: {command:?}");
    };
    assert_eq!(
        (meeting, json!(to.0)),
        (entry.meeting, entry.data["to"].clone())
    );
    let reply = server_fixtures()
        .into_iter()
        .find(|(name, _)| *name == "reply_room_done")
        .unwrap()
        .1;
    assert_eq!(
        reply,
        ServerMsg::Reply {
            id,
            result: ReplyResult::RoomDone {
                meeting,
                seq: entry.seq,
            },
        }
    );

    // The vote: one count per option and, a single choice, one per ballot; 王芳's ballot
    // chooses one of its options.
    let vote = fund_vote();
    let result = vote_result_event();
    assert_eq!(result.channel, HEARING_ROOM);
    assert!(result.offset > event.offset && result.time > event.time);
    let counts: Vec<u32> = serde_json::from_value(result.data["counts"].clone()).unwrap();
    assert_eq!(counts.len(), vote.options.len());
    assert!(!vote.multiple);
    assert_eq!(json!(counts.iter().sum::<u32>()), result.data["ballots"]);
    let ballot = client_fixtures()
        .into_iter()
        .find(|(name, _)| *name == "room_action_cast_vote")
        .unwrap()
        .1;
    let ClientMsg::RoomAction {
        meeting,
        action: RoomAction::CastVote {
            vote: number,
            choices,
        },
        ..
    } = ballot
    else {
        panic!("room_action_cast_vote casts a ballot: {ballot:?}");
    };
    assert_eq!(
        (meeting, json!(number)),
        (HEARING, result.data["vote"].clone())
    );
    assert!(choices.len() == 1 && (choices[0] as usize) < vote.options.len());
}

/// The `kind` of a room action. Exhaustive, so a new action fails to compile here until it is
/// named, given a sample in `one_room_action_of_each_kind` and a row in PROTOCOL.md.
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

fn one_room_action_of_each_kind() -> Vec<RoomAction> {
    let zhao = zhao_min().account_id;
    vec![
        RoomAction::Start,
        RoomAction::End,
        RoomAction::PublishMinutes {
            text: "会议纪要".into(),
        },
        RoomAction::Lock,
        RoomAction::Unlock,
        RoomAction::SetMode {
            mode: RoomMode::FloorOnly,
        },
        RoomAction::RaiseHand,
        RoomAction::LowerHand,
        RoomAction::GiveFloor { to: None },
        RoomAction::TakeFloor,
        RoomAction::Mute { who: zhao },
        RoomAction::Unmute { who: zhao },
        RoomAction::Remove { who: zhao },
        RoomAction::Readmit { who: zhao },
        RoomAction::Say {
            text: "我同意整段更换。".into(),
        },
        RoomAction::React {
            emoji: "👍".into()
        },
        RoomAction::AppendMinutes {
            text: "王芳介绍了排水管的情况。".into(),
        },
        RoomAction::SetAgendaItem { index: 1 },
        RoomAction::OpenVote { vote: fund_vote() },
        RoomAction::CastVote {
            vote: 1,
            choices: vec![0],
        },
        RoomAction::CloseVote { vote: 1 },
        RoomAction::Publish,
        RoomAction::Cancel,
        RoomAction::ProposeAgreement {
            terms: "401 repairs its pipe within two weeks.".into(),
            deadline: 1_768_000_000_000,
        },
        RoomAction::ConfirmAgreement,
        RoomAction::RecordFailure {
            referral: "The district's people's mediation committee.".into(),
            follow_up: Some(1_768_600_000_000),
        },
        RoomAction::PublishDecision {
            text: "The pipe is replaced in March; the building fund pays 70 %.".into(),
            follow_ups: vec!["Three quotes by 15 February".into()],
        },
        RoomAction::Statement {
            text: "The water comes through the ceiling after every rain.".into(),
        },
    ]
}

/// The `room_action` table of PROTOCOL.md names every kind of action, and nothing else.
#[test]
fn protocol_md_lists_every_room_action() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("PROTOCOL.md")).unwrap();
    let section = doc
        .split("\n### `room_action`\n")
        .nth(1)
        .expect("PROTOCOL.md documents room_action")
        .split("\n#")
        .next()
        .unwrap();
    let listed: BTreeSet<&str> = section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|row| row.split(" |").next())
        .flat_map(|cell| cell.split(", "))
        .map(|name| name.trim_matches('`'))
        .filter(|name| *name != "kind")
        .collect();
    let mut kinds = BTreeSet::new();
    for action in one_room_action_of_each_kind() {
        let json = serde_json::to_value(&action).unwrap();
        assert_eq!(json["kind"], room_action_kind(&action));
        assert_eq!(serde_json::from_value::<RoomAction>(json).unwrap(), action);
        assert!(kinds.insert(room_action_kind(&action)), "{action:?} twice");
    }
    assert_eq!(listed, kinds);
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

/// Enrolment (PROTOCOL.md 16.2): the invite 刘洋 made for 陈杰, an import of Riverside's people,
/// the staff of Riverside grid 1, and a resident as a grid worker finds him (number masked).
fn check_people_fixtures(seen: &mut BTreeSet<String>) {
    use hehe_protocol::people::{
        ImportedPerson, InviteCreated, InviteInfo, InviteState, PeopleImportReport, PersonInfo,
        StaffMember,
    };
    let place = |id, kind, name: &str, name_zh: &str, parent| PlaceInfo {
        id: PlaceId(id),
        kind,
        name: name.into(),
        name_zh: name_zh.into(),
        parent_id: Some(PlaceId(parent)),
        archived: false,
        units: None,
        floors: None,
    };
    let grid = place(3, PlaceKind::Grid, "Riverside grid 1", "滨河社区第1网格", 2);
    let code = "4k7m2q9x0c8v3b6n1h5j7w2e9r4t6y8z";
    check(
        seen,
        "http/invite_created",
        InviteCreated {
            invite: InviteInfo {
                id: 7,
                role: Role::GridWorker,
                place: Some(grid.clone()),
                display_name: "陈杰".into(),
                phone_masked: Some("+86139****1111".into()),
                email: None,
                invited_by: AccountId(6),
                created_at: 1_767_225_600_000,
                expires_at: 1_767_830_400_000,
                state: InviteState::Pending,
            },
            code: code.into(),
            link: format!("/#/invite/{code}"),
        },
    );
    check(
        seen,
        "http/people_import_report",
        PeopleImportReport {
            dry_run: false,
            applied: true,
            lines: 3,
            created: vec![
                ImportedPerson {
                    line: 2,
                    name: "王小明".into(),
                    role: Role::Resident,
                    place: PlaceId(2),
                    invited: false,
                },
                ImportedPerson {
                    line: 3,
                    name: "赵网格".into(),
                    role: Role::GridWorker,
                    place: PlaceId(6),
                    invited: true,
                },
            ],
            unchanged: 1,
            refused: vec![],
        },
    );
    check(
        seen,
        "http/staff",
        vec![StaffMember {
            account: AccountId(5),
            display_name: "Chen Jie 陈杰".into(),
            romanised_name: None,
            role: Role::GridWorker,
            place: grid,
            open_issues: 2,
        }],
    );
    check(
        seen,
        "http/people",
        vec![PersonInfo {
            id: AccountId(12),
            username: "p8613800000001".into(),
            display_name: "王小明".into(),
            romanised_name: Some("Wang Xiaoming".into()),
            phone: Some("+86138****0001".into()),
            email: None,
            disabled: false,
            grants: vec![GrantInfo {
                role: Role::Resident,
                place: Some(place(2, PlaceKind::Community, "Riverside", "滨河社区", 1)),
                channels: vec![],
            }],
        }],
    );
}

/// Notifications (PROTOCOL.md 17.3): a grid worker's inbox with one unread dispatch.
fn check_notify_fixtures(seen: &mut BTreeSet<String>) {
    use hehe_protocol::notify::{
        Inbox, Notification, NotificationKind, Subject, SubjectKind, SubjectUnread,
    };
    let subject = Subject {
        kind: SubjectKind::Issue,
        id: 12,
    };
    check(
        seen,
        "http/inbox",
        Inbox {
            notifications: vec![Notification {
                id: 41,
                kind: NotificationKind::IssueAssigned,
                subject,
                title: "下水管漏水".into(),
                body: "已派单给您，请尽快确认接单。".into(),
                urgent: false,
                created_at: 1_760_000_000_000,
                read_at: None,
            }],
            unread: 1,
            subjects: vec![SubjectUnread {
                subject,
                unread: 1,
                latest_at: 1_760_000_000_000,
            }],
            next_before: None,
        },
    );
}

/// A `node.stats` report of a node older than the notification figures still decodes, with
/// those figures 0.
#[test]
fn node_stats_without_notification_figures_decode() {
    let mut data = node_stats_event().data;
    let fields = data.as_object_mut().unwrap();
    for name in [
        "notify_pending",
        "notify_dead",
        "notify_oldest_due_ms",
        "notifications_created",
    ] {
        assert!(fields.remove(name).is_some(), "{name} is in the fixture");
    }
    let stats: NodeStats = serde_json::from_value(data).unwrap();
    assert_eq!(
        (
            stats.notify_pending,
            stats.notify_dead,
            stats.notify_oldest_due_ms,
            stats.notifications_created
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(stats.connections, 12_840);
}
