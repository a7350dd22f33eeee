//! The issue loop over real sockets: from a resident's report to their rating, live.

use crate::helpers::*;
use hehe_client::{ClientError, Connection};
use hehe_protocol::issue::{
    IssueAction, IssueState, IssueSummary, IssueUpdate, Level, NewIssue, Priority, Satisfaction,
    Visibility,
};
use hehe_protocol::{Channel, ErrorCode, Event, IssueId, RequestId};

/// A minimal JPEG carrying an Exif segment with a GPS tag.
pub fn jpeg() -> Vec<u8> {
    fn segment(code: u8, payload: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, code];
        s.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        s.extend_from_slice(payload);
        s
    }
    [
        vec![0xFF, 0xD8],
        segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"),
        segment(0xE1, b"Exif\0\0MM\0*GPSLatitude 31.2304N"),
        segment(0xDB, &[[0u8].as_slice(), &[1u8; 64]].concat()),
        segment(0xC0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]),
        segment(
            0xC4,
            &[0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
        segment(0xDA, &[1, 1, 0x00, 0, 63, 0]),
        vec![0x12, 0x34, 0xFF, 0xD9],
    ]
    .concat()
}

pub fn report(app: &TestApp, category: &str) -> NewIssue {
    NewIssue {
        category: category.into(),
        title: "下水管漏水 Drain pipe leaking".into(),
        description: "The drain pipe behind building 1 leaks into the stairwell.".into(),
        place_id: app.demo.buildings[0],
        location: None,
        public: true,
        priority: None,
        on_behalf_of: None,
    }
}

pub fn update_of(event: &Event) -> IssueUpdate {
    serde_json::from_value(event.data.clone()).expect("an issue update")
}

/// The timeline kinds of the next `n` `issue.updated` events.
async fn kinds(conn: &mut Connection, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    while out.len() < n {
        let event = conn.next_event_timeout(WAIT).await.expect("an issue event");
        if event.kind == "issue.updated" {
            out.push(update_of(&event).event.expect("a timeline entry").kind);
        }
    }
    out
}

async fn act(conn: &mut Connection, id: IssueId, action: IssueAction) -> IssueSummary {
    conn.issue_action(id, action)
        .await
        .expect("the action is accepted")
}

