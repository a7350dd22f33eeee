//! `hehe-loadtest chaos <step>`: real `hehe-server` processes on loopback sharing PostgreSQL
//! and Redis, written to and listened to while one fault is injected, then checked: every write
//! the server acknowledged is stored exactly once, and every listener, having resumed (or been
//! told `recovered: false` and reloaded), has every acknowledged write. The steps:
//!
//! - `kill-node`: one of the nodes is SIGKILLed; its clients move to the others and resume.
//! - `redis-restart`, `postgres-restart`: the service is stopped and started again with the
//!   `--stop-cmd` and `--start-cmd` the caller gives (the services are the caller's: private
//!   instances, see `loadtest/chaos/ci.sh`). Writes during the outage may be refused, never
//!   acknowledged and then lost.
//! - `slow-consumer`: a share of the listeners stop reading while posts flood the channel; the
//!   server must close them with 4001 and no one else.
//! - `reconnect-storm`: every listener and writer drops its connection at once and resumes.
//! - `soak`: no fault; steady traffic for a long while, each node's memory and connections
//!   sampled (`--sample-secs`) and printed as a table after the verdict.

pub mod args;
pub mod cluster;
pub mod listener;
pub mod sampler;
pub mod verify;
pub mod writers;

use crate::accounts::{Accounts, CLASSES, TokenSource};
use anyhow::{Context, bail};
pub use args::{ChaosArgs, Step};
use cluster::{Cluster, NodeSettings, run_hook};
use hehe_protocol::{Channel, PlaceId};
use listener::{Control, ListenerLog, ListenerSpec};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use writers::{WriteKind, WriterLog, WriterSpec};

/// How the nodes count slow-consumer closes.
const CLOSED_4001: &str = "hehe_closes_total{code=\"4001\"}";

/// What a step found.
pub struct Verdict {
    pub step: Step,
    pub passed: bool,
    /// One line: the figures.
    pub summary: String,
    /// The checks that failed.
    pub failures: Vec<String>,
    pub work_dir: PathBuf,
}

/// Runs one step and judges it. An `Err` is a run that could not be made (a node that would
/// not start), which fails the step as well.
pub async fn run(args: &ChaosArgs) -> anyhow::Result<Verdict> {
    args.validate()?;
    let started = Instant::now();
    let run = crate::scenarios::run_tag();
    let tag = format!("chaos {run}");
    let work_dir = args
        .work_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("hehe-chaos-{run}")));
    let slow = args.step == Step::SlowConsumer;
    let settings = NodeSettings {
        server_bin: args.server_bin.clone(),
        database_url: args.database_url.clone(),
        redis_url: args.redis_url.clone(),
        redis_prefix: format!("chaos-{run}"),
        token_secret: format!(
            "chaos-{run}-{:016x}{:016x}",
            rand::random::<u64>(),
            rand::random::<u64>()
        ),
        loadtest_accounts: args.loadtest_accounts,
        work_dir: work_dir.join(args.step.name()),
        outbox_bytes: args.outbox_bytes,
        close_grace_ms: slow.then_some(60_000),
    };
    let node_count = args
        .nodes
        .unwrap_or(if args.step == Step::KillNode { 3 } else { 2 })
        .clamp(1, 8);
    let mut cluster = Cluster::start(settings.clone(), node_count).await?;
    let outcome = drive(args, &mut cluster, &tag, &settings.token_secret).await;
    let elapsed = started.elapsed().as_secs_f64();
    let work = cluster.work_dir().to_owned();
    cluster.stop().await;
    let (mut summary, failures) = outcome?;
    // After the one-line figures, before a table of samples.
    let at = summary.find("\n\n").unwrap_or(summary.len());
    summary.insert_str(at, &format!("; {elapsed:.1} s"));
    Ok(Verdict {
        step: args.step,
        passed: failures.is_empty(),
        summary,
        failures,
        work_dir: work,
    })
}

