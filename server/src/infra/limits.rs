//! Rate limits: per client address (connects, logins), per account and kind of action (posts,
//! issue submits, votes, uploads) and per connection (frames). GCRA buckets from `governor`;
//! each node counts on its own, so with N nodes behind a balancer a client may get up to N
//! times a limit, as with Centrifugo's per-node limits.
//!
//! Memory stays bounded: a key's bucket is kept only while it is not full again (a sweep every
//! few seconds drops the rest), so a limiter holds the keys active within the last burst's
//! refill time; past `max_keys`, a sweep runs at once.

use crate::infra::metrics::Metrics;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};
use hehe_protocol::AccountId;
use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One rate: `count` per `period`, with bursts of up to `burst`; or no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    Off,
    Per {
        count: NonZeroU32,
        period: Period,
        burst: NonZeroU32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Second,
    Minute,
    Hour,
}

impl Period {
    fn duration(self) -> Duration {
        Duration::from_secs(match self {
            Period::Second => 1,
            Period::Minute => 60,
            Period::Hour => 3600,
        })
    }
    fn as_str(self) -> &'static str {
        match self {
            Period::Second => "s",
            Period::Minute => "min",
            Period::Hour => "h",
        }
    }
}

impl Rate {
    /// The governor quota: one cell every `period / count`, `burst` cells at once.
    fn quota(self) -> Option<Quota> {
        let Rate::Per {
            count,
            period,
            burst,
        } = self
        else {
            return None;
        };
        let every = period.duration() / count.get();
        Quota::with_period(every.max(Duration::from_nanos(1))).map(|q| q.allow_burst(burst))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a rate is `off` or COUNT/PERIOD[:BURST] with PERIOD s, min or h, e.g. 10/s:50")]
pub struct BadRate;

impl FromStr for Rate {
    type Err = BadRate;
    fn from_str(s: &str) -> Result<Self, BadRate> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(Rate::Off);
        }
        let (rate, burst) = match s.split_once(':') {
            Some((rate, burst)) => (rate, Some(burst)),
            None => (s, None),
        };
        let (count, period) = rate.split_once('/').ok_or(BadRate)?;
        let count: NonZeroU32 = count.trim().parse().map_err(|_| BadRate)?;
        let period = match period.trim() {
            "s" | "sec" => Period::Second,
            "min" | "m" => Period::Minute,
            "h" | "hour" => Period::Hour,
            _ => return Err(BadRate),
        };
        let burst = match burst {
            Some(b) => b.trim().parse().map_err(|_| BadRate)?,
            None => count,
        };
        Ok(Rate::Per {
            count,
            period,
            burst,
        })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rate::Off => f.write_str("off"),
            Rate::Per {
                count,
                period,
                burst,
            } => write!(f, "{count}/{}:{burst}", period.as_str()),
        }
    }
}

/// What is limited; also the label of the `hehe_rate_limited` counter and the ops channel's
/// `rate_limited` map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Limit {
    Connect,
    Login,
    Frame,
    Post,
    Submit,
    Vote,
    Upload,
}

impl Limit {
    pub const ALL: [Limit; 7] = [
        Limit::Connect,
        Limit::Login,
        Limit::Frame,
        Limit::Post,
        Limit::Submit,
        Limit::Vote,
        Limit::Upload,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Connect => "connect",
            Limit::Login => "login",
            Limit::Frame => "frame",
            Limit::Post => "post",
            Limit::Submit => "submit",
            Limit::Vote => "vote",
            Limit::Upload => "upload",
        }
    }
    /// What the refusal tells the client it did too often.
    fn doing(self) -> &'static str {
        match self {
            Limit::Connect => "connections from your address",
            Limit::Login => "sign-in attempts from your address",
            Limit::Frame => "frames on this connection",
            Limit::Post => "messages",
            Limit::Submit => "issues raised",
            Limit::Vote => "votes",
            Limit::Upload => "uploads",
        }
    }
}

