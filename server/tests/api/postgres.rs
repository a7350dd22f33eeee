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
