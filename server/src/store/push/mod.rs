//! Browsers' Web Push subscriptions: one row per endpoint (a browser profile), owned by the
//! account that last subscribed on it, at most `MAX_PER_ACCOUNT` per account.

pub(crate) mod sql;

use crate::store::StoreResult;
use async_trait::async_trait;
use hehe_protocol::AccountId;

/// Subscriptions one account keeps; subscribing one more drops the oldest.
pub const MAX_PER_ACCOUNT: i64 = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSubscriptionRow {
    pub id: i64,
    pub account: AccountId,
    pub endpoint: String,
    /// The browser's P-256 public key, base64url.
    pub p256dh: String,
    /// The 16-byte authentication secret, base64url.
    pub auth: String,
    pub created_at: i64,
    /// When a push to it was last accepted.
    pub last_used_at: Option<i64>,
}

#[async_trait]
pub trait PushStore {
    /// Stores a subscription and returns its id. An endpoint already stored is taken over,
    /// with the new keys, by `account`: the same browser subscribing again, or another person
    /// signing in on it. Beyond `MAX_PER_ACCOUNT`, the account's oldest are dropped.
    async fn push_subscribe(
        &self,
        account: AccountId,
        endpoint: &str,
        p256dh: &str,
        auth: &str,
        at: i64,
    ) -> StoreResult<i64>;

    /// Forgets `account`'s subscription of `endpoint`; false when it has none (another
    /// account's is left alone).
    async fn push_unsubscribe(&self, account: AccountId, endpoint: &str) -> StoreResult<bool>;

    /// The account's subscriptions, oldest first.
    async fn push_subscriptions(&self, account: AccountId)
    -> StoreResult<Vec<PushSubscriptionRow>>;

    async fn push_subscription(&self, id: i64) -> StoreResult<Option<PushSubscriptionRow>>;

    /// Forgets a subscription the push service answered 404 or 410 for.
    async fn push_forget(&self, id: i64) -> StoreResult<()>;

    /// Notes that a push to it was accepted.
    async fn push_touch(&self, id: i64, at: i64) -> StoreResult<()>;
}
