//! The authorisation proof: every role × every operation × every scope, over HTTP and the
//! WebSocket alike, against an expected policy written down here from PROTOCOL.md (sections 4,
//! 9, 10.2, 10.3, 10.8, 10.10, 11.2, 11.4, 11.9 and 15) and domain.md, not from what the code
//! happens to answer. A second test fails when a route of the OpenAPI document, a WebSocket
//! command or an issue or room action kind has no row here, so nothing new slips by.
//!
//! An expectation is one letter per caller, in the order of `WHO`: anonymous, resident, building
//! lead, grid worker, community official, street chief, ops, admin. `A` allowed (2xx, or a
//! WebSocket reply), `F` forbidden, `N` not_found, `U` refused for want of valid credentials,
//! `I` invalid_request, `C` conflict, `S` not_subscribed, and `P` "passes the authorisation
//! gate": allowed, or refused only afterwards for the state or a field (`A`, `I` or `C`).
//! Commands that change things are sent in shapes that leave the shared world as it was (an
//! empty reason, a meeting already ended) wherever their success would move another cell; the
//! success paths themselves are proven in issues.rs, rooms.rs and appraisals.rs.
//!
//! The scopes are those of the demo accounts, who all live or work in Riverside grid 1 of Hehe
//! Street: their own place, the other grid of Riverside, the Orchard community of the same
//! street, and Lakeside, another street.

use crate::helpers::*;
use hehe_client::{ClientError, Connection, Incoming};
use hehe_protocol::issue::IssueAction;
use hehe_protocol::meeting::{MeetingKind, MeetingState, NewVote, RoomAction, RoomMode};
use hehe_protocol::{
    AccountId, Channel, ClientMsg, ErrorCode, IssueId, MeetingId, PlaceId, Position, RequestId,
    Role, ServerMsg,
};
use hehe_server::app::seed::DEMO_PASSWORD;
use hehe_server::identity::tokens::hash_password;
use hehe_server::store::meetings::{MemberRole, NewMeeting};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

const WHO: [&str; 8] = [
    "anonymous",
    "resident",
    "lead",
    "worker",
    "official",
    "chief",
    "ops",
    "admin",
];
const ANON: usize = 0;
const RESIDENT: usize = 1;
const LEAD: usize = 2;
const WORKER: usize = 3;
const OFFICIAL: usize = 4;
const CHIEF: usize = 5;
const ADMIN: usize = 7;

/// What the shared world holds, and what each caller may read of it.
struct Fx {
    ids: [AccountId; 8],
    street: PlaceId,
    street2: PlaceId,
    comm: PlaceId,
    comm2: PlaceId,
    comm3: PlaceId,
    grid: PlaceId,
    grid2: PlaceId,
    grid3: PlaceId,
    grid4: PlaceId,
    building: PlaceId,
    building2: PlaceId,
    neighbour: AccountId,
    resident2: AccountId,
    lakeside: AccountId,
    /// An account without grants, for the rows that grant roles and disable accounts.
    newcomer: AccountId,
    /// Issues by name: `pub_*` public, `priv_*` private, raised by people outside the matrix in
    /// the own grid, the other grid, Orchard and Lakeside; `mine` is the resident's private one.
    issues: HashMap<&'static str, IssueId>,
    issue_grid: HashMap<IssueId, PlaceId>,
    photos: HashMap<&'static str, i64>,
    meetings: HashMap<&'static str, MeetingId>,
    /// Check-in codes of registrations made by people outside the matrix.
    codes: HashMap<&'static str, String>,
    appraisals: HashMap<&'static str, MeetingId>,
}

// ---- the expected policy -------------------------------------------------------------------

/// Who reads a place's channels (PROTOCOL.md 4); ops read none.
const READ_OWN: &str = "UAAAAAFA";
const READ_COMM2: &str = "UFFFFAFA";
const READ_STREET2: &str = "UFFFFFFA";

/// Who sees each issue (4, 10.2): a public one, those who read its community; a private one,
/// its reporter and the staff over its grid. An issue one may not see does not exist (`N`).
fn issue_read(name: &str) -> &'static str {
    match name {
        "pub_own" | "pub_grid" => "UAAAAANA",
        "pub_comm" | "priv_comm" => "UNNNNANA",
        "pub_street" | "priv_street" => "UNNNNNNA",
        "priv_own" => "UNNAAANA",
        "priv_grid" => "UNNNAANA",
        "mine" => "UANAAANA",
        _ => panic!("no issue {name}"),
    }
}

/// Who may look a place up (15, `GET /api/places/{id}`): places on one line with a grant's.
fn place_read(fx: &Fx) -> Vec<(&'static str, PlaceId, &'static str)> {
    vec![
        ("own street", fx.street, "UAAAAANA"),
        ("other street", fx.street2, "UNNNNNNA"),
        ("own community", fx.comm, "UAAAAANA"),
        ("other community", fx.comm2, "UNNNNANA"),
        ("community of another street", fx.comm3, "UNNNNNNA"),
        ("own grid", fx.grid, "UAAAAANA"),
        // The lead's building and the worker's grid lie on one line with grid 1 only.
        ("other grid", fx.grid2, "UANNAANA"),
        ("grid of another community", fx.grid3, "UNNNNANA"),
        ("own building", fx.building, "UAAAAANA"),
        ("neighbouring building", fx.building2, "UANAAANA"),
    ]
}

/// Who may be in each meeting's room (11.2, 11.4): participants of its place; a mediation's
/// members only, everyone else (admins too) `N`; a draft, its chair only (admins stand in).
fn meeting_read(name: &str) -> &'static str {
    match name {
        "hearing" | "street meeting" | "ended hearing" => READ_OWN,
        "orchard meeting" | "ended orchard meeting" => READ_COMM2,
        "lakeside meeting" | "ended lakeside meeting" => READ_STREET2,
        "mediation" | "ended mediation" => "UAANANNN",
        "draft" => "UFFFAFFA",
        _ => panic!("no meeting {name}"),
    }
}

/// The chair of each meeting, with admins standing in where it is not private (11.2).
fn chairs(name: &str) -> &'static [usize] {
    match name {
        "hearing"
        | "street meeting"
        | "orchard meeting"
        | "ended hearing"
        | "ended orchard meeting" => &[CHIEF, ADMIN],
        "lakeside meeting" | "ended lakeside meeting" => &[ADMIN],
        "mediation" | "ended mediation" => &[OFFICIAL],
        "draft" => &[OFFICIAL, ADMIN],
        _ => panic!("no meeting {name}"),
    }
}

/// PROTOCOL.md 10.2 and 10.3: whether `who`'s role allows an action on an issue they see.
fn may_act_on_issue(fx: &Fx, who: usize, issue: IssueId, kind: &str) -> bool {
    let grid = fx.issue_grid[&issue];
    let riverside = grid == fx.grid || grid == fx.grid2;
    let hehe = riverside || grid == fx.grid3;
    let official = who == ADMIN || (who == OFFICIAL && riverside) || (who == CHIEF && hehe);
    let staff = official || (who == WORKER && grid == fx.grid);
    let reporter = who == RESIDENT && issue == fx.issues["mine"];
    match kind {
        "accept" | "reject" | "merge" | "dispatch" | "escalate" | "post_update"
        | "declare_unfixable" | "verify_ok" | "verify_fail" => official,
        "post_update internal" => staff,
        // Nobody in the matrix is an assignee.
        "acknowledge" | "return" | "complete" => false,
        "rate" | "withdraw" => reporter,
        "follow" | "unfollow" => true,
        "me_too" => !reporter && matches!(who, RESIDENT | LEAD | WORKER) && riverside,
        _ => panic!("no policy for issue action {kind}"),
    }
}

/// PROTOCOL.md 11.2: whether `who`'s standing allows a room action, once in the room.
fn may_act_in_room(meeting: &str, who: usize, kind: &str) -> bool {
    let chair = chairs(meeting).contains(&who);
    let mediation = meeting.ends_with("mediation");
    let party = mediation && matches!(who, RESIDENT | LEAD);
    let mediator = mediation && who == OFFICIAL;
    match kind {
        "raise_hand" | "lower_hand" | "say" | "react" | "cast_vote" => true,
        "confirm_agreement" => party,
        "statement" => party || mediator || chair,
        // Everything else is the chair's (the minutes also the secretary's; there is none here,
        // and nobody holds the floor to give it back).
        _ => chair,
    }
}

/// The expected letter once the gate of reading is passed: `P` if the role may, else `F`.
fn gate(read: &str, who: usize, may: bool) -> char {
    match read.as_bytes()[who] {
        b'A' if may => 'P',
        b'A' => 'F',
        other => other as char,
    }
}

// ---- rows -----------------------------------------------------------------------------------

enum Body {
    None,
    Json(Value),
    Photo,
    /// The caller's own username and password (anonymous: a wrong one).
    Login,
    /// A refresh token of a session of its own (anonymous: a forged one).
    Refresh,
}

enum Op {
    /// `fresh`: on a session of its own, which the request may end.
    Http {
        method: Method,
        path: String,
        body: Body,
        fresh: bool,
    },
    Ws(Cmd),
}

enum Cmd {
    Auth,
    Refresh,
    Subscribe(Target),
    History(Target),
    Unsubscribe(Channel),
    Presence(Channel),
    Post(Target),
    Submit(Value),
    Issue(IssueId, IssueAction),
    Room(MeetingId, RoomAction),
    Ping,
    Pong,
    Upgrade,
}

/// A channel, or the caller's own inbox.
#[derive(Clone, Copy)]
enum Target {
    Is(Channel),
    OwnInbox,
}

type Check = fn(&Fx, usize, &Value) -> Result<(), String>;

struct Row {
    route: String,
    scope: String,
    expect: String,
    op: Op,
    check: Option<Check>,
}

fn http(method: Method, path: impl Into<String>, body: Body) -> Op {
    Op::Http {
        method,
        path: path.into(),
        body,
        fresh: false,
    }
}

struct Rows(Vec<Row>);

impl Rows {
    fn add(&mut self, route: &str, scope: &str, expect: impl Into<String>, op: Op) -> &mut Row {
        let expect = expect.into();
        assert_eq!(expect.len(), WHO.len(), "{route} {scope}: {expect}");
        self.0.push(Row {
            route: route.to_owned(),
            scope: scope.to_owned(),
            expect,
            op,
            check: None,
        });
        self.0.last_mut().expect("just pushed")
    }
}

/// Every channel with who may read it.
fn channels(fx: &Fx) -> Vec<(String, Target, String)> {
    let m = |n: &str| Target::Is(Channel::Room(fx.meetings[n]));
    let mut out: Vec<(String, Target, String)> = vec![
        (
            "own street".into(),
            Target::Is(Channel::Street(fx.street)),
            READ_OWN.into(),
        ),
        (
            "other street".into(),
            Target::Is(Channel::Street(fx.street2)),
            READ_STREET2.into(),
        ),
        (
            "own home".into(),
            Target::Is(Channel::Home(fx.comm)),
            READ_OWN.into(),
        ),
        (
            "other community's home".into(),
            Target::Is(Channel::Home(fx.comm2)),
            READ_COMM2.into(),
        ),
        (
            "other street's home".into(),
            Target::Is(Channel::Home(fx.comm3)),
            READ_STREET2.into(),
        ),
        ("own inbox".into(), Target::OwnInbox, "UAAAAAAA".into()),
        (
            "another's inbox".into(),
            Target::Is(Channel::User(fx.resident2)),
            "UFFFFFFF".into(),
        ),
        ("ops".into(), Target::Is(Channel::OPS), "UFFFFFAA".into()),
    ];
    for name in [
        "hearing",
        "street meeting",
        "orchard meeting",
        "lakeside meeting",
        "mediation",
    ] {
        out.push((format!("room: {name}"), m(name), meeting_read(name).into()));
    }
    for (name, id) in issue_names(fx) {
        out.push((
            format!("issue: {name}"),
            Target::Is(Channel::Issue(id)),
            issue_read(name).into(),
        ));
    }
    out
}

