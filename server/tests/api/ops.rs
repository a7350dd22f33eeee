//! The ops channel `ops:1`: node figures every interval, load-test figures posted over HTTP,
//! and only ops and admin accounts reading them.

use crate::helpers::*;
use hehe_protocol::ops::{LatencySummary, LoadtestProgress, NodeStats};
use hehe_protocol::{Channel, ErrorCode, Event};
use serde_json::json;

fn quick(config: &mut hehe_server::config::Config) {
    config.ops_stats_ms = 50;
}

async fn next_of_kind(conn: &mut hehe_client::Connection, kind: &str) -> Event {
    loop {
        let event = conn.next_event_timeout(WAIT).await.expect("an ops event");
        if event.kind == kind {
            return event;
        }
    }
}

fn progress() -> LoadtestProgress {
    LoadtestProgress {
        run: "t1".into(),
        scenario: "room".into(),
        elapsed_secs: 1.5,
        connections: 30,
        sent: 10,
        received: 300,
        deliveries_per_sec: 200.0,
        latency_ms: LatencySummary {
            p50: 1.0,
            p90: 2.0,
            p99: 3.0,
            max: 4.0,
        },
        lost: 0,
        duplicates: 0,
        out_of_order: 0,
        errors: 0,
        closes: [(4000, 1)].into(),
        done: true,
    }
}

async fn post_progress(app: &TestApp, user: &str, body: serde_json::Value) -> (u16, String) {
    let token = app.login(user).await.access_token;
    let response = reqwest::Client::new()
        .post(format!("http://{}/api/ops/loadtest", app.addr))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn every_node_reports_its_figures_on_the_ops_channel() {
    let app = spawn_app_with(quick).await;
    let mut ops = app.connect("ops").await;
    ops.subscribe(Channel::OPS, None).await.unwrap();
    let mut resident = app.connect("resident").await;
    resident
        .subscribe(Channel::Home(app.demo.communities[0]), None)
        .await
        .unwrap();

    // Reports taken before the resident's subscription may still be on their way.
    let stats = loop {
        let event = next_of_kind(&mut ops, "node.stats").await;
        let stats: NodeStats = serde_json::from_value(event.data).unwrap();
        if stats.subscriptions == 2 {
            break stats;
        }
    };
    assert_eq!(stats.node, app.addr.to_string());
    assert_eq!(stats.connections, 2);
    assert!(stats.cpu_seconds > 0.0 && stats.resident_bytes > 0);

    // A post reaches the resident; the next reports count it. (The reports themselves are
    // events too: they count as deliveries to the ops subscriber, and have their bus lag.)
    let mut official = app.connect("official").await;
    official
        .post(Channel::Home(app.demo.communities[0]), "水管明天上午检修")
        .await
        .unwrap();
    resident.next_event_timeout(WAIT).await.unwrap();
    let mut lag_seen = 0;
    let stats = loop {
        let event = next_of_kind(&mut ops, "node.stats").await;
        let stats: NodeStats = serde_json::from_value(event.data).unwrap();
        lag_seen += stats.bus_lag.count;
        if stats.events_published == 1 {
            break stats;
        }
    };
    assert!(
        lag_seen >= 2,
        "the post and a report arrived through the bus"
    );
    assert!(stats.events_delivered >= 2, "the post and a report");
    assert!(stats.frames_in >= 4, "auths, subscribes and the post");
}

#[tokio::test]
async fn node_reports_count_the_notifications_made() {
    let app = spawn_app_with(quick).await;
    let mut ops = app.connect("ops").await;
    ops.subscribe(Channel::OPS, None).await.unwrap();
    let event = next_of_kind(&mut ops, "node.stats").await;
    let first: NodeStats = serde_json::from_value(event.data).unwrap();
    assert_eq!(first.notifications_created, 0);
    assert_eq!((first.notify_dead, first.notify_oldest_due_ms), (0, 0));

    // A new issue tells the community's officials: a later report counts their inbox entries
    // (a report every 50 ms; 200 of them is ten seconds).
    let mut resident = app.connect("resident").await;
    resident
        .submit_issue(crate::issues::report(&app, "drainage"))
        .await
        .unwrap();
    let mut created = 0;
    for _ in 0..200 {
        let event = next_of_kind(&mut ops, "node.stats").await;
        let stats: NodeStats = serde_json::from_value(event.data).unwrap();
        created = stats.notifications_created;
        if created > 0 {
            assert_eq!(stats.notify_dead, 0);
            break;
        }
    }
    assert!(
        created > 0,
        "no report counted the officials' notifications"
    );
    assert_eq!(
        created as f64,
        app.metric("hehe_notifications_created_total").await,
        "the report and /metrics count alike"
    );
}

#[tokio::test]
async fn only_ops_and_admins_read_the_ops_channel() {
    let app = spawn_app_with(quick).await;
    let mut admin = app.connect("admin").await;
    admin.subscribe(Channel::OPS, None).await.unwrap();
    for user in ["resident", "worker", "official", "chief"] {
        let mut conn = app.connect(user).await;
        let refused = conn.subscribe(Channel::OPS, None).await.unwrap_err();
        assert_eq!(refused.code(), Some(ErrorCode::Forbidden), "{user}");
    }
    let mut ops = app.connect("ops").await;
    let refused = ops.subscribe(Channel::Ops(2), None).await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::NotFound));
    // Nobody posts to it, ops included.
    let refused = ops.post(Channel::OPS, "hello").await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::Forbidden));
}

#[tokio::test]
async fn the_load_test_reports_to_the_dashboards() {
    let app = spawn_app_with(|c| c.ops_stats_ms = 0).await;
    let mut dashboard = app.connect("ops").await;
    dashboard.subscribe(Channel::OPS, None).await.unwrap();

    let body = serde_json::to_value(progress()).unwrap();
    let (status, text) = post_progress(&app, "ops", body.clone()).await;
    assert_eq!(status, 202, "{text}");
    let position: hehe_protocol::Position = serde_json::from_str(&text).unwrap();
    let event = next_of_kind(&mut dashboard, "loadtest.progress").await;
    assert_eq!(event.offset, position.offset);
    assert_eq!(
        serde_json::from_value::<LoadtestProgress>(event.data).unwrap(),
        progress()
    );

    let (status, _) = post_progress(&app, "resident", body.clone()).await;
    assert_eq!(status, 403);
    let mut bad = body.clone();
    bad["latency_ms"]["p99"] = json!(-1.0);
    let (status, text) = post_progress(&app, "ops", bad).await;
    assert_eq!(status, 400, "{text}");
    let mut bad = body.clone();
    bad["run"] = json!("x".repeat(65));
    assert_eq!(post_progress(&app, "ops", bad).await.0, 400);
    let mut bad = body;
    bad["surprise"] = json!(1);
    assert_eq!(post_progress(&app, "ops", bad).await.0, 400);
    // Refused reports published nothing.
    assert_no_more_events(&mut dashboard).await;
}

#[tokio::test]
async fn the_dashboard_page_is_served_self_contained() {
    let app = spawn_app().await;
    let response = reqwest::get(format!("http://{}/ops", app.addr))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let page = response.text().await.unwrap();
    assert!(page.contains("ops:1"), "the page reads the ops channel");
    assert!(
        page.contains("notify_pending") && page.contains("通知 Notifications"),
        "the page shows the notification queue"
    );
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no outside assets"
    );
}
