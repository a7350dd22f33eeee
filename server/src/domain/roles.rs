//! Who may give and take away roles, look accounts up, disable them and read the audit log:
//! pure functions of the actor's grants and the places involved.

use super::access::Actor;
use super::places::PlacePath;
use hehe_protocol::http::PlaceKind;
use hehe_protocol::{PlaceId, Role};

/// The kind of place a role is granted for; `None` for ops and admin, which hold no place.
pub fn place_kind_for(role: Role) -> Option<PlaceKind> {
    match role {
        Role::Resident | Role::CommunityOfficial => Some(PlaceKind::Community),
        Role::BuildingLead => Some(PlaceKind::Building),
        Role::GridWorker => Some(PlaceKind::Grid),
        Role::StreetChief => Some(PlaceKind::Street),
        Role::Ops | Role::Admin => None,
    }
}

/// Why a grant change is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantRefusal {
    /// The role does not go with that place (or needs one, or takes none).
    WrongPlace,
    /// The actor may not give or take away that role there.
    NotAllowed,
}

/// Whether `actor` may grant (or take away) `role` at `place`. An admin may do anything; a
/// street chief may hand out the roles below his own for places in his street; nobody but an
/// admin gives ops or admin.
pub fn may_change_grant(
    actor: &Actor,
    role: Role,
    place: Option<&PlacePath>,
) -> Result<(), GrantRefusal> {
    if place_kind_for(role) != place.map(PlacePath::kind) {
        return Err(GrantRefusal::WrongPlace);
    }
    if actor.has_role(Role::Admin) {
        return Ok(());
    }
    let Some(place) = place else {
        return Err(GrantRefusal::NotAllowed);
    };
    let below_chief = role < Role::StreetChief;
    let chief_here = actor
        .grants
        .iter()
        .any(|g| g.role == Role::StreetChief && g.scope.is_some_and(|s| s.contains(place)));
    if below_chief && chief_here {
        Ok(())
    } else {
        Err(GrantRefusal::NotAllowed)
    }
}

/// Whether `actor` may see an account (its username, name, grants) holding grants at `places`:
/// an admin always; staff (grid workers, officials, street chiefs) when one of its places lies
/// within their scope, so that they can find whom to dispatch to or appoint.
pub fn may_view_account(actor: &Actor, places: &[PlacePath]) -> bool {
    if actor.has_role(Role::Admin) {
        return true;
    }
    actor.grants.iter().any(|g| {
        matches!(
            g.role,
            Role::GridWorker | Role::CommunityOfficial | Role::StreetChief
        ) && g
            .scope
            .is_some_and(|scope| places.iter().any(|p| scope.contains(p)))
    })
}

/// Only an admin disables or enables accounts.
pub fn may_disable(actor: &Actor) -> bool {
    actor.has_role(Role::Admin)
}

/// Which part of the audit log an actor may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditScope {
    All,
    /// The entries about places in these streets.
    Streets(Vec<PlaceId>),
    Nothing,
}

/// Admins read the whole audit log; a street chief reads what happened in his streets.
pub fn audit_scope(actor: &Actor) -> AuditScope {
    if actor.has_role(Role::Admin) {
        return AuditScope::All;
    }
    let streets: Vec<PlaceId> = actor
        .grants
        .iter()
        .filter(|g| g.role == Role::StreetChief)
        .filter_map(|g| g.scope.map(|s| s.street))
        .collect();
    if streets.is_empty() {
        AuditScope::Nothing
    } else {
        AuditScope::Streets(streets)
    }
}

#[cfg(test)]
mod tests {
    //! Every role as actor × every role to grant × places in and out of the actor's street.

    use super::*;
    use crate::domain::access::Grant;
    use crate::domain::fixtures::{actor, building, community, grid, street};
    use hehe_protocol::AccountId;

