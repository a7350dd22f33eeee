//! Notifications, from cause to receiver. A change stores its cause in its own transaction
//! (`store::notify`); this node's expander claims causes, asks `domain::notify` who is told
//! what, writes each person's inbox entries with their deliveries in one transaction, and
//! pushes them live on `user:<id>`. The delivery worker claims due deliveries, skips those
//! read meanwhile, sends the rest through the adapters (`infra::push`, `infra::webhook`,
//! `infra::email`), and retries failures with backoff until they are dead letters.
//!
//! Both loops run on every node; leases on the rows make each cause expanded and each
//! delivery sent by one node at a time, and a node that dies mid-send leaves a lease that
//! lapses: the send is then made again (at least once, with the same idempotency key).

use crate::app::channels::Identity;
use crate::app::state::AppState;
use crate::domain::notify::{
    self as rules, Cause, IssueFacts, IssueStep, Lang, MeetingFacts, Reach, Recipient,
};
use crate::error::{AppError, AppResult};
use crate::infra::delivery::Outcome;
use crate::live::bus::Audience;
use crate::store::notify::{ClaimedCause, ClaimedDelivery, Finished, NewDelivery, NewNotification};
use hehe_protocol::issue::Level;
use hehe_protocol::meeting::RegistrationStatus;
use hehe_protocol::notify::{
    DeliveryInfo, DeliveryState, Inbox, MarkRead, Notification, NotifyChannel, NotifyPrefs,
    NotifyPrefsUpdate, QuietHours, ReadMarked, Subject, SubjectKind,
};
use hehe_protocol::{AccountId, Channel, EventKind, IssueId, MeetingId, Role};
use std::time::Duration;

/// How long a node holds a claimed cause or delivery before another may take it over.
const LEASE_MS: i64 = 60_000;
/// Work taken per round.
const BATCH: u32 = 200;
/// Inbox page size, at most.
const MAX_PAGE: u32 = 100;

/// Starts the pipeline's loop on this node: expand causes, send deliveries, and once an hour
/// sweep old notifications. Ends when the server stops.
pub fn start(state: &AppState) {
    let period = Duration::from_millis(state.config.notify.notify_poll_ms.max(10));
    let st = state.clone();
    let stop = state.tasks.stop_token();
    state.tasks.spawn("notifications", async move {
        let mut last_sweep = 0i64;
        loop {
            if let Err(e) = round(&st).await {
                tracing::warn!(error = %e, "notification round failed");
            }
            let now = st.now();
            if now - last_sweep > 3_600_000 {
                last_sweep = now;
                let keep = st.config.notify.notify_keep_days as i64 * 86_400_000;
                if let Err(e) = st.store.sweep_notifications(now - keep).await {
                    tracing::warn!(error = %e, "notification sweep failed");
                }
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = st.notifier.woken() => {}
                _ = tokio::time::sleep(period) => {}
            }
        }
    });
}

/// One round: every cause, then every due delivery.
pub async fn round(state: &AppState) -> AppResult<()> {
    // A batch of causes, then a batch of sends, in turn: under a burst the first pushes go
    // out while later causes are still being expanded.
    loop {
        let expanded = expand_batch(state).await?;
        let sent = send_batch(state).await?;
        if expanded < BATCH as usize && sent < BATCH as usize {
            break;
        }
    }
    let q = state.store.queue_stats(state.now()).await?;
    let m = &state.metrics.notify;
    m.pending.set(q.pending as i64);
    m.dead.set(q.dead as i64);
    m.causes_pending.set(q.causes_pending as i64);
    m.oldest_due_seconds.set(q.oldest_due_ms as f64 / 1000.0);
    Ok(())
}

/// Expands up to a batch of causes; answers how many were taken.
async fn expand_batch(state: &AppState) -> AppResult<usize> {
    let node = state.notifier.node();
    let causes = state
        .store
        .claim_causes(node, state.now(), LEASE_MS, BATCH)
        .await?;
    let n = causes.len();
    for cause in causes {
        if let Err(e) = expand(state, &cause).await {
            // Its lease lapses and a later round (here or elsewhere) tries again.
            tracing::warn!(cause = cause.id, error = %e, "cause not expanded");
        }
    }
    Ok(n)
}

/// Sends up to a batch of due deliveries at once; answers how many were taken.
async fn send_batch(state: &AppState) -> AppResult<usize> {
    let node = state.notifier.node();
    let due = state
        .store
        .claim_deliveries(node, state.now(), LEASE_MS, BATCH)
        .await?;
    let n = due.len();
    let sends = due.into_iter().map(|d| async move {
        let finished = deliver(state, &d).await;
        let ok = state
            .store
            .finish_delivery(d.id, state.notifier.node(), &finished, state.now())
            .await;
        (d.channel, finished, ok)
    });
    for (channel, finished, ok) in futures_util::future::join_all(sends).await {
        state
            .metrics
            .notify
            .delivery(channel.as_str(), outcome_label(&finished));
        if let Err(e) = ok {
            tracing::warn!(error = %e, "delivery result not recorded");
        }
    }
    Ok(n)
}

