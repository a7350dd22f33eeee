//! Sessions and changes of identity: logging out (one session or all), refresh-token rotation,
//! disabling accounts and changing their roles, and how each reaches live connections, on one
//! node and across nodes.

use crate::common::{TestDatabase, TestRedis};
use crate::helpers::*;
use hehe_client::{ClientError, Connection};
use hehe_protocol::{Channel, ErrorCode};
use serde_json::{Value, json};

/// An HTTP call with a bearer token; the status and the JSON body (`Null` when empty).
pub async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = reqwest::Client::new()
        .request(method, format!("http://{}{path}", app.addr))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let response = req.send().await.expect("HTTP");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("body");
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value)
}

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

fn api_code(e: ClientError) -> ErrorCode {
    e.code().unwrap_or_else(|| panic!("an API error, got {e}"))
}

#[tokio::test]
async fn logout_ends_one_session_everywhere_it_is_used_and_no_other() {
    let app = spawn_app().await;
    let first = app.login("resident").await;
    let second = app.login("resident").await;
    let home = Channel::Home(app.demo.communities[0]);
    let mut doomed = Connection::connect(&app.ws_url(), &first.access_token)
        .await
        .unwrap();
    doomed.subscribe(home, None).await.unwrap();
    let mut kept = Connection::connect(&app.ws_url(), &second.access_token)
        .await
        .unwrap();
    kept.subscribe(home, None).await.unwrap();

    let (status, _) = call(&app, "POST", "/api/auth/logout", &first.access_token, None).await;
    assert_eq!(status, 204);
    assert_eq!(close_code(&mut doomed).await, Some(4501));

    // The access token is refused over HTTP and WebSocket, the refresh token too.
    let err = app.http.me(&first.access_token).await.unwrap_err();
    assert_eq!(api_code(err), ErrorCode::InvalidToken);
    let err = Connection::connect(&app.ws_url(), &first.access_token)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidToken), "{err}");
    let err = app.http.refresh(&first.refresh_token).await.unwrap_err();
    assert_eq!(api_code(err), ErrorCode::InvalidToken);

    // The other session goes on: its socket still gets events, its tokens still work.
    let mut official = app.connect("official").await;
    official.post(home, "still here?").await.unwrap();
    assert_eq!(text_of(&events(&mut kept, 1).await[0]), "still here?");
    app.http.me(&second.access_token).await.unwrap();
    app.http.refresh(&second.refresh_token).await.unwrap();
}

#[tokio::test]
async fn a_refresh_token_works_once_and_the_session_survives_its_rotation() {
    let app = spawn_app_with(|c| c.refresh_reuse_secs = 0).await;
    let login = app.login("resident").await;
    let mut conn = Connection::connect(&app.ws_url(), &login.access_token)
        .await
        .unwrap();
    let next = app.http.refresh(&login.refresh_token).await.unwrap();
    let err = app.http.refresh(&login.refresh_token).await.unwrap_err();
    assert_eq!(
        api_code(err),
        ErrorCode::InvalidToken,
        "a spent refresh token"
    );
    let last = app.http.refresh(&next.refresh_token).await.unwrap();
    conn.refresh_token(&last.access_token).await.unwrap();
    // The session kept its id through both refreshes: signing out with the newest token
    // closes the connection opened with the first one.
    let (status, _) = call(&app, "POST", "/api/auth/logout", &last.access_token, None).await;
    assert_eq!(status, 204);
    assert_eq!(close_code(&mut conn).await, Some(4501));
    let err = app.http.refresh(&last.refresh_token).await.unwrap_err();
    assert_eq!(api_code(err), ErrorCode::InvalidToken);
}