#[tokio::test]
async fn the_whole_loop_live_from_report_to_rating() {
    let app = spawn_app().await;
    let mut resident = app.connect("resident").await;
    let mut worker = app.connect("worker").await;
    let mut official = app.connect("official").await;
    let mut chief = app.connect("chief").await;
    let worker_id = app.demo.account("worker");
    worker
        .subscribe(Channel::User(worker_id), None)
        .await
        .unwrap();
    let mut neighbour = app.connect("lead").await;
    neighbour
        .subscribe(Channel::Home(app.demo.communities[0]), None)
        .await
        .unwrap();

    let issue = resident
        .submit_issue(report(&app, "drainage"))
        .await
        .unwrap();
    assert_eq!(issue.state, IssueState::Submitted);
    assert_eq!(issue.priority, Priority::Yellow, "the category's default");
    assert!(issue.due_at.is_some(), "the accept clock runs");
    let id = issue.id;
    let channel = Channel::Issue(id);
    resident.subscribe(channel, None).await.unwrap();
    chief.subscribe(channel, None).await.unwrap();

    act(&mut official, id, IssueAction::Accept).await;
    act(
        &mut official,
        id,
        IssueAction::Dispatch {
            assignee: worker_id,
        },
    )
    .await;
    // The worker's inbox hears of the dispatch.
    let inbox = worker.next_event_timeout(WAIT).await.unwrap();
    assert_eq!(inbox.kind, "inbox.issue");
    assert_eq!(update_of(&inbox).issue.state, IssueState::Dispatched);
    worker.subscribe(channel, None).await.unwrap();

    act(&mut worker, id, IssueAction::Acknowledge).await;
    act(
        &mut worker,
        id,
        IssueAction::PostUpdate {
            text: "On site, digging.".into(),
            internal: false,
        },
    )
    .await;
    act(
        &mut worker,
        id,
        IssueAction::PostUpdate {
            text: "Pipe is older than the records say.".into(),
            internal: true,
        },
    )
    .await;
    // Completing a drainage job needs an after photo first.
    let err = worker
        .issue_action(id, IssueAction::Complete { note: None })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidRequest));
    let token = app.login("worker").await.access_token;
    let photo = app
        .http
        .upload_photo(&token, id, "after", jpeg(), false)
        .await
        .unwrap();
    act(
        &mut worker,
        id,
        IssueAction::Complete {
            note: Some("Pipe replaced.".into()),
        },
    )
    .await;
    act(&mut chief, id, IssueAction::VerifyOk).await;
    let closed = act(
        &mut resident,
        id,
        IssueAction::Rate {
            resolved: true,
            satisfaction: Some(Satisfaction::Satisfied),
            stars: Some(5),
            comment: None,
        },
    )
    .await;
    assert_eq!(closed.state, IssueState::Closed);
    assert_eq!(
        closed.closure_reason,
        Some(hehe_protocol::issue::ClosureReason::Fixed)
    );
    assert_eq!(closed.rated, Some(true));

    // Each saw each step, in order; the resident never saw the internal note.
    let public = [
        "accepted",
        "dispatched",
        "acknowledged",
        "update",
        "photo",
        "completed",
        "verified",
        "rated",
    ];
    assert_eq!(kinds(&mut resident, 8).await, public);
    let staff = [
        "accepted",
        "dispatched",
        "acknowledged",
        "update",
        "note",
        "photo",
        "completed",
        "verified",
        "rated",
    ];
    assert_eq!(kinds(&mut chief, 9).await, staff);
    assert_eq!(kinds(&mut worker, 7).await, &staff[2..]);
    assert!(
        resident.next_event_timeout(QUIET).await.is_err(),
        "nothing more, and no note"
    );

    // The community's home shows the public summary as it moves.
    let mut states = Vec::new();
    while let Ok(event) = neighbour.next_event_timeout(QUIET).await {
        assert_eq!(event.kind, "issue.summary");
        states.push(update_of(&event).issue.state);
    }
    assert_eq!(states.first(), Some(&IssueState::Submitted));
    assert_eq!(states.last(), Some(&IssueState::Closed));

    // The timeline keeps everything; residents read the public part.
    let resident_token = app.login("resident").await.access_token;
    let detail = app.http.issue(&resident_token, id).await.unwrap();
    assert!(
        detail
            .timeline
            .iter()
            .all(|e| e.visibility == Visibility::Public)
    );
    assert_eq!(
        detail.timeline.first().map(|e| e.kind.as_str()),
        Some("submitted")
    );
    assert_eq!(detail.photos.len(), 1);
    let chief_token = app.login("chief").await.access_token;
    let full = app.http.issue(&chief_token, id).await.unwrap();
    assert_eq!(full.timeline.len(), detail.timeline.len() + 1);
    let seqs: Vec<u32> = full.timeline.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=full.timeline.len() as u32).collect::<Vec<_>>());

    // The photo is served to those who see the issue, without its location.
    let (status, bytes) = app
        .http
        .get_bytes(&resident_token, &photo.url)
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(!bytes.windows(3).any(|w| w == b"GPS"), "location stripped");
    let outsider = app.login("lakeside").await.access_token;
    assert_eq!(
        app.http.get_bytes(&outsider, &photo.url).await.unwrap().0,
        404
    );
}

