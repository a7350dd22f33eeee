//! Every scenario, small, against a real server started in this process (SQLite in a temporary
//! directory, the demo and 200 load-test accounts seeded), checked by its report: every event
//! accounted for, none lost, none duplicated.

use hehe_loadtest::cli::{BaselineArgs, Command, Common, RoomArgs};
use hehe_loadtest::report::Report;
use hehe_server::config::Config;
use std::path::PathBuf;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The token secret of the test servers, so the load test mints tokens instead of logging in.
const SECRET: &str = "loadtest-tests-share-this-secret-0123456789";

struct Server {
    url: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(15), &mut self.task).await;
    }
}

/// Settings of a test server whose data lives in `dir`.
fn config(dir: &std::path::Path) -> Config {
    let mut config = Config::with_data_dir(dir);
    config.seed_demo = true;
    config.loadtest_accounts = 200;
    config.token_secret = SECRET.into();
    // A load test connects and posts far past what one client may.
    config.limits = hehe_server::infra::limits::LimitsConfig::off();
    config
}

/// Starts a server and waits until it is ready.
async fn start(config: Config) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(hehe_server::run(config, listener, async move {
        let _ = stopped.await;
    }));
    let http = hehe_client::HttpClient::new(url.clone());
    for _ in 0..400 {
        if let Ok((200, _)) = http.get_text("/readyz").await {
            return Server {
                url,
                stop: Some(stop),
                task,
            };
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the server did not become ready");
}

fn common(urls: &[&str]) -> Common {
    Common {
        urls: urls.iter().map(|u| u.to_string()).collect(),
        token_secret: SECRET.into(),
        password: "hehe-demo".into(),
        workers: 0,
        per_worker: None,
        source_ips: String::new(),
        connect_rate: 0.0,
        connect_concurrency: 50,
        duration: 1.0,
        drain: 10.0,
        read_buffer: 4096,
        report: None,
        html: None,
        report_only: false,
        quiet: true,
        ops_account: None,
        worker_exe: None,
    }
}

fn room(members: u32, rate: f64) -> RoomArgs {
    RoomArgs {
        members,
        rate,
        payload: 64,
        publishers: 2,
        meeting: 1,
        chair: "chief".into(),
    }
}

/// Every published event reached every member exactly once, in order.
fn assert_exact(report: &Report, members: u64) {
    let c = report.deliveries.counts;
    assert!(report.ok, "{}", report.summary());
    assert_eq!(
        report.connections.connected,
        members,
        "{}",
        report.summary()
    );
    assert!(report.publish.acknowledged > 0, "{}", report.summary());
    assert_eq!(c.expected, report.publish.acknowledged * members);
    assert_eq!(c.received, c.expected, "{}", report.summary());
    assert_eq!((c.lost, c.duplicated, c.out_of_order), (0, 0, 0));
    assert!(report.deliveries.latency.count >= c.received);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_held_and_measured() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path())).await;
    let command = Command::Idle {
        common: common(&[&server.url]),
        connections: 50,
        accounts: 0,
    };
    let report = hehe_loadtest::run(&command).await.expect("run");
    assert!(report.ok, "{}", report.summary());
    assert_eq!(report.connections.connected, 50);
    assert_eq!(report.connections.connect.count, 50);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.server.memory_per_connection_bytes.is_some());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_delivers_every_line_to_every_member_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path())).await;
    // 30 members, about 100 lines in a second from two publishers.
    let command = Command::Room {
        common: common(&[&server.url]),
        room: room(30, 100.0),
    };
    // The ops dashboards follow the run on the ops channel.
    let http = hehe_client::HttpClient::new(server.url.clone());
    let ops = http.login("ops", "hehe-demo").await.expect("ops login");
    let mut dashboard = hehe_client::Connection::connect(&http.ws_url(), &ops.access_token)
        .await
        .expect("connect as ops");
    dashboard
        .subscribe(hehe_protocol::Channel::OPS, None)
        .await
        .expect("subscribe to the ops channel");
    let command = match command {
        Command::Room { mut common, room } => {
            common.ops_account = Some("ops".into());
            Command::Room { common, room }
        }
        other => other,
    };
    let report = hehe_loadtest::run(&command).await.expect("run");
    assert_exact(&report, 30);
    let last = loop {
        let event = dashboard
            .next_event_timeout(Duration::from_secs(10))
            .await
            .expect("the load test's progress on the ops channel");
        if event.kind == "loadtest.progress" && event.data["done"] == true {
            break event.data;
        }
    };
    assert_eq!(last["scenario"], "room");
    assert_eq!(last["lost"], 0);
    assert_eq!(last["received"], report.deliveries.counts.received);
    // Each publisher waits for one line's reply before the next: a loaded machine gets fewer.
    assert!(report.publish.acknowledged >= 10, "{}", report.summary());
    assert!(report.server.cpu_seconds.is_some());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_reconnect_storm_every_line_is_still_accounted_for() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path())).await;
    let mut common = common(&[&server.url]);
    common.duration = 2.0;
    let command = Command::ReconnectStorm {
        common,
        room: room(40, 60.0),
        drop_share: 0.5,
        drop_after: Some(1.0),
    };
    let report = hehe_loadtest::run(&command).await.expect("run");
    assert_exact(&report, 40);
    assert_eq!(report.reconnect.dropped, 20, "{}", report.summary());
    assert_eq!(report.reconnect.failed, 0);
    assert_eq!(report.reconnect.recovered_false, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_in_the_street_reaches_the_worker_and_every_reporter() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path())).await;
    let command = Command::Neighbourhood {
        common: common(&[&server.url]),
        residents: 12,
        submit_rate: None,
    };
    let report = hehe_loadtest::run(&command).await.expect("run");
    assert!(report.ok, "{}", report.summary());
    assert_eq!(report.publish.acknowledged, 12);
    let c = report.deliveries.counts;
    assert_eq!((c.expected, c.received, c.lost), (60, 60, 0));
    assert_eq!(report.latencies.len(), 3);
    assert!(report.latencies.values().all(|l| l.count == 12));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sustained_submissions_each_reach_the_worker_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path())).await;
    let mut common = common(&[&server.url]);
    common.duration = 2.0;
    // 20 issues a second for 2 s from 10 residents: about 40 issues, each seen once.
    let command = Command::Neighbourhood {
        common,
        residents: 10,
        submit_rate: Some(20.0),
    };
    let report = hehe_loadtest::run(&command).await.expect("run");
    assert!(report.ok, "{}", report.summary());
    let p = &report.publish;
    assert!(p.acknowledged >= 30, "{}", report.summary());
    assert_eq!(p.sent, p.acknowledged);
    let c = report.deliveries.counts;
    assert_eq!(c.expected, p.acknowledged);
    assert_eq!((c.received, c.lost, c.duplicated), (c.expected, 0, 0));
    assert_eq!(report.deliveries.latency.count, c.received);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_issue_step_pushes_to_the_people_it_tells() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    // The receiver is plain HTTP on loopback; pushes go out at once, not after a wait for
    // the person to read them live.
    config.push.push_allow_http = true;
    config.notify.notify_skip_read_ms = 0;
    let server = start(config).await;
    let mut common = common(&[&server.url]);
    common.duration = 30.0;
    common.drain = 10.0;
    // 12 issues from 6 residents, 3 at a time: each tells the official, the reporter twice and
    // the worker once.
    let command = Command::Notify {
        common,
        residents: 6,
        issues: 12,
        concurrency: 3,
    };
    let report = hehe_loadtest::run(&command).await.expect("run");
    assert!(report.ok, "{}", report.summary());
    assert_eq!(
        report.connections.connected, 8,
        "6 residents, the official, the worker"
    );
    assert_eq!(report.publish.acknowledged, 36);
    let c = report.deliveries.counts;
    assert_eq!(
        (c.expected, c.received, c.lost, c.duplicated),
        (48, 48, 0, 0)
    );
    assert_eq!(report.deliveries.latency.count, 48);
    assert_eq!(report.latencies.len(), 4);
    assert!(report.latencies.values().all(|l| l.count == 12));
    assert!(report.rates["notifications created"] > 0.0);
    assert!(report.rates["pushes received"] > 0.0);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_baseline_server_broadcasts_every_line_to_every_member_once() {
    use hehe_loadtest::baseline_server::{Limits, bind, serve};
    let listener = bind("127.0.0.1:0".parse().unwrap()).await.expect("bind");
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let limits = Limits {
        max_secs: 120.0,
        max_connections: 100,
        ..Limits::default()
    };
    let server = tokio::spawn(serve(listener, limits, async move {
        let _ = stopped.await;
    }));
    // 20 members, 50 lines in a second.
    let mut common = common(&[&url]);
    common.duration = 1.0;
    let command = Command::Baseline {
        common,
        room: BaselineArgs {
            members: 20,
            rate: 50.0,
            payload: 64,
            publishers: 1,
        },
    };
    let report = hehe_loadtest::run(&command).await.expect("run");
    assert_exact(&report, 20);
    assert!(report.publish.acknowledged >= 40, "{}", report.summary());
    assert_eq!(report.publish.sent, report.publish.acknowledged);
    assert!(report.server.cpu_seconds.is_some(), "{}", report.summary());
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(15), server)
        .await
        .expect("the baseline server stops")
        .expect("join")
        .expect("serve");
}

