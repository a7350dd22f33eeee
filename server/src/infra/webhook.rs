//! The webhook relay: each notification for a channel that leaves the server (SMS, WeChat, a
//! pager…) is POSTed as signed JSON to one URL the operator runs, which forwards it. The
//! server never learns the provider's API; the relay never needs the server's database.
//!
//! The contract (PROTOCOL.md, "Webhook relay"): `POST <HEHE_NOTIFY_WEBHOOK_URL>` with the JSON of
//! `WebhookMessage`, `X-Hehe-Delivery: <idempotency key>`, `X-Hehe-Timestamp: <unix seconds>` and
//! `X-Hehe-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. Delivery is at
//! least once: a receiver drops a delivery key it has already handled.

use super::delivery::Outcome;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A signing secret shorter than this is refused at start-up: it could be guessed offline from
/// one signed body.
pub const MIN_SECRET_BYTES: usize = 16;

/// The webhook relay's settings.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct WebhookConfig {
    /// The webhook relay's URL: notifications for the relay channel are POSTed there as signed
    /// JSON (see PROTOCOL.md). Empty: the channel is off.
    #[arg(long, env = "HEHE_NOTIFY_WEBHOOK_URL", default_value = "")]
    pub notify_webhook_url: String,
    /// The secret the relay's requests are signed with (HMAC-SHA256), at least 16 bytes.
    #[arg(
        long,
        env = "HEHE_NOTIFY_WEBHOOK_SECRET",
        default_value = "",
        hide_env_values = true
    )]
    pub notify_webhook_secret: String,
    /// How long the relay has to answer, in milliseconds; no answer in time is retried.
    #[arg(long, env = "HEHE_NOTIFY_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000)]
    pub notify_webhook_timeout_ms: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        // The defaults of the flags above, parsed the same way.
        use clap::{Args, FromArgMatches};
        let cmd = WebhookConfig::augment_args(clap::Command::new("webhook"));
        let matches = cmd
            .try_get_matches_from(["webhook"])
            .unwrap_or_else(|e| unreachable!("the defaults parse: {e}"));
        WebhookConfig::from_arg_matches(&matches)
            .unwrap_or_else(|e| unreachable!("the defaults parse: {e}"))
    }
}

/// The JSON body of one relayed notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookMessage {
    /// The idempotency key, also in `X-Hehe-Delivery`: the same for every retry of one delivery.
    pub delivery: String,
    pub account_id: i64,
    /// Where the relay sends it: an E.164 phone number, or whatever address the relay knows.
    pub to: String,
    /// `zh` or `en`: the language `title` and `text` are written in.
    pub language: String,
    pub kind: String,
    pub title: String,
    pub text: String,
    /// A link to what the notification is about.
    pub url: String,
    pub urgent: bool,
    /// When the notification was made, in unix milliseconds.
    pub created_at: i64,
}

/// `sha256=<hex>` of HMAC-SHA256 under `secret` over `"<timestamp>.<body>"`: the timestamp is
/// signed with the body, so a captured request cannot be replayed later under a new timestamp.
pub fn signature(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Sends to the webhook relay.
pub struct Webhook {
    url: String,
    secret: Vec<u8>,
    client: reqwest::Client,
}

impl Webhook {
    /// `None` when no URL is set (the channel is off); an error when a URL is set without a
    /// secret long enough, or is not a URL.
    pub fn from_config(config: &WebhookConfig) -> anyhow::Result<Option<Webhook>> {
        let url = config.notify_webhook_url.trim();
        if url.is_empty() {
            return Ok(None);
        }
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| anyhow::anyhow!("HEHE_NOTIFY_WEBHOOK_URL is not a URL: {e}"))?;
        anyhow::ensure!(
            matches!(parsed.scheme(), "http" | "https"),
            "HEHE_NOTIFY_WEBHOOK_URL must be an http or https URL"
        );
        anyhow::ensure!(
            config.notify_webhook_secret.len() >= MIN_SECRET_BYTES,
            "HEHE_NOTIFY_WEBHOOK_URL is set, so HEHE_NOTIFY_WEBHOOK_SECRET must be at least \
             {MIN_SECRET_BYTES} bytes (it signs every request to the relay)"
        );
        let timeout = Duration::from_millis(config.notify_webhook_timeout_ms.max(1));
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A redirect would re-send a signed body to a place the operator did not name.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Some(Webhook {
            url: url.to_owned(),
            secret: config.notify_webhook_secret.as_bytes().to_vec(),
            client,
        }))
    }

    /// Sends one message; a retry sends the same `idempotency_key`.
    pub async fn send(&self, message: &WebhookMessage, idempotency_key: &str) -> Outcome {
        let body = match serde_json::to_vec(message) {
            Ok(body) => body,
            Err(e) => return Outcome::Failed(format!("the webhook body would not encode: {e}")),
        };
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let answer = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Hehe-Delivery", idempotency_key)
            .header("X-Hehe-Timestamp", timestamp.to_string())
            .header(
                "X-Hehe-Signature",
                signature(&self.secret, timestamp, &body),
            )
            .body(body)
            .send()
            .await;
        match answer {
            Ok(answer) => classify(answer.status().as_u16()),
            Err(e) if e.is_timeout() => {
                Outcome::Retry("the webhook relay did not answer in time".into())
            }
            // A key that is not a valid header value: nothing a retry mends.
            Err(e) if e.is_builder() => Outcome::Failed(format!(
                "the webhook request could not be made: {}",
                e.without_url()
            )),
            // Without the URL: it may carry a key of the relay's in its query.
            Err(e) => Outcome::Retry(format!(
                "the webhook relay could not be reached: {}",
                e.without_url()
            )),
        }
    }
}

