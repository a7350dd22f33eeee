//! `hehe-loadtest`: load for a Hehe server on this machine, measured exactly.
//!
//! A coordinator (this process) prepares a run (accounts, tokens, the meeting), spreads its
//! connections over workers (child processes, or tasks of its own for small runs), publishes,
//! and adds up what the workers saw into a [`report::Report`]. Every event a publisher had
//! acknowledged must reach every subscriber exactly once and in order; the report counts what
//! did not, and the program fails when an invariant does not hold.
//!
//! Modules: `cli` (options), `accounts` (load-test accounts and tokens), `net` (loopback checks,
//! source addresses, the server's `/metrics`), `worker` (the workers, their protocol and their
//! clients), `publisher`, `payload` (what a published line says), `measure` (histograms and
//! accounting), `scenarios` and `report` (JSON and HTML), `baseline_server` (a minimal
//! WebSocket broadcast loop that the `baseline` scenario measures like `room`, to compare
//! Hehe's deliveries per CPU-second with), and `chaos` (server processes of its own, faults
//! injected under load, every acknowledged write checked afterwards).

pub mod accounts;
pub mod baseline_server;
pub mod chaos;
pub mod cli;
pub mod measure;
pub mod net;
pub mod ops;
pub mod payload;
pub mod publisher;
pub mod report;
pub mod scenarios;
pub mod worker;

use cli::Command;
use report::Report;
use scenarios::fanout::{self, Variant};

/// Runs a scenario (not `worker`) and returns its report.
pub async fn run(command: &Command) -> anyhow::Result<Report> {
    let Some(common) = command.common() else {
        anyhow::bail!("`worker`, `baseline-server` and `chaos` are not scenarios");
    };
    if let Command::Baseline { common, room } = command {
        // No Hehe server: no ops feed either.
        return scenarios::baseline::run(common, room).await;
    }
    let first = net::loopback_url(common.urls.first().map_or("", String::as_str))?;
    let http = hehe_client::HttpClient::new(first);
    let feed = ops::Feed::connect(
        &http,
        common.ops_account.as_deref(),
        &common.password,
        command.scenario(),
    )
    .await?;
    let report = match command {
        Command::Idle {
            common,
            connections,
            accounts,
        } => scenarios::idle::run(common, *connections, *accounts, feed.clone()).await,
        Command::Room { common, room } => {
            fanout::run(common, room, Variant::Room, feed.clone()).await
        }
        Command::ReconnectStorm {
            common,
            room,
            drop_share,
            drop_after,
        } => {
            let after = drop_after.unwrap_or(common.duration / 2.0);
            let variant = Variant::Storm {
                share: *drop_share,
                after,
            };
            fanout::run(common, room, variant, feed.clone()).await
        }
        Command::CrossNode { common, room } => {
            fanout::run(common, room, Variant::CrossNode, feed.clone()).await
        }
        Command::Neighbourhood {
            common,
            residents,
            submit_rate,
        } => match submit_rate {
            Some(rate) => scenarios::neighbourhood::sustained(common, *residents, *rate).await,
            None => scenarios::neighbourhood::run(common, *residents).await,
        },
        Command::Notify {
            common,
            residents,
            issues,
            concurrency,
        } => scenarios::notify::run(common, *residents, *issues, *concurrency).await,
        Command::Worker
        | Command::BaselineServer { .. }
        | Command::Baseline { .. }
        | Command::Chaos(_) => {
            unreachable!("handled above")
        }
    }?;
    if let Some(feed) = &feed {
        feed.finish(&report).await;
    }
    Ok(report)
}

/// Writes the report where the options ask.
pub fn write_report(common: &cli::Common, report: &Report) -> anyhow::Result<()> {
    use anyhow::Context;
    if let Some(path) = &common.report {
        let json = serde_json::to_string_pretty(report)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &common.html {
        std::fs::write(path, report::html::render(report))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

impl Command {
    /// The common options of a scenario.
    pub fn common(&self) -> Option<&cli::Common> {
        match self {
            Command::Idle { common, .. }
            | Command::Room { common, .. }
            | Command::ReconnectStorm { common, .. }
            | Command::CrossNode { common, .. }
            | Command::Neighbourhood { common, .. }
            | Command::Notify { common, .. }
            | Command::Baseline { common, .. } => Some(common),
            Command::Worker | Command::BaselineServer { .. } | Command::Chaos(_) => None,
        }
    }

    /// The scenario's name, as in reports.
    pub fn scenario(&self) -> &'static str {
        match self {
            Command::Idle { .. } => "idle",
            Command::Room { .. } => "room",
            Command::ReconnectStorm { .. } => "reconnect-storm",
            Command::CrossNode { .. } => "cross-node",
            Command::Neighbourhood { .. } => "neighbourhood",
            Command::Notify { .. } => "notify",
            Command::Baseline { .. } => "baseline",
            Command::BaselineServer { .. } => "baseline-server",
            Command::Worker => "worker",
            Command::Chaos(_) => "chaos",
        }
    }
}
