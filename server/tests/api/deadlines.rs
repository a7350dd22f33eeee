//! Deadlines with a clock the test moves: warnings, breaches, escalation exactly once, and the
//! rating that never comes.

use crate::helpers::*;
use crate::issues::{report, update_of};
use hehe_protocol::Channel;
use hehe_protocol::issue::{ClosureReason, IssueAction, IssueState, Level};
use hehe_server::clock::ManualTime;
use hehe_server::domain::calendar::days_from_civil;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// Wednesday 2026-11-25, 10:00 in China (UTC+8).
fn wednesday_morning() -> i64 {
    days_from_civil(2026, 11, 25) * 24 * HOUR + 2 * HOUR
}

/// Runs the deadline pass as three nodes would, at the same time.
async fn tick_on_three_nodes(app: &TestApp) -> usize {
    let runs = (0..3).map(|_| {
        let state = app.state.clone();
        tokio::spawn(async move { hehe_server::app::issues::tick(&state).await.unwrap() })
    });
    let mut handled = 0;
    for run in runs.collect::<Vec<_>>() {
        handled += run.await.unwrap();
    }
    handled
}

async fn timeline_kinds(app: &TestApp, id: hehe_protocol::IssueId) -> Vec<String> {
    let token = app.login("chief").await.access_token;
    app.http
        .issue(&token, id)
        .await
        .unwrap()
        .timeline
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

fn count(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| *k == kind).count()
}

#[tokio::test]
async fn a_missed_deadline_warns_then_escalates_exactly_once_per_level() {
    let time = ManualTime::new(wednesday_morning());
    let app = spawn_app_at(time.clone(), |_| {}).await;
    let mut chief = app.connect("chief").await;
    chief
        .subscribe(Channel::Street(app.demo.street), None)
        .await
        .unwrap();
    let mut resident = app.connect("resident").await;
    // Drainage is yellow: four working hours to accept, a warning at 80 %.
    let issue = resident
        .submit_issue(report(&app, "drainage"))
        .await
        .unwrap();
    assert_eq!(issue.due_at, Some(wednesday_morning() + 4 * HOUR));

    time.advance(3 * HOUR);
    assert_eq!(tick_on_three_nodes(&app).await, 0, "nothing due yet");
    time.advance(13 * MINUTE);
    tick_on_three_nodes(&app).await;
    tick_on_three_nodes(&app).await;
    let kinds = timeline_kinds(&app, issue.id).await;
    assert_eq!(count(&kinds, "sla_warning"), 1);
    assert_eq!(count(&kinds, "escalated"), 0);

    time.advance(48 * MINUTE);
    tick_on_three_nodes(&app).await;
    let kinds = timeline_kinds(&app, issue.id).await;
    assert_eq!(count(&kinds, "sla_breach"), 1);
    assert_eq!(count(&kinds, "escalated"), 1, "exactly one escalation");
    let token = app.login("chief").await.access_token;
    let detail = app.http.issue(&token, issue.id).await.unwrap();
    assert_eq!(detail.issue.state, IssueState::Escalated);
    assert_eq!(detail.issue.level, Level::Community);
    assert!(detail.issue.overdue, "the flag stays for statistics");
    assert!(detail.deadlines.iter().any(|d| d.breached && !d.running));

    // The street hears of the escalation live, beside the board's counters.
    let event = loop {
        let event = chief.next_event_timeout(WAIT).await.unwrap();
        if event.kind == "issue.escalated" {
            break event;
        }
        assert_eq!(event.kind, "stats.counters");
    };
    assert_eq!(update_of(&event).issue.level, Level::Community);

    // Nobody takes it on at community level either: up to the street, once.
    time.advance(4 * HOUR + MINUTE);
    tick_on_three_nodes(&app).await;
    tick_on_three_nodes(&app).await;
    let kinds = timeline_kinds(&app, issue.id).await;
    assert_eq!(count(&kinds, "escalated"), 2);
    let detail = app.http.issue(&token, issue.id).await.unwrap();
    assert_eq!(detail.issue.level, Level::Street);

    // At the top the breach is recorded, and there is nowhere further to go.
    time.advance(4 * HOUR + MINUTE);
    tick_on_three_nodes(&app).await;
    assert_eq!(
        tick_on_three_nodes(&app).await,
        0,
        "a recorded breach is not due again"
    );
    let kinds = timeline_kinds(&app, issue.id).await;
    assert_eq!(count(&kinds, "sla_breach"), 3);
    assert_eq!(count(&kinds, "escalated"), 2);
    // Only the street chief re-dispatches an issue escalated to the street.
    let mut official = app.connect("official").await;
    let worker = app.demo.account("worker");
    let err = official
        .issue_action(issue.id, IssueAction::Dispatch { assignee: worker })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(hehe_protocol::ErrorCode::Forbidden));
    let dispatched = chief
        .issue_action(issue.id, IssueAction::Dispatch { assignee: worker })
        .await
        .unwrap();
    assert_eq!(dispatched.state, IssueState::Dispatched);
}

