//! The appraisal rules: permissions, the state machine, setups, ballots, counts and follow-ups.

use super::*;
use crate::domain::access::Grant;
use crate::domain::fixtures::{building, community, grid, street};
use hehe_protocol::PlaceId;
use hehe_protocol::appraisal::{NewAppraisee, NewDimension};
use std::collections::BTreeMap;

fn actor(id: i64, role: Role, scope: Option<PlacePath>) -> Actor {
    Actor {
        id: AccountId(id),
        grants: vec![Grant { role, scope }],
    }
}

const CHAIR: AccountId = AccountId(5);

/// The people around an appraisal of community 10 (street 1) chaired by official 5, with
/// whether each is in its electorate.
fn people() -> Vec<(&'static str, Actor, bool)> {
    vec![
        (
            "resident in the electorate",
            actor(1, Role::Resident, Some(community(1, 10))),
            true,
        ),
        (
            "resident not in it",
            actor(2, Role::Resident, Some(community(1, 10))),
            false,
        ),
        (
            "building lead in the electorate",
            actor(3, Role::BuildingLead, Some(building(1, 10, 100, 1000))),
            true,
        ),
        (
            "grid worker",
            actor(4, Role::GridWorker, Some(grid(1, 10, 100))),
            false,
        ),
        (
            "community official of the place, the chair",
            actor(5, Role::CommunityOfficial, Some(community(1, 10))),
            false,
        ),
        (
            "another official of the place",
            actor(6, Role::CommunityOfficial, Some(community(1, 10))),
            false,
        ),
        (
            "street chief of the street",
            actor(7, Role::StreetChief, Some(street(1))),
            false,
        ),
        (
            "official of another community",
            actor(8, Role::CommunityOfficial, Some(community(1, 11))),
            false,
        ),
        ("ops", actor(9, Role::Ops, None), false),
        ("admin", actor(10, Role::Admin, None), false),
    ]
}

// Columns: set up, open, close, publish, cast, void, read, read results, read ballots.
const MATRIX: [(&str, [u8; 9]); 10] = [
    ("resident in the electorate", [0, 0, 0, 0, 1, 0, 1, 1, 0]),
    ("resident not in it", [0, 0, 0, 0, 0, 0, 1, 0, 0]),
    (
        "building lead in the electorate",
        [0, 0, 0, 0, 1, 0, 1, 1, 0],
    ),
    ("grid worker", [0, 0, 0, 0, 0, 0, 1, 1, 0]),
    (
        "community official of the place, the chair",
        [1, 1, 1, 1, 0, 1, 1, 1, 1],
    ),
    ("another official of the place", [1, 0, 0, 0, 0, 0, 1, 1, 0]),
    ("street chief of the street", [1, 0, 0, 0, 0, 0, 1, 1, 0]),
    ("official of another community", [0; 9]),
    ("ops", [0; 9]),
    ("admin", [1, 1, 1, 1, 0, 1, 1, 1, 1]),
];

#[test]
fn permission_matrix() {
    let people = people();
    assert_eq!(people.len(), MATRIX.len());
    for ((name, actor, elector), (row, expected)) in people.iter().zip(MATRIX) {
        assert_eq!(*name, row, "table rows out of order");
        let standing = Standing {
            place: community(1, 10),
            chair: CHAIR,
            elector: *elector,
        };
        for (action, want) in Action::ALL.into_iter().zip(expected) {
            assert_eq!(
                permitted(actor, &standing, action),
                want == 1,
                "{name} × {action:?}"
            );
        }
    }
}

