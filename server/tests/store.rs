//! One store suite, run against SQLite (the embedded default) and PostgreSQL (scale-out).

mod common;

use common::TestDatabase;
use hehe_protocol::credentials::ResidencyState;
use hehe_protocol::http::PlaceKind;
use hehe_protocol::{AccountId, Channel, PlaceId, RequestId, Role};
use hehe_server::app::seed::seed_demo;
use hehe_server::domain::codes::{Recent, SendRefusal};
use hehe_server::domain::places::PlacePath;
use hehe_server::store::credentials::{Decision, NewCode, OFFICIAL_RESET, Signup};
use hehe_server::store::identity::{FirstAdmin, GrantChange, NewAudit, Outcome};
use hehe_server::store::people::{AuditContext, ImportRow, NewInviteRow, NewPerson, PeopleQuery};
use hehe_server::store::push::MAX_PER_ACCOUNT;
use hehe_server::store::{NewMessage, SqlStore, Store, StoreError};

async fn sqlite() -> (SqlStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
    (SqlStore::connect(&url, 4).await.unwrap(), dir)
}

/// Runs a suite function against both backends.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, _dir) = super::sqlite().await;
                    super::$name(&store).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(db) = super::TestDatabase::create().await else { return };
                    let store = super::SqlStore::connect(&db.url, 4).await.unwrap();
                    super::$name(&store).await;
                    store.close().await;
                }
            )*
        }
    };
}

both_backends!(
    places_resolve_to_paths,
    malformed_places_are_refused,
    accounts_and_grants,
    sessions_rotate_and_revoke,
    grant_changes_and_disabling_are_audited_with_them,
    messages_are_stored_once_per_request_id,
    messages_page_newest_first,
    meetings_know_their_place,
    a_room_command_is_remembered,
    the_demo_seeds_once,
    the_first_admin_is_created_once,
    codes_are_counted_checked_and_spent_once,
    sign_ups_and_residency_decisions_are_whole,
    invites_are_accepted_once_with_their_audit,
    a_people_import_is_written_whole_or_not_at_all,
    notifications_are_written_once_and_sent_by_one_node,
    push_subscriptions_are_upserted_capped_and_owned,
);

async fn places_resolve_to_paths(store: &dyn Store) {
    let street = store
        .insert_place(PlaceKind::Street, None, "S", "街")
        .await
        .unwrap();
    let community = store
        .insert_place(PlaceKind::Community, Some(street), "C", "社区")
        .await
        .unwrap();
    let grid = store
        .insert_place(PlaceKind::Grid, Some(community), "G", "网格")
        .await
        .unwrap();
    let building = store
        .insert_place(PlaceKind::Building, Some(grid), "B", "楼")
        .await
        .unwrap();

    assert_eq!(
        store.place_path(street).await.unwrap(),
        Some(PlacePath::street(street))
    );
    assert_eq!(
        store.place_path(community).await.unwrap(),
        Some(PlacePath::community(street, community))
    );
    assert_eq!(
        store.place_path(building).await.unwrap(),
        Some(PlacePath::building(street, community, grid, building))
    );
    assert_eq!(store.place_path(PlaceId(999_999)).await.unwrap(), None);

    let info = store.place(grid).await.unwrap().unwrap();
    assert_eq!(
        (info.kind, info.name.as_str(), info.name_zh.as_str()),
        (PlaceKind::Grid, "G", "网格")
    );
    assert_eq!(info.parent_id, Some(community));
}

async fn malformed_places_are_refused(store: &dyn Store) {
    let street = store
        .insert_place(PlaceKind::Street, None, "S", "街")
        .await
        .unwrap();
    // A street under a street, and a community with no parent, break the schema's rules.
    assert!(
        store
            .insert_place(PlaceKind::Street, Some(street), "S2", "街")
            .await
            .is_err()
    );
    assert!(
        store
            .insert_place(PlaceKind::Community, None, "C", "社区")
            .await
            .is_err()
    );
    // A building straight under a street is stored, but its path is refused as malformed.
    let odd = store
        .insert_place(PlaceKind::Building, Some(street), "B", "楼")
        .await
        .unwrap();
    assert!(matches!(
        store.place_path(odd).await,
        Err(StoreError::Corrupt(_))
    ));
}

async fn accounts_and_grants(store: &dyn Store) {
    let street = store
        .insert_place(PlaceKind::Street, None, "S", "街")
        .await
        .unwrap();
    let id = store
        .insert_account("wang", "Wang Fang 王芳", "hash")
        .await
        .unwrap();
    assert!(matches!(
        store.insert_account("wang", "Other", "h").await,
        Err(StoreError::Conflict(_))
    ));
    let row = store.account_by_username("wang").await.unwrap().unwrap();
    assert_eq!(
        (row.id, row.display_name.as_str(), row.disabled),
        (id, "Wang Fang 王芳", false)
    );
    assert_eq!(store.account(id).await.unwrap(), Some(row));
    assert_eq!(store.account_by_username("nobody").await.unwrap(), None);
    assert_eq!(store.account_count().await.unwrap(), 1);

    store
        .insert_grant(id, Role::StreetChief, Some(street))
        .await
        .unwrap();
    store.insert_grant(id, Role::Admin, None).await.unwrap();
    assert!(
        store.insert_grant(id, Role::Admin, None).await.is_err(),
        "a grant is held once"
    );
    assert!(
        store
            .insert_grant(id, Role::Ops, Some(street))
            .await
            .is_err(),
        "ops hold no scope"
    );
    assert!(
        store.insert_grant(id, Role::Resident, None).await.is_err(),
        "residents hold one"
    );
    let grants = store.grants(id).await.unwrap();
    assert_eq!(grants.len(), 2);
    assert_eq!(
        (grants[0].role, grants[0].place),
        (Role::StreetChief, Some(street))
    );
    assert_eq!((grants[1].role, grants[1].place), (Role::Admin, None));
}

async fn author(store: &dyn Store) -> AccountId {
    store
        .insert_account("official", "Liu Yang", "hash")
        .await
        .unwrap()
}

async fn messages_are_stored_once_per_request_id(store: &dyn Store) {
    let author = author(store).await;
    let channel = Channel::Home(PlaceId(3));
    let id = RequestId::parse("req-1").unwrap();
    let message = |text: &'static str, at| NewMessage {
        channel,
        author,
        author_role: Some(Role::CommunityOfficial),
        request_id: &id,
        text,
        at,
    };
    let first = store
        .insert_message(message("water off", 10))
        .await
        .unwrap();
    let again = store
        .insert_message(message("a different body", 20))
        .await
        .unwrap();
    assert_eq!(first, again, "a retry returns what was stored first");
    assert_eq!(first.text, "water off");
    assert_eq!(first.author_name, "Liu Yang");
    assert_eq!(first.author_role, Some(Role::CommunityOfficial));
    assert_eq!(store.messages(channel, None, 10).await.unwrap().len(), 1);
}

