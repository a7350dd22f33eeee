//! The writing half of a socket, in its own task so that a client whose socket is full can be
//! closed without the session waiting on it. It drains the connection's outbox.

use crate::infra::metrics::Metrics;
use crate::live::hub::{Next, Outbox};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use hehe_protocol::CloseCode;
use std::sync::Arc;
use std::time::Duration;

pub type Sink = SplitSink<WebSocket, Message>;

/// Writes frames until the outbox asks for a close (then sends the close frame) or the socket
/// fails. Returns the close code it sent, if any.
pub async fn write_loop(
    mut sink: Sink,
    outbox: Arc<Outbox>,
    metrics: Arc<Metrics>,
    grace: Duration,
) -> Option<CloseCode> {
    loop {
        match outbox.next().await {
            Next::Frames(frames) => {
                let n = frames.len() as u64;
                let write = async {
                    for frame in frames {
                        sink.feed(Message::Text(frame)).await?;
                    }
                    sink.flush().await
                };
                tokio::select! {
                    biased;
                    result = write => {
                        if result.is_err() {
                            return None;
                        }
                        metrics.frames_out.inc_by(n);
                    }
                    // The socket is full and a close was asked for (a slow consumer, most
                    // likely): stop waiting and queue the close behind what is buffered.
                    code = outbox.closed() => {
                        send_close(&mut sink, code, grace, &metrics).await;
                        return Some(code);
                    }
                }
            }
            Next::Close(code) => {
                send_close(&mut sink, code, grace, &metrics).await;
                return Some(code);
            }
        }
    }
}

async fn send_close(sink: &mut Sink, code: CloseCode, grace: Duration, metrics: &Metrics) {
    metrics.closed(code.0);
    let frame = CloseFrame {
        code: code.0,
        reason: code.reason().into(),
    };
    // A client that reads nothing cannot stop us leaving: after the grace the socket is dropped.
    let _ = tokio::time::timeout(grace, sink.send(Message::Close(Some(frame)))).await;
}
