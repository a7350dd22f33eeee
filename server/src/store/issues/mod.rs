//! Issues in the store: the aggregate row, its append-only timeline, followers, submissions,
//! deadline clocks and applied commands. Every change is one transaction that checks the
//! issue's version, so concurrent actions cannot both win.

pub(crate) mod sql;

use crate::domain::issue::{Issue, NewEvent};
use crate::domain::places::PlacePath;
pub use crate::domain::sla::{ClockChanges, NewDeadline};
use crate::domain::stats::StatRow;
use crate::store::StoreResult;
use async_trait::async_trait;
use hehe_protocol::issue::{
    Clock, DeadlineInfo, GeoPoint, IssueEventInfo, IssueState, IssueSummary, PhotoKind, Priority,
    Satisfaction,
};
use hehe_protocol::{AccountId, IssueId, PlaceId, RequestId};

/// An issue as stored: the rule-relevant part plus what people read.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueRecord {
    pub issue: Issue,
    pub category: String,
    pub title: String,
    pub description: String,
    pub place_id: PlaceId,
    pub location: Option<GeoPoint>,
    pub submitted_by: AccountId,
    /// Bit per clock ever missed (see `sla::clock_bit`).
    pub overdue: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct NewIssueRecord<'a> {
    pub category: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub place_id: PlaceId,
    pub place: PlacePath,
    pub location: Option<GeoPoint>,
    pub reporter: AccountId,
    pub submitted_by: AccountId,
    pub public: bool,
    pub priority: Priority,
    pub at: i64,
}

/// A deadline that has reached its warning or due time and has not been handled yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueDeadline {
    pub id: i64,
    pub issue_id: IssueId,
    pub clock: Clock,
    pub breach: bool,
}

/// Who asked for a change, when it came from a person's command.
#[derive(Debug, Clone, Copy)]
pub struct CommandKey<'a> {
    pub account: AccountId,
    pub request_id: &'a RequestId,
}

/// Everything one accepted command changes, written in one transaction.
#[derive(Debug, Clone)]
pub struct IssueChange<'a> {
    /// The person acting; `None` for the deadline clock.
    pub actor: Option<AccountId>,
    pub command: Option<CommandKey<'a>>,
    pub expected_version: i64,
    pub issue: &'a Issue,
    pub events: &'a [NewEvent],
    pub clocks: ClockChanges,
    /// The deadline this change handles: marked warned or breached only if nobody did yet.
    pub claim: Option<DueDeadline>,
    pub breached: Option<Clock>,
    pub follow: Option<(AccountId, bool)>,
    pub rating: Option<(Option<Satisfaction>, Option<u8>)>,
    /// A merge: submissions and followers move to this issue.
    pub merge_into: Option<IssueId>,
    /// A "me too": this person's report joins the issue.
    pub submission: Option<(&'a str, AccountId)>,
    pub at: i64,
}

/// The result of a write: the issue now, and the timeline entries the command added (for
/// publishing). `replayed`: the command had been applied before and nothing was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub summary: IssueSummary,
    pub events: Vec<IssueEventInfo>,
    pub replayed: bool,
}

/// Which issues to list.
#[derive(Debug, Clone, Default)]
pub struct IssueFilter {
    pub community: Option<PlaceId>,
    pub street: Option<PlaceId>,
    pub grid: Option<PlaceId>,
    pub assignee: Option<AccountId>,
    /// Reported by or followed by.
    pub involving: Option<AccountId>,
    pub states: Vec<IssueState>,
    pub category: Option<String>,
    pub public_only: bool,
    pub created_after: Option<i64>,
    pub before_id: Option<i64>,
    pub limit: u32,
}

#[async_trait]
pub trait IssueStore: Send + Sync {
    /// Creates an issue with its first submission, timeline entry and clocks. A repeated
    /// (account, request id) returns the first result.
    async fn create_issue(
        &self,
        new: NewIssueRecord<'_>,
        command: CommandKey<'_>,
        events: &[NewEvent],
        clocks: &[NewDeadline],
    ) -> StoreResult<Applied>;

    /// Applies a change. `StoreError::Stale` when the version moved on, or the claimed deadline
    /// was already handled; a repeated command returns the first result.
    async fn update_issue(&self, change: IssueChange<'_>) -> StoreResult<Applied>;

    /// A command's stored result, if it was applied already.
    async fn applied(&self, command: CommandKey<'_>) -> StoreResult<Option<Applied>>;

    async fn issue(&self, id: IssueId) -> StoreResult<Option<IssueRecord>>;

    async fn issue_summary(&self, id: IssueId) -> StoreResult<Option<IssueSummary>>;

    /// The whole timeline, oldest first.
    async fn issue_events(&self, id: IssueId) -> StoreResult<Vec<IssueEventInfo>>;

    async fn issue_deadlines(&self, id: IssueId) -> StoreResult<Vec<DeadlineInfo>>;

    async fn is_follower(&self, id: IssueId, account: AccountId) -> StoreResult<bool>;

    async fn followers(&self, id: IssueId) -> StoreResult<Vec<AccountId>>;

    async fn list_issues(&self, filter: &IssueFilter) -> StoreResult<Vec<IssueSummary>>;

    /// Deadlines whose warning or due time is at or before `now` and not yet handled.
    async fn due_deadlines(&self, now: i64, limit: u32) -> StoreResult<Vec<DueDeadline>>;

    /// Records that an `after` photo exists (until the next dispatch).
    async fn mark_after_photo(&self, id: IssueId) -> StoreResult<()>;

    async fn insert_photo(&self, photo: NewPhoto<'_>) -> StoreResult<i64>;

    /// Rows for statistics: every issue of the place created at or after `since`, with its
    /// grid and community.
    async fn stat_rows(
        &self,
        place: PlacePath,
        since: i64,
    ) -> StoreResult<Vec<(PlaceId, PlaceId, StatRow)>>;

    /// Open and overdue issues per community of a street.
    async fn open_counts(&self, street: PlaceId) -> StoreResult<Vec<(PlaceId, u32, u32)>>;

    async fn photo(&self, issue: IssueId, id: i64) -> StoreResult<Option<PhotoRow>>;

    async fn photos(&self, issue: IssueId) -> StoreResult<Vec<PhotoRow>>;

    /// Reports behind an issue, merged ones included.
    async fn submission_count(&self, issue: IssueId) -> StoreResult<u32>;

    /// Whether the account's own report is among them.
    async fn has_submitted(&self, issue: IssueId, account: AccountId) -> StoreResult<bool>;
}

#[derive(Debug, Clone)]
pub struct NewPhoto<'a> {
    pub issue: IssueId,
    pub sha256: &'a str,
    /// `jpeg`, `png` or `webp`.
    pub media_type: &'a str,
    pub kind: PhotoKind,
    pub size: u64,
    pub uploaded_by: AccountId,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoRow {
    pub id: i64,
    pub issue: IssueId,
    pub sha256: String,
    pub media_type: String,
    pub kind: PhotoKind,
    pub size: u64,
    pub uploaded_by: AccountId,
    pub created_at: i64,
}
