//! Issue 14's "done when", as a street office would live it: a server started with no demo on
//! an empty database, its first admin made by `create_first_admin` (what `hehe-server
//! create-admin` runs), then the documented API alone: a street with two communities, grids and
//! buildings from CSV; a chief, an official and a grid worker invited (by SMS through a real
//! gateway on 127.0.0.1, or by a code handed over) and signed in; a resident signing up and
//! approved live; an issue dispatched to the worker picked by name from the staff directory; a
//! forgotten password reset; and every step in the audit log.

use crate::helpers::WAIT;
use crate::residents::Gateway;
use hehe_client::{Connection, HttpClient};
use hehe_protocol::credentials::{CodePurpose, ResetRequest, SignupRequest};
use hehe_protocol::http::{PlaceInfo, PlaceKind, TokenResponse};
use hehe_protocol::issue::{IssueAction, NewIssue};
use hehe_protocol::people::{AcceptInvite, NewInvite};
use hehe_protocol::{Channel, ErrorCode, Event, EventKind, PlaceId, RequestId, Role};
use hehe_server::config::Config;

const PLACES: &str = "\
street,community,compound,grid,building,units,floors
东湖街道,桂花社区,金桂小区,一网格,1栋,2,18
东湖街道,桂花社区,金桂小区,一网格,2栋,2,18
东湖街道,桂花社区,,二网格,3栋,,
东湖街道,荷花社区,,一网格,1栋,1,6
东湖街道,荷花社区,,一网格,2栋,1,6
";

async fn child(http: &HttpClient, token: &str, parent: PlaceId, name_zh: &str) -> PlaceInfo {
    let detail = http.place(token, parent).await.expect("the place");
    detail
        .children
        .into_iter()
        .find(|c| c.name_zh == name_zh)
        .unwrap_or_else(|| panic!("{name_zh} under place {parent}"))
}

async fn event_of(conn: &mut Connection, kind: EventKind) -> Event {
    loop {
        let event = conn.next_event_timeout(WAIT).await.expect("an event");
        if event.kind == kind {
            return event;
        }
    }
}

fn rid(s: &str) -> RequestId {
    RequestId::parse(s).expect("a request id")
}

/// Accepts an invite whose code arrived by SMS (or was handed over) and signs in.
async fn accept(http: &HttpClient, code: String, username: &str) -> TokenResponse {
    http.accept_invite(&AcceptInvite {
        code,
        username: username.into(),
        password: format!("{username} has a long password"),
        display_name: None,
    })
    .await
    .expect("the invite is accepted")
}

