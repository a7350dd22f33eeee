//! Where a place sits in the tree street → community → (compound →) grid → building. The
//! compound (小区) level is optional: a grid's parent is a community or a compound.

use hehe_protocol::PlaceId;
use hehe_protocol::http::PlaceKind;

/// A place given by its ancestors from the street down. A community's path has a street and a
/// community and nothing below; a building's path is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlacePath {
    pub street: PlaceId,
    pub community: Option<PlaceId>,
    /// Set for a compound and for the grids and buildings in one. Issues store their place
    /// without it, so rules never require it to be known below a compound (see `contains`).
    pub compound: Option<PlaceId>,
    pub grid: Option<PlaceId>,
    pub building: Option<PlaceId>,
}

impl PlacePath {
    pub fn street(street: PlaceId) -> Self {
        Self {
            street,
            community: None,
            compound: None,
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

    pub fn compound(street: PlaceId, community: PlaceId, compound: PlaceId) -> Self {
        Self {
            compound: Some(compound),
            ..Self::community(street, community)
        }
    }

    /// The same path with the grid (and what lies under it) inside compound `compound`.
    pub fn in_compound(self, compound: PlaceId) -> Self {
        Self {
            compound: Some(compound),
            ..self
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
        } else if self.compound.is_some() {
            PlaceKind::Compound
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
            .or(self.compound)
            .or(self.community)
            .unwrap_or(self.street)
    }

    /// The place of kind `kind` on the path, if the path reaches it.
    pub fn at(&self, kind: PlaceKind) -> Option<PlaceId> {
        match kind {
            PlaceKind::Street => Some(self.street),
            PlaceKind::Community => self.community,
            PlaceKind::Compound => self.compound,
            PlaceKind::Grid => self.grid,
            PlaceKind::Building => self.building,
        }
    }

    /// Whether `other` lies at or below this place: this place is on `other`'s path. Ids name
    /// one place each, so the levels above follow; and a path read without its compound (an
    /// issue's) still lies in its grid, community and street.
    pub fn contains(&self, other: &PlacePath) -> bool {
        other.at(self.kind()) == Some(self.leaf())
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

/// Orders place names as people read them: runs of digits by their value, so 2栋 comes before
/// 10栋 and 第3网格 before 第12网格; the rest by character.
pub fn by_name(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        let (Some(x), Some(y)) = (a.chars().next(), b.chars().next()) else {
            return a.len().cmp(&b.len());
        };
        if x.is_ascii_digit() && y.is_ascii_digit() {
            let da = a.len() - a.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let db = b.len() - b.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let (na, nb) = (
                a[..da].trim_start_matches('0'),
                b[..db].trim_start_matches('0'),
            );
            let order = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if order != std::cmp::Ordering::Equal {
                return order;
            }
            (a, b) = (&a[da..], &b[db..]);
        } else if x != y {
            return x.cmp(&y);
        } else {
            (a, b) = (&a[x.len_utf8()..], &b[y.len_utf8()..]);
        }
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

    #[test]
    fn compounds_sit_between_community_and_grid() {
        let home = PlacePath::community(p(1), p(10));
        let compound = PlacePath::compound(p(1), p(10), p(50));
        let grid = PlacePath::grid(p(1), p(10), p(100)).in_compound(p(50));
        let building = PlacePath::building(p(1), p(10), p(100), p(1000)).in_compound(p(50));
        let open_grid = PlacePath::grid(p(1), p(10), p(101));
        // An issue's place is stored without its compound.
        let issue_place = PlacePath::building(p(1), p(10), p(100), p(1000));

        assert_eq!(compound.kind(), PlaceKind::Compound);
        assert_eq!(compound.leaf(), p(50));
        assert_eq!(grid.kind(), PlaceKind::Grid);
        assert!(home.contains(&compound) && compound.contains(&building));
        assert!(!compound.contains(&open_grid) && !open_grid.on_one_line(&compound));
        assert!(grid.contains(&issue_place) && issue_place.on_one_line(&grid));
        assert!(home.contains(&issue_place));
        assert_eq!(building.community_path(), Some(home));
    }

    #[test]
    fn names_sort_as_people_read_them() {
        let mut names = vec![
            "10栋",
            "2栋",
            "1栋",
            "第12网格",
            "第3网格",
            "A区",
            "桂花社区",
        ];
        names.sort_by(|a, b| by_name(a, b));
        assert_eq!(
            names,
            [
                "1栋",
                "2栋",
                "10栋",
                "A区",
                "桂花社区",
                "第3网格",
                "第12网格"
            ]
        );
        assert_eq!(by_name("", ""), std::cmp::Ordering::Equal);
        assert_eq!(by_name("栋", "栋1"), std::cmp::Ordering::Less);
        assert_eq!(
            by_name("99999999999999999999999栋", "1栋"),
            std::cmp::Ordering::Greater
        );
    }
}