async fn messages_page_newest_first(store: &dyn Store) {
    let author = author(store).await;
    let channel = Channel::Street(PlaceId(1));
    let other = Channel::Street(PlaceId(2));
    let ids: Vec<RequestId> = (0..5)
        .map(|i| RequestId::parse(format!("r{i}")).unwrap())
        .collect();
    for (i, id) in ids.iter().enumerate() {
        let target = if i == 2 { other } else { channel };
        let text = format!("m{i}");
        store
            .insert_message(NewMessage {
                channel: target,
                author,
                author_role: None,
                request_id: id,
                text: &text,
                at: i as i64,
            })
            .await
            .unwrap();
    }
    let page = store.messages(channel, None, 2).await.unwrap();
    assert_eq!(
        page.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["m4", "m3"]
    );
    let rest = store.messages(channel, Some(page[1].id), 10).await.unwrap();
    assert_eq!(
        rest.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["m1", "m0"]
    );
    assert!(
        rest.iter()
            .all(|m| m.channel == channel && m.author_role.is_none())
    );
}

async fn meetings_know_their_place(store: &dyn Store) {
    let street = store
        .insert_place(PlaceKind::Street, None, "S", "街")
        .await
        .unwrap();
    let chair = author(store).await;
    let meeting = store
        .insert_meeting("hearing", "Drainage", street, chair, 5)
        .await
        .unwrap();
    assert_eq!(store.meeting_place(meeting).await.unwrap(), Some(street));
    assert_eq!(
        store
            .meeting_place(hehe_protocol::MeetingId(999_999))
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .insert_meeting("party", "Not a kind", street, chair, 5)
            .await
            .is_err()
    );
}

async fn a_room_command_is_remembered(store: &dyn Store) {
    use hehe_protocol::meeting::MeetingState;
    use hehe_server::domain::meeting::RoomEvent;
    use hehe_server::store::meetings::{RoomWrite, RoomWritten};
    let street = store
        .insert_place(PlaceKind::Street, None, "S", "街")
        .await
        .unwrap();
    let chair = author(store).await;
    let meeting = store
        .insert_meeting("hearing", "Drainage", street, chair, 5)
        .await
        .unwrap();
    let id = hehe_protocol::RequestId::parse("start-1").unwrap();
    assert_eq!(store.room_command(chair, &id).await.unwrap(), None);
    let before = store.meeting(meeting).await.unwrap().unwrap().last_seq;
    let write = RoomWrite {
        meeting,
        expected_last_seq: before,
        actor: Some(chair),
        events: &[RoomEvent::Started],
        state: MeetingState::Live,
        minutes: None,
        decision: None,
        ballot: None,
        command: Some((chair, &id)),
        cause: None,
        at: 1,
    };
    assert!(matches!(
        store.append_room(write).await.unwrap(),
        RoomWritten::Appended(_)
    ));
    assert_eq!(
        store.room_command(chair, &id).await.unwrap(),
        Some((meeting, before + 1))
    );
    let other = store.insert_account("li.wei", "李伟", "-").await.unwrap();
    assert_eq!(store.room_command(other, &id).await.unwrap(), None);
}

async fn the_demo_seeds_once(store: &dyn Store) {
    let demo = seed_demo(store, 1)
        .await
        .unwrap()
        .expect("an empty store is seeded");
    assert!(
        seed_demo(store, 2).await.unwrap().is_none(),
        "a seeded store is left alone"
    );
    assert_eq!(
        store.account_count().await.unwrap(),
        demo.accounts.len() as i64
    );
    let building = store.place_path(demo.buildings[7]).await.unwrap().unwrap();
    assert_eq!(building.street, demo.street);
    assert_eq!(building.community, Some(demo.communities[1]));
    assert_eq!(building.grid, Some(demo.grids[3]));
    let chief = store.grants(demo.account("chief")).await.unwrap();
    assert_eq!(
        (chief[0].role, chief[0].place),
        (Role::StreetChief, Some(demo.street))
    );
}

async fn sessions_rotate_and_revoke(store: &dyn Store) {
    let me = store.insert_account("me", "Me", "h").await.unwrap();
    let other = store.insert_account("other", "Other", "h").await.unwrap();
    store.create_session("s1", me, 1_000, 10_000).await.unwrap();
    store.create_session("s2", me, 1_000, 10_000).await.unwrap();
    store
        .create_session("s3", other, 1_000, 10_000)
        .await
        .unwrap();
    // A refresh token works once, for its own account, before the session expires.
    assert_eq!(
        store
            .rotate_session("s1", me, 0, 2_000, 20_000, 0)
            .await
            .unwrap(),
        Some(1)
    );
    assert_eq!(
        store
            .rotate_session("s1", me, 0, 2_000, 20_000, 0)
            .await
            .unwrap(),
        None
    );
    // Within the reuse window, the token just spent answers the current generation, once
    // more or many times, and moves nothing on; past it, it is spent for good.
    for _ in 0..2 {
        assert_eq!(
            store
                .rotate_session("s1", me, 0, 2_500, 20_000, 1_000)
                .await
                .unwrap(),
            Some(1)
        );
    }
    assert_eq!(
        store
            .rotate_session("s1", me, 0, 3_001, 20_000, 1_000)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .rotate_session("s1", other, 1, 2_000, 20_000, 0)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .rotate_session("s2", me, 0, 10_000, 20_000, 0)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .rotate_session("nope", me, 0, 2_000, 20_000, 0)
            .await
            .unwrap(),
        None
    );

    assert!(
        !store.revoke_session("s3", me, 3_000).await.unwrap(),
        "not mine"
    );
    assert!(store.revoke_session("s1", me, 3_000).await.unwrap());
    assert!(
        !store.revoke_session("s1", me, 3_100).await.unwrap(),
        "revoked already"
    );
    assert_eq!(
        store
            .rotate_session("s1", me, 1, 3_200, 20_000, 0)
            .await
            .unwrap(),
        None
    );
    let revoked = store.revoked_since(2_500).await.unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(
        (
            revoked[0].sid.as_str(),
            revoked[0].account,
            revoked[0].revoked_at
        ),
        ("s1", me, 3_000)
    );

    // Everywhere: the live sessions of the account, not the revoked or expired ones.
    store.create_session("s4", me, 4_000, 30_000).await.unwrap();
    let audit = NewAudit {
        at: 5_000,
        actor: me,
        action: "session.logout_everywhere".into(),
        target: format!("account:{}", me.0),
        place: None,
        street: None,
        detail: None,
        outcome: Outcome::Ok,
        request_id: None,
    };
    let mut gone = store
        .revoke_sessions(me, 15_000, Some(&audit))
        .await
        .unwrap();
    gone.sort();
    assert_eq!(gone, ["s4"], "s1 was revoked, s2 expired at 10 000");
    assert_eq!(store.revoked_since(0).await.unwrap().len(), 2);
    let log = store.audit_entries(None, None, 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].entry, audit);
    assert_eq!(
        store
            .rotate_session("s3", other, 0, 9_000, 40_000, 0)
            .await
            .unwrap(),
        Some(1)
    );

    // Rows go once their last refresh token expired.
    assert_eq!(store.prune_sessions(25_000).await.unwrap(), 2, "s1 and s2");
    assert_eq!(
        store.revoked_since(0).await.unwrap().len(),
        1,
        "s4 stays until 30 000"
    );
}

