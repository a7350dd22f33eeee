//! A client that stops reading is closed with the slow-consumer code; nobody else waits for it.

use crate::helpers::*;
use hehe_client::Incoming;
use hehe_protocol::{Channel, ServerMsg};

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_and_the_others_keep_receiving() {
    let app = spawn_app_with(|c| {
        c.outbox_bytes = 64 * 1024;
        // The publisher floods on purpose.
        c.limits = hehe_server::infra::limits::LimitsConfig::off();
        // Long enough for the test to start reading again before the close frame is given up.
        c.close_grace_ms = 60_000;
    })
    .await;
    let home = Channel::Home(app.demo.communities[0]);
    let mut slow = app.connect("resident").await;
    slow.subscribe(home, None).await.unwrap();

    let mut fast = app.connect("lead").await;
    fast.subscribe(home, None).await.unwrap();
    let (count_tx, mut count_rx) = tokio::sync::watch::channel(0u64);
    let reader = tokio::spawn(async move {
        let mut last = 0;
        loop {
            match fast.next_event_timeout(WAIT).await {
                Ok(event) => {
                    assert_eq!(
                        event.offset,
                        last + 1,
                        "the fast reader sees every event in order"
                    );
                    last = event.offset;
                    let _ = count_tx.send(last);
                }
                Err(_) => return last,
            }
        }
    });

    // ~6 KB per event: the kernel's socket buffers take megabytes before the outbox grows,
    // so publish until the server reports the slow close.
    let text = "水".repeat(2000);
    let mut official = app.connect("official").await;
    let mut published = 0u64;
    while app.metric("hehe_closes_total{code=\"4001\"}").await < 1.0 {
        assert!(published < 10_000, "the slow client was never closed");
        for _ in 0..100 {
            official.post(home, &text).await.unwrap();
            published += 1;
        }
    }
    // The fast reader got everything published, in order, while the slow one was stuck.
    while *count_rx.borrow_and_update() < published {
        tokio::time::timeout(WAIT, count_rx.changed())
            .await
            .expect("fast reader keeps up")
            .unwrap();
    }

    // The slow client reads what was buffered, then finds the slow-consumer close.
    let mut last = 0;
    let code = loop {
        match slow.recv_timeout(WAIT).await.expect("a frame or the close") {
            Incoming::Msg(ServerMsg::Event(event)) => {
                assert_eq!(event.offset, last + 1, "what does arrive has no hole");
                last = event.offset;
            }
            Incoming::Msg(_) => {}
            Incoming::Closed { code, .. } => break code,
        }
    };
    assert_eq!(code, Some(4001));
    assert!(
        last < published,
        "the slow client cannot have received everything"
    );
    drop(official);
    reader.abort();
}

/// A resume whose missed events would not fit the connection's queue recovers nothing (the
/// client reloads over HTTP) instead of closing the connection as a slow consumer again, as it
/// did on every resume from the same position: a slow consumer could never come back.
#[tokio::test]
async fn a_resume_too_big_for_the_queue_says_reload_instead_of_closing() {
    let app = spawn_app_with(|c| {
        c.outbox_bytes = 64 * 1024;
        c.limits = hehe_server::infra::limits::LimitsConfig::off();
    })
    .await;
    let home = Channel::Home(app.demo.communities[0]);
    let mut resident = app.connect("resident").await;
    let first = resident.subscribe(home, None).await.unwrap();
    resident.close().await.unwrap();

    // 20 posts of ~6 KB while away: more than the 64 KiB queue takes.
    let mut official = app.connect("official").await;
    let text = "水".repeat(2000);
    for _ in 0..20 {
        official.post(home, &text).await.unwrap();
    }
    let mut again = app.connect("resident").await;
    let resumed = again
        .subscribe(home, Some(first.position()))
        .await
        .expect("answered, not closed");
    assert!(!resumed.recovered);
    assert!(resumed.events.is_empty());
    assert_eq!(resumed.offset, first.offset + 20);

    // The connection lives on, and a small gap is still recovered as before.
    official.post(home, "short").await.unwrap();
    let event = again.next_event_timeout(WAIT).await.expect("live again");
    assert_eq!(event.offset, resumed.offset + 1);
    let mut third = app.connect("resident").await;
    let small = third
        .subscribe(home, Some(resumed.position()))
        .await
        .unwrap();
    assert!(small.recovered);
    assert_eq!(small.events.len(), 1);
    assert_eq!(app.metric("hehe_closes_total{code=\"4001\"}").await, 0.0);
}
