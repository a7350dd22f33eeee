//! The HTTP API: login, refresh, profile, the message archive, health and metrics.

use crate::helpers::*;
use hehe_client::ClientError;
use hehe_protocol::http::PlaceKind;
use hehe_protocol::{Channel, ErrorCode, Role};

#[tokio::test]
async fn login_refresh_and_profile() {
    let app = spawn_app().await;
    let tokens = app.login("worker").await;
    assert!(tokens.access_expires_at < tokens.refresh_expires_at);
    let me = app.http.me(&tokens.access_token).await.unwrap();
    assert_eq!(me.username, "worker");
    assert_eq!(me.grants.len(), 1);
    let grant = &me.grants[0];
    assert_eq!(grant.role, Role::GridWorker);
    let place = grant.place.as_ref().unwrap();
    assert_eq!((place.id, place.kind), (app.demo.grids[0], PlaceKind::Grid));
    assert!(
        grant
            .channels
            .contains(&Channel::Home(app.demo.communities[0]))
    );
    assert!(grant.channels.contains(&Channel::Street(app.demo.street)));

    let renewed = app.http.refresh(&tokens.refresh_token).await.unwrap();
    assert_eq!(renewed.account.id, me.id);
    // An access token is no refresh token, and the other way round.
    let err = app.http.refresh(&tokens.access_token).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidToken));
    let err = app.http.me(&tokens.refresh_token).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidToken));
}

#[tokio::test]
async fn wrong_credentials_and_missing_tokens_are_refused() {
    let app = spawn_app().await;
    for (user, password) in [("resident", "wrong"), ("nobody", "hehe-demo"), ("", "")] {
        match app.http.login(user, password).await.unwrap_err() {
            ClientError::Api { status, error } => {
                assert_eq!(status, 401);
                assert_eq!(error.code, ErrorCode::InvalidCredentials);
            }
            other => panic!("{other:?}"),
        }
    }
    let err = app.http.me("").await.unwrap_err();
    assert!(
        matches!(err, ClientError::Api { status: 401, .. }),
        "{err:?}"
    );
}

