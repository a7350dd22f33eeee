//! The webhook relay adapter against a real receiver that checks signatures as PROTOCOL.md
//! tells a relay to: what arrives, and what each kind of failure means for the worker.

use crate::webhook_receiver::{Fault, WebhookReceiver};
use hehe_server::infra::delivery::Outcome;
use hehe_server::infra::webhook::{Webhook, WebhookConfig, WebhookMessage, signature};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SECRET: &str = "relay-secret-0123456789";

fn relay(url: &str, secret: &str, timeout_ms: u64) -> Webhook {
    Webhook::from_config(&WebhookConfig {
        notify_webhook_url: url.into(),
        notify_webhook_secret: secret.into(),
        notify_webhook_timeout_ms: timeout_ms,
    })
    .unwrap()
    .expect("a URL is set")
}

fn message(to: &str, key: &str) -> WebhookMessage {
    WebhookMessage {
        delivery: key.into(),
        account_id: 12,
        to: to.into(),
        language: "zh".into(),
        kind: "issue_assigned".into(),
        title: "新工单：路灯不亮".into(),
        text: "幸福里 3 号楼前的路灯不亮，已派给您处理。".into(),
        url: "https://hehe.example/#issue/12".into(),
        urgent: true,
        created_at: 1_741_939_200_000,
    }
}

#[tokio::test]
async fn a_signed_body_arrives_with_its_delivery_key() {
    let receiver = WebhookReceiver::start(SECRET).await;
    let webhook = relay(&receiver.url, SECRET, 5000);
    let sent = message("+8613800000001", "d:1:webhook");
    assert_eq!(webhook.send(&sent, "d:1:webhook").await, Outcome::Sent);
    let got = receiver.next("+8613800000001").await;
    assert_eq!(got.message, sent);
    assert_eq!(got.delivery, "d:1:webhook");
    assert_eq!(got.content_type, "application/json");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(got.timestamp) < 60);
    assert_eq!(receiver.rejected(), 0);
}

#[tokio::test]
async fn the_receiver_refuses_a_wrong_secret_and_a_stale_timestamp() {
    let receiver = WebhookReceiver::start(SECRET).await;
    // Signed under another secret: the receiver answers 401, which no retry mends.
    let webhook = relay(&receiver.url, "another-secret-0123456789", 5000);
    let outcome = webhook.send(&message("+8613800000002", "d:2"), "d:2").await;
    assert!(matches!(outcome, Outcome::Failed(_)), "{outcome:?}");
    assert_eq!(receiver.rejected(), 1);

    // Rightly signed, but ten minutes old: a replay.
    let body = serde_json::to_vec(&message("+8613800000002", "d:3")).unwrap();
    let stale = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 600;
    let answer = reqwest::Client::new()
        .post(&receiver.url)
        .header("content-type", "application/json")
        .header("x-hehe-delivery", "d:3")
        .header("x-hehe-timestamp", stale.to_string())
        .header(
            "x-hehe-signature",
            signature(SECRET.as_bytes(), stale, &body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    assert_eq!(receiver.rejected(), 2);
    assert_eq!(receiver.pending("+8613800000002"), 0);
}

#[tokio::test]
async fn server_errors_are_retried_and_a_retry_arrives_with_the_same_key() {
    let receiver = WebhookReceiver::start(SECRET).await;
    let webhook = relay(&receiver.url, SECRET, 5000);
    let sent = message("+8613800000003", "d:4");
    for status in [500, 503, 429, 408] {
        receiver.fail_next(1, Fault::Status(status));
        let outcome = webhook.send(&sent, "d:4").await;
        assert!(
            matches!(&outcome, Outcome::Retry(why) if why.contains(&status.to_string())),
            "{status}: {outcome:?}"
        );
    }
    assert_eq!(receiver.pending("+8613800000003"), 0);
    assert_eq!(webhook.send(&sent, "d:4").await, Outcome::Sent);
    assert_eq!(receiver.next("+8613800000003").await.delivery, "d:4");
    assert_eq!(receiver.requests(), 5);
}

#[tokio::test]
async fn a_client_error_fails_for_good() {
    let receiver = WebhookReceiver::start(SECRET).await;
    let webhook = relay(&receiver.url, SECRET, 5000);
    for status in [400, 404, 410, 422] {
        receiver.fail_next(1, Fault::Status(status));
        let outcome = webhook.send(&message("+8613800000004", "d:5"), "d:5").await;
        assert!(
            matches!(&outcome, Outcome::Failed(why) if why.contains(&status.to_string())),
            "{status}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn no_answer_in_time_is_retried() {
    let receiver = WebhookReceiver::start(SECRET).await;
    let webhook = relay(&receiver.url, SECRET, 300);
    receiver.fail_next(1, Fault::Hang(Duration::from_secs(5)));
    let started = Instant::now();
    let outcome = webhook.send(&message("+8613800000005", "d:6"), "d:6").await;
    assert!(matches!(outcome, Outcome::Retry(_)), "{outcome:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn an_unreachable_relay_is_retried() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let webhook = relay(&format!("http://127.0.0.1:{port}/relay"), SECRET, 2000);
    let outcome = webhook.send(&message("+8613800000006", "d:7"), "d:7").await;
    let Outcome::Retry(why) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(!why.contains("+86138"), "{why}");
}
