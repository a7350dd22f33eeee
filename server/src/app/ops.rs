//! The ops channel `ops:1`: every node reports its figures there each interval, and the load
//! test posts its own, so one dashboard connected to any node sees the whole deployment. And
//! whether this node is ready to serve, for load balancers.

use crate::app::channels::Identity;
use crate::app::state::AppState;
use crate::domain::access::{self, ChannelTarget};
use crate::error::{AppError, AppResult};
use crate::live::bus::{Audience, Publication};
use hehe_protocol::EventKind;
use hehe_protocol::ops::{LoadtestProgress, NodeStats};
use hehe_protocol::{Channel, ErrorCode, Position};
use serde::Serialize;
use std::time::Instant;

async fn publish(state: &AppState, kind: EventKind, data: &impl Serialize) -> AppResult<Position> {
    let data = serde_json::value::to_raw_value(data).map_err(|e| {
        tracing::error!(error = %e, %kind, "cannot encode ops figures");
        AppError::new(ErrorCode::Internal, "internal error")
    })?;
    Ok(state
        .bus
        .publish(Publication {
            channel: Channel::OPS,
            audience: Audience::All,
            kind: kind.as_str().to_owned(),
            data,
            idempotency_key: None,
        })
        .await?)
}

/// This node's figures now; the bus-lag window starts over.
pub fn node_stats(state: &AppState, node: &str, started: Instant) -> NodeStats {
    state
        .metrics
        .node_stats(node, state.now(), started.elapsed().as_secs())
}

/// Publishes this node's figures, up since `started`; run each interval (see `serve`).
pub async fn report(state: &AppState, node: &str, started: Instant) {
    let stats = node_stats(state, node, started);
    if let Err(e) = publish(state, EventKind::NodeStats, &stats).await {
        // Figures are retaken next interval; a missed report loses no count.
        tracing::debug!(error = %e.message, "node figures not reported");
    }
}

/// What the readiness check found.
#[derive(Debug, Clone, Copy)]
pub struct Readiness {
    /// The store answers.
    pub store: bool,
    /// The bus answers.
    pub bus: bool,
    pub shutting_down: bool,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.store && self.bus && !self.shutting_down
    }
}

/// Asks the store and the bus whether they answer.
pub async fn readiness(state: &AppState) -> Readiness {
    Readiness {
        store: state.store.ping().await.is_ok(),
        bus: state.bus.ready().await,
        shutting_down: state.shutdown.is_cancelled(),
    }
}

/// Publishes a load test's figures for the dashboards. Only those who read `ops:1` may. A run
/// reports every second: its last report (`done`) stands for the run in the audit log.
pub async fn post_loadtest(
    state: &AppState,
    who: &Identity,
    progress: &LoadtestProgress,
) -> AppResult<Position> {
    if !access::can_read(&who.actor, &ChannelTarget::Ops) {
        return Err(AppError::forbidden());
    }
    check(progress)?;
    let position = publish(state, EventKind::LoadtestProgress, progress).await?;
    if progress.done {
        let target = format!("loadtest:{}", progress.run);
        crate::app::audit::after(state, who, "loadtest.run", target, None, None).await;
    }
    Ok(position)
}

fn check(p: &LoadtestProgress) -> AppResult<()> {
    for (name, value) in [("run", &p.run), ("scenario", &p.scenario)] {
        if value.is_empty() || value.chars().count() > LoadtestProgress::MAX_NAME {
            return Err(AppError::invalid(format!(
                "{name} must be 1 to {} characters",
                LoadtestProgress::MAX_NAME
            )));
        }
    }
    let l = &p.latency_ms;
    let figures = [
        p.elapsed_secs,
        p.deliveries_per_sec,
        l.p50,
        l.p90,
        l.p99,
        l.max,
    ];
    if figures.iter().any(|f| !f.is_finite() || *f < 0.0) {
        return Err(AppError::invalid(
            "times and rates must be finite and not negative",
        ));
    }
    Ok(())
}