#[tokio::test]
async fn deadlines_survive_a_restart() {
    let time = ManualTime::new(wednesday_morning());
    let app = spawn_app_at(time.clone(), |_| {}).await;
    let mut resident = app.connect("resident").await;
    let issue = resident
        .submit_issue(report(&app, "drainage"))
        .await
        .unwrap();
    drop(resident);
    let app = restart(app).await;
    time.advance(5 * HOUR);
    tick_on_three_nodes(&app).await;
    let kinds = timeline_kinds(&app, issue.id).await;
    assert_eq!(count(&kinds, "escalated"), 1);
}

#[tokio::test]
async fn a_rating_that_never_comes_closes_as_not_rated() {
    let time = ManualTime::new(wednesday_morning());
    let app = spawn_app_at(time.clone(), |_| {}).await;
    let mut resident = app.connect("resident").await;
    let mut official = app.connect("official").await;
    let mut worker = app.connect("worker").await;
    let issue = resident.submit_issue(report(&app, "noise")).await.unwrap();
    official
        .issue_action(issue.id, IssueAction::Accept)
        .await
        .unwrap();
    official
        .issue_action(
            issue.id,
            IssueAction::Dispatch {
                assignee: app.demo.account("worker"),
            },
        )
        .await
        .unwrap();
    worker
        .issue_action(issue.id, IssueAction::Acknowledge)
        .await
        .unwrap();
    let waiting = worker
        .issue_action(issue.id, IssueAction::Complete { note: None })
        .await
        .unwrap();
    assert_eq!(waiting.state, IssueState::AwaitingRating);

    // Seven working days (nine calendar days across a weekend) and a minute.
    time.advance(9 * 24 * HOUR + MINUTE);
    tick_on_three_nodes(&app).await;
    let token = app.login("resident").await.access_token;
    let closed = app.http.issue(&token, issue.id).await.unwrap().issue;
    assert_eq!(closed.state, IssueState::Closed);
    assert_eq!(
        closed.rated,
        Some(false),
        "not rated, never counted as satisfied"
    );
    assert_eq!(
        closed.closure_reason,
        Some(ClosureReason::Fixed),
        "the resolution is kept"
    );
    let kinds = timeline_kinds(&app, issue.id).await;
    assert_eq!(count(&kinds, "closed_not_rated"), 1);
    // A late rating finds the issue closed.
    let err = resident
        .issue_action(
            issue.id,
            IssueAction::Rate {
                resolved: true,
                satisfaction: None,
                stars: None,
                comment: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(hehe_protocol::ErrorCode::Conflict));
}

#[tokio::test]
async fn yellow_and_blue_deadlines_pause_over_the_weekend() {
    // Friday 2026-11-27, 16:00 in China.
    let friday = days_from_civil(2026, 11, 27) * 24 * HOUR + 8 * HOUR;
    let time = ManualTime::new(friday);
    let app = spawn_app_at(time.clone(), |_| {}).await;
    let mut resident = app.connect("resident").await;
    let blue = resident.submit_issue(report(&app, "noise")).await.unwrap();
    // One working day to accept: from Friday 16:00 to Monday 16:00.
    assert_eq!(blue.due_at, Some(friday + 3 * 24 * HOUR));
    let red = resident
        .submit_issue(hehe_protocol::issue::NewIssue {
            priority: Some(hehe_protocol::issue::Priority::Red),
            ..report(&app, "safety")
        })
        .await
        .unwrap();
    assert_eq!(red.due_at, Some(friday + HOUR), "red counts every hour");
}
