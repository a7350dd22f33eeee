//! Who may read and write which channel: a pure function of the actor's role grants and the
//! channel's place. The store resolves both; nothing here does I/O.

use super::places::PlacePath;
use hehe_protocol::{AccountId, Role};

/// A role held for a scope. Ops and admin have no scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub role: Role,
    pub scope: Option<PlacePath>,
}

/// The person behind a connection or request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: AccountId,
    pub grants: Vec<Grant>,
}

/// What a channel is about, resolved by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelTarget {
    /// A street channel; the path is the street's.
    Street(PlacePath),
    /// A community's home channel; the path is the community's.
    Home(PlacePath),
    /// A meeting's living room; the path is the place the meeting belongs to. A private room
    /// (a mediation) is open to its members only: its parties, mediators, chair and secretary.
    Room {
        place: PlacePath,
        private: bool,
        member: bool,
    },
    /// An issue. `involved`: the actor reported, follows or is assigned to it.
    Issue {
        place: PlacePath,
        public: bool,
        involved: bool,
    },
    /// A person's inbox.
    User(AccountId),
    /// The deployment's live figures: for those who run it, never about residents.
    Ops,
}

/// Roles that handle issues for the places under them.
fn is_staff(role: Role) -> bool {
    matches!(
        role,
        Role::GridWorker | Role::CommunityOfficial | Role::StreetChief
    )
}

impl Actor {
    pub fn has_role(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    /// Grants that carry a place (every role but ops and admin).
    fn placed(&self) -> impl Iterator<Item = (Role, &PlacePath)> {
        self.grants
            .iter()
            .filter_map(|g| g.scope.as_ref().map(|s| (g.role, s)))
    }

    /// The most senior role, shown as a badge in presence lists.
    pub fn badge(&self) -> Option<Role> {
        self.grants.iter().map(|g| g.role).max()
    }
}

/// Whether the actor handles issues anywhere at all (staff of some place, or an admin): their
/// issue listings are not narrowed to public issues before each one is checked.
pub fn is_staff_somewhere(actor: &Actor) -> bool {
    actor.has_role(Role::Admin) || actor.grants.iter().any(|g| is_staff(g.role))
}

/// Whether `actor` may subscribe to (and so read the history and presence of) a channel.
pub fn can_read(actor: &Actor, target: &ChannelTarget) -> bool {
    match *target {
        ChannelTarget::User(owner) => actor.id == owner,
        ChannelTarget::Ops => actor.has_role(Role::Ops) || actor.has_role(Role::Admin),
        // Privacy beats every role: not even an admin reads a mediation they are not part of.
        ChannelTarget::Room {
            private: true,
            member,
            ..
        } => member,
        _ if actor.has_role(Role::Admin) => true,
        ChannelTarget::Street(place)
        | ChannelTarget::Home(place)
        | ChannelTarget::Room { place, .. } => {
            actor.placed().any(|(_, scope)| scope.on_one_line(&place))
        }
        ChannelTarget::Issue {
            place,
            public,
            involved,
        } => {
            involved
                || actor
                    .placed()
                    .any(|(role, scope)| is_staff(role) && scope.contains(&place))
                || (public
                    && place
                        .community_path()
                        .is_some_and(|home| actor.placed().any(|(_, s)| s.on_one_line(&home))))
        }
    }
}

/// Whether the actor sees the staff-only events of a street's channel (escalations, which may
/// be of issues they may not see): the street's chief and admins, who handle them.
pub fn sees_street_internal(actor: &Actor, street: &PlacePath) -> bool {
    actor.has_role(Role::Admin)
        || actor
            .placed()
            .any(|(role, scope)| role == Role::StreetChief && scope.contains(street))
}

/// Whether the actor may look a place up (its name, what lies above and under it): a place on
/// one line with one of their grants' places. Admins see every place; ops none.
pub fn can_see_place(actor: &Actor, place: &PlacePath) -> bool {
    actor.has_role(Role::Admin) || actor.placed().any(|(_, scope)| scope.on_one_line(place))
}

/// Whether `actor` may post a message to a channel with the `post` command.
pub fn can_post(actor: &Actor, target: &ChannelTarget) -> bool {
    match *target {
        // An inbox is written by the server, an issue's timeline by issue actions, and a room
        // by room actions (`say`), which know who is muted, removed or holds the floor.
        // The ops channel carries what the nodes (and the load test, over HTTP) report.
        ChannelTarget::User(_)
        | ChannelTarget::Issue { .. }
        | ChannelTarget::Room { .. }
        | ChannelTarget::Ops => false,
        _ if actor.has_role(Role::Admin) => true,
        // Street notices come from the street's chief.
        ChannelTarget::Street(place) => actor
            .placed()
            .any(|(role, scope)| role == Role::StreetChief && scope.contains(&place)),
        // Home notices come from the community's officials or its street chief.
        ChannelTarget::Home(place) => actor.placed().any(|(role, scope)| {
            matches!(role, Role::CommunityOfficial | Role::StreetChief) && scope.contains(&place)
        }),
    }
}

#[cfg(test)]
mod tests {
    //! The whole matrix: every role × channel kind × scope, against a written-out table.