fn outcome_label(f: &Finished) -> &'static str {
    match f {
        Finished::Sent => "sent",
        Finished::Skipped(_) => "skipped",
        Finished::Retry { .. } => "retry",
        Finished::Dead(_) => "dead",
    }
}

/// Expands one cause: who is told, in their language, on which channels, then live.
async fn expand(state: &AppState, claimed: &ClaimedCause) -> AppResult<()> {
    let cause: Cause = serde_json::from_str(&claimed.cause)
        .map_err(|e| crate::store::StoreError::Corrupt(format!("unreadable cause: {e}")))?;
    let told = recipients(state, &cause).await?;
    let accounts: Vec<AccountId> = told.iter().map(|t| t.recipient.account).collect();
    let profiles = state.store.profiles(&accounts).await?;
    let now = state.now();
    let minute = local_minute(state, now);
    let configured = configured(state);
    let skip = state.config.notify.notify_skip_read_ms as i64;
    let mut new = Vec::new();
    for t in &told {
        let Some(profile) = profiles.iter().find(|p| p.account == t.recipient.account) else {
            continue;
        };
        let lang = Lang::parse(&profile.language).unwrap_or(Lang::Zh);
        let (title, body) = rules::render(t.recipient.kind, lang, &t.title, t.step.as_deref());
        let reach = profile.reach();
        let reach = Reach {
            push: reach.push && configured.push,
            phone: reach.phone && configured.phone,
            email: reach.email && configured.email,
        };
        let plan = rules::plan(
            t.recipient.kind,
            t.recipient.urgent,
            &profile.prefs,
            reach,
            minute,
        );
        let mut deliveries = Vec::new();
        for (channel, wait) in plan {
            let next_at = now + skip + i64::from(wait) * 60_000;
            let targets: Vec<String> = match channel {
                NotifyChannel::Push => profile.push.iter().map(|id| id.to_string()).collect(),
                NotifyChannel::Webhook => profile.phone.iter().cloned().collect(),
                NotifyChannel::Email => profile.email.iter().cloned().collect(),
            };
            deliveries.extend(targets.into_iter().map(|target| NewDelivery {
                channel,
                target,
                payload: None,
                next_at,
            }));
        }
        new.push(NewNotification {
            account: t.recipient.account,
            kind: t.recipient.kind,
            subject: t.subject,
            title,
            body,
            urgent: t.recipient.urgent,
            dedupe_key: t.key.clone(),
            deliveries,
        });
    }
    let written = state
        .store
        .expand_cause(claimed.id, state.notifier.node(), &new, now)
        .await?;
    state
        .metrics
        .notify
        .created(written.len() as u64, now - claimed.created_at);
    for (account, n) in &written {
        live(state, *account, n).await;
    }
    Ok(())
}

/// Pushes a new inbox entry to the person's open sessions.
pub(crate) async fn live(state: &AppState, account: AccountId, n: &Notification) {
    let key = format!("notification:{}", n.id);
    let sent = crate::app::publish(
        state,
        Channel::User(account),
        Audience::All,
        EventKind::NotificationNew,
        n,
        key,
    )
    .await;
    if let Err(e) = sent {
        // The inbox has it; the person sees it on their next load.
        tracing::warn!(error = %e, "notification not published live");
    }
}

/// One person to tell about one cause, with what the text needs.
struct Told {
    recipient: Recipient,
    subject: Subject,
    title: String,
    step: Option<String>,
    key: String,
}

async fn recipients(state: &AppState, cause: &Cause) -> AppResult<Vec<Told>> {
    match *cause {
        Cause::Issue { issue, from, to } => issue_recipients(state, issue, from, to).await,
        Cause::Meeting { meeting, step } => {
            let Some(record) = state.store.meeting(meeting).await? else {
                return Ok(Vec::new());
            };
            let mut participants = vec![record.chair];
            participants.extend(record.secretary);
            let registered = state.store.registrations(meeting).await?;
            participants.extend(
                registered
                    .iter()
                    .filter(|r| r.status != RegistrationStatus::Cancelled)
                    .map(|r| r.account),
            );
            let community = match state.store.place_path(record.place_id).await? {
                Some(path) if !record.private => match path.community {
                    Some(c) => state.store.community_people(c).await?,
                    None => Vec::new(),
                },
                _ => Vec::new(),
            };
            let facts = MeetingFacts {
                private: record.private,
                participants,
                community,
                actor: None,
            };
            let key = format!("meeting:{}:{step:?}", meeting.0);
            Ok(told(
                rules::meeting_recipients(&facts, step),
                meeting_subject(meeting, SubjectKind::Meeting),
                &record.title,
                None,
                &key,
            ))
        }
        Cause::Appraisal { appraisal, step } => {
            let Some(record) = state.store.meeting(appraisal).await? else {
                return Ok(Vec::new());
            };
            let electors = state.store.appraisal_electorate(appraisal).await?;
            let key = format!("appraisal:{}:{step:?}", appraisal.0);
            Ok(told(
                rules::appraisal_recipients(&electors, &[], step),
                meeting_subject(appraisal, SubjectKind::Appraisal),
                &record.title,
                None,
                &key,
            ))
        }
    }
}

