//! Issues on the wire: their states and the actions on them, as the HTTP API and the WebSocket
//! commands carry them, and the summaries and timeline entries pushed to live channels.

use crate::ids::{AccountId, IssueId, PlaceId};
use crate::server_msg::Member;
use serde::{Deserialize, Serialize};

/// Where an issue stands. `closed` carries a `closure_reason`; only `fixed` means fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IssueState {
    /// 待受理: raised, waiting for the community to accept it.
    Submitted,
    /// 已受理: accepted, waiting to be dispatched.
    Accepted,
    /// 已派单: dispatched to a grid worker, not yet acknowledged.
    Dispatched,
    /// 处置中: the worker acknowledged and is on it.
    InProgress,
    /// 已上报: moved up a level; a higher official re-dispatches it.
    Escalated,
    /// 已处置待核查: done by the worker, awaiting verification.
    Resolved,
    /// 待评价: waiting for the reporter's rating.
    AwaitingRating,
    /// 已结案.
    Closed,
    /// 不予受理.
    Rejected,
    /// 已合并: merged into another issue.
    Duplicate,
}

impl IssueState {
    pub const ALL: [IssueState; 10] = [
        IssueState::Submitted,
        IssueState::Accepted,
        IssueState::Dispatched,
        IssueState::InProgress,
        IssueState::Escalated,
        IssueState::Resolved,
        IssueState::AwaitingRating,
        IssueState::Closed,
        IssueState::Rejected,
        IssueState::Duplicate,
    ];

    /// No action moves an issue out of these.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            IssueState::Closed | IssueState::Rejected | IssueState::Duplicate
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IssueState::Submitted => "submitted",
            IssueState::Accepted => "accepted",
            IssueState::Dispatched => "dispatched",
            IssueState::InProgress => "in_progress",
            IssueState::Escalated => "escalated",
            IssueState::Resolved => "resolved",
            IssueState::AwaitingRating => "awaiting_rating",
            IssueState::Closed => "closed",
            IssueState::Rejected => "rejected",
            IssueState::Duplicate => "duplicate",
        }
    }
}

/// Urgency, which sets the deadlines: red is the most urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Blue,
    Yellow,
    Red,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::Blue, Priority::Yellow, Priority::Red];

    /// One step more urgent (a reopened issue is raised).
    pub fn raised(self) -> Priority {
        match self {
            Priority::Blue => Priority::Yellow,
            Priority::Yellow | Priority::Red => Priority::Red,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Blue => "blue",
            Priority::Yellow => "yellow",
            Priority::Red => "red",
        }
    }
}

/// Who handles an issue: "small matters stay in the grid, minor ones in the community, big ones
/// in the street".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Grid,
    Community,
    Street,
}

impl Level {
    pub fn up(self) -> Option<Level> {
        match self {
            Level::Grid => Some(Level::Community),
            Level::Community => Some(Level::Street),
            Level::Street => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Grid => "grid",
            Level::Community => "community",
            Level::Street => "street",
        }
    }
}

/// What handling the issue came to, before the reporter rates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    Fixed,
    NotFixable,
    NotOurResponsibility,
}

/// Why a closed issue is closed. Never shown or counted as fixed unless it is `fixed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClosureReason {
    Fixed,
    NotFixable,
    NotOurResponsibility,
    Withdrawn,
}

impl From<Resolution> for ClosureReason {
    fn from(r: Resolution) -> Self {
        match r {
            Resolution::Fixed => ClosureReason::Fixed,
            Resolution::NotFixable => ClosureReason::NotFixable,
            Resolution::NotOurResponsibility => ClosureReason::NotOurResponsibility,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    Satisfied,
    Basic,
    Unsatisfied,
}

/// The deadline clocks of an issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// From submission (or escalation) until someone takes it on.
    Accept,
    /// From dispatch until the worker acknowledges.
    Acknowledge,
    /// From dispatch until the worker completes.
    Resolve,
    /// From the request to rate until the reporter rates.
    Rate,
}

impl Clock {
    pub const ALL: [Clock; 4] = [
        Clock::Accept,
        Clock::Acknowledge,
        Clock::Resolve,
        Clock::Rate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Clock::Accept => "accept",
            Clock::Acknowledge => "acknowledge",
            Clock::Resolve => "resolve",
            Clock::Rate => "rate",
        }
    }
}

