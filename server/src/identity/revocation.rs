//! Revoked sessions and the live connections they end, on every node.
//!
//! Access tokens are checked on every HTTP request and WebSocket `auth`, far more often than
//! anyone logs out, so the check must not touch the store. Each node keeps the ids of sessions
//! revoked within the last access-token lifetime in memory: after that every access token of
//! a revoked session has expired by itself, and a refresh asks the store anyway. That set is
//! small (the logouts of one hour) and a lookup is one hash probe. A per-account "valid after"
//! epoch would be as cheap but could not end one session and keep the others.
//!
//! The set is filled from the store at start, from notices other nodes send over the bus
//! (`NOTICES`, a channel no client may subscribe to), and again from the store every
//! `SYNC_EVERY`, which also catches notices lost while the bus was unreachable. The same
//! notices close the live connections of a revoked session (4501), a disabled account (4502)
//! and an account whose grants changed (4007, to reconnect under its new identity).

use crate::clock::unix_ms;
use crate::live::bus::{At, Audience, DeliveryHandler};
use crate::live::hub::{Frame, Hub, Outbox};
use dashmap::DashMap;
use hehe_protocol::{AccountId, Channel, CloseCode, ErrorCode, ServerMsg};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The channel nodes tell each other of revocations on. `ops:2` is refused to clients (only
/// `ops:1` exists for them), so no client can read or fake a notice.
pub const NOTICES: Channel = Channel::Ops(2);

/// How often a node reads recent revocations from the store.
pub const SYNC_EVERY: Duration = Duration::from_secs(10);

/// What changed about an account, sent to every node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    /// These sessions were signed out.
    Revoked {
        account: AccountId,
        sids: Vec<String>,
    },
    /// The account may no longer sign in.
    Disabled { account: AccountId },
    /// The account's grants changed: what its connections may read has too.
    IdentityChanged { account: AccountId },
    /// A place moved: every node forgets the place paths it cached (`Delivery`), and the
    /// accounts with grants under it reconnect, as their grants now lie elsewhere.
    PlacesMoved { accounts: Vec<AccountId> },
}

/// One authenticated connection on this node.
struct Live {
    conn: u64,
    sid: String,
    outbox: Arc<Outbox>,
}

pub struct Revocations {
    /// Revoked session id → until when it matters (Unix ms).
    revoked: DashMap<String, i64>,
    /// This node's authenticated connections, by account.
    live: DashMap<AccountId, Vec<Live>>,
    /// How long after its revocation a session id is kept: the access-token lifetime, and a
    /// minute for clocks that disagree.
    keep_ms: i64,
    /// When the store was last read, so each read asks only for what is newer.
    synced_at: std::sync::Mutex<Option<i64>>,
}

impl Revocations {
    pub fn new(access_ttl: Duration) -> Arc<Self> {
        Arc::new(Self {
            revoked: DashMap::new(),
            live: DashMap::new(),
            keep_ms: access_ttl.as_millis() as i64 + 60_000,
            synced_at: std::sync::Mutex::new(None),
        })
    }

    pub fn is_revoked(&self, sid: &str) -> bool {
        self.revoked.contains_key(sid)
    }

    /// Registers an authenticated connection until the guard is dropped.
    pub fn register(
        self: &Arc<Self>,
        account: AccountId,
        conn: u64,
        sid: &str,
        outbox: Arc<Outbox>,
    ) -> LiveGuard {
        self.live.entry(account).or_default().push(Live {
            conn,
            sid: sid.to_owned(),
            outbox,
        });
        LiveGuard {
            revocations: self.clone(),
            account,
            conn,
        }
    }

    /// The connection now runs on a token of another session (a `refresh` frame).
    fn set_sid(&self, account: AccountId, conn: u64, sid: &str) {
        if let Some(mut conns) = self.live.get_mut(&account)
            && let Some(live) = conns.iter_mut().find(|l| l.conn == conn)
        {
            live.sid = sid.to_owned();
        }
    }

