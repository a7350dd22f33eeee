//! Managing the place tree over HTTP: creating, renaming, moving, archiving and restoring
//! places, the CSV import (dry run, twice, refusals), the live `place.*` events on `street:` and
//! `home:`, the audit entries, and a move seen by every node.

use crate::common::{TestDatabase, TestRedis};
use crate::helpers::*;
use crate::identity::call;
use hehe_client::{ClientError, Connection};
use hehe_protocol::http::{PlaceInfo, PlaceKind};
use hehe_protocol::issue::NewIssue;
use hehe_protocol::places::{ImportReport, NewPlace, PlacePatch};
use hehe_protocol::{Channel, ErrorCode, Event, PlaceId, RequestId};
use serde_json::{Value, json};

async fn token(app: &TestApp, user: &str) -> String {
    app.login(user).await.access_token
}

/// The next event of `kind`, skipping others (presence, counters).
async fn next_of_kind(conn: &mut Connection, kind: &str) -> Event {
    loop {
        let event = conn.next_event_timeout(WAIT).await.expect("an event");
        if event.kind == kind {
            return event;
        }
    }
}

fn new_place(kind: PlaceKind, parent: PlaceId, name_zh: &str) -> NewPlace {
    NewPlace {
        kind,
        parent: Some(parent),
        name: format!("{name_zh} (en)"),
        name_zh: name_zh.into(),
        units: None,
        floors: None,
    }
}

fn refused(e: ClientError) -> (u16, ErrorCode) {
    match e {
        ClientError::Api { status, error } => (status, error.code),
        other => panic!("not an API refusal: {other}"),
    }
}

#[tokio::test]
async fn an_official_manages_the_places_of_his_community_live() {
    let app = spawn_app().await;
    let d = app.demo.clone();
    let riverside = d.communities[0];
    let official = token(&app, "official").await;
    let mut resident = app.connect("resident").await;
    resident
        .subscribe(Channel::Home(riverside), None)
        .await
        .unwrap();
    let mut chief = app.connect("chief").await;
    chief
        .subscribe(Channel::Street(d.street), None)
        .await
        .unwrap();

    // A compound, a grid in it and a building in that, each announced live on both channels.
    let compound = app
        .http
        .create_place(
            &official,
            &new_place(PlaceKind::Compound, riverside, "金桂小区"),
        )
        .await
        .unwrap();
    assert_eq!(
        (compound.kind, compound.parent_id),
        (PlaceKind::Compound, Some(riverside))
    );
    for conn in [&mut resident, &mut chief] {
        let event = next_of_kind(conn, "place.created").await;
        let info: PlaceInfo = serde_json::from_value(event.data).unwrap();
        assert_eq!(info, compound);
    }
    let grid = app
        .http
        .create_place(
            &official,
            &new_place(PlaceKind::Grid, compound.id, "金桂一网格"),
        )
        .await
        .unwrap();
    let building = app
        .http
        .create_place(
            &official,
            &NewPlace {
                units: Some(2),
                floors: Some(11),
                ..new_place(PlaceKind::Building, grid.id, "8栋")
            },
        )
        .await
        .unwrap();
    assert_eq!((building.units, building.floors), (Some(2), Some(11)));
    let detail = app.http.place(&official, building.id).await.unwrap();
    let above: Vec<PlaceId> = detail.ancestors.iter().map(|p| p.id).collect();
    assert_eq!(above, [d.street, riverside, compound.id, grid.id]);

    // Renamed, its floors forgotten.
    let patch = PlacePatch {
        name_zh: Some("八栋".into()),
        floors: Some(None),
        ..PlacePatch::default()
    };
    let renamed = app
        .http
        .edit_place(&official, building.id, &patch)
        .await
        .unwrap();
    assert_eq!((renamed.name_zh.as_str(), renamed.floors), ("八栋", None));
    let event = next_of_kind(&mut resident, "place.updated").await;
    assert_eq!(event.data["name_zh"], "八栋");

    // Archived (not while something lives under it), hidden unless asked, restored.
    let (status, body) = call(
        &app,
        "POST",
        &format!("/api/places/{}/archive", grid.id),
        &official,
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    let archived = app
        .http
        .archive_place(&official, building.id, true)
        .await
        .unwrap();
    assert!(archived.archived);
    assert!(next_of_kind(&mut chief, "place.archived").await.data["archived"] == true);
    let grid_detail = app.http.place(&official, grid.id).await.unwrap();
    assert!(grid_detail.children.is_empty());
    let (status, body) = call(
        &app,
        "GET",
        &format!("/api/places/{}?archived=true", grid.id),
        &official,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["children"][0]["id"], building.id.0);
    let (status, body) = call(
        &app,
        "POST",
        "/api/places",
        &official,
        Some(json!({"kind": "building", "parent": grid.id, "name": "x", "name_zh": "八栋"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("conflict")),
        "a name kept while archived"
    );
    let restored = app
        .http
        .archive_place(&official, building.id, false)
        .await
        .unwrap();
    assert!(!restored.archived);
    next_of_kind(&mut resident, "place.restored").await;

    // What he may not: a community, a grid in Orchard, a building under a community.
    let refusals = [
        (
            new_place(PlaceKind::Community, d.street, "新社区"),
            403,
            ErrorCode::Forbidden,
        ),
        (
            new_place(PlaceKind::Grid, d.communities[1], "果园三网格"),
            404,
            ErrorCode::NotFound,
        ),
        (
            new_place(PlaceKind::Building, riverside, "9栋"),
            400,
            ErrorCode::InvalidRequest,
        ),
        (
            new_place(PlaceKind::Grid, d.other_community, "湖畔二网格"),
            404,
            ErrorCode::NotFound,
        ),
        (
            new_place(PlaceKind::Grid, riverside, " "),
            400,
            ErrorCode::InvalidRequest,
        ),
    ];
    for (new, status, code) in refusals {
        let e = app.http.create_place(&official, &new).await.unwrap_err();
        assert_eq!(refused(e), (status, code), "{new:?}");
    }
    let (status, body) = call(
        &app,
        "POST",
        "/api/places",
        &official,
        Some(
            json!({"kind": "grid", "parent": riverside.0, "name": "x", "name_zh": "楼".repeat(65)}),
        ),
    )
    .await;
    assert_eq!(status, 400);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("64") && message.contains('。'),
        "{message}"
    );

    // Each change is in the audit log, the refusals too.
    let admin = token(&app, "admin").await;
    let (status, page) = call(&app, "GET", "/api/audit?limit=50", &admin, None).await;
    assert_eq!(status, 200);
    let seen: Vec<String> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e["action"].as_str().unwrap(),
                e["target"].as_str().unwrap(),
                e["outcome"].as_str().unwrap()
            )
        })
        .collect();
    let b = building.id.0;
    for want in [
        format!("place.create place:{} ok", compound.id.0),
        format!("place.create place:{b} ok"),
        format!("place.update place:{b} ok"),
        format!("place.archive place:{b} ok"),
        format!("place.restore place:{b} ok"),
    ] {
        assert!(seen.contains(&want), "{want} not in {seen:?}");
    }
    assert!(
        seen.iter()
            .any(|s| s.starts_with("place.create") && s.ends_with("denied"))
    );
}

