//! The rules of an appraisal meeting (政务评议会): its setup, its one-way state machine, who may
//! do what, what makes a ballot whole, and the count and results, recomputed from the stored
//! ballots each time so that nothing can drift from them.

use super::access::Actor;
use super::places::PlacePath;
use super::text::{Field, Text, TextError};
use hehe_protocol::appraisal::{
    AppraisalCounts, AppraisalState, AppraiseeResult, BallotStatus, DimensionResult, Grade,
    GradeShare, GradeShares, NewAppraisal, NewBallot,
};
use hehe_protocol::http::PlaceKind;
use hehe_protocol::{AccountId, Role};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

pub const DEFAULT_LOW_SCORE: f64 = 60.0;
/// How long the owner of a follow-up item has to act on a low score.
pub const FOLLOW_UP_DAYS: i64 = 30;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

pub const MAX_TITLE: usize = 120;
pub const MAX_NAME: usize = 80;
pub const MAX_COMMENT: usize = 1000;
pub const MAX_REASON: usize = 500;
pub const MAX_APPRAISEES: usize = 50;
pub const MAX_DIMENSIONS: usize = 20;
pub const MAX_ELECTORATE: usize = 10_000;
pub const MAX_SCALE: u32 = 100;
/// Weights are relative, so a bound costs nothing and keeps sums far from overflow.
pub const MAX_WEIGHT: f64 = 1000.0;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("your role does not allow this")]
    Forbidden,
    #[error("not possible while the appraisal is {}", .0.as_str())]
    WrongState(AppraisalState),
    #[error("{0}")]
    Invalid(String),
    /// The stored ballots do not add up; the store holds something the rules never wrote.
    #[error("the counts do not reconcile: {0}")]
    Unreconciled(String),
}

fn invalid(why: impl Into<String>) -> Refusal {
    Refusal::Invalid(why.into())
}

impl From<TextError> for Refusal {
    fn from(e: TextError) -> Self {
        invalid(e.to_string())
    }
}

const TITLE: Field = Field::line("title", MAX_TITLE);
const APPRAISEE: Field = Field::line("appraisee's name", MAX_NAME);
const SERVICE: Field = Field::line("service name", MAX_NAME);
const DIMENSION: Field = Field::line("dimension's name", MAX_NAME);
const COMMENT: Field = Field::body("comment", MAX_COMMENT);
/// Why a ballot is voided, kept with who voided it and when.
pub const VOID_REASON: Field = Field::body("reason", MAX_REASON);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appraisee {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dimension {
    pub name: String,
    pub weight: f64,
    pub scale: u32,
}

/// What is fixed when an appraisal is set up: whom it appraises, on what, and where a score
/// counts as low.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Setup {
    pub appraisees: Vec<Appraisee>,
    pub dimensions: Vec<Dimension>,
    pub low_score_threshold: f64,
}

impl Setup {
    /// Each dimension's weight as a share of all weights.
    pub fn normalised_weights(&self) -> Vec<f64> {
        let total: f64 = self.dimensions.iter().map(|d| d.weight).sum();
        self.dimensions.iter().map(|d| d.weight / total).collect()
    }
}

/// A checked setup with its electorate in a stable order, no one twice.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedAppraisal {
    pub title: String,
    pub setup: Setup,
    pub electorate: Vec<AccountId>,
}

fn text(raw: &str, field: &Field) -> Result<String, Refusal> {
    Ok(Text::parse(raw, field)?.into_string())
}

