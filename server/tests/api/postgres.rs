//! The same server on PostgreSQL: chosen by the database URL, nothing else changes.

use crate::common::TestDatabase;
use crate::helpers::*;
use hehe_protocol::{Channel, RequestId};

#[tokio::test]
async fn the_server_runs_on_postgresql() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = db.url.clone();
    let app = spawn_app_with(move |c| c.database_url = url).await;
    let home = Channel::Home(app.demo.communities[0]);
    let mut resident = app.connect("resident").await;
    resident.subscribe(home, None).await.unwrap();
    let mut official = app.connect("official").await;
    let id = RequestId::parse("pg-1").unwrap();
    let posted = official
        .post_with_id(id.clone(), home, "stored in PostgreSQL")
        .await
        .unwrap();
    assert_eq!(
        official
            .post_with_id(id, home, "stored in PostgreSQL")
            .await
            .unwrap(),
        posted
    );
    assert_eq!(
        text_of(&events(&mut resident, 1).await[0]),
        "stored in PostgreSQL"
    );
    assert_no_more_events(&mut resident).await;

    let app = restart(app).await;
    let token = app.login("resident").await.access_token;
    let page = app.http.messages(&token, home, None, None).await.unwrap();
    assert_eq!(page.messages.len(), 1);
    assert_eq!(page.messages[0].id, posted.message_id);
    drop(app);
    drop(db);
}

#[tokio::test]
async fn the_issue_loop_and_its_deadlines_run_on_postgresql() {
    use crate::issues::report;
    use hehe_protocol::issue::{IssueAction, IssueState, Satisfaction};
    use hehe_server::clock::ManualTime;
    use hehe_server::domain::calendar::days_from_civil;

    let Some(db) = TestDatabase::create().await else {
        return;
    };
    const HOUR: i64 = 3_600_000;
    let start = days_from_civil(2026, 11, 25) * 24 * HOUR + 2 * HOUR;
    let time = ManualTime::new(start);
    let url = db.url.clone();
    let app = spawn_app_at(time.clone(), move |c| c.database_url = url).await;

    // One issue goes round the loop; another misses its accept deadline.
    let mut resident = app.connect("resident").await;
    let mut official = app.connect("official").await;
    let mut worker = app.connect("worker").await;
    let done = resident.submit_issue(report(&app, "noise")).await.unwrap();
    let late = resident
        .submit_issue(report(&app, "parking"))
        .await
        .unwrap();
    let id = RequestId::parse("pg-accept").unwrap();
    let accepted = official
        .issue_action_with_id(id.clone(), done.id, IssueAction::Accept)
        .await
        .unwrap();
    assert_eq!(
        official
            .issue_action_with_id(id, done.id, IssueAction::Accept)
            .await
            .unwrap(),
        accepted
    );
    let worker_id = app.demo.account("worker");
    official
        .issue_action(
            done.id,
            IssueAction::Dispatch {
                assignee: worker_id,
            },
        )
        .await
        .unwrap();
    worker
        .issue_action(done.id, IssueAction::Acknowledge)
        .await
        .unwrap();
    worker
        .issue_action(done.id, IssueAction::Complete { note: None })
        .await
        .unwrap();
    let rate = IssueAction::Rate {
        resolved: true,
        satisfaction: Some(Satisfaction::Basic),
        stars: Some(4),
        comment: None,
    };
    let closed = resident.issue_action(done.id, rate).await.unwrap();
    assert_eq!(closed.state, IssueState::Closed);

    // Blue: one working day to accept. Three nodes tick at once; one escalation.
    time.advance(24 * HOUR + 60_000);
    let runs: Vec<_> = (0..3)
        .map(|_| {
            let state = app.state.clone();
            tokio::spawn(async move { hehe_server::app::issues::tick(&state).await.unwrap() })
        })
        .collect();
    for run in runs {
        run.await.unwrap();
    }
    let token = app.login("chief").await.access_token;
    let detail = app.http.issue(&token, late.id).await.unwrap();
    assert_eq!(detail.issue.state, IssueState::Escalated);
    assert_eq!(
        detail
            .timeline
            .iter()
            .filter(|e| e.kind == "escalated")
            .count(),
        1
    );
    let stats = app
        .http
        .get_bytes(&token, &format!("/api/stats?place={}", app.demo.street))
        .await
        .unwrap();
    assert_eq!(stats.0, 200);
    drop(app);
    drop(db);
}
