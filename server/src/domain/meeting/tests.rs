//! The living room's rules: who may do what, in which state, and random sessions that keep
//! the room consistent.

use super::*;
use hehe_protocol::meeting::NewMeeting;
use proptest::prelude::*;

const CHAIR: AccountId = AccountId(1);
const SECRETARY: AccountId = AccountId(2);
const ALICE: AccountId = AccountId(3);
const MUTED: AccountId = AccountId(4);
const REMOVED: AccountId = AccountId(5);
const OUTSIDER: AccountId = AccountId(6);

fn actor(id: AccountId) -> RoomActor {
    RoomActor {
        id,
        chair: id == CHAIR,
        secretary: id == SECRETARY,
        party: id == ALICE || id == MUTED,
        mediator: false,
        eligible: id != OUTSIDER,
    }
}

/// A live hearing with one muted and one removed participant, and an open vote.
fn live_room() -> Room {
    let mut room = Room::new(
        MeetingKind::Hearing,
        MeetingState::Published,
        CHAIR,
        Some(SECRETARY),
        3,
    );
    for e in [
        RoomEvent::Started,
        RoomEvent::Muted { who: MUTED },
        RoomEvent::Removed { who: REMOVED },
        RoomEvent::VoteOpened {
            vote: Vote {
                id: 1,
                question: "Replace the pipe now?".into(),
                options: vec!["yes".into(), "no".into()],
                multiple: false,
                anonymous: false,
                hide_results: false,
                open: true,
            },
        },
    ] {
        room.apply(&e);
    }
    room
}

fn all_actors() -> [AccountId; 6] {
    [CHAIR, SECRETARY, ALICE, MUTED, REMOVED, OUTSIDER]
}

fn check(room: &Room, action: RoomAction, allowed: [bool; 6]) {
    for (id, want) in all_actors().into_iter().zip(allowed) {
        let got = decide(room, &actor(id), &action);
        assert_eq!(got.is_ok(), want, "{action:?} by {id:?}: {got:?}");
    }
}

#[test]
fn chair_only_actions() {
    let room = live_room();
    let chair_only = [true, false, false, false, false, false];
    for action in [
        RoomAction::End,
        RoomAction::Lock,
        RoomAction::Unlock,
        RoomAction::SetMode {
            mode: RoomMode::FloorOnly,
        },
        RoomAction::GiveFloor { to: Some(ALICE) },
        RoomAction::Mute { who: ALICE },
        RoomAction::Remove { who: ALICE },
        RoomAction::SetAgendaItem { index: 2 },
        RoomAction::OpenVote {
            vote: NewVote {
                question: "Q".into(),
                options: vec!["a".into(), "b".into()],
                multiple: false,
                anonymous: true,
                hide_results: true,
            },
        },
        RoomAction::CloseVote { vote: 1 },
        RoomAction::Unmute { who: MUTED },
        RoomAction::Readmit { who: REMOVED },
    ] {
        check(&room, action, chair_only);
    }
}

#[test]
fn what_everyone_present_may_do() {
    let room = live_room();
    // chair, secretary, participant, muted, removed, outsider
    check(
        &room,
        RoomAction::Say {
            text: "I am for it.".into(),
        },
        [true, true, true, false, false, false],
    );
    check(
        &room,
        RoomAction::React {
            emoji: "👍".into()
        },
        [true, true, true, false, false, false],
    );
    check(
        &room,
        RoomAction::RaiseHand,
        [true, true, true, true, false, false],
    );
    check(
        &room,
        RoomAction::CastVote {
            vote: 1,
            choices: vec![0],
        },
        [true, true, true, true, false, false],
    );
    check(
        &room,
        RoomAction::AppendMinutes {
            text: "Item 1 discussed.".into(),
        },
        [true, true, false, false, false, false],
    );
    assert_eq!(
        decide(&room, &actor(MUTED), &RoomAction::Say { text: "x".into() }),
        Err(RoomRefusal::Muted)
    );
    assert_eq!(
        decide(
            &room,
            &actor(REMOVED),
            &RoomAction::Say { text: "x".into() }
        ),
        Err(RoomRefusal::Removed)
    );
    assert_eq!(
        decide(&room, &actor(OUTSIDER), &RoomAction::RaiseHand),
        Err(RoomRefusal::NotAllowed)
    );
}

