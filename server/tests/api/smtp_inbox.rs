//! The mail a real SMTP server received, for tests: `.ci/run` starts aiosmtpd on
//! `HEHE_TEST_SMTP` (127.0.0.1:2525) storing each message in the Maildir
//! `HEHE_TEST_SMTP_MAILDIR`; a test sends to an address of its own and reads that message back,
//! its headers decoded (RFC 2047) and its parts apart.
//!
//! Where `HEHE_TEST_SMTP` is unset, a test prints why and passes without running, unless
//! `HEHE_REQUIRE_SERVICES=1` (set by `.ci/run`), where it fails instead.

#![allow(dead_code)]

use hehe_server::infra::email::{EmailConfig, SmtpTls};
use mailparse::MailHeaderMap;
use std::path::PathBuf;
use std::time::Duration;

pub struct SmtpInbox {
    host: String,
    port: u16,
    maildir: PathBuf,
}

/// One message as it arrived.
#[derive(Debug)]
pub struct Mail {
    pub subject: String,
    pub from: String,
    pub to: String,
    pub message_id: String,
    /// The top-level MIME type, `multipart/alternative` for a notification.
    pub mimetype: String,
    pub text: String,
    pub html: String,
}

impl SmtpInbox {
    /// `None` (with a printed reason) when no test SMTP server is configured and services are
    /// not required.
    pub fn get() -> Option<SmtpInbox> {
        let required = std::env::var("HEHE_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
        let (Ok(addr), Ok(maildir)) = (
            std::env::var("HEHE_TEST_SMTP"),
            std::env::var("HEHE_TEST_SMTP_MAILDIR"),
        ) else {
            assert!(
                !required,
                "an SMTP server is required: set HEHE_TEST_SMTP and HEHE_TEST_SMTP_MAILDIR (.ci/run starts aiosmtpd)"
            );
            eprintln!(
                "skipped: HEHE_TEST_SMTP and HEHE_TEST_SMTP_MAILDIR are not set (.ci/run starts aiosmtpd); set HEHE_REQUIRE_SERVICES=1 to fail instead"
            );
            return None;
        };
        let (host, port) = addr
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("HEHE_TEST_SMTP is host:port, not {addr}"));
        Some(SmtpInbox {
            host: host.to_owned(),
            port: port.parse().expect("HEHE_TEST_SMTP's port"),
            maildir: PathBuf::from(maildir),
        })
    }

    /// Settings that send to this server.
    pub fn config(&self) -> EmailConfig {
        EmailConfig {
            smtp_host: self.host.clone(),
            smtp_port: self.port,
            smtp_tls: SmtpTls::None,
            smtp_timeout_ms: 5000,
            ..EmailConfig::default()
        }
    }

    /// An address no other test sends to.
    pub fn unique_address(&self) -> String {
        format!("t{:016x}@hehe.test", rand::random::<u64>())
    }

    /// Every message received for `to` so far.
    pub fn all(&self, to: &str) -> Vec<Mail> {
        let mut found = Vec::new();
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return found;
        };
        for entry in entries.flatten() {
            let Ok(raw) = std::fs::read(entry.path()) else {
                continue;
            };
            let Ok(parsed) = mailparse::parse_mail(&raw) else {
                continue;
            };
            let rcpt = parsed
                .headers
                .get_first_value("X-RcptTo")
                .unwrap_or_default();
            if rcpt.split(',').any(|r| r.trim().eq_ignore_ascii_case(to)) {
                found.push(mail(&parsed));
            }
        }
        found
    }

    /// The message for `to`; panics when none came within 10 s.
    pub async fn next(&self, to: &str) -> Mail {
        for _ in 0..200 {
            if let Some(mail) = self.all(to).pop() {
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no mail for {to} within 10 s")
    }
}

fn mail(parsed: &mailparse::ParsedMail) -> Mail {
    let header = |name: &str| parsed.headers.get_first_value(name).unwrap_or_default();
    let part = |mimetype: &str| {
        parsed
            .subparts
            .iter()
            .find(|p| p.ctype.mimetype == mimetype)
            .and_then(|p| p.get_body().ok())
            .unwrap_or_default()
    };
    Mail {
        subject: header("Subject"),
        from: header("From"),
        to: header("To"),
        message_id: header("Message-ID"),
        mimetype: parsed.ctype.mimetype.clone(),
        text: part("text/plain"),
        html: part("text/html"),
    }
}
