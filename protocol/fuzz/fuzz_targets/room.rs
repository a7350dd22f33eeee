//! A meeting's living room (`server/src/domain/meeting.rs`) driven by any sequence of room
//! actions, by people with any standing.
//!
//! Refused actions add nothing; accepted ones keep the room consistent (the chair is never
//! muted or removed, hands are raised once and never by the removed, votes are numbered in
//! order and open only while live), move the meeting only along its lifecycle, log only clean
//! text, survive a store round trip as JSON, and replaying the log rebuilds the room exactly.

#![no_main]

use arbitrary::{Result, Unstructured};
use hehe_fuzz::domain::meeting::{
    Outcome, Room, RoomActor, RoomEvent, decide, may_enter, tally, valid_choices,
};
use hehe_fuzz::{any_text, assert_clean_text};
use hehe_protocol::AccountId;
use hehe_protocol::meeting::{MeetingKind, MeetingState, NewVote, RoomAction, RoomMode};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeSet;

const CHAIR: AccountId = AccountId(1);
const TEXT_MAX: usize = 2000;

fuzz_target!(|data: &[u8]| {
    let _ = session(&mut Unstructured::new(data));
});

fn account(u: &mut Unstructured<'_>) -> Result<AccountId> {
    Ok(AccountId(u.int_in_range(1..=6)?))
}

fn vote(u: &mut Unstructured<'_>) -> Result<NewVote> {
    let mut options = Vec::new();
    for _ in 0..u.int_in_range(0..=22)? {
        options.push(if u.ratio(1, 4)? {
            any_text(u)?
        } else {
            u.int_in_range(0..=9u8)?.to_string()
        });
    }
    Ok(NewVote {
        question: any_text(u)?,
        options,
        multiple: u.arbitrary()?,
        anonymous: u.arbitrary()?,
        hide_results: u.arbitrary()?,
    })
}

fn action(u: &mut Unstructured<'_>) -> Result<RoomAction> {
    use RoomAction as A;
    Ok(match u.int_in_range(0..=28)? {
        0 => A::Start,
        1 => A::End,
        2 => A::PublishMinutes { text: any_text(u)? },
        3 => A::Lock,
        4 => A::Unlock,
        5 => A::SetMode {
            mode: *u.choose(&[RoomMode::Open, RoomMode::FloorOnly])?,
        },
        6 => A::RaiseHand,
        7 => A::LowerHand,
        8 => A::GiveFloor {
            to: if u.arbitrary()? {
                Some(account(u)?)
            } else {
                None
            },
        },
        9 => A::TakeFloor,
        10 => A::Mute { who: account(u)? },
        11 => A::Unmute { who: account(u)? },
        12 => A::Remove { who: account(u)? },
        13 => A::Readmit { who: account(u)? },
        14 => A::Say { text: any_text(u)? },
        15 => A::React {
            emoji: if u.arbitrary()? {
                any_text(u)?
            } else {
                "👍".into()
            },
        },
        16 => A::AppendMinutes { text: any_text(u)? },
        17 => A::SetAgendaItem {
            index: u.arbitrary()?,
        },
        18 => A::OpenVote { vote: vote(u)? },
        19 => A::CastVote {
            vote: u.int_in_range(0..=4)?,
            choices: (0..u.int_in_range(0..=4)?)
                .map(|_| u.int_in_range(0..=22u32))
                .collect::<Result<_>>()?,
        },
        20 => A::CloseVote {
            vote: u.int_in_range(0..=4)?,
        },
        21 => A::Publish,
        22 => A::Cancel,
        23 => A::ProposeAgreement {
            terms: any_text(u)?,
            deadline: u.arbitrary()?,
        },
        24 => A::ConfirmAgreement,
        25 => A::RecordFailure {
            referral: any_text(u)?,
            follow_up: u.arbitrary()?,
        },
        26 => A::Statement { text: any_text(u)? },
        _ => A::PublishDecision {
            text: any_text(u)?,
            follow_ups: (0..u.int_in_range(0..=21)?)
                .map(|_| any_text(u))
                .collect::<Result<_>>()?,
        },
    })
}