fn status_and_code(err: ClientError) -> (u16, ErrorCode) {
    match err {
        ClientError::Api { status, error } => (status, error.code),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn wrong_passwords_in_a_row_lock_a_username_for_a_while() {
    let app = spawn_app().await;
    for _ in 0..5 {
        let err = app.http.login("resident", "guess").await.unwrap_err();
        assert_eq!(status_and_code(err), (401, ErrorCode::InvalidCredentials));
    }
    // Locked: even the right password is refused, and so is an unknown name's sixth try.
    let err = app.http.login("resident", "hehe-demo").await.unwrap_err();
    assert_eq!(status_and_code(err), (429, ErrorCode::RateLimited));
    let err = app.http.login("Resident", "hehe-demo").await.unwrap_err();
    assert_eq!(
        status_and_code(err),
        (429, ErrorCode::RateLimited),
        "same name"
    );
    for _ in 0..6 {
        let _ = app.http.login("nobody", "guess").await;
    }
    let err = app.http.login("nobody", "guess").await.unwrap_err();
    assert_eq!(status_and_code(err), (429, ErrorCode::RateLimited));
    // Others sign in as ever.
    app.http.login("resident2", "hehe-demo").await.unwrap();

    // After the lock (1 s after the fifth failure) the right password works and clears it.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.http.login("resident", "hehe-demo").await.unwrap();
    let err = app.http.login("resident", "guess").await.unwrap_err();
    assert_eq!(
        status_and_code(err),
        (401, ErrorCode::InvalidCredentials),
        "count restarted"
    );
}

#[tokio::test]
async fn a_malformed_body_gets_invalid_request() {
    let app = spawn_app().await;
    let response = reqwest::Client::new()
        .post(format!("http://{}/api/auth/login", app.addr))
        .header("content-type", "application/json")
        .body("{\"username\": 5")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: hehe_protocol::http::ApiError = response.json().await.unwrap();
    assert_eq!(body.code, ErrorCode::InvalidRequest);
}

#[tokio::test]
async fn the_archive_pages_newest_first_and_posting_works_over_http() {
    let app = spawn_app().await;
    let home = Channel::Home(app.demo.communities[0]);
    let mut watcher = app.connect("resident").await;
    watcher.subscribe(home, None).await.unwrap();
    let official = app.login("official").await.access_token;
    let client = reqwest::Client::new();
    for i in 1..=5 {
        let response = client
            .post(format!("http://{}/api/channels/{home}/messages", app.addr))
            .bearer_auth(&official)
            .json(
                &serde_json::json!({ "request_id": format!("http-{i}"), "text": format!("m{i}") }),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    // Posted over HTTP, delivered live over the socket.
    let live = events(&mut watcher, 5).await;
    assert_eq!(
        live.iter().map(text_of).collect::<Vec<_>>(),
        ["m1", "m2", "m3", "m4", "m5"]
    );

    let token = app.login("resident").await.access_token;
    let first = app
        .http
        .messages(&token, home, None, Some(2))
        .await
        .unwrap();
    assert_eq!(
        first
            .messages
            .iter()
            .map(|m| m.text.as_str())
            .collect::<Vec<_>>(),
        ["m5", "m4"]
    );
    assert_eq!(first.messages[0].author.name, "Liu Yang 刘洋");
    let second = app
        .http
        .messages(&token, home, first.next_before, Some(2))
        .await
        .unwrap();
    assert_eq!(
        second
            .messages
            .iter()
            .map(|m| m.text.as_str())
            .collect::<Vec<_>>(),
        ["m3", "m2"]
    );
    let last = app
        .http
        .messages(&token, home, second.next_before, Some(2))
        .await
        .unwrap();
    assert_eq!(last.messages.len(), 1);
    assert_eq!(last.next_before, None);

    let (status, _) = app
        .http
        .get_text("/api/channels/attic:1/messages")
        .await
        .unwrap();
    assert_eq!(status, 401, "no token, no archive");
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = spawn_app().await;
    assert_eq!(
        app.http.get_text("/healthz").await.unwrap(),
        (200, "ok".into())
    );
    let (status, body) = app.http.get_text("/readyz").await.unwrap();
    assert_eq!(status, 200, "{body}");
    let mut conn = app.connect("resident").await;
    conn.subscribe(Channel::Home(app.demo.communities[0]), None)
        .await
        .unwrap();
    let (status, text) = app.http.get_text("/metrics").await.unwrap();
    assert_eq!(status, 200);
    for name in [
        "hehe_connections",
        "hehe_subscriptions",
        "hehe_frames_in_total",
        "hehe_frames_out_total",
        "hehe_events_published_total",
        "hehe_events_delivered_total",
        "hehe_outbox_drops_total",
        "hehe_bus_lag_seconds_bucket",
        "hehe_fanout_seconds_bucket",
        "hehe_process_cpu_seconds",
        "hehe_process_resident_memory_bytes",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics");
    }
    assert_eq!(app.metric("hehe_connections").await, 1.0);
    assert_eq!(app.metric("hehe_subscriptions").await, 1.0);
    // The test process has run the seed's password hashing, so both are above zero.
    assert!(app.metric("hehe_process_cpu_seconds").await > 0.0);
    assert!(app.metric("hehe_process_resident_memory_bytes").await > 1_000_000.0);
    conn.close().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(app.metric("hehe_connections").await, 0.0);
    assert_eq!(app.metric("hehe_subscriptions").await, 0.0);
}

#[tokio::test]
async fn nothing_is_lost_across_a_restart() {
    let app = spawn_app().await;
    let home = Channel::Home(app.demo.communities[0]);
    let mut official = app.connect("official").await;
    let posted = official.post(home, "kept").await.unwrap();
    drop(official);
    let old_tokens = app.login("resident").await;
    let app = restart(app).await;
    // The token secret lives in the data directory, so tokens survive the restart.
    let page = app
        .http
        .messages(&old_tokens.access_token, home, None, None)
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 1);
    assert_eq!(page.messages[0].id, posted.message_id);
}
