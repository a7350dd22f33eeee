//! What a person may do in a room, for the buttons a client shows. `decide` checks, in this
//! order, whether the actor may be in the room, whether their standing allows the action,
//! whether the meeting's state does, and only then the action's fields (whose hand, which vote,
//! the text). An action is allowed when `decide` gets past the first three with it: its fields
//! may still be refused, but no copy of the rules is needed to know which buttons to show.

use super::{Room, RoomActor, RoomRefusal, decide};
use hehe_protocol::AccountId;
use hehe_protocol::meeting::{
    MeetingKind, MeetingState, NewVote, RoomAction, RoomActionKind, RoomMode,
};
use std::collections::BTreeMap;

/// The kinds `actor` may take in `room` now, in `RoomActionKind::ALL`'s order.
pub fn allowed_actions(room: &Room, actor: &RoomActor) -> Vec<RoomActionKind> {
    RoomActionKind::ALL
        .into_iter()
        .filter(|&kind| fits_the_meeting(room, actor, kind))
        .filter(
            |&kind| match decide(room, actor, &example(kind, actor.id)) {
                Ok(_) => true,
                Err(refusal) => !stops_the_kind(&refusal),
            },
        )
        .collect()
}

/// `allowed_actions` for each state the meeting may be in, the rest of the room as it is: a
/// client follows the state from the room's events without asking again.
pub fn allowed_by_state(
    room: &Room,
    actor: &RoomActor,
) -> BTreeMap<MeetingState, Vec<RoomActionKind>> {
    MeetingState::ALL
        .into_iter()
        .map(|state| {
            let there = Room {
                state,
                ..room.clone()
            };
            (state, allowed_actions(&there, actor))
        })
        .collect()
}

/// What the kind of meeting and its outcome so far leave open. `decide` refuses the rest as
/// invalid fields, but no fields would make them possible: a hearing has no agreement to
/// propose, a mediation that ended in one takes no other, a decision is published once.
fn fits_the_meeting(room: &Room, actor: &RoomActor, kind: RoomActionKind) -> bool {
    use RoomActionKind as K;
    let mediation = room.kind == MeetingKind::Mediation && room.outcome.is_none();
    match kind {
        K::ProposeAgreement | K::RecordFailure | K::Statement => mediation,
        K::ConfirmAgreement => {
            mediation
                && room
                    .agreement
                    .as_ref()
                    .is_some_and(|a| !a.confirmed.contains(&actor.id))
        }
        K::PublishDecision => room.kind == MeetingKind::Hearing && room.decision.is_none(),
        _ => true,
    }
}

/// Refusals of the actor's standing or the meeting's state: no fields would change them.
/// Who holds the floor is not among them: it moves from minute to minute, so `say` stays
/// listed in `floor_only` mode (and is refused to all but the speaker and the chair), and a
/// change of mode does not send a whole room back to ask what it may do.
fn stops_the_kind(refusal: &RoomRefusal) -> bool {
    match refusal {
        RoomRefusal::NotChair
        | RoomRefusal::NotAllowed
        | RoomRefusal::Removed
        | RoomRefusal::Muted
        | RoomRefusal::Locked
        | RoomRefusal::WrongState(_) => true,
        RoomRefusal::NotYourFloor | RoomRefusal::Invalid(_) | RoomRefusal::Text(_) => false,
    }
}

