//! Calling a meeting, and who stands where in it.

use super::{RoomActor, RoomRefusal, text};
use crate::domain::access::{Actor, ChannelTarget, can_read};
use crate::domain::places::PlacePath;
use crate::domain::text::{Field, Text};
use hehe_protocol::meeting::{MeetingKind, NewMeeting};
use hehe_protocol::{AccountId, PlaceId, Role};

/// A meeting's own texts, as the one who calls it writes them.
const TITLE: Field = Field::line("title", 120);
const DESCRIPTION: Field = Field::body("description", 4000);
const AGENDA_ITEM: Field = Field::line("agenda item", 200);
const MAX_AGENDA: usize = 50;

/// Meetings are held for a community or a street.
pub fn may_be_held_at(place: &PlacePath) -> bool {
    place.grid.is_none()
}

/// Who may call a meeting of a place (a community or a street): its officials, the street's
/// chief, and admins.
pub fn may_create(actor: &Actor, place: &PlacePath) -> bool {
    actor.has_role(Role::Admin)
        || actor.grants.iter().any(|g| {
            matches!(g.role, Role::CommunityOfficial | Role::StreetChief)
                && g.scope.is_some_and(|s| s.contains(place))
        })
}

/// What ties a person to a meeting beyond their roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    Party,
    Mediator,
    Representative,
}

/// The facts of a meeting that decide who stands where in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeetingFacts {
    pub place: PlacePath,
    pub private: bool,
    pub chair: AccountId,
    pub secretary: Option<AccountId>,
}

/// A person's standing in a meeting, or `None` when they may not even know it exists (a private
/// meeting they are not part of). Admins stand in for the chair of public meetings only.
pub fn standing(
    actor: &Actor,
    facts: &MeetingFacts,
    membership: Option<Membership>,
) -> Option<RoomActor> {
    let chair = facts.chair == actor.id || (!facts.private && actor.has_role(Role::Admin));
    let secretary = facts.secretary == Some(actor.id);
    let target = ChannelTarget::Room {
        place: facts.place,
        private: facts.private,
        member: membership.is_some() || chair || secretary,
    };
    let eligible = can_read(actor, &target);
    if facts.private && !eligible {
        return None;
    }
    Some(RoomActor {
        id: actor.id,
        chair,
        secretary,
        party: membership == Some(Membership::Party),
        mediator: membership == Some(Membership::Mediator),
        eligible,
    })
}

/// What a new meeting says of itself, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedMeeting {
    pub title: String,
    /// Empty when left out.
    pub description: String,
    pub agenda: Vec<String>,
}

/// Checks everything about a new meeting that needs no store: its texts, its kind (appraisals
/// are set up apart) and that only a mediation names parties and mediators.
pub fn check_new(new: &NewMeeting) -> Result<CheckedMeeting, RoomRefusal> {
    let title = text(&new.title, &TITLE)?;
    let description = Text::optional(Some(&new.description), &DESCRIPTION)?
        .map_or_else(String::new, Text::into_string);
    if new.agenda.len() > MAX_AGENDA {
        return Err(RoomRefusal::Invalid("at most 50 agenda items"));
    }
    let agenda = new
        .agenda
        .iter()
        .map(|a| text(a, &AGENDA_ITEM))
        .collect::<Result<_, _>>()?;
    if new.kind == MeetingKind::Appraisal {
        return Err(RoomRefusal::Invalid(
            "appraisals are set up with POST /api/appraisals",
        ));
    }
    let has_members = !(new.parties.is_empty() && new.mediators.is_empty());
    if has_members && new.kind != MeetingKind::Mediation {
        return Err(RoomRefusal::Invalid(
            "only a mediation has parties and mediators",
        ));
    }
    Ok(CheckedMeeting {
        title,
        description,
        agenda,
    })
}

/// Whether a new meeting may follow `earlier`: a later round of a hearing, or a later session
/// of a mediation, follows one of the same kind and place.
pub fn may_follow(new: &NewMeeting, earlier_kind: MeetingKind, earlier_place: PlaceId) -> bool {
    matches!(new.kind, MeetingKind::Hearing | MeetingKind::Mediation)
        && earlier_kind == new.kind
        && earlier_place == new.place_id
}

/// A mediation is between two parties at least.
pub fn check_parties(kind: MeetingKind, parties: usize) -> Result<(), RoomRefusal> {
    if kind == MeetingKind::Mediation && parties < 2 {
        return Err(RoomRefusal::Invalid(
            "a mediation needs at least two parties",
        ));
    }
    Ok(())
}