fn meeting_subject(id: MeetingId, kind: SubjectKind) -> Subject {
    Subject { kind, id: id.0 }
}

fn told(
    recipients: Vec<Recipient>,
    subject: Subject,
    title: &str,
    step: Option<&str>,
    key: &str,
) -> Vec<Told> {
    recipients
        .into_iter()
        .map(|recipient| Told {
            recipient,
            subject,
            title: title.to_string(),
            step: step.map(str::to_string),
            key: key.to_string(),
        })
        .collect()
}

async fn issue_recipients(
    state: &AppState,
    id: IssueId,
    from: i64,
    to: i64,
) -> AppResult<Vec<Told>> {
    let Some(record) = state.store.issue(id).await? else {
        return Ok(Vec::new());
    };
    let path = &record.issue.place;
    let officials = match path.community {
        Some(c) => state.store.place_staff(c, "community_official").await?,
        None => Vec::new(),
    };
    let facts = IssueFacts {
        reporter: Some(record.issue.reporter),
        assignee: record.issue.assignee,
        followers: state.store.followers(id).await?,
        me_too: state.store.me_too(id).await?,
        officials,
        chiefs: state.store.place_staff(path.street, "street_chief").await?,
        priority: Some(record.issue.priority),
    };
    let subject = rules::issue_subject(id);
    let mut all = Vec::new();
    for event in state.store.issue_events(id).await? {
        let seq = i64::from(event.seq);
        if seq < from || seq > to {
            continue;
        }
        let number = |field: &str| event.data.get(field).and_then(|v| v.as_i64());
        let level: Option<Level> = event
            .data
            .get("level")
            .and_then(|v| serde_json::from_value(v.clone()).ok());
        let step = IssueStep {
            kind: &event.kind,
            to: event.to,
            visibility: event.visibility,
            actor: event.actor.as_ref().map(|m| m.account_id),
            assignee: number("assignee").map(AccountId),
            level,
        };
        let key = format!("issue:{}:{seq}", id.0);
        all.extend(told(
            rules::issue_recipients(&facts, &step),
            subject,
            &record.title,
            Some(&event.kind),
            &key,
        ));
    }
    Ok(all)
}

/// Which channels this deployment can send on at all.
fn configured(state: &AppState) -> Reach {
    Reach {
        push: true,
        phone: state.senders.webhook.is_some(),
        email: state.senders.email.is_some(),
    }
}

/// Minutes after local midnight in the deployment's time zone.
fn local_minute(state: &AppState, now: i64) -> u16 {
    let local = now + state.calendar.utc_offset;
    (local.rem_euclid(86_400_000) / 60_000) as u16
}

/// Sends one delivery and says how it ended.
async fn deliver(state: &AppState, d: &ClaimedDelivery) -> Finished {
    if let Some(n) = &d.notification
        && n.read_at.is_some()
    {
        return Finished::Skipped("read before it was sent");
    }
    let outcome = crate::app::notify_send::send(state, d).await;
    match outcome {
        Outcome::Sent => Finished::Sent,
        Outcome::Gone => Finished::Skipped("the target is gone"),
        Outcome::Failed(e) => Finished::Dead(e),
        Outcome::Retry(e) if d.attempts + 1 >= state.config.notify.notify_attempts => {
            Finished::Dead(e)
        }
        Outcome::Retry(error) => Finished::Retry {
            next_at: state.now() + rules::backoff_ms(d.attempts + 1, rand::random()),
            error,
        },
    }
}

/// `GET /api/me/notifications`.
pub async fn inbox(
    state: &AppState,
    account: AccountId,
    before: Option<i64>,
    limit: Option<u32>,
) -> AppResult<Inbox> {
    let limit = match limit {
        None => 30,
        Some(n @ 1..=MAX_PAGE) => n,
        Some(_) => {
            return Err(AppError::invalid(
                "每页条数应为 1 到 100。The page size (limit) is 1 to 100.",
            ));
        }
    };
    let notifications = state.store.inbox(account, before, limit).await?;
    let (unread, subjects) = state.store.unread(account).await?;
    let next_before = (notifications.len() == limit as usize)
        .then(|| notifications.last().map(|n| n.id))
        .flatten();
    Ok(Inbox {
        notifications,
        unread,
        subjects,
        next_before,
    })
}

