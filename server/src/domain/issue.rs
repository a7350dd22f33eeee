//! The issue state machine and who may act on an issue: pure functions of the issue, the actor
//! and the action. The service layer loads the issue, calls `decide`, and stores what it says.

mod allowed;

pub use allowed::allowed_actions;

use super::access::Actor;
use super::category::Category;
use super::places::PlacePath;
use super::text::{Field, Text, TextError};
use hehe_protocol::issue::{
    Clock, ClosureReason, IssueAction, IssueState, Level, PhotoKind, Priority, Resolution,
    Visibility,
};
use hehe_protocol::{AccountId, IssueId, Role};
use serde_json::{Value, json};

/// The part of an issue the rules look at.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub id: IssueId,
    pub state: IssueState,
    pub priority: Priority,
    pub level: Level,
    /// The grid or building it is about.
    pub place: PlacePath,
    pub reporter: AccountId,
    pub public: bool,
    pub assignee: Option<AccountId>,
    pub resolution: Option<Resolution>,
    pub closure: Option<ClosureReason>,
    /// Set when closed after `awaiting_rating`: whether a rating came.
    pub rated: Option<bool>,
    pub duplicate_of: Option<IssueId>,
    pub reopen_count: u32,
    pub return_count: u32,
    /// Whether an `after` photo has been uploaded since the last dispatch.
    pub has_after_photo: bool,
}

/// Who acts: a person, or the deadline clock.
#[derive(Debug, Clone, Copy)]
pub enum Agent<'a> {
    Person { actor: &'a Actor, follows: bool },
    System,
}

/// What is done to the issue.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Act(IssueAction),
    /// A clock reached its warning share.
    Warn(Clock),
    /// A clock ran out.
    Breach(Clock),
}

/// Facts beyond the issue that some actions need, looked up by the caller.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    pub category: Option<&'a Category>,
    /// For `dispatch`: the grants of the person named as assignee.
    pub assignee: Option<&'a Actor>,
    /// For `merge`: the issue to merge into.
    pub merge_target: Option<&'a Issue>,
}

/// A timeline entry to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub kind: &'static str,
    pub from: Option<IssueState>,
    pub to: Option<IssueState>,
    pub visibility: Visibility,
    pub text: Option<String>,
    pub data: Value,
}

/// What an accepted command does.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub issue: Issue,
    pub events: Vec<NewEvent>,
    /// The actor starts (true) or stops (false) following.
    pub follow: Option<bool>,
    /// The deadline of this clock was missed: keep the flag for statistics.
    pub breached: Option<Clock>,
    /// The actor's own report joins the issue ("me too"), with this text.
    pub submission: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("your role does not allow this on this issue")]
    Forbidden,
    #[error("not possible while the issue is {}", .0.as_str())]
    WrongState(IssueState),
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Text(#[from] TextError),
}

/// Longest free text on an issue action.
pub const MAX_TEXT_CHARS: usize = 2000;

/// The issue's own texts, as its reporter writes them.
pub const TITLE: Field = Field::line("title", 120);
pub const DESCRIPTION: Field = Field::body("description", MAX_TEXT_CHARS);

/// The texts that go with actions.
const REASON: Field = Field::body("reason", MAX_TEXT_CHARS);
const EXPLANATION: Field = Field::body("explanation", MAX_TEXT_CHARS);
const UPDATE: Field = Field::body("text", MAX_TEXT_CHARS);
const NOTE: Field = Field::body("note", MAX_TEXT_CHARS);
const COMMENT: Field = Field::body("comment", MAX_TEXT_CHARS);

/// How people quote an issue: on the phone, on paper, in a meeting's minutes.
pub fn reference(id: IssueId) -> String {
    format!("HH-{:06}", id.0)
}

/// The clocks that run in a state. Entering a state starts the clocks it has that the old one
/// had not; leaving stops the rest.
pub fn running_clocks(state: IssueState) -> &'static [Clock] {
    match state {
        IssueState::Submitted | IssueState::Escalated => &[Clock::Accept],
        IssueState::Dispatched => &[Clock::Acknowledge, Clock::Resolve],
        IssueState::InProgress => &[Clock::Resolve],
        IssueState::AwaitingRating => &[Clock::Rate],
        IssueState::Accepted
        | IssueState::Resolved
        | IssueState::Closed
        | IssueState::Rejected
        | IssueState::Duplicate => &[],
    }
}