#[tokio::test]
async fn a_retried_submit_or_action_is_applied_once() {
    let app = spawn_app().await;
    let mut resident = app.connect("resident").await;
    let id = RequestId::parse("raise-1").unwrap();
    let first = resident
        .submit_issue_with_id(id.clone(), report(&app, "noise"))
        .await
        .unwrap();
    let mut again = app.connect("resident").await;
    let second = again
        .submit_issue_with_id(id, report(&app, "noise"))
        .await
        .unwrap();
    assert_eq!(first, second);
    let token = app.login("resident").await.access_token;
    let mine = app
        .http
        .issues(&token, &[("mine", "true".into())])
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);

    let mut official = app.connect("official").await;
    let accept = RequestId::parse("accept-1").unwrap();
    let a = official
        .issue_action_with_id(accept.clone(), first.id, IssueAction::Accept)
        .await
        .unwrap();
    let b = official
        .issue_action_with_id(accept, first.id, IssueAction::Accept)
        .await
        .unwrap();
    assert_eq!(a, b, "the same reply, not a conflict");
    let detail = app.http.issue(&token, first.id).await.unwrap();
    assert_eq!(
        detail
            .timeline
            .iter()
            .filter(|e| e.kind == "accepted")
            .count(),
        1
    );
}

#[tokio::test]
async fn refused_actions_change_nothing() {
    let app = spawn_app().await;
    let mut resident = app.connect("resident").await;
    let issue = resident.submit_issue(report(&app, "noise")).await.unwrap();
    let token = app.login("official").await.access_token;
    let before = app.http.issue(&token, issue.id).await.unwrap();

    // Wrong role, wrong state, missing reason.
    let err = resident
        .issue_action(issue.id, IssueAction::Accept)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Forbidden));
    let mut official = app.connect("official").await;
    let err = official
        .issue_action(issue.id, IssueAction::VerifyOk)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Conflict));
    let err = official
        .issue_action(
            issue.id,
            IssueAction::Reject {
                reason: "  ".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidRequest));
    let err = official
        .issue_action(
            issue.id,
            IssueAction::Dispatch {
                assignee: app.demo.account("resident2"),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Conflict), "not accepted yet");

    let after = app.http.issue(&token, issue.id).await.unwrap();
    assert_eq!(before, after);
}

/// One text rule (`domain::text`): a title is one line, a description may hold line breaks and
/// tabs. Titles took tabs and line breaks before the rule was one.
#[tokio::test]
async fn a_title_is_one_line_and_a_description_keeps_its_layout() {
    let app = spawn_app().await;
    let mut resident = app.connect("resident").await;
    for title in ["Drain\tleaking", "Drain\nleaking", "  ", "Drain\u{7}"] {
        let mut new = report(&app, "drainage");
        new.title = title.into();
        let err = resident.submit_issue(new).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::InvalidRequest), "{title:?}");
    }
    let mut new = report(&app, "drainage");
    new.description = "Where:\tbehind building 1\nSince:\tMonday".into();
    let issue = resident.submit_issue(new).await.unwrap();
    let token = app.login("official").await.access_token;
    let detail = app.http.issue(&token, issue.id).await.unwrap();
    assert_eq!(
        detail.description,
        "Where:\tbehind building 1\nSince:\tMonday"
    );
}

