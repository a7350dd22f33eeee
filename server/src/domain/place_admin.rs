//! Managing the place tree: which kind of place sits under which, who may create, rename, move,
//! archive and restore what, and what a place's names and a building's figures must be. Pure
//! functions of the actor's grants and the places' paths; the store resolves both.

use super::access::Actor;
use super::places::PlacePath;
use super::text::{Field, Problem, Text, TextError};
use hehe_protocol::Role;
use hehe_protocol::http::PlaceKind;

pub const NAME: Field = Field::line("name", 64);
pub const NAME_ZH: Field = Field::line("Chinese name", 64);
/// A building's units (单元) and floors: generous bounds that still catch a typo.
pub const MAX_UNITS: u32 = 99;
pub const MAX_FLOORS: u32 = 200;

/// Why a change to the tree is refused. Each message says, Chinese first, what to do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceRefusal {
    #[error("{}", wrong_parent(*.kind))]
    WrongParent { kind: PlaceKind },
    #[error("{}", name_problem(.0))]
    Name(TextError),
    #[error(
        "只有楼栋才有单元数和层数，单元数为 1 到 99，层数为 1 到 200。\
         Only buildings have units and floors: 1 to 99 units, 1 to 200 floors."
    )]
    Figures,
    /// The actor may not change places there (or of that kind).
    #[error("您的角色不能管理该处的地点。Your role does not let you manage places there.")]
    NotAllowed,
    #[error(
        "地点不能移到它自己或它下面的地点之下。A place cannot move under itself or under what lies below it."
    )]
    Cycle,
    #[error("上级地点已归档：请先恢复它。The parent place is archived: restore it first.")]
    ArchivedParent,
    #[error(
        "该地点下还有未归档的地点：请先归档或移走它们。Places under it are not archived: archive or move them first."
    )]
    LiveChildren,
    #[error(
        "同一上级下已有同名地点：请换一个名称。A place under the same parent has that Chinese name already: choose another."
    )]
    NameTaken,
}

fn wrong_parent(kind: PlaceKind) -> &'static str {
    match kind {
        PlaceKind::Street => "街道是树的根，没有上级。A street is a root: it has no parent.",
        PlaceKind::Community => "社区须建在街道下。A community goes under a street.",
        PlaceKind::Compound => "小区须建在社区下。A compound goes under a community.",
        PlaceKind::Grid => "网格须建在社区或小区下。A grid goes under a community or a compound.",
        PlaceKind::Building => "楼栋须建在网格下。A building goes under a grid.",
    }
}

fn name_problem(e: &TextError) -> String {
    let field = if e.field == NAME_ZH.name {
        "中文名称"
    } else {
        "名称"
    };
    let zh = match e.problem {
        Problem::Empty => format!("{field}不能为空"),
        Problem::TooLong(n) => format!("{field}最多 {n} 个字符"),
        Problem::LineBreak | Problem::ControlCharacter => {
            format!("{field}须为一行，不含换行、制表符或控制字符")
        }
    };
    format!("{zh}。The {e}.")
}

impl From<TextError> for PlaceRefusal {
    fn from(e: TextError) -> Self {
        PlaceRefusal::Name(e)
    }
}

/// The kinds a place of `kind` may sit under; none for a street, the root.
pub fn parent_kinds(kind: PlaceKind) -> &'static [PlaceKind] {
    match kind {
        PlaceKind::Street => &[],
        PlaceKind::Community => &[PlaceKind::Street],
        PlaceKind::Compound => &[PlaceKind::Community],
        PlaceKind::Grid => &[PlaceKind::Community, PlaceKind::Compound],
        PlaceKind::Building => &[PlaceKind::Grid],
    }
}

/// Whether a place of `kind` may sit under a place of kind `parent` (none: at the root).
pub fn fits_under(kind: PlaceKind, parent: Option<PlaceKind>) -> Result<(), PlaceRefusal> {
    let fits = match parent {
        None => kind == PlaceKind::Street,
        Some(p) => parent_kinds(kind).contains(&p),
    };
    if fits {
        Ok(())
    } else {
        Err(PlaceRefusal::WrongParent { kind })
    }
}

/// Names as stored: one line each, trimmed, at most 64 characters.
pub fn names(name: &str, name_zh: &str) -> Result<(Text, Text), PlaceRefusal> {
    Ok((Text::parse(name, &NAME)?, Text::parse(name_zh, &NAME_ZH)?))
}