#[test]
fn a_street_appraisal_is_called_by_the_street_chief_and_open_to_its_residents() {
    let place = street(1);
    let standing = Standing {
        place,
        chair: CHAIR,
        elector: false,
    };
    let chief = actor(7, Role::StreetChief, Some(street(1)));
    let official = actor(5, Role::CommunityOfficial, Some(community(1, 10)));
    let other_chief = actor(11, Role::StreetChief, Some(street(2)));
    assert!(permitted(&chief, &standing, Action::SetUp));
    assert!(!permitted(&official, &standing, Action::SetUp));
    assert!(!permitted(&other_chief, &standing, Action::SetUp));
    assert!(!permitted(&other_chief, &standing, Action::Read));

    assert!(may_be_elector(
        &actor(1, Role::Resident, Some(community(1, 10))),
        &place
    ));
    assert!(may_be_elector(
        &actor(3, Role::BuildingLead, Some(building(1, 11, 110, 1100))),
        &place
    ));
    assert!(!may_be_elector(
        &actor(2, Role::Resident, Some(community(2, 20))),
        &place
    ));
    for role in [
        Role::GridWorker,
        Role::CommunityOfficial,
        Role::StreetChief,
        Role::Ops,
        Role::Admin,
    ] {
        let scope = (!matches!(role, Role::Ops | Role::Admin)).then_some(street(1));
        assert!(!may_be_elector(&actor(4, role, scope), &place), "{role}");
    }
    // A community appraisal takes only that community's people.
    assert!(!may_be_elector(
        &actor(1, Role::Resident, Some(community(1, 11))),
        &community(1, 10)
    ));
    // Nor a street-wide resident grant for a community appraisal.
    assert!(!may_be_elector(
        &actor(1, Role::Resident, Some(street(1))),
        &community(1, 10)
    ));
    assert!(appraisable(&street(1)) && appraisable(&community(1, 10)));
    assert!(!appraisable(&grid(1, 10, 100)) && !appraisable(&building(1, 10, 100, 1000)));
}

#[test]
fn the_state_machine_only_moves_forward_one_step_at_a_time() {
    use AppraisalState::*;
    let mut state = Prepared;
    for (step, next) in [
        (Move::Open, Balloting),
        (Move::Close, Counting),
        (Move::Publish, Published),
    ] {
        for other in Move::ALL.into_iter().filter(|m| *m != step) {
            assert_eq!(advance(state, other), Err(Refusal::WrongState(state)));
        }
        state = advance(state, step).unwrap();
        assert_eq!(state, next);
    }
    for step in Move::ALL {
        assert_eq!(
            advance(Published, step),
            Err(Refusal::WrongState(Published))
        );
    }
    for s in AppraisalState::ALL {
        assert_eq!(may_cast_in(s).is_ok(), s == Balloting, "{s:?}");
        assert_eq!(may_void_in(s).is_ok(), s == Counting, "{s:?}");
    }
}

fn new_appraisal() -> NewAppraisal {
    NewAppraisal {
        title: "Spring appraisal".into(),
        place_id: PlaceId(10),
        appraisees: vec![
            NewAppraisee {
                name: "Liu Yang".into(),
                account_id: Some(AccountId(50)),
                service: None,
            },
            NewAppraisee {
                name: "Property management".into(),
                account_id: None,
                service: Some("Green Leaf Property".into()),
            },
        ],
        dimensions: vec![
            NewDimension {
                name: "Responsiveness".into(),
                weight: 2.0,
                scale: 5,
            },
            NewDimension {
                name: "Results".into(),
                weight: 1.0,
                scale: 10,
            },
            NewDimension {
                name: "Attitude".into(),
                weight: 1.0,
                scale: 5,
            },
        ],
        electorate: vec![AccountId(3), AccountId(1), AccountId(2)],
        anonymous: true,
        low_score_threshold: None,
    }
}

fn setup() -> Setup {
    check_setup(&new_appraisal()).unwrap().setup
}