#[tokio::test]
async fn who_sees_which_issue() {
    let app = spawn_app().await;
    let mut resident = app.connect("resident").await;
    let public = resident.submit_issue(report(&app, "noise")).await.unwrap();
    let private = resident
        .submit_issue(NewIssue {
            public: false,
            ..report(&app, "elderly_care")
        })
        .await
        .unwrap();

    // A neighbour in the same community sees the public one only; another street sees neither.
    let lead = app.login("lead").await.access_token;
    assert!(app.http.issue(&lead, public.id).await.is_ok());
    let hidden = app.http.issue(&lead, private.id).await.unwrap_err();
    assert_eq!(hidden.code(), Some(ErrorCode::NotFound));
    let far = app.login("lakeside").await.access_token;
    assert_eq!(
        app.http.issue(&far, public.id).await.unwrap_err().code(),
        Some(ErrorCode::NotFound)
    );
    let mut far_conn = app.connect("lakeside").await;
    let err = far_conn
        .subscribe(Channel::Issue(public.id), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotFound));
    let err = far_conn
        .issue_action(public.id, IssueAction::Follow)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotFound));

    // Staff of the grid see both; the listing shows exactly what reading allows.
    let worker = app.login("worker").await.access_token;
    assert!(app.http.issue(&worker, private.id).await.is_ok());
    let listed = app
        .http
        .issues(&lead, &[("community", app.demo.communities[0].to_string())])
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|i| i.id).collect::<Vec<_>>(), [public.id]);
    let staff_list = app.http.issues(&worker, &[]).await.unwrap();
    assert_eq!(staff_list.len(), 2);
    assert!(app.http.issues(&far, &[]).await.unwrap().is_empty());

    // A follower of the public issue receives it in their list of "mine".
    let mut neighbour = app.connect("lead").await;
    neighbour
        .issue_action(public.id, IssueAction::Follow)
        .await
        .unwrap();
    let mine = app
        .http
        .issues(&lead, &[("mine", "true".into())])
        .await
        .unwrap();
    assert_eq!(mine.iter().map(|i| i.id).collect::<Vec<_>>(), [public.id]);
}

#[tokio::test]
async fn a_building_lead_raises_for_a_resident() {
    let app = spawn_app().await;
    let mut lead = app.connect("lead").await;
    let resident = app.demo.account("resident");
    let raised = lead
        .submit_issue(NewIssue {
            on_behalf_of: Some(resident),
            ..report(&app, "clutter")
        })
        .await
        .unwrap();
    let token = app.login("resident").await.access_token;
    let detail = app.http.issue(&token, raised.id).await.unwrap();
    assert_eq!(detail.reporter.map(|r| r.account_id), Some(resident));
    // Without someone to raise it for, a lead may not.
    let err = lead
        .submit_issue(report(&app, "clutter"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Forbidden));
    // Nobody raises in a community they have nothing to do with.
    let mut far = app.connect("lakeside").await;
    assert_eq!(
        far.submit_issue(report(&app, "noise"))
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::Forbidden)
    );
}

/// Takes an issue through to `awaiting_rating` with a category that needs no photo.
async fn to_rating(app: &TestApp, resident: &mut Connection) -> IssueSummary {
    let issue = resident.submit_issue(report(app, "noise")).await.unwrap();
    let mut official = app.connect("official").await;
    let mut worker = app.connect("worker").await;
    act(&mut official, issue.id, IssueAction::Accept).await;
    act(
        &mut official,
        issue.id,
        IssueAction::Dispatch {
            assignee: app.demo.account("worker"),
        },
    )
    .await;
    act(&mut worker, issue.id, IssueAction::Acknowledge).await;
    act(&mut worker, issue.id, IssueAction::Complete { note: None }).await
}

