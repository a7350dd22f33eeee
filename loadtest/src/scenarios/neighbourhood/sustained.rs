//! `neighbourhood --submit-rate R`: sustained issue submissions. The residents together raise
//! `R` issues a second for `--duration` seconds, paced by one interval timer whose ticks go to
//! the residents in turn, each issue a `submit_issue` on the resident's own WebSocket with its
//! own request id. The grid worker's watcher notes when each issue becomes visible to the
//! worker; every acknowledged issue must be seen there exactly once.
//!
//! "Visible to the worker": a new public issue first reaches the grid worker as the
//! `issue.summary` event (state `submitted`) on the home channel of its community, which the
//! worker reads (PROTOCOL.md §10.6; `issues::publish` on the server). Nothing reaches the
//! worker's inbox (`user:`) until the issue is dispatched to them, and the issue's own channel
//! can only be subscribed to once its id is known. So the latency measured is from the
//! resident sending `submit_issue` to the worker receiving that event. The rest of the day
//! (dispatch, progress, vote, rating) is left out: at hundreds of issues a second it would
//! measure the official's clicking, not the delivery.

use super::{Seen, count, watch_as_worker};
use crate::accounts::{Accounts, CLASSES, TokenSource};
use crate::cli::{Common, MAX_RATE};
use crate::measure::{Percentiles, Tally, add_tally, histogram, unix_us};
use crate::report::Report;
use crate::scenarios::{Servers, new_report, run_tag};
use anyhow::Context;
use hehe_client::{ClientError, ConnectOptions, Connection};
use hehe_protocol::issue::NewIssue;
use hehe_protocol::{ErrorCode, IssueId, PlaceId};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

/// Tries per issue: a submit whose reply is lost is sent again with the same request id, which
/// the server applies once.
const ATTEMPTS: u32 = 5;

/// What residents say is wrong; with the category, place and number, no two issues alike.
const COMPLAINTS: [&str; 6] = [
    "Water has been dripping from the ceiling of the stairwell since last night.",
    "The light at the entrance stays off after dark.",
    "A pile of rubbish was left next to the bicycle shed.",
    "The pavement in front of the door is broken and people trip over it.",
    "The lift stops between floors now and then.",
    "Something smells of gas near the meters on the ground floor.",
];

/// One issue a resident is told to raise: its number and when the timer asked for it.
struct Ask {
    seq: u32,
    scheduled_us: u64,
}

/// What became of one issue.
struct Outcome {
    /// When its first `submit_issue` went out.
    sent_us: u64,
    /// The issue and when it was acknowledged.
    acked: Option<(IssueId, u64)>,
}

/// What one resident did.
#[derive(Default)]
struct ResidentLog {
    outcomes: Vec<Outcome>,
    errors: Tally,
    /// From the timer's tick to the submit going out (the resident still busy with its last).
    queued: Vec<u64>,
}

/// What every issue needs that does not depend on its number.
struct Catalogue {
    run: String,
    categories: Vec<String>,
    places: Vec<PlaceId>,
}

impl Catalogue {
    /// Issue `seq`: category, place and complaint turn at different paces, so neighbouring
    /// issues differ in all three, and the title carries the run and the number.
    fn issue(&self, seq: u32) -> NewIssue {
        let s = seq as usize;
        let category = &self.categories[s % self.categories.len()];
        let place = self.places[(s / self.categories.len()) % self.places.len()];
        let complaint = COMPLAINTS[(s / 7) % COMPLAINTS.len()];
        NewIssue {
            category: category.clone(),
            title: format!("lt {} {seq} {category} at place {}", self.run, place.0),
            description: format!("{complaint} (report {seq})"),
            place_id: place,
            location: None,
            public: true,
            priority: None,
            on_behalf_of: None,
        }
    }
}

