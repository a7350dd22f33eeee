//! Rate limits, end to end: each limit is enforced where it is documented to be, answers with
//! its documented code, and leaves other clients and other kinds of action alone.

use crate::helpers::*;
use crate::issues::{jpeg, report};
use hehe_client::{ClientError, Incoming};
use hehe_protocol::meeting::RoomAction;
use hehe_protocol::{Channel, ClientMsg, ErrorCode, RequestId};
use hehe_server::infra::limits::Rate;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

fn rate(s: &str) -> Rate {
    s.parse().expect("a rate")
}

fn rate_limited(result: Result<impl std::fmt::Debug, ClientError>) {
    let err = result.expect_err("refused by the limit");
    assert_eq!(err.code(), Some(ErrorCode::RateLimited), "{err:?}");
}

/// A WebSocket upgrade request from `source` (an address of 127.0.0.0/8): its HTTP status,
/// `Retry-After` header and body.
async fn upgrade_from(addr: SocketAddr, source: &str) -> (u16, Option<String>, String) {
    let client = reqwest::Client::builder()
        .local_address(source.parse::<IpAddr>().unwrap())
        .build()
        .unwrap();
    let response = client
        .get(format!("http://{addr}{}", hehe_protocol::WS_PATH))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry, response.text().await.unwrap_or_default())
}

#[tokio::test]
async fn connections_per_address_are_limited_and_other_addresses_are_not() {
    let app = spawn_app_with(|c| c.limits.connects = rate("1/h:3")).await;
    for _ in 0..3 {
        assert_eq!(upgrade_from(app.addr, "127.0.0.1").await.0, 101);
    }
    let (status, retry, body) = upgrade_from(app.addr, "127.0.0.1").await;
    assert_eq!(status, 429);
    assert!(retry.unwrap().parse::<u64>().unwrap() > 1000);
    assert!(body.contains("\"rate_limited\""), "{body}");
    // Another address has its own allowance.
    assert_eq!(upgrade_from(app.addr, "127.0.0.2").await.0, 101);
    assert_eq!(
        app.metric("hehe_rate_limited_total{limit=\"connect\"}")
            .await,
        1.0
    );
}

#[tokio::test]
async fn token_requests_per_address_are_limited_but_reads_are_not() {
    let app = spawn_app_with(|c| c.limits.logins = rate("1/h:1")).await;
    let tokens = app.login("resident").await;
    rate_limited(app.http.login("resident", "wrong password").await);
    rate_limited(app.http.login("chief", "anything").await);
    // The same refusal covers refresh, which also mints tokens.
    rate_limited(app.http.refresh(&tokens.refresh_token).await);
    // Reading with a token is not a token request.
    app.http.me(&tokens.access_token).await.expect("me");
    // The refusal came before the password check: the username's own backoff saw nothing.
    assert_eq!(
        app.metric("hehe_rate_limited_total{limit=\"login\"}").await,
        3.0
    );
}

#[tokio::test]
async fn a_connection_sending_too_many_frames_is_closed_with_4004() {
    let app = spawn_app_with(|c| c.limits.frames = rate("1/h:5")).await;
    // The auth frame is the first of five.
    let mut flood = app.connect("resident").await;
    let mut calm = app.connect("resident").await;
    for _ in 0..4 {
        flood.send(&ClientMsg::Ping).await.unwrap();
    }
    for _ in 0..4 {
        assert!(matches!(
            flood.recv_timeout(WAIT).await.unwrap(),
            Incoming::Msg(hehe_protocol::ServerMsg::Pong)
        ));
    }
    flood.send(&ClientMsg::Ping).await.unwrap();
    let code = loop {
        match flood.recv_timeout(WAIT).await {
            Ok(Incoming::Closed { code, .. }) | Err(ClientError::Closed { code, .. }) => {
                break code;
            }
            Ok(_) => continue,
            Err(e) => panic!("expected a close, got {e:?}"),
        }
    };
    assert_eq!(code, Some(4004));
    // Another connection of the same account counts its own frames.
    calm.subscribe(Channel::Home(app.demo.communities[0]), None)
        .await
        .expect("the other connection is untouched");
}

#[tokio::test]
async fn posts_are_limited_per_account_over_websocket_and_http_alike() {
    let app = spawn_app_with(|c| c.limits.posts = rate("1/h:2")).await;
    let home = Channel::Home(app.demo.communities[0]);
    // Community officials post notices to the home channel.
    let mut resident = app.connect("official").await;
    resident.post(home, "first").await.expect("first");
    let tokens = app.login("official").await;
    post_http(&app, &tokens.access_token, home, "second")
        .await
        .expect("second");
    rate_limited(resident.post(home, "third").await);
    let (status, body) = post_http(&app, &tokens.access_token, home, "fourth")
        .await
        .unwrap_err();
    assert_eq!(status, 429);
    assert!(body.contains("rate_limited"));
    // Another account, and another kind of action, are not affected.
    let mut chief = app.connect("chief").await;
    chief.post(home, "hello").await.expect("another account");
    resident
        .submit_issue(report(&app, "drainage"))
        .await
        .expect("submits have their own limit");
}

/// `POST /api/channels/{channel}/messages`: Ok, or the status and body of the refusal.
async fn post_http(
    app: &TestApp,
    token: &str,
    channel: Channel,
    text: &str,
) -> Result<(), (u16, String)> {
    let response = reqwest::Client::new()
        .post(format!(
            "http://{}/api/channels/{channel}/messages",
            app.addr
        ))
        .bearer_auth(token)
        .json(&serde_json::json!({ "request_id": format!("p-{text}"), "text": text }))
        .send()
        .await
        .unwrap();
    match response.status().as_u16() {
        200 | 201 => Ok(()),
        status => {
            assert!(
                status != 429 || response.headers().contains_key("retry-after"),
                "a 429 says when to retry"
            );
            Err((status, response.text().await.unwrap_or_default()))
        }
    }
}