#[tokio::test]
async fn not_fixed_reopens_and_past_the_limit_escalates() {
    let app = spawn_app().await;
    let mut resident = app.connect("resident").await;
    let mut worker = app.connect("worker").await;
    let issue = to_rating(&app, &mut resident).await;
    assert_eq!(issue.state, IssueState::AwaitingRating);
    let not_fixed = || IssueAction::Rate {
        resolved: false,
        satisfaction: Some(Satisfaction::Unsatisfied),
        stars: Some(1),
        comment: Some("Still noisy every night.".into()),
    };
    let mut priority = issue.priority;
    for round in 1..=2 {
        let reopened = act(&mut resident, issue.id, not_fixed()).await;
        assert_eq!(reopened.state, IssueState::Dispatched);
        assert_eq!(reopened.reopen_count, round);
        assert!(reopened.priority > priority, "raised");
        assert_eq!(
            reopened.assignee.as_ref().map(|a| a.account_id),
            Some(app.demo.account("worker"))
        );
        priority = reopened.priority;
        act(&mut worker, issue.id, IssueAction::Acknowledge).await;
        act(&mut worker, issue.id, IssueAction::Complete { note: None }).await;
    }
    let escalated = act(&mut resident, issue.id, not_fixed()).await;
    assert_eq!(escalated.state, IssueState::Escalated);
    assert_eq!(escalated.level, Level::Community);
    assert_eq!(escalated.reopen_count, 3);
    // "Not fixed" without saying why is refused.
    let err = resident
        .issue_action(
            issue.id,
            IssueAction::Rate {
                resolved: false,
                satisfaction: None,
                stars: None,
                comment: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(ErrorCode::Conflict),
        "no longer awaiting a rating"
    );
}

#[tokio::test]
async fn merge_keeps_every_submission_and_the_reporter_follows() {
    let app = spawn_app().await;
    let mut resident = app.connect("resident").await;
    let mut worker = app.connect("worker").await;
    let original = resident
        .submit_issue(report(&app, "drainage"))
        .await
        .unwrap();
    let duplicate = worker.submit_issue(report(&app, "drainage")).await.unwrap();
    let mut official = app.connect("official").await;
    let merged = act(
        &mut official,
        duplicate.id,
        IssueAction::Merge { into: original.id },
    )
    .await;
    assert_eq!(merged.state, IssueState::Duplicate);
    assert_eq!(merged.duplicate_of, Some(original.id));
    // The second reporter now follows the issue theirs was merged into.
    let token = app.login("worker").await.access_token;
    let detail = app.http.issue(&token, original.id).await.unwrap();
    assert!(detail.following);
    assert_eq!(detail.issue.follower_count, 1);
    assert_eq!(detail.submissions, 2, "the merged report is kept");
    // Merging into a finished issue, or into itself, is refused.
    let third = resident
        .submit_issue(report(&app, "drainage"))
        .await
        .unwrap();
    let err = official
        .issue_action(third.id, IssueAction::Merge { into: third.id })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidRequest));
    let err = official
        .issue_action(third.id, IssueAction::Merge { into: duplicate.id })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidRequest));
}

#[tokio::test]
async fn photo_uploads_are_checked() {
    let app = spawn_app_with(|c| c.max_photo_bytes = 4096).await;
    let mut resident = app.connect("resident").await;
    let issue = resident
        .submit_issue(report(&app, "drainage"))
        .await
        .unwrap();
    let token = app.login("resident").await.access_token;
    // The reporter shows the problem, with the location kept when asked.
    let before = app
        .http
        .upload_photo(&token, issue.id, "before", jpeg(), true)
        .await
        .unwrap();
    let (_, bytes) = app.http.get_bytes(&token, &before.url).await.unwrap();
    assert!(bytes.windows(3).any(|w| w == b"GPS"), "kept on request");
    // Not a picture, too large, or the wrong person for an after photo.
    let err = app
        .http
        .upload_photo(&token, issue.id, "before", b"GIF89a....".to_vec(), false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidRequest));
    let big = [jpeg(), vec![0u8; 8192]].concat();
    let err = app
        .http
        .upload_photo(&token, issue.id, "before", big, false)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Api { status: 413, .. } | ClientError::Http(_)
        ),
        "{err:?}"
    );
    let err = app
        .http
        .upload_photo(&token, issue.id, "after", jpeg(), false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Forbidden));
    let far = app.login("lakeside").await.access_token;
    let err = app
        .http
        .upload_photo(&far, issue.id, "before", jpeg(), false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotFound));
}

