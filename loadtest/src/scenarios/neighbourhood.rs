//! `neighbourhood`: a day in a street. Residents raise issues; the community official accepts
//! and dispatches them; the grid worker acknowledges, reports progress and completes them; the
//! street chief holds a meeting with a vote; the residents vote, then rate the work. Measured:
//! how long an issue takes to reach the worker (on the community's home channel as it is
//! raised, in the worker's inbox once dispatched); checked: every step reached the reporter's
//! inbox, and the vote counted every ballot.

use super::{Servers, new_report, run_tag};
use crate::accounts::{Accounts, CLASSES, TokenSource};
use crate::cli::Common;
use crate::measure::{Percentiles, Tally, histogram, unix_us};
use crate::report::Report;
use anyhow::Context;
use hehe_client::{ClientError, ConnectOptions, Connection, Incoming};
use hehe_protocol::http::TokenResponse;
use hehe_protocol::issue::{IssueAction, NewIssue, Satisfaction};
use hehe_protocol::meeting::{NewVote, RoomAction};
use hehe_protocol::{Channel, ErrorCode, Event, IssueId, MeetingId, ServerMsg};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

mod sustained;

/// Sustained issue submissions (`--submit-rate`): see [`sustained`].
pub async fn sustained(common: &Common, residents: u32, rate: f64) -> anyhow::Result<Report> {
    sustained::run(common, residents, rate).await
}

/// At most this many residents: the day runs in this process, one connection each.
pub const MAX_RESIDENTS: u32 = 2000;

/// The states every reporter must see their issue pass through, in their inbox.
const STEPS: [&str; 5] = [
    "accepted",
    "dispatched",
    "in_progress",
    "awaiting_rating",
    "closed",
];

/// The demo meeting held: the Riverside hearing, whose participants the residents are.
const MEETING: MeetingId = MeetingId(1);

/// When the worker's watcher saw each issue of this run: raised (home channel), dispatched
/// (inbox).
#[derive(Default)]
struct Seen {
    raised: BTreeMap<IssueId, u64>,
    /// How many times each issue showed up as raised (once, or something is duplicated).
    raised_times: BTreeMap<IssueId, u64>,
    dispatched: BTreeMap<IssueId, u64>,
    /// Whether the watcher's connection ended before it was told to stop.
    ended_early: bool,
}

