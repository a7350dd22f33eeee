//! The server's clock: the times it stamps on what happens (messages, audit entries) come from
//! its `TimeSource`, so a test that moves it sees them move; tokens and sessions keep real time
//! and work whatever that clock says.

use crate::helpers::*;
use crate::identity::call;
use hehe_protocol::Channel;
use hehe_server::clock::ManualTime;
use hehe_server::domain::calendar::days_from_civil;
use serde_json::json;

const HOUR: i64 = 3_600_000;

#[tokio::test]
async fn stamped_times_follow_the_servers_clock_and_tokens_do_not() {
    // Long past: tokens issued at this time would have expired already.
    let start = days_from_civil(2020, 3, 2) * 24 * HOUR;
    let time = ManualTime::new(start);
    let app = spawn_app_at(time.clone(), |_| {}).await;
    let home = Channel::Home(app.demo.communities[0]);

    let mut official = app.connect("official").await;
    official.post(home, "on the server's clock").await.unwrap();
    let tokens = app.login("official").await;
    let page = app
        .http
        .messages(&tokens.access_token, home, None, Some(1))
        .await
        .unwrap();
    assert_eq!(page.messages[0].time, start);

    // A refresh is checked against real time, with the session rows it rotates.
    let renewed = app.http.refresh(&tokens.refresh_token).await.unwrap();
    assert!(renewed.access_expires_at > hehe_server::clock::unix_ms());

    time.advance(HOUR);
    let lakeside = app.login("lakeside").await.access_token;
    let everywhere = Some(json!({ "everywhere": true }));
    let (status, _) = call(&app, "POST", "/api/auth/logout", &lakeside, everywhere).await;
    assert_eq!(status, 204);
    let admin = app.login("admin").await.access_token;
    let (status, page) = call(&app, "GET", "/api/audit?limit=1", &admin, None).await;
    assert_eq!(status, 200, "{page}");
    let entry = &page["entries"][0];
    assert_eq!(entry["action"], "session.logout_everywhere");
    assert_eq!(entry["at"], start + HOUR);
    // And the sessions it signed out are out, on real time.
    let (status, _) = call(&app, "GET", "/api/me", &lakeside, None).await;
    assert_eq!(status, 401);
}
