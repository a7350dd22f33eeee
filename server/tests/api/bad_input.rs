//! Bad frames get the documented error or close code, and everyone else keeps being served.

use crate::helpers::*;
use hehe_client::{ClientError, Connection};
use hehe_protocol::{Channel, ErrorCode, ServerMsg};

/// A subscribed bystander and a way to prove it still receives.
async fn bystander(app: &TestApp) -> (hehe_client::Connection, hehe_client::Connection, Channel) {
    let home = Channel::Home(app.demo.communities[0]);
    let mut watcher = app.connect("resident").await;
    watcher.subscribe(home, None).await.unwrap();
    let official = app.connect("official").await;
    (watcher, official, home)
}

async fn still_served(
    watcher: &mut Connection,
    official: &mut Connection,
    home: Channel,
    text: &str,
) {
    official.post(home, text).await.unwrap();
    let got = events(watcher, 1).await;
    assert_eq!(text_of(&got[0]), text);
}

#[tokio::test]
async fn malformed_json_gets_bad_frame_and_the_connection_stays_usable() {
    let app = spawn_app().await;
    let mut conn = app.connect("resident").await;
    conn.send_text("{\"type\": \"subscribe\", ".into())
        .await
        .unwrap();
    assert_eq!(next_error(&mut conn).await, (None, ErrorCode::BadFrame));
    conn.send_text("not json at all".into()).await.unwrap();
    assert_eq!(next_error(&mut conn).await, (None, ErrorCode::BadFrame));
    conn.subscribe(Channel::Street(app.demo.street), None)
        .await
        .expect("still usable");
}