#[test]
fn the_chair_cannot_be_muted_or_removed() {
    let room = live_room();
    assert!(decide(&room, &actor(CHAIR), &RoomAction::Mute { who: CHAIR }).is_err());
    assert!(decide(&room, &actor(CHAIR), &RoomAction::Remove { who: CHAIR }).is_err());
}

#[test]
fn floor_only_mode_lets_only_the_speaker_and_the_chair_post() {
    let mut room = live_room();
    room.apply(&RoomEvent::ModeSet {
        mode: RoomMode::FloorOnly,
    });
    let say = RoomAction::Say {
        text: "Point of order.".into(),
    };
    assert_eq!(
        decide(&room, &actor(ALICE), &say),
        Err(RoomRefusal::NotYourFloor)
    );
    // Alice raises her hand; the chair gives the floor to the first hand.
    for e in decide(&room, &actor(ALICE), &RoomAction::RaiseHand).unwrap() {
        room.apply(&e);
    }
    let given = decide(&room, &actor(CHAIR), &RoomAction::GiveFloor { to: None }).unwrap();
    assert_eq!(given, [RoomEvent::FloorGiven { to: ALICE }]);
    room.apply(&given[0]);
    assert!(room.hands.is_empty());
    assert!(decide(&room, &actor(ALICE), &say).is_ok());
    assert_eq!(
        decide(&room, &actor(SECRETARY), &say),
        Err(RoomRefusal::NotYourFloor)
    );
    assert!(decide(&room, &actor(CHAIR), &say).is_ok());
    // The speaker gives the floor back; then nobody but the chair posts.
    for e in decide(&room, &actor(ALICE), &RoomAction::TakeFloor).unwrap() {
        room.apply(&e);
    }
    assert_eq!(
        decide(&room, &actor(ALICE), &say),
        Err(RoomRefusal::NotYourFloor)
    );
}

#[test]
fn a_locked_room_admits_only_those_already_in() {
    let mut room = live_room();
    room.apply(&RoomEvent::Entered { who: ALICE });
    room.apply(&RoomEvent::Locked);
    assert!(may_enter(&room, &actor(ALICE)).is_ok());
    assert!(may_enter(&room, &actor(CHAIR)).is_ok());
    assert_eq!(
        may_enter(&room, &actor(SECRETARY)),
        Err(RoomRefusal::Locked)
    );
    assert_eq!(may_enter(&room, &actor(REMOVED)), Err(RoomRefusal::Removed));
    assert_eq!(
        may_enter(&room, &actor(OUTSIDER)),
        Err(RoomRefusal::NotAllowed)
    );
    room.apply(&RoomEvent::Readmitted { who: REMOVED });
    room.apply(&RoomEvent::Unlocked);
    assert!(may_enter(&room, &actor(REMOVED)).is_ok());
}

#[test]
fn the_lifecycle_runs_one_way() {
    let chair = actor(CHAIR);
    let mut room = Room::new(
        MeetingKind::Hearing,
        MeetingState::Published,
        CHAIR,
        None,
        0,
    );
    assert_eq!(
        decide(&room, &chair, &RoomAction::End),
        Err(RoomRefusal::WrongState(MeetingState::Published))
    );
    assert_eq!(
        decide(&room, &actor(ALICE), &RoomAction::RaiseHand),
        Err(RoomRefusal::WrongState(MeetingState::Published))
    );
    room.apply(&decide(&room, &chair, &RoomAction::Start).unwrap()[0]);
    assert_eq!(room.state, MeetingState::Live);
    assert!(decide(&room, &chair, &RoomAction::Start).is_err());
    let minutes = RoomAction::PublishMinutes {
        text: "Decided: replace the pipe.".into(),
    };
    assert!(
        decide(&room, &chair, &minutes).is_err(),
        "not before the end"
    );
    room.apply(&decide(&room, &chair, &RoomAction::End).unwrap()[0]);
    assert!(
        decide(
            &room,
            &actor(ALICE),
            &RoomAction::Say {
                text: "late".into()
            }
        )
        .is_err()
    );
    // In a meeting without a secretary, that person is a participant like any other.
    let participant = RoomActor {
        secretary: false,
        ..actor(SECRETARY)
    };
    assert!(decide(&room, &participant, &minutes).is_err());
    room.apply(&decide(&room, &chair, &minutes).unwrap()[0]);
    assert_eq!(room.state, MeetingState::Closed);
}

