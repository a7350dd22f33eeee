//! The options of `hehe-loadtest chaos`, and their bounds.

use crate::accounts::CLASSES;
use anyhow::Context;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Step {
    KillNode,
    RedisRestart,
    PostgresRestart,
    SlowConsumer,
    ReconnectStorm,
    Soak,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::KillNode => "kill-node",
            Step::RedisRestart => "redis-restart",
            Step::PostgresRestart => "postgres-restart",
            Step::SlowConsumer => "slow-consumer",
            Step::ReconnectStorm => "reconnect-storm",
            Step::Soak => "soak",
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ChaosArgs {
    /// The fault to inject.
    #[arg(value_enum)]
    pub step: Step,
    /// The `hehe-server` binary to run the nodes with.
    #[arg(long)]
    pub server_bin: PathBuf,
    /// PostgreSQL the nodes share (on loopback; the first node seeds it when empty).
    #[arg(long)]
    pub database_url: String,
    /// Redis the nodes share (on loopback).
    #[arg(long)]
    pub redis_url: String,
    /// Where the nodes keep their data directories and logs (default: a new temporary one).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Nodes to run (default: 3 for kill-node, 2 otherwise).
    #[arg(long)]
    pub nodes: Option<usize>,
    /// Residents listening on the home channel, spread over the nodes.
    #[arg(long, default_value_t = 30)]
    pub listeners: u32,
    /// Officials posting to the home channel.
    #[arg(long, default_value_t = 2)]
    pub posters: u32,
    /// Posts per second, all posters together.
    #[arg(long, default_value_t = 10.0)]
    pub post_rate: f64,
    /// Characters per post (default 60; 2,000, the most, for slow-consumer, to fill queues).
    #[arg(long)]
    pub post_chars: Option<usize>,
    /// Residents raising issues.
    #[arg(long, default_value_t = 3)]
    pub submitters: u32,
    /// Issues per second, all submitters together.
    #[arg(long, default_value_t = 5.0)]
    pub submit_rate: f64,
    /// Seconds of writing.
    #[arg(long, default_value_t = 12.0)]
    pub duration: f64,
    /// Seconds into writing when the fault comes.
    #[arg(long, default_value_t = 4.0)]
    pub fault_after: f64,
    /// Seconds a service stays down, or slow listeners stop reading.
    #[arg(long, default_value_t = 3.0)]
    pub outage: f64,
    /// Share of the listeners that stop reading (slow-consumer).
    #[arg(long, default_value_t = 0.2)]
    pub slow_share: f64,
    /// Shell command stopping the service (redis-restart, postgres-restart).
    #[arg(long)]
    pub stop_cmd: Option<String>,
    /// Shell command starting it again.
    #[arg(long)]
    pub start_cmd: Option<String>,
    /// Seconds to wait, after writing, for every listener to have every write.
    #[arg(long, default_value_t = 30.0)]
    pub drain: f64,
    /// Soak: every this many seconds, every listener and writer reconnects and resumes.
    #[arg(long)]
    pub storm_every: Option<f64>,
    /// The nodes' per-connection queue bound, `HEHE_OUTBOX_BYTES` (default: the server's).
    #[arg(long)]
    pub outbox_bytes: Option<u64>,
    /// Seconds between samples of every node's memory, connections and CPU (default: 30 for
    /// soak, none otherwise).
    #[arg(long)]
    pub sample_secs: Option<f64>,
    /// Load-test accounts the first node seeds (an empty database only).
    #[arg(long, default_value_t = 300)]
    pub loadtest_accounts: u32,
}

/// Hard bounds, so that no typo turns a chaos run into a runaway.
const MAX_CLIENTS: u32 = 2000;
const MAX_SECS: f64 = 3600.0;

impl ChaosArgs {
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.listeners + self.posters + self.submitters <= MAX_CLIENTS,
            "at most {MAX_CLIENTS} clients"
        );
        anyhow::ensure!(self.posters >= 1, "at least one poster");
        anyhow::ensure!(
            self.sample_secs.is_none_or(|s| s >= 1.0),
            "samples at most once a second"
        );
        anyhow::ensure!(
            self.duration > 0.0 && self.duration <= MAX_SECS,
            "the duration is between 0 and {MAX_SECS} s"
        );
        anyhow::ensure!(
            (0.0..=MAX_SECS).contains(&self.drain) && (0.0..=MAX_SECS).contains(&self.outage),
            "the drain and the outage are between 0 and {MAX_SECS} s"
        );
        anyhow::ensure!(
            self.fault_after < self.duration,
            "the fault comes while writing"
        );
        for rate in [self.post_rate, self.submit_rate] {
            anyhow::ensure!(
                (0.0..=crate::cli::MAX_RATE).contains(&rate),
                "rates are between 0 and {}",
                crate::cli::MAX_RATE
            );
        }
        anyhow::ensure!(self.post_rate > 0.0, "posts are needed");
        let needed = 1 + CLASSES * (self.listeners + self.submitters);
        anyhow::ensure!(
            needed <= self.loadtest_accounts,
            "{} listeners and submitters need {needed} load-test accounts",
            self.listeners + self.submitters
        );
        for url in [&self.database_url, &self.redis_url] {
            service_on_loopback(url)?;
        }
        if matches!(self.step, Step::RedisRestart | Step::PostgresRestart) {
            anyhow::ensure!(
                self.stop_cmd.is_some() && self.start_cmd.is_some(),
                "{} needs --stop-cmd and --start-cmd",
                self.step.name()
            );
        }
        Ok(())
    }
}

/// Checks a service URL (`postgres://user@host:port/db`, `redis://host:port`) names a loopback
/// host: chaos restarts what it is given, so it must be this machine's own.
fn service_on_loopback(url: &str) -> anyhow::Result<()> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    crate::net::loopback_url(&format!("http://{host_port}"))
        .map(|_| ())
        .with_context(|| format!("{url}: chaos only runs against services on loopback"))
}
