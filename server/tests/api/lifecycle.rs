//! Heartbeats, token expiry and shutdown.

use crate::helpers::*;
use hehe_client::Incoming;
use hehe_protocol::{Channel, ErrorCode, ServerMsg};
use std::time::Duration;

#[tokio::test]
async fn shutdown_sends_the_reconnect_code_to_every_client() {
    let mut app = spawn_app().await;
    let home = Channel::Home(app.demo.communities[0]);
    let mut clients = Vec::new();
    for username in ["resident", "lead", "worker", "official", "chief"] {
        let mut conn = app.connect(username).await;
        conn.subscribe(home, None).await.unwrap();
        clients.push(conn);
    }
    let ws_url = app.ws_url();
    let started = std::time::Instant::now();
    app.shutdown().await.expect("run returns cleanly");
    assert!(
        started.elapsed() < app.config.shutdown_grace(),
        "shutdown waited for the grace period"
    );
    for conn in &mut clients {
        assert_eq!(close_code(conn).await, Some(4000));
    }
    assert!(
        hehe_client::Connection::open(&ws_url).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn run_returns_only_after_the_background_tasks_have_ended() {
    let mut app = spawn_app().await;
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // A background task that needs a moment to wind down once told to stop, as a deadline
    // tick or a report under way would.
    let stop = app.state.tasks.stop_token();
    app.state.tasks.spawn("winding down", {
        let finished = finished.clone();
        async move {
            stop.cancelled().await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            finished.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    });
    app.shutdown().await.expect("run returns cleanly");
    assert!(
        finished.load(std::sync::atomic::Ordering::SeqCst),
        "run returned while a background task was still running"
    );
    assert!(
        app.state.tasks.is_empty(),
        "every background task (sweeps, presence, revocation sync, deadline tick) has ended"
    );
}

#[tokio::test]
async fn a_silent_client_is_closed_after_the_heartbeat_timeout_and_a_live_one_is_not() {
    let app = spawn_app_with(|c| {
        c.heartbeat_secs = 1;
        c.heartbeat_timeout_secs = 1;
    })
    .await;
    let mut silent = app.connect("resident").await;
    let mut alive = app.connect("lead").await;
    // `alive` reads (and so answers pings) for three seconds; `silent` reads nothing.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < deadline {
        match alive.recv_timeout(Duration::from_millis(200)).await {
            Ok(Incoming::Closed { code, .. }) => panic!("a live client was closed with {code:?}"),
            Ok(Incoming::Msg(_)) => {}
            Err(_) => {}
        }
    }
    assert_eq!(close_code(&mut silent).await, Some(4002));
    alive
        .subscribe(Channel::Street(app.demo.street), None)
        .await
        .expect("still open");
}

#[tokio::test]
async fn the_server_pings_with_the_announced_interval() {
    let app = spawn_app_with(|c| c.heartbeat_secs = 1).await;
    let tokens = app.login("resident").await;
    let mut conn = hehe_client::Connection::open(&app.ws_url()).await.unwrap();
    let account = conn.authenticate(&tokens.access_token).await.unwrap();
    assert_eq!(account.username, "resident");
    assert_eq!(conn.heartbeat_secs(), Some(1));
    // The client answers pings itself and never returns them; the connection stays open and
    // the server counts frames in from it.
    let before = app.metric("hehe_frames_in_total").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let _ = conn.recv_timeout(Duration::from_millis(100)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        app.metric("hehe_frames_in_total").await > before,
        "pongs arrive"
    );
}

#[tokio::test]
async fn an_expired_token_closes_the_connection_unless_refreshed() {
    // Token times have whole seconds: a 4 s token lives between 3 and 4 s; one issued 1.5 s
    // later outlives it by at least half a second.
    let app = spawn_app_with(|c| c.access_token_ttl_secs = 4).await;
    let mut conn = app.connect("resident").await;
    let mut refreshed = app.connect("resident").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let fresh = app.login("resident").await;
    let new_expiry = refreshed.refresh_token(&fresh.access_token).await.unwrap();
    assert_eq!(new_expiry, fresh.access_expires_at);

    let mut saw_error = false;
    loop {
        match conn.recv_timeout(WAIT).await.unwrap() {
            Incoming::Msg(ServerMsg::Error {
                code: ErrorCode::TokenExpired,
                ..
            }) => saw_error = true,
            Incoming::Msg(_) => {}
            Incoming::Closed { code, .. } => {
                assert_eq!(code, Some(4003));
                break;
            }
        }
    }
    assert!(saw_error);
    // `refreshed` outlives its first token by the refresh.
    refreshed
        .subscribe(Channel::Street(app.demo.street), None)
        .await
        .expect("still open");
}

#[tokio::test]
async fn a_refresh_with_another_accounts_token_is_refused() {
    let app = spawn_app().await;
    let mut conn = app.connect("resident").await;
    let other = app.login("lead").await;
    let err = conn.refresh_token(&other.access_token).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidToken));
    let err = conn.refresh_token("garbage").await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidToken));
}
