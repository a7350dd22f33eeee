//! Events reach every subscriber, in order, once.

use crate::helpers::*;
use hehe_protocol::Channel;

#[tokio::test]
async fn two_subscribers_receive_every_event_in_order_once() {
    let app = spawn_bulk_app().await;
    let home = Channel::Home(app.demo.communities[0]);
    let mut resident = app.connect("resident").await;
    let mut lead = app.connect("lead").await;
    let first = resident.subscribe(home, None).await.unwrap();
    lead.subscribe(home, None).await.unwrap();
    assert_eq!(first.offset, 0, "a fresh channel starts at offset 0");

    let mut official = app.connect("official").await;
    for i in 0..25 {
        official.post(home, &format!("notice {i}")).await.unwrap();
    }

    for conn in [&mut resident, &mut lead] {
        let got = events(conn, 25).await;
        let offsets: Vec<u64> = got.iter().map(|e| e.offset).collect();
        assert_eq!(offsets, (1..=25).collect::<Vec<_>>());
        let texts: Vec<String> = got.iter().map(text_of).collect();
        assert_eq!(
            texts,
            (0..25).map(|i| format!("notice {i}")).collect::<Vec<_>>()
        );
        assert!(
            got.iter()
                .all(|e| e.channel == home && e.kind == "message" && e.epoch == first.epoch)
        );
        assert_no_more_events(conn).await;
    }
}

#[tokio::test]
async fn events_reach_only_the_channel_they_belong_to() {
    let app = spawn_app().await;
    let riverside = Channel::Home(app.demo.communities[0]);
    let orchard = Channel::Home(app.demo.communities[1]);
    let mut resident = app.connect("resident").await;
    let mut neighbour = app.connect("resident2").await;
    resident.subscribe(riverside, None).await.unwrap();
    neighbour.subscribe(orchard, None).await.unwrap();

    let mut chief = app.connect("chief").await;
    chief.post(orchard, "Orchard only").await.unwrap();
    chief.post(riverside, "Riverside only").await.unwrap();

    assert_eq!(
        text_of(&events(&mut resident, 1).await[0]),
        "Riverside only"
    );
    assert_eq!(text_of(&events(&mut neighbour, 1).await[0]), "Orchard only");
    assert_no_more_events(&mut resident).await;
    assert_no_more_events(&mut neighbour).await;
}

#[tokio::test]
async fn an_unsubscribed_connection_stops_receiving() {
    let app = spawn_app().await;
    let street = Channel::Street(app.demo.street);
    let mut resident = app.connect("resident").await;
    resident.subscribe(street, None).await.unwrap();
    let mut chief = app.connect("chief").await;
    chief.post(street, "one").await.unwrap();
    assert_eq!(text_of(&events(&mut resident, 1).await[0]), "one");
    resident.unsubscribe(street).await.unwrap();
    chief.post(street, "two").await.unwrap();
    assert_no_more_events(&mut resident).await;
    let err = resident.unsubscribe(street).await.unwrap_err();
    assert_eq!(err.code(), Some(hehe_protocol::ErrorCode::NotSubscribed));
}