/// The limits in force, from `HEHE_LIMIT_*`; `HEHE_RATE_LIMITS=off` turns every one off (load
/// tests do, since they connect thousands of clients from a few addresses).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct LimitsConfig {
    /// Enforce the rate limits below. `off` for load tests only.
    #[arg(
        long,
        env = "HEHE_RATE_LIMITS",
        default_value_t = true,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub rate_limits: bool,
    /// WebSocket connections per client address (IPv6: per /64): COUNT/PERIOD:BURST or off.
    #[arg(long, env = "HEHE_LIMIT_CONNECTS", default_value = "20/s:100")]
    pub connects: Rate,
    /// Requests to /api/auth/* (login, refresh, logout) per client address.
    #[arg(long, env = "HEHE_LIMIT_LOGINS", default_value = "2/s:20")]
    pub logins: Rate,
    /// Text frames per WebSocket connection; past it the connection is closed with 4004.
    #[arg(long, env = "HEHE_LIMIT_FRAMES", default_value = "30/s:120")]
    pub frames: Rate,
    /// Channel messages per account.
    #[arg(long, env = "HEHE_LIMIT_POSTS", default_value = "5/s:20")]
    pub posts: Rate,
    /// Issues raised per account.
    #[arg(long, env = "HEHE_LIMIT_SUBMITS", default_value = "30/h:10")]
    pub submits: Rate,
    /// Votes per account: ballots in living-room votes and appraisals.
    #[arg(long, env = "HEHE_LIMIT_VOTES", default_value = "2/s:10")]
    pub votes: Rate,
    /// Photo uploads per account.
    #[arg(long, env = "HEHE_LIMIT_UPLOADS", default_value = "120/h:30")]
    pub uploads: Rate,
    /// Keys (addresses or accounts) one limiter keeps before it sweeps out idle ones at once.
    #[arg(long, env = "HEHE_LIMIT_MAX_KEYS", default_value_t = 100_000)]
    pub max_keys: usize,
    /// The request header that carries the client's address when the server runs behind a
    /// reverse proxy (e.g. `x-forwarded-for`; its last entry is used). Empty: the peer address.
    /// Set it only behind a proxy that writes the header, or clients can pick their own key.
    #[arg(long, env = "HEHE_CLIENT_IP_HEADER", default_value = "")]
    pub client_ip_header: String,
}

impl LimitsConfig {
    /// No limit at all: for load tests and tests that send in bulk.
    pub fn off() -> Self {
        Self {
            rate_limits: false,
            ..Self::default()
        }
    }

    fn rate(&self, limit: Limit) -> Rate {
        if !self.rate_limits {
            return Rate::Off;
        }
        match limit {
            Limit::Connect => self.connects,
            Limit::Login => self.logins,
            Limit::Frame => self.frames,
            Limit::Post => self.posts,
            Limit::Submit => self.submits,
            Limit::Vote => self.votes,
            Limit::Upload => self.uploads,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        // The defaults of the flags above, parsed the same way.
        use clap::{Args, FromArgMatches};
        let cmd = LimitsConfig::augment_args(clap::Command::new("limits"));
        let matches = cmd
            .try_get_matches_from(["limits"])
            .unwrap_or_else(|e| unreachable!("the defaults parse: {e}"));
        LimitsConfig::from_arg_matches(&matches)
            .unwrap_or_else(|e| unreachable!("the defaults parse: {e}"))
    }
}

/// A refusal: which limit, and when the next attempt may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub limit: Limit,
    pub retry_after: Duration,
}

impl Refused {
    /// Whole seconds to wait, at least one.
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_secs_f64().ceil().max(1.0) as u64
    }
    pub fn message(&self) -> String {
        format!(
            "too many {}; try again in {} s",
            self.limit.doing(),
            self.retry_after_secs()
        )
    }
}

/// The key of a client address: IPv6 clients usually hold a whole /64, so that is one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddrKey(u128);

