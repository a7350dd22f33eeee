//! Meetings in the store: the meeting, its members, its append-only room log, and votes whose
//! ballots cannot be traced back to voters when the vote is anonymous.

pub(crate) mod sql;

use crate::domain::meeting::RoomEvent;
use crate::store::StoreResult;
use async_trait::async_trait;
use hehe_protocol::meeting::{MeetingKind, MeetingState, RegistrationInfo, RoomEventInfo};
use hehe_protocol::{AccountId, IssueId, MeetingId, PlaceId, RequestId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingRecord {
    pub id: MeetingId,
    pub kind: MeetingKind,
    pub title: String,
    pub description: String,
    pub place_id: PlaceId,
    pub chair: AccountId,
    pub secretary: Option<AccountId>,
    pub private: bool,
    pub state: MeetingState,
    pub agenda: Vec<String>,
    pub minutes: Option<String>,
    pub last_seq: u32,
    pub created_at: i64,
    /// The state the room's log starts from: published for seeded meetings, draft otherwise.
    pub initial_state: MeetingState,
    pub capacity: Option<u32>,
    pub previous_round: Option<MeetingId>,
    pub decision: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberRole {
    Party,
    Mediator,
    Representative,
}

impl MemberRole {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberRole::Party => "party",
            MemberRole::Mediator => "mediator",
            MemberRole::Representative => "representative",
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewMeeting<'a> {
    pub kind: MeetingKind,
    pub title: &'a str,
    pub description: &'a str,
    pub place: PlaceId,
    pub chair: AccountId,
    pub secretary: Option<AccountId>,
    pub private: bool,
    pub agenda: &'a [String],
    pub capacity: Option<u32>,
    /// `Published` for seeded meetings, `Draft` for those made over the API.
    pub initial_state: MeetingState,
    pub previous_round: Option<MeetingId>,
    pub at: i64,
}

/// A ballot to store with the log entry that announces it.
#[derive(Debug, Clone)]
pub struct NewBallot<'a> {
    pub vote: u32,
    pub voter: AccountId,
    pub anonymous: bool,
    pub choices: &'a [u32],
}

/// Entries to append after `expected_last_seq`, in one transaction.
#[derive(Debug, Clone)]
pub struct RoomWrite<'a> {
    pub meeting: MeetingId,
    pub expected_last_seq: u32,
    pub actor: Option<AccountId>,
    pub events: &'a [RoomEvent],
    /// The state the entries leave the meeting in.
    pub state: MeetingState,
    pub minutes: Option<&'a str>,
    pub decision: Option<&'a str>,
    pub ballot: Option<NewBallot<'a>>,
    pub command: Option<(AccountId, &'a RequestId)>,
    /// Who should hear of it (a meeting starting or ending), kept with the write.
    pub cause: Option<&'a crate::domain::notify::Cause>,
    pub at: i64,
}

/// What a room write came to.
#[derive(Debug, Clone, PartialEq)]
pub enum RoomWritten {
    Appended(Vec<RoomEventInfo>),
    /// The command was applied before; its entries end at this seq.
    Replayed {
        last_seq: u32,
    },
    /// The voter already has a ballot in this vote.
    AlreadyVoted,
}

#[async_trait]
pub trait MeetingStore: Send + Sync {
    async fn meeting(&self, id: MeetingId) -> StoreResult<Option<MeetingRecord>>;

    async fn create_meeting(&self, meeting: NewMeeting<'_>) -> StoreResult<MeetingId>;

    async fn add_member(
        &self,
        meeting: MeetingId,
        account: AccountId,
        role: MemberRole,
    ) -> StoreResult<()>;

    async fn member_role(
        &self,
        meeting: MeetingId,
        account: AccountId,
    ) -> StoreResult<Option<MemberRole>>;

    /// Members of a meeting holding `role`.
    async fn members(&self, meeting: MeetingId, role: MemberRole) -> StoreResult<Vec<AccountId>>;

    /// Meetings of the given places the account may know of: public ones, and private ones it
    /// chairs or belongs to.
    async fn meetings_for(
        &self,
        places: &[PlaceId],
        account: AccountId,
    ) -> StoreResult<Vec<MeetingRecord>>;

    /// The room log after `after_seq`, oldest first.
    async fn room_events(
        &self,
        meeting: MeetingId,
        after_seq: u32,
    ) -> StoreResult<Vec<(RoomEventInfo, RoomEvent)>>;

    /// A room command already applied: its meeting and the log's last seq after it.
    async fn room_command(
        &self,
        account: AccountId,
        request_id: &RequestId,
    ) -> StoreResult<Option<(MeetingId, u32)>>;

    /// Appends entries. `StoreError::Stale` when others appended since `expected_last_seq`.
    async fn append_room(&self, write: RoomWrite<'_>) -> StoreResult<RoomWritten>;

    async fn link_issue(&self, meeting: MeetingId, issue: IssueId) -> StoreResult<()>;

    async fn linked_issues(&self, meeting: MeetingId) -> StoreResult<Vec<IssueId>>;

    /// Registers the account (again, if it had cancelled): a seat while `capacity` allows, else
    /// the waiting list. An existing live registration is returned unchanged.
    async fn register(
        &self,
        meeting: MeetingId,
        account: AccountId,
        code: &str,
        capacity: Option<u32>,
        at: i64,
    ) -> StoreResult<RegistrationInfo>;

    /// Cancels a registration; a freed seat goes to the first on the waiting list, who is
    /// returned as the second value.
    async fn cancel_registration(
        &self,
        meeting: MeetingId,
        account: AccountId,
    ) -> StoreResult<Option<(RegistrationInfo, Option<RegistrationInfo>)>>;

    /// Checks in the holder of a code; `None` for an unknown code.
    async fn check_in(
        &self,
        meeting: MeetingId,
        code: &str,
        at: i64,
    ) -> StoreResult<Option<RegistrationInfo>>;

    async fn registrations(&self, meeting: MeetingId) -> StoreResult<Vec<RegistrationInfo>>;

    /// The choices of every ballot of a vote.
    async fn ballots(&self, meeting: MeetingId, vote: u32) -> StoreResult<Vec<Vec<u32>>>;

    /// Receipts (who voted) of a vote.
    async fn receipts(&self, meeting: MeetingId, vote: u32) -> StoreResult<u32>;
}