/// An action of the kind. Its fields are placeholders: they matter only after the standing and
/// the state were checked.
fn example(kind: RoomActionKind, me: AccountId) -> RoomAction {
    use RoomActionKind as K;
    let text = String::new;
    match kind {
        K::Start => RoomAction::Start,
        K::End => RoomAction::End,
        K::PublishMinutes => RoomAction::PublishMinutes { text: text() },
        K::Lock => RoomAction::Lock,
        K::Unlock => RoomAction::Unlock,
        K::SetMode => RoomAction::SetMode {
            mode: RoomMode::Open,
        },
        K::RaiseHand => RoomAction::RaiseHand,
        K::LowerHand => RoomAction::LowerHand,
        K::GiveFloor => RoomAction::GiveFloor { to: None },
        K::TakeFloor => RoomAction::TakeFloor,
        K::Mute => RoomAction::Mute { who: me },
        K::Unmute => RoomAction::Unmute { who: me },
        K::Remove => RoomAction::Remove { who: me },
        K::Readmit => RoomAction::Readmit { who: me },
        K::Say => RoomAction::Say { text: text() },
        K::React => RoomAction::React { emoji: text() },
        K::AppendMinutes => RoomAction::AppendMinutes { text: text() },
        K::SetAgendaItem => RoomAction::SetAgendaItem { index: u32::MAX },
        K::OpenVote => RoomAction::OpenVote {
            vote: NewVote {
                question: text(),
                options: Vec::new(),
                multiple: false,
                anonymous: false,
                hide_results: false,
            },
        },
        K::CastVote => RoomAction::CastVote {
            vote: u32::MAX,
            choices: Vec::new(),
        },
        K::CloseVote => RoomAction::CloseVote { vote: u32::MAX },
        K::Publish => RoomAction::Publish,
        K::Cancel => RoomAction::Cancel,
        K::ProposeAgreement => RoomAction::ProposeAgreement {
            terms: text(),
            deadline: 0,
        },
        K::ConfirmAgreement => RoomAction::ConfirmAgreement,
        K::RecordFailure => RoomAction::RecordFailure {
            referral: text(),
            follow_up: None,
        },
        K::Statement => RoomAction::Statement { text: text() },
        K::PublishDecision => RoomAction::PublishDecision {
            text: text(),
            follow_ups: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAIR: AccountId = AccountId(1);
    const SECRETARY: AccountId = AccountId(2);
    const RESIDENT: AccountId = AccountId(3);

    fn room(kind: MeetingKind, state: MeetingState) -> Room {
        Room::new(kind, state, CHAIR, Some(SECRETARY), 3)
    }

    fn standing(id: AccountId) -> RoomActor {
        RoomActor {
            id,
            chair: id == CHAIR,
            secretary: id == SECRETARY,
            party: false,
            mediator: id == CHAIR,
            eligible: true,
        }
    }

    #[test]
    fn each_example_is_of_its_kind_and_named_as_on_the_wire() {
        for kind in RoomActionKind::ALL {
            let action = example(kind, RESIDENT);
            assert_eq!(action.kind(), kind);
            let tag = serde_json::to_value(&action).unwrap()["kind"].clone();
            assert_eq!(tag, serde_json::to_value(kind).unwrap(), "{kind:?}");
        }
    }

    /// The rows of PROTOCOL.md 11.2 for a hearing, as the buttons each person gets.
    #[test]
    fn a_hearing_as_its_chair_secretary_and_a_resident_see_it() {
        use RoomActionKind as K;
        let hearing = |state| room(MeetingKind::Hearing, state);
        let resident = standing(RESIDENT);
        assert_eq!(
            allowed_actions(&hearing(MeetingState::Live), &resident),
            vec![K::RaiseHand, K::LowerHand, K::Say, K::React, K::CastVote]
        );
        assert_eq!(
            allowed_actions(&hearing(MeetingState::Published), &resident),
            Vec::<RoomActionKind>::new()
        );
        let chair = standing(CHAIR);
        assert_eq!(
            allowed_actions(&hearing(MeetingState::Published), &chair),
            vec![K::Start, K::Readmit, K::CloseVote, K::Cancel]
        );
        let live = allowed_actions(&hearing(MeetingState::Live), &chair);
        for kind in [
            K::End,
            K::Lock,
            K::GiveFloor,
            K::Mute,
            K::OpenVote,
            K::AppendMinutes,
        ] {
            assert!(live.contains(&kind), "the chair may {kind:?} live");
        }
        assert!(!live.contains(&K::Start) && !live.contains(&K::PublishMinutes));
        let secretary = standing(SECRETARY);
        let ended = allowed_actions(&hearing(MeetingState::Ended), &secretary);
        assert!(ended.contains(&K::PublishMinutes) && ended.contains(&K::AppendMinutes));
        assert!(!ended.contains(&K::PublishDecision), "the chair's alone");
    }

    #[test]
    fn a_mediation_offers_its_own_steps_until_its_outcome() {
        use RoomActionKind as K;
        let party = RoomActor {
            party: true,
            ..standing(RESIDENT)
        };
        let mut live = room(MeetingKind::Mediation, MeetingState::Live).with_parties([RESIDENT]);
        let chair = allowed_actions(&live, &standing(CHAIR));
        for kind in [K::ProposeAgreement, K::RecordFailure, K::Statement] {
            assert!(chair.contains(&kind), "the mediator may {kind:?}");
        }
        assert!(!chair.contains(&K::PublishDecision), "a hearing's");
        assert!(!allowed_actions(&live, &party).contains(&K::ConfirmAgreement));
        live.agreement = Some(super::super::Agreement {
            terms: "修好下水管".into(),
            deadline: 1,
            confirmed: Default::default(),
        });
        assert!(allowed_actions(&live, &party).contains(&K::ConfirmAgreement));
        live.outcome = Some(super::super::Outcome::Agreed);
        let after = allowed_actions(&live, &standing(CHAIR));
        assert!(!after.contains(&K::ProposeAgreement) && !after.contains(&K::RecordFailure));
        let hearing = room(MeetingKind::Hearing, MeetingState::Ended);
        assert!(allowed_actions(&hearing, &standing(CHAIR)).contains(&K::PublishDecision));
    }

    #[test]
    fn muted_and_removed_people_lose_their_buttons() {
        use RoomActionKind as K;
        let mut live = room(MeetingKind::Hearing, MeetingState::Live);
        live.muted.insert(RESIDENT);
        let resident = standing(RESIDENT);
        assert_eq!(
            allowed_actions(&live, &resident),
            vec![K::RaiseHand, K::LowerHand, K::CastVote],
            "muted: hands and votes still"
        );
        live.muted.clear();
        live.mode = RoomMode::FloorOnly;
        assert!(
            allowed_actions(&live, &resident).contains(&K::Say),
            "the floor is a matter of the moment: refused when said, not hidden"
        );
        live.removed.insert(RESIDENT);
        assert_eq!(
            allowed_actions(&live, &resident),
            Vec::<RoomActionKind>::new()
        );
    }

    /// Every standing, state and kind: allowed exactly when `decide` refuses neither the
    /// standing nor the state, whatever the fields.
    #[test]
    fn allowed_is_what_decide_does_not_refuse_for_standing_or_state() {
        for kind in [MeetingKind::Hearing, MeetingKind::Mediation] {
            for state in MeetingState::ALL {
                for id in [CHAIR, SECRETARY, RESIDENT, AccountId(9)] {
                    let mut actor = standing(id);
                    actor.eligible = id != AccountId(9);
                    let here = room(kind, state);
                    let by_state = allowed_by_state(&here, &actor);
                    assert_eq!(by_state[&state], allowed_actions(&here, &actor));
                    for action in RoomActionKind::ALL {
                        let refused = decide(&here, &actor, &example(action, id))
                            .err()
                            .is_some_and(|r| stops_the_kind(&r));
                        assert_eq!(
                            by_state[&state].contains(&action),
                            !refused && fits_the_meeting(&here, &actor, action),
                            "{kind:?} {state:?} {id:?} {action:?}"
                        );
                    }
                }
            }
        }
    }
}
