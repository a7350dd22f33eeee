//! The whole server on the Redis bus: what clients see must not change with the bus.

use crate::common::{OwnRedis, TestDatabase, TestRedis};
use crate::helpers::*;
use hehe_client::{Connection, Incoming};
use hehe_protocol::meeting::RoomAction;
use hehe_protocol::{AccountId, Channel, ErrorCode, RequestId, Role, ServerMsg};
use hehe_server::config::Config;
use hehe_server::identity::tokens::TokenKind;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

#[tokio::test]
async fn on_the_redis_bus_events_fan_out_and_resume_as_on_the_embedded_one() {
    let Some(redis) = TestRedis::connect().await else {
        return;
    };
    let app = spawn_app_with(|c| {
        c.redis_url = redis.url.clone();
        c.redis_prefix = redis.prefix.clone();
    })
    .await;
    let home = Channel::Home(app.demo.communities[0]);
    let mut official = app.connect("official").await;
    let mut resident = app.connect("resident").await;
    let mut lead = app.connect("lead").await;
    let first = resident.subscribe(home, None).await.unwrap();
    lead.subscribe(home, None).await.unwrap();
    for i in 1..=3 {
        official.post(home, &format!("m{i}")).await.unwrap();
    }
    for conn in [&mut resident, &mut lead] {
        let got = events(conn, 3).await;
        let seen: Vec<(u64, String)> = got.iter().map(|e| (e.offset, text_of(e))).collect();
        assert_eq!(
            seen,
            (1..=3).map(|i| (i, format!("m{i}"))).collect::<Vec<_>>()
        );
        assert!(got.iter().all(|e| e.epoch == first.epoch));
    }
    let positions = resident.positions();
    resident.close().await.unwrap();

    for i in 4..=6 {
        official.post(home, &format!("m{i}")).await.unwrap();
    }
    let mut again = app.connect("resident").await;
    let resumed = again.resume(&positions).await.unwrap();
    assert!(resumed[0].recovered);
    let missed: Vec<u64> = resumed[0].events.iter().map(|e| e.offset).collect();
    assert_eq!(missed, [4, 5, 6]);
    official.post(home, "m7").await.unwrap();
    assert_eq!(events(&mut again, 1).await[0].offset, 7);
    assert_no_more_events(&mut again).await;
    assert_eq!(events(&mut lead, 4).await.last().unwrap().offset, 7);
}

// ---------------------------------------------------------------------------------------------
// Several nodes on loopback: one PostgreSQL database, one Redis under a prefix of the test's
// own, one token secret. The first node seeds the demo; the others reuse it (`spawn_node`).

/// The token secret every node of a test shares, so a token from one is good on all.
const SECRET: &str = "scale-out-tests-share-this-secret-0123456789";

/// The settings of the first node of a deployment on `db` and Redis at `url` under `prefix`.
fn deployment(config: &mut Config, db: &TestDatabase, url: &str, prefix: &str) {
    config.database_url = db.url.clone();
    config.redis_url = url.to_owned();
    config.redis_prefix = prefix.to_owned();
    config.token_secret = SECRET.into();
    // Three nodes per test and tests in parallel: stay well under PostgreSQL's connection limit.
    config.database_max_connections = 4;
    // The tests publish in bulk through one account.
    config.limits = hehe_server::infra::limits::LimitsConfig::off();
}

/// Three nodes of one deployment; the first seeds the demo.
async fn three_nodes(db: &TestDatabase, redis: &TestRedis) -> Vec<TestApp> {
    let first = spawn_app_with(|c| deployment(c, db, &redis.url, &redis.prefix)).await;
    let second = spawn_node(&first).await;
    let third = spawn_node(&first).await;
    vec![first, second, third]
}

/// A new resident of the first community (stored once, through `any` node), connected to `node`
/// with a token minted there.
async fn resident_on(any: &TestApp, node: &TestApp, name: &str) -> (AccountId, Connection) {
    let store = &any.state.store;
    let id = store
        .insert_account(name, &format!("Resident {name}"), "-")
        .await
        .unwrap();
    store
        .insert_grant(id, Role::Resident, Some(any.demo.communities[0]))
        .await
        .unwrap();
    let token = node
        .state
        .tokens
        .issue(id, TokenKind::Access, node.state.now())
        .token;
    (
        id,
        Connection::connect(&node.ws_url(), &token).await.unwrap(),
    )
}

