//! A webhook relay for tests: a real HTTP server on 127.0.0.1 that checks each request's
//! signature and timestamp as PROTOCOL.md tells a relay to, keeps what it accepted by
//! recipient, and can be told to answer the next requests with an error or not at all.

#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hehe_server::infra::webhook::WebhookMessage;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

/// The most a request's timestamp may be off the receiver's clock.
const SKEW_SECS: u64 = 300;

/// What the receiver does with a request instead of accepting it.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Answer with this status.
    Status(u16),
    /// Answer nothing for this long.
    Hang(Duration),
}

/// One accepted request.
#[derive(Debug, Clone)]
pub struct Received {
    pub message: WebhookMessage,
    /// `X-Hehe-Delivery`.
    pub delivery: String,
    pub timestamp: u64,
    pub content_type: String,
}

#[derive(Default)]
struct Book {
    accepted: HashMap<String, VecDeque<Received>>,
    faults: VecDeque<Fault>,
    /// Requests refused for a missing or wrong signature or a stale timestamp.
    rejected: usize,
    /// Every request that came, whatever it was answered.
    requests: usize,
}

struct Shared {
    secret: Vec<u8>,
    book: Mutex<Book>,
    arrived: Notify,
}

#[derive(Clone)]
pub struct WebhookReceiver {
    /// The URL to configure as `HEHE_NOTIFY_WEBHOOK_URL`.
    pub url: String,
    shared: Arc<Shared>,
}

impl WebhookReceiver {
    /// Starts a receiver that checks signatures against `secret`.
    pub async fn start(secret: &str) -> WebhookReceiver {
        let shared = Arc::new(Shared {
            secret: secret.as_bytes().to_vec(),
            book: Mutex::default(),
            arrived: Notify::new(),
        });
        let app = axum::Router::new()
            .route("/relay", post(receive))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        WebhookReceiver {
            url: format!("http://{addr}/relay"),
            shared,
        }
    }

    /// The next `n` requests get `fault` instead of being accepted.
    pub fn fail_next(&self, n: usize, fault: Fault) {
        let mut book = self.shared.book.lock().unwrap();
        book.faults.extend(std::iter::repeat_n(fault, n));
    }

    /// The oldest accepted request for `to` not yet taken; panics after 10 s without one.
    pub async fn next(&self, to: &str) -> Received {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let arrived = self.shared.arrived.notified();
                if let Some(received) = self
                    .shared
                    .book
                    .lock()
                    .unwrap()
                    .accepted
                    .get_mut(to)
                    .and_then(VecDeque::pop_front)
                {
                    return received;
                }
                arrived.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no webhook for {to} within 10 s"))
    }

    /// Accepted requests for `to` not yet taken.
    pub fn pending(&self, to: &str) -> usize {
        let book = self.shared.book.lock().unwrap();
        book.accepted.get(to).map_or(0, VecDeque::len)
    }

    pub fn rejected(&self) -> usize {
        self.shared.book.lock().unwrap().rejected
    }

    pub fn requests(&self) -> usize {
        self.shared.book.lock().unwrap().requests
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let fault = {
        let mut book = shared.book.lock().unwrap();
        book.requests += 1;
        book.faults.pop_front()
    };
    match fault {
        Some(Fault::Status(status)) => return StatusCode::from_u16(status).unwrap(),
        Some(Fault::Hang(time)) => {
            tokio::time::sleep(time).await;
            return StatusCode::OK;
        }
        None => {}
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let Some(timestamp) = verified(
        &shared.secret,
        &header("x-hehe-timestamp"),
        &header("x-hehe-signature"),
        &body,
    ) else {
        shared.book.lock().unwrap().rejected += 1;
        shared.arrived.notify_waiters();
        return StatusCode::UNAUTHORIZED;
    };
    let Ok(message) = serde_json::from_slice::<WebhookMessage>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let received = Received {
        delivery: header("x-hehe-delivery"),
        content_type: header("content-type"),
        timestamp,
        message,
    };
    shared
        .book
        .lock()
        .unwrap()
        .accepted
        .entry(received.message.to.clone())
        .or_default()
        .push_back(received);
    shared.arrived.notify_waiters();
    StatusCode::NO_CONTENT
}

/// The recipe PROTOCOL.md gives a relay: HMAC-SHA256 over `"<timestamp>.<body>"`, compared in
/// constant time, and a timestamp within five minutes of now.
fn verified(secret: &[u8], timestamp: &str, signature: &str, body: &[u8]) -> Option<u64> {
    let ts: u64 = timestamp.parse().ok()?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    if now.abs_diff(ts) > SKEW_SECS {
        return None;
    }
    let hex = signature.strip_prefix("sha256=")?;
    if hex.len() != 64 {
        return None;
    }
    let expected: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect::<Option<_>>()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&expected).ok()?;
    Some(ts)
}