/// A building's units and floors; any other kind has neither.
pub fn figures(
    kind: PlaceKind,
    units: Option<u32>,
    floors: Option<u32>,
) -> Result<(), PlaceRefusal> {
    let building = kind == PlaceKind::Building;
    let ok = |v: Option<u32>, max: u32| v.is_none_or(|n| building && (1..=max).contains(&n));
    if ok(units, MAX_UNITS) && ok(floors, MAX_FLOORS) {
        Ok(())
    } else {
        Err(PlaceRefusal::Figures)
    }
}

/// Whether `actor` may create, rename, archive or restore a place of `kind` lying at or under
/// `within` (the place's own path, or for a new place its parent's). An admin may anything; a
/// street chief anything in his street but streets; a community official the compounds, grids
/// and buildings of his community.
pub fn may_manage(actor: &Actor, kind: PlaceKind, within: Option<&PlacePath>) -> bool {
    if actor.has_role(Role::Admin) {
        return true;
    }
    let Some(within) = within else {
        return false;
    };
    actor.grants.iter().any(|g| {
        let kinds: &[PlaceKind] = match g.role {
            Role::StreetChief => &[
                PlaceKind::Community,
                PlaceKind::Compound,
                PlaceKind::Grid,
                PlaceKind::Building,
            ],
            Role::CommunityOfficial => &[PlaceKind::Compound, PlaceKind::Grid, PlaceKind::Building],
            _ => &[],
        };
        kinds.contains(&kind) && g.scope.is_some_and(|s| s.contains(within))
    })
}

