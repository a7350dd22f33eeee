//! The one path for issue actions, shared by the HTTP API, WebSocket commands and the deadline
//! clock: load, ask the domain, store the decision in one transaction, then publish it live.

use crate::app::channels::{Identity, identity, issue_target};
use crate::app::retry::{self, Attempt};
use crate::app::state::AppState;
use crate::domain::access::{self, Actor};
use crate::domain::category::{self, Category};
use crate::domain::issue::{
    self as rules, Agent, Command, Context, Decision, NewEvent, allowed_actions, decide,
    may_submit, may_upload,
};
use crate::domain::sla;
use crate::domain::text::Text;
use crate::error::{AppError, AppResult};
use crate::live::bus::Audience;
use crate::media::MediaType;
use crate::store::StoreError;
use crate::store::issues::{
    Applied, CommandKey, DueDeadline, IssueChange, IssueRecord, NewIssueRecord, NewPhoto, PhotoRow,
};
use hehe_protocol::EventKind;
use hehe_protocol::issue::{
    IssueAction, IssueDetail, IssueEventInfo, IssueState, IssueSummary, IssueUpdate, NewIssue,
    PhotoInfo, PhotoKind, Satisfaction, Visibility,
};
use hehe_protocol::{AccountId, Channel, IssueId, RequestId};
use serde_json::json;

/// What a listing asks for; `list` narrows it further to what the actor may see.
pub use crate::store::issues::IssueFilter;

/// Attempts at a change that keeps meeting concurrent changes before giving up.
const ATTEMPTS: usize = 5;

fn busy() -> AppError {
    retry::busy("the issue keeps changing; retry")
}

/// Whether the actor may see the issue at all.
pub async fn can_see(state: &AppState, actor: &Actor, record: &IssueRecord) -> AppResult<bool> {
    let target = issue_target(state, actor, &record.issue).await?;
    Ok(access::can_read(actor, &target))
}

/// The issue, for an actor who may see it; `not_found` alike when it does not exist and when
/// they may not know of it.
pub(crate) async fn visible(
    state: &AppState,
    actor: &Actor,
    id: IssueId,
) -> AppResult<IssueRecord> {
    match state.store.issue(id).await? {
        Some(record) if can_see(state, actor, &record).await? => Ok(record),
        _ => Err(AppError::not_found("issue")),
    }
}

fn command<'a>(who: &Identity, request_id: &'a RequestId) -> CommandKey<'a> {
    CommandKey {
        account: who.actor.id,
        request_id,
    }
}

/// A command applied before, answered again: its result is published again (publishing is
/// idempotent), in case the first attempt stopped before it was.
async fn replayed(state: &AppState, key: CommandKey<'_>) -> AppResult<Option<IssueSummary>> {
    let Some(done) = state.store.applied(key).await? else {
        return Ok(None);
    };
    publish(state, &done).await?;
    Ok(Some(done.summary))
}

/// Raises an issue; answers its summary with what the caller may do next.
pub async fn submit(
    state: &AppState,
    who: &Identity,
    request_id: &RequestId,
    new: NewIssue,
) -> AppResult<IssueSummary> {
    let summary = raise(state, who, request_id, new).await?;
    for_caller(state, &who.actor, summary).await
}

