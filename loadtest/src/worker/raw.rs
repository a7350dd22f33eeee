//! Plain WebSocket clients of the baseline server (`baseline-server`): no `auth`, no
//! subscriptions, no JSON; every text frame is a line `lt <run> <publisher> <seq> <sent µs> …`.
//! A member connects and reads; a baseline publisher ([`crate::publisher::run_baseline`]) says
//! lines on a connection of its own.

use super::client::{Ctl, Shared, note_text, wait_for_stop};
use super::protocol::ClientSpec;
use crate::measure::{Received, unix_us};
use futures_util::StreamExt;
use hehe_client::ClientError;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub type RawSocket = WebSocketStream<TcpStream>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a WebSocket to `ws_url` (`ws://host:port`), from `local_ip` if given.
pub async fn connect(
    ws_url: &str,
    local_ip: Option<IpAddr>,
    read_buffer: Option<usize>,
) -> Result<RawSocket, ClientError> {
    let cannot = |e: &dyn std::fmt::Display| ClientError::WebSocket(e.to_string());
    let opening = async {
        let authority = ws_url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap_or_default();
        let address: SocketAddr = tokio::net::lookup_host(authority)
            .await
            .map_err(|e| cannot(&e))?
            .next()
            .ok_or_else(|| cannot(&format!("{authority}: no address")))?;
        let socket = if address.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .map_err(|e| cannot(&e))?;
        if let Some(ip) = local_ip {
            socket
                .bind(SocketAddr::new(ip, 0))
                .map_err(|e| cannot(&format!("binding {ip}: {e}")))?;
        }
        let stream = socket.connect(address).await.map_err(|e| cannot(&e))?;
        stream.set_nodelay(true).map_err(|e| cannot(&e))?;
        let mut config = WebSocketConfig::default();
        if let Some(size) = read_buffer {
            config = config.read_buffer_size(size);
        }
        let (ws, _) = tokio_tungstenite::client_async_with_config(ws_url, stream, Some(config))
            .await
            .map_err(|e| cannot(&e))?;
        Ok(ws)
    };
    tokio::time::timeout(CONNECT_TIMEOUT, opening)
        .await
        .map_err(|_| ClientError::Timeout)?
}

/// Runs one member to the end: connects, then notes every line until told to stop. It does
/// not drop and resume (the baseline server has no history to resume from).
pub async fn run(
    spec: ClientSpec,
    shared: Arc<Shared>,
    received: Arc<Mutex<Received>>,
    mut ctl: mpsc::UnboundedReceiver<Ctl>,
    ready: oneshot::Sender<bool>,
) {
    let began = Instant::now();
    let mut ws = match connect(&spec.ws_url, spec.local_ip, shared.options.read_buffer_size).await {
        Ok(ws) => ws,
        Err(e) => {
            shared.error("connect", &e);
            shared.failed.fetch_add(1, Ordering::Relaxed);
            let _ = ready.send(false);
            return;
        }
    };
    {
        let mut stats = shared.stats();
        let _ = stats
            .connect
            .record(began.elapsed().as_micros().max(1) as u64);
        *stats
            .connects_per_second
            .entry(unix_us() / 1_000_000)
            .or_default() += 1;
    }
    shared.connected.fetch_add(1, Ordering::Relaxed);
    let _ = ready.send(true);
    loop {
        tokio::select! {
            command = ctl.recv() => match command {
                Some(Ctl::Drop(answer)) => {
                    let _ = answer.send(false);
                }
                Some(Ctl::Stop) | None => break,
            },
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(text))) => note_text(&shared, &received, Some(text.as_str())),
                Some(Ok(Message::Close(frame))) => {
                    shared.closed(frame.map(|f| u16::from(f.code)));
                    wait_for_stop(&mut ctl).await;
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    shared.error("read", &ClientError::WebSocket(e.to_string()));
                    wait_for_stop(&mut ctl).await;
                    return;
                }
                None => {
                    shared.closed(None);
                    wait_for_stop(&mut ctl).await;
                    return;
                }
            },
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
}
