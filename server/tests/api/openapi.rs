//! The OpenAPI document at `/api/openapi.json` and the page at `/api/docs`: the document covers
//! every route with the statuses it answers, and its schemas describe what really goes over
//! the wire (the protocol's golden fixtures and live responses).

use crate::helpers::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Every route the server serves, with whether it needs a bearer token. A new route fails
/// `every_route_is_documented` until it is added here and to the document.
const ROUTES: &[(&str, &str, bool)] = &[
    ("get", "/api/meetings", true),
    ("post", "/api/meetings", true),
    ("get", "/api/meetings/{id}", true),
    ("post", "/api/meetings/{id}/registration", true),
    ("delete", "/api/meetings/{id}/registration", true),
    ("get", "/api/meetings/{id}/registrations", true),
    ("post", "/api/meetings/{id}/checkin", true),
    ("post", "/api/auth/login", false),
    ("post", "/api/auth/refresh", false),
    ("post", "/api/auth/logout", true),
    ("get", "/api/accounts", true),
    ("get", "/api/accounts/{id}", true),
    ("post", "/api/accounts/{id}/grants", true),
    ("delete", "/api/accounts/{id}/grants", true),
    ("post", "/api/accounts/{id}/disable", true),
    ("post", "/api/accounts/{id}/enable", true),
    ("get", "/api/audit", true),
    ("get", "/api/me/notifications", true),
    ("post", "/api/me/notifications/read", true),
    ("get", "/api/me/notify-prefs", true),
    ("patch", "/api/me/notify-prefs", true),
    ("get", "/api/ops/deliveries", true),
    ("post", "/api/ops/deliveries/{id}/retry", true),
    ("get", "/api/me", true),
    ("patch", "/api/me", true),
    ("post", "/api/me/password", true),
    ("get", "/api/me/residency", true),
    ("post", "/api/me/residency", true),
    ("get", "/api/signup/places", false),
    ("post", "/api/sms/codes", false),
    ("post", "/api/signup", false),
    ("post", "/api/auth/reset", false),
    ("post", "/api/accounts/{id}/reset-code", true),
    ("get", "/api/residency-requests", true),
    ("post", "/api/residency-requests/{id}/approve", true),
    ("post", "/api/residency-requests/{id}/refuse", true),
    ("post", "/api/invites", true),
    ("get", "/api/invites", true),
    ("post", "/api/invites/{id}/revoke", true),
    ("post", "/api/invites/accept", false),
    ("post", "/api/people/import", true),
    ("get", "/api/places/{id}/staff", true),
    ("get", "/api/people", true),
    ("get", "/api/places", true),
    ("post", "/api/places", true),
    ("get", "/api/places/{id}", true),
    ("patch", "/api/places/{id}", true),
    ("post", "/api/places/{id}/move", true),
    ("post", "/api/places/{id}/archive", true),
    ("post", "/api/places/{id}/restore", true),
    ("post", "/api/places/import", true),
    ("get", "/api/channels/{channel}/messages", true),
    ("post", "/api/channels/{channel}/messages", true),
    ("get", "/api/categories", false),
    ("get", "/api/issues", true),
    ("post", "/api/issues", true),
    ("get", "/api/issues/similar", true),
    ("get", "/api/issues/{id}", true),
    ("post", "/api/issues/{id}/actions", true),
    ("post", "/api/issues/{id}/photos", true),
    ("get", "/api/issues/{id}/photos/{photo}", true),
    ("get", "/api/stats", true),
    ("post", "/api/appraisals", true),
    ("get", "/api/appraisals/{id}", true),
    ("post", "/api/appraisals/{id}/open", true),
    ("post", "/api/appraisals/{id}/close", true),
    ("post", "/api/appraisals/{id}/publish", true),
    ("post", "/api/appraisals/{id}/ballots", true),
    (
        "post",
        "/api/appraisals/{id}/ballots/{ballot_id}/void",
        true,
    ),
    ("get", "/api/push/key", false),
    ("post", "/api/me/push-subscriptions", true),
    ("delete", "/api/me/push-subscriptions", true),
    ("get", "/api/openapi.json", false),
    ("get", "/api/docs", false),
    ("get", "/healthz", false),
    ("get", "/readyz", false),
    ("get", "/metrics", false),
    ("get", "/ops", false),
    ("post", "/api/ops/loadtest", true),
    ("get", "/ws", false),
    ("get", "/", false),
    ("get", "/sw.js", false),
    ("get", "/web/{path}", false),
    ("get", "/sdk/{path}", false),
];