async fn raise(
    state: &AppState,
    who: &Identity,
    request_id: &RequestId,
    new: NewIssue,
) -> AppResult<IssueSummary> {
    let key = command(who, request_id);
    if let Some(done) = replayed(state, key).await? {
        return Ok(done);
    }
    // After the retry check: a retry of an issue already raised is answered, not counted.
    state
        .limits
        .check_account(crate::infra::limits::Limit::Submit, who.actor.id)?;
    let category =
        category::find(&new.category).ok_or_else(|| AppError::invalid("unknown category"))?;
    let title = Text::parse(&new.title, &rules::TITLE)?;
    let description = Text::parse(&new.description, &rules::DESCRIPTION)?;
    if let Some(l) = new.location
        && !((-90.0..=90.0).contains(&l.lat) && (-180.0..=180.0).contains(&l.lon))
    {
        return Err(AppError::invalid("the location is not on Earth"));
    }
    let place = crate::app::place(state, new.place_id).await?;
    if place.grid.is_none() {
        return Err(AppError::invalid("report on a grid or a building"));
    }
    let helped = match new.on_behalf_of {
        Some(id) => Some(
            identity(state, id)
                .await
                .map_err(|_| AppError::not_found("resident"))?,
        ),
        None => None,
    };
    if !may_submit(&who.actor, &place, helped.as_ref().map(|h| &h.actor)) {
        return Err(AppError::forbidden());
    }
    let now = state.now();
    let priority = new.priority.unwrap_or(category.default_priority);
    let reporter = helped.as_ref().map_or(who.actor.id, |h| h.actor.id);
    let events = [NewEvent {
        kind: "submitted",
        from: None,
        to: Some(IssueState::Submitted),
        visibility: Visibility::Public,
        text: None,
        data: json!({ "category": category.code, "priority": priority, "on_behalf": helped.is_some() }),
    }];
    let clocks = sla::first(&state.calendar, priority, now);
    let record = NewIssueRecord {
        category: category.code,
        title: title.as_str(),
        description: description.as_str(),
        place_id: new.place_id,
        place,
        location: new.location,
        reporter,
        submitted_by: who.actor.id,
        public: new.public,
        priority,
        at: now,
    };
    let applied = state
        .store
        .create_issue(record, key, &events, &clocks)
        .await?;
    publish(state, &applied).await?;
    Ok(applied.summary)
}

/// A person's action on an issue; answers the summary with what the caller may do next.
pub async fn act(
    state: &AppState,
    who: &Identity,
    request_id: &RequestId,
    id: IssueId,
    action: IssueAction,
) -> AppResult<IssueSummary> {
    let key = command(who, request_id);
    if let Some(done) = replayed(state, key).await? {
        return for_caller(state, &who.actor, done).await;
    }
    apply(state, who, key, id, action).await
}

/// The summary as one caller gets it: with `allowed_actions` for them.
async fn for_caller(
    state: &AppState,
    actor: &Actor,
    summary: IssueSummary,
) -> AppResult<IssueSummary> {
    match state.store.issue(summary.id).await? {
        Some(record) => with_allowed(state, actor, &record, summary).await,
        None => Ok(summary),
    }
}

async fn with_allowed(
    state: &AppState,
    actor: &Actor,
    record: &IssueRecord,
    mut summary: IssueSummary,
) -> AppResult<IssueSummary> {
    let follows = state.store.is_follower(record.issue.id, actor.id).await?;
    summary.allowed_actions = Some(allowed_actions(actor, &record.issue, follows));
    Ok(summary)
}

/// Decides and stores a new action; the summary it answers carries what the caller may do
/// next, from the issue as decided, with no second read.
async fn apply(
    state: &AppState,
    who: &Identity,
    key: CommandKey<'_>,
    id: IssueId,
    action: IssueAction,
) -> AppResult<IssueSummary> {
    let request_id = key.request_id;
    let (actor, action) = (&who.actor, &action);
    let summary = retry::on_stale(ATTEMPTS, move || async move {
        let record = visible(state, actor, id).await?;
        let follows = state.store.is_follower(id, actor.id).await?;
        let assignee = match action {
            IssueAction::Dispatch { assignee } => {
                identity(state, *assignee).await.ok().map(|i| i.actor)
            }
            _ => None,
        };
        let target = match action {
            IssueAction::Merge { into } => match state.store.issue(*into).await? {
                Some(t) if can_see(state, actor, &t).await? => Some(t.issue),
                _ => None,
            },
            _ => None,
        };
        let ctx = Context {
            category: category::find(&record.category),
            assignee: assignee.as_ref(),
            merge_target: target.as_ref(),
        };
        let decision = decide(
            &record.issue,
            Agent::Person { actor, follows },
            &Command::Act(action.clone()),
            &ctx,
        )?;
        if matches!(action, IssueAction::MeToo { .. })
            && state.store.has_submitted(id, actor.id).await?
        {
            return Err(AppError::invalid("you have reported this issue already"));
        }
        let by = ChangedBy {
            actor: Some(actor.id),
            command: Some(key),
            rating: kept_rating(action),
            merge_into: match action {
                IssueAction::Merge { into } => Some(*into),
                _ => None,
            },
            ..ChangedBy::default()
        };
        let Attempt::Done(applied) = retry::written(
            state
                .store
                .update_issue(change_for(state, &record, &decision, by))
                .await,
        )?
        else {
            return Ok(Attempt::Stale);
        };
        if let Some(name) = crate::app::audit::issue_action(action) {
            let place = Some(record.issue.place.leaf());
            let target = format!("issue:{}", id.0);
            crate::app::audit::after(state, who, name, target, place, Some(request_id)).await;
        }
        publish(state, &applied).await?;
        let follows = decision.follow.unwrap_or(follows);
        let mut summary = applied.summary;
        summary.allowed_actions = Some(allowed_actions(actor, &decision.issue, follows));
        Ok(Attempt::Done(summary))
    })
    .await?;
    summary.ok_or_else(busy)
}

