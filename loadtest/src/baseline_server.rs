//! `baseline-server`: the simplest reasonable WebSocket broadcast server, to compare Hehe's
//! deliveries per CPU-second with. No authentication, no channels, no history, no JSON: every
//! text frame any client sends goes to every connected client (its sender too).
//!
//! The loop: one task per connection reads its frames and writes what a
//! [`tokio::sync::broadcast`] channel hands it. A frame's bytes ([`Utf8Bytes`], reference
//! counted) are put into the channel once and every connection's receiver clones the handle,
//! so nothing is copied per client before the WebSocket encoder writes it to the socket. A
//! connection that falls more than [`BACKLOG`] lines behind loses the oldest (the channel's
//! `Lagged`), which the load test's accounting then counts as lost: the baseline holds no
//! unbounded queue either.
//!
//! `GET /cpu` on the same port answers the process's CPU seconds and resident memory (from
//! `/proc/self`), which the load test reads before and after publishing as it reads Hehe's
//! `/metrics`.

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Lines a connection may fall behind before it loses the oldest.
pub const BACKLOG: usize = 4096;

/// Largest frame a client may send (as Hehe's default).
const MAX_FRAME: usize = 64 << 10;

/// How long a new connection has to send its first bytes (handshake or `GET /cpu`).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How the server bounds itself.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Seconds after which the server stops by itself.
    pub max_secs: f64,
    /// Connections held at once; further ones are closed at once.
    pub max_connections: u32,
    /// Bytes of each connection's read buffer and of what it gathers before writing; the
    /// program's defaults are Hehe's (`HEHE_WS_READ_BUFFER_BYTES`, 512, and
    /// `HEHE_WS_WRITE_BUFFER_BYTES`, 8192).
    pub read_buffer: usize,
    pub write_buffer: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_secs: 3600.0,
            max_connections: 20_000,
            read_buffer: 512,
            write_buffer: 8192,
        }
    }
}

/// What the server counts, shown by `GET /cpu`.
#[derive(Default)]
struct Counters {
    connections: AtomicU32,
    /// Lines connections lost by falling behind.
    lagged: AtomicU64,
}

/// `hehe-loadtest baseline-server`: binds, prints the address, serves until Ctrl-C, SIGTERM or
/// `max_secs`.
pub async fn main(listen: SocketAddr, limits: Limits) -> anyhow::Result<()> {
    let listener = bind(listen).await?;
    let address = listener.local_addr()?;
    // The address is the program's output: a script passing port 0 reads it from here.
    let mut stdout = tokio::io::stdout();
    stdout
        .write_all(format!("listening on {address}\n").as_bytes())
        .await?;
    stdout.flush().await?;
    serve(listener, limits, shutdown_signal()).await
}

/// Binds `listen`, which must be a loopback address.
pub async fn bind(listen: SocketAddr) -> anyhow::Result<TcpListener> {
    if !listen.ip().is_loopback() {
        bail!("{listen}: the baseline server only listens on loopback");
    }
    TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))
}

/// Serves until `stop` completes or `max_secs` pass; then every connection is dropped.
pub async fn serve(
    listener: TcpListener,
    limits: Limits,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        (256..=1 << 20).contains(&limits.read_buffer) && limits.write_buffer <= 1 << 20,
        "buffers are at most 1 MiB (and a read buffer at least 256 bytes)"
    );
    anyhow::ensure!(
        limits.max_secs > 0.0 && limits.max_secs <= crate::cli::MAX_DURATION_SECS * 24.0,
        "--max-secs is between 0 and a day"
    );
    let (lines, _) = broadcast::channel::<Utf8Bytes>(BACKLOG);
    let counters = Arc::new(Counters::default());
    let mut connections = JoinSet::new();
    let deadline = tokio::time::sleep(Duration::from_secs_f64(limits.max_secs));
    tokio::pin!(stop, deadline);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = &mut deadline => break,
            Some(_) = connections.join_next() => {}
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of files, most likely: wait for some to close.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if counters.connections.load(Ordering::Relaxed) >= limits.max_connections {
                    continue;
                }
                counters.connections.fetch_add(1, Ordering::Relaxed);
                let (lines, counters) = (lines.clone(), counters.clone());
                connections.spawn(async move {
                    if let Err(e) = connection(stream, lines, &counters, limits).await {
                        tracing::debug!(error = %e, "connection ended");
                    }
                    counters.connections.fetch_sub(1, Ordering::Relaxed);
                });
            }
        }
    }
    connections.shutdown().await;
    Ok(())
}