// ---- who may do what ------------------------------------------------------------------------

fn holds(actor: &Actor, roles: &[Role], place: &PlacePath) -> bool {
    actor.has_role(Role::Admin)
        || actor
            .grants
            .iter()
            .any(|g| roles.contains(&g.role) && g.scope.is_some_and(|s| s.contains(place)))
}

/// Officials over the issue: its community's officials and its street's chief.
fn is_official(actor: &Actor, issue: &Issue) -> bool {
    holds(
        actor,
        &[Role::CommunityOfficial, Role::StreetChief],
        &issue.place,
    )
}

fn is_chief(actor: &Actor, issue: &Issue) -> bool {
    holds(actor, &[Role::StreetChief], &issue.place)
}

/// Staff over the issue: the grid's workers and the officials above them.
fn is_staff(actor: &Actor, issue: &Issue) -> bool {
    holds(
        actor,
        &[Role::GridWorker, Role::CommunityOfficial, Role::StreetChief],
        &issue.place,
    )
}

/// Whether the actor sees internal notes of this issue.
pub fn sees_internal(actor: &Actor, issue: &Issue) -> bool {
    is_staff(actor, issue) || issue.assignee == Some(actor.id)
}

/// The role rule alone, whatever the issue's state: tested as a matrix.
pub fn may(actor: &Actor, issue: &Issue, action: &IssueAction) -> bool {
    let assignee = issue.assignee == Some(actor.id);
    let reporter = issue.reporter == actor.id;
    match action {
        IssueAction::Accept | IssueAction::Reject { .. } | IssueAction::Merge { .. } => {
            is_official(actor, issue)
        }
        // An issue escalated to the street is re-dispatched by the street's chief.
        IssueAction::Dispatch { .. } => match issue.level {
            Level::Grid | Level::Community => is_official(actor, issue),
            Level::Street => is_chief(actor, issue),
        },
        IssueAction::Acknowledge | IssueAction::Return { .. } | IssueAction::Complete { .. } => {
            assignee
        }
        IssueAction::Escalate { .. } => assignee || is_official(actor, issue),
        IssueAction::PostUpdate {
            internal: false, ..
        } => assignee || is_official(actor, issue),
        IssueAction::PostUpdate { internal: true, .. } => assignee || is_staff(actor, issue),
        IssueAction::DeclareUnfixable { .. }
        | IssueAction::VerifyOk
        | IssueAction::VerifyFail { .. } => is_official(actor, issue),
        IssueAction::Rate { .. } | IssueAction::Withdraw => reporter,
        // Reading rights are checked before any action; following needs nothing more.
        IssueAction::Follow | IssueAction::Unfollow => true,
        // "Me too" comes from people of the community, not from its reporter.
        IssueAction::MeToo { .. } => {
            !reporter
                && issue.place.community_path().is_some_and(|home| {
                    actor.grants.iter().any(|g| {
                        matches!(
                            g.role,
                            Role::Resident | Role::BuildingLead | Role::GridWorker
                        ) && g.scope.is_some_and(|s| s.on_one_line(&home))
                    })
                })
        }
    }
}

/// Whether `actor` may raise an issue at `place`, for themselves or for `on_behalf_of`.
pub fn may_submit(actor: &Actor, place: &PlacePath, on_behalf_of: Option<&Actor>) -> bool {
    if actor.has_role(Role::Admin) {
        return true;
    }
    let within = |roles: &[Role]| {
        actor
            .grants
            .iter()
            .any(|g| roles.contains(&g.role) && g.scope.is_some_and(|s| s.contains(place)))
    };
    match on_behalf_of {
        None => within(&[
            Role::Resident,
            Role::GridWorker,
            Role::CommunityOfficial,
            Role::StreetChief,
        ]),
        Some(resident) => {
            // The person helped must live in the community the issue is in.
            let lives_there = place.community_path().is_some_and(|home| {
                resident.grants.iter().any(|g| {
                    g.role == Role::Resident && g.scope.is_some_and(|s| s.on_one_line(&home))
                })
            });
            let helper = actor.grants.iter().any(|g| {
                g.scope.is_some_and(|s| match g.role {
                    // A building lead helps with their building and the grid around it.
                    Role::BuildingLead => s.on_one_line(place),
                    Role::GridWorker | Role::CommunityOfficial | Role::StreetChief => {
                        s.contains(place)
                    }
                    _ => false,
                })
            });
            lives_there && helper
        }
    }
}

