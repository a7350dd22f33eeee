//! Statistics per street, community and grid, and the street's live counters.

use crate::helpers::*;
use crate::issues::report;
use hehe_protocol::Channel;
use hehe_protocol::issue::{IssueAction, Satisfaction};
use hehe_protocol::stats::{Counters, StatsReport};

async fn stats(
    app: &TestApp,
    username: &str,
    place: hehe_protocol::PlaceId,
) -> Result<StatsReport, hehe_client::ClientError> {
    let token = app.login(username).await.access_token;
    let (status, body) = app
        .http
        .get_bytes(&token, &format!("/api/stats?place={place}"))
        .await?;
    if status != 200 {
        let error: hehe_protocol::http::ApiError = serde_json::from_slice(&body).unwrap();
        return Err(hehe_client::ClientError::Api { status, error });
    }
    Ok(serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn figures_per_street_community_and_grid_and_live_counters() {
    let app = spawn_app().await;
    let mut chief = app.connect("chief").await;
    chief
        .subscribe(Channel::Street(app.demo.street), None)
        .await
        .unwrap();
    let mut resident = app.connect("resident").await;
    let mut official = app.connect("official").await;
    let mut worker = app.connect("worker").await;
    let worker_id = app.demo.account("worker");

    // One issue fixed and rated, one still open.
    let done = resident.submit_issue(report(&app, "noise")).await.unwrap();
    resident
        .submit_issue(report(&app, "parking"))
        .await
        .unwrap();
    official
        .issue_action(done.id, IssueAction::Accept)
        .await
        .unwrap();
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
    resident
        .issue_action(
            done.id,
            IssueAction::Rate {
                resolved: true,
                satisfaction: Some(Satisfaction::Satisfied),
                stars: Some(5),
                comment: None,
            },
        )
        .await
        .unwrap();

    let street = stats(&app, "chief", app.demo.street).await.unwrap();
    assert_eq!(
        (
            street.overall.total,
            street.overall.open,
            street.overall.fixed
        ),
        (2, 1, 1)
    );
    assert_eq!(street.overall.satisfaction.satisfied, 1);
    assert_eq!(street.overall.on_time_rate, Some(1.0));
    assert_eq!(street.overall.time_to_accept.count, 1);
    assert_eq!(street.parts.len(), 1, "one community with issues");
    assert_eq!(street.parts[0].place_id, app.demo.communities[0]);
    let community = stats(&app, "official", app.demo.communities[0])
        .await
        .unwrap();
    assert_eq!(
        community
            .parts
            .iter()
            .map(|p| p.place_id)
            .collect::<Vec<_>>(),
        [app.demo.grids[0]]
    );
    let grid = stats(&app, "worker", app.demo.grids[0]).await.unwrap();
    assert_eq!(grid.overall.total, 2);
    assert!(grid.parts.is_empty());
    // Residents see their own community's figures; nobody sees another street's; ops see all.
    assert!(
        stats(&app, "resident", app.demo.communities[0])
            .await
            .is_ok()
    );
    assert_eq!(
        stats(&app, "resident2", app.demo.communities[0])
            .await
            .unwrap_err()
            .code(),
        Some(hehe_protocol::ErrorCode::Forbidden)
    );
    assert_eq!(
        stats(&app, "lakeside", app.demo.street)
            .await
            .unwrap_err()
            .code(),
        Some(hehe_protocol::ErrorCode::Forbidden)
    );
    assert!(stats(&app, "ops", app.demo.street).await.is_ok());

    // The street's board was kept up to date live; the last counters say one open issue.
    let mut last = None;
    while let Ok(event) = chief.next_event_timeout(QUIET).await {
        if event.kind == "stats.counters" {
            last = Some(serde_json::from_value::<Counters>(event.data).unwrap());
        }
    }
    let last = last.expect("counters were published");
    assert_eq!(
        (last.street_id, last.open, last.overdue),
        (app.demo.street, 1, 0)
    );
    assert_eq!(last.communities.len(), 1);
}
