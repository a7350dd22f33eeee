//! `idle`: many connections that only listen, each subscribed to its home and street channels.
//! What it costs the server to hold them (memory per connection), how fast they connect, and
//! whether any is lost while held.

use super::{Fleet, Servers, Sources, connect_limit, jobs, merge, new_report, run_tag};
use crate::accounts::{Accounts, TokenSource};
use crate::cli::Common;
use crate::ops::Feed;
use crate::report::Report;
use crate::worker::protocol::{ClientSpec, FromWorker};
use std::time::Duration;
use tokio::time::Instant;

/// Lets the server's allocator settle after the last connection before memory is read.
const SETTLE: Duration = Duration::from_secs(1);

pub async fn run(
    common: &Common,
    connections: u32,
    accounts: u32,
    ops: Option<Feed>,
) -> anyhow::Result<Report> {
    common.validate(connections)?;
    anyhow::ensure!(connections >= 1, "at least one connection");
    let servers = Servers::new(&common.urls)?;
    let sources = Sources::new(common, connections)?;
    let distinct = if accounts == 0 {
        connections
    } else {
        accounts.min(connections)
    };
    let http = &servers.http[0];
    let known = Accounts::discover(http, &common.password, distinct).await?;
    let source = TokenSource::new(Some(&common.token_secret), http, &common.password);
    let ttl = (common.duration + common.drain) as u64 + 3600;
    let tokens = super::fanout::tokens(&source, &known, (1..=distinct).collect(), ttl).await?;

    let mut report = new_report(
        "idle",
        serde_json::json!({ "common": common, "connections": connections, "accounts": distinct }),
    );
    let started = Instant::now();
    report.server.before_connect = servers.sample().await;
    let clients: Vec<ClientSpec> = (0..connections as usize)
        .map(|c| {
            let n = (c as u32 % distinct) + 1;
            ClientSpec {
                ws_url: servers.ws_url(c),
                local_ip: sources.ip(c),
                token: tokens[n as usize - 1].clone(),
                channels: known.channels(n).to_vec(),
            }
        })
        .collect();
    let workers = common.worker_count(connections);
    let jobs = jobs(common, &run_tag(), clients, workers, false)?;
    let mut fleet = Fleet::start(common, jobs, workers > 0, ops)?;
    report.connections.workers = fleet.workers();
    fleet
        .gather("connecting", connect_limit(common, connections), |m| {
            matches!(m, FromWorker::Ready { .. }).then_some(())
        })
        .await?;
    tokio::time::sleep(SETTLE).await;
    report.server.after_connect = servers.sample().await;

    // Hold: the clients answer the server's heartbeats meanwhile.
    let until = Instant::now() + Duration::from_secs_f64(common.duration);
    while let Ok(next) = tokio::time::timeout_at(until, fleet.next()).await {
        next?;
    }
    let attempted = fleet.attempted();
    let results = fleet.finish(Vec::new(), Duration::ZERO).await?;
    merge(&mut report, attempted, &results);
    report.elapsed_secs = started.elapsed().as_secs_f64();

    if let (Some(before), Some(after)) = (report.server.before_connect, report.server.after_connect)
        && report.connections.connected > 0
    {
        report.server.memory_per_connection_bytes = Some(
            (after.resident_bytes - before.resident_bytes) / report.connections.connected as f64,
        );
    }
    report.check_connections();
    let closes: u64 = report.closes.values().sum();
    report.check(
        "none_closed_while_held",
        closes == 0,
        format!("{closes} connections closed by the server while held"),
    );
    Ok(report)
}
