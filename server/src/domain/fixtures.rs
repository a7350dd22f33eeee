//! Places for the rules' tests, written as the ids they are built of.

use super::places::PlacePath;
use hehe_protocol::PlaceId;

pub fn street(s: i64) -> PlacePath {
    PlacePath::street(PlaceId(s))
}

pub fn community(s: i64, c: i64) -> PlacePath {
    PlacePath::community(PlaceId(s), PlaceId(c))
}

pub fn grid(s: i64, c: i64, g: i64) -> PlacePath {
    PlacePath::grid(PlaceId(s), PlaceId(c), PlaceId(g))
}

pub fn building(s: i64, c: i64, g: i64, b: i64) -> PlacePath {
    PlacePath::building(PlaceId(s), PlaceId(c), PlaceId(g), PlaceId(b))
}

/// The account that acts in the rules' tests.
pub const ME: hehe_protocol::AccountId = hehe_protocol::AccountId(7);

/// `ME` holding `role` at its own place in street 1: community 10, grid 100, building 1000
/// (ops and admin with no place).
pub fn actor(role: hehe_protocol::Role) -> super::access::Actor {
    use hehe_protocol::Role;
    let scope = match role {
        Role::Resident | Role::CommunityOfficial => Some(community(1, 10)),
        Role::BuildingLead => Some(building(1, 10, 100, 1000)),
        Role::GridWorker => Some(grid(1, 10, 100)),
        Role::StreetChief => Some(street(1)),
        Role::Ops | Role::Admin => None,
    };
    super::access::Actor {
        id: ME,
        grants: vec![super::access::Grant { role, scope }],
    }
}
