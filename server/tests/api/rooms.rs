//! The living room over real sockets: a hearing with 200 participants, mediation privacy,
//! votes that count each voter once, anonymous ballots, and resuming mid-meeting.

use crate::helpers::*;
use hehe_client::{Connection, Incoming};
use hehe_protocol::meeting::{NewVote, RoomAction, RoomMode};
use hehe_protocol::{AccountId, Channel, ErrorCode, Event, MeetingId, Role, ServerMsg};
use hehe_server::identity::tokens::TokenKind;

/// `n` residents of Riverside, connected (not yet subscribed).
async fn residents(app: &TestApp, n: usize) -> Vec<(AccountId, Connection)> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let store = &app.state.store;
        let id = store
            .insert_account(&format!("p{i}"), &format!("Participant {i}"), "-")
            .await
            .unwrap();
        store
            .insert_grant(id, Role::Resident, Some(app.demo.communities[0]))
            .await
            .unwrap();
        let token = app
            .state
            .tokens
            .issue(id, TokenKind::Access, app.state.now())
            .token;
        out.push((
            id,
            Connection::connect(&app.ws_url(), &token).await.unwrap(),
        ));
    }
    out
}

/// The room's events as (offset, kind, entry kind) from the entry of kind `from` to the first
/// event of kind `until`.
async fn room_events(conn: &mut Connection, from: &str, until: &str) -> Vec<(u64, String, String)> {
    let mut seen = Vec::new();
    let mut started = false;
    loop {
        let event: Event = conn.next_event_timeout(WAIT).await.expect("a room event");
        let entry = event.data["kind"].as_str().unwrap_or_default().to_owned();
        started |= entry == from;
        if started {
            seen.push((event.offset, event.kind.clone(), entry));
        }
        if event.kind == until {
            return seen;
        }
    }
}

fn vote(anonymous: bool) -> NewVote {
    NewVote {
        question: "Replace the drainage pipe this month?".into(),
        options: vec!["Yes".into(), "No".into(), "Later".into()],
        multiple: false,
        anonymous,
        hide_results: false,
    }
}

#[tokio::test]
async fn a_hearing_with_200_participants_sees_one_sequence() {
    let app = spawn_bulk_app().await;
    let room = Channel::Room(app.demo.meeting);
    let meeting = app.demo.meeting;
    let mut chair = app.connect("chief").await;
    chair.subscribe(room, None).await.unwrap();
    let mut people = residents(&app, 200).await;
    for chunk in people.chunks_mut(20) {
        let joins = chunk.iter_mut().map(|(_, c)| c.subscribe(room, None));
        for joined in futures_util::future::join_all(joins).await {
            joined.expect("joins the room");
        }
    }

    chair.room_action(meeting, RoomAction::Start).await.unwrap();
    chair
        .room_action(meeting, RoomAction::SetAgendaItem { index: 0 })
        .await
        .unwrap();
    let (speaker, muted) = (people[0].0, people[1].0);
    people[0]
        .1
        .room_action(meeting, RoomAction::RaiseHand)
        .await
        .unwrap();
    chair
        .room_action(meeting, RoomAction::GiveFloor { to: None })
        .await
        .unwrap();
    chair
        .room_action(
            meeting,
            RoomAction::SetMode {
                mode: RoomMode::FloorOnly,
            },
        )
        .await
        .unwrap();
    people[0]
        .1
        .room_action(
            meeting,
            RoomAction::Say {
                text: "I support the repair.".into(),
            },
        )
        .await
        .unwrap();
    let refused = people[2]
        .1
        .room_action(
            meeting,
            RoomAction::Say {
                text: "Me too!".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Some(ErrorCode::Forbidden),
        "not their floor"
    );
    chair
        .room_action(
            meeting,
            RoomAction::SetMode {
                mode: RoomMode::Open,
            },
        )
        .await
        .unwrap();
    chair
        .room_action(meeting, RoomAction::Mute { who: muted })
        .await
        .unwrap();
    let refused = people[1]
        .1
        .room_action(
            meeting,
            RoomAction::Say {
                text: "Let me speak".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::Forbidden), "muted");
    chair
        .room_action(meeting, RoomAction::OpenVote { vote: vote(false) })
        .await
        .unwrap();
    let casts = people.iter_mut().take(30).enumerate().map(|(i, (_, c))| {
        c.room_action(
            meeting,
            RoomAction::CastVote {
                vote: 1,
                choices: vec![(i % 3) as u32],
            },
        )
    });
    for cast in futures_util::future::join_all(casts).await {
        cast.expect("one ballot each");
    }
    chair
        .room_action(meeting, RoomAction::CloseVote { vote: 1 })
        .await
        .unwrap();

    // Everyone, chair included, saw the same events in the same order.
    let expected = room_events(&mut chair, "started", "room.vote_result").await;
    let entries: Vec<&str> = expected
        .iter()
        .filter(|e| e.1 == "room.event")
        .map(|e| e.2.as_str())
        .collect();
    assert_eq!(
        &entries[..7],
        [
            "started",
            "agenda_item_set",
            "hand_raised",
            "floor_given",
            "mode_set",
            "said",
            "mode_set"
        ]
    );
    assert_eq!(entries.iter().filter(|k| **k == "vote_cast").count(), 30);
    for (id, conn) in &mut people {
        assert_eq!(
            room_events(conn, "started", "room.vote_result").await,
            expected,
            "participant {id}"
        );
    }
    let _ = speaker;
}

#[tokio::test]
async fn a_mediation_is_invisible_to_everyone_but_its_members() {
    let app = spawn_app().await;
    let room = Channel::Room(app.demo.mediation);
    // The parties and the mediator come in.
    for member in ["resident", "lead", "official"] {
        let mut conn = app.connect(member).await;
        conn.subscribe(room, None)
            .await
            .unwrap_or_else(|e| panic!("{member}: {e}"));
    }
    // Nobody else: not a neighbour, not the grid worker, not the street chief, not an admin.
    for outsider in ["worker", "chief", "admin", "resident2", "ops"] {
        let mut conn = app.connect(outsider).await;
        let err = conn.subscribe(room, None).await.unwrap_err();
        assert_eq!(
            err.code(),
            Some(ErrorCode::NotFound),
            "{outsider} subscribing"
        );
        let err = conn.presence(room).await.unwrap_err();
        assert_eq!(
            err.code(),
            Some(ErrorCode::NotFound),
            "{outsider} asking who is there"
        );
        let err = conn
            .room_action(app.demo.mediation, RoomAction::RaiseHand)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::NotFound), "{outsider} acting");
        let token = app.login(outsider).await.access_token;
        let err = app
            .http
            .messages(&token, room, None, None)
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Some(ErrorCode::NotFound),
            "{outsider} reading history"
        );
    }
}

