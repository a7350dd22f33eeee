//! The audit log: an entry for each kind of privileged action, none for ordinary ones, and who
//! may read it.

use crate::helpers::*;
use crate::identity::call;
use crate::issues::report;
use hehe_protocol::issue::IssueAction;
use hehe_protocol::meeting::RoomAction;
use hehe_protocol::{Channel, RequestId};
use serde_json::{Value, json};

/// Every entry the caller may read, newest first, following the pages.
async fn all_entries(app: &TestApp, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut path = "/api/audit?limit=3".to_owned();
    loop {
        let (status, page) = call(app, "GET", &path, token, None).await;
        assert_eq!(status, 200, "{page}");
        out.extend(page["entries"].as_array().unwrap().iter().cloned());
        match page["next_before"].as_i64() {
            Some(before) => path = format!("/api/audit?limit=3&before={before}"),
            None => return out,
        }
    }
}

fn actions(entries: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = entries
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["action"].as_str().unwrap(),
                e["outcome"].as_str().unwrap()
            )
        })
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn privileged_actions_are_audited_and_ordinary_ones_are_not() {
    let app = spawn_app().await;
    let admin = app.login("admin").await.access_token;
    let chief = app.login("chief").await.access_token;
    let resident = app.login("resident").await.access_token;
    let home = Channel::Home(app.demo.communities[0]);

    // Ordinary: a resident reports an issue, posts nothing privileged, raises a hand.
    let issue = app
        .http
        .submit_issue(
            &resident,
            &RequestId::parse("r-1").unwrap(),
            &report(&app, "clutter"),
        )
        .await
        .unwrap();
    let mut official = app.connect("official").await;
    official.post(home, "notice").await.unwrap();
    assert!(
        all_entries(&app, &admin).await.is_empty(),
        "nothing privileged yet"
    );

    // Staff on the issue: accept and dispatch.
    let official_token = app.login("official").await.access_token;
    let worker = app.demo.account("worker");
    for (rid, action) in [
        ("a-1", IssueAction::Accept),
        ("a-2", IssueAction::Dispatch { assignee: worker }),
    ] {
        app.http
            .issue_action(
                &official_token,
                issue.id,
                &RequestId::parse(rid).unwrap(),
                &action,
            )
            .await
            .unwrap();
    }
    // The chair starts the hearing and mutes someone; a resident raises a hand.
    let meeting = app.demo.meeting;
    let mut chair = app.connect("chief").await;
    chair.subscribe(Channel::Room(meeting), None).await.unwrap();
    chair.room_action(meeting, RoomAction::Start).await.unwrap();
    let mut voter = app.connect("resident").await;
    voter.subscribe(Channel::Room(meeting), None).await.unwrap();
    voter
        .room_action(meeting, RoomAction::RaiseHand)
        .await
        .unwrap();
    let who = app.demo.account("resident");
    chair
        .room_action(meeting, RoomAction::Mute { who })
        .await
        .unwrap();

    // The chief sets an appraisal up, opens and closes it.
    let electorate = [app.demo.account("resident"), app.demo.account("lead")];
    let setup = json!({
        "title": "Autumn appraisal",
        "place_id": app.demo.communities[0],
        "appraisees": [{ "name": "Property management", "service": "Green Leaf" }],
        "dimensions": [{ "name": "Results", "weight": 1, "scale": 5 }],
        "electorate": electorate,
        "anonymous": true,
    });
    let (status, appraisal) = call(&app, "POST", "/api/appraisals", &chief, Some(setup)).await;
    assert_eq!(status, 200, "{appraisal}");
    let appraisal = appraisal["id"].as_i64().unwrap();
    for step in ["open", "close"] {
        let path = format!("/api/appraisals/{appraisal}/{step}");
        assert_eq!(
            call(&app, "POST", &path, &chief, None).await.0,
            200,
            "{step}"
        );
    }
    // A load test's reports: only the run's last one is audited.
    let ops = app.login("ops").await.access_token;
    for done in [false, true] {
        let report = json!({
            "run": "audit-run", "scenario": "room", "elapsed_secs": 1.0, "connections": 1,
            "sent": 1, "received": 1, "deliveries_per_sec": 1.0,
            "latency_ms": { "p50": 1.0, "p90": 1.0, "p99": 1.0, "max": 1.0 },
            "lost": 0, "duplicates": 0, "out_of_order": 0, "errors": 0, "done": done,
        });
        let (status, body) = call(&app, "POST", "/api/ops/loadtest", &ops, Some(report)).await;
        assert_eq!(status, 202, "{body}");
    }

    // Roles: one given by the chief, one refused him, and an admin disabling and enabling.
    let lead = app.demo.account("lead");
    let grants = format!("/api/accounts/{}/grants", lead.0);
    let grid = json!({ "role": "grid_worker", "place": app.demo.grids[0].0 });
    assert_eq!(call(&app, "POST", &grants, &chief, Some(grid)).await.0, 200);
    let admin_role = json!({ "role": "admin" });
    assert_eq!(
        call(&app, "POST", &grants, &chief, Some(admin_role))
            .await
            .0,
        403
    );
    for step in ["disable", "enable"] {
        let path = format!("/api/accounts/{}/{step}", lead.0);
        assert_eq!(call(&app, "POST", &path, &admin, None).await.0, 204);
    }
    // Signing out everywhere is audited; signing out one session is not.
    let once = app.login("lakeside").await.access_token;
    assert_eq!(
        call(&app, "POST", "/api/auth/logout", &once, None).await.0,
        204
    );
    let everywhere = app.login("lakeside").await.access_token;
    let all = Some(json!({ "everywhere": true }));
    assert_eq!(
        call(&app, "POST", "/api/auth/logout", &everywhere, all)
            .await
            .0,
        204
    );

    let entries = all_entries(&app, &admin).await;
    assert_eq!(
        actions(&entries),
        [
            "account.disable ok",
            "account.enable ok",
            "appraisal.close ok",
            "appraisal.open ok",
            "appraisal.set_up ok",
            "grant.add denied",
            "grant.add ok",
            "issue.accept ok",
            "issue.dispatch ok",
            "loadtest.run ok",
            "room.mute ok",
            "room.start ok",
            "session.logout_everywhere ok",
        ]
    );
    let ids: Vec<i64> = entries.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let dispatch = entries
        .iter()
        .find(|e| e["action"] == "issue.dispatch")
        .unwrap();
    assert_eq!(dispatch["actor"], json!(app.demo.account("official").0));
    assert_eq!(dispatch["target"], json!(format!("issue:{}", issue.id.0)));
    assert_eq!(dispatch["request_id"], json!("a-2"));
    assert_eq!(dispatch["street"], json!(app.demo.street.0));
    let grant = entries
        .iter()
        .find(|e| e["action"] == "grant.add" && e["outcome"] == "ok")
        .unwrap();
    assert_eq!(grant["detail"], json!("grid_worker"));
    assert_eq!(grant["target"], json!(format!("account:{}", lead.0)));
    // Ids and names only: nothing of what was said or written.
    let text = serde_json::to_string(&entries).unwrap();
    for private in ["notice", "Drain pipe", "hehe-demo", "Wang Fang"] {
        assert!(!text.contains(private), "{private} in the audit log");
    }

    // The chief reads his street's entries only; others read nothing.
    let his = all_entries(&app, &chief).await;
    assert!(!his.is_empty());
    assert!(
        his.iter().all(|e| e["street"] == json!(app.demo.street.0)),
        "{his:?}"
    );
    assert!(
        his.len() < entries.len(),
        "account-wide entries are the admin's"
    );
    for (user, token) in [
        ("resident", &resident),
        ("official", &official_token),
        ("ops", &ops),
    ] {
        let (status, body) = call(&app, "GET", "/api/audit", token, None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("forbidden")),
            "{user}"
        );
    }
    let other = app.demo.other_street.0;
    let (status, _) = call(
        &app,
        "GET",
        &format!("/api/audit?street={other}"),
        &chief,
        None,
    )
    .await;
    assert_eq!(status, 403, "another street's log");
    let (status, _) = call(&app, "GET", "/api/audit?limit=0", &admin, None).await;
    assert_eq!(status, 400);
}
