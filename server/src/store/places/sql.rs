//! `PlaceStore` for `SqlStore`.

use super::{NewPlaceRow, PlaceEdit, PlaceStore, PlaceWrite};
use crate::domain::place_import::NewPlace;
use crate::store::identity::NewAudit;
use crate::store::identity::sql::write_audit;
use crate::store::{Backend, PLACE_COLUMNS, path_of, place_info};
use crate::store::{SqlStore, StoreError, StoreResult};
use async_trait::async_trait;
use hehe_protocol::http::{PlaceInfo, PlaceKind};
use hehe_protocol::{AccountId, PlaceId};
use sqlx::{Any, Row, Transaction};
use std::collections::HashMap;
use std::sync::atomic::Ordering;

type Tx = Transaction<'static, Any>;

impl SqlStore {
    /// A write transaction; SQLite takes the write lock at once, so the checks read in it hold
    /// until it commits.
    async fn places_tx(&self) -> StoreResult<Tx> {
        Ok(match self.backend() {
            Backend::Sqlite => self.pool().begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool().begin().await?,
        })
    }
}

async fn read(tx: &mut Tx, id: PlaceId) -> StoreResult<Option<PlaceInfo>> {
    let row = sqlx::query(&format!("SELECT {PLACE_COLUMNS} FROM places WHERE id = $1"))
        .bind(id.0)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(place_info).transpose()
}

/// The audit entry of a change to `place` in `street`.
fn about(audit: &NewAudit, place: PlaceId, street: Option<PlaceId>) -> NewAudit {
    NewAudit {
        target: format!("place:{}", place.0),
        place: Some(place),
        street: street.or(audit.street),
        ..audit.clone()
    }
}

/// A sibling's name taken is a unique violation; any other conflict stays what it is.
fn name_taken<T>(result: StoreResult<T>) -> StoreResult<Result<T, PlaceWrite>> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(StoreError::Conflict(_)) => Ok(Err(PlaceWrite::NameTaken)),
        Err(e) => Err(e),
    }
}

fn figure(n: Option<u32>) -> Option<i64> {
    n.map(i64::from)
}