#[tokio::test]
async fn the_roots_are_the_streets_one_may_see() {
    let app = spawn_app().await;
    let d = &app.demo;
    for (user, want) in [
        ("admin", vec![d.street, d.other_street]),
        ("chief", vec![d.street]),
        ("resident", vec![d.street]),
        ("lakeside", vec![d.other_street]),
        ("ops", vec![]),
    ] {
        let t = token(&app, user).await;
        let streets: Vec<PlaceId> = app
            .http
            .streets(&t, false)
            .await
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(streets, want, "{user}");
    }
    // Only an admin makes a street.
    let street = NewPlace {
        kind: PlaceKind::Street,
        parent: None,
        name: "East Lake".into(),
        name_zh: "东湖街道".into(),
        units: None,
        floors: None,
    };
    let chief = token(&app, "chief").await;
    assert_eq!(
        refused(app.http.create_place(&chief, &street).await.unwrap_err()).0,
        403
    );
    let admin = token(&app, "admin").await;
    let made = app.http.create_place(&admin, &street).await.unwrap();
    assert_eq!(made.parent_id, None);
    assert_eq!(app.http.streets(&admin, false).await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_move_refiles_issues_and_reconnects_those_granted_under_it() {
    let app = spawn_app().await;
    let d = app.demo.clone();
    let resident = token(&app, "resident").await;
    let issue = app
        .http
        .submit_issue(
            &resident,
            &RequestId::parse("place-admin-issue-1").unwrap(),
            &NewIssue {
                category: "drainage".into(),
                title: "Pothole by building 1".into(),
                description: "Deep".into(),
                place_id: d.buildings[0],
                location: None,
                public: true,
                priority: None,
                on_behalf_of: None,
            },
        )
        .await
        .unwrap();
    let mut lead = app.connect("lead").await;
    let mut watcher = app.connect("official").await;
    watcher
        .subscribe(Channel::Home(d.communities[0]), None)
        .await
        .unwrap();
    let official = token(&app, "official").await;

    // Building 1 of grid 1 goes to grid 2 of the same community.
    let moved = app
        .http
        .move_place(&official, d.buildings[0], d.grids[1])
        .await
        .unwrap();
    assert_eq!(moved.parent_id, Some(d.grids[1]));
    let event = next_of_kind(&mut watcher, "place.moved").await;
    assert_eq!(event.data["parent_id"], d.grids[1].0);
    // The building's lead reconnects, to read what the building's new place lets her.
    assert_eq!(close_code(&mut lead).await, Some(4007));
    let detail = app.http.place(&official, d.buildings[0]).await.unwrap();
    assert_eq!(detail.ancestors.last().map(|p| p.id), Some(d.grids[1]));
    // The issue follows its building.
    let listed = app
        .http
        .issues(&official, &[("grid", d.grids[1].to_string())])
        .await
        .unwrap();
    assert!(listed.iter().any(|i| i.id == issue.id), "{listed:?}");
    let listed = app
        .http
        .issues(&official, &[("grid", d.grids[0].to_string())])
        .await
        .unwrap();
    assert!(listed.iter().all(|i| i.id != issue.id));

    // The same parent again changes nothing; what does not fit, or leaves his scope, is refused.
    app.http
        .move_place(&official, d.buildings[0], d.grids[1])
        .await
        .unwrap();
    for (place, parent, status) in [
        (d.communities[0], d.street, 403),
        (d.buildings[0], d.grids[2], 404),
        (d.buildings[0], d.communities[0], 400),
        (d.grids[0], d.buildings[1], 400),
        (d.communities[0], d.other_street, 404),
    ] {
        let e = app
            .http
            .move_place(&official, place, parent)
            .await
            .unwrap_err();
        assert_eq!(refused(e).0, status, "{place} under {parent}");
    }
    let chief = token(&app, "chief").await;
    let e = app
        .http
        .move_place(&chief, d.communities[0], d.other_street)
        .await
        .unwrap_err();
    assert_eq!(refused(e).0, 404, "a street he cannot see");
    let admin = token(&app, "admin").await;
    let (status, page) = call(&app, "GET", "/api/audit?limit=50", &admin, None).await;
    assert_eq!(status, 200);
    let moves: Vec<&Value> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "place.move" && e["outcome"] == "ok")
        .collect();
    assert_eq!(moves.len(), 1, "{page}");
    assert_eq!(moves[0]["detail"], format!("from:{}", d.grids[0].0));
}

const CSV: &str = "street,community,compound,grid,building,units,floors,building_en\n\
    和合街道,滨河社区,金桂小区,金桂一网格,1栋,2,18,Block 1\n\
    和合街道,滨河社区,金桂小区,金桂一网格,2栋,,,\n\
    和合街道,滨河社区,,滨河社区第1网格,滨河社区9号楼,,,\n\
    和合街道,滨河社区,,滨河社区第1网格,滨河社区1号楼,,,\n";

async fn import(app: &TestApp, token: &str, csv: &str, dry_run: bool) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!(
            "http://{}/api/places/import?dry_run={dry_run}",
            app.addr
        ))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_import_is_previewed_applied_once_and_refused_whole() {
    let app = spawn_app().await;
    let d = app.demo.clone();
    let official = token(&app, "official").await;
    let mut home = app.connect("resident").await;
    home.subscribe(Channel::Home(d.communities[0]), None)
        .await
        .unwrap();

    // A dry run lists what it would create and writes nothing.
    let report = app
        .http
        .import_places(&official, CSV.as_bytes().to_vec(), true)
        .await
        .unwrap();
    assert!(report.dry_run && !report.applied);
    assert_eq!(report.lines, 4);
    let made: Vec<(u32, &str, &str)> = report
        .created
        .iter()
        .map(|c| (c.line, c.kind.as_str(), c.path.as_str()))
        .collect();
    assert_eq!(
        made,
        [
            (2, "compound", "和合街道/滨河社区/金桂小区"),
            (2, "grid", "和合街道/滨河社区/金桂小区/金桂一网格"),
            (2, "building", "和合街道/滨河社区/金桂小区/金桂一网格/1栋"),
            (3, "building", "和合街道/滨河社区/金桂小区/金桂一网格/2栋"),
            (
                4,
                "building",
                "和合街道/滨河社区/滨河社区第1网格/滨河社区9号楼"
            ),
        ]
    );
    assert_eq!((report.unchanged, report.refused.len()), (1, 0));
    assert!(report.created.iter().all(|c| c.id.is_none()));
    let riverside = app.http.place(&official, d.communities[0]).await.unwrap();
    assert_eq!(riverside.children.len(), 2, "nothing written");

    // Applied: the places exist, announced live, each audited.
    let report = app
        .http
        .import_places(&official, CSV.as_bytes().to_vec(), false)
        .await
        .unwrap();
    assert!(report.applied && !report.dry_run);
    assert_eq!(report.created.len(), 5);
    let block = report.created[2].id.unwrap();
    let info = app.http.place(&official, block).await.unwrap().place;
    assert_eq!(
        (info.name.as_str(), info.units, info.floors),
        ("Block 1", Some(2), Some(18))
    );
    let event = next_of_kind(&mut home, "place.created").await;
    assert_eq!(event.data["id"], report.created[0].id.unwrap().0);

    // Again: everything is there already.
    let again = app
        .http
        .import_places(&official, CSV.as_bytes().to_vec(), false)
        .await
        .unwrap();
    assert_eq!(
        (again.created.len(), again.unchanged, again.applied),
        (0, 4, false)
    );

    // A file with a bad line is refused whole: 422 with the report, nothing written.
    let bad = format!(
        "{CSV}和合街道,滨河社区,,滨河社区第2网格,新楼,,,\n和合街道,果园社区,,果园一网格,1栋,,,\n和合街道,滨河社区,,滨河社区第2网格,1栋,,,\n"
    );
    let (status, body) = import(&app, &official, &bad, false).await;
    assert_eq!(status, 422, "{body}");
    let report: ImportReport = serde_json::from_value(body).unwrap();
    let codes: Vec<(u32, &str)> = report
        .refused
        .iter()
        .map(|r| (r.line, r.code.as_str()))
        .collect();
    assert_eq!(codes, [(7, "outside_scope"), (8, "two_parents")]);
    assert!(!report.applied);
    let grid2 = app.http.place(&official, d.grids[1]).await.unwrap();
    assert!(
        grid2.children.iter().all(|p| p.name_zh != "新楼"),
        "nothing half-applied"
    );
    // The same on a dry run answers 200.
    assert_eq!(import(&app, &official, &bad, true).await.0, 200);

    // Headers, sizes and roles.
    let (status, body) = import(
        &app,
        &official,
        "street,community,grid,building,colour\n",
        false,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_request")),
        "a wrong header refuses the file: {body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("colour"),
        "{body}"
    );
    let huge = "x".repeat(hehe_server::domain::place_import::MAX_BYTES + 10);
    let (status, body) = import(&app, &official, &huge, true).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("payload_too_large")),
        "{body}"
    );
    let worker = token(&app, "worker").await;
    assert_eq!(import(&app, &worker, CSV, true).await.0, 403);
    let admin = token(&app, "admin").await;
    let (status, page) = call(&app, "GET", "/api/audit?limit=100", &admin, None).await;
    assert_eq!(status, 200);
    let created = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "place.create" && e["outcome"] == "ok")
        .count();
    assert_eq!(created, 5);
}

