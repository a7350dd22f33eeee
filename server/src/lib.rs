//! The Hehe hub.
//!
//! The folders, and what each may use (arrows point down; nothing points back up):
//!
//! ```text
//! http/  ws/       transport: HTTP handlers, one file per resource; one task per WebSocket
//!   |     |
//!   v     v
//! app/             use-cases (issues, meetings, appraisals, channels, accounts, signing in
//!   |              and sessions, audit, places, stats, ops) and the `AppState` they run on;
//!   |              the only callers of the store
//!   +--> domain/   pure rules: access and roles, places, text, the issue, meeting and
//!   |              appraisal state machines, deadlines, calendar, statistics; no I/O at all
//!   +--> store/    the Store trait and its SQL (SQLite or PostgreSQL), a folder per concern
//!   +--> live/     the bus (history, fan-out across nodes), the hub (this node's bounded
//!   |              outboxes), frames, presence, publishing
//!   +--> identity/ tokens, passwords, the login backoff, revoked sessions
//!   +--> media/    photo checks and storage
//! infra/  error  config  clock    limits, metrics and logging; the error type; settings; time
//! ```
//!
//! One event's path: a client's frame is read by its session (`ws::session`), which calls a
//! use-case (`app::channels`); that asks the domain whether the actor may post, stores the post
//! (`store`), and publishes it (`live::publish`) on the bus, which numbers it, keeps it for
//! resuming and hands it to the hub of every node with subscribers; the hub queues the one
//! encoded frame in each subscriber's bounded outbox, and each connection's writer sends it.
//!
//! `run` is the whole server; `main` only wires configuration to it, and tests call it too.

pub mod app;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod identity;
pub mod infra;
pub mod live;
pub mod media;
pub mod store;
pub mod ws;

use crate::app::state::AppState;
use crate::config::Config;
use crate::identity::tokens::{Tokens, hash_password};
use crate::infra::metrics::Metrics;
use crate::infra::tasks::Tasks;
use crate::live::bus::Bus;
use crate::live::bus::memory::{HistoryLimits, MemoryBus};
use crate::live::bus::redis::RedisBus;
use crate::live::hub::Hub;
use crate::store::{SqlStore, Store};
use anyhow::Context;
use axum::serve::ListenerExt;
use rand::RngCore;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Builds the server's state from its configuration: opens and migrates the store, seeds the
/// demo when asked and the store is empty, and starts the bus.
pub async fn build_state(config: Config) -> anyhow::Result<(AppState, Arc<dyn Bus>)> {
    build_state_with(config, Arc::new(clock::SystemTime)).await
}

/// `hehe-server create-admin`: the first admin of an installation that has none, in the
/// configured store (see `app::accounts::create_first_admin`).
pub async fn create_first_admin(
    config: &Config,
    username: &str,
    display_name: &str,
    password: &str,
) -> anyhow::Result<(hehe_protocol::AccountId, String)> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let store = SqlStore::connect(&config.effective_database_url(), 1)
        .await
        .context("opening the database")?;
    let created = app::accounts::create_first_admin(
        &store,
        clock::unix_ms(),
        username,
        display_name,
        password,
    )
    .await;
    store.close().await;
    created.map_err(|e| anyhow::anyhow!(e.message))
}