#[tokio::test]
async fn two_tabs_refreshing_the_same_login_at_once_both_stay_signed_in() {
    let app = spawn_app().await;
    let login = app.login("resident").await;
    let (a, b) = tokio::join!(
        app.http.refresh(&login.refresh_token),
        app.http.refresh(&login.refresh_token)
    );
    let (a, b) = (a.expect("first tab"), b.expect("second tab"));
    app.http.me(&a.access_token).await.unwrap();
    app.http.me(&b.access_token).await.unwrap();
    // Either tab moves the session on; the other's token, spent a moment ago, still answers.
    app.http.refresh(&a.refresh_token).await.unwrap();
    app.http.refresh(&b.refresh_token).await.unwrap();
    // The first token is two refreshes behind: spent for good.
    let err = app.http.refresh(&login.refresh_token).await.unwrap_err();
    assert_eq!(api_code(err), ErrorCode::InvalidToken);
}

#[tokio::test]
async fn logout_everywhere_ends_every_session_of_the_account_only() {
    let app = spawn_app().await;
    let a = app.login("resident").await;
    let b = app.login("resident").await;
    let other = app.login("lead").await;
    let mut on_a = Connection::connect(&app.ws_url(), &a.access_token)
        .await
        .unwrap();
    let mut on_b = Connection::connect(&app.ws_url(), &b.access_token)
        .await
        .unwrap();
    let mut lead = Connection::connect(&app.ws_url(), &other.access_token)
        .await
        .unwrap();
    let everywhere = Some(json!({ "everywhere": true }));
    let (status, _) = call(
        &app,
        "POST",
        "/api/auth/logout",
        &a.access_token,
        everywhere,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(close_code(&mut on_a).await, Some(4501));
    assert_eq!(close_code(&mut on_b).await, Some(4501));
    for tokens in [&a, &b] {
        let err = app.http.refresh(&tokens.refresh_token).await.unwrap_err();
        assert_eq!(api_code(err), ErrorCode::InvalidToken);
        let err = app.http.me(&tokens.access_token).await.unwrap_err();
        assert_eq!(api_code(err), ErrorCode::InvalidToken);
    }
    // Someone else's connection is untouched, and a new login works at once.
    lead.presence(Channel::Room(app.demo.meeting))
        .await
        .unwrap();
    let again = app.login("resident").await;
    app.http.me(&again.access_token).await.unwrap();
    // A body that is not a logout request is refused.
    let (status, body) = call(
        &app,
        "POST",
        "/api/auth/logout",
        &again.access_token,
        Some(json!({ "everything": true })),
    )
    .await;
    assert_eq!((status, code(&body)), (400, "invalid_request"));
}

#[tokio::test]
async fn disabling_an_account_closes_its_connections_with_4502_and_signs_it_out() {
    let app = spawn_app().await;
    let admin = app.login("admin").await.access_token;
    let lead = app.login("lead").await;
    let id = app.demo.account("lead");
    let mut conn = Connection::connect(&app.ws_url(), &lead.access_token)
        .await
        .unwrap();
    // Only admins disable.
    let chief = app.login("chief").await.access_token;
    let (status, _) = call(
        &app,
        "POST",
        &format!("/api/accounts/{}/disable", id.0),
        &chief,
        None,
    )
    .await;
    assert_eq!(status, 403);

    let (status, _) = call(
        &app,
        "POST",
        &format!("/api/accounts/{}/disable", id.0),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(close_code(&mut conn).await, Some(4502));
    let err = app.http.me(&lead.access_token).await.unwrap_err();
    assert_eq!(api_code(err), ErrorCode::Forbidden);
    let err = app.http.refresh(&lead.refresh_token).await.unwrap_err();
    assert_eq!(api_code(err), ErrorCode::Forbidden);
    let err = Connection::connect(&app.ws_url(), &lead.access_token)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Forbidden), "{err}");

    let (status, _) = call(
        &app,
        "POST",
        &format!("/api/accounts/{}/enable", id.0),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 204);
    // Disabling signed its sessions out: enabled again, the account signs in anew.
    let err = app.http.me(&lead.access_token).await.unwrap_err();
    assert_eq!(api_code(err), ErrorCode::InvalidToken);
    let err = app.http.refresh(&lead.refresh_token).await.unwrap_err();
    assert_eq!(api_code(err), ErrorCode::InvalidToken);
    let again = app.login("lead").await;
    app.http.me(&again.access_token).await.unwrap();
    let admin_id = app.demo.account("admin").0;
    let (status, body) = call(
        &app,
        "POST",
        &format!("/api/accounts/{admin_id}/disable"),
        &admin,
        None,
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (409, "conflict"),
        "an admin disabling himself"
    );
}

