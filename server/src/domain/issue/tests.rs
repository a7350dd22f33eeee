//! The issue rules: the role matrix, every state × action, flows, and random walks.

use super::*;
use crate::domain::access::Grant;
use crate::domain::category::{CATEGORIES, find};
use crate::domain::fixtures::{building, community, grid, street};
use hehe_protocol::issue::IssueActionKind;
use proptest::prelude::*;

// Street 1: community 10 (grids 100, 101), community 11 (grid 110). Street 2: community 20.

const REPORTER: AccountId = AccountId(1);
const WORKER: AccountId = AccountId(3);

fn issue() -> Issue {
    Issue {
        id: IssueId(1),
        state: IssueState::Submitted,
        priority: Priority::Yellow,
        level: Level::Grid,
        place: grid(1, 10, 100),
        reporter: REPORTER,
        public: true,
        assignee: Some(WORKER),
        resolution: None,
        closure: None,
        rated: None,
        duplicate_of: None,
        reopen_count: 0,
        return_count: 0,
        has_after_photo: true,
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Scope {
    Own,
    OtherCommunity,
    OtherStreet,
}

/// A person holding `role` in `scope`; in their own scope the resident is the reporter and the
/// grid worker the assignee.
fn person(role: Role, scope: Scope) -> Actor {
    let place = match (role, scope) {
        (Role::Ops | Role::Admin, _) => None,
        (Role::StreetChief, Scope::Own | Scope::OtherCommunity) => Some(street(1)),
        (Role::StreetChief, Scope::OtherStreet) => Some(street(2)),
        (Role::Resident | Role::CommunityOfficial, Scope::Own) => Some(community(1, 10)),
        (Role::Resident | Role::CommunityOfficial, Scope::OtherCommunity) => Some(community(1, 11)),
        (Role::Resident | Role::CommunityOfficial, Scope::OtherStreet) => Some(community(2, 20)),
        (Role::BuildingLead, Scope::Own) => Some(building(1, 10, 100, 1000)),
        (Role::BuildingLead, Scope::OtherCommunity) => Some(building(1, 11, 110, 1100)),
        (Role::BuildingLead, Scope::OtherStreet) => Some(building(2, 20, 200, 2000)),
        (Role::GridWorker, Scope::Own) => Some(grid(1, 10, 100)),
        (Role::GridWorker, Scope::OtherCommunity) => Some(grid(1, 11, 110)),
        (Role::GridWorker, Scope::OtherStreet) => Some(grid(2, 20, 200)),
    };
    let id = match (role, scope) {
        (Role::Resident, Scope::Own) => REPORTER,
        (Role::GridWorker, Scope::Own) => WORKER,
        _ => AccountId(100 + Role::ALL.iter().position(|r| *r == role).unwrap_or(0) as i64),
    };
    Actor {
        id,
        grants: vec![Grant { role, scope: place }],
    }
}

fn actions() -> Vec<(&'static str, IssueAction)> {
    use IssueAction::*;
    let s = || "because".to_string();
    vec![
        ("accept", Accept),
        ("reject", Reject { reason: s() }),
        ("merge", Merge { into: IssueId(2) }),
        ("dispatch", Dispatch { assignee: WORKER }),
        ("acknowledge", Acknowledge),
        ("return", Return { reason: s() }),
        ("escalate", Escalate { reason: s() }),
        (
            "update",
            PostUpdate {
                text: s(),
                internal: false,
            },
        ),
        (
            "note",
            PostUpdate {
                text: s(),
                internal: true,
            },
        ),
        ("complete", Complete { note: None }),
        (
            "unfixable",
            DeclareUnfixable {
                explanation: s(),
                resolution: Resolution::NotFixable,
            },
        ),
        ("verify_ok", VerifyOk),
        ("verify_fail", VerifyFail { reason: s() }),
        (
            "rate",
            Rate {
                resolved: true,
                satisfaction: None,
                stars: None,
                comment: None,
            },
        ),
        ("withdraw", Withdraw),
        ("follow", Follow),
        ("unfollow", Unfollow),
        ("me_too", MeToo { note: None }),
    ]
}

// Columns: resident, building lead, grid worker, community official, street chief, ops, admin.
const OFFICIALS: [[u8; 7]; 3] = [
    [0, 0, 0, 1, 1, 0, 1],
    [0, 0, 0, 0, 1, 0, 1],
    [0, 0, 0, 0, 0, 0, 1],
];
const ASSIGNEE: [[u8; 7]; 3] = [[0, 0, 1, 0, 0, 0, 0], [0; 7], [0; 7]];
const ASSIGNEE_OR_OFFICIAL: [[u8; 7]; 3] = [
    [0, 0, 1, 1, 1, 0, 1],
    [0, 0, 0, 0, 1, 0, 1],
    [0, 0, 0, 0, 0, 0, 1],
];
const REPORTER_ONLY: [[u8; 7]; 3] = [[1, 0, 0, 0, 0, 0, 0], [0; 7], [0; 7]];
const ANYONE: [[u8; 7]; 3] = [[1; 7], [1; 7], [1; 7]];
// The reporter is the resident of the own scope; other locals may second the report.
const NEIGHBOURS: [[u8; 7]; 3] = [[0, 1, 1, 0, 0, 0, 0], [0; 7], [0; 7]];

fn expected(name: &str) -> [[u8; 7]; 3] {
    match name {
        "accept" | "reject" | "merge" | "dispatch" | "unfixable" | "verify_ok" | "verify_fail" => {
            OFFICIALS
        }
        "acknowledge" | "return" | "complete" => ASSIGNEE,
        "escalate" | "update" | "note" => ASSIGNEE_OR_OFFICIAL,
        "rate" | "withdraw" => REPORTER_ONLY,
        "follow" | "unfollow" => ANYONE,
        "me_too" => NEIGHBOURS,
        other => panic!("no expectation for {other}"),
    }
}

#[test]
fn role_action_scope_matrix() {
    let scopes = [Scope::Own, Scope::OtherCommunity, Scope::OtherStreet];
    for (name, action) in actions() {
        let table = expected(name);
        for (row, scope) in scopes.iter().enumerate() {
            for (col, role) in Role::ALL.iter().enumerate() {
                let allowed = may(&person(*role, *scope), &issue(), &action);
                assert_eq!(
                    allowed,
                    table[row][col] == 1,
                    "{role} in {scope:?} doing {name}"
                );
            }
        }
    }
}

#[test]
fn a_worker_of_the_grid_who_is_not_the_assignee_writes_notes_but_does_not_work_it() {
    let colleague = Actor {
        id: AccountId(50),
        grants: vec![Grant {
            role: Role::GridWorker,
            scope: Some(grid(1, 10, 100)),
        }],
    };
    let i = issue();
    assert!(may(
        &colleague,
        &i,
        &IssueAction::PostUpdate {
            text: "x".into(),
            internal: true
        }
    ));
    assert!(!may(
        &colleague,
        &i,
        &IssueAction::PostUpdate {
            text: "x".into(),
            internal: false
        }
    ));
    assert!(!may(&colleague, &i, &IssueAction::Acknowledge));
    assert!(sees_internal(&colleague, &i));
    assert!(!sees_internal(&person(Role::Resident, Scope::Own), &i));
    assert!(!sees_internal(&person(Role::BuildingLead, Scope::Own), &i));
}

#[test]
fn escalated_to_the_street_only_the_chief_dispatches() {
    let mut i = issue();
    i.level = Level::Street;
    let dispatch = IssueAction::Dispatch { assignee: WORKER };
    assert!(!may(
        &person(Role::CommunityOfficial, Scope::Own),
        &i,
        &dispatch
    ));
    assert!(may(&person(Role::StreetChief, Scope::Own), &i, &dispatch));
}

#[test]
fn who_may_raise_where() {
    let place = building(1, 10, 100, 1000);
    let resident = person(Role::Resident, Scope::Own);
    let far_resident = person(Role::Resident, Scope::OtherStreet);
    assert!(may_submit(&resident, &place, None));
    assert!(!may_submit(&far_resident, &place, None));
    assert!(may_submit(
        &person(Role::GridWorker, Scope::Own),
        &place,
        None
    ));
    assert!(!may_submit(
        &person(Role::GridWorker, Scope::OtherCommunity),
        &place,
        None
    ));
    assert!(
        !may_submit(&person(Role::BuildingLead, Scope::Own), &place, None),
        "for a resident only"
    );
    assert!(may_submit(
        &person(Role::BuildingLead, Scope::Own),
        &place,
        Some(&resident)
    ));
    assert!(!may_submit(
        &person(Role::BuildingLead, Scope::Own),
        &place,
        Some(&far_resident)
    ));
    assert!(!may_submit(
        &person(Role::BuildingLead, Scope::OtherCommunity),
        &place,
        Some(&resident)
    ));
    assert!(may_submit(
        &person(Role::CommunityOfficial, Scope::Own),
        &place,
        Some(&resident)
    ));
    assert!(!may_submit(&person(Role::Ops, Scope::Own), &place, None));
    assert!(may_submit(&person(Role::Admin, Scope::Own), &place, None));
}

/// An admin who reported the issue and is its assignee passes every role check, so the tests
/// below see the state machine alone.
fn superuser() -> Actor {
    Actor {
        id: AccountId(9),
        grants: vec![Grant {
            role: Role::Admin,
            scope: None,
        }],
    }
}

fn all_powerful(state: IssueState) -> Issue {
    let mut i = issue();
    i.state = state;
    i.reporter = AccountId(9);
    i.assignee = Some(AccountId(9));
    i.level = if state == IssueState::Escalated {
        Level::Community
    } else {
        Level::Grid
    };
    if matches!(state, IssueState::Resolved | IssueState::AwaitingRating) {
        i.resolution = Some(Resolution::Fixed);
    }
    if state == IssueState::Closed {
        i.closure = Some(ClosureReason::Withdrawn);
    }
    if state == IssueState::Duplicate {
        i.duplicate_of = Some(IssueId(5));
    }
    i
}

#[test]
fn every_state_and_action() {
    use IssueState::*;
    let admin = superuser();
    let drainage = find("drainage");
    let target = {
        let mut t = issue();
        t.id = IssueId(2);
        t
    };
    let worker = person(Role::GridWorker, Scope::Own);
    let ctx = Context {
        category: drainage,
        assignee: Some(&worker),
        merge_target: Some(&target),
    };
    // (action, state it is accepted in → state it leads to); every other state refuses.
    let table: Vec<(&str, Vec<(IssueState, IssueState)>)> = vec![
        ("accept", vec![(Submitted, Accepted)]),
        ("reject", vec![(Submitted, Rejected), (Accepted, Rejected)]),
        ("merge", vec![(Submitted, Duplicate), (Accepted, Duplicate)]),
        (
            "dispatch",
            vec![(Accepted, Dispatched), (Escalated, Dispatched)],
        ),
        ("acknowledge", vec![(Dispatched, InProgress)]),
        (
            "return",
            vec![(Dispatched, Accepted), (InProgress, Accepted)],
        ),
        (
            "escalate",
            vec![
                (Accepted, Escalated),
                (Dispatched, Escalated),
                (InProgress, Escalated),
                (Escalated, Escalated),
            ],
        ),
        ("complete", vec![(InProgress, Resolved)]),
        (
            "unfixable",
            vec![(InProgress, Resolved), (Escalated, Resolved)],
        ),
        ("verify_ok", vec![(Resolved, AwaitingRating)]),
        ("verify_fail", vec![(Resolved, InProgress)]),
        ("rate", vec![(AwaitingRating, Closed)]),
        (
            "withdraw",
            vec![
                (Submitted, Closed),
                (Accepted, Closed),
                (Dispatched, Closed),
                (InProgress, Closed),
                (Escalated, Closed),
            ],
        ),
    ];
    for (name, action) in actions() {
        let Some((_, moves)) = table.iter().find(|(n, _)| *n == name) else {
            continue;
        };
        for state in IssueState::ALL {
            let i = all_powerful(state);
            let result = decide(
                &i,
                Agent::Person {
                    actor: &admin,
                    follows: false,
                },
                &Command::Act(action.clone()),
                &ctx,
            );
            match moves.iter().find(|(from, _)| *from == state) {
                Some((_, to)) => {
                    let d = result.unwrap_or_else(|e| panic!("{name} in {state:?}: {e}"));
                    assert_eq!(d.issue.state, *to, "{name} in {state:?}");
                    invariants(&d.issue).unwrap_or_else(|e| panic!("{name} in {state:?}: {e}"));
                    let last = d.events.last().unwrap();
                    assert_eq!((last.from, last.to), (Some(state), Some(*to)));
                }
                None => assert_eq!(
                    result.unwrap_err(),
                    Refusal::WrongState(state),
                    "{name} in {state:?}"
                ),
            }
        }
    }
    // Updates and notes go anywhere but the end states, and change no state.
    for state in IssueState::ALL {
        let i = all_powerful(state);
        let update = Command::Act(IssueAction::PostUpdate {
            text: "progress".into(),
            internal: false,
        });
        let result = decide(
            &i,
            Agent::Person {
                actor: &admin,
                follows: false,
            },
            &update,
            &ctx,
        );
        assert_eq!(result.is_ok(), !state.is_terminal(), "{state:?}");
        if let Ok(d) = result {
            assert_eq!(d.issue, i);
        }
    }
}

fn step(
    i: &Issue,
    actor: &Actor,
    action: IssueAction,
    ctx: &Context<'_>,
) -> Result<Decision, Refusal> {
    decide(
        i,
        Agent::Person {
            actor,
            follows: false,
        },
        &Command::Act(action),
        ctx,
    )
}

/// Found by the `issue` fuzz target: reasons, updates and comments kept control characters
/// (a NUL, terminal escapes) that the issue's title and description are refused for.
#[test]
fn texts_on_actions_refuse_control_characters_but_keep_line_breaks_and_tabs() {
    let admin = superuser();
    let ctx = Context::default();
    let open = all_powerful(IssueState::InProgress);
    for bad in ["fixed\u{0}", "\u{1b}[31mred", "a\rb"] {
        let update = IssueAction::PostUpdate {
            text: bad.into(),
            internal: false,
        };
        assert!(
            matches!(step(&open, &admin, update, &ctx), Err(Refusal::Text(_))),
            "{bad:?}"
        );
        let reject = IssueAction::Reject { reason: bad.into() };
        let submitted = all_powerful(IssueState::Submitted);
        assert!(matches!(
            step(&submitted, &admin, reject, &ctx),
            Err(Refusal::Text(_))
        ));
        let rate = IssueAction::Rate {
            resolved: true,
            satisfaction: None,
            stars: None,
            comment: Some(bad.into()),
        };
        let rating = all_powerful(IssueState::AwaitingRating);
        assert!(matches!(
            step(&rating, &admin, rate, &ctx),
            Err(Refusal::Text(_))
        ));
    }
    let update = IssueAction::PostUpdate {
        text: " pipe replaced\n\tcheck tomorrow ".into(),
        internal: false,
    };
    let d = step(&open, &admin, update, &ctx).unwrap();
    assert_eq!(
        d.events[0].text.as_deref(),
        Some("pipe replaced\n\tcheck tomorrow")
    );
}

/// The issue's own texts: the title is one line, the description may run over several (tabs
/// included). Before the one text rule, a title took tabs and line breaks.
#[test]
fn a_title_is_one_line_and_a_description_a_body() {
    use crate::domain::text::{Problem, Text};
    let problem = |raw: &str, field| Text::parse(raw, field).err().map(|e| e.problem);
    for raw in ["Drain\tleaking", "Drain\nleaking"] {
        assert_eq!(problem(raw, &TITLE), Some(Problem::LineBreak), "{raw:?}");
        assert_eq!(problem(raw, &DESCRIPTION), None, "{raw:?}");
    }
    assert_eq!(
        problem(&"a".repeat(121), &TITLE),
        Some(Problem::TooLong(120))
    );
    assert_eq!(
        problem(&"a".repeat(2001), &DESCRIPTION),
        Some(Problem::TooLong(2000))
    );
    assert_eq!(problem(" ", &TITLE), Some(Problem::Empty));
    // A blank reason is refused as empty and says which field.
    let submitted = all_powerful(IssueState::Submitted);
    let reject = IssueAction::Reject { reason: " ".into() };
    let err = step(&submitted, &superuser(), reject, &Context::default()).unwrap_err();
    assert_eq!(err.to_string(), "the reason is empty");
}

#[test]
fn references_are_six_digits_and_grow_past_them() {
    assert_eq!(reference(IssueId(42)), "HH-000042");
    assert_eq!(reference(IssueId(1_234_567)), "HH-1234567");
}

#[test]
fn complete_needs_an_after_photo_where_the_category_says_so() {
    let admin = superuser();
    let mut i = all_powerful(IssueState::InProgress);
    i.has_after_photo = false;
    let roof = Context {
        category: find("roof_leak"),
        ..Context::default()
    };
    let err = step(&i, &admin, IssueAction::Complete { note: None }, &roof).unwrap_err();
    assert!(matches!(err, Refusal::Invalid(_)));
    // Noise needs no photo and no verification: straight to the rating.
    let noise = Context {
        category: find("noise"),
        ..Context::default()
    };
    let d = step(&i, &admin, IssueAction::Complete { note: None }, &noise).unwrap();
    assert_eq!(d.issue.state, IssueState::AwaitingRating);
}

#[test]
fn not_fixed_reopens_with_a_raised_priority_until_the_limit_escalates() {
    let admin = superuser();
    let ctx = Context {
        category: find("drainage"),
        ..Context::default()
    };
    let not_fixed = IssueAction::Rate {
        resolved: false,
        satisfaction: Some(hehe_protocol::issue::Satisfaction::Unsatisfied),
        stars: Some(1),
        comment: Some("still leaking".into()),
    };
    let mut i = all_powerful(IssueState::AwaitingRating);
    for round in 1..=2 {
        let d = step(&i, &admin, not_fixed.clone(), &ctx).unwrap();
        assert_eq!(d.issue.state, IssueState::Dispatched, "round {round}");
        assert_eq!(d.issue.assignee, Some(admin.id), "same worker");
        assert_eq!(d.issue.reopen_count, round);
        i = d.issue;
        i.state = IssueState::AwaitingRating;
        i.resolution = Some(Resolution::Fixed);
    }
    assert_eq!(i.priority, Priority::Red);
    let d = step(&i, &admin, not_fixed.clone(), &ctx).unwrap();
    assert_eq!(d.issue.state, IssueState::Escalated);
    assert_eq!(d.issue.level, Level::Community);
    assert_eq!(d.issue.assignee, None);
    // "Not fixed" must say why.
    let silent = IssueAction::Rate {
        resolved: false,
        satisfaction: None,
        stars: None,
        comment: None,
    };
    assert!(matches!(
        step(
            &all_powerful(IssueState::AwaitingRating),
            &admin,
            silent,
            &ctx
        ),
        Err(Refusal::Invalid(_))
    ));
    let bad_stars = IssueAction::Rate {
        resolved: true,
        satisfaction: None,
        stars: Some(6),
        comment: None,
    };
    assert!(
        step(
            &all_powerful(IssueState::AwaitingRating),
            &admin,
            bad_stars,
            &ctx
        )
        .is_err()
    );
}

#[test]
fn deadlines_warn_escalate_once_per_level_and_close_unrated_as_not_rated() {
    let i = all_powerful(IssueState::Dispatched);
    let warned = decide(
        &i,
        Agent::System,
        &Command::Warn(Clock::Resolve),
        &Context::default(),
    )
    .unwrap();
    assert_eq!(warned.issue, i);
    assert_eq!(warned.events[0].kind, "sla_warning");

    let breached = decide(
        &i,
        Agent::System,
        &Command::Breach(Clock::Resolve),
        &Context::default(),
    )
    .unwrap();
    assert_eq!(breached.issue.state, IssueState::Escalated);
    assert_eq!(breached.issue.level, Level::Community);
    assert_eq!(breached.breached, Some(Clock::Resolve));
    // A clock that does not run in the state cannot breach.
    assert!(
        decide(
            &breached.issue,
            Agent::System,
            &Command::Breach(Clock::Resolve),
            &Context::default()
        )
        .is_err()
    );

    let mut top = all_powerful(IssueState::InProgress);
    top.level = Level::Street;
    let d = decide(
        &top,
        Agent::System,
        &Command::Breach(Clock::Resolve),
        &Context::default(),
    )
    .unwrap();
    assert_eq!(
        d.issue.state,
        IssueState::InProgress,
        "nowhere further to go"
    );
    assert_eq!(d.breached, Some(Clock::Resolve));

    let waiting = all_powerful(IssueState::AwaitingRating);
    let d = decide(
        &waiting,
        Agent::System,
        &Command::Breach(Clock::Rate),
        &Context::default(),
    )
    .unwrap();
    assert_eq!(d.issue.state, IssueState::Closed);
    assert_eq!(d.issue.rated, Some(false));
    assert_eq!(
        d.issue.closure,
        Some(ClosureReason::Fixed),
        "the reason is kept; the rating is not faked"
    );

    // People cannot send clock commands, and the system cannot act as a person.
    let admin = superuser();
    assert_eq!(
        decide(
            &i,
            Agent::Person {
                actor: &admin,
                follows: false
            },
            &Command::Breach(Clock::Resolve),
            &Context::default()
        ),
        Err(Refusal::Forbidden)
    );
    assert_eq!(
        decide(
            &i,
            Agent::System,
            &Command::Act(IssueAction::Accept),
            &Context::default()
        ),
        Err(Refusal::Forbidden)
    );
}

#[test]
fn dispatch_goes_only_to_someone_working_the_area() {
    let chief = person(Role::StreetChief, Scope::Own);
    let mut i = issue();
    i.state = IssueState::Accepted;
    let far_worker = person(Role::GridWorker, Scope::OtherCommunity);
    let ctx = Context {
        category: find("drainage"),
        assignee: Some(&far_worker),
        merge_target: None,
    };
    let err = step(
        &i,
        &chief,
        IssueAction::Dispatch {
            assignee: far_worker.id,
        },
        &ctx,
    )
    .unwrap_err();
    assert!(matches!(err, Refusal::Invalid(_)));
    // Escalated to the street, a worker of the neighbouring community may take it.
    i.state = IssueState::Escalated;
    i.level = Level::Street;
    let d = step(
        &i,
        &chief,
        IssueAction::Dispatch {
            assignee: far_worker.id,
        },
        &ctx,
    )
    .unwrap();
    assert_eq!(d.issue.assignee, Some(far_worker.id));
}

#[test]
fn following() {
    let neighbour = person(Role::Resident, Scope::OtherCommunity);
    let i = issue();
    let d = decide(
        &i,
        Agent::Person {
            actor: &neighbour,
            follows: false,
        },
        &Command::Act(IssueAction::Follow),
        &Context::default(),
    )
    .unwrap();
    assert_eq!(d.follow, Some(true));
    assert!(d.events.is_empty());
    assert!(
        decide(
            &i,
            Agent::Person {
                actor: &neighbour,
                follows: true
            },
            &Command::Act(IssueAction::Follow),
            &Context::default()
        )
        .is_err()
    );
    let d = decide(
        &i,
        Agent::Person {
            actor: &neighbour,
            follows: true,
        },
        &Command::Act(IssueAction::Unfollow),
        &Context::default(),
    )
    .unwrap();
    assert_eq!(d.follow, Some(false));
}

// ---- random walks ---------------------------------------------------------------------------

fn any_action() -> impl Strategy<Value = IssueAction> {
    use IssueAction::*;
    let text = prop_oneof![
        Just(String::new()),
        Just("because".to_string()),
        Just("  ".to_string())
    ];
    prop_oneof![
        Just(Accept),
        text.clone().prop_map(|reason| Reject { reason }),
        (1..4i64).prop_map(|n| Merge { into: IssueId(n) }),
        prop_oneof![Just(WORKER), Just(AccountId(104)), Just(AccountId(9))]
            .prop_map(|assignee| Dispatch { assignee }),
        Just(Acknowledge),
        text.clone().prop_map(|reason| Return { reason }),
        text.clone().prop_map(|reason| Escalate { reason }),
        (text.clone(), any::<bool>()).prop_map(|(text, internal)| PostUpdate { text, internal }),
        Just(Complete { note: None }),
        (
            text.clone(),
            prop_oneof![
                Just(Resolution::Fixed),
                Just(Resolution::NotFixable),
                Just(Resolution::NotOurResponsibility)
            ]
        )
            .prop_map(|(explanation, resolution)| DeclareUnfixable {
                explanation,
                resolution
            }),
        Just(VerifyOk),
        text.clone().prop_map(|reason| VerifyFail { reason }),
        (
            any::<bool>(),
            proptest::option::of(0u8..7),
            proptest::option::of(text.clone())
        )
            .prop_map(|(resolved, stars, comment)| Rate {
                resolved,
                satisfaction: None,
                stars,
                comment
            }),
        Just(Withdraw),
        Just(Follow),
        Just(Unfollow),
        proptest::option::of(text.clone()).prop_map(|note| MeToo { note }),
    ]
}

#[derive(Debug, Clone)]
enum Who {
    Person(Role, u8),
    Clock(Clock, bool),
}

fn any_who() -> impl Strategy<Value = Who> {
    prop_oneof![
        4 => (0..7usize, 0..3u8).prop_map(|(r, s)| Who::Person(Role::ALL[r], s)),
        1 => (0..4usize, any::<bool>()).prop_map(|(c, breach)| Who::Clock(Clock::ALL[c], breach)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Random sequences of actions by random roles never break an invariant; refused ones are
    /// refused without a decision, and accepted ones log what they did.
    #[test]
    fn random_walks_keep_every_invariant(
        steps in proptest::collection::vec((any_who(), any_action(), any::<bool>()), 1..60),
        category in 0..CATEGORIES.len(),
    ) {
        let scopes = [Scope::Own, Scope::OtherCommunity, Scope::OtherStreet];
        let mut i = issue();
        i.assignee = None;
        i.has_after_photo = false;
        let target = { let mut t = issue(); t.id = IssueId(2); t.state = IssueState::Accepted; t };
        let worker = person(Role::GridWorker, Scope::Own);
        for (who, action, photo) in steps {
            if photo && matches!(i.state, IssueState::InProgress) {
                i.has_after_photo = true;
            }
            let ctx = Context { category: Some(&CATEGORIES[category]), assignee: Some(&worker), merge_target: Some(&target) };
            let before = i.clone();
            let result = match &who {
                Who::Person(role, scope) => {
                    let actor = person(*role, scopes[*scope as usize]);
                    decide(&i, Agent::Person { actor: &actor, follows: false }, &Command::Act(action.clone()), &ctx)
                }
                Who::Clock(clock, breach) => {
                    let command = if *breach { Command::Breach(*clock) } else { Command::Warn(*clock) };
                    decide(&i, Agent::System, &command, &ctx)
                }
            };
            prop_assert_eq!(&i, &before);
            if let Ok(d) = result {
                prop_assert!(invariants(&d.issue).is_ok(), "{:?} after {:?} by {:?}: {:?}", d.issue, action, who, invariants(&d.issue));
                if d.issue.state != before.state {
                    let last = d.events.last().expect("a state change is logged");
                    prop_assert_eq!(last.to, Some(d.issue.state));
                }
                prop_assert!(d.issue.reopen_count >= before.reopen_count);
                prop_assert!(d.issue.level >= before.level || d.issue.state == IssueState::Accepted);
                prop_assert!(!before.state.is_terminal() || d.issue.state == before.state, "left an end state");
                i = d.issue;
            }
        }
    }
}

/// `allowed_actions` lists exactly what `decide` takes with well-formed fields: for every role
/// in every scope, every state, level, following or not, and every kind of action.
#[test]
fn allowed_actions_are_what_decide_takes() {
    let category = CATEGORIES
        .iter()
        .find(|c| !c.requires_after_photo)
        .expect("a category without an after photo");
    let worker = person(Role::GridWorker, Scope::Own);
    let target = Issue {
        id: IssueId(2),
        state: IssueState::Accepted,
        ..issue()
    };
    let ctx = Context {
        category: Some(category),
        assignee: Some(&worker),
        merge_target: Some(&target),
    };
    let well_formed = |kind: IssueActionKind| {
        let text = || "已到现场查看".to_owned();
        match kind {
            IssueActionKind::Accept => IssueAction::Accept,
            IssueActionKind::Reject => IssueAction::Reject { reason: text() },
            IssueActionKind::Merge => IssueAction::Merge { into: target.id },
            IssueActionKind::Dispatch => IssueAction::Dispatch {
                assignee: worker.id,
            },
            IssueActionKind::Acknowledge => IssueAction::Acknowledge,
            IssueActionKind::Return => IssueAction::Return { reason: text() },
            IssueActionKind::Escalate => IssueAction::Escalate { reason: text() },
            IssueActionKind::PostUpdate => IssueAction::PostUpdate {
                text: text(),
                internal: false,
            },
            IssueActionKind::PostNote => IssueAction::PostUpdate {
                text: text(),
                internal: true,
            },
            IssueActionKind::Complete => IssueAction::Complete { note: None },
            IssueActionKind::DeclareUnfixable => IssueAction::DeclareUnfixable {
                explanation: text(),
                resolution: Resolution::NotOurResponsibility,
            },
            IssueActionKind::VerifyOk => IssueAction::VerifyOk,
            IssueActionKind::VerifyFail => IssueAction::VerifyFail { reason: text() },
            IssueActionKind::Rate => IssueAction::Rate {
                resolved: true,
                satisfaction: None,
                stars: Some(5),
                comment: None,
            },
            IssueActionKind::Withdraw => IssueAction::Withdraw,
            IssueActionKind::MeToo => IssueAction::MeToo { note: None },
            IssueActionKind::Follow => IssueAction::Follow,
            IssueActionKind::Unfollow => IssueAction::Unfollow,
        }
    };
    let mut checked = 0;
    for role in Role::ALL {
        for scope in [Scope::Own, Scope::OtherCommunity, Scope::OtherStreet] {
            let actor = person(role, scope);
            for state in IssueState::ALL {
                for level in [Level::Grid, Level::Community, Level::Street] {
                    for follows in [false, true] {
                        let subject = Issue {
                            state,
                            level,
                            ..issue()
                        };
                        let allowed = allowed_actions(&actor, &subject, follows);
                        for kind in IssueActionKind::ALL {
                            let agent = Agent::Person {
                                actor: &actor,
                                follows,
                            };
                            let command = Command::Act(well_formed(kind));
                            let taken = decide(&subject, agent, &command, &ctx);
                            assert_eq!(
                                allowed.contains(&kind),
                                taken.is_ok(),
                                "{role:?} {scope:?} {state:?} {level:?} follows={follows} \
                                 {kind:?}: {taken:?}"
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(checked, Role::ALL.len() * 3 * 10 * 3 * 2 * 18);
}
