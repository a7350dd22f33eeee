//! Web Push to browsers (RFC 8030): the body encrypted for the browser's key (RFC 8291,
//! aes128gcm), the server identified by a VAPID token (RFC 8292), and the push service's
//! answer sorted into a delivery `Outcome`. The encryption is web-push-native's; the token is
//! signed here, because the crate's puts no port in `aud` and lives as long as the message's
//! TTL, which RFC 8292 caps at 24 hours.
//!
//! Nothing here logs an endpoint (it identifies a browser), a key or a payload.

use crate::infra::delivery::Outcome;
use base64ct::{Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256};
use std::time::Duration;
use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint;
use web_push_native::p256::pkcs8::EncodePrivateKey;
use web_push_native::p256::{PublicKey, SecretKey};
use web_push_native::{Auth, WebPushBuilder};

/// Longest endpoint accepted; push services' are a few hundred characters.
pub const MAX_ENDPOINT_LEN: usize = 2048;

/// Largest payload that fits one record of 4096 bytes, the size push services must accept:
/// 86 bytes of header (salt, record size, key), 16 of tag and 1 of padding delimiter.
pub const MAX_PAYLOAD: usize = 4096 - 86 - 16 - 1;

/// How long a VAPID token is valid; RFC 8292 allows at most 24 hours.
const TOKEN_LIFE: Duration = Duration::from_secs(12 * 3600);

/// The Web Push settings.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct PushConfig {
    /// The VAPID private key: a raw P-256 scalar, base64url. Empty: generate one on first start
    /// and keep it in <data dir>/vapid-private-key (browsers' subscriptions are bound to it, so
    /// it must survive restarts and be the same on every node).
    #[arg(
        long,
        env = "HEHE_VAPID_PRIVATE_KEY",
        default_value = "",
        hide_env_values = true
    )]
    pub vapid_private_key: String,
    /// Who push services may contact about this server's pushes: a `mailto:` or `https:` URL.
    #[arg(
        long,
        env = "HEHE_VAPID_SUBJECT",
        default_value = "mailto:admin@hehe.invalid"
    )]
    pub vapid_subject: String,
    /// How long a push service has to answer, in milliseconds.
    #[arg(long, env = "HEHE_PUSH_TIMEOUT_MS", default_value_t = 10_000)]
    pub push_timeout_ms: u64,
    /// Accept `http://` push endpoints. Only for tests with a receiver on this machine: real
    /// push services are all HTTPS.
    #[arg(long, env = "HEHE_PUSH_ALLOW_HTTP", default_value_t = false, action = clap::ArgAction::Set)]
    pub push_allow_http: bool,
}

impl Default for PushConfig {
    fn default() -> Self {
        use clap::{Args, FromArgMatches};
        let cmd = PushConfig::augment_args(clap::Command::new("push"));
        let matches = cmd
            .try_get_matches_from(["push"])
            .unwrap_or_else(|e| unreachable!("the defaults parse: {e}"));
        PushConfig::from_arg_matches(&matches)
            .unwrap_or_else(|e| unreachable!("the defaults parse: {e}"))
    }
}

/// One browser's subscription, as the browser gave it (base64url keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushTarget {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

/// A new VAPID private key, base64url, for `HEHE_VAPID_PRIVATE_KEY` or the key file.
pub fn generate_private_key() -> String {
    use rand::RngCore;
    loop {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        // All but about 2^-32 of 32-byte strings are valid scalars.
        if SecretKey::from_slice(&bytes).is_ok() {
            return Base64UrlUnpadded::encode_string(&bytes);
        }
    }
}

/// Base64url with or without padding, as browsers and libraries write it.
fn decode_b64url(s: &str) -> Option<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(s.trim_end_matches('=')).ok()
}

/// Whether a subscription can be pushed to; the reason is a sentence for the person, Chinese
/// first.
pub fn check_subscription(
    endpoint: &str,
    p256dh: &str,
    auth: &str,
    allow_http: bool,
) -> Result<(), &'static str> {
    check_endpoint(endpoint, allow_http)?;
    browser_key(p256dh)?;
    auth_secret(auth)?;
    Ok(())
}

