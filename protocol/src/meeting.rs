//! Meetings in the living room (和合客厅) on the wire: their kinds and lifecycle, the live
//! room's actions, and the events the room channel carries.

use crate::ids::{AccountId, MeetingId};
use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingKind {
    /// 居民决策听证会: residents hear a proposal, speak for or against, and vote.
    Hearing,
    /// 矛盾协调会: private to its parties and mediators.
    Mediation,
    /// 政务评议会: residents score officials and services.
    Appraisal,
    General,
}

impl MeetingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingKind::Hearing => "hearing",
            MeetingKind::Mediation => "mediation",
            MeetingKind::Appraisal => "appraisal",
            MeetingKind::General => "general",
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingState {
    Draft,
    Published,
    Live,
    Ended,
    /// Minutes published.
    Closed,
    Cancelled,
}

impl MeetingState {
    pub const ALL: [MeetingState; 6] = [
        MeetingState::Draft,
        MeetingState::Published,
        MeetingState::Live,
        MeetingState::Ended,
        MeetingState::Closed,
        MeetingState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MeetingState::Draft => "draft",
            MeetingState::Published => "published",
            MeetingState::Live => "live",
            MeetingState::Ended => "ended",
            MeetingState::Closed => "closed",
            MeetingState::Cancelled => "cancelled",
        }
    }
}

/// Who may post in a live room.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomMode {
    /// Everyone present who is not muted.
    Open,
    /// Only whoever holds the floor, and the chair.
    FloorOnly,
}

/// A vote the chair opens in a live room.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewVote {
    pub question: String,
    pub options: Vec<String>,
    /// Several options may be chosen.
    #[serde(default)]
    pub multiple: bool,
    /// Ballots are not linked to voters. Once on, it can never be switched off.
    #[serde(default)]
    pub anonymous: bool,
    /// The tally stays hidden until the vote closes.
    #[serde(default)]
    pub hide_results: bool,
}

/// A room action's `kind` without its fields: what a meeting's `allowed_actions` lists.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomActionKind {
    Start,
    End,
    PublishMinutes,
    Lock,
    Unlock,
    SetMode,
    RaiseHand,
    LowerHand,
    GiveFloor,
    TakeFloor,
    Mute,
    Unmute,
    Remove,
    Readmit,
    Say,
    React,
    AppendMinutes,
    SetAgendaItem,
    OpenVote,
    CastVote,
    CloseVote,
    Publish,
    Cancel,
    ProposeAgreement,
    ConfirmAgreement,
    RecordFailure,
    Statement,
    PublishDecision,
}

impl RoomActionKind {
    pub const ALL: [RoomActionKind; 28] = [
        RoomActionKind::Start,
        RoomActionKind::End,
        RoomActionKind::PublishMinutes,
        RoomActionKind::Lock,
        RoomActionKind::Unlock,
        RoomActionKind::SetMode,
        RoomActionKind::RaiseHand,
        RoomActionKind::LowerHand,
        RoomActionKind::GiveFloor,
        RoomActionKind::TakeFloor,
        RoomActionKind::Mute,
        RoomActionKind::Unmute,
        RoomActionKind::Remove,
        RoomActionKind::Readmit,
        RoomActionKind::Say,
        RoomActionKind::React,
        RoomActionKind::AppendMinutes,
        RoomActionKind::SetAgendaItem,
        RoomActionKind::OpenVote,
        RoomActionKind::CastVote,
        RoomActionKind::CloseVote,
        RoomActionKind::Publish,
        RoomActionKind::Cancel,
        RoomActionKind::ProposeAgreement,
        RoomActionKind::ConfirmAgreement,
        RoomActionKind::RecordFailure,
        RoomActionKind::Statement,
        RoomActionKind::PublishDecision,
    ];
}