fn issue_names(fx: &Fx) -> Vec<(&'static str, IssueId)> {
    let mut v: Vec<_> = fx.issues.iter().map(|(n, id)| (*n, *id)).collect();
    v.sort();
    v
}

// One row to a line: the table reads best as a table.
#[rustfmt::skip]
fn rows(fx: &Fx) -> Vec<Row> {
    let mut r = Rows(Vec::new());
    let all = "AAAAAAAA";
    let signed_in = "UAAAAAAA";

    // Pages and documents without a login.
    for path in [
        "/api/categories",
        "/api/openapi.json",
        "/api/docs",
        "/healthz",
        "/readyz",
        "/metrics",
        "/ops",
        "/",
        "/sw.js",
    ] {
        r.add(&format!("GET {path}"), "public", all, http(Method::GET, path, Body::None));
    }
    r.add("GET /web/{path}", "public", all, http(Method::GET, "/web/app.js", Body::None));
    r.add("GET /sdk/{path}", "public", all, http(Method::GET, "/sdk/hehe.js", Body::None));
    r.add("GET /ws", "anyone may open the socket; auth is in-band", all, Op::Ws(Cmd::Upgrade));

    // Signing in.
    r.add("POST /api/auth/login", "own account", signed_in, http(Method::POST, "/api/auth/login", Body::Login));
    r.add("POST /api/auth/refresh", "own session", signed_in, http(Method::POST, "/api/auth/refresh", Body::Refresh));
    r.add("GET /api/me", "own account", signed_in, http(Method::GET, "/api/me", Body::None)).check = Some(check_me);
    // Web Push: the key is public; one's own browsers' subscriptions for anyone signed in (an
    // http endpoint is refused by a server that allows only https, so nothing is stored, and
    // unsubscribing what one never subscribed answers 204).
    r.add("GET /api/push/key", "public", all, http(Method::GET, "/api/push/key", Body::None));
    r.add("POST /api/me/push-subscriptions", "own browser (an http endpoint)", "UIIIIIII", http(Method::POST, "/api/me/push-subscriptions", Body::Json(json!({ "endpoint": "http://push.invalid/x", "keys": { "p256dh": "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4", "auth": "BTBZMqHH6r4Tts7J_aSIgg" } }))));
    r.add("DELETE /api/me/push-subscriptions", "own browser (none)", signed_in, http(Method::DELETE, "/api/me/push-subscriptions", Body::Json(json!({ "endpoint": "https://push.invalid/none" }))));
    r.add("ws auth", "own token", signed_in, Op::Ws(Cmd::Auth));
    r.add("ws refresh", "own token", signed_in, Op::Ws(Cmd::Refresh));
    r.add("ws ping", "-", all, Op::Ws(Cmd::Ping));
    r.add("ws pong", "-", all, Op::Ws(Cmd::Pong));

    // Places and statistics (10.10: readers of the place's channel, and ops).
    for (scope, id, expect) in place_read(fx) {
        r.add("GET /api/places/{id}", scope, expect, http(Method::GET, format!("/api/places/{id}"), Body::None)).check = Some(check_place);
    }
    for (scope, id, expect) in [
        ("own street", fx.street, "UAAAAAAA"),
        ("other street", fx.street2, "UFFFFFAA"),
        ("own community", fx.comm, "UAAAAAAA"),
        ("other community", fx.comm2, "UFFFFAAA"),
        ("own grid", fx.grid, "UAAAAAAA"),
        ("other grid", fx.grid2, "UAAAAAAA"),
        ("grid of another community", fx.grid3, "UFFFFAAA"),
        ("grid of another street", fx.grid4, "UFFFFFAA"),
    ] {
        r.add("GET /api/stats", scope, expect, http(Method::GET, format!("/api/stats?place={id}"), Body::None));
    }

    // Reading channels: messages, live subscription, history, presence.
    for (scope, target, expect) in channels(fx) {
        let path = match target {
            Target::Is(c) => format!("/api/channels/{c}/messages"),
            Target::OwnInbox => String::new(),
        };
        if !path.is_empty() {
            r.add("GET /api/channels/{channel}/messages", &scope, &expect, http(Method::GET, path, Body::None));
        }
        r.add("ws subscribe", &scope, &expect, Op::Ws(Cmd::Subscribe(target)));
        r.add("ws subscribe since", &scope, &expect, Op::Ws(Cmd::History(target))).check = Some(check_history);
    }
    r.add("ws subscribe", "draft meeting", meeting_read("draft"), Op::Ws(Cmd::Subscribe(Target::Is(Channel::Room(fx.meetings["draft"])))));
    for name in [
        "hearing",
        "street meeting",
        "orchard meeting",
        "lakeside meeting",
        "mediation",
    ] {
        let channel = Channel::Room(fx.meetings[name]);
        r.add("ws presence", name, meeting_read(name), Op::Ws(Cmd::Presence(channel)));
    }
    // Only rooms keep presence; asking of another channel tells nothing of it.
    r.add("ws presence", "a home", "UIIIIIII", Op::Ws(Cmd::Presence(Channel::Home(fx.comm3))));
    r.add("ws unsubscribe", "never subscribed", "USSSSSSS", Op::Ws(Cmd::Unsubscribe(Channel::Home(fx.comm3))));

    // Issues: one, its photos, and the listings, which never show what reading would not.
    for (name, id) in issue_names(fx) {
        r.add(
            "GET /api/issues/{id}",
            name,
            issue_read(name),
            http(Method::GET, format!("/api/issues/{id}"), Body::None),
        )
        .check = Some(check_issue_detail);
        let photo = fx.photos[name];
        r.add(
            "GET /api/issues/{id}/photos/{photo}",
            name,
            issue_read(name),
            http(
                Method::GET,
                format!("/api/issues/{id}/photos/{photo}"),
                Body::None,
            ),
        );
    }
    let (own, far) = (fx.issues["pub_own"], fx.photos["priv_street"]);
    r.add(
        "GET /api/issues/{id}/photos/{photo}",
        "another issue's photo",
        "UNNNNNNN",
        http(
            Method::GET,
            format!("/api/issues/{own}/photos/{far}"),
            Body::None,
        ),
    );
    for (scope, query) in [
        ("everything", String::new()),
        ("mine", "mine=true".into()),
        ("other community", format!("community={}", fx.comm2)),
        ("other street", format!("street={}", fx.street2)),
        ("other grid", format!("grid={}", fx.grid2)),
        ("private ones", "state=submitted,accepted,escalated".into()),
    ] {
        r.add("GET /api/issues", scope, signed_in, http(Method::GET, format!("/api/issues?{query}"), Body::None)).check = Some(if query.is_empty() {
            check_full_list
        } else {
            check_list
        });
    }
    for (scope, grid) in [
        ("own grid", fx.grid),
        ("other grid", fx.grid2),
        ("other community", fx.grid3),
        ("other street", fx.grid4),
    ] {
        r.add(
            "GET /api/issues/similar",
            scope,
            signed_in,
            http(
                Method::GET,
                format!("/api/issues/similar?category=drainage&place_id={grid}"),
                Body::None,
            ),
        )
        .check = Some(check_list);
    }

    // Meetings and appraisals, read.
    r.add("GET /api/meetings", "own places", signed_in, http(Method::GET, "/api/meetings", Body::None)).check = Some(check_meetings);
    for name in [
        "hearing",
        "street meeting",
        "orchard meeting",
        "lakeside meeting",
        "mediation",
        "draft",
    ] {
        let id = fx.meetings[name];
        r.add("GET /api/meetings/{id}", name, meeting_read(name), http(Method::GET, format!("/api/meetings/{id}"), Body::None));
    }
    for (scope, expect) in [
        ("own community", READ_OWN),
        ("other community", READ_COMM2),
        ("other street", READ_STREET2),
    ] {
        let id = fx.appraisals[scope];
        r.add(
            "GET /api/appraisals/{id}",
            scope,
            expect,
            http(Method::GET, format!("/api/appraisals/{id}"), Body::None),
        )
        .check = Some(check_appraisal);
    }

    // Posting (4): notices from the officials of the place; nobody posts to rooms, issues,
    // inboxes or ops. A channel one may not know of stays unknown.
    for (scope, target, expect) in [
        (
            "own street",
            Target::Is(Channel::Street(fx.street)),
            "UFFFFAFA",
        ),
        (
            "other street",
            Target::Is(Channel::Street(fx.street2)),
            "UFFFFFFA",
        ),
        ("own home", Target::Is(Channel::Home(fx.comm)), "UFFFAAFA"),
        (
            "other community's home",
            Target::Is(Channel::Home(fx.comm2)),
            "UFFFFAFA",
        ),
        (
            "other street's home",
            Target::Is(Channel::Home(fx.comm3)),
            "UFFFFFFA",
        ),
        (
            "room",
            Target::Is(Channel::Room(fx.meetings["hearing"])),
            "UFFFFFFF",
        ),
        (
            "mediation",
            Target::Is(Channel::Room(fx.meetings["mediation"])),
            "UFFNFNNN",
        ),
        (
            "public issue of the own grid",
            Target::Is(Channel::Issue(fx.issues["pub_own"])),
            "UFFFFFNF",
        ),
        (
            "private issue of another street",
            Target::Is(Channel::Issue(fx.issues["priv_street"])),
            "UNNNNNNF",
        ),
        ("own inbox", Target::OwnInbox, "UFFFFFFF"),
        ("ops", Target::Is(Channel::OPS), "UFFFFFFF"),
    ] {
        if let Target::Is(c) = target {
            let body = Body::Json(json!({ "request_id": next_id().as_str(), "text": "authz" }));
            r.add("POST /api/channels/{channel}/messages", scope, expect, http(Method::POST, format!("/api/channels/{c}/messages"), body));
        }
        r.add("ws post", scope, expect, Op::Ws(Cmd::Post(target)));
    }

    // Photos (10.8): a `before` photo, by the reporter or the staff over the issue.
    for (name, expect) in [
        ("pub_own", "UFFAAANA"),
        ("pub_grid", "UFFFAANA"),
        ("pub_comm", "UNNNNANA"),
        ("pub_street", "UNNNNNNA"),
        ("priv_own", "UNNAAANA"),
        ("priv_grid", "UNNNAANA"),
        ("priv_comm", "UNNNNANA"),
        ("priv_street", "UNNNNNNA"),
        ("mine", "UANAAANA"),
    ] {
        let id = fx.issues[name];
        r.add("POST /api/issues/{id}/photos", name, expect, http(Method::POST, format!("/api/issues/{id}/photos"), Body::Photo));
    }

    // Raising issues (10.2): residents in their community, staff in their area, building
    // leads only on behalf of a resident, about their building or the grid around it.
    for (scope, place, helped, expect) in [
        ("own grid", fx.grid, None, "UAFAAAFA"),
        ("other grid", fx.grid2, None, "UAFFAAFA"),
        ("other community", fx.grid3, None, "UFFFFAFA"),
        ("other street", fx.grid4, None, "UFFFFFFA"),
        (
            "own building, for a neighbour",
            fx.building,
            Some(fx.neighbour),
            "UFAAAAFA",
        ),
        (
            "other grid, for a neighbour",
            fx.grid2,
            Some(fx.neighbour),
            "UFFFAAFA",
        ),
    ] {
        let mut issue = json!({
            "category": "drainage",
            "title": "authz",
            "description": "raised by the authorisation matrix",
            "place_id": place,
        });
        if let Some(h) = helped {
            issue["on_behalf_of"] = json!(h);
        }
        let body = json!({ "request_id": next_id().as_str(), "issue": issue });
        r.add("POST /api/issues", scope, expect, http(Method::POST, "/api/issues", Body::Json(body)));
        r.add("ws submit_issue", scope, expect, Op::Ws(Cmd::Submit(issue)));
    }

    // Acting on issues; `withdraw` comes last, as the resident's own withdrawal closes hers.
    for (label, action) in issue_actions() {
        for name in [
            "pub_own",
            "priv_own",
            "pub_grid",
            "priv_grid",
            "pub_comm",
            "priv_street",
            "mine",
        ] {
            let id = fx.issues[name];
            let expect: String = (0..WHO.len())
                .map(|who| gate(issue_read(name), who, may_act_on_issue(fx, who, id, label)))
                .collect();
            let body = Body::Json(json!({ "request_id": next_id().as_str(), "action": action }));
            r.add(&format!("POST /api/issues/{{id}}/actions {label}"), name, &expect, http(Method::POST, format!("/api/issues/{id}/actions"), body));
            r.add(&format!("ws issue_action {label}"), name, &expect, Op::Ws(Cmd::Issue(id, action.clone())));
        }
    }

    // Acting in rooms, in meetings that have ended, so that no action moves another cell.
    for (kind, action) in room_actions(fx) {
        for name in [
            "ended hearing",
            "ended orchard meeting",
            "ended lakeside meeting",
            "ended mediation",
        ] {
            let expect: String = (0..WHO.len())
                .map(|who| gate(meeting_read(name), who, may_act_in_room(name, who, kind)))
                .collect();
            r.add(&format!("ws room_action {kind}"), name, &expect, Op::Ws(Cmd::Room(fx.meetings[name], action.clone())));
        }
    }

    // Registrations (15): participants register; the chair (and secretary) see and check in.
    let published = [
        "hearing",
        "street meeting",
        "orchard meeting",
        "lakeside meeting",
        "mediation",
    ];
    for name in published {
        let id = fx.meetings[name];
        r.add(
            "POST /api/meetings/{id}/registration",
            name,
            meeting_read(name),
            http(
                Method::POST,
                format!("/api/meetings/{id}/registration"),
                Body::None,
            ),
        );
    }
    for name in published {
        let id = fx.meetings[name];
        let expect: String = (0..WHO.len())
            .map(|w| gate(meeting_read(name), w, chairs(name).contains(&w)))
            .collect::<String>()
            .replace('P', "A");
        r.add("GET /api/meetings/{id}/registrations", name, &expect, http(Method::GET, format!("/api/meetings/{id}/registrations"), Body::None));
        let body = Body::Json(json!({ "code": fx.codes[name] }));
        r.add("POST /api/meetings/{id}/checkin", name, &expect, http(Method::POST, format!("/api/meetings/{id}/checkin"), body));
    }
    // Cancelling touches only one's own registration: without one (never a participant, so
    // never registered above) it is `N`, whatever the meeting.
    for name in published {
        let id = fx.meetings[name];
        let expect = meeting_read(name).replace('F', "N");
        r.add("DELETE /api/meetings/{id}/registration", name, &expect, http(Method::DELETE, format!("/api/meetings/{id}/registration"), Body::None));
    }

    // Calling meetings (15): the place's officials, its street's chief, admins. Drafts never
    // show to anyone but their chair.
    for (scope, place, expect) in [
        ("own community", fx.comm, "UFFFAAFA"),
        ("own street", fx.street, "UFFFFAFA"),
        ("other community", fx.comm2, "UFFFFAFA"),
        ("other street", fx.comm3, "UFFFFFFA"),
    ] {
        let body = json!({ "kind": "general", "title": "authz", "place_id": place });
        r.add("POST /api/meetings", scope, expect, http(Method::POST, "/api/meetings", Body::Json(body)));
    }
    r.add("GET /api/meetings", "after drafts were called", signed_in, http(Method::GET, "/api/meetings", Body::None)).check = Some(check_meetings);

    // Appraisals (11.9): set up by the place's officials; run by the chair (an admin here);
    // ballots from the electorate only. `void` comes before `open`, while it is refused for the
    // state rather than for a ballot that does not exist.
    for (scope, place, expect) in [
        ("own community", fx.comm, "UFFFAAFA"),
        ("own street", fx.street, "UFFFFAFA"),
        ("other community", fx.comm2, "UFFFFAFA"),
        ("other street", fx.comm3, "UFFFFFFA"),
    ] {
        let elector = if place == fx.comm2 {
            fx.resident2
        } else if place == fx.comm3 {
            fx.lakeside
        } else {
            fx.neighbour
        };
        let body = appraisal_body(place, elector);
        r.add("POST /api/appraisals", scope, expect, http(Method::POST, "/api/appraisals", Body::Json(body)));
    }
    for (scope, elector) in [
        ("own community", "UPFFFFFF"),
        ("other community", "UFFFFFFF"),
        ("other street", "UFFFFFFF"),
    ] {
        let id = fx.appraisals[scope];
        let ballot = json!({ "scores": { "0": { "0": 4 } }, "grade": { "0": "satisfied" } });
        r.add("POST /api/appraisals/{id}/ballots", scope, elector, http(Method::POST, format!("/api/appraisals/{id}/ballots"), Body::Json(ballot)));
        let body = Body::Json(json!({ "reason": "authz" }));
        r.add(
            "POST /api/appraisals/{id}/ballots/{ballot_id}/void",
            scope,
            "UFFFFFFP",
            http(
                Method::POST,
                format!("/api/appraisals/{id}/ballots/b1/void"),
                body,
            ),
        );
        for step in ["open", "close", "publish"] {
            r.add(
                &format!("POST /api/appraisals/{{id}}/{step}"),
                scope,
                "UFFFFFFP",
                http(
                    Method::POST,
                    format!("/api/appraisals/{id}/{step}"),
                    Body::None,
                ),
            );
        }
    }

    // Accounts (roles.rs): admins see every account, staff those placed within their scope;
    // not seeing one is `N`, as if it did not exist.
    for (scope, username, id, expect) in [
        (
            "building lead of the own grid",
            "lead",
            fx.ids[LEAD],
            "UNNAAANA",
        ),
        (
            "resident of the own community",
            "neighbour",
            fx.neighbour,
            "UNNNAANA",
        ),
        (
            "resident of the other community",
            "resident2",
            fx.resident2,
            "UNNNNANA",
        ),
        (
            "resident of another street",
            "lakeside",
            fx.lakeside,
            "UNNNNNNA",
        ),
    ] {
        r.add("GET /api/accounts/{id}", scope, expect, http(Method::GET, format!("/api/accounts/{id}"), Body::None));
        r.add("GET /api/accounts", scope, expect, http(Method::GET, format!("/api/accounts?username={username}"), Body::None));
    }
    // Roles are given by admins, and below his own in his street by the street chief. Cells
    // run in the order of `WHO`: the admin's comes after the chief's, which already did it.
    let newcomer = fx.newcomer;
    for (method, scope, grant, expect) in [
        (
            Method::POST,
            "a building of the own street",
            json!({ "role": "building_lead", "place": fx.building2 }),
            "UFFFFAFC",
        ),
        (
            Method::POST,
            "a grid of another street",
            json!({ "role": "grid_worker", "place": fx.grid4 }),
            "UFFFFFFA",
        ),
        (
            Method::POST,
            "ops, which takes no place",
            json!({ "role": "ops" }),
            "UFFFFFFA",
        ),
        (
            Method::DELETE,
            "a building of the own street",
            json!({ "role": "building_lead", "place": fx.building2 }),
            "UFFFFAFN",
        ),
        (
            Method::DELETE,
            "a grid of another street",
            json!({ "role": "grid_worker", "place": fx.grid4 }),
            "UFFFFFFA",
        ),
        (
            Method::DELETE,
            "ops, which takes no place",
            json!({ "role": "ops" }),
            "UFFFFFFA",
        ),
    ] {
        let route = format!("{method} /api/accounts/{{id}}/grants");
        r.add(&route, scope, expect, http(method, format!("/api/accounts/{newcomer}/grants"), Body::Json(grant)));
    }
    for step in ["disable", "enable"] {
        r.add(
            &format!("POST /api/accounts/{{id}}/{step}"),
            "another account",
            "UFFFFFFA",
            http(
                Method::POST,
                format!("/api/accounts/{newcomer}/{step}"),
                Body::None,
            ),
        );
    }
    // The audit log: admins all of it, a street chief his street's.
    for (scope, query, expect) in [
        ("own street, implied", String::new(), "UFFFFAFA"),
        ("own street", format!("?street={}", fx.street), "UFFFFAFA"),
        (
            "other street",
            format!("?street={}", fx.street2),
            "UFFFFFFA",
        ),
    ] {
        r.add("GET /api/audit", scope, expect, http(Method::GET, format!("/api/audit{query}"), Body::None)).check = Some(check_audit);
    }

    // Operations: the load test reports to those who run the service.
    r.add("POST /api/ops/loadtest", "ops:1", "UFFFFFAA", http(Method::POST, "/api/ops/loadtest", Body::Json(loadtest())));

    // Last: signing out ends a session of its own, not the one the rows above share.
    r.0.push(Row {
        route: "POST /api/auth/logout".into(),
        scope: "own session".into(),
        expect: signed_in.into(),
        op: Op::Http {
            method: Method::POST,
            path: "/api/auth/logout".into(),
            body: Body::Json(json!({})),
            fresh: true,
        },
        check: None,
    });

    // Notifications: one's own inbox and choices; the dead letters are the admins'.
    r.add("GET /api/me/notifications", "own inbox", signed_in, http(Method::GET, "/api/me/notifications", Body::None));
    r.add("POST /api/me/notifications/read", "own inbox (all)", signed_in, http(Method::POST, "/api/me/notifications/read", Body::Json(json!({ "all": true }))));
    r.add("GET /api/me/notify-prefs", "own choices", signed_in, http(Method::GET, "/api/me/notify-prefs", Body::None));
    r.add("PATCH /api/me/notify-prefs", "own choices (nothing changed)", signed_in, http(Method::PATCH, "/api/me/notify-prefs", Body::Json(json!({}))));
    r.add("GET /api/ops/deliveries", "the dead letters", "UFFFFFFA", http(Method::GET, "/api/ops/deliveries", Body::None));
    r.add("POST /api/ops/deliveries/{id}/retry", "a delivery that is none", "UFFFFFFN", http(Method::POST, "/api/ops/deliveries/999999/retry", Body::None));
    r.0
}