#[tokio::test]
async fn issue_submits_are_limited_but_a_retry_of_an_accepted_one_is_answered() {
    let app = spawn_app_with(|c| c.limits.submits = rate("1/h:1")).await;
    let mut resident = app.connect("resident").await;
    let id = RequestId::parse("raise-1").unwrap();
    let first = resident
        .submit_issue_with_id(id.clone(), report(&app, "drainage"))
        .await
        .expect("first");
    rate_limited(resident.submit_issue(report(&app, "drainage")).await);
    // The client did not hear the first answer and retries: that is no new issue.
    let again = resident
        .submit_issue_with_id(id, report(&app, "drainage"))
        .await
        .expect("the retry is answered");
    assert_eq!(again.id, first.id);
}

#[tokio::test]
async fn votes_are_limited_per_account() {
    let app = spawn_app_with(|c| c.limits.votes = rate("1/h:2")).await;
    let mut resident = app.connect("resident").await;
    let cast = RoomAction::CastVote {
        vote: 99,
        choices: vec![0],
    };
    // Attempts count whatever their outcome: the limit is checked first.
    for _ in 0..2 {
        let err = resident
            .room_action(app.demo.meeting, cast.clone())
            .await
            .expect_err("there is no vote 99");
        assert_ne!(err.code(), Some(ErrorCode::RateLimited));
    }
    rate_limited(resident.room_action(app.demo.meeting, cast).await);
}

#[tokio::test]
async fn uploads_are_limited_per_account_before_the_body_is_read() {
    let app = spawn_app_with(|c| c.limits.uploads = rate("1/h:1")).await;
    let mut resident = app.connect("resident").await;
    let issue = resident
        .submit_issue(report(&app, "drainage"))
        .await
        .unwrap();
    let token = app.login("resident").await.access_token;
    app.http
        .upload_photo(&token, issue.id, "before", jpeg(), false)
        .await
        .expect("first");
    let err = app
        .http
        .upload_photo(&token, issue.id, "before", jpeg(), false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::RateLimited));
    assert_eq!(
        app.metric("hehe_rate_limited_total{limit=\"upload\"}")
            .await,
        1.0
    );
}

#[tokio::test]
async fn the_defaults_are_enforced_and_reported_to_ops() {
    // Default settings: 5 posts a second with bursts of 20.
    let app = spawn_app().await;
    let home = Channel::Home(app.demo.communities[0]);
    let mut resident = app.connect("official").await;
    let mut refused = 0;
    for i in 0..40 {
        if let Err(e) = resident.post(home, &format!("line {i}")).await {
            assert_eq!(e.code(), Some(ErrorCode::RateLimited));
            refused += 1;
        }
    }
    assert!(refused >= 10, "only {refused} of 40 refused");
    let mut ops = app.connect("ops").await;
    ops.subscribe(Channel::OPS, None).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let event = ops.next_event_timeout(WAIT).await.expect("node stats");
        let stats: hehe_protocol::ops::NodeStats = match serde_json::from_value(event.data) {
            Ok(s) => s,
            Err(_) => continue,
        };
        if stats.rate_limited.get("post").copied() == Some(refused) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{stats:?}");
    }
}

/// `[[[…]]]`, `depth` deep.
fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[tokio::test]
async fn deeply_nested_json_is_refused_without_harm_over_websocket_and_http() {
    let app = spawn_app().await;
    let mut conn = app.connect("resident").await;
    // 20,000 levels fit in a 64 KiB frame; the decoder gives up at its recursion limit.
    let frame = format!(
        r#"{{"type":"post","id":"x","channel":"home:1","text":{}}}"#,
        nested(20_000)
    );
    conn.send_text(frame).await.unwrap();
    match conn.recv_timeout(WAIT).await.unwrap() {
        Incoming::Msg(hehe_protocol::ServerMsg::Error { code, .. }) => {
            assert_eq!(code, ErrorCode::BadFrame)
        }
        other => panic!("expected an error frame, got {other:?}"),
    }
    conn.subscribe(Channel::Street(app.demo.street), None)
        .await
        .expect("still usable");

    let token = app.login("resident").await.access_token;
    let body = format!(r#"{{"request_id":"deep","issue":{}}}"#, nested(20_000));
    let (status, json) = post_raw(&app, &token, "/api/issues", body).await;
    assert_eq!(status, 400);
    assert_eq!(json["code"], "invalid_request");
}

#[tokio::test]
async fn a_json_body_past_the_limit_is_refused_with_413_but_photos_have_their_own() {
    let app = spawn_app_with(|c| c.max_body_bytes = 4096).await;
    let token = app.login("resident").await.access_token;
    let body = serde_json::json!({
        "request_id": "big",
        "text": "字".repeat(2000),
    })
    .to_string();
    assert!(body.len() > 4096);
    let path = format!(
        "/api/channels/{}/messages",
        Channel::Home(app.demo.communities[0])
    );
    let (status, json) = post_raw(&app, &token, &path, body).await;
    assert_eq!(status, 413);
    assert_eq!(json["code"], "payload_too_large");
    // A photo larger than the JSON limit still uploads.
    let mut resident = app.connect("resident").await;
    let issue = resident
        .submit_issue(report(&app, "drainage"))
        .await
        .unwrap();
    let photo = [jpeg(), vec![0u8; 8192]].concat();
    app.http
        .upload_photo(&token, issue.id, "before", photo, false)
        .await
        .expect("photos have their own limit");
}

async fn post_raw(
    app: &TestApp,
    token: &str,
    path: &str,
    body: String,
) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("http://{}{path}", app.addr))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}
