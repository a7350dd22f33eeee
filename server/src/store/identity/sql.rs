//! `IdentityStore` for `SqlStore`: sessions, grant and account changes, the audit log.

use super::{AuditRow, FirstAdmin, GrantChange, IdentityStore, NewAudit, Outcome, RevokedSession};
use crate::store::{SqlStore, StoreError, StoreResult, sql::Backend};
use async_trait::async_trait;
use hehe_protocol::{AccountId, PlaceId};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

impl SqlStore {
    /// A write transaction; on SQLite it takes the write lock at once, so a read followed by a
    /// write cannot fail because another writer got in between.
    pub(crate) async fn identity_tx(&self) -> StoreResult<Transaction<'static, Any>> {
        Ok(match self.backend() {
            Backend::Sqlite => self.pool().begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool().begin().await?,
        })
    }
}

pub(crate) async fn write_audit(
    tx: &mut Transaction<'static, Any>,
    e: &NewAudit,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, action, target, place_id, street_id, detail, \
         outcome, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(e.at)
    .bind(e.actor.0)
    .bind(e.action.as_str())
    .bind(e.target.as_str())
    .bind(e.place.map(|p| p.0))
    .bind(e.street.map(|p| p.0))
    .bind(e.detail.as_deref())
    .bind(e.outcome.as_str())
    .bind(e.request_id.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn audit_row(row: &AnyRow) -> StoreResult<AuditRow> {
    let outcome: String = row.try_get("outcome")?;
    Ok(AuditRow {
        id: row.try_get("id")?,
        entry: NewAudit {
            at: row.try_get("at")?,
            actor: AccountId(row.try_get("actor_id")?),
            action: row.try_get("action")?,
            target: row.try_get("target")?,
            place: row.try_get::<Option<i64>, _>("place_id")?.map(PlaceId),
            street: row.try_get::<Option<i64>, _>("street_id")?.map(PlaceId),
            detail: row.try_get("detail")?,
            outcome: match outcome.as_str() {
                "ok" => Outcome::Ok,
                "denied" => Outcome::Denied,
                other => return Err(StoreError::Corrupt(format!("audit outcome {other}"))),
            },
            request_id: row.try_get("request_id")?,
        },
    })
}

#[async_trait]
impl IdentityStore for SqlStore {
    async fn create_session(
        &self,
        sid: &str,
        account: AccountId,
        at: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id, account_id, generation, created_at, expires_at) \
             VALUES ($1, $2, 0, $3, $4)",
        )
        .bind(sid)
        .bind(account.0)
        .bind(at)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn rotate_session(
        &self,
        sid: &str,
        account: AccountId,
        generation: i64,
        now: i64,
        expires_at: i64,
        reuse_ms: i64,
    ) -> StoreResult<Option<i64>> {
        // One conditional update: two refreshes racing with the same token cannot both win.
        let done = sqlx::query(
            "UPDATE sessions SET generation = generation + 1, expires_at = $1, rotated_at = $5 \
             WHERE id = $2 AND account_id = $3 AND generation = $4 AND revoked_at IS NULL \
             AND expires_at > $5",
        )
        .bind(expires_at)
        .bind(sid)
        .bind(account.0)
        .bind(generation)
        .bind(now)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 1 {
            return Ok(Some(generation + 1));
        }
        // The loser of such a race: the token it holds was spent a moment ago.
        let recent = sqlx::query(
            "SELECT generation FROM sessions \
             WHERE id = $1 AND account_id = $2 AND generation = $3 AND revoked_at IS NULL \
             AND expires_at > $4 AND rotated_at > $5",
        )
        .bind(sid)
        .bind(account.0)
        .bind(generation + 1)
        .bind(now)
        .bind(now - reuse_ms)
        .fetch_optional(self.pool())
        .await?;
        Ok(recent.map(|_| generation + 1))
    }

    async fn revoke_session(&self, sid: &str, account: AccountId, at: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 \
             WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(sid)
        .bind(account.0)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_sessions(
        &self,
        account: AccountId,
        at: i64,
        audit: Option<&NewAudit>,
    ) -> StoreResult<Vec<String>> {
        let mut tx = self.identity_tx().await?;
        let rows = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 \
             WHERE account_id = $2 AND revoked_at IS NULL AND expires_at > $3 RETURNING id",
        )
        .bind(at)
        .bind(account.0)
        .bind(at)
        .fetch_all(&mut *tx)
        .await?;
        if let Some(entry) = audit {
            write_audit(&mut tx, entry).await?;
        }
        tx.commit().await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>("id")?))
            .collect()
    }

    async fn revoked_since(&self, since: i64) -> StoreResult<Vec<RevokedSession>> {
        let rows =
            sqlx::query("SELECT id, account_id, revoked_at FROM sessions WHERE revoked_at >= $1")
                .bind(since)
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|r| {
                Ok(RevokedSession {
                    sid: r.try_get("id")?,
                    account: AccountId(r.try_get("account_id")?),
                    revoked_at: r.try_get("revoked_at")?,
                })
            })
            .collect()
    }

    async fn prune_sessions(&self, before: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(before)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    async fn change_grant(&self, change: GrantChange, audit: &NewAudit) -> StoreResult<bool> {
        let mut tx = self.identity_tx().await?;
        let place = change.place.map(|p| p.0);
        let done =
            match (change.add, place) {
                (true, _) => {
                    // The unique index covers (account, role, place or 0): a grant held already
                    // is left as it is.
                    sqlx::query(
                        "INSERT INTO role_grants (account_id, role, place_id) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                    )
                    .bind(change.account.0)
                    .bind(change.role.as_str())
                    .bind(place)
                    .execute(&mut *tx)
                    .await?
                }
                (false, Some(place)) => sqlx::query(
                    "DELETE FROM role_grants WHERE account_id = $1 AND role = $2 AND place_id = $3",
                )
                .bind(change.account.0)
                .bind(change.role.as_str())
                .bind(place)
                .execute(&mut *tx)
                .await?,
                (false, None) => {
                    sqlx::query(
                        "DELETE FROM role_grants WHERE account_id = $1 AND role = $2 \
                     AND place_id IS NULL",
                    )
                    .bind(change.account.0)
                    .bind(change.role.as_str())
                    .execute(&mut *tx)
                    .await?
                }
            };
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        write_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn set_disabled(
        &self,
        account: AccountId,
        disabled: bool,
        audit: &NewAudit,
    ) -> StoreResult<bool> {
        let mut tx = self.identity_tx().await?;
        let done =
            sqlx::query("UPDATE accounts SET disabled = $1 WHERE id = $2 AND disabled <> $3")
                .bind(i64::from(disabled))
                .bind(account.0)
                .bind(i64::from(disabled))
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        write_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn create_first_admin(&self, admin: FirstAdmin<'_>) -> StoreResult<Option<AccountId>> {
        let mut tx = self.identity_tx().await?;
        // SQLite's BEGIN IMMEDIATE already holds the only write lock; PostgreSQL's transactions
        // run side by side, so two first admins started at once would both find none.
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7240518) AS locked")
                .fetch_one(&mut *tx)
                .await?;
        }
        let existing =
            sqlx::query("SELECT 1 AS found FROM role_grants WHERE role = 'admin' LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        if existing.is_some() {
            return Ok(None);
        }
        let row = sqlx::query(
            "INSERT INTO accounts (username, display_name, password_hash) VALUES ($1, $2, $3) \
             RETURNING id",
        )
        .bind(admin.username)
        .bind(admin.display_name)
        .bind(admin.password_hash)
        .fetch_one(&mut *tx)
        .await?;
        let id = AccountId(row.try_get("id")?);
        sqlx::query(
            "INSERT INTO role_grants (account_id, role, place_id) VALUES ($1, 'admin', NULL)",
        )
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        let audit = NewAudit {
            at: admin.at,
            actor: id,
            action: "account.first_admin".into(),
            target: format!("account:{}", id.0),
            place: None,
            street: None,
            detail: Some("admin".into()),
            outcome: Outcome::Ok,
            request_id: None,
        };
        write_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    async fn insert_audit(&self, entry: &NewAudit) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn audit_entries(
        &self,
        street: Option<PlaceId>,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<AuditRow>> {
        const COLUMNS: &str = "id, at, actor_id, action, target, place_id, street_id, detail, \
             outcome, request_id FROM audit_log";
        let before = before.unwrap_or(i64::MAX);
        let rows =
            match street {
                Some(street) => sqlx::query(&format!(
                    "SELECT {COLUMNS} WHERE street_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
                ))
                .bind(street.0)
                .bind(before)
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await?,
                None => {
                    sqlx::query(&format!(
                        "SELECT {COLUMNS} WHERE id < $1 ORDER BY id DESC LIMIT $2"
                    ))
                    .bind(before)
                    .bind(i64::from(limit))
                    .fetch_all(self.pool())
                    .await?
                }
            };
        rows.iter().map(audit_row).collect()
    }
}
