//! A Web Push service on 127.0.0.1 for the tests: it hands out subscriptions with real P-256
//! keys, and checks each push as a browser's push service and the browser would: the VAPID
//! token (RFC 8292) verifies with the key beside it and names this origin, and the body
//! decrypts (RFC 8291 and 8188) with the subscription's private key and auth secret. It does
//! so with the RustCrypto primitives, not with the sender's crate, so the two check each other.

use aes_gcm::aead::{Aead, KeyInit, OsRng};
use aes_gcm::{Aes128Gcm, Nonce};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64ct::{Base64UrlUnpadded, Encoding};
use hehe_protocol::notify::{PushKeys, PushSubscriptionIn};
use hehe_server::infra::push::PushTarget;
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{PublicKey, SecretKey};
use rand::RngCore;
use serde_json::Value;
use sha2::Sha256;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// One accepted push, decrypted, with the headers a test may check.
#[derive(Debug, Clone)]
pub struct Received {
    pub payload: Value,
    pub ttl: u64,
    pub urgency: Option<String>,
    pub topic: Option<String>,
}

/// How the receiver answers pushes for a name.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Status(u16),
    /// Never answers (the sender's time-out).
    Stall,
}

struct Keys {
    secret: SecretKey,
    auth: [u8; 16],
}

#[derive(Default)]
struct Inner {
    keys: Mutex<HashMap<String, Keys>>,
    answers: Mutex<HashMap<String, Answer>>,
    received: Mutex<HashMap<String, VecDeque<Received>>>,
    /// Why pushes were refused, for the failure message of a test.
    refusals: Mutex<Vec<String>>,
    arrived: Notify,
}

pub struct PushReceiver {
    addr: SocketAddr,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PushReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PushReceiver {
    pub async fn start() -> PushReceiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/push/{name}", post(push))
            .with_state((inner.clone(), format!("http://{addr}")));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        PushReceiver { addr, inner, task }
    }

    /// A new browser subscription named `name`, as `PushSubscription.toJSON()` gives it.
    pub fn subscription(&self, name: &str) -> PushSubscriptionIn {
        let secret = SecretKey::random(&mut OsRng);
        let mut auth = [0u8; 16];
        rand::rng().fill_bytes(&mut auth);
        let public = secret.public_key().to_encoded_point(false);
        let sub = PushSubscriptionIn {
            endpoint: format!("http://{}/push/{name}", self.addr),
            keys: PushKeys {
                p256dh: Base64UrlUnpadded::encode_string(public.as_bytes()),
                auth: Base64UrlUnpadded::encode_string(&auth),
            },
            expiration_time: None,
        };
        self.inner
            .keys
            .lock()
            .unwrap()
            .insert(name.to_owned(), Keys { secret, auth });
        sub
    }

    /// `subscription` as the sender takes it.
    pub fn target(&self, name: &str) -> PushTarget {
        let sub = self.subscription(name);
        PushTarget {
            endpoint: sub.endpoint,
            p256dh: sub.keys.p256dh,
            auth: sub.keys.auth,
        }
    }

    /// From now on, pushes for `name` get this answer (after being checked all the same).
    pub fn answer(&self, name: &str, answer: Answer) {
        self.inner
            .answers
            .lock()
            .unwrap()
            .insert(name.to_owned(), answer);
    }

    /// The next push accepted for `name`, decrypted; panics after 5 s.
    pub async fn next_received(&self, name: &str) -> Received {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let arrived = self.inner.arrived.notified();
            if let Some(r) = self
                .inner
                .received
                .lock()
                .unwrap()
                .get_mut(name)
                .and_then(VecDeque::pop_front)
            {
                return r;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "no push for {name} within 5 s; refused: {:?}",
                    self.refusals()
                );
            }
        }
    }

    /// The payload of the next push accepted for `name`.
    pub async fn next(&self, name: &str) -> Value {
        self.next_received(name).await.payload
    }

    /// Why pushes were refused so far.
    pub fn refusals(&self) -> Vec<String> {
        self.inner.refusals.lock().unwrap().clone()
    }
}