/// Only the closing rating is kept on the issue; a "not fixed" verdict lives in the timeline, so
/// it cannot colour the satisfaction of a later fix.
fn kept_rating(action: &IssueAction) -> Option<(Option<Satisfaction>, Option<u8>)> {
    match action {
        IssueAction::Rate {
            resolved: true,
            satisfaction,
            stars,
            ..
        } => Some((*satisfaction, *stars)),
        _ => None,
    }
}

/// Who changes an issue and what goes with the decision: the person and their command (none
/// for the deadline clock), the deadline it handles, and what an action brings beyond the issue.
#[derive(Default)]
struct ChangedBy<'a> {
    actor: Option<AccountId>,
    command: Option<CommandKey<'a>>,
    claim: Option<DueDeadline>,
    rating: Option<(Option<Satisfaction>, Option<u8>)>,
    merge_into: Option<IssueId>,
}

/// The write of a decision on the issue as it was read, with the clocks it stops and starts.
fn change_for<'a>(
    state: &AppState,
    record: &IssueRecord,
    decision: &'a Decision,
    by: ChangedBy<'a>,
) -> IssueChange<'a> {
    let now = state.now();
    IssueChange {
        actor: by.actor,
        command: by.command,
        expected_version: record.version,
        issue: &decision.issue,
        events: &decision.events,
        clocks: sla::changes(&state.calendar, &record.issue, &decision.issue, now),
        claim: by.claim,
        breached: decision.breached,
        follow: decision.follow.zip(by.actor).map(|(on, a)| (a, on)),
        rating: by.rating,
        merge_into: by.merge_into,
        submission: decision.submission.as_deref().zip(by.actor),
        at: now,
    }
}

/// Handles one due deadline: a warning or a breach, applied once even with several nodes, as
/// the claim on the deadline row is part of the same transaction.
pub async fn handle_due(state: &AppState, due: DueDeadline) -> AppResult<()> {
    let command = if due.breach {
        Command::Breach(due.clock)
    } else {
        Command::Warn(due.clock)
    };
    let command = &command;
    // Past the attempts the deadline stays due, and the next tick takes it up again.
    retry::on_stale(ATTEMPTS, move || async move {
        let Some(record) = state.store.issue(due.issue_id).await? else {
            return Ok(Attempt::Done(()));
        };
        let ctx = Context {
            category: category::find(&record.category),
            ..Context::default()
        };
        // A clock that no longer runs in the state is closed without effect.
        let decision =
            decide(&record.issue, Agent::System, command, &ctx).unwrap_or_else(|_| Decision {
                issue: record.issue.clone(),
                events: Vec::new(),
                follow: None,
                breached: None,
                submission: None,
            });
        let by = ChangedBy {
            claim: Some(due),
            ..ChangedBy::default()
        };
        match state
            .store
            .update_issue(change_for(state, &record, &decision, by))
            .await
        {
            Ok(applied) => {
                publish(state, &applied).await?;
                Ok(Attempt::Done(()))
            }
            Err(StoreError::Stale) => {
                // Either the issue moved on (decide again) or another node took the deadline.
                let still_due = state.store.due_deadlines(state.now(), 1000).await?;
                let ours = still_due
                    .iter()
                    .any(|d| d.id == due.id && d.breach == due.breach);
                Ok(if ours {
                    Attempt::Stale
                } else {
                    Attempt::Done(())
                })
            }
            Err(e) => Err(e.into()),
        }
    })
    .await?;
    Ok(())
}

