//! Web Push: the sender against a real receiver that verifies the VAPID token and decrypts the
//! body, how its answers are sorted, and the subscription routes.

use crate::helpers::*;
use crate::push_receiver::{Answer, PushReceiver};
use hehe_server::infra::delivery::Outcome;
use hehe_server::infra::push::{
    MAX_PAYLOAD, PushConfig, PushTarget, WebPush, generate_private_key, topic_of,
};
use serde_json::{Value, json};
use std::time::Duration;

fn sender(allow_http: bool, timeout_ms: u64) -> WebPush {
    let config = PushConfig {
        push_allow_http: allow_http,
        push_timeout_ms: timeout_ms,
        ..PushConfig::default()
    };
    WebPush::new(&config, &generate_private_key()).expect("a sender")
}

fn payload() -> Value {
    json!({"id": 7, "kind": "issue_assigned", "title": "新工单 New issue", "body": "楼道灯坏了",
           "url": "/#issue/12", "tag": "issue:12", "urgent": true})
}

#[tokio::test]
async fn a_push_arrives_signed_and_decrypts() {
    let receiver = PushReceiver::start().await;
    let push = sender(true, 5000);
    let target = receiver.target("a");
    let body = serde_json::to_vec(&payload()).unwrap();
    let sent = push
        .send(
            &target,
            &body,
            Duration::from_secs(60),
            true,
            Some("issue:12"),
        )
        .await;
    assert_eq!(sent, Outcome::Sent, "refused: {:?}", receiver.refusals());
    let got = receiver.next_received("a").await;
    assert_eq!(got.payload, payload());
    assert_eq!(got.ttl, 60);
    assert_eq!(got.urgency.as_deref(), Some("high"));
    assert_eq!(got.topic, Some(topic_of("issue:12")));

    // Not urgent, no topic: normal urgency and no Topic header.
    let sent = push
        .send(&target, b"{\"n\":2}", Duration::from_secs(5), false, None)
        .await;
    assert_eq!(sent, Outcome::Sent);
    let got = receiver.next_received("a").await;
    assert_eq!(got.payload, json!({"n": 2}));
    assert_eq!((got.urgency.as_deref(), got.topic), (Some("normal"), None));
    // The largest payload that fits one 4096-byte record.
    let big = json!({ "body": "x".repeat(MAX_PAYLOAD - 11) });
    let big = serde_json::to_vec(&big).unwrap();
    assert_eq!(big.len(), MAX_PAYLOAD);
    let sent = push
        .send(&target, &big, Duration::from_secs(5), false, None)
        .await;
    assert_eq!(sent, Outcome::Sent);
    assert_eq!(
        receiver.next("a").await["body"].as_str().unwrap().len(),
        MAX_PAYLOAD - 11
    );
    assert!(receiver.refusals().is_empty(), "{:?}", receiver.refusals());
}

#[tokio::test]
async fn a_push_for_another_browser_does_not_decrypt() {
    let receiver = PushReceiver::start().await;
    let push = sender(true, 5000);
    // b's endpoint with a's keys: b's receiver cannot read it and refuses it.
    let a = receiver.target("a");
    let b = receiver.target("b");
    let crossed = PushTarget {
        endpoint: b.endpoint,
        ..a
    };
    let sent = push
        .send(&crossed, b"{}", Duration::from_secs(5), false, None)
        .await;
    assert!(matches!(sent, Outcome::Failed(_)), "{sent:?}");
    assert!(receiver.refusals()[0].contains("does not decrypt"));
}

