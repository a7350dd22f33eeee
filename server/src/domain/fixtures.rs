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
