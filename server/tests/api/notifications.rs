//! Notifications end to end: causes stored with issue steps become inbox entries for the
//! people around the issue, pushed live on `user:<id>`, read and marked read over HTTP; each
//! person's choices; the dead letters for admins.

use crate::helpers::*;
use crate::identity::call;
use crate::issues::report;
use hehe_protocol::Channel;
use hehe_protocol::issue::IssueAction;
use hehe_protocol::notify::{Inbox, Notification, NotificationKind, NotifyPrefs, SubjectKind};
use serde_json::{Value, json};
use std::time::Duration;

/// The inbox of `token` once `done` holds of it (the expander runs beside the request that
/// caused it), or a panic after a while.
pub async fn inbox_until(
    app: &TestApp,
    token: &str,
    what: &str,
    done: impl Fn(&Inbox) -> bool,
) -> Inbox {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, body) = call(app, "GET", "/api/me/notifications", token, None).await;
        assert_eq!(status, 200, "{body}");
        let inbox: Inbox = serde_json::from_value(body).expect("an inbox");
        if done(&inbox) {
            return inbox;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not in the inbox in time; it holds {:?}",
            inbox.notifications
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn kinds_about(inbox: &Inbox, issue: i64) -> Vec<NotificationKind> {
    let mut kinds: Vec<_> = inbox
        .notifications
        .iter()
        .filter(|n| n.subject.kind == SubjectKind::Issue && n.subject.id == issue)
        .map(|n| n.kind)
        .collect();
    kinds.sort();
    kinds
}

#[tokio::test]
async fn an_issue_reaches_the_inboxes_of_the_people_around_it() {
    let app = spawn_app().await;
    let resident_id = app.demo.account("resident");
    let mut resident = app.connect("resident").await;
    resident
        .subscribe(Channel::User(resident_id), None)
        .await
        .unwrap();
    let mut official = app.connect("official").await;
    let worker_id = app.demo.account("worker");
    let (res, off, wor) = (
        app.login("resident").await.access_token,
        app.login("official").await.access_token,
        app.login("worker").await.access_token,
    );

    let issue = resident
        .submit_issue(report(&app, "drainage"))
        .await
        .unwrap();
    let id = issue.id.0;
    // A new issue: the community's official hears of it; the reporter, who raised it, not.
    let inbox = inbox_until(&app, &off, "the new issue", |i| {
        kinds_about(i, id) == [NotificationKind::IssueNew]
    })
    .await;
    assert_eq!(
        inbox.notifications[0].title,
        "下水管漏水 Drain pipe leaking"
    );
    assert!(inbox.notifications[0].body.contains("新问题"), "in Chinese");

    official
        .issue_action(issue.id, IssueAction::Accept)
        .await
        .unwrap();
    official
        .issue_action(
            issue.id,
            IssueAction::Dispatch {
                assignee: worker_id,
            },
        )
        .await
        .unwrap();
    let worker_inbox = inbox_until(&app, &wor, "the dispatch", |i| {
        kinds_about(i, id) == [NotificationKind::IssueAssigned]
    })
    .await;
    assert_eq!(worker_inbox.unread, 1);
    assert!(!worker_inbox.notifications[0].urgent, "a yellow issue");

    // The reporter: one entry per public step, one conversation with two unread.
    let inbox = inbox_until(&app, &res, "the resident's updates", |i| {
        kinds_about(i, id) == [NotificationKind::IssueUpdate, NotificationKind::IssueUpdate]
    })
    .await;
    assert_eq!(inbox.unread, 2);
    assert_eq!(inbox.subjects.len(), 1);
    assert_eq!(inbox.subjects[0].unread, 2);
    assert_eq!(inbox.subjects[0].subject.id, id);
    // …and they arrived live on her user channel too.
    let mut live = Vec::new();
    while live.len() < 2 {
        let event = resident.next_event_timeout(WAIT).await.expect("an event");
        if event.kind == "notification.new" {
            let n: Notification = serde_json::from_value(event.data).unwrap();
            live.push(n.id);
        }
    }
    let mut stored: Vec<i64> = inbox.notifications.iter().map(|n| n.id).collect();
    stored.sort();
    live.sort();
    assert_eq!(live, stored);

    // Opening the conversation marks it read, and her other sessions hear of it.
    let (status, body) = call(
        &app,
        "POST",
        "/api/me/notifications/read",
        &res,
        Some(json!({ "subject": { "kind": "issue", "id": id } })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["marked"], 2);
    assert_eq!(body["unread"], 0);
    let read = loop {
        let event = resident.next_event_timeout(WAIT).await.expect("an event");
        if event.kind == "notification.read" {
            break event;
        }
    };
    assert_eq!(read.data["subject"]["id"], id);
    let inbox = inbox_until(&app, &res, "read", |i| i.unread == 0).await;
    assert!(inbox.notifications.iter().all(|n| n.read_at.is_some()));
    assert!(inbox.subjects.is_empty());
    // The worker's is untouched.
    let (_, worker_inbox) = call(&app, "GET", "/api/me/notifications", &wor, None).await;
    assert_eq!(worker_inbox["unread"], 1);
}

#[tokio::test]
async fn a_private_issue_reaches_the_officials_and_nobody_else() {
    let app = spawn_app().await;
    let mut resident = app.connect("resident").await;
    let off = app.login("official").await.access_token;
    let other = app.login("resident2").await.access_token;
    let mut private = report(&app, "drainage");
    private.public = false;
    let issue = resident.submit_issue(private).await.unwrap();
    inbox_until(&app, &off, "the private issue", |i| {
        kinds_about(i, issue.id.0) == [NotificationKind::IssueNew]
    })
    .await;
    let (_, body) = call(&app, "GET", "/api/me/notifications", &other, None).await;
    assert_eq!(
        body["notifications"],
        json!([]),
        "a neighbour hears nothing"
    );
}

#[tokio::test]
async fn marking_read_names_one_thing_and_paging_walks_the_inbox() {
    let app = spawn_app().await;
    let mut resident = app.connect("resident").await;
    let off = app.login("official").await.access_token;
    for _ in 0..3 {
        resident
            .submit_issue(report(&app, "drainage"))
            .await
            .unwrap();
    }
    inbox_until(&app, &off, "three new issues", |i| i.unread == 3).await;
    for (bad, why) in [
        (json!({}), "nothing named"),
        (json!({ "all": true, "ids": [1] }), "two named"),
        (
            json!({ "ids": (0..501).collect::<Vec<_>>() }),
            "too many ids",
        ),
    ] {
        let (status, body) =
            call(&app, "POST", "/api/me/notifications/read", &off, Some(bad)).await;
        assert_eq!(status, 400, "{why}: {body}");
        assert!(
            body["message"].as_str().unwrap().starts_with('一')
                || body["message"].as_str().unwrap().starts_with('请'),
            "{why}: a sentence, Chinese first: {body}"
        );
    }
    let (status, page) = call(&app, "GET", "/api/me/notifications?limit=2", &off, None).await;
    assert_eq!(status, 200);
    assert_eq!(page["notifications"].as_array().unwrap().len(), 2);
    let before = page["next_before"].as_i64().expect("a next page");
    let (_, rest) = call(
        &app,
        "GET",
        &format!("/api/me/notifications?limit=2&before={before}"),
        &off,
        None,
    )
    .await;
    assert_eq!(rest["notifications"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_before"], Value::Null);
    let first = page["notifications"][0]["id"].as_i64().unwrap();
    let (_, one) = call(
        &app,
        "POST",
        "/api/me/notifications/read",
        &off,
        Some(json!({ "ids": [first] })),
    )
    .await;
    assert_eq!(
        (one["marked"].as_i64(), one["unread"].as_i64()),
        (Some(1), Some(2))
    );
    let (_, all) = call(
        &app,
        "POST",
        "/api/me/notifications/read",
        &off,
        Some(json!({ "all": true })),
    )
    .await;
    assert_eq!(
        (all["marked"].as_i64(), all["unread"].as_i64()),
        (Some(2), Some(0))
    );
}

#[tokio::test]
async fn choices_are_kept_checked_and_used_for_the_language() {
    let app = spawn_app().await;
    let off = app.login("official").await.access_token;
    let (status, body) = call(&app, "GET", "/api/me/notify-prefs", &off, None).await;
    assert_eq!(status, 200, "{body}");
    let prefs: NotifyPrefs = serde_json::from_value(body).unwrap();
    assert_eq!(prefs.language, "zh");
    assert_eq!(prefs.quiet_hours, None);
    assert_eq!(prefs.choices.len(), 17 * 3, "every kind on every channel");
    let assigned_push = |p: &NotifyPrefs| {
        p.choices
            .iter()
            .find(|c| c.kind == NotificationKind::IssueNew && c.channel.as_str() == "push")
            .unwrap()
            .enabled
    };
    assert!(assigned_push(&prefs), "push is on by default");

    for (bad, why) in [
        (json!({ "language": "fr" }), "an unknown language"),
        (
            json!({ "quiet_hours": { "start": "25:00", "end": "07:00" } }),
            "a time that is not one",
        ),
    ] {
        let (status, body) = call(&app, "PATCH", "/api/me/notify-prefs", &off, Some(bad)).await;
        assert_eq!(status, 400, "{why}: {body}");
    }
    let (status, _) = call(
        &app,
        "PATCH",
        "/api/me/notify-prefs",
        &off,
        Some(
            json!({ "choices": [{ "kind": "no_such_kind", "channel": "push", "enabled": false }] }),
        ),
    )
    .await;
    assert_eq!(status, 400, "an unknown kind is refused");

    let (status, body) = call(
        &app,
        "PATCH",
        "/api/me/notify-prefs",
        &off,
        Some(json!({
            "language": "en",
            "quiet_hours": { "start": "22:00", "end": "07:00" },
            "choices": [{ "kind": "issue_new", "channel": "push", "enabled": false }]
        })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let prefs: NotifyPrefs = serde_json::from_value(body).unwrap();
    assert_eq!(prefs.language, "en");
    assert_eq!(prefs.quiet_hours.as_ref().unwrap().start, "22:00");
    assert!(!assigned_push(&prefs));
    // Kept: read again; clearing quiet hours with null.
    let (_, body) = call(
        &app,
        "PATCH",
        "/api/me/notify-prefs",
        &off,
        Some(json!({ "quiet_hours": null })),
    )
    .await;
    let prefs: NotifyPrefs = serde_json::from_value(body).unwrap();
    assert_eq!((prefs.language.as_str(), &prefs.quiet_hours), ("en", &None));
    assert!(!assigned_push(&prefs));

    // The next notification is written in English.
    let mut resident = app.connect("resident").await;
    let issue = resident
        .submit_issue(report(&app, "drainage"))
        .await
        .unwrap();
    let inbox = inbox_until(&app, &off, "the new issue", |i| {
        kinds_about(i, issue.id.0) == [NotificationKind::IssueNew]
    })
    .await;
    assert_eq!(
        inbox.notifications[0].body,
        "A new issue in your community awaits acceptance."
    );
}

#[tokio::test]
async fn dead_letters_are_for_admins() {
    let app = spawn_app().await;
    let res = app.login("resident").await.access_token;
    let admin = app.login("admin").await.access_token;
    let (status, _) = call(&app, "GET", "/api/ops/deliveries", &res, None).await;
    assert_eq!(status, 403);
    let (status, body) = call(&app, "GET", "/api/ops/deliveries", &admin, None).await;
    assert_eq!((status, body), (200, json!([])));
    let (status, _) = call(&app, "GET", "/api/ops/deliveries?state=lost", &admin, None).await;
    assert_eq!(status, 400);
    let (status, _) = call(&app, "POST", "/api/ops/deliveries/99/retry", &admin, None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&app, "POST", "/api/ops/deliveries/99/retry", &res, None).await;
    assert_eq!(status, 403);
}

/// The issue's "done when": with no page open, the worker's browser gets a Web Push on
/// dispatch and the resident's when her issue is dispatched and when it waits for her rating;
/// a subscription that is gone (410) is removed and its send skipped, not retried.
#[tokio::test]
async fn with_the_page_closed_web_push_reaches_the_resident_and_the_worker() {
    use crate::push_receiver::{Answer, PushReceiver};
    let receiver = PushReceiver::start().await;
    let app = spawn_app_with(|c| {
        c.push.push_allow_http = true;
        c.notify.notify_skip_read_ms = 0;
    })
    .await;
    let (res, wor) = (
        app.login("resident").await.access_token,
        app.login("worker").await.access_token,
    );
    for (token, name) in [(&res, "resident"), (&wor, "worker"), (&wor, "worker-old")] {
        let sub = serde_json::to_value(receiver.subscription(name)).unwrap();
        let (status, body) =
            call(&app, "POST", "/api/me/push-subscriptions", token, Some(sub)).await;
        assert_eq!(status, 201, "{body}");
    }
    receiver.answer("worker-old", Answer::Status(410));

    let mut resident = app.connect("resident").await;
    let issue = resident.submit_issue(report(&app, "noise")).await.unwrap();
    drop(resident);
    let mut official = app.connect("official").await;
    official
        .issue_action(issue.id, IssueAction::Accept)
        .await
        .unwrap();
    official
        .issue_action(
            issue.id,
            IssueAction::Dispatch {
                assignee: app.demo.account("worker"),
            },
        )
        .await
        .unwrap();

    let push = receiver.next_received("worker").await;
    assert_eq!(push.payload["kind"], "issue_assigned");
    assert_eq!(push.payload["url"], format!("/#issue/{}", issue.id.0));
    assert_eq!(push.payload["title"], "下水管漏水 Drain pipe leaking");
    assert_eq!(push.urgency.as_deref(), Some("normal"));
    let mut seen = Vec::new();
    for _ in 0..2 {
        let p = receiver.next_received("resident").await;
        seen.push(p.payload["body"].as_str().unwrap().to_string());
    }
    assert!(seen.iter().any(|b| b.contains("已派单")), "{seen:?}");

    let mut worker = app.connect("worker").await;
    worker
        .issue_action(issue.id, IssueAction::Acknowledge)
        .await
        .unwrap();
    worker
        .issue_action(issue.id, IssueAction::Complete { note: None })
        .await
        .unwrap();
    // "noise" needs no check: completing it asks the reporter for her rating.
    let mut kinds = Vec::new();
    while !kinds.contains(&"issue_to_rate".to_string()) {
        let p = receiver.next_received("resident").await;
        kinds.push(p.payload["kind"].as_str().unwrap().to_string());
    }

    // The gone subscription: forgotten, its send skipped; nothing dead.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, prefs) = call(&app, "GET", "/api/me/notify-prefs", &wor, None).await;
        if prefs["push_subscriptions"] == 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the 410 subscription is kept: {prefs}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(app.state.metrics.notify.deliveries("push", "skipped") >= 1);
    assert_eq!(app.state.metrics.notify.deliveries("push", "dead"), 0);
    assert!(app.state.metrics.notify.deliveries("push", "sent") >= 4);
}

/// Enrols, through invites the admin makes and the people accept, a grid worker of grid 1
/// and an official of the community, each with a phone number and an email address; answers
/// their accounts.
async fn enrol_staff_with_contacts(
    app: &TestApp,
    worker_email: &str,
    official_email: &str,
) -> (i64, i64) {
    use hehe_protocol::Role;
    use hehe_protocol::people::{AcceptInvite, NewInvite};
    let admin = app.login("admin").await.access_token;
    let mut accounts = Vec::new();
    for (role, place, phone, email, username) in [
        (
            Role::GridWorker,
            app.demo.grids[0],
            "13800000003",
            worker_email,
            "zhao.grid",
        ),
        (
            Role::CommunityOfficial,
            app.demo.communities[0],
            "13800000004",
            official_email,
            "qian.office",
        ),
    ] {
        let invite = NewInvite {
            role,
            place: Some(place),
            display_name: "新同事".into(),
            phone: Some(phone.into()),
            email: Some(email.into()),
            romanised_name: None,
        };
        let created = app.http.create_invite(&admin, &invite).await.unwrap();
        let accepted = app
            .http
            .accept_invite(&AcceptInvite {
                code: created.code,
                username: username.into(),
                password: "a long enough password".into(),
                display_name: None,
            })
            .await
            .unwrap();
        accounts.push(accepted.account.id.0);
    }
    (accounts[0], accounts[1])
}

/// The SMS/WeChat relay: a dispatch reaches the worker's phone through the signed webhook,
/// with the idempotency key in the header and the body, and a link to the issue.
#[tokio::test]
async fn a_dispatch_reaches_the_worker_through_the_webhook_relay() {
    use crate::webhook_receiver::WebhookReceiver;
    let secret = "a webhook secret for the tests";
    let relay = WebhookReceiver::start(secret).await;
    let url = relay.url.clone();
    let app = spawn_app_with(|c| {
        c.webhook.notify_webhook_url = url;
        c.webhook.notify_webhook_secret = secret.into();
        c.notify.notify_skip_read_ms = 0;
        c.notify.public_url = "https://hehe.example".into();
    })
    .await;
    let (worker, _) = enrol_staff_with_contacts(&app, "zhao@hehe.test", "qian@hehe.test").await;
    let mut resident = app.connect("resident").await;
    let issue = resident
        .submit_issue(report(&app, "drainage"))
        .await
        .unwrap();
    let mut official = app.connect("official").await;
    official
        .issue_action(issue.id, IssueAction::Accept)
        .await
        .unwrap();
    official
        .issue_action(
            issue.id,
            IssueAction::Dispatch {
                assignee: hehe_protocol::AccountId(worker),
            },
        )
        .await
        .unwrap();
    let got = relay.next("+8613800000003").await;
    assert_eq!(got.message.kind, "issue_assigned");
    assert_eq!(got.message.account_id, worker);
    assert_eq!(got.message.language, "zh");
    assert_eq!(
        got.message.url,
        format!("https://hehe.example/#issue/{}", issue.id.0)
    );
    assert_eq!(got.delivery, got.message.delivery);
    assert!(got.message.text.contains("派单"), "{:?}", got.message);
    assert_eq!(relay.rejected(), 0, "every request was signed");
}

/// The daily digest: once a day, from the configured hour, to staff with an email address,
/// through the real SMTP server; claimed once.
#[tokio::test]
async fn the_daily_digest_reaches_staff_by_email_once_a_day() {
    let Some(smtp) = crate::smtp_inbox::SmtpInbox::get() else {
        return;
    };
    let email = smtp.unique_address();
    let config = smtp.config();
    let app = spawn_app_with(|c| {
        c.email = config;
        c.notify.digest_hour = 0;
        c.notify.notify_skip_read_ms = 0;
    })
    .await;
    let (_, official) = enrol_staff_with_contacts(&app, &smtp.unique_address(), &email).await;
    let mut resident = app.connect("resident").await;
    let mut leak = report(&app, "drainage");
    leak.title = "楼道灯坏了 <b>".into();
    resident.submit_issue(leak).await.unwrap();

    let sent = hehe_server::app::digest::tick(&app.state).await.unwrap();
    assert_eq!(sent, 1, "one reader with an email address");
    assert_eq!(
        hehe_server::app::digest::tick(&app.state).await.unwrap(),
        0,
        "once a day"
    );
    app.state.notifier.wake();
    let mail = smtp.next(&email).await;
    assert!(
        mail.subject.contains("摘要") || mail.subject.contains("问题"),
        "{}",
        mail.subject
    );
    assert!(mail.text.contains("楼道灯坏了 <b>"), "{}", mail.text);
    assert!(
        mail.html.contains("楼道灯坏了 &lt;b&gt;"),
        "escaped: {}",
        mail.html
    );
    // The inbox says so too.
    let inbox = app
        .state
        .store
        .inbox(hehe_protocol::AccountId(official), None, 10)
        .await
        .unwrap();
    assert!(
        inbox.iter().any(|n| n.kind == NotificationKind::Digest),
        "{inbox:?}"
    );
}
