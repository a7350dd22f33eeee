//! `baseline`: the `room` measurement against the minimal broadcast server
//! ([`crate::baseline_server`]), so that Hehe's deliveries per server CPU-second can be set
//! beside those of a loop that does nothing but broadcast.
//!
//! The same machinery as `room`: members spread over workers and source addresses, numbered
//! time-stamped lines from publishers at a steady rate, every line checked off by every member,
//! the server's CPU read before and after publishing (from its `GET /cpu`). What differs: no
//! accounts or tokens, plain WebSocket frames instead of Hehe's JSON, and a line counts as
//! acknowledged when its publisher, a connection of the broadcast like any other, gets it back.
//! The server also sends every line to the publishers; deliveries count only the members'.

use super::fanout::{add_publish_figures, add_server_figures};
use super::{Fleet, Sources, connect_limit, jobs, merge, new_report, run_tag};
use crate::cli::{BaselineArgs, Common};
use crate::net;
use crate::publisher::{self, Published, PublisherSpec};
use crate::report::Report;
use crate::worker::protocol::{ClientSpec, FromWorker};
use anyhow::Context;
use hehe_client::{ConnectOptions, HttpClient};
use hehe_protocol::MeetingId;
use std::time::Duration;
use tokio::time::Instant;

/// As in `room`: connections settle before publishing starts.
const SETTLE: Duration = Duration::from_secs(1);

pub async fn run(common: &Common, args: &BaselineArgs) -> anyhow::Result<Report> {
    common.validate(args.members + args.publishers)?;
    args.validate()?;
    anyhow::ensure!(
        common.urls.len() == 1,
        "the baseline is one server: one --url"
    );
    let (ws_url, http_url) = net::loopback_ws_url(&common.urls[0])?;
    let http = HttpClient::new(http_url);
    let sources = Sources::new(common, args.members + args.publishers)?;
    let sample = || net::sample_baseline(&http);
    sample().await.with_context(|| {
        format!("{ws_url} does not answer GET /cpu: is it `hehe-loadtest baseline-server`?")
    })?;

    let mut report = new_report(
        "baseline",
        serde_json::json!({ "common": common, "baseline": args }),
    );
    let started = Instant::now();
    report.server.before_connect = sample().await;
    let members = args.members as usize;
    let clients: Vec<ClientSpec> = (0..members)
        .map(|k| ClientSpec {
            ws_url: ws_url.clone(),
            local_ip: sources.ip(k),
            token: String::new(),
            channels: Vec::new(),
        })
        .collect();
    let run = run_tag();
    let workers = common.worker_count(args.members);
    let mut jobs = jobs(common, &run, clients, workers, true)?;
    for job in &mut jobs {
        job.raw = true;
    }
    let mut fleet = Fleet::start(common, jobs, workers > 0, None)?;
    report.connections.workers = fleet.workers();
    fleet
        .gather("connecting", connect_limit(common, args.members), |m| {
            matches!(m, FromWorker::Ready { .. }).then_some(())
        })
        .await?;
    report.server.after_connect = sample().await;
    tokio::time::sleep(SETTLE).await;

    report.server.before_publish = sample().await;
    let publishing_began = Instant::now();
    let until = publishing_began + Duration::from_secs_f64(common.duration);
    let publishers: Vec<_> = (0..args.publishers as usize)
        .map(|p| {
            let spec = PublisherSpec {
                index: p,
                ws_url: ws_url.clone(),
                options: ConnectOptions {
                    local_ip: sources.ip(members + p),
                    ..ConnectOptions::default()
                },
                token: String::new(),
                meeting: MeetingId(0),
                run: run.clone(),
                rate: args.rate / f64::from(args.publishers),
                payload: args.payload,
            };
            publisher::run_baseline(spec, until, fleet.sent.clone())
        })
        .collect();
    let mut publishing = tokio::spawn(futures_util::future::join_all(publishers));
    // Progress keeps coming while the publishers publish; `next` turns it into the bar.
    let published: Vec<Published> = loop {
        tokio::select! {
            done = &mut publishing => break done.context("a publisher failed")?,
            next = fleet.next() => { next?; }
        }
    };
    let publishing_secs = publishing_began.elapsed().as_secs_f64();

    let acked: Vec<Vec<u32>> = published.iter().map(|p| p.acked.clone()).collect();
    let attempted = fleet.attempted();
    let results = fleet
        .finish(acked, Duration::from_secs_f64(common.drain))
        .await?;
    report.server.after_publish = sample().await;
    merge(&mut report, attempted, &results);
    report.elapsed_secs = started.elapsed().as_secs_f64();
    add_publish_figures(
        &mut report,
        args.publishers,
        args.rate,
        &published,
        publishing_secs,
    );
    add_server_figures(&mut report);

    report.check_connections();
    report.check_delivery();
    Ok(report)
}