async fn grant_changes_and_disabling_are_audited_with_them(store: &dyn Store) {
    let street = store
        .insert_place(PlaceKind::Street, None, "S", "街")
        .await
        .unwrap();
    let other_street = store
        .insert_place(PlaceKind::Street, None, "T", "另一街")
        .await
        .unwrap();
    let community = store
        .insert_place(PlaceKind::Community, Some(street), "C", "社区")
        .await
        .unwrap();
    let admin = store.insert_account("admin", "A", "h").await.unwrap();
    let who = store.insert_account("who", "W", "h").await.unwrap();
    let entry = |action: &str, place: Option<PlaceId>, street: Option<PlaceId>| NewAudit {
        at: 1,
        actor: admin,
        action: action.into(),
        target: format!("account:{}", who.0),
        place,
        street,
        detail: Some("resident".into()),
        outcome: Outcome::Ok,
        request_id: Some("r-1".into()),
    };
    let change = |add| GrantChange {
        account: who,
        role: Role::Resident,
        place: Some(community),
        add,
    };
    let added = entry("grant.add", Some(community), Some(street));
    assert!(store.change_grant(change(true), &added).await.unwrap());
    assert!(
        !store.change_grant(change(true), &added).await.unwrap(),
        "held already"
    );
    assert_eq!(store.grants(who).await.unwrap().len(), 1);
    let removed = entry("grant.remove", Some(community), Some(street));
    assert!(store.change_grant(change(false), &removed).await.unwrap());
    assert!(
        !store.change_grant(change(false), &removed).await.unwrap(),
        "not held"
    );
    assert!(store.grants(who).await.unwrap().is_empty());
    let admin_grant = GrantChange {
        account: who,
        role: Role::Admin,
        place: None,
        add: true,
    };
    assert!(
        store
            .change_grant(admin_grant, &entry("grant.add", None, None))
            .await
            .unwrap()
    );
    let take_back = GrantChange {
        add: false,
        ..admin_grant
    };
    assert!(
        store
            .change_grant(take_back, &entry("grant.remove", None, None))
            .await
            .unwrap()
    );

    assert!(
        store
            .set_disabled(who, true, &entry("account.disable", None, None))
            .await
            .unwrap()
    );
    assert!(store.account(who).await.unwrap().unwrap().disabled);
    assert!(
        !store
            .set_disabled(who, true, &entry("account.disable", None, None))
            .await
            .unwrap()
    );
    assert!(
        store
            .set_disabled(who, false, &entry("account.enable", None, None))
            .await
            .unwrap()
    );
    let denied = NewAudit {
        outcome: Outcome::Denied,
        ..entry("grant.add", Some(other_street), Some(other_street))
    };
    store.insert_audit(&denied).await.unwrap();

    // Only what changed was logged, in one transaction with the change; newest first, paged.
    let all = store.audit_entries(None, None, 100).await.unwrap();
    let names: Vec<&str> = all.iter().map(|r| r.entry.action.as_str()).collect();
    assert_eq!(
        names,
        [
            "grant.add",
            "account.enable",
            "account.disable",
            "grant.remove",
            "grant.add",
            "grant.remove",
            "grant.add"
        ]
    );
    assert_eq!(all[0].entry, denied);
    assert_eq!(all[6].entry, added);
    let page = store.audit_entries(None, Some(all[1].id), 2).await.unwrap();
    assert_eq!(
        page.iter().map(|r| r.id).collect::<Vec<_>>(),
        [all[2].id, all[3].id]
    );
    let streets = store.audit_entries(Some(street), None, 100).await.unwrap();
    assert_eq!(streets.len(), 2);
    assert!(streets.iter().all(|r| r.entry.street == Some(street)));
}

async fn the_first_admin_is_created_once(store: &dyn Store) {
    let first = |username| FirstAdmin {
        username,
        display_name: "管理员",
        password_hash: "hash",
        at: 1_000,
    };
    // A resident of the same name is no admin, and takes nothing away.
    let resident = store.insert_account("li", "Li", "h").await.unwrap();
    assert!(matches!(
        store.create_first_admin(first("li")).await,
        Err(StoreError::Conflict(_))
    ));
    let admin = store
        .create_first_admin(first("admin"))
        .await
        .unwrap()
        .expect("the first admin");
    assert_ne!(admin, resident);
    let grants = store.grants(admin).await.unwrap();
    assert_eq!(
        (grants.len(), grants[0].role, grants[0].place),
        (1, Role::Admin, None)
    );
    assert_eq!(
        store.create_first_admin(first("second")).await.unwrap(),
        None,
        "refused once an admin exists"
    );
    assert_eq!(store.account_by_username("second").await.unwrap(), None);
    let log = store.audit_entries(None, None, 10).await.unwrap();
    assert_eq!(log.len(), 1, "the creation only");
    let entry = &log[0].entry;
    assert_eq!(
        (
            entry.actor,
            entry.action.as_str(),
            entry.target.clone(),
            entry.at
        ),
        (
            admin,
            "account.first_admin",
            format!("account:{}", admin.0),
            1_000
        )
    );
}

fn code<'a>(purpose: &'a str, phone: Option<&'a str>, at: i64, client: &'a str) -> NewCode<'a> {
    NewCode {
        purpose,
        phone,
        account: None,
        salt: "salt",
        code_hash: "hash",
        created_at: at,
        expires_at: at + 600_000,
        sent: true,
        client_key: Some(client),
        created_by: None,
    }
}