    use super::*;
    use crate::domain::fixtures::{ME, actor, building, community, grid, street};

    // Street 1: community 10 (grids 100, 101; buildings 1000 in 100, 1010 in 101) and
    // community 11 (grid 110, building 1100). Street 2: community 20 (grid 200, building 2000).

    const SOMEONE: AccountId = AccountId(8);

    /// Channel cases: a name for the table, and the target.
    fn targets() -> Vec<(&'static str, ChannelTarget)> {
        use ChannelTarget::*;
        let issue = |place, public, involved| Issue {
            place,
            public,
            involved,
        };
        let room = |place| Room {
            place,
            private: false,
            member: false,
        };
        vec![
            ("street own", Street(street(1))),
            ("street other", Street(street(2))),
            ("home own", Home(community(1, 10))),
            ("home other community", Home(community(1, 11))),
            ("home other street", Home(community(2, 20))),
            ("room own community", room(community(1, 10))),
            ("room own street", room(street(1))),
            ("room other community", room(community(1, 11))),
            ("room other street", room(community(2, 20))),
            (
                "mediation member",
                Room {
                    place: community(1, 10),
                    private: true,
                    member: true,
                },
            ),
            (
                "mediation other",
                Room {
                    place: community(1, 10),
                    private: true,
                    member: false,
                },
            ),
            (
                "issue public own grid",
                issue(grid(1, 10, 100), true, false),
            ),
            (
                "issue public other grid",
                issue(grid(1, 10, 101), true, false),
            ),
            (
                "issue public other community",
                issue(grid(1, 11, 110), true, false),
            ),
            (
                "issue public other street",
                issue(grid(2, 20, 200), true, false),
            ),
            (
                "issue private own grid",
                issue(grid(1, 10, 100), false, false),
            ),
            (
                "issue private other grid",
                issue(grid(1, 10, 101), false, false),
            ),
            (
                "issue private other community",
                issue(grid(1, 11, 110), false, false),
            ),
            (
                "issue private involved",
                issue(grid(2, 20, 200), false, true),
            ),
            ("user self", User(ME)),
            ("user other", User(SOMEONE)),
            ("ops", Ops),
        ]
    }

    // One row per target (in the order above); one column per role:
    // resident, building lead, grid worker, community official, street chief, ops, admin.
    const READ: [(&str, [u8; 7]); 22] = [
        ("street own", [1, 1, 1, 1, 1, 0, 1]),
        ("street other", [0, 0, 0, 0, 0, 0, 1]),
        ("home own", [1, 1, 1, 1, 1, 0, 1]),
        ("home other community", [0, 0, 0, 0, 1, 0, 1]),
        ("home other street", [0, 0, 0, 0, 0, 0, 1]),
        ("room own community", [1, 1, 1, 1, 1, 0, 1]),
        ("room own street", [1, 1, 1, 1, 1, 0, 1]),
        ("room other community", [0, 0, 0, 0, 1, 0, 1]),
        ("room other street", [0, 0, 0, 0, 0, 0, 1]),
        ("mediation member", [1; 7]),
        ("mediation other", [0; 7]),
        ("issue public own grid", [1, 1, 1, 1, 1, 0, 1]),
        ("issue public other grid", [1, 1, 1, 1, 1, 0, 1]),
        ("issue public other community", [0, 0, 0, 0, 1, 0, 1]),
        ("issue public other street", [0, 0, 0, 0, 0, 0, 1]),
        ("issue private own grid", [0, 0, 1, 1, 1, 0, 1]),
        ("issue private other grid", [0, 0, 0, 1, 1, 0, 1]),
        ("issue private other community", [0, 0, 0, 0, 1, 0, 1]),
        ("issue private involved", [1, 1, 1, 1, 1, 1, 1]),
        ("user self", [1, 1, 1, 1, 1, 1, 1]),
        ("user other", [0, 0, 0, 0, 0, 0, 0]),
        ("ops", [0, 0, 0, 0, 0, 1, 1]),
    ];

