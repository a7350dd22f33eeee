//! Appraisals in the store: the setup and state beside the meeting's row, the electorate as
//! the meeting's representatives, one receipt per voter, ballots that cannot be traced back to
//! voters when the appraisal is anonymous, the log of voids, and follow-up items.

pub(crate) mod sql;

use crate::domain::appraisal::{FollowUp, Setup};
use crate::store::StoreResult;
use async_trait::async_trait;
use hehe_protocol::appraisal::{AppraisalState, BallotStatus, Grade};
use hehe_protocol::{AccountId, MeetingId, RequestId};

#[derive(Debug, Clone, PartialEq)]
pub struct AppraisalRecord {
    pub id: MeetingId,
    pub state: AppraisalState,
    pub anonymous: bool,
    pub setup: Setup,
    /// Moves with every change; writes name the revision they were decided on.
    pub revision: i64,
    pub opened_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub published_at: Option<i64>,
}

/// The appraisal's part of a new appraisal meeting, whose row exists already.
#[derive(Debug, Clone)]
pub struct NewAppraisalRecord<'a> {
    pub id: MeetingId,
    pub anonymous: bool,
    pub setup: &'a Setup,
    pub electorate: &'a [AccountId],
}

/// Where the counts stand after a write, read in the write's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub revision: i64,
    pub state: AppraisalState,
    pub issued: u32,
    pub cast: u32,
    pub void: u32,
}

/// A state change decided on `expected_revision`.
#[derive(Debug, Clone)]
pub struct AppraisalMove<'a> {
    pub id: MeetingId,
    pub from: AppraisalState,
    pub to: AppraisalState,
    pub expected_revision: i64,
    /// Opened on publication.
    pub follow_ups: &'a [FollowUp],
    /// Who should hear of it (electors, when it opens), kept with the write.
    pub cause: Option<&'a crate::domain::notify::Cause>,
    pub at: i64,
}

#[derive(Debug, Clone)]
pub struct CastBallot<'a> {
    pub id: MeetingId,
    pub voter: AccountId,
    pub request_id: Option<&'a RequestId>,
    pub anonymous: bool,
    pub scores: &'a [Vec<u32>],
    pub grades: &'a [Grade],
    pub comment: Option<&'a str>,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cast {
    /// Stored. The ballot id is returned for named ballots only.
    Stored {
        tally: Tally,
        ballot_id: Option<String>,
    },
    /// The same voter and request id stored a ballot before.
    Replayed { ballot_id: Option<String> },
    /// The voter has a receipt already.
    AlreadyVoted,
    /// The appraisal is not taking ballots (any more).
    NotBalloting(AppraisalState),
}

#[derive(Debug, Clone)]
pub struct VoidWrite<'a> {
    pub id: MeetingId,
    pub ballot_id: &'a str,
    pub reason: &'a str,
    pub actor: AccountId,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Voided {
    Done(Tally),
    NoSuchBallot,
    AlreadyVoid,
    NotCounting(AppraisalState),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BallotRow {
    pub id: String,
    pub voter: Option<AccountId>,
    pub cast_at: Option<i64>,
    pub scores: Vec<Vec<u32>>,
    pub grades: Vec<Grade>,
    pub comment: Option<String>,
    pub status: BallotStatus,
    pub void_reason: Option<String>,
}

/// An appraisal and everything its count is made from, read at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub record: AppraisalRecord,
    /// The electorate's size.
    pub issued: u32,
    pub receipts: u32,
    /// Every ballot, in ballot id order (which says nothing of when it was cast).
    pub ballots: Vec<BallotRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BallotChangeRow {
    pub ballot_id: String,
    pub change: String,
    pub reason: String,
    pub actor: AccountId,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpRow {
    pub appraisee: u32,
    pub title: String,
    pub owner: AccountId,
    pub due_at: i64,
    pub created_at: i64,
}

// Every method is prefixed `appraisal_`: `Store` joins several traits, and a shared name would
// make calls through it ambiguous.
#[async_trait]
pub trait AppraisalStore: Send + Sync {
    /// Stores the setup and the electorate of a meeting just created.
    async fn appraisal_create(&self, new: NewAppraisalRecord<'_>) -> StoreResult<()>;

    async fn appraisal(&self, id: MeetingId) -> StoreResult<Option<AppraisalRecord>>;

    async fn appraisal_electorate(&self, id: MeetingId) -> StoreResult<Vec<AccountId>>;

    async fn appraisal_is_elector(&self, id: MeetingId, account: AccountId) -> StoreResult<bool>;

    async fn appraisal_has_voted(&self, id: MeetingId, account: AccountId) -> StoreResult<bool>;

    /// Moves the state (and opens follow-up items). `StoreError::Stale` when the appraisal
    /// changed since `expected_revision`.
    async fn appraisal_move(&self, step: AppraisalMove<'_>) -> StoreResult<Tally>;

    /// Stores a receipt and a ballot in one transaction, while the appraisal is balloting.
    async fn appraisal_cast(&self, ballot: CastBallot<'_>) -> StoreResult<Cast>;

    /// Voids a valid ballot and logs the change, while the appraisal is counting.
    async fn appraisal_void(&self, void: VoidWrite<'_>) -> StoreResult<Voided>;

    /// The appraisal with its receipts and ballots as of one moment, so that they can be
    /// reconciled.
    async fn appraisal_snapshot(&self, id: MeetingId) -> StoreResult<Option<Snapshot>>;

    /// Ballot changes, oldest first.
    async fn appraisal_changes(&self, id: MeetingId) -> StoreResult<Vec<BallotChangeRow>>;

    async fn appraisal_follow_ups(&self, id: MeetingId) -> StoreResult<Vec<FollowUpRow>>;
}
