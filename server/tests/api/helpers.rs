//! `spawn_app`: a real server on a random port with its own data directory and the demo
//! neighbourhood, and helpers to log in and connect as the demo accounts.

use hehe_client::{Connection, HttpClient, Incoming};
use hehe_protocol::http::TokenResponse;
use hehe_protocol::{Event, ServerMsg};
use hehe_server::app::seed::{DEMO_PASSWORD, Demo, seed_demo};
use hehe_server::app::state::AppState;
use hehe_server::clock::{ManualTime, SystemTime, TimeSource};
use hehe_server::config::Config;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Once;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestApp {
    /// The running server's state, for driving deadlines by hand.
    pub state: AppState,
    /// Set when the test controls time.
    pub time: Option<ManualTime>,
    pub addr: SocketAddr,
    pub http: HttpClient,
    pub demo: Demo,
    pub config: Config,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
    // Last, so the data directory outlives the server.
    _dir: tempfile::TempDir,
}

static TRACING: Once = Once::new();

/// A server with default settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server without rate limits, for tests that send in bulk from one account or connect a
/// crowd from one address (the limits have tests of their own in `limits.rs`).
pub async fn spawn_bulk_app() -> TestApp {
    spawn_app_with(|c| c.limits = hehe_server::infra::limits::LimitsConfig::off()).await
}

/// A server whose settings `tweak` may change.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut config = Config::with_data_dir(dir.path());
    config.seed_demo = false;
    tweak(&mut config);
    start(config, dir, None).await
}

/// A server whose "now" moves only when the test moves `time`.
pub async fn spawn_app_at(time: ManualTime, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut config = Config::with_data_dir(dir.path());
    config.seed_demo = false;
    // The test ticks deadlines itself.
    config.deadline_tick_ms = 3_600_000;
    tweak(&mut config);
    start(config, dir, Some(time)).await
}

async fn start(config: Config, dir: tempfile::TempDir, time: Option<ManualTime>) -> TestApp {
    TRACING.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            hehe_server::infra::telemetry::init("debug", false);
        }
    });
    serve(config, dir, None, time).await
}

/// Builds and serves a server on `dir`; seeds the demo unless it is handed one.
async fn serve(
    config: Config,
    dir: tempfile::TempDir,
    demo: Option<Demo>,
    time: Option<ManualTime>,
) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let source: Arc<dyn TimeSource> = match &time {
        Some(t) => Arc::new(t.clone()),
        None => Arc::new(SystemTime),
    };
    let (state, bus) = hehe_server::build_state_with(config.clone(), source)
        .await
        .expect("server state");
    let demo = match demo {
        Some(demo) => demo,
        None => seed_demo(state.store.as_ref(), 0)
            .await
            .expect("seed")
            .expect("a fresh data directory is empty"),
    };
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(hehe_server::serve(
        state.clone(),
        bus,
        listener,
        async move {
            let _ = rx.await;
        },
    ));
    TestApp {
        state,
        time,
        addr,
        http: HttpClient::new(format!("http://{addr}")),
        demo,
        config,
        shutdown: Some(tx),
        handle: Some(handle),
        _dir: dir,
    }
}

impl TestApp {
    pub fn ws_url(&self) -> String {
        self.http.ws_url()
    }

    pub async fn login(&self, username: &str) -> TokenResponse {
        self.http
            .login(username, DEMO_PASSWORD)
            .await
            .expect("demo login")
    }

    /// An authenticated connection as a demo account.
    pub async fn connect(&self, username: &str) -> Connection {
        let tokens = self.login(username).await;
        Connection::connect(&self.ws_url(), &tokens.access_token)
            .await
            .expect("connect")
    }

    /// Asks the server to shut down and waits for `run` to return.
    pub async fn shutdown(&mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.handle.take() {
            Some(handle) => handle.await.expect("server task"),
            None => Ok(()),
        }
    }

    /// The value of a metric line, e.g. `hehe_closes_total{code="4001"}`.
    pub async fn metric(&self, name: &str) -> f64 {
        let (_, text) = self.http.get_text("/metrics").await.expect("metrics");
        text.lines()
            .find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|rest| rest.trim().parse().ok())
            })
            .unwrap_or(0.0)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts a second server on the same data directory after `app` has shut down: a restart.
pub async fn restart(mut app: TestApp) -> TestApp {
    app.shutdown().await.expect("clean shutdown");
    let dir = std::mem::replace(
        &mut app._dir,
        tempfile::tempdir().expect("temporary directory"),
    );
    serve(
        app.config.clone(),
        dir,
        Some(app.demo.clone()),
        app.time.clone(),
    )
    .await
}

/// Another node of `first`'s deployment: the same settings (database, Redis and its prefix,
/// token secret) and clock, its own data directory, and `first`'s demo, not seeded again.
/// Tokens pass between nodes only when `first` was given a `token_secret`.
pub async fn spawn_node(first: &TestApp) -> TestApp {
    assert!(
        !first.config.token_secret.is_empty(),
        "nodes share tokens only with a configured token secret"
    );
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut config = first.config.clone();
    config.data_dir = dir.path().to_path_buf();
    serve(config, dir, Some(first.demo.clone()), first.time.clone()).await
}

pub const QUIET: Duration = Duration::from_millis(300);
pub const WAIT: Duration = Duration::from_secs(10);

/// Reads until the connection closes and returns the close code, skipping other frames.
pub async fn close_code(conn: &mut Connection) -> Option<u16> {
    loop {
        match conn.recv_timeout(WAIT).await {
            Ok(Incoming::Closed { code, .. }) => return code,
            Ok(Incoming::Msg(_)) => continue,
            Err(e) => panic!("expected a close, got {e}"),
        }
    }
}

/// The next error frame, skipping events and presence.
pub async fn next_error(conn: &mut Connection) -> (Option<String>, hehe_protocol::ErrorCode) {
    loop {
        match conn.recv_timeout(WAIT).await.expect("a frame") {
            Incoming::Msg(ServerMsg::Error { id, code, .. }) => {
                return (id.map(|i| i.to_string()), code);
            }
            Incoming::Msg(_) => continue,
            Incoming::Closed { code, .. } => panic!("closed with {code:?} before an error"),
        }
    }
}

/// Receives `n` events, failing on a timeout.
pub async fn events(conn: &mut Connection, n: usize) -> Vec<Event> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        out.push(conn.next_event_timeout(WAIT).await.expect("an event"));
    }
    out
}

/// Asserts that no further event arrives for a short while.
pub async fn assert_no_more_events(conn: &mut Connection) {
    if let Ok(event) = conn.next_event_timeout(QUIET).await {
        panic!("unexpected event {event:?}");
    }
}

/// The text of a `message` event.
pub fn text_of(event: &Event) -> String {
    event.data["text"].as_str().unwrap_or_default().to_owned()
}
