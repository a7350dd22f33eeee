//! The living room's rules: who may do what in a live meeting, as a pure function from the
//! room, the actor and the action to the log entries it adds. The room's state is a fold over
//! its log (`room`), so a late joiner or a reconnecting client rebuilds it exactly from the
//! entries; calling a meeting, and who stands where in it, is `calling`.

mod allowed;
mod calling;
mod room;

pub use allowed::{allowed_actions, allowed_by_state};
pub use calling::{
    CheckedMeeting, MeetingFacts, Membership, check_new, check_parties, may_be_held_at, may_create,
    may_follow, standing,
};
pub use room::{Agreement, Outcome, Room, RoomEvent, Vote};

use super::text::{Field, Text, TextError};
use hehe_protocol::AccountId;
use hehe_protocol::meeting::{MeetingKind, MeetingState, NewVote, RoomAction, RoomMode};
use std::collections::BTreeSet;

/// Who acts, as the service resolved it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomActor {
    pub id: AccountId,
    /// Chairs the meeting (its chair, or an official standing in: the street's chief, admin).
    pub chair: bool,
    pub secretary: bool,
    /// A party to a mediation.
    pub party: bool,
    /// A mediator of a mediation (its chair is one too).
    pub mediator: bool,
    /// May be in the room at all (the place's people; a mediation's parties and mediators).
    pub eligible: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomRefusal {
    #[error("only the chair may do this")]
    NotChair,
    #[error("you may not take part in this meeting")]
    NotAllowed,
    #[error("you were removed from this meeting")]
    Removed,
    #[error("you are muted")]
    Muted,
    #[error("only the speaker may post while the floor is given")]
    NotYourFloor,
    #[error("the room is locked")]
    Locked,
    #[error("not possible while the meeting is {}", .0.as_str())]
    WrongState(MeetingState),
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Text(#[from] TextError),
}

/// Longest text said, minuted or voted on in a room.
pub const MAX_TEXT: usize = 2000;
const MAX_OPTIONS: usize = 20;

/// What is said and written in a room, and what a vote asks.
const SAID: Field = Field::body("text", MAX_TEXT);
const MINUTES: Field = Field::body("minutes", MAX_TEXT);
const STATEMENT: Field = Field::body("statement", MAX_TEXT);
const DECISION: Field = Field::body("decision", MAX_TEXT);
const FOLLOW_UP: Field = Field::line("follow-up item", MAX_TEXT);
const TERMS: Field = Field::body("terms", MAX_TEXT);
const REFERRAL: Field = Field::body("referral", MAX_TEXT);
const QUESTION: Field = Field::line("question", MAX_TEXT);
const OPTION: Field = Field::line("option", MAX_TEXT);

pub(super) fn text(raw: &str, field: &Field) -> Result<String, RoomRefusal> {
    Ok(Text::parse(raw, field)?.into_string())
}

/// Whether the actor may know of the meeting and read it: those who run it always, and once it
/// is published those it is for. (Admins run public meetings: see `standing`.)
pub fn may_see(actor: &RoomActor, state: MeetingState) -> bool {
    actor.chair || actor.secretary || (actor.eligible && state != MeetingState::Draft)
}

/// Whether the actor may come into the room now (subscribe to its channel).
pub fn may_enter(room: &Room, actor: &RoomActor) -> Result<(), RoomRefusal> {
    if !(actor.eligible || actor.chair || actor.secretary) {
        return Err(RoomRefusal::NotAllowed);
    }
    if room.removed.contains(&actor.id) {
        return Err(RoomRefusal::Removed);
    }
    // A draft is the chair's (and secretary's) until it is published.
    if room.state == MeetingState::Draft && !(actor.chair || actor.secretary) {
        return Err(RoomRefusal::NotAllowed);
    }
    if room.locked && !actor.chair && !room.admitted.contains(&actor.id) {
        return Err(RoomRefusal::Locked);
    }
    Ok(())
}

/// The log entries an action adds, or why it is refused. A refused action adds nothing.
///
/// Whether the actor may be in the room at all is asked first; then each group of actions
/// checks the role, the meeting's state and the fields, in that order (PROTOCOL.md 11.2).
pub fn decide(
    room: &Room,
    actor: &RoomActor,
    action: &RoomAction,
) -> Result<Vec<RoomEvent>, RoomRefusal> {
    use RoomAction as A;
    may_enter(room, actor).map_err(|e| {
        if actor.chair {
            RoomRefusal::NotChair
        } else {
            e
        }
    })?;
    match action {
        A::Publish | A::Cancel | A::Start | A::End => lifecycle(room, actor, action),
        A::Lock
        | A::Unlock
        | A::SetMode { .. }
        | A::Mute { .. }
        | A::Unmute { .. }
        | A::Remove { .. }
        | A::Readmit { .. }
        | A::SetAgendaItem { .. } => chairing(room, actor, action),
        A::RaiseHand
        | A::LowerHand
        | A::GiveFloor { .. }
        | A::TakeFloor
        | A::Say { .. }
        | A::React { .. } => floor(room, actor, action),
        A::OpenVote { .. } | A::CastVote { .. } | A::CloseVote { .. } => votes(room, actor, action),
        A::AppendMinutes { .. } | A::PublishMinutes { .. } | A::PublishDecision { .. } => {
            records(room, actor, action)
        }
        A::ProposeAgreement { .. }
        | A::ConfirmAgreement
        | A::RecordFailure { .. }
        | A::Statement { .. } => mediation(room, actor, action),
    }
}

fn chair_only(actor: &RoomActor) -> Result<(), RoomRefusal> {
    if actor.chair {
        Ok(())
    } else {
        Err(RoomRefusal::NotChair)
    }
}

/// The chair and the secretary keep the minutes.
fn minute_taker(actor: &RoomActor) -> Result<(), RoomRefusal> {
    if actor.chair || actor.secretary {
        Ok(())
    } else {
        Err(RoomRefusal::NotChair)
    }
}

fn live(room: &Room) -> Result<(), RoomRefusal> {
    if room.state == MeetingState::Live {
        Ok(())
    } else {
        Err(RoomRefusal::WrongState(room.state))
    }
}

fn not_the_chair(room: &Room, who: &AccountId) -> Result<(), RoomRefusal> {
    if *who == room.chair {
        Err(RoomRefusal::Invalid("the chair cannot be muted or removed"))
    } else {
        Ok(())
    }
}

/// `decide` hands each group only its own actions.
fn not_in_group(action: &RoomAction) -> ! {
    unreachable!("{action:?} was handed to the wrong group")
}

/// The meeting's way from draft to its end: the chair's alone.
fn lifecycle(
    room: &Room,
    actor: &RoomActor,
    action: &RoomAction,
) -> Result<Vec<RoomEvent>, RoomRefusal> {
    use MeetingState::*;
    use RoomAction as A;
    use RoomEvent as E;
    chair_only(actor)?;
    Ok(match (action, room.state) {
        (A::Publish, Draft) => vec![E::Published],
        (A::Cancel, Draft | Published) => vec![E::Cancelled],
        (A::Start, Published) => vec![E::Started],
        (A::End, Live) => {
            // Open votes close first, each with its own entry, so their results go out.
            let mut events: Vec<RoomEvent> = room
                .votes
                .iter()
                .filter(|v| v.open)
                .map(|v| E::VoteClosed { vote: v.id })
                .collect();
            events.push(E::Ended);
            events
        }
        (A::Publish | A::Cancel | A::Start | A::End, s) => return Err(RoomRefusal::WrongState(s)),
        _ => not_in_group(action),
    })
}

/// What the chair does to the room and the people in it while it is live (readmitting also
/// after the end).
fn chairing(
    room: &Room,
    actor: &RoomActor,
    action: &RoomAction,
) -> Result<Vec<RoomEvent>, RoomRefusal> {
    use RoomAction as A;
    use RoomEvent as E;
    chair_only(actor)?;
    if !matches!(action, A::Readmit { .. }) {
        live(room)?;
    }
    Ok(vec![match action {
        A::Lock => E::Locked,
        A::Unlock => E::Unlocked,
        A::SetMode { mode } => E::ModeSet { mode: *mode },
        A::Mute { who } => {
            not_the_chair(room, who)?;
            if room.muted.contains(who) {
                return Err(RoomRefusal::Invalid("already muted"));
            }
            E::Muted { who: *who }
        }
        A::Unmute { who } => {
            if !room.muted.contains(who) {
                return Err(RoomRefusal::Invalid("not muted"));
            }
            E::Unmuted { who: *who }
        }
        A::Remove { who } => {
            not_the_chair(room, who)?;
            if room.removed.contains(who) {
                return Err(RoomRefusal::Invalid("already removed"));
            }
            E::Removed { who: *who }
        }
        A::Readmit { who } => {
            if !room.removed.contains(who) {
                return Err(RoomRefusal::Invalid("not removed"));
            }
            E::Readmitted { who: *who }
        }
        A::SetAgendaItem { index } => {
            if *index >= room.agenda_len {
                return Err(RoomRefusal::Invalid("no such agenda item"));
            }
            E::AgendaItemSet { index: *index }
        }
        _ => not_in_group(action),
    }])
}

/// Hands, the floor and what people say in a live room.
fn floor(
    room: &Room,
    actor: &RoomActor,
    action: &RoomAction,
) -> Result<Vec<RoomEvent>, RoomRefusal> {
    use RoomAction as A;
    use RoomEvent as E;
    Ok(vec![match action {
        A::RaiseHand => {
            live(room)?;
            if room.hands.contains(&actor.id) || room.floor == Some(actor.id) {
                return Err(RoomRefusal::Invalid("your hand is already up"));
            }
            E::HandRaised { who: actor.id }
        }
        A::LowerHand => {
            live(room)?;
            if !room.hands.contains(&actor.id) {
                return Err(RoomRefusal::Invalid("your hand is not up"));
            }
            E::HandLowered { who: actor.id }
        }
        A::GiveFloor { to } => {
            chair_only(actor)?;
            live(room)?;
            let to = to
                .or_else(|| room.hands.first().copied())
                .ok_or(RoomRefusal::Invalid("no hand is raised"))?;
            if room.removed.contains(&to) {
                return Err(RoomRefusal::Invalid("that person was removed"));
            }
            E::FloorGiven { to }
        }
        A::TakeFloor => {
            if !(actor.chair || room.floor == Some(actor.id)) {
                return Err(RoomRefusal::NotChair);
            }
            live(room)?;
            if room.floor.is_none() {
                return Err(RoomRefusal::Invalid("nobody holds the floor"));
            }
            E::FloorTaken
        }
        A::Say { text: body } => {
            live(room)?;
            speak(room, actor)?;
            E::Said {
                who: actor.id,
                text: text(body, &SAID)?,
            }
        }
        A::React { emoji } => {
            live(room)?;
            if room.muted.contains(&actor.id) {
                return Err(RoomRefusal::Muted);
            }
            let e = emoji.trim();
            if e.is_empty() || e.chars().count() > 8 || e.chars().any(char::is_control) {
                return Err(RoomRefusal::Invalid("a reaction is one emoji"));
            }
            E::Reacted {
                who: actor.id,
                emoji: e.to_owned(),
            }
        }
        _ => not_in_group(action),
    }])
}

/// Opening, casting and closing votes.
fn votes(
    room: &Room,
    actor: &RoomActor,
    action: &RoomAction,
) -> Result<Vec<RoomEvent>, RoomRefusal> {
    use RoomAction as A;
    use RoomEvent as E;
    let open_vote = |id: &u32| {
        let v = room.vote(*id).ok_or(RoomRefusal::Invalid("no such vote"))?;
        if v.open {
            Ok(v)
        } else {
            Err(RoomRefusal::Invalid("the vote is closed"))
        }
    };
    Ok(vec![match action {
        A::OpenVote { vote } => {
            chair_only(actor)?;
            live(room)?;
            E::VoteOpened {
                vote: new_vote(room, vote)?,
            }
        }
        A::CastVote { vote, choices } => {
            live(room)?;
            let v = open_vote(vote)?;
            valid_choices(v, choices)?;
            E::VoteCast {
                vote: *vote,
                voter: (!v.anonymous).then_some(actor.id),
            }
        }
        A::CloseVote { vote } => {
            chair_only(actor)?;
            open_vote(vote)?;
            E::VoteClosed { vote: *vote }
        }
        _ => not_in_group(action),
    }])
}

/// The minutes, kept while the meeting runs and after, and a hearing's decision.
fn records(
    room: &Room,
    actor: &RoomActor,
    action: &RoomAction,
) -> Result<Vec<RoomEvent>, RoomRefusal> {
    use MeetingState::*;
    use RoomAction as A;
    use RoomEvent as E;
    Ok(vec![match action {
        A::AppendMinutes { text: body } => {
            minute_taker(actor)?;
            match room.state {
                Live | Ended => E::MinutesAppended {
                    text: text(body, &MINUTES)?,
                },
                s => return Err(RoomRefusal::WrongState(s)),
            }
        }
        A::PublishMinutes { text: body } => {
            minute_taker(actor)?;
            match room.state {
                Ended => E::MinutesPublished {
                    text: text(body, &MINUTES)?,
                },
                s => return Err(RoomRefusal::WrongState(s)),
            }
        }
        A::PublishDecision {
            text: body,
            follow_ups,
        } => {
            chair_only(actor)?;
            if room.kind != MeetingKind::Hearing {
                return Err(RoomRefusal::Invalid("only a hearing publishes a decision"));
            }
            if !matches!(room.state, Ended | Closed) {
                return Err(RoomRefusal::WrongState(room.state));
            }
            if room.decision.is_some() {
                return Err(RoomRefusal::Invalid("the decision is published already"));
            }
            if follow_ups.len() > MAX_OPTIONS {
                return Err(RoomRefusal::Invalid("at most 20 follow-up items"));
            }
            E::DecisionPublished {
                text: text(body, &DECISION)?,
                follow_ups: follow_ups
                    .iter()
                    .map(|f| text(f, &FOLLOW_UP))
                    .collect::<Result<_, _>>()?,
            }
        }
        _ => not_in_group(action),
    }])
}

/// A mediation's statements, and its end in an agreement every party confirms or in a
/// recorded failure.
fn mediation(
    room: &Room,
    actor: &RoomActor,
    action: &RoomAction,
) -> Result<Vec<RoomEvent>, RoomRefusal> {
    use MeetingState::*;
    use RoomAction as A;
    use RoomEvent as E;
    Ok(match action {
        A::ProposeAgreement { terms, deadline } => {
            chair_only(actor)?;
            mediation_open(room)?;
            if *deadline <= 0 {
                return Err(RoomRefusal::Invalid(
                    "the agreement needs a date to carry it out by",
                ));
            }
            vec![E::AgreementProposed {
                terms: text(terms, &TERMS)?,
                deadline: *deadline,
            }]
        }
        A::ConfirmAgreement => {
            // The role before the state and the fields, as everywhere (PROTOCOL.md 11.2).
            if !actor.party {
                return Err(RoomRefusal::NotAllowed);
            }
            mediation_open(room)?;
            let agreement = room
                .agreement
                .as_ref()
                .ok_or(RoomRefusal::Invalid("no agreement is proposed"))?;
            if agreement.confirmed.contains(&actor.id) {
                return Err(RoomRefusal::Invalid("you have confirmed it already"));
            }
            let mut events = vec![E::AgreementConfirmed { who: actor.id }];
            let everyone = room
                .parties
                .iter()
                .all(|p| *p == actor.id || agreement.confirmed.contains(p));
            if everyone {
                events.push(E::AgreementReached);
            }
            events
        }
        A::RecordFailure {
            referral,
            follow_up,
        } => {
            chair_only(actor)?;
            mediation_open(room)?;
            vec![E::MediationFailed {
                referral: text(referral, &REFERRAL)?,
                follow_up: *follow_up,
            }]
        }
        A::Statement { text: body } => {
            if !(actor.party || actor.mediator || actor.chair) {
                return Err(RoomRefusal::NotAllowed);
            }
            if room.kind != MeetingKind::Mediation {
                return Err(RoomRefusal::Invalid("statements belong to a mediation"));
            }
            // Statements are gathered before the session, too (the investigation).
            if !matches!(room.state, Published | Live) || room.outcome.is_some() {
                return Err(RoomRefusal::WrongState(room.state));
            }
            vec![E::StatementMade {
                who: actor.id,
                text: text(body, &STATEMENT)?,
            }]
        }
        _ => not_in_group(action),
    })
}

/// A mediation still looking for its outcome, in session or just after.
fn mediation_open(room: &Room) -> Result<(), RoomRefusal> {
    if room.kind != MeetingKind::Mediation {
        return Err(RoomRefusal::Invalid(
            "only a mediation ends in an agreement",
        ));
    }
    if !matches!(room.state, MeetingState::Live | MeetingState::Ended) {
        return Err(RoomRefusal::WrongState(room.state));
    }
    if room.outcome.is_some() {
        return Err(RoomRefusal::Invalid(
            "the mediation has its outcome already",
        ));
    }
    Ok(())
}

/// Whether the actor may post now: not muted, and holding the floor when the room is in
/// floor-only mode (the chair always may).
fn speak(room: &Room, actor: &RoomActor) -> Result<(), RoomRefusal> {
    if actor.chair {
        return Ok(());
    }
    if room.muted.contains(&actor.id) {
        return Err(RoomRefusal::Muted);
    }
    if room.mode == RoomMode::FloorOnly && room.floor != Some(actor.id) {
        return Err(RoomRefusal::NotYourFloor);
    }
    Ok(())
}

fn new_vote(room: &Room, vote: &NewVote) -> Result<Vote, RoomRefusal> {
    let question = text(&vote.question, &QUESTION)?;
    let options: Vec<String> = vote
        .options
        .iter()
        .map(|o| text(o, &OPTION))
        .collect::<Result<_, _>>()?;
    if options.len() < 2 || options.len() > MAX_OPTIONS {
        return Err(RoomRefusal::Invalid("a vote has 2 to 20 options"));
    }
    let distinct: BTreeSet<&String> = options.iter().collect();
    if distinct.len() != options.len() {
        return Err(RoomRefusal::Invalid("options must differ"));
    }
    Ok(Vote {
        id: room.votes.len() as u32 + 1,
        question,
        options,
        multiple: vote.multiple,
        anonymous: vote.anonymous,
        hide_results: vote.hide_results,
        open: true,
    })
}

pub fn valid_choices(vote: &Vote, choices: &[u32]) -> Result<(), RoomRefusal> {
    let distinct: BTreeSet<&u32> = choices.iter().collect();
    if choices.is_empty() || distinct.len() != choices.len() {
        return Err(RoomRefusal::Invalid(
            "choose at least one option, each once",
        ));
    }
    if !vote.multiple && choices.len() != 1 {
        return Err(RoomRefusal::Invalid("choose exactly one option"));
    }
    if choices.iter().any(|&c| c as usize >= vote.options.len()) {
        return Err(RoomRefusal::Invalid("no such option"));
    }
    Ok(())
}

/// A tally: ballots per option, from the stored ballots' choices.
pub fn tally(vote: &Vote, ballots: &[Vec<u32>]) -> Vec<u32> {
    let mut counts = vec![0u32; vote.options.len()];
    for ballot in ballots {
        for &choice in ballot {
            if let Some(c) = counts.get_mut(choice as usize) {
                *c += 1;
            }
        }
    }
    counts
}

#[cfg(test)]
mod tests;