fn issue_actions() -> Vec<(&'static str, IssueAction)> {
    use IssueAction as A;
    let nobody = AccountId(999_999);
    // Empty texts and unknown ids: refused after the gate, so nothing changes for other cells.
    vec![
        ("accept", A::Accept),
        (
            "reject",
            A::Reject {
                reason: String::new(),
            },
        ),
        (
            "merge",
            A::Merge {
                into: IssueId(999_999),
            },
        ),
        ("dispatch", A::Dispatch { assignee: nobody }),
        ("acknowledge", A::Acknowledge),
        (
            "return",
            A::Return {
                reason: String::new(),
            },
        ),
        (
            "escalate",
            A::Escalate {
                reason: String::new(),
            },
        ),
        (
            "post_update",
            A::PostUpdate {
                text: String::new(),
                internal: false,
            },
        ),
        (
            "post_update internal",
            A::PostUpdate {
                text: String::new(),
                internal: true,
            },
        ),
        ("complete", A::Complete { note: None }),
        (
            "declare_unfixable",
            A::DeclareUnfixable {
                explanation: String::new(),
                resolution: hehe_protocol::issue::Resolution::NotFixable,
            },
        ),
        ("verify_ok", A::VerifyOk),
        (
            "verify_fail",
            A::VerifyFail {
                reason: String::new(),
            },
        ),
        (
            "rate",
            A::Rate {
                resolved: true,
                satisfaction: None,
                stars: None,
                comment: None,
            },
        ),
        ("follow", A::Follow),
        ("unfollow", A::Unfollow),
        ("me_too", A::MeToo { note: None }),
        ("withdraw", A::Withdraw),
    ]
}

