//! `notify`: notifications from an acknowledged action to a Web Push receiver. Residents raise
//! issues, the community official accepts and dispatches each to the grid worker; every step
//! tells someone (PROTOCOL.md §17): the official of a new issue, the reporter of the
//! acceptance and of the dispatch, the worker of the dispatch. Each of them has one push
//! subscription whose endpoint is a receiver in this process (`/push/<account>-<run>`), so a
//! push's arrival at its endpoint is enough: it is not decrypted.
//!
//! An endpoint's pushes are paired with the actions that should have caused them in time
//! order (the n-th expected with the n-th arrival), so a latency is "this endpoint's n-th
//! acknowledged cause → its n-th push", exact when one endpoint's pushes arrive in the order
//! of their causes. The server must accept `http://` endpoints (`HEHE_PUSH_ALLOW_HTTP=true`)
//! and should send at once (`HEHE_NOTIFY_SKIP_READ_MS=0`; otherwise every push waits that
//! long for the person to read the notification live first).

use super::{Servers, new_report, run_tag};
use crate::accounts::{Accounts, CLASSES, TokenSource};
use crate::cli::Common;
use crate::measure::{Percentiles, Tally, histogram, unix_us};
use crate::net;
use crate::report::Report;
use anyhow::Context;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use base64ct::{Base64UrlUnpadded, Encoding};
use hehe_client::{ClientError, HttpClient};
use hehe_protocol::issue::{IssueAction, NewIssue};
use hehe_protocol::notify::{PushKeys, PushSubscriptionIn};
use hehe_protocol::{AccountId, PlaceId, RequestId};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Bounds of a run: residents (one subscription each) and issues.
pub const MAX_RESIDENTS: u32 = 2000;
pub const MAX_ISSUES: u32 = 100_000;
pub const MAX_CONCURRENCY: u32 = 256;

/// What each expected push times, by the step that caused it.
const TO_OFFICIAL: &str = "issue submitted → push to the official";
const ACCEPT_TO_REPORTER: &str = "issue accepted → push to the reporter";
const DISPATCH_TO_REPORTER: &str = "issue dispatched → push to the reporter";
const DISPATCH_TO_WORKER: &str = "issue dispatched → push to the worker";

/// The receiver's record: arrivals per endpoint name, and a bell rung at each.
#[derive(Default)]
struct Arrivals {
    at: Mutex<BTreeMap<String, Vec<u64>>>,
    total: AtomicU32,
    bell: Notify,
}

/// The pushes each endpoint should get: when their causes were acknowledged, and which step.
#[derive(Default)]
struct Expected {
    at: BTreeMap<String, Vec<(u64, &'static str)>>,
    total: u64,
}

impl Expected {
    fn add(&mut self, endpoint: &str, at: u64, what: &'static str) {
        self.at
            .entry(endpoint.to_owned())
            .or_default()
            .push((at, what));
        self.total += 1;
    }
}

/// A Web Push service on loopback that takes every push (201) and notes when it came.
async fn receiver(
    arrivals: Arc<Arrivals>,
) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    async fn take(State(arrivals): State<Arc<Arrivals>>, Path(name): Path<String>) -> StatusCode {
        let now = unix_us();
        arrivals
            .at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(name)
            .or_default()
            .push(now);
        arrivals.total.fetch_add(1, Ordering::Relaxed);
        arrivals.bell.notify_waiters();
        StatusCode::CREATED
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the push receiver")?;
    let base = format!("http://{}/push", listener.local_addr()?);
    let app = Router::new()
        .route("/push/{name}", post(take))
        .with_state(arrivals);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((base, task))
}

/// A browser's keys: a fresh P-256 public point and 16 random bytes, base64url.
fn browser_keys() -> PushKeys {
    let secret = loop {
        let bytes: [u8; 32] = rand::random();
        if let Ok(key) = p256::SecretKey::from_slice(&bytes) {
            break key;
        }
    };
    let point = secret.public_key().to_encoded_point(false);
    let auth: [u8; 16] = rand::random();
    PushKeys {
        p256dh: Base64UrlUnpadded::encode_string(point.as_bytes()),
        auth: Base64UrlUnpadded::encode_string(&auth),
    }
}

/// One person taking part: their token and their endpoint's name.
struct Person {
    token: String,
    endpoint: String,
}

/// Subscribes `token`'s account to push at `base/<name>`.
async fn subscribe(http: &HttpClient, base: &str, person: &Person) -> anyhow::Result<()> {
    let subscription = PushSubscriptionIn {
        endpoint: format!("{base}/{}", person.endpoint),
        keys: browser_keys(),
        expiration_time: None,
    };
    http.push_subscribe(&person.token, &subscription)
        .await
        .context(
            "subscribing to Web Push (is the server started with HEHE_PUSH_ALLOW_HTTP=true?)",
        )?;
    Ok(())
}

/// What one issue's steps added: expected pushes, and errors.
struct Lane<'a> {
    http: &'a HttpClient,
    run: &'a str,
    grid: PlaceId,
    worker: AccountId,
    official: &'a Person,
    worker_endpoint: &'a str,
    residents: &'a [Person],
}