#[tokio::test]
async fn a_role_taken_away_closes_with_4007_and_the_reconnect_is_refused_its_channels() {
    let app = spawn_app().await;
    let admin = app.login("admin").await.access_token;
    let official = app.login("official").await;
    let id = app.demo.account("official");
    let riverside = app.demo.communities[0];
    let home = Channel::Home(riverside);
    let mut conn = Connection::connect(&app.ws_url(), &official.access_token)
        .await
        .unwrap();
    conn.subscribe(home, None).await.unwrap();
    let (status, detail) = call(
        &app,
        "GET",
        &format!("/api/accounts/{}", id.0),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        detail["grants"],
        json!([{ "role": "community_official", "place": riverside.0 }])
    );

    let grant = json!({ "role": "community_official", "place": riverside.0 });
    let path = format!("/api/accounts/{}/grants", id.0);
    let (status, after) = call(&app, "DELETE", &path, &admin, Some(grant.clone())).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["grants"], json!([]));
    assert_eq!(close_code(&mut conn).await, Some(4007));

    // The same token reconnects; the channel the role opened is refused now.
    let mut again = Connection::connect(&app.ws_url(), &official.access_token)
        .await
        .unwrap();
    let err = again.subscribe(home, None).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Forbidden), "{err}");
    let (status, body) = call(&app, "DELETE", &path, &admin, Some(grant.clone())).await;
    assert_eq!(
        (status, code(&body)),
        (404, "not_found"),
        "not held any more"
    );

    // Given back, the role opens the channel again after the next 4007.
    let (status, _) = call(&app, "POST", &path, &admin, Some(grant.clone())).await;
    assert_eq!(status, 200);
    assert_eq!(close_code(&mut again).await, Some(4007));
    let mut third = Connection::connect(&app.ws_url(), &official.access_token)
        .await
        .unwrap();
    third.subscribe(home, None).await.unwrap();
    let (status, body) = call(&app, "POST", &path, &admin, Some(grant)).await;
    assert_eq!((status, code(&body)), (409, "conflict"), "held already");
}

