//! Appraisal meetings over real HTTP and WebSocket: a whole appraisal with thirty voters at
//! once, one ballot per elector even when two race, anonymous ballots that name nobody in the
//! database, voids that keep the counts reconciled, follow-up items for low scores, results
//! hidden until published, and who may do what.

use crate::common::TestDatabase;
use crate::helpers::*;
use hehe_client::Connection;
use hehe_protocol::{AccountId, Channel, MeetingId, PlaceId, Role};
use hehe_server::domain::appraisal::{Counted, Setup, reconcile, results};
use hehe_server::identity::tokens::TokenKind;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// A token for an account, without a password round.
fn token(app: &TestApp, id: AccountId) -> String {
    app.state
        .tokens
        .issue(id, TokenKind::Access, app.state.now())
        .token
}

/// A demo account's id and token.
fn demo(app: &TestApp, username: &str) -> (AccountId, String) {
    let id = app.demo.account(username);
    (id, token(app, id))
}

/// `n` new people holding `role` at `place`, with tokens.
async fn people(
    app: &TestApp,
    tag: &str,
    n: usize,
    role: Role,
    place: PlaceId,
) -> Vec<(AccountId, String)> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let store = &app.state.store;
        let id = store
            .insert_account(&format!("{tag}{i}"), &format!("{tag} {i}"), "-")
            .await
            .unwrap();
        store.insert_grant(id, role, Some(place)).await.unwrap();
        out.push((id, token(app, id)));
    }
    out
}

/// Sends a request and returns the status and the JSON body (`Null` when there is none).
async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("http://{}{path}", app.addr))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    call(app, token, Method::POST, path, Some(body)).await
}

async fn get(app: &TestApp, token: &str, id: MeetingId) -> (u16, Value) {
    call(
        app,
        token,
        Method::GET,
        &format!("/api/appraisals/{id}"),
        None,
    )
    .await
}

async fn step(app: &TestApp, token: &str, id: MeetingId, what: &str) -> (u16, Value) {
    let path = format!("/api/appraisals/{id}/{what}");
    call(app, token, Method::POST, &path, None).await
}

/// Two appraisees (a person and a service) on three weighted dimensions: weights 2, 1, 1
/// (so ½, ¼, ¼) on scales 5, 10 and 5.
fn setup_body(
    place: PlaceId,
    person: AccountId,
    electorate: &[AccountId],
    anonymous: bool,
) -> Value {
    json!({
        "title": "Spring appraisal of Riverside",
        "place_id": place,
        "appraisees": [
            { "name": "Liu Yang", "account_id": person },
            { "name": "Property management", "service": "Green Leaf Property" },
        ],
        "dimensions": [
            { "name": "Responsiveness", "weight": 2, "scale": 5 },
            { "name": "Results", "weight": 1, "scale": 10 },
            { "name": "Attitude", "weight": 1, "scale": 5 },
        ],
        "electorate": electorate,
        "anonymous": anonymous,
    })
}

async fn set_up(app: &TestApp, token: &str, body: Value) -> MeetingId {
    let (status, detail) = post(app, token, "/api/appraisals", body).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["state"], "prepared");
    MeetingId(detail["id"].as_i64().unwrap())
}

fn ballot(first: [u32; 3], second: [u32; 3], grades: [&str; 2]) -> Value {
    let row = |s: [u32; 3]| json!({ "0": s[0], "1": s[1], "2": s[2] });
    json!({
        "scores": { "0": row(first), "1": row(second) },
        "grade": { "0": grades[0], "1": grades[1] },
    })
}

async fn cast(app: &TestApp, token: &str, id: MeetingId, body: Value) -> (u16, Value) {
    post(app, token, &format!("/api/appraisals/{id}/ballots"), body).await
}

fn close_to(value: &Value, expected: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - expected).abs() < 1e-9)
}

/// Reads room events until `kind` arrives, returning every event seen.
async fn until(conn: &mut Connection, kind: &str) -> Vec<hehe_protocol::Event> {
    let mut seen = Vec::new();
    loop {
        let event = conn.next_event_timeout(WAIT).await.expect("a room event");
        let done = event.kind == kind;
        seen.push(event);
        if done {
            return seen;
        }
    }
}

