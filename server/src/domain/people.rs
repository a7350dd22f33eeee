//! Enrolling people: who may invite whom to which role where, who takes issues at a place (the
//! staff directory), who may search people and who reads their phone numbers in full, and where
//! an invite stands. Pure functions of the actor's grants and the places involved.

pub mod import;
#[cfg(test)]
mod tests;

use super::access::{Actor, Grant};
use super::places::PlacePath;
use super::roles::place_kind_for;
use hehe_protocol::people::InviteState;
use hehe_protocol::{AccountId, PlaceId, Role};

/// Why an invite (or an imported person) is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InviteRefusal {
    #[error(
        "该角色不能设在这一级地点（楼道长在楼栋，网格员在网格，社区干部和居民在社区，街道负责人在街道）。\
         The role does not go with that kind of place (a building lead is for a building, a grid \
         worker for a grid, officials and residents for a community, a street chief for a street)."
    )]
    WrongPlace,
    #[error(
        "您不能邀请这一角色到这个地点：只能邀请低于自己角色的人，且限于自己负责的范围。\
         You may not invite that role there: only roles below your own, within your own place."
    )]
    NotAllowed,
}

/// Whether `actor` may invite someone to `role` at `place` (none for ops and admin), or manage
/// such an invite (list, revoke). An admin invites anyone anywhere; a street chief community
/// officials, grid workers, building leads and residents within his street; a community official
/// grid workers, building leads and residents within his community. Nobody else invites, and
/// nobody but an admin invites ops or admin.
pub fn may_invite(
    actor: &Actor,
    role: Role,
    place: Option<&PlacePath>,
) -> Result<(), InviteRefusal> {
    if place_kind_for(role) != place.map(PlacePath::kind) {
        return Err(InviteRefusal::WrongPlace);
    }
    if actor.has_role(Role::Admin) {
        return Ok(());
    }
    let Some(place) = place else {
        return Err(InviteRefusal::NotAllowed);
    };
    let allowed = actor.grants.iter().any(|g| {
        let below = match g.role {
            Role::StreetChief => role < Role::StreetChief,
            Role::CommunityOfficial => role < Role::CommunityOfficial,
            _ => false,
        };
        below && g.scope.is_some_and(|s| s.contains(place))
    });
    if allowed {
        Ok(())
    } else {
        Err(InviteRefusal::NotAllowed)
    }
}

/// Whether `actor` invites anyone anywhere: admins, street chiefs and community officials.
pub fn invites_somewhere(actor: &Actor) -> bool {
    actor.grants.iter().any(|g| {
        matches!(
            g.role,
            Role::Admin | Role::StreetChief | Role::CommunityOfficial
        )
    })
}

/// The place a role is held at, for a person placed at `given` (an imported line names the
/// building a resident lives in, or the grid a worker serves): `given` itself or the place
/// above it of the role's kind. A place above that kind is refused, not guessed.
pub fn place_of_role(role: Role, given: &PlacePath) -> Result<PlaceId, InviteRefusal> {
    use hehe_protocol::http::PlaceKind;
    let Some(kind) = place_kind_for(role) else {
        return Err(InviteRefusal::WrongPlace);
    };
    // Comparisons rather than a match: the tree may gain levels, and each of these stays true.
    let level = if kind == PlaceKind::Street {
        Some(given.street)
    } else if kind == PlaceKind::Community {
        given.community
    } else if kind == PlaceKind::Grid {
        given.grid
    } else if kind == PlaceKind::Building {
        given.building
    } else {
        None
    };
    level.ok_or(InviteRefusal::WrongPlace)
}

/// The roles that take issues: they are the staff directory.
fn takes_issues(role: Role) -> bool {
    matches!(
        role,
        Role::GridWorker | Role::CommunityOfficial | Role::StreetChief
    )
}

/// Whether a grant makes its holder one who may take an issue at `place`: the rule of
/// `issue::can_be_assigned` for an issue there, at the level it starts at. A grid worker of any
/// grid of the place's community, its officials and its street's chief; for a street, every
/// such grant in it.
pub fn takes_issues_at(grant: &Grant, place: &PlacePath) -> bool {
    let area = place
        .community_path()
        .unwrap_or_else(|| place.street_path());
    takes_issues(grant.role) && grant.scope.is_some_and(|s| s.on_one_line(&area))
}

/// Whether `actor` may read the staff directory of `place`: admins, and staff whose place is on
/// one line with it (their own grid, community or street, what lies above and under it).
pub fn may_see_staff(actor: &Actor, place: &PlacePath) -> bool {
    actor.has_role(Role::Admin)
        || actor
            .grants
            .iter()
            .any(|g| takes_issues(g.role) && g.scope.is_some_and(|s| s.on_one_line(place)))
}

/// Whether `actor` may search people at all: admins and staff.
pub fn may_search_people(actor: &Actor) -> bool {
    actor.has_role(Role::Admin) || actor.grants.iter().any(|g| takes_issues(g.role))
}

/// Whether `actor` finds, in the people search, a person holding grants at `places`: admins
/// everyone; staff those placed on one line with their own place (a grid worker finds the
/// residents of his community and his officials); everyone themselves.
pub fn may_find_person(actor: &Actor, person: AccountId, places: &[PlacePath]) -> bool {
    actor.id == person
        || actor.has_role(Role::Admin)
        || actor.grants.iter().any(|g| {
            takes_issues(g.role)
                && g.scope
                    .is_some_and(|s| places.iter().any(|p| s.on_one_line(p)))
        })
}

/// Whether `actor` reads the phone number of a person holding grants at `places` in full: the
/// person, admins and staff over one of the person's places. Anyone else sees it masked.
pub fn sees_full_phone(actor: &Actor, person: AccountId, places: &[PlacePath]) -> bool {
    actor.id == person
        || actor.has_role(Role::Admin)
        || actor.grants.iter().any(|g| {
            takes_issues(g.role)
                && g.scope
                    .is_some_and(|s| places.iter().any(|p| s.contains(p)))
        })
}

/// Where an invite stands at `now`. Accepted and revoked are final; a pending invite expires.
pub fn invite_state(
    accepted_at: Option<i64>,
    revoked_at: Option<i64>,
    expires_at: i64,
    now: i64,
) -> InviteState {
    if accepted_at.is_some() {
        InviteState::Accepted
    } else if revoked_at.is_some() {
        InviteState::Revoked
    } else if now >= expires_at {
        InviteState::Expired
    } else {
        InviteState::Pending
    }
}

/// An email address, as stored: trimmed and lowercase, one `@` between a local part and a
/// domain with a dot, no spaces. Deliverability is the mail server's to judge.
pub fn email(raw: &str) -> Result<String, EmailError> {
    let email = raw.trim().to_lowercase();
    let well_formed = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if well_formed {
        Ok(email)
    } else {
        Err(EmailError)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("这不是有效的电子邮箱地址，请检查后重填。This is not a valid email address: check it.")]
pub struct EmailError;