#[tokio::test]
async fn who_may_give_which_role() {
    let app = spawn_app().await;
    let chief = app.login("chief").await.access_token;
    let official = app.login("official").await.access_token;
    let worker = app.demo.account("worker");
    let path = format!("/api/accounts/{}/grants", worker.0);
    let grid = app.demo.grids[1];
    let building = app.demo.buildings[0];
    let lakeside = app.demo.other_community;
    let cases = [
        // The chief hands out roles below his own within his street.
        (
            &chief,
            json!({ "role": "grid_worker", "place": grid.0 }),
            200,
            "",
        ),
        (
            &chief,
            json!({ "role": "building_lead", "place": building.0 }),
            200,
            "",
        ),
        // Not in another street, not his own rank, never ops or admin.
        (
            &chief,
            json!({ "role": "resident", "place": lakeside.0 }),
            403,
            "forbidden",
        ),
        (
            &chief,
            json!({ "role": "street_chief", "place": app.demo.street.0 }),
            403,
            "forbidden",
        ),
        (&chief, json!({ "role": "admin" }), 403, "forbidden"),
        (&chief, json!({ "role": "ops" }), 403, "forbidden"),
        // A role must go with its kind of place.
        (
            &chief,
            json!({ "role": "grid_worker", "place": building.0 }),
            400,
            "invalid_request",
        ),
        (
            &chief,
            json!({ "role": "grid_worker" }),
            400,
            "invalid_request",
        ),
        (
            &chief,
            json!({ "role": "grid_worker", "place": 999_999 }),
            400,
            "invalid_request",
        ),
        // An official gives no roles.
        (
            &official,
            json!({ "role": "resident", "place": app.demo.communities[0].0 }),
            403,
            "forbidden",
        ),
    ];
    for (token, grant, status, error) in cases {
        let (got, body) = call(&app, "POST", &path, token, Some(grant.clone())).await;
        assert_eq!((got, code(&body)), (status, error), "{grant}");
    }
    // Staff find accounts in their places by username; residents find nobody.
    let (status, found) = call(&app, "GET", "/api/accounts?username=worker", &chief, None).await;
    assert_eq!((status, found["id"].as_i64()), (200, Some(worker.0)));
    let resident = app.login("resident").await.access_token;
    let (status, _) = call(
        &app,
        "GET",
        "/api/accounts?username=worker",
        &resident,
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(&app, "GET", "/api/accounts?username=lakeside", &chief, None).await;
    assert_eq!(status, 404, "an account of another street");
}

#[tokio::test]
async fn across_nodes_a_logout_a_role_change_and_a_disabling_reach_every_node() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let Some(redis) = TestRedis::connect().await else {
        return;
    };
    let first = spawn_app_with(|c| {
        c.database_url = db.url.clone();
        c.redis_url = redis.url.clone();
        c.redis_prefix = redis.prefix.clone();
        c.token_secret = "identity-tests-share-this-secret-0123456789".into();
        c.database_max_connections = 4;
    })
    .await;
    let second = spawn_node(&first).await;

    // Signed in through the first node, connected to the second, signed out on the first.
    let tokens = first.login("resident").await;
    let mut conn = Connection::connect(&second.ws_url(), &tokens.access_token)
        .await
        .unwrap();
    let (status, _) = call(
        &first,
        "POST",
        "/api/auth/logout",
        &tokens.access_token,
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(close_code(&mut conn).await, Some(4501));
    let err = second.http.me(&tokens.access_token).await.unwrap_err();
    assert_eq!(api_code(err), ErrorCode::InvalidToken);
    let err = second
        .http
        .refresh(&tokens.refresh_token)
        .await
        .unwrap_err();
    assert_eq!(api_code(err), ErrorCode::InvalidToken);

    // A role taken away on the first node closes the connection on the second with 4007.
    let admin = first.login("admin").await.access_token;
    let lead = first.login("lead").await;
    let mut lead_conn = Connection::connect(&second.ws_url(), &lead.access_token)
        .await
        .unwrap();
    let grant = json!({ "role": "building_lead", "place": first.demo.buildings[0].0 });
    let path = format!("/api/accounts/{}/grants", first.demo.account("lead").0);
    let (status, _) = call(&first, "DELETE", &path, &admin, Some(grant)).await;
    assert_eq!(status, 200);
    assert_eq!(close_code(&mut lead_conn).await, Some(4007));

    // Disabled on the first node, closed with 4502 on the second.
    let worker = first.login("worker").await;
    let mut worker_conn = Connection::connect(&second.ws_url(), &worker.access_token)
        .await
        .unwrap();
    let path = format!("/api/accounts/{}/disable", first.demo.account("worker").0);
    let (status, _) = call(&first, "POST", &path, &admin, None).await;
    assert_eq!(status, 204);
    assert_eq!(close_code(&mut worker_conn).await, Some(4502));
}

#[tokio::test]
async fn a_logout_body_other_than_an_object_is_refused_and_signs_nothing_out() {
    let app = spawn_app().await;
    let login = app.login("resident").await;
    for body in ["[]", "[true]", "1", "\"x\"", "\t", "{\"everywhere\": 1}"] {
        let response = reqwest::Client::new()
            .post(format!("http://{}/api/auth/logout", app.addr))
            .bearer_auth(&login.access_token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400, "{body}");
    }
    app.http
        .me(&login.access_token)
        .await
        .expect("still signed in");
}
