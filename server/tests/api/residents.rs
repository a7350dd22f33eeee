//! Residents and credentials end to end: SMS codes read from a real gateway on 127.0.0.1 (the
//! server's HTTP sender posts to it), sign-up, residency decisions arriving live, moves, reset
//! by SMS and by an official's code, password change, and one's own profile.

use crate::helpers::*;
use crate::identity::call;
use axum::Json;
use axum::http::HeaderMap;
use axum::routing::post;
use hehe_client::{ClientError, Connection};
use hehe_protocol::credentials::{
    CodePurpose, ProfileChange, ResetRequest, ResidencyState, SignupRequest,
};
use hehe_protocol::http::{PlaceInfo, PlaceKind};
use hehe_protocol::places::NewPlace;
use hehe_protocol::{Channel, ErrorCode, EventKind, PlaceId};
use hehe_server::clock::{ManualTime, unix_ms};
use hehe_server::config::Config;
use hehe_server::infra::sms::SmsMessage;
use serde_json::json;
use tokio::sync::mpsc;

const KEY: &str = "gateway-key";
const PASSWORD: &str = "a long new password";

/// The SMS gateway: every message the server posts, with the key it sent.
pub struct Gateway {
    pub url: String,
    rx: mpsc::UnboundedReceiver<(String, SmsMessage)>,
}

impl Gateway {
    pub async fn start() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let app = axum::Router::new().route(
            "/sms",
            post(move |headers: HeaderMap, Json(msg): Json<SmsMessage>| {
                let tx = tx.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    let _ = tx.send((auth, msg));
                    axum::http::StatusCode::ACCEPTED
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url: format!("http://{addr}/sms"),
            rx,
        }
    }

    /// Points a server's settings at this gateway.
    pub fn configure(&self, config: &mut Config) {
        config.sms.sms_url = self.url.clone();
        config.sms.sms_key = KEY.into();
    }

    /// The next message, which must go to `to` (E.164).
    pub async fn next(&mut self, to: &str) -> SmsMessage {
        let (auth, msg) = tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("a text message in time")
            .expect("the gateway runs");
        assert_eq!(auth, format!("Bearer {KEY}"));
        assert_eq!(msg.to, to);
        msg
    }

    /// The code of the next message to `to`, checked against both texts.
    pub async fn code(&mut self, to: &str) -> String {
        let msg = self.next(to).await;
        let code = msg.code.clone().expect("a code");
        assert!(code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()));
        assert!(msg.text_zh.contains(&code) && msg.text_en.contains(&code));
        code
    }

    pub async fn nothing(&mut self) {
        if let Ok(Some((_, msg))) = tokio::time::timeout(QUIET, self.rx.recv()).await {
            panic!("no message expected, got one for {}", msg.purpose);
        }
    }
}

async fn app_with(gateway: &Gateway, tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_with(|c| {
        gateway.configure(c);
        tweak(c);
    })
    .await
}

async fn app_at(gateway: &Gateway, time: &ManualTime, tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_at(time.clone(), |c| {
        gateway.configure(c);
        tweak(c);
    })
    .await
}

fn api_code(e: ClientError) -> ErrorCode {
    e.code().unwrap_or_else(|| panic!("an API error, got {e}"))
}

fn message(e: &ClientError) -> String {
    match e {
        ClientError::Api { error, .. } => error.message.clone(),
        other => panic!("an API error, got {other}"),
    }
}

fn signup(phone: &str, code: &str, building: PlaceId) -> SignupRequest {
    SignupRequest {
        phone: phone.into(),
        code: code.into(),
        password: PASSWORD.into(),
        display_name: "新邻居".into(),
        romanised_name: Some("Xin Linju".into()),
        building,
    }
}