impl Lane<'_> {
    /// Issue `n`: raised by a resident, accepted and dispatched by the official. Returns the
    /// steps acknowledged (0 to 3).
    async fn issue(&self, n: u32, expected: &Mutex<Expected>, errors: &Mutex<Tally>) -> u32 {
        let reporter = &self.residents[n as usize % self.residents.len()];
        let issue = NewIssue {
            category: "other".into(),
            title: format!("lt {} notify {n}", self.run),
            description: format!("Notification load, issue {n}: the stairwell light is out."),
            place_id: self.grid,
            location: None,
            public: true,
            priority: None,
            on_behalf_of: None,
        };
        let id = self.request_id("s", n);
        let summary = match self.http.submit_issue(&reporter.token, &id, &issue).await {
            Ok(summary) => summary,
            Err(e) => {
                count(errors, "submit_issue", &e);
                return 0;
            }
        };
        let acked = unix_us();
        lock(expected).add(&self.official.endpoint, acked, TO_OFFICIAL);
        let accept = IssueAction::Accept;
        let id = self.request_id("a", n);
        if let Err(e) = self
            .http
            .issue_action(&self.official.token, summary.id, &id, &accept)
            .await
        {
            count(errors, "accept", &e);
            return 1;
        }
        let acked = unix_us();
        lock(expected).add(&reporter.endpoint, acked, ACCEPT_TO_REPORTER);
        let dispatch = IssueAction::Dispatch {
            assignee: self.worker,
        };
        let id = self.request_id("d", n);
        if let Err(e) = self
            .http
            .issue_action(&self.official.token, summary.id, &id, &dispatch)
            .await
        {
            count(errors, "dispatch", &e);
            return 2;
        }
        let acked = unix_us();
        let mut expected = lock(expected);
        expected.add(&reporter.endpoint, acked, DISPATCH_TO_REPORTER);
        expected.add(self.worker_endpoint, acked, DISPATCH_TO_WORKER);
        3
    }

    fn request_id(&self, step: &str, n: u32) -> RequestId {
        RequestId::parse(format!("lt-{}-{step}-{n}", self.run))
            .unwrap_or_else(|e| unreachable!("short ASCII: {e}"))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn count(errors: &Mutex<Tally>, step: &str, e: &ClientError) {
    let kind = match e {
        ClientError::Api { status, error } => format!("{step}: refused {status} {}", error.code),
        ClientError::Timeout => format!("{step}: timeout"),
        _ => format!("{step}: failed"),
    };
    *lock(errors).entry(kind).or_default() += 1;
}

/// The server's `hehe_notifications_created_total`, summed over the nodes.
async fn notifications_created(servers: &Servers) -> Option<f64> {
    let mut sum = 0.0;
    for http in &servers.http {
        let (200, text) = http.get_text("/metrics").await.ok()? else {
            return None;
        };
        sum += net::metric(&text, "hehe_notifications_created_total")?;
    }
    Some(sum)
}

pub async fn run(
    common: &Common,
    residents: u32,
    issues: u32,
    concurrency: u32,
) -> anyhow::Result<Report> {
    common.validate(residents)?;
    anyhow::ensure!(
        (1..=MAX_RESIDENTS).contains(&residents),
        "between 1 and {MAX_RESIDENTS} residents"
    );
    anyhow::ensure!(
        (1..=MAX_ISSUES).contains(&issues),
        "between 1 and {MAX_ISSUES} issues"
    );
    anyhow::ensure!(
        (1..=MAX_CONCURRENCY).contains(&concurrency),
        "between 1 and {MAX_CONCURRENCY} issues at once"
    );
    let servers = Servers::new(&common.urls)?;
    let http = &servers.http[0];
    let run = run_tag();

    // Every third load-test account lives in Riverside, whose official and grid worker act.
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
    let grid = worker
        .account
        .grants
        .iter()
        .find_map(|g| g.place.as_ref().map(|p| p.id))
        .context("the demo worker has no grid")?;
    let person = |id: AccountId, token: String| Person {
        token,
        endpoint: format!("{}-{run}", id.0),
    };
    let people: Vec<Person> = tokens
        .into_iter()
        .zip(&numbers)
        .map(|(token, n)| person(known.id(*n), token))
        .collect();
    let office = person(official.account.id, official.access_token.clone());
    let hands = person(worker.account.id, worker.access_token.clone());

    let mut report = new_report(
        "notify",
        serde_json::json!({
            "common": common,
            "residents": residents,
            "issues": issues,
            "concurrency": concurrency,
        }),
    );
    let started = Instant::now();

    let arrivals = Arc::new(Arrivals::default());
    let (base, receiving) = receiver(arrivals.clone()).await?;
    let everyone: Vec<&Person> = people.iter().chain([&office, &hands]).collect();
    let subscribing =
        futures_util::future::join_all(everyone.iter().map(|p| subscribe(http, &base, p)));
    let mut subscribed = 0u64;
    let mut first_refusal = None;
    for outcome in subscribing.await {
        match outcome {
            Ok(()) => subscribed += 1,
            Err(e) => {
                first_refusal.get_or_insert(e);
            }
        }
    }
    report.connections.attempted = everyone.len() as u64;
    report.connections.connected = subscribed;
    report.connections.failed = report.connections.attempted - subscribed;
    if let Some(e) = first_refusal {
        receiving.abort();
        return Err(e);
    }

    // Issues taken in turn by `concurrency` lanes, until all are done or the time is up.
    let created_before = notifications_created(&servers).await;
    let cpu_before = servers.sample().await;
    let expected = Mutex::new(Expected::default());
    let errors = Mutex::new(Tally::new());
    let next = AtomicU32::new(0);
    let steps = AtomicU32::new(0);
    let lane = Lane {
        http,
        run: &run,
        grid,
        worker: worker.account.id,
        official: &office,
        worker_endpoint: &hands.endpoint,
        residents: &people,
    };
    let acting_from = unix_us();
    let until = Instant::now() + Duration::from_secs_f64(common.duration);
    let lanes = (0..concurrency).map(|_| async {
        loop {
            let n = next.fetch_add(1, Ordering::Relaxed);
            if n >= issues || Instant::now() >= until {
                break;
            }
            let done = lane.issue(n, &expected, &errors).await;
            steps.fetch_add(done, Ordering::Relaxed);
        }
    });
    futures_util::future::join_all(lanes).await;
    let acting_secs = (unix_us() - acting_from) as f64 / 1e6;
    let issued = next.load(Ordering::Relaxed).min(issues);

    // Wait, bounded, for every expected push.
    let expected = expected.into_inner().unwrap_or_else(|e| e.into_inner());
    let drain_until = Instant::now() + Duration::from_secs_f64(common.drain);
    loop {
        let bell = arrivals.bell.notified();
        if u64::from(arrivals.total.load(Ordering::Relaxed)) >= expected.total
            || Instant::now() >= drain_until
        {
            break;
        }
        let _ = tokio::time::timeout_at(
            drain_until.min(Instant::now() + Duration::from_millis(100)),
            bell,
        )
        .await;
    }
    let created_after = notifications_created(&servers).await;
    let cpu_after = servers.sample().await;
    let arrived = std::mem::take(&mut *lock(&arrivals.at));

    // Pair each endpoint's expected pushes with its arrivals, both in time order.
    let mut all = histogram();
    let mut by_step: BTreeMap<&str, _> = BTreeMap::new();
    let (mut received, mut extra) = (0u64, 0u64);
    let mut last_arrival = acting_from;
    let mut per_second = crate::measure::PerSecond::new();
    for (endpoint, times) in &arrived {
        for at in times {
            *per_second.entry(at / 1_000_000).or_default() += 1;
            last_arrival = last_arrival.max(*at);
        }
        let mut times = times.clone();
        times.sort_unstable();
        let mut causes = expected.at.get(endpoint).cloned().unwrap_or_default();
        causes.sort_unstable();
        extra += times.len().saturating_sub(causes.len()) as u64;
        for ((cause, what), at) in causes.iter().zip(&times) {
            let us = at.saturating_sub(*cause).max(1);
            let _ = all.record(us);
            let _ = by_step.entry(*what).or_insert_with(histogram).record(us);
            received += 1;
        }
    }
    let lost = expected.total - received;
    // From the first action to the last push (or the end of the wait when some never came).
    let window_secs = if lost == 0 {
        (last_arrival - acting_from) as f64 / 1e6
    } else {
        (unix_us() - acting_from) as f64 / 1e6
    }
    .max(1e-3);
    let pushes = arrived.values().map(|t| t.len() as u64).sum::<u64>();

    // Forget this run's subscriptions, so the server does not keep trying a closed receiver.
    let forgetting = everyone.iter().map(|p| {
        let endpoint = format!("{base}/{}", p.endpoint);
        async move { http.push_unsubscribe(&p.token, &endpoint).await }
    });
    let forgotten = futures_util::future::join_all(forgetting).await;
    receiving.abort();

    let mut errors = errors.into_inner().unwrap_or_else(|e| e.into_inner());
    let unsubscribe_failures = forgotten.iter().filter(|r| r.is_err()).count() as u64;
    if unsubscribe_failures > 0 {
        errors.insert("unsubscribe: failed".into(), unsubscribe_failures);
    }
    let steps = u64::from(steps.load(Ordering::Relaxed));
    report.publish.publishers = concurrency;
    report.publish.sent = u64::from(issued) * 3;
    report.publish.acknowledged = steps;
    report.publish.rate_achieved = steps as f64 / acting_secs.max(1e-3);
    let c = &mut report.deliveries.counts;
    c.expected = expected.total;
    c.received = received;
    c.lost = lost;
    c.duplicated = extra;
    report.deliveries.events = pushes;
    report.deliveries.latency = Percentiles::of(&all);
    report.deliveries.per_second_mean = pushes as f64 / window_secs;
    report.deliveries.per_second = per_second;
    for (what, h) in &by_step {
        report.latencies.insert((*what).into(), Percentiles::of(h));
    }
    let created = match (created_before, created_after) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    if let Some(created) = created {
        report
            .rates
            .insert("notifications created".into(), created / window_secs);
    }
    report
        .rates
        .insert("pushes received".into(), pushes as f64 / window_secs);
    report.rates.insert(
        "issue steps acknowledged".into(),
        report.publish.rate_achieved,
    );
    report.server.before_publish = cpu_before;
    report.server.after_publish = cpu_after;
    if let (Some(a), Some(b)) = (cpu_before, cpu_after) {
        let cpu = b.cpu_seconds - a.cpu_seconds;
        report.server.cpu_seconds = Some(cpu);
        report.server.deliveries_per_cpu_second = (cpu > 0.0).then(|| pushes as f64 / cpu);
    }
    report.errors = errors;
    report.elapsed_secs = started.elapsed().as_secs_f64();

    report.check_connections();
    report.check(
        "every_issue_handled",
        steps == u64::from(issues) * 3,
        format!("{steps} of {} steps acknowledged", u64::from(issues) * 3),
    );
    report.check(
        "no_loss",
        lost == 0,
        format!(
            "{lost} of {} expected pushes not received within {:.0} s",
            expected.total, common.drain
        ),
    );
    report.check(
        "no_unexpected_push",
        extra == 0,
        format!("{extra} pushes beyond those expected"),
    );
    report.check(
        "notifications_counted",
        created.is_some_and(|n| n >= expected.total as f64),
        format!(
            "{created:?} notifications created (at least {} expected)",
            expected.total
        ),
    );
    let error_count: u64 = report.errors.values().sum();
    report.check(
        "no_errors",
        error_count == 0,
        format!("{error_count} actions refused or failed"),
    );
    Ok(report)
}