    /// Number of authenticated connections of `account` on this node.
    pub fn live_count(&self, account: AccountId) -> usize {
        self.live.get(&account).map_or(0, |c| c.len())
    }

    fn remember(&self, sid: &str, revoked_at: i64) -> bool {
        let until = revoked_at.saturating_add(self.keep_ms);
        self.revoked.insert(sid.to_owned(), until).is_none()
    }

    /// Acts on a notice: remembers revoked sessions and closes the connections it ends.
    pub fn apply(&self, notice: &Notice, now: i64) {
        match notice {
            Notice::Revoked { account, sids } => {
                for sid in sids {
                    self.remember(sid, now);
                }
                self.close(*account, |l| sids.contains(&l.sid), Ending::SignedOut);
            }
            Notice::Disabled { account } => self.close(*account, |_| true, Ending::Disabled),
            Notice::IdentityChanged { account } => {
                self.close(*account, |_| true, Ending::IdentityChanged)
            }
            Notice::PlacesMoved { accounts } => {
                for account in accounts {
                    self.close(*account, |_| true, Ending::IdentityChanged);
                }
            }
        }
    }

    fn close(&self, account: AccountId, which: impl Fn(&Live) -> bool, ending: Ending) {
        let Some(conns) = self.live.get(&account) else {
            return;
        };
        let (code, error, message) = ending.parts();
        let frame = Frame::from(
            ServerMsg::Error {
                id: None,
                code: error,
                message: message.into(),
            }
            .to_json(),
        );
        for live in conns.iter().filter(|l| which(l)) {
            // Told why before the close, so a client can show it; a full outbox closes anyway.
            let _ = live.outbox.push(frame.clone());
            live.outbox.close(code);
        }
    }

