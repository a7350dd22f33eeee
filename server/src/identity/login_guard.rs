//! Backoff after failed logins: after a few wrong passwords for one username, further attempts
//! for it are refused for a while, doubling with each failure, whatever the password. It is
//! kept per username, not per account, so it says nothing about whether an account exists, and
//! refused attempts cost no password hashing.

use dashmap::DashMap;
use std::time::Duration;
use tokio::time::Instant;

/// How long logins for a username stay refused after `failures` wrong passwords in a row: not
/// at all for the first `free`, then 1 s, 2 s, 4 s… up to `max`.
pub fn lock_for(failures: u32, free: u32, max: Duration) -> Option<Duration> {
    let over = failures.checked_sub(free)?;
    Some(Duration::from_secs(1u64 << over.min(30)).min(max))
}

/// Failed logins per username; bounded by forgetting usernames whose lock has long passed.
pub struct LoginGuard {
    failures: DashMap<String, Failures>,
    free: u32,
    max: Duration,
}

struct Failures {
    count: u32,
    last: Instant,
}

/// Usernames remembered before old ones are forgotten.
const REMEMBERED: usize = 100_000;
/// Usernames are compared by at most this many characters: a key is never larger.
const KEY_CHARS: usize = 128;

impl LoginGuard {
    pub fn new(free: u32, max: Duration) -> Self {
        Self {
            failures: DashMap::new(),
            free,
            max,
        }
    }

    fn key(username: &str) -> String {
        username
            .trim()
            .chars()
            .take(KEY_CHARS)
            .collect::<String>()
            .to_lowercase()
    }

    /// `Err` with the time left while logins for `username` are refused.
    pub fn check(&self, username: &str) -> Result<(), Duration> {
        let Some(entry) = self.failures.get(&Self::key(username)) else {
            return Ok(());
        };
        match lock_for(entry.count, self.free, self.max) {
            Some(lock) => {
                let until = entry.last + lock;
                let now = Instant::now();
                if now < until {
                    Err(until - now)
                } else {
                    Ok(())
                }
            }
            None => Ok(()),
        }
    }

    pub fn failed(&self, username: &str) {
        if self.failures.len() >= REMEMBERED {
            self.forget_old();
        }
        let mut entry = self
            .failures
            .entry(Self::key(username))
            .or_insert(Failures {
                count: 0,
                last: Instant::now(),
            });
        entry.count = entry.count.saturating_add(1);
        entry.last = Instant::now();
    }

    pub fn succeeded(&self, username: &str) {
        self.failures.remove(&Self::key(username));
    }

    /// Drops usernames whose last failure is older than the longest lock; when an attacker
    /// keeps that many fresh, the oldest go anyway, so memory stays bounded.
    fn forget_old(&self) {
        let now = Instant::now();
        self.failures
            .retain(|_, f| now.duration_since(f.last) < self.max);
        if self.failures.len() >= REMEMBERED {
            self.failures.clear();
        }
    }

    pub fn len(&self) -> usize {
        self.failures.len()
    }

    pub fn is_empty(&self) -> bool {
        self.failures.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: Duration = Duration::from_secs(900);

    #[test]
    fn the_first_failures_are_free_then_the_lock_doubles_up_to_the_cap() {
        for n in 0..5 {
            assert_eq!(lock_for(n, 5, MAX), None, "{n}");
        }
        let secs: Vec<u64> = (5..16)
            .map(|n| lock_for(n, 5, MAX).unwrap().as_secs())
            .collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900]);
        assert_eq!(lock_for(u32::MAX, 5, MAX), Some(MAX));
        assert_eq!(lock_for(0, 0, MAX), Some(Duration::from_secs(1)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_username_is_locked_after_its_free_failures_and_freed_by_success() {
        let guard = LoginGuard::new(2, MAX);
        assert!(guard.check("wang").is_ok());
        guard.failed("wang");
        guard.failed(" WANG ");
        // Case and spaces do not make another username.
        assert_eq!(guard.check("Wang"), Err(Duration::from_secs(1)));
        assert!(guard.check("li").is_ok(), "others are not affected");
        tokio::time::advance(Duration::from_millis(1001)).await;
        assert!(guard.check("wang").is_ok());
        guard.failed("wang");
        assert_eq!(guard.check("wang"), Err(Duration::from_secs(2)));
        guard.succeeded("wang");
        assert!(guard.check("wang").is_ok());
        assert!(guard.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn memory_stays_bounded() {
        let guard = LoginGuard::new(5, Duration::from_secs(1));
        for i in 0..REMEMBERED + 10 {
            guard.failed(&format!("u{i}"));
            if i == REMEMBERED / 2 {
                tokio::time::advance(Duration::from_secs(2)).await;
            }
        }
        assert!(guard.len() < REMEMBERED, "{}", guard.len());
    }
}
