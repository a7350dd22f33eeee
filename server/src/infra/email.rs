//! Email: notifications and staff digests sent over SMTP to the operator's mail server
//! (`HEHE_SMTP_HOST`), as multipart/alternative plain text and HTML.
//!
//! Each message's `Message-ID` is made from its idempotency key, so a delivery the worker
//! retries after a lost answer arrives with the same id and a mail client shows it once.

use super::delivery::Outcome;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on this machine (tests, a local MTA), never across a
    /// network, since the password and the mail would travel in the clear.
    None,
}

/// The email settings.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct EmailConfig {
    /// The mail server that sends notification email and digests. Empty: the channel is off.
    #[arg(long, env = "HEHE_SMTP_HOST", default_value = "")]
    pub smtp_host: String,
    /// The mail server's port: 587 for STARTTLS, usually 465 with `HEHE_SMTP_TLS=tls`.
    #[arg(long, env = "HEHE_SMTP_PORT", default_value_t = 587)]
    pub smtp_port: u16,
    /// `starttls`, `tls` or `none`; `none` is refused unless the host is a loopback address.
    #[arg(long, env = "HEHE_SMTP_TLS", value_enum, default_value = "starttls")]
    pub smtp_tls: SmtpTls,
    /// The mail server's user name; empty: send without logging in.
    #[arg(long, env = "HEHE_SMTP_USERNAME", default_value = "")]
    pub smtp_username: String,
    /// The mail server's password.
    #[arg(
        long,
        env = "HEHE_SMTP_PASSWORD",
        default_value = "",
        hide_env_values = true
    )]
    pub smtp_password: String,
    /// The sender of every message.
    #[arg(
        long,
        env = "HEHE_SMTP_FROM",
        default_value = "Hehe <noreply@hehe.invalid>"
    )]
    pub smtp_from: String,
    /// How long the mail server has to answer each step, in milliseconds.
    #[arg(long, env = "HEHE_SMTP_TIMEOUT_MS", default_value_t = 10_000)]
    pub smtp_timeout_ms: u64,
}

impl Default for EmailConfig {
    fn default() -> Self {
        // The defaults of the flags above, parsed the same way.
        use clap::{Args, FromArgMatches};
        let cmd = EmailConfig::augment_args(clap::Command::new("email"));
        let matches = cmd
            .try_get_matches_from(["email"])
            .unwrap_or_else(|e| unreachable!("the defaults parse: {e}"));
        EmailConfig::from_arg_matches(&matches)
            .unwrap_or_else(|e| unreachable!("the defaults parse: {e}"))
    }
}

/// Sends email through one mail server, over a small pool of connections.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// `None` when no host is set (the channel is off); an error for settings that cannot work
    /// or would send in the clear across a network. Call it inside the Tokio runtime: the
    /// connection pool tends its idle connections from a task of its own.
    pub fn from_config(config: &EmailConfig) -> anyhow::Result<Option<Mailer>> {
        let host = config.smtp_host.trim();
        if host.is_empty() {
            return Ok(None);
        }
        let from: Mailbox = config.smtp_from.parse().map_err(|e| {
            anyhow::anyhow!(
                "HEHE_SMTP_FROM is not an address like `Hehe <noreply@example.org>`: {e}"
            )
        })?;
        let builder = match config.smtp_tls {
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
            SmtpTls::None => {
                anyhow::ensure!(
                    is_loopback(host),
                    "HEHE_SMTP_TLS=none sends the password and mail in the clear, so it is only \
                     allowed for a mail server on this machine (HEHE_SMTP_HOST=127.0.0.1, ::1 or \
                     localhost); use starttls or tls for {host}"
                );
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            }
        };
        let mut builder = builder
            .port(config.smtp_port)
            .timeout(Some(Duration::from_millis(config.smtp_timeout_ms.max(1))));
        match (
            config.smtp_username.is_empty(),
            config.smtp_password.is_empty(),
        ) {
            (true, true) => {}
            (false, _) => {
                builder = builder.credentials(Credentials::new(
                    config.smtp_username.clone(),
                    config.smtp_password.clone(),
                ));
            }
            (true, false) => {
                anyhow::bail!("HEHE_SMTP_PASSWORD is set but HEHE_SMTP_USERNAME is empty")
            }
        }
        Ok(Some(Mailer {
            transport: builder.build(),
            from,
        }))
    }

    /// The `Message-ID` a message sent with `idempotency_key` carries: a hash of the key, so
    /// the key itself (which names accounts and notifications) does not travel.
    pub fn message_id(&self, idempotency_key: &str) -> String {
        let digest = Sha256::digest(idempotency_key.as_bytes());
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("<hehe.{hex}@{}>", self.from.email.domain())
    }

    /// Sends one message; `html` is sent as it is (whoever composed it escaped it).
    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        text: &str,
        html: &str,
        idempotency_key: &str,
    ) -> Outcome {
        let Ok(to) = to.parse::<Mailbox>() else {
            return Outcome::Failed("the email address is malformed".into());
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(self.message_id(idempotency_key)))
            .multipart(MultiPart::alternative_plain_html(
                text.to_owned(),
                html.to_owned(),
            ));
        let message = match message {
            Ok(message) => message,
            Err(e) => return Outcome::Failed(format!("the email could not be built: {e}")),
        };
        match self.transport.send(message).await {
            Ok(_) => Outcome::Sent,
            Err(e) => classify(&e),
        }
    }
}