pub async fn run(common: &Common, residents: u32) -> anyhow::Result<Report> {
    common.validate(residents)?;
    anyhow::ensure!(
        (1..=MAX_RESIDENTS).contains(&residents),
        "between 1 and {MAX_RESIDENTS} residents"
    );
    let servers = Servers::new(&common.urls)?;
    let http = &servers.http[0];
    let ws = servers.ws_url(0);
    let account = |k: u32| 1 + CLASSES * k;
    let known = Accounts::discover(http, &common.password, account(residents - 1)).await?;
    let source = TokenSource::new(Some(&common.token_secret), http, &common.password);
    let numbers: Vec<u32> = (0..residents).map(account).collect();
    let ttl = (common.duration + common.drain) as u64 + 3600;
    let tokens = super::fanout::tokens(&source, &known, numbers.clone(), ttl).await?;
    let staff = |name: &'static str| async move {
        http.login(name, &common.password)
            .await
            .with_context(|| format!("logging in the demo account {name}"))
    };
    let official = staff("official").await?;
    let worker = staff("worker").await?;
    let chief = staff("chief").await?;
    let grid = worker
        .account
        .grants
        .iter()
        .find_map(|g| g.place.as_ref().map(|p| p.id))
        .context("the demo worker has no grid")?;

    let run = run_tag();
    let mut report = new_report(
        "neighbourhood",
        serde_json::json!({ "common": common, "residents": residents }),
    );
    let started = Instant::now();
    let mut errors = Tally::new();

    // The worker's phone: the community's home channel and the worker's own inbox.
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (stop_watching, watching) = tokio::sync::oneshot::channel::<()>();
    let watcher = watch_as_worker(&ws, &worker, &run, seen.clone(), watching).await?;

    // Every resident on a connection of their own that follows their inbox.
    let mut people = Vec::new();
    let mut connect_time = histogram();
    for (k, token) in tokens.iter().enumerate() {
        let began = Instant::now();
        let me = known.id(numbers[k]);
        let opened = async {
            let mut conn = Connection::connect_with(&ws, &ConnectOptions::default(), token).await?;
            conn.subscribe(Channel::User(me), None).await?;
            Ok::<_, ClientError>(conn)
        };
        match opened.await {
            Ok(conn) => {
                let _ = connect_time.record(began.elapsed().as_micros().max(1) as u64);
                report.connections.connected += 1;
                people.push(conn);
                *report
                    .connections
                    .per_second
                    .entry(unix_us() / 1_000_000)
                    .or_default() += 1;
            }
            Err(e) => count(&mut errors, "connect", &e),
        }
    }
    report.connections.connect = Percentiles::of(&connect_time);
    report.connections.attempted = u64::from(residents);
    report.connections.failed = report.connections.attempted - report.connections.connected;

    // Morning: every resident raises an issue.
    let raising = people.iter_mut().enumerate().map(|(k, conn)| {
        let issue = NewIssue {
            category: "other".into(),
            title: format!("lt {run} {k}"),
            description: "The stairwell light on the third floor is out.".into(),
            place_id: grid,
            location: None,
            public: true,
            priority: None,
            on_behalf_of: None,
        };
        async move {
            let sent = unix_us();
            conn.submit_issue(issue)
                .await
                .map(|summary| (summary.id, sent))
        }
    });
    let mut raised = Vec::new();
    for outcome in futures_util::future::join_all(raising).await {
        match outcome {
            Ok(issue) => raised.push(Some(issue)),
            Err(e) => {
                count(&mut errors, "submit_issue", &e);
                raised.push(None);
            }
        }
    }

    // The community official accepts and dispatches them; the worker handles them.
    let mut office = Connection::connect(&ws, &official.access_token).await?;
    let mut hands = Connection::connect(&ws, &worker.access_token).await?;
    let mut dispatched_at = BTreeMap::new();
    for (id, _) in raised.iter().flatten() {
        let id = *id;
        act(&mut office, id, IssueAction::Accept, &mut errors).await;
        dispatched_at.insert(id, unix_us());
        let dispatch = IssueAction::Dispatch {
            assignee: worker.account.id,
        };
        act(&mut office, id, dispatch, &mut errors).await;
        act(&mut hands, id, IssueAction::Acknowledge, &mut errors).await;
        let update = IssueAction::PostUpdate {
            text: "Replaced the bulb; checking the wiring.".into(),
            internal: false,
        };
        act(&mut hands, id, update, &mut errors).await;
        act(
            &mut hands,
            id,
            IssueAction::Complete { note: None },
            &mut errors,
        )
        .await;
    }
    let _ = office.close().await;
    let _ = hands.close().await;

    // Afternoon: the street chief holds the hearing with a vote.
    let (ballots_cast, ballots_counted) = hold_vote(&ws, &chief, &mut people, &mut errors).await;

    // Evening: the residents rate the work.
    let rating = people
        .iter_mut()
        .zip(&raised)
        .filter_map(|(conn, issue)| issue.map(|(id, _)| (conn, id)))
        .map(|(conn, id)| async move {
            let rate = IssueAction::Rate {
                resolved: true,
                satisfaction: Some(Satisfaction::Satisfied),
                stars: Some(5),
                comment: None,
            };
            conn.issue_action(id, rate).await
        });
    for outcome in futures_util::future::join_all(rating).await {
        if let Err(e) = outcome {
            count(&mut errors, "rate", &e);
        }
    }

    // What each reporter's inbox showed of their issue.
    let drain_until = Instant::now() + Duration::from_secs_f64(common.drain.max(1.0));
    let mut steps_expected = 0;
    let mut steps_seen = 0;
    for (conn, issue) in people.iter_mut().zip(&raised) {
        let Some((id, _)) = issue else { continue };
        let states = inbox_states(conn, *id, drain_until).await;
        steps_expected += STEPS.len() as u64;
        steps_seen += STEPS.iter().filter(|s| states.contains(**s)).count() as u64;
        let _ = conn.close().await;
    }
    let _ = stop_watching.send(());
    let _ = watcher.await;

    // Latencies, from the watcher's sightings.
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
    let (mut to_home, mut to_inbox, mut dispatch_to_inbox) =
        (histogram(), histogram(), histogram());
    for (id, sent) in raised.iter().flatten() {
        if let Some(at) = seen.raised.get(id) {
            let _ = to_home.record(at.saturating_sub(*sent).max(1));
        }
        if let Some(at) = seen.dispatched.get(id) {
            let _ = to_inbox.record(at.saturating_sub(*sent).max(1));
            if let Some(dispatched) = dispatched_at.get(id) {
                let _ = dispatch_to_inbox.record(at.saturating_sub(*dispatched).max(1));
            }
        }
    }
    let issues = raised.iter().flatten().count() as u64;
    let latencies = &mut report.latencies;
    latencies.insert(
        "issue raised → seen by the worker (home channel)".into(),
        Percentiles::of(&to_home),
    );
    latencies.insert(
        "issue raised → in the worker's inbox (after accept, dispatch)".into(),
        Percentiles::of(&to_inbox),
    );
    latencies.insert(
        "dispatch sent → in the worker's inbox".into(),
        Percentiles::of(&dispatch_to_inbox),
    );
    report.deliveries.latency = Percentiles::of(&to_home);
    let c = &mut report.deliveries.counts;
    c.expected = steps_expected;
    c.received = steps_seen;
    c.lost = steps_expected - steps_seen;
    report.publish.sent = u64::from(residents);
    report.publish.acknowledged = issues;
    report.errors = errors;
    report.elapsed_secs = started.elapsed().as_secs_f64();

    report.check_connections();
    report.check(
        "every_issue_raised",
        issues == u64::from(residents),
        format!("{issues} of {residents} issues raised"),
    );
    report.check(
        "worker_saw_every_issue",
        seen.raised.len() as u64 == issues,
        format!("{} of {issues} seen on the home channel", seen.raised.len()),
    );
    report.check(
        "worker_inbox_has_every_dispatch",
        seen.dispatched.len() as u64 == issues,
        format!(
            "{} of {issues} dispatches in the inbox",
            seen.dispatched.len()
        ),
    );
    report.check(
        "every_step_reached_the_reporter",
        steps_seen == steps_expected,
        format!("{steps_seen} of {steps_expected} steps in the reporters' inboxes"),
    );
    report.check(
        "every_ballot_counted",
        ballots_cast > 0 && ballots_counted == Some(ballots_cast),
        format!("{ballots_cast} ballots cast, {ballots_counted:?} counted"),
    );
    let error_count: u64 = report.errors.values().sum();
    report.check(
        "no_errors",
        error_count == 0,
        format!("{error_count} actions refused or failed"),
    );
    Ok(report)
}