/// `build_state` with a time source of the caller's (tests move time by hand).
pub async fn build_state_with(
    config: Config,
    time: Arc<dyn clock::TimeSource>,
) -> anyhow::Result<(AppState, Arc<dyn Bus>)> {
    let calendar = config.calendar().map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let secret = token_secret(&config)?;
    let store = SqlStore::connect(
        &config.effective_database_url(),
        config.database_max_connections,
    )
    .await
    .context("opening the database")?;
    let store: Arc<dyn Store> = Arc::new(store);
    if config.seed_demo
        && let Some(demo) = app::seed::seed_demo(store.as_ref(), time.now_ms()).await?
    {
        tracing::info!("seeded the demo neighbourhood");
        app::seed::seed_loadtest_accounts(store.as_ref(), &demo, config.loadtest_accounts).await?;
    }
    let metrics = Arc::new(Metrics::new());
    let hub = Hub::new(metrics.clone());
    let revocations =
        identity::revocation::Revocations::new(Duration::from_secs(config.access_token_ttl_secs));
    // Identity notices go to `revocations`, every other delivery to the hub.
    let delivery = Arc::new(identity::revocation::Delivery {
        hub: hub.clone(),
        revocations: revocations.clone(),
        store: store.clone(),
    });
    let limits = HistoryLimits {
        size: config.history_size,
        ttl: config.history_ttl(),
        meta_ttl: config.history_meta_ttl(),
        idempotency_ttl: config.idempotency_ttl(),
    };
    let bus: Arc<dyn Bus> = if config.redis_url.is_empty() {
        Arc::new(MemoryBus::new(limits, delivery))
    } else {
        // Several URLs: one Redis per shard, channels spread over them by a stable hash.
        let mut shards: Vec<Arc<dyn Bus>> = Vec::new();
        for url in config
            .redis_url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            let redis = live::bus::redis::RedisConfig {
                position_check_interval: Duration::from_secs(
                    config.redis_position_check_secs.max(1),
                ),
                presence_ttl: Duration::from_millis(config.redis_presence_ttl_ms.max(30)),
            };
            let shard =
                RedisBus::connect_with(url, &config.redis_prefix, limits, redis, delivery.clone())
                    .await
                    .context("connecting to Redis")?;
            shards.push(Arc::new(shard));
        }
        match shards.len() {
            0 => anyhow::bail!("HEHE_REDIS_URL holds no URL"),
            1 => shards.remove(0),
            _ => Arc::new(live::bus::sharded::ShardedBus::new(shards)),
        }
    };
    let tokens = Tokens::new(
        &secret,
        Duration::from_secs(config.access_token_ttl_secs),
        Duration::from_secs(config.refresh_token_ttl_secs),
    );
    let decoy: Arc<str> = tokio::task::spawn_blocking(|| {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        hash_password(&format!("{bytes:?}"))
    })
    .await?
    .into();
    let media = media::MediaStore::new(config.data_dir.join("media"), config.max_photo_bytes);
    let sms = config
        .sms
        .sender()
        .context("the SMS settings (HEHE_SMS_*)")?;
    if sms.kind() == "log" {
        tracing::warn!(
            "no SMS gateway configured (HEHE_SMS_URL): verification codes are not delivered"
        );
    }
    let push = infra::push::WebPush::new(&config.push, &vapid_private_key(&config)?)
        .context("the Web Push settings (HEHE_VAPID_*, HEHE_PUSH_*)")?;
    let extras = app::state::Extras {
        decoy_hash: decoy,
        time,
        calendar: Arc::new(calendar),
        media,
        revocations,
        sms,
        code_key: Arc::new(identity::codes::CodeKey::derive(&secret)),
        notifier: Arc::new(infra::delivery::Notifier::new(
            if config.node_name.is_empty() {
                "node"
            } else {
                &config.node_name
            },
        )),
        senders: Arc::new(infra::delivery::Senders {
            webhook: infra::webhook::Webhook::from_config(&config.webhook)
                .context("the webhook relay settings (HEHE_NOTIFY_WEBHOOK_*)")?,
            email: infra::email::Mailer::from_config(&config.email)
                .context("the email settings (HEHE_SMTP_*)")?,
        }),
        push: Arc::new(push),
    };
    let state = AppState::new(
        Arc::new(config),
        store,
        bus.clone(),
        hub,
        Arc::new(tokens),
        metrics,
        extras,
    );
    Ok((state, bus))
}

/// Runs the server on `listener` until `shutdown` resolves, then closes every connection with
/// the shutdown code and returns once they are gone or the grace period has passed.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (state, bus) = build_state(config).await?;
    serve(state, bus, listener, shutdown).await
}

/// Serves a built state; see [`run`].
pub async fn serve(
    state: AppState,
    bus: Arc<dyn Bus>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    watch_for_shutdown(&state.tasks, shutdown);
    start_background(&state, bus, &listener);
    let server = serve_http(state.clone(), listener);
    state.shutdown.cancelled().await;
    tracing::info!("shutting down");
    drain(&state, server).await
}

/// Turns `shutdown` resolving into the shutdown token every part of the server watches.
fn watch_for_shutdown(tasks: &Tasks, shutdown: impl Future<Output = ()> + Send + 'static) {
    let token = tasks.stop_token();
    tasks.spawn("shutdown watcher", async move {
        tokio::select! {
            _ = shutdown => token.cancel(),
            _ = token.cancelled() => {}
        }
    });
}