/// Which component schema each HTTP fixture of `hehe-protocol` is an instance of; `[X]` is a
/// list of X.
const FIXTURES: &[(&str, &str)] = &[
    ("account_info", "AccountInfo"),
    ("api_error", "ApiError"),
    ("category", "CategoryInfo"),
    ("issue_action", "IssueAction"),
    ("issue_detail", "IssueDetail"),
    ("issue_summary", "IssueSummary"),
    ("import_report", "ImportReport"),
    ("invite_created", "InviteCreated"),
    ("people_import_report", "PeopleImportReport"),
    ("staff", "[StaffMember]"),
    ("people", "[PersonInfo]"),
    ("loadtest_progress", "LoadtestProgress"),
    ("login_request", "LoginRequest"),
    ("message_page", "MessagePage"),
    ("new_issue", "NewIssue"),
    ("photo_info", "PhotoInfo"),
    ("place_detail", "PlaceDetail"),
    ("refresh_request", "RefreshRequest"),
    ("similar", "[IssueSummary]"),
    ("stats_report", "StatsReport"),
    ("token_response", "TokenResponse"),
];

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn document(app: &TestApp) -> Value {
    let (status, body) = app.http.get_text("/api/openapi.json").await.unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("the document is JSON")
}

fn operations(doc: &Value) -> BTreeMap<(String, String), &Value> {
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(*method) {
                out.insert((method.to_string(), path.clone()), op);
            }
        }
    }
    out
}

fn collect_refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

// The served schemas stay open, as serde ignores unknown fields; closing them here makes a
// field the document forgot fail validation instead of passing unnoticed.
fn close_objects(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(close_objects);
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// A validator for one component (or a list of it, written `[X]`), with the document's
/// components alongside so its `#/components/schemas/...` references resolve within the one
/// schema document.
fn validator(doc: &Value, name: &str) -> jsonschema::Validator {
    let (component, list) = match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        Some(item) => (item, true),
        None => (name, false),
    };
    assert!(
        doc["components"]["schemas"].get(component).is_some(),
        "no component schema {component}"
    );
    let mut components = doc["components"].clone();
    close_objects(&mut components);
    let reference = json!({ "$ref": format!("#/components/schemas/{component}") });
    let mut schema = if list {
        json!({ "type": "array", "items": reference })
    } else {
        reference
    };
    schema["components"] = components;
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .unwrap_or_else(|e| panic!("schema {name} does not compile: {e}"))
}

fn assert_valid(doc: &Value, name: &str, instance: &Value, what: &str) {
    let validator = validator(doc, name);
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match {name}: {errors:#?}"
    );
}

#[tokio::test]
async fn the_document_is_openapi_3_with_info_and_bearer_security() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3."), "{version}");
    assert_eq!(doc["info"]["title"], "Hehe API");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let description = doc["info"]["description"].as_str().unwrap_or_default();
    assert!(!description.is_empty());
    assert!(!description.contains("http"), "{description}");
    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(bearer["type"], "http");
    assert_eq!(bearer["scheme"], "bearer");
    assert_eq!(bearer["bearerFormat"], "JWT");
}

#[tokio::test]
async fn every_route_is_documented_and_served() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let documented: BTreeSet<(String, String)> = operations(&doc).into_keys().collect();
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        documented.difference(&expected).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not in ROUTES"
    );
    assert_eq!(
        expected.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "in ROUTES but not documented"
    );

    // The router answers every listed route: anything but 404 and 405 (mostly 401 or 400 here,
    // as the requests carry neither a token nor a body).
    let client = reqwest::Client::new();
    for (method, path, _) in ROUTES {
        let concrete = path
            .replace("{channel}", "home:1")
            .replace("{id}", "1")
            .replace("{photo}", "1");
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = client
            .request(method.clone(), format!("http://{}{concrete}", app.addr))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert!(
            status != 404 && status != 405,
            "{method} {concrete} answered {status}: the route is documented but not served"
        );
    }
}