/// Who sees a timeline entry: everyone who may see the issue, or staff only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Public,
    Internal,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

/// A resident's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewIssue {
    /// A category code from `GET /api/categories`, e.g. `drainage`.
    pub category: String,
    pub title: String,
    pub description: String,
    /// The grid or building where the problem is.
    pub place_id: PlaceId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<GeoPoint>,
    /// Private issues are seen only by the reporter, followers and staff.
    #[serde(default = "yes")]
    pub public: bool,
    /// Absent: the category's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// A building lead or official raising the issue for a resident names them here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<AccountId>,
}

fn yes() -> bool {
    true
}

/// An issue action's `kind` without its fields; `post_note` is a `post_update` with
/// `internal: true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IssueActionKind {
    Acknowledge,
    PostUpdate,
    PostNote,
    Complete,
    Return,
    Escalate,
    Accept,
    Reject,
    Merge,
    Dispatch,
    DeclareUnfixable,
    VerifyOk,
    VerifyFail,
    Rate,
    Withdraw,
    MeToo,
    Follow,
    Unfollow,
}

impl IssueActionKind {
    /// Every kind, in the order a client shows the buttons: the assignee's work first, then
    /// the officials', then the reporter's and everyone's.
    pub const ALL: [IssueActionKind; 18] = [
        IssueActionKind::Acknowledge,
        IssueActionKind::PostUpdate,
        IssueActionKind::PostNote,
        IssueActionKind::Complete,
        IssueActionKind::Return,
        IssueActionKind::Escalate,
        IssueActionKind::Accept,
        IssueActionKind::Reject,
        IssueActionKind::Merge,
        IssueActionKind::Dispatch,
        IssueActionKind::DeclareUnfixable,
        IssueActionKind::VerifyOk,
        IssueActionKind::VerifyFail,
        IssueActionKind::Rate,
        IssueActionKind::Withdraw,
        IssueActionKind::MeToo,
        IssueActionKind::Follow,
        IssueActionKind::Unfollow,
    ];
}