/// What the relay's status means for the delivery (infra/delivery.rs): 404 and 410 are not
/// "gone" here, since the relay's URL is one for all recipients.
fn classify(status: u16) -> Outcome {
    match status {
        200..=299 => Outcome::Sent,
        408 | 425 | 429 | 500..=599 => {
            Outcome::Retry(format!("the webhook relay answered HTTP {status}"))
        }
        _ => Outcome::Failed(format!("the webhook relay refused with HTTP {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed apart from this code: python3 -c 'import hmac,hashlib;
    // print(hmac.new(b"0123456789abcdef-secret", b"1700000000.{\"a\":1}", hashlib.sha256).hexdigest())'
    const VECTOR: &str = "sha256=6948a2dc6985c92d09b9edade5c97dce2ba201452d91a72e4a20d35abe4d3420";

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        assert_eq!(
            signature(b"0123456789abcdef-secret", 1_700_000_000, br#"{"a":1}"#),
            VECTOR
        );
        assert_ne!(
            signature(b"0123456789abcdef-secret", 1_700_000_001, br#"{"a":1}"#),
            VECTOR
        );
    }

    #[test]
    fn the_body_protocol_md_shows_is_the_one_sent() {
        let doc = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocol/PROTOCOL.md"),
        )
        .unwrap();
        let block = doc
            .split("```text\n")
            .skip(1)
            .filter_map(|rest| rest.split_once("```").map(|(block, _)| block))
            .find(|block| block.contains("\"delivery\""))
            .expect("PROTOCOL.md shows the webhook body");
        let message: WebhookMessage = serde_json::from_str(block).unwrap();
        let squeezed: String = block.split('\n').map(str::trim_start).collect();
        assert_eq!(serde_json::to_string(&message).unwrap(), squeezed);
    }

    #[test]
    fn statuses_are_classified_as_the_worker_expects() {
        assert_eq!(classify(200), Outcome::Sent);
        assert_eq!(classify(204), Outcome::Sent);
        for retry in [408, 425, 429, 500, 502, 503] {
            assert!(matches!(classify(retry), Outcome::Retry(_)), "{retry}");
        }
        for failed in [301, 400, 401, 403, 404, 410, 422] {
            assert!(matches!(classify(failed), Outcome::Failed(_)), "{failed}");
        }
    }

    #[test]
    fn the_settings_decide_whether_the_channel_is_on() {
        let mut c = WebhookConfig::default();
        assert!(Webhook::from_config(&c).unwrap().is_none());
        c.notify_webhook_url = "https://relay.example/hehe".into();
        let e = Webhook::from_config(&c).err().unwrap().to_string();
        assert!(e.contains("HEHE_NOTIFY_WEBHOOK_SECRET"), "{e}");
        c.notify_webhook_secret = "too short".into();
        assert!(Webhook::from_config(&c).is_err());
        c.notify_webhook_secret = "sixteen bytes ok".into();
        assert!(Webhook::from_config(&c).unwrap().is_some());
        c.notify_webhook_url = "relay.example".into();
        assert!(Webhook::from_config(&c).is_err());
    }
}
