//! The issue state machine (`server/src/domain/issue.rs`) driven by any sequence of client
//! actions, by people of any role and place, and by the deadline clocks.
//!
//! From a freshly raised issue, every accepted command keeps `invariants`, logs its state
//! change, never leaves an end state, and keeps only clean text; a person the role rule refuses
//! is refused whatever the state.

#![no_main]

use arbitrary::{Result, Unstructured};
use hehe_fuzz::domain::access::{Actor, Grant};
use hehe_fuzz::domain::category::CATEGORIES;
use hehe_fuzz::domain::issue::{
    self, Agent, Command, Context, Issue, MAX_TEXT_CHARS, Refusal, decide, invariants, may,
};
use hehe_fuzz::domain::places::PlacePath;
use hehe_fuzz::{any_optional_text, any_text, assert_clean_text};
use hehe_protocol::issue::{
    Clock, IssueAction, IssueState, Level, PhotoKind, Priority, Resolution, Satisfaction,
};
use hehe_protocol::{AccountId, IssueId, PlaceId, Role};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = walk(&mut Unstructured::new(data));
});

/// Few places and people, so that scopes overlap and the same people come back.
fn place(u: &mut Unstructured<'_>) -> Result<PlacePath> {
    let (s, c, g, b) = (PlaceId(1), PlaceId(10), PlaceId(100), PlaceId(1000));
    Ok(match u.int_in_range(0..=6)? {
        0 => PlacePath::street(s),
        1 => PlacePath::community(s, c),
        2 => PlacePath::grid(s, c, g),
        3 => PlacePath::building(s, c, g, b),
        4 => PlacePath::community(s, PlaceId(11)),
        5 => PlacePath::grid(PlaceId(2), PlaceId(20), PlaceId(200)),
        _ => PlacePath::grid(s, c, PlaceId(101)),
    })
}

fn account(u: &mut Unstructured<'_>) -> Result<AccountId> {
    Ok(AccountId(u.int_in_range(1..=6)?))
}

fn actor(u: &mut Unstructured<'_>) -> Result<Actor> {
    let id = account(u)?;
    let mut grants = Vec::new();
    for _ in 0..u.int_in_range(0..=2)? {
        let role = *u.choose(&Role::ALL)?;
        let scope = if matches!(role, Role::Ops | Role::Admin) {
            None
        } else {
            Some(place(u)?)
        };
        grants.push(Grant { role, scope });
    }
    Ok(Actor { id, grants })
}

fn action(u: &mut Unstructured<'_>) -> Result<IssueAction> {
    use IssueAction::*;
    let resolutions = [
        Resolution::Fixed,
        Resolution::NotFixable,
        Resolution::NotOurResponsibility,
    ];
    let satisfactions = [
        Satisfaction::Satisfied,
        Satisfaction::Basic,
        Satisfaction::Unsatisfied,
    ];
    Ok(match u.int_in_range(0..=17)? {
        0 => Accept,
        1 => Reject {
            reason: any_text(u)?,
        },
        2 => Merge {
            into: IssueId(u.int_in_range(1..=3)?),
        },
        3 => Dispatch {
            assignee: account(u)?,
        },
        4 => Acknowledge,
        5 => Return {
            reason: any_text(u)?,
        },
        6 => Escalate {
            reason: any_text(u)?,
        },
        7 => PostUpdate {
            text: any_text(u)?,
            internal: u.arbitrary()?,
        },
        8 => Complete {
            note: any_optional_text(u)?,
        },
        9 => DeclareUnfixable {
            explanation: any_text(u)?,
            resolution: *u.choose(&resolutions)?,
        },
        10 => VerifyOk,
        11 => VerifyFail {
            reason: any_text(u)?,
        },
        12 => Rate {
            resolved: u.arbitrary()?,
            satisfaction: if u.arbitrary()? {
                Some(*u.choose(&satisfactions)?)
            } else {
                None
            },
            stars: u.arbitrary()?,
            comment: any_optional_text(u)?,
        },
        13 => Withdraw,
        14 => Follow,
        15 => Unfollow,
        _ => MeToo {
            note: any_optional_text(u)?,
        },
    })
}