/// The node's own work beside the requests, each until shutdown.
fn start_background(state: &AppState, bus: Arc<dyn Bus>, listener: &TcpListener) {
    let tasks = &state.tasks;
    // History ages out even on channels nobody touches.
    tasks.every("history sweep", Duration::from_secs(30), move || {
        bus.sweep();
        std::future::ready(())
    });
    let batcher = state.presence.clone();
    tasks.spawn(
        "presence batching",
        batcher.run(state.bus.clone(), tasks.stop_token()),
    );
    tasks.spawn(
        "revocation sync",
        app::sessions::run(state.clone(), tasks.stop_token()),
    );
    // Rate-limit buckets that filled up again are dropped, so the limiters hold only the
    // addresses and accounts active in the last few seconds.
    let limits = state.limits.clone();
    tasks.every("limiter sweep", Duration::from_secs(10), move || {
        limits.sweep();
        std::future::ready(())
    });
    // Deadlines: warnings, breaches and escalations, each applied once (see `issues::tick`).
    let period = Duration::from_millis(state.config.deadline_tick_ms.max(10));
    let ticking = state.clone();
    tasks.every("deadline tick", period, move || {
        let state = ticking.clone();
        async move {
            if let Err(e) = app::issues::tick(&state).await {
                tracing::warn!(error = %e, "deadline tick failed");
            }
        }
    });
    // Notifications: causes into inboxes, deliveries out to push, the relay and email.
    app::notify::start(state);
    // Staff digests: once a day per person from `HEHE_DIGEST_HOUR` (see `app::digest`).
    let digesting = state.clone();
    tasks.every("staff digest", Duration::from_secs(60), move || {
        let state = digesting.clone();
        async move {
            if let Err(e) = app::digest::tick(&state).await {
                tracing::warn!(error = %e, "digest round failed");
            }
        }
    });
    if state.config.ops_stats_ms > 0 {
        let node: Arc<str> = node_name(&state.config, listener).into();
        let (reporting, started) = (state.clone(), std::time::Instant::now());
        let period = Duration::from_millis(state.config.ops_stats_ms);
        tasks.every("ops report", period, move || {
            let (state, node) = (reporting.clone(), node.clone());
            async move { app::ops::report(&state, &node, started).await }
        });
    }
}

/// The node's name in the ops figures: as configured, or else the address it listens on.
fn node_name(config: &Config, listener: &TcpListener) -> String {
    match config.node_name.as_str() {
        "" => listener
            .local_addr()
            .map_or_else(|_| "unknown".to_owned(), |a| a.to_string()),
        name => name.to_owned(),
    }
}

/// Serves the HTTP API and the WebSocket upgrades on `listener` until the shutdown token.
fn serve_http(state: AppState, listener: TcpListener) -> JoinHandle<std::io::Result<()>> {
    let token = state.shutdown.clone();
    // Events are small frames that must leave at once: without TCP_NODELAY, Nagle's algorithm
    // holds a frame back while an earlier one waits for its acknowledgement.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    // The peer's address, for the limits per client address.
    let app = http::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server =
        axum::serve(listener, app).with_graceful_shutdown(async move { token.cancelled().await });
    // Not one of `tasks`: it is no background work but the server itself, and `drain` waits
    // for it on its own terms.
    tokio::spawn(async move { server.await })
}

/// Closes every connection with the shutdown code and waits for the sessions, then for the
/// background tasks, together no longer than the grace period; then for the HTTP server.
async fn drain(state: &AppState, server: JoinHandle<std::io::Result<()>>) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + state.config.shutdown_grace();
    state.sessions.close();
    if tokio::time::timeout_at(deadline, state.sessions.wait())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period");
    }
    // Stopped by the same token as the sessions; a tick or a report under way finishes first,
    // so none writes to the store or the bus after `run` has returned.
    state.tasks.wait_until(deadline).await;
    // Idle keep-alive HTTP connections end with the graceful shutdown; do not wait past grace.
    if let Ok(Ok(Err(e))) = tokio::time::timeout(Duration::from_secs(1), server).await {
        return Err(e.into());
    }
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// The token secret: configured, or generated once and kept in the data directory.
fn token_secret(config: &Config) -> anyhow::Result<Vec<u8>> {
    if !config.token_secret.is_empty() {
        anyhow::ensure!(
            config.token_secret.len() >= 32,
            "the token secret must be at least 32 bytes"
        );
        return Ok(config.token_secret.as_bytes().to_vec());
    }
    let path = config.data_dir.join("token-secret");
    if let Ok(existing) = std::fs::read(&path)
        && existing.len() >= 32
    {
        return Ok(existing);
    }
    let mut secret = vec![0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    write_private(&path, hex.as_bytes())?;
    Ok(hex.into_bytes())
}

/// The VAPID private key: configured, or generated once and kept in the data directory.
/// Browsers' subscriptions are bound to it, so a key file that cannot be read is an error, not
/// a reason to make a new one.
fn vapid_private_key(config: &Config) -> anyhow::Result<String> {
    if !config.push.vapid_private_key.is_empty() {
        return Ok(config.push.vapid_private_key.clone());
    }
    let path = config.data_dir.join("vapid-private-key");
    match std::fs::read_to_string(&path) {
        Ok(existing) => return Ok(existing.trim().to_owned()),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("reading {}", path.display()));
        }
        Err(_) => {}
    }
    let key = infra::push::generate_private_key();
    write_private(&path, key.as_bytes())?;
    Ok(key)
}

fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(contents)?;
    Ok(())
}
