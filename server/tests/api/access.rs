//! Who may subscribe to what, over real sockets, for every demo role and channel kind.

use crate::helpers::*;
use hehe_protocol::{AccountId, Channel, ErrorCode, IssueId};

/// Allowed (true) or refused for each demo account, in the order of `ACCOUNTS`.
const ACCOUNTS: [&str; 9] = [
    "resident",
    "resident2",
    "lead",
    "worker",
    "official",
    "chief",
    "lakeside",
    "ops",
    "admin",
];

struct Case {
    name: &'static str,
    channel: Channel,
    allowed: [bool; 9],
}

fn cases(app: &TestApp) -> Vec<Case> {
    let d = &app.demo;
    let (y, n) = (true, false);
    vec![
        Case {
            name: "Hehe street",
            channel: Channel::Street(d.street),
            allowed: [y, y, y, y, y, y, n, n, y],
        },
        Case {
            name: "Lakeside street",
            channel: Channel::Street(d.other_street),
            allowed: [n, n, n, n, n, n, y, n, y],
        },
        Case {
            name: "Riverside home",
            channel: Channel::Home(d.communities[0]),
            allowed: [y, n, y, y, y, y, n, n, y],
        },
        Case {
            name: "Orchard home",
            channel: Channel::Home(d.communities[1]),
            allowed: [n, y, n, n, n, y, n, n, y],
        },
        Case {
            name: "Lakeside home",
            channel: Channel::Home(d.other_community),
            allowed: [n, n, n, n, n, n, y, n, y],
        },
        Case {
            name: "Riverside room",
            channel: Channel::Room(d.meeting),
            allowed: [y, n, y, y, y, y, n, n, y],
        },
        Case {
            name: "Lakeside room",
            channel: Channel::Room(d.other_meeting),
            allowed: [n, n, n, n, n, n, y, n, y],
        },
        Case {
            name: "resident's inbox",
            channel: Channel::User(d.account("resident")),
            allowed: [y, n, n, n, n, n, n, n, n],
        },
        Case {
            name: "admin's inbox",
            channel: Channel::User(d.account("admin")),
            allowed: [n, n, n, n, n, n, n, n, y],
        },
    ]
}

#[tokio::test]
async fn every_role_reads_exactly_its_channels() {
    let app = spawn_app().await;
    let cases = cases(&app);
    for (i, username) in ACCOUNTS.iter().enumerate() {
        let mut conn = app.connect(username).await;
        let token = app.login(username).await.access_token;
        for case in &cases {
            let ws = conn.subscribe(case.channel, None).await;
            let http = app.http.messages(&token, case.channel, None, None).await;
            if case.allowed[i] {
                assert!(
                    ws.is_ok(),
                    "{username} should subscribe to {}: {ws:?}",
                    case.name
                );
                assert!(
                    http.is_ok(),
                    "{username} should list {}: {http:?}",
                    case.name
                );
            } else {
                let ws_code = ws.expect_err("refused").code();
                let http_code = http.expect_err("refused").code();
                assert_eq!(
                    ws_code,
                    Some(ErrorCode::Forbidden),
                    "{username} on {}",
                    case.name
                );
                assert_eq!(
                    http_code,
                    Some(ErrorCode::Forbidden),
                    "{username} on {} (http)",
                    case.name
                );
            }
        }
    }
}

#[tokio::test]
async fn channels_that_do_not_exist_are_not_found() {
    let app = spawn_app().await;
    let mut admin = app.connect("admin").await;
    let missing = [
        Channel::Issue(IssueId(1)),
        Channel::User(AccountId(999_999)),
        Channel::Room(hehe_protocol::MeetingId(999_999)),
        // A community's id named as a street, and a grid's as a home.
        Channel::Street(app.demo.communities[0]),
        Channel::Home(app.demo.grids[0]),
    ];
    for channel in missing {
        let err = admin.subscribe(channel, None).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::NotFound), "{channel}");
    }
}

#[tokio::test]
async fn only_officials_post_notices_and_nobody_posts_to_an_inbox() {
    let app = spawn_app().await;
    let d = &app.demo;
    let riverside = Channel::Home(d.communities[0]);
    let street = Channel::Street(d.street);
    let inbox = Channel::User(d.account("resident"));
    let expectations = [
        ("resident", riverside, false),
        ("lead", riverside, false),
        ("worker", riverside, false),
        ("official", riverside, true),
        ("chief", riverside, true),
        ("official", street, false),
        ("chief", street, true),
        ("ops", street, false),
        ("resident", inbox, false),
        ("admin", inbox, false),
        // Rooms are spoken in with the room's `say`, which knows who is muted.
        ("resident", Channel::Room(d.meeting), false),
        ("chief", Channel::Room(d.meeting), false),
    ];
    for (username, channel, allowed) in expectations {
        let mut conn = app.connect(username).await;
        let result = conn.post(channel, "hello").await;
        if allowed {
            assert!(
                result.is_ok(),
                "{username} posting to {channel}: {result:?}"
            );
        } else {
            assert_eq!(
                result.unwrap_err().code(),
                Some(ErrorCode::Forbidden),
                "{username} posting to {channel}"
            );
        }
    }
}
