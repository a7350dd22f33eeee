//! A connection's outbound queue, bounded in bytes. Producers (the hub's fan-out, the session's
//! replies) never wait on it: a push either queues the frame or, when the bound is passed,
//! empties the queue and marks the connection for closing with the slow-consumer code.

use super::Frame;
use hehe_protocol::CloseCode;
use std::collections::VecDeque;
use std::sync::Mutex;
use tokio::sync::Notify;

pub struct Outbox {
    inner: Mutex<Inner>,
    notify: Notify,
    limit: usize,
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<Frame>,
    bytes: usize,
    close: Option<CloseCode>,
}

/// What the writer should do next.
pub enum Next {
    /// Write these frames, in order.
    Frames(Vec<Frame>),
    /// Write a close frame with this code and stop.
    Close(CloseCode),
}

/// Why a push did not queue its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// This push passed the bound; the connection is now closing as a slow consumer.
    Overflow,
    /// The connection was already closing.
    Closing,
}

/// Frames handed to the writer at once, so a burst goes out in one flush.
const BATCH: usize = 64;

impl Outbox {
    pub fn new(limit: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            notify: Notify::new(),
            limit,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn push(&self, frame: Frame) -> Result<(), PushError> {
        let mut inner = self.lock();
        if inner.close.is_some() {
            return Err(PushError::Closing);
        }
        let len = frame.len();
        if inner.bytes + len > self.limit {
            // What is queued will never be written: the client resumes from its position.
            inner.queue = VecDeque::new();
            inner.bytes = 0;
            inner.close = Some(CloseCode::SLOW_CONSUMER);
            drop(inner);
            self.notify.notify_one();
            return Err(PushError::Overflow);
        }
        inner.bytes += len;
        inner.queue.push_back(frame);
        drop(inner);
        self.notify.notify_one();
        Ok(())
    }

    /// Asks the writer to close with `code` once what is queued has been written. The first
    /// close asked for wins.
    pub fn close(&self, code: CloseCode) {
        let mut inner = self.lock();
        if inner.close.is_none() {
            inner.close = Some(code);
        }
        drop(inner);
        self.notify.notify_one();
    }

    /// The close code, once a close was asked for.
    pub fn closing(&self) -> Option<CloseCode> {
        self.lock().close
    }

    /// Bytes queued and not yet handed to the socket.
    pub fn queued_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Waits for frames or a close. Queued frames go out before the close frame, except after
    /// an overflow, which empties the queue.
    pub async fn next(&self) -> Next {
        loop {
            {
                let mut inner = self.lock();
                if !inner.queue.is_empty() {
                    let n = inner.queue.len().min(BATCH);
                    let frames: Vec<Frame> = inner.queue.drain(..n).collect();
                    inner.bytes -= frames.iter().map(|f| f.len()).sum::<usize>();
                    if inner.queue.is_empty() {
                        // Give a burst's memory back rather than keep it for an idle socket.
                        inner.queue = VecDeque::new();
                    }
                    return Next::Frames(frames);
                }
                if let Some(code) = inner.close {
                    return Next::Close(code);
                }
            }
            self.notify.notified().await;
        }
    }

    /// Resolves once a close is asked for (used to abandon a write stuck on a full socket).
    pub async fn closed(&self) -> CloseCode {
        loop {
            let notified = self.notify.notified();
            if let Some(code) = self.closing() {
                return code;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: usize) -> Frame {
        Frame::from("x".repeat(n))
    }

    #[tokio::test]
    async fn overflow_empties_the_queue_and_closes_slow() {
        let outbox = Outbox::new(100);
        outbox.push(frame(60)).unwrap();
        assert_eq!(outbox.queued_bytes(), 60);
        assert_eq!(outbox.push(frame(50)), Err(PushError::Overflow));
        assert_eq!(outbox.queued_bytes(), 0);
        assert_eq!(outbox.push(frame(1)), Err(PushError::Closing));
        assert!(matches!(
            outbox.next().await,
            Next::Close(CloseCode::SLOW_CONSUMER)
        ));
    }

    #[tokio::test]
    async fn frames_go_out_in_order_before_an_ordinary_close() {
        let outbox = Outbox::new(1000);
        for n in 1..=3 {
            outbox.push(frame(n)).unwrap();
        }
        outbox.close(CloseCode::SHUTDOWN);
        outbox.close(CloseCode::INTERNAL);
        match outbox.next().await {
            Next::Frames(frames) => {
                assert_eq!(
                    frames.iter().map(|f| f.len()).collect::<Vec<_>>(),
                    [1, 2, 3]
                )
            }
            Next::Close(_) => panic!("frames first"),
        }
        assert!(matches!(
            outbox.next().await,
            Next::Close(CloseCode::SHUTDOWN)
        ));
        assert_eq!(outbox.closed().await, CloseCode::SHUTDOWN);
    }

    #[tokio::test]
    async fn next_waits_for_a_push() {
        let outbox = std::sync::Arc::new(Outbox::new(1000));
        let waiter = tokio::spawn({
            let outbox = outbox.clone();
            async move {
                match outbox.next().await {
                    Next::Frames(f) => f.len(),
                    Next::Close(_) => 0,
                }
            }
        });
        tokio::task::yield_now().await;
        outbox.push(frame(5)).unwrap();
        assert_eq!(waiter.await.unwrap(), 1);
    }
}
