//! The place tree as those who manage it change it, on both backends; and migration 0008
//! (compounds, archiving, figures) on a database that holds the demo from before it.

use super::*;
use hehe_protocol::http::PlaceInfo;
use hehe_server::domain::place_import::NewPlace;
use hehe_server::store::places::{NewPlaceRow, PlaceEdit, PlaceStore, PlaceWrite};
use sqlx::Row;

both_backends!(
    the_tree_is_managed_with_its_audit_entries,
    an_import_is_applied_whole_or_not_at_all,
);

fn audit(actor: AccountId, action: &str) -> NewAudit {
    NewAudit {
        at: 5,
        actor,
        action: action.into(),
        target: "place:new".into(),
        place: None,
        street: None,
        detail: None,
        outcome: Outcome::Ok,
        request_id: None,
    }
}

fn row<'a>(kind: PlaceKind, parent: Option<PlaceId>, name_zh: &'a str) -> NewPlaceRow<'a> {
    NewPlaceRow {
        kind,
        parent,
        name: name_zh,
        name_zh,
        units: None,
        floors: None,
        at: 5,
    }
}

fn done(w: PlaceWrite) -> PlaceInfo {
    match w {
        PlaceWrite::Done(info) => info,
        other => panic!("not written: {other:?}"),
    }
}

async fn create(store: &dyn Store, admin: AccountId, new: NewPlaceRow<'_>) -> PlaceId {
    let a = audit(admin, "place.create");
    done(store.create_place(&new, &a).await.unwrap()).id
}

