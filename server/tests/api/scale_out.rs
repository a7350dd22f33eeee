//! The whole server on the Redis bus: what clients see must not change with the bus.

use crate::common::TestRedis;
use crate::helpers::*;
use hehe_protocol::Channel;

#[tokio::test]
async fn on_the_redis_bus_events_fan_out_and_resume_as_on_the_embedded_one() {
    let Some(redis) = TestRedis::connect().await else {
        return;
    };
    let app = spawn_app_with(|c| {
        c.redis_url = redis.url.clone();
        c.redis_prefix = redis.prefix.clone();
    })
    .await;
    let home = Channel::Home(app.demo.communities[0]);
    let mut official = app.connect("official").await;
    let mut resident = app.connect("resident").await;
    let mut lead = app.connect("lead").await;
    let first = resident.subscribe(home, None).await.unwrap();
    lead.subscribe(home, None).await.unwrap();
    for i in 1..=3 {
        official.post(home, &format!("m{i}")).await.unwrap();
    }
    for conn in [&mut resident, &mut lead] {
        let got = events(conn, 3).await;
        let seen: Vec<(u64, String)> = got.iter().map(|e| (e.offset, text_of(e))).collect();
        assert_eq!(
            seen,
            (1..=3).map(|i| (i, format!("m{i}"))).collect::<Vec<_>>()
        );
        assert!(got.iter().all(|e| e.epoch == first.epoch));
    }
    let positions = resident.positions();
    resident.close().await.unwrap();

    for i in 4..=6 {
        official.post(home, &format!("m{i}")).await.unwrap();
    }
    let mut again = app.connect("resident").await;
    let resumed = again.resume(&positions).await.unwrap();
    assert!(resumed[0].recovered);
    let missed: Vec<u64> = resumed[0].events.iter().map(|e| e.offset).collect();
    assert_eq!(missed, [4, 5, 6]);
    official.post(home, "m7").await.unwrap();
    assert_eq!(events(&mut again, 1).await[0].offset, 7);
    assert_no_more_events(&mut again).await;
    assert_eq!(events(&mut lead, 4).await.last().unwrap().offset, 7);
}