fn raised(u: &mut Unstructured<'_>, id: IssueId) -> Result<Issue> {
    Ok(Issue {
        id,
        state: IssueState::Submitted,
        priority: *u.choose(&Priority::ALL)?,
        level: Level::Grid,
        place: place(u)?,
        reporter: account(u)?,
        public: u.arbitrary()?,
        assignee: None,
        resolution: None,
        closure: None,
        rated: None,
        duplicate_of: None,
        reopen_count: 0,
        return_count: 0,
        has_after_photo: false,
    })
}

fn walk(u: &mut Unstructured<'_>) -> Result<()> {
    let mut issue = raised(u, IssueId(1))?;
    invariants(&issue).expect("a raised issue is sound");
    let target_id = IssueId(u.int_in_range(1..=3)?);
    let mut target = raised(u, target_id)?;
    if u.arbitrary()? {
        target.state = *u.choose(&IssueState::ALL)?;
    }
    let category = if u.ratio(7, 8)? {
        Some(u.choose(&CATEGORIES)?)
    } else {
        None
    };
    let assignee = actor(u)?;
    while !u.is_empty() {
        if u.arbitrary()? && issue.state == IssueState::InProgress {
            issue.has_after_photo = true;
        }
        let ctx = Context {
            category,
            assignee: Some(&assignee),
            merge_target: u.arbitrary::<bool>()?.then_some(&target),
        };
        let (result, person, act) = if u.ratio(1, 6)? {
            let clock = *u.choose(&Clock::ALL)?;
            let command = if u.arbitrary()? {
                Command::Breach(clock)
            } else {
                Command::Warn(clock)
            };
            (decide(&issue, Agent::System, &command, &ctx), None, None)
        } else {
            let who = actor(u)?;
            let act = action(u)?;
            let follows = u.arbitrary()?;
            for kind in [PhotoKind::Before, PhotoKind::After, PhotoKind::Evidence] {
                let _ = issue::may_upload(&who, &issue, kind);
            }
            let _ = issue::sees_internal(&who, &issue);
            let agent = Agent::Person {
                actor: &who,
                follows,
            };
            let result = decide(&issue, agent, &Command::Act(act.clone()), &ctx);
            if !may(&who, &issue, &act) {
                assert_eq!(result, Err(Refusal::Forbidden));
            }
            (result, Some(who), Some(act))
        };
        match result {
            Ok(d) => {
                let next = d.issue;
                if let Err(why) = invariants(&next) {
                    panic!("{why}: {next:?} after {act:?} by {person:?} from {issue:?}");
                }
                assert_eq!(
                    (next.id, next.reporter, next.place),
                    (issue.id, issue.reporter, issue.place)
                );
                assert!(
                    !issue.state.is_terminal() || next.state == issue.state,
                    "left an end state: {act:?}"
                );
                if next.state != issue.state {
                    let last = d.events.last().expect("a state change is logged");
                    assert_eq!(last.to, Some(next.state));
                }
                let mut state = issue.state;
                for event in &d.events {
                    if let (Some(from), Some(to)) = (event.from, event.to) {
                        assert_eq!(from, state, "{} starts elsewhere", event.kind);
                        state = to;
                    }
                    if let Some(text) = &event.text {
                        assert_clean_text(text, MAX_TEXT_CHARS, &['\n', '\t'], event.kind);
                    }
                }
                assert_eq!(state, next.state);
                if let Some(text) = &d.submission {
                    assert_clean_text(text, MAX_TEXT_CHARS, &['\n', '\t'], "me too");
                }
                assert!(d.breached.is_none() || person.is_none());
                assert!(next.reopen_count >= issue.reopen_count);
                assert!(next.return_count >= issue.return_count);
                assert!(next.level >= issue.level, "the level went down");
                issue = next;
            }
            Err(refusal) => assert!(!refusal.to_string().is_empty()),
        }
    }
    Ok(())
}
