use super::*;
use hehe_protocol::issue::IssueState::*;

const REPORTER: AccountId = AccountId(1);
const FOLLOWER: AccountId = AccountId(2);
const ME_TOO: AccountId = AccountId(3);
const WORKER: AccountId = AccountId(4);
const OFFICIAL: AccountId = AccountId(5);
const CHIEF: AccountId = AccountId(6);
const OFFICIAL2: AccountId = AccountId(7);

fn facts(priority: Priority) -> IssueFacts {
    IssueFacts {
        reporter: Some(REPORTER),
        assignee: Some(WORKER),
        followers: vec![FOLLOWER, REPORTER],
        me_too: vec![ME_TOO],
        officials: vec![OFFICIAL, OFFICIAL2],
        chiefs: vec![CHIEF],
        priority: Some(priority),
    }
}

fn step<'a>(kind: &'a str, to: Option<IssueState>, visibility: Visibility) -> IssueStep<'a> {
    IssueStep {
        kind,
        to,
        visibility,
        actor: Some(OFFICIAL),
        assignee: None,
        level: None,
    }
}

fn told(r: &[Recipient]) -> Vec<(i64, Kind, bool)> {
    r.iter().map(|r| (r.account.0, r.kind, r.urgent)).collect()
}

use Kind::*;
use Visibility::{Internal, Public};