/// Signs a resident up for `building` with a code read from the gateway.
async fn sign_up(
    app: &TestApp,
    gw: &mut Gateway,
    local: &str,
    building: PlaceId,
) -> hehe_protocol::http::TokenResponse {
    let e164 = format!("+86{local}");
    app.http
        .request_code(local, CodePurpose::Signup)
        .await
        .unwrap();
    let code = gw.code(&e164).await;
    app.http
        .sign_up(&signup(local, &code, building))
        .await
        .unwrap()
}

/// The next event of `kind`, skipping others.
async fn event_of(conn: &mut Connection, kind: EventKind) -> hehe_protocol::Event {
    loop {
        let e = conn.next_event_timeout(WAIT).await.expect("an event");
        if e.kind == kind {
            return e;
        }
    }
}

#[tokio::test]
async fn a_resident_signs_up_waits_unseen_and_is_approved_live() {
    let mut gw = Gateway::start().await;
    let app = app_with(&gw, |_| {}).await;
    let riverside = app.demo.communities[0];
    let building = app.demo.buildings[0];
    let home = Channel::Home(riverside);
    // Staff of the community hear of the request; a resident of it does not.
    let mut official = app.connect("official").await;
    official.subscribe(home, None).await.unwrap();
    let mut neighbour = app.connect("resident").await;
    neighbour.subscribe(home, None).await.unwrap();

    let sent = app
        .http
        .request_code("138 1234 5678", CodePurpose::Signup)
        .await
        .unwrap();
    assert_eq!((sent.expires_in, sent.resend_after), (600, 60));
    let msg = gw.next("+8613812345678").await;
    assert_eq!(msg.purpose, "signup");
    let code = msg.code.unwrap();
    assert!(msg.text_zh.starts_with("【和和】") && msg.text_en.starts_with("Hehe:"));

    let tokens = app
        .http
        .sign_up(&signup("13812345678", &code, building))
        .await
        .unwrap();
    let me = tokens.account.clone();
    assert!(me.grants.is_empty(), "no role before approval");
    assert_eq!(me.display_name, "新邻居");
    assert_eq!(me.romanised_name.as_deref(), Some("Xin Linju"));
    let token = tokens.access_token.clone();

    let requested = event_of(&mut official, EventKind::ResidencyRequested).await;
    assert_eq!(requested.data["account"], me.id.0);
    assert_eq!(requested.data["state"], "pending");
    assert_eq!(requested.data["phone_masked"], "+86138****5678");
    assert_eq!(requested.data["building"]["id"], building.0);
    assert_no_more_events(&mut neighbour).await;

    let pending = app.http.my_residency(&token).await.unwrap();
    assert_eq!(
        (pending.state, pending.building.id),
        (ResidencyState::Pending, building)
    );

    // Pending: only the own inbox; the building's channels and places stay closed.
    let mut conn = Connection::connect(&app.ws_url(), &token).await.unwrap();
    let refused = conn.subscribe(home, None).await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::Forbidden));
    let refused = app.http.place(&token, building).await.unwrap_err();
    assert_eq!(api_code(refused), ErrorCode::NotFound);
    let (status, _) = call(&app, "GET", "/api/issues", &token, None).await;
    assert_eq!(status, 200);
    conn.subscribe(Channel::User(me.id), None).await.unwrap();

    // The official lists and approves it; the applicant hears at once, then reconnects with
    // the role and reads its home.
    let official_token = app.login("official").await.access_token;
    let listed = app
        .http
        .residency_requests(
            &official_token,
            Some(riverside),
            Some(ResidencyState::Pending),
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, pending.id);
    let approved = app
        .http
        .approve_residency(&official_token, pending.id)
        .await
        .unwrap();
    assert_eq!(approved.state, ResidencyState::Approved);
    assert_eq!(approved.decided_by, Some(app.demo.account("official")));
    let event = event_of(&mut conn, EventKind::ResidencyApproved).await;
    assert_eq!(event.data["id"], pending.id);
    assert_eq!(close_code(&mut conn).await, Some(4007));
    let _ = event_of(&mut official, EventKind::ResidencyApproved).await;

    let mut conn = Connection::connect(&app.ws_url(), &token).await.unwrap();
    conn.subscribe(home, None).await.unwrap();
    let me = app.http.me(&token).await.unwrap();
    assert_eq!(me.grants.len(), 1);
    assert_eq!(me.grants[0].place.as_ref().map(|p| p.id), Some(riverside));

    // Decided once; signing in with the username and the password works.
    let again = app
        .http
        .approve_residency(&official_token, pending.id)
        .await
        .unwrap_err();
    assert_eq!(api_code(again), ErrorCode::Conflict);
    app.http.login(&me.username, PASSWORD).await.unwrap();
    let audit = app.state.store.audit_entries(None, None, 10).await.unwrap();
    assert!(audit.iter().any(|a| a.entry.action == "residency.approve"
        && a.entry.target == format!("account:{}", me.id.0)));
}

