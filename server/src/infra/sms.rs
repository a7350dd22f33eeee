//! Sending text messages: verification codes, reset codes, invitations. One trait, three ways:
//! an SMS gateway over HTTP (`HEHE_SMS_URL`, `HEHE_SMS_KEY`), a file of JSON lines for
//! development (`HEHE_SMS_FILE`), and, with neither, a log line saying that a message would
//! have gone out. None of them ever logs a number, a code or a text.
//!
//! The gateway contract (PROTOCOL.md, "The SMS gateway"): `POST <HEHE_SMS_URL>` with
//! `Authorization: Bearer <HEHE_SMS_KEY>` and the JSON body of `SmsMessage`
//! (`{"to", "purpose", "code", "text_zh", "text_en"}`); any 2xx answer means accepted; any
//! other, or no answer within `HEHE_SMS_TIMEOUT_MS`, is a failure the caller reports.

use async_trait::async_trait;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One message. `to` is E.164; `code`, when there is one, is also in both texts, so a gateway
/// that sends a template by code and one that sends the text as written both work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SmsMessage {
    pub to: String,
    /// `signup`, `reset` or `invite`.
    pub purpose: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub text_zh: String,
    pub text_en: String,
}

/// Why a message did not go out. Carries no number, code or text.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("the SMS gateway did not answer in time")]
    Timeout,
    #[error("the SMS gateway refused the message with HTTP {0}")]
    Refused(u16),
    #[error("the SMS gateway could not be reached: {0}")]
    Unreachable(String),
    #[error("the SMS file could not be written: {0}")]
    File(#[from] std::io::Error),
}

#[async_trait]
pub trait SmsSender: Send + Sync + 'static {
    async fn send(&self, message: &SmsMessage) -> Result<(), SmsError>;
    /// `http`, `file` or `log`, for the start-up line and tests.
    fn kind(&self) -> &'static str;
}

/// The SMS settings, and the rules of the codes sent with them.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct SmsConfig {
    /// The SMS gateway's URL: each message is POSTed there as JSON (see PROTOCOL.md). Empty:
    /// no gateway.
    #[arg(long, env = "HEHE_SMS_URL", default_value = "")]
    pub sms_url: String,
    /// The bearer key sent to the SMS gateway.
    #[arg(long, env = "HEHE_SMS_KEY", default_value = "", hide_env_values = true)]
    pub sms_key: String,
    /// For development: append each message as a JSON line to this file instead of sending it.
    /// With neither this nor a URL, messages are only logged as sent (without number or code).
    #[arg(long, env = "HEHE_SMS_FILE", default_value = "")]
    pub sms_file: String,
    /// How long the SMS gateway has to answer, in milliseconds.
    #[arg(long, env = "HEHE_SMS_TIMEOUT_MS", default_value_t = 5000)]
    pub sms_timeout_ms: u64,
    /// How long an SMS verification code stays valid, in seconds.
    #[arg(long, env = "HEHE_SMS_CODE_TTL_SECS", default_value_t = 600)]
    pub sms_code_ttl_secs: u64,
    /// Wrong tries an SMS or reset code survives before it is void.
    #[arg(long, env = "HEHE_SMS_CODE_ATTEMPTS", default_value_t = 5)]
    pub sms_code_attempts: u32,
    /// Seconds before another code may be asked for the same number and purpose.
    #[arg(long, env = "HEHE_SMS_RESEND_SECS", default_value_t = 60)]
    pub sms_resend_secs: u64,
    /// Codes one number may be sent in an hour.
    #[arg(long, env = "HEHE_SMS_PER_NUMBER_PER_HOUR", default_value_t = 5)]
    pub sms_per_number_per_hour: u32,
    /// Codes that may be asked from one client address (IPv6: its /64) in an hour.
    #[arg(long, env = "HEHE_SMS_PER_ADDRESS_PER_HOUR", default_value_t = 20)]
    pub sms_per_address_per_hour: u32,
    /// How long a one-time reset code made by an official stays valid, in seconds.
    #[arg(long, env = "HEHE_RESET_CODE_TTL_SECS", default_value_t = 24 * 3600)]
    pub reset_code_ttl_secs: u64,
}

