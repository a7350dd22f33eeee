//! Resuming from a position: exactly what was missed, or `recovered: false`, never a part.

use crate::helpers::*;
use hehe_protocol::{Channel, Position};

#[tokio::test]
async fn a_client_that_drops_and_resumes_gets_exactly_what_it_missed() {
    let app = spawn_app().await;
    let home = Channel::Home(app.demo.communities[0]);
    let mut official = app.connect("official").await;
    let mut resident = app.connect("resident").await;
    resident.subscribe(home, None).await.unwrap();
    for i in 1..=3 {
        official.post(home, &format!("m{i}")).await.unwrap();
    }
    assert_eq!(events(&mut resident, 3).await.last().unwrap().offset, 3);
    let positions = resident.positions();
    resident.close().await.unwrap();

    for i in 4..=8 {
        official.post(home, &format!("m{i}")).await.unwrap();
    }
    let mut again = app.connect("resident").await;
    let resumed = again.resume(&positions).await.unwrap();
    assert_eq!(resumed.len(), 1);
    let sub = &resumed[0];
    assert!(sub.recovered);
    assert_eq!(sub.offset, 8);
    let missed: Vec<(u64, String)> = sub.events.iter().map(|e| (e.offset, text_of(e))).collect();
    assert_eq!(
        missed,
        (4..=8).map(|i| (i, format!("m{i}"))).collect::<Vec<_>>()
    );

    official.post(home, "m9").await.unwrap();
    let live = events(&mut again, 1).await;
    assert_eq!((live[0].offset, text_of(&live[0])), (9, "m9".to_owned()));
    assert_no_more_events(&mut again).await;
}

#[tokio::test]
async fn resuming_at_the_top_recovers_nothing_missing() {
    let app = spawn_app().await;
    let street = Channel::Street(app.demo.street);
    let mut chief = app.connect("chief").await;
    chief.post(street, "only").await.unwrap();
    let mut resident = app.connect("resident").await;
    let sub = resident.subscribe(street, None).await.unwrap();
    assert_eq!(sub.offset, 1);
    assert!(!sub.recovered, "a plain subscribe recovers nothing");
    let mut again = app.connect("resident").await;
    let resumed = again.subscribe(street, Some(sub.position())).await.unwrap();
    assert!(resumed.recovered);
    assert!(resumed.events.is_empty());
}

#[tokio::test]
async fn a_position_older_than_the_history_is_not_recovered() {
    let app = spawn_app_with(|c| c.history_size = 5).await;
    let home = Channel::Home(app.demo.communities[0]);
    let mut resident = app.connect("resident").await;
    let start = resident.subscribe(home, None).await.unwrap();
    resident.close().await.unwrap();

    let mut official = app.connect("official").await;
    for i in 1..=6 {
        official.post(home, &format!("m{i}")).await.unwrap();
    }
    // Offsets 2..=6 are kept; resuming from 0 would need offset 1.
    let mut again = app.connect("resident").await;
    let resumed = again.subscribe(home, Some(start.position())).await.unwrap();
    assert!(!resumed.recovered);
    assert!(resumed.events.is_empty(), "never a partial replay");
    assert_eq!(resumed.offset, 6);

    // From offset 1 everything missed (2..=6) is still there.
    let mut third = app.connect("resident").await;
    let position = Position {
        epoch: start.epoch.clone(),
        offset: 1,
    };
    let resumed = third.subscribe(home, Some(position)).await.unwrap();
    assert!(resumed.recovered);
    assert_eq!(
        resumed.events.iter().map(|e| e.offset).collect::<Vec<_>>(),
        [2, 3, 4, 5, 6]
    );
}

#[tokio::test]
async fn another_epoch_or_a_position_ahead_is_not_recovered() {
    let app = spawn_app().await;
    let home = Channel::Home(app.demo.communities[0]);
    let mut official = app.connect("official").await;
    official.post(home, "m1").await.unwrap();
    let mut resident = app.connect("resident").await;
    let sub = resident
        .subscribe(
            home,
            Some(Position {
                epoch: "otherEp0".into(),
                offset: 0,
            }),
        )
        .await
        .unwrap();
    assert!(!sub.recovered);
    let mut again = app.connect("resident").await;
    let ahead = Position {
        epoch: sub.epoch.clone(),
        offset: 99,
    };
    let sub = again.subscribe(home, Some(ahead)).await.unwrap();
    assert!(!sub.recovered);
    assert!(sub.events.is_empty());
}

#[tokio::test]
async fn resuming_while_events_keep_coming_leaves_no_gap_and_no_duplicate() {
    let app = spawn_bulk_app().await;
    let home = Channel::Home(app.demo.communities[0]);
    let mut resident = app.connect("resident").await;
    let start = resident.subscribe(home, None).await.unwrap();
    resident.close().await.unwrap();

    let publisher = {
        let mut official = app.connect("official").await;
        tokio::spawn(async move {
            for i in 1..=200 {
                official.post(home, &format!("m{i}")).await.unwrap();
            }
        })
    };
    // Resume several times while the publisher runs; each connection must see a contiguous run.
    for _ in 0..5 {
        let mut conn = app.connect("resident").await;
        let sub = conn.subscribe(home, Some(start.position())).await.unwrap();
        assert!(sub.recovered);
        let mut offsets: Vec<u64> = sub.events.iter().map(|e| e.offset).collect();
        assert_eq!(offsets, (1..=sub.offset).collect::<Vec<_>>());
        // Whatever follows live continues the run.
        while let Ok(event) = conn.next_event_timeout(QUIET).await {
            assert_eq!(event.offset, offsets.last().copied().unwrap_or(0) + 1);
            offsets.push(event.offset);
        }
        conn.close().await.unwrap();
    }
    publisher.await.unwrap();
}

#[tokio::test]
async fn after_a_restart_resuming_reports_not_recovered_and_the_archive_has_everything() {
    let app = spawn_app().await;
    let home = Channel::Home(app.demo.communities[0]);
    let mut official = app.connect("official").await;
    let mut resident = app.connect("resident").await;
    resident.subscribe(home, None).await.unwrap();
    official.post(home, "before the restart").await.unwrap();
    events(&mut resident, 1).await;
    let positions = resident.positions();
    drop((official, resident));

    let app = restart(app).await;
    let mut again = app.connect("resident").await;
    let resumed = again.resume(&positions).await.unwrap();
    assert!(!resumed[0].recovered, "a new process is a new epoch");
    let tokens = app.login("resident").await;
    let page = app
        .http
        .messages(&tokens.access_token, home, None, None)
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 1);
    assert_eq!(page.messages[0].text, "before the restart");
}
