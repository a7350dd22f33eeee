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
mod tests {
    use super::*;
    use crate::domain::access::Grant;
    use hehe_protocol::PlaceId;
    use hehe_protocol::appraisal::{NewAppraisee, NewDimension};
    use std::collections::BTreeMap;

    fn street(s: i64) -> PlacePath {
        PlacePath::street(PlaceId(s))
    }
    fn community(s: i64, c: i64) -> PlacePath {
        PlacePath::community(PlaceId(s), PlaceId(c))
    }
    fn grid(s: i64, c: i64, g: i64) -> PlacePath {
        PlacePath::grid(PlaceId(s), PlaceId(c), PlaceId(g))
    }
    fn building(s: i64, c: i64, g: i64, b: i64) -> PlacePath {
        PlacePath::building(PlaceId(s), PlaceId(c), PlaceId(g), PlaceId(b))
    }
    fn actor(id: i64, role: Role, scope: Option<PlacePath>) -> Actor {
        Actor {
            id: AccountId(id),
            grants: vec![Grant { role, scope }],
        }
    }

    const CHAIR: AccountId = AccountId(5);

    /// The people around an appraisal of community 10 (street 1) chaired by official 5, with
    /// whether each is in its electorate.
    fn people() -> Vec<(&'static str, Actor, bool)> {
        vec![
            (
                "resident in the electorate",
                actor(1, Role::Resident, Some(community(1, 10))),
                true,
            ),
            (
                "resident not in it",
                actor(2, Role::Resident, Some(community(1, 10))),
                false,
            ),
            (
                "building lead in the electorate",
                actor(3, Role::BuildingLead, Some(building(1, 10, 100, 1000))),
                true,
            ),
            (
                "grid worker",
                actor(4, Role::GridWorker, Some(grid(1, 10, 100))),
                false,
            ),
            (
                "community official of the place, the chair",
                actor(5, Role::CommunityOfficial, Some(community(1, 10))),
                false,
            ),
            (
                "another official of the place",
                actor(6, Role::CommunityOfficial, Some(community(1, 10))),
                false,
            ),
            (
                "street chief of the street",
                actor(7, Role::StreetChief, Some(street(1))),
                false,
            ),
            (
                "official of another community",
                actor(8, Role::CommunityOfficial, Some(community(1, 11))),
                false,
            ),
            ("ops", actor(9, Role::Ops, None), false),
            ("admin", actor(10, Role::Admin, None), false),
        ]
    }

    // Columns: set up, open, close, publish, cast, void, read, read results, read ballots.
    const MATRIX: [(&str, [u8; 9]); 10] = [
        ("resident in the electorate", [0, 0, 0, 0, 1, 0, 1, 1, 0]),
        ("resident not in it", [0, 0, 0, 0, 0, 0, 1, 0, 0]),
        (
            "building lead in the electorate",
            [0, 0, 0, 0, 1, 0, 1, 1, 0],
        ),
        ("grid worker", [0, 0, 0, 0, 0, 0, 1, 1, 0]),
        (
            "community official of the place, the chair",
            [1, 1, 1, 1, 0, 1, 1, 1, 1],
        ),
        ("another official of the place", [1, 0, 0, 0, 0, 0, 1, 1, 0]),
        ("street chief of the street", [1, 0, 0, 0, 0, 0, 1, 1, 0]),
        ("official of another community", [0; 9]),
        ("ops", [0; 9]),
        ("admin", [1, 1, 1, 1, 0, 1, 1, 1, 1]),
    ];

    #[test]
    fn permission_matrix() {
        let people = people();
        assert_eq!(people.len(), MATRIX.len());
        for ((name, actor, elector), (row, expected)) in people.iter().zip(MATRIX) {
            assert_eq!(*name, row, "table rows out of order");
            let standing = Standing {
                place: community(1, 10),
                chair: CHAIR,
                elector: *elector,
            };
            for (action, want) in Action::ALL.into_iter().zip(expected) {
                assert_eq!(
                    permitted(actor, &standing, action),
                    want == 1,
                    "{name} × {action:?}"
                );
            }
        }
    }

