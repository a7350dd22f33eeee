//! Where "now" comes from: the system clock in production, a hand-moved one in tests, so that
//! tests control time (deadlines, stamps) instead of waiting for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// The system clock in Unix milliseconds, for what must follow real time whatever a test does
/// to its clock: tokens (checked against the system clock) with the session rows and
/// revocations compared with them, event stamps and delivery latency. Every time the server
/// stamps on what happens asks `TimeSource` (`AppState::now`).
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

pub trait TimeSource: Send + Sync + 'static {
    /// Unix milliseconds.
    fn now_ms(&self) -> i64;
}

pub struct SystemTime;

impl TimeSource for SystemTime {
    fn now_ms(&self) -> i64 {
        unix_ms()
    }
}

/// A clock that moves only when told.
#[derive(Clone)]
pub struct ManualTime(Arc<AtomicI64>);

impl ManualTime {
    pub fn new(start_ms: i64) -> Self {
        Self(Arc::new(AtomicI64::new(start_ms)))
    }

    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl TimeSource for ManualTime {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