async fn push(
    State((inner, origin)): State<(Arc<Inner>, String)>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let checked = check(&inner, &origin, &name, &headers, &body);
    let answer = inner.answers.lock().unwrap().get(&name).copied();
    match checked {
        Err(why) => {
            inner
                .refusals
                .lock()
                .unwrap()
                .push(format!("{name}: {why}"));
            inner.arrived.notify_waiters();
            return StatusCode::BAD_REQUEST;
        }
        Ok(received) if answer.is_none() => {
            inner
                .received
                .lock()
                .unwrap()
                .entry(name)
                .or_default()
                .push_back(received);
            inner.arrived.notify_waiters();
        }
        Ok(_) => {}
    }
    match answer {
        None => StatusCode::CREATED,
        Some(Answer::Status(code)) => StatusCode::from_u16(code).expect("a status"),
        Some(Answer::Stall) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::CREATED
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn check(
    inner: &Inner,
    origin: &str,
    name: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Received, String> {
    verify_vapid(
        origin,
        header(headers, "authorization").ok_or("no Authorization")?,
    )?;
    if header(headers, "content-encoding") != Some("aes128gcm") {
        return Err("Content-Encoding is not aes128gcm".into());
    }
    let ttl = header(headers, "ttl")
        .and_then(|t| t.parse().ok())
        .ok_or("no TTL")?;
    let plain = {
        let keys = inner.keys.lock().unwrap();
        let keys = keys.get(name).ok_or("no such subscription")?;
        decrypt(keys, body)?
    };
    Ok(Received {
        payload: serde_json::from_slice(&plain).map_err(|e| format!("payload not JSON: {e}"))?,
        ttl,
        urgency: header(headers, "urgency").map(str::to_owned),
        topic: header(headers, "topic").map(str::to_owned),
    })
}

/// `vapid t=<JWT>, k=<public key>`: an ES256 token, valid under k, for this origin, expiring
/// in the next 24 hours, with a contact.
fn verify_vapid(origin: &str, value: &str) -> Result<(), String> {
    let rest = value.strip_prefix("vapid ").ok_or("not a vapid scheme")?;
    let mut token = None;
    let mut key = None;
    for part in rest.split(',').map(str::trim) {
        if let Some(t) = part.strip_prefix("t=") {
            token = Some(t);
        } else if let Some(k) = part.strip_prefix("k=") {
            key = Some(k);
        }
    }
    let (token, key) = token.zip(key).ok_or("t or k missing")?;
    let k = Base64UrlUnpadded::decode_vec(key).map_err(|_| "k is not base64url")?;
    if k.len() != 65 || k[0] != 4 {
        return Err("k is not an uncompressed P-256 point".into());
    }
    let decoding = jsonwebtoken::DecodingKey::from_ec_components(
        &Base64UrlUnpadded::encode_string(&k[1..33]),
        &Base64UrlUnpadded::encode_string(&k[33..]),
    )
    .map_err(|e| format!("k: {e}"))?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[origin]);
    validation.set_required_spec_claims(&["exp", "aud", "sub"]);
    validation.leeway = 0;
    let claims = jsonwebtoken::decode::<Value>(token, &decoding, &validation)
        .map_err(|e| format!("token: {e}"))?
        .claims;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let exp = claims["exp"].as_u64().ok_or("exp is not a number")?;
    if exp > now + 24 * 3600 {
        return Err("exp is more than 24 hours away".into());
    }
    if claims["sub"].as_str().is_none_or(str::is_empty) {
        return Err("no sub".into());
    }
    Ok(())
}

/// RFC 8291 section 3.4 and RFC 8188 section 2: one record.
fn decrypt(keys: &Keys, body: &[u8]) -> Result<Vec<u8>, String> {
    if body.len() < 21 {
        return Err("body shorter than its header".into());
    }
    let (salt, rest) = body.split_at(16);
    let record_size = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
    let id_len = rest[4] as usize;
    let rest = &rest[5..];
    if id_len != 65 || rest.len() < id_len {
        return Err("key id is not a 65-byte point".into());
    }
    let (as_public, ciphertext) = rest.split_at(id_len);
    if ciphertext.len() > record_size || ciphertext.len() < 17 {
        return Err("not one record".into());
    }
    let as_key = PublicKey::from_sec1_bytes(as_public).map_err(|_| "key id is off the curve")?;
    let ua_public = keys.secret.public_key().to_encoded_point(false);
    let shared = p256::ecdh::diffie_hellman(keys.secret.to_nonzero_scalar(), as_key.as_affine());

    let mut info = b"WebPush: info\0".to_vec();
    info.extend_from_slice(ua_public.as_bytes());
    info.extend_from_slice(as_public);
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&keys.auth), shared.raw_secret_bytes())
        .expand(&info, &mut ikm)
        .map_err(|_| "hkdf")?;
    let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let mut cek = [0u8; 16];
    let mut nonce = [0u8; 12];
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek)
        .map_err(|_| "hkdf")?;
    prk.expand(b"Content-Encoding: nonce\0", &mut nonce)
        .map_err(|_| "hkdf")?;
    let cipher = Aes128Gcm::new_from_slice(&cek).map_err(|_| "key length")?;
    let mut plain = cipher
        .decrypt(&Nonce::from(nonce), ciphertext)
        .map_err(|_| "does not decrypt")?;
    // The last record ends with 0x02 and optional zero padding.
    while plain.last() == Some(&0) {
        plain.pop();
    }
    if plain.pop() != Some(2) {
        return Err("no last-record delimiter".into());
    }
    Ok(plain)
}