    #[test]
    fn a_street_appraisal_is_called_by_the_street_chief_and_open_to_its_residents() {
        let place = street(1);
        let standing = Standing {
            place,
            chair: CHAIR,
            elector: false,
        };
        let chief = actor(7, Role::StreetChief, Some(street(1)));
        let official = actor(5, Role::CommunityOfficial, Some(community(1, 10)));
        let other_chief = actor(11, Role::StreetChief, Some(street(2)));
        assert!(permitted(&chief, &standing, Action::SetUp));
        assert!(!permitted(&official, &standing, Action::SetUp));
        assert!(!permitted(&other_chief, &standing, Action::SetUp));
        assert!(!permitted(&other_chief, &standing, Action::Read));

        assert!(may_be_elector(
            &actor(1, Role::Resident, Some(community(1, 10))),
            &place
        ));
        assert!(may_be_elector(
            &actor(3, Role::BuildingLead, Some(building(1, 11, 110, 1100))),
            &place
        ));
        assert!(!may_be_elector(
            &actor(2, Role::Resident, Some(community(2, 20))),
            &place
        ));
        for role in [
            Role::GridWorker,
            Role::CommunityOfficial,
            Role::StreetChief,
            Role::Ops,
            Role::Admin,
        ] {
            let scope = (!matches!(role, Role::Ops | Role::Admin)).then_some(street(1));
            assert!(!may_be_elector(&actor(4, role, scope), &place), "{role}");
        }
        // A community appraisal takes only that community's people.
        assert!(!may_be_elector(
            &actor(1, Role::Resident, Some(community(1, 11))),
            &community(1, 10)
        ));
        // Nor a street-wide resident grant for a community appraisal.
        assert!(!may_be_elector(
            &actor(1, Role::Resident, Some(street(1))),
            &community(1, 10)
        ));
        assert!(appraisable(&street(1)) && appraisable(&community(1, 10)));
        assert!(!appraisable(&grid(1, 10, 100)) && !appraisable(&building(1, 10, 100, 1000)));
    }

    #[test]
    fn the_state_machine_only_moves_forward_one_step_at_a_time() {
        use AppraisalState::*;
        let mut state = Prepared;
        for (step, next) in [
            (Move::Open, Balloting),
            (Move::Close, Counting),
            (Move::Publish, Published),
        ] {
            for other in Move::ALL.into_iter().filter(|m| *m != step) {
                assert_eq!(advance(state, other), Err(Refusal::WrongState(state)));
            }
            state = advance(state, step).unwrap();
            assert_eq!(state, next);
        }
        for step in Move::ALL {
            assert_eq!(
                advance(Published, step),
                Err(Refusal::WrongState(Published))
            );
        }
        for s in AppraisalState::ALL {
            assert_eq!(may_cast_in(s).is_ok(), s == Balloting, "{s:?}");
            assert_eq!(may_void_in(s).is_ok(), s == Counting, "{s:?}");
        }
    }

    fn new_appraisal() -> NewAppraisal {
        NewAppraisal {
            title: "Spring appraisal".into(),
            place_id: PlaceId(10),
            appraisees: vec![
                NewAppraisee {
                    name: "Liu Yang".into(),
                    account_id: Some(AccountId(50)),
                    service: None,
                },
                NewAppraisee {
                    name: "Property management".into(),
                    account_id: None,
                    service: Some("Green Leaf Property".into()),
                },
            ],
            dimensions: vec![
                NewDimension {
                    name: "Responsiveness".into(),
                    weight: 2.0,
                    scale: 5,
                },
                NewDimension {
                    name: "Results".into(),
                    weight: 1.0,
                    scale: 10,
                },
                NewDimension {
                    name: "Attitude".into(),
                    weight: 1.0,
                    scale: 5,
                },
            ],
            electorate: vec![AccountId(3), AccountId(1), AccountId(2)],
            anonymous: true,
            low_score_threshold: None,
        }
    }

    fn setup() -> Setup {
        check_setup(&new_appraisal()).unwrap().setup
    }

