//! `CredentialStore` for `SqlStore`.

use super::{CodeRow, CredentialStore, Decision, NewCode, OFFICIAL_RESET, ResidencyRow, Signup};
use crate::domain::codes::{Recent, SendRefusal};
use crate::store::identity::NewAudit;
use crate::store::identity::sql::write_audit;
use crate::store::{SqlStore, StoreError, StoreResult, sql::Backend};
use async_trait::async_trait;
use hehe_protocol::credentials::ResidencyState;
use hehe_protocol::{AccountId, PlaceId};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

const CODE_COLUMNS: &str = "id, purpose, phone, account_id, salt, code_hash, created_at, \
     expires_at, attempts, used_at FROM codes";

fn code_row(row: &AnyRow) -> StoreResult<CodeRow> {
    Ok(CodeRow {
        id: row.try_get("id")?,
        purpose: row.try_get("purpose")?,
        phone: row.try_get("phone")?,
        account: row.try_get::<Option<i64>, _>("account_id")?.map(AccountId),
        salt: row.try_get("salt")?,
        code_hash: row.try_get("code_hash")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        used: row.try_get::<Option<i64>, _>("used_at")?.is_some(),
    })
}

const RESIDENCY_COLUMNS: &str = "r.id, r.account_id, a.display_name, a.phone, r.building_id, \
     r.state, r.reason, r.created_at, r.decided_at, r.decided_by \
     FROM residency_requests r JOIN accounts a ON a.id = r.account_id";

fn residency_row(row: &AnyRow) -> StoreResult<ResidencyRow> {
    let state: String = row.try_get("state")?;
    Ok(ResidencyRow {
        id: row.try_get("id")?,
        account: AccountId(row.try_get("account_id")?),
        display_name: row.try_get("display_name")?,
        phone: row.try_get("phone")?,
        building: PlaceId(row.try_get("building_id")?),
        state: ResidencyState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("residency state {state}")))?,
        reason: row.try_get("reason")?,
        created_at: row.try_get("created_at")?,
        decided_at: row.try_get("decided_at")?,
        decided_by: row.try_get::<Option<i64>, _>("decided_by")?.map(AccountId),
    })
}

/// Spends a code inside `tx`; false when it was spent already.
async fn spend(tx: &mut Transaction<'static, Any>, code: i64, at: i64) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
        .bind(at)
        .bind(code)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Counts `COUNT(*)` and `MIN(created_at)` of a query with one key and a `since`.
async fn count_since(
    tx: &mut Transaction<'static, Any>,
    sql: &str,
    key: &str,
    since: i64,
) -> StoreResult<(u32, Option<i64>)> {
    let row = sqlx::query(sql)
        .bind(key)
        .bind(since)
        .fetch_one(&mut **tx)
        .await?;
    let n: i64 = row.try_get("n")?;
    Ok((u32::try_from(n).unwrap_or(u32::MAX), row.try_get("oldest")?))
}

async fn revoke_all(
    tx: &mut Transaction<'static, Any>,
    account: AccountId,
    keep: Option<&str>,
    at: i64,
) -> StoreResult<Vec<String>> {
    let rows = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 \
         WHERE account_id = $2 AND revoked_at IS NULL AND expires_at > $3 AND id <> $4 \
         RETURNING id",
    )
    .bind(at)
    .bind(account.0)
    .bind(at)
    // No session id is empty: with none to keep, every session goes.
    .bind(keep.unwrap_or(""))
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>("id")?))
        .collect()
}