fn count(errors: &mut Tally, step: &str, e: &ClientError) {
    let kind = match e {
        ClientError::Server { code, .. } => format!("{step}: refused: {code}"),
        ClientError::Timeout => format!("{step}: timeout"),
        ClientError::Closed { code, .. } => format!("{step}: closed {code:?}"),
        _ => format!("{step}: failed"),
    };
    *errors.entry(kind).or_default() += 1;
}

async fn act(conn: &mut Connection, issue: IssueId, action: IssueAction, errors: &mut Tally) {
    let step = match &action {
        IssueAction::Accept => "accept",
        IssueAction::Dispatch { .. } => "dispatch",
        IssueAction::Acknowledge => "acknowledge",
        IssueAction::PostUpdate { .. } => "post_update",
        IssueAction::Complete { .. } => "complete",
        _ => "issue_action",
    };
    if let Err(e) = conn.issue_action(issue, action).await {
        count(errors, step, &e);
    }
}

/// Connects the worker's watcher and notes, from a task, when each issue shows up.
async fn watch_as_worker(
    ws: &str,
    worker: &TokenResponse,
    run: &str,
    seen: Arc<Mutex<Seen>>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let mut conn = Connection::connect(ws, &worker.access_token)
        .await
        .context("connecting the worker's watcher")?;
    let homes: BTreeSet<Channel> = worker
        .account
        .grants
        .iter()
        .flat_map(|g| g.channels.iter().copied())
        .filter(|c| matches!(c, Channel::Home(_)))
        .collect();
    for channel in homes.into_iter().chain([Channel::User(worker.account.id)]) {
        conn.subscribe(channel, None)
            .await
            .context("subscribing the worker's watcher")?;
    }
    // This run's issues only: their titles start with the run's tag.
    let ours = format!("lt {run} ");
    Ok(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut stop => break,
                incoming = conn.recv() => match incoming {
                    Ok(Incoming::Msg(ServerMsg::Event(event))) => {
                        let now = unix_us();
                        let Some((id, state)) = issue_state(&event) else { continue };
                        let title = event.data.get("issue").and_then(|i| i.get("title"));
                        if !title.and_then(|t| t.as_str()).is_some_and(|t| t.starts_with(&ours)) {
                            continue;
                        }
                        let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                        match (event.kind.as_str(), state.as_str()) {
                            ("issue.summary", "submitted") => {
                                seen.raised.entry(id).or_insert(now);
                                *seen.raised_times.entry(id).or_default() += 1;
                            }
                            ("inbox.issue", "dispatched") => {
                                seen.dispatched.entry(id).or_insert(now);
                            }
                            _ => {}
                        }
                    }
                    Ok(Incoming::Msg(_)) => {}
                    Ok(Incoming::Closed { .. }) | Err(_) => {
                        seen.lock().unwrap_or_else(|e| e.into_inner()).ended_early = true;
                        break;
                    }
                },
            }
        }
        let _ = conn.close().await;
    }))
}