#[tokio::test]
async fn double_votes_are_refused_even_when_they_race() {
    let app = spawn_app().await;
    let meeting = app.demo.meeting;
    let room = Channel::Room(meeting);
    let mut chair = app.connect("chief").await;
    chair.subscribe(room, None).await.unwrap();
    chair.room_action(meeting, RoomAction::Start).await.unwrap();
    chair
        .room_action(meeting, RoomAction::OpenVote { vote: vote(true) })
        .await
        .unwrap();

    // One voter on two connections, casting at the same moment: one ballot.
    let mut phone = app.connect("resident").await;
    let mut laptop = app.connect("resident").await;
    let (a, b) = tokio::join!(
        phone.room_action(
            meeting,
            RoomAction::CastVote {
                vote: 1,
                choices: vec![0]
            }
        ),
        laptop.room_action(
            meeting,
            RoomAction::CastVote {
                vote: 1,
                choices: vec![1]
            }
        ),
    );
    assert_eq!(a.is_ok() as u8 + b.is_ok() as u8, 1, "{a:?} {b:?}");
    let refused = a.err().or(b.err()).unwrap();
    assert_eq!(refused.code(), Some(ErrorCode::Conflict));

    // Fifty more voters at once: the tally counts each exactly once.
    let mut voters = residents(&app, 50).await;
    let casts = voters.iter_mut().enumerate().map(|(i, (_, c))| {
        c.room_action(
            meeting,
            RoomAction::CastVote {
                vote: 1,
                choices: vec![(i % 2) as u32],
            },
        )
    });
    for cast in futures_util::future::join_all(casts).await {
        cast.expect("accepted");
    }
    chair
        .room_action(meeting, RoomAction::CloseVote { vote: 1 })
        .await
        .unwrap();
    let result = loop {
        let event = chair.next_event_timeout(WAIT).await.unwrap();
        if event.kind == "room.vote_result" {
            break event;
        }
    };
    let counts: Vec<u64> = result.data["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    assert_eq!(counts.iter().sum::<u64>(), 51);
    assert_eq!(result.data["ballots"], 51);
    // Recomputed from the store, the tally is the same.
    let ballots = app.state.store.ballots(meeting, 1).await.unwrap();
    assert_eq!(ballots.len(), 51);
    assert_eq!(app.state.store.receipts(meeting, 1).await.unwrap(), 51);
    let late = voters[0]
        .1
        .room_action(
            meeting,
            RoomAction::CastVote {
                vote: 1,
                choices: vec![0],
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        late.code(),
        Some(ErrorCode::InvalidRequest),
        "the vote is closed"
    );
}

#[tokio::test]
async fn anonymous_ballots_carry_nothing_that_links_them_to_their_voter() {
    let app = spawn_app().await;
    let meeting = app.demo.meeting;
    let mut chair = app.connect("chief").await;
    chair.room_action(meeting, RoomAction::Start).await.unwrap();
    chair
        .room_action(meeting, RoomAction::OpenVote { vote: vote(true) })
        .await
        .unwrap();
    chair
        .room_action(meeting, RoomAction::OpenVote { vote: vote(false) })
        .await
        .unwrap();
    let mut voters = residents(&app, 5).await;
    for (_, conn) in &mut voters {
        conn.room_action(
            meeting,
            RoomAction::CastVote {
                vote: 1,
                choices: vec![2],
            },
        )
        .await
        .unwrap();
        conn.room_action(
            meeting,
            RoomAction::CastVote {
                vote: 2,
                choices: vec![0],
            },
        )
        .await
        .unwrap();
    }
    // Straight from the database file: anonymous ballots hold no voter, no time, no order.
    let url = format!("sqlite://{}", app.config.data_dir.join("hehe.db").display());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    use sqlx::Row;
    let columns: Vec<String> = sqlx::query("SELECT name FROM pragma_table_info('vote_ballots')")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("name"))
        .collect();
    assert_eq!(
        columns,
        ["ballot_id", "meeting_id", "vote_no", "voter_id", "choices"]
    );
    let anonymous = sqlx::query("SELECT ballot_id, voter_id FROM vote_ballots WHERE vote_no = 1")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(anonymous.len(), 5);
    for row in &anonymous {
        assert!(row.get::<Option<i64>, _>("voter_id").is_none());
        let id: String = row.get("ballot_id");
        assert!(
            id.len() >= 20 && !id.chars().all(|c| c.is_ascii_digit()),
            "a random id, not a counter"
        );
    }
    let named =
        sqlx::query("SELECT voter_id FROM vote_ballots WHERE vote_no = 2 AND voter_id IS NOT NULL")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(named.len(), 5, "a named vote keeps its voters");
    // Nor does the room's log name anonymous voters.
    let cast = sqlx::query("SELECT actor_id, data FROM meeting_events WHERE kind = 'vote_cast'")
        .fetch_all(&pool)
        .await
        .unwrap();
    let anonymous_entries = cast
        .iter()
        .map(|r| {
            let data: serde_json::Value =
                serde_json::from_str(&r.get::<String, _>("data")).unwrap();
            (r.get::<Option<i64>, _>("actor_id"), data)
        })
        .filter(|(_, d)| d["vote"] == 1)
        .collect::<Vec<_>>();
    assert_eq!(anonymous_entries.len(), 5);
    assert!(
        anonymous_entries
            .iter()
            .all(|(actor, d)| actor.is_none() && d.get("voter").is_none()),
        "{anonymous_entries:?}"
    );
    pool.close().await;
    // Ending the meeting closes the votes still open, each with its result.
    let mut chair_view = app.connect("chief").await;
    chair_view
        .subscribe(Channel::Room(meeting), None)
        .await
        .unwrap();
    chair.room_action(meeting, RoomAction::End).await.unwrap();
    let mut results = 0;
    while let Ok(event) = chair_view.next_event_timeout(QUIET).await {
        if event.kind == "room.vote_result" {
            results += 1;
        }
    }
    assert_eq!(results, 2);
}

#[tokio::test]
async fn a_participant_who_reconnects_mid_meeting_gets_exactly_what_they_missed() {
    let app = spawn_app().await;
    let meeting = app.demo.meeting;
    let room = Channel::Room(meeting);
    let mut chair = app.connect("chief").await;
    chair.room_action(meeting, RoomAction::Start).await.unwrap();
    let mut resident = app.connect("resident").await;
    resident.subscribe(room, None).await.unwrap();
    chair
        .room_action(meeting, RoomAction::SetAgendaItem { index: 0 })
        .await
        .unwrap();
    let first = resident.next_event_timeout(WAIT).await.unwrap();
    assert_eq!(first.data["kind"], "agenda_item_set");
    let positions = resident.positions();
    resident.close().await.unwrap();

    chair
        .room_action(meeting, RoomAction::SetAgendaItem { index: 1 })
        .await
        .unwrap();
    chair
        .room_action(
            meeting,
            RoomAction::AppendMinutes {
                text: "The proposal was read.".into(),
            },
        )
        .await
        .unwrap();
    chair.room_action(meeting, RoomAction::Lock).await.unwrap();
    let mut again = app.connect("resident").await;
    let resumed = again.resume(&positions).await.unwrap();
    assert!(resumed[0].recovered);
    let kinds: Vec<&str> = resumed[0]
        .events
        .iter()
        .map(|e| e.data["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["agenda_item_set", "minutes_appended", "locked"]);
    // The locked room took them back: they had been in before.
    chair
        .room_action(meeting, RoomAction::Unlock)
        .await
        .unwrap();
    assert_eq!(
        again.next_event_timeout(WAIT).await.unwrap().data["kind"],
        "unlocked"
    );
    // A newcomer is kept out of a locked room.
    chair.room_action(meeting, RoomAction::Lock).await.unwrap();
    let mut newcomer = app.connect("lead").await;
    assert_eq!(
        newcomer.subscribe(room, None).await.unwrap_err().code(),
        Some(ErrorCode::Forbidden)
    );
}

#[tokio::test]
async fn a_removed_participant_is_put_out_and_kept_out() {
    let app = spawn_app().await;
    let meeting = app.demo.meeting;
    let room = Channel::Room(meeting);
    let mut chair = app.connect("chief").await;
    chair.room_action(meeting, RoomAction::Start).await.unwrap();
    let mut resident = app.connect("resident").await;
    resident.subscribe(room, None).await.unwrap();
    let who = app.demo.account("resident");
    chair
        .room_action(meeting, RoomAction::Remove { who })
        .await
        .unwrap();
    // The server ends their subscription and says why.
    let notice = loop {
        match resident.recv_timeout(WAIT).await.unwrap() {
            Incoming::Msg(ServerMsg::Unsubscribed { channel, code, .. }) => break (channel, code),
            Incoming::Msg(_) => continue,
            Incoming::Closed { code, .. } => panic!("closed with {code:?}"),
        }
    };
    assert_eq!(notice, (room, ErrorCode::Forbidden));
    chair
        .room_action(
            meeting,
            RoomAction::Say {
                text: "We continue.".into(),
            },
        )
        .await
        .unwrap();
    assert!(
        resident.next_event_timeout(QUIET).await.is_err(),
        "nothing more reaches them"
    );
    assert_eq!(
        resident.subscribe(room, None).await.unwrap_err().code(),
        Some(ErrorCode::Forbidden)
    );
    let err = resident
        .room_action(meeting, RoomAction::RaiseHand)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Forbidden));
    // Readmitted, they may come back.
    chair
        .room_action(meeting, RoomAction::Readmit { who })
        .await
        .unwrap();
    resident.subscribe(room, None).await.expect("back in");
    let _ = MeetingId(0);
}

#[tokio::test]
async fn meetings_are_listed_and_read_only_by_those_who_may_see_them() {
    let app = spawn_app().await;
    let meeting = app.demo.meeting;
    let mut chair = app.connect("chief").await;
    chair.room_action(meeting, RoomAction::Start).await.unwrap();
    chair
        .room_action(meeting, RoomAction::SetAgendaItem { index: 1 })
        .await
        .unwrap();
    chair
        .room_action(
            meeting,
            RoomAction::OpenVote {
                vote: NewVote {
                    hide_results: true,
                    ..vote(false)
                },
            },
        )
        .await
        .unwrap();
    let mut resident = app.connect("resident").await;
    resident
        .room_action(
            meeting,
            RoomAction::CastVote {
                vote: 1,
                choices: vec![0],
            },
        )
        .await
        .unwrap();

    let get = |user: &'static str, path: String| {
        let app = &app;
        async move {
            let token = app.login(user).await.access_token;
            let (status, body) = app.http.get_bytes(&token, &path).await.unwrap();
            (
                status,
                serde_json::from_slice::<serde_json::Value>(&body).unwrap_or_default(),
            )
        }
    };
    // The resident sees the hearing and the mediation they are a party to.
    let (status, list) = get("resident", "/api/meetings".into()).await;
    assert_eq!(status, 200);
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [app.demo.meeting.0, app.demo.mediation.0]);
    // The grid worker sees the hearing only; the mediation is not listed for them.
    let (_, list) = get("worker", "/api/meetings".into()).await;
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [app.demo.meeting.0]);
    assert_eq!(
        get("worker", format!("/api/meetings/{}", app.demo.mediation))
            .await
            .0,
        404
    );
    assert_eq!(
        get("admin", format!("/api/meetings/{}", app.demo.mediation))
            .await
            .0,
        404
    );

    // One meeting: the room as its log leaves it, the tally hidden while the vote is open.
    let (status, detail) = get("resident", format!("/api/meetings/{meeting}")).await;
    assert_eq!(status, 200);
    assert_eq!(detail["room"]["state"], "live");
    assert_eq!(detail["room"]["agenda_item"], 1);
    assert_eq!(detail["room"]["votes"][0]["ballots"], 1);
    assert!(detail["room"]["votes"][0].get("counts").is_none());
    let log = detail["log"].as_array().unwrap();
    assert_eq!(detail["room"]["seq"], log.len());
    let kinds: Vec<&str> = log.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["started", "agenda_item_set", "vote_opened", "vote_cast"]
    );
    assert_eq!(
        get("lakeside", format!("/api/meetings/{meeting}")).await.0,
        403
    );
}