/// Whether `assignee` can be dispatched the issue at its level: a grid worker (or an official)
/// of the same community, or of the same street once it is escalated to the street.
pub fn can_be_assigned(assignee: &Actor, issue: &Issue) -> bool {
    let area = match issue.level {
        Level::Grid | Level::Community => issue.place.community_path(),
        Level::Street => Some(issue.place.street_path()),
    };
    let Some(area) = area else { return false };
    assignee.grants.iter().any(|g| {
        matches!(
            g.role,
            Role::GridWorker | Role::CommunityOfficial | Role::StreetChief
        ) && g.scope.is_some_and(|s| s.on_one_line(&area))
    })
}

/// Who may add which photo: the reporter and staff show the problem, the assignee (or an
/// official) shows the work, anyone involved may add evidence; never on a finished issue.
pub fn may_upload(actor: &Actor, issue: &Issue, kind: PhotoKind) -> bool {
    if issue.state.is_terminal() {
        return false;
    }
    let reporter = issue.reporter == actor.id;
    let assignee = issue.assignee == Some(actor.id);
    match kind {
        PhotoKind::Before => reporter || is_staff(actor, issue),
        PhotoKind::After => assignee || is_official(actor, issue),
        PhotoKind::Evidence => reporter || assignee || is_staff(actor, issue),
    }
}

// ---- the state machine ----------------------------------------------------------------------

fn text(raw: &str, field: &Field) -> Result<String, Refusal> {
    Ok(Text::parse(raw, field)?.into_string())
}

fn optional_text(raw: &Option<String>, field: &Field) -> Result<Option<String>, Refusal> {
    Ok(Text::optional(raw.as_deref(), field)?.map(Text::into_string))
}

struct Builder {
    issue: Issue,
    events: Vec<NewEvent>,
    follow: Option<bool>,
    breached: Option<Clock>,
    submission: Option<String>,
}

impl Builder {
    fn new(issue: &Issue) -> Self {
        Self {
            issue: issue.clone(),
            events: Vec::new(),
            follow: None,
            breached: None,
            submission: None,
        }
    }

    fn to(
        mut self,
        state: IssueState,
        kind: &'static str,
        text: Option<String>,
        data: Value,
    ) -> Self {
        let from = self.issue.state;
        self.issue.state = state;
        self.events.push(NewEvent {
            kind,
            from: Some(from),
            to: Some(state),
            visibility: Visibility::Public,
            text,
            data,
        });
        self
    }

    fn note(
        mut self,
        kind: &'static str,
        visibility: Visibility,
        text: Option<String>,
        data: Value,
    ) -> Self {
        self.events.push(NewEvent {
            kind,
            from: None,
            to: None,
            visibility,
            text,
            data,
        });
        self
    }

    fn done(self) -> Decision {
        Decision {
            issue: self.issue,
            events: self.events,
            follow: self.follow,
            breached: self.breached,
            submission: self.submission,
        }
    }
}

/// Applies a command to an issue, or says why not. Refused commands change nothing.
pub fn decide(
    issue: &Issue,
    agent: Agent<'_>,
    command: &Command,
    ctx: &Context<'_>,
) -> Result<Decision, Refusal> {
    match (agent, command) {
        (Agent::Person { actor, follows }, Command::Act(action)) => {
            if !may(actor, issue, action) {
                return Err(Refusal::Forbidden);
            }
            act(issue, actor, follows, action, ctx)
        }
        (Agent::System, Command::Warn(clock)) => warn(issue, *clock),
        (Agent::System, Command::Breach(clock)) => breach(issue, *clock),
        _ => Err(Refusal::Forbidden),
    }
}

fn act(
    issue: &Issue,
    actor: &Actor,
    follows: bool,
    action: &IssueAction,
    ctx: &Context<'_>,
) -> Result<Decision, Refusal> {
    use IssueAction as A;
    match action {
        A::Accept | A::Reject { .. } | A::Merge { .. } | A::Dispatch { .. } => {
            intake(issue, action, ctx)
        }
        A::Acknowledge
        | A::Return { .. }
        | A::Escalate { .. }
        | A::PostUpdate { .. }
        | A::Complete { .. }
        | A::DeclareUnfixable { .. } => work(issue, actor, action, ctx),
        A::VerifyOk | A::VerifyFail { .. } | A::Rate { .. } => verdict(issue, action, ctx),
        A::Withdraw | A::Follow | A::Unfollow | A::MeToo { .. } => {
            involvement(issue, actor, follows, action)
        }
    }
}

