//! Where a place sits in the tree street → community → grid → building.

use hehe_protocol::PlaceId;
use hehe_protocol::http::PlaceKind;

/// A place given by its ancestors from the street down. A community's path has a street and a
/// community and nothing below; a building's path is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlacePath {
    pub street: PlaceId,
    pub community: Option<PlaceId>,
    pub grid: Option<PlaceId>,
    pub building: Option<PlaceId>,
}

impl PlacePath {
    pub fn street(street: PlaceId) -> Self {
        Self {
            street,
            community: None,
            grid: None,
            building: None,
        }
    }

    pub fn community(street: PlaceId, community: PlaceId) -> Self {
        Self {
            community: Some(community),
            ..Self::street(street)
        }
    }

    pub fn grid(street: PlaceId, community: PlaceId, grid: PlaceId) -> Self {
        Self {
            grid: Some(grid),
            ..Self::community(street, community)
        }
    }

    pub fn building(street: PlaceId, community: PlaceId, grid: PlaceId, building: PlaceId) -> Self {
        Self {
            building: Some(building),
            ..Self::grid(street, community, grid)
        }
    }

    /// The kind of the deepest place on the path.
    pub fn kind(&self) -> PlaceKind {
        if self.building.is_some() {
            PlaceKind::Building
        } else if self.grid.is_some() {
            PlaceKind::Grid
        } else if self.community.is_some() {
            PlaceKind::Community
        } else {
            PlaceKind::Street
        }
    }

    /// The deepest place on the path.
    pub fn leaf(&self) -> PlaceId {
        self.building
            .or(self.grid)
            .or(self.community)
            .unwrap_or(self.street)
    }

    fn levels(&self) -> [Option<PlaceId>; 4] {
        [Some(self.street), self.community, self.grid, self.building]
    }

    /// Whether `other` lies at or below this place.
    pub fn contains(&self, other: &PlacePath) -> bool {
        self.levels()
            .iter()
            .zip(other.levels())
            .all(|(mine, theirs)| mine.is_none() || *mine == theirs)
    }

    /// Whether one of the two places contains the other: a resident of a community shares a
    /// line with its street above and its buildings below, not with a neighbouring community.
    pub fn on_one_line(&self, other: &PlacePath) -> bool {
        self.contains(other) || other.contains(self)
    }

    /// The path cut down to the community level, if it reaches that deep.
    pub fn community_path(&self) -> Option<PlacePath> {
        self.community.map(|c| PlacePath::community(self.street, c))
    }

    /// The path cut down to the street.
    pub fn street_path(&self) -> PlacePath {
        PlacePath::street(self.street)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: i64) -> PlaceId {
        PlaceId(n)
    }

    #[test]
    fn containment_follows_the_tree() {
        let street = PlacePath::street(p(1));
        let home = PlacePath::community(p(1), p(10));
        let grid = PlacePath::grid(p(1), p(10), p(100));
        let building = PlacePath::building(p(1), p(10), p(100), p(1000));
        let neighbour = PlacePath::community(p(1), p(11));
        let far = PlacePath::street(p(2));

        assert!(street.contains(&building));
        assert!(home.contains(&grid));
        assert!(!grid.contains(&home));
        assert!(grid.on_one_line(&home));
        assert!(!neighbour.on_one_line(&grid));
        assert!(neighbour.on_one_line(&street));
        assert!(!far.on_one_line(&home));
        assert_eq!(building.kind(), PlaceKind::Building);
        assert_eq!(building.leaf(), p(1000));
        assert_eq!(building.community_path(), Some(home));
        assert_eq!(street.community_path(), None);
    }
}