async fn the_tree_is_managed_with_its_audit_entries(store: &dyn Store) {
    let admin = store.insert_account("admin", "A", "h").await.unwrap();
    let street = create(store, admin, row(PlaceKind::Street, None, "街")).await;
    let community = create(
        store,
        admin,
        row(PlaceKind::Community, Some(street), "社区"),
    )
    .await;
    let compound = create(
        store,
        admin,
        row(PlaceKind::Compound, Some(community), "小区"),
    )
    .await;
    let grid = create(store, admin, row(PlaceKind::Grid, Some(compound), "一网格")).await;
    let open_grid = create(
        store,
        admin,
        row(PlaceKind::Grid, Some(community), "二网格"),
    )
    .await;
    let building = create(
        store,
        admin,
        NewPlaceRow {
            units: Some(3),
            floors: Some(18),
            ..row(PlaceKind::Building, Some(grid), "1栋")
        },
    )
    .await;
    let path = store.place_path(building).await.unwrap().unwrap();
    assert_eq!(
        path,
        PlacePath::building(street, community, grid, building).in_compound(compound)
    );
    let info = store.place(building).await.unwrap().unwrap();
    assert_eq!(
        (info.units, info.floors, info.archived),
        (Some(3), Some(18), false)
    );

    // Sibling names are unique; a parent that is missing is missing.
    let taken = row(PlaceKind::Building, Some(grid), "1栋");
    let a = audit(admin, "place.create");
    assert_eq!(
        store.create_place(&taken, &a).await.unwrap(),
        PlaceWrite::NameTaken
    );
    let orphan = row(PlaceKind::Building, Some(PlaceId(999_999)), "9栋");
    assert_eq!(
        store.create_place(&orphan, &a).await.unwrap(),
        PlaceWrite::Missing
    );
    assert_eq!(
        store
            .place_named(Some(grid), "1栋")
            .await
            .unwrap()
            .map(|p| p.id),
        Some(building)
    );
    assert_eq!(
        store.place_named(None, "街").await.unwrap().map(|p| p.id),
        Some(street)
    );

    // Renames and figures; the same again changes nothing.
    let rename = PlaceEdit {
        name_zh: Some("一号楼"),
        units: Some(None),
        at: 6,
        ..PlaceEdit::default()
    };
    let info = done(
        store
            .edit_place(building, &rename, &audit(admin, "place.update"))
            .await
            .unwrap(),
    );
    assert_eq!(
        (info.name_zh.as_str(), info.units, info.floors),
        ("一号楼", None, Some(18))
    );
    assert!(matches!(
        store
            .edit_place(building, &rename, &audit(admin, "place.update"))
            .await
            .unwrap(),
        PlaceWrite::Unchanged(_)
    ));
    let clash = PlaceEdit {
        name_zh: Some("小区"),
        ..PlaceEdit::default()
    };
    assert_eq!(
        store
            .edit_place(open_grid, &clash, &audit(admin, "place.update"))
            .await
            .unwrap(),
        PlaceWrite::NameTaken
    );

    // A move: the path follows at once on this node.
    let moved = done(
        store
            .move_place(building, open_grid, 7, &audit(admin, "place.move"))
            .await
            .unwrap(),
    );
    assert_eq!(moved.parent_id, Some(open_grid));
    assert_eq!(
        store.place_path(building).await.unwrap(),
        Some(PlacePath::building(street, community, open_grid, building))
    );
    assert!(matches!(
        store
            .move_place(building, open_grid, 8, &audit(admin, "place.move"))
            .await
            .unwrap(),
        PlaceWrite::Unchanged(_)
    ));

    // Archiving: not with live places under it; hidden from listings unless asked.
    assert_eq!(
        store
            .set_place_archived(compound, true, 9, &audit(admin, "place.archive"))
            .await
            .unwrap(),
        PlaceWrite::LiveChildren
    );
    done(
        store
            .set_place_archived(grid, true, 9, &audit(admin, "place.archive"))
            .await
            .unwrap(),
    );
    let archived = done(
        store
            .set_place_archived(compound, true, 9, &audit(admin, "place.archive"))
            .await
            .unwrap(),
    );
    assert!(archived.archived);
    let live: Vec<PlaceId> = store
        .places_under(Some(community), false)
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    let all: Vec<PlaceId> = store
        .places_under(Some(community), true)
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!((live, all), (vec![open_grid], vec![compound, open_grid]));
    assert_eq!(
        store
            .places_under(None, false)
            .await
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect::<Vec<_>>(),
        [street]
    );
    // Nothing new under an archived place, and a child comes back only after its parent.
    let under = row(PlaceKind::Grid, Some(compound), "三网格");
    assert_eq!(
        store
            .create_place(&under, &audit(admin, "place.create"))
            .await
            .unwrap(),
        PlaceWrite::ArchivedParent
    );
    assert_eq!(
        store
            .set_place_archived(grid, false, 10, &audit(admin, "place.restore"))
            .await
            .unwrap(),
        PlaceWrite::ArchivedParent
    );
    done(
        store
            .set_place_archived(compound, false, 10, &audit(admin, "place.restore"))
            .await
            .unwrap(),
    );
    done(
        store
            .set_place_archived(grid, false, 10, &audit(admin, "place.restore"))
            .await
            .unwrap(),
    );

    let sub: Vec<PlaceId> = store
        .subtree(community)
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(sub, [community, compound, grid, open_grid, building]);

    // Grants under a place, for the reconnects a move asks for.
    let resident = store.insert_account("r", "R", "h").await.unwrap();
    let lead = store.insert_account("l", "L", "h").await.unwrap();
    store
        .insert_grant(resident, Role::Resident, Some(community))
        .await
        .unwrap();
    store
        .insert_grant(lead, Role::BuildingLead, Some(building))
        .await
        .unwrap();
    assert_eq!(
        store.accounts_granted_under(open_grid).await.unwrap(),
        [lead]
    );
    assert_eq!(
        store.accounts_granted_under(street).await.unwrap(),
        [resident, lead]
    );

    // Each change wrote its entry, naming the place and its street.
    let entries = store.audit_entries(None, None, 100).await.unwrap();
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .rev()
        .map(|e| (e.entry.action.as_str(), e.entry.target.as_str()))
        .collect();
    let b = format!("place:{}", building.0);
    assert_eq!(actions.len(), 12, "{actions:?}");
    assert!(actions.contains(&("place.update", b.as_str())));
    assert!(actions.contains(&("place.move", b.as_str())));
    let street_entry = entries
        .iter()
        .find(|e| e.entry.place == Some(street))
        .unwrap();
    assert_eq!(street_entry.entry.street, Some(street));
    let moved = entries
        .iter()
        .find(|e| e.entry.action == "place.move")
        .unwrap();
    assert_eq!(
        (moved.entry.place, moved.entry.street),
        (Some(building), Some(street))
    );
}