#[tokio::test]
async fn an_unknown_frame_type_gets_unknown_frame_type_with_its_id() {
    let app = spawn_app().await;
    let mut conn = app.connect("resident").await;
    conn.send_text(r#"{"type":"teleport","id":"t-1"}"#.into())
        .await
        .unwrap();
    assert_eq!(
        next_error(&mut conn).await,
        (Some("t-1".into()), ErrorCode::UnknownFrameType)
    );
    conn.send_text(r#"{"type":"subscribe","id":"t-2","channel":"attic:1"}"#.into())
        .await
        .unwrap();
    assert_eq!(
        next_error(&mut conn).await,
        (Some("t-2".into()), ErrorCode::InvalidRequest)
    );
    conn.send_text(r#"{"type":"post","id":"t-3","channel":"home:1","text":"   "}"#.into())
        .await
        .unwrap();
    let (id, code) = next_error(&mut conn).await;
    assert_eq!(id.as_deref(), Some("t-3"));
    assert!(matches!(code, ErrorCode::InvalidRequest), "{code:?}");
}

#[tokio::test]
async fn an_oversize_frame_closes_with_message_too_big_and_others_keep_receiving() {
    let app = spawn_app().await;
    let (mut watcher, mut official, home) = bystander(&app).await;
    let mut conn = app.connect("resident").await;
    let big = format!(
        r#"{{"type":"post","id":"big","channel":"{home}","text":"{}"}}"#,
        "a".repeat(70 * 1024)
    );
    conn.send_text(big).await.unwrap();
    assert_eq!(close_code(&mut conn).await, Some(4503));
    still_served(&mut watcher, &mut official, home, "after the big frame").await;
}

#[tokio::test]
async fn the_frame_limit_is_configurable() {
    let app = spawn_app_with(|c| c.max_frame_bytes = 1024).await;
    let mut conn = app.connect("resident").await;
    conn.send_text(format!(r#"{{"type":"ping","pad":"{}"}}"#, "a".repeat(2000)))
        .await
        .unwrap();
    assert_eq!(close_code(&mut conn).await, Some(4503));
}

#[tokio::test]
async fn binary_frames_and_repeated_garbage_close_with_protocol_violation() {
    let app = spawn_app().await;
    let (mut watcher, mut official, home) = bystander(&app).await;
    let mut binary = app.connect("resident").await;
    binary.send_binary(vec![1, 2, 3]).await.unwrap();
    assert_eq!(close_code(&mut binary).await, Some(4500));

    let mut garbage = app.connect("resident").await;
    for _ in 0..10 {
        garbage.send_text("}{".into()).await.unwrap();
    }
    assert_eq!(close_code(&mut garbage).await, Some(4500));
    still_served(&mut watcher, &mut official, home, "after the garbage").await;
}

#[tokio::test]
async fn a_command_before_auth_is_refused_and_closed() {
    let app = spawn_app().await;
    let mut conn = Connection::open(&app.ws_url()).await.unwrap();
    conn.send_text(r#"{"type":"subscribe","id":"s1","channel":"home:1"}"#.into())
        .await
        .unwrap();
    assert_eq!(
        next_error(&mut conn).await,
        (Some("s1".into()), ErrorCode::Unauthenticated)
    );
    assert_eq!(close_code(&mut conn).await, Some(4500));
}

#[tokio::test]
async fn a_connection_that_never_authenticates_is_closed() {
    let app = spawn_app_with(|c| c.auth_timeout_secs = 1).await;
    let mut conn = Connection::open(&app.ws_url()).await.unwrap();
    // A ping is answered before auth, but does not stand in for it.
    conn.send(&hehe_protocol::ClientMsg::Ping).await.unwrap();
    assert_eq!(close_code(&mut conn).await, Some(4501));
}

#[tokio::test]
async fn a_bad_token_is_refused_and_closed() {
    let app = spawn_app().await;
    let err = Connection::connect(&app.ws_url(), "not-a-token")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Server {
                code: ErrorCode::InvalidToken,
                ..
            } | ClientError::Closed {
                code: Some(4501),
                ..
            }
        ),
        "{err:?}"
    );
    // A refresh token is not an access token.
    let tokens = app.login("resident").await;
    let mut conn = Connection::open(&app.ws_url()).await.unwrap();
    conn.send_text(format!(
        r#"{{"type":"auth","id":"a1","token":"{}"}}"#,
        tokens.refresh_token
    ))
    .await
    .unwrap();
    assert_eq!(
        next_error(&mut conn).await,
        (Some("a1".into()), ErrorCode::InvalidToken)
    );
    assert_eq!(close_code(&mut conn).await, Some(4501));
}

#[tokio::test]
async fn an_unsupported_protocol_version_is_closed() {
    let app = spawn_app().await;
    let tokens = app.login("resident").await;
    let mut conn = Connection::open(&app.ws_url()).await.unwrap();
    conn.send_text(format!(
        r#"{{"type":"auth","id":"a1","token":"{}","version":99}}"#,
        tokens.access_token
    ))
    .await
    .unwrap();
    assert_eq!(
        next_error(&mut conn).await,
        (Some("a1".into()), ErrorCode::UnsupportedVersion)
    );
    assert_eq!(close_code(&mut conn).await, Some(4504));
}

#[tokio::test]
async fn subscribing_twice_or_beyond_the_limit_is_refused() {
    let app = spawn_app_with(|c| c.max_subscriptions = 2).await;
    let mut conn = app.connect("chief").await;
    let d = &app.demo;
    conn.subscribe(Channel::Street(d.street), None)
        .await
        .unwrap();
    let twice = conn
        .subscribe(Channel::Street(d.street), None)
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Some(ErrorCode::AlreadySubscribed));
    conn.subscribe(Channel::Home(d.communities[0]), None)
        .await
        .unwrap();
    let third = conn
        .subscribe(Channel::Home(d.communities[1]), None)
        .await
        .unwrap_err();
    assert_eq!(third.code(), Some(ErrorCode::TooManySubscriptions));
    // The connection answers pings after all that.
    conn.send(&hehe_protocol::ClientMsg::Ping).await.unwrap();
    loop {
        match conn.recv_timeout(WAIT).await.unwrap() {
            hehe_client::Incoming::Msg(ServerMsg::Pong) => break,
            hehe_client::Incoming::Msg(_) => continue,
            other => panic!("{other:?}"),
        }
    }
}

/// The status of a WebSocket upgrade sent with `origin`, or 101 when it succeeded.
async fn upgrade_with_origin(app: &TestApp, origin: Option<&str>) -> u16 {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = app.ws_url().into_client_request().unwrap();
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("upgrade failed otherwise: {e}"),
    }
}

#[tokio::test]
async fn only_this_servers_pages_and_listed_origins_open_a_websocket() {
    let app = spawn_app_with(|c| c.allowed_origins = vec!["https://app.hehe.example".into()]).await;
    let own = format!("http://{}", app.addr);
    assert_eq!(upgrade_with_origin(&app, None).await, 101, "not a browser");
    assert_eq!(upgrade_with_origin(&app, Some(&own)).await, 101, "own page");
    assert_eq!(
        upgrade_with_origin(&app, Some("https://app.hehe.example")).await,
        101,
        "listed"
    );
    assert_eq!(
        upgrade_with_origin(&app, Some("https://evil.example")).await,
        403,
        "a page elsewhere"
    );
    let open = spawn_app_with(|c| c.allowed_origins = vec!["*".into()]).await;
    assert_eq!(
        upgrade_with_origin(&open, Some("https://evil.example")).await,
        101
    );
}

/// Status, content type and body of a request with `token`.
async fn call(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    path: &str,
    content_type: Option<&str>,
) -> (u16, String, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("http://{}{path}", app.addr))
        .bearer_auth(token);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type).body("x");
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().await.unwrap();
    let json = serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body));
    (status, content_type, json)
}

