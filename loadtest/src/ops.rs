//! The run's figures for the ops dashboards (`--ops-account`): posted once a second to
//! `POST /api/ops/loadtest`, which publishes them on the ops channel, and once more at the end
//! with the final accounting. A failed post is logged and the run goes on: the dashboards are
//! an audience, not a part of the measurement.

use crate::report::Report;
use hehe_client::HttpClient;
use hehe_protocol::ops::{LatencySummary, LoadtestProgress};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// How often progress is posted.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// Where and as whom the figures go.
#[derive(Clone)]
pub struct Feed {
    http: HttpClient,
    token: String,
    run: String,
    scenario: String,
    started: Instant,
    /// Set after the first failed post, so a refusing server is reported once.
    warned: Arc<AtomicBool>,
}

/// What the coordinator knows while the run goes on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Live {
    pub connections: u64,
    pub sent: u64,
    pub received: u64,
    pub deliveries_per_sec: f64,
    pub errors: u64,
    pub latency: LatencySummary,
}

impl Feed {
    /// Logs in the ops account; `None` when no account is given.
    pub async fn connect(
        http: &HttpClient,
        account: Option<&str>,
        password: &str,
        scenario: &str,
    ) -> anyhow::Result<Option<Self>> {
        let Some(account) = account else {
            return Ok(None);
        };
        let token = crate::accounts::TokenSource::demo_login(http, account, password).await?;
        Ok(Some(Self {
            http: http.clone(),
            token,
            run: format!("{scenario}-{}", crate::scenarios::run_tag()),
            scenario: scenario.to_owned(),
            started: Instant::now(),
            warned: Arc::new(AtomicBool::new(false)),
        }))
    }

    /// Posts progress in the background.
    pub fn progress(&self, live: Live) {
        let body = self.body(live, BTreeMap::new(), (0, 0, 0), false);
        let feed = self.clone();
        tokio::spawn(async move { feed.post(&body).await });
    }

    /// Posts the final figures and waits for the answer.
    pub async fn finish(&self, report: &Report) {
        let d = &report.deliveries;
        let live = Live {
            connections: report.connections.connected,
            sent: report.publish.acknowledged,
            received: d.counts.received,
            deliveries_per_sec: d.per_second_mean,
            errors: report.errors.values().sum(),
            latency: LatencySummary {
                p50: d.latency.p50_ms,
                p90: d.latency.p90_ms,
                p99: d.latency.p99_ms,
                max: d.latency.max_ms,
            },
        };
        let closes = report
            .closes
            .iter()
            .filter_map(|(code, n)| code.parse().ok().map(|c: u16| (c, *n)))
            .collect();
        let accounting = (d.counts.lost, d.counts.duplicated, d.counts.out_of_order);
        let body = self.body(live, closes, accounting, true);
        self.post(&body).await;
    }

    fn body(
        &self,
        live: Live,
        closes: BTreeMap<u16, u64>,
        (lost, duplicates, out_of_order): (u64, u64, u64),
        done: bool,
    ) -> LoadtestProgress {
        // The server refuses negative or infinite figures.
        let finite = |v: f64| if v.is_finite() { v.max(0.0) } else { 0.0 };
        LoadtestProgress {
            run: self.run.clone(),
            scenario: self.scenario.clone(),
            elapsed_secs: self.started.elapsed().as_secs_f64(),
            connections: live.connections,
            sent: live.sent,
            received: live.received,
            deliveries_per_sec: finite(live.deliveries_per_sec),
            latency_ms: LatencySummary {
                p50: finite(live.latency.p50),
                p90: finite(live.latency.p90),
                p99: finite(live.latency.p99),
                max: finite(live.latency.max),
            },
            lost,
            duplicates,
            out_of_order,
            errors: live.errors,
            closes,
            done,
        }
    }

    async fn post(&self, body: &LoadtestProgress) {
        if let Err(e) = self.http.report_loadtest(&self.token, body).await
            && !self.warned.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(error = %e, "could not post progress to the ops channel");
        }
    }
}