#[tokio::test]
async fn every_operation_has_a_success_and_authenticated_ones_say_so() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let ops = operations(&doc);
    let mut ids = BTreeSet::new();
    for (method, path, authenticated) in ROUTES {
        let op = ops[&(method.to_string(), path.to_string())];
        let what = format!("{method} {path}");
        assert!(
            ids.insert(op["operationId"].as_str().expect("operationId").to_owned()),
            "{what}: duplicate operationId"
        );
        assert!(
            !op["summary"].as_str().unwrap_or_default().is_empty(),
            "{what}: no summary"
        );
        assert!(!op["tags"].as_array().unwrap().is_empty(), "{what}: no tag");
        let responses = op["responses"].as_object().expect("responses");
        // The upgrade's success is 101 Switching Protocols.
        let success = if *path == "/ws" { "101" } else { "2" };
        assert!(
            responses.keys().any(|s| s.starts_with(success)),
            "{what}: no success response"
        );
        for (status, response) in responses {
            assert!(
                !response["description"]
                    .as_str()
                    .unwrap_or_default()
                    .is_empty(),
                "{what} {status}: no description"
            );
        }
        let security = op.get("security").cloned().unwrap_or(Value::Null);
        if *authenticated {
            assert_eq!(security, json!([{ "bearer": [] }]), "{what}");
            assert_eq!(
                responses["401"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ApiError",
                "{what}: 401 with an ApiError body"
            );
            assert!(responses.contains_key("403"), "{what}: no 403");
            assert!(responses.contains_key("503"), "{what}: no 503");
        } else {
            assert_eq!(security, Value::Null, "{what} needs no token");
        }
        if op.get("requestBody").is_some() && *path != "/api/issues/{id}/photos" {
            for status in ["400", "413"] {
                assert_eq!(
                    responses[status]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ApiError",
                    "{what}: {status} with an ApiError body"
                );
            }
        }
    }
    let readyz = ops[&("get".into(), "/readyz".into())];
    for status in ["200", "503"] {
        assert_eq!(
            readyz["responses"][status]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Readiness"
        );
    }
    let upload = &ops[&("post".into(), "/api/issues/{id}/photos".into())]["requestBody"];
    let form = &upload["content"]["multipart/form-data"]["schema"];
    let form = doc["components"]["schemas"]
        [form["$ref"].as_str().unwrap().rsplit('/').next().unwrap()]
    .clone();
    let fields: BTreeSet<&str> = form["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(fields, BTreeSet::from(["file", "kind", "keep_location"]));
    let photo = &ops[&("get".into(), "/api/issues/{id}/photos/{photo}".into())];
    let types: BTreeSet<&str> = photo["responses"]["200"]["content"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        types,
        BTreeSet::from(["image/jpeg", "image/png", "image/webp"])
    );
}

// Every error of the JSON API is an `ApiError`: axum's plain-text rejections of a malformed
// path, query or form used to be documented as such, and schemathesis (server/contract) found
// the ones that were not.
#[tokio::test]
async fn every_api_error_is_documented_as_an_api_error() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    for ((method, path), op) in operations(&doc) {
        if !path.starts_with("/api/") {
            continue;
        }
        for (status, response) in op["responses"].as_object().expect("responses") {
            if !status.starts_with('4') && !status.starts_with('5') {
                continue;
            }
            let content = response["content"].as_object();
            let types: Vec<&String> = content.map(|c| c.keys().collect()).unwrap_or_default();
            assert_eq!(types, ["application/json"], "{method} {path} {status}");
            // A refused import answers its report, which lists every line refused and why.
            let schema = match (method.as_str(), path.as_str(), status.as_str()) {
                ("post", "/api/places/import", "422") => "#/components/schemas/ImportReport",
                ("post", "/api/people/import", "422") => "#/components/schemas/PeopleImportReport",
                _ => "#/components/schemas/ApiError",
            };
            assert_eq!(
                response["content"]["application/json"]["schema"]["$ref"], schema,
                "{method} {path} {status}"
            );
        }
    }
}

// A query struct without `parameter_in = Query` is documented as path parameters that the
// path does not have; and an operation with a path parameter answers 400 to a malformed one.
#[tokio::test]
async fn parameters_are_where_the_route_takes_them() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    for ((method, path), op) in operations(&doc) {
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let mut in_path: BTreeSet<String> = BTreeSet::new();
        for param in &params {
            let name = param["name"].as_str().expect("a parameter's name");
            match param["in"].as_str() {
                Some("path") => {
                    in_path.insert(name.to_owned());
                }
                Some("query" | "header") => {}
                other => panic!("{method} {path}: parameter {name} in {other:?}"),
            }
        }
        let templated: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(str::to_owned)
            .collect();
        assert_eq!(in_path, templated, "{method} {path}: path parameters");
        if !templated.is_empty() {
            assert!(
                op["responses"].get("400").is_some(),
                "{method} {path}: a malformed path parameter gets a 400 it does not document"
            );
        }
    }
}

#[tokio::test]
async fn every_reference_resolves() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r} is not a component schema reference"));
        assert!(schemas.contains_key(name), "{r} resolves to nothing");
    }
}