    /// The place of the right kind for `role`, in street `s`.
    fn place_for(role: Role, s: i64) -> Option<PlacePath> {
        place_kind_for(role).map(|kind| match kind {
            PlaceKind::Street => street(s),
            PlaceKind::Community => community(s, s * 10),
            PlaceKind::Compound => unreachable!("no role is granted for a compound"),
            PlaceKind::Grid => grid(s, s * 10, s * 100),
            PlaceKind::Building => building(s, s * 10, s * 100, s * 1000),
        })
    }

    #[test]
    fn the_whole_grant_matrix() {
        use GrantRefusal::NotAllowed;
        for who in Role::ALL {
            let a = actor(who);
            for role in Role::ALL {
                let own = place_for(role, 1);
                let other = place_for(role, 2);
                let expect_own = match who {
                    Role::Admin => Ok(()),
                    Role::StreetChief if role < Role::StreetChief => Ok(()),
                    _ => Err(NotAllowed),
                };
                let expect_other = match who {
                    Role::Admin => Ok(()),
                    _ => Err(NotAllowed),
                };
                assert_eq!(
                    may_change_grant(&a, role, own.as_ref()),
                    expect_own,
                    "{who} grants {role} in own street"
                );
                assert_eq!(
                    may_change_grant(&a, role, other.as_ref()),
                    expect_other,
                    "{who} grants {role} in another street"
                );
            }
        }
    }

    #[test]
    fn roles_go_with_their_kind_of_place_only() {
        let admin = actor(Role::Admin);
        let places = [
            None,
            Some(street(1)),
            Some(community(1, 10)),
            Some(grid(1, 10, 100)),
            Some(building(1, 10, 100, 1000)),
        ];
        for role in Role::ALL {
            for place in &places {
                let fits = place_kind_for(role) == place.map(|p| p.kind());
                let got = may_change_grant(&admin, role, place.as_ref());
                assert_eq!(got.is_ok(), fits, "{role} at {place:?}");
                if !fits {
                    assert_eq!(got, Err(GrantRefusal::WrongPlace));
                }
            }
        }
    }

    #[test]
    fn a_chief_of_two_streets_acts_in_both_and_a_community_official_in_none() {
        let chief = Actor {
            id: AccountId(1),
            grants: vec![
                Grant {
                    role: Role::StreetChief,
                    scope: Some(street(1)),
                },
                Grant {
                    role: Role::StreetChief,
                    scope: Some(street(2)),
                },
            ],
        };
        let g = grid(2, 20, 200);
        assert_eq!(may_change_grant(&chief, Role::GridWorker, Some(&g)), Ok(()));
        let official = actor(Role::CommunityOfficial);
        let here = grid(1, 10, 100);
        assert_eq!(
            may_change_grant(&official, Role::GridWorker, Some(&here)),
            Err(GrantRefusal::NotAllowed)
        );
    }

    #[test]
    fn who_sees_an_account() {
        let in_my_grid = [building(1, 10, 100, 1000)];
        let next_community = [community(1, 11)];
        let other_street = [community(2, 20)];
        let none: [PlacePath; 0] = [];
        for who in Role::ALL {
            let a = actor(who);
            let (mine, next, other, bare) = match who {
                Role::Admin => (true, true, true, true),
                Role::StreetChief => (true, true, false, false),
                Role::CommunityOfficial | Role::GridWorker => (true, false, false, false),
                _ => (false, false, false, false),
            };
            assert_eq!(may_view_account(&a, &in_my_grid), mine, "{who} mine");
            assert_eq!(may_view_account(&a, &next_community), next, "{who} next");
            assert_eq!(may_view_account(&a, &other_street), other, "{who} other");
            assert_eq!(may_view_account(&a, &none), bare, "{who} no grants");
        }
    }

    #[test]
    fn disabling_and_the_audit_log() {
        for who in Role::ALL {
            let a = actor(who);
            assert_eq!(may_disable(&a), who == Role::Admin, "{who}");
            let expected = match who {
                Role::Admin => AuditScope::All,
                Role::StreetChief => AuditScope::Streets(vec![PlaceId(1)]),
                _ => AuditScope::Nothing,
            };
            assert_eq!(audit_scope(&a), expected, "{who}");
        }
    }
}