#[tokio::test]
async fn answers_are_sorted_into_outcomes() {
    let receiver = PushReceiver::start().await;
    let push = sender(true, 500);
    let (push, receiver) = (&push, &receiver);
    let send = move |name: &str, answer: Answer| {
        receiver.answer(name, answer);
        let target = receiver.target(name);
        async move {
            push.send(&target, b"{}", Duration::from_secs(5), false, None)
                .await
        }
    };
    assert_eq!(send("gone", Answer::Status(410)).await, Outcome::Gone);
    assert_eq!(send("missing", Answer::Status(404)).await, Outcome::Gone);
    assert!(matches!(
        send("down", Answer::Status(500)).await,
        Outcome::Retry(_)
    ));
    assert!(matches!(
        send("busy", Answer::Status(429)).await,
        Outcome::Retry(_)
    ));
    assert!(matches!(
        send("bad", Answer::Status(400)).await,
        Outcome::Failed(_)
    ));
    match send("stalled", Answer::Stall).await {
        Outcome::Retry(why) => assert!(why.contains("in time"), "{why}"),
        other => panic!("{other:?}"),
    }
    // Every one of them was a well-formed push; only the answers differed.
    assert!(receiver.refusals().is_empty(), "{:?}", receiver.refusals());

    // A port nobody listens on.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut target = receiver.target("nowhere");
    target.endpoint = format!("http://127.0.0.1:{port}/push/nowhere");
    match push
        .send(&target, b"{}", Duration::from_secs(5), false, None)
        .await
    {
        Outcome::Retry(why) => assert!(!why.contains("127.0.0.1"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn malformed_targets_and_http_fail_at_once() {
    let receiver = PushReceiver::start().await;
    let target = receiver.target("a");
    // A sender for real push services refuses http endpoints without calling them.
    let https_only = sender(false, 5000);
    let sent = https_only
        .send(&target, b"{}", Duration::from_secs(5), false, None)
        .await;
    assert!(matches!(sent, Outcome::Failed(_)), "{sent:?}");
    let push = sender(true, 5000);
    let broken = PushTarget {
        auth: "AAAA".into(),
        ..target.clone()
    };
    assert!(matches!(
        push.send(&broken, b"{}", Duration::from_secs(5), false, None)
            .await,
        Outcome::Failed(_)
    ));
    let too_big = vec![b'x'; 4000];
    assert!(matches!(
        push.send(&target, &too_big, Duration::from_secs(5), false, None)
            .await,
        Outcome::Failed(_)
    ));
    // Nothing reached the receiver.
    assert!(receiver.refusals().is_empty());
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", app.http.base_url()))
        .json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_key_is_public_and_stays_across_restarts() {
    let app = spawn_app().await;
    let (status, key) = call(
        &app,
        reqwest::Method::GET,
        "/api/push/key",
        None,
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    let public = key["public_key"].as_str().unwrap().to_owned();
    assert_eq!(public, app.state.push.public_key());
    // Kept in the data directory, private, and read again on the next start.
    let file = app.config.data_dir.join("vapid-private-key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let app = restart(app).await;
    assert_eq!(app.state.push.public_key(), public);
}

#[tokio::test]
async fn subscriptions_are_checked_capped_and_owned() {
    let receiver = PushReceiver::start().await;
    let app = spawn_app_with(|c| c.push.push_allow_http = true).await;
    let me = app.login("resident").await.access_token;
    let other = app.login("resident2").await.access_token;
    let my_id = app.demo.account("resident");
    let other_id = app.demo.account("resident2");
    let subs = "/api/me/push-subscriptions";
    let app = &app;
    let post = move |token: &str, body: Value| {
        let token = token.to_owned();
        async move { call(app, reqwest::Method::POST, subs, Some(&token), body).await }
    };

    // Signed in only.
    let sub = serde_json::to_value(receiver.subscription("x")).unwrap();
    assert_eq!(
        call(app, reqwest::Method::POST, subs, None, sub.clone())
            .await
            .0,
        401
    );

    // Bad endpoints and keys are refused with a sentence, Chinese first.
    for (field, value, says) in [
        ("endpoint", json!("ftp://push.example/x"), "https"),
        (
            "endpoint",
            json!("https://user:pw@push.example/x"),
            "user name",
        ),
        ("p256dh", json!("BAAA"), "p256dh"),
        ("auth", json!("AAAA"), "16 bytes"),
    ] {
        let mut body = sub.clone();
        match field {
            "endpoint" => body["endpoint"] = value,
            key => body["keys"][key] = value,
        }
        let (status, err) = post(&me, body).await;
        assert_eq!(status, 400, "{field}: {err}");
        assert_eq!(err["code"], "invalid_request");
        let message = err["message"].as_str().unwrap();
        assert!(
            message.starts_with("推送") || message.starts_with("浏览器"),
            "{message}"
        );
        assert!(message.contains(says), "{message}");
    }
    // http only where the server allows it.
    let strict = spawn_app().await;
    let token = strict.login("resident").await.access_token;
    let (status, err) = call(
        &strict,
        reqwest::Method::POST,
        subs,
        Some(&token),
        sub.clone(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(err["message"].as_str().unwrap().contains("https"), "{err}");

    // Eleven subscriptions: the first is dropped.
    let mut ids = Vec::new();
    for n in 0..11 {
        let body = serde_json::to_value(receiver.subscription(&format!("b{n}"))).unwrap();
        let (status, created) = post(&me, body).await;
        assert_eq!(status, 201, "{created}");
        ids.push(created["id"].as_i64().unwrap());
    }
    let kept = app.state.store.push_subscriptions(my_id).await.unwrap();
    assert_eq!(kept.len(), 10);
    assert!(kept.iter().all(|s| s.id != ids[0]));
    assert_eq!(kept.last().unwrap().id, ids[10]);

    // Another account cannot remove mine: 204, and mine is still there.
    let endpoint = kept[0].endpoint.clone();
    let delete = move |token: &str, endpoint: &str| {
        let (token, endpoint) = (token.to_owned(), endpoint.to_owned());
        async move {
            call(
                app,
                reqwest::Method::DELETE,
                subs,
                Some(&token),
                json!({ "endpoint": endpoint }),
            )
            .await
            .0
        }
    };
    assert_eq!(delete(&other, &endpoint).await, 204);
    assert_eq!(
        app.state
            .store
            .push_subscriptions(my_id)
            .await
            .unwrap()
            .len(),
        10
    );
    // Mine goes.
    assert_eq!(delete(&me, &endpoint).await, 204);
    let left = app.state.store.push_subscriptions(my_id).await.unwrap();
    assert_eq!(left.len(), 9);
    assert!(left.iter().all(|s| s.endpoint != endpoint));

    // Another person signing in on one of my browsers takes its subscription over.
    let mut taken = serde_json::to_value(receiver.subscription("b5")).unwrap();
    taken["endpoint"] = json!(left[0].endpoint);
    let (status, _) = post(&other, taken).await;
    assert_eq!(status, 201);
    assert_eq!(
        app.state
            .store
            .push_subscriptions(my_id)
            .await
            .unwrap()
            .len(),
        8
    );
    let theirs = app.state.store.push_subscriptions(other_id).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].endpoint, left[0].endpoint);
}
