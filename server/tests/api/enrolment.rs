//! Enrolment end to end: invites made, accepted (signed in), spent and refused; the people
//! import's dry run, application, idempotence and every refusal; the staff directory with its
//! load; the people search with its masking; signing in by phone number.

use crate::helpers::*;
use hehe_client::{ClientError, PeopleFilter};
use hehe_protocol::issue::{IssueAction, NewIssue};
use hehe_protocol::people::{AcceptInvite, InviteState, NewInvite, PeopleImportReport};
use hehe_protocol::{ErrorCode, PlaceId, RequestId, Role};

const PASSWORD: &str = "a long enough password";

fn invite(role: Role, place: PlaceId, phone: Option<&str>) -> NewInvite {
    NewInvite {
        role,
        place: Some(place),
        display_name: "新同事".into(),
        phone: phone.map(str::to_owned),
        email: None,
        romanised_name: Some("Xin Tongshi".into()),
    }
}

fn accept(code: &str, username: &str) -> AcceptInvite {
    AcceptInvite {
        code: code.into(),
        username: username.into(),
        password: PASSWORD.into(),
        display_name: None,
    }
}

/// The error code and HTTP status of a refusal.
fn refused<T: std::fmt::Debug>(result: Result<T, ClientError>) -> (ErrorCode, u16) {
    match result {
        Err(ClientError::Api { status, error }) => (error.code, status),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn request_id() -> RequestId {
    RequestId::parse(format!("t-{}", rand_suffix())).unwrap()
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    N.fetch_add(1, Ordering::Relaxed)
}

#[tokio::test]
async fn an_invite_is_accepted_signed_in_and_found_in_the_staff_directory_with_its_load() {
    let app = spawn_app().await;
    let official = app.login("official").await.access_token;
    let grid = app.demo.grids[0];
    let created = app
        .http
        .create_invite(
            &official,
            &invite(Role::GridWorker, grid, Some("139 0000 1111")),
        )
        .await
        .unwrap();
    assert_eq!(created.code.len(), 32);
    assert_eq!(created.link, format!("/#/invite/{}", created.code));
    let info = &created.invite;
    assert_eq!(
        (info.role, info.state),
        (Role::GridWorker, InviteState::Pending)
    );
    assert_eq!(info.place.as_ref().map(|p| p.id), Some(grid));
    assert_eq!(info.phone_masked.as_deref(), Some("+86139****1111"));
    assert!(info.expires_at - info.created_at >= 7 * 24 * 3600 * 1000 - 1000);

    // Listed for those who manage it, never with its code.
    let listed = app.http.invites(&official, None, None).await.unwrap();
    assert_eq!(listed.iter().map(|i| i.id).collect::<Vec<_>>(), [info.id]);
    let chief = app.login("chief").await.access_token;
    let pending = app
        .http
        .invites(&chief, Some(app.demo.street), Some(InviteState::Pending))
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    let lead = app.login("lead").await.access_token;
    assert_eq!(
        refused(app.http.invites(&lead, None, None).await).0,
        ErrorCode::Forbidden
    );

    // Accepting signs the person in with the invite's role; the code works once.
    let tokens = app
        .http
        .accept_invite(&accept(&created.code, "Xin.Worker"))
        .await
        .unwrap();
    assert_eq!(tokens.account.username, "xin.worker");
    assert_eq!(tokens.account.display_name, "新同事");
    assert_eq!(tokens.account.grants.len(), 1);
    assert_eq!(tokens.account.grants[0].role, Role::GridWorker);
    let me = app.http.me(&tokens.access_token).await.unwrap();
    assert_eq!(me.id, tokens.account.id);
    assert_eq!(
        refused(
            app.http
                .accept_invite(&accept(&created.code, "someone.else"))
                .await
        ),
        (ErrorCode::InviteUsed, 410)
    );
    let listed = app
        .http
        .invites(&official, None, Some(InviteState::Accepted))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);

    // Signing in by the number, in any spelling.
    for spelling in ["13900001111", "+86 139-0000-1111", "xin.worker"] {
        let again = app.http.login(spelling, PASSWORD).await.unwrap();
        assert_eq!(again.account.id, tokens.account.id, "{spelling}");
    }
    assert_eq!(
        refused(app.http.login("139 0000 1111", "wrong password!").await).0,
        ErrorCode::InvalidCredentials
    );

    // The directory: the demo worker gets an issue, so the newcomer (no load) comes first.
    let resident = app.login("resident").await.access_token;
    let issue = app
        .http
        .submit_issue(
            &resident,
            &request_id(),
            &NewIssue {
                category: "drainage".into(),
                title: "积水".into(),
                description: "楼下积水".into(),
                place_id: grid,
                location: None,
                public: true,
                priority: None,
                on_behalf_of: None,
            },
        )
        .await
        .unwrap();
    let worker = app.demo.account("worker");
    for action in [
        IssueAction::Accept,
        IssueAction::Dispatch { assignee: worker },
    ] {
        app.http
            .issue_action(&official, issue.id, &request_id(), &action)
            .await
            .unwrap();
    }
    let staff = app.http.staff(&official, grid).await.unwrap();
    let names: Vec<(&str, Role, u32)> = staff
        .iter()
        .map(|s| (s.display_name.as_str(), s.role, s.open_issues))
        .collect();
    assert_eq!(
        names,
        [
            ("Liu Yang 刘洋", Role::CommunityOfficial, 0),
            ("Zhou Hua 周华", Role::StreetChief, 0),
            ("新同事", Role::GridWorker, 0),
            ("Chen Jie 陈杰", Role::GridWorker, 1),
        ]
    );
    assert_eq!(staff[2].romanised_name.as_deref(), Some("Xin Tongshi"));
    assert_eq!(staff[2].place.id, grid);
    // Staff of the place read it; a resident does not; Lakeside is another street.
    app.http.staff(&tokens.access_token, grid).await.unwrap();
    assert_eq!(
        refused(app.http.staff(&resident, grid).await).0,
        ErrorCode::Forbidden
    );
    assert_eq!(
        refused(app.http.staff(&official, app.demo.other_community).await).0,
        ErrorCode::NotFound
    );

    // Audited: made by the official, accepted by the newcomer, granted on the official's word.
    let admin = app.login("admin").await.access_token;
    let (_, audit) = app.http.get_bytes(&admin, "/api/audit").await.unwrap();
    let audit: serde_json::Value = serde_json::from_slice(&audit).unwrap();
    let text = audit.to_string();
    for action in ["invite.create", "invite.accept", "grant.add"] {
        assert!(text.contains(action), "{action} in {text}");
    }
    assert!(!text.contains(&created.code), "the code is never audited");
    assert!(!text.contains("13900001111"), "nor the number");
}

#[tokio::test]
async fn spent_and_refused_invites_say_why() {
    let app = spawn_app_with(|c| c.invite_ttl_secs = 0).await;
    let official = app.login("official").await.access_token;
    let grid = app.demo.grids[0];
    // Expired at once.
    let expired = app
        .http
        .create_invite(&official, &invite(Role::GridWorker, grid, None))
        .await
        .unwrap();
    assert_eq!(expired.invite.state, InviteState::Expired);
    assert_eq!(
        refused(
            app.http
                .accept_invite(&accept(&expired.code, "late.comer"))
                .await
        ),
        (ErrorCode::InviteExpired, 410)
    );
    assert_eq!(
        refused(app.http.revoke_invite(&official, expired.invite.id).await).0,
        ErrorCode::Conflict
    );

    let app = spawn_app().await;
    let official = app.login("official").await.access_token;
    let chief = app.login("chief").await.access_token;
    let worker = app.login("worker").await.access_token;
    let d = &app.demo;
    // Revoked: the code stops working, and a revoke is done once.
    let revoked = app
        .http
        .create_invite(&official, &invite(Role::BuildingLead, d.buildings[1], None))
        .await
        .unwrap();
    let after = app
        .http
        .revoke_invite(&chief, revoked.invite.id)
        .await
        .unwrap();
    assert_eq!(after.state, InviteState::Revoked);
    assert_eq!(
        refused(
            app.http
                .accept_invite(&accept(&revoked.code, "too.late"))
                .await
        ),
        (ErrorCode::InviteRevoked, 410)
    );
    assert_eq!(
        refused(app.http.revoke_invite(&official, revoked.invite.id).await).0,
        ErrorCode::Conflict
    );
    // Nobody invites above or beside his own role, or outside his place.
    let cases = [
        (
            &official,
            Role::CommunityOfficial,
            d.communities[0],
            ErrorCode::Forbidden,
        ),
        (
            &official,
            Role::GridWorker,
            d.grids[2],
            ErrorCode::Forbidden,
        ),
        (
            &worker,
            Role::Resident,
            d.communities[0],
            ErrorCode::Forbidden,
        ),
        (&chief, Role::StreetChief, d.street, ErrorCode::Forbidden),
        (
            &chief,
            Role::Resident,
            d.other_community,
            ErrorCode::Forbidden,
        ),
        (
            &official,
            Role::GridWorker,
            d.buildings[0],
            ErrorCode::InvalidRequest,
        ),
    ];
    for (token, role, place, code) in cases {
        let got = app
            .http
            .create_invite(token, &invite(role, place, None))
            .await;
        assert_eq!(refused(got).0, code, "{role} at {place}");
    }
    // An official cannot revoke what he could not have made.
    let by_chief = app
        .http
        .create_invite(&chief, &invite(Role::Resident, d.communities[1], None))
        .await
        .unwrap();
    assert_eq!(
        refused(app.http.revoke_invite(&official, by_chief.invite.id).await).0,
        ErrorCode::NotFound
    );
    // Bad input: a number twice, a nonsense number, an unknown code, a bad username.
    let first = invite(Role::GridWorker, d.grids[0], Some("13700000001"));
    app.http.create_invite(&official, &first).await.unwrap();
    assert_eq!(
        refused(app.http.create_invite(&official, &first).await).0,
        ErrorCode::Conflict
    );
    let nonsense = invite(Role::GridWorker, d.grids[0], Some("12345"));
    let (code, _) = refused(app.http.create_invite(&official, &nonsense).await);
    assert_eq!(code, ErrorCode::InvalidRequest);
    assert_eq!(
        refused(
            app.http
                .accept_invite(&accept("no-such-code", "whoever"))
                .await
        ),
        (ErrorCode::NotFound, 404)
    );
    let (code, _) = refused(
        app.http
            .accept_invite(&accept(&by_chief.code, "王芳"))
            .await,
    );
    assert_eq!(code, ErrorCode::InvalidRequest);
    let taken = app
        .http
        .accept_invite(&accept(&by_chief.code, "resident"))
        .await;
    assert_eq!(refused(taken).0, ErrorCode::Conflict);
    // The refusals left the invite usable.
    app.http
        .accept_invite(&accept(&by_chief.code, "li.na"))
        .await
        .unwrap();
}

fn people_file(lines: &[&str]) -> String {
    let mut text = String::from("name,phone,place,role,romanised_name\n");
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    text
}

const BUILDING_1: &str = "和合街道/滨河社区/滨河社区第1网格/滨河社区1号楼";

#[tokio::test]
async fn a_people_file_is_checked_applied_and_applied_again_unchanged() {
    let app = spawn_app().await;
    let official = app.login("official").await.access_token;
    let d = &app.demo;
    let file = people_file(&[
        &format!("王小明,138 0000 0001,{BUILDING_1},resident,Wang Xiaoming"),
        &format!("李小红,13800000002,#{},居民,", d.buildings[1]),
        "赵网格,13800000003,和合街道/滨河社区/滨河社区第2网格,grid_worker,",
    ]);
    let dry = app
        .http
        .import_people(&official, file.clone(), true)
        .await
        .unwrap();
    assert!(dry.dry_run && !dry.applied, "{dry:?}");
    assert_eq!((dry.lines, dry.unchanged), (3, 0));
    assert!(dry.refused.is_empty(), "{:?}", dry.refused);
    let created: Vec<(u32, Role, PlaceId, bool)> = dry
        .created
        .iter()
        .map(|c| (c.line, c.role, c.place, c.invited))
        .collect();
    assert_eq!(
        created,
        [
            (2, Role::Resident, d.communities[0], false),
            (3, Role::Resident, d.communities[0], false),
            (4, Role::GridWorker, d.grids[1], true),
        ]
    );
    let search = |q: &str| PeopleFilter {
        q: Some(q.into()),
        ..PeopleFilter::default()
    };
    assert!(
        app.http
            .people(&official, &search("13800000001"))
            .await
            .unwrap()
            .is_empty()
    );

    let applied = app
        .http
        .import_people(&official, file.clone(), false)
        .await
        .unwrap();
    assert!(applied.applied && !applied.dry_run);
    assert_eq!(applied.created.len(), 3);
    assert!(
        !serde_json::to_string(&applied).unwrap().contains("invite/"),
        "no codes"
    );
    let found = app
        .http
        .people(&official, &search("13800000001"))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].display_name, "王小明");
    assert_eq!(found[0].romanised_name.as_deref(), Some("Wang Xiaoming"));
    assert_eq!(found[0].grants[0].role, Role::Resident);
    let invites = app
        .http
        .invites(&official, Some(d.grids[1]), None)
        .await
        .unwrap();
    assert_eq!(invites.len(), 1);
    assert_eq!(invites[0].phone_masked.as_deref(), Some("+86138****0003"));
    // No password is usable until the resident sets one.
    assert_eq!(
        refused(app.http.login("13800000001", "").await).0,
        ErrorCode::InvalidCredentials
    );
    assert_eq!(
        refused(app.http.login("p8613800000001", "!unset").await).0,
        ErrorCode::InvalidCredentials
    );

    let again = app
        .http
        .import_people(&official, file, false)
        .await
        .unwrap();
    assert!(again.applied);
    assert_eq!((again.created.len(), again.unchanged), (0, 3), "{again:?}");
}

