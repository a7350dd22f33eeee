//! The staff digest: once a day, from `HEHE_DIGEST_HOUR` local time, each official and street
//! chief with an email address gets one email of their places' open, overdue and new issues,
//! and one inbox entry saying so. The day's row in `digests` is the claim, so with several nodes
//! each person gets one.

use crate::app::state::AppState;
use crate::domain::digest::{self, DigestFacts, DigestIssue, DigestPlace};
use crate::domain::notify::{Lang, render, state_label};
use crate::error::AppResult;
use crate::store::issues::IssueFilter;
use crate::store::notify::{DigestReader, NewDelivery, NewNotification};
use hehe_protocol::issue::{IssueState, IssueSummary};
use hehe_protocol::notify::{NotificationKind, NotifyChannel, Subject, SubjectKind};

/// Open issues read per place for one digest, at most.
const PER_PLACE: u32 = 500;
const HOUR_MS: i64 = 3_600_000;

/// Sends today's digests that are due and not yet sent; answers how many were sent.
pub async fn tick(state: &AppState) -> AppResult<usize> {
    if state.senders.email.is_none() {
        return Ok(0);
    }
    let now = state.now();
    let (day, hour) = state.calendar.local_date(now);
    if hour < state.config.notify.digest_hour {
        return Ok(0);
    }
    let mut sent = 0;
    for reader in state.store.digest_readers().await? {
        let profile = state.store.profiles(&[reader.account]).await?;
        let wanted = profile.first().is_some_and(|p| {
            p.prefs
                .enabled(NotificationKind::Digest, NotifyChannel::Email)
        });
        if !wanted || !state.store.claim_digest(reader.account, &day, now).await? {
            continue;
        }
        let written = send_one(state, &reader, &day, now).await?;
        sent += usize::from(written);
    }
    if sent > 0 {
        state.notifier.wake();
    }
    Ok(sent)
}

async fn send_one(state: &AppState, reader: &DigestReader, day: &str, now: i64) -> AppResult<bool> {
    let lang = Lang::parse(&reader.language).unwrap_or(Lang::Zh);
    let mut places = Vec::new();
    for &place in &reader.places {
        let Some(info) = state.store.place(place).await? else {
            continue;
        };
        let mut filter = IssueFilter {
            limit: PER_PLACE,
            states: IssueState::ALL
                .into_iter()
                .filter(|s| {
                    !matches!(
                        s,
                        IssueState::Closed | IssueState::Rejected | IssueState::Duplicate
                    )
                })
                .collect(),
            ..IssueFilter::default()
        };
        match info.kind {
            hehe_protocol::http::PlaceKind::Street => filter.street = Some(place),
            _ => filter.community = Some(place),
        }
        let open = state.store.list_issues(&filter).await?;
        let item = |i: &IssueSummary, when: String| DigestIssue {
            id: i.id.0,
            title: i.title.clone(),
            state: state_label(i.state, lang).to_string(),
            when,
        };
        let overdue = open
            .iter()
            .filter(|i| i.overdue)
            .map(|i| {
                let hours = i.due_at.map_or(0, |d| (now - d).max(0) / HOUR_MS);
                item(i, hours_text(lang, hours, true))
            })
            .collect();
        let new = open
            .iter()
            .filter(|i| now - i.created_at < 24 * HOUR_MS)
            .map(|i| item(i, hours_text(lang, (now - i.created_at) / HOUR_MS, false)))
            .collect();
        places.push(DigestPlace {
            name: match lang {
                Lang::Zh => info.name_zh.clone(),
                Lang::En => info.name.clone(),
            },
            open: open.len() as u32,
            overdue,
            new,
        });
    }
    let facts = DigestFacts {
        language: lang.as_str().to_string(),
        name: reader.display_name.clone(),
        day: day.to_string(),
        places,
    };
    let mail = digest::compose(&facts, state.config.notify.public_url.trim_end_matches('/'));
    let payload =
        serde_json::json!({ "subject": mail.subject, "text": mail.text, "html": mail.html });
    let (_, body) = render(NotificationKind::Digest, lang, "", None);
    let notification = NewNotification {
        account: reader.account,
        kind: NotificationKind::Digest,
        subject: Subject {
            kind: SubjectKind::Place,
            id: reader.places.first().map_or(0, |p| p.0),
        },
        title: mail.subject.clone(),
        body,
        urgent: false,
        dedupe_key: format!("digest:{day}"),
        deliveries: vec![NewDelivery {
            channel: NotifyChannel::Email,
            target: reader.email.clone(),
            payload: Some(payload.to_string()),
            next_at: now,
        }],
    };
    let written = state
        .store
        .insert_notifications(&[notification], now)
        .await?;
    for (account, n) in &written {
        crate::app::notify::live(state, *account, n).await;
    }
    Ok(!written.is_empty())
}

fn hours_text(lang: Lang, hours: i64, overdue: bool) -> String {
    match (lang, overdue) {
        (Lang::Zh, true) => format!("已超时 {hours} 小时"),
        (Lang::Zh, false) => format!("{hours} 小时前"),
        (Lang::En, true) => format!("{hours} h past due"),
        (Lang::En, false) => format!("{hours} h ago"),
    }
}