#[test]
fn a_setup_is_checked_and_its_weights_normalised() {
    let checked = check_setup(&new_appraisal()).unwrap();
    assert_eq!(checked.title, "Spring appraisal");
    assert_eq!(
        checked.electorate,
        [AccountId(1), AccountId(2), AccountId(3)]
    );
    assert_eq!(checked.setup.low_score_threshold, DEFAULT_LOW_SCORE);
    assert_eq!(checked.setup.normalised_weights(), [0.5, 0.25, 0.25]);

    let refused = |change: fn(&mut NewAppraisal)| {
        let mut new = new_appraisal();
        change(&mut new);
        assert!(
            matches!(check_setup(&new), Err(Refusal::Invalid(_))),
            "{new:?}"
        );
    };
    refused(|n| n.title = "  ".into());
    refused(|n| n.title = "x".repeat(MAX_TITLE + 1));
    refused(|n| n.appraisees.clear());
    refused(|n| n.dimensions.clear());
    refused(|n| n.electorate.clear());
    refused(|n| n.electorate.push(AccountId(1)));
    refused(|n| n.appraisees[0].name = "\u{7}bell".into());
    refused(|n| n.appraisees[1].account_id = Some(AccountId(51)));
    refused(|n| n.appraisees[1].account_id = Some(AccountId(50)));
    refused(|n| n.dimensions[1].name = "Attitude".into());
    for weight in [0.0, -1.0, f64::NAN, f64::INFINITY, MAX_WEIGHT * 2.0] {
        let mut new = new_appraisal();
        new.dimensions[0].weight = weight;
        assert!(check_setup(&new).is_err(), "weight {weight}");
    }
    refused(|n| n.dimensions[0].scale = 0);
    refused(|n| n.dimensions[0].scale = MAX_SCALE + 1);
    refused(|n| n.low_score_threshold = Some(100.5));
    refused(|n| n.low_score_threshold = Some(f64::NAN));
    // A service with no account, or neither, is fine.
    let mut new = new_appraisal();
    new.appraisees[1].service = None;
    new.appraisees[1].account_id = None;
    new.low_score_threshold = Some(75.0);
    assert_eq!(check_setup(&new).unwrap().setup.low_score_threshold, 75.0);
}

fn ballot(scores: [[u32; 3]; 2], grades: [Grade; 2]) -> NewBallot {
    NewBallot {
        request_id: None,
        scores: scores
            .iter()
            .enumerate()
            .map(|(a, row)| {
                (
                    a as u32,
                    row.iter()
                        .enumerate()
                        .map(|(d, s)| (d as u32, *s))
                        .collect(),
                )
            })
            .collect(),
        grade: grades
            .iter()
            .enumerate()
            .map(|(a, g)| (a as u32, *g))
            .collect(),
        comment: None,
    }
}

#[test]
fn a_ballot_scores_every_appraisee_on_every_dimension_within_its_scale() {
    use Grade::*;
    let setup = setup();
    let mut good = ballot([[5, 10, 0], [0, 3, 5]], [Satisfied, Unsatisfied]);
    good.comment = Some("  \n ".into());
    let checked = check_ballot(&setup, &good).unwrap();
    assert_eq!(checked.scores, [[5, 10, 0], [0, 3, 5]]);
    assert_eq!(checked.grades, [Satisfied, Unsatisfied]);
    assert_eq!(checked.comment, None);

    let refused = |change: &dyn Fn(&mut NewBallot)| {
        let mut b = ballot([[1, 1, 1], [1, 1, 1]], [Basic, Basic]);
        change(&mut b);
        assert!(
            matches!(check_ballot(&setup, &b), Err(Refusal::Invalid(_))),
            "{b:?}"
        );
    };
    refused(&|b| {
        b.scores.remove(&1);
    });
    refused(&|b| {
        let row = b.scores[&0].clone();
        b.scores.insert(2, row);
    });
    refused(&|b| {
        let row = b.scores[&1].clone();
        b.scores.remove(&1);
        b.scores.insert(7, row);
    });
    refused(&|b| {
        b.scores.entry(0).or_default().remove(&2);
    });
    refused(&|b| {
        b.scores.entry(0).or_default().insert(3, 1);
    });
    refused(&|b| {
        b.scores.entry(1).or_default().insert(0, 6);
    });
    refused(&|b| {
        b.scores.entry(1).or_default().insert(1, 11);
    });
    refused(&|b| {
        b.grade.remove(&0);
    });
    refused(&|b| {
        b.grade.insert(2, Basic);
    });
    refused(&|b| b.comment = Some("x".repeat(MAX_COMMENT + 1)));
    // The top of each scale is a valid score.
    let top = ballot([[5, 10, 5], [5, 10, 5]], [Basic, Basic]);
    assert!(check_ballot(&setup, &top).is_ok());
    let empty = NewBallot {
        request_id: None,
        scores: BTreeMap::new(),
        grade: BTreeMap::new(),
        comment: None,
    };
    assert!(check_ballot(&setup, &empty).is_err());
}

