//! Appraisal meetings (政务评议会) on the wire: residents score officials and services on weighted
//! dimensions with one ballot each; the counts reconcile and the results are published.

use crate::ids::{AccountId, MeetingId, PlaceId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where an appraisal stands. It only moves forward, one step at a time, by its chair.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppraisalState {
    /// Set up; nobody votes yet.
    Prepared,
    /// Electors cast their ballots.
    Balloting,
    /// Ballots are counted; the chair may void a ballot, with a reason.
    Counting,
    /// The results are out, and low scores have follow-up items.
    Published,
}

impl AppraisalState {
    pub const ALL: [AppraisalState; 4] = [
        AppraisalState::Prepared,
        AppraisalState::Balloting,
        AppraisalState::Counting,
        AppraisalState::Published,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AppraisalState::Prepared => "prepared",
            AppraisalState::Balloting => "balloting",
            AppraisalState::Counting => "counting",
            AppraisalState::Published => "published",
        }
    }
}

/// The overall grade an elector gives each appraisee.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// 满意
    Satisfied,
    /// 基本满意
    Basic,
    /// 不满意
    Unsatisfied,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BallotStatus {
    Valid,
    /// Set aside by the chair while counting; kept, with the reason.
    Void,
}

/// Someone or something appraised: a person (with their account) or a service.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAppraisee {
    pub name: String,
    /// The appraised person's account: follow-up items of a low score are theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<AccountId>,
    /// The appraised service (e.g. the property manager), when it is no person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// A dimension every appraisee is scored on.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewDimension {
    pub name: String,
    /// Relative weight, above 0; weights are normalised to sum to 1.
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0.0))]
    pub weight: f64,
    /// The highest score (e.g. 5 or 10); scores run from 0 to it.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub scale: u32,
}

/// `POST /api/appraisals`: an appraisal to set up. Its chair is whoever sets it up.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAppraisal {
    pub title: String,
    /// The community or street appraised.
    pub place_id: PlaceId,
    pub appraisees: Vec<NewAppraisee>,
    pub dimensions: Vec<NewDimension>,
    /// Who may vote: residents and building leads of the place.
    pub electorate: Vec<AccountId>,
    /// Ballots are not linked to voters. Fixed at creation.
    #[serde(default)]
    pub anonymous: bool,
    /// An appraisee whose overall score (0–100) falls below this gets a follow-up item; 60
    /// when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 100.0))]
    pub low_score_threshold: Option<f64>,
}

/// `POST /api/appraisals/{id}/ballots`: one elector's ballot.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewBallot {
    /// Chosen by the client: a retry with the same id is answered as the first was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<RequestId>,
    /// Appraisee index → dimension index → score (0 to the dimension's scale). Every appraisee
    /// is scored on every dimension.
    // JSON keys are strings: the schema says so, serde reads them as numbers.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = BTreeMap<String, BTreeMap<String, u32>>)
    )]
    pub scores: BTreeMap<u32, BTreeMap<u32, u32>>,
    /// Appraisee index → overall grade, for every appraisee.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, Grade>))]
    pub grade: BTreeMap<u32, Grade>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The answer to a ballot.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BallotReceipt {
    pub appraisal_id: MeetingId,
    /// The stored ballot's id, for a named appraisal only: an anonymous ballot's id is never
    /// handed out, so no one can prove which ballot is theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ballot_id: Option<String>,
}

/// `POST /api/appraisals/{id}/ballots/{ballot_id}/void`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoidBallot {
    pub reason: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppraiseeInfo {
    pub index: u32,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<AccountId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionInfo {
    pub index: u32,
    pub name: String,
    /// As set up.
    pub weight: f64,
    /// The weight's share of all weights (they sum to 1).
    pub normalised_weight: f64,
    pub scale: u32,
}

/// Ballot counts. They reconcile: `cast = valid + void` and `issued = cast + not_returned`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppraisalCounts {
    /// One per elector.
    pub issued: u32,
    /// Ballots returned (one receipt each).
    pub cast: u32,
    pub valid: u32,
    pub void: u32,
    pub not_returned: u32,
}

/// How many valid ballots gave a grade, and their share of the valid ballots (0 to 1).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GradeShare {
    pub count: u32,
    pub share: f64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GradeShares {
    pub satisfied: GradeShare,
    pub basic: GradeShare,
    pub unsatisfied: GradeShare,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionResult {
    pub index: u32,
    /// The mean score on the dimension's own scale; absent without valid ballots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average: Option<f64>,
    /// The mean as 0–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

/// One appraisee's results, from the valid ballots. Figures are rounded to two decimals.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppraiseeResult {
    pub index: u32,
    pub name: String,
    pub dimensions: Vec<DimensionResult>,
    /// The weighted mean of the dimension scores, 0–100; absent without valid ballots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overall: Option<f64>,
    pub grades: GradeShares,
    /// `overall` is below the appraisal's low-score threshold.
    pub low: bool,
}

/// A rectification item opened for a low score when the results were published.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpInfo {
    pub appraisee: u32,
    pub title: String,
    /// The appraisee's account, or the chair when the appraisee has none.
    pub owner: AccountId,
    /// Unix ms.
    pub due_at: i64,
    pub created_at: i64,
}

/// A stored ballot, as the chair sees it from counting on. An anonymous ballot names nobody.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BallotInfo {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voter: Option<AccountId>,
    /// Unix ms; absent for anonymous ballots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cast_at: Option<i64>,
    /// Per appraisee, the score per dimension.
    pub scores: Vec<Vec<u32>>,
    /// Per appraisee.
    pub grades: Vec<Grade>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub status: BallotStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub void_reason: Option<String>,
}

/// A change made to a ballot while counting: who, when, which ballot, why.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BallotChange {
    pub ballot_id: String,
    /// `void`.
    pub change: String,
    pub reason: String,
    pub by: AccountId,
    pub at: i64,
}

/// `GET /api/appraisals/{id}`: the setup, the state and the counts; the results, follow-up
/// items and ballots only when the caller may see them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppraisalDetail {
    pub id: MeetingId,
    pub title: String,
    pub place_id: PlaceId,
    pub chair: AccountId,
    pub state: AppraisalState,
    pub anonymous: bool,
    pub low_score_threshold: f64,
    pub appraisees: Vec<AppraiseeInfo>,
    pub dimensions: Vec<DimensionInfo>,
    pub counts: AppraisalCounts,
    /// The caller may vote in this appraisal.
    pub elector: bool,
    /// The caller has voted.
    pub voted: bool,
    /// Who may vote; shown to the chair and admins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub electorate: Option<Vec<AccountId>>,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<i64>,
    /// Once published, to electors and the place's staff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Vec<AppraiseeResult>>,
    /// Once published, with the results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_ups: Option<Vec<FollowUpInfo>>,
    /// From counting on, to the chair and admins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ballots: Option<Vec<BallotInfo>>,
    /// Voids and their reasons: to the chair and admins from counting on, and with the
    /// results once published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<BallotChange>>,
}

/// The data of an `appraisal.updated` event on the meeting's room channel: sent on each state
/// change and each change of the counts. It never carries a ballot or a voter.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppraisalUpdated {
    pub state: AppraisalState,
    pub issued: u32,
    pub cast: u32,
    pub void: u32,
}

/// The data of an `appraisal.published` event: the results as published.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppraisalPublished {
    pub appraisal_id: MeetingId,
    pub counts: AppraisalCounts,
    pub results: Vec<AppraiseeResult>,
    pub follow_ups: Vec<FollowUpInfo>,
}