/// Handles every deadline due now; returns how many.
pub async fn tick(state: &AppState) -> AppResult<usize> {
    let due = state.store.due_deadlines(state.now(), 200).await?;
    let mut handled = 0;
    for d in due {
        match handle_due(state, d).await {
            Ok(()) => handled += 1,
            Err(e) => tracing::warn!(issue = d.issue_id.0, error = %e, "deadline not handled"),
        }
    }
    Ok(handled)
}

/// Everything the actor may see of one issue.
pub async fn detail(state: &AppState, who: &Identity, id: IssueId) -> AppResult<IssueDetail> {
    let actor = &who.actor;
    let record = visible(state, actor, id).await?;
    let staff = rules::sees_internal(actor, &record.issue);
    let summary = state
        .store
        .issue_summary(id)
        .await?
        .ok_or_else(|| AppError::not_found("issue"))?;
    let summary = with_allowed(state, actor, &record, summary).await?;
    let timeline = state
        .store
        .issue_events(id)
        .await?
        .into_iter()
        .filter(|e| staff || e.visibility == Visibility::Public)
        .collect();
    let reporter_visible = staff || record.issue.reporter == actor.id;
    let reporter = if reporter_visible {
        state
            .store
            .account(record.issue.reporter)
            .await?
            .map(|a| hehe_protocol::Member {
                account_id: a.id,
                name: a.display_name,
                role: None,
            })
    } else {
        None
    };
    Ok(IssueDetail {
        issue: summary,
        description: record.description,
        location: record.location,
        reporter,
        resolution: record.issue.resolution,
        deadlines: state.store.issue_deadlines(id).await?,
        timeline,
        following: state.store.is_follower(id, actor.id).await?,
        photos: state
            .store
            .photos(id)
            .await?
            .iter()
            .map(photo_info)
            .collect(),
        submissions: state.store.submission_count(id).await?,
    })
}

fn photo_info(p: &PhotoRow) -> PhotoInfo {
    let media_type = media_type(&p.media_type);
    PhotoInfo {
        id: p.id,
        kind: p.kind,
        url: format!("/api/issues/{}/photos/{}", p.issue.0, p.id),
        content_type: media_type
            .map_or("application/octet-stream", |m| m.content_type())
            .into(),
        size: p.size,
        time: p.created_at,
    }
}

fn media_type(stored: &str) -> Option<MediaType> {
    match stored {
        "jpeg" => Some(MediaType::Jpeg),
        "png" => Some(MediaType::Png),
        "webp" => Some(MediaType::Webp),
        _ => None,
    }
}

fn media_name(m: MediaType) -> &'static str {
    match m {
        MediaType::Jpeg => "jpeg",
        MediaType::Png => "png",
        MediaType::Webp => "webp",
    }
}