fn session(u: &mut Unstructured<'_>) -> Result<()> {
    let kind = *u.choose(&[
        MeetingKind::Hearing,
        MeetingKind::Mediation,
        MeetingKind::Appraisal,
        MeetingKind::General,
    ])?;
    let state = *u.choose(&[MeetingState::Draft, MeetingState::Published])?;
    let secretary = if u.arbitrary()? {
        Some(account(u)?)
    } else {
        None
    };
    let agenda = u.int_in_range(0..=5)?;
    let parties: Vec<AccountId> = (0..u.int_in_range(0..=3)?)
        .map(|_| account(u))
        .collect::<Result<_>>()?;
    let fresh = || Room::new(kind, state, CHAIR, secretary, agenda).with_parties(parties.clone());
    let mut room = fresh();
    let mut log = Vec::new();

    while !u.is_empty() {
        let id = account(u)?;
        let actor = RoomActor {
            id,
            // An admin stands in for the chair of a public meeting.
            chair: id == CHAIR || u.ratio(1, 8)?,
            secretary: Some(id) == secretary,
            party: room.parties.contains(&id),
            mediator: u.arbitrary()?,
            eligible: u.ratio(7, 8)?,
        };
        let act = action(u)?;
        let _ = may_enter(&room, &actor);
        let Ok(events) = decide(&room, &actor, &act) else {
            continue;
        };
        assert!(!events.is_empty(), "{act:?} accepted with nothing to log");
        let before = room.clone();
        for event in &events {
            entry(event);
            room.apply(event);
        }
        consistent(&before, &room, &events);
        log.extend(events);
    }

    let mut replayed = fresh();
    for event in &log {
        replayed.apply(event);
    }
    assert_eq!(replayed, room, "the log does not rebuild the room");
    Ok(())
}

/// A log entry is stored as JSON and read back; its texts are as clean as the rules promise.
fn entry(event: &RoomEvent) {
    let json = serde_json::to_string(event).unwrap();
    let back: RoomEvent = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
    assert_eq!(&back, event);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json).unwrap()["kind"],
        event.kind()
    );
    // Bodies keep line breaks and tabs; lines (a vote's question and options, follow-ups) not.
    let clean = |t: &str| assert_clean_text(t, TEXT_MAX, &['\n', '\t'], event.kind());
    let line = |t: &str| assert_clean_text(t, TEXT_MAX, &[], event.kind());
    match event {
        RoomEvent::MinutesPublished { text }
        | RoomEvent::Said { text, .. }
        | RoomEvent::MinutesAppended { text }
        | RoomEvent::StatementMade { text, .. } => clean(text),
        RoomEvent::AgreementProposed { terms, deadline } => {
            clean(terms);
            assert!(*deadline > 0);
        }
        RoomEvent::MediationFailed { referral, .. } => clean(referral),
        RoomEvent::DecisionPublished { text, follow_ups } => {
            clean(text);
            follow_ups.iter().for_each(|f| line(f));
            assert!(follow_ups.len() <= 20);
        }
        RoomEvent::Reacted { emoji, .. } => {
            assert_clean_text(emoji, 8, &[], "reaction");
        }
        RoomEvent::VoteOpened { vote } => {
            line(&vote.question);
            vote.options.iter().for_each(|o| line(o));
            assert!((2..=20).contains(&vote.options.len()));
            let distinct: BTreeSet<_> = vote.options.iter().collect();
            assert_eq!(distinct.len(), vote.options.len());
            assert!(vote.open);
        }
        _ => {}
    }
}

fn consistent(before: &Room, room: &Room, events: &[RoomEvent]) {
    use MeetingState::*;
    let moved = matches!(
        (before.state, room.state),
        (Draft, Published)
            | (Draft | Published, Cancelled)
            | (Published, Live)
            | (Live, Ended)
            | (Ended, Closed)
    );
    assert!(
        before.state == room.state || moved,
        "{:?} → {:?}",
        before.state,
        room.state
    );

    assert!(!room.muted.contains(&CHAIR) && !room.removed.contains(&CHAIR));
    assert!(room.floor.is_none_or(|f| !room.removed.contains(&f)));
    let hands: BTreeSet<_> = room.hands.iter().collect();
    assert_eq!(hands.len(), room.hands.len(), "a hand is raised twice");
    assert!(room.hands.iter().all(|h| !room.removed.contains(h)));
    assert!(room.floor.is_none_or(|f| !room.hands.contains(&f)));
    assert!(
        room.votes
            .iter()
            .enumerate()
            .all(|(i, v)| v.id == i as u32 + 1)
    );
    assert!(room.state == Live || room.votes.iter().all(|v| !v.open));
    assert!(room.agenda_item.is_none_or(|i| i < room.agenda_len));
    if before.decision.is_some() {
        assert_eq!(
            before.decision, room.decision,
            "a decision is published once"
        );
    }
    if before.outcome.is_some() {
        assert_eq!(before.outcome, room.outcome, "a mediation ends once");
    }
    if events.contains(&RoomEvent::AgreementReached) {
        assert_eq!(room.outcome, Some(Outcome::Agreed));
        let agreement = room.agreement.as_ref().expect("reached without terms");
        assert!(
            room.parties.is_subset(&agreement.confirmed),
            "not every party confirmed"
        );
    }

    for vote in &room.votes {
        let ballots: Vec<Vec<u32>> = (0..3u32)
            .map(|i| (0..=i).map(|c| c * 7 % 23).collect())
            .collect();
        let counts = tally(vote, &ballots);
        assert_eq!(counts.len(), vote.options.len());
        for ballot in &ballots {
            if valid_choices(vote, ballot).is_ok() {
                assert!(!ballot.is_empty() && (vote.multiple || ballot.len() == 1));
                assert!(ballot.iter().all(|&c| (c as usize) < vote.options.len()));
            }
        }
    }
}