#[tokio::test]
async fn special_types_have_their_wire_schemas() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["Channel"]["type"], "string");
    assert_eq!(
        schemas["Channel"]["pattern"],
        "^(street|home|room|issue|user|ops):[1-9][0-9]*$"
    );
    assert_eq!(schemas["RequestId"]["type"], "string");
    for id in ["AccountId", "PlaceId", "IssueId"] {
        assert_eq!(schemas[id]["type"], "integer", "{id}");
    }
    assert_eq!(
        schemas["IssueEventInfo"]["properties"]["data"]["type"],
        "object"
    );

    let check = |name: &str, value: Value, valid: bool| {
        let ok = validator(&doc, name).is_valid(&value);
        assert_eq!(ok, valid, "{name} {value}");
    };
    for good in ["street:3", "home:12", "room:1", "issue:42", "user:7"] {
        check("Channel", json!(good), true);
    }
    for bad in [
        "home", "home:0", "home:01", "attic:1", "Home:1", "home:1:2", "12",
    ] {
        check("Channel", json!(bad), false);
    }
    check("Channel", json!(12), false);
    check("RequestId", json!("r-1"), true);
    check("RequestId", json!("x".repeat(64)), true);
    for bad in ["", "has space", "é", &"x".repeat(65)] {
        check("RequestId", json!(bad), false);
    }
    check("IssueId", json!(7), true);
    check("IssueId", json!("7"), false);
    // Internally tagged by `kind`, snake_case, with optional fields.
    check("IssueAction", json!({ "kind": "accept" }), true);
    check("IssueAction", json!({ "kind": "verify_ok" }), true);
    check(
        "IssueAction",
        json!({ "kind": "rate", "resolved": true }),
        true,
    );
    check(
        "IssueAction",
        json!({ "kind": "declare_unfixable", "explanation": "x", "resolution": "not_fixable" }),
        true,
    );
    check("IssueAction", json!({ "kind": "Accept" }), false);
    check("IssueAction", json!({ "kind": "reject" }), false);
    check("IssueAction", json!({ "reason": "x" }), false);
    check(
        "ApiError",
        json!({ "code": "not_a_code", "message": "x" }),
        false,
    );
    // The closing of `validator`: a field the document does not name fails.
    check(
        "ApiError",
        json!({ "code": "internal", "message": "x" }),
        true,
    );
    check(
        "ApiError",
        json!({ "code": "internal", "message": "x", "extra": 1 }),
        false,
    );
}

#[tokio::test]
async fn the_protocol_fixtures_match_their_schemas() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("protocol/tests/fixtures/http");
    for (file, schema) in FIXTURES {
        let path = dir.join(format!("{file}.json"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {file}.json: {e}"));
        let value: Value = serde_json::from_str(&text).expect("a fixture is JSON");
        assert_valid(&doc, schema, &value, &format!("fixture {file}.json"));
    }
}

#[tokio::test]
async fn live_responses_match_their_schemas() {
    let app = spawn_app().await;
    let doc = document(&app).await;

    let response = reqwest::Client::new()
        .post(format!("http://{}/api/auth/login", app.addr))
        .json(&json!({ "username": "chief", "password": hehe_server::app::seed::DEMO_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    assert_valid(&doc, "TokenResponse", &tokens, "the login response");

    let token = app.login("resident").await.access_token;
    let (status, body) = app.http.get_bytes(&token, "/api/me").await.unwrap();
    assert_eq!(status, 200);
    let me: Value = serde_json::from_slice(&body).unwrap();
    assert_valid(&doc, "AccountInfo", &me, "GET /api/me");

    let (status, body) = app.http.get_bytes("", "/api/me").await.unwrap();
    assert_eq!(status, 401);
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_valid(&doc, "ApiError", &error, "a 401 body");

    let (status, body) = app.http.get_text("/api/categories").await.unwrap();
    assert_eq!(status, 200);
    let categories: Value = serde_json::from_str(&body).unwrap();
    assert!(!categories.as_array().unwrap().is_empty());
    assert_valid(&doc, "[CategoryInfo]", &categories, "GET /api/categories");

    let chief = tokens["access_token"].as_str().unwrap();
    let path = format!("/api/stats?place={}", app.demo.street);
    let (status, body) = app.http.get_bytes(chief, &path).await.unwrap();
    assert_eq!(status, 200);
    let stats: Value = serde_json::from_slice(&body).unwrap();
    assert_valid(&doc, "StatsReport", &stats, "GET /api/stats");

    let (status, body) = app.http.get_text("/readyz").await.unwrap();
    assert_eq!(status, 200);
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert_valid(&doc, "Readiness", &ready, "GET /readyz");
}

#[tokio::test]
async fn the_docs_page_is_self_contained_html() {
    let app = spawn_app().await;
    let response = reqwest::get(format!("http://{}/api/docs", app.addr))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let html = response.text().await.unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("openapi.json"));
    // No CDN and no external assets: the page must work without internet.
    for external in ["<link", "src=", "@import", "url(http", "//cdn"] {
        assert!(!html.contains(external), "the page loads {external}");
    }
    let (status, _) = app.http.get_text("/api/openapi.json").await.unwrap();
    assert_eq!(status, 200);
}