    #[test]
    fn a_setup_is_checked_and_its_weights_normalised() {
        let checked = check_setup(&new_appraisal()).unwrap();
        assert_eq!(checked.title, "Spring appraisal");
        assert_eq!(
            checked.electorate,
            [AccountId(1), AccountId(2), AccountId(3)]
        );
        assert_eq!(checked.setup.low_score_threshold, DEFAULT_LOW_SCORE);
        assert_eq!(checked.setup.normalised_weights(), [0.5, 0.25, 0.25]);

        let refused = |change: fn(&mut NewAppraisal)| {
            let mut new = new_appraisal();
            change(&mut new);
            assert!(
                matches!(check_setup(&new), Err(Refusal::Invalid(_))),
                "{new:?}"
            );
        };
        refused(|n| n.title = "  ".into());
        refused(|n| n.title = "x".repeat(MAX_TITLE + 1));
        refused(|n| n.appraisees.clear());
        refused(|n| n.dimensions.clear());
        refused(|n| n.electorate.clear());
        refused(|n| n.electorate.push(AccountId(1)));
        refused(|n| n.appraisees[0].name = "\u{7}bell".into());
        refused(|n| n.appraisees[1].account_id = Some(AccountId(51)));
        refused(|n| n.appraisees[1].account_id = Some(AccountId(50)));
        refused(|n| n.dimensions[1].name = "Attitude".into());
        for weight in [0.0, -1.0, f64::NAN, f64::INFINITY, MAX_WEIGHT * 2.0] {
            let mut new = new_appraisal();
            new.dimensions[0].weight = weight;
            assert!(check_setup(&new).is_err(), "weight {weight}");
        }
        refused(|n| n.dimensions[0].scale = 0);
        refused(|n| n.dimensions[0].scale = MAX_SCALE + 1);
        refused(|n| n.low_score_threshold = Some(100.5));
        refused(|n| n.low_score_threshold = Some(f64::NAN));
        // A service with no account, or neither, is fine.
        let mut new = new_appraisal();
        new.appraisees[1].service = None;
        new.appraisees[1].account_id = None;
        new.low_score_threshold = Some(75.0);
        assert_eq!(check_setup(&new).unwrap().setup.low_score_threshold, 75.0);
    }

    fn ballot(scores: [[u32; 3]; 2], grades: [Grade; 2]) -> NewBallot {
        NewBallot {
            request_id: None,
            scores: scores
                .iter()
                .enumerate()
                .map(|(a, row)| {
                    (
                        a as u32,
                        row.iter()
                            .enumerate()
                            .map(|(d, s)| (d as u32, *s))
                            .collect(),
                    )
                })
                .collect(),
            grade: grades
                .iter()
                .enumerate()
                .map(|(a, g)| (a as u32, *g))
                .collect(),
            comment: None,
        }
    }

    #[test]
    fn a_ballot_scores_every_appraisee_on_every_dimension_within_its_scale() {
        use Grade::*;
        let setup = setup();
        let mut good = ballot([[5, 10, 0], [0, 3, 5]], [Satisfied, Unsatisfied]);
        good.comment = Some("  \n ".into());
        let checked = check_ballot(&setup, &good).unwrap();
        assert_eq!(checked.scores, [[5, 10, 0], [0, 3, 5]]);
        assert_eq!(checked.grades, [Satisfied, Unsatisfied]);
        assert_eq!(checked.comment, None);

        let refused = |change: &dyn Fn(&mut NewBallot)| {
            let mut b = ballot([[1, 1, 1], [1, 1, 1]], [Basic, Basic]);
            change(&mut b);
            assert!(
                matches!(check_ballot(&setup, &b), Err(Refusal::Invalid(_))),
                "{b:?}"
            );
        };
        refused(&|b| {
            b.scores.remove(&1);
        });
        refused(&|b| {
            let row = b.scores[&0].clone();
            b.scores.insert(2, row);
        });
        refused(&|b| {
            let row = b.scores[&1].clone();
            b.scores.remove(&1);
            b.scores.insert(7, row);
        });
        refused(&|b| {
            b.scores.entry(0).or_default().remove(&2);
        });
        refused(&|b| {
            b.scores.entry(0).or_default().insert(3, 1);
        });
        refused(&|b| {
            b.scores.entry(1).or_default().insert(0, 6);
        });
        refused(&|b| {
            b.scores.entry(1).or_default().insert(1, 11);
        });
        refused(&|b| {
            b.grade.remove(&0);
        });
        refused(&|b| {
            b.grade.insert(2, Basic);
        });
        refused(&|b| b.comment = Some("x".repeat(MAX_COMMENT + 1)));
        // The top of each scale is a valid score.
        let top = ballot([[5, 10, 5], [5, 10, 5]], [Basic, Basic]);
        assert!(check_ballot(&setup, &top).is_ok());
        let empty = NewBallot {
            request_id: None,
            scores: BTreeMap::new(),
            grade: BTreeMap::new(),
            comment: None,
        };
        assert!(check_ballot(&setup, &empty).is_err());
    }