impl From<IpAddr> for AddrKey {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => AddrKey(u32::from(v4) as u128),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddrKey(u32::from(v4) as u128),
                None => AddrKey((u128::from(v6) & !((1u128 << 64) - 1)) | (1u128 << 32)),
            },
        }
    }
}

struct Keyed<K: std::hash::Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    created: std::time::Instant,
    /// When a sweep last ran (see `now_ms`), so a flood of new keys sweeps at most once a second.
    last_sweep: AtomicU64,
}

impl<K: std::hash::Hash + Eq + Clone> Keyed<K> {
    fn new(quota: Quota) -> Self {
        Self {
            limiter: DefaultKeyedRateLimiter::dashmap(quota),
            created: std::time::Instant::now(),
            last_sweep: AtomicU64::new(0),
        }
    }

    fn check(&self, key: &K, max_keys: usize) -> Result<(), Duration> {
        if self.limiter.len() > max_keys {
            self.sweep_at_most_every(Duration::from_secs(1));
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    fn sweep_at_most_every(&self, every: Duration) {
        let now = self.now_ms();
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now.saturating_sub(last) < every.as_millis() as u64
            || self
                .last_sweep
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        self.sweep();
    }

    fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// Milliseconds since this limiter was made.
    fn now_ms(&self) -> u64 {
        self.created.elapsed().as_millis() as u64
    }
}

/// Every limiter of one node, in `AppState`.
pub struct Limiters {
    config: LimitsConfig,
    by_addr: [Option<Keyed<AddrKey>>; 2],
    by_account: [Option<Keyed<AccountId>>; 4],
    frames: Option<Quota>,
    metrics: Arc<Metrics>,
}

/// The limiter of one connection's frames, held by its session.
pub type FrameLimiter = DefaultDirectRateLimiter;

impl Limiters {
    pub fn new(config: &LimitsConfig, metrics: Arc<Metrics>) -> Self {
        fn keyed<K: std::hash::Hash + Eq + Clone>(c: &LimitsConfig, l: Limit) -> Option<Keyed<K>> {
            c.rate(l).quota().map(Keyed::new)
        }
        Self {
            by_addr: [keyed(config, Limit::Connect), keyed(config, Limit::Login)],
            by_account: [
                keyed(config, Limit::Post),
                keyed(config, Limit::Submit),
                keyed(config, Limit::Vote),
                keyed(config, Limit::Upload),
            ],
            frames: config.rate(Limit::Frame).quota(),
            config: config.clone(),
            metrics,
        }
    }

    /// Counts one `limit` action from client address `ip`.
    pub fn check_addr(&self, limit: Limit, ip: IpAddr) -> Result<(), Refused> {
        let slot = match limit {
            Limit::Connect => &self.by_addr[0],
            Limit::Login => &self.by_addr[1],
            _ => return Ok(()),
        };
        self.outcome(limit, slot.as_ref(), &AddrKey::from(ip))
    }

    /// Counts one `limit` action by `account`.
    pub fn check_account(&self, limit: Limit, account: AccountId) -> Result<(), Refused> {
        let slot = match limit {
            Limit::Post => &self.by_account[0],
            Limit::Submit => &self.by_account[1],
            Limit::Vote => &self.by_account[2],
            Limit::Upload => &self.by_account[3],
            _ => return Ok(()),
        };
        self.outcome(limit, slot.as_ref(), &account)
    }

    fn outcome<K: std::hash::Hash + Eq + Clone>(
        &self,
        limit: Limit,
        keyed: Option<&Keyed<K>>,
        key: &K,
    ) -> Result<(), Refused> {
        let Some(keyed) = keyed else { return Ok(()) };
        keyed
            .check(key, self.config.max_keys)
            .map_err(|retry_after| self.refused(limit, retry_after))
    }

    /// A new connection's frame limiter, or none when frames are not limited.
    pub fn frame_limiter(&self) -> Option<FrameLimiter> {
        self.frames.map(FrameLimiter::direct)
    }

    /// Counts one frame on a connection; `Err` means close it with 4004.
    pub fn check_frame(&self, limiter: &FrameLimiter) -> Result<(), Refused> {
        limiter.check().map_err(|n| {
            self.refused(
                Limit::Frame,
                n.wait_time_from(DefaultClock::default().now()),
            )
        })
    }

    fn refused(&self, limit: Limit, retry_after: Duration) -> Refused {
        self.metrics.rate_limited(limit.as_str());
        Refused { limit, retry_after }
    }

    /// Drops the keys whose buckets are full again; run every few seconds.
    pub fn sweep(&self) {
        for keyed in self.by_addr.iter().flatten() {
            keyed.sweep();
        }
        for keyed in self.by_account.iter().flatten() {
            keyed.sweep();
        }
    }

    /// Keys held across all limiters, for tests of the memory bound.
    pub fn keys(&self) -> usize {
        self.by_addr
            .iter()
            .flatten()
            .map(|k| k.limiter.len())
            .sum::<usize>()
            + self
                .by_account
                .iter()
                .flatten()
                .map(|k| k.limiter.len())
                .sum::<usize>()
    }

    /// The client's address of a request: its peer's (from axum's `ConnectInfo`), or the
    /// configured proxy header's.
    pub fn request_ip(
        &self,
        extensions: &axum::http::Extensions,
        headers: &axum::http::HeaderMap,
    ) -> Option<IpAddr> {
        let peer = extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|axum::extract::ConnectInfo(addr)| addr.ip());
        self.client_ip(peer, headers)
    }

    /// The client's address: the peer's, or the last entry of the configured proxy header.
    pub fn client_ip(
        &self,
        peer: Option<IpAddr>,
        headers: &axum::http::HeaderMap,
    ) -> Option<IpAddr> {
        let header = self.config.client_ip_header.as_str();
        if header.is_empty() {
            return peer;
        }
        headers
            .get_all(header)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .next_back()
            .or(peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_print() {
        let r: Rate = "10/s:50".parse().unwrap();
        assert_eq!(r.to_string(), "10/s:50");
        assert_eq!("30/h".parse::<Rate>().unwrap().to_string(), "30/h:30");
        assert_eq!("5/min:1".parse::<Rate>().unwrap().to_string(), "5/min:1");
        assert_eq!("OFF".parse::<Rate>().unwrap(), Rate::Off);
        for bad in ["", "10", "0/s", "10/s:0", "10/day", "x/s", "10/s:y", "-1/s"] {
            assert_eq!(bad.parse::<Rate>(), Err(BadRate), "{bad:?}");
        }
    }

    #[test]
    fn defaults_are_the_flag_defaults() {
        let d = LimitsConfig::default();
        assert!(d.rate_limits);
        assert_eq!(d.frames.to_string(), "30/s:120");
        assert_eq!(d.submits.to_string(), "30/h:10");
        assert!(!LimitsConfig::off().rate_limits);
        // `off`, as the README says, and the usual spellings of a boolean.
        use clap::{Args, FromArgMatches};
        for (word, on) in [
            ("off", false),
            ("false", false),
            ("on", true),
            ("true", true),
        ] {
            let cmd = LimitsConfig::augment_args(clap::Command::new("limits"));
            let matches = cmd
                .try_get_matches_from(["limits", "--rate-limits", word])
                .unwrap();
            assert_eq!(
                LimitsConfig::from_arg_matches(&matches)
                    .unwrap()
                    .rate_limits,
                on
            );
        }
    }

    fn limiters(tweak: impl FnOnce(&mut LimitsConfig)) -> Limiters {
        let mut config = LimitsConfig::default();
        tweak(&mut config);
        Limiters::new(&config, Arc::new(Metrics::new()))
    }

    #[test]
    fn a_burst_passes_then_refusals_say_when_to_retry() {
        let l = limiters(|c| c.posts = "1/min:3".parse().unwrap());
        let (a, b) = (AccountId(1), AccountId(2));
        for _ in 0..3 {
            assert!(l.check_account(Limit::Post, a).is_ok());
        }
        let refused = l.check_account(Limit::Post, a).unwrap_err();
        assert_eq!(refused.limit, Limit::Post);
        assert!(refused.retry_after > Duration::from_secs(50));
        assert!(
            refused
                .message()
                .starts_with("too many messages; try again in ")
        );
        // Another account and another kind of action have buckets of their own.
        assert!(l.check_account(Limit::Post, b).is_ok());
        assert!(l.check_account(Limit::Vote, a).is_ok());
    }

    #[test]
    fn off_means_never_refused() {
        let l = limiters(|c| {
            c.rate_limits = false;
            c.posts = "1/h:1".parse().unwrap();
        });
        for _ in 0..1000 {
            assert!(l.check_account(Limit::Post, AccountId(1)).is_ok());
            assert!(
                l.check_addr(Limit::Connect, "127.0.0.1".parse().unwrap())
                    .is_ok()
            );
        }
        assert!(l.frame_limiter().is_none());
        let l = limiters(|c| c.uploads = Rate::Off);
        for _ in 0..1000 {
            assert!(l.check_account(Limit::Upload, AccountId(1)).is_ok());
        }
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64_and_mapped_v4_is_v4() {
        let l = limiters(|c| c.connects = "1/h:2".parse().unwrap());
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(l.check_addr(Limit::Connect, ip("2001:db8:1:2::1")).is_ok());
        assert!(
            l.check_addr(Limit::Connect, ip("2001:db8:1:2:ffff::9"))
                .is_ok()
        );
        assert!(l.check_addr(Limit::Connect, ip("2001:db8:1:2::7")).is_err());
        assert!(l.check_addr(Limit::Connect, ip("2001:db8:1:3::1")).is_ok());
        assert!(l.check_addr(Limit::Connect, ip("10.0.0.1")).is_ok());
        assert!(l.check_addr(Limit::Connect, ip("::ffff:10.0.0.1")).is_ok());
        assert!(l.check_addr(Limit::Connect, ip("10.0.0.1")).is_err());
        // A v4 address never shares a key with a v6 prefix.
        assert_ne!(AddrKey::from(ip("0.0.0.1")), AddrKey::from(ip("::1")));
    }

    #[test]
    fn frames_are_limited_per_connection() {
        let l = limiters(|c| c.frames = "1/h:5".parse().unwrap());
        let (one, two) = (l.frame_limiter().unwrap(), l.frame_limiter().unwrap());
        for _ in 0..5 {
            assert!(l.check_frame(&one).is_ok());
        }
        assert_eq!(l.check_frame(&one).unwrap_err().limit, Limit::Frame);
        assert!(l.check_frame(&two).is_ok());
    }

    #[test]
    fn idle_keys_are_swept_so_memory_stays_bounded() {
        // A fast refill: a key's bucket is full again 1 ms after its one use.
        let l = limiters(|c| {
            c.connects = "1000/s:1".parse().unwrap();
            c.max_keys = 100;
        });
        for i in 0..10_000u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(i));
            let _ = l.check_addr(Limit::Connect, ip);
        }
        // Past max_keys a sweep ran at once (at most once a second), so far fewer than 10,000.
        std::thread::sleep(Duration::from_millis(5));
        l.sweep();
        assert_eq!(l.keys(), 0);
    }

    #[test]
    fn the_client_address_comes_from_the_proxy_header_only_when_configured() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7".parse().unwrap(),
        );
        let peer = Some("127.0.0.1".parse().unwrap());
        let plain = limiters(|_| {});
        assert_eq!(plain.client_ip(peer, &headers), peer);
        let proxied = limiters(|c| c.client_ip_header = "x-forwarded-for".into());
        assert_eq!(
            proxied.client_ip(peer, &headers),
            Some("198.51.100.7".parse().unwrap())
        );
        assert_eq!(proxied.client_ip(peer, &Default::default()), peer);
    }
}