pub async fn run(common: &Common, residents: u32, rate: f64) -> anyhow::Result<Report> {
    common.validate(residents)?;
    anyhow::ensure!(
        (1..=super::MAX_RESIDENTS).contains(&residents),
        "between 1 and {} residents",
        super::MAX_RESIDENTS
    );
    anyhow::ensure!(
        rate > 0.0 && rate <= MAX_RATE,
        "the submit rate is between 0 and {MAX_RATE} per second"
    );
    let servers = Servers::new(&common.urls)?;
    let http = &servers.http[0];
    let ws = servers.ws_url(0);
    let account = |k: u32| 1 + CLASSES * k;
    let known = Accounts::discover(http, &common.password, account(residents - 1)).await?;
    let source = TokenSource::new(Some(&common.token_secret), http, &common.password);
    let numbers: Vec<u32> = (0..residents).map(account).collect();
    let ttl = (common.duration + common.drain) as u64 + 3600;
    let tokens = crate::scenarios::fanout::tokens(&source, &known, numbers, ttl).await?;
    let worker = http
        .login("worker", &common.password)
        .await
        .context("logging in the demo account worker")?;
    let grid = worker
        .account
        .grants
        .iter()
        .find_map(|g| g.place.as_ref().map(|p| p.id))
        .context("the demo worker has no grid")?;
    let run = run_tag();
    let catalogue = Catalogue {
        run: run.clone(),
        categories: http
            .categories()
            .await
            .context("reading the categories")?
            .into_iter()
            .map(|c| c.code)
            .collect(),
        places: places_in(http, &common.password, &worker.access_token, grid).await,
    };
    anyhow::ensure!(
        !catalogue.categories.is_empty(),
        "the server lists no categories"
    );
    let catalogue = Arc::new(catalogue);

    let mut report = new_report(
        "neighbourhood",
        serde_json::json!({
            "common": common,
            "residents": residents,
            "submit_rate": rate,
            "categories": catalogue.categories.len(),
            "places": catalogue.places,
        }),
    );
    let started = Instant::now();
    let mut errors = Tally::new();

    // The worker's phone: the community's home channel and the worker's own inbox.
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (stop_watching, watching) = tokio::sync::oneshot::channel::<()>();
    let watcher = watch_as_worker(&ws, &worker, &run, seen.clone(), watching).await?;

    // Every resident on a connection of their own, in a task that raises what it is asked to.
    // (No memory per connection: a few dozen connections say nothing about it.)
    let mut connect_time = histogram();
    let mut asks = Vec::new();
    let mut tasks = Vec::new();
    for token in &tokens {
        let began = Instant::now();
        match Connection::connect_with(&ws, &ConnectOptions::default(), token).await {
            Ok(conn) => {
                let _ = connect_time.record(began.elapsed().as_micros().max(1) as u64);
                report.connections.connected += 1;
                *report
                    .connections
                    .per_second
                    .entry(unix_us() / 1_000_000)
                    .or_default() += 1;
                let (tx, rx) = mpsc::unbounded_channel();
                asks.push(tx);
                let (ws, token, catalogue) = (ws.clone(), token.clone(), catalogue.clone());
                tasks.push(tokio::spawn(resident(conn, ws, token, catalogue, rx)));
            }
            Err(e) => count(&mut errors, "connect", &e),
        }
    }
    report.connections.connect = Percentiles::of(&connect_time);
    report.connections.attempted = u64::from(residents);
    report.connections.failed = report.connections.attempted - report.connections.connected;
    anyhow::ensure!(!asks.is_empty(), "no resident could connect");

    // The timer: one issue every 1/rate seconds, to the residents in turn. A server that falls
    // behind gets fewer issues, not a burst: the rate achieved is reported.
    report.server.before_publish = servers.sample().await;
    let pacing_began = Instant::now();
    let until = pacing_began + Duration::from_secs_f64(common.duration);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut asked = 0u32;
    loop {
        tick.tick().await;
        if Instant::now() >= until {
            break;
        }
        asked += 1;
        let ask = Ask {
            seq: asked,
            scheduled_us: unix_us(),
        };
        let _ = asks[asked as usize % asks.len()].send(ask);
    }
    let pacing_secs = pacing_began.elapsed().as_secs_f64();
    drop(asks);
    let mut logs = Vec::new();
    for task in tasks {
        logs.push(task.await.context("a resident failed")?);
    }

    // Every acknowledged issue should reach the watcher: wait for the last ones.
    let acked: BTreeMap<IssueId, (u64, u64)> = logs
        .iter()
        .flat_map(|l| &l.outcomes)
        .filter_map(|o| o.acked.map(|(id, at)| (id, (o.sent_us, at))))
        .collect();
    let acked_outcomes = logs
        .iter()
        .flat_map(|l| &l.outcomes)
        .filter(|o| o.acked.is_some())
        .count() as u64;
    let drain_until = Instant::now() + Duration::from_secs_f64(common.drain);
    loop {
        let all_in = {
            let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.ended_early || acked.keys().all(|id| seen.raised.contains_key(id))
        };
        if all_in || Instant::now() >= drain_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    report.server.after_publish = servers.sample().await;
    let _ = stop_watching.send(());
    let _ = watcher.await;

    // The accounting and the latencies.
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
    let (mut visible, mut ack, mut queued) = (histogram(), histogram(), histogram());
    let mut missing = 0u64;
    for (id, &(sent, acked_at)) in &acked {
        let _ = ack.record(acked_at.saturating_sub(sent).max(1));
        match seen.raised.get(id) {
            Some(at) => {
                let _ = visible.record(at.saturating_sub(sent).max(1));
            }
            None => missing += 1,
        }
    }
    for log in &logs {
        add_tally(&mut errors, &log.errors);
        for &q in &log.queued {
            let _ = queued.record(q.max(1));
        }
    }
    let duplicated: u64 = seen.raised_times.values().map(|n| n - 1).sum();
    let unacknowledged = seen
        .raised
        .keys()
        .filter(|id| !acked.contains_key(id))
        .count() as u64;
    let sent = logs.iter().map(|l| l.outcomes.len() as u64).sum::<u64>();
    for at in seen.raised.values() {
        *report
            .deliveries
            .per_second
            .entry(at / 1_000_000)
            .or_default() += 1;
    }
    let issues = acked.len() as u64;
    let c = &mut report.deliveries.counts;
    c.expected = issues;
    c.received = issues - missing;
    c.lost = missing;
    c.duplicated = duplicated;
    c.unacknowledged = unacknowledged;
    report.deliveries.events = seen.raised_times.values().sum();
    report.deliveries.latency = Percentiles::of(&visible);
    report.deliveries.per_second_mean = c.received as f64 / pacing_secs.max(0.001);
    let p = &mut report.publish;
    p.publishers = asked.min(residents);
    p.sent = sent;
    p.acknowledged = issues;
    p.rate_asked = rate;
    p.rate_achieved = issues as f64 / pacing_secs.max(0.001);
    p.acknowledgement = Percentiles::of(&ack);
    let latencies = &mut report.latencies;
    latencies.insert(
        "issue submitted → visible to the grid worker (home channel)".into(),
        Percentiles::of(&visible),
    );
    latencies.insert(
        "issue submitted → acknowledged".into(),
        Percentiles::of(&ack),
    );
    latencies.insert(
        "timer tick → submit sent (resident busy)".into(),
        Percentiles::of(&queued),
    );
    report.errors = errors;
    report.elapsed_secs = started.elapsed().as_secs_f64();
    super::super::fanout::add_server_figures(&mut report);
    let watcher_ended = seen.ended_early;
    drop(seen);

    report.check_connections();
    report.check(
        "every_submit_acknowledged",
        sent == u64::from(asked) && issues == sent,
        format!("{issues} of {sent} submits acknowledged ({asked} asked)"),
    );
    report.check(
        "one_issue_per_submit",
        acked_outcomes == issues,
        format!("{acked_outcomes} acknowledgements named {issues} distinct issues"),
    );
    report.check(
        "worker_saw_every_issue",
        missing == 0 && issues > 0,
        format!("{missing} of {issues} acknowledged issues never visible to the worker"),
    );
    report.check(
        "worker_saw_each_once",
        duplicated == 0,
        format!("{duplicated} issues seen again"),
    );
    report.check(
        "watcher_connected_throughout",
        !watcher_ended,
        "the worker's watcher stayed connected".into(),
    );
    let achieved = report.publish.rate_achieved;
    report.check(
        "rate_held",
        achieved >= 0.9 * rate,
        format!("{achieved:.1} issues/s acknowledged of {rate:.1}/s asked"),
    );
    let error_count: u64 = report.errors.values().sum();
    report.check(
        "no_errors",
        error_count == 0,
        format!("{error_count} submits refused or failed"),
    );
    Ok(report)
}

/// The places issues are raised at: the worker's grid, and the buildings in it that the demo's
/// building lead and the grid's existing issues name.
async fn places_in(
    http: &hehe_client::HttpClient,
    password: &str,
    worker_token: &str,
    grid: PlaceId,
) -> Vec<PlaceId> {
    let mut places = BTreeSet::from([grid]);
    if let Ok(lead) = http.login("lead", password).await {
        places.extend(
            lead.account
                .grants
                .iter()
                .filter_map(|g| g.place.as_ref())
                .filter(|p| p.parent_id == Some(grid))
                .map(|p| p.id),
        );
    }
    let query = [("grid", grid.0.to_string()), ("limit", "200".to_owned())];
    if let Ok(issues) = http.issues(worker_token, &query).await {
        places.extend(
            issues
                .iter()
                .filter(|i| i.grid_id == grid)
                .map(|i| i.place_id),
        );
    }
    places.into_iter().collect()
}

/// One resident: raises each issue it is asked to, one after another, until the timer is done.
async fn resident(
    mut conn: Connection,
    ws: String,
    token: String,
    catalogue: Arc<Catalogue>,
    mut asks: mpsc::UnboundedReceiver<Ask>,
) -> ResidentLog {
    let mut log = ResidentLog::default();
    while let Some(ask) = asks.recv().await {
        let issue = catalogue.issue(ask.seq);
        let id = conn.next_request_id();
        let sent_us = unix_us();
        log.queued.push(sent_us.saturating_sub(ask.scheduled_us));
        let mut acked = None;
        for attempt in 1..=ATTEMPTS {
            match conn.submit_issue_with_id(id.clone(), issue.clone()).await {
                Ok(summary) => {
                    acked = Some((summary.id, unix_us()));
                    break;
                }
                Err(e) => {
                    count(&mut log.errors, "submit_issue", &e);
                    let retry = match &e {
                        ClientError::Server { code, .. } => *code == ErrorCode::RequestInProgress,
                        ClientError::Timeout => true,
                        ClientError::Closed { .. } | ClientError::WebSocket(_) => {
                            match Connection::connect(&ws, &token).await {
                                Ok(fresh) => {
                                    conn = fresh;
                                    true
                                }
                                Err(_) => false,
                            }
                        }
                        _ => false,
                    };
                    if !retry || attempt == ATTEMPTS {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                }
            }
        }
        log.outcomes.push(Outcome { sent_us, acked });
    }
    let _ = conn.close().await;
    log
}