/// An action on an issue, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IssueAction {
    Accept,
    Reject {
        reason: String,
    },
    /// Merge into another open issue; the reporter follows that one.
    Merge {
        into: IssueId,
    },
    Dispatch {
        assignee: AccountId,
    },
    Acknowledge,
    /// The worker sends a mis-dispatched issue back.
    Return {
        reason: String,
    },
    Escalate {
        reason: String,
    },
    /// Progress for everyone (`internal: false`), or a note for staff only.
    PostUpdate {
        text: String,
        #[serde(default)]
        internal: bool,
    },
    /// The worker is done; categories that need one require an `after` photo first.
    Complete {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    DeclareUnfixable {
        explanation: String,
        resolution: Resolution,
    },
    VerifyOk,
    VerifyFail {
        reason: String,
    },
    /// The reporter's verdict: `resolved: false` reopens the issue.
    Rate {
        resolved: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        satisfaction: Option<Satisfaction>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stars: Option<u8>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    Withdraw,
    Follow,
    Unfollow,
    /// "Me too": someone else has the same problem. Adds their report to the issue and makes
    /// them follow it, instead of a second issue.
    MeToo {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
}

impl IssueAction {
    pub fn kind(&self) -> IssueActionKind {
        match self {
            IssueAction::Accept => IssueActionKind::Accept,
            IssueAction::Reject { .. } => IssueActionKind::Reject,
            IssueAction::Merge { .. } => IssueActionKind::Merge,
            IssueAction::Dispatch { .. } => IssueActionKind::Dispatch,
            IssueAction::Acknowledge => IssueActionKind::Acknowledge,
            IssueAction::Return { .. } => IssueActionKind::Return,
            IssueAction::Escalate { .. } => IssueActionKind::Escalate,
            IssueAction::PostUpdate {
                internal: false, ..
            } => IssueActionKind::PostUpdate,
            IssueAction::PostUpdate { internal: true, .. } => IssueActionKind::PostNote,
            IssueAction::Complete { .. } => IssueActionKind::Complete,
            IssueAction::DeclareUnfixable { .. } => IssueActionKind::DeclareUnfixable,
            IssueAction::VerifyOk => IssueActionKind::VerifyOk,
            IssueAction::VerifyFail { .. } => IssueActionKind::VerifyFail,
            IssueAction::Rate { .. } => IssueActionKind::Rate,
            IssueAction::Withdraw => IssueActionKind::Withdraw,
            IssueAction::Follow => IssueActionKind::Follow,
            IssueAction::Unfollow => IssueActionKind::Unfollow,
            IssueAction::MeToo { .. } => IssueActionKind::MeToo,
        }
    }
}

/// An issue at a glance: what lists, cards and live channels carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssueSummary {
    pub id: IssueId,
    /// Human reference, e.g. `HH-000042`.
    pub reference: String,
    pub category: String,
    pub title: String,
    pub state: IssueState,
    pub priority: Priority,
    pub level: Level,
    pub public: bool,
    pub street_id: PlaceId,
    pub community_id: PlaceId,
    pub grid_id: PlaceId,
    pub place_id: PlaceId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<Member>,
    /// The running deadline that comes first (Unix ms), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<i64>,
    /// Which clock `due_at` belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_clock: Option<Clock>,
    /// A deadline of this issue was ever missed (kept for statistics).
    pub overdue: bool,
    pub reopen_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closure_reason: Option<ClosureReason>,
    /// For closed issues: whether the reporter rated it (`false`: closed as not rated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rated: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<IssueId>,
    pub follower_count: u32,
    pub created_at: i64,
    pub updated_at: i64,
    /// What the caller may do to the issue now, in the order a client shows the buttons: its
    /// roles at the issue's place and the issue's state allow these. An action's own fields (a
    /// reason, an assignee, a photo its category needs) may still be refused. Present in
    /// answers to one caller (the issue's detail, listings, a command's reply); absent from
    /// events on shared channels, whose readers differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_actions: Option<Vec<IssueActionKind>>,
}

/// One entry of an issue's timeline (its append-only event log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssueEventInfo {
    /// 1, 2, 3… per issue.
    pub seq: u32,
    /// What happened: `submitted`, `accepted`, `dispatched`, `update`, `note`, `sla_warning`…
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<IssueState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<IssueState>,
    /// Absent for the system (deadlines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Member>,
    pub visibility: Visibility,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: serde_json::Value,
    pub time: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeadlineInfo {
    pub clock: Clock,
    pub started_at: i64,
    pub warn_at: i64,
    pub due_at: i64,
    /// Still running (false once the step it times was done).
    pub running: bool,
    pub warned: bool,
    pub breached: bool,
}

/// What a photo of an issue shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PhotoKind {
    /// The problem, as reported.
    Before,
    /// The work done; some categories need one before completing.
    After,
    /// Anything else worth showing.
    Evidence,
}

impl PhotoKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoKind::Before => "before",
            PhotoKind::After => "after",
            PhotoKind::Evidence => "evidence",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoInfo {
    pub id: i64,
    pub kind: PhotoKind,
    /// Where to fetch it, with the same bearer token.
    pub url: String,
    pub content_type: String,
    pub size: u64,
    pub time: i64,
}

/// Everything about one issue the caller may see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssueDetail {
    pub issue: IssueSummary,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<GeoPoint>,
    /// Shown to the reporter and to staff only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter: Option<Member>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    pub deadlines: Vec<DeadlineInfo>,
    /// Oldest first; internal entries only for staff.
    pub timeline: Vec<IssueEventInfo>,
    /// Whether the caller follows the issue.
    pub following: bool,
    /// Reports behind the issue: the first, every "me too", and those of merged issues.
    #[serde(default)]
    pub submissions: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<PhotoInfo>,
}

/// `data` of the `issue.updated` event on `issue:<id>`, `issue.summary` on `home:<id>` and
/// `inbox.issue` on `user:<id>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueUpdate {
    pub issue: IssueSummary,
    /// The timeline entry that caused the update (absent on home summaries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<IssueEventInfo>,
}

/// A category residents can report under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryInfo {
    pub code: String,
    pub name: String,
    pub name_zh: String,
    pub default_priority: Priority,
    /// Completing needs an `after` photo.
    pub requires_after_photo: bool,
    /// Completed work is verified by the street chief or community official before rating.
    pub requires_verification: bool,
}