#[tokio::test]
async fn a_street_office_starts_from_an_empty_database() {
    let mut gateway = Gateway::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::with_data_dir(dir.path());
    config.seed_demo = false;
    gateway.configure(&mut config);
    hehe_server::create_first_admin(
        &config,
        "street.admin",
        "街道管理员",
        "the admin's password",
    )
    .await
    .expect("the first admin");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = HttpClient::new(format!("http://{}", listener.local_addr().unwrap()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(hehe_server::run(config, listener, async move {
        let _ = stopped.await;
    }));
    let admin = http
        .login("street.admin", "the admin's password")
        .await
        .unwrap()
        .access_token;
    assert!(
        http.streets(&admin, false).await.unwrap().is_empty(),
        "empty"
    );

    // The place tree: a dry run of a file with a bad line shows it and imports nothing; the
    // good file is imported; importing it again changes nothing.
    let bad = format!("{PLACES}东湖街道,荷花社区,,一网格,3栋,two,6\n");
    let preview = http.import_places(&admin, bad.into(), true).await.unwrap();
    assert_eq!(preview.refused.len(), 1, "{preview:?}");
    assert_eq!(
        preview.refused[0].line, 7,
        "the file's line, the header being line 1"
    );
    assert!(!preview.applied);
    assert!(http.streets(&admin, false).await.unwrap().is_empty());
    let report = http
        .import_places(&admin, PLACES.into(), false)
        .await
        .unwrap();
    assert!(report.applied && report.refused.is_empty(), "{report:?}");
    // 1 street, 2 communities, 1 compound, 3 grids, 5 buildings.
    assert_eq!(report.created.len(), 12, "{report:?}");
    let again = http
        .import_places(&admin, PLACES.into(), false)
        .await
        .unwrap();
    assert_eq!((again.created.len(), again.unchanged), (0, 5), "{again:?}");

    let streets = http.streets(&admin, false).await.unwrap();
    assert_eq!(streets.len(), 1);
    let street = streets[0].id;
    let osmanthus = child(&http, &admin, street, "桂花社区").await;
    let lotus = child(&http, &admin, street, "荷花社区").await;
    let compound = child(&http, &admin, osmanthus.id, "金桂小区").await;
    assert_eq!(compound.kind, PlaceKind::Compound);
    let grid = child(&http, &admin, compound.id, "一网格").await;
    let building = child(&http, &admin, grid.id, "1栋").await;
    assert_eq!((building.units, building.floors), (Some(2), Some(18)));
    assert_eq!(
        http.place(&admin, lotus.id).await.unwrap().children.len(),
        1,
        "荷花社区 has its own grid"
    );

    // Staff: the admin invites the street chief by phone (the code arrives by SMS); the chief
    // invites an official by email (the code is handed over); the official invites a grid
    // worker by phone. Each accepts and is signed in with the role.
    let invite = |role, place, name: &str, phone: Option<&str>, email: Option<&str>| NewInvite {
        role,
        place: Some(place),
        display_name: name.into(),
        phone: phone.map(Into::into),
        email: email.map(Into::into),
        romanised_name: None,
    };
    http.create_invite(
        &admin,
        &invite(Role::StreetChief, street, "周华", Some("13800000001"), None),
    )
    .await
    .unwrap();
    let sms = gateway.next("+8613800000001").await;
    assert_eq!(sms.purpose, "invite");
    let chief = accept(&http, sms.code.expect("the invite code"), "zhou.hua").await;
    assert_eq!(chief.account.grants[0].role, Role::StreetChief);
    let chief = chief.access_token;

    let made = http
        .create_invite(
            &chief,
            &invite(
                Role::CommunityOfficial,
                osmanthus.id,
                "刘洋",
                None,
                Some("liu.yang@example.org"),
            ),
        )
        .await
        .unwrap();
    let official = accept(&http, made.code, "liu.yang").await.access_token;
    let above = http
        .create_invite(
            &official,
            &invite(Role::StreetChief, street, "某人", None, None),
        )
        .await
        .unwrap_err();
    assert_eq!(
        above.code(),
        Some(ErrorCode::Forbidden),
        "a role above his own"
    );

    http.create_invite(
        &official,
        &invite(
            Role::GridWorker,
            grid.id,
            "陈杰",
            Some("139 0000 0002"),
            None,
        ),
    )
    .await
    .unwrap();
    let sms = gateway.next("+8613900000002").await;
    let worker = accept(&http, sms.code.expect("the invite code"), "chen.jie").await;
    let worker_id = worker.account.id;

    // A resident signs up by phone for building 1栋 and waits; the official hears of it live
    // and approves; the resident hears of that live.
    let mut official_conn = Connection::connect(&http.ws_url(), &official)
        .await
        .unwrap();
    official_conn
        .subscribe(Channel::Home(osmanthus.id), None)
        .await
        .unwrap();
    http.request_code("13700000003", CodePurpose::Signup)
        .await
        .unwrap();
    let code = gateway.code("+8613700000003").await;
    let resident = http
        .sign_up(&SignupRequest {
            phone: "13700000003".into(),
            code,
            password: "the resident's password".into(),
            display_name: "王小明".into(),
            romanised_name: Some("Wang Xiaoming".into()),
            building: building.id,
        })
        .await
        .unwrap();
    assert!(resident.account.grants.is_empty(), "pending");
    let mut resident_conn = Connection::connect(&http.ws_url(), &resident.access_token)
        .await
        .unwrap();
    resident_conn
        .subscribe(Channel::User(resident.account.id), None)
        .await
        .unwrap();
    let requested = event_of(&mut official_conn, EventKind::ResidencyRequested).await;
    let request_id = requested.data["id"].as_i64().expect("the request's id");
    http.approve_residency(&official, request_id).await.unwrap();
    event_of(&mut resident_conn, EventKind::ResidencyApproved).await;

    // The resident, signed in by phone, raises an issue; the official accepts it, finds the
    // worker by name in the grid's staff directory and dispatches it to him.
    let resident = http
        .login("+86 137 0000 0003", "the resident's password")
        .await
        .expect("signs in by phone")
        .access_token;
    let issue = http
        .submit_issue(
            &resident,
            &rid("onboarding-issue"),
            &NewIssue {
                category: "drainage".into(),
                title: "1栋门口下水道堵了".into(),
                description: "雨后积水，请尽快处理。".into(),
                place_id: building.id,
                location: None,
                public: true,
                priority: None,
                on_behalf_of: None,
            },
        )
        .await
        .unwrap();
    http.issue_action(
        &official,
        issue.id,
        &rid("onboarding-accept"),
        &IssueAction::Accept,
    )
    .await
    .unwrap();
    let staff = http.staff(&official, grid.id).await.unwrap();
    let picked = staff
        .iter()
        .find(|m| m.display_name == "陈杰")
        .expect("the worker is in the directory by name");
    assert_eq!((picked.account, picked.open_issues), (worker_id, 0));
    http.issue_action(
        &official,
        issue.id,
        &rid("onboarding-dispatch"),
        &IssueAction::Dispatch {
            assignee: picked.account,
        },
    )
    .await
    .unwrap();
    let staff = http.staff(&official, grid.id).await.unwrap();
    let picked = staff.iter().find(|m| m.account == worker_id).unwrap();
    assert_eq!(
        picked.open_issues, 1,
        "his load counts the dispatched issue"
    );

    // The worker forgot his password: a code by SMS sets a new one and ends his sessions.
    http.request_code("13900000002", CodePurpose::Reset)
        .await
        .unwrap();
    let code = gateway.code("+8613900000002").await;
    http.reset_password(&ResetRequest {
        phone: Some("13900000002".into()),
        username: None,
        code,
        new_password: "a new password for chen".into(),
    })
    .await
    .unwrap();
    let stale = http.me(&worker.access_token).await.unwrap_err();
    assert_eq!(stale.code(), Some(ErrorCode::InvalidToken), "signed out");
    assert!(
        http.login("chen.jie", "chen.jie has a long password")
            .await
            .is_err()
    );
    http.login("chen.jie", "a new password for chen")
        .await
        .expect("the new password works");

    // All of it is in the audit log.
    let audit: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/api/audit?limit=200", http.base_url()))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "account.first_admin",
        "place.create",
        "invite.create",
        "invite.accept",
        "residency.approve",
        "issue.dispatch",
        "password.reset",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