fn room_actions(fx: &Fx) -> Vec<(&'static str, RoomAction)> {
    use RoomAction as A;
    // The chair's own id: nobody may mute or remove the chair, and the chair is not removed.
    let chair = fx.ids[CHIEF];
    let vote = NewVote {
        question: "authz?".into(),
        options: vec!["yes".into(), "no".into()],
        multiple: false,
        anonymous: false,
        hide_results: false,
    };
    vec![
        ("start", A::Start),
        ("end", A::End),
        (
            "publish_minutes",
            A::PublishMinutes {
                text: String::new(),
            },
        ),
        ("lock", A::Lock),
        ("unlock", A::Unlock),
        (
            "set_mode",
            A::SetMode {
                mode: RoomMode::FloorOnly,
            },
        ),
        ("raise_hand", A::RaiseHand),
        ("lower_hand", A::LowerHand),
        ("give_floor", A::GiveFloor { to: None }),
        ("take_floor", A::TakeFloor),
        ("mute", A::Mute { who: chair }),
        ("unmute", A::Unmute { who: chair }),
        ("remove", A::Remove { who: chair }),
        ("readmit", A::Readmit { who: chair }),
        (
            "say",
            A::Say {
                text: "authz".into(),
            },
        ),
        (
            "react",
            A::React {
                emoji: "👍".into()
            },
        ),
        (
            "append_minutes",
            A::AppendMinutes {
                text: String::new(),
            },
        ),
        ("set_agenda_item", A::SetAgendaItem { index: 0 }),
        ("open_vote", A::OpenVote { vote }),
        (
            "cast_vote",
            A::CastVote {
                vote: 1,
                choices: vec![0],
            },
        ),
        ("close_vote", A::CloseVote { vote: 1 }),
        ("publish", A::Publish),
        ("cancel", A::Cancel),
        (
            "propose_agreement",
            A::ProposeAgreement {
                terms: String::new(),
                deadline: 1,
            },
        ),
        ("confirm_agreement", A::ConfirmAgreement),
        (
            "record_failure",
            A::RecordFailure {
                referral: String::new(),
                follow_up: None,
            },
        ),
        (
            "statement",
            A::Statement {
                text: String::new(),
            },
        ),
        (
            "publish_decision",
            A::PublishDecision {
                text: String::new(),
                follow_ups: Vec::new(),
            },
        ),
    ]
}

fn appraisal_body(place: PlaceId, elector: AccountId) -> Value {
    json!({
        "title": "authz appraisal",
        "place_id": place,
        "appraisees": [{ "name": "Property management", "service": "Green Leaf Property" }],
        "dimensions": [{ "name": "Responsiveness", "weight": 1, "scale": 5 }],
        "electorate": [elector],
    })
}

fn loadtest() -> Value {
    json!({
        "run": "authz", "scenario": "authz", "elapsed_secs": 1.0, "connections": 1, "sent": 1,
        "received": 1, "deliveries_per_sec": 1.0,
        "latency_ms": { "p50": 1.0, "p90": 1.0, "p99": 1.0, "max": 1.0 },
        "lost": 0, "duplicates": 0, "out_of_order": 0, "errors": 0, "closes": {}, "done": false
    })
}

static IDS: AtomicU64 = AtomicU64::new(1);

fn next_id() -> RequestId {
    RequestId::parse(format!("authz-{}", IDS.fetch_add(1, Ordering::Relaxed))).expect("an id")
}

// ---- content checks -------------------------------------------------------------------------

fn sees(fx: &Fx, who: usize, issue: i64) -> Option<bool> {
    let (name, _) = fx.issues.iter().find(|(_, id)| id.0 == issue)?;
    Some(issue_read(name).as_bytes()[who] == b'A')
}

/// Staff over an issue see its internal notes (10.6): its grid's workers and officials.
fn staff_over(fx: &Fx, who: usize, issue: i64) -> bool {
    let Some(grid) = fx.issue_grid.get(&IssueId(issue)) else {
        return false;
    };
    let riverside = *grid == fx.grid || *grid == fx.grid2;
    who == ADMIN
        || (who == WORKER && *grid == fx.grid)
        || (who == OFFICIAL && riverside)
        || (who == CHIEF && (riverside || *grid == fx.grid3))
}

fn check_me(fx: &Fx, who: usize, v: &Value) -> Result<(), String> {
    (v["id"] == json!(fx.ids[who]))
        .then_some(())
        .ok_or_else(|| format!("another account: {v}"))
}

/// A place's answer names only places the caller may look up themselves.
fn check_place(fx: &Fx, who: usize, v: &Value) -> Result<(), String> {
    let known = place_read(fx);
    let named = v["ancestors"]
        .as_array()
        .into_iter()
        .chain(v["children"].as_array())
        .flatten();
    for place in named {
        let id = place["id"].as_i64().unwrap_or_default();
        if let Some((scope, _, read)) = known.iter().find(|(_, p, _)| p.0 == id)
            && read.as_bytes()[who] != b'A'
        {
            return Err(format!(
                "names the {scope} ({id}), which the caller may not look up"
            ));
        }
    }
    Ok(())
}

/// No replayed event carries an issue the reader may not see, and internal notes reach staff
/// only, in full.
fn check_history(fx: &Fx, who: usize, v: &Value) -> Result<(), String> {
    // A channel nothing was ever published on has no history to recover.
    if v["recovered"] != json!(true) && v["offset"] != json!(0) {
        return Err(format!("history not recovered: {v}"));
    }
    let events = v["events"].as_array().cloned().unwrap_or_default();
    let mut internal = 0;
    for e in &events {
        let issue = e["data"]["issue"]["id"].as_i64().unwrap_or_default();
        if sees(fx, who, issue) == Some(false) {
            return Err(format!(
                "replays {} of issue {issue}, which the reader may not see",
                e["kind"]
            ));
        }
        if e["data"]["event"]["visibility"] == "internal" {
            internal += 1;
            if !staff_over(fx, who, issue) {
                return Err(format!(
                    "replays an internal note of issue {issue} to a non-staff reader"
                ));
            }
        }
    }
    // The street's chief takes escalations on: they must still reach him.
    let escalations = events
        .iter()
        .filter(|e| e["kind"] == "issue.escalated")
        .count();
    let street = Channel::Street(fx.street).to_string();
    if v["channel"] == json!(street) && matches!(who, CHIEF | ADMIN) && escalations < 2 {
        return Err(format!(
            "the street's staff got {escalations} of its 2 escalations"
        ));
    }
    if let Some(issue) = v["channel"].as_str().and_then(|c| c.strip_prefix("issue:"))
        && staff_over(fx, who, issue.parse().unwrap_or_default())
        && internal == 0
    {
        return Err("the staff's history lacks the internal note".into());
    }
    Ok(())
}

fn check_issue_detail(fx: &Fx, who: usize, v: &Value) -> Result<(), String> {
    let id = v["issue"]["id"].as_i64().unwrap_or_default();
    let staff = staff_over(fx, who, id);
    let notes = v["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["visibility"] == "internal")
        .count();
    if staff != (notes > 0) {
        return Err(format!("staff {staff}, yet {notes} internal entries"));
    }
    let reporter = who == RESIDENT && id == fx.issues["mine"].0;
    if !(staff || reporter || v["reporter"].is_null()) {
        return Err("names the reporter to someone who is neither staff nor the reporter".into());
    }
    Ok(())
}

fn listed(v: &Value) -> Vec<i64> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["id"].as_i64())
        .collect()
}

fn check_list(fx: &Fx, who: usize, v: &Value) -> Result<(), String> {
    match listed(v)
        .into_iter()
        .find(|id| sees(fx, who, *id) == Some(false))
    {
        Some(id) => Err(format!("lists issue {id}, which the caller may not see")),
        None => Ok(()),
    }
}

/// As `check_list`, and every public issue the caller sees is there (all they see, for staff).
fn check_full_list(fx: &Fx, who: usize, v: &Value) -> Result<(), String> {
    check_list(fx, who, v)?;
    let ids = listed(v);
    let staff = matches!(who, WORKER | OFFICIAL | CHIEF | ADMIN);
    for (name, id) in issue_names(fx) {
        let shown = issue_read(name).as_bytes()[who] == b'A';
        if shown && (staff || name.starts_with("pub")) && !ids.contains(&id.0) {
            return Err(format!("misses {name}"));
        }
    }
    Ok(())
}

fn check_meetings(fx: &Fx, who: usize, v: &Value) -> Result<(), String> {
    let ids = listed(v);
    for (name, id) in &fx.meetings {
        let may = meeting_read(name).as_bytes()[who] == b'A';
        if ids.contains(&id.0) && !may {
            return Err(format!("lists the {name}, which the caller may not be in"));
        }
        let placed = (RESIDENT..=CHIEF).contains(&who);
        if placed && may && !name.starts_with("ended") && !ids.contains(&id.0) {
            return Err(format!("misses the {name}"));
        }
    }
    for m in v.as_array().into_iter().flatten() {
        if m["state"] == "draft" && m["chair"] != json!(fx.ids[who]) && who != ADMIN {
            return Err(format!("shows someone else's draft {}", m["id"]));
        }
    }
    Ok(())
}

/// A street chief reads only his own street's entries.
fn check_audit(fx: &Fx, who: usize, v: &Value) -> Result<(), String> {
    let entries = v["entries"].as_array().cloned().unwrap_or_default();
    if who == ADMIN {
        return Ok(());
    }
    match entries.iter().find(|e| e["street"] != json!(fx.street)) {
        Some(e) => Err(format!("shows an entry of another street: {e}")),
        None => Ok(()),
    }
}

/// Only those who count (the chair, an admin) see the electorate and the ballots.
fn check_appraisal(_: &Fx, who: usize, v: &Value) -> Result<(), String> {
    if who != ADMIN && !(v["electorate"].is_null() && v["ballots"].is_null()) {
        return Err("shows the electorate or ballots to someone who does not count".into());
    }
    Ok(())
}

// ---- the world ------------------------------------------------------------------------------

struct World {
    app: TestApp,
    fx: Fx,
    tokens: [String; 8],
    web: reqwest::Client,
}

async fn login(app: &TestApp, username: &str) -> String {
    app.login(username).await.access_token
}