async fn post_json(
    app: &TestApp,
    user: &str,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let token = app.login(user).await.access_token;
    let response = reqwest::Client::new()
        .post(format!("http://{}{path}", app.addr))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

async fn send_as(
    app: &TestApp,
    user: &str,
    method: reqwest::Method,
    path: &str,
) -> (u16, serde_json::Value) {
    let token = app.login(user).await.access_token;
    let response = reqwest::Client::new()
        .request(method, format!("http://{}{path}", app.addr))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// One text rule (`domain::text`): a meeting's title and agenda items are lines, its description
/// may hold line breaks and tabs, and may be left out. Titles and agenda items took line breaks,
/// and descriptions refused tabs, before the rule was one.
#[tokio::test]
async fn a_meetings_texts_follow_the_one_text_rule() {
    let app = spawn_app().await;
    let riverside = app.demo.communities[0];
    let new = |title: &str, description: &str, agenda: &[&str]| {
        serde_json::json!({
            "kind": "hearing",
            "title": title,
            "description": description,
            "place_id": riverside,
            "agenda": agenda,
        })
    };
    let refused = [
        new("Drain\nrepair", "", &[]),
        new("Drain\trepair", "", &[]),
        new(" ", "", &[]),
        new("Drain repair", "", &["Options\nVote"]),
        new("Drain repair", "", &["Options", "  "]),
        new("Drain repair", "Costs\u{0}", &[]),
    ];
    for body in refused {
        let (status, answer) = post_json(&app, "official", "/api/meetings", body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["code"], "invalid_request", "{body}");
    }
    let body = new(
        " Drain repair ",
        "Costs:\tsee the sheet\nWho pays:\topen",
        &[" Options "],
    );
    let (status, meeting) = post_json(&app, "official", "/api/meetings", body).await;
    assert_eq!(status, 200, "{meeting}");
    assert_eq!(meeting["title"], "Drain repair");
    assert_eq!(
        meeting["description"],
        "Costs:\tsee the sheet\nWho pays:\topen"
    );
    assert_eq!(meeting["agenda"], serde_json::json!(["Options"]));
    let (status, meeting) = post_json(
        &app,
        "official",
        "/api/meetings",
        new("Drain repair", "  ", &[]),
    )
    .await;
    assert_eq!(status, 200, "{meeting}");
    assert_eq!(meeting["description"], "");
}

#[tokio::test]
async fn an_official_calls_a_meeting_with_seats_a_waiting_list_and_check_in() {
    let app = spawn_app().await;
    let mut resident = app.connect("resident").await;
    let issue = resident
        .submit_issue(crate::issues::report(&app, "drainage"))
        .await
        .unwrap();
    let riverside = app.demo.communities[0];
    let new = |place: hehe_protocol::PlaceId| {
        serde_json::json!({
            "kind": "hearing",
            "title": "Who pays for the new drain?",
            "place_id": place,
            "agenda": ["Options", "Vote"],
            "capacity": 2,
            "issues": [issue.id],
        })
    };
    assert_eq!(
        post_json(&app, "resident", "/api/meetings", new(riverside))
            .await
            .0,
        403
    );
    assert_eq!(
        post_json(
            &app,
            "official",
            "/api/meetings",
            new(app.demo.communities[1])
        )
        .await
        .0,
        403
    );
    let (status, meeting) = post_json(&app, "official", "/api/meetings", new(riverside)).await;
    assert_eq!(status, 200, "{meeting}");
    assert_eq!(meeting["state"], "draft");
    let id = MeetingId(meeting["id"].as_i64().unwrap());
    let registration = format!("/api/meetings/{id}/registration");

    // A draft is the chair's own: nobody registers yet.
    assert_eq!(
        send_as(&app, "resident", reqwest::Method::POST, &registration)
            .await
            .0,
        403
    );
    let mut official = app.connect("official").await;
    official.room_action(id, RoomAction::Publish).await.unwrap();

    // Two seats: the third registration waits.
    let (s1, first) = send_as(&app, "resident", reqwest::Method::POST, &registration).await;
    let (s2, second) = send_as(&app, "lead", reqwest::Method::POST, &registration).await;
    let (s3, third) = send_as(&app, "worker", reqwest::Method::POST, &registration).await;
    assert_eq!((s1, s2, s3), (200, 200, 200));
    assert_eq!(
        (
            first["status"].as_str(),
            second["status"].as_str(),
            third["status"].as_str()
        ),
        (Some("registered"), Some("registered"), Some("waiting"))
    );
    let again = send_as(&app, "resident", reqwest::Method::POST, &registration)
        .await
        .1;
    assert_eq!(
        again["code"], first["code"],
        "registering twice is one registration"
    );
    assert_eq!(
        send_as(&app, "resident2", reqwest::Method::POST, &registration)
            .await
            .0,
        403,
        "another community"
    );

    // The resident cancels; the grid worker moves up.
    let (status, cancelled) =
        send_as(&app, "resident", reqwest::Method::DELETE, &registration).await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled"))
    );
    let (status, list) = send_as(
        &app,
        "official",
        reqwest::Method::GET,
        &format!("/api/meetings/{id}/registrations"),
    )
    .await;
    assert_eq!(status, 200);
    let worker = app.demo.account("worker").0;
    let worker_row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["account"] == worker)
        .unwrap();
    assert_eq!(worker_row["status"], "registered");
    assert_eq!(
        send_as(
            &app,
            "lead",
            reqwest::Method::GET,
            &format!("/api/meetings/{id}/registrations")
        )
        .await
        .0,
        403
    );

    // At the door: the lead's code checks them in; a made-up code does not.
    let checkin = format!("/api/meetings/{id}/checkin");
    let (status, checked) = post_json(
        &app,
        "official",
        &checkin,
        serde_json::json!({ "code": second["code"] }),
    )
    .await;
    assert_eq!(status, 200);
    assert!(checked["checked_in_at"].as_i64().is_some());
    assert_eq!(
        post_json(
            &app,
            "official",
            &checkin,
            serde_json::json!({ "code": "NOPE99" })
        )
        .await
        .0,
        404
    );
    assert_eq!(
        post_json(
            &app,
            "lead",
            &checkin,
            serde_json::json!({ "code": second["code"] })
        )
        .await
        .0,
        403
    );
    let cancelled_code = serde_json::json!({ "code": first["code"] });
    assert_eq!(
        post_json(&app, "official", &checkin, cancelled_code)
            .await
            .0,
        404,
        "a cancelled seat"
    );

    // The meeting shows its agenda; a draft that is called off is gone for good.
    let (_, detail) = send_as(
        &app,
        "lead",
        reqwest::Method::GET,
        &format!("/api/meetings/{id}"),
    )
    .await;
    assert_eq!(
        detail["meeting"]["agenda"],
        serde_json::json!(["Options", "Vote"])
    );
    official.room_action(id, RoomAction::Cancel).await.unwrap();
    assert_eq!(
        send_as(&app, "lead", reqwest::Method::POST, &registration)
            .await
            .0,
        409
    );
}