/// A validator for a component of the served OpenAPI document, with objects closed so that a
/// field the document forgot fails.
async fn schema(app: &TestApp, component: &str) -> jsonschema::Validator {
    fn close(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                    map.insert("additionalProperties".into(), Value::Bool(false));
                }
                map.values_mut().for_each(close);
            }
            Value::Array(items) => items.iter_mut().for_each(close),
            _ => {}
        }
    }
    let (status, text) = app.http.get_text("/api/openapi.json").await.unwrap();
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut components = doc["components"].clone();
    close(&mut components);
    let mut schema = json!({ "$ref": format!("#/components/schemas/{component}") });
    schema["components"] = components;
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .unwrap()
}

fn assert_matches(validator: &jsonschema::Validator, value: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}");
}

#[tokio::test]
async fn a_whole_appraisal_with_thirty_voters_publishes_the_hand_computed_results() {
    let app = spawn_app().await;
    let riverside = app.demo.communities[0];
    let (official, chair) = demo(&app, "official");
    let voters = people(&app, "voter", 30, Role::Resident, riverside).await;
    let absent = people(&app, "absent", 2, Role::Resident, riverside).await;
    let electorate: Vec<AccountId> = voters.iter().chain(&absent).map(|(id, _)| *id).collect();
    let body = setup_body(riverside, official, &electorate, false);
    assert_matches(&schema(&app, "NewAppraisal").await, &body, "a setup");
    let id = set_up(&app, &chair, body).await;

    // A neighbour outside the electorate watches the room.
    let mut watcher = app.connect("resident").await;
    watcher.subscribe(Channel::Room(id), None).await.unwrap();

    let (status, _) = step(&app, &chair, id, "open").await;
    assert_eq!(status, 200);
    // Ten voters each cast one of three ballots, all at once.
    let patterns = [
        ballot([5, 6, 2], [2, 6, 1], ["satisfied", "unsatisfied"]),
        ballot([4, 7, 3], [3, 5, 3], ["satisfied", "basic"]),
        ballot([3, 8, 4], [1, 7, 2], ["basic", "unsatisfied"]),
    ];
    let ballot_schema = schema(&app, "NewBallot").await;
    for pattern in &patterns {
        assert_matches(&ballot_schema, pattern, "a ballot");
    }
    let casts = voters
        .iter()
        .enumerate()
        .map(|(i, (_, t))| cast(&app, t, id, patterns[i % 3].clone()));
    for (status, receipt) in futures_util::future::join_all(casts).await {
        assert_eq!(status, 200, "{receipt}");
        assert_eq!(receipt["appraisal_id"], id.0);
        assert!(receipt["ballot_id"].is_string(), "a named ballot's id");
    }
    let (status, detail) = step(&app, &chair, id, "close").await;
    assert_eq!(status, 200, "{detail}");
    assert!(detail.get("results").is_none(), "not yet published");
    let (status, detail) = step(&app, &chair, id, "publish").await;
    assert_eq!(status, 200, "{detail}");

    assert_eq!(
        detail["counts"],
        json!({ "issued": 32, "cast": 30, "valid": 30, "void": 0, "not_returned": 2 })
    );
    let weights: Vec<f64> = detail["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["normalised_weight"].as_f64().unwrap())
        .collect();
    assert_eq!(weights, [0.5, 0.25, 0.25]);
    // By hand. Liu Yang: means 4/5, 7/10, 3/5 → 80, 70, 60 → ½·80 + ¼·70 + ¼·60 = 72.5;
    // satisfied 20 of 30, basic 10. Property management: means 2/5, 6/10, 2/5 → 40, 60, 40
    // → 20 + 15 + 10 = 45, below 60; unsatisfied 20, basic 10.
    let expected = [
        (
            [4.0, 7.0, 3.0],
            [80.0, 70.0, 60.0],
            72.5,
            [20, 10, 0],
            false,
        ),
        ([2.0, 6.0, 2.0], [40.0, 60.0, 40.0], 45.0, [0, 10, 20], true),
    ];
    let results = detail["results"].as_array().expect("published results");
    assert_eq!(results.len(), 2);
    for (r, (means, scores, overall, grades, low)) in results.iter().zip(expected) {
        for (d, (mean, score)) in means.iter().zip(scores).enumerate() {
            assert!(close_to(&r["dimensions"][d]["average"], *mean), "{r}");
            assert!(close_to(&r["dimensions"][d]["score"], score), "{r}");
        }
        assert!(close_to(&r["overall"], overall), "{r}");
        assert_eq!(r["low"], low, "{r}");
        for (name, count) in ["satisfied", "basic", "unsatisfied"].iter().zip(grades) {
            assert_eq!(r["grades"][name]["count"], count, "{r}");
            let share = (f64::from(count) / 30.0 * 10_000.0).round() / 10_000.0;
            assert!(close_to(&r["grades"][name]["share"], share), "{r}");
        }
    }
    // The service has no account: its follow-up item is the chair's.
    let published_at = detail["published_at"].as_i64().unwrap();
    let items = detail["follow_ups"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["appraisee"], 1);
    assert_eq!(items[0]["owner"], official.0);
    assert_eq!(items[0]["due_at"], published_at + 30 * DAY_MS);
    assert_matches(
        &schema(&app, "AppraisalDetail").await,
        &detail,
        "the published appraisal",
    );

    // The room saw each change as counts only, and then the same results.
    let seen = until(&mut watcher, "appraisal.published").await;
    let updates: Vec<&Value> = seen
        .iter()
        .filter(|e| e.kind == "appraisal.updated")
        .map(|e| &e.data)
        .collect();
    // Opened, thirty ballots, closed, published.
    assert_eq!(updates.len(), 33, "{updates:?}");
    for data in &updates {
        let keys: BTreeSet<&str> = data
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(keys, BTreeSet::from(["state", "issued", "cast", "void"]));
    }
    let casts: Vec<u64> = updates
        .iter()
        .filter(|d| d["state"] == "balloting")
        .map(|d| d["cast"].as_u64().unwrap())
        .collect();
    assert_eq!(casts, (0..=30).collect::<Vec<u64>>(), "in order, each once");
    assert_eq!(
        *updates[32],
        json!({ "state": "published", "issued": 32, "cast": 30, "void": 0 })
    );
    let published = &seen.last().unwrap().data;
    assert_eq!(published["results"], detail["results"]);
    assert_eq!(published["follow_ups"], detail["follow_ups"]);
    assert_eq!(published["counts"], detail["counts"]);
}

#[tokio::test]
async fn one_ballot_per_elector_even_when_two_race() {
    let app = spawn_app().await;
    let riverside = app.demo.communities[0];
    let (official, chair) = demo(&app, "official");
    let electors = people(&app, "elector", 3, Role::Resident, riverside).await;
    let ids: Vec<AccountId> = electors.iter().map(|(id, _)| *id).collect();
    let id = set_up(&app, &chair, setup_body(riverside, official, &ids, false)).await;
    let good = ballot([3, 5, 3], [3, 5, 3], ["basic", "basic"]);

    let (status, body) = cast(&app, &electors[0].1, id, good.clone()).await;
    assert_eq!(
        (status, &body["code"]),
        (409, &json!("conflict")),
        "not open yet"
    );
    step(&app, &chair, id, "open").await;

    let (status, _) = cast(&app, &electors[0].1, id, good.clone()).await;
    assert_eq!(status, 200);
    let (status, body) = cast(&app, &electors[0].1, id, good.clone()).await;
    assert_eq!(
        (status, &body["code"]),
        (409, &json!("conflict")),
        "a second ballot"
    );

    // The same elector on two devices at the same moment: one ballot.
    let (a, b) = tokio::join!(
        cast(&app, &electors[1].1, id, good.clone()),
        cast(
            &app,
            &electors[1].1,
            id,
            ballot([0; 3], [0; 3], ["unsatisfied"; 2])
        ),
    );
    let statuses = BTreeSet::from([a.0, b.0]);
    assert_eq!(statuses, BTreeSet::from([200, 409]), "{a:?} {b:?}");

    // A retried request is answered as the first was, and stores nothing more.
    let mut with_id = good.clone();
    with_id["request_id"] = json!("ballot-1");
    let (status, first) = cast(&app, &electors[2].1, id, with_id.clone()).await;
    assert_eq!(status, 200);
    let (status, again) = cast(&app, &electors[2].1, id, with_id.clone()).await;
    assert_eq!((status, &again), (200, &first));
    with_id["request_id"] = json!("ballot-2");
    let (status, _) = cast(&app, &electors[2].1, id, with_id).await;
    assert_eq!(status, 409, "another request is a second ballot");

    // Outsiders, the chair included, have no ballot.
    for name in ["resident", "lead", "official", "chief", "admin"] {
        let (_, t) = demo(&app, name);
        let (status, body) = cast(&app, &t, id, good.clone()).await;
        assert_eq!(
            (status, &body["code"]),
            (403, &json!("forbidden")),
            "{name}"
        );
    }
    // A ballot that misses a dimension, or scores past a scale, is refused.
    let mut short = good.clone();
    short["scores"]["1"].as_object_mut().unwrap().remove("2");
    let mut high = good.clone();
    high["scores"]["0"]["1"] = json!(11);
    let mut negative = good.clone();
    negative["scores"]["0"]["0"] = json!(-1);
    for bad in [short, high, negative, json!({ "scores": {} }), json!([1])] {
        let (status, body) = cast(&app, &electors[0].1, id, bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }

    let (_, detail) = get(&app, &chair, id).await;
    assert_eq!(
        detail["counts"],
        json!({ "issued": 3, "cast": 3, "valid": 3, "void": 0, "not_returned": 0 })
    );
    step(&app, &chair, id, "close").await;
    let (status, body) = cast(&app, &electors[0].1, id, good).await;
    assert_eq!((status, &body["code"]), (409, &json!("conflict")), "closed");
    let (_, detail) = get(&app, &chair, id).await;
    assert_eq!(detail["ballots"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn anonymous_ballots_name_nobody_and_recount_to_the_published_results() {
    let app = spawn_app().await;
    let riverside = app.demo.communities[0];
    let (official, chair) = demo(&app, "official");
    let voters = people(&app, "anon", 6, Role::Resident, riverside).await;
    let ids: Vec<AccountId> = voters.iter().map(|(id, _)| *id).collect();
    let id = set_up(&app, &chair, setup_body(riverside, official, &ids, true)).await;
    step(&app, &chair, id, "open").await;
    for (i, (_, t)) in voters.iter().enumerate() {
        let n = i as u32;
        let grade = ["satisfied", "basic", "unsatisfied"][i % 3];
        let (status, receipt) = cast(
            &app,
            t,
            id,
            ballot(
                [n % 6, n + 2, 5 - n % 6],
                [1, 2 * n % 11, 3],
                [grade, "basic"],
            ),
        )
        .await;
        assert_eq!(status, 200);
        assert!(receipt.get("ballot_id").is_none(), "{receipt}");
    }
    step(&app, &chair, id, "close").await;
    let (_, counting) = get(&app, &chair, id).await;
    for b in counting["ballots"].as_array().unwrap() {
        assert!(
            b.get("voter").is_none() && b.get("cast_at").is_none(),
            "{b}"
        );
    }
    let (status, published) = step(&app, &chair, id, "publish").await;
    assert_eq!(status, 200);

    // Straight from the database file.
    let url = format!("sqlite://{}", app.config.data_dir.join("hehe.db").display());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    use sqlx::Row;
    for table in ["appraisal_ballots", "appraisal_receipts"] {
        let sql: String = sqlx::query("SELECT sql FROM sqlite_master WHERE name = $1")
            .bind(table)
            .fetch_one(&pool)
            .await
            .unwrap()
            .get("sql");
        assert!(sql.contains("WITHOUT ROWID"), "{table}: {sql}");
    }
    let rows = sqlx::query(
        "SELECT ballot_id, voter_id, cast_at, scores, grades, status \
         FROM appraisal_ballots WHERE meeting_id = $1",
    )
    .bind(id.0)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 6);
    let mut counted = Vec::new();
    for row in &rows {
        assert!(row.get::<Option<i64>, _>("voter_id").is_none());
        assert!(row.get::<Option<i64>, _>("cast_at").is_none());
        let ballot_id: String = row.get("ballot_id");
        assert!(
            ballot_id.len() >= 20 && !ballot_id.chars().all(|c| c.is_ascii_digit()),
            "a random id, not a counter"
        );
        counted.push(Counted {
            scores: serde_json::from_str(&row.get::<String, _>("scores")).unwrap(),
            grades: serde_json::from_str(&row.get::<String, _>("grades")).unwrap(),
            status: serde_json::from_value(json!(row.get::<String, _>("status"))).unwrap(),
        });
    }
    let receipts: Vec<i64> =
        sqlx::query("SELECT voter_id FROM appraisal_receipts WHERE meeting_id = $1")
            .bind(id.0)
            .fetch_all(&pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("voter_id"))
            .collect();
    assert_eq!(receipts.len(), 6, "who voted is known; how is not");
    let setup: Setup = serde_json::from_str(
        &sqlx::query("SELECT setup FROM appraisals WHERE meeting_id = $1")
            .bind(id.0)
            .fetch_one(&pool)
            .await
            .unwrap()
            .get::<String, _>("setup"),
    )
    .unwrap();
    pool.close().await;

    // The tally recomputed from the stored ballots is the published one.
    let counts = reconcile(&setup, 6, receipts.len() as u32, &counted).unwrap();
    assert_eq!(serde_json::to_value(counts).unwrap(), published["counts"]);
    assert_eq!(
        serde_json::to_value(results(&setup, &counted)).unwrap(),
        published["results"]
    );
}

#[tokio::test]
async fn voiding_a_ballot_keeps_the_counts_reconciled_and_logged() {
    let app = spawn_app().await;
    let riverside = app.demo.communities[0];
    let (official, chair) = demo(&app, "official");
    let electors = people(&app, "v", 4, Role::Resident, riverside).await;
    let ids: Vec<AccountId> = electors.iter().map(|(id, _)| *id).collect();
    let id = set_up(&app, &chair, setup_body(riverside, official, &ids, true)).await;
    step(&app, &chair, id, "open").await;
    let high = ballot([5, 10, 5], [5, 10, 5], ["satisfied"; 2]);
    let low = ballot([0, 0, 0], [0, 0, 0], ["unsatisfied"; 2]);
    for (i, (_, t)) in electors.iter().take(3).enumerate() {
        let body = if i == 2 { low.clone() } else { high.clone() };
        assert_eq!(cast(&app, t, id, body).await.0, 200);
    }
    let mut watcher = app.connect("resident").await;
    watcher.subscribe(Channel::Room(id), None).await.unwrap();

    let void = |ballot: &str| format!("/api/appraisals/{id}/ballots/{ballot}/void");
    let (status, body) = post(&app, &chair, &void("x"), json!({ "reason": "r" })).await;
    assert_eq!(
        (status, &body["code"]),
        (409, &json!("conflict")),
        "still balloting"
    );
    step(&app, &chair, id, "close").await;

    let (_, detail) = get(&app, &chair, id).await;
    let spoiled = detail["ballots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["grades"][0] == "unsatisfied")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reason = json!({ "reason": "two marks in one box" });
    let (_, chief) = demo(&app, "chief");
    let (status, _) = post(&app, &chief, &void(&spoiled), reason.clone()).await;
    assert_eq!(
        status, 403,
        "the street chief does not chair this appraisal"
    );
    let (status, _) = post(&app, &electors[0].1, &void(&spoiled), reason.clone()).await;
    assert_eq!(status, 403);
    let (status, _) = post(&app, &chair, &void(&spoiled), json!({ "reason": " " })).await;
    assert_eq!(status, 400, "a reason is required");
    let (status, _) = post(&app, &chair, &void("no-such-ballot"), reason.clone()).await;
    assert_eq!(status, 404);

    let (status, detail) = post(&app, &chair, &void(&spoiled), reason.clone()).await;
    assert_eq!(status, 200, "{detail}");
    let counts = &detail["counts"];
    assert_eq!(
        *counts,
        json!({ "issued": 4, "cast": 3, "valid": 2, "void": 1, "not_returned": 1 })
    );
    assert_eq!(counts["cast"], counts["valid"].as_u64().unwrap() + 1);
    let stored = detail["ballots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == spoiled.as_str())
        .expect("a voided ballot stays stored");
    assert_eq!(stored["status"], "void");
    assert_eq!(stored["void_reason"], "two marks in one box");
    let changes = detail["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["ballot_id"], spoiled.as_str());
    assert_eq!(changes[0]["change"], "void");
    assert_eq!(changes[0]["reason"], "two marks in one box");
    assert_eq!(changes[0]["by"], official.0);
    assert!(changes[0]["at"].as_i64().unwrap() > 0);
    let (status, _) = post(&app, &chair, &void(&spoiled), reason).await;
    assert_eq!(status, 409, "void already");

    // The room saw the close, then the void: counts only.
    for void in [0, 1] {
        let event = until(&mut watcher, "appraisal.updated")
            .await
            .pop()
            .unwrap();
        assert_eq!(
            event.data,
            json!({ "state": "counting", "issued": 4, "cast": 3, "void": void })
        );
    }

    // Only the valid ballots count.
    let (_, detail) = step(&app, &chair, id, "publish").await;
    for r in detail["results"].as_array().unwrap() {
        assert!(close_to(&r["overall"], 100.0), "{r}");
        assert_eq!(r["grades"]["satisfied"]["count"], 2);
        assert_eq!(r["grades"]["unsatisfied"]["count"], 0);
    }
    assert_eq!(detail["follow_ups"], json!([]));
    // The void log is part of the published record.
    let (_, t) = demo(&app, "worker");
    let (_, seen) = get(&app, &t, id).await;
    assert_eq!(seen["changes"], detail["changes"]);
    assert!(
        seen.get("ballots").is_none(),
        "ballots stay with those who count"
    );
}

#[tokio::test]
async fn a_low_score_opens_a_follow_up_owned_by_the_appraisee() {
    let app = spawn_app().await;
    let riverside = app.demo.communities[0];
    let (_, chair) = demo(&app, "official");
    let worker = app.demo.account("worker");
    let electors = people(&app, "f", 2, Role::Resident, riverside).await;
    let ids: Vec<AccountId> = electors.iter().map(|(id, _)| *id).collect();
    let mut body = setup_body(riverside, worker, &ids, false);
    body["low_score_threshold"] = json!(70);
    let id = set_up(&app, &chair, body).await;
    step(&app, &chair, id, "open").await;
    // The worker: 3/5, 7/10, 3/5 → 60, 70, 60 → 62.5, below 70. The service: 100.
    for (_, t) in &electors {
        let b = ballot([3, 7, 3], [5, 10, 5], ["basic", "satisfied"]);
        assert_eq!(cast(&app, t, id, b).await.0, 200);
    }
    step(&app, &chair, id, "close").await;
    let (_, detail) = step(&app, &chair, id, "publish").await;
    assert!(close_to(&detail["results"][0]["overall"], 62.5));
    assert_eq!(detail["results"][0]["low"], true);
    assert_eq!(detail["results"][1]["low"], false);
    let items = detail["follow_ups"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(item["appraisee"], 0);
    assert_eq!(item["owner"], worker.0, "the appraisee's own account");
    let published_at = detail["published_at"].as_i64().unwrap();
    assert_eq!(item["created_at"], published_at);
    assert_eq!(item["due_at"], published_at + 30 * DAY_MS);
    let title = item["title"].as_str().unwrap();
    assert!(
        title.contains("Liu Yang") && title.contains("62.50"),
        "{title}"
    );
    // Publishing again changes nothing.
    let (status, _) = step(&app, &chair, id, "publish").await;
    assert_eq!(status, 409);
    let (_, again) = get(&app, &chair, id).await;
    assert_eq!(again["follow_ups"], detail["follow_ups"]);
}

#[tokio::test]
async fn results_stay_hidden_until_published() {
    let app = spawn_app().await;
    let riverside = app.demo.communities[0];
    let (official, chair) = demo(&app, "official");
    let electors = people(&app, "h", 2, Role::Resident, riverside).await;
    let ids: Vec<AccountId> = electors.iter().map(|(id, _)| *id).collect();
    let id = set_up(&app, &chair, setup_body(riverside, official, &ids, false)).await;
    let elector = &electors[0].1;
    let (_, worker) = demo(&app, "worker");
    let (_, neighbour) = demo(&app, "resident");

    for (what, cast_first) in [("open", true), ("close", false)] {
        step(&app, &chair, id, what).await;
        if cast_first {
            let b = ballot([1, 1, 1], [1, 1, 1], ["basic"; 2]);
            assert_eq!(cast(&app, elector, id, b).await.0, 200);
        }
        for t in [elector, &chair, &worker, &neighbour] {
            let (status, detail) = get(&app, t, id).await;
            assert_eq!(status, 200);
            assert!(detail.get("results").is_none(), "{what}: {detail}");
            assert!(detail.get("follow_ups").is_none());
            assert_eq!(detail["counts"]["cast"], 1);
        }
        let (_, detail) = get(&app, elector, id).await;
        assert_eq!(
            (&detail["elector"], &detail["voted"]),
            (&json!(true), &json!(true))
        );
        assert!(detail.get("ballots").is_none() && detail.get("electorate").is_none());
    }
    step(&app, &chair, id, "publish").await;
    for t in [elector, &chair, &worker] {
        let (_, detail) = get(&app, t, id).await;
        assert_eq!(detail["results"].as_array().unwrap().len(), 2);
    }
    // A neighbour outside the electorate sees the counts, not the results.
    let (_, detail) = get(&app, &neighbour, id).await;
    assert!(detail.get("results").is_none(), "{detail}");
    assert_eq!(detail["counts"]["cast"], 1);
    for outsider in ["lakeside", "resident2", "ops"] {
        let (_, t) = demo(&app, outsider);
        let (status, _) = get(&app, &t, id).await;
        assert_eq!(status, 403, "{outsider}");
    }
    let (status, _) = get(&app, &chair, MeetingId(id.0 + 1000)).await;
    assert_eq!(status, 404);
    // The demo hearing is a meeting, but no appraisal.
    let (status, _) = get(&app, &chair, app.demo.meeting).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn who_may_set_up_run_and_vote_holds_over_http() {
    let app = spawn_app().await;
    let riverside = app.demo.communities[0];
    let orchard = app.demo.communities[1];
    let (official, chair) = demo(&app, "official");
    let (lead, _) = demo(&app, "lead");
    let (resident, resident_token) = demo(&app, "resident");
    let electorate = [resident, lead];
    let body = setup_body(riverside, official, &electorate, false);

    for name in ["resident", "lead", "worker", "ops", "lakeside"] {
        let (_, t) = demo(&app, name);
        let (status, _) = post(&app, &t, "/api/appraisals", body.clone()).await;
        assert_eq!(status, 403, "{name} sets up");
    }
    // Riverside's official may not call one for Orchard; the street chief may, for both.
    let orchard_body = setup_body(orchard, official, &[app.demo.account("resident2")], false);
    let (status, _) = post(&app, &chair, "/api/appraisals", orchard_body.clone()).await;
    assert_eq!(status, 403);
    let (_, chief) = demo(&app, "chief");
    set_up(&app, &chief, orchard_body).await;
    let street = setup_body(app.demo.street, official, &electorate, false);
    set_up(&app, &chief, street).await;
    let (status, _) = post(
        &app,
        &chair,
        "/api/appraisals",
        setup_body(app.demo.street, official, &electorate, false),
    )
    .await;
    assert_eq!(
        status, 403,
        "a community official does not call a street appraisal"
    );
    let grid = setup_body(app.demo.grids[0], official, &electorate, false);
    assert_eq!(post(&app, &chief, "/api/appraisals", grid).await.0, 400);

    // Only the place's residents and building leads may be electors.
    for outsider in ["worker", "resident2", "official", "lakeside", "admin"] {
        let list = [resident, app.demo.account(outsider)];
        let (status, error) = post(
            &app,
            &chair,
            "/api/appraisals",
            setup_body(riverside, official, &list, false),
        )
        .await;
        assert_eq!(status, 400, "{outsider} as an elector");
        assert_eq!(error["code"], "invalid_request");
    }
    let mut bad = body.clone();
    bad["dimensions"][0]["weight"] = json!(0);
    assert_eq!(post(&app, &chair, "/api/appraisals", bad).await.0, 400);
    let mut bad = body.clone();
    bad["appraisees"][0]["account_id"] = json!(999_999);
    assert_eq!(post(&app, &chair, "/api/appraisals", bad).await.0, 400);

    let id = set_up(&app, &chair, body).await;
    // Only the chair (or an admin) moves it.
    for name in ["chief", "resident", "lead", "worker"] {
        let (_, t) = demo(&app, name);
        let (status, _) = step(&app, &t, id, "open").await;
        assert_eq!(status, 403, "{name} opens");
    }
    let (_, admin) = demo(&app, "admin");
    assert_eq!(step(&app, &admin, id, "open").await.0, 200);
    assert_eq!(step(&app, &chair, id, "open").await.0, 409, "open already");
    assert_eq!(
        step(&app, &chair, id, "publish").await.0,
        409,
        "not counted yet"
    );
    let b = ballot([5, 5, 5], [5, 5, 5], ["basic"; 2]);
    assert_eq!(cast(&app, &resident_token, id, b.clone()).await.0, 200);
    let (_, lead_token) = demo(&app, "lead");
    assert_eq!(cast(&app, &lead_token, id, b).await.0, 200);
    assert_eq!(step(&app, &resident_token, id, "close").await.0, 403);
    assert_eq!(step(&app, &chair, id, "close").await.0, 200);
    assert_eq!(step(&app, &chief, id, "publish").await.0, 403);
    let (status, detail) = step(&app, &chair, id, "publish").await;
    assert_eq!(status, 200);
    assert_eq!(detail["electorate"], json!(electorate));
    // No way back.
    for what in ["open", "close", "publish"] {
        assert_eq!(step(&app, &admin, id, what).await.0, 409, "{what}");
    }
    assert_eq!(
        call(
            &app,
            "",
            Method::GET,
            &format!("/api/appraisals/{id}"),
            None
        )
        .await
        .0,
        401
    );
}

#[tokio::test]
async fn an_appraisal_runs_on_postgresql() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = db.url.clone();
    let app = spawn_app_with(move |c| c.database_url = url).await;
    let riverside = app.demo.communities[0];
    let (official, chair) = demo(&app, "official");
    let voters = people(&app, "pg", 12, Role::Resident, riverside).await;
    let ids: Vec<AccountId> = voters.iter().map(|(id, _)| *id).collect();
    let id = set_up(&app, &chair, setup_body(riverside, official, &ids, true)).await;
    step(&app, &chair, id, "open").await;
    let b = |n: u32| ballot([n % 6, n % 11, 2], [1, 2, 3], ["basic", "satisfied"]);
    // Everyone at once, and the first voter twice more at the same moment.
    let casts = voters
        .iter()
        .enumerate()
        .map(|(i, (_, t))| cast(&app, t, id, b(i as u32)))
        .chain([
            cast(&app, &voters[0].1, id, b(1)),
            cast(&app, &voters[0].1, id, b(2)),
        ]);
    let statuses: Vec<u16> = futures_util::future::join_all(casts)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        12,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        2,
        "{statuses:?}"
    );
    step(&app, &chair, id, "close").await;
    let (_, detail) = get(&app, &chair, id).await;
    let first = detail["ballots"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/appraisals/{id}/ballots/{first}/void");
    let (status, detail) = post(&app, &chair, &path, json!({ "reason": "illegible" })).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(
        detail["counts"],
        json!({ "issued": 12, "cast": 12, "valid": 11, "void": 1, "not_returned": 0 })
    );
    let (status, detail) = step(&app, &chair, id, "publish").await;
    assert_eq!(status, 200, "{detail}");
    let satisfied = &detail["results"][1]["grades"]["satisfied"];
    assert_eq!(satisfied["count"], 11);
    assert!(close_to(&satisfied["share"], 1.0));
}