async fn codes_are_counted_checked_and_spent_once(store: &dyn Store) {
    const PHONE: &str = "+8613812345678";
    let seen = std::sync::Mutex::new(Vec::new());
    let record = |r: Recent| {
        seen.lock().unwrap().push(r);
        Ok(())
    };
    let first = store
        .insert_code_if(code("signup", Some(PHONE), 1_000, "addr-a"), 0, &record)
        .await
        .unwrap()
        .unwrap();
    store
        .insert_code_if(code("reset", Some(PHONE), 2_000, "addr-b"), 0, &record)
        .await
        .unwrap()
        .unwrap();
    store
        .insert_code_if(
            code("signup", Some("+8613900000000"), 3_000, "addr-a"),
            0,
            &record,
        )
        .await
        .unwrap()
        .unwrap();
    let last = store
        .insert_code_if(code("signup", Some(PHONE), 4_000, "addr-a"), 1_500, &record)
        .await
        .unwrap()
        .unwrap();
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen[0], Recent::default());
    assert_eq!(
        seen[1],
        Recent {
            last_same: None,
            number: 1,
            number_oldest: Some(1_000),
            address: 0,
            address_oldest: None
        }
    );
    assert_eq!(
        seen[2],
        Recent {
            last_same: None,
            number: 0,
            number_oldest: None,
            address: 1,
            address_oldest: Some(1_000)
        }
    );
    // Only what is newer than `since` counts.
    assert_eq!(
        seen[3],
        Recent {
            last_same: None,
            number: 1,
            number_oldest: Some(2_000),
            address: 1,
            address_oldest: Some(3_000)
        }
    );
    // A refusal stores nothing.
    let refuse = |_| Err(SendRefusal::TooSoon { retry_after_ms: 5 });
    assert_eq!(
        store
            .insert_code_if(code("signup", Some(PHONE), 5_000, "addr-a"), 0, &refuse)
            .await
            .unwrap(),
        Err(SendRefusal::TooSoon { retry_after_ms: 5 })
    );
    let latest = store.latest_code("signup", PHONE).await.unwrap().unwrap();
    assert_eq!((latest.id, latest.attempts, latest.used), (last, 0, false));
    assert_ne!(first, last);
    assert_eq!(store.latest_code("signup", "+441234").await.unwrap(), None);
    assert_eq!(store.code_failed(last).await.unwrap(), 1);
    assert_eq!(store.code_failed(last).await.unwrap(), 2);
    assert_eq!(
        store
            .latest_code("signup", PHONE)
            .await
            .unwrap()
            .unwrap()
            .attempts,
        2
    );

    // An official's reset code voids the one before, with its audit entry.
    let admin = store.insert_account("admin", "A", "h").await.unwrap();
    let who = store.insert_account("who", "W", "old").await.unwrap();
    let audit = NewAudit {
        at: 10,
        actor: admin,
        action: "account.reset_code".into(),
        target: format!("account:{}", who.0),
        place: None,
        street: None,
        detail: None,
        outcome: Outcome::Ok,
        request_id: None,
    };
    let official = |at| NewCode {
        purpose: OFFICIAL_RESET,
        phone: None,
        account: Some(who),
        created_by: Some(admin),
        client_key: None,
        sent: false,
        ..code(OFFICIAL_RESET, None, at, "")
    };
    let old = store.insert_reset_code(official(10), &audit).await.unwrap();
    let new = store.insert_reset_code(official(20), &audit).await.unwrap();
    let row = store.latest_reset_code(who).await.unwrap().unwrap();
    assert_eq!((row.id, row.used), (new, false));
    assert_ne!(old, new);
    let entries = store.audit_entries(None, None, 10).await.unwrap();
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.entry.action == "account.reset_code")
            .count(),
        2
    );

    // Resetting spends the code once and ends every session.
    store
        .create_session("s1", who, 1, i64::MAX / 2)
        .await
        .unwrap();
    store
        .create_session("s2", who, 1, i64::MAX / 2)
        .await
        .unwrap();
    let reset = NewAudit {
        actor: who,
        action: "password.reset".into(),
        ..audit.clone()
    };
    let mut sids = store
        .reset_password(new, who, "new", 100, &reset)
        .await
        .unwrap()
        .unwrap();
    sids.sort();
    assert_eq!(sids, ["s1", "s2"]);
    assert_eq!(
        store.account(who).await.unwrap().unwrap().password_hash,
        "new"
    );
    assert_eq!(
        store
            .reset_password(new, who, "again", 100, &reset)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.account(who).await.unwrap().unwrap().password_hash,
        "new"
    );
    assert!(store.latest_reset_code(who).await.unwrap().unwrap().used);

    // Changing keeps the session named.
    store
        .create_session("s3", who, 200, i64::MAX / 2)
        .await
        .unwrap();
    store
        .create_session("s4", who, 200, i64::MAX / 2)
        .await
        .unwrap();
    let change = NewAudit {
        action: "password.change".into(),
        ..reset.clone()
    };
    let sids = store
        .change_password(who, "newer", "s3", 300, &change)
        .await
        .unwrap();
    assert_eq!(sids, ["s4"]);
    let revoked: Vec<String> = store
        .revoked_since(0)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.sid)
        .collect();
    assert!(!revoked.contains(&"s3".to_owned()) && revoked.contains(&"s4".to_owned()));

    // A profile changes field by field.
    store
        .update_profile(who, Some("王五"), Some(Some("Wang Wu")))
        .await
        .unwrap();
    store.update_profile(who, None, None).await.unwrap();
    let row = store.account(who).await.unwrap().unwrap();
    assert_eq!(
        (row.display_name.as_str(), row.romanised_name.as_deref()),
        ("王五", Some("Wang Wu"))
    );
    store.update_profile(who, None, Some(None)).await.unwrap();
    assert_eq!(
        store.account(who).await.unwrap().unwrap().romanised_name,
        None
    );
}

