//! The email adapter against a real SMTP server (aiosmtpd, started by `.ci/run`): what arrives,
//! and a server that is down.

use crate::smtp_inbox::SmtpInbox;
use hehe_server::domain::digest::{DigestFacts, DigestIssue, DigestPlace, compose};
use hehe_server::infra::delivery::Outcome;
use hehe_server::infra::email::{EmailConfig, Mailer, SmtpTls};

#[tokio::test]
async fn a_message_arrives_with_a_chinese_subject_both_parts_and_its_message_id() {
    let Some(inbox) = SmtpInbox::get() else {
        return;
    };
    let mailer = Mailer::from_config(&inbox.config()).unwrap().unwrap();
    let to = inbox.unique_address();
    let subject = "新工单：幸福里 3 号楼前的路灯不亮";
    let outcome = mailer
        .send(
            &to,
            subject,
            "路灯不亮，已派给您处理。\nhttps://hehe.example/#issue/12",
            "<p>路灯不亮，已派给您处理。</p><p><a href=\"https://hehe.example/#issue/12\">#12</a></p>",
            "n:12:email",
        )
        .await;
    assert_eq!(outcome, Outcome::Sent);
    let mail = inbox.next(&to).await;
    assert_eq!(mail.subject, subject);
    assert_eq!(mail.mimetype, "multipart/alternative");
    assert!(
        mail.text.contains("路灯不亮，已派给您处理。"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("https://hehe.example/#issue/12"));
    assert!(
        mail.html.contains("<p>路灯不亮，已派给您处理。</p>"),
        "{}",
        mail.html
    );
    assert_eq!(mail.message_id, mailer.message_id("n:12:email"));
    assert!(mail.from.contains("noreply@hehe.invalid"), "{}", mail.from);
    assert_eq!(mail.to, to);

    // A retry of the same delivery carries the same Message-ID, so a mail client shows one.
    assert_eq!(
        mailer
            .send(&to, subject, "again", "<p>again</p>", "n:12:email")
            .await,
        Outcome::Sent
    );
    for _ in 0..200 {
        if inbox.all(&to).len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let both = inbox.all(&to);
    assert_eq!(both.len(), 2);
    assert!(both.iter().all(|m| m.message_id == mail.message_id));
}

#[tokio::test]
async fn a_composed_digest_arrives_as_written() {
    let Some(inbox) = SmtpInbox::get() else {
        return;
    };
    let mailer = Mailer::from_config(&inbox.config()).unwrap().unwrap();
    let to = inbox.unique_address();
    let digest = compose(
        &DigestFacts {
            language: "zh".into(),
            name: "王主任".into(),
            day: "2025-03-14".into(),
            places: vec![DigestPlace {
                name: "幸福里社区".into(),
                open: 3,
                overdue: vec![],
                new: vec![DigestIssue {
                    id: 31,
                    title: "<script>垃圾桶满了</script>".into(),
                    state: "待受理".into(),
                    when: "2 小时前".into(),
                }],
            }],
        },
        "https://hehe.example",
    );
    let outcome = mailer
        .send(
            &to,
            &digest.subject,
            &digest.text,
            &digest.html,
            "digest:7:2025-03-14",
        )
        .await;
    assert_eq!(outcome, Outcome::Sent);
    let mail = inbox.next(&to).await;
    assert_eq!(mail.subject, digest.subject);
    assert!(
        mail.html.contains("&lt;script&gt;垃圾桶满了"),
        "{}",
        mail.html
    );
    assert!(!mail.html.contains("<script>"));
    assert!(mail.text.contains("https://hehe.example/#issue/31"));
}

#[tokio::test]
async fn a_mail_server_that_is_down_is_retried() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mailer = Mailer::from_config(&EmailConfig {
        smtp_host: "127.0.0.1".into(),
        smtp_port: port,
        smtp_tls: SmtpTls::None,
        smtp_timeout_ms: 2000,
        ..EmailConfig::default()
    })
    .unwrap()
    .unwrap();
    let outcome = mailer
        .send("someone@hehe.test", "主题", "t", "<p>t</p>", "n:1:email")
        .await;
    let Outcome::Retry(why) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(!why.contains("someone"), "{why}");
}