impl Default for SmsConfig {
    fn default() -> Self {
        // The defaults of the flags above, parsed the same way.
        use clap::{Args, FromArgMatches};
        let cmd = SmsConfig::augment_args(clap::Command::new("sms"));
        let matches = cmd
            .try_get_matches_from(["sms"])
            .unwrap_or_else(|e| unreachable!("the defaults parse: {e}"));
        SmsConfig::from_arg_matches(&matches)
            .unwrap_or_else(|e| unreachable!("the defaults parse: {e}"))
    }
}

impl SmsConfig {
    /// The rules of codes these settings give; `rate_limits` off (load tests) lifts the hourly
    /// counts but not the resend pause or the tries.
    pub fn rules(&self, rate_limits: bool) -> crate::domain::codes::CodeRules {
        let secs = |s: u64| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX);
        crate::domain::codes::CodeRules {
            ttl_ms: secs(self.sms_code_ttl_secs),
            max_attempts: self.sms_code_attempts.max(1),
            resend_ms: secs(self.sms_resend_secs),
            per_number: if rate_limits {
                self.sms_per_number_per_hour
            } else {
                u32::MAX
            },
            per_address: if rate_limits {
                self.sms_per_address_per_hour
            } else {
                u32::MAX
            },
        }
    }

    /// The sender these settings name.
    pub fn sender(&self) -> anyhow::Result<Arc<dyn SmsSender>> {
        match (self.sms_url.trim(), self.sms_file.trim()) {
            ("", "") => Ok(Arc::new(LogSms)),
            (url, "") => {
                anyhow::ensure!(
                    !self.sms_key.is_empty(),
                    "HEHE_SMS_URL is set but HEHE_SMS_KEY is empty"
                );
                Ok(Arc::new(HttpSms::new(
                    url,
                    &self.sms_key,
                    Duration::from_millis(self.sms_timeout_ms.max(1)),
                )?))
            }
            ("", file) => Ok(Arc::new(FileSms::new(file))),
            _ => anyhow::bail!("set HEHE_SMS_URL or HEHE_SMS_FILE, not both"),
        }
    }
}

/// Sends through an SMS gateway over HTTP(S).
pub struct HttpSms {
    url: String,
    key: String,
    client: reqwest::Client,
}

impl HttpSms {
    pub fn new(url: &str, key: &str, timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()?;
        Ok(Self {
            url: url.to_owned(),
            key: key.to_owned(),
            client,
        })
    }
}

#[async_trait]
impl SmsSender for HttpSms {
    async fn send(&self, message: &SmsMessage) -> Result<(), SmsError> {
        let answer = self
            .client
            .post(&self.url)
            .bearer_auth(&self.key)
            .json(message)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    SmsError::Timeout
                } else {
                    // Without the URL: it may carry a key of the provider's in its query.
                    SmsError::Unreachable(e.without_url().to_string())
                }
            })?;
        let status = answer.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(SmsError::Refused(status.as_u16()))
        }
    }

    fn kind(&self) -> &'static str {
        "http"
    }
}

/// Appends each message as a JSON line to a file: for development, where a person reads the
/// codes from the file instead of a phone.
pub struct FileSms {
    path: PathBuf,
    // One writer at a time, so lines never interleave.
    lock: Mutex<()>,
}

impl FileSms {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }
}

#[async_trait]
impl SmsSender for FileSms {
    async fn send(&self, message: &SmsMessage) -> Result<(), SmsError> {
        let mut line = serde_json::to_string(message).map_err(std::io::Error::other)?;
        line.push('\n');
        let _one = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(line.as_bytes())?;
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "file"
    }
}

/// No gateway: logs that a message went out, and nothing of it but its purpose.
pub struct LogSms;