async fn sign_ups_and_residency_decisions_are_whole(store: &dyn Store) {
    let street = store
        .insert_place(PlaceKind::Street, None, "S", "街")
        .await
        .unwrap();
    let c1 = store
        .insert_place(PlaceKind::Community, Some(street), "C1", "一社区")
        .await
        .unwrap();
    let c2 = store
        .insert_place(PlaceKind::Community, Some(street), "C2", "二社区")
        .await
        .unwrap();
    let g1 = store
        .insert_place(PlaceKind::Grid, Some(c1), "G1", "一网格")
        .await
        .unwrap();
    let g2 = store
        .insert_place(PlaceKind::Grid, Some(c2), "G2", "二网格")
        .await
        .unwrap();
    let b1 = store
        .insert_place(PlaceKind::Building, Some(g1), "B1", "1栋")
        .await
        .unwrap();
    let b2 = store
        .insert_place(PlaceKind::Building, Some(g2), "B2", "2栋")
        .await
        .unwrap();
    let official = store.insert_account("official", "O", "h").await.unwrap();
    const PHONE: &str = "+8613812345678";
    let allow = |_| Ok(());
    let code_id = store
        .insert_code_if(code("signup", Some(PHONE), 1, "a"), 0, &allow)
        .await
        .unwrap()
        .unwrap();
    let signup = Signup {
        code: code_id,
        username: "r-abc",
        display_name: "王芳",
        romanised_name: Some("Wang Fang"),
        phone: PHONE,
        password_hash: "hash",
        building: b1,
        at: 5,
    };
    let (account, request) = store.sign_up(signup).await.unwrap().unwrap();
    assert_eq!(
        store.sign_up(signup).await.unwrap(),
        None,
        "the code is spent"
    );
    let row = store.account_by_phone(PHONE).await.unwrap().unwrap();
    assert_eq!(
        (row.id, row.romanised_name.as_deref()),
        (account, Some("Wang Fang"))
    );
    assert_eq!(
        store.account_by_phone("+8613900000000").await.unwrap(),
        None
    );
    assert!(
        store.grants(account).await.unwrap().is_empty(),
        "no role until approved"
    );

    // The number is taken: nothing of a second sign-up stays, its code included.
    let again = store
        .insert_code_if(code("signup", Some(PHONE), 2, "a"), 0, &allow)
        .await
        .unwrap()
        .unwrap();
    let taken = Signup {
        code: again,
        username: "r-def",
        ..signup
    };
    assert!(matches!(
        store.sign_up(taken).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        !store
            .latest_code("signup", PHONE)
            .await
            .unwrap()
            .unwrap()
            .used
    );
    assert!(store.account_by_username("r-def").await.unwrap().is_none());

    let pending = store.residency_request(request).await.unwrap().unwrap();
    assert_eq!(
        (
            pending.account,
            pending.building,
            pending.state,
            pending.phone.as_deref()
        ),
        (account, b1, ResidencyState::Pending, Some(PHONE))
    );
    assert_eq!(pending.display_name, "王芳");
    assert!(
        matches!(
            store.insert_residency_request(account, b2, 6).await,
            Err(StoreError::Conflict(_))
        ),
        "one pending request at a time"
    );

    let audit = |action: &str| NewAudit {
        at: 7,
        actor: official,
        action: action.into(),
        target: format!("account:{}", account.0),
        place: Some(b1),
        street: Some(street),
        detail: Some(format!("request:{request}")),
        outcome: Outcome::Ok,
        request_id: None,
    };
    let approve = Decision {
        request,
        approve: true,
        reason: None,
        by: official,
        at: 7,
        grant: Some((account, c1)),
        ungrant: vec![],
    };
    assert!(
        store
            .decide_residency(&approve, &audit("residency.approve"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .decide_residency(&approve, &audit("residency.approve"))
            .await
            .unwrap(),
        "decided once"
    );
    let grants = store.grants(account).await.unwrap();
    assert_eq!(
        (grants.len(), grants[0].role, grants[0].place),
        (1, Role::Resident, Some(c1))
    );
    let decided = store.residency_request(request).await.unwrap().unwrap();
    assert_eq!(
        (decided.state, decided.decided_at, decided.decided_by),
        (ResidencyState::Approved, Some(7), Some(official))
    );
    let actions: Vec<String> = store
        .audit_entries(None, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entry.action)
        .collect();
    assert_eq!(actions, ["residency.approve"]);

    // A move: refused once with a reason, then approved in place of the old home.
    let refused = store
        .insert_residency_request(account, b2, 8)
        .await
        .unwrap();
    let refuse = Decision {
        request: refused,
        approve: false,
        reason: Some("请提供租约".into()),
        grant: None,
        ungrant: vec![],
        ..approve.clone()
    };
    assert!(
        store
            .decide_residency(&refuse, &audit("residency.refuse"))
            .await
            .unwrap()
    );
    let row = store.residency_request(refused).await.unwrap().unwrap();
    assert_eq!(
        (row.state, row.reason.as_deref()),
        (ResidencyState::Refused, Some("请提供租约"))
    );
    let moved = store
        .insert_residency_request(account, b2, 9)
        .await
        .unwrap();
    let approve_move = Decision {
        request: moved,
        grant: Some((account, c2)),
        ungrant: vec![c1],
        ..approve.clone()
    };
    assert!(
        store
            .decide_residency(&approve_move, &audit("residency.approve"))
            .await
            .unwrap()
    );
    let grants = store.grants(account).await.unwrap();
    assert_eq!((grants.len(), grants[0].place), (1, Some(c2)));

    let all = store.residency_requests(None, None, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        [moved, refused, request]
    );
    let refused_only = store
        .residency_requests(Some(ResidencyState::Refused), None, 10)
        .await
        .unwrap();
    assert_eq!(refused_only.len(), 1);
    let mine = store
        .residency_requests(None, Some(account), 1)
        .await
        .unwrap();
    assert_eq!(mine[0].id, moved);
    assert!(
        store
            .residency_requests(None, Some(official), 10)
            .await
            .unwrap()
            .is_empty()
    );
}
/// Managing the place tree, and migration 0008 on data written before it.
#[path = "store/places.rs"]
mod places;

/// A street with one community, grid and building; answers (street, community, grid, building).
async fn small_tree(store: &dyn Store) -> (PlaceId, PlaceId, PlaceId, PlaceId) {
    let street = store
        .insert_place(PlaceKind::Street, None, "S", "东湖街道")
        .await
        .unwrap();
    let community = store
        .insert_place(PlaceKind::Community, Some(street), "C", "桂花社区")
        .await
        .unwrap();
    let grid = store
        .insert_place(PlaceKind::Grid, Some(community), "G", "一网格")
        .await
        .unwrap();
    let building = store
        .insert_place(PlaceKind::Building, Some(grid), "B", "3栋")
        .await
        .unwrap();
    (street, community, grid, building)
}

fn invite<'a>(
    hash: &'a str,
    phone: Option<&'a str>,
    grid: PlaceId,
    by: AccountId,
) -> NewInviteRow<'a> {
    NewInviteRow {
        code_hash: hash,
        role: Role::GridWorker,
        place: Some(grid),
        display_name: "陈杰",
        romanised_name: Some("Chen Jie"),
        phone,
        email: Some("chen@example.cn"),
        invited_by: by,
        created_at: 100,
        expires_at: 1_000,
    }
}

fn person<'a>(
    username: &'a str,
    phone: Option<&'a str>,
    role: Role,
    place: PlaceId,
) -> NewPerson<'a> {
    NewPerson {
        username,
        display_name: "陈杰",
        romanised_name: None,
        phone,
        email: None,
        password_hash: "$argon2id$stand-in",
        role,
        place: Some(place),
    }
}

