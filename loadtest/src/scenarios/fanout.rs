//! The fan-out scenarios: a living room whose members receive every line its publishers say.
//! `room` on one server; `reconnect-storm` with a share of the members dropping and resuming
//! mid-run; `cross-node` with members and publishers spread over several nodes.

use super::{Fleet, Servers, Sources, connect_limit, jobs, merge, new_report, run_tag};
use crate::accounts::{Accounts, CLASSES, TokenSource};
use crate::cli::{Common, RoomArgs};
use crate::measure::{Percentiles, add_tally, histogram};
use crate::ops::Feed;
use crate::publisher::{self, Published, PublisherSpec};
use crate::report::Report;
use crate::worker::protocol::{ClientSpec, FromWorker, ToWorker};
use anyhow::{Context, bail};
use futures_util::StreamExt;
use hehe_client::{ClientError, ConnectOptions, Connection};
use hehe_protocol::meeting::RoomAction;
use hehe_protocol::{Channel, ErrorCode, MeetingId};
use std::time::Duration;
use tokio::time::Instant;

/// After the members enter, their `entered` entries and presence batches settle before
/// publishing starts, so they do not weigh on the publishing figures.
const SETTLE: Duration = Duration::from_secs(1);

/// Which fan-out scenario.
#[derive(Debug, Clone, Copy)]
pub enum Variant {
    Room,
    /// `share` of the members drop `after` seconds into publishing.
    Storm {
        share: f64,
        after: f64,
    },
    CrossNode,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Room => "room",
            Variant::Storm { .. } => "reconnect-storm",
            Variant::CrossNode => "cross-node",
        }
    }
}

/// Account numbers: members and publishers are every third account, the participants of the
/// Riverside hearing (see `accounts`).
fn account(k: u32) -> u32 {
    1 + CLASSES * k
}

pub async fn run(
    common: &Common,
    room: &RoomArgs,
    variant: Variant,
    ops: Option<Feed>,
) -> anyhow::Result<Report> {
    common.validate(room.members + room.publishers)?;
    room.validate()?;
    let servers = Servers::new(&common.urls)?;
    if matches!(variant, Variant::CrossNode) && servers.http.len() < 2 {
        bail!("cross-node needs at least two --url");
    }
    let sources = Sources::new(common, room.members + room.publishers)?;
    let http = &servers.http[0];
    let last = account(room.members + room.publishers - 1);
    let known = Accounts::discover(http, &common.password, last).await?;
    let source = TokenSource::new(Some(&common.token_secret), http, &common.password);
    let ttl = (common.duration + common.drain) as u64 + 3600;
    let everyone: Vec<u32> = (0..room.members + room.publishers).map(account).collect();
    let tokens = tokens(&source, &known, everyone, ttl).await?;
    let meeting = MeetingId(room.meeting);
    start_meeting(&servers, room, &common.password, meeting).await?;

    let mut report = new_report(
        variant.name(),
        serde_json::json!({ "common": common, "room": room, "variant": format!("{variant:?}") }),
    );
    let started = Instant::now();
    report.server.before_connect = servers.sample().await;
    let members = room.members as usize;
    let clients: Vec<ClientSpec> = (0..members)
        .map(|k| ClientSpec {
            ws_url: servers.ws_url(k),
            local_ip: sources.ip(k),
            token: tokens[k].clone(),
            channels: vec![Channel::Room(meeting)],
        })
        .collect();
    let run = run_tag();
    let workers = common.worker_count(room.members);
    let jobs = jobs(common, &run, clients, workers, true)?;
    let mut fleet = Fleet::start(common, jobs, workers > 0, ops)?;
    report.connections.workers = fleet.workers();
    fleet
        .gather("connecting", connect_limit(common, room.members), |m| {
            matches!(m, FromWorker::Ready { .. }).then_some(())
        })
        .await?;
    report.server.after_connect = servers.sample().await;
    tokio::time::sleep(SETTLE).await;

    report.server.before_publish = servers.sample().await;
    let acked_count = fleet.sent.clone();
    let publishing_began = Instant::now();
    let until = publishing_began + Duration::from_secs_f64(common.duration);
    let publishers: Vec<_> = (0..room.publishers as usize)
        .map(|p| {
            let spec = PublisherSpec {
                index: p,
                ws_url: servers.ws_url(p),
                options: ConnectOptions {
                    local_ip: sources.ip(members + p),
                    ..ConnectOptions::default()
                },
                token: tokens[members + p].clone(),
                meeting,
                run: run.clone(),
                rate: room.rate / f64::from(room.publishers),
                payload: room.payload,
            };
            publisher::run(spec, until, acked_count.clone())
        })
        .collect();
    let mut publishing = tokio::spawn(futures_util::future::join_all(publishers));

    let storm = match variant {
        Variant::Storm { share, after } => Some((share, after)),
        _ => None,
    };
    let drop_at =
        publishing_began + Duration::from_secs_f64(storm.map_or(0.0, |(_, after)| after.max(0.0)));
    let mut drop_pending = storm.is_some();
    let mut drops_answered = 0;
    let published: Vec<Published> = loop {
        tokio::select! {
            done = &mut publishing => break done.context("a publisher failed")?,
            _ = tokio::time::sleep_until(drop_at), if drop_pending => {
                drop_pending = false;
                fleet.broadcast(&ToWorker::Drop { share: storm.map_or(0.0, |s| s.0) });
            }
            next = fleet.next() => {
                if let (_, FromWorker::Dropped { dropped, failed }) = next? {
                    report.reconnect.dropped += dropped;
                    report.reconnect.failed += failed;
                    drops_answered += 1;
                }
            }
        }
    };
    let publishing_secs = publishing_began.elapsed().as_secs_f64();
    if storm.is_some() && !drop_pending {
        let still = fleet.workers() - drops_answered;
        let late = gather_drops(&mut fleet, still).await?;
        report.reconnect.dropped += late.0;
        report.reconnect.failed += late.1;
    }

    let acked: Vec<Vec<u32>> = published.iter().map(|p| p.acked.clone()).collect();
    let attempted = fleet.attempted();
    let results = fleet
        .finish(acked, Duration::from_secs_f64(common.drain))
        .await?;
    report.server.after_publish = servers.sample().await;
    merge(&mut report, attempted, &results);
    report.elapsed_secs = started.elapsed().as_secs_f64();
    add_publish_figures(
        &mut report,
        room.publishers,
        room.rate,
        &published,
        publishing_secs,
    );
    add_server_figures(&mut report);

    report.check_connections();
    report.check_delivery();
    if let Some((share, _)) = storm {
        let r = &report.reconnect;
        let detail = format!("{} dropped, {} failed to resume", r.dropped, r.failed);
        let ok = r.failed == 0 && (share <= 0.0 || r.dropped > 0);
        report.check("all_resumed", ok, detail);
    }
    Ok(report)
}