async fn set_password(
    tx: &mut Transaction<'static, Any>,
    account: AccountId,
    password_hash: &str,
) -> StoreResult<()> {
    sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(account.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[async_trait]
impl CredentialStore for SqlStore {
    async fn insert_code_if(
        &self,
        code: NewCode<'_>,
        since: i64,
        allow: &(dyn Fn(Recent) -> Result<(), SendRefusal> + Send + Sync),
    ) -> StoreResult<Result<i64, SendRefusal>> {
        let mut tx = self.identity_tx().await?;
        let phone = code.phone.unwrap_or_default();
        // SQLite's BEGIN IMMEDIATE holds the only write lock already; on PostgreSQL requests
        // for one number queue here, so the count they read is the one they insert after.
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7240519, hashtext($1)) AS locked")
                .bind(phone)
                .fetch_one(&mut *tx)
                .await?;
        }
        let last = sqlx::query(
            "SELECT MAX(created_at) AS last FROM codes \
             WHERE phone = $1 AND purpose = $2 AND created_at >= $3",
        )
        .bind(phone)
        .bind(code.purpose)
        .bind(since)
        .fetch_one(&mut *tx)
        .await?;
        let (number, number_oldest) = count_since(
            &mut tx,
            "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM codes \
             WHERE phone = $1 AND created_at >= $2",
            phone,
            since,
        )
        .await?;
        let (address, address_oldest) = match code.client_key {
            Some(key) => {
                count_since(
                    &mut tx,
                    "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM codes \
                     WHERE client_key = $1 AND created_at >= $2",
                    key,
                    since,
                )
                .await?
            }
            None => (0, None),
        };
        let recent = Recent {
            last_same: last.try_get("last")?,
            number,
            number_oldest,
            address,
            address_oldest,
        };
        if let Err(refusal) = allow(recent) {
            tx.rollback().await?;
            return Ok(Err(refusal));
        }
        let id = insert(&mut tx, &code).await?;
        tx.commit().await?;
        Ok(Ok(id))
    }

    async fn latest_code(&self, purpose: &str, phone: &str) -> StoreResult<Option<CodeRow>> {
        sqlx::query(&format!(
            "SELECT {CODE_COLUMNS} WHERE purpose = $1 AND phone = $2 ORDER BY id DESC LIMIT 1"
        ))
        .bind(purpose)
        .bind(phone)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(code_row)
        .transpose()
    }

    async fn latest_reset_code(&self, account: AccountId) -> StoreResult<Option<CodeRow>> {
        sqlx::query(&format!(
            "SELECT {CODE_COLUMNS} WHERE purpose = $1 AND account_id = $2 ORDER BY id DESC LIMIT 1"
        ))
        .bind(OFFICIAL_RESET)
        .bind(account.0)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(code_row)
        .transpose()
    }

    async fn code_failed(&self, id: i64) -> StoreResult<u32> {
        let row = sqlx::query(
            "UPDATE codes SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts",
        )
        .bind(id)
        .fetch_one(self.pool())
        .await?;
        Ok(u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX))
    }

    async fn insert_reset_code(&self, code: NewCode<'_>, audit: &NewAudit) -> StoreResult<i64> {
        let mut tx = self.identity_tx().await?;
        // One reset code per account at a time: a new one voids those handed out before.
        sqlx::query(
            "UPDATE codes SET used_at = $1 WHERE purpose = $2 AND account_id = $3 \
             AND used_at IS NULL",
        )
        .bind(code.created_at)
        .bind(OFFICIAL_RESET)
        .bind(code.account.map(|a| a.0))
        .execute(&mut *tx)
        .await?;
        let id = insert(&mut tx, &code).await?;
        write_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn sign_up(&self, s: Signup<'_>) -> StoreResult<Option<(AccountId, i64)>> {
        let mut tx = self.identity_tx().await?;
        if !spend(&mut tx, s.code, s.at).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        let row = sqlx::query(
            "INSERT INTO accounts (username, display_name, password_hash, phone, romanised_name) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(s.username)
        .bind(s.display_name)
        .bind(s.password_hash)
        .bind(s.phone)
        .bind(s.romanised_name)
        .fetch_one(&mut *tx)
        .await?;
        let account = AccountId(row.try_get("id")?);
        let request = insert_request(&mut tx, account, s.building, s.at).await?;
        tx.commit().await?;
        Ok(Some((account, request)))
    }

    async fn reset_password(
        &self,
        code: i64,
        account: AccountId,
        password_hash: &str,
        revoked_at: i64,
        audit: &NewAudit,
    ) -> StoreResult<Option<Vec<String>>> {
        let mut tx = self.identity_tx().await?;
        if !spend(&mut tx, code, audit.at).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        set_password(&mut tx, account, password_hash).await?;
        let sids = revoke_all(&mut tx, account, None, revoked_at).await?;
        write_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(sids))
    }

    async fn change_password(
        &self,
        account: AccountId,
        password_hash: &str,
        keep: &str,
        revoked_at: i64,
        audit: &NewAudit,
    ) -> StoreResult<Vec<String>> {
        let mut tx = self.identity_tx().await?;
        set_password(&mut tx, account, password_hash).await?;
        let sids = revoke_all(&mut tx, account, Some(keep), revoked_at).await?;
        write_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(sids)
    }

    async fn update_profile(
        &self,
        account: AccountId,
        display_name: Option<&str>,
        romanised_name: Option<Option<&str>>,
    ) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        if let Some(name) = display_name {
            sqlx::query("UPDATE accounts SET display_name = $1 WHERE id = $2")
                .bind(name)
                .bind(account.0)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(name) = romanised_name {
            sqlx::query("UPDATE accounts SET romanised_name = $1 WHERE id = $2")
                .bind(name)
                .bind(account.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn insert_residency_request(
        &self,
        account: AccountId,
        building: PlaceId,
        at: i64,
    ) -> StoreResult<i64> {
        let mut tx = self.pool().begin().await?;
        let id = insert_request(&mut tx, account, building, at).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn residency_request(&self, id: i64) -> StoreResult<Option<ResidencyRow>> {
        sqlx::query(&format!("SELECT {RESIDENCY_COLUMNS} WHERE r.id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(residency_row)
            .transpose()
    }

    async fn residency_requests(
        &self,
        state: Option<ResidencyState>,
        account: Option<AccountId>,
        limit: u32,
    ) -> StoreResult<Vec<ResidencyRow>> {
        // An absent filter is bound as '' or 0 and matches everything: one query for every case.
        let rows = sqlx::query(&format!(
            "SELECT {RESIDENCY_COLUMNS} \
             WHERE ($1 = '' OR r.state = $1) AND ($2 = 0 OR r.account_id = $2) \
             ORDER BY r.id DESC LIMIT $3"
        ))
        .bind(state.map_or("", ResidencyState::as_str))
        .bind(account.map_or(0, |a| a.0))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(residency_row).collect()
    }

    async fn decide_residency(&self, d: &Decision, audit: &NewAudit) -> StoreResult<bool> {
        let mut tx = self.identity_tx().await?;
        let state = if d.approve {
            ResidencyState::Approved
        } else {
            ResidencyState::Refused
        };
        let done = sqlx::query(
            "UPDATE residency_requests SET state = $1, reason = $2, decided_at = $3, \
             decided_by = $4 WHERE id = $5 AND state = 'pending'",
        )
        .bind(state.as_str())
        .bind(d.reason.as_deref())
        .bind(d.at)
        .bind(d.by.0)
        .bind(d.request)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        for old in d.grant.iter().flat_map(|_| &d.ungrant) {
            sqlx::query(
                "DELETE FROM role_grants WHERE account_id = $1 AND role = 'resident' \
                 AND place_id = $2",
            )
            .bind(d.grant.map(|(a, _)| a.0))
            .bind(old.0)
            .execute(&mut *tx)
            .await?;
        }
        if let Some((account, community)) = d.grant {
            sqlx::query(
                "INSERT INTO role_grants (account_id, role, place_id) \
                 VALUES ($1, 'resident', $2) ON CONFLICT DO NOTHING",
            )
            .bind(account.0)
            .bind(community.0)
            .execute(&mut *tx)
            .await?;
        }
        write_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }
}

async fn insert(tx: &mut Transaction<'static, Any>, c: &NewCode<'_>) -> StoreResult<i64> {
    let row = sqlx::query(
        "INSERT INTO codes (purpose, phone, account_id, salt, code_hash, created_at, expires_at, \
         sent, client_key, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         RETURNING id",
    )
    .bind(c.purpose)
    .bind(c.phone)
    .bind(c.account.map(|a| a.0))
    .bind(c.salt)
    .bind(c.code_hash)
    .bind(c.created_at)
    .bind(c.expires_at)
    .bind(i64::from(c.sent))
    .bind(c.client_key)
    .bind(c.created_by.map(|a| a.0))
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

async fn insert_request(
    tx: &mut Transaction<'static, Any>,
    account: AccountId,
    building: PlaceId,
    at: i64,
) -> StoreResult<i64> {
    let row = sqlx::query(
        "INSERT INTO residency_requests (account_id, building_id, state, created_at) \
         VALUES ($1, $2, 'pending', $3) RETURNING id",
    )
    .bind(account.0)
    .bind(building.0)
    .bind(at)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}