async fn invites_are_accepted_once_with_their_audit(store: &dyn Store) {
    let (street, _, grid, _) = small_tree(store).await;
    let chief = store.insert_account("chief", "周华", "h").await.unwrap();
    let audit = NewAudit {
        at: 100,
        actor: chief,
        action: "invite.create".into(),
        target: String::new(),
        place: Some(grid),
        street: Some(street),
        detail: Some("grid_worker".into()),
        outcome: Outcome::Ok,
        request_id: None,
    };
    let phone = "+8613900000000";
    let id = store
        .create_invite(&invite("h1", Some(phone), grid, chief), &audit)
        .await
        .unwrap();
    let row = store.invite_by_code("h1").await.unwrap().unwrap();
    assert_eq!(
        (row.id, row.role, row.place),
        (id, Role::GridWorker, Some(grid))
    );
    assert_eq!(row.phone.as_deref(), Some(phone));
    assert_eq!(store.invite(id).await.unwrap(), Some(row.clone()));
    assert_eq!(store.invite_by_code("h2").await.unwrap(), None);
    assert_eq!(
        store
            .pending_invite_by_phone(phone, 999)
            .await
            .unwrap()
            .map(|i| i.id),
        Some(id)
    );
    assert_eq!(
        store.pending_invite_by_phone(phone, 1_000).await.unwrap(),
        None,
        "expired"
    );
    // A second pending invite for the same number is refused, and writes nothing.
    assert!(matches!(
        store
            .create_invite(&invite("h2", Some(phone), grid, chief), &audit)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.invites(10).await.unwrap().len(), 1);

    let context = AuditContext {
        at: 500,
        street: Some(street),
        request_id: Some("r-9"),
    };
    let made = store
        .accept_invite(
            id,
            &person("chen", Some(phone), Role::GridWorker, grid),
            context,
        )
        .await
        .unwrap()
        .expect("accepted");
    let account = store.account_by_phone(phone).await.unwrap().unwrap();
    assert_eq!((account.id, account.username.as_str()), (made, "chen"));
    let grants = store.grants(made).await.unwrap();
    assert_eq!(
        (grants[0].role, grants[0].place),
        (Role::GridWorker, Some(grid))
    );
    let row = store.invite(id).await.unwrap().unwrap();
    assert_eq!((row.accepted_at, row.account), (Some(500), Some(made)));
    assert_eq!(
        store
            .accept_invite(id, &person("chen2", None, Role::GridWorker, grid), context)
            .await
            .unwrap(),
        None,
        "a code works once"
    );
    assert!(store.account_by_username("chen2").await.unwrap().is_none());
    assert!(
        !store.revoke_invite(id, 600, &audit).await.unwrap(),
        "accepted already"
    );
    let entries = store.audit_entries(Some(street), None, 10).await.unwrap();
    let actions: Vec<(&str, AccountId)> = entries
        .iter()
        .map(|e| (e.entry.action.as_str(), e.entry.actor))
        .collect();
    assert_eq!(
        actions,
        [
            ("grant.add", chief),
            ("invite.accept", made),
            ("invite.create", chief)
        ]
    );
    assert_eq!(entries[2].entry.target, format!("invite:{id}"));

    // Revoked: no longer accepted, and revoked once.
    let second = store
        .create_invite(&invite("h3", None, grid, chief), &audit)
        .await
        .unwrap();
    assert!(store.revoke_invite(second, 600, &audit).await.unwrap());
    assert!(!store.revoke_invite(second, 601, &audit).await.unwrap());
    assert_eq!(
        store
            .accept_invite(
                second,
                &person("late", None, Role::GridWorker, grid),
                context
            )
            .await
            .unwrap(),
        None
    );
    // A username taken is a conflict, and the invite stays pending.
    let third = store
        .create_invite(&invite("h4", None, grid, chief), &audit)
        .await
        .unwrap();
    assert!(matches!(
        store
            .accept_invite(
                third,
                &person("chen", None, Role::GridWorker, grid),
                context
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.invite(third).await.unwrap().unwrap().accepted_at,
        None
    );
}

async fn a_people_import_is_written_whole_or_not_at_all(store: &dyn Store) {
    let (street, community, grid, _) = small_tree(store).await;
    assert_eq!(
        store.places_named(None, "东湖街道").await.unwrap(),
        [street]
    );
    assert_eq!(
        store.places_named(Some(street), "桂花社区").await.unwrap(),
        [community]
    );
    assert!(
        store
            .places_named(Some(community), "东湖街道")
            .await
            .unwrap()
            .is_empty()
    );
    let admin = store.insert_account("admin", "管理员", "h").await.unwrap();
    let before = store.account_count().await.unwrap();
    let context = AuditContext {
        at: 100,
        street: None,
        request_id: None,
    };
    let rows = |second_phone: &'static str| {
        vec![
            ImportRow::Resident(
                NewPerson {
                    username: "p8613800000001",
                    display_name: "王芳",
                    romanised_name: Some("Wang Fang"),
                    phone: Some("+8613800000001"),
                    email: None,
                    password_hash: "!unset",
                    role: Role::Resident,
                    place: Some(community),
                },
                Some(street),
            ),
            ImportRow::Staff(invite("hx", Some(second_phone), grid, admin), Some(street)),
        ]
    };
    // The number of the second row is the first's: the whole file is refused.
    assert!(matches!(
        store
            .import_people(&rows("+8613800000001"), admin, context)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.account_count().await.unwrap(),
        before,
        "nothing half-written"
    );
    assert!(store.invites(10).await.unwrap().is_empty());

    let made = store
        .import_people(&rows("+8613800000002"), admin, context)
        .await
        .unwrap();
    assert_eq!(made.len(), 2);
    let resident = store
        .account_by_phone("+8613800000001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resident.id.0, made[0]);
    assert_eq!(resident.password_hash, "!unset");
    assert_eq!(resident.romanised_name.as_deref(), Some("Wang Fang"));
    assert_eq!(
        store.invite(made[1]).await.unwrap().unwrap().role,
        Role::GridWorker
    );
    let actions: Vec<String> = store
        .audit_entries(None, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entry.action)
        .collect();
    assert_eq!(actions, ["people.import", "invite.create", "person.import"]);

    // The directory's reads: staff grants of enabled accounts, open issues per assignee.
    let worker = store.insert_account("worker", "陈杰", "h").await.unwrap();
    store
        .insert_grant(worker, Role::GridWorker, Some(grid))
        .await
        .unwrap();
    let staff = store.staff_grants().await.unwrap();
    assert_eq!(staff.len(), 1);
    assert_eq!(
        (staff[0].account, staff[0].role, staff[0].place),
        (worker, Role::GridWorker, grid)
    );
    assert!(store.open_issue_counts().await.unwrap().is_empty());

    // The search: by part of a name, a number, a role; newest first, paged by id.
    let query = |text, phone, role| PeopleQuery {
        text,
        phone,
        role,
        before: None,
        limit: 10,
    };
    let ids = |rows: Vec<hehe_server::store::AccountRow>| {
        rows.into_iter().map(|r| r.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store
            .find_people(query(Some("wang f"), None, None))
            .await
            .unwrap()),
        [resident.id]
    );
    assert_eq!(
        ids(store
            .find_people(query(Some("陈"), None, None))
            .await
            .unwrap()),
        [worker]
    );
    assert_eq!(
        ids(store
            .find_people(query(Some("%"), None, None))
            .await
            .unwrap()),
        Vec::<AccountId>::new()
    );
    assert_eq!(
        ids(store
            .find_people(query(None, Some("+8613800000001"), None))
            .await
            .unwrap()),
        [resident.id]
    );
    assert_eq!(
        ids(store
            .find_people(query(None, None, Some(Role::GridWorker)))
            .await
            .unwrap()),
        [worker]
    );
    let all = ids(store.find_people(query(None, None, None)).await.unwrap());
    assert_eq!(all, [worker, resident.id, admin]);
    let page = store
        .find_people(PeopleQuery {
            before: Some(worker.0),
            limit: 1,
            ..query(None, None, None)
        })
        .await
        .unwrap();
    assert_eq!(ids(page), [resident.id]);
}

/// The notification outboxes: a cause kept with its write is expanded once by the node that
/// holds it; notifications are written once per person and key; a delivery is leased to one
/// node at a time, retried, dead, retried by hand; read marks, choices and the sweep.
async fn notifications_are_written_once_and_sent_by_one_node(store: &dyn Store) {
    use hehe_protocol::meeting::MeetingState;
    use hehe_protocol::notify::{
        ChannelChoice, DeliveryState, MarkRead, NotificationKind, NotifyChannel, NotifyPrefsUpdate,
        Subject, SubjectKind,
    };
    use hehe_server::domain::meeting::RoomEvent;
    use hehe_server::domain::notify::{Cause, MeetingStep};
    use hehe_server::store::meetings::RoomWrite;
    use hehe_server::store::notify::{Finished, NewDelivery, NewNotification};
    let street = store
        .insert_place(PlaceKind::Street, None, "S", "街")
        .await
        .unwrap();
    let chair = author(store).await;
    let meeting = store
        .insert_meeting("hearing", "Drainage", street, chair, 5)
        .await
        .unwrap();
    let cause = Cause::Meeting {
        meeting,
        step: MeetingStep::Started,
    };
    let before = store.meeting(meeting).await.unwrap().unwrap().last_seq;
    store
        .append_room(RoomWrite {
            meeting,
            expected_last_seq: before,
            actor: Some(chair),
            events: &[RoomEvent::Started],
            state: MeetingState::Live,
            minutes: None,
            decision: None,
            ballot: None,
            command: None,
            cause: Some(&cause),
            at: 10,
        })
        .await
        .unwrap();
    let taken = store.claim_causes("a", 100, 1000, 10).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(
        serde_json::from_str::<Cause>(&taken[0].cause).unwrap(),
        cause
    );
    assert!(
        store
            .claim_causes("b", 200, 1000, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased to a"
    );
    let subject = Subject {
        kind: SubjectKind::Meeting,
        id: meeting.0,
    };
    let note = |key: &str, deliveries: Vec<NewDelivery>| NewNotification {
        account: chair,
        kind: NotificationKind::MeetingStarted,
        subject,
        title: "Drainage".into(),
        body: "会议已开始".into(),
        urgent: false,
        dedupe_key: key.into(),
        deliveries,
    };
    let push = NewDelivery {
        channel: NotifyChannel::Webhook,
        target: "+8613800000000".into(),
        payload: None,
        next_at: 300,
    };
    assert!(matches!(
        store
            .expand_cause(taken[0].id, "b", &[note("k1", vec![])], 300)
            .await,
        Err(StoreError::Stale)
    ));
    let written = store
        .expand_cause(taken[0].id, "a", &[note("k1", vec![push.clone()])], 300)
        .await
        .unwrap();
    assert_eq!(written.len(), 1);
    assert!(
        store
            .claim_causes("b", 5000, 1000, 10)
            .await
            .unwrap()
            .is_empty(),
        "done, even after the lease"
    );
    let again = store
        .insert_notifications(&[note("k1", vec![push.clone()]), note("k2", vec![])], 400)
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "k1 is written once");

    // Not due yet; then leased to one node; a retry gives the lease back.
    assert!(
        store
            .claim_deliveries("a", 299, 1000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let due = store.claim_deliveries("a", 300, 1000, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    let d = &due[0];
    assert_eq!(
        (d.channel, d.target.as_str()),
        (NotifyChannel::Webhook, "+8613800000000")
    );
    assert_eq!(d.notification.as_ref().unwrap().id, written[0].1.id);
    assert!(
        store
            .claim_deliveries("b", 400, 1000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let retry = Finished::Retry {
        next_at: 2000,
        error: "HTTP 503".into(),
    };
    assert!(
        !store.finish_delivery(d.id, "b", &retry, 500).await.unwrap(),
        "not b's"
    );
    assert!(store.finish_delivery(d.id, "a", &retry, 500).await.unwrap());
    let stats = store.queue_stats(2500).await.unwrap();
    assert_eq!(
        (stats.pending, stats.oldest_due_ms, stats.dead),
        (1, 500, 0)
    );
    let due = store.claim_deliveries("b", 2500, 1000, 10).await.unwrap();
    assert_eq!(due[0].attempts, 1);
    let dead = Finished::Dead("HTTP 400".into());
    assert!(
        store
            .finish_delivery(due[0].id, "b", &dead, 2600)
            .await
            .unwrap()
    );
    let dead_letters = store.deliveries(DeliveryState::Dead, 10).await.unwrap();
    assert_eq!(dead_letters.len(), 1);
    assert_eq!(dead_letters[0].last_error.as_deref(), Some("HTTP 400"));
    assert_eq!(dead_letters[0].kind, NotificationKind::MeetingStarted);
    assert!(store.retry_delivery(d.id, 3000).await.unwrap());
    assert!(
        !store.retry_delivery(d.id, 3000).await.unwrap(),
        "pending now"
    );
    let due = store.claim_deliveries("a", 3000, 1000, 10).await.unwrap();
    assert!(
        store
            .finish_delivery(due[0].id, "a", &Finished::Sent, 3100)
            .await
            .unwrap()
    );
    assert_eq!(store.queue_stats(3200).await.unwrap().pending, 0);

    // The inbox: newest first, unread per subject, marks.
    let inbox = store.inbox(chair, None, 10).await.unwrap();
    assert_eq!(inbox.len(), 2);
    assert!(inbox[0].id > inbox[1].id);
    let (unread, subjects) = store.unread(chair).await.unwrap();
    assert_eq!((unread, subjects.len(), subjects[0].unread), (2, 1, 2));
    let one = MarkRead {
        ids: vec![inbox[0].id],
        ..MarkRead::default()
    };
    assert_eq!(store.mark_read(chair, &one, 4000).await.unwrap(), 1);
    assert_eq!(store.mark_read(chair, &one, 4000).await.unwrap(), 0);
    let someone = AccountId(chair.0 + 1000);
    let all = MarkRead {
        all: true,
        ..MarkRead::default()
    };
    assert_eq!(store.mark_read(someone, &all, 4000).await.unwrap(), 0);
    assert_eq!(store.mark_read(chair, &all, 4000).await.unwrap(), 1);

    // Choices.
    let update = NotifyPrefsUpdate {
        language: Some("en".into()),
        quiet_hours: None,
        choices: vec![ChannelChoice {
            kind: NotificationKind::IssueAssigned,
            channel: NotifyChannel::Webhook,
            enabled: false,
        }],
    };
    store
        .set_notify_prefs(chair, &update, Some(Some((1320, 420))))
        .await
        .unwrap();
    let profile = store.profiles(&[chair]).await.unwrap().remove(0);
    assert_eq!(profile.language, "en");
    assert_eq!(profile.prefs.quiet, Some((1320, 420)));
    assert!(
        !profile
            .prefs
            .enabled(NotificationKind::IssueAssigned, NotifyChannel::Webhook)
    );

    // The sweep takes notifications older than the limit with their deliveries.
    assert_eq!(store.sweep_notifications(350).await.unwrap(), 1);
    assert_eq!(store.inbox(chair, None, 10).await.unwrap().len(), 1);
    assert!(
        store
            .deliveries(DeliveryState::Sent, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn push_subscriptions_are_upserted_capped_and_owned(store: &dyn Store) {
    let me = store.insert_account("me", "Me", "h").await.unwrap();
    let other = store.insert_account("other", "Other", "h").await.unwrap();
    let endpoint = |n: i64| format!("https://push.example/{n}");

    let first = store
        .push_subscribe(me, &endpoint(0), "key0", "auth0", 1_000)
        .await
        .unwrap();
    let row = store.push_subscription(first).await.unwrap().unwrap();
    assert_eq!(
        (
            row.account,
            row.endpoint.as_str(),
            row.p256dh.as_str(),
            row.auth.as_str()
        ),
        (me, "https://push.example/0", "key0", "auth0")
    );
    assert_eq!((row.created_at, row.last_used_at), (1_000, None));
    store.push_touch(first, 1_500).await.unwrap();
    assert_eq!(
        store
            .push_subscription(first)
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(1_500)
    );

    // The same browser again: one row, with the new keys and time.
    let again = store
        .push_subscribe(me, &endpoint(0), "key0b", "auth0b", 2_000)
        .await
        .unwrap();
    assert_eq!(again, first);
    let rows = store.push_subscriptions(me).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0].p256dh.as_str(),
            rows[0].created_at,
            rows[0].last_used_at
        ),
        ("key0b", 2_000, None)
    );

    // Up to the cap, then each new one drops the oldest.
    for n in 1..MAX_PER_ACCOUNT {
        store
            .push_subscribe(me, &endpoint(n), "k", "a", 2_000 + n)
            .await
            .unwrap();
    }
    assert_eq!(
        store.push_subscriptions(me).await.unwrap().len() as i64,
        MAX_PER_ACCOUNT
    );
    let newest = store
        .push_subscribe(me, &endpoint(99), "k", "a", 9_000)
        .await
        .unwrap();
    let rows = store.push_subscriptions(me).await.unwrap();
    assert_eq!(rows.len() as i64, MAX_PER_ACCOUNT);
    assert_eq!(rows[0].endpoint, endpoint(1), "the oldest went: {rows:?}");
    assert_eq!(rows.last().unwrap().id, newest);
    assert_eq!(store.push_subscription(first).await.unwrap(), None);

    // Another account signing in on one of my browsers takes it over; my count drops.
    let taken = store
        .push_subscribe(other, &endpoint(1), "ko", "ao", 9_500)
        .await
        .unwrap();
    assert_eq!(
        store
            .push_subscription(taken)
            .await
            .unwrap()
            .unwrap()
            .account,
        other
    );
    assert_eq!(
        store.push_subscriptions(me).await.unwrap().len() as i64,
        MAX_PER_ACCOUNT - 1
    );
    assert_eq!(store.push_subscriptions(other).await.unwrap().len(), 1);

    // Unsubscribing touches only one's own.
    assert!(!store.push_unsubscribe(other, &endpoint(2)).await.unwrap());
    assert!(!store.push_unsubscribe(me, &endpoint(1)).await.unwrap());
    assert!(store.push_unsubscribe(me, &endpoint(2)).await.unwrap());
    assert!(!store.push_unsubscribe(me, &endpoint(2)).await.unwrap());
    assert_eq!(
        store.push_subscriptions(me).await.unwrap().len() as i64,
        MAX_PER_ACCOUNT - 2
    );

    // A gone subscription is forgotten by id.
    store.push_forget(taken).await.unwrap();
    assert_eq!(store.push_subscription(taken).await.unwrap(), None);
    assert!(store.push_subscriptions(other).await.unwrap().is_empty());
    store.push_forget(taken).await.unwrap();
}