/// Two nodes on one database: one moves a place, the other's cached path is stale until it is
/// told (a notice) or its sync sees the change counter move.
async fn a_move_reaches_the_cache_of_another_node(url: &str) {
    let here = SqlStore::connect(url, 2).await.unwrap();
    let there = SqlStore::connect(url, 2).await.unwrap();
    let admin = here.insert_account("admin", "A", "h").await.unwrap();
    let street = create(&here, admin, row(PlaceKind::Street, None, "街")).await;
    let community = create(
        &here,
        admin,
        row(PlaceKind::Community, Some(street), "社区"),
    )
    .await;
    let g1 = create(
        &here,
        admin,
        row(PlaceKind::Grid, Some(community), "一网格"),
    )
    .await;
    let g2 = create(
        &here,
        admin,
        row(PlaceKind::Grid, Some(community), "二网格"),
    )
    .await;
    let b = create(&here, admin, row(PlaceKind::Building, Some(g1), "1栋")).await;
    here.sync_place_paths().await.unwrap();
    assert!(!here.sync_place_paths().await.unwrap(), "nothing moved");
    assert_eq!(here.place_path(b).await.unwrap().unwrap().grid, Some(g1));

    let moving = audit(admin, "place.move");
    done(there.move_place(b, g2, 20, &moving).await.unwrap());
    assert_eq!(there.place_path(b).await.unwrap().unwrap().grid, Some(g2));
    assert_eq!(
        here.place_path(b).await.unwrap().unwrap().grid,
        Some(g1),
        "cached, until told"
    );
    assert!(here.sync_place_paths().await.unwrap(), "the counter moved");
    assert_eq!(here.place_path(b).await.unwrap().unwrap().grid, Some(g2));
    assert!(
        !here.sync_place_paths().await.unwrap(),
        "and is in step now"
    );

    // A notice does the same at once.
    done(there.move_place(b, g1, 21, &moving).await.unwrap());
    here.forget_place_paths();
    assert_eq!(here.place_path(b).await.unwrap().unwrap().grid, Some(g1));
    here.close().await;
    there.close().await;
}

#[tokio::test]
async fn a_move_reaches_another_node_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("two.db").display());
    a_move_reaches_the_cache_of_another_node(&url).await;
}

#[tokio::test]
async fn a_move_reaches_another_node_on_postgres() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    a_move_reaches_the_cache_of_another_node(&db.url).await;
}