#[test]
fn votes_check_their_ballots_and_anonymity_hides_the_voter() {
    let chair = actor(CHAIR);
    let mut room = live_room();
    let open = RoomAction::OpenVote {
        vote: NewVote {
            question: "Which contractor?".into(),
            options: vec!["A".into(), "B".into(), "C".into()],
            multiple: true,
            anonymous: true,
            hide_results: true,
        },
    };
    let opened = decide(&room, &chair, &open).unwrap();
    room.apply(&opened[0]);
    let vote = room.vote(2).unwrap().clone();
    assert!(vote.anonymous && vote.multiple && vote.open);
    let cast = decide(
        &room,
        &actor(ALICE),
        &RoomAction::CastVote {
            vote: 2,
            choices: vec![0, 2],
        },
    )
    .unwrap();
    assert_eq!(
        cast,
        [RoomEvent::VoteCast {
            vote: 2,
            voter: None
        }]
    );
    for bad in [vec![], vec![0, 0], vec![3]] {
        assert!(
            decide(
                &room,
                &actor(ALICE),
                &RoomAction::CastVote {
                    vote: 2,
                    choices: bad
                }
            )
            .is_err()
        );
    }
    // The single-choice vote takes one option, and names its voter.
    assert!(
        decide(
            &room,
            &actor(ALICE),
            &RoomAction::CastVote {
                vote: 1,
                choices: vec![0, 1]
            }
        )
        .is_err()
    );
    let named = decide(
        &room,
        &actor(ALICE),
        &RoomAction::CastVote {
            vote: 1,
            choices: vec![1],
        },
    )
    .unwrap();
    assert_eq!(
        named,
        [RoomEvent::VoteCast {
            vote: 1,
            voter: Some(ALICE)
        }]
    );
    room.apply(&decide(&room, &chair, &RoomAction::CloseVote { vote: 2 }).unwrap()[0]);
    assert!(
        decide(
            &room,
            &actor(ALICE),
            &RoomAction::CastVote {
                vote: 2,
                choices: vec![1]
            }
        )
        .is_err()
    );
    assert!(decide(&room, &chair, &RoomAction::CloseVote { vote: 2 }).is_err());
    assert_eq!(tally(&vote, &[vec![0, 2], vec![2], vec![1]]), [1, 1, 2]);
    // Bad votes are refused before they exist.
    let one_option = NewVote {
        question: "Q".into(),
        options: vec!["only".into()],
        multiple: false,
        anonymous: false,
        hide_results: false,
    };
    assert!(decide(&room, &chair, &RoomAction::OpenVote { vote: one_option }).is_err());
    let twins = NewVote {
        question: "Q".into(),
        options: vec!["a".into(), "a".into()],
        multiple: false,
        anonymous: false,
        hide_results: false,
    };
    assert!(decide(&room, &chair, &RoomAction::OpenVote { vote: twins }).is_err());
}