fn check_endpoint(endpoint: &str, allow_http: bool) -> Result<reqwest::Url, &'static str> {
    const NOT_URL: &str =
        "推送地址不是有效的 https 网址。The push endpoint is not a valid https URL.";
    if endpoint.len() > MAX_ENDPOINT_LEN {
        return Err(
            "推送地址太长（最多 2048 个字符）。The push endpoint is too long (2048 characters at most).",
        );
    }
    let url = reqwest::Url::parse(endpoint).map_err(|_| NOT_URL)?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => {
            return Err("推送地址必须使用 https。The push endpoint must use https, not http.");
        }
        _ => return Err(NOT_URL),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(NOT_URL);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "推送地址不能包含用户名或密码。The push endpoint must not carry a user name or password.",
        );
    }
    Ok(url)
}

fn browser_key(p256dh: &str) -> Result<PublicKey, &'static str> {
    const BAD: &str = "浏览器的推送公钥（p256dh）无效。The browser's push key (p256dh) is not a valid P-256 public key.";
    let bytes = decode_b64url(p256dh).ok_or(BAD)?;
    // Uncompressed, as RFC 8291 sends it; a compressed point would decode but is not what
    // browsers give, and the encryption puts the key in this form.
    if bytes.len() != 65 || bytes[0] != 0x04 {
        return Err(BAD);
    }
    PublicKey::from_sec1_bytes(&bytes).map_err(|_| BAD)
}

fn auth_secret(auth: &str) -> Result<Auth, &'static str> {
    const BAD: &str = "推送认证密钥（auth）必须是 16 字节。The push auth secret must be 16 bytes.";
    let bytes: [u8; 16] = decode_b64url(auth)
        .and_then(|b| b.try_into().ok())
        .ok_or(BAD)?;
    Ok(Auth::from(bytes))
}

/// The `Topic` header for a tag: push services allow at most 32 characters of base64url, so
/// the tag is hashed (24 bytes of its SHA-256); the same tag gives the same topic, so a newer
/// message replaces an undelivered older one.
pub fn topic_of(tag: &str) -> String {
    let digest = Sha256::digest(tag.as_bytes());
    Base64UrlUnpadded::encode_string(&digest[..24])
}

/// The sender: the server's VAPID key pair and an HTTP client.
pub struct WebPush {
    signing: jsonwebtoken::EncodingKey,
    public_key: String,
    subject: String,
    allow_http: bool,
    client: reqwest::Client,
}

impl std::fmt::Debug for WebPush {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebPush")
            .field("public_key", &self.public_key)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Serialize)]
struct VapidClaims<'a> {
    aud: &'a str,
    exp: u64,
    sub: &'a str,
}