async fn an_import_is_applied_whole_or_not_at_all(store: &dyn Store) {
    let admin = store.insert_account("admin", "A", "h").await.unwrap();
    let street = create(store, admin, row(PlaceKind::Street, None, "街")).await;
    let old = create(
        store,
        admin,
        row(PlaceKind::Community, Some(street), "旧社区"),
    )
    .await;
    done(
        store
            .set_place_archived(old, true, 6, &audit(admin, "place.archive"))
            .await
            .unwrap(),
    );
    let new = |id: i64, kind, parent: i64, name: &str, line| NewPlace {
        id: PlaceId(id),
        kind,
        parent: Some(PlaceId(parent)),
        name: name.into(),
        name_zh: name.into(),
        units: None,
        floors: None,
        line,
        path: name.into(),
        street,
    };
    let before = store.subtree(street).await.unwrap().len();
    // The second place's parent was archived after the plan was made: nothing is written.
    let stale = [
        new(-1, PlaceKind::Community, street.0, "新社区", 2),
        new(-2, PlaceKind::Grid, old.0, "一网格", 3),
    ];
    let a = audit(admin, "place.create");
    assert!(matches!(
        store.import_places(&stale, 7, &a).await,
        Err(StoreError::Stale)
    ));
    assert_eq!(store.subtree(street).await.unwrap().len(), before);
    let entries = store.audit_entries(None, None, 100).await.unwrap().len();

    let plan = [
        new(-1, PlaceKind::Community, street.0, "新社区", 2),
        new(-2, PlaceKind::Grid, -1, "一网格", 2),
        NewPlace {
            units: Some(2),
            ..new(-3, PlaceKind::Building, -2, "1栋", 2)
        },
    ];
    let ids = store.import_places(&plan, 7, &a).await.unwrap();
    assert_eq!(ids.len(), 3);
    let path = store.place_path(ids[2]).await.unwrap().unwrap();
    assert_eq!(path, PlacePath::building(street, ids[0], ids[1], ids[2]));
    assert_eq!(store.place(ids[2]).await.unwrap().unwrap().units, Some(2));
    let after = store.audit_entries(None, None, 100).await.unwrap();
    assert_eq!(after.len(), entries + 3);
    assert!(after[..3].iter().all(|e| e.entry.street == Some(street)
        && e.entry.target == format!("place:{}", e.entry.place.unwrap().0)));
    // A name taken meanwhile fails the whole file too.
    let clash = [
        new(-1, PlaceKind::Grid, ids[0].0, "二网格", 2),
        new(-2, PlaceKind::Grid, ids[0].0, "一网格", 3),
    ];
    assert!(matches!(
        store.import_places(&clash, 8, &a).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        store
            .place_named(Some(ids[0]), "二网格")
            .await
            .unwrap()
            .is_none()
    );
}

// ---- migration 0008 --------------------------------------------------------------------------

/// Seeds the demo on a database migrated to 0007, with rows in the tables that point at places,
/// then migrates to the end: every row is still there, ids unchanged, foreign keys hold.
async fn the_demo_survives_migration_0008(url: &str) {
    let before = SqlStore::connect_until(url, 1, 7).await.unwrap();
    let demo = seed_demo(&before, 1).await.unwrap().unwrap();
    let pool = before.pool();
    let resident = demo.account("resident");
    sqlx::query(
        "INSERT INTO issues (category, title, description, place_id, grid_id, community_id, \
         street_id, reporter_id, submitted_by, public, state, priority, level, created_at, \
         updated_at) VALUES ('road', 't', 'd', $1, $2, $3, $4, $5, $5, 1, 'submitted', \
         'normal', 'grid', 1, 1)",
    )
    .bind(demo.buildings[0].0)
    .bind(demo.grids[0].0)
    .bind(demo.communities[0].0)
    .bind(demo.street.0)
    .bind(resident.0)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, action, target, place_id, street_id, outcome) \
         VALUES (1, $1, 'grant.add', 'account:1', $2, $3, 'ok')",
    )
    .bind(resident.0)
    .bind(demo.communities[0].0)
    .bind(demo.street.0)
    .execute(pool)
    .await
    .unwrap();
    let counts = |pool: sqlx::AnyPool| async move {
        let mut out = Vec::new();
        for table in ["places", "role_grants", "meetings", "issues", "audit_log"] {
            let row = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
                .fetch_one(&pool)
                .await
                .unwrap();
            out.push((table, row.try_get::<i64, _>("n").unwrap()));
        }
        out
    };
    let had = counts(pool.clone()).await;
    let places_before: Vec<(i64, String, Option<i64>)> =
        sqlx::query("SELECT id, kind, parent_id FROM places ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("id"), r.get("kind"), r.get("parent_id")))
            .collect();
    before.close().await;

    let after = SqlStore::connect(url, 2).await.unwrap();
    assert_eq!(counts(after.pool().clone()).await, had);
    let places_after: Vec<(i64, String, Option<i64>)> =
        sqlx::query("SELECT id, kind, parent_id FROM places ORDER BY id")
            .fetch_all(after.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("id"), r.get("kind"), r.get("parent_id")))
            .collect();
    assert_eq!(places_after, places_before);
    if after.backend() == hehe_server::store::Backend::Sqlite {
        let violations = sqlx::query("SELECT COUNT(*) AS n FROM pragma_foreign_key_check")
            .fetch_one(after.pool())
            .await
            .unwrap();
        assert_eq!(violations.try_get::<i64, _>("n").unwrap(), 0);
    }
    // Foreign keys are enforced still: a grant at no place is refused.
    let bad = after
        .insert_grant(resident, Role::Resident, Some(PlaceId(999_999)))
        .await;
    assert!(matches!(bad, Err(StoreError::Conflict(_))), "{bad:?}");
    // And the new kind is allowed, the old rules kept.
    let compound = done(
        after
            .create_place(
                &row(PlaceKind::Compound, Some(demo.communities[0]), "金桂小区"),
                &audit(resident, "place.create"),
            )
            .await
            .unwrap(),
    );
    assert_eq!(compound.kind, PlaceKind::Compound);
    assert!(
        after
            .insert_place(PlaceKind::Compound, None, "X", "无上级小区")
            .await
            .is_err()
    );
    let path = after.place_path(demo.buildings[0]).await.unwrap().unwrap();
    assert_eq!(path.grid, Some(demo.grids[0]));
    after.close().await;
}

#[tokio::test]
async fn migration_0008_keeps_the_demo_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    the_demo_survives_migration_0008(&url).await;
}

#[tokio::test]
async fn migration_0008_keeps_the_demo_on_postgres() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    the_demo_survives_migration_0008(&db.url).await;
}