/// A Redis of the test's own prefix, or `None` (with the reason printed) when it is unreachable
/// and not required.
async fn redis() -> Option<(String, String)> {
    let url =
        std::env::var("HEHE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let reached = async {
        let client = redis::Client::open(url.as_str())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<()>(&mut conn).await
    };
    match reached.await {
        Ok(()) => Some((url, format!("hehe_loadtest_{:016x}", rand_u64()))),
        Err(e) if std::env::var("HEHE_REQUIRE_SERVICES").is_ok_and(|v| v == "1") => {
            panic!("Redis at {url} is required but unreachable: {e}")
        }
        Err(e) => {
            eprintln!(
                "skipped: Redis at {url} is unreachable ({e}); set HEHE_REQUIRE_SERVICES=1 to fail instead"
            );
            None
        }
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

/// Deletes the keys of a test's prefix.
fn forget(url: &str, prefix: &str) {
    let Ok(mut conn) = redis::Client::open(url).and_then(|c| c.get_connection()) else {
        return;
    };
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}.*"))
        .query(&mut conn)
        .unwrap_or_default();
    if !keys.is_empty() {
        let _ = redis::cmd("DEL").arg(keys).query::<()>(&mut conn);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_two_nodes_every_line_reaches_every_member_once() {
    let Some((redis_url, prefix)) = redis().await else {
        return;
    };
    // Two nodes on one SQLite database (WAL lets two pools share it), one Redis prefix and
    // one token secret; the first seeds, the second finds the database seeded.
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared.db");
    let node = |name: &str| {
        let mut config = config(&dir.path().join(name));
        config.database_url = format!("sqlite://{}?mode=rwc", shared.display());
        config.redis_url = redis_url.clone();
        config.redis_prefix = prefix.clone();
        config
    };
    let first = start(node("a")).await;
    let second = start(node("b")).await;
    let command = Command::CrossNode {
        common: common(&[&first.url, &second.url]),
        room: room(20, 60.0),
    };
    let report = hehe_loadtest::run(&command).await.expect("run");
    assert_exact(&report, 20);
    second.stop().await;
    first.stop().await;
    forget(&redis_url, &prefix);
}

/// The binary itself, with two worker processes connecting from 127.0.0.2 and 127.0.0.3,
/// writing both reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_runs_worker_processes_from_several_source_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path())).await;
    let json: PathBuf = dir.path().join("report.json");
    let html: PathBuf = dir.path().join("report.html");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_hehe-loadtest"))
        .args(["room", "--url", &server.url, "--quiet"])
        .args(["--workers", "2", "--source-ips", "127.0.0.2,127.0.0.3"])
        .args(["--members", "20", "--rate", "50", "--duration", "1"])
        .args(["--connect-rate", "0"])
        .arg("--report")
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .env("HEHE_TOKEN_SECRET", SECRET)
        .output()
        .await
        .expect("run the binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let report: Report =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).expect("a JSON report");
    assert_exact(&report, 20);
    assert_eq!(report.connections.workers, 2);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg"));
    server.stop().await;
}