/// Checks everything about a new appraisal that needs no store.
pub fn check_setup(new: &NewAppraisal) -> Result<CheckedAppraisal, Refusal> {
    let title = text(&new.title, &TITLE)?;
    if new.appraisees.is_empty() || new.appraisees.len() > MAX_APPRAISEES {
        return Err(invalid(format!(
            "an appraisal has 1 to {MAX_APPRAISEES} appraisees"
        )));
    }
    if new.dimensions.is_empty() || new.dimensions.len() > MAX_DIMENSIONS {
        return Err(invalid(format!(
            "an appraisal has 1 to {MAX_DIMENSIONS} dimensions"
        )));
    }
    let mut appraisees = Vec::with_capacity(new.appraisees.len());
    let mut accounts = BTreeSet::new();
    for a in &new.appraisees {
        let name = text(&a.name, &APPRAISEE)?;
        let service = a
            .service
            .as_deref()
            .map(|s| text(s, &SERVICE))
            .transpose()?;
        if a.account_id.is_some() && service.is_some() {
            return Err(invalid(
                "an appraisee is a person with an account or a service, not both",
            ));
        }
        if let Some(account) = a.account_id
            && !accounts.insert(account)
        {
            return Err(invalid(format!("account {account} is appraised twice")));
        }
        appraisees.push(Appraisee {
            name,
            account: a.account_id,
            service,
        });
    }
    let mut dimensions = Vec::with_capacity(new.dimensions.len());
    let mut names = BTreeSet::new();
    for d in &new.dimensions {
        let name = text(&d.name, &DIMENSION)?;
        if !names.insert(name.clone()) {
            return Err(invalid(format!("the dimension {name} is listed twice")));
        }
        if !(d.weight.is_finite() && d.weight > 0.0 && d.weight <= MAX_WEIGHT) {
            return Err(invalid(format!(
                "a dimension's weight is above 0 and at most {MAX_WEIGHT}"
            )));
        }
        if d.scale == 0 || d.scale > MAX_SCALE {
            return Err(invalid(format!("a dimension's scale is 1 to {MAX_SCALE}")));
        }
        dimensions.push(Dimension {
            name,
            weight: d.weight,
            scale: d.scale,
        });
    }
    let low_score_threshold = new.low_score_threshold.unwrap_or(DEFAULT_LOW_SCORE);
    if !(low_score_threshold.is_finite() && (0.0..=100.0).contains(&low_score_threshold)) {
        return Err(invalid("the low-score threshold is 0 to 100"));
    }
    if new.electorate.is_empty() || new.electorate.len() > MAX_ELECTORATE {
        return Err(invalid(format!(
            "the electorate has 1 to {MAX_ELECTORATE} people"
        )));
    }
    let electorate: BTreeSet<AccountId> = new.electorate.iter().copied().collect();
    if electorate.len() != new.electorate.len() {
        return Err(invalid("someone is in the electorate twice"));
    }
    Ok(CheckedAppraisal {
        title,
        setup: Setup {
            appraisees,
            dimensions,
            low_score_threshold,
        },
        electorate: electorate.into_iter().collect(),
    })
}

/// Appraisals belong to a community or a street.
pub fn appraisable(place: &PlacePath) -> bool {
    matches!(place.kind(), PlaceKind::Community | PlaceKind::Street)
}

/// Whether someone may be in the electorate of an appraisal of `place`: a resident or
/// building lead living there.
pub fn may_be_elector(actor: &Actor, place: &PlacePath) -> bool {
    actor.grants.iter().any(|g| {
        matches!(g.role, Role::Resident | Role::BuildingLead)
            && g.scope.is_some_and(|scope| place.contains(&scope))
    })
}

/// A step of the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Open,
    Close,
    Publish,
}

impl Move {
    pub const ALL: [Move; 3] = [Move::Open, Move::Close, Move::Publish];

    /// The state the move starts from and the one it leads to.
    pub fn states(self) -> (AppraisalState, AppraisalState) {
        use AppraisalState::*;
        match self {
            Move::Open => (Prepared, Balloting),
            Move::Close => (Balloting, Counting),
            Move::Publish => (Counting, Published),
        }
    }

    pub fn action(self) -> Action {
        match self {
            Move::Open => Action::Open,
            Move::Close => Action::Close,
            Move::Publish => Action::Publish,
        }
    }
}

/// The state after `step`, or why it cannot be taken now. There is no way back.
pub fn advance(state: AppraisalState, step: Move) -> Result<AppraisalState, Refusal> {
    let (from, to) = step.states();
    if state == from {
        Ok(to)
    } else {
        Err(Refusal::WrongState(state))
    }
}

/// What the state allows besides moving on.
pub fn may_cast_in(state: AppraisalState) -> Result<(), Refusal> {
    match state {
        AppraisalState::Balloting => Ok(()),
        s => Err(Refusal::WrongState(s)),
    }
}

pub fn may_void_in(state: AppraisalState) -> Result<(), Refusal> {
    match state {
        AppraisalState::Counting => Ok(()),
        s => Err(Refusal::WrongState(s)),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    SetUp,
    Open,
    Close,
    Publish,
    Cast,
    Void,
    /// See the setup, the state and the counts.
    Read,
    /// See the published results.
    ReadResults,
    /// See every ballot and the electorate: those who count them.
    ReadBallots,
}

impl Action {
    pub const ALL: [Action; 9] = [
        Action::SetUp,
        Action::Open,
        Action::Close,
        Action::Publish,
        Action::Cast,
        Action::Void,
        Action::Read,
        Action::ReadResults,
        Action::ReadBallots,
    ];
}

/// The actor's relation to one appraisal, as the service resolved it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// The appraisal's community or street (for `SetUp`, the one it would have).
    pub place: PlacePath,
    pub chair: AccountId,
    /// The actor is in the electorate.
    pub elector: bool,
}