/// Access tokens for accounts `numbers`, in order; a few at a time when each is a login.
pub async fn tokens(
    source: &TokenSource,
    accounts: &Accounts,
    numbers: Vec<u32>,
    ttl: u64,
) -> anyhow::Result<Vec<String>> {
    futures_util::stream::iter(numbers)
        .map(|n| source.token(accounts, n, ttl))
        .buffered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// The chair starts the meeting, so that its members may say things; one already live is fine.
async fn start_meeting(
    servers: &Servers,
    room: &RoomArgs,
    password: &str,
    meeting: MeetingId,
) -> anyhow::Result<()> {
    let token = TokenSource::demo_login(&servers.http[0], &room.chair, password).await?;
    let mut chair = Connection::connect(&servers.ws_url(0), &token)
        .await
        .context("connecting the chair")?;
    match chair.room_action(meeting, RoomAction::Start).await {
        Ok(_) => {}
        Err(ClientError::Server {
            code: ErrorCode::Conflict,
            ..
        }) => {}
        Err(e) => return Err(e).context("starting the meeting"),
    }
    let _ = chair.close().await;
    Ok(())
}

/// The `Dropped` answers still outstanding after publishing ended.
async fn gather_drops(fleet: &mut Fleet, outstanding: usize) -> anyhow::Result<(u64, u64)> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut dropped, mut failed, mut answered) = (0, 0, 0);
    while answered < outstanding {
        let next = tokio::time::timeout_at(deadline, fleet.next())
            .await
            .context("the dropped clients did not resume in time")??;
        if let (
            _,
            FromWorker::Dropped {
                dropped: d,
                failed: f,
            },
        ) = next
        {
            dropped += d;
            failed += f;
            answered += 1;
        }
    }
    Ok((dropped, failed))
}

pub(super) fn add_publish_figures(
    report: &mut Report,
    publishers: u32,
    rate: f64,
    published: &[Published],
    secs: f64,
) {
    let mut ack = histogram();
    let p = &mut report.publish;
    p.publishers = publishers;
    p.rate_asked = rate;
    for one in published {
        p.sent += one.sent;
        p.acknowledged += one.acked.len() as u64;
        let _ = ack.add(&one.ack);
        add_tally(&mut report.errors, &one.errors);
    }
    p.rate_achieved = p.acknowledged as f64 / secs.max(0.001);
    p.acknowledgement = Percentiles::of(&ack);
    report.deliveries.per_second_mean = report.deliveries.counts.received as f64 / secs.max(0.001);
}

pub(super) fn add_server_figures(report: &mut Report) {
    let s = &mut report.server;
    if let (Some(before), Some(after)) = (s.before_connect, s.after_connect)
        && report.connections.connected > 0
    {
        s.memory_per_connection_bytes = Some(
            (after.resident_bytes - before.resident_bytes) / report.connections.connected as f64,
        );
    }
    if let (Some(before), Some(after)) = (s.before_publish, s.after_publish) {
        let cpu = after.cpu_seconds - before.cpu_seconds;
        s.cpu_seconds = Some(cpu);
        if cpu > 0.0 {
            s.deliveries_per_cpu_second = Some(report.deliveries.counts.received as f64 / cpu);
        }
    }
}