/// The issue id and state an issue event carries.
fn issue_state(event: &Event) -> Option<(IssueId, String)> {
    let issue = event.data.get("issue")?;
    let id = issue.get("id")?.as_i64()?;
    let state = issue.get("state")?.as_str()?;
    Some((IssueId(id), state.to_owned()))
}

/// The states of `issue` a reporter's inbox showed, read until it shows `closed` or `until`.
async fn inbox_states(conn: &mut Connection, issue: IssueId, until: Instant) -> BTreeSet<String> {
    let mut states = BTreeSet::new();
    while !states.contains("closed") {
        let Ok(Ok(event)) = tokio::time::timeout_at(until, conn.next_event()).await else {
            break;
        };
        if event.kind == "inbox.issue"
            && let Some((id, state)) = issue_state(&event)
            && id == issue
        {
            states.insert(state);
        }
    }
    states
}

/// The chief starts the hearing and opens a vote; every resident votes; the chief closes it.
/// Returns the ballots acknowledged and the ballots the result counted.
async fn hold_vote(
    ws: &str,
    chief: &TokenResponse,
    people: &mut [Connection],
    errors: &mut Tally,
) -> (u64, Option<u64>) {
    let Ok(mut chair) = Connection::connect(ws, &chief.access_token).await else {
        *errors.entry("chair: connect".into()).or_default() += 1;
        return (0, None);
    };
    match chair.room_action(MEETING, RoomAction::Start).await {
        Ok(_) => {}
        Err(ClientError::Server {
            code: ErrorCode::Conflict,
            ..
        }) => {}
        Err(e) => count(errors, "start", &e),
    }
    if let Err(e) = chair.subscribe(Channel::Room(MEETING), None).await {
        count(errors, "chair subscribe", &e);
        return (0, None);
    }
    let vote = NewVote {
        question: "Replace the drainage pipe this spring?".into(),
        options: vec!["for".into(), "against".into()],
        multiple: false,
        anonymous: false,
        hide_results: false,
    };
    let opened = match chair
        .room_action(MEETING, RoomAction::OpenVote { vote })
        .await
    {
        Ok(seq) => seq,
        Err(e) => {
            count(errors, "open_vote", &e);
            return (0, None);
        }
    };
    // The vote's number is in the `vote_opened` entry of the log.
    let Some(vote) = room_entry(&mut chair, |data| {
        (data.get("seq")?.as_u64()? == u64::from(opened))
            .then(|| data.get("data")?.get("vote")?.get("id")?.as_u64())
            .flatten()
    })
    .await
    else {
        *errors.entry("open_vote: no entry".into()).or_default() += 1;
        return (0, None);
    };
    let vote = vote as u32;
    let casting = people.iter_mut().enumerate().map(|(k, conn)| async move {
        let ballot = RoomAction::CastVote {
            vote,
            choices: vec![(k % 2) as u32],
        };
        conn.room_action(MEETING, ballot).await
    });
    let mut cast = 0;
    for outcome in futures_util::future::join_all(casting).await {
        match outcome {
            Ok(_) => cast += 1,
            Err(e) => count(errors, "cast_vote", &e),
        }
    }
    if let Err(e) = chair
        .room_action(MEETING, RoomAction::CloseVote { vote })
        .await
    {
        count(errors, "close_vote", &e);
        return (cast, None);
    }
    let counted = result_ballots(&mut chair, vote).await;
    let _ = chair.close().await;
    (cast, counted)
}

/// Reads the room until an entry `pick` takes, for at most ten seconds.
async fn room_entry(
    chair: &mut Connection,
    pick: impl Fn(&serde_json::Value) -> Option<u64>,
) -> Option<u64> {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let event = tokio::time::timeout_at(until, chair.next_event())
            .await
            .ok()?
            .ok()?;
        if event.kind == "room.event"
            && let Some(found) = pick(&event.data)
        {
            return Some(found);
        }
    }
}

/// The ballots in the result of `vote`, for at most ten seconds.
async fn result_ballots(chair: &mut Connection, vote: u32) -> Option<u64> {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let event = tokio::time::timeout_at(until, chair.next_event())
            .await
            .ok()?
            .ok()?;
        if event.kind == "room.vote_result" && event.data.get("vote")?.as_u64()? == u64::from(vote)
        {
            return event.data.get("ballots")?.as_u64();
        }
    }
}