/// Whether `actor` may take `action` on the appraisal; the state is checked apart.
pub fn permitted(actor: &Actor, standing: &Standing, action: Action) -> bool {
    let admin = actor.has_role(Role::Admin);
    let chair = actor.id == standing.chair;
    let placed = || {
        actor
            .grants
            .iter()
            .filter_map(|g| g.scope.map(|scope| (g.role, scope)))
    };
    match action {
        // The place's own officials call an appraisal: its community's officials, its
        // street's chief.
        Action::SetUp => {
            admin
                || placed().any(|(role, scope)| {
                    matches!(role, Role::CommunityOfficial | Role::StreetChief)
                        && scope.contains(&standing.place)
                })
        }
        // The meeting is the chair's to run and count; an admin stands in when the chair
        // cannot.
        Action::Open | Action::Close | Action::Publish | Action::Void | Action::ReadBallots => {
            admin || chair
        }
        // Only the electorate votes; no role adds a vote.
        Action::Cast => standing.elector,
        Action::Read => {
            admin
                || chair
                || standing.elector
                || placed().any(|(_, scope)| scope.on_one_line(&standing.place))
        }
        Action::ReadResults => {
            admin
                || chair
                || standing.elector
                || placed().any(|(role, scope)| {
                    matches!(
                        role,
                        Role::GridWorker | Role::CommunityOfficial | Role::StreetChief
                    ) && scope.on_one_line(&standing.place)
                })
        }
    }
}

/// A ballot in the setup's order: per appraisee the score per dimension, and the grade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedBallot {
    pub scores: Vec<Vec<u32>>,
    pub grades: Vec<Grade>,
    pub comment: Option<String>,
}

/// Checks that a ballot scores every appraisee on every dimension within its scale and grades
/// every appraisee, and nothing else.
pub fn check_ballot(setup: &Setup, ballot: &NewBallot) -> Result<CheckedBallot, Refusal> {
    let n = setup.appraisees.len();
    let m = setup.dimensions.len();
    if ballot.scores.len() != n || ballot.scores.keys().any(|&a| a as usize >= n) {
        return Err(invalid(format!(
            "score every appraisee (0 to {}) and no other",
            n.saturating_sub(1)
        )));
    }
    let mut scores = Vec::with_capacity(n);
    for (a, row) in &ballot.scores {
        if row.len() != m || row.keys().any(|&d| d as usize >= m) {
            return Err(invalid(format!(
                "score appraisee {a} on every dimension (0 to {}) and no other",
                m.saturating_sub(1)
            )));
        }
        let mut line = Vec::with_capacity(m);
        for ((d, &score), dimension) in row.iter().zip(&setup.dimensions) {
            if score > dimension.scale {
                return Err(invalid(format!(
                    "appraisee {a}, dimension {d}: a score is 0 to {}",
                    dimension.scale
                )));
            }
            line.push(score);
        }
        scores.push(line);
    }
    if ballot.grade.len() != n || ballot.grade.keys().any(|&a| a as usize >= n) {
        return Err(invalid(format!(
            "grade every appraisee (0 to {}) and no other",
            n.saturating_sub(1)
        )));
    }
    let grades = ballot.grade.values().copied().collect();
    let comment = Text::optional(ballot.comment.as_deref(), &COMMENT)?.map(Text::into_string);
    Ok(CheckedBallot {
        scores,
        grades,
        comment,
    })
}

/// A stored ballot as the count sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub scores: Vec<Vec<u32>>,
    pub grades: Vec<Grade>,
    pub status: BallotStatus,
}

