//! A command retried with the same request id is applied once and answered the same way.

use crate::helpers::*;
use hehe_protocol::{Channel, RequestId};

#[tokio::test]
async fn a_retried_post_is_applied_once_on_the_same_and_on_a_new_connection() {
    let app = spawn_app().await;
    let home = Channel::Home(app.demo.communities[0]);
    let mut watcher = app.connect("resident").await;
    watcher.subscribe(home, None).await.unwrap();

    let id = RequestId::parse("retry-me-1").unwrap();
    let mut official = app.connect("official").await;
    let first = official
        .post_with_id(id.clone(), home, "water off 9-11")
        .await
        .unwrap();
    let again = official
        .post_with_id(id.clone(), home, "water off 9-11")
        .await
        .unwrap();
    assert_eq!(first, again);

    // The connection drops before the reply arrives; the retry goes over a new one.
    official.close().await.unwrap();
    let mut reconnected = app.connect("official").await;
    let third = reconnected
        .post_with_id(id.clone(), home, "water off 9-11")
        .await
        .unwrap();
    assert_eq!(first, third);

    let got = events(&mut watcher, 1).await;
    assert_eq!(got[0].offset, first.offset);
    assert_no_more_events(&mut watcher).await;

    let token = app.login("resident").await.access_token;
    let page = app.http.messages(&token, home, None, None).await.unwrap();
    assert_eq!(page.messages.len(), 1);
    assert_eq!(page.messages[0].id, first.message_id);
}

#[tokio::test]
async fn concurrent_retries_race_to_one_message() {
    let app = spawn_app().await;
    let home = Channel::Home(app.demo.communities[0]);
    let mut watcher = app.connect("resident").await;
    watcher.subscribe(home, None).await.unwrap();
    let id = RequestId::parse("race-1").unwrap();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let mut conn = app.connect("official").await;
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            conn.post_with_id(id, home, "once").await.unwrap()
        }));
    }
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.unwrap());
    }
    assert!(replies.windows(2).all(|w| w[0] == w[1]), "{replies:?}");
    events(&mut watcher, 1).await;
    assert_no_more_events(&mut watcher).await;
}

#[tokio::test]
async fn the_same_id_from_another_author_is_another_command() {
    let app = spawn_app().await;
    let home = Channel::Home(app.demo.communities[0]);
    let id = RequestId::parse("shared-id").unwrap();
    let mut official = app.connect("official").await;
    let mut chief = app.connect("chief").await;
    let a = official
        .post_with_id(id.clone(), home, "from the official")
        .await
        .unwrap();
    let b = chief
        .post_with_id(id, home, "from the chief")
        .await
        .unwrap();
    assert_ne!(a.message_id, b.message_id);
    assert_eq!(b.offset, a.offset + 1);
}