/// The rule as a table: each step, and exactly who is told what (the acting official never).
#[test]
fn issue_steps_tell_the_right_people() {
    let residents = |extra: Vec<(i64, Kind, bool)>| {
        let mut v = vec![
            (1, IssueUpdate, false),
            (2, IssueUpdate, false),
            (3, IssueUpdate, false),
        ];
        v.extend(extra);
        v.sort();
        v
    };
    let dispatched = IssueStep {
        assignee: Some(WORKER),
        ..step("dispatched", Some(Dispatched), Public)
    };
    let to_street = IssueStep {
        level: Some(Level::Street),
        ..step("escalated", Some(Escalated), Public)
    };
    let to_community = IssueStep {
        level: Some(Level::Community),
        ..step("escalated", Some(Escalated), Public)
    };
    let submitted = IssueStep {
        actor: Some(REPORTER),
        ..step("submitted", Some(Submitted), Public)
    };
    let system = |kind| IssueStep {
        actor: None,
        ..step(kind, None, Public)
    };
    type Told = Vec<(i64, Kind, bool)>;
    let cases: Vec<(&str, IssueStep, Priority, Told)> = vec![
        (
            "a new issue: officials, not the reporter who raised it",
            submitted.clone(),
            Priority::Blue,
            vec![
                (2, IssueUpdate, false),
                (3, IssueUpdate, false),
                (5, IssueNew, false),
                (7, IssueNew, false),
            ],
        ),
        (
            "accepted: the residents",
            step("accepted", Some(Accepted), Public),
            Priority::Blue,
            residents(vec![(7, IssueUpdate, false)])
                .into_iter()
                .filter(|r| r.0 != 7)
                .collect(),
        ),
        (
            "dispatched: the worker, urgent when red",
            dispatched.clone(),
            Priority::Red,
            residents(vec![(4, IssueAssigned, true)]),
        ),
        (
            "dispatched, yellow: not urgent",
            dispatched,
            Priority::Yellow,
            residents(vec![(4, IssueAssigned, false)]),
        ),
        (
            "an internal note: nobody",
            step("note", None, Internal),
            Priority::Blue,
            vec![],
        ),
        (
            "verified: the reporter is asked to rate",
            step("verified", Some(AwaitingRating), Public),
            Priority::Blue,
            vec![
                (1, IssueToRate, false),
                (2, IssueUpdate, false),
                (3, IssueUpdate, false),
            ],
        ),
        (
            "reopened: the worker, urgent when red",
            step("reopened", Some(Dispatched), Public),
            Priority::Red,
            residents(vec![(4, IssueReopened, true)]),
        ),
        (
            "deadline warning: the worker",
            system("sla_warning"),
            Priority::Blue,
            residents(vec![(4, IssueDeadlineWarning, false)]),
        ),
        (
            "breach: the worker and the officials, urgent when red",
            IssueStep {
                visibility: Internal,
                ..system("sla_breach")
            },
            Priority::Red,
            vec![
                (4, IssueDeadlineBreach, true),
                (5, IssueDeadlineBreach, true),
                (7, IssueDeadlineBreach, true),
            ],
        ),
        (
            "escalated to the community: the other officials",
            to_community,
            Priority::Blue,
            residents(vec![(7, IssueEscalated, false)]),
        ),
        (
            "escalated to the street: the chief too",
            to_street,
            Priority::Blue,
            residents(vec![(6, IssueEscalated, false), (7, IssueEscalated, false)]),
        ),
    ];
    for (name, s, priority, want) in cases {
        let mut got = told(&issue_recipients(&facts(priority), &s));
        got.sort();
        let mut want = want;
        want.sort();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn a_deadline_warning_before_dispatch_goes_to_the_officials() {
    let f = IssueFacts {
        assignee: None,
        ..facts(Priority::Blue)
    };
    let s = IssueStep {
        actor: None,
        ..step("sla_warning", None, Internal)
    };
    assert_eq!(
        told(&issue_recipients(&f, &s)),
        vec![
            (5, IssueDeadlineWarning, false),
            (7, IssueDeadlineWarning, false)
        ]
    );
}

#[test]
fn the_worker_acting_is_not_told_and_the_reporter_is_told_once() {
    let s = IssueStep {
        actor: Some(WORKER),
        ..step("update", None, Public)
    };
    let got = told(&issue_recipients(&facts(Priority::Blue), &s));
    assert_eq!(
        got,
        vec![
            (1, IssueUpdate, false),
            (2, IssueUpdate, false),
            (3, IssueUpdate, false)
        ]
    );
}

#[test]
fn meetings_tell_participants_and_announce_public_ones_to_the_community() {
    let f = MeetingFacts {
        private: false,
        participants: vec![AccountId(1), AccountId(2)],
        community: vec![AccountId(2), AccountId(3)],
        actor: Some(AccountId(1)),
    };
    let accounts = |r: Vec<Recipient>| r.iter().map(|r| r.account.0).collect::<Vec<_>>();
    assert_eq!(
        accounts(meeting_recipients(&f, MeetingStep::Started)),
        vec![2, 3]
    );
    assert_eq!(
        accounts(meeting_recipients(&f, MeetingStep::Ended)),
        vec![2]
    );
    assert_eq!(
        accounts(meeting_recipients(&f, MeetingStep::Starting)),
        vec![2]
    );
    let private = MeetingFacts { private: true, ..f };
    assert_eq!(
        accounts(meeting_recipients(&private, MeetingStep::Scheduled)),
        vec![2]
    );
    assert!(
        meeting_recipients(&private, MeetingStep::Started)
            .iter()
            .all(|r| r.kind == MeetingStarted)
    );
}

#[test]
fn appraisals_tell_electors_and_remind_those_who_have_not_voted() {
    let electors = [AccountId(1), AccountId(2), AccountId(3)];
    let opened = appraisal_recipients(&electors, &[], AppraisalStep::Opened);
    assert_eq!(opened.len(), 3);
    let closing = appraisal_recipients(&electors, &[AccountId(2)], AppraisalStep::Closing);
    assert_eq!(
        told(&closing),
        vec![(1, AppraisalClosing, false), (3, AppraisalClosing, false)]
    );
}

#[test]
fn quiet_hours_wait_until_they_end() {
    let night = Some((22 * 60, 7 * 60));
    assert_eq!(quiet_wait(night, 23 * 60), 8 * 60);
    assert_eq!(quiet_wait(night, 6 * 60 + 59), 1);
    assert_eq!(quiet_wait(night, 7 * 60), 0);
    assert_eq!(quiet_wait(night, 12 * 60), 0);
    let lunch = Some((12 * 60, 13 * 60));
    assert_eq!(quiet_wait(lunch, 12 * 60 + 30), 30);
    assert_eq!(quiet_wait(lunch, 13 * 60), 0);
    assert_eq!(quiet_wait(Some((600, 600)), 600), 0);
    assert_eq!(quiet_wait(None, 100), 0);
}

#[test]
fn the_plan_follows_prefs_reach_and_quiet_hours_and_urgency_overrides_them() {
    let all = Reach {
        push: true,
        phone: true,
        email: true,
    };
    let mut prefs = Prefs {
        quiet: Some((22 * 60, 7 * 60)),
        ..Prefs::default()
    };
    let noon = 12 * 60;
    assert_eq!(
        plan(IssueAssigned, false, &prefs, all, noon),
        vec![(NotifyChannel::Push, 0), (NotifyChannel::Webhook, 0)]
    );
    assert_eq!(
        plan(IssueUpdate, false, &prefs, all, noon),
        vec![(NotifyChannel::Push, 0)]
    );
    assert_eq!(
        plan(Digest, false, &prefs, all, noon),
        vec![(NotifyChannel::Email, 0)]
    );
    // In quiet hours: waits; urgent: at once.
    assert_eq!(
        plan(IssueAssigned, false, &prefs, all, 23 * 60),
        vec![(NotifyChannel::Push, 480), (NotifyChannel::Webhook, 480)]
    );
    assert_eq!(
        plan(IssueAssigned, true, &prefs, all, 23 * 60),
        vec![(NotifyChannel::Push, 0), (NotifyChannel::Webhook, 0)]
    );
    // Switched off; unreachable.
    prefs
        .choices
        .insert((IssueAssigned, NotifyChannel::Webhook), false);
    prefs
        .choices
        .insert((IssueUpdate, NotifyChannel::Email), true);
    assert_eq!(
        plan(IssueAssigned, false, &prefs, all, noon),
        vec![(NotifyChannel::Push, 0)]
    );
    assert_eq!(
        plan(IssueUpdate, false, &prefs, all, noon),
        vec![(NotifyChannel::Push, 0), (NotifyChannel::Email, 0)]
    );
    let none = Reach::default();
    assert!(plan(IssueAssigned, true, &prefs, none, noon).is_empty());
}

#[test]
fn every_kind_has_text_in_both_languages() {
    for kind in Kind::ALL {
        for lang in [Lang::Zh, Lang::En] {
            let (title, body) = render(kind, lang, "楼道堆物", Some("dispatched"));
            assert_eq!(title, "楼道堆物");
            assert!(!body.is_empty());
            let chinese = body.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
            assert_eq!(chinese, lang == Lang::Zh, "{kind:?} {lang:?}: {body}");
        }
    }
}

#[test]
fn clocks_parse_and_format() {
    assert_eq!(parse_clock("22:30"), Some(1350));
    assert_eq!(format_clock(1350), "22:30");
    for bad in ["24:00", "7:00", "07:60", "ab:cd", "0700", ""] {
        assert_eq!(parse_clock(bad), None, "{bad}");
    }
}

#[test]
fn backoff_grows_and_is_capped() {
    assert_eq!(backoff_ms(1, 0.5), 30_000);
    assert_eq!(backoff_ms(2, 0.5), 60_000);
    assert_eq!(backoff_ms(30, 0.5), 3_600_000);
    assert!(backoff_ms(1, 0.0) < backoff_ms(1, 1.0));
}

#[test]
fn causes_round_trip_as_json() {
    let c = Cause::Issue {
        issue: IssueId(4),
        from: 2,
        to: 3,
    };
    let s = serde_json::to_string(&c).unwrap();
    assert_eq!(s, r#"{"type":"issue","issue":4,"from":2,"to":3}"#);
    assert_eq!(serde_json::from_str::<Cause>(&s).unwrap(), c);
}