/// The counts from the electorate's size, the receipts and the stored ballots. They must
/// reconcile: one ballot per receipt (`cast = valid + void`), no more receipts than electors,
/// and every ballot shaped like the setup.
pub fn reconcile(
    setup: &Setup,
    issued: u32,
    receipts: u32,
    ballots: &[Counted],
) -> Result<AppraisalCounts, Refusal> {
    let valid = ballots
        .iter()
        .filter(|b| b.status == BallotStatus::Valid)
        .count() as u32;
    let void = ballots.len() as u32 - valid;
    if receipts != valid + void {
        return Err(Refusal::Unreconciled(format!(
            "{receipts} receipts but {} ballots",
            valid + void
        )));
    }
    if receipts > issued {
        return Err(Refusal::Unreconciled(format!(
            "{receipts} ballots cast but {issued} issued"
        )));
    }
    let m = setup.dimensions.len();
    let fits = |b: &Counted| {
        b.scores.len() == setup.appraisees.len()
            && b.grades.len() == setup.appraisees.len()
            && b.scores.iter().all(|row| {
                row.len() == m
                    && row
                        .iter()
                        .zip(&setup.dimensions)
                        .all(|(s, d)| *s <= d.scale)
            })
    };
    if !ballots.iter().all(fits) {
        return Err(Refusal::Unreconciled(
            "a stored ballot does not fit the setup".into(),
        ));
    }
    Ok(AppraisalCounts {
        issued,
        cast: receipts,
        valid,
        void,
        not_returned: issued - receipts,
    })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Per appraisee, from the valid ballots (which `reconcile` has checked): the mean score per
/// dimension on its scale and as 0–100, the weighted overall 0–100, the grade shares, and
/// whether the overall is low. Without valid ballots there are no means, and nothing is low.
pub fn results(setup: &Setup, ballots: &[Counted]) -> Vec<AppraiseeResult> {
    let valid: Vec<&Counted> = ballots
        .iter()
        .filter(|b| b.status == BallotStatus::Valid)
        .collect();
    let n = valid.len() as u32;
    let weights = setup.normalised_weights();
    setup
        .appraisees
        .iter()
        .enumerate()
        .map(|(a, appraisee)| {
            let mut dimensions = Vec::with_capacity(setup.dimensions.len());
            let mut overall = 0.0;
            for (d, (dimension, weight)) in setup.dimensions.iter().zip(&weights).enumerate() {
                // Integer sums: the only rounding is the final division.
                let sum: u64 = valid
                    .iter()
                    .filter_map(|b| b.scores.get(a).and_then(|row| row.get(d)))
                    .map(|&s| u64::from(s))
                    .sum();
                let (average, score) = if n == 0 {
                    (None, None)
                } else {
                    let average = sum as f64 / f64::from(n);
                    let score = average * 100.0 / f64::from(dimension.scale);
                    overall += weight * score;
                    (Some(round2(average)), Some(round2(score)))
                };
                dimensions.push(DimensionResult {
                    index: d as u32,
                    average,
                    score,
                });
            }
            let overall = (n > 0).then(|| round2(overall));
            let count = |grade: Grade| {
                let count = valid
                    .iter()
                    .filter(|b| b.grades.get(a) == Some(&grade))
                    .count() as u32;
                GradeShare {
                    count,
                    share: if n == 0 {
                        0.0
                    } else {
                        round4(f64::from(count) / f64::from(n))
                    },
                }
            };
            AppraiseeResult {
                index: a as u32,
                name: appraisee.name.clone(),
                dimensions,
                // The flag follows the figure people see, so 59.996 shown as 60.00 is not low.
                low: overall.is_some_and(|o| o < setup.low_score_threshold),
                overall,
                grades: GradeShares {
                    satisfied: count(Grade::Satisfied),
                    basic: count(Grade::Basic),
                    unsatisfied: count(Grade::Unsatisfied),
                },
            }
        })
        .collect()
}

/// A follow-up item to open for a low score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub appraisee: u32,
    pub title: String,
    pub owner: AccountId,
    pub due_at: i64,
}

/// One item per low-scoring appraisee, owned by the appraisee's account or else by the chair,
/// due `FOLLOW_UP_DAYS` after `now`.
pub fn follow_ups(
    title: &str,
    setup: &Setup,
    results: &[AppraiseeResult],
    chair: AccountId,
    now: i64,
) -> Vec<FollowUp> {
    results
        .iter()
        .filter(|r| r.low)
        .filter_map(|r| {
            let appraisee = setup.appraisees.get(r.index as usize)?;
            let overall = r.overall?;
            Some(FollowUp {
                appraisee: r.index,
                title: format!(
                    "Rectify (整改): {} scored {overall:.2}/100 in {title}",
                    appraisee.name
                ),
                owner: appraisee.account.unwrap_or(chair),
                due_at: now.saturating_add(FOLLOW_UP_DAYS * DAY_MS),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