fn wrong(issue: &Issue) -> Result<Decision, Refusal> {
    Err(Refusal::WrongState(issue.state))
}

/// `act` hands each group only its own actions.
fn not_in_group(action: &IssueAction) -> ! {
    unreachable!("{action:?} was handed to the wrong group")
}

/// A new report in the officials' hands: taken on, turned down, merged into another, or
/// handed to someone to do.
fn intake(issue: &Issue, action: &IssueAction, ctx: &Context<'_>) -> Result<Decision, Refusal> {
    use IssueState::*;
    let b = Builder::new(issue);
    Ok(match action {
        IssueAction::Accept => match issue.state {
            Submitted => b.to(Accepted, "accepted", None, Value::Null).done(),
            _ => return wrong(issue),
        },
        IssueAction::Reject { reason } => match issue.state {
            Submitted | Accepted => b
                .to(
                    Rejected,
                    "rejected",
                    Some(text(reason, &REASON)?),
                    Value::Null,
                )
                .done(),
            _ => return wrong(issue),
        },
        IssueAction::Merge { into } => match issue.state {
            Submitted | Accepted => {
                let target = ctx
                    .merge_target
                    .ok_or(Refusal::Invalid("no such issue to merge into"))?;
                if target.id == issue.id || target.state.is_terminal() {
                    return Err(Refusal::Invalid("merge only into another open issue"));
                }
                if target.place.community_path() != issue.place.community_path() {
                    return Err(Refusal::Invalid("merge only within one community"));
                }
                let mut d = b
                    .to(Duplicate, "merged", None, json!({ "into": into }))
                    .done();
                d.issue.duplicate_of = Some(*into);
                d
            }
            _ => return wrong(issue),
        },
        IssueAction::Dispatch { assignee } => match issue.state {
            Accepted | Escalated => {
                let who = ctx.assignee.filter(|a| a.id == *assignee);
                if !who.is_some_and(|a| can_be_assigned(a, issue)) {
                    return Err(Refusal::Invalid(
                        "the assignee does not work in this issue's area",
                    ));
                }
                let mut d = b
                    .to(
                        Dispatched,
                        "dispatched",
                        None,
                        json!({ "assignee": assignee }),
                    )
                    .done();
                d.issue.assignee = Some(*assignee);
                d.issue.has_after_photo = false;
                d
            }
            _ => return wrong(issue),
        },
        _ => not_in_group(action),
    })
}

/// The work: its assignee takes it on, hands it back, reports on it, finishes it or says it
/// cannot be done; it goes up a level when it is stuck.
fn work(
    issue: &Issue,
    actor: &Actor,
    action: &IssueAction,
    ctx: &Context<'_>,
) -> Result<Decision, Refusal> {
    use IssueState::*;
    let b = Builder::new(issue);
    let open = !issue.state.is_terminal();
    Ok(match action {
        IssueAction::Acknowledge => match issue.state {
            Dispatched => b.to(InProgress, "acknowledged", None, Value::Null).done(),
            _ => return wrong(issue),
        },
        IssueAction::Return { reason } => match issue.state {
            Dispatched | InProgress => {
                let mut d = b
                    .to(
                        Accepted,
                        "returned",
                        Some(text(reason, &REASON)?),
                        Value::Null,
                    )
                    .done();
                d.issue.assignee = None;
                d.issue.return_count += 1;
                d
            }
            _ => return wrong(issue),
        },
        IssueAction::Escalate { reason } => match issue.state {
            Accepted | Dispatched | InProgress | Escalated => {
                escalate(b, issue, Some(text(reason, &REASON)?))?
            }
            _ => return wrong(issue),
        },
        IssueAction::PostUpdate {
            text: body,
            internal,
        } => {
            if !open {
                return wrong(issue);
            }
            let (kind, visibility) = if *internal {
                ("note", Visibility::Internal)
            } else {
                ("update", Visibility::Public)
            };
            b.note(kind, visibility, Some(text(body, &UPDATE)?), Value::Null)
                .done()
        }
        IssueAction::Complete { note } => match issue.state {
            InProgress => {
                let category = ctx.category.ok_or(Refusal::Invalid("unknown category"))?;
                if category.requires_after_photo && !issue.has_after_photo {
                    return Err(Refusal::Invalid(
                        "this category needs an after photo before completing",
                    ));
                }
                let next = if category.requires_verification {
                    Resolved
                } else {
                    AwaitingRating
                };
                let mut d = b
                    .to(next, "completed", optional_text(note, &NOTE)?, Value::Null)
                    .done();
                d.issue.resolution = Some(Resolution::Fixed);
                d
            }
            _ => return wrong(issue),
        },
        IssueAction::DeclareUnfixable {
            explanation,
            resolution,
        } => match issue.state {
            InProgress | Escalated => {
                if *resolution == Resolution::Fixed {
                    return Err(Refusal::Invalid(
                        "declare not_fixable or not_our_responsibility",
                    ));
                }
                let data = json!({ "resolution": resolution });
                let mut d = b
                    .to(
                        Resolved,
                        "declared_unfixable",
                        Some(text(explanation, &EXPLANATION)?),
                        data,
                    )
                    .done();
                d.issue.resolution = Some(*resolution);
                d.issue.assignee = d.issue.assignee.or(Some(actor.id));
                d
            }
            _ => return wrong(issue),
        },
        _ => not_in_group(action),
    })
}