#[tokio::test]
async fn wrong_expired_reused_and_worn_out_codes_are_refused() {
    let mut gw = Gateway::start().await;
    let time = ManualTime::new(unix_ms());
    let app = app_at(&gw, &time, |_| {}).await;
    let building = app.demo.buildings[1];

    // Wrong tries count down, then the code is void even when right.
    app.http
        .request_code("13800000001", CodePurpose::Signup)
        .await
        .unwrap();
    let code = gw.code("+8613800000001").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in [4, 3, 2, 1] {
        let e = app
            .http
            .sign_up(&signup("13800000001", wrong, building))
            .await
            .unwrap_err();
        assert!(message(&e).contains(&format!("{left} more tries")), "{e}");
        assert_eq!(api_code(e), ErrorCode::InvalidCode);
    }
    let e = app
        .http
        .sign_up(&signup("13800000001", wrong, building))
        .await
        .unwrap_err();
    assert!(message(&e).contains("Too many wrong tries"), "{e}");
    let e = app
        .http
        .sign_up(&signup("13800000001", &code, building))
        .await
        .unwrap_err();
    assert_eq!(api_code(e), ErrorCode::InvalidCode);

    // Expired.
    app.http
        .request_code("13800000002", CodePurpose::Signup)
        .await
        .unwrap();
    let code = gw.code("+8613800000002").await;
    time.advance(600_001);
    let e = app
        .http
        .sign_up(&signup("13800000002", &code, building))
        .await
        .unwrap_err();
    assert!(message(&e).contains("expired"), "{e}");
    assert_eq!(api_code(e), ErrorCode::InvalidCode);

    // Used once, then refused; and a code for another number or purpose does not fit.
    app.http
        .request_code("13800000003", CodePurpose::Signup)
        .await
        .unwrap();
    let code = gw.code("+8613800000003").await;
    let e = app
        .http
        .sign_up(&signup("13800000004", &code, building))
        .await
        .unwrap_err();
    assert_eq!(api_code(e), ErrorCode::InvalidCode);
    app.http
        .sign_up(&signup("+86 138 0000 0003", &code, building))
        .await
        .unwrap();
    let e = app
        .http
        .sign_up(&signup("13800000003", &code, building))
        .await
        .unwrap_err();
    assert!(message(&e).contains("used already"), "{e}");
    let reset = ResetRequest {
        phone: Some("13800000003".into()),
        username: None,
        code: code.clone(),
        new_password: PASSWORD.into(),
    };
    assert_eq!(
        api_code(app.http.reset_password(&reset).await.unwrap_err()),
        ErrorCode::InvalidCode
    );

    // Bad input: a clear refusal before any code is spent.
    let e = app
        .http
        .request_code("12345", CodePurpose::Signup)
        .await
        .unwrap_err();
    assert!(message(&e).contains("not a valid phone number"), "{e}");
    let mut short = signup("13800000005", "123456", building);
    short.password = "short".into();
    let e = app.http.sign_up(&short).await.unwrap_err();
    assert_eq!(api_code(e), ErrorCode::InvalidRequest);
    let not_a_building = signup("13800000005", "123456", app.demo.grids[0]);
    let e = app.http.sign_up(&not_a_building).await.unwrap_err();
    assert!(message(&e).contains("Choose a building"), "{e}");
    gw.nothing().await;
}

