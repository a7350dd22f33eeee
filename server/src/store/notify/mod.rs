//! Notifications: the causes outbox (written in the transaction of the change that caused
//! them), each person's inbox and choices, and the deliveries outbox the worker sends from.
//! Causes and deliveries are claimed by one node at a time with a lease, as deadlines are:
//! a node that dies mid-work leaves a lease that lapses, and another node takes over.

pub(crate) mod sql;

use crate::domain::notify::{Prefs, Reach};
use crate::store::StoreResult;
use async_trait::async_trait;
use hehe_protocol::notify::{
    DeliveryInfo, DeliveryState, MarkRead, Notification, NotificationKind, NotifyChannel,
    NotifyPrefsUpdate, Subject, SubjectUnread,
};
use hehe_protocol::{AccountId, IssueId, PlaceId};

/// A cause taken by this node for expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedCause {
    pub id: i64,
    /// JSON of `domain::notify::Cause`.
    pub cause: String,
    pub created_at: i64,
}

/// A notification to write, with its sends beyond the socket.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub account: AccountId,
    pub kind: NotificationKind,
    pub subject: Subject,
    pub title: String,
    pub body: String,
    pub urgent: bool,
    /// Names the cause and the step: the same key for the same person is written once.
    pub dedupe_key: String,
    pub deliveries: Vec<NewDelivery>,
}

#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub channel: NotifyChannel,
    /// A push subscription's id, a phone number or an email address.
    pub target: String,
    /// What is sent when it is not the notification (a digest, as JSON).
    pub payload: Option<String>,
    pub next_at: i64,
}

/// How a person is reached and what they chose, for planning their sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub account: AccountId,
    pub language: String,
    pub prefs: Prefs,
    pub push: Vec<i64>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl Profile {
    pub fn reach(&self) -> Reach {
        Reach {
            push: !self.push.is_empty(),
            phone: self.phone.is_some(),
            email: self.email.is_some(),
        }
    }
}

/// A delivery taken by this node for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub account: AccountId,
    pub channel: NotifyChannel,
    pub target: String,
    pub payload: Option<String>,
    pub attempts: u32,
    pub idempotency_key: String,
    pub created_at: i64,
    /// The notification it sends, if any (a digest has none).
    pub notification: Option<Notification>,
    /// The recipient's language, for payloads composed at send time.
    pub language: String,
}

/// How one send ended, as the worker records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    Sent,
    /// Not needed: read first, or the target is gone.
    Skipped(&'static str),
    Retry {
        next_at: i64,
        error: String,
    },
    Dead(String),
}

/// The outbox at a glance, for `/metrics` and the ops dashboard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub pending: u64,
    /// Age of the oldest delivery due now and not yet sent, in milliseconds.
    pub oldest_due_ms: i64,
    pub dead: u64,
    pub causes_pending: u64,
}

/// Staff to put into a daily digest: who, their email, and the places they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestReader {
    pub account: AccountId,
    pub display_name: String,
    pub email: String,
    pub language: String,
    pub places: Vec<PlaceId>,
}

#[async_trait]
pub trait NotifyStore {
    /// Takes up to `limit` causes not yet expanded and not leased to a live node.
    async fn claim_causes(
        &self,
        node: &str,
        now: i64,
        lease_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedCause>>;

    /// Writes a cause's notifications and deliveries and marks it done, in one transaction,
    /// if this node still holds it; answers the notifications written now (not those a
    /// previous attempt wrote).
    async fn expand_cause(
        &self,
        cause: i64,
        node: &str,
        notifications: &[NewNotification],
        at: i64,
    ) -> StoreResult<Vec<(AccountId, Notification)>>;

    /// Writes notifications that have no stored cause (a digest); answers those new.
    async fn insert_notifications(
        &self,
        notifications: &[NewNotification],
        at: i64,
    ) -> StoreResult<Vec<(AccountId, Notification)>>;

    /// The channels and choices of each account (disabled accounts left out).
    async fn profiles(&self, accounts: &[AccountId]) -> StoreResult<Vec<Profile>>;

    /// A page of the inbox, newest first, ids below `before`.
    async fn inbox(
        &self,
        account: AccountId,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<Notification>>;

    /// Unread in all, and per subject (most recent first).
    async fn unread(&self, account: AccountId) -> StoreResult<(u32, Vec<SubjectUnread>)>;

    /// Marks read what `what` names; answers how many were unread.
    async fn mark_read(&self, account: AccountId, what: &MarkRead, at: i64) -> StoreResult<u32>;

    async fn set_notify_prefs(
        &self,
        account: AccountId,
        update: &NotifyPrefsUpdate,
        quiet: Option<Option<(u16, u16)>>,
    ) -> StoreResult<()>;

    /// Takes up to `limit` deliveries due now, not leased to a live node.
    async fn claim_deliveries(
        &self,
        node: &str,
        now: i64,
        lease_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>>;

    /// Records how a send ended, if this node still holds the delivery.
    async fn finish_delivery(
        &self,
        id: i64,
        node: &str,
        finished: &Finished,
        at: i64,
    ) -> StoreResult<bool>;

    async fn queue_stats(&self, now: i64) -> StoreResult<QueueStats>;

    /// Deliveries in a state, newest first.
    async fn deliveries(&self, state: DeliveryState, limit: u32) -> StoreResult<Vec<DeliveryInfo>>;

    /// A dead delivery made due again; false when there is no dead delivery with that id.
    async fn retry_delivery(&self, id: i64, now: i64) -> StoreResult<bool>;

    /// Removes notifications made before `before` (and their deliveries) and causes done
    /// before it; answers how many notifications went.
    async fn sweep_notifications(&self, before: i64) -> StoreResult<u64>;

    /// Officials of a community; chiefs of a street.
    async fn place_staff(&self, place: PlaceId, role: &str) -> StoreResult<Vec<AccountId>>;

    /// Everyone granted a role at the community or a place under it.
    async fn community_people(&self, community: PlaceId) -> StoreResult<Vec<AccountId>>;

    /// Residents whose own report joined the issue, beyond its reporter.
    async fn me_too(&self, issue: IssueId) -> StoreResult<Vec<AccountId>>;

    /// Staff with an email address and the places they hold, for the digest.
    async fn digest_readers(&self) -> StoreResult<Vec<DigestReader>>;

    /// Claims `account`'s digest for `day`: true for the one node that gets it.
    async fn claim_digest(&self, account: AccountId, day: &str, at: i64) -> StoreResult<bool>;
}
