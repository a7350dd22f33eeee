//! `Store` over sqlx's `Any` driver: one set of queries for SQLite and PostgreSQL. The queries
//! keep to what both understand (`$n` parameters, `ON CONFLICT`, `RETURNING`, recursive CTEs).

use super::{AccountRow, GrantRow, MessageRow, NewMessage, Store, StoreError, StoreResult};
use crate::domain::places::PlacePath;
use async_trait::async_trait;
use hehe_protocol::http::{PlaceInfo, PlaceKind};
use hehe_protocol::{AccountId, Channel, MeetingId, PlaceId, Role};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor, Row};
use std::str::FromStr;
use std::time::Duration;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    /// Place paths read so far: every subscribe and permission check needs one, and a city
    /// has a few hundred thousand places at most. Places move rarely (an admin's `move`), so
    /// the cache is forgotten as a whole when one does (see `store::places`).
    pub(crate) paths: std::sync::Arc<PathCache>,
}

/// The cache of place paths, and what tells a path read before a move from one read after.
#[derive(Default)]
pub(crate) struct PathCache {
    pub(crate) paths: dashmap::DashMap<PlaceId, PlacePath>,
    /// Bumped by every `forget`: a path read while it changed may be stale and is not kept.
    pub(crate) generation: std::sync::atomic::AtomicU64,
    /// The store's `place_changes.version` this node last acted on.
    pub(crate) version: std::sync::atomic::AtomicI64,
}

impl PathCache {
    pub(crate) fn forget(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.paths.clear();
    }
}

impl SqlStore {
    /// Connects and applies the backend's migrations.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        Self::connect_until(url, max_connections, i64::MAX).await
    }

    /// Connects and applies the migrations up to version `last` only: for the tests that
    /// check a migration against data written before it.
    #[doc(hidden)]
    pub async fn connect_until(url: &str, max_connections: u32, last: i64) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Corrupt(
                "database URL must start with sqlite: or postgres:".into(),
            ));
        };
        let options = AnyConnectOptions::from_str(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; busy_timeout queues writers
                        // instead of failing them; foreign keys are off by default in SQLite.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let all = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        let mut some = Migrator::DEFAULT;
        some.migrations = all
            .migrations
            .iter()
            .filter(|m| m.version <= last)
            .cloned()
            .collect::<Vec<_>>()
            .into();
        match backend {
            // A migration that rebuilds a table (0008) needs foreign keys off, which SQLite
            // ignores inside the transaction each migration runs in: the migrations run on a
            // connection of their own that has them off from the start (the migration checks
            // the keys itself before it commits).
            Backend::Sqlite => {
                let migrating = AnyPoolOptions::new()
                    .max_connections(1)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = OFF;")
                                .await?;
                            Ok(())
                        })
                    })
                    .connect_with(AnyConnectOptions::from_str(url)?)
                    .await?;
                let migrated = some.run(&migrating).await;
                migrating.close().await;
                migrated?;
            }
            Backend::Postgres => some.run(&pool).await?,
        }
        Ok(Self {
            pool,
            backend,
            paths: std::sync::Arc::default(),
        })
    }

    pub(crate) async fn read_place_path(&self, id: PlaceId) -> StoreResult<Option<PlacePath>> {
        path_of(&self.pool, id).await
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The place with its ancestors, read through `executor` (the pool, or a transaction that must
/// see its own writes); `None` when it does not exist.
pub(crate) async fn path_of<'e, E>(executor: E, id: PlaceId) -> StoreResult<Option<PlacePath>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = sqlx::query(
        "WITH RECURSIVE up (id, kind, parent_id, depth) AS ( \
           SELECT id, kind, parent_id, 0 FROM places WHERE id = $1 \
           UNION ALL \
           SELECT p.id, p.kind, p.parent_id, up.depth + 1 \
             FROM places p JOIN up ON p.id = up.parent_id WHERE up.depth < 5 \
         ) SELECT id, kind FROM up",
    )
    .bind(id.0)
    .fetch_all(executor)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let (mut street, mut community, mut compound, mut grid, mut building) =
        (None, None, None, None, None);
    for row in &rows {
        let place = PlaceId(row.try_get("id")?);
        let kind: String = row.try_get("kind")?;
        let slot = match place_kind(&kind)? {
            PlaceKind::Street => &mut street,
            PlaceKind::Community => &mut community,
            PlaceKind::Compound => &mut compound,
            PlaceKind::Grid => &mut grid,
            PlaceKind::Building => &mut building,
        };
        if slot.replace(place).is_some() {
            return Err(corrupt(format!(
                "place {id} has two ancestors of kind {kind}"
            )));
        }
    }
    let street = street.ok_or_else(|| corrupt(format!("place {id} is not under a street")))?;
    let path = PlacePath {
        street,
        community,
        compound,
        grid,
        building,
    };
    // Levels must be filled from the top with no gap (but the optional compound), and the
    // path must end at `id`.
    let gapless = (community.is_some() || (compound.is_none() && grid.is_none()))
        && (grid.is_some() || building.is_none());
    if !gapless || path.leaf() != id {
        return Err(corrupt(format!("place {id} sits in a malformed tree")));
    }
    Ok(Some(path))
}

fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt(what.into())
}

pub(crate) fn place_kind(s: &str) -> StoreResult<PlaceKind> {
    PlaceKind::parse(s).ok_or_else(|| corrupt(format!("unknown place kind {s}")))
}

pub(crate) fn role(s: &str) -> StoreResult<Role> {
    s.parse().map_err(|_| corrupt(format!("unknown role {s}")))
}

pub(crate) fn account_row(row: &AnyRow) -> StoreResult<AccountRow> {
    Ok(AccountRow {
        id: AccountId(row.try_get("id")?),
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        password_hash: row.try_get("password_hash")?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        phone: row.try_get("phone")?,
        email: row.try_get("email")?,
        romanised_name: row.try_get("romanised_name")?,
    })
}

fn message_row(row: &AnyRow) -> StoreResult<MessageRow> {
    let channel: String = row.try_get("channel")?;
    let author_role: Option<String> = row.try_get("author_role")?;
    Ok(MessageRow {
        id: row.try_get("id")?,
        channel: channel
            .parse()
            .map_err(|_| corrupt(format!("bad channel {channel}")))?,
        author_id: AccountId(row.try_get("author_id")?),
        author_name: row.try_get("display_name")?,
        author_role: author_role.as_deref().map(role).transpose()?,
        request_id: row.try_get("request_id")?,
        text: row.try_get("body")?,
        created_at: row.try_get("created_at")?,
    })
}