/// One connection: `GET /cpu`, or a WebSocket that says and hears the lines.
async fn connection(
    stream: TcpStream,
    lines: broadcast::Sender<Utf8Bytes>,
    counters: &Counters,
    limits: Limits,
) -> anyhow::Result<()> {
    stream.set_nodelay(true)?;
    if tokio::time::timeout(HANDSHAKE_TIMEOUT, asks_for_cpu(&stream)).await?? {
        return answer_cpu(stream, counters).await;
    }
    // Buffers sized like Hehe's by default (tungstenite's own, 128 KiB each, would dwarf the
    // rest of what a connection holds).
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME))
        .max_frame_size(Some(MAX_FRAME))
        .read_buffer_size(limits.read_buffer)
        .write_buffer_size(limits.write_buffer);
    let accepting = tokio_tungstenite::accept_async_with_config(stream, Some(config));
    let ws = tokio::time::timeout(HANDSHAKE_TIMEOUT, accepting).await??;
    let (mut sink, mut source) = ws.split();
    // Subscribed before reading anything, so a client hears every line said after its
    // handshake, its own first line included.
    let mut heard = lines.subscribe();
    let writing = async {
        loop {
            match heard.recv().await {
                Ok(text) => sink.send(Message::Text(text)).await?,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    counters.lagged.fetch_add(n, Ordering::Relaxed);
                }
                Err(broadcast::error::RecvError::Closed) => return anyhow::Ok(()),
            }
        }
    };
    let reading = async {
        while let Some(message) = source.next().await {
            match message? {
                // No receiver at all is not an error: nobody is listening.
                Message::Text(text) => drop(lines.send(text)),
                Message::Close(_) => break,
                // Pings are answered by the library; binary frames are ignored.
                _ => {}
            }
        }
        anyhow::Ok(())
    };
    tokio::select! {
        done = writing => done,
        done = reading => done,
    }
}

/// Whether the connection's first bytes are `GET /cpu` (rather than a WebSocket handshake).
async fn asks_for_cpu(stream: &TcpStream) -> anyhow::Result<bool> {
    const ASK: &[u8] = b"GET /cpu";
    let mut first = [0u8; 9];
    loop {
        let n = stream.peek(&mut first).await?;
        if n == 0 {
            bail!("closed before a request");
        }
        let seen = &first[..n];
        if n == first.len() {
            return Ok(seen.starts_with(ASK) && matches!(seen[8], b' ' | b'?'));
        }
        if !ASK.starts_with(&seen[..n.min(ASK.len())]) {
            return Ok(false);
        }
        // A prefix so far: the rest is on its way.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Reads the request's head and answers the process figures as text, one `name value` a line.
async fn answer_cpu(mut stream: TcpStream, counters: &Counters) -> anyhow::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        anyhow::ensure!(head.len() < 8192, "request head too long");
        let n = tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.read(&mut chunk)).await??;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let figures = process_figures();
    let body = format!(
        "cpu_seconds {}\nresident_bytes {}\nconnections {}\nlagged {}\n",
        figures.cpu_seconds,
        figures.resident_bytes,
        // This request's connection is not a client.
        counters
            .connections
            .load(Ordering::Relaxed)
            .saturating_sub(1),
        counters.lagged.load(Ordering::Relaxed)
    );
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await?;
    Ok(())
}

/// This process's CPU seconds (user and system) and resident bytes, as the Hehe server reads
/// its own for `/metrics`.
pub fn process_figures() -> crate::net::ServerSample {
    let mut sample = crate::net::ServerSample::default();
    let Ok(me) = procfs::process::Process::myself() else {
        return sample;
    };
    if let Ok(stat) = me.stat() {
        sample.cpu_seconds = (stat.utime + stat.stime) as f64 / procfs::ticks_per_second() as f64;
    }
    if let Ok(statm) = me.statm() {
        sample.resident_bytes = statm.resident.saturating_mul(procfs::page_size()) as f64;
    }
    sample
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}