#[tokio::test]
async fn a_mediation_ends_when_every_party_confirms_the_agreement() {
    let app = spawn_app().await;
    let (resident, lead) = (app.demo.account("resident"), app.demo.account("lead"));
    let body = serde_json::json!({
        "kind": "mediation",
        "title": "Water dripping from 401 into 301",
        "place_id": app.demo.communities[0],
        "parties": [resident, lead],
    });
    let (status, meeting) = post_json(&app, "official", "/api/meetings", body).await;
    assert_eq!(status, 200, "{meeting}");
    assert_eq!(meeting["private"], true);
    let id = MeetingId(meeting["id"].as_i64().unwrap());
    let room = Channel::Room(id);
    let mut mediator = app.connect("official").await;
    mediator.room_action(id, RoomAction::Publish).await.unwrap();
    mediator.room_action(id, RoomAction::Start).await.unwrap();
    let mut a = app.connect("resident").await;
    let mut b = app.connect("lead").await;
    a.subscribe(room, None).await.unwrap();
    b.subscribe(room, None).await.unwrap();
    let mut outsider = app.connect("worker").await;
    assert_eq!(
        outsider.subscribe(room, None).await.unwrap_err().code(),
        Some(ErrorCode::NotFound)
    );

    let terms = RoomAction::ProposeAgreement {
        terms: "401 repairs its pipe within two weeks.".into(),
        deadline: 1_800_000_000_000,
    };
    assert_eq!(
        a.room_action(id, terms.clone()).await.unwrap_err().code(),
        Some(ErrorCode::Forbidden)
    );
    mediator.room_action(id, terms).await.unwrap();
    a.room_action(id, RoomAction::ConfirmAgreement)
        .await
        .unwrap();
    b.room_action(id, RoomAction::ConfirmAgreement)
        .await
        .unwrap();
    let kinds: Vec<String> = {
        let mut kinds = Vec::new();
        while let Ok(event) = a.next_event_timeout(QUIET).await {
            kinds.push(event.data["kind"].as_str().unwrap_or_default().to_owned());
        }
        kinds
    };
    assert!(
        kinds.ends_with(&[
            "agreement_proposed".to_owned(),
            "agreement_confirmed".to_owned(),
            "agreement_confirmed".to_owned(),
            "agreement_reached".to_owned()
        ]),
        "{kinds:?}"
    );
    let err = mediator
        .room_action(
            id,
            RoomAction::RecordFailure {
                referral: "court".into(),
                follow_up: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(ErrorCode::InvalidRequest),
        "the outcome is settled"
    );

    // A second session keeps the case's parties, and its privacy.
    let second = serde_json::json!({
        "kind": "mediation",
        "title": "Second session",
        "place_id": app.demo.communities[0],
        "previous_round": id,
    });
    let (status, session) = post_json(&app, "official", "/api/meetings", second).await;
    assert_eq!(status, 200, "{session}");
    let session_id = MeetingId(session["id"].as_i64().unwrap());
    mediator
        .room_action(session_id, RoomAction::Publish)
        .await
        .unwrap();
    // Before it meets, a party puts their account on record.
    let statement = RoomAction::Statement {
        text: "The drip is worse after rain.".into(),
    };
    b.room_action(session_id, statement.clone()).await.unwrap();
    let path = format!("/api/meetings/{session_id}");
    assert_eq!(
        send_as(&app, "lead", reqwest::Method::GET, &path).await.0,
        200
    );
    assert_eq!(
        send_as(&app, "worker", reqwest::Method::GET, &path).await.0,
        404
    );
    let mut outsider = app.connect("chief").await;
    assert_eq!(
        outsider
            .room_action(session_id, statement)
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::NotFound)
    );
}