#[tokio::test]
async fn nothing_is_lost_when_the_server_restarts_mid_loop() {
    let app = spawn_app().await;
    let mut resident = app.connect("resident").await;
    let mut official = app.connect("official").await;
    let issue = resident.submit_issue(report(&app, "noise")).await.unwrap();
    act(&mut official, issue.id, IssueAction::Accept).await;
    act(
        &mut official,
        issue.id,
        IssueAction::Dispatch {
            assignee: app.demo.account("worker"),
        },
    )
    .await;
    let token = app.login("official").await.access_token;
    let before = app.http.issue(&token, issue.id).await.unwrap();
    drop((resident, official));

    let app = restart(app).await;
    let after = app.http.issue(&token, issue.id).await.unwrap();
    assert_eq!(before, after, "state, timeline and deadlines survive");
    let mut worker = app.connect("worker").await;
    let acknowledged = act(&mut worker, issue.id, IssueAction::Acknowledge).await;
    assert_eq!(acknowledged.state, IssueState::InProgress);
    let mut resident = app.connect("resident").await;
    resident
        .subscribe(Channel::Issue(issue.id), None)
        .await
        .unwrap();
    act(&mut worker, issue.id, IssueAction::Complete { note: None }).await;
    assert_eq!(kinds(&mut resident, 1).await, ["completed"]);
}

#[tokio::test]
async fn similar_reports_are_suggested_and_me_too_joins_them() {
    let app = spawn_app().await;
    let mut resident = app.connect("resident").await;
    let here = hehe_protocol::issue::GeoPoint {
        lat: 31.2400,
        lon: 121.4900,
    };
    let original = resident
        .submit_issue(NewIssue {
            location: Some(here),
            ..report(&app, "drainage")
        })
        .await
        .unwrap();

    let token = app.login("lead").await.access_token;
    let query = |category: &str,
                 place: hehe_protocol::PlaceId,
                 near: Option<hehe_protocol::issue::GeoPoint>| {
        let mut q = format!("/api/issues/similar?category={category}&place_id={place}");
        if let Some(p) = near {
            q.push_str(&format!("&lat={}&lon={}", p.lat, p.lon));
        }
        q
    };
    let similar = |path: String| {
        let (http, token) = (app.http.clone(), token.clone());
        async move {
            let (status, body) = http.get_bytes(&token, &path).await.unwrap();
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
            serde_json::from_slice::<Vec<IssueSummary>>(&body)
                .unwrap()
                .into_iter()
                .map(|i| i.id)
                .collect::<Vec<_>>()
        }
    };
    // Same grid (another building in it), same category: suggested.
    assert_eq!(
        similar(query("drainage", app.demo.buildings[1], None)).await,
        [original.id]
    );
    // Another category, or another grid far away: not.
    assert!(
        similar(query("noise", app.demo.buildings[1], None))
            .await
            .is_empty()
    );
    assert!(
        similar(query("drainage", app.demo.grids[1], None))
            .await
            .is_empty()
    );
    // Another grid, but 50 m away: nearby.
    let close = hehe_protocol::issue::GeoPoint {
        lat: 31.2404,
        lon: 121.4901,
    };
    assert_eq!(
        similar(query("drainage", app.demo.grids[1], Some(close))).await,
        [original.id]
    );

    // "Me too" adds the neighbour's report and makes them follow.
    let mut lead = app.connect("lead").await;
    lead.issue_action(
        original.id,
        IssueAction::MeToo {
            note: Some("Our stairwell too.".into()),
        },
    )
    .await
    .unwrap();
    let detail = app.http.issue(&token, original.id).await.unwrap();
    assert_eq!(detail.submissions, 2);
    assert!(detail.following);
    assert!(detail.timeline.iter().any(|e| e.kind == "me_too"));
    // Once is enough.
    let err = lead
        .issue_action(original.id, IssueAction::MeToo { note: None })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidRequest));
    // Once is enough.
    let err = lead
        .issue_action(original.id, IssueAction::MeToo { note: None })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidRequest));
    // The reporter cannot second their own report; strangers cannot see it at all.
    let err = resident
        .issue_action(original.id, IssueAction::MeToo { note: None })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Forbidden));
    let mut stranger = app.connect("resident2").await;
    let err = stranger
        .issue_action(original.id, IssueAction::MeToo { note: None })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotFound));
}