/// Stores a photo of an issue (location stripped unless `keep_location`), logs it on the
/// timeline, and lets an `after` photo count towards completing.
pub async fn add_photo(
    state: &AppState,
    who: &Identity,
    id: IssueId,
    kind: PhotoKind,
    bytes: &[u8],
    keep_location: bool,
) -> AppResult<PhotoInfo> {
    let actor = &who.actor;
    let record = visible(state, actor, id).await?;
    if !may_upload(actor, &record.issue, kind) {
        return Err(AppError::forbidden());
    }
    let stored = state.media.put(bytes, keep_location).await?;
    let now = state.now();
    let photo = state
        .store
        .insert_photo(NewPhoto {
            issue: id,
            sha256: &stored.sha256,
            media_type: media_name(stored.media_type),
            kind,
            size: stored.size as u64,
            uploaded_by: actor.id,
            at: now,
        })
        .await?;
    let row = state
        .store
        .photo(id, photo)
        .await?
        .ok_or_else(|| AppError::not_found("photo"))?;
    let info = &photo_info(&row);
    let logged = retry::on_stale(ATTEMPTS, move || async move {
        let record = state
            .store
            .issue(id)
            .await?
            .ok_or_else(|| AppError::not_found("issue"))?;
        let mut issue = record.issue.clone();
        if kind == PhotoKind::After {
            issue.has_after_photo = true;
        }
        let decision = Decision {
            issue,
            events: vec![NewEvent {
                kind: "photo",
                from: None,
                to: None,
                visibility: Visibility::Public,
                text: None,
                data: json!({ "photo": info }),
            }],
            follow: None,
            breached: None,
            submission: None,
        };
        let by = ChangedBy {
            actor: Some(actor.id),
            ..ChangedBy::default()
        };
        let change = change_for(state, &record, &decision, by);
        let Attempt::Done(applied) = retry::written(state.store.update_issue(change).await)? else {
            return Ok(Attempt::Stale);
        };
        publish(state, &applied).await?;
        Ok(Attempt::Done(()))
    })
    .await?;
    logged.ok_or_else(busy)?;
    Ok(info.clone())
}

/// A photo's bytes and content type, for those who may see the issue.
pub async fn photo(
    state: &AppState,
    who: &Identity,
    id: IssueId,
    photo: i64,
) -> AppResult<(&'static str, Vec<u8>)> {
    visible(state, &who.actor, id).await?;
    let row = state
        .store
        .photo(id, photo)
        .await?
        .ok_or_else(|| AppError::not_found("photo"))?;
    let media_type = media_type(&row.media_type).ok_or_else(|| AppError::not_found("photo"))?;
    let bytes = state
        .media
        .get(&row.sha256, media_type)
        .await?
        .ok_or_else(|| AppError::not_found("photo"))?;
    Ok((media_type.content_type(), bytes))
}

/// Issues the actor may see, narrowed by `filter`.
pub async fn list(
    state: &AppState,
    who: &Identity,
    mut filter: IssueFilter,
) -> AppResult<Vec<IssueSummary>> {
    let actor = &who.actor;
    if !access::is_staff_somewhere(actor) && filter.involving.is_none() {
        filter.public_only = true;
    }
    filter.limit = filter.limit.clamp(1, 200);
    let mut out = Vec::new();
    for summary in state.store.list_issues(&filter).await? {
        // The filter narrows; this decides. Listing never shows what reading would not.
        if let Some(record) = state.store.issue(summary.id).await?
            && can_see(state, actor, &record).await?
        {
            out.push(with_allowed(state, actor, &record, summary).await?);
        }
    }
    Ok(out)
}

/// How far back duplicate suggestions look.
const SIMILAR_WINDOW_MS: i64 = 30 * 24 * 3_600_000;

/// Open issues of the same category raised in the last 30 days in the same grid, or within
/// 200 m when a location is given: shown before submitting, so a resident can say "me too"
/// instead of raising the same problem again. Only issues the caller may see.
pub async fn similar(
    state: &AppState,
    who: &Identity,
    category: &str,
    place_id: hehe_protocol::PlaceId,
    location: Option<hehe_protocol::issue::GeoPoint>,
) -> AppResult<Vec<IssueSummary>> {
    let category = category::find(category).ok_or_else(|| AppError::invalid("unknown category"))?;
    let place = crate::app::place(state, place_id).await?;
    let (Some(community), Some(grid)) = (place.community, place.grid) else {
        return Err(AppError::invalid("report on a grid or a building"));
    };
    let open = IssueState::ALL
        .into_iter()
        .filter(|s| !s.is_terminal())
        .collect();
    let filter = IssueFilter {
        community: Some(community),
        category: Some(category.code.into()),
        states: open,
        created_after: Some(state.now() - SIMILAR_WINDOW_MS),
        limit: 200,
        ..IssueFilter::default()
    };
    let mut out = Vec::new();
    for summary in state.store.list_issues(&filter).await? {
        let Some(record) = state.store.issue(summary.id).await? else {
            continue;
        };
        let near = match (location, record.location) {
            (Some(a), Some(b)) => {
                crate::domain::geo::distance_m(a, b) <= crate::domain::geo::NEARBY_M
            }
            _ => false,
        };
        if (record.issue.place.grid == Some(grid) || near)
            && can_see(state, &who.actor, &record).await?
        {
            out.push(with_allowed(state, &who.actor, &record, summary).await?);
        }
    }
    Ok(out)
}