#[tokio::test]
async fn codes_are_rate_limited_per_number_and_address_and_say_nothing_of_enrolment() {
    let mut gw = Gateway::start().await;
    let time = ManualTime::new(unix_ms());
    let app = app_at(&gw, &time, |c| c.sms.sms_per_address_per_hour = 8).await;
    let raw = |path: &str, body: serde_json::Value| {
        let url = format!("http://{}{path}", app.addr);
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };

    // A second code within the minute is refused, saying when to retry.
    app.http
        .request_code("13900000001", CodePurpose::Signup)
        .await
        .unwrap();
    gw.code("+8613900000001").await;
    let res = raw(
        "/api/sms/codes",
        json!({ "phone": "13900000001", "purpose": "signup" }),
    )
    .await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Another purpose has its own pause.
    app.http
        .request_code("13900000001", CodePurpose::Reset)
        .await
        .unwrap();
    // Five codes a number in an hour.
    for _ in 0..3 {
        time.advance(61_000);
        app.http
            .request_code("13900000001", CodePurpose::Signup)
            .await
            .unwrap();
        gw.code("+8613900000001").await;
    }
    time.advance(61_000);
    let e = app
        .http
        .request_code("13900000001", CodePurpose::Signup)
        .await
        .unwrap_err();
    assert!(message(&e).contains("in an hour"), "{e}");
    assert_eq!(api_code(e), ErrorCode::RateLimited);

    // A reset for a number without an account answers alike and sends nothing.
    let sent = app
        .http
        .request_code("13900000002", CodePurpose::Reset)
        .await
        .unwrap();
    assert_eq!((sent.expires_in, sent.resend_after), (600, 60));
    gw.nothing().await;
    let guess = ResetRequest {
        phone: Some("13900000002".into()),
        username: None,
        code: "123456".into(),
        new_password: PASSWORD.into(),
    };
    let e = app.http.reset_password(&guess).await.unwrap_err();
    assert!(message(&e).contains("4 more tries"), "{e}");
    // …and counts like any other.
    let res = raw(
        "/api/sms/codes",
        json!({ "phone": "13900000002", "purpose": "reset" }),
    )
    .await;
    assert_eq!(res.status(), 429);

    // Eight codes an address in an hour (set so here), whatever the numbers.
    for n in 3..=4 {
        app.http
            .request_code(&format!("1390000000{n}"), CodePurpose::Signup)
            .await
            .unwrap();
    }
    let e = app
        .http
        .request_code("13900000009", CodePurpose::Signup)
        .await
        .unwrap_err();
    assert!(message(&e).contains("your network"), "{e}");
    time.advance(3_600_000);
    app.http
        .request_code("13900000009", CodePurpose::Signup)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_refusal_carries_its_reason_to_the_applicant() {
    let mut gw = Gateway::start().await;
    let app = app_with(&gw, |_| {}).await;
    let tokens = sign_up(&app, &mut gw, "13700000001", app.demo.buildings[2]).await;
    let me = tokens.account.id;
    let mut conn = Connection::connect(&app.ws_url(), &tokens.access_token)
        .await
        .unwrap();
    conn.subscribe(Channel::User(me), None).await.unwrap();
    let official = app.login("official").await.access_token;
    let id = app
        .http
        .my_residency(&tokens.access_token)
        .await
        .unwrap()
        .id;

    let (status, body) = call(
        &app,
        "POST",
        &format!("/api/residency-requests/{id}/refuse"),
        &official,
        Some(json!({ "reason": " " })),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_request"))
    );
    let refused = app
        .http
        .refuse_residency(
            &official,
            id,
            "请到社区居委会出示租房合同 Bring your lease to the office",
        )
        .await
        .unwrap();
    assert_eq!(refused.state, ResidencyState::Refused);
    let event = event_of(&mut conn, EventKind::ResidencyRefused).await;
    assert_eq!(
        event.data["reason"],
        "请到社区居委会出示租房合同 Bring your lease to the office"
    );
    let mine = app.http.my_residency(&tokens.access_token).await.unwrap();
    assert_eq!(mine.reason, refused.reason);
    assert!(
        app.http
            .me(&tokens.access_token)
            .await
            .unwrap()
            .grants
            .is_empty()
    );
    // A grid worker of the place does not decide: he finds no such request, and no list.
    let worker = app.login("worker").await.access_token;
    let e = app.http.approve_residency(&worker, id).await.unwrap_err();
    assert_eq!(api_code(e), ErrorCode::NotFound);
    let e = app
        .http
        .residency_requests(&worker, None, None)
        .await
        .unwrap_err();
    assert_eq!(api_code(e), ErrorCode::Forbidden);
    // The applicant asks again, for another building.
    let again = app
        .http
        .request_move(&tokens.access_token, app.demo.buildings[3])
        .await
        .unwrap();
    assert_eq!(again.state, ResidencyState::Pending);
}

#[tokio::test]
async fn a_move_is_approved_by_the_new_community_and_replaces_the_old_home() {
    let app = spawn_app().await;
    let resident = app.login("resident").await.access_token;
    let orchard_building = app.demo.buildings[4];
    let moved = app
        .http
        .request_move(&resident, orchard_building)
        .await
        .unwrap();
    assert_eq!(moved.building.id, orchard_building);
    let e = app
        .http
        .request_move(&resident, app.demo.buildings[5])
        .await
        .unwrap_err();
    assert_eq!(
        api_code(e),
        ErrorCode::Conflict,
        "one request waits at a time"
    );
    let e = app
        .http
        .request_move(&resident, app.demo.communities[1])
        .await
        .unwrap_err();
    assert_eq!(
        api_code(e),
        ErrorCode::InvalidRequest,
        "a community is no building"
    );

    // Riverside's official does not decide for Orchard; the street chief does.
    let official = app.login("official").await.access_token;
    let e = app
        .http
        .approve_residency(&official, moved.id)
        .await
        .unwrap_err();
    assert_eq!(api_code(e), ErrorCode::NotFound);
    assert!(
        app.http
            .residency_requests(&official, None, None)
            .await
            .unwrap()
            .is_empty()
    );
    let chief = app.login("chief").await.access_token;
    let listed = app
        .http
        .residency_requests(&chief, Some(app.demo.street), None)
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|r| r.id).collect::<Vec<_>>(), [moved.id]);
    app.http.approve_residency(&chief, moved.id).await.unwrap();

    let me = app.http.me(&resident).await.unwrap();
    let homes: Vec<_> = me
        .grants
        .iter()
        .filter_map(|g| g.place.as_ref().map(|p| p.id))
        .collect();
    assert_eq!(
        homes,
        [app.demo.communities[1]],
        "Orchard in place of Riverside"
    );
    let mut conn = Connection::connect(&app.ws_url(), &resident).await.unwrap();
    conn.subscribe(Channel::Home(app.demo.communities[1]), None)
        .await
        .unwrap();
    let e = conn
        .subscribe(Channel::Home(app.demo.communities[0]), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Forbidden));
}