/// An action in a live room, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RoomAction {
    /// The chair opens the meeting (published → live).
    Start,
    /// The chair ends it (live → ended).
    End,
    /// The chair publishes the minutes (ended → closed).
    PublishMinutes {
        text: String,
    },
    /// Nobody new may come in while locked.
    Lock,
    Unlock,
    SetMode {
        mode: RoomMode,
    },
    RaiseHand,
    LowerHand,
    /// The chair gives the floor (to the first raised hand when `to` is absent).
    GiveFloor {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<AccountId>,
    },
    /// The chair, or whoever holds it, gives the floor back.
    TakeFloor,
    Mute {
        who: AccountId,
    },
    Unmute {
        who: AccountId,
    },
    /// Out, and kept out of this meeting.
    Remove {
        who: AccountId,
    },
    Readmit {
        who: AccountId,
    },
    /// A chat message.
    Say {
        text: String,
    },
    React {
        emoji: String,
    },
    /// Live minutes, by the chair or the secretary.
    AppendMinutes {
        text: String,
    },
    /// Move the agenda to item `index` (0-based).
    SetAgendaItem {
        index: u32,
    },
    OpenVote {
        vote: NewVote,
    },
    CastVote {
        vote: u32,
        choices: Vec<u32>,
    },
    CloseVote {
        vote: u32,
    },
    /// The chair publishes a draft meeting: people may register and come in.
    Publish,
    /// The chair calls off a meeting that has not started.
    Cancel,
    /// A mediation's mediator (its chair) proposes the terms of an agreement and the date by
    /// which they are to be carried out (Unix ms); every party must confirm them.
    ProposeAgreement {
        terms: String,
        deadline: i64,
    },
    /// A party to a mediation accepts the proposed terms.
    ConfirmAgreement,
    /// The mediator records that no agreement was reached, where the parties may turn, and
    /// when to check on them again (Unix ms).
    RecordFailure {
        referral: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        follow_up: Option<i64>,
    },
    /// A party or mediator of a mediation puts their account of the facts on record.
    Statement {
        text: String,
    },
    /// The chair publishes a hearing's decision (after it ended), with the follow-up items it
    /// opens.
    PublishDecision {
        text: String,
        #[serde(default)]
        follow_ups: Vec<String>,
    },
}

impl RoomAction {
    pub fn kind(&self) -> RoomActionKind {
        match self {
            RoomAction::Start => RoomActionKind::Start,
            RoomAction::End => RoomActionKind::End,
            RoomAction::PublishMinutes { .. } => RoomActionKind::PublishMinutes,
            RoomAction::Lock => RoomActionKind::Lock,
            RoomAction::Unlock => RoomActionKind::Unlock,
            RoomAction::SetMode { .. } => RoomActionKind::SetMode,
            RoomAction::RaiseHand => RoomActionKind::RaiseHand,
            RoomAction::LowerHand => RoomActionKind::LowerHand,
            RoomAction::GiveFloor { .. } => RoomActionKind::GiveFloor,
            RoomAction::TakeFloor => RoomActionKind::TakeFloor,
            RoomAction::Mute { .. } => RoomActionKind::Mute,
            RoomAction::Unmute { .. } => RoomActionKind::Unmute,
            RoomAction::Remove { .. } => RoomActionKind::Remove,
            RoomAction::Readmit { .. } => RoomActionKind::Readmit,
            RoomAction::Say { .. } => RoomActionKind::Say,
            RoomAction::React { .. } => RoomActionKind::React,
            RoomAction::AppendMinutes { .. } => RoomActionKind::AppendMinutes,
            RoomAction::SetAgendaItem { .. } => RoomActionKind::SetAgendaItem,
            RoomAction::OpenVote { .. } => RoomActionKind::OpenVote,
            RoomAction::CastVote { .. } => RoomActionKind::CastVote,
            RoomAction::CloseVote { .. } => RoomActionKind::CloseVote,
            RoomAction::Publish => RoomActionKind::Publish,
            RoomAction::Cancel => RoomActionKind::Cancel,
            RoomAction::ProposeAgreement { .. } => RoomActionKind::ProposeAgreement,
            RoomAction::ConfirmAgreement => RoomActionKind::ConfirmAgreement,
            RoomAction::RecordFailure { .. } => RoomActionKind::RecordFailure,
            RoomAction::Statement { .. } => RoomActionKind::Statement,
            RoomAction::PublishDecision { .. } => RoomActionKind::PublishDecision,
        }
    }
}