/// Each person is told what they may do to the issue now, by the domain's rule, in detail,
/// listings and command replies alike; a client needs no rules of its own.
#[tokio::test]
async fn each_person_is_served_what_they_may_do_now() {
    use hehe_protocol::issue::IssueActionKind as K;
    let app = spawn_app().await;
    let people = ["resident", "official", "worker", "lead", "chief", "admin"];
    let mut tokens = std::collections::HashMap::new();
    for who in people {
        tokens.insert(who, app.login(who).await.access_token);
    }
    let allowed = |who: &'static str, id: IssueId| {
        let token = tokens[who].clone();
        let http = app.http.clone();
        async move {
            let detail = http.issue(&token, id).await.expect("the detail");
            let listed = http
                .issues(&token, &[])
                .await
                .expect("the listing")
                .into_iter()
                .find(|s| s.id == id)
                .expect("listed");
            assert_eq!(
                listed.allowed_actions, detail.issue.allowed_actions,
                "{who}: listing and detail agree"
            );
            detail.issue.allowed_actions.expect("allowed_actions")
        }
    };
    let mut resident = app.connect("resident").await;
    let submitted = resident
        .submit_issue(report(&app, "drainage"))
        .await
        .unwrap();
    let id = submitted.id;
    assert_eq!(
        submitted.allowed_actions,
        Some(vec![K::Withdraw]),
        "the reporter's reply: she may withdraw her issue (and hears of it without following)"
    );
    let officials = vec![
        K::PostUpdate,
        K::PostNote,
        K::Accept,
        K::Reject,
        K::Merge,
        K::Follow,
    ];
    let expected = [
        ("resident", vec![K::Withdraw]),
        ("official", officials.clone()),
        ("chief", officials.clone()),
        ("admin", officials),
        // Staff of the grid write internal notes; people of the community say "me too".
        ("worker", vec![K::PostNote, K::MeToo, K::Follow]),
        ("lead", vec![K::MeToo, K::Follow]),
    ];
    for (who, kinds) in expected {
        assert_eq!(allowed(who, id).await, kinds, "{who}, submitted");
    }

    let mut official = app.connect("official").await;
    act(&mut official, id, IssueAction::Accept).await;
    let dispatched = act(
        &mut official,
        id,
        IssueAction::Dispatch {
            assignee: app.demo.account("worker"),
        },
    )
    .await;
    assert_eq!(
        dispatched.allowed_actions,
        Some(vec![K::PostUpdate, K::PostNote, K::Escalate, K::Follow]),
        "the official's reply after dispatching"
    );
    let expected = [
        (
            "worker",
            vec![
                K::Acknowledge,
                K::PostUpdate,
                K::PostNote,
                K::Return,
                K::Escalate,
                K::MeToo,
                K::Follow,
            ],
        ),
        ("resident", vec![K::Withdraw]),
        ("lead", vec![K::MeToo, K::Follow]),
    ];
    for (who, kinds) in expected {
        assert_eq!(allowed(who, id).await, kinds, "{who}, dispatched");
    }

    // Following changes it at once; the live event on the issue's channel carries none.
    let mut lead = app.connect("lead").await;
    lead.subscribe(Channel::Issue(id), None).await.unwrap();
    let followed = act(&mut lead, id, IssueAction::Follow).await;
    assert_eq!(followed.allowed_actions, Some(vec![K::MeToo, K::Unfollow]));
    let mut worker = app.connect("worker").await;
    act(&mut worker, id, IssueAction::Acknowledge).await;
    let event = lead.next_event_timeout(WAIT).await.expect("an issue event");
    assert_eq!(update_of(&event).issue.allowed_actions, None);
    assert_eq!(
        allowed("worker", id).await,
        vec![
            K::PostUpdate,
            K::PostNote,
            K::Complete,
            K::Return,
            K::Escalate,
            K::MeToo,
            K::Follow,
        ],
        "worker, in progress"
    );
}