// axum's own rejections of a path, a query or a form answer in plain text; the document
// promises an `ApiError` for every 400 of the API (found by schemathesis, server/contract).
#[tokio::test]
async fn a_malformed_path_query_or_form_gets_an_invalid_request_body() {
    let app = spawn_app().await;
    let token = app.login("admin").await.access_token;
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;
    let cases = [
        (get.clone(), "/api/issues/abc", None),
        (get.clone(), "/api/issues/1/photos/x", None),
        (get.clone(), "/api/meetings/9223372036854775808", None),
        (
            post.clone(),
            "/api/meetings/x/checkin",
            Some("application/json"),
        ),
        (get.clone(), "/api/places/1.5", None),
        (get.clone(), "/api/appraisals/-", None),
        (get.clone(), "/api/issues?limit=many", None),
        (get.clone(), "/api/issues?before=1e3", None),
        (get.clone(), "/api/stats", None),
        (
            get.clone(),
            "/api/issues/similar?category=noise&place_id=x",
            None,
        ),
        (
            get.clone(),
            "/api/channels/home:2/messages?before=yesterday",
            None,
        ),
        (post.clone(), "/api/issues/1/photos", Some("text/plain")),
        (
            post.clone(),
            "/api/issues/1/photos",
            Some("multipart/form-data"),
        ),
    ];
    for (method, path, content_type) in cases {
        let (status, content, body) = call(&app, method.clone(), &token, path, content_type).await;
        assert_eq!(status, 400, "{method} {path}: {body}");
        assert_eq!(content, "application/json", "{method} {path}: {body}");
        assert_eq!(body["code"], "invalid_request", "{method} {path}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

// Both listings clamped a `limit` outside the documented 1 to 200 (found by schemathesis).
#[tokio::test]
async fn a_page_size_outside_1_to_200_is_refused() {
    let app = spawn_app().await;
    let token = app.login("chief").await.access_token;
    let get = reqwest::Method::GET;
    for path in ["/api/issues", "/api/channels/street:1/messages"] {
        for limit in [0_u64, 201, 4_294_967_295] {
            let path = format!("{path}?limit={limit}");
            let (status, _, body) = call(&app, get.clone(), &token, &path, None).await;
            assert_eq!(status, 400, "{path}: {body}");
            assert_eq!(body["code"], "invalid_request", "{path}: {body}");
        }
        for limit in [1, 200] {
            let path = format!("{path}?limit={limit}");
            let (status, _, body) = call(&app, get.clone(), &token, &path, None).await;
            assert_eq!(status, 200, "{path}: {body}");
        }
    }
}

// `keep_location` other than true or false was read as false, and the photo stored without
// its location (found by schemathesis).
#[tokio::test]
async fn a_photo_form_with_a_keep_location_that_is_no_boolean_is_refused() {
    let app = spawn_app().await;
    let resident = app.login("resident").await.access_token;
    let issue = app
        .http
        .submit_issue(
            &resident,
            &hehe_protocol::RequestId::parse("photo-form").unwrap(),
            &crate::issues::report(&app, "drainage"),
        )
        .await
        .unwrap();
    let upload = |keep: &'static str| {
        let form = reqwest::multipart::Form::new()
            .text("kind", "before")
            .text("keep_location", keep)
            .part(
                "file",
                reqwest::multipart::Part::bytes(crate::issues::jpeg()).file_name("p.jpg"),
            );
        reqwest::Client::new()
            .post(format!(
                "http://{}/api/issues/{}/photos",
                app.addr, issue.id
            ))
            .bearer_auth(&resident)
            .multipart(form)
            .send()
    };
    let refused = upload("yes").await.unwrap();
    assert_eq!(refused.status(), 400);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "invalid_request", "{body}");
    for keep in ["true", "false"] {
        let stored = upload(keep).await.unwrap();
        assert_eq!(stored.status(), 200, "keep_location={keep}");
    }
}

/// Every JSON body is an object: serde would read a struct from an array of its fields, so
/// `[null, null]` would be a `PATCH` changing nothing, where the document says it is refused.
#[tokio::test]
async fn a_json_body_that_is_not_an_object_is_refused() {
    let app = spawn_app().await;
    let admin = app.login("admin").await.access_token;
    let place = app.demo.buildings[0].0;
    for (method, path) in [
        ("PATCH", "/api/me".to_owned()),
        ("PATCH", format!("/api/places/{place}")),
        ("POST", "/api/auth/login".to_owned()),
    ] {
        for body in [serde_json::json!([null, null]), serde_json::json!("text")] {
            let (status, reply) =
                crate::identity::call(&app, method, &path, &admin, Some(body.clone())).await;
            assert_eq!(status, 400, "{method} {path} {body}: {reply}");
            assert_eq!(reply["code"], "invalid_request", "{reply}");
        }
    }
    let (status, reply) = crate::identity::call(
        &app,
        "PATCH",
        "/api/me",
        &admin,
        Some(serde_json::json!({"display_name": "管理员"})),
    )
    .await;
    assert_eq!(status, 200, "an object still passes: {reply}");
}