#[tokio::test]
async fn a_reset_by_sms_ends_every_session() {
    let mut gw = Gateway::start().await;
    let app = app_with(&gw, |_| {}).await;
    let first = sign_up(&app, &mut gw, "13600000001", app.demo.buildings[0]).await;
    let username = first.account.username.clone();
    let second = app.http.login(&username, PASSWORD).await.unwrap();
    let mut conn = Connection::connect(&app.ws_url(), &second.access_token)
        .await
        .unwrap();

    app.http
        .request_code("13600000001", CodePurpose::Reset)
        .await
        .unwrap();
    let msg = gw.next("+8613600000001").await;
    assert_eq!(msg.purpose, "reset");
    let reset = ResetRequest {
        phone: Some("136-0000-0001".into()),
        username: None,
        code: msg.code.unwrap(),
        new_password: "another long password".into(),
    };
    app.http.reset_password(&reset).await.unwrap();
    assert_eq!(close_code(&mut conn).await, Some(4501));
    for token in [&first.access_token, &second.access_token] {
        let e = app.http.me(token).await.unwrap_err();
        assert_eq!(api_code(e), ErrorCode::InvalidToken);
    }
    let e = app.http.refresh(&first.refresh_token).await.unwrap_err();
    assert_eq!(api_code(e), ErrorCode::InvalidToken);
    assert_eq!(
        api_code(app.http.login(&username, PASSWORD).await.unwrap_err()),
        ErrorCode::InvalidCredentials
    );
    app.http
        .login(&username, "another long password")
        .await
        .unwrap();
    // The code is spent.
    let e = app.http.reset_password(&reset).await.unwrap_err();
    assert_eq!(api_code(e), ErrorCode::InvalidCode);
    let e = app
        .http
        .reset_password(&ResetRequest {
            phone: None,
            ..reset.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(
        api_code(e),
        ErrorCode::InvalidRequest,
        "neither phone nor username"
    );
}

#[tokio::test]
async fn an_official_hands_out_a_one_time_reset_code_for_his_place_only() {
    let app = spawn_app().await;
    let official = app.login("official").await.access_token;
    let resident = app.demo.account("resident");
    let mut conn = app.connect("resident").await;

    let made = app.http.make_reset_code(&official, resident).await.unwrap();
    assert_eq!(made.code.len(), 9, "{}", made.code);
    assert!(made.expires_at > unix_ms() + 23 * 3_600_000);
    // Outside his place the account does not exist for him; above his role it is refused.
    for (name, expected) in [
        ("resident2", ErrorCode::NotFound),
        ("chief", ErrorCode::NotFound),
        ("official", ErrorCode::Forbidden),
    ] {
        let e = app
            .http
            .make_reset_code(&official, app.demo.account(name))
            .await
            .unwrap_err();
        assert_eq!(api_code(e), expected, "{name}");
    }
    let e = app
        .http
        .make_reset_code(&app.login("resident2").await.access_token, resident)
        .await
        .unwrap_err();
    assert_eq!(api_code(e), ErrorCode::NotFound);

    // A newer code voids the older; typed in lowercase without the dash, it works once.
    let newer = app.http.make_reset_code(&official, resident).await.unwrap();
    let with = |code: &str| ResetRequest {
        phone: None,
        username: Some("Resident".into()),
        code: code.into(),
        new_password: PASSWORD.into(),
    };
    let e = app
        .http
        .reset_password(&with(&made.code))
        .await
        .unwrap_err();
    assert_eq!(api_code(e), ErrorCode::InvalidCode);
    let typed = newer.code.replace('-', "").to_lowercase();
    app.http.reset_password(&with(&typed)).await.unwrap();
    assert_eq!(close_code(&mut conn).await, Some(4501));
    app.http.login("resident", PASSWORD).await.unwrap();
    // Every refusal of an official's code reads alike, so typing usernames tells nobody which
    // accounts have a code waiting: a spent code, a wrong one while a code waits, no account.
    let used = app.http.reset_password(&with(&typed)).await.unwrap_err();
    let waiting = app.http.make_reset_code(&official, resident).await.unwrap();
    let wrong = app
        .http
        .reset_password(&with("WRONG-CODE"))
        .await
        .unwrap_err();
    let nobody = app
        .http
        .reset_password(&ResetRequest {
            username: Some("nobody-here".into()),
            ..with(&typed)
        })
        .await
        .unwrap_err();
    for e in [&used, &wrong, &nobody] {
        assert_eq!(e.code(), Some(ErrorCode::InvalidCode), "{e}");
        assert_eq!(message(e), message(&nobody), "{e}");
        assert!(!message(e).contains("more tries"), "{e}");
    }
    app.http
        .reset_password(&with(&waiting.code))
        .await
        .expect("a wrong try does not spend the waiting code");

    let audit = app.state.store.audit_entries(None, None, 20).await.unwrap();
    let actions: Vec<_> = audit
        .iter()
        .map(|a| (a.entry.action.as_str(), a.entry.outcome.as_str()))
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == ("account.reset_code", "ok"))
            .count(),
        3
    );
    assert!(actions.contains(&("account.reset_code", "denied")));
    assert!(actions.contains(&("password.reset", "ok")));
    for a in &audit {
        assert!(
            !a.entry
                .detail
                .as_deref()
                .unwrap_or_default()
                .contains(&newer.code[..4])
        );
    }
}