const MESSAGE_COLUMNS: &str = "m.id, m.channel, m.author_id, a.display_name, m.author_role, \
     m.request_id, m.body, m.created_at FROM messages m JOIN accounts a ON a.id = m.author_id";

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn account_count(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM accounts")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    async fn insert_place(
        &self,
        kind: PlaceKind,
        parent: Option<PlaceId>,
        name: &str,
        name_zh: &str,
    ) -> StoreResult<PlaceId> {
        let row = sqlx::query(
            "INSERT INTO places (kind, parent_id, name, name_zh) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(kind.as_str())
        .bind(parent.map(|p| p.0))
        .bind(name)
        .bind(name_zh)
        .fetch_one(&self.pool)
        .await?;
        Ok(PlaceId(row.try_get("id")?))
    }

    async fn place(&self, id: PlaceId) -> StoreResult<Option<PlaceInfo>> {
        let row = sqlx::query(&format!("SELECT {PLACE_COLUMNS} FROM places WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(place_info).transpose()
    }

    async fn children(&self, id: PlaceId) -> StoreResult<Vec<PlaceInfo>> {
        let rows = sqlx::query(&format!(
            "SELECT {PLACE_COLUMNS} FROM places WHERE parent_id = $1 ORDER BY id"
        ))
        .bind(id.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(place_info).collect()
    }

    async fn place_path(&self, id: PlaceId) -> StoreResult<Option<PlacePath>> {
        use std::sync::atomic::Ordering;
        if let Some(path) = self.paths.paths.get(&id) {
            return Ok(Some(*path));
        }
        let generation = self.paths.generation.load(Ordering::SeqCst);
        let path = self.read_place_path(id).await?;
        if let Some(path) = path {
            self.paths.paths.insert(id, path);
            // Forgotten meanwhile: the path may predate the move, so it is not kept.
            if self.paths.generation.load(Ordering::SeqCst) != generation {
                self.paths.paths.remove(&id);
            }
        }
        Ok(path)
    }

    async fn insert_account(
        &self,
        username: &str,
        display_name: &str,
        password_hash: &str,
    ) -> StoreResult<AccountId> {
        let row = sqlx::query(
            "INSERT INTO accounts (username, display_name, password_hash) VALUES ($1, $2, $3) \
             RETURNING id",
        )
        .bind(username)
        .bind(display_name)
        .bind(password_hash)
        .fetch_one(&self.pool)
        .await?;
        Ok(AccountId(row.try_get("id")?))
    }

    async fn account(&self, id: AccountId) -> StoreResult<Option<AccountRow>> {
        sqlx::query(
            "SELECT id, username, display_name, password_hash, disabled, phone, email, romanised_name FROM accounts WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(account_row)
        .transpose()
    }

    async fn account_by_username(&self, username: &str) -> StoreResult<Option<AccountRow>> {
        sqlx::query(
            "SELECT id, username, display_name, password_hash, disabled, phone, email, romanised_name FROM accounts \
             WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(account_row)
        .transpose()
    }

    async fn insert_grant(
        &self,
        account: AccountId,
        role: Role,
        place: Option<PlaceId>,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO role_grants (account_id, role, place_id) VALUES ($1, $2, $3)")
            .bind(account.0)
            .bind(role.as_str())
            .bind(place.map(|p| p.0))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn grants(&self, account: AccountId) -> StoreResult<Vec<GrantRow>> {
        let rows =
            sqlx::query("SELECT role, place_id FROM role_grants WHERE account_id = $1 ORDER BY id")
                .bind(account.0)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| {
                let r: String = row.try_get("role")?;
                Ok(GrantRow {
                    role: role(&r)?,
                    place: row.try_get::<Option<i64>, _>("place_id")?.map(PlaceId),
                })
            })
            .collect()
    }

    async fn insert_meeting(
        &self,
        kind: &str,
        title: &str,
        place: PlaceId,
        chair: AccountId,
        at: i64,
    ) -> StoreResult<MeetingId> {
        let row = sqlx::query(
            "INSERT INTO meetings (kind, title, place_id, chair_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(kind)
        .bind(title)
        .bind(place.0)
        .bind(chair.0)
        .bind(at)
        .fetch_one(&self.pool)
        .await?;
        Ok(MeetingId(row.try_get("id")?))
    }

    async fn meeting_place(&self, id: MeetingId) -> StoreResult<Option<PlaceId>> {
        let row = sqlx::query("SELECT place_id FROM meetings WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(PlaceId(r.try_get("place_id")?))).transpose()
    }

    async fn insert_message(&self, m: NewMessage<'_>) -> StoreResult<MessageRow> {
        sqlx::query(
            "INSERT INTO messages (channel, author_id, author_role, request_id, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (author_id, request_id) DO NOTHING",
        )
        .bind(m.channel.to_string())
        .bind(m.author.0)
        .bind(m.author_role.map(|r| r.as_str()))
        .bind(m.request_id.as_str())
        .bind(m.text)
        .bind(m.at)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} WHERE m.author_id = $1 AND m.request_id = $2"
        ))
        .bind(m.author.0)
        .bind(m.request_id.as_str())
        .fetch_one(&self.pool)
        .await?;
        message_row(&row)
    }

    async fn messages(
        &self,
        channel: Channel,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<MessageRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} WHERE m.channel = $1 AND m.id < $2 ORDER BY m.id DESC LIMIT $3"
        ))
        .bind(channel.to_string())
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(message_row).collect()
    }
}

pub(crate) const PLACE_COLUMNS: &str =
    "id, kind, parent_id, name, name_zh, archived_at, units, floors";

pub(crate) fn place_info(row: &AnyRow) -> StoreResult<PlaceInfo> {
    let kind: String = row.try_get("kind")?;
    let figure = |column: &str| -> StoreResult<Option<u32>> {
        Ok(row
            .try_get::<Option<i64>, _>(column)?
            .map(|n| u32::try_from(n).unwrap_or(0)))
    };
    Ok(PlaceInfo {
        id: PlaceId(row.try_get("id")?),
        kind: place_kind(&kind)?,
        name: row.try_get("name")?,
        name_zh: row.try_get("name_zh")?,
        parent_id: row.try_get::<Option<i64>, _>("parent_id")?.map(PlaceId),
        archived: row.try_get::<Option<i64>, _>("archived_at")?.is_some(),
        units: figure("units")?,
        floors: figure("floors")?,
    })
}