/// An entry of a meeting's log, as the room channel carries it (`room.event`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomEventInfo {
    pub meeting: MeetingId,
    /// 1, 2, 3… per meeting.
    pub seq: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<AccountId>,
    /// What happened: `started`, `hand_raised`, `floor_given`, `muted`, `said`, `vote_opened`…
    pub kind: String,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: serde_json::Value,
    pub time: i64,
}

/// A meeting as listed and shown.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingInfo {
    pub id: MeetingId,
    pub kind: MeetingKind,
    pub title: String,
    pub description: String,
    /// The community or street the meeting belongs to.
    pub place_id: crate::ids::PlaceId,
    pub chair: AccountId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secretary: Option<AccountId>,
    /// Only its members see a private meeting (a mediation).
    pub private: bool,
    pub state: MeetingState,
    pub agenda: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<String>,
    /// For a hearing held in rounds: the round before this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_round: Option<MeetingId>,
    /// A hearing's published decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
}

/// A vote as a room member sees it: the tally only when it may be shown.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteInfo {
    pub id: u32,
    pub question: String,
    pub options: Vec<String>,
    pub multiple: bool,
    pub anonymous: bool,
    pub hide_results: bool,
    pub open: bool,
    /// Ballots per option; absent while `hide_results` keeps an open vote's tally hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<Vec<u32>>,
    pub ballots: u32,
}

/// The live room now, folded from its log.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSnapshot {
    pub state: MeetingState,
    pub locked: bool,
    pub mode: RoomMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<AccountId>,
    pub hands: Vec<AccountId>,
    pub muted: Vec<AccountId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agenda_item: Option<u32>,
    pub votes: Vec<VoteInfo>,
    pub minutes: Vec<String>,
    /// The seq of the log's last entry.
    pub seq: u32,
}

/// `GET /api/meetings/{id}`: the meeting, its room now and its whole log.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeetingDetail {
    pub meeting: MeetingInfo,
    pub room: RoomSnapshot,
    pub log: Vec<RoomEventInfo>,
    /// What the caller may do in the room, for each state the meeting may be in, as their
    /// standing is now (chair, secretary, party, participant; muted or removed): a client shows
    /// the buttons of `allowed_actions[room.state]` as the state moves, and reads the detail
    /// again only when an entry names the caller (muted, removed, given the floor).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub allowed_actions: std::collections::BTreeMap<MeetingState, Vec<RoomActionKind>>,
}

/// A meeting to create (as a draft; publish it with the `publish` room action).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewMeeting {
    pub kind: MeetingKind,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The community or street the meeting belongs to.
    pub place_id: crate::ids::PlaceId,
    #[serde(default)]
    pub agenda: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secretary: Option<AccountId>,
    /// Seats; absent means unlimited. Registrations past it join the waiting list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// A mediation's parties (it is private to them and its mediators).
    #[serde(default)]
    pub parties: Vec<AccountId>,
    #[serde(default)]
    pub mediators: Vec<AccountId>,
    /// Issues the meeting is about.
    #[serde(default)]
    pub issues: Vec<crate::ids::IssueId>,
    /// A hearing's round before this one, or a mediation's session before this one (whose
    /// parties and mediators this one keeps when none are given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_round: Option<MeetingId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RegistrationStatus {
    Registered,
    /// On the waiting list; moved up when a seat frees.
    Waiting,
    Cancelled,
}

/// A person's registration for a meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistrationInfo {
    pub meeting: MeetingId,
    pub account: AccountId,
    pub status: RegistrationStatus,
    /// Shown at the door to check in.
    pub code: String,
    pub registered_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_in_at: Option<i64>,
}