#[tokio::test]
async fn every_refused_line_is_named_and_nothing_is_half_applied() {
    let app = spawn_app().await;
    let official = app.login("official").await.access_token;
    let chief = app.login("chief").await.access_token;
    let d = &app.demo;
    // Enrolled already: a resident of Orchard with this number.
    let orchard = people_file(&["孙小芳,13900000009,和合街道/果园社区,resident,"]);
    let first = app
        .http
        .import_people(&chief, orchard, false)
        .await
        .unwrap();
    assert!(first.applied && first.created.len() == 1, "{first:?}");

    let file = people_file(&[
        &format!("好人,13800000010,{BUILDING_1},resident,"),
        "少一列,13800000011,和合街道",
        "无名,13800000012,和合街道/滨河社区/没有这栋楼,resident,",
        &format!("重复,13800000010,{BUILDING_1},resident,"),
        &format!("别人,13900000009,{BUILDING_1},resident,"),
        "干部,13800000013,和合街道/滨河社区,community_official,",
        "邻居,13800000014,和合街道/果园社区,resident,",
        &format!(",13800000015,{BUILDING_1},resident,"),
        &format!("市长,13800000016,{BUILDING_1},mayor,"),
        "网格,13800000017,和合街道/滨河社区,grid_worker,",
        &format!("号码,12345,{BUILDING_1},resident,"),
        &format!("远方,13800000018,#{},resident,", d.other_community),
    ]);
    let report = app
        .http
        .import_people(&official, file.clone(), false)
        .await
        .unwrap();
    assert!(!report.applied && !report.dry_run);
    let codes: Vec<(u32, &str)> = report
        .refused
        .iter()
        .map(|r| (r.line, r.code.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            (3, "malformed_line"),
            (4, "unknown_place"),
            (5, "duplicate_phone"),
            (6, "phone_enrolled"),
            (7, "role_not_allowed"),
            (8, "role_not_allowed"),
            (9, "bad_name"),
            (10, "unknown_role"),
            (11, "wrong_place"),
            (12, "bad_phone"),
            (13, "role_not_allowed"),
        ]
    );
    assert!(
        report
            .refused
            .iter()
            .all(|r| r.message.contains(". ") || r.message.ends_with('.'))
    );
    assert!(report.refused[1].message.contains("没有这栋楼"));
    // The good line was not written.
    let search = PeopleFilter {
        q: Some("13800000010".into()),
        ..PeopleFilter::default()
    };
    assert!(
        app.http
            .people(&official, &search)
            .await
            .unwrap()
            .is_empty()
    );
    // Over HTTP the refusal is 422 with the report.
    let res = reqwest::Client::new()
        .post(format!(
            "{}/api/people/import?dry_run=false",
            app.http.base_url()
        ))
        .bearer_auth(&official)
        .body(file)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 422);
    let body: PeopleImportReport = res.json().await.unwrap();
    assert_eq!(body.refused.len(), 11);

    // An email address is one person's too.
    let with_email = |phone: &str| {
        format!("name,phone,place,role,email\n某人,{phone},{BUILDING_1},resident,Mou@X.cn\n")
    };
    let first = app
        .http
        .import_people(&official, with_email("13800000030"), false)
        .await;
    assert!(first.unwrap().applied);
    let second = app
        .http
        .import_people(&official, with_email("13800000031"), true)
        .await;
    let codes: Vec<String> = second
        .unwrap()
        .refused
        .into_iter()
        .map(|r| r.code)
        .collect();
    assert_eq!(codes, ["email_enrolled"]);

    // Whole-file refusals, and those who may not import at all.
    let bad_header = "name,phone,place\n王,13800000020,和合街道\n".to_owned();
    assert_eq!(
        refused(app.http.import_people(&official, bad_header, true).await).0,
        ErrorCode::InvalidRequest
    );
    let resident = app.login("resident").await.access_token;
    let good = people_file(&[&format!("好人,13800000010,{BUILDING_1},resident,")]);
    assert_eq!(
        refused(app.http.import_people(&resident, good.clone(), true).await).0,
        ErrorCode::Forbidden
    );
    let worker = app.login("worker").await.access_token;
    assert_eq!(
        refused(app.http.import_people(&worker, good, true).await).0,
        ErrorCode::Forbidden
    );
    let huge = "x".repeat(2 * 1024 * 1024);
    assert_eq!(
        refused(app.http.import_people(&official, huge, true).await),
        (ErrorCode::PayloadTooLarge, 413)
    );
}