    /// One text rule (`domain::text`): names and titles are one line; a comment and a void's
    /// reason may hold line breaks and tabs. Before the rule was one, names and titles took line
    /// breaks and comments refused tabs.
    #[test]
    fn names_are_lines_and_comments_bodies() {
        use Grade::*;
        for bad in ["Spring\nappraisal", "Spring\tappraisal"] {
            let mut new = new_appraisal();
            new.title = bad.into();
            assert!(
                matches!(check_setup(&new), Err(Refusal::Invalid(_))),
                "{bad:?}"
            );
            let mut new = new_appraisal();
            new.dimensions[0].name = bad.into();
            assert!(
                matches!(check_setup(&new), Err(Refusal::Invalid(_))),
                "{bad:?}"
            );
        }
        let mut b = ballot([[1, 1, 1], [1, 1, 1]], [Basic, Basic]);
        b.comment = Some(" Fast:\tyes\nFriendly:\tyes ".into());
        let checked = check_ballot(&setup(), &b).unwrap();
        assert_eq!(
            checked.comment.as_deref(),
            Some("Fast:\tyes\nFriendly:\tyes")
        );
        b.comment = Some("bell\u{7}".into());
        assert_eq!(
            check_ballot(&setup(), &b),
            Err(Refusal::Invalid(
                "the comment holds control characters".into()
            ))
        );
        let reason = Text::parse("Cast twice:\tsee the log", &VOID_REASON).unwrap();
        assert_eq!(reason.as_str(), "Cast twice:\tsee the log");
    }

    fn counted(scores: [[u32; 3]; 2], grades: [Grade; 2], status: BallotStatus) -> Counted {
        Counted {
            scores: scores.iter().map(|r| r.to_vec()).collect(),
            grades: grades.to_vec(),
            status,
        }
    }

    fn three_ballots() -> Vec<Counted> {
        use BallotStatus::*;
        use Grade::*;
        vec![
            counted([[5, 10, 5], [2, 4, 1]], [Satisfied, Unsatisfied], Valid),
            counted([[4, 8, 3], [3, 5, 2]], [Basic, Unsatisfied], Valid),
            // Voided: counted as cast, left out of the results.
            counted([[0, 0, 0], [5, 10, 5]], [Unsatisfied, Satisfied], Void),
        ]
    }

    #[test]
    fn the_counts_reconcile_or_the_count_stops() {
        let setup = setup();
        let ballots = three_ballots();
        let counts = reconcile(&setup, 5, 3, &ballots).unwrap();
        assert_eq!(
            counts,
            AppraisalCounts {
                issued: 5,
                cast: 3,
                valid: 2,
                void: 1,
                not_returned: 2
            }
        );
        assert_eq!(counts.cast, counts.valid + counts.void);
        assert_eq!(counts.issued, counts.cast + counts.not_returned);

        // A receipt without its ballot, or a ballot without a receipt.
        assert!(matches!(
            reconcile(&setup, 5, 4, &ballots),
            Err(Refusal::Unreconciled(_))
        ));
        assert!(matches!(
            reconcile(&setup, 5, 2, &ballots),
            Err(Refusal::Unreconciled(_))
        ));
        // More cast than issued.
        assert!(matches!(
            reconcile(&setup, 2, 3, &ballots),
            Err(Refusal::Unreconciled(_))
        ));
        // A ballot that does not fit the setup.
        let mut odd = ballots.clone();
        odd[0].scores[1].pop();
        assert!(matches!(
            reconcile(&setup, 5, 3, &odd),
            Err(Refusal::Unreconciled(_))
        ));
        let mut odd = ballots;
        odd[1].scores[0][1] = 11;
        assert!(reconcile(&setup, 5, 3, &odd).is_err());
        assert_eq!(
            reconcile(&setup, 4, 0, &[]).unwrap(),
            AppraisalCounts {
                issued: 4,
                cast: 0,
                valid: 0,
                void: 0,
                not_returned: 4
            }
        );
    }

