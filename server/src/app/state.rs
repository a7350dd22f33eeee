//! `AppState`: everything a handler or session needs, built once by `build_state` and cloned
//! cheaply (every field is a handle).

use crate::clock::TimeSource;
use crate::config::Config;
use crate::domain::calendar::Calendar;
use crate::identity::tokens::Tokens;
use crate::infra::metrics::Metrics;
use crate::infra::tasks::Tasks;
use crate::live::bus::Bus;
use crate::live::hub::Hub;
use crate::media::MediaStore;
use crate::store::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn Bus>,
    pub hub: Hub,
    pub tokens: Arc<Tokens>,
    pub metrics: Arc<Metrics>,
    /// Cancelled when the server begins to shut down.
    pub shutdown: CancellationToken,
    /// Every WebSocket session, so shutdown can wait for them.
    pub sessions: TaskTracker,
    /// The background tasks, stopped by `shutdown` and waited for after the sessions.
    pub tasks: Tasks,
    /// A hash of a random password, verified when a login names no account, so that a wrong
    /// username costs as much time as a wrong password.
    pub decoy_hash: Arc<str>,
    /// "Now", for every time stamped on what happens (deadlines, messages, audit entries,
    /// meetings, figures): the system clock, or a test's. See `clock::unix_ms` for the rest.
    pub time: Arc<dyn TimeSource>,
    pub calendar: Arc<Calendar>,
    pub media: MediaStore,
    /// This node's meeting rooms between actions (see `rooms`).
    pub rooms: Arc<crate::app::rooms::Rooms>,
    /// Failed logins per username, for the backoff after them.
    pub login_guard: Arc<crate::identity::login_guard::LoginGuard>,
    /// Rate limits per client address, account and connection.
    pub limits: Arc<crate::infra::limits::Limiters>,
    /// Joins and leaves, gathered into one `presence` frame per channel and window.
    pub presence: Arc<crate::live::presence::PresenceBatcher>,
    /// Signed-out sessions and this node's connections by account (see `revocation`).
    pub revocations: Arc<crate::identity::revocation::Revocations>,
    /// Where text messages go: an SMS gateway, a file, or the log (see `infra::sms`).
    pub sms: Arc<dyn crate::infra::sms::SmsSender>,
    /// The key verification and reset codes are kept under.
    pub code_key: Arc<crate::identity::codes::CodeKey>,
    /// This node's part of the notification pipeline (see `app::notify`).
    pub notifier: Arc<crate::infra::delivery::Notifier>,
    /// The adapters notifications are sent through beyond the socket.
    pub senders: Arc<crate::infra::delivery::Senders>,
    /// Web Push: the VAPID key and the sender (see `infra::push`).
    pub push: Arc<crate::infra::push::WebPush>,
    next_conn: Arc<AtomicU64>,
}

/// The parts of `AppState` that `App::build` assembles beyond the core services.
pub struct Extras {
    pub decoy_hash: Arc<str>,
    pub time: Arc<dyn TimeSource>,
    pub calendar: Arc<Calendar>,
    pub media: MediaStore,
    pub revocations: Arc<crate::identity::revocation::Revocations>,
    pub sms: Arc<dyn crate::infra::sms::SmsSender>,
    pub code_key: Arc<crate::identity::codes::CodeKey>,
    pub notifier: Arc<crate::infra::delivery::Notifier>,
    pub senders: Arc<crate::infra::delivery::Senders>,
    pub push: Arc<crate::infra::push::WebPush>,
}

impl AppState {
    pub fn new(
        config: Arc<Config>,
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        hub: Hub,
        tokens: Arc<Tokens>,
        metrics: Arc<Metrics>,
        extras: Extras,
    ) -> Self {
        let window = std::time::Duration::from_millis(config.presence_batch_ms);
        let presence = crate::live::presence::PresenceBatcher::new(window);
        let login_guard = Arc::new(crate::identity::login_guard::LoginGuard::new(
            config.login_free_failures,
            std::time::Duration::from_secs(config.login_max_lock_secs.max(1)),
        ));
        let limits = Arc::new(crate::infra::limits::Limiters::new(
            &config.limits,
            metrics.clone(),
        ));
        let shutdown = CancellationToken::new();
        Self {
            limits,
            config,
            store,
            bus,
            hub,
            tokens,
            metrics,
            tasks: Tasks::new(shutdown.clone()),
            shutdown,
            sessions: TaskTracker::new(),
            decoy_hash: extras.decoy_hash,
            time: extras.time,
            calendar: extras.calendar,
            media: extras.media,
            rooms: Arc::default(),
            login_guard,
            presence,
            revocations: extras.revocations,
            sms: extras.sms,
            code_key: extras.code_key,
            notifier: extras.notifier,
            senders: extras.senders,
            push: extras.push,
            next_conn: Arc::new(AtomicU64::new(1)),
        }
    }

    /// Unix ms, from the state's time source.
    pub fn now(&self) -> i64 {
        self.time.now_ms()
    }

    /// A connection id unique within this process.
    pub fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }
}