async fn insert(tx: &mut Tx, new: &NewPlaceRow<'_>) -> StoreResult<PlaceId> {
    let row = sqlx::query(
        "INSERT INTO places (kind, parent_id, name, name_zh, units, floors, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(new.kind.as_str())
    .bind(new.parent.map(|p| p.0))
    .bind(new.name)
    .bind(new.name_zh)
    .bind(figure(new.units))
    .bind(figure(new.floors))
    .bind(new.at)
    .fetch_one(&mut **tx)
    .await?;
    Ok(PlaceId(row.try_get("id")?))
}

#[async_trait]
impl PlaceStore for SqlStore {
    async fn create_place(
        &self,
        new: &NewPlaceRow<'_>,
        audit: &NewAudit,
    ) -> StoreResult<PlaceWrite> {
        let mut tx = self.places_tx().await?;
        if let Some(parent) = new.parent {
            match read(&mut tx, parent).await? {
                None => return Ok(PlaceWrite::Missing),
                Some(p) if p.archived => return Ok(PlaceWrite::ArchivedParent),
                Some(_) => {}
            }
        }
        // Within a transaction PostgreSQL aborts on the first error, so the name is looked
        // for first rather than left to the unique index.
        if self
            .named_in(&mut tx, new.parent, new.name_zh)
            .await?
            .is_some()
        {
            return Ok(PlaceWrite::NameTaken);
        }
        let id = match name_taken(insert(&mut tx, new).await)? {
            Ok(id) => id,
            Err(refused) => return Ok(refused),
        };
        let street = (new.kind == PlaceKind::Street).then_some(id);
        write_audit(&mut tx, &about(audit, id, street)).await?;
        let info = read(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("place {id} vanished")))?;
        tx.commit().await?;
        Ok(PlaceWrite::Done(info))
    }

    async fn edit_place(
        &self,
        id: PlaceId,
        edit: &PlaceEdit<'_>,
        audit: &NewAudit,
    ) -> StoreResult<PlaceWrite> {
        let mut tx = self.places_tx().await?;
        let Some(before) = read(&mut tx, id).await? else {
            return Ok(PlaceWrite::Missing);
        };
        let name = edit.name.unwrap_or(&before.name);
        let name_zh = edit.name_zh.unwrap_or(&before.name_zh);
        let units = edit.units.unwrap_or(before.units);
        let floors = edit.floors.unwrap_or(before.floors);
        if (name, name_zh, units, floors)
            == (
                before.name.as_str(),
                before.name_zh.as_str(),
                before.units,
                before.floors,
            )
        {
            return Ok(PlaceWrite::Unchanged(before));
        }
        if name_zh != before.name_zh
            && self
                .named_in(&mut tx, before.parent_id, name_zh)
                .await?
                .is_some()
        {
            return Ok(PlaceWrite::NameTaken);
        }
        let written = sqlx::query(
            "UPDATE places SET name = $2, name_zh = $3, units = $4, floors = $5, \
             updated_at = $6 WHERE id = $1",
        )
        .bind(id.0)
        .bind(name)
        .bind(name_zh)
        .bind(figure(units))
        .bind(figure(floors))
        .bind(edit.at)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from);
        if let Err(refused) = name_taken(written)? {
            return Ok(refused);
        }
        write_audit(&mut tx, &about(audit, id, None)).await?;
        let info = read(&mut tx, id).await?.ok_or(StoreError::Stale)?;
        tx.commit().await?;
        Ok(PlaceWrite::Done(info))
    }

    async fn move_place(
        &self,
        id: PlaceId,
        parent: PlaceId,
        at: i64,
        audit: &NewAudit,
    ) -> StoreResult<PlaceWrite> {
        let mut tx = self.places_tx().await?;
        let Some(before) = read(&mut tx, id).await? else {
            return Ok(PlaceWrite::Missing);
        };
        if before.parent_id == Some(parent) {
            return Ok(PlaceWrite::Unchanged(before));
        }
        match read(&mut tx, parent).await? {
            None => return Ok(PlaceWrite::Missing),
            Some(p) if p.archived => return Ok(PlaceWrite::ArchivedParent),
            Some(_) => {}
        }
        if self
            .named_in(&mut tx, Some(parent), &before.name_zh)
            .await?
            .is_some()
        {
            return Ok(PlaceWrite::NameTaken);
        }
        let above = path_of(&mut *tx, parent).await?.ok_or(StoreError::Stale)?;
        sqlx::query("UPDATE places SET parent_id = $2, updated_at = $3 WHERE id = $1")
            .bind(id.0)
            .bind(parent.0)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        // Issues keep their grid, community and street beside their place, for the indexes
        // their listings and figures read: they follow the place.
        let (street, community) = (above.street.0, above.community.map(|c| c.0));
        let refile = match before.kind {
            PlaceKind::Building => sqlx::query(
                "UPDATE issues SET grid_id = $2, community_id = $3, street_id = $4 \
                 WHERE place_id = $1",
            )
            .bind(id.0)
            .bind(above.grid.map(|g| g.0))
            .bind(community)
            .bind(street),
            PlaceKind::Grid => sqlx::query(
                "UPDATE issues SET community_id = $2, street_id = $3 WHERE grid_id = $1",
            )
            .bind(id.0)
            .bind(community)
            .bind(street),
            PlaceKind::Compound => sqlx::query(
                "UPDATE issues SET community_id = $2, street_id = $3 \
                 WHERE grid_id IN (SELECT id FROM places WHERE parent_id = $1)",
            )
            .bind(id.0)
            .bind(community)
            .bind(street),
            PlaceKind::Community | PlaceKind::Street => {
                sqlx::query("UPDATE issues SET street_id = $2 WHERE community_id = $1")
                    .bind(id.0)
                    .bind(street)
            }
        };
        refile.execute(&mut *tx).await?;
        sqlx::query("UPDATE place_changes SET version = version + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        write_audit(&mut tx, &about(audit, id, Some(above.street))).await?;
        let info = read(&mut tx, id).await?.ok_or(StoreError::Stale)?;
        tx.commit().await?;
        self.forget_place_paths();
        Ok(PlaceWrite::Done(info))
    }

    async fn set_place_archived(
        &self,
        id: PlaceId,
        archived: bool,
        at: i64,
        audit: &NewAudit,
    ) -> StoreResult<PlaceWrite> {
        let mut tx = self.places_tx().await?;
        let Some(before) = read(&mut tx, id).await? else {
            return Ok(PlaceWrite::Missing);
        };
        if before.archived == archived {
            return Ok(PlaceWrite::Unchanged(before));
        }
        if archived {
            let row = sqlx::query(
                "SELECT COUNT(*) AS n FROM places WHERE parent_id = $1 AND archived_at IS NULL",
            )
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?;
            if row.try_get::<i64, _>("n")? > 0 {
                return Ok(PlaceWrite::LiveChildren);
            }
        } else if let Some(parent) = before.parent_id
            && read(&mut tx, parent).await?.is_some_and(|p| p.archived)
        {
            return Ok(PlaceWrite::ArchivedParent);
        }
        sqlx::query("UPDATE places SET archived_at = $2, updated_at = $3 WHERE id = $1")
            .bind(id.0)
            .bind(archived.then_some(at))
            .bind(at)
            .execute(&mut *tx)
            .await?;
        write_audit(&mut tx, &about(audit, id, None)).await?;
        let info = read(&mut tx, id).await?.ok_or(StoreError::Stale)?;
        tx.commit().await?;
        Ok(PlaceWrite::Done(info))
    }

    async fn places_under(
        &self,
        parent: Option<PlaceId>,
        archived: bool,
    ) -> StoreResult<Vec<PlaceInfo>> {
        let rows = sqlx::query(&format!(
            "SELECT {PLACE_COLUMNS} FROM places \
             WHERE COALESCE(parent_id, 0) = $1 AND ($2 = 1 OR archived_at IS NULL) ORDER BY id"
        ))
        .bind(parent.map_or(0, |p| p.0))
        .bind(i64::from(archived))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(place_info).collect()
    }

    async fn place_named(
        &self,
        parent: Option<PlaceId>,
        name_zh: &str,
    ) -> StoreResult<Option<PlaceInfo>> {
        let mut conn = self.pool().acquire().await?;
        named(&mut conn, parent, name_zh).await
    }

    async fn subtree(&self, root: PlaceId) -> StoreResult<Vec<PlaceInfo>> {
        let rows = sqlx::query(&format!(
            "WITH RECURSIVE sub (id) AS ( \
               SELECT id FROM places WHERE id = $1 \
               UNION ALL SELECT p.id FROM places p JOIN sub ON p.parent_id = sub.id \
             ) SELECT {PLACE_COLUMNS} FROM places WHERE id IN (SELECT id FROM sub) ORDER BY id"
        ))
        .bind(root.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(place_info).collect()
    }

    async fn import_places(
        &self,
        plan: &[NewPlace],
        at: i64,
        audit: &NewAudit,
    ) -> StoreResult<Vec<PlaceId>> {
        let mut tx = self.places_tx().await?;
        // Stand-in (negative) ids of the plan → the ids the places got.
        let mut real: HashMap<PlaceId, PlaceId> = HashMap::new();
        let resolve = |real: &HashMap<PlaceId, PlaceId>, id: PlaceId| -> StoreResult<PlaceId> {
            if id.0 > 0 {
                return Ok(id);
            }
            real.get(&id)
                .copied()
                .ok_or_else(|| StoreError::Corrupt("a planned place before its parent".into()))
        };
        let mut ids = Vec::with_capacity(plan.len());
        for p in plan {
            let parent = p.parent.map(|q| resolve(&real, q)).transpose()?;
            if let Some(parent) = parent
                && read(&mut tx, parent).await?.is_none_or(|q| q.archived)
            {
                // Archived or gone since the plan was made: the whole file waits for a retry.
                return Err(StoreError::Stale);
            }
            let new = NewPlaceRow {
                kind: p.kind,
                parent,
                name: &p.name,
                name_zh: &p.name_zh,
                units: p.units,
                floors: p.floors,
                at,
            };
            let id = insert(&mut tx, &new).await?;
            real.insert(p.id, id);
            let street = resolve(&real, p.street)?;
            let mut entry = about(audit, id, Some(street));
            entry.detail = Some(p.kind.as_str().to_owned());
            write_audit(&mut tx, &entry).await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    async fn accounts_granted_under(&self, root: PlaceId) -> StoreResult<Vec<AccountId>> {
        let rows = sqlx::query(
            "WITH RECURSIVE sub (id) AS ( \
               SELECT id FROM places WHERE id = $1 \
               UNION ALL SELECT p.id FROM places p JOIN sub ON p.parent_id = sub.id \
             ) SELECT DISTINCT account_id FROM role_grants \
               WHERE place_id IN (SELECT id FROM sub) ORDER BY account_id",
        )
        .bind(root.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok(AccountId(r.try_get("account_id")?)))
            .collect()
    }

    fn forget_place_paths(&self) {
        self.paths.forget();
    }

    async fn sync_place_paths(&self) -> StoreResult<bool> {
        let row = sqlx::query("SELECT version FROM place_changes WHERE id = 1")
            .fetch_one(self.pool())
            .await?;
        let version: i64 = row.try_get("version")?;
        if self.paths.version.swap(version, Ordering::SeqCst) == version {
            return Ok(false);
        }
        self.paths.forget();
        Ok(true)
    }
}

impl SqlStore {
    async fn named_in(
        &self,
        tx: &mut Tx,
        parent: Option<PlaceId>,
        name_zh: &str,
    ) -> StoreResult<Option<PlaceInfo>> {
        named(tx, parent, name_zh).await
    }
}

async fn named(
    conn: &mut sqlx::AnyConnection,
    parent: Option<PlaceId>,
    name_zh: &str,
) -> StoreResult<Option<PlaceInfo>> {
    let row = sqlx::query(&format!(
        "SELECT {PLACE_COLUMNS} FROM places WHERE COALESCE(parent_id, 0) = $1 AND name_zh = $2"
    ))
    .bind(parent.map_or(0, |p| p.0))
    .bind(name_zh)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(place_info).transpose()
}