/// Reads events until every channel of `tops` has reached its top offset; returns them per
/// channel as (offset, kind).
async fn until_tops(
    conn: &mut Connection,
    tops: &BTreeMap<Channel, u64>,
) -> BTreeMap<Channel, Vec<(u64, String)>> {
    let mut seen: BTreeMap<Channel, Vec<(u64, String)>> =
        tops.keys().map(|c| (*c, Vec::new())).collect();
    let reached = |seen: &BTreeMap<Channel, Vec<(u64, String)>>| {
        tops.iter()
            .all(|(c, top)| seen[c].last().map_or(*top == 0, |(o, _)| o >= top))
    };
    while !reached(&seen) {
        let event = conn.next_event_timeout(WAIT).await.expect("an event");
        seen.entry(event.channel)
            .or_default()
            .push((event.offset, event.kind.clone()));
    }
    seen
}

/// `/readyz`'s status, polled until it is `want` (bounded).
async fn until_ready_is(node: &TestApp, want: u16) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, _) = node.http.get_text("/readyz").await.expect("readyz");
        if status == want {
            return;
        }
        assert!(Instant::now() < deadline, "/readyz stayed {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_room_spread_over_three_nodes_sees_one_order() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let Some(redis) = TestRedis::connect().await else {
        return;
    };
    let nodes = three_nodes(&db, &redis).await;
    let demo = nodes[0].demo.clone();
    let (room, home) = (
        Channel::Room(demo.meeting),
        Channel::Home(demo.communities[0]),
    );

    // The chair on node 1, residents on nodes 2 and 3, an official posting from node 2.
    let mut chair = nodes[0].connect("chief").await;
    let mut people = Vec::new();
    for (i, node) in [1, 1, 2, 2].into_iter().enumerate() {
        people.push(resident_on(&nodes[0], &nodes[node], &format!("spread{i}")).await);
    }
    let mut official = nodes[1].connect("official").await;
    let mut starts = Vec::new();
    for conn in std::iter::once(&mut chair).chain(people.iter_mut().map(|(_, c)| c)) {
        let r = conn.subscribe(room, None).await.unwrap();
        let h = conn.subscribe(home, None).await.unwrap();
        starts.push((r.offset, h.offset));
    }
    // Joining a room is itself an event of the room, so each member starts where it joined;
    // from the last join on, everybody's stream is the same.
    let (room_from, home_from) = *starts.iter().max().unwrap();
    assert!(starts.iter().all(|s| s.1 == home_from), "{starts:?}");

    // The official posts to the home channel while the room goes on.
    let posting = tokio::spawn(async move {
        for i in 1..=10 {
            official.post(home, &format!("notice {i}")).await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let meeting = demo.meeting;
    chair.room_action(meeting, RoomAction::Start).await.unwrap();
    chair
        .room_action(meeting, RoomAction::SetAgendaItem { index: 0 })
        .await
        .unwrap();
    people[0]
        .1
        .room_action(meeting, RoomAction::RaiseHand)
        .await
        .unwrap();
    people[2]
        .1
        .room_action(meeting, RoomAction::RaiseHand)
        .await
        .unwrap();
    chair
        .room_action(meeting, RoomAction::GiveFloor { to: None })
        .await
        .unwrap();
    people[0]
        .1
        .room_action(
            meeting,
            RoomAction::Say {
                text: "Spread over three nodes, heard once.".into(),
            },
        )
        .await
        .unwrap();
    posting.await.unwrap();

    // Where each stream stands now, asked of the third node.
    let mut probe = nodes[2].connect("lead").await;
    let mut tops = BTreeMap::new();
    for channel in [room, home] {
        tops.insert(
            channel,
            probe.subscribe(channel, None).await.unwrap().offset,
        );
    }
    assert_eq!(tops[&home] - starts[0].1, 10, "ten notices");
    assert!(
        tops[&room] - starts[0].0 >= 6,
        "every room action published"
    );

    let mut sequences = Vec::new();
    let members = std::iter::once(&mut chair).chain(people.iter_mut().map(|(_, c)| c));
    for (conn, (room_start, home_start)) in members.zip(starts) {
        let mut seen = until_tops(conn, &tops).await;
        assert_no_more_events(conn).await;
        for (channel, start) in [(room, room_start), (home, home_start)] {
            let offsets: Vec<u64> = seen[&channel].iter().map(|(o, _)| *o).collect();
            let want: Vec<u64> = (start + 1..=tops[&channel]).collect();
            assert_eq!(offsets, want, "{channel}: no gap, no duplicate");
        }
        seen.get_mut(&room).unwrap().retain(|(o, _)| *o > room_from);
        sequences.push(seen);
    }
    assert!(
        sequences.iter().all(|s| *s == sequences[0]),
        "every member sees one sequence"
    );
    drop(nodes);
    drop(db);
}

/// A real `hehe-server` process on loopback, which the test can SIGKILL; killed when dropped.
struct ProcessNode {
    child: std::process::Child,
    http: hehe_client::HttpClient,
    _dir: tempfile::TempDir,
}

impl ProcessNode {
    /// Starts the server binary with `first`'s settings (not seeding) and waits until it is
    /// ready.
    async fn start(first: &TestApp) -> ProcessNode {
        let dir = tempfile::tempdir().expect("temporary directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let c = &first.config;
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_hehe-server"))
            .env("HEHE_LISTEN", format!("127.0.0.1:{port}"))
            .env("HEHE_DATA_DIR", dir.path())
            .env("HEHE_DATABASE_URL", &c.database_url)
            .env("HEHE_DATABASE_MAX_CONNECTIONS", "4")
            .env("HEHE_REDIS_URL", &c.redis_url)
            .env("HEHE_REDIS_PREFIX", &c.redis_prefix)
            .env("HEHE_TOKEN_SECRET", &c.token_secret)
            .env(
                "HEHE_REDIS_PRESENCE_TTL_MS",
                c.redis_presence_ttl_ms.to_string(),
            )
            .env("HEHE_SEED_DEMO", "false")
            .env("HEHE_RATE_LIMITS", "off")
            .env("HEHE_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the server binary starts");
        let node = ProcessNode {
            child,
            http: hehe_client::HttpClient::new(format!("http://127.0.0.1:{port}")),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while !matches!(node.http.get_text("/readyz").await, Ok((200, _))) {
            assert!(
                Instant::now() < deadline,
                "the server process never got ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        node
    }

    /// SIGKILL, and wait for the process to be gone.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for ProcessNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_client_of_a_killed_node_resumes_on_another_with_no_loss_and_no_duplicate() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let Some(redis) = TestRedis::connect().await else {
        return;
    };
    let first = spawn_app_with(|c| deployment(c, &db, &redis.url, &redis.prefix)).await;
    let other = spawn_node(&first).await;
    // The node to kill is the real binary in a process of its own, so SIGKILL is real: its
    // sockets vanish without close frames, and nothing of it runs on.
    let mut victim = ProcessNode::start(&first).await;

    let home = Channel::Home(first.demo.communities[0]);
    let token = victim
        .http
        .login("resident", hehe_server::app::seed::DEMO_PASSWORD)
        .await
        .unwrap()
        .access_token;
    let mut reader = Connection::connect(&victim.http.ws_url(), &token)
        .await
        .unwrap();
    let start = reader.subscribe(home, None).await.unwrap().offset;

    // The official keeps posting through the first node the whole time.
    const N: u64 = 60;
    let mut official = first.connect("official").await;
    let posting = tokio::spawn(async move {
        for i in 1..=N {
            official.post(home, &format!("m{i}")).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });

    let mut got: Vec<(u64, String)> = Vec::new();
    while got.len() < 10 {
        let e = reader.next_event_timeout(WAIT).await.expect("an event");
        got.push((e.offset, text_of(&e)));
    }
    victim.kill();
    // What was already on the wire still arrives; then the socket is gone.
    while let Ok(e) = reader.next_event_timeout(Duration::from_secs(2)).await {
        got.push((e.offset, text_of(&e)));
    }
    let positions = reader.positions();
    assert_eq!(positions[0].1.offset, got.last().unwrap().0);

    // Reconnect to a surviving node with the same token and resume from the last position.
    let mut again = Connection::connect(&other.ws_url(), &token).await.unwrap();
    let resumed = again.resume(&positions).await.unwrap();
    assert!(resumed[0].recovered, "the stream outlived the node");
    let last = got.last().unwrap().0;
    let missed: Vec<u64> = resumed[0].events.iter().map(|e| e.offset).collect();
    assert_eq!(
        missed,
        (last + 1..=resumed[0].offset).collect::<Vec<_>>(),
        "exactly the missed events"
    );
    got.extend(resumed[0].events.iter().map(|e| (e.offset, text_of(e))));
    while (got.len() as u64) < N {
        let e = again.next_event_timeout(WAIT).await.expect("an event");
        got.push((e.offset, text_of(&e)));
    }
    posting.await.unwrap();
    assert_no_more_events(&mut again).await;
    let want: Vec<(u64, String)> = (1..=N).map(|i| (start + i, format!("m{i}"))).collect();
    assert_eq!(got, want, "no loss, no duplicate, one order");
    drop(victim);
    drop((first, other));
    drop(db);
}

#[tokio::test]
async fn the_people_of_a_killed_node_are_announced_gone() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let Some(redis) = TestRedis::connect().await else {
        return;
    };
    let first = spawn_app_with(|c| {
        deployment(c, &db, &redis.url, &redis.prefix);
        c.redis_presence_ttl_ms = 600;
    })
    .await;
    let mut victim = ProcessNode::start(&first).await;
    let room = Channel::Room(first.demo.meeting);
    let (resident_id, lead_id) = (first.demo.account("resident"), first.demo.account("lead"));

    let mut resident = first.connect("resident").await;
    resident.subscribe(room, None).await.unwrap();
    let token = victim
        .http
        .login("lead", hehe_server::app::seed::DEMO_PASSWORD)
        .await
        .unwrap()
        .access_token;
    let mut lead = Connection::connect(&victim.http.ws_url(), &token)
        .await
        .unwrap();
    lead.subscribe(room, None).await.unwrap();
    loop {
        let change = resident.next_presence_timeout(WAIT).await.expect("a join");
        if change.joins.iter().any(|m| m.account_id == lead_id) {
            break;
        }
    }

    // SIGKILL: the lead's node never says the lead left; the entry's time runs out instead.
    victim.kill();
    let change = resident.next_presence_timeout(WAIT).await.expect("a leave");
    let leaves: Vec<_> = change.leaves.iter().map(|m| m.account_id).collect();
    assert_eq!(leaves, [lead_id]);
    let members = resident.presence(room).await.unwrap();
    assert_eq!(
        members.iter().map(|m| m.account_id).collect::<Vec<_>>(),
        [resident_id]
    );
    drop(first);
    drop(db);
}

#[tokio::test]
async fn a_redis_restart_loses_no_acknowledged_post_and_readiness_follows_it() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let Some(mut server) = OwnRedis::start().await else {
        return;
    };
    let prefix = format!("hehe_test_{:016x}", rand::random::<u64>());
    let a = spawn_app_with(|c| deployment(c, &db, &server.url(), &prefix)).await;
    let b = spawn_node(&a).await;
    for node in [&a, &b] {
        until_ready_is(node, 200).await;
    }
    let home = Channel::Home(a.demo.communities[0]);
    let token = b.login("resident").await.access_token;
    let mut reader = Connection::connect(&b.ws_url(), &token).await.unwrap();
    reader.subscribe(home, None).await.unwrap();
    let mut official = a.connect("official").await;
    let mut acknowledged = Vec::new();
    for text in ["before 1", "before 2"] {
        acknowledged.push(official.post(home, text).await.unwrap().message_id);
    }
    assert_eq!(events(&mut reader, 2).await.len(), 2);
    let positions = reader.positions();

    // Redis goes away: both nodes say so, and a post is refused as retryable (or, had it been
    // answered, is acknowledged like any other).
    server.stop();
    for node in [&a, &b] {
        until_ready_is(node, 503).await;
    }
    let id = RequestId::parse("while-down").unwrap();
    // The bus's Redis connection retries its reconnect for a while (about 9.5 s here) before
    // the post is refused; the client waits longer than that.
    official.set_request_timeout(Duration::from_secs(15));
    let first_try = official
        .post_with_id(id.clone(), home, "while Redis was down")
        .await;
    if let Err(e) = &first_try {
        assert_eq!(e.code(), Some(ErrorCode::Unavailable), "{e}");
    }

    server.launch().await.expect("Redis starts again");
    for node in [&a, &b] {
        until_ready_is(node, 200).await;
    }
    // The same request id again until it is acknowledged: applied once.
    let deadline = Instant::now() + Duration::from_secs(10);
    let posted = loop {
        match official
            .post_with_id(id.clone(), home, "while Redis was down")
            .await
        {
            Ok(posted) => break posted,
            Err(e) => {
                assert_eq!(e.code(), Some(ErrorCode::Unavailable), "{e}");
                assert!(Instant::now() < deadline, "never accepted again");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    if let Ok(first) = &first_try {
        assert_eq!(first.message_id, posted.message_id);
    }
    let again = official
        .post_with_id(id, home, "while Redis was down")
        .await
        .unwrap();
    assert_eq!(again.message_id, posted.message_id);
    acknowledged.push(posted.message_id);
    acknowledged.push(official.post(home, "after").await.unwrap().message_id);

    // A subscriber coming back: the new Redis kept nothing (no persistence), so the stream
    // starts over in a new epoch and the subscriber is told to reload; the archive holds every
    // acknowledged message, once.
    let mut back = Connection::connect(&b.ws_url(), &token).await.unwrap();
    let resumed = back.resume(&positions).await.unwrap();
    assert!(!resumed[0].recovered, "history went with the restart");
    assert!(resumed[0].events.is_empty());
    assert_ne!(resumed[0].epoch, positions[0].1.epoch);
    let page = b.http.messages(&token, home, None, None).await.unwrap();
    let mut stored: Vec<i64> = page.messages.iter().map(|m| m.id).collect();
    stored.reverse();
    assert_eq!(
        stored, acknowledged,
        "every acknowledged post, once, in order"
    );
    drop((a, b));
    drop(server);
    drop(db);
}

#[tokio::test]
async fn a_deadline_fires_exactly_once_with_three_nodes() {
    use crate::issues::report;
    use hehe_protocol::issue::IssueState;
    use hehe_server::clock::ManualTime;
    use hehe_server::domain::calendar::days_from_civil;

    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let Some(redis) = TestRedis::connect().await else {
        return;
    };
    const HOUR: i64 = 3_600_000;
    let time = ManualTime::new(days_from_civil(2026, 11, 25) * 24 * HOUR + 2 * HOUR);
    let first = spawn_app_at(time.clone(), |c| {
        deployment(c, &db, &redis.url, &redis.prefix)
    })
    .await;
    let nodes = [spawn_node(&first).await, spawn_node(&first).await, first];
    let mut resident = nodes[0].connect("resident").await;
    let late = resident
        .submit_issue(report(&nodes[0], "parking"))
        .await
        .unwrap();

    // One working day to accept, missed; every node looks for due deadlines at once.
    time.advance(24 * HOUR + 60_000);
    let runs: Vec<_> = nodes
        .iter()
        .flat_map(|node| [node.state.clone(), node.state.clone()])
        .map(|state| {
            tokio::spawn(async move { hehe_server::app::issues::tick(&state).await.unwrap() })
        })
        .collect();
    for run in runs {
        // How many due deadlines each saw and settled, whoever applied them.
        run.await.unwrap();
    }
    let token = nodes[1].login("chief").await.access_token;
    let detail = nodes[1].http.issue(&token, late.id).await.unwrap();
    assert_eq!(detail.issue.state, IssueState::Escalated);
    let escalations = detail
        .timeline
        .iter()
        .filter(|e| e.kind == "escalated")
        .count();
    assert_eq!(escalations, 1);
    // Nothing is left due on any node.
    for node in &nodes {
        assert_eq!(
            hehe_server::app::issues::tick(&node.state).await.unwrap(),
            0
        );
    }
    drop(nodes);
    drop(db);
}

#[tokio::test]
async fn a_participant_removed_on_one_node_is_put_out_on_the_others() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let Some(redis) = TestRedis::connect().await else {
        return;
    };
    let nodes = three_nodes(&db, &redis).await;
    let demo = nodes[0].demo.clone();
    let (meeting, room) = (demo.meeting, Channel::Room(demo.meeting));
    let mut chair = nodes[0].connect("chief").await;
    chair.subscribe(room, None).await.unwrap();
    chair.room_action(meeting, RoomAction::Start).await.unwrap();
    // The same person is in the room from two other nodes (a phone and a laptop).
    let (who, mut phone) = resident_on(&nodes[0], &nodes[1], "twice").await;
    phone.subscribe(room, None).await.unwrap();
    let token = nodes[2]
        .state
        .tokens
        .issue(who, TokenKind::Access, nodes[2].state.now())
        .token;
    let mut laptop = Connection::connect(&nodes[2].ws_url(), &token)
        .await
        .unwrap();
    laptop.subscribe(room, None).await.unwrap();

    chair
        .room_action(meeting, RoomAction::Remove { who })
        .await
        .unwrap();
    for conn in [&mut phone, &mut laptop] {
        let notice = loop {
            match conn.recv_timeout(WAIT).await.unwrap() {
                Incoming::Msg(ServerMsg::Unsubscribed { channel, code, .. }) => {
                    break (channel, code);
                }
                Incoming::Msg(_) => continue,
                Incoming::Closed { code, .. } => panic!("closed with {code:?}"),
            }
        };
        assert_eq!(notice, (room, ErrorCode::Forbidden));
    }
    // Nothing more reaches either, and the room's presence no longer lists them.
    chair
        .room_action(
            meeting,
            RoomAction::Say {
                text: "We go on.".into(),
            },
        )
        .await
        .unwrap();
    assert!(phone.next_event_timeout(QUIET).await.is_err());
    assert!(laptop.next_event_timeout(QUIET).await.is_err());
    let present = chair.presence(room).await.unwrap();
    assert!(present.iter().all(|m| m.account_id != who), "{present:?}");
}
