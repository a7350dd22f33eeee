//! `PushStore` for `SqlStore`.

use super::{MAX_PER_ACCOUNT, PushStore, PushSubscriptionRow};
use crate::store::{SqlStore, StoreResult, sql::Backend};
use async_trait::async_trait;
use hehe_protocol::AccountId;
use sqlx::Row;
use sqlx::any::AnyRow;

const COLUMNS: &str =
    "id, account_id, endpoint, p256dh, auth, created_at, last_used_at FROM push_subscriptions";

fn row(row: &AnyRow) -> StoreResult<PushSubscriptionRow> {
    Ok(PushSubscriptionRow {
        id: row.try_get("id")?,
        account: AccountId(row.try_get("account_id")?),
        endpoint: row.try_get("endpoint")?,
        p256dh: row.try_get("p256dh")?,
        auth: row.try_get("auth")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

#[async_trait]
impl PushStore for SqlStore {
    async fn push_subscribe(
        &self,
        account: AccountId,
        endpoint: &str,
        p256dh: &str,
        auth: &str,
        at: i64,
    ) -> StoreResult<i64> {
        let mut tx = self.identity_tx().await?;
        // SQLite's BEGIN IMMEDIATE serialises writers already; on PostgreSQL two subscribes of
        // one account queue on its row, so the count they trim to is the one they leave.
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT id FROM accounts WHERE id = $1 FOR UPDATE")
                .bind(account.0)
                .fetch_optional(&mut *tx)
                .await?;
        }
        let id: i64 = sqlx::query(
            "INSERT INTO push_subscriptions (account_id, endpoint, p256dh, auth, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (endpoint) DO UPDATE SET account_id = excluded.account_id, \
             p256dh = excluded.p256dh, auth = excluded.auth, created_at = excluded.created_at, \
             last_used_at = NULL \
             RETURNING id",
        )
        .bind(account.0)
        .bind(endpoint)
        .bind(p256dh)
        .bind(auth)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        sqlx::query(
            "DELETE FROM push_subscriptions WHERE account_id = $1 AND id NOT IN \
             (SELECT id FROM push_subscriptions WHERE account_id = $1 \
              ORDER BY created_at DESC, id DESC LIMIT $2)",
        )
        .bind(account.0)
        .bind(MAX_PER_ACCOUNT)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn push_unsubscribe(&self, account: AccountId, endpoint: &str) -> StoreResult<bool> {
        let done =
            sqlx::query("DELETE FROM push_subscriptions WHERE account_id = $1 AND endpoint = $2")
                .bind(account.0)
                .bind(endpoint)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn push_subscriptions(
        &self,
        account: AccountId,
    ) -> StoreResult<Vec<PushSubscriptionRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} WHERE account_id = $1 ORDER BY created_at, id"
        ))
        .bind(account.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(row).collect()
    }

    async fn push_subscription(&self, id: i64) -> StoreResult<Option<PushSubscriptionRow>> {
        sqlx::query(&format!("SELECT {COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(row)
            .transpose()
    }

    async fn push_forget(&self, id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM push_subscriptions WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn push_touch(&self, id: i64, at: i64) -> StoreResult<()> {
        sqlx::query("UPDATE push_subscriptions SET last_used_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