/// Two nodes on one PostgreSQL database and one Redis: a move made through one is seen at
/// once by the other, whose connections granted under the place reconnect.
#[tokio::test]
async fn a_move_on_one_node_reaches_the_other() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let Some(redis) = TestRedis::connect().await else {
        return;
    };
    let first = spawn_app_with(|c| {
        c.database_url = db.url.clone();
        c.redis_url = redis.url.clone();
        c.redis_prefix = redis.prefix.clone();
        c.token_secret = "place-admin-tests-share-this-secret-0123456789".into();
        c.database_max_connections = 4;
    })
    .await;
    let second = spawn_node(&first).await;
    let d = first.demo.clone();
    // The second node has read (and cached) the building's path: its lead is connected there.
    let lead_token = token(&second, "lead").await;
    let mut lead = Connection::connect(&second.ws_url(), &lead_token)
        .await
        .unwrap();
    let cached = second
        .state
        .store
        .place_path(d.buildings[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cached.grid, Some(d.grids[0]));

    let official = token(&first, "official").await;
    first
        .http
        .move_place(&official, d.buildings[0], d.grids[1])
        .await
        .unwrap();
    assert_eq!(close_code(&mut lead).await, Some(4007));
    let path = second
        .state
        .store
        .place_path(d.buildings[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        path.grid,
        Some(d.grids[1]),
        "the other node forgot its cached path"
    );
}