/// The run proper: clients, the fault, recovery, the checks. Returns the summary and failures.
async fn drive(
    args: &ChaosArgs,
    cluster: &mut Cluster,
    tag: &str,
    secret: &str,
) -> anyhow::Result<(String, Vec<String>)> {
    let http = cluster.nodes[0].http.clone();
    let password = "hehe-demo";
    let http_urls: Arc<Vec<String>> = Arc::new(
        cluster
            .nodes
            .iter()
            .map(|n| n.http.base_url().to_owned())
            .collect(),
    );
    let ws_urls: Arc<Vec<String>> = Arc::new(cluster.nodes.iter().map(|n| n.ws_url()).collect());

    // Who writes where: officials and the chief post to the home channel of Riverside, whose
    // residents (every third load-test account) listen and raise issues at the worker's grid.
    let official = http
        .login("official", password)
        .await
        .context("logging in official")?;
    let chief = http
        .login("chief", password)
        .await
        .context("logging in chief")?;
    let worker = http
        .login("worker", password)
        .await
        .context("logging in worker")?;
    let home = official
        .account
        .grants
        .iter()
        .flat_map(|g| g.channels.iter().copied())
        .find(|c| matches!(c, Channel::Home(_)))
        .context("the demo official reads no home channel")?;
    let grid: PlaceId = worker
        .account
        .grants
        .iter()
        .find_map(|g| g.place.as_ref().map(|p| p.id))
        .context("the demo worker has no grid")?;
    let categories: Arc<Vec<String>> = Arc::new(
        http.categories()
            .await
            .context("reading the categories")?
            .into_iter()
            .map(|c| c.code)
            .collect(),
    );
    anyhow::ensure!(!categories.is_empty(), "the server lists no categories");
    let account = |k: u32| 1 + CLASSES * k;
    let residents = args.listeners + args.submitters;
    let known = Accounts::discover(&http, password, account(residents.max(1) - 1)).await?;
    let source = TokenSource::new(Some(secret), &http, password);
    let ttl = (args.duration + args.drain) as u64 + 3600;
    let tokens = crate::scenarios::fanout::tokens(
        &source,
        &known,
        (0..residents).map(account).collect(),
        ttl,
    )
    .await?;
    let since_ms = (crate::measure::unix_us() / 1000) as i64 - 60_000;

    // The listeners, subscribed before anything is written.
    let (control_tx, control_rx) = watch::channel(Control::default());
    let slow_count = if args.step == Step::SlowConsumer {
        ((f64::from(args.listeners) * args.slow_share).ceil() as u32).clamp(1, args.listeners)
    } else {
        0
    };
    let mut listener_logs = Vec::new();
    let mut listener_tasks = Vec::new();
    for (k, token) in tokens.iter().enumerate().take(args.listeners as usize) {
        let log = Arc::new(Mutex::new(ListenerLog::default()));
        let spec = ListenerSpec {
            index: k,
            token: token.clone(),
            channel: home,
            http_urls: http_urls.clone(),
            tag: tag.to_owned(),
            since_ms,
            slow: (k as u32) < slow_count,
        };
        listener_tasks.push(tokio::spawn(listener::run(
            spec,
            log.clone(),
            control_rx.clone(),
        )));
        listener_logs.push(log);
    }
    let subscribed_by = Instant::now() + Duration::from_secs(60);
    while !listener_logs.iter().all(|l| lock(l).subscribed) {
        if Instant::now() >= subscribed_by {
            let mut failures = crate::measure::Tally::new();
            for l in &listener_logs {
                crate::measure::add_tally(&mut failures, &lock(l).closes);
            }
            bail!("the listeners did not all subscribe within 60 s: {failures:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let metrics_every = args
        .sample_secs
        .or((args.step == Step::Soak).then_some(30.0))
        .map(Duration::from_secs_f64);
    let sampler = sampler::Sampler::start(
        cluster.nodes.iter().map(|n| n.http.clone()).collect(),
        metrics_every,
    );

    // The writers.
    let duration = Duration::from_secs_f64(args.duration);
    let writing_ends = Instant::now() + duration;
    let post_chars = args
        .post_chars
        .unwrap_or(if args.step == Step::SlowConsumer {
            2000
        } else {
            60
        });
    let mut writer_tasks = Vec::new();
    for p in 0..args.posters as usize {
        let token = if p % 2 == 0 { &official } else { &chief };
        let spec = WriterSpec {
            index: p,
            kind: WriteKind::Post {
                channel: home,
                chars: post_chars,
            },
            token: token.access_token.clone(),
            ws_urls: ws_urls.clone(),
            tag: tag.to_owned(),
            rate: args.post_rate / f64::from(args.posters),
            duration,
        };
        writer_tasks.push(tokio::spawn(writers::run(spec, control_rx.clone())));
    }
    if args.submit_rate > 0.0 {
        for s in 0..args.submitters as usize {
            let spec = WriterSpec {
                index: args.posters as usize + s,
                kind: WriteKind::Issue {
                    categories: categories.clone(),
                    place: grid,
                },
                token: tokens[args.listeners as usize + s].clone(),
                ws_urls: ws_urls.clone(),
                tag: tag.to_owned(),
                rate: args.submit_rate / f64::from(args.submitters),
                duration,
            };
            writer_tasks.push(tokio::spawn(writers::run(spec, control_rx.clone())));
        }
    }

    // The fault.
    tokio::time::sleep(Duration::from_secs_f64(args.fault_after)).await;
    let outage = Duration::from_secs_f64(args.outage);
    let mut killed = None;
    let fault = match args.step {
        Step::KillNode => {
            let k = cluster.nodes.len() - 1;
            cluster.kill(k).await?;
            killed = Some(k);
            format!("node {} of {} SIGKILLed", k + 1, cluster.nodes.len())
        }
        Step::RedisRestart | Step::PostgresRestart => {
            let what = if args.step == Step::RedisRestart {
                "Redis"
            } else {
                "PostgreSQL"
            };
            run_hook(
                &format!("{what} stop"),
                args.stop_cmd.as_deref().unwrap_or(""),
            )
            .await?;
            tokio::time::sleep(outage).await;
            run_hook(
                &format!("{what} start"),
                args.start_cmd.as_deref().unwrap_or(""),
            )
            .await?;
            format!("{what} down {:.1} s", args.outage)
        }
        Step::SlowConsumer => {
            // Kernel buffers take megabytes before the server's queue grows: the pause lasts
            // until the nodes have closed every slow listener, or `--outage` at most.
            let began = Instant::now();
            control_tx.send_modify(|c| c.pause_until = Some(began + outage));
            let nodes: Vec<_> = cluster.nodes.iter().map(|n| n.http.clone()).collect();
            while began.elapsed() < outage
                && sampler::sum(&nodes, CLOSED_4001).await < f64::from(slow_count)
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            control_tx.send_modify(|c| c.pause_until = None);
            let paused = began.elapsed().as_secs_f64();
            // A little more writing, live, for the resumed listeners; then no more flood.
            tokio::time::sleep(Duration::from_secs(2)).await;
            control_tx.send_modify(|c| c.stop_writing = true);
            format!("{slow_count} listeners stopped reading for {paused:.1} s")
        }
        Step::ReconnectStorm => {
            control_tx.send_modify(|c| c.drops += 1);
            format!(
                "{} listeners and every writer dropped at once",
                args.listeners
            )
        }
        Step::Soak => {
            // Churn, as phones come and go: now and then everyone reconnects and resumes.
            let mut storms = 0;
            if let Some(every) = args.storm_every.map(Duration::from_secs_f64) {
                while Instant::now() + every < writing_ends {
                    tokio::time::sleep(every).await;
                    control_tx.send_modify(|c| c.drops += 1);
                    storms += 1;
                }
            }
            format!(
                "no fault, {:.0} s of steady traffic, {storms} reconnect storms",
                args.duration
            )
        }
    };

    // Writing ends; a write still retrying finishes (acknowledged or refused) first.
    let mut wlogs: Vec<(bool, WriterLog)> = Vec::new();
    for (i, task) in writer_tasks.into_iter().enumerate() {
        let is_post = i < args.posters as usize;
        wlogs.push((is_post, task.await.context("a writer failed")?));
    }
    cluster.wait_all_ready().await?;

    let posts: Vec<writers::Ack> = wlogs
        .iter()
        .filter(|(p, _)| *p)
        .flat_map(|(_, l)| l.acked.iter().cloned())
        .collect();
    let issues: Vec<writers::Ack> = wlogs
        .iter()
        .filter(|(p, _)| !*p)
        .flat_map(|(_, l)| l.acked.iter().cloned())
        .collect();

    // Every listener should now get every acknowledged write: wait for the last ones.
    let drain_until = Instant::now() + Duration::from_secs_f64(args.drain);
    loop {
        let all_in = listener_logs.iter().all(|l| {
            let l = lock(l);
            posts.iter().all(|a| l.has_message(a.id)) && issues.iter().all(|a| l.has_issue(a.id))
        });
        if all_in || Instant::now() >= drain_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    control_tx.send_modify(|c| c.stop = true);
    let samples = sampler.finish().await;
    let live: Vec<_> = cluster
        .nodes
        .iter()
        .filter(|n| n.alive())
        .map(|n| n.http.clone())
        .collect();
    let closed_4001 = sampler::sum(&live, CLOSED_4001).await as u64;
    for task in listener_tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    }

    // What is stored, read through a node that survived.
    let reader = cluster.any_http().clone();
    let found = verify::run_writes(&reader, &official.access_token, home, tag, since_ms)
        .await
        .context("reading the writes back")?;
    let post_acc = verify::account(&posts, &found.messages);
    let issue_acc = verify::account(&issues, &found.issues);

    let mut failures = Vec::new();
    let mut fail = |ok: bool, what: String| {
        if !ok {
            failures.push(what);
        }
    };
    let refused: u64 = wlogs.iter().map(|(_, l)| l.refused).sum();
    let mut errors = crate::measure::Tally::new();
    for (_, l) in &wlogs {
        crate::measure::add_tally(&mut errors, &l.errors);
    }
    fail(
        post_acc.acked > 0,
        "no post was acknowledged: the run tested nothing".into(),
    );
    fail(
        post_acc.lost == 0 && issue_acc.lost == 0,
        format!(
            "acknowledged writes missing from the history: {} posts, {} issues",
            post_acc.lost, issue_acc.lost
        ),
    );
    fail(
        post_acc.duplicated == 0 && issue_acc.duplicated == 0,
        format!(
            "writes stored more than once: {} posts, {} issues",
            post_acc.duplicated, issue_acc.duplicated
        ),
    );

    // The listeners' accounting.
    let (mut missed, mut twice, mut reconnects, mut reloads, mut gaps) = (0u64, 0u64, 0, 0, 0);
    let mut closes = crate::measure::Tally::new();
    let (mut slow_kept, mut slow_saw_4001) = (0u32, 0u32);
    let mut fast_closed = 0;
    let mut problems = Vec::new();
    for (k, l) in listener_logs.iter().enumerate() {
        let l = lock(l);
        missed += posts.iter().filter(|a| !l.has_message(a.id)).count() as u64;
        missed += issues.iter().filter(|a| !l.has_issue(a.id)).count() as u64;
        twice += l
            .messages
            .values()
            .chain(l.issues.values())
            .map(|n| u64::from(n - 1))
            .sum::<u64>();
        reconnects += l.reconnects;
        reloads += l.recovered_false;
        gaps += l.gaps;
        crate::measure::add_tally(&mut closes, &l.closes);
        problems.extend(l.problems.iter().cloned());
        if (k as u32) < slow_count {
            slow_kept += u32::from(l.closes.is_empty());
            slow_saw_4001 += u32::from(l.closes.contains_key("closed 4001"));
        } else if args.step == Step::SlowConsumer && (!l.closes.is_empty() || l.reconnects > 0) {
            fast_closed += 1;
        }
    }
    fail(
        missed == 0,
        format!(
            "{missed} acknowledged writes never reached a listener (live, resumed or reloaded)"
        ),
    );
    fail(
        twice == 0,
        format!("{twice} writes delivered twice at different positions"),
    );
    fail(
        problems.is_empty(),
        format!("listener problems: {problems:?}"),
    );
    match args.step {
        Step::SlowConsumer => {
            // The server's count is the truth: a close frame stuck behind a full socket may
            // never reach the client, which then only sees its connection end.
            fail(
                closed_4001 >= u64::from(slow_count) && slow_kept == 0,
                format!(
                    "the nodes closed {closed_4001} connections with 4001 for {slow_count} slow \
                     listeners; {slow_kept} slow listeners kept their connection"
                ),
            );
            fail(
                fast_closed == 0,
                format!("{fast_closed} listeners that kept reading were disconnected"),
            );
        }
        Step::KillNode | Step::ReconnectStorm => {
            let expected = match killed {
                Some(k) => (0..args.listeners as usize)
                    .filter(|i| i % cluster.nodes.len() == k)
                    .count(),
                None => args.listeners as usize,
            } as u64;
            fail(
                reconnects >= expected,
                format!(
                    "only {reconnects} listeners resumed of the {expected} that lost their connection"
                ),
            );
        }
        Step::RedisRestart | Step::PostgresRestart => fail(
            samples.not_ready.first().is_some_and(|n| *n > 0),
            "node 1 always answered /readyz with 200 in time: the outage was not felt".into(),
        ),
        Step::Soak => {}
    }
    let slowest = wlogs
        .iter()
        .map(|(_, l)| l.slowest_ack)
        .max()
        .unwrap_or_default();

    let summary = format!(
        "{fault}; {nodes} nodes, {listeners} listeners; posts {pa} acknowledged, issues {ia} \
         acknowledged, {refused} refused (errors {errors:?}); history: {lost} lost, {dup} \
         stored twice, {unack} stored unacknowledged; listeners: {missed} missed, {twice} twice, \
         {reconnects} resumed, {reloads} told to reload, {gaps} gaps; closes {closes:?}; \
         slowest acknowledgement {slowest:.1?}; /readyz not 200 (per node, 200 ms polls): \
         {not_ready:?}",
        not_ready = samples.not_ready,
        nodes = cluster.nodes.len(),
        listeners = args.listeners,
        pa = post_acc.acked,
        ia = issue_acc.acked,
        lost = post_acc.lost + issue_acc.lost,
        dup = post_acc.duplicated + issue_acc.duplicated,
        unack = post_acc.unacknowledged + issue_acc.unacknowledged,
    );
    let summary = if args.step == Step::SlowConsumer {
        format!(
            "{summary}; closes with 4001 counted by the nodes: {closed_4001}, seen by the slow \
             listeners: {slow_saw_4001}"
        )
    } else {
        summary
    };
    let mut summary = summary;
    if metrics_every.is_some() {
        summary.push_str("\n\n");
        summary.push_str(&sampler::table(&samples.metrics, cluster.nodes.len()));
    }
    Ok((summary, failures))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs a step and prints its verdict; the exit code says whether it passed.
pub async fn main(args: &ChaosArgs) -> std::process::ExitCode {
    use std::io::Write;
    let step = args.step.name();
    let (out, code) = match run(args).await {
        Ok(v) => {
            let word = if v.passed { "PASS" } else { "FAIL" };
            let mut out = format!("chaos {step}: {word}: {}\n", v.summary);
            for f in &v.failures {
                out.push_str(&format!("  failed: {f}\n"));
            }
            if v.passed {
                (out, std::process::ExitCode::SUCCESS)
            } else {
                out.push_str(&format!("  node logs: {}\n", v.work_dir.display()));
                (out, std::process::ExitCode::FAILURE)
            }
        }
        Err(e) => (
            format!("chaos {step}: FAIL: the run could not be made: {e:#}\n"),
            std::process::ExitCode::from(2),
        ),
    };
    // The verdict is the program's output.
    let _ = std::io::stdout().write_all(out.as_bytes());
    code
}