#[tokio::test]
async fn phone_numbers_are_masked_but_for_staff_over_the_person() {
    let app = spawn_app().await;
    let chief = app.login("chief").await.access_token;
    let file = people_file(&[&format!("王小明,13800000001,{BUILDING_1},resident,")]);
    app.http.import_people(&chief, file, false).await.unwrap();
    let search = PeopleFilter {
        q: Some("王小明".into()),
        ..PeopleFilter::default()
    };
    for (who, phone) in [
        ("official", Some("+8613800000001")),
        ("chief", Some("+8613800000001")),
        ("admin", Some("+8613800000001")),
        // A grid worker finds the residents of his community, not their numbers.
        ("worker", Some("+86138****0001")),
        ("lakeside", None),
    ] {
        let token = app.login(who).await.access_token;
        let got = app.http.people(&token, &search).await;
        match phone {
            Some(phone) => {
                let found = got.unwrap();
                assert_eq!(found.len(), 1, "{who}");
                assert_eq!(found[0].phone.as_deref(), Some(phone), "{who}");
            }
            None => assert_eq!(refused(got).0, ErrorCode::Forbidden, "{who}"),
        }
    }
    // A resident searches nobody; an official of Orchard does not find Riverside's people.
    let resident = app.login("resident").await.access_token;
    assert_eq!(
        refused(app.http.people(&resident, &search).await).0,
        ErrorCode::Forbidden
    );
    let official = app.login("official").await.access_token;
    let orchard = PeopleFilter {
        place: Some(app.demo.communities[1]),
        ..PeopleFilter::default()
    };
    assert_eq!(
        refused(app.http.people(&official, &orchard).await).0,
        ErrorCode::NotFound
    );
    // Filters: by role and place, paged.
    let workers = PeopleFilter {
        role: Some(Role::GridWorker),
        place: Some(app.demo.communities[0]),
        ..PeopleFilter::default()
    };
    let found = app.http.people(&official, &workers).await.unwrap();
    assert_eq!(
        found
            .iter()
            .map(|p| p.username.as_str())
            .collect::<Vec<_>>(),
        ["worker"]
    );
    let page = PeopleFilter {
        limit: Some(1),
        ..PeopleFilter::default()
    };
    let first = app.http.people(&official, &page).await.unwrap();
    let next = PeopleFilter {
        before: Some(first[0].id.0),
        ..page
    };
    let second = app.http.people(&official, &next).await.unwrap();
    assert_eq!((first.len(), second.len()), (1, 1));
    assert!(second[0].id < first[0].id);
}

#[tokio::test]
async fn wrong_passwords_for_one_number_back_off_together_whatever_the_spelling() {
    let app = spawn_app_with(|c| {
        c.login_free_failures = 2;
        c.limits = hehe_server::infra::limits::LimitsConfig::off();
    })
    .await;
    let official = app.login("official").await.access_token;
    let created = app
        .http
        .create_invite(
            &official,
            &invite(Role::GridWorker, app.demo.grids[0], Some("13900002222")),
        )
        .await
        .unwrap();
    app.http
        .accept_invite(&accept(&created.code, "backoff"))
        .await
        .unwrap();
    for spelling in ["13900002222", "+86 139 0000 2222"] {
        let got = app.http.login(spelling, "not the password").await;
        assert_eq!(refused(got).0, ErrorCode::InvalidCredentials);
    }
    let got = app.http.login("139-0000-2222", PASSWORD).await;
    assert_eq!(refused(got).0, ErrorCode::RateLimited);
}