    /// Reads the store's recent revocations; sessions learnt of this way (a notice was lost)
    /// are closed like those a notice names. Forgets what no longer matters.
    pub async fn sync(&self, store: &dyn crate::store::Store) {
        // The tokens' clock, not `state.now()` (which tests may move): expiries are real time.
        let now = unix_ms();
        let last = *self.synced_at.lock().unwrap_or_else(|e| e.into_inner());
        // Since the last read, less a minute for clocks that disagree and for transactions
        // that committed late; the first read takes the whole window.
        let since = last.map_or(now - self.keep_ms, |t| (t - 60_000).max(now - self.keep_ms));
        match store.revoked_since(since).await {
            Ok(rows) => {
                *self.synced_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
                for row in rows {
                    if self.remember(&row.sid, row.revoked_at) {
                        self.close(row.account, |l| l.sid == row.sid, Ending::SignedOut);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read revoked sessions"),
        }
        self.revoked.retain(|_, until| *until > now);
    }
}

#[derive(Clone, Copy)]
enum Ending {
    SignedOut,
    Disabled,
    IdentityChanged,
}

impl Ending {
    fn parts(self) -> (CloseCode, ErrorCode, &'static str) {
        match self {
            Ending::SignedOut => (
                CloseCode::UNAUTHORIZED,
                ErrorCode::InvalidToken,
                "this session was signed out; sign in again",
            ),
            Ending::Disabled => (
                CloseCode::FORBIDDEN,
                ErrorCode::Forbidden,
                "this account may not sign in",
            ),
            Ending::IdentityChanged => (
                CloseCode::IDENTITY_CHANGED,
                ErrorCode::Forbidden,
                "this account's roles changed; reconnect",
            ),
        }
    }
}

/// Removes a connection from the live index when its session ends.
pub struct LiveGuard {
    revocations: Arc<Revocations>,
    account: AccountId,
    conn: u64,
}

impl LiveGuard {
    pub fn set_sid(&self, sid: &str) {
        self.revocations.set_sid(self.account, self.conn, sid);
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.revocations
            .live
            .remove_if_mut(&self.account, |_, conns| {
                conns.retain(|l| l.conn != self.conn);
                conns.is_empty()
            });
    }
}

/// What the bus delivers to this node: notices to `Revocations` (and a move of places to the
/// store's cache of paths), everything else to the hub.
pub struct Delivery {
    pub hub: Hub,
    pub revocations: Arc<Revocations>,
    pub store: Arc<dyn crate::store::Store>,
}

impl DeliveryHandler for Delivery {
    fn deliver(&self, channel: Channel, at: Option<At<'_>>, audience: Audience, frame: &Frame) {
        if channel != NOTICES {
            return DeliveryHandler::deliver(&self.hub, channel, at, audience, frame);
        }
        match serde_json::from_str::<Notice>(frame.as_str()) {
            // Real time, like `sync`: revocations follow the tokens' clock.
            Ok(notice) => {
                // Paths first: the connections closed next reconnect to read them anew.
                if matches!(notice, Notice::PlacesMoved { .. }) {
                    self.store.forget_place_paths();
                }
                self.revocations.apply(&notice, unix_ms())
            }
            Err(e) => tracing::warn!(error = %e, "undecodable identity notice"),
        }
    }

    fn evict(&self, channel: Channel, account: AccountId) {
        self.hub.evict(channel, account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::hub::Next;

    async fn closed_with(outbox: &Outbox) -> Option<u16> {
        loop {
            match tokio::time::timeout(Duration::from_millis(100), outbox.next()).await {
                Ok(Next::Close(code)) => return Some(code.0),
                Ok(Next::Frames(_)) => continue,
                Err(_) => return None,
            }
        }
    }

    #[tokio::test]
    async fn notices_close_the_matching_connections_only() {
        let r = Revocations::new(Duration::from_secs(60));
        let (me, other) = (AccountId(1), AccountId(2));
        let a = Arc::new(Outbox::new(1 << 16));
        let b = Arc::new(Outbox::new(1 << 16));
        let c = Arc::new(Outbox::new(1 << 16));
        let _ga = r.register(me, 1, "s1", a.clone());
        let _gb = r.register(me, 2, "s2", b.clone());
        let _gc = r.register(other, 3, "s3", c.clone());
        r.apply(
            &Notice::Revoked {
                account: me,
                sids: vec!["s1".into()],
            },
            0,
        );
        assert!(r.is_revoked("s1") && !r.is_revoked("s2"));
        assert_eq!(closed_with(&a).await, Some(4501));
        assert_eq!(closed_with(&b).await, None);
        r.apply(&Notice::IdentityChanged { account: me }, 0);
        assert_eq!(closed_with(&b).await, Some(4007));
        r.apply(&Notice::Disabled { account: other }, 0);
        assert_eq!(closed_with(&c).await, Some(4502));
        let d = Arc::new(Outbox::new(1 << 16));
        let e = Arc::new(Outbox::new(1 << 16));
        let _gd = r.register(AccountId(3), 4, "s4", d.clone());
        let _ge = r.register(AccountId(5), 5, "s5", e.clone());
        r.apply(
            &Notice::PlacesMoved {
                accounts: vec![AccountId(3), AccountId(4)],
            },
            0,
        );
        assert_eq!(closed_with(&d).await, Some(4007));
        assert_eq!(closed_with(&e).await, None);
    }

    #[test]
    fn guards_unregister_and_sids_follow_refreshes() {
        let r = Revocations::new(Duration::from_secs(60));
        let outbox = Arc::new(Outbox::new(1 << 16));
        let guard = r.register(AccountId(1), 7, "old", outbox.clone());
        guard.set_sid("new");
        assert_eq!(r.live.get(&AccountId(1)).unwrap()[0].sid, "new");
        drop(guard);
        assert_eq!(r.live_count(AccountId(1)), 0);
        assert!(r.live.is_empty());
    }

    #[test]
    fn notices_read_back_as_sent() {
        let n = Notice::Revoked {
            account: AccountId(4),
            sids: vec!["ab".into()],
        };
        let text = serde_json::to_string(&n).unwrap();
        assert_eq!(text, r#"{"kind":"revoked","account":4,"sids":["ab"]}"#);
        assert_eq!(serde_json::from_str::<Notice>(&text).unwrap(), n);
    }
}