fn any_action() -> impl Strategy<Value = RoomAction> {
    let who = prop_oneof![
        Just(CHAIR),
        Just(SECRETARY),
        Just(ALICE),
        Just(MUTED),
        Just(REMOVED)
    ];
    let text = prop_oneof![Just("hello".to_string()), Just(String::new())];
    prop_oneof![
        Just(RoomAction::Start),
        Just(RoomAction::End),
        text.clone()
            .prop_map(|text| RoomAction::PublishMinutes { text }),
        Just(RoomAction::Lock),
        Just(RoomAction::Unlock),
        prop_oneof![Just(RoomMode::Open), Just(RoomMode::FloorOnly)]
            .prop_map(|mode| RoomAction::SetMode { mode }),
        Just(RoomAction::RaiseHand),
        Just(RoomAction::LowerHand),
        proptest::option::of(who.clone()).prop_map(|to| RoomAction::GiveFloor { to }),
        Just(RoomAction::TakeFloor),
        who.clone().prop_map(|who| RoomAction::Mute { who }),
        who.clone().prop_map(|who| RoomAction::Unmute { who }),
        who.clone().prop_map(|who| RoomAction::Remove { who }),
        who.clone().prop_map(|who| RoomAction::Readmit { who }),
        text.clone().prop_map(|text| RoomAction::Say { text }),
        (0..4u32).prop_map(|index| RoomAction::SetAgendaItem { index }),
        any::<bool>().prop_map(|anonymous| RoomAction::OpenVote {
            vote: NewVote {
                question: "Q".into(),
                options: vec!["a".into(), "b".into()],
                multiple: false,
                anonymous,
                hide_results: false
            }
        }),
        (1..4u32, proptest::collection::vec(0..3u32, 0..3))
            .prop_map(|(vote, choices)| RoomAction::CastVote { vote, choices }),
        (1..4u32).prop_map(|vote| RoomAction::CloseVote { vote }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// Random sessions keep the room consistent, and replaying the log rebuilds it exactly.
    #[test]
    fn random_sessions_keep_the_room_consistent(
        steps in proptest::collection::vec((0..6usize, any_action()), 1..80)
    ) {
        let fresh = || Room::new(MeetingKind::Hearing, MeetingState::Published, CHAIR, Some(SECRETARY), 3);
        let mut room = fresh();
        let mut log = Vec::new();
        for (who, action) in steps {
            let a = actor(all_actors()[who]);
            let before = room.clone();
            match decide(&room, &a, &action) {
                Ok(events) => {
                    for e in &events {
                        room.apply(e);
                    }
                    log.extend(events);
                }
                Err(_) => prop_assert_eq!(&room, &before),
            }
            prop_assert!(!room.muted.contains(&CHAIR) && !room.removed.contains(&CHAIR));
            prop_assert!(room.floor.is_none_or(|f| !room.removed.contains(&f)));
            let hands: BTreeSet<_> = room.hands.iter().collect();
            prop_assert_eq!(hands.len(), room.hands.len(), "a hand is raised once");
            prop_assert!(room.hands.iter().all(|h| !room.removed.contains(h)));
            prop_assert!(room.votes.iter().enumerate().all(|(i, v)| v.id == i as u32 + 1));
            prop_assert!(room.state == MeetingState::Live || room.votes.iter().all(|v| !v.open));
        }
        let mut replayed = fresh();
        for e in &log {
            replayed.apply(e);
        }
        prop_assert_eq!(replayed, room);
    }
}

#[test]
fn a_draft_is_the_chairs_until_published_and_may_be_called_off() {
    let chair = actor(CHAIR);
    let mut room = Room::new(MeetingKind::General, MeetingState::Draft, CHAIR, None, 0);
    assert_eq!(
        may_enter(&room, &actor(ALICE)),
        Err(RoomRefusal::NotAllowed)
    );
    assert!(may_enter(&room, &chair).is_ok());
    assert!(
        decide(&room, &chair, &RoomAction::Start).is_err(),
        "publish first"
    );
    assert_eq!(
        decide(&room, &actor(ALICE), &RoomAction::Publish),
        Err(RoomRefusal::NotAllowed)
    );
    room.apply(&decide(&room, &chair, &RoomAction::Publish).unwrap()[0]);
    assert!(may_enter(&room, &actor(ALICE)).is_ok());
    room.apply(&decide(&room, &chair, &RoomAction::Cancel).unwrap()[0]);
    assert_eq!(room.state, MeetingState::Cancelled);
    assert!(decide(&room, &chair, &RoomAction::Start).is_err());
    assert!(decide(&room, &chair, &RoomAction::Cancel).is_err());
}

#[test]
fn a_mediation_ends_in_an_agreement_every_party_confirms_or_in_a_recorded_failure() {
    let chair = actor(CHAIR);
    let mut room = Room::new(
        MeetingKind::Mediation,
        MeetingState::Published,
        CHAIR,
        None,
        0,
    )
    .with_parties([ALICE, MUTED]);
    let propose = RoomAction::ProposeAgreement {
        terms: "Quiet hours 22:00-07:00.".into(),
        deadline: 1_800_000_000_000,
    };
    assert!(
        decide(&room, &chair, &propose).is_err(),
        "not before the session"
    );
    room.apply(&RoomEvent::Started);
    assert_eq!(
        decide(&room, &actor(ALICE), &RoomAction::ConfirmAgreement),
        Err(RoomRefusal::Invalid("no agreement is proposed"))
    );
    assert_eq!(
        decide(&room, &actor(ALICE), &propose),
        Err(RoomRefusal::NotChair)
    );
    room.apply(&decide(&room, &chair, &propose).unwrap()[0]);
    // Only parties confirm; the first of two does not settle it.
    assert!(decide(&room, &actor(SECRETARY), &RoomAction::ConfirmAgreement).is_err());
    let first = decide(&room, &actor(ALICE), &RoomAction::ConfirmAgreement).unwrap();
    assert_eq!(first, [RoomEvent::AgreementConfirmed { who: ALICE }]);
    room.apply(&first[0]);
    assert!(
        decide(&room, &actor(ALICE), &RoomAction::ConfirmAgreement).is_err(),
        "once"
    );
    let second = decide(&room, &actor(MUTED), &RoomAction::ConfirmAgreement).unwrap();
    assert_eq!(
        second,
        [
            RoomEvent::AgreementConfirmed { who: MUTED },
            RoomEvent::AgreementReached
        ]
    );
    for e in &second {
        room.apply(e);
    }
    assert_eq!(room.outcome, Some(Outcome::Agreed));
    assert!(
        decide(
            &room,
            &chair,
            &RoomAction::RecordFailure {
                referral: "court".into(),
                follow_up: None
            }
        )
        .is_err()
    );

    // Another mediation fails, with a referral.
    let mut other =
        Room::new(MeetingKind::Mediation, MeetingState::Live, CHAIR, None, 0).with_parties([ALICE]);
    let failed = decide(
        &other,
        &chair,
        &RoomAction::RecordFailure {
            referral: "The district court.".into(),
            follow_up: None,
        },
    )
    .unwrap();
    other.apply(&failed[0]);
    assert!(matches!(other.outcome, Some(Outcome::Failed { .. })));
    // A hearing has no agreement to propose.
    let hearing = live_room();
    assert!(decide(&hearing, &chair, &propose).is_err());
}

#[test]
fn who_may_call_a_meeting() {
    use crate::domain::access::{Actor, Grant};
    use crate::domain::places::PlacePath;
    use hehe_protocol::{PlaceId, Role};
    let street = PlacePath::street(PlaceId(1));
    let home = PlacePath::community(PlaceId(1), PlaceId(10));
    let other_home = PlacePath::community(PlaceId(1), PlaceId(11));
    let holder = |role, scope| Actor {
        id: AccountId(9),
        grants: vec![Grant { role, scope }],
    };
    let official = holder(Role::CommunityOfficial, Some(home));
    let chief = holder(Role::StreetChief, Some(street));
    assert!(may_create(&official, &home));
    assert!(!may_create(&official, &other_home));
    assert!(
        !may_create(&official, &street),
        "a street meeting is the chief's"
    );
    assert!(may_create(&chief, &home) && may_create(&chief, &street));
    assert!(!may_create(&holder(Role::Resident, Some(home)), &home));
    assert!(!may_create(
        &holder(
            Role::GridWorker,
            Some(PlacePath::grid(PlaceId(1), PlaceId(10), PlaceId(100)))
        ),
        &home
    ));
    assert!(!may_create(&holder(Role::Ops, None), &home));
    assert!(may_create(&holder(Role::Admin, None), &street));
}

#[test]
fn a_hearing_publishes_one_decision_after_it_ends() {
    let chair = actor(CHAIR);
    let mut room = live_room();
    let decide_it = RoomAction::PublishDecision {
        text: "The pipe is replaced in March; the fund pays 70 %.".into(),
        follow_ups: vec!["Get three quotes".into(), "Notify building 1".into()],
    };
    assert_eq!(
        decide(&room, &chair, &decide_it),
        Err(RoomRefusal::WrongState(MeetingState::Live))
    );
    room.apply(&RoomEvent::Ended);
    assert_eq!(
        decide(&room, &actor(ALICE), &decide_it),
        Err(RoomRefusal::NotChair)
    );
    let published = decide(&room, &chair, &decide_it).unwrap();
    room.apply(&published[0]);
    assert!(room.decision.is_some());
    assert!(decide(&room, &chair, &decide_it).is_err(), "once");
    let mediation = Room::new(MeetingKind::Mediation, MeetingState::Ended, CHAIR, None, 0);
    assert!(decide(&mediation, &chair, &decide_it).is_err());
}

/// Every civic role × kind of meeting: who may know of it, be in it, and chair it.
#[test]
fn standing_matrix() {
    use crate::domain::access::{Actor, Grant};
    use crate::domain::places::PlacePath;
    use hehe_protocol::{PlaceId, Role};
    let street = PlacePath::street(PlaceId(1));
    let home = PlacePath::community(PlaceId(1), PlaceId(10));
    let neighbours = PlacePath::community(PlaceId(1), PlaceId(11));
    let person = |id: i64, role: Role, scope: Option<PlacePath>| Actor {
        id: AccountId(id),
        grants: vec![Grant { role, scope }],
    };
    let people = [
        ("resident", person(11, Role::Resident, Some(home))),
        (
            "building lead",
            person(
                12,
                Role::BuildingLead,
                Some(PlacePath::building(
                    PlaceId(1),
                    PlaceId(10),
                    PlaceId(100),
                    PlaceId(1000),
                )),
            ),
        ),
        (
            "grid worker",
            person(
                13,
                Role::GridWorker,
                Some(PlacePath::grid(PlaceId(1), PlaceId(10), PlaceId(100))),
            ),
        ),
        ("official", person(14, Role::CommunityOfficial, Some(home))),
        ("street chief", person(15, Role::StreetChief, Some(street))),
        ("ops", person(16, Role::Ops, None)),
        ("admin", person(17, Role::Admin, None)),
        (
            "far resident",
            person(
                18,
                Role::Resident,
                Some(PlacePath::community(PlaceId(2), PlaceId(20))),
            ),
        ),
    ];
    let chair = AccountId(99);
    let facts = |place, private| MeetingFacts {
        place,
        private,
        chair,
        secretary: None,
    };
    // Per meeting: what each person (in the order above) gets: '-' unknown, 'o' outside
    // (knows of it, may not be in it), 'p' participant, 'c' chair.
    let cases = [
        ("hearing of the community", facts(home, false), "pppppoco"),
        ("meeting of the street", facts(street, false), "pppppoco"),
        (
            "hearing of the neighbours",
            facts(neighbours, false),
            "oooopoco",
        ),
        ("mediation, not a member", facts(home, true), "--------"),
    ];
    for (name, facts, expected) in cases {
        let expected: Vec<char> = expected.chars().collect();
        for ((who, actor), want) in people.iter().zip(&expected) {
            let got = match standing(actor, &facts, None) {
                None => '-',
                Some(s) if s.chair => 'c',
                Some(s) if s.eligible => 'p',
                Some(_) => 'o',
            };
            assert_eq!(got, *want, "{who} at the {name}");
        }
    }
    // Members of a mediation stand in it, a party as a party; its mediator chairs it.
    let mediation = facts(home, true);
    let party = standing(&people[5].1, &mediation, Some(Membership::Party)).unwrap();
    assert!(
        party.eligible && party.party && !party.chair,
        "even ops, as a party"
    );
    let mediator = standing(&people[3].1, &mediation, Some(Membership::Mediator)).unwrap();
    assert!(mediator.eligible && !mediator.party);
    let chairing = standing(
        &Actor {
            id: chair,
            grants: vec![],
        },
        &mediation,
        None,
    )
    .unwrap();
    assert!(chairing.chair && chairing.eligible);
    assert!(
        standing(&people[6].1, &mediation, None).is_none(),
        "admins do not chair mediations"
    );
}

#[test]
fn statements_are_put_on_record_by_the_parties_and_mediators_of_a_mediation() {
    let mut room = Room::new(
        MeetingKind::Mediation,
        MeetingState::Published,
        CHAIR,
        None,
        0,
    )
    .with_parties([ALICE]);
    let statement = RoomAction::Statement {
        text: "The leak started in May.".into(),
    };
    // Before the session (the investigation) and during it.
    assert_eq!(
        decide(&room, &actor(ALICE), &statement).unwrap(),
        [RoomEvent::StatementMade {
            who: ALICE,
            text: "The leak started in May.".into()
        }]
    );
    let mediator = RoomActor {
        mediator: true,
        ..actor(SECRETARY)
    };
    assert!(decide(&room, &mediator, &statement).is_ok());
    assert!(decide(&room, &actor(CHAIR), &statement).is_ok());
    let bystander = RoomActor {
        party: false,
        ..actor(ALICE)
    };
    assert!(decide(&room, &bystander, &statement).is_err());
    room.apply(&RoomEvent::Started);
    room.apply(&RoomEvent::MediationFailed {
        referral: "court".into(),
        follow_up: None,
    });
    assert!(
        decide(&room, &actor(ALICE), &statement).is_err(),
        "not after the outcome"
    );
    assert!(
        decide(&live_room(), &actor(ALICE), &statement).is_err(),
        "a hearing takes no statements"
    );
}

/// Who may know of a meeting and read it, over every standing and state: those who run it
/// always, those it is for once it is published, nobody else.
#[test]
fn who_sees_a_meeting_in_each_state() {
    use MeetingState::*;
    let states = [Draft, Published, Live, Ended, Closed, Cancelled];
    for chair in [false, true] {
        for secretary in [false, true] {
            for eligible in [false, true] {
                let actor = RoomActor {
                    id: ALICE,
                    chair,
                    secretary,
                    party: false,
                    mediator: false,
                    eligible,
                };
                for state in states {
                    let expected = chair || secretary || (eligible && state != Draft);
                    assert_eq!(may_see(&actor, state), expected, "{actor:?} in {state:?}");
                }
            }
        }
    }
}

/// One text rule (`domain::text`) for a room: what is said, minuted, stated or agreed may hold
/// line breaks and tabs; a vote's question and options and a decision's follow-up items are one
/// line each. Before the rule was one, a tab was refused everywhere in a room and a line break
/// taken everywhere.
#[test]
fn a_rooms_texts_follow_the_one_text_rule() {
    let room = live_room();
    let chair = actor(CHAIR);
    let body = "Costs:\tsee the sheet\nWho pays:\topen";
    for action in [
        RoomAction::Say { text: body.into() },
        RoomAction::AppendMinutes { text: body.into() },
    ] {
        let events = decide(&room, &chair, &action).unwrap();
        let kept = match &events[..] {
            [RoomEvent::Said { text, .. }] | [RoomEvent::MinutesAppended { text }] => text,
            other => panic!("{other:?}"),
        };
        assert_eq!(kept, body);
    }
    let vote = |question: &str, options: [&str; 2]| RoomAction::OpenVote {
        vote: NewVote {
            question: question.into(),
            options: options.map(String::from).to_vec(),
            multiple: false,
            anonymous: false,
            hide_results: false,
        },
    };
    for action in [
        vote("Replace\nthe pipe?", ["yes", "no"]),
        vote("Replace the pipe?", ["yes\tnow", "no"]),
        vote("Replace the pipe?", ["yes", " "]),
        RoomAction::Say {
            text: "a\rb".into(),
        },
        RoomAction::Say { text: " ".into() },
    ] {
        assert!(
            matches!(decide(&room, &chair, &action), Err(RoomRefusal::Text(_))),
            "{action:?}"
        );
    }
    assert!(decide(&room, &chair, &vote(" Replace the pipe? ", ["yes", "no"])).is_ok());
    // A hearing's decision is a body; its follow-up items are lines.
    let mut ended = room.clone();
    for e in decide(&ended, &chair, &RoomAction::End).unwrap() {
        ended.apply(&e);
    }
    let decision = |follow_up: &str| RoomAction::PublishDecision {
        text: body.into(),
        follow_ups: vec![follow_up.into()],
    };
    assert!(decide(&ended, &chair, &decision("Replace the pipe")).is_ok());
    assert!(matches!(
        decide(&ended, &chair, &decision("Replace\nthe pipe")),
        Err(RoomRefusal::Text(_))
    ));
}

fn new_meeting(kind: MeetingKind) -> NewMeeting {
    NewMeeting {
        kind,
        title: " Who pays for the new drain? ".into(),
        description: String::new(),
        place_id: hehe_protocol::PlaceId(10),
        agenda: vec![" Options ".into(), "Vote".into()],
        secretary: None,
        capacity: None,
        parties: vec![],
        mediators: vec![],
        issues: vec![],
        previous_round: None,
    }
}

#[test]
fn a_new_meeting_is_checked_before_anything_is_stored() {
    let checked = check_new(&new_meeting(MeetingKind::Hearing)).unwrap();
    assert_eq!(
        checked,
        CheckedMeeting {
            title: "Who pays for the new drain?".into(),
            description: String::new(),
            agenda: vec!["Options".into(), "Vote".into()],
        }
    );
    type Change = fn(&mut NewMeeting);
    let refused: [(&str, Change); 7] = [
        ("blank title", |n| n.title = "  ".into()),
        ("title of two lines", |n| n.title = "Drain\nrepair".into()),
        ("long title", |n| n.title = "a".repeat(121)),
        ("blank agenda item", |n| n.agenda.push(" ".into())),
        ("51 agenda items", |n| n.agenda = vec!["item".into(); 51]),
        ("an appraisal", |n| n.kind = MeetingKind::Appraisal),
        ("parties of a hearing", |n| n.parties = vec![ALICE, MUTED]),
    ];
    for (case, change) in refused {
        let mut new = new_meeting(MeetingKind::Hearing);
        change(&mut new);
        assert!(check_new(&new).is_err(), "{case}");
    }
    let mut mediation = new_meeting(MeetingKind::Mediation);
    mediation.parties = vec![ALICE, MUTED];
    mediation.description = "Who:\tthe neighbours\nWhat:\tthe noise".into();
    assert!(check_new(&mediation).is_ok());
}

#[test]
fn rounds_follow_their_kind_and_place_and_mediations_have_two_parties() {
    use MeetingKind::*;
    let place = hehe_protocol::PlaceId(10);
    let elsewhere = hehe_protocol::PlaceId(11);
    for kind in [General, Hearing, Mediation, Appraisal] {
        let new = new_meeting(kind);
        let follows = matches!(kind, Hearing | Mediation);
        assert_eq!(may_follow(&new, kind, place), follows, "{kind:?}");
        assert!(!may_follow(&new, kind, elsewhere), "{kind:?} elsewhere");
        let other = if kind == Hearing { Mediation } else { Hearing };
        assert!(!may_follow(&new, other, place), "{kind:?} after {other:?}");
        for parties in 0..3 {
            let enough = kind != Mediation || parties >= 2;
            assert_eq!(check_parties(kind, parties).is_ok(), enough, "{kind:?}");
        }
    }
    use crate::domain::places::PlacePath;
    let (s, c, g) = (
        hehe_protocol::PlaceId(1),
        hehe_protocol::PlaceId(10),
        hehe_protocol::PlaceId(100),
    );
    assert!(may_be_held_at(&PlacePath::street(s)));
    assert!(may_be_held_at(&PlacePath::community(s, c)));
    assert!(!may_be_held_at(&PlacePath::grid(s, c, g)));
    assert!(!may_be_held_at(&PlacePath::building(
        s,
        c,
        g,
        hehe_protocol::PlaceId(1000)
    )));
}
