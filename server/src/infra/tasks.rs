//! The node's background tasks (sweeps, batching, the deadline tick, reports): started in one
//! place, told to stop by the one shutdown token, and waited for, so that none of them still
//! touches the store or the bus after the server has returned.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// How many tasks of each name still run, to name the stragglers when shutdown gives up.
type Running = Arc<Mutex<BTreeMap<&'static str, usize>>>;

/// A handle on the background tasks; clones share them.
#[derive(Clone)]
pub struct Tasks {
    tracker: TaskTracker,
    stop: CancellationToken,
    running: Running,
}

impl Tasks {
    /// Tasks that stop when `stop` is cancelled.
    pub fn new(stop: CancellationToken) -> Self {
        Self {
            tracker: TaskTracker::new(),
            stop,
            running: Arc::default(),
        }
    }

    /// The token the tasks stop on, for a task that watches it itself.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Runs `task` in the background. It must end soon after the stop token is cancelled:
    /// shutdown waits for it.
    pub fn spawn<F>(&self, name: &'static str, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let counted = Counted::start(&self.running, name);
        let span = tracing::info_span!("task", name);
        self.tracker.spawn(
            async move {
                let _counted = counted;
                task.await;
            }
            .instrument(span),
        );
    }

    /// Runs `f` every `period` until stopped, the first time at once. A tick that comes late
    /// (a slow run, a busy node) pushes the next ones back instead of firing them in a burst.
    pub fn every<F, Fut>(&self, name: &'static str, period: Duration, mut f: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let stop = self.stop.clone();
        self.spawn(name, async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => f().await,
                }
            }
        });
    }

    /// Whether every task has ended.
    pub fn is_empty(&self) -> bool {
        self.tracker.is_empty()
    }

    /// Waits, until `deadline` at most, for every task to end; the stop token must have been
    /// cancelled. False when some were still running, which are named in the log.
    pub async fn wait_until(&self, deadline: Instant) -> bool {
        self.tracker.close();
        if tokio::time::timeout_at(deadline, self.tracker.wait())
            .await
            .is_ok()
        {
            return true;
        }
        let names: Vec<&str> = lock(&self.running).keys().copied().collect();
        tracing::warn!(
            tasks = ?names,
            "background tasks still running after the shutdown grace period"
        );
        false
    }
}

/// Counts a task of `name` as running for as long as it lives, also when the task panics.
struct Counted {
    running: Running,
    name: &'static str,
}

impl Counted {
    fn start(running: &Running, name: &'static str) -> Self {
        *lock(running).entry(name).or_default() += 1;
        Self {
            running: running.clone(),
            name,
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut map = lock(&self.running);
        if let Some(n) = map.get_mut(self.name) {
            *n -= 1;
            if *n == 0 {
                map.remove(self.name);
            }
        }
    }
}

fn lock(running: &Running) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, usize>> {
    // The map only ever holds counts: one left by a panicking holder is still right.
    running.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[tokio::test(start_paused = true)]
    async fn shutdown_waits_for_a_task_that_takes_time_to_stop() {
        let stop = CancellationToken::new();
        let tasks = Tasks::new(stop.clone());
        let done = Arc::new(AtomicBool::new(false));
        tasks.spawn("slow", {
            let (stop, done) = (stop.clone(), done.clone());
            async move {
                stop.cancelled().await;
                // Flushing something on the way out.
                tokio::time::sleep(Duration::from_secs(2)).await;
                done.store(true, Ordering::SeqCst);
            }
        });
        stop.cancel();
        assert!(
            tasks
                .wait_until(Instant::now() + Duration::from_secs(5))
                .await
        );
        assert!(
            done.load(Ordering::SeqCst),
            "returned before the task ended"
        );
        assert!(tasks.is_empty());
        assert!(lock(&tasks.running).is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_gives_up_at_the_deadline_and_names_the_straggler() {
        let stop = CancellationToken::new();
        let tasks = Tasks::new(stop.clone());
        tasks.spawn("stuck", std::future::pending());
        tasks.spawn("prompt", {
            let stop = stop.clone();
            async move { stop.cancelled().await }
        });
        stop.cancel();
        let start = Instant::now();
        assert!(!tasks.wait_until(start + Duration::from_secs(3)).await);
        assert_eq!(start.elapsed(), Duration::from_secs(3));
        let left: Vec<_> = lock(&tasks.running).keys().copied().collect();
        assert_eq!(left, ["stuck"]);
    }

    #[tokio::test(start_paused = true)]
    async fn every_ticks_each_period_pushes_back_after_a_late_run_and_stops() {
        let stop = CancellationToken::new();
        let tasks = Tasks::new(stop.clone());
        let start = Instant::now();
        let runs = Arc::new(Mutex::new(Vec::new()));
        tasks.every("ticker", Duration::from_secs(10), {
            let runs = runs.clone();
            move || {
                let runs = runs.clone();
                async move {
                    let first = {
                        let mut runs = runs.lock().unwrap();
                        runs.push(start.elapsed().as_secs());
                        runs.len() == 1
                    };
                    if first {
                        // A run that overshoots two periods.
                        tokio::time::sleep(Duration::from_secs(25)).await;
                    }
                }
            }
        });
        tokio::time::sleep(Duration::from_secs(50)).await;
        stop.cancel();
        assert!(
            tasks
                .wait_until(Instant::now() + Duration::from_secs(1))
                .await
        );
        // Late at 25 s, then a period from there: no burst at 25 s to make up for 10 and 20.
        assert_eq!(*runs.lock().unwrap(), [0, 25, 35, 45]);
        let after = runs.lock().unwrap().len();
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(runs.lock().unwrap().len(), after, "ran after being stopped");
    }
}