#[tokio::test]
async fn a_join_storm_reaches_members_in_a_few_batched_presence_frames() {
    let app = spawn_bulk_app().await;
    let room = Channel::Room(app.demo.meeting);
    let mut early = app.connect("chief").await;
    early.subscribe(room, None).await.unwrap();
    let mut crowd = residents(&app, 300).await;
    for chunk in crowd.chunks_mut(50) {
        let joins = chunk.iter_mut().map(|(_, c)| c.subscribe(room, None));
        for joined in futures_util::future::join_all(joins).await {
            joined.expect("joins");
        }
    }
    let mut frames = 0;
    let mut joined = std::collections::BTreeSet::new();
    let expected: std::collections::BTreeSet<AccountId> = crowd.iter().map(|(id, _)| *id).collect();
    while !expected.is_subset(&joined) {
        let change = early.next_presence_timeout(WAIT).await.expect("presence");
        frames += 1;
        joined.extend(change.joins.iter().map(|m| m.account_id));
    }
    // The early member's own arrival may be in the first batch; nobody else's is.
    joined.remove(&app.demo.account("chief"));
    assert_eq!(joined, expected);
    assert!(frames <= 100, "300 joins came in {frames} frames");
    // Leaving is batched the same way.
    let ids: Vec<AccountId> = crowd.iter().map(|(id, _)| *id).collect();
    drop(crowd);
    let mut left = std::collections::BTreeSet::new();
    let mut leave_frames = 0;
    while left.len() < ids.len() {
        let change = early.next_presence_timeout(WAIT).await.expect("presence");
        leave_frames += 1;
        left.extend(change.leaves.iter().map(|m| m.account_id));
    }
    assert!(
        leave_frames <= 100,
        "300 leaves came in {leave_frames} frames"
    );
}

