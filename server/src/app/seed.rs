//! The demo neighbourhood, seeded on first start so that a fresh server can be tried at once.
//! Every demo account has the password [`DEMO_PASSWORD`]; the README lists them.

use crate::identity::tokens::hash_password;
use crate::store::meetings::{MemberRole, NewMeeting};
use crate::store::{Store, StoreError, StoreResult};
use hehe_protocol::http::PlaceKind;
use hehe_protocol::meeting::{MeetingKind, MeetingState};
use hehe_protocol::{AccountId, MeetingId, PlaceId, Role};

pub const DEMO_PASSWORD: &str = "hehe-demo";

/// What the seed created, for tests.
#[derive(Debug, Clone)]
pub struct Demo {
    pub street: PlaceId,
    /// Riverside (滨河社区) and Orchard (果园社区).
    pub communities: [PlaceId; 2],
    /// Two grids per community: Riverside's first, then Orchard's.
    pub grids: [PlaceId; 4],
    /// Two buildings per grid, in grid order.
    pub buildings: [PlaceId; 8],
    /// The second street, Lakeside (湖畔街道), with one community, grid and building.
    pub other_street: PlaceId,
    pub other_community: PlaceId,
    /// A hearing in Riverside.
    pub meeting: MeetingId,
    /// A general meeting in the Lakeside community.
    pub other_meeting: MeetingId,
    /// A private mediation in Riverside between `resident` and `lead`, mediated by `official`.
    pub mediation: MeetingId,
    pub accounts: Vec<(&'static str, AccountId)>,
}

impl Demo {
    pub fn account(&self, username: &str) -> AccountId {
        self.accounts
            .iter()
            .find(|(u, _)| *u == username)
            .map(|(_, id)| *id)
            .unwrap_or(AccountId(0))
    }
}

/// (username, display name, role, index of the scope in [street, Riverside, Orchard, Riverside
/// grid 1, Riverside grid 1 building 1, Lakeside community] or none).
const ACCOUNTS: [(&str, &str, Role, Option<usize>); 9] = [
    ("resident", "Wang Fang 王芳", Role::Resident, Some(1)),
    ("resident2", "Li Wei 李伟", Role::Resident, Some(2)),
    ("lead", "Zhao Min 赵敏", Role::BuildingLead, Some(4)),
    ("worker", "Chen Jie 陈杰", Role::GridWorker, Some(3)),
    (
        "official",
        "Liu Yang 刘洋",
        Role::CommunityOfficial,
        Some(1),
    ),
    ("chief", "Zhou Hua 周华", Role::StreetChief, Some(0)),
    ("lakeside", "Sun Li 孙丽", Role::Resident, Some(5)),
    ("ops", "Ops 运维", Role::Ops, None),
    ("admin", "Admin 管理员", Role::Admin, None),
];

/// Seeds the demo when the store holds no accounts. Returns what it made, or `None` when the
/// store was not empty.
pub async fn seed_demo(store: &dyn Store, now_ms: i64) -> StoreResult<Option<Demo>> {
    if store.account_count().await? > 0 {
        return Ok(None);
    }
    // In this order: tests and the README know the demo's ids.
    let places = seed_places(store).await?;
    let accounts = seed_accounts(store, &places).await?;
    let meetings = seed_meetings(store, &places, &accounts, now_ms).await?;
    Ok(Some(Demo {
        street: places.street,
        communities: fixed(places.communities)?,
        grids: fixed(places.grids)?,
        buildings: fixed(places.buildings)?,
        other_street: places.other_street,
        other_community: places.other_community,
        meeting: meetings.hearing,
        other_meeting: meetings.general,
        mediation: meetings.mediation,
        accounts,
    }))
}

/// The demo's places: see [`Demo`].
struct Places {
    street: PlaceId,
    communities: Vec<PlaceId>,
    grids: Vec<PlaceId>,
    buildings: Vec<PlaceId>,
    other_street: PlaceId,
    other_community: PlaceId,
}

/// Hehe Street with two communities of two grids of two buildings, then Lakeside Street with
/// one of each.
async fn seed_places(store: &dyn Store) -> StoreResult<Places> {
    let street = store
        .insert_place(PlaceKind::Street, None, "Hehe Street", "和合街道")
        .await?;
    let mut communities = Vec::new();
    let mut grids = Vec::new();
    let mut buildings = Vec::new();
    for (name, name_zh) in [("Riverside", "滨河社区"), ("Orchard", "果园社区")] {
        let community = store
            .insert_place(PlaceKind::Community, Some(street), name, name_zh)
            .await?;
        communities.push(community);
        for g in 1..=2 {
            let grid = store
                .insert_place(
                    PlaceKind::Grid,
                    Some(community),
                    &format!("{name} grid {g}"),
                    &format!("{name_zh}第{g}网格"),
                )
                .await?;
            grids.push(grid);
            for b in 1..=2 {
                let n = (g - 1) * 2 + b;
                let building = store
                    .insert_place(
                        PlaceKind::Building,
                        Some(grid),
                        &format!("{name} building {n}"),
                        &format!("{name_zh}{n}号楼"),
                    )
                    .await?;
                buildings.push(building);
            }
        }
    }
    let (other_street, other_community) = seed_lakeside(store).await?;
    Ok(Places {
        street,
        communities,
        grids,
        buildings,
        other_street,
        other_community,
    })
}

/// The second street, so that tests see what lies outside a street chief's.
async fn seed_lakeside(store: &dyn Store) -> StoreResult<(PlaceId, PlaceId)> {
    let street = store
        .insert_place(PlaceKind::Street, None, "Lakeside Street", "湖畔街道")
        .await?;
    let community = store
        .insert_place(PlaceKind::Community, Some(street), "Lakeside", "湖畔社区")
        .await?;
    let grid = store
        .insert_place(
            PlaceKind::Grid,
            Some(community),
            "Lakeside grid 1",
            "湖畔社区第1网格",
        )
        .await?;
    store
        .insert_place(
            PlaceKind::Building,
            Some(grid),
            "Lakeside building 1",
            "湖畔社区1号楼",
        )
        .await?;
    Ok((street, community))
}

/// The [`ACCOUNTS`], each with its one role.
async fn seed_accounts(
    store: &dyn Store,
    places: &Places,
) -> StoreResult<Vec<(&'static str, AccountId)>> {
    let scopes = [
        places.street,
        places.communities[0],
        places.communities[1],
        places.grids[0],
        places.buildings[0],
        places.other_community,
    ];
    // One hash for all: the demo accounts share a published password anyway, and hashing is
    // the slow part of seeding.
    let hash = hash_password(DEMO_PASSWORD);
    let mut accounts = Vec::new();
    for (username, display_name, role, scope) in ACCOUNTS {
        let id = store.insert_account(username, display_name, &hash).await?;
        store
            .insert_grant(id, role, scope.map(|i| scopes[i]))
            .await?;
        accounts.push((username, id));
    }
    Ok(accounts)
}

/// The demo's meetings: see [`Demo`].
struct Meetings {
    hearing: MeetingId,
    general: MeetingId,
    mediation: MeetingId,
}

async fn seed_meetings(
    store: &dyn Store,
    places: &Places,
    accounts: &[(&'static str, AccountId)],
    now_ms: i64,
) -> StoreResult<Meetings> {
    let id = |username: &str| {
        accounts
            .iter()
            .find(|(u, _)| *u == username)
            .map(|(_, id)| *id)
            .ok_or_else(|| StoreError::Corrupt(format!("demo seed made no {username}")))
    };
    let riverside = places.communities[0];
    let hearing = store
        .create_meeting(NewMeeting {
            kind: MeetingKind::Hearing,
            title: "Replacing the drainage pipe of Riverside building 1",
            description: "Whether to replace the pipe now, and how to share the cost.",
            place: riverside,
            chair: id("chief")?,
            secretary: None,
            capacity: None,
            initial_state: MeetingState::Published,
            previous_round: None,
            private: false,
            agenda: &[
                "The proposal".to_owned(),
                "Questions".to_owned(),
                "Vote".to_owned(),
            ],
            at: now_ms,
        })
        .await?;
    let general = store
        .insert_meeting(
            "general",
            "Lakeside residents' meeting",
            places.other_community,
            id("admin")?,
            now_ms,
        )
        .await?;
    let official = id("official")?;
    let mediation = store
        .create_meeting(NewMeeting {
            kind: MeetingKind::Mediation,
            title: "Noise between flats 301 and 401",
            description: "",
            place: riverside,
            chair: official,
            secretary: None,
            capacity: None,
            initial_state: MeetingState::Published,
            previous_round: None,
            private: true,
            agenda: &[
                "Each side's account".to_owned(),
                "Proposals".to_owned(),
                "Agreement".to_owned(),
            ],
            at: now_ms,
        })
        .await?;
    for (party, role) in [
        (id("resident")?, MemberRole::Party),
        (id("lead")?, MemberRole::Party),
        (official, MemberRole::Mediator),
    ] {
        store.add_member(mediation, party, role).await?;
    }
    Ok(Meetings {
        hearing,
        general,
        mediation,
    })
}

fn fixed<const N: usize>(v: Vec<PlaceId>) -> StoreResult<[PlaceId; N]> {
    v.try_into()
        .map_err(|_| StoreError::Corrupt("demo seed made an unexpected number of places".into()))
}

/// Username of the `n`th load-test account (from 1): `load-00001`, `load-00002`, …
pub fn loadtest_username(n: u32) -> String {
    format!("load-{n:05}")
}

/// Adds `count` resident accounts for the load test (`hehe-loadtest`), with the demo password,
/// after the demo has been seeded. Account `n` lives in the community `(n - 1) % 3` of
/// [Riverside, Orchard, Lakeside], so every third account is a participant of the Riverside
/// hearing (`room:1`). Their ids follow one another, which lets the load test mint tokens for
/// them from the first one's id.
pub async fn seed_loadtest_accounts(store: &dyn Store, demo: &Demo, count: u32) -> StoreResult<()> {
    if count == 0 {
        return Ok(());
    }
    let communities = [
        demo.communities[0],
        demo.communities[1],
        demo.other_community,
    ];
    // One argon2 hash reused for every account: hashing each would take minutes for thousands.
    let hash = hash_password(DEMO_PASSWORD);
    for n in 1..=count {
        let username = loadtest_username(n);
        let id = store.insert_account(&username, &username, &hash).await?;
        let community = communities[(n as usize - 1) % communities.len()];
        store
            .insert_grant(id, Role::Resident, Some(community))
            .await?;
    }
    Ok(())
}