/// Whether `actor` may move the place at `place` under `parent`: both ends within what he
/// manages, the kinds fitting, and the place not going under itself.
pub fn may_move(actor: &Actor, place: &PlacePath, parent: &PlacePath) -> Result<(), PlaceRefusal> {
    let kind = place.kind();
    if !may_manage(actor, kind, Some(place)) || !may_manage(actor, kind, Some(parent)) {
        return Err(PlaceRefusal::NotAllowed);
    }
    if place.contains(parent) {
        return Err(PlaceRefusal::Cycle);
    }
    fits_under(kind, Some(parent.kind()))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::fixtures::{actor, building, community, grid, street};
    use PlaceKind::*;
    use hehe_protocol::PlaceId;

    fn compound(s: i64, c: i64, k: i64) -> PlacePath {
        PlacePath::compound(PlaceId(s), PlaceId(c), PlaceId(k))
    }

    #[test]
    fn which_kind_sits_under_which() {
        let table: [(PlaceKind, [bool; 6]); 5] = [
            // parent: none, street, community, compound, grid, building
            (Street, [true, false, false, false, false, false]),
            (Community, [false, true, false, false, false, false]),
            (Compound, [false, false, true, false, false, false]),
            (Grid, [false, false, true, true, false, false]),
            (Building, [false, false, false, false, true, false]),
        ];
        let parents = [
            None,
            Some(Street),
            Some(Community),
            Some(Compound),
            Some(Grid),
            Some(Building),
        ];
        for (kind, row) in table {
            for (parent, want) in parents.iter().zip(row) {
                assert_eq!(
                    fits_under(kind, *parent).is_ok(),
                    want,
                    "{kind:?} under {parent:?}"
                );
            }
        }
        assert!(
            fits_under(Grid, Some(Building))
                .unwrap_err()
                .to_string()
                .contains("网格")
        );
    }

    /// Every role × kind × place: creating (or renaming, archiving, restoring) a place of that
    /// kind at that place. Columns: resident, building lead, grid worker, community official,
    /// street chief, ops, admin.
    #[test]
    fn who_manages_what() {
        let own_street = Some(street(1));
        let own_comm = Some(community(1, 10));
        let other_comm = Some(community(1, 11));
        let other_street = Some(street(2));
        let cases: [(&str, PlaceKind, Option<PlacePath>, [u8; 7]); 14] = [
            ("a street", Street, None, [0, 0, 0, 0, 0, 0, 1]),
            (
                "own street itself",
                Street,
                own_street,
                [0, 0, 0, 0, 0, 0, 1],
            ),
            (
                "community in own street",
                Community,
                own_street,
                [0, 0, 0, 0, 1, 0, 1],
            ),
            (
                "own community itself",
                Community,
                own_comm,
                [0, 0, 0, 0, 1, 0, 1],
            ),
            (
                "community in other street",
                Community,
                other_street,
                [0, 0, 0, 0, 0, 0, 1],
            ),
            (
                "compound in own community",
                Compound,
                own_comm,
                [0, 0, 0, 1, 1, 0, 1],
            ),
            (
                "compound in other community",
                Compound,
                other_comm,
                [0, 0, 0, 0, 1, 0, 1],
            ),
            (
                "grid in own community",
                Grid,
                own_comm,
                [0, 0, 0, 1, 1, 0, 1],
            ),
            (
                "grid in own compound",
                Grid,
                Some(compound(1, 10, 50)),
                [0, 0, 0, 1, 1, 0, 1],
            ),
            (
                "grid in other community",
                Grid,
                other_comm,
                [0, 0, 0, 0, 1, 0, 1],
            ),
            (
                "grid in other street",
                Grid,
                Some(community(2, 20)),
                [0, 0, 0, 0, 0, 0, 1],
            ),
            (
                "building in own grid",
                Building,
                Some(grid(1, 10, 100)),
                [0, 0, 0, 1, 1, 0, 1],
            ),
            (
                "building in other grid",
                Building,
                Some(grid(1, 10, 101)),
                [0, 0, 0, 1, 1, 0, 1],
            ),
            (
                "building elsewhere",
                Building,
                Some(grid(1, 11, 110)),
                [0, 0, 0, 0, 1, 0, 1],
            ),
        ];
        for (name, kind, within, expected) in cases {
            for (role, want) in Role::ALL.into_iter().zip(expected) {
                assert_eq!(
                    may_manage(&actor(role), kind, within.as_ref()),
                    want == 1,
                    "{role} on {name}"
                );
            }
        }
    }

    #[test]
    fn moves_stay_within_scope_and_fit_the_tree() {
        let official = actor(Role::CommunityOfficial);
        let chief = actor(Role::StreetChief);
        let admin = actor(Role::Admin);
        let b = building(1, 10, 100, 1000);
        type Case<'a> = (
            &'a str,
            &'a Actor,
            PlacePath,
            PlacePath,
            Result<(), PlaceRefusal>,
        );
        let cases: [Case; 9] = [
            (
                "official, building to own other grid",
                &official,
                b,
                grid(1, 10, 101),
                Ok(()),
            ),
            (
                "official, building out of his community",
                &official,
                b,
                grid(1, 11, 110),
                Err(PlaceRefusal::NotAllowed),
            ),
            (
                "chief, building to other community",
                &chief,
                b,
                grid(1, 11, 110),
                Ok(()),
            ),
            (
                "chief, building to other street",
                &chief,
                b,
                grid(2, 20, 200),
                Err(PlaceRefusal::NotAllowed),
            ),
            (
                "chief, community to another street",
                &chief,
                community(1, 10),
                street(2),
                Err(PlaceRefusal::NotAllowed),
            ),
            (
                "admin, community to another street",
                &admin,
                community(1, 10),
                street(2),
                Ok(()),
            ),
            (
                "official, grid into a compound",
                &official,
                grid(1, 10, 100),
                compound(1, 10, 50),
                Ok(()),
            ),
            (
                "admin, building under a community",
                &admin,
                b,
                community(1, 11),
                Err(PlaceRefusal::WrongParent { kind: Building }),
            ),
            (
                "admin, grid under its own building",
                &admin,
                grid(1, 10, 100),
                b,
                Err(PlaceRefusal::Cycle),
            ),
        ];
        for (name, who, place, parent, want) in cases {
            assert_eq!(may_move(who, &place, &parent), want, "{name}");
        }
        for role in [
            Role::Resident,
            Role::BuildingLead,
            Role::GridWorker,
            Role::Ops,
        ] {
            let who = actor(role);
            assert_eq!(
                may_move(&who, &b, &grid(1, 10, 101)),
                Err(PlaceRefusal::NotAllowed),
                "{role}"
            );
        }
    }

    #[test]
    fn names_and_figures() {
        assert!(names("Block 3", "3栋").is_ok());
        let long = "楼".repeat(65);
        for (name, name_zh) in [("", "3栋"), ("Block 3", " "), ("a\nb", "3栋"), ("x", &long)] {
            let e = names(name, name_zh).unwrap_err();
            let text = e.to_string();
            assert!(text.contains('。') && text.contains("The "), "{text}");
        }
        assert!(names("x", &long).unwrap_err().to_string().contains("64"));
        assert!(figures(Building, Some(6), Some(18)).is_ok());
        assert!(figures(Building, None, None).is_ok());
        assert!(figures(Grid, None, None).is_ok());
        for (kind, units, floors) in [
            (Grid, Some(2), None),
            (Building, Some(0), None),
            (Building, None, Some(201)),
            (Building, Some(100), None),
        ] {
            assert_eq!(figures(kind, units, floors), Err(PlaceRefusal::Figures));
        }
    }
}