/// One text rule (`domain::text`): names and titles are one line; a comment and a void's
/// reason may hold line breaks and tabs. Before the rule was one, names and titles took line
/// breaks and comments refused tabs.
#[test]
fn names_are_lines_and_comments_bodies() {
    use Grade::*;
    for bad in ["Spring\nappraisal", "Spring\tappraisal"] {
        let mut new = new_appraisal();
        new.title = bad.into();
        assert!(
            matches!(check_setup(&new), Err(Refusal::Invalid(_))),
            "{bad:?}"
        );
        let mut new = new_appraisal();
        new.dimensions[0].name = bad.into();
        assert!(
            matches!(check_setup(&new), Err(Refusal::Invalid(_))),
            "{bad:?}"
        );
    }
    let mut b = ballot([[1, 1, 1], [1, 1, 1]], [Basic, Basic]);
    b.comment = Some(" Fast:\tyes\nFriendly:\tyes ".into());
    let checked = check_ballot(&setup(), &b).unwrap();
    assert_eq!(
        checked.comment.as_deref(),
        Some("Fast:\tyes\nFriendly:\tyes")
    );
    b.comment = Some("bell\u{7}".into());
    assert_eq!(
        check_ballot(&setup(), &b),
        Err(Refusal::Invalid(
            "the comment holds control characters".into()
        ))
    );
    let reason = Text::parse("Cast twice:\tsee the log", &VOID_REASON).unwrap();
    assert_eq!(reason.as_str(), "Cast twice:\tsee the log");
}

fn counted(scores: [[u32; 3]; 2], grades: [Grade; 2], status: BallotStatus) -> Counted {
    Counted {
        scores: scores.iter().map(|r| r.to_vec()).collect(),
        grades: grades.to_vec(),
        status,
    }
}

fn three_ballots() -> Vec<Counted> {
    use BallotStatus::*;
    use Grade::*;
    vec![
        counted([[5, 10, 5], [2, 4, 1]], [Satisfied, Unsatisfied], Valid),
        counted([[4, 8, 3], [3, 5, 2]], [Basic, Unsatisfied], Valid),
        // Voided: counted as cast, left out of the results.
        counted([[0, 0, 0], [5, 10, 5]], [Unsatisfied, Satisfied], Void),
    ]
}

#[test]
fn the_counts_reconcile_or_the_count_stops() {
    let setup = setup();
    let ballots = three_ballots();
    let counts = reconcile(&setup, 5, 3, &ballots).unwrap();
    assert_eq!(
        counts,
        AppraisalCounts {
            issued: 5,
            cast: 3,
            valid: 2,
            void: 1,
            not_returned: 2
        }
    );
    assert_eq!(counts.cast, counts.valid + counts.void);
    assert_eq!(counts.issued, counts.cast + counts.not_returned);

    // A receipt without its ballot, or a ballot without a receipt.
    assert!(matches!(
        reconcile(&setup, 5, 4, &ballots),
        Err(Refusal::Unreconciled(_))
    ));
    assert!(matches!(
        reconcile(&setup, 5, 2, &ballots),
        Err(Refusal::Unreconciled(_))
    ));
    // More cast than issued.
    assert!(matches!(
        reconcile(&setup, 2, 3, &ballots),
        Err(Refusal::Unreconciled(_))
    ));
    // A ballot that does not fit the setup.
    let mut odd = ballots.clone();
    odd[0].scores[1].pop();
    assert!(matches!(
        reconcile(&setup, 5, 3, &odd),
        Err(Refusal::Unreconciled(_))
    ));
    let mut odd = ballots;
    odd[1].scores[0][1] = 11;
    assert!(reconcile(&setup, 5, 3, &odd).is_err());
    assert_eq!(
        reconcile(&setup, 4, 0, &[]).unwrap(),
        AppraisalCounts {
            issued: 4,
            cast: 0,
            valid: 0,
            void: 0,
            not_returned: 4
        }
    );
}