/// `POST /api/me/notifications/read`: marks read, and tells the person's other sessions.
pub async fn mark_read(
    state: &AppState,
    account: AccountId,
    what: MarkRead,
) -> AppResult<ReadMarked> {
    let named = usize::from(!what.ids.is_empty())
        + usize::from(what.subject.is_some())
        + usize::from(what.all);
    if named != 1 {
        return Err(AppError::invalid(
            "请只指定 ids、subject 或 all 中的一项。Name exactly one of ids, subject or all.",
        ));
    }
    if what.ids.len() > 500 {
        return Err(AppError::invalid(
            "一次最多标记 500 条，请分批标记。Mark at most 500 at a time.",
        ));
    }
    let marked = state.store.mark_read(account, &what, state.now()).await?;
    let (unread, _) = state.store.unread(account).await?;
    let done = ReadMarked {
        marked,
        unread,
        ids: what.ids,
        subject: what.subject,
        all: what.all,
    };
    if marked > 0 {
        let key = format!("notification-read:{}:{}", account.0, state.now());
        crate::app::publish(
            state,
            Channel::User(account),
            Audience::All,
            EventKind::NotificationRead,
            &done,
            key,
        )
        .await?;
    }
    Ok(done)
}

/// `GET /api/me/notify-prefs`.
pub async fn prefs(state: &AppState, account: AccountId) -> AppResult<NotifyPrefs> {
    let profile = state
        .store
        .profiles(&[account])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("account"))?;
    let choices = hehe_protocol::notify::NotificationKind::ALL
        .into_iter()
        .flat_map(|kind| NotifyChannel::ALL.map(|channel| (kind, channel)))
        .map(|(kind, channel)| hehe_protocol::notify::ChannelChoice {
            kind,
            channel,
            enabled: profile.prefs.enabled(kind, channel),
        })
        .collect();
    Ok(NotifyPrefs {
        language: profile.language.clone(),
        quiet_hours: profile.prefs.quiet.map(|(s, e)| QuietHours {
            start: rules::format_clock(s),
            end: rules::format_clock(e),
        }),
        choices,
        push_subscriptions: profile.push.len() as u32,
        has_phone: profile.phone.is_some(),
        has_email: profile.email.is_some(),
    })
}

/// `PATCH /api/me/notify-prefs`.
pub async fn set_prefs(
    state: &AppState,
    account: AccountId,
    update: NotifyPrefsUpdate,
) -> AppResult<NotifyPrefs> {
    if let Some(l) = &update.language
        && Lang::parse(l).is_none()
    {
        return Err(AppError::invalid(
            "语言只能是 zh（中文）或 en（英文），请重新选择。The language is zh or en: choose again.",
        ));
    }
    if update.choices.len() > 200 {
        return Err(AppError::invalid(
            "一次提交的设置过多，请分批保存。Too many choices at once: save them in parts.",
        ));
    }
    let quiet = match &update.quiet_hours {
        None => None,
        Some(None) => Some(None),
        Some(Some(q)) => {
            let bad = || {
                AppError::invalid(
                    "免打扰时段请写成 HH:MM，例如 22:00 至 07:00。\
                     Quiet hours are HH:MM, e.g. 22:00 to 07:00.",
                )
            };
            let start = rules::parse_clock(&q.start).ok_or_else(bad)?;
            let end = rules::parse_clock(&q.end).ok_or_else(bad)?;
            Some(Some((start, end)))
        }
    };
    state
        .store
        .set_notify_prefs(account, &update, quiet)
        .await?;
    prefs(state, account).await
}

fn admin_only(who: &Identity) -> AppResult<()> {
    if who.actor.has_role(Role::Admin) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// `GET /api/ops/deliveries`: admins.
pub async fn deliveries(
    state: &AppState,
    who: &Identity,
    wanted: DeliveryState,
    limit: u32,
) -> AppResult<Vec<DeliveryInfo>> {
    admin_only(who)?;
    Ok(state.store.deliveries(wanted, limit).await?)
}

/// `POST /api/ops/deliveries/{id}/retry`: admins; audited.
pub async fn retry(state: &AppState, who: &Identity, id: i64) -> AppResult<()> {
    admin_only(who)?;
    if !state.store.retry_delivery(id, state.now()).await? {
        return Err(AppError::not_found("dead delivery"));
    }
    crate::app::audit::after(
        state,
        who,
        "delivery.retry",
        format!("delivery:{id}"),
        None,
        None,
    )
    .await;
    state.notifier.wake();
    Ok(())
}
