//! Who decides where a resident lives, who sees the requests, and who may hand an account a
//! one-time reset code: pure functions of the actor's grants and the places involved.

use super::access::Actor;
use super::places::PlacePath;
use super::text::{Field, Text, TextError};
use hehe_protocol::Role;
use hehe_protocol::credentials::ResidencyState;
use hehe_protocol::http::PlaceKind;

/// The reason given with a refusal, shown to the applicant.
pub const REASON: Field = Field::line("reason", 500);

/// Why a residency request or a reset code is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResidencyRefusal {
    #[error(
        "请选择一栋楼（而不是街道、社区或网格）。Choose a building, not a street, community or grid."
    )]
    NotABuilding,
    #[error("该申请已处理过（{0}），无需再处理。This request was decided already ({0}).")]
    Decided(&'static str),
    #[error(
        "请写明拒绝理由，告诉申请人下一步怎么做。Give a reason, telling the applicant what to do next."
    )]
    NoReason,
    #[error(
        "您已有一份待审核的入住申请，请等待处理。You have a request waiting already: wait for its decision."
    )]
    Pending,
    #[error(transparent)]
    Reason(TextError),
}

/// The roles that decide for a building's community: its officials and its street's chief.
fn decides(role: Role) -> bool {
    matches!(role, Role::CommunityOfficial | Role::StreetChief)
}

/// Whether `actor` may approve or refuse a request to live at `building`: an admin, an official
/// of its community, the chief of its street.
pub fn may_decide(actor: &Actor, building: &PlacePath) -> bool {
    actor.has_role(Role::Admin)
        || actor
            .grants
            .iter()
            .any(|g| decides(g.role) && g.scope.is_some_and(|s| s.contains(building)))
}

/// Whether `actor` sees the requests made for places at or under `place` (and the staff-only
/// events of a community's home channel): the same people who decide them.
pub fn sees_requests(actor: &Actor, place: &PlacePath) -> bool {
    may_decide(actor, place)
}

/// Whether `actor` decides anywhere at all (may list requests without naming a place).
pub fn decides_somewhere(actor: &Actor) -> bool {
    actor.has_role(Role::Admin) || actor.grants.iter().any(|g| decides(g.role))
}

/// A request may be made for buildings only: the resident role then goes with the building's
/// community, as `roles::place_kind_for` says.
pub fn check_building(place: &PlacePath) -> Result<(), ResidencyRefusal> {
    if place.kind() == PlaceKind::Building {
        Ok(())
    } else {
        Err(ResidencyRefusal::NotABuilding)
    }
}

/// A request is decided once, from pending.
pub fn check_pending(state: ResidencyState) -> Result<(), ResidencyRefusal> {
    match state {
        ResidencyState::Pending => Ok(()),
        decided => Err(ResidencyRefusal::Decided(decided.as_str())),
    }
}

/// The reason of a refusal: required, one line.
pub fn reason(raw: &str) -> Result<Text, ResidencyRefusal> {
    if raw.trim().is_empty() {
        return Err(ResidencyRefusal::NoReason);
    }
    Text::parse(raw, &REASON).map_err(ResidencyRefusal::Reason)
}