/// Only the reply code is kept: a mail server's reply text often repeats the address.
fn classify(e: &lettre::transport::smtp::Error) -> Outcome {
    if let Some(code) = e.status() {
        return if e.is_permanent() {
            Outcome::Failed(format!("the mail server refused the message ({code})"))
        } else {
            Outcome::Retry(format!("the mail server deferred the message ({code})"))
        };
    }
    if e.is_timeout() {
        return Outcome::Retry("the mail server did not answer in time".into());
    }
    let mut cause = std::error::Error::source(e);
    while let Some(err) = cause {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Outcome::Retry(format!(
                "the mail server could not be reached: {}",
                io.kind()
            ));
        }
        cause = err.source();
    }
    let what = if e.is_tls() {
        "TLS with the mail server failed"
    } else if e.is_response() {
        "the mail server's answer could not be read"
    } else {
        "the mail server connection failed"
    };
    Outcome::Retry(what.into())
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    fn local(port: u16) -> EmailConfig {
        EmailConfig {
            smtp_host: "127.0.0.1".into(),
            smtp_port: port,
            smtp_tls: SmtpTls::None,
            smtp_timeout_ms: 2000,
            ..EmailConfig::default()
        }
    }

    #[tokio::test]
    async fn the_settings_decide_whether_the_channel_is_on() {
        let mut c = EmailConfig::default();
        assert!(Mailer::from_config(&c).unwrap().is_none());
        c.smtp_host = "smtp.example.org".into();
        assert!(Mailer::from_config(&c).unwrap().is_some());
        c.smtp_tls = SmtpTls::Tls;
        assert!(Mailer::from_config(&c).unwrap().is_some());
        c.smtp_tls = SmtpTls::None;
        let e = Mailer::from_config(&c).err().unwrap().to_string();
        assert!(e.contains("HEHE_SMTP_TLS=none"), "{e}");
        for host in ["127.0.0.1", "::1", "[::1]", "localhost"] {
            c.smtp_host = host.into();
            assert!(Mailer::from_config(&c).unwrap().is_some(), "{host}");
        }
        c.smtp_from = "not an address".into();
        assert!(Mailer::from_config(&c).is_err());
        c.smtp_from = EmailConfig::default().smtp_from;
        c.smtp_password = "secret".into();
        assert!(
            Mailer::from_config(&c).is_err(),
            "a password without a user"
        );
    }

    #[tokio::test]
    async fn the_message_id_follows_the_key_and_hides_it() {
        let mailer = Mailer::from_config(&local(25)).unwrap().unwrap();
        let id = mailer.message_id("notification:7:email");
        assert_eq!(id, mailer.message_id("notification:7:email"));
        assert_ne!(id, mailer.message_id("notification:8:email"));
        assert!(
            id.starts_with("<hehe.") && id.ends_with("@hehe.invalid>"),
            "{id}"
        );
        assert!(!id.contains("notification"));
    }

    #[tokio::test]
    async fn a_malformed_address_fails_at_once() {
        let mailer = Mailer::from_config(&local(9)).unwrap().unwrap();
        let outcome = mailer
            .send("not an address", "s", "t", "<p>t</p>", "k")
            .await;
        assert!(matches!(outcome, Outcome::Failed(_)), "{outcome:?}");
    }

    /// A mail server on 127.0.0.1 that answers every recipient with `rcpt_reply`.
    async fn refusing_server(rcpt_reply: &'static str) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    write.write_all(b"220 test ESMTP\r\n").await.unwrap();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
                        let reply = match verb.as_str() {
                            "EHLO" | "HELO" => "250 test\r\n",
                            "RCPT" => rcpt_reply,
                            "QUIT" => "221 bye\r\n",
                            _ => "250 ok\r\n",
                        };
                        if write.write_all(reply.as_bytes()).await.is_err() || verb == "QUIT" {
                            break;
                        }
                    }
                });
            }
        });
        port
    }

    #[tokio::test]
    async fn a_permanent_refusal_fails_and_a_deferral_is_retried() {
        let port = refusing_server("550 5.1.1 <x@example.org>: no such user\r\n").await;
        let mailer = Mailer::from_config(&local(port)).unwrap().unwrap();
        let outcome = mailer
            .send("x@example.org", "s", "t", "<p>t</p>", "k")
            .await;
        let Outcome::Failed(why) = outcome else {
            panic!("{outcome:?}")
        };
        assert!(
            why.contains("550") && !why.contains("x@example.org"),
            "{why}"
        );

        let port = refusing_server("451 4.3.0 try later\r\n").await;
        let mailer = Mailer::from_config(&local(port)).unwrap().unwrap();
        let outcome = mailer
            .send("x@example.org", "s", "t", "<p>t</p>", "k")
            .await;
        assert!(
            matches!(&outcome, Outcome::Retry(why) if why.contains("451")),
            "{outcome:?}"
        );
    }
}