#[async_trait]
impl SmsSender for LogSms {
    async fn send(&self, message: &SmsMessage) -> Result<(), SmsError> {
        tracing::info!(
            purpose = message.purpose.as_str(),
            "text message not delivered: no SMS gateway is configured (HEHE_SMS_URL)"
        );
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "log"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Json;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    use tokio::sync::mpsc;

    fn message() -> SmsMessage {
        SmsMessage {
            to: "+8613812345678".into(),
            purpose: "signup".into(),
            code: Some("123456".into()),
            text_zh: "验证码 123456".into(),
            text_en: "Code 123456".into(),
        }
    }

    /// A gateway on 127.0.0.1 that answers `status` after `delay` and hands each request's
    /// authorization header and body to the test.
    async fn gateway(
        status: StatusCode,
        delay: Duration,
    ) -> (String, mpsc::UnboundedReceiver<(String, serde_json::Value)>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let app = axum::Router::new().route(
            "/sms",
            post(
                move |headers: HeaderMap, Json(body): Json<serde_json::Value>| {
                    let tx = tx.clone();
                    async move {
                        let auth = headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        let _ = tx.send((auth, body));
                        tokio::time::sleep(delay).await;
                        status
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}/sms"), rx)
    }

    #[tokio::test]
    async fn the_gateway_gets_the_documented_json_with_the_key() {
        let (url, mut rx) = gateway(StatusCode::ACCEPTED, Duration::ZERO).await;
        let sms = HttpSms::new(&url, "k3y", Duration::from_secs(5)).unwrap();
        sms.send(&message()).await.unwrap();
        let (auth, body) = rx.recv().await.unwrap();
        assert_eq!(auth, "Bearer k3y");
        assert_eq!(
            body,
            serde_json::json!({
                "to": "+8613812345678", "purpose": "signup", "code": "123456",
                "text_zh": "验证码 123456", "text_en": "Code 123456"
            })
        );
        assert_eq!(sms.kind(), "http");
    }

    #[tokio::test]
    async fn a_refusal_or_a_slow_gateway_is_an_error_without_the_number() {
        let (url, _rx) = gateway(StatusCode::INTERNAL_SERVER_ERROR, Duration::ZERO).await;
        let sms = HttpSms::new(&url, "k", Duration::from_secs(5)).unwrap();
        let e = sms.send(&message()).await.unwrap_err();
        assert!(matches!(e, SmsError::Refused(500)), "{e}");
        assert!(!e.to_string().contains("138"));

        let (url, _rx) = gateway(StatusCode::OK, Duration::from_secs(5)).await;
        let sms = HttpSms::new(&url, "k", Duration::from_millis(200)).unwrap();
        let started = std::time::Instant::now();
        let e = sms.send(&message()).await.unwrap_err();
        assert!(matches!(e, SmsError::Timeout), "{e}");
        assert!(started.elapsed() < Duration::from_secs(3));

        // Nothing listens there.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let sms = HttpSms::new(
            &format!("http://127.0.0.1:{port}/sms"),
            "k",
            Duration::from_secs(2),
        )
        .unwrap();
        let e = sms.send(&message()).await.unwrap_err();
        assert!(matches!(e, SmsError::Unreachable(_)), "{e}");
    }

    #[tokio::test]
    async fn the_file_sender_appends_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sms.jsonl");
        let sms = FileSms::new(&path);
        sms.send(&message()).await.unwrap();
        let mut second = message();
        second.code = None;
        sms.send(&second).await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<SmsMessage> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines, [message(), second]);
    }

    #[test]
    fn the_settings_pick_the_sender() {
        let mut c = SmsConfig::default();
        assert_eq!(c.sender().unwrap().kind(), "log");
        c.sms_file = "/tmp/x.jsonl".into();
        assert_eq!(c.sender().unwrap().kind(), "file");
        c.sms_url = "https://sms.example/send".into();
        assert!(c.sender().is_err(), "both");
        c.sms_file.clear();
        assert!(c.sender().is_err(), "a URL without a key");
        c.sms_key = "k".into();
        assert_eq!(c.sender().unwrap().kind(), "http");
        let rules = c.rules(true);
        assert_eq!(
            (rules.ttl_ms, rules.max_attempts, rules.resend_ms),
            (600_000, 5, 60_000)
        );
        assert_eq!((rules.per_number, rules.per_address), (5, 20));
        assert_eq!(c.rules(false).per_number, u32::MAX);
    }
}