#[tokio::test]
async fn a_hearing_decides_and_a_second_round_follows_the_first() {
    let app = spawn_app().await;
    let riverside = app.demo.communities[0];
    let hearing = |previous: Option<MeetingId>| serde_json::json!({ "kind": "hearing", "title": "Bike shed", "place_id": riverside, "previous_round": previous });
    let (_, first) = post_json(&app, "official", "/api/meetings", hearing(None)).await;
    let first_id = MeetingId(first["id"].as_i64().unwrap());
    let mut chair = app.connect("official").await;
    for action in [RoomAction::Publish, RoomAction::Start, RoomAction::End] {
        chair.room_action(first_id, action).await.unwrap();
    }
    let decision = RoomAction::PublishDecision {
        text: "A second round, with costed options.".into(),
        follow_ups: vec!["Cost three designs".into()],
    };
    chair.room_action(first_id, decision).await.unwrap();
    let (_, detail) = send_as(
        &app,
        "resident",
        reqwest::Method::GET,
        &format!("/api/meetings/{first_id}"),
    )
    .await;
    assert_eq!(
        detail["meeting"]["decision"],
        "A second round, with costed options."
    );
    let entry = detail["log"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(entry["kind"], "decision_published");
    assert_eq!(
        entry["data"]["follow_ups"],
        serde_json::json!(["Cost three designs"])
    );

    let (status, second) =
        post_json(&app, "official", "/api/meetings", hearing(Some(first_id))).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["previous_round"], first_id.0);
    let not_a_round = serde_json::json!({
        "kind": "hearing", "title": "x", "place_id": riverside, "previous_round": app.demo.mediation
    });
    assert_eq!(
        post_json(&app, "official", "/api/meetings", not_a_round)
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn a_crowd_entering_at_once_is_logged_once_each_without_a_frame_per_arrival() {
    let app = spawn_bulk_app().await;
    let meeting = app.demo.meeting;
    let room = Channel::Room(meeting);
    let mut chair = app.connect("chief").await;
    chair.subscribe(room, None).await.unwrap();
    let mut people = residents(&app, 120).await;
    // Everyone at once, some twice (a second device): arrivals queue and are logged together.
    let joins = people.iter_mut().map(|(_, c)| c.subscribe(room, None));
    for joined in futures_util::future::join_all(joins).await {
        joined.expect("joins the room");
    }
    let mut second = app.connect("chief").await;
    second.subscribe(room, None).await.unwrap();

    let token = app.login("chief").await.access_token;
    let (status, body) = app
        .http
        .get_bytes(&token, &format!("/api/meetings/{meeting}"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let detail: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let mut entered: Vec<i64> = detail["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "entered")
        .map(|e| e["data"]["who"].as_i64().unwrap())
        .collect();
    entered.sort();
    let mut expected: Vec<i64> = people.iter().map(|(id, _)| id.0).collect();
    expected.push(app.demo.account("chief").0);
    expected.sort();
    assert_eq!(entered, expected, "each first arrival logged exactly once");
    let seqs: Vec<u64> = detail["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());

    // The chair heard of the crowd through presence only: no room event per arrival.
    chair.room_action(meeting, RoomAction::Start).await.unwrap();
    let first = chair.next_event_timeout(WAIT).await.unwrap();
    let entry = first.data["kind"].as_str().unwrap().to_owned();
    assert_eq!(entry, "started", "the first event on the channel");
}

#[tokio::test]
async fn a_retried_room_action_is_answered_as_the_first_try() {
    let app = spawn_app().await;
    let meeting = app.demo.meeting;
    let room = Channel::Room(meeting);
    let mut chair = app.connect("chief").await;
    chair.subscribe(room, None).await.unwrap();
    let start = hehe_protocol::RequestId::parse("start-1").unwrap();
    let first = chair
        .room_action_with_id(start.clone(), meeting, RoomAction::Start)
        .await
        .unwrap();
    // Again from another connection, as after a reconnect: the meeting has started, but the
    // retry gets the first answer, not a conflict.
    let mut again = app.connect("chief").await;
    let second = again
        .room_action_with_id(start.clone(), meeting, RoomAction::Start)
        .await
        .unwrap();
    assert_eq!(first, second);

    let mut resident = app.connect("resident").await;
    resident.subscribe(room, None).await.unwrap();
    let hand = hehe_protocol::RequestId::parse("hand-1").unwrap();
    let up = resident
        .room_action_with_id(hand.clone(), meeting, RoomAction::RaiseHand)
        .await
        .unwrap();
    let retried = resident
        .room_action_with_id(hand.clone(), meeting, RoomAction::RaiseHand)
        .await
        .unwrap();
    assert_eq!(up, retried, "the hand is up once");
    // A new request id is a new action, and the hand is already up.
    let refused = resident
        .room_action(meeting, RoomAction::RaiseHand)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::InvalidRequest));
    // The same id for another meeting is a conflict.
    let other = resident
        .room_action_with_id(hand, app.demo.mediation, RoomAction::RaiseHand)
        .await
        .unwrap_err();
    assert_eq!(other.code(), Some(ErrorCode::Conflict));
}

/// The meeting's detail tells each person what they may do in each state of the room, as the
/// domain's rule says; muting someone changes theirs.
#[tokio::test]
async fn the_detail_serves_what_each_person_may_do_in_each_state() {
    use hehe_protocol::meeting::{MeetingState, RoomActionKind as K};
    let app = spawn_app().await;
    let meeting = app.demo.meeting;
    let app = &app;
    let allowed = |who: &'static str| async move {
        let token = app.login(who).await.access_token;
        app.http
            .meeting(&token, meeting)
            .await
            .expect("the detail")
            .allowed_actions
    };
    let resident = allowed("resident").await;
    assert_eq!(resident[&MeetingState::Published], Vec::<K>::new());
    assert_eq!(
        resident[&MeetingState::Live],
        vec![K::RaiseHand, K::LowerHand, K::Say, K::React, K::CastVote]
    );
    let chief = allowed("chief").await;
    assert_eq!(
        chief[&MeetingState::Published],
        vec![K::Start, K::Readmit, K::CloseVote, K::Cancel]
    );
    assert!(chief[&MeetingState::Live].contains(&K::Mute));
    assert!(chief[&MeetingState::Ended].contains(&K::PublishDecision));

    let mut chair = app.connect("chief").await;
    chair.room_action(meeting, RoomAction::Start).await.unwrap();
    chair
        .room_action(
            meeting,
            RoomAction::Mute {
                who: app.demo.account("resident"),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        allowed("resident").await[&MeetingState::Live],
        vec![K::RaiseHand, K::LowerHand, K::CastVote],
        "muted: no say, no react"
    );
}