/// Whether `actor` may make a one-time reset code for an account holding `target` grants
/// (role and place, none for ops and admin). An admin may for anyone. An official or a street
/// chief may when the account holds at least one grant and each of its grants is of a role
/// below one of his and lies within that grant's place: taking over an account of equal or
/// higher standing, or one outside his place, would be a way round the role rules.
pub fn may_make_reset_code(actor: &Actor, target: &[(Role, Option<PlacePath>)]) -> bool {
    if actor.has_role(Role::Admin) {
        return true;
    }
    !target.is_empty()
        && target.iter().all(|(role, place)| {
            let Some(place) = place else {
                return false;
            };
            actor.grants.iter().any(|g| {
                decides(g.role) && g.role > *role && g.scope.is_some_and(|s| s.contains(place))
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::fixtures::{actor, building, community, grid, street};
    use hehe_protocol::AccountId;

    // Columns: resident, building lead, grid worker, community official, street chief, ops, admin.
    #[test]
    fn who_decides_a_building() {
        let table = [
            (
                "own community",
                building(1, 10, 101, 1010),
                [0, 0, 0, 1, 1, 0, 1],
            ),
            (
                "other community",
                building(1, 11, 110, 1100),
                [0, 0, 0, 0, 1, 0, 1],
            ),
            (
                "other street",
                building(2, 20, 200, 2000),
                [0, 0, 0, 0, 0, 0, 1],
            ),
        ];
        for (name, place, expected) in table {
            for (role, want) in Role::ALL.into_iter().zip(expected) {
                assert_eq!(
                    may_decide(&actor(role), &place),
                    want == 1,
                    "{role} on {name}"
                );
                assert_eq!(
                    sees_requests(&actor(role), &place),
                    want == 1,
                    "{role} on {name}"
                );
            }
        }
        let nobody = Actor {
            id: AccountId(7),
            grants: vec![],
        };
        assert!(!may_decide(&nobody, &building(1, 10, 100, 1000)));
        let deciders: Vec<bool> = Role::ALL
            .into_iter()
            .map(|r| decides_somewhere(&actor(r)))
            .collect();
        assert_eq!(deciders, [false, false, false, true, true, false, true]);
    }

    #[test]
    fn requests_are_for_buildings_and_decided_once() {
        assert!(check_building(&building(1, 10, 100, 1000)).is_ok());
        for place in [street(1), community(1, 10), grid(1, 10, 100)] {
            assert_eq!(check_building(&place), Err(ResidencyRefusal::NotABuilding));
        }
        assert!(check_pending(ResidencyState::Pending).is_ok());
        assert_eq!(
            check_pending(ResidencyState::Approved),
            Err(ResidencyRefusal::Decided("approved"))
        );
        assert_eq!(
            check_pending(ResidencyState::Refused),
            Err(ResidencyRefusal::Decided("refused"))
        );
    }

    #[test]
    fn a_refusal_needs_a_one_line_reason() {
        assert_eq!(reason("  "), Err(ResidencyRefusal::NoReason));
        assert_eq!(
            reason(" 请提供租房合同 ").unwrap().as_str(),
            "请提供租房合同"
        );
        assert!(matches!(reason("a\nb"), Err(ResidencyRefusal::Reason(_))));
        assert!(matches!(
            reason(&"x".repeat(501)),
            Err(ResidencyRefusal::Reason(_))
        ));
    }

    #[test]
    fn who_may_make_a_reset_code() {
        let resident_here = vec![(Role::Resident, Some(community(1, 10)))];
        let resident_next_door = vec![(Role::Resident, Some(community(1, 11)))];
        let resident_far = vec![(Role::Resident, Some(community(2, 20)))];
        let worker_here = vec![(Role::GridWorker, Some(grid(1, 10, 100)))];
        let official_here = vec![(Role::CommunityOfficial, Some(community(1, 10)))];
        let chief = vec![(Role::StreetChief, Some(street(1)))];
        let admin = vec![(Role::Admin, None)];
        let mixed = vec![
            (Role::Resident, Some(community(1, 10))),
            (Role::Resident, Some(community(2, 20))),
        ];
        let none: Vec<(Role, Option<PlacePath>)> = vec![];
        // Columns: resident, building lead, grid worker, community official, street chief, ops, admin.
        let table = [
            ("resident here", &resident_here, [0, 0, 0, 1, 1, 0, 1]),
            (
                "resident next door",
                &resident_next_door,
                [0, 0, 0, 0, 1, 0, 1],
            ),
            (
                "resident of another street",
                &resident_far,
                [0, 0, 0, 0, 0, 0, 1],
            ),
            ("grid worker here", &worker_here, [0, 0, 0, 1, 1, 0, 1]),
            ("official here", &official_here, [0, 0, 0, 0, 1, 0, 1]),
            ("the street chief", &chief, [0, 0, 0, 0, 0, 0, 1]),
            ("an admin", &admin, [0, 0, 0, 0, 0, 0, 1]),
            ("a resident of two streets", &mixed, [0, 0, 0, 0, 0, 0, 1]),
            ("no grants", &none, [0, 0, 0, 0, 0, 0, 1]),
        ];
        for (name, target, expected) in table {
            for (role, want) in Role::ALL.into_iter().zip(expected) {
                assert_eq!(
                    may_make_reset_code(&actor(role), target),
                    want == 1,
                    "{role} for {name}"
                );
            }
        }
    }
}