pub fn categories() -> Vec<hehe_protocol::issue::CategoryInfo> {
    category::CATEGORIES.iter().map(Category::info).collect()
}

/// Publishes what a change did: each timeline entry on the issue's channel (internal ones to
/// staff only), a summary on the community's home, a notice in the assignee's and the
/// reporter's inboxes, and escalations on the street. Idempotency keys make a replay publish
/// nothing twice.
pub async fn publish(state: &AppState, applied: &Applied) -> AppResult<()> {
    use crate::app::publish as send;
    // The write stored a cause: this node's notification round takes it up now.
    state.notifier.wake();
    let summary = &applied.summary;
    let id = summary.id;
    let update = |event: Option<&IssueEventInfo>| IssueUpdate {
        issue: summary.clone(),
        event: event.cloned(),
    };
    for event in &applied.events {
        let audience = match event.visibility {
            Visibility::Public => Audience::All,
            Visibility::Internal => Audience::Staff,
        };
        let (channel, key) = (Channel::Issue(id), key(id, event, "issue"));
        send(
            state,
            channel,
            audience,
            EventKind::IssueUpdated,
            &update(Some(event)),
            key,
        )
        .await?;
    }
    let last_public: Option<&IssueEventInfo> = applied
        .events
        .iter()
        .rev()
        .find(|e| e.visibility == Visibility::Public);
    let Some(last) = last_public else {
        return Ok(());
    };
    if summary.public {
        let (home, key) = (Channel::Home(summary.community_id), key(id, last, "home"));
        send(
            state,
            home,
            Audience::All,
            EventKind::IssueSummary,
            &update(None),
            key,
        )
        .await?;
    }
    let assignee = summary.assignee.as_ref().map(|a| a.account_id);
    let reporter = state.store.issue(id).await?.map(|r| r.issue.reporter);
    // One notice to each of them, once when the reporter is the assignee.
    let inboxes = assignee
        .into_iter()
        .chain(reporter.filter(|r| Some(*r) != assignee));
    let notice = update(Some(last));
    for account in inboxes {
        let (inbox, key) = (
            Channel::User(account),
            key(id, last, &format!("user{account}")),
        );
        send(
            state,
            inbox,
            Audience::All,
            EventKind::InboxIssue,
            &notice,
            key,
        )
        .await?;
    }
    if applied
        .events
        .iter()
        .any(|e| e.to.is_some() || e.kind == "sla_breach")
    {
        let key = format!("counters:{}:{}", id.0, last.seq);
        crate::app::stats::publish_counters(state, summary.street_id, key).await?;
    }
    for event in applied.events.iter().filter(|e| e.kind == "escalated") {
        // For the street's chief, who takes escalations on: not every reader of the street
        // may see the issue (a private one, or one of another community).
        let (street, key) = (Channel::Street(summary.street_id), key(id, event, "street"));
        send(
            state,
            street,
            Audience::Staff,
            EventKind::IssueEscalated,
            &update(Some(event)),
            key,
        )
        .await?;
    }
    Ok(())
}

fn key(id: IssueId, event: &IssueEventInfo, target: &str) -> String {
    format!("issue:{}:{}:{target}", id.0, event.seq)
}