    const POST: [(&str, [u8; 7]); 22] = [
        ("street own", [0, 0, 0, 0, 1, 0, 1]),
        ("street other", [0, 0, 0, 0, 0, 0, 1]),
        ("home own", [0, 0, 0, 1, 1, 0, 1]),
        ("home other community", [0, 0, 0, 0, 1, 0, 1]),
        ("home other street", [0, 0, 0, 0, 0, 0, 1]),
        ("room own community", [0; 7]),
        ("room own street", [0; 7]),
        ("room other community", [0; 7]),
        ("room other street", [0; 7]),
        ("mediation member", [0; 7]),
        ("mediation other", [0; 7]),
        ("issue public own grid", [0; 7]),
        ("issue public other grid", [0; 7]),
        ("issue public other community", [0; 7]),
        ("issue public other street", [0; 7]),
        ("issue private own grid", [0; 7]),
        ("issue private other grid", [0; 7]),
        ("issue private other community", [0; 7]),
        ("issue private involved", [0; 7]),
        ("user self", [0; 7]),
        ("user other", [0; 7]),
        ("ops", [0; 7]),
    ];

    fn check(table: &[(&str, [u8; 7])], rule: fn(&Actor, &ChannelTarget) -> bool) {
        let targets = targets();
        assert_eq!(table.len(), targets.len());
        for ((row_name, expected), (name, target)) in table.iter().zip(&targets) {
            assert_eq!(row_name, name, "table rows out of order");
            for (role, want) in Role::ALL.into_iter().zip(expected) {
                assert_eq!(
                    rule(&actor(role), target),
                    *want == 1,
                    "{role} on {name}: expected {}",
                    if *want == 1 { "allowed" } else { "refused" }
                );
            }
        }
    }

    #[test]
    fn read_matrix() {
        check(&READ, can_read);
    }

    #[test]
    fn post_matrix() {
        check(&POST, can_post);
    }

    #[test]
    fn someone_with_no_grants_reads_only_their_inbox() {
        let nobody = Actor {
            id: ME,
            grants: vec![],
        };
        for (name, target) in targets() {
            let involved = matches!(target, ChannelTarget::Issue { involved: true, .. });
            let member = matches!(target, ChannelTarget::Room { member: true, .. });
            let expected = name == "user self" || involved || member;
            assert_eq!(can_read(&nobody, &target), expected, "{name}");
            assert!(!can_post(&nobody, &target), "{name}");
        }
    }

    #[test]
    fn places_on_ones_own_line_are_seen() {
        let places = [
            ("street own", street(1), [1, 1, 1, 1, 1, 0, 1]),
            ("street other", street(2), [0, 0, 0, 0, 0, 0, 1]),
            ("community own", community(1, 10), [1, 1, 1, 1, 1, 0, 1]),
            ("community other", community(1, 11), [0, 0, 0, 0, 1, 0, 1]),
            ("grid own", grid(1, 10, 100), [1, 1, 1, 1, 1, 0, 1]),
            ("grid other", grid(1, 10, 101), [1, 0, 0, 1, 1, 0, 1]),
            (
                "building own",
                building(1, 10, 100, 1000),
                [1, 1, 1, 1, 1, 0, 1],
            ),
            (
                "building other grid",
                building(1, 10, 101, 1010),
                [1, 0, 0, 1, 1, 0, 1],
            ),
            (
                "building other street",
                building(2, 20, 200, 2000),
                [0, 0, 0, 0, 0, 0, 1],
            ),
        ];
        for (name, place, expected) in places {
            for (role, want) in Role::ALL.into_iter().zip(expected) {
                assert_eq!(
                    can_see_place(&actor(role), &place),
                    want == 1,
                    "{role} on {name}"
                );
            }
        }
    }

    #[test]
    fn staff_somewhere() {
        for role in Role::ALL {
            let expected = matches!(
                role,
                Role::GridWorker | Role::CommunityOfficial | Role::StreetChief | Role::Admin
            );
            assert_eq!(is_staff_somewhere(&actor(role)), expected, "{role}");
        }
        let nobody = Actor {
            id: ME,
            grants: vec![],
        };
        assert!(!is_staff_somewhere(&nobody));
    }

    #[test]
    fn grants_add_up() {
        // A grid worker who also lives in the neighbouring community reads both homes.
        let both = Actor {
            id: ME,
            grants: vec![
                Grant {
                    role: Role::GridWorker,
                    scope: Some(grid(1, 10, 100)),
                },
                Grant {
                    role: Role::Resident,
                    scope: Some(community(1, 11)),
                },
            ],
        };
        assert!(can_read(&both, &ChannelTarget::Home(community(1, 10))));
        assert!(can_read(&both, &ChannelTarget::Home(community(1, 11))));
        assert!(!can_read(&both, &ChannelTarget::Home(community(2, 20))));
        assert_eq!(both.badge(), Some(Role::GridWorker));
    }
}
