//! Logs never carry secrets or personal data: a real server process logging at `debug` goes
//! through a session full of them, and its whole output is searched for each.

use crate::helpers::WAIT;
use hehe_client::{Connection, HttpClient};
use hehe_protocol::issue::NewIssue;
use hehe_protocol::{Channel, RequestId};
use hehe_server::app::seed::DEMO_PASSWORD;
use std::time::{Duration, Instant};

#[tokio::test]
async fn logs_hold_no_tokens_passwords_bodies_or_names() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hehe-server"))
        .env("HEHE_LISTEN", format!("127.0.0.1:{port}"))
        .env("HEHE_DATA_DIR", dir.path().join("data"))
        .env("HEHE_SEED_DEMO", "true")
        .env("HEHE_LOG", "debug")
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .expect("the server binary starts");
    let http = HttpClient::new(format!("http://127.0.0.1:{port}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(http.get_text("/readyz").await, Ok((200, _))) {
        assert!(Instant::now() < deadline, "the server never got ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let wrong_password = "Wrong-Passw0rd-e1f4";
    let _ = http.login("resident", wrong_password).await;
    let resident = http.login("resident", DEMO_PASSWORD).await.expect("login");
    let official = http.login("official", DEMO_PASSWORD).await.expect("login");
    let refreshed = http
        .refresh(&resident.refresh_token)
        .await
        .expect("refresh");
    let me = http.me(&resident.access_token).await.expect("me");

    let mut conn = Connection::connect(&http.ws_url(), &official.access_token)
        .await
        .expect("connect");
    let grant = &me.grants[0];
    let home = grant
        .channels
        .iter()
        .copied()
        .find(|c| matches!(c, Channel::Home(_)))
        .expect("a home channel");
    let message = "Message-Body-7f3a: 3号楼的水管又漏了";
    conn.post(home, message).await.expect("post");
    // A frame that does not decode, holding text a person wrote.
    conn.send_text(format!("{{\"type\":\"post\",\"text\":\"{message}\""))
        .await
        .unwrap();
    let _ = conn.recv_timeout(WAIT).await;

    // Issues are raised on a grid or a building: walk down from the resident's community.
    let mut building = grant.place.as_ref().expect("a resident's place").id;
    while let Some(child) = http
        .place(&resident.access_token, building)
        .await
        .expect("a place")
        .children
        .first()
    {
        building = child.id;
    }
    let (title, description) = (
        "Title-91c2 楼道堆物",
        "Description-55d0: 住在 2 单元 301 的张先生",
    );
    let issue = NewIssue {
        category: "clutter".into(),
        title: title.into(),
        description: description.into(),
        place_id: building,
        location: None,
        public: true,
        priority: None,
        on_behalf_of: None,
    };
    let request_id = RequestId::parse("log-test-1").unwrap();
    http.submit_issue(&refreshed.access_token, &request_id, &issue)
        .await
        .expect("raised over HTTP");
    let mut resident_conn = Connection::connect(&http.ws_url(), &refreshed.access_token)
        .await
        .expect("connect");
    resident_conn
        .submit_issue(issue)
        .await
        .expect("raised over the WebSocket");
    // An expired-looking, forged token.
    let _ = Connection::connect(&http.ws_url(), "eyJhbGciOiJIUzI1NiJ9.Forged-Token-c0de.sig").await;
    drop((conn, resident_conn));

    let _ = child.kill();
    let _ = child.wait();
    let logged = std::fs::read_to_string(&log_path).expect("the log");
    // The session was logged, at debug level, request by request and frame by frame.
    for expected in ["login", "/api/issues", "session"] {
        assert!(
            logged.contains(expected),
            "no {expected:?} in the log:\n{logged}"
        );
    }
    let secrets = [
        DEMO_PASSWORD,
        wrong_password,
        resident.access_token.as_str(),
        resident.refresh_token.as_str(),
        refreshed.access_token.as_str(),
        refreshed.refresh_token.as_str(),
        official.access_token.as_str(),
        "Forged-Token-c0de",
        "Message-Body-7f3a",
        "水管又漏了",
        "Title-91c2",
        "楼道堆物",
        "Description-55d0",
        "张先生",
        me.display_name.as_str(),
    ];
    for secret in secrets {
        assert!(
            !logged.contains(secret),
            "the log holds {secret:?}:\n{}",
            logged
                .lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