/// Whether the work holds: an official verifies it, then the reporter rates it.
fn verdict(issue: &Issue, action: &IssueAction, ctx: &Context<'_>) -> Result<Decision, Refusal> {
    use IssueState::*;
    let b = Builder::new(issue);
    Ok(match action {
        IssueAction::VerifyOk => match issue.state {
            Resolved => b.to(AwaitingRating, "verified", None, Value::Null).done(),
            _ => return wrong(issue),
        },
        IssueAction::VerifyFail { reason } => match issue.state {
            Resolved => {
                let mut d = b
                    .to(
                        InProgress,
                        "verification_failed",
                        Some(text(reason, &REASON)?),
                        Value::Null,
                    )
                    .done();
                d.issue.resolution = None;
                d.issue.has_after_photo = false;
                d
            }
            _ => return wrong(issue),
        },
        IssueAction::Rate {
            resolved,
            satisfaction,
            stars,
            comment,
        } => match issue.state {
            AwaitingRating => {
                if stars.is_some_and(|s| !(1..=5).contains(&s)) {
                    return Err(Refusal::Invalid("stars are 1 to 5"));
                }
                let comment = optional_text(comment, &COMMENT)?;
                let data =
                    json!({ "resolved": resolved, "satisfaction": satisfaction, "stars": stars });
                if *resolved {
                    let mut d = b.to(Closed, "rated", comment, data).done();
                    d.issue.closure = Some(issue.resolution.unwrap_or(Resolution::Fixed).into());
                    d.issue.rated = Some(true);
                    d
                } else {
                    if comment.is_none() {
                        return Err(Refusal::Invalid("say what is still wrong"));
                    }
                    reopen(
                        b.note("rated", Visibility::Public, comment, data),
                        issue,
                        ctx,
                    )?
                }
            }
            _ => return wrong(issue),
        },
        _ => not_in_group(action),
    })
}

/// Residents' ties to an issue: withdrawing their own, following one, saying "me too".
fn involvement(
    issue: &Issue,
    actor: &Actor,
    follows: bool,
    action: &IssueAction,
) -> Result<Decision, Refusal> {
    use IssueState::*;
    let b = Builder::new(issue);
    let open = !issue.state.is_terminal();
    Ok(match action {
        IssueAction::Withdraw => match issue.state {
            Submitted | Accepted | Dispatched | InProgress | Escalated => {
                let mut d = b.to(Closed, "withdrawn", None, Value::Null).done();
                d.issue.closure = Some(ClosureReason::Withdrawn);
                d
            }
            _ => return wrong(issue),
        },
        IssueAction::Follow => {
            if follows || issue.reporter == actor.id {
                return Err(Refusal::Invalid("already following"));
            }
            Decision {
                follow: Some(true),
                ..b.done()
            }
        }
        IssueAction::Unfollow => {
            if !follows {
                return Err(Refusal::Invalid("not following"));
            }
            Decision {
                follow: Some(false),
                ..b.done()
            }
        }
        IssueAction::MeToo { note } => {
            if !open {
                return wrong(issue);
            }
            let note = optional_text(note, &NOTE)?;
            let d = b
                .note("me_too", Visibility::Public, note.clone(), Value::Null)
                .done();
            Decision {
                follow: (!follows).then_some(true),
                submission: Some(note.unwrap_or_else(|| "me too".into())),
                ..d
            }
        }
        _ => not_in_group(action),
    })
}

