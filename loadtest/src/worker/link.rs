//! The coordinator's end of a worker, in a child process or in its own process, and the child's
//! end: standard input and output turned into the worker's channels.

use super::protocol::{FromWorker, ToWorker};
use anyhow::Context;
use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// A worker as the coordinator sees it.
pub struct WorkerLink {
    tx: mpsc::UnboundedSender<ToWorker>,
    rx: mpsc::UnboundedReceiver<FromWorker>,
    /// Killed when the link is dropped, so no worker outlives its coordinator.
    child: Option<Child>,
}

impl WorkerLink {
    /// A worker running as a task of this process.
    pub fn in_process() -> Self {
        let (to_tx, to_rx) = mpsc::unbounded_channel();
        let (from_tx, from_rx) = mpsc::unbounded_channel();
        tokio::spawn(super::run(to_rx, from_tx));
        Self {
            tx: to_tx,
            rx: from_rx,
            child: None,
        }
    }

    /// A worker running as `exe worker`, a child process.
    pub fn spawn(exe: &Path) -> anyhow::Result<Self> {
        let mut child = Command::new(exe)
            .arg("worker")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting the worker {}", exe.display()))?;
        let mut stdin = child.stdin.take().context("the worker's stdin")?;
        let stdout = child.stdout.take().context("the worker's stdout")?;
        let (to_tx, mut to_rx) = mpsc::unbounded_channel::<ToWorker>();
        let (from_tx, from_rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(message) = to_rx.recv().await {
                let Ok(mut line) = serde_json::to_vec(&message) else {
                    continue;
                };
                line.push(b'\n');
                if stdin.write_all(&line).await.is_err() || stdin.flush().await.is_err() {
                    return;
                }
            }
        });
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let message = serde_json::from_str(&line).unwrap_or_else(|e| FromWorker::Fatal {
                    error: format!("unreadable line from the worker: {e}"),
                });
                if from_tx.send(message).is_err() {
                    return;
                }
            }
            let _ = from_tx.send(FromWorker::Fatal {
                error: "the worker process ended".into(),
            });
        });
        Ok(Self {
            tx: to_tx,
            rx: from_rx,
            child: Some(child),
        })
    }

    /// The sending and receiving ends, and the child process (if any), which must be kept
    /// as long as the worker is wanted: dropping it kills the process.
    pub fn into_parts(
        self,
    ) -> (
        mpsc::UnboundedSender<ToWorker>,
        mpsc::UnboundedReceiver<FromWorker>,
        Option<Child>,
    ) {
        (self.tx, self.rx, self.child)
    }
}

/// The body of `hehe-loadtest worker`: the job and commands on standard input, one JSON line
/// each; progress and the result on standard output.
pub async fn child_main() -> anyhow::Result<()> {
    let (to_tx, to_rx) = mpsc::unbounded_channel();
    let (from_tx, mut from_rx) = mpsc::unbounded_channel::<FromWorker>();
    let worker = tokio::spawn(super::run(to_rx, from_tx));
    tokio::spawn(async move {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            match serde_json::from_str::<ToWorker>(&line) {
                Ok(message) => {
                    if to_tx.send(message).is_err() {
                        return;
                    }
                }
                Err(e) => tracing::error!(error = %e, "unreadable command from the coordinator"),
            }
        }
        // Standard input closed: the coordinator is gone; the worker winds down.
    });
    let mut stdout = tokio::io::stdout();
    while let Some(message) = from_rx.recv().await {
        let mut line = serde_json::to_vec(&message)?;
        line.push(b'\n');
        stdout.write_all(&line).await?;
        stdout.flush().await?;
        if matches!(message, FromWorker::Done(_) | FromWorker::Fatal { .. }) {
            break;
        }
    }
    worker.abort();
    Ok(())
}