impl WebPush {
    /// `private_key` is the base64url scalar (configured or from the key file).
    pub fn new(config: &PushConfig, private_key: &str) -> anyhow::Result<Self> {
        let secret = decode_b64url(private_key.trim())
            .and_then(|b| SecretKey::from_slice(&b).ok())
            .ok_or_else(|| {
                anyhow::anyhow!("the VAPID private key is not a base64url P-256 private key")
            })?;
        let der = secret
            .to_pkcs8_der()
            .map_err(|e| anyhow::anyhow!("encoding the VAPID key: {e}"))?;
        let public_key = Base64UrlUnpadded::encode_string(
            secret.public_key().to_encoded_point(false).as_bytes(),
        );
        let subject = config.vapid_subject.trim();
        anyhow::ensure!(
            subject.starts_with("mailto:") || subject.starts_with("https:"),
            "HEHE_VAPID_SUBJECT must be a mailto: or https: URL"
        );
        let timeout = Duration::from_millis(config.push_timeout_ms.max(1));
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A push service answers; it does not send the message elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            signing: jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes()),
            public_key,
            subject: subject.to_owned(),
            allow_http: config.push_allow_http,
            client,
        })
    }

    /// The uncompressed public point, base64url: the `applicationServerKey` of browsers.
    pub fn public_key(&self) -> String {
        self.public_key.clone()
    }

    /// Whether `http://` endpoints are accepted (tests only).
    pub fn allows_http(&self) -> bool {
        self.allow_http
    }

    /// `Authorization: vapid t=<ES256 JWT>, k=<public key>` for a push service's origin.
    fn vapid_header(&self, origin: &str) -> Result<String, jsonwebtoken::errors::Error> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let claims = VapidClaims {
            aud: origin,
            exp: (now + TOKEN_LIFE).as_secs(),
            sub: &self.subject,
        };
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        let token = jsonwebtoken::encode(&header, &claims, &self.signing)?;
        Ok(format!("vapid t={token}, k={}", self.public_key))
    }

    /// Sends one message. `ttl` is how long the push service keeps it for an offline browser;
    /// `urgent` asks for delivery even to a device saving power; `topic` (any text, hashed
    /// by `topic_of`) lets a newer message replace an undelivered one of the same topic.
    pub async fn send(
        &self,
        target: &PushTarget,
        payload: &[u8],
        ttl: Duration,
        urgent: bool,
        topic: Option<&str>,
    ) -> Outcome {
        let url = match check_endpoint(&target.endpoint, self.allow_http) {
            Ok(url) => url,
            Err(_) => return Outcome::Failed("malformed push endpoint".into()),
        };
        let (Ok(key), Ok(auth)) = (browser_key(&target.p256dh), auth_secret(&target.auth)) else {
            return Outcome::Failed("malformed push subscription keys".into());
        };
        if payload.len() > MAX_PAYLOAD {
            return Outcome::Failed(format!(
                "push payload of {} bytes is over {MAX_PAYLOAD}",
                payload.len()
            ));
        }
        let Ok(uri) = url.as_str().parse::<http::Uri>() else {
            return Outcome::Failed("malformed push endpoint".into());
        };
        let built = WebPushBuilder::new(uri, key, auth)
            .with_valid_duration(ttl)
            .build(payload);
        let request = match built {
            Ok(request) => request,
            Err(_) => return Outcome::Failed("push payload could not be encrypted".into()),
        };
        let vapid = match self.vapid_header(&url.origin().ascii_serialization()) {
            Ok(vapid) => vapid,
            Err(e) => return Outcome::Failed(format!("VAPID token not signed: {e}")),
        };
        let mut request = match reqwest::Request::try_from(request) {
            Ok(request) => request,
            Err(_) => return Outcome::Failed("malformed push endpoint".into()),
        };
        let headers = request.headers_mut();
        let mut put = |name: &'static str, value: &str| {
            if let Ok(value) = http::HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        };
        put("authorization", &vapid);
        put("urgency", if urgent { "high" } else { "normal" });
        if let Some(topic) = topic {
            put("topic", &topic_of(topic));
        }
        match self.client.execute(request).await {
            Ok(response) => classify(response.status().as_u16()),
            // The error's text names the endpoint; only its kind is reported.
            Err(e) if e.is_timeout() => {
                Outcome::Retry("push service did not answer in time".into())
            }
            Err(e) if e.is_connect() => Outcome::Retry("push service unreachable".into()),
            Err(_) => Outcome::Retry("push request failed".into()),
        }
    }
}