#[tokio::test]
async fn a_password_change_keeps_the_current_session_and_ends_the_others() {
    let app = spawn_app().await;
    let here = app.login("lead").await;
    let elsewhere = app.login("lead").await;
    let mut other_conn = Connection::connect(&app.ws_url(), &elsewhere.access_token)
        .await
        .unwrap();
    let mut own_conn = Connection::connect(&app.ws_url(), &here.access_token)
        .await
        .unwrap();

    let e = app
        .http
        .change_password(&here.access_token, "wrong password", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(api_code(e), ErrorCode::InvalidCredentials);
    let e = app
        .http
        .change_password(
            &here.access_token,
            hehe_server::app::seed::DEMO_PASSWORD,
            "short",
        )
        .await
        .unwrap_err();
    assert_eq!(api_code(e), ErrorCode::InvalidRequest);
    app.http
        .change_password(
            &here.access_token,
            hehe_server::app::seed::DEMO_PASSWORD,
            PASSWORD,
        )
        .await
        .unwrap();

    assert_eq!(close_code(&mut other_conn).await, Some(4501));
    assert_eq!(
        api_code(app.http.me(&elsewhere.access_token).await.unwrap_err()),
        ErrorCode::InvalidToken
    );
    app.http.me(&here.access_token).await.unwrap();
    app.http.refresh(&here.refresh_token).await.unwrap();
    own_conn
        .subscribe(Channel::User(app.demo.account("lead")), None)
        .await
        .unwrap();
    app.http.login("lead", PASSWORD).await.unwrap();
    let audit = app.state.store.audit_entries(None, None, 5).await.unwrap();
    assert_eq!(audit[0].entry.action, "password.change");
}

#[tokio::test]
async fn one_changes_ones_own_names() {
    let app = spawn_app().await;
    let token = app.login("resident").await.access_token;
    let change = |d: Option<&str>, r: Option<&str>| ProfileChange {
        display_name: d.map(Into::into),
        romanised_name: r.map(Into::into),
    };
    let me = app
        .http
        .update_me(&token, &change(Some(" 王小明 "), Some("Wang  Xiaoming")))
        .await
        .unwrap();
    assert_eq!(
        (me.display_name.as_str(), me.romanised_name.as_deref()),
        ("王小明", Some("Wang Xiaoming"))
    );
    let me = app
        .http
        .update_me(&token, &change(None, None))
        .await
        .unwrap();
    assert_eq!(me.display_name, "王小明");
    for bad in [
        change(Some(""), None),
        change(None, Some("王小明")),
        change(Some("a\nb"), None),
    ] {
        let e = app.http.update_me(&token, &bad).await.unwrap_err();
        assert_eq!(api_code(e), ErrorCode::InvalidRequest);
    }
    let me = app
        .http
        .update_me(&token, &change(None, Some("")))
        .await
        .unwrap();
    assert_eq!(me.romanised_name, None);
    let (status, _) = call(
        &app,
        "PATCH",
        "/api/me",
        &token,
        Some(json!({ "username": "x" })),
    )
    .await;
    assert_eq!(status, 400, "the username is not one's to change");
}

#[tokio::test]
async fn the_places_to_sign_up_in_are_read_without_a_token() {
    let app = spawn_app().await;
    let d = app.demo.clone();
    let names = |places: &[PlaceInfo]| places.iter().map(|p| p.name_zh.clone()).collect::<Vec<_>>();

    // The streets, then a street's communities, by Chinese name (果 before 滨, not by id).
    let streets = app.http.signup_places(None).await.unwrap();
    assert_eq!(names(&streets), ["和合街道", "湖畔街道"]);
    assert!(
        streets
            .iter()
            .all(|p| p.kind == PlaceKind::Street && p.parent_id.is_none())
    );
    let communities = app.http.signup_places(Some(d.street)).await.unwrap();
    assert_eq!(names(&communities), ["果园社区", "滨河社区"]);
    assert_eq!(communities[1].id, d.communities[0]);
    assert!(communities.iter().all(|p| p.parent_id == Some(d.street)));

    // An archived building is left out; a building's figures are not shown.
    let admin = app.login("admin").await.access_token;
    app.http
        .archive_place(&admin, d.buildings[1], true)
        .await
        .unwrap();
    let tower = app
        .http
        .create_place(
            &admin,
            &NewPlace {
                kind: PlaceKind::Building,
                parent: Some(d.grids[0]),
                name: "Riverside tower".into(),
                name_zh: "滨河社区0号楼".into(),
                units: Some(4),
                floors: Some(18),
            },
        )
        .await
        .unwrap();
    app.http
        .create_place(
            &admin,
            &NewPlace {
                kind: PlaceKind::Building,
                parent: Some(d.grids[0]),
                name: "Riverside 10".into(),
                name_zh: "滨河社区10号楼".into(),
                units: None,
                floors: None,
            },
        )
        .await
        .unwrap();
    // Numbers in names by their value: 10号楼 after 1号楼, as people read them.
    let buildings = app.http.signup_places(Some(d.grids[0])).await.unwrap();
    assert_eq!(
        names(&buildings),
        ["滨河社区0号楼", "滨河社区1号楼", "滨河社区10号楼"]
    );
    assert_eq!(buildings[0].id, tower.id);
    assert!(buildings.iter().all(|p| p.kind == PlaceKind::Building));
    let (status, body) = app
        .http
        .get_text(&format!("/api/signup/places?parent={}", d.grids[0]))
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(
        !body.contains("units") && !body.contains("floors"),
        "{body}"
    );
    assert!(
        app.http
            .signup_places(Some(d.buildings[0]))
            .await
            .unwrap()
            .is_empty()
    );

    // An archived or unknown parent does not exist; a parent that is no number is refused.
    for parent in [d.buildings[1], PlaceId(999_999)] {
        let e = app.http.signup_places(Some(parent)).await.unwrap_err();
        assert!(message(&e).starts_with("没有这个地方"), "{}", message(&e));
        assert_eq!(api_code(e), ErrorCode::NotFound);
    }
    let (status, _) = app
        .http
        .get_text("/api/signup/places?parent=x")
        .await
        .unwrap();
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_places_to_sign_up_in_share_the_sign_up_limit_per_address() {
    let app = spawn_app_with(|c| c.limits.logins = "1/h:2".parse().unwrap()).await;
    app.http.signup_places(None).await.unwrap();
    app.http.signup_places(Some(app.demo.street)).await.unwrap();
    let e = app.http.signup_places(None).await.unwrap_err();
    assert_eq!(api_code(e), ErrorCode::RateLimited);
    // The same budget as asking for a code.
    let e = app
        .http
        .request_code("13812345678", CodePurpose::Signup)
        .await
        .unwrap_err();
    assert_eq!(api_code(e), ErrorCode::RateLimited);
}