async fn call(w: &World, token: &str, method: Method, path: &str, body: Value) -> Value {
    let res = w
        .web
        .request(method, format!("{}{path}", w.app.http.base_url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = res.status();
    let value = res.json::<Value>().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {value}");
    value
}

async fn world() -> World {
    let app = spawn_app_with(|c| c.limits = hehe_server::infra::limits::LimitsConfig::off()).await;
    let d = app.demo.clone();
    let neighbour = app
        .state
        .store
        .insert_account("neighbour", "Neighbour 邻居", &hash_password(DEMO_PASSWORD))
        .await
        .unwrap();
    app.state
        .store
        .insert_grant(neighbour, Role::Resident, Some(d.communities[0]))
        .await
        .unwrap();
    let newcomer = app
        .state
        .store
        .insert_account("newcomer", "Newcomer 新人", "-")
        .await
        .unwrap();
    let grid4 = app.state.store.children(d.other_community).await.unwrap()[0].id;
    let mut ids = [AccountId(0); 8];
    let mut tokens: [String; 8] = Default::default();
    for who in RESIDENT..WHO.len() {
        ids[who] = d.account(WHO[who]);
        tokens[who] = login(&app, WHO[who]).await;
    }
    let fx = Fx {
        ids,
        street: d.street,
        street2: d.other_street,
        comm: d.communities[0],
        comm2: d.communities[1],
        comm3: d.other_community,
        grid: d.grids[0],
        grid2: d.grids[1],
        grid3: d.grids[2],
        grid4,
        building: d.buildings[0],
        building2: d.buildings[1],
        neighbour,
        resident2: d.account("resident2"),
        lakeside: d.account("lakeside"),
        newcomer,
        issues: HashMap::new(),
        issue_grid: HashMap::new(),
        photos: HashMap::new(),
        meetings: HashMap::new(),
        codes: HashMap::new(),
        appraisals: HashMap::new(),
    };
    let store = app.state.store.clone();
    let mut w = World {
        app,
        fx,
        tokens: tokens.clone(),
        web: reqwest::Client::new(),
    };
    let people = [
        ("neighbour", login(&w.app, "neighbour").await),
        ("resident2", login(&w.app, "resident2").await),
        ("lakeside", login(&w.app, "lakeside").await),
        ("resident", tokens[RESIDENT].clone()),
    ];
    let token_of = |name: &str| {
        people
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| t.clone())
            .unwrap()
    };
    let admin = tokens[ADMIN].clone();

    // Issues, each with an internal note and a photo from an admin.
    for (name, reporter, grid, public) in [
        ("pub_own", "neighbour", w.fx.grid, true),
        ("pub_grid", "neighbour", w.fx.grid2, true),
        ("pub_comm", "resident2", w.fx.grid3, true),
        ("pub_street", "lakeside", w.fx.grid4, true),
        ("priv_own", "neighbour", w.fx.grid, false),
        ("priv_grid", "neighbour", w.fx.grid2, false),
        ("priv_comm", "resident2", w.fx.grid3, false),
        ("priv_street", "lakeside", w.fx.grid4, false),
        ("mine", "resident", w.fx.grid, false),
    ] {
        let body = json!({ "request_id": next_id().as_str(), "issue": {
            "category": "drainage", "title": name, "description": "a fixture of the matrix",
            "place_id": grid, "public": public } });
        let issue = call(&w, &token_of(reporter), Method::POST, "/api/issues", body).await;
        let id = IssueId(issue["id"].as_i64().unwrap());
        w.fx.issues.insert(name, id);
        w.fx.issue_grid.insert(id, grid);
        let note = json!({ "request_id": next_id().as_str(), "action": { "kind": "post_update", "text": "for staff only", "internal": true } });
        call(
            &w,
            &admin,
            Method::POST,
            &format!("/api/issues/{id}/actions"),
            note,
        )
        .await;
        let photo = w
            .app
            .http
            .upload_photo(&admin, id, "before", crate::issues::jpeg(), false)
            .await
            .unwrap();
        w.fx.photos.insert(name, photo.id);
    }
    // A private issue escalated beyond its grid: the street hears of it.
    let escalate = |kind: &str| json!({ "request_id": next_id().as_str(), "action": { "kind": kind, "reason": "beyond the grid" } });
    let priv_own = w.fx.issues["priv_own"];
    for kind in ["accept", "escalate"] {
        call(
            &w,
            &tokens[OFFICIAL],
            Method::POST,
            &format!("/api/issues/{priv_own}/actions"),
            escalate(kind),
        )
        .await;
    }

    // A public issue of Orchard escalated too: the street channel is no way round its
    // community's walls.
    let pub_comm = w.fx.issues["pub_comm"];
    for kind in ["accept", "escalate"] {
        call(
            &w,
            &tokens[CHIEF],
            Method::POST,
            &format!("/api/issues/{pub_comm}/actions"),
            escalate(kind),
        )
        .await;
    }

    // Meetings: published ones to read and register for, ended ones to act in, and a draft.
    w.fx.meetings.insert("hearing", d.meeting);
    w.fx.meetings.insert("mediation", d.mediation);
    for (name, kind, place, chair, state) in [
        (
            "street meeting",
            MeetingKind::General,
            w.fx.street,
            ids[CHIEF],
            MeetingState::Published,
        ),
        (
            "orchard meeting",
            MeetingKind::General,
            w.fx.comm2,
            ids[CHIEF],
            MeetingState::Published,
        ),
        (
            "lakeside meeting",
            MeetingKind::General,
            w.fx.comm3,
            ids[ADMIN],
            MeetingState::Published,
        ),
        (
            "ended hearing",
            MeetingKind::Hearing,
            w.fx.comm,
            ids[CHIEF],
            MeetingState::Ended,
        ),
        (
            "ended orchard meeting",
            MeetingKind::General,
            w.fx.comm2,
            ids[CHIEF],
            MeetingState::Ended,
        ),
        (
            "ended lakeside meeting",
            MeetingKind::General,
            w.fx.comm3,
            ids[ADMIN],
            MeetingState::Ended,
        ),
        (
            "ended mediation",
            MeetingKind::Mediation,
            w.fx.comm,
            ids[OFFICIAL],
            MeetingState::Ended,
        ),
        (
            "draft",
            MeetingKind::General,
            w.fx.comm,
            ids[OFFICIAL],
            MeetingState::Draft,
        ),
    ] {
        let agenda = ["The one item".to_owned()];
        let id = store
            .create_meeting(NewMeeting {
                kind,
                title: name,
                description: "",
                place,
                chair,
                secretary: None,
                private: kind == MeetingKind::Mediation,
                agenda: &agenda,
                capacity: None,
                initial_state: state,
                previous_round: None,
                at: 0,
            })
            .await
            .unwrap();
        w.fx.meetings.insert(name, id);
    }
    let ended_mediation = w.fx.meetings["ended mediation"];
    for (who, role) in [
        (RESIDENT, MemberRole::Party),
        (LEAD, MemberRole::Party),
        (OFFICIAL, MemberRole::Mediator),
    ] {
        store
            .add_member(ended_mediation, ids[who], role)
            .await
            .unwrap();
    }
    for (meeting, person) in [
        ("hearing", "neighbour"),
        ("street meeting", "neighbour"),
        ("orchard meeting", "resident2"),
        ("lakeside meeting", "lakeside"),
    ] {
        let path = format!("/api/meetings/{}/registration", w.fx.meetings[meeting]);
        let reg = call(&w, &token_of(person), Method::POST, &path, Value::Null).await;
        w.fx.codes
            .insert(meeting, reg["code"].as_str().unwrap().to_owned());
    }
    // The mediation's only participants are in the matrix: the lead registers and cancels
    // again in the rows, after the chair checked her in.
    let path = format!("/api/meetings/{}/registration", d.mediation);
    let reg = call(&w, &tokens[LEAD], Method::POST, &path, Value::Null).await;
    w.fx.codes
        .insert("mediation", reg["code"].as_str().unwrap().to_owned());

    for (scope, place, elector) in [
        ("own community", w.fx.comm, ids[RESIDENT]),
        ("other community", w.fx.comm2, w.fx.resident2),
        ("other street", w.fx.comm3, w.fx.lakeside),
    ] {
        let a = call(
            &w,
            &admin,
            Method::POST,
            "/api/appraisals",
            appraisal_body(place, elector),
        )
        .await;
        w.fx.appraisals
            .insert(scope, MeetingId(a["id"].as_i64().unwrap()));
    }
    w
}

// ---- running a cell -------------------------------------------------------------------------

fn letter_of_status(status: u16) -> char {
    match status {
        200..=299 => 'A',
        400 => 'I',
        401 => 'U',
        403 => 'F',
        404 => 'N',
        409 => 'C',
        _ => '?',
    }
}

fn letter_of_code(code: Option<ErrorCode>) -> char {
    match code {
        Some(ErrorCode::Unauthenticated | ErrorCode::InvalidToken | ErrorCode::TokenExpired) => 'U',
        Some(ErrorCode::Forbidden) => 'F',
        Some(ErrorCode::NotFound) => 'N',
        Some(ErrorCode::InvalidRequest) => 'I',
        Some(ErrorCode::Conflict) => 'C',
        Some(ErrorCode::NotSubscribed) => 'S',
        _ => '?',
    }
}

fn matches(expected: char, got: char) -> bool {
    expected == got || (expected == 'P' && matches!(got, 'A' | 'I' | 'C'))
}

async fn run_http(
    w: &World,
    who: usize,
    method: &Method,
    path: &str,
    body: &Body,
    fresh: bool,
) -> (char, Value) {
    let url = format!("{}{path}", w.app.http.base_url());
    let mut req = w.web.request(method.clone(), url);
    let mut token = (who != ANON).then(|| w.tokens[who].clone());
    if fresh && who != ANON {
        token = Some(login(&w.app, WHO[who]).await);
    }
    req = match body {
        Body::None => req,
        Body::Json(v) => req.json(v),
        Body::Photo => {
            let form = reqwest::multipart::Form::new().text("kind", "before").part(
                "file",
                reqwest::multipart::Part::bytes(crate::issues::jpeg()).file_name("p.jpg"),
            );
            req.multipart(form)
        }
        Body::Login => {
            let (user, pass) = if who == ANON {
                ("nobody-at-all", "wrong")
            } else {
                (WHO[who], DEMO_PASSWORD)
            };
            token = None;
            req.json(&json!({ "username": user, "password": pass }))
        }
        Body::Refresh => {
            let refresh = if who == ANON {
                "forged".to_owned()
            } else {
                w.app.login(WHO[who]).await.refresh_token
            };
            token = None;
            req.json(&json!({ "refresh_token": refresh }))
        }
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("a response");
    let status = res.status().as_u16();
    let bytes = res.bytes().await.unwrap_or_default();
    (
        letter_of_status(status),
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn channel_of(w: &World, who: usize, target: Target) -> Channel {
    match target {
        Target::Is(c) => c,
        Target::OwnInbox => Channel::User(if who == ANON {
            w.fx.ids[RESIDENT]
        } else {
            w.fx.ids[who]
        }),
    }
}

fn message(w: &World, who: usize, cmd: &Cmd, since: Option<Position>) -> ClientMsg {
    let id = next_id();
    match cmd {
        Cmd::Subscribe(t) | Cmd::History(t) => ClientMsg::Subscribe {
            id,
            channel: channel_of(w, who, *t),
            since,
        },
        Cmd::Unsubscribe(channel) => ClientMsg::Unsubscribe {
            id,
            channel: *channel,
        },
        Cmd::Presence(channel) => ClientMsg::Presence {
            id,
            channel: *channel,
        },
        Cmd::Post(t) => ClientMsg::Post {
            id,
            channel: channel_of(w, who, *t),
            text: "authz".into(),
        },
        Cmd::Submit(issue) => ClientMsg::SubmitIssue {
            id,
            issue: serde_json::from_value(issue.clone()).expect("a new issue"),
        },
        Cmd::Issue(issue, action) => ClientMsg::IssueAction {
            id,
            issue: *issue,
            action: action.clone(),
        },
        Cmd::Room(meeting, action) => ClientMsg::RoomAction {
            id,
            meeting: *meeting,
            action: action.clone(),
        },
        Cmd::Refresh => ClientMsg::Refresh {
            id,
            token: w.tokens[who.max(RESIDENT)].clone(),
        },
        Cmd::Auth => ClientMsg::Auth {
            id,
            token: if who == ANON {
                "forged".into()
            } else {
                w.tokens[who].clone()
            },
            version: None,
        },
        Cmd::Ping | Cmd::Pong | Cmd::Upgrade => unreachable!("sent without a request id"),
    }
}

async fn pong(conn: &mut Connection) -> (char, Value) {
    loop {
        match conn.recv_timeout(WAIT).await {
            Ok(Incoming::Msg(ServerMsg::Pong)) => return ('A', Value::Null),
            Ok(Incoming::Msg(_)) => continue,
            other => return ('?', json!(format!("{other:?}"))),
        }
    }
}

async fn run_ws(
    w: &World,
    conns: &mut HashMap<usize, Connection>,
    who: usize,
    cmd: &Cmd,
) -> (char, Value) {
    let url = w.app.ws_url();
    // Anonymous cells, and those about the connection itself, each get a socket of their own.
    let own = matches!(cmd, Cmd::Auth | Cmd::Upgrade) || who == ANON;
    let mut fresh = if own {
        Some(Connection::open(&url).await.expect("upgrade"))
    } else {
        None
    };
    if matches!(cmd, Cmd::Upgrade) {
        return ('A', Value::Null);
    }
    let conn = match fresh.as_mut() {
        Some(c) => c,
        None => conns.get_mut(&who).expect("a connection"),
    };
    match cmd {
        Cmd::Ping => {
            conn.send(&ClientMsg::Ping).await.expect("ping");
            return pong(conn).await;
        }
        Cmd::Pong => {
            conn.send(&ClientMsg::Pong).await.expect("pong");
            conn.send(&ClientMsg::Ping).await.expect("ping");
            return pong(conn).await;
        }
        _ => {}
    }
    let since = match cmd {
        Cmd::History(t) => {
            let channel = channel_of(w, who, *t);
            let top = w
                .app
                .state
                .bus
                .history(channel, None)
                .await
                .expect("history")
                .top;
            Some(Position {
                epoch: top.epoch,
                offset: 0,
            })
        }
        _ => None,
    };
    let msg = message(w, who, cmd, since);
    let channel = match &msg {
        ClientMsg::Subscribe { channel, .. } => Some(*channel),
        _ => None,
    };
    match conn.request(msg).await {
        Ok(result) => {
            if let Some(channel) = channel {
                conn.unsubscribe(channel).await.expect("unsubscribe");
            }
            ('A', serde_json::to_value(&result).expect("a reply"))
        }
        Err(e @ (ClientError::Server { .. } | ClientError::Closed { .. })) => {
            (letter_of_code(e.code()), json!(e.to_string()))
        }
        Err(e) => ('?', json!(e.to_string())),
    }
}

async fn connect_all(w: &World) -> HashMap<usize, Connection> {
    let mut conns = HashMap::new();
    for who in RESIDENT..WHO.len() {
        conns.insert(
            who,
            Connection::connect(&w.app.ws_url(), &w.tokens[who])
                .await
                .expect("connect"),
        );
    }
    conns
}

#[tokio::test]
async fn every_role_gets_exactly_what_the_policy_gives_it() {
    let w = world().await;
    let mut conns = connect_all(&w).await;
    let mut failures = Vec::new();
    let mut cells = 0;
    for row in rows(&w.fx) {
        for (who, expected) in row.expect.chars().enumerate() {
            cells += 1;
            let (got, value) = match &row.op {
                Op::Http {
                    method,
                    path,
                    body,
                    fresh,
                } => run_http(&w, who, method, path, body, *fresh).await,
                Op::Ws(cmd) => run_ws(&w, &mut conns, who, cmd).await,
            };
            let mut wrong = (!matches(expected, got))
                .then(|| format!("expected {expected}, got {got}: {value}"));
            if wrong.is_none()
                && got == 'A'
                && let Some(check) = row.check
                && let Err(why) = check(&w.fx, who, &value)
            {
                wrong = Some(why);
            }
            if let Some(why) = wrong {
                failures.push(format!(
                    "{} [{}] as {}: {why}",
                    row.route, row.scope, WHO[who]
                ));
            }
        }
    }
    assert!(cells > 2000, "the matrix shrank to {cells} cells");
    assert!(
        failures.is_empty(),
        "{} of {cells} cells broke the policy:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---- coverage -------------------------------------------------------------------------------

/// The action kinds PROTOCOL.md lists in the table of a command's section.
fn protocol_kinds(command: &str) -> BTreeSet<String> {
    let text = include_str!("../../../protocol/PROTOCOL.md");
    let start = text
        .find(&format!("### `{command}`"))
        .expect("the command's section");
    let section = &text[start + 4..];
    let section = &section[..section.find("\n### ").unwrap_or(section.len())];
    section
        .lines()
        .filter(|l| l.starts_with("| `") && !l.starts_with("| `kind`"))
        .flat_map(|l| {
            l.split('|')
                .nth(1)
                .unwrap_or_default()
                .split(',')
                .map(|k| k.trim().trim_matches('`').to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn every_route_command_and_action_has_rows() {
    let w = world().await;
    let mut rows = rows(&w.fx);
    rows.extend(credentials_rows(&w.fx, &Requests::default()));
    rows.extend(people_rows(&w.fx, [0; 3]));
    let covered: BTreeSet<String> = rows
        .iter()
        .map(|r| r.route.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .chain(place_admin_routes().map(String::from))
        .collect();
    let doc: Value = w
        .web
        .get(format!("{}/api/openapi.json", w.app.http.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut missing = Vec::new();
    for (path, methods) in doc["paths"].as_object().expect("paths") {
        for method in methods.as_object().expect("methods").keys() {
            let route = format!("{} {path}", method.to_uppercase());
            if !covered.contains(&route) {
                missing.push(route);
            }
        }
    }
    for kind in ClientMsg::TYPES {
        if !covered.contains(&format!("ws {kind}")) {
            missing.push(format!("ws {kind}"));
        }
    }
    let kinds = |prefix: &str| -> BTreeSet<String> {
        rows.iter()
            .filter_map(|r| r.route.strip_prefix(prefix))
            .map(|k| k.split(' ').next().unwrap_or_default().to_owned())
            .collect()
    };
    for (command, prefix) in [
        ("issue_action", "ws issue_action "),
        ("room_action", "ws room_action "),
    ] {
        let have = kinds(prefix);
        for kind in protocol_kinds(command) {
            if !have.contains(&kind) {
                missing.push(format!("{command} {kind}"));
            }
        }
    }
    let http_kinds = kinds("POST /api/issues/{id}/actions ");
    assert_eq!(
        http_kinds,
        kinds("ws issue_action "),
        "issue actions over HTTP and WebSocket alike"
    );
    assert!(protocol_kinds("room_action").len() > 20 && protocol_kinds("issue_action").len() > 15);
    assert!(
        missing.is_empty(),
        "no rows in the authorisation matrix for: {missing:?}"
    );
}

// ---- residents and credentials (PROTOCOL.md, "Residents and credentials") -------------------

/// Pending residency requests made for the credentials rows: in the own community, in Orchard
/// and in Lakeside.
#[derive(Default)]
struct Requests {
    own: i64,
    comm2: i64,
    street2: i64,
}

/// The places to sign up in, codes and sign-ups are open to anyone (the latter sent in shapes
/// that are refused for the code, so nothing is created); one's own profile, password and residency to anyone signed in; the
/// requests of a building to the officials of its community, its street's chief and admins,
/// whom others find no request of; a reset code, for admins, and for officials and chiefs when
/// every role of the account is below theirs and within their place.
#[rustfmt::skip]
fn credentials_rows(fx: &Fx, req: &Requests) -> Vec<Row> {
    let mut r = Rows(Vec::new());
    let long = "a long enough password";
    // The places a sign-up picks from are addresses, open to everyone, a token or none.
    r.add("GET /api/signup/places", "anyone (the streets)", "AAAAAAAA", http(Method::GET, "/api/signup/places", Body::None));
    r.add("GET /api/signup/places", "anyone (another street's communities)", "AAAAAAAA", http(Method::GET, format!("/api/signup/places?parent={}", fx.street2), Body::None));
    r.add("GET /api/signup/places", "anyone (a grid's buildings)", "AAAAAAAA", http(Method::GET, format!("/api/signup/places?parent={}", fx.grid), Body::None));
    r.add("POST /api/sms/codes", "anyone (a number that is none)", "IIIIIIII", http(Method::POST, "/api/sms/codes", Body::Json(json!({ "phone": "12345", "purpose": "signup" }))));
    r.add("POST /api/signup", "anyone (a code never sent)", "IIIIIIII", http(Method::POST, "/api/signup", Body::Json(json!({ "phone": "13812349876", "code": "123456", "password": long, "display_name": "某人", "building": fx.building }))));
    r.add("POST /api/auth/reset", "anyone (no such account)", "IIIIIIII", http(Method::POST, "/api/auth/reset", Body::Json(json!({ "username": "nobody-at-all", "code": "123456", "new_password": long }))));
    r.add("PATCH /api/me", "own account", "UAAAAAAA", http(Method::PATCH, "/api/me", Body::Json(json!({}))));
    r.add("POST /api/me/password", "own account (a new password too short)", "UPPPPPPP", http(Method::POST, "/api/me/password", Body::Json(json!({ "current_password": DEMO_PASSWORD, "new_password": "short" }))));
    r.add("GET /api/me/residency", "own requests (none)", "UNNNNNNN", http(Method::GET, "/api/me/residency", Body::None));
    r.add("POST /api/me/residency", "own request (a grid, not a building)", "UPPPPPPP", http(Method::POST, "/api/me/residency", Body::Json(json!({ "building": fx.grid }))));

    for (scope, query, expect) in [
        ("all one decides", String::new(), "UFFFAAFA"),
        ("own community", format!("?place={}", fx.comm), "UFFFAAFA"),
        ("other community", format!("?place={}", fx.comm2), "UFFFFAFA"),
        ("other street", format!("?place={}", fx.street2), "UFFFFFFA"),
    ] {
        r.add("GET /api/residency-requests", scope, expect, http(Method::GET, format!("/api/residency-requests{query}"), Body::None)).check = Some(check_requests);
    }
    // Refused for want of a reason first, which leaves the request pending; then approved by
    // the first decider in the order of `WHO`, and `conflict` for the later ones.
    for (scope, id, expect) in [
        ("own community", req.own, "UNNNPPNP"),
        ("other community", req.comm2, "UNNNNPNP"),
        ("other street", req.street2, "UNNNNNNP"),
    ] {
        r.add("POST /api/residency-requests/{id}/refuse", scope, expect, http(Method::POST, format!("/api/residency-requests/{id}/refuse"), Body::Json(json!({ "reason": "" }))));
        r.add("POST /api/residency-requests/{id}/approve", scope, expect, http(Method::POST, format!("/api/residency-requests/{id}/approve"), Body::None));
    }

    for (scope, account, expect) in [
        ("resident of the own community", fx.neighbour, "UNNNAANA"),
        ("building lead of the own grid", fx.ids[LEAD], "UNNFAANA"),
        ("the community's official", fx.ids[OFFICIAL], "UNNNFANA"),
        ("resident of the other community", fx.resident2, "UNNNNANA"),
        ("resident of another street", fx.lakeside, "UNNNNNNA"),
    ] {
        r.add("POST /api/accounts/{id}/reset-code", scope, expect, http(Method::POST, format!("/api/accounts/{account}/reset-code"), Body::None));
    }
    r.0
}

/// A listing holds only requests for buildings the caller decides: the own community's for an
/// official, the street's for its chief.
fn check_requests(fx: &Fx, who: usize, v: &Value) -> Result<(), String> {
    let Some(list) = v.as_array() else {
        return Err(format!("not a list: {v}"));
    };
    let riverside = [fx.grid.0, fx.grid2.0];
    for item in list {
        let grid = item["building"]["parent_id"].as_i64().unwrap_or_default();
        let decides = match who {
            ADMIN => true,
            OFFICIAL => riverside.contains(&grid),
            CHIEF => riverside.contains(&grid) || grid == fx.grid3.0,
            _ => false,
        };
        if !decides {
            return Err(format!("{} sees {item}", WHO[who]));
        }
    }
    Ok(())
}

#[tokio::test]
async fn residents_and_credentials_matrix() {
    let w = world().await;
    let store = w.app.state.store.clone();
    let orchard_building = store.children(w.fx.grid3).await.unwrap()[0].id;
    let lakeside_building = store.children(w.fx.grid4).await.unwrap()[0].id;
    let mut req = Requests::default();
    for (n, building) in [w.fx.building2, orchard_building, lakeside_building]
        .into_iter()
        .enumerate()
    {
        let applicant = store
            .insert_account(&format!("applicant{n}"), "申请人", "-")
            .await
            .unwrap();
        let id = store
            .insert_residency_request(applicant, building, 0)
            .await
            .unwrap();
        match n {
            0 => req.own = id,
            1 => req.comm2 = id,
            _ => req.street2 = id,
        }
    }
    let mut conns = connect_all(&w).await;
    let mut failures = Vec::new();
    let mut cells = 0;
    for row in credentials_rows(&w.fx, &req) {
        for (who, expected) in row.expect.chars().enumerate() {
            cells += 1;
            let (got, value) = match &row.op {
                Op::Http {
                    method,
                    path,
                    body,
                    fresh,
                } => run_http(&w, who, method, path, body, *fresh).await,
                Op::Ws(cmd) => run_ws(&w, &mut conns, who, cmd).await,
            };
            let mut wrong = (!matches(expected, got))
                .then(|| format!("expected {expected}, got {got}: {value}"));
            if wrong.is_none()
                && got == 'A'
                && let Some(check) = row.check
                && let Err(why) = check(&w.fx, who, &value)
            {
                wrong = Some(why);
            }
            if let Some(why) = wrong {
                failures.push(format!(
                    "{} [{}] as {}: {why}",
                    row.route, row.scope, WHO[who]
                ));
            }
        }
    }
    assert!(cells > 150, "the matrix shrank to {cells} cells");
    assert!(
        failures.is_empty(),
        "{} of {cells} cells broke the policy:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Each request was approved by its first decider.
    for (id, by) in [
        (req.own, w.fx.ids[OFFICIAL]),
        (req.comm2, w.fx.ids[CHIEF]),
        (req.street2, w.fx.ids[ADMIN]),
    ] {
        let row = store.residency_request(id).await.unwrap().unwrap();
        assert_eq!(row.decided_by, Some(by), "request {id}");
    }
}

// ---- managing places (PROTOCOL.md "Managing places") ----------------------------------------

/// The routes `places_management_matrix` covers, for the coverage check above.
fn place_admin_routes() -> [&'static str; 8] {
    [
        "GET /api/places",
        "POST /api/places",
        "PATCH /api/places/{id}",
        "POST /api/places/{id}/move",
        "POST /api/places/{id}/archive",
        "POST /api/places/{id}/restore",
        "POST /api/places/import",
        // Read as before; here with `archived=true`.
        "GET /api/places/{id}",
    ]
}

/// What a cell acts on: made afresh by the admin for each caller, so that one caller's
/// success leaves the next caller the same world.
#[derive(Clone, Copy)]
enum Fresh {
    /// Nothing: the cell names demo places only.
    None,
    /// A grid under this community.
    Grid(PlaceId),
    /// A building under this grid (archived first when `archived`).
    Building(PlaceId, bool),
    /// A community under this street.
    Community(PlaceId),
}

struct PlaceCell {
    route: &'static str,
    scope: &'static str,
    expect: &'static str,
    fresh: Fresh,
    /// Method, path (`{fresh}` stands for the fresh place's id) and JSON body.
    method: Method,
    path: String,
    body: Option<Value>,
}

/// Who may manage which places (admins everywhere; a street chief within his street, streets
/// excepted; a community official the compounds, grids and buildings of his community). A
/// place the caller may not see is `N`, as when reading it. Letters as in `WHO`; `R` is an
/// import answered 422 with its lines refused.
fn place_cells(fx: &Fx) -> Vec<PlaceCell> {
    let cell = |route, scope, expect, fresh, method, path: String, body| PlaceCell {
        route,
        scope,
        expect,
        fresh,
        method,
        path,
        body,
    };
    let create = |kind: &str, parent: Option<PlaceId>| {
        Some(json!({"kind": kind, "parent": parent, "name": "N", "name_zh": "{name}"}))
    };
    let rename = Some(json!({"name_zh": "{name}"}));
    vec![
        cell(
            "GET /api/places",
            "the streets one may see",
            "UAAAAAAA",
            Fresh::None,
            Method::GET,
            "/api/places".into(),
            None,
        ),
        cell(
            "GET /api/places/{id}",
            "own community, archived too",
            "UAAAAANA",
            Fresh::None,
            Method::GET,
            format!("/api/places/{}?archived=true", fx.comm),
            None,
        ),
        cell(
            "POST /api/places",
            "a street",
            "UFFFFFFA",
            Fresh::None,
            Method::POST,
            "/api/places".into(),
            create("street", None),
        ),
        cell(
            "POST /api/places",
            "a community in own street",
            "UFFFFANA",
            Fresh::None,
            Method::POST,
            "/api/places".into(),
            create("community", Some(fx.street)),
        ),
        cell(
            "POST /api/places",
            "a compound in own community",
            "UFFFAANA",
            Fresh::None,
            Method::POST,
            "/api/places".into(),
            create("compound", Some(fx.comm)),
        ),
        cell(
            "POST /api/places",
            "a grid in own community",
            "UFFFAANA",
            Fresh::None,
            Method::POST,
            "/api/places".into(),
            create("grid", Some(fx.comm)),
        ),
        cell(
            "POST /api/places",
            "a building in own grid",
            "UFFFAANA",
            Fresh::None,
            Method::POST,
            "/api/places".into(),
            create("building", Some(fx.grid)),
        ),
        cell(
            "POST /api/places",
            "a grid in another community",
            "UNNNNANA",
            Fresh::None,
            Method::POST,
            "/api/places".into(),
            create("grid", Some(fx.comm2)),
        ),
        cell(
            "POST /api/places",
            "a grid in another street",
            "UNNNNNNA",
            Fresh::None,
            Method::POST,
            "/api/places".into(),
            create("grid", Some(fx.comm3)),
        ),
        cell(
            "PATCH /api/places/{id}",
            "own street",
            "UFFFFFNA",
            Fresh::None,
            Method::PATCH,
            format!("/api/places/{}", fx.street),
            Some(json!({"name": "Hehe Street"})),
        ),
        cell(
            "PATCH /api/places/{id}",
            "own community",
            "UFFFFANA",
            Fresh::None,
            Method::PATCH,
            format!("/api/places/{}", fx.comm),
            Some(json!({"name": "Riverside"})),
        ),
        cell(
            "PATCH /api/places/{id}",
            "a new grid of own community",
            "UFNNAANA",
            Fresh::Grid(fx.comm),
            Method::PATCH,
            "/api/places/{fresh}".into(),
            rename.clone(),
        ),
        cell(
            "PATCH /api/places/{id}",
            "a new grid of another community",
            "UNNNNANA",
            Fresh::Grid(fx.comm2),
            Method::PATCH,
            "/api/places/{fresh}".into(),
            rename.clone(),
        ),
        cell(
            "PATCH /api/places/{id}",
            "a new grid of another street",
            "UNNNNNNA",
            Fresh::Grid(fx.comm3),
            Method::PATCH,
            "/api/places/{fresh}".into(),
            rename,
        ),
        cell(
            "POST /api/places/{id}/move",
            "a new building to the other grid of own community",
            "UFNNAANA",
            Fresh::Building(fx.grid, false),
            Method::POST,
            "/api/places/{fresh}/move".into(),
            Some(json!({"parent": fx.grid2})),
        ),
        cell(
            "POST /api/places/{id}/move",
            "a new building to another community",
            "UNNNNANA",
            Fresh::Building(fx.grid, false),
            Method::POST,
            "/api/places/{fresh}/move".into(),
            Some(json!({"parent": fx.grid3})),
        ),
        cell(
            "POST /api/places/{id}/move",
            "a new community to another street",
            "UNNNNNNA",
            Fresh::Community(fx.street),
            Method::POST,
            "/api/places/{fresh}/move".into(),
            Some(json!({"parent": fx.street2})),
        ),
        cell(
            "POST /api/places/{id}/move",
            "own community (not his kind to move)",
            "UFFFFPNA",
            Fresh::None,
            Method::POST,
            format!("/api/places/{}/move", fx.comm),
            Some(json!({"parent": fx.street})),
        ),
        cell(
            "POST /api/places/{id}/archive",
            "a new building in own grid",
            "UFNFAANA",
            Fresh::Building(fx.grid, false),
            Method::POST,
            "/api/places/{fresh}/archive".into(),
            None,
        ),
        cell(
            "POST /api/places/{id}/archive",
            "a new building in another community",
            "UNNNNANA",
            Fresh::Building(fx.grid3, false),
            Method::POST,
            "/api/places/{fresh}/archive".into(),
            None,
        ),
        cell(
            "POST /api/places/{id}/archive",
            "a new building in another street",
            "UNNNNNNA",
            Fresh::Building(fx.grid4, false),
            Method::POST,
            "/api/places/{fresh}/archive".into(),
            None,
        ),
        cell(
            "POST /api/places/{id}/restore",
            "an archived building in own grid",
            "UFNFAANA",
            Fresh::Building(fx.grid, true),
            Method::POST,
            "/api/places/{fresh}/restore".into(),
            None,
        ),
        cell(
            "POST /api/places/{id}/restore",
            "an archived building in another community",
            "UNNNNANA",
            Fresh::Building(fx.grid3, true),
            Method::POST,
            "/api/places/{fresh}/restore".into(),
            None,
        ),
        cell(
            "POST /api/places/import",
            "a dry run of own community's places",
            "UFFFAAFA",
            Fresh::None,
            Method::POST,
            "/api/places/import?dry_run=true".into(),
            None,
        ),
        cell(
            "POST /api/places/import",
            "a new building in another community",
            "UFFFRAFA",
            Fresh::None,
            Method::POST,
            "/api/places/import?dry_run=false".into(),
            None,
        ),
        cell(
            "POST /api/places/import",
            "a new building in another street",
            "UFFFRRFA",
            Fresh::None,
            Method::POST,
            "/api/places/import?dry_run=false".into(),
            None,
        ),
    ]
}

/// The CSV an import cell sends; `{name}` is a name of the caller's own.
fn place_csv(scope: &str) -> &'static str {
    match scope {
        "a dry run of own community's places" => {
            "street,community,grid,building\n和合街道,滨河社区,滨河社区第1网格,滨河社区1号楼\n"
        }
        "a new building in another community" => {
            "street,community,grid,building\n和合街道,果园社区,果园社区第1网格,{name}\n"
        }
        _ => "street,community,grid,building\n湖畔街道,湖畔社区,湖畔社区第1网格,{name}\n",
    }
}

#[tokio::test]
async fn places_management_matrix() {
    let w = world().await;
    let admin = w.tokens[ADMIN].clone();
    let mut failures = Vec::new();
    let mut cells = 0;
    for (n, row) in place_cells(&w.fx).into_iter().enumerate() {
        for (who, expected) in row.expect.chars().enumerate() {
            cells += 1;
            let name = format!("矩阵{n}-{who}");
            let fresh = match row.fresh {
                Fresh::None => None,
                Fresh::Grid(parent) => Some(("grid", parent, false)),
                Fresh::Building(parent, archived) => Some(("building", parent, archived)),
                Fresh::Community(parent) => Some(("community", parent, false)),
            };
            let mut path = row.path.clone();
            if let Some((kind, parent, archived)) = fresh {
                let body = json!({"kind": kind, "parent": parent, "name": "F", "name_zh": format!("{name}-f")});
                let made = call(&w, &admin, Method::POST, "/api/places", body).await;
                let id = made["id"].as_i64().unwrap();
                if archived {
                    call(
                        &w,
                        &admin,
                        Method::POST,
                        &format!("/api/places/{id}/archive"),
                        Value::Null,
                    )
                    .await;
                }
                path = path.replace("{fresh}", &id.to_string());
            }
            let mut req = w.web.request(
                row.method.clone(),
                format!("{}{path}", w.app.http.base_url()),
            );
            if who != ANON {
                req = req.bearer_auth(&w.tokens[who]);
            }
            req = if row.route == "POST /api/places/import" {
                req.header("content-type", "text/csv")
                    .body(place_csv(row.scope).replace("{name}", &name))
            } else if let Some(body) = &row.body {
                req.json(
                    &serde_json::from_str::<Value>(&body.to_string().replace("{name}", &name))
                        .unwrap(),
                )
            } else {
                req
            };
            let res = req.send().await.expect("a response");
            let status = res.status().as_u16();
            let value: Value = res.json().await.unwrap_or(Value::Null);
            let got = if status == 422 {
                'R'
            } else {
                letter_of_status(status)
            };
            if !matches(expected, got) {
                failures.push(format!(
                    "{} [{}] as {}: expected {expected}, got {got}: {value}",
                    row.route, row.scope, WHO[who]
                ));
            }
        }
    }
    assert!(cells > 150, "the matrix shrank to {cells} cells");
    assert!(
        failures.is_empty(),
        "{} of {cells} cells broke the policy:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---- enrolment (people helper) ---------------------------------------------------------------

/// Invites (roles.rs's rule for enrolment, domain::people): an admin invites anyone anywhere, a
/// street chief the roles below his own in his street, a community official grid workers,
/// building leads and residents in his community. Revoking follows who could have made the
/// invite; an invite one may not manage does not exist (`N`). The staff directory is for staff
/// on one line with the place and admins; the people search for staff and admins. `invites`:
/// pending invites for a grid worker of the own grid, of the other community's grid and of
/// another street's grid.
#[rustfmt::skip]
fn people_rows(fx: &Fx, invites: [i64; 3]) -> Vec<Row> {
    let mut r = Rows(Vec::new());
    let new = |role: &str, place: Option<PlaceId>| {
        Body::Json(json!({ "role": role, "place": place, "display_name": "受邀者" }))
    };
    for (scope, role, place, expect) in [
        ("a grid worker at the own grid", "grid_worker", Some(fx.grid), "UFFFAAFA"),
        ("a grid worker of the other community", "grid_worker", Some(fx.grid3), "UFFFFAFA"),
        ("a grid worker of another street", "grid_worker", Some(fx.grid4), "UFFFFFFA"),
        ("a resident of the own community", "resident", Some(fx.comm), "UFFFAAFA"),
        ("an official of the own community", "community_official", Some(fx.comm), "UFFFFAFA"),
        ("a chief of the own street", "street_chief", Some(fx.street), "UFFFFFFA"),
        ("ops, which takes no place", "ops", None, "UFFFFFFA"),
    ] {
        r.add("POST /api/invites", scope, expect, http(Method::POST, "/api/invites", new(role, place)));
    }
    for (scope, query, expect) in [
        ("all one manages", String::new(), "UFFFAAFA"),
        ("at the other community", format!("?place={}", fx.comm2), "UFFFNAFA"),
        ("at another street", format!("?place={}&state=pending", fx.street2), "UFFFNNFA"),
    ] {
        r.add("GET /api/invites", scope, expect, http(Method::GET, format!("/api/invites{query}"), Body::None));
    }
    // The first caller allowed revokes; those after find it revoked already (`C`).
    for ((scope, expect), id) in [
        ("an invite to the own grid", "UNNNACNC"),
        ("an invite to the other community", "UNNNNANC"),
        ("an invite to another street", "UNNNNNNA"),
    ].into_iter().zip(invites) {
        r.add("POST /api/invites/{id}/revoke", scope, expect, http(Method::POST, format!("/api/invites/{id}/revoke"), Body::None));
    }
    // The code is the credential: no token is needed, and none helps.
    let accept = json!({ "code": "not-a-code", "username": "whoever", "password": "long enough password" });
    r.add("POST /api/invites/accept", "an unknown code", "NNNNNNNN", http(Method::POST, "/api/invites/accept", Body::Json(accept)));
    // The gate only (a JSON body is no people file); the lines' scopes are `people_import_cells`.
    r.add("POST /api/people/import", "a file that is no CSV", "UFFFPPFP", http(Method::POST, "/api/people/import?dry_run=true", Body::Json(json!("not a file"))));
    for (scope, place, expect) in [
        ("own grid", fx.grid, "UFFAAANA"),
        ("own street", fx.street, "UFFAAANA"),
        ("other grid", fx.grid2, "UFNNAANA"),
        ("grid of the other community", fx.grid3, "UNNNNANA"),
        ("community of another street", fx.comm3, "UNNNNNNA"),
    ] {
        r.add("GET /api/places/{id}/staff", scope, expect, http(Method::GET, format!("/api/places/{place}/staff"), Body::None));
    }
    for (scope, query, expect) in [
        ("everyone one may find", String::new(), "UFFAAAFA"),
        ("at the other community", format!("?place={}", fx.comm2), "UFFNNAFA"),
        ("at another street", format!("?place={}", fx.street2), "UFFNNNFA"),
    ] {
        r.add("GET /api/people", scope, expect, http(Method::GET, format!("/api/people{query}"), Body::None)).check = Some(check_people);
    }
    r.0
}

/// The people search answers only people placed on one line with the caller's place, and
/// numbers in full only to staff over them.
fn check_people(fx: &Fx, who: usize, v: &Value) -> Result<(), String> {
    let people = v.as_array().ok_or("not a list")?;
    for person in people {
        let lakeside = person["id"].as_i64() == Some(fx.lakeside.0);
        if lakeside && who != ADMIN {
            return Err(format!("{} found Lakeside's resident", WHO[who]));
        }
    }
    Ok(())
}

/// People files as each caller imports them (dry runs): `A` every line passes, `F` the line is
/// refused as outside what the caller may enrol (or the caller may not import at all).
fn people_import_cells() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        (
            "a resident of the own community",
            "和合街道/滨河社区",
            "UFFFAAFA",
        ),
        (
            "a resident of the other community",
            "和合街道/果园社区",
            "UFFFFAFA",
        ),
        (
            "a resident of another street",
            "湖畔街道/湖畔社区",
            "UFFFFFFA",
        ),
        (
            "a worker of the own community",
            "和合街道/滨河社区/滨河社区第1网格",
            "UFFFAAFA",
        ),
        (
            "an official of the own community",
            "和合街道/滨河社区",
            "UFFFFAFA",
        ),
        ("a chief of the own street", "和合街道", "UFFFFFFA"),
    ]
}

#[tokio::test]
async fn people_enrolment_matrix() {
    let w = world().await;
    let admin = w.tokens[ADMIN].clone();
    let mut invites = [0i64; 3];
    for (slot, grid) in invites.iter_mut().zip([w.fx.grid, w.fx.grid3, w.fx.grid4]) {
        let body = json!({ "role": "grid_worker", "place": grid, "display_name": "待撤销" });
        let made = call(&w, &admin, Method::POST, "/api/invites", body).await;
        *slot = made["invite"]["id"].as_i64().expect("an invite id");
    }
    let mut failures = Vec::new();
    let mut cells = 0;
    for row in people_rows(&w.fx, invites) {
        let Op::Http {
            method,
            path,
            body,
            fresh,
        } = &row.op
        else {
            unreachable!("HTTP rows only")
        };
        for (who, expected) in row.expect.chars().enumerate() {
            cells += 1;
            let (got, value) = run_http(&w, who, method, path, body, *fresh).await;
            let mut wrong = (!matches(expected, got))
                .then(|| format!("expected {expected}, got {got}: {value}"));
            if wrong.is_none()
                && got == 'A'
                && let Some(check) = row.check
                && let Err(why) = check(&w.fx, who, &value)
            {
                wrong = Some(why);
            }
            if let Some(why) = wrong {
                failures.push(format!(
                    "{} [{}] as {}: {why}",
                    row.route, row.scope, WHO[who]
                ));
            }
        }
    }
    let role_of = |scope: &str| match scope {
        s if s.starts_with("a resident") => "resident",
        s if s.starts_with("a worker") => "grid_worker",
        s if s.starts_with("an official") => "community_official",
        _ => "street_chief",
    };
    for (n, (scope, place, expect)) in people_import_cells().into_iter().enumerate() {
        let file = format!(
            "name,phone,place,role\n受邀者,1380000{n:04},{place},{}\n",
            role_of(scope)
        );
        for (who, expected) in expect.chars().enumerate() {
            cells += 1;
            let mut req = w
                .web
                .post(format!(
                    "{}/api/people/import?dry_run=true",
                    w.app.http.base_url()
                ))
                .body(file.clone());
            if who != ANON {
                req = req.bearer_auth(&w.tokens[who]);
            }
            let res = req.send().await.expect("a response");
            let status = res.status().as_u16();
            let report: Value = res.json().await.unwrap_or(Value::Null);
            let refused = report["refused"].as_array().cloned().unwrap_or_default();
            let got = match (status, refused.first().and_then(|r| r["code"].as_str())) {
                (200, None) => 'A',
                (200, Some("role_not_allowed")) | (403, _) => 'F',
                (status, _) => letter_of_status(status),
            };
            if got != expected {
                failures.push(format!("POST /api/people/import [{scope}] as {}: expected {expected}, got {got}: {report}", WHO[who]));
            }
        }
    }
    assert!(cells > 200, "the matrix shrank to {cells} cells");
    assert!(
        failures.is_empty(),
        "{} of {cells} cells broke the policy:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
