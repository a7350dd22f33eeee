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

/// The enrolment flows carry phone numbers, emails, names, passwords and one-time codes: a
/// server logging at `debug`, sending its texts to a file (`HEHE_SMS_FILE`), goes through
/// invites, a people import, a sign-up, a sign-in by phone and two resets, and its log holds
/// none of them.
#[tokio::test]
async fn enrolment_logs_hold_no_numbers_codes_or_names() {
    use hehe_protocol::credentials::{CodePurpose, ResetRequest, SignupRequest};
    use hehe_protocol::people::{AcceptInvite, NewInvite};
    use hehe_protocol::{PlaceId, Role};

    let dir = tempfile::tempdir().expect("temporary directory");
    let log_path = dir.path().join("server.log");
    let sms_path = dir.path().join("sms.jsonl");
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
        .env("HEHE_SMS_FILE", &sms_path)
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
    // The code of the latest text to `to`, once the file has it.
    // By purpose too: a text is sent after the API answers, so the reset code may come after
    // the request returns, and the invite's code to the same number must not be taken for it.
    let code_for = |to: &'static str, purpose: &'static str| {
        let sms_path = sms_path.clone();
        async move {
            let deadline = Instant::now() + WAIT;
            loop {
                let text = std::fs::read_to_string(&sms_path).unwrap_or_default();
                let code = text
                    .lines()
                    .rev()
                    .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                    .filter(|m| m["to"] == to && m["purpose"] == purpose)
                    .find_map(|m| m["code"].as_str().map(str::to_owned));
                if let Some(code) = code {
                    return code;
                }
                assert!(Instant::now() < deadline, "no text to {to}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };

    let official = http.login("official", DEMO_PASSWORD).await.expect("login");
    let me = http.me(&official.access_token).await.expect("me");
    let community = me.grants[0].place.as_ref().expect("a community").id;
    let detail = http.place(&official.access_token, community).await.unwrap();
    let grid = detail.children[0].id;
    let building: PlaceId = http
        .place(&official.access_token, grid)
        .await
        .unwrap()
        .children[0]
        .id;
    let path = |p: &hehe_protocol::http::PlaceInfo| p.name_zh.clone();
    let street = path(&detail.ancestors[0]);

    // An invite by phone (sent by text) and one by email, accepted.
    let (worker_name, worker_phone, worker_password) =
        ("邀请工人甲", "13911112222", "Worker-Pass-5b1e");
    http.create_invite(
        &official.access_token,
        &NewInvite {
            role: Role::GridWorker,
            place: Some(grid),
            display_name: worker_name.into(),
            phone: Some(worker_phone.into()),
            email: None,
            romanised_name: Some("Yaoqing Gongren".into()),
        },
    )
    .await
    .expect("invite by phone");
    let invite_code = code_for("+8613911112222", "invite").await;
    http.accept_invite(&AcceptInvite {
        code: invite_code.clone(),
        username: "worker.jia".into(),
        password: worker_password.into(),
        display_name: None,
    })
    .await
    .expect("accepted");
    let email = "lead.person@example.org";
    let by_email = http
        .create_invite(
            &official.access_token,
            &NewInvite {
                role: Role::BuildingLead,
                place: Some(building),
                display_name: "楼长乙".into(),
                phone: None,
                email: Some(email.into()),
                romanised_name: None,
            },
        )
        .await
        .expect("invite by email");

    // A people import naming a resident with a number.
    let csv = format!(
        "name,phone,place,role\n导入居民丙,13722223333,{street}/{}/{}/{},resident\n",
        path(&detail.place),
        path(&detail.children[0]),
        http.place(&official.access_token, building)
            .await
            .unwrap()
            .place
            .name_zh,
    );
    let report = http
        .import_people(&official.access_token, csv, false)
        .await
        .expect("imported");
    assert!(report.refused.is_empty(), "{report:?}");

    // A sign-up by text, a sign-in by phone, an SMS reset and an official's reset code.
    let (resident_phone, resident_password) = ("13633334444", "Resident-Pass-9c3d");
    http.request_code(resident_phone, CodePurpose::Signup)
        .await
        .expect("a code");
    let signup_code = code_for("+8613633334444", "signup").await;
    http.sign_up(&SignupRequest {
        phone: resident_phone.into(),
        code: signup_code.clone(),
        password: resident_password.into(),
        display_name: "注册居民丁".into(),
        romanised_name: Some("Zhuce Jumin".into()),
        building,
    })
    .await
    .expect("signed up");
    http.login("136 3333 4444", resident_password)
        .await
        .expect("signed in by phone");
    http.request_code(worker_phone, CodePurpose::Reset)
        .await
        .expect("a reset code");
    let reset_code = code_for("+8613911112222", "reset").await;
    let new_password = "New-Worker-Pass-77aa";
    http.reset_password(&ResetRequest {
        phone: Some(worker_phone.into()),
        username: None,
        code: reset_code.clone(),
        new_password: new_password.into(),
    })
    .await
    .expect("reset by text");
    let worker = http.login("worker.jia", new_password).await.expect("login");
    let made = http
        .make_reset_code(&official.access_token, worker.account.id)
        .await
        .expect("an official's code");

    let _ = child.kill();
    let _ = child.wait();
    let logged = std::fs::read_to_string(&log_path).expect("the log");
    for expected in ["/api/invites", "/api/signup", "/api/auth/reset"] {
        assert!(logged.contains(expected), "no {expected:?} in the log");
    }
    let secrets = [
        worker_phone,
        "8613911112222",
        "1391111",
        "13722223333",
        resident_phone,
        "8613633334444",
        email,
        worker_name,
        "Yaoqing Gongren",
        "楼长乙",
        "导入居民丙",
        "注册居民丁",
        "Zhuce Jumin",
        worker_password,
        resident_password,
        new_password,
        invite_code.as_str(),
        by_email.code.as_str(),
        signup_code.as_str(),
        reset_code.as_str(),
        made.code.as_str(),
        worker.access_token.as_str(),
    ];
    for secret in secrets {
        assert!(
            !holds(&logged, secret),
            "the log holds {secret:?}:\n{}",
            logged
                .lines()
                .filter(|l| holds(l, secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// Whether `text` holds `secret`. A six-digit code is looked for as a number of its own, not as
/// the microseconds of a time stamp (`02:15:12.123456Z`) nor inside a longer number, where it
/// would stand by chance.
fn holds(text: &str, secret: &str) -> bool {
    if !(secret.len() <= 8 && secret.bytes().all(|b| b.is_ascii_digit())) {
        return text.contains(secret);
    }
    text.match_indices(secret).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + secret.len()..].chars().next();
        let in_number =
            before.is_some_and(|c| c.is_ascii_digit()) || after.is_some_and(|c| c.is_ascii_digit());
        let time_stamp = before == Some('.') && after == Some('Z');
        !in_number && !time_stamp
    })
}