/// A push service's answer (RFC 8030 section 5 and 8.2): 201 accepted, 404/410 the
/// subscription is gone, 413 too large, 429 and 5xx later.
pub fn classify(status: u16) -> Outcome {
    match status {
        200..=299 => Outcome::Sent,
        404 | 410 => Outcome::Gone,
        408 | 425 | 429 | 500..=599 => {
            Outcome::Retry(format!("push service answered HTTP {status}"))
        }
        _ => Outcome::Failed(format!("push service refused with HTTP {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A key pair of RFC 8291's appendix A (the user agent's).
    const P256DH: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";

    #[test]
    fn a_browser_subscription_is_accepted() {
        let endpoint = "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABh";
        assert_eq!(check_subscription(endpoint, P256DH, AUTH, false), Ok(()));
        // Padding is optional.
        assert_eq!(
            check_subscription(endpoint, P256DH, "BTBZMqHH6r4Tts7J_aSIgg==", false),
            Ok(())
        );
    }

    #[test]
    fn endpoints_must_be_https_absolute_short_and_without_userinfo() {
        let bad = |e: &str, allow| check_subscription(e, P256DH, AUTH, allow).is_err();
        assert!(bad("http://push.example/x", false));
        assert!(!bad("http://127.0.0.1:9/push/a", true));
        assert!(bad("/push/relative", false));
        assert!(bad("ftp://push.example/x", true));
        assert!(bad("https://user:pw@push.example/x", false));
        assert!(bad("https://user@push.example/x", false));
        assert!(bad("not a url", false));
        let long = format!("https://push.example/{}", "a".repeat(MAX_ENDPOINT_LEN));
        assert!(bad(&long, false));
        let just = format!("https://push.example/{}", "a".repeat(MAX_ENDPOINT_LEN - 21));
        assert_eq!(just.len(), MAX_ENDPOINT_LEN);
        assert!(!bad(&just, false));
    }

    #[test]
    fn keys_must_be_a_point_on_the_curve_and_16_bytes() {
        let e = "https://push.example/x";
        // Not base64url.
        assert!(check_subscription(e, "###", AUTH, false).is_err());
        // 65 bytes, uncompressed tag, but not on the curve.
        let mut off = decode_b64url(P256DH).unwrap();
        off[64] ^= 1;
        let off = Base64UrlUnpadded::encode_string(&off);
        assert!(check_subscription(e, &off, AUTH, false).is_err());
        // The compressed form of a valid point.
        let compressed = PublicKey::from_sec1_bytes(&decode_b64url(P256DH).unwrap())
            .unwrap()
            .to_encoded_point(true);
        let compressed = Base64UrlUnpadded::encode_string(compressed.as_bytes());
        assert!(check_subscription(e, &compressed, AUTH, false).is_err());
        // An auth secret of 15 and 17 bytes.
        for n in [15, 17] {
            let auth = Base64UrlUnpadded::encode_string(&vec![7u8; n]);
            assert!(check_subscription(e, P256DH, &auth, false).is_err());
        }
        // Each reason is a sentence, Chinese first.
        let why = check_subscription(e, P256DH, "", false).unwrap_err();
        assert!(why.starts_with("推送") && why.contains("auth"), "{why}");
    }

    #[test]
    fn answers_are_sorted_as_the_brief_says() {
        assert_eq!(classify(201), Outcome::Sent);
        assert_eq!(classify(404), Outcome::Gone);
        assert_eq!(classify(410), Outcome::Gone);
        for status in [408, 425, 429, 500, 503] {
            assert!(matches!(classify(status), Outcome::Retry(_)), "{status}");
        }
        for status in [400, 401, 403, 413, 301] {
            assert!(matches!(classify(status), Outcome::Failed(_)), "{status}");
        }
    }

    #[test]
    fn topics_are_short_url_safe_and_stable() {
        let t = topic_of("issue:12 — a long tag with spaces and 中文 that would not be allowed");
        assert_eq!(t.len(), 32);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(
            t,
            topic_of("issue:12 — a long tag with spaces and 中文 that would not be allowed")
        );
        assert_ne!(topic_of("issue:12"), topic_of("issue:13"));
    }

    #[test]
    fn a_generated_key_gives_a_65_byte_public_key() {
        let key = generate_private_key();
        let push = WebPush::new(&PushConfig::default(), &key).unwrap();
        let public = decode_b64url(&push.public_key()).unwrap();
        assert_eq!((public.len(), public[0]), (65, 4));
        assert!(WebPush::new(&PushConfig::default(), "short").is_err());
        // The same key gives the same public key.
        let again = WebPush::new(&PushConfig::default(), &key).unwrap();
        assert_eq!(again.public_key(), push.public_key());
    }

    #[test]
    fn the_vapid_token_names_the_origin_and_expires_within_a_day() {
        let push = WebPush::new(&PushConfig::default(), &generate_private_key()).unwrap();
        let header = push.vapid_header("https://push.example:8443").unwrap();
        let (t, k) = header
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split_once(", k="))
            .unwrap();
        assert_eq!(k, push.public_key());
        let claims = t.split('.').nth(1).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&decode_b64url(claims).unwrap()).unwrap();
        assert_eq!(claims["aud"], "https://push.example:8443");
        assert_eq!(claims["sub"], "mailto:admin@hehe.invalid");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let exp = claims["exp"].as_u64().unwrap();
        assert!(exp > now && exp <= now + 24 * 3600, "{exp} {now}");
    }
}