#[test]
fn results_are_weighted_means_scaled_to_100_from_valid_ballots() {
    let setup = setup();
    let results = results(&setup, &three_ballots());
    assert_eq!(results.len(), 2);
    // Appraisee 0: means 4.5/5, 9/10, 4/5 → 90, 90, 80; weights ½ ¼ ¼ → 87.5.
    let first = &results[0];
    assert_eq!(first.name, "Liu Yang");
    let means: Vec<_> = first.dimensions.iter().map(|d| d.average).collect();
    assert_eq!(means, [Some(4.5), Some(9.0), Some(4.0)]);
    let scores: Vec<_> = first.dimensions.iter().map(|d| d.score).collect();
    assert_eq!(scores, [Some(90.0), Some(90.0), Some(80.0)]);
    assert_eq!(first.overall, Some(87.5));
    assert!(!first.low);
    assert_eq!(
        first.grades.satisfied,
        GradeShare {
            count: 1,
            share: 0.5
        }
    );
    assert_eq!(
        first.grades.basic,
        GradeShare {
            count: 1,
            share: 0.5
        }
    );
    assert_eq!(
        first.grades.unsatisfied,
        GradeShare {
            count: 0,
            share: 0.0
        }
    );
    // Appraisee 1: means 2.5/5, 4.5/10, 1.5/5 → 50, 45, 30 → 25 + 11.25 + 7.5 = 43.75.
    let second = &results[1];
    let scores: Vec<_> = second.dimensions.iter().map(|d| d.score).collect();
    assert_eq!(scores, [Some(50.0), Some(45.0), Some(30.0)]);
    assert_eq!(second.overall, Some(43.75));
    assert!(second.low);
    assert_eq!(
        second.grades.unsatisfied,
        GradeShare {
            count: 2,
            share: 1.0
        }
    );

    // Thirds are rounded for display, and the low flag follows the rounded figure.
    let mut setup = setup;
    setup.dimensions.truncate(1);
    setup.low_score_threshold = 66.67;
    let thirds = [4u32, 3, 3].map(|s| Counted {
        scores: vec![vec![s], vec![5]],
        grades: vec![Grade::Basic, Grade::Satisfied],
        status: BallotStatus::Valid,
    });
    let r = super::results(&setup, &thirds);
    assert_eq!(r[0].dimensions[0].average, Some(3.33));
    assert_eq!(r[0].overall, Some(66.67));
    assert!(!r[0].low);
    assert_eq!(r[1].grades.satisfied.share, 1.0);
    let r = super::results(&setup, &thirds[1..]);
    assert_eq!(r[0].overall, Some(60.0));
    assert!(r[0].low);
}

#[test]
fn without_valid_ballots_there_are_no_means_and_nothing_is_low() {
    use Grade::*;
    let setup = setup();
    let only_void = [counted(
        [[0, 0, 0], [0, 0, 0]],
        [Unsatisfied, Unsatisfied],
        BallotStatus::Void,
    )];
    for ballots in [&[][..], &only_void[..]] {
        for r in results(&setup, ballots) {
            assert_eq!(r.overall, None);
            assert!(!r.low);
            assert!(r.dimensions.iter().all(|d| d.average.is_none()));
            assert_eq!(
                r.grades.unsatisfied,
                GradeShare {
                    count: 0,
                    share: 0.0
                }
            );
        }
    }
}

#[test]
fn a_low_score_opens_a_follow_up_owned_by_the_appraisee_or_the_chair() {
    let mut setup = setup();
    let ballots = [counted(
        [[1, 2, 1], [1, 2, 1]],
        [Grade::Unsatisfied, Grade::Unsatisfied],
        BallotStatus::Valid,
    )];
    let results = results(&setup, &ballots);
    assert!(results.iter().all(|r| r.low));
    let now = 1_700_000_000_000;
    let items = follow_ups("Spring appraisal", &setup, &results, CHAIR, now);
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].owner, AccountId(50), "the appraisee's own account");
    assert_eq!(items[1].owner, CHAIR, "a service has no account: the chair");
    for (i, item) in items.iter().enumerate() {
        assert_eq!(item.appraisee, i as u32);
        assert_eq!(item.due_at, now + 30 * 24 * 3600 * 1000);
        assert!(item.title.contains("Spring appraisal"), "{}", item.title);
    }
    assert!(items[1].title.contains("Property management"));

    setup.low_score_threshold = 0.0;
    let results = super::results(&setup, &ballots);
    assert!(follow_ups("x", &setup, &results, CHAIR, now).is_empty());
}