    #[test]
    fn results_are_weighted_means_scaled_to_100_from_valid_ballots() {
        let setup = setup();
        let results = results(&setup, &three_ballots());
        assert_eq!(results.len(), 2);
        // Appraisee 0: means 4.5/5, 9/10, 4/5 → 90, 90, 80; weights ½ ¼ ¼ → 87.5.
        let first = &results[0];
        assert_eq!(first.name, "Liu Yang");
        let means: Vec<_> = first.dimensions.iter().map(|d| d.average).collect();
        assert_eq!(means, [Some(4.5), Some(9.0), Some(4.0)]);
        let scores: Vec<_> = first.dimensions.iter().map(|d| d.score).collect();
        assert_eq!(scores, [Some(90.0), Some(90.0), Some(80.0)]);
        assert_eq!(first.overall, Some(87.5));
        assert!(!first.low);
        assert_eq!(
            first.grades.satisfied,
            GradeShare {
                count: 1,
                share: 0.5
            }
        );
        assert_eq!(
            first.grades.basic,
            GradeShare {
                count: 1,
                share: 0.5
            }
        );
        assert_eq!(
            first.grades.unsatisfied,
            GradeShare {
                count: 0,
                share: 0.0
            }
        );
        // Appraisee 1: means 2.5/5, 4.5/10, 1.5/5 → 50, 45, 30 → 25 + 11.25 + 7.5 = 43.75.
        let second = &results[1];
        let scores: Vec<_> = second.dimensions.iter().map(|d| d.score).collect();
        assert_eq!(scores, [Some(50.0), Some(45.0), Some(30.0)]);
        assert_eq!(second.overall, Some(43.75));
        assert!(second.low);
        assert_eq!(
            second.grades.unsatisfied,
            GradeShare {
                count: 2,
                share: 1.0
            }
        );

        // Thirds are rounded for display, and the low flag follows the rounded figure.
        let mut setup = setup;
        setup.dimensions.truncate(1);
        setup.low_score_threshold = 66.67;
        let thirds = [4u32, 3, 3].map(|s| Counted {
            scores: vec![vec![s], vec![5]],
            grades: vec![Grade::Basic, Grade::Satisfied],
            status: BallotStatus::Valid,
        });
        let r = super::results(&setup, &thirds);
        assert_eq!(r[0].dimensions[0].average, Some(3.33));
        assert_eq!(r[0].overall, Some(66.67));
        assert!(!r[0].low);
        assert_eq!(r[1].grades.satisfied.share, 1.0);
        let r = super::results(&setup, &thirds[1..]);
        assert_eq!(r[0].overall, Some(60.0));
        assert!(r[0].low);
    }

    #[test]
    fn without_valid_ballots_there_are_no_means_and_nothing_is_low() {
        use Grade::*;
        let setup = setup();
        let only_void = [counted(
            [[0, 0, 0], [0, 0, 0]],
            [Unsatisfied, Unsatisfied],
            BallotStatus::Void,
        )];
        for ballots in [&[][..], &only_void[..]] {
            for r in results(&setup, ballots) {
                assert_eq!(r.overall, None);
                assert!(!r.low);
                assert!(r.dimensions.iter().all(|d| d.average.is_none()));
                assert_eq!(
                    r.grades.unsatisfied,
                    GradeShare {
                        count: 0,
                        share: 0.0
                    }
                );
            }
        }
    }

    #[test]
    fn a_low_score_opens_a_follow_up_owned_by_the_appraisee_or_the_chair() {
        let mut setup = setup();
        let ballots = [counted(
            [[1, 2, 1], [1, 2, 1]],
            [Grade::Unsatisfied, Grade::Unsatisfied],
            BallotStatus::Valid,
        )];
        let results = results(&setup, &ballots);
        assert!(results.iter().all(|r| r.low));
        let now = 1_700_000_000_000;
        let items = follow_ups("Spring appraisal", &setup, &results, CHAIR, now);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].owner, AccountId(50), "the appraisee's own account");
        assert_eq!(items[1].owner, CHAIR, "a service has no account: the chair");
        for (i, item) in items.iter().enumerate() {
            assert_eq!(item.appraisee, i as u32);
            assert_eq!(item.due_at, now + 30 * 24 * 3600 * 1000);
            assert!(item.title.contains("Spring appraisal"), "{}", item.title);
        }
        assert!(items[1].title.contains("Property management"));

        setup.low_score_threshold = 0.0;
        let results = super::results(&setup, &ballots);
        assert!(follow_ups("x", &setup, &results, CHAIR, now).is_empty());
    }
}
