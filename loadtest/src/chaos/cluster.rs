//! The nodes of a chaos run: real `hehe-server` processes on loopback sharing one PostgreSQL,
//! one Redis (under a prefix of the run's own) and one token secret, each on an address of its
//! own (127.0.0.k), with its log in the run's work directory. Every process is SIGKILLed when
//! the cluster is dropped, so a failed run leaves none behind.

use anyhow::{Context, bail};
use hehe_client::HttpClient;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// What every node of the run is started with.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    pub server_bin: PathBuf,
    pub database_url: String,
    pub redis_url: String,
    pub redis_prefix: String,
    pub token_secret: String,
    pub loadtest_accounts: u32,
    pub work_dir: PathBuf,
    /// `HEHE_OUTBOX_BYTES`, where the step wants slow consumers caught sooner.
    pub outbox_bytes: Option<u64>,
    /// `HEHE_CLOSE_GRACE_MS`: how long a close frame may wait behind a full socket, so that a
    /// slow listener that reads again still finds its 4001.
    pub close_grace_ms: Option<u64>,
}

pub struct Node {
    pub http: HttpClient,
    pub listen: SocketAddr,
    child: Option<Child>,
}

impl Node {
    pub fn ws_url(&self) -> String {
        self.http.ws_url()
    }

    pub fn alive(&self) -> bool {
        self.child.is_some()
    }
}

pub struct Cluster {
    pub nodes: Vec<Node>,
    settings: NodeSettings,
}

/// How long a node may take to answer `/readyz` (the first one seeds the demo, debug builds
/// are slow, and the machine is shared).
const READY_WITHIN: Duration = Duration::from_secs(90);

impl Cluster {
    /// Starts `count` nodes. The first seeds an empty database, so the others wait for it.
    pub async fn start(settings: NodeSettings, count: usize) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.work_dir)
            .with_context(|| format!("creating {}", settings.work_dir.display()))?;
        let mut cluster = Self {
            nodes: Vec::new(),
            settings,
        };
        for k in 0..count {
            let node = cluster.spawn(k)?;
            cluster.nodes.push(node);
            if k == 0 {
                cluster.wait_ready(0).await?;
            }
        }
        for k in 1..count {
            cluster.wait_ready(k).await?;
        }
        Ok(cluster)
    }

    fn spawn(&self, k: usize) -> anyhow::Result<Node> {
        let s = &self.settings;
        let ip = Ipv4Addr::new(127, 0, 0, 1 + k as u8);
        // A port free now on this node's own address; the server binds it a moment later.
        let listen = TcpListener::bind((ip, 0))
            .and_then(|l| l.local_addr())
            .with_context(|| format!("finding a free port on {ip}"))?;
        let data_dir = s.work_dir.join(format!("node-{}", k + 1));
        std::fs::create_dir_all(&data_dir)?;
        let log = std::fs::File::create(self.log_path(k))?;
        let mut command = Command::new(&s.server_bin);
        command
            .env("HEHE_LISTEN", listen.to_string())
            .env("HEHE_DATA_DIR", &data_dir)
            .env("HEHE_DATABASE_URL", &s.database_url)
            .env("HEHE_DATABASE_MAX_CONNECTIONS", "6")
            .env("HEHE_REDIS_URL", &s.redis_url)
            .env("HEHE_REDIS_PREFIX", &s.redis_prefix)
            .env("HEHE_TOKEN_SECRET", &s.token_secret)
            .env("HEHE_SEED_DEMO", "true")
            .env("HEHE_LOADTEST_ACCOUNTS", s.loadtest_accounts.to_string())
            // Chaos measures loss, not the limits: a storm of reconnects must not be refused.
            .env("HEHE_RATE_LIMITS", "off")
            .env("HEHE_NODE_NAME", format!("chaos-{}", k + 1))
            .env("HEHE_LOG", "warn")
            .env("HEHE_SHUTDOWN_GRACE_SECS", "2")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        if let Some(bytes) = s.outbox_bytes {
            command.env("HEHE_OUTBOX_BYTES", bytes.to_string());
        }
        if let Some(ms) = s.close_grace_ms {
            command.env("HEHE_CLOSE_GRACE_MS", ms.to_string());
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", s.server_bin.display()))?;
        Ok(Node {
            http: HttpClient::new(format!("http://{listen}")),
            listen,
            child: Some(child),
        })
    }

    pub fn log_path(&self, k: usize) -> PathBuf {
        self.settings.work_dir.join(format!("node-{}.log", k + 1))
    }

    pub fn work_dir(&self) -> &Path {
        &self.settings.work_dir
    }

    /// Waits until node `k` answers `/readyz` with 200.
    pub async fn wait_ready(&mut self, k: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Ok((200, _)) = self.nodes[k].http.get_text("/readyz").await {
                return Ok(());
            }
            if let Some(child) = self.nodes[k].child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                bail!(
                    "node {} exited ({status}); see {}",
                    k + 1,
                    self.log_path(k).display()
                );
            }
            if Instant::now() >= deadline {
                bail!("node {} was not ready within {READY_WITHIN:?}", k + 1);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until every live node is ready again (after a Redis or PostgreSQL outage).
    pub async fn wait_all_ready(&mut self) -> anyhow::Result<()> {
        for k in 0..self.nodes.len() {
            if self.nodes[k].alive() {
                self.wait_ready(k).await?;
            }
        }
        Ok(())
    }

    /// SIGKILLs node `k`: no shutdown, no close frames, connections just end.
    pub async fn kill(&mut self, k: usize) -> anyhow::Result<()> {
        if let Some(mut child) = self.nodes[k].child.take() {
            child.kill().await.context("SIGKILL")?;
        }
        Ok(())
    }

    /// The URLs of the nodes still running.
    pub fn live_urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|n| n.alive())
            .map(|n| n.http.base_url().to_owned())
            .collect()
    }

    /// A live node's HTTP client.
    pub fn any_http(&self) -> &HttpClient {
        self.nodes
            .iter()
            .find(|n| n.alive())
            .map_or(&self.nodes[0].http, |n| &n.http)
    }

    /// Stops every node (SIGKILL: the run is over and its verdict taken).
    pub async fn stop(mut self) {
        for k in 0..self.nodes.len() {
            let _ = self.kill(k).await;
        }
    }
}

/// Runs a fault's shell command (`--stop-cmd`, `--start-cmd`), bounded in time.
pub async fn run_hook(what: &str, command: &str) -> anyhow::Result<()> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("running the {what} command"))?;
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .with_context(|| format!("the {what} command did not finish within 60 s"))??;
    if !status.success() {
        bail!("the {what} command failed ({status})");
    }
    Ok(())
}