/// One level up, or refused at the top.
fn escalate(b: Builder, issue: &Issue, reason: Option<String>) -> Result<Decision, Refusal> {
    let level = issue
        .level
        .up()
        .ok_or(Refusal::Invalid("already escalated to the street"))?;
    let data = json!({ "level": level });
    let mut d = b
        .to(IssueState::Escalated, "escalated", reason, data)
        .done();
    d.issue.level = level;
    d.issue.assignee = None;
    Ok(d)
}

/// A "not fixed" rating: back to the worker with a raised priority, or up a level once the
/// category's reopen limit is passed.
fn reopen(b: Builder, issue: &Issue, ctx: &Context<'_>) -> Result<Decision, Refusal> {
    let limit = ctx.category.map_or(2, |c| c.reopen_limit);
    let count = issue.reopen_count + 1;
    let priority = issue.priority.raised();
    let up = if count > limit {
        issue.level.up()
    } else {
        None
    };
    let next = if up.is_some() {
        IssueState::Escalated
    } else {
        IssueState::Dispatched
    };
    let data = json!({ "reopen_count": count, "priority": priority, "level": up });
    let mut d = b.to(next, "reopened", None, data).done();
    if let Some(level) = up {
        d.issue.level = level;
        d.issue.assignee = None;
    }
    d.issue.reopen_count = count;
    d.issue.priority = priority;
    d.issue.resolution = None;
    d.issue.has_after_photo = false;
    Ok(d)
}

fn warn(issue: &Issue, clock: Clock) -> Result<Decision, Refusal> {
    if !running_clocks(issue.state).contains(&clock) {
        return Err(Refusal::WrongState(issue.state));
    }
    let data = json!({ "clock": clock });
    Ok(Builder::new(issue)
        .note("sla_warning", Visibility::Public, None, data)
        .done())
}

/// A clock ran out: flag it, then escalate the work, or close an unrated issue as not rated.
fn breach(issue: &Issue, clock: Clock) -> Result<Decision, Refusal> {
    if !running_clocks(issue.state).contains(&clock) {
        return Err(Refusal::WrongState(issue.state));
    }
    let b = Builder::new(issue).note(
        "sla_breach",
        Visibility::Public,
        None,
        json!({ "clock": clock }),
    );
    let mut d = match clock {
        Clock::Rate => {
            let mut d = b
                .to(IssueState::Closed, "closed_not_rated", None, Value::Null)
                .done();
            d.issue.closure = Some(issue.resolution.unwrap_or(Resolution::Fixed).into());
            d.issue.rated = Some(false);
            d
        }
        Clock::Accept | Clock::Acknowledge | Clock::Resolve => match issue.level.up() {
            Some(_) => escalate(
                b,
                issue,
                Some(format!("{} deadline missed", clock.as_str())),
            )?,
            // At the top there is nobody to escalate to: the flag and the timeline say it.
            None => b.done(),
        },
    };
    d.breached = Some(clock);
    Ok(d)
}

/// What must hold of every issue; checked by the property tests after each accepted command.
pub fn invariants(issue: &Issue) -> Result<(), String> {
    use IssueState::*;
    let s = issue.state;
    let fail = |what: &str| Err(format!("{}: {what}", s.as_str()));
    if matches!(s, Dispatched | InProgress) && issue.assignee.is_none() {
        return fail("no assignee");
    }
    if (s == Closed) != issue.closure.is_some() {
        return fail("closure reason present iff closed");
    }
    if (s == Duplicate) != issue.duplicate_of.is_some() {
        return fail("duplicate_of present iff duplicate");
    }
    if matches!(s, Resolved | AwaitingRating) && issue.resolution.is_none() {
        return fail("no resolution");
    }
    if issue.rated.is_some() && s != Closed {
        return fail("rated only when closed");
    }
    if issue.closure == Some(ClosureReason::Fixed) && issue.resolution != Some(Resolution::Fixed) {
        return fail("closed as fixed without being fixed");
    }
    if s == Escalated && issue.level == Level::Grid {
        return fail("escalated at grid level");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
