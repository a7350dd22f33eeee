//! `NotifyStore` for `SqlStore`.

use super::{
    ClaimedCause, ClaimedDelivery, DigestReader, Finished, NewNotification, NotifyStore, Profile,
    QueueStats,
};
use crate::domain::notify::{Cause, Prefs};
use crate::store::{SqlStore, StoreError, StoreResult};
use async_trait::async_trait;
use hehe_protocol::notify::{
    DeliveryInfo, DeliveryState, MarkRead, Notification, NotificationKind, NotifyChannel,
    NotifyPrefsUpdate, Subject, SubjectKind, SubjectUnread,
};
use hehe_protocol::{AccountId, IssueId, PlaceId};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row, Transaction};
use std::collections::BTreeMap;

/// Records a cause in the caller's transaction, so it is kept exactly when the change is.
pub(crate) async fn record_cause(
    conn: &mut AnyConnection,
    cause: &Cause,
    at: i64,
) -> StoreResult<()> {
    let json = serde_json::to_string(cause).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query("INSERT INTO notify_causes (cause, created_at) VALUES ($1, $2)")
        .bind(json)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(())
}

const NOTIFICATION_COLUMNS: &str = "n.id, n.kind, n.subject_kind, n.subject_id, n.title, n.body, n.urgent, n.created_at, n.read_at";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {what} {value:?}"))
}

fn notification(row: &AnyRow) -> StoreResult<Notification> {
    let kind: String = row.try_get("kind")?;
    let subject_kind: String = row.try_get("subject_kind")?;
    Ok(Notification {
        id: row.try_get("id")?,
        kind: NotificationKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
        subject: Subject {
            kind: SubjectKind::parse(&subject_kind)
                .ok_or_else(|| corrupt("subject", &subject_kind))?,
            id: row.try_get("subject_id")?,
        },
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        urgent: row.try_get::<i64, _>("urgent")? != 0,
        created_at: row.try_get("created_at")?,
        read_at: row.try_get("read_at")?,
    })
}

/// `1, 2, 3` for an `IN (…)`: the values are our own integers, never client text.
fn id_list(ids: impl IntoIterator<Item = i64>) -> String {
    ids.into_iter()
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Writes notifications (each once per person and key) with their deliveries; answers those
/// written now.
async fn insert_all(
    tx: &mut Transaction<'static, Any>,
    notifications: &[NewNotification],
    at: i64,
) -> StoreResult<Vec<(AccountId, Notification)>> {
    let mut written = Vec::new();
    for n in notifications {
        let row = sqlx::query(
            "INSERT INTO notifications (account_id, kind, subject_kind, subject_id, title, body, \
             urgent, dedupe_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (account_id, dedupe_key) DO NOTHING RETURNING id",
        )
        .bind(n.account.0)
        .bind(n.kind.as_str())
        .bind(n.subject.kind.as_str())
        .bind(n.subject.id)
        .bind(&n.title)
        .bind(&n.body)
        .bind(i64::from(n.urgent))
        .bind(&n.dedupe_key)
        .bind(at)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = row else { continue };
        let id: i64 = row.try_get("id")?;
        for d in &n.deliveries {
            sqlx::query(
                "INSERT INTO deliveries (notification_id, account_id, channel, target, payload, \
                 next_at, idempotency_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(n.account.0)
            .bind(d.channel.as_str())
            .bind(&d.target)
            .bind(d.payload.as_deref())
            .bind(d.next_at)
            .bind(format!("n{id}-{}-{}", d.channel.as_str(), d.target_key()))
            .bind(at)
            .execute(&mut **tx)
            .await?;
        }
        written.push((
            n.account,
            Notification {
                id,
                kind: n.kind,
                subject: n.subject,
                title: n.title.clone(),
                body: n.body.clone(),
                urgent: n.urgent,
                created_at: at,
                read_at: None,
            },
        ));
    }
    Ok(written)
}

impl super::NewDelivery {
    /// A short, stable part of the idempotency key that names the target without showing it.
    fn target_key(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(self.target.as_bytes());
        digest[..6].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Leases up to `limit` rows of `table` matching `due` to `node`: each row is taken only if no
/// other node holds a live lease on it.
async fn claim(
    store: &SqlStore,
    table: &str,
    due: &str,
    node: &str,
    now: i64,
    lease_ms: i64,
    limit: u32,
) -> StoreResult<Vec<i64>> {
    let candidates = sqlx::query(&format!(
        "SELECT id FROM {table} WHERE {due} AND (claimed_until IS NULL OR claimed_until < $1) \
         ORDER BY id LIMIT {limit}"
    ))
    .bind(now)
    .fetch_all(store.pool())
    .await?;
    let mut taken = Vec::new();
    for row in candidates {
        let id: i64 = row.try_get("id")?;
        let done = sqlx::query(&format!(
            "UPDATE {table} SET claimed_by = $1, claimed_until = $2 WHERE id = $3 AND {due} \
             AND (claimed_until IS NULL OR claimed_until < $4)"
        ))
        .bind(node)
        .bind(now + lease_ms)
        .bind(id)
        .bind(now)
        .execute(store.pool())
        .await?;
        if done.rows_affected() == 1 {
            taken.push(id);
        }
    }
    Ok(taken)
}

#[async_trait]
impl NotifyStore for SqlStore {
    async fn claim_causes(
        &self,
        node: &str,
        now: i64,
        lease_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedCause>> {
        let ids = claim(
            self,
            "notify_causes",
            "done_at IS NULL",
            node,
            now,
            lease_ms,
            limit,
        )
        .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(&format!(
            "SELECT id, cause, created_at FROM notify_causes WHERE id IN ({}) ORDER BY id",
            id_list(ids)
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ClaimedCause {
                    id: r.try_get("id")?,
                    cause: r.try_get("cause")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn expand_cause(
        &self,
        cause: i64,
        node: &str,
        notifications: &[NewNotification],
        at: i64,
    ) -> StoreResult<Vec<(AccountId, Notification)>> {
        let mut tx = self.write_tx().await?;
        let held = sqlx::query(
            "UPDATE notify_causes SET done_at = $1, attempts = attempts + 1 \
             WHERE id = $2 AND claimed_by = $3 AND done_at IS NULL",
        )
        .bind(at)
        .bind(cause)
        .bind(node)
        .execute(&mut *tx)
        .await?;
        if held.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        let written = insert_all(&mut tx, notifications, at).await?;
        tx.commit().await?;
        Ok(written)
    }

    async fn insert_notifications(
        &self,
        notifications: &[NewNotification],
        at: i64,
    ) -> StoreResult<Vec<(AccountId, Notification)>> {
        let mut tx = self.write_tx().await?;
        let written = insert_all(&mut tx, notifications, at).await?;
        tx.commit().await?;
        Ok(written)
    }

    async fn profiles(&self, accounts: &[AccountId]) -> StoreResult<Vec<Profile>> {
        let mut profiles = Vec::new();
        for chunk in accounts.chunks(500) {
            let ids = id_list(chunk.iter().map(|a| a.0));
            let rows = sqlx::query(&format!(
                "SELECT id, language, quiet_start, quiet_end, phone, email FROM accounts \
                 WHERE disabled = 0 AND id IN ({ids}) ORDER BY id"
            ))
            .fetch_all(self.pool())
            .await?;
            let mut found: BTreeMap<i64, Profile> = BTreeMap::new();
            for r in &rows {
                let id: i64 = r.try_get("id")?;
                let start: Option<i64> = r.try_get("quiet_start")?;
                let end: Option<i64> = r.try_get("quiet_end")?;
                let quiet = start.zip(end).map(|(s, e)| (s as u16, e as u16));
                found.insert(
                    id,
                    Profile {
                        account: AccountId(id),
                        language: r.try_get("language")?,
                        prefs: Prefs {
                            quiet,
                            choices: BTreeMap::new(),
                        },
                        push: Vec::new(),
                        phone: r.try_get("phone")?,
                        email: r.try_get("email")?,
                    },
                );
            }
            let prefs = sqlx::query(&format!(
                "SELECT account_id, kind, channel, enabled FROM notify_prefs \
                 WHERE account_id IN ({ids})"
            ))
            .fetch_all(self.pool())
            .await?;
            for r in &prefs {
                let id: i64 = r.try_get("account_id")?;
                let kind: String = r.try_get("kind")?;
                let channel: String = r.try_get("channel")?;
                let (Some(kind), Some(channel), Some(p)) = (
                    NotificationKind::parse(&kind),
                    NotifyChannel::parse(&channel),
                    found.get_mut(&id),
                ) else {
                    continue;
                };
                let enabled = r.try_get::<i64, _>("enabled")? != 0;
                p.prefs.choices.insert((kind, channel), enabled);
            }
            let subs = sqlx::query(&format!(
                "SELECT id, account_id FROM push_subscriptions WHERE account_id IN ({ids}) \
                 ORDER BY id"
            ))
            .fetch_all(self.pool())
            .await?;
            for r in &subs {
                let id: i64 = r.try_get("account_id")?;
                if let Some(p) = found.get_mut(&id) {
                    p.push.push(r.try_get("id")?);
                }
            }
            profiles.extend(found.into_values());
        }
        Ok(profiles)
    }

    async fn inbox(
        &self,
        account: AccountId,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<Notification>> {
        let rows = sqlx::query(&format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications n WHERE n.account_id = $1 \
             AND n.id < $2 ORDER BY n.id DESC LIMIT {limit}"
        ))
        .bind(account.0)
        .bind(before.unwrap_or(i64::MAX))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(notification).collect()
    }

    async fn unread(&self, account: AccountId) -> StoreResult<(u32, Vec<SubjectUnread>)> {
        let rows = sqlx::query(
            "SELECT subject_kind, subject_id, COUNT(*) AS n, MAX(created_at) AS latest \
             FROM notifications WHERE account_id = $1 AND read_at IS NULL \
             GROUP BY subject_kind, subject_id ORDER BY latest DESC, subject_id DESC",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await?;
        let mut total = 0u32;
        let mut subjects = Vec::new();
        for r in &rows {
            let kind: String = r.try_get("subject_kind")?;
            let n = count(r.try_get("n")?);
            total = total.saturating_add(n);
            if subjects.len() < 200 {
                subjects.push(SubjectUnread {
                    subject: Subject {
                        kind: SubjectKind::parse(&kind).ok_or_else(|| corrupt("subject", &kind))?,
                        id: r.try_get("subject_id")?,
                    },
                    unread: n,
                    latest_at: r.try_get("latest")?,
                });
            }
        }
        Ok((total, subjects))
    }

    async fn mark_read(&self, account: AccountId, what: &MarkRead, at: i64) -> StoreResult<u32> {
        let base =
            "UPDATE notifications SET read_at = $1 WHERE account_id = $2 AND read_at IS NULL";
        let done = if what.all {
            sqlx::query(base)
                .bind(at)
                .bind(account.0)
                .execute(self.pool())
                .await?
        } else if let Some(s) = what.subject {
            sqlx::query(&format!("{base} AND subject_kind = $3 AND subject_id = $4"))
                .bind(at)
                .bind(account.0)
                .bind(s.kind.as_str())
                .bind(s.id)
                .execute(self.pool())
                .await?
        } else if what.ids.is_empty() {
            return Ok(0);
        } else {
            let ids = id_list(what.ids.iter().copied());
            sqlx::query(&format!("{base} AND id IN ({ids})"))
                .bind(at)
                .bind(account.0)
                .execute(self.pool())
                .await?
        };
        Ok(count(done.rows_affected() as i64))
    }

    async fn set_notify_prefs(
        &self,
        account: AccountId,
        update: &NotifyPrefsUpdate,
        quiet: Option<Option<(u16, u16)>>,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        if let Some(language) = &update.language {
            sqlx::query("UPDATE accounts SET language = $1 WHERE id = $2")
                .bind(language)
                .bind(account.0)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(quiet) = quiet {
            sqlx::query("UPDATE accounts SET quiet_start = $1, quiet_end = $2 WHERE id = $3")
                .bind(quiet.map(|q| i64::from(q.0)))
                .bind(quiet.map(|q| i64::from(q.1)))
                .bind(account.0)
                .execute(&mut *tx)
                .await?;
        }
        for c in &update.choices {
            sqlx::query(
                "INSERT INTO notify_prefs (account_id, kind, channel, enabled) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, kind, channel) \
                 DO UPDATE SET enabled = excluded.enabled",
            )
            .bind(account.0)
            .bind(c.kind.as_str())
            .bind(c.channel.as_str())
            .bind(i64::from(c.enabled))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn claim_deliveries(
        &self,
        node: &str,
        now: i64,
        lease_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        let due = format!("state = 'pending' AND next_at <= {now}");
        let ids = claim(self, "deliveries", &due, node, now, lease_ms, limit).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(&format!(
            "SELECT d.id AS delivery_id, d.account_id, d.channel, d.target, d.payload, \
             d.attempts, d.idempotency_key, d.created_at AS delivery_created, a.language, \
             d.notification_id, {NOTIFICATION_COLUMNS} \
             FROM deliveries d JOIN accounts a ON a.id = d.account_id \
             LEFT JOIN notifications n ON n.id = d.notification_id \
             WHERE d.id IN ({}) ORDER BY d.id",
            id_list(ids)
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let channel: String = r.try_get("channel")?;
                let has_notification = r.try_get::<Option<i64>, _>("notification_id")?.is_some();
                Ok(ClaimedDelivery {
                    id: r.try_get("delivery_id")?,
                    account: AccountId(r.try_get("account_id")?),
                    channel: NotifyChannel::parse(&channel)
                        .ok_or_else(|| corrupt("channel", &channel))?,
                    target: r.try_get("target")?,
                    payload: r.try_get("payload")?,
                    attempts: count(r.try_get("attempts")?),
                    idempotency_key: r.try_get("idempotency_key")?,
                    created_at: r.try_get("delivery_created")?,
                    notification: if has_notification {
                        Some(notification(r)?)
                    } else {
                        None
                    },
                    language: r.try_get("language")?,
                })
            })
            .collect()
    }

    async fn finish_delivery(
        &self,
        id: i64,
        node: &str,
        finished: &Finished,
        at: i64,
    ) -> StoreResult<bool> {
        // (state, attempts added, next try, done at, error, lease given back)
        let (state, tried, next_at, done_at, error, release): (_, i64, _, _, _, i64) =
            match finished {
                Finished::Sent => ("sent", 1, None, Some(at), None, 0),
                Finished::Skipped(why) => ("skipped", 0, None, Some(at), Some(why.to_string()), 0),
                Finished::Retry { next_at, error } => {
                    ("pending", 1, Some(*next_at), None, Some(error.clone()), 1)
                }
                Finished::Dead(error) => ("dead", 1, None, Some(at), Some(error.clone()), 0),
            };
        let q = sqlx::query(
            "UPDATE deliveries SET state = $3, attempts = attempts + $4, \
             next_at = COALESCE($5, next_at), done_at = $6, last_error = COALESCE($7, last_error), \
             claimed_by = CASE WHEN $8 = 1 THEN NULL ELSE claimed_by END, claimed_until = NULL \
             WHERE id = $1 AND claimed_by = $2 AND state = 'pending'",
        )
        .bind(id)
        .bind(node)
        .bind(state)
        .bind(tried)
        .bind(next_at)
        .bind(done_at)
        .bind(error)
        .bind(release);
        Ok(q.execute(self.pool()).await?.rows_affected() == 1)
    }

    async fn queue_stats(&self, now: i64) -> StoreResult<QueueStats> {
        let r = sqlx::query(
            "SELECT \
             (SELECT COUNT(*) FROM deliveries WHERE state = 'pending') AS pending, \
             (SELECT MIN(next_at) FROM deliveries WHERE state = 'pending' AND next_at <= $1) \
                AS oldest, \
             (SELECT COUNT(*) FROM deliveries WHERE state = 'dead') AS dead, \
             (SELECT COUNT(*) FROM notify_causes WHERE done_at IS NULL) AS causes",
        )
        .bind(now)
        .fetch_one(self.pool())
        .await?;
        let oldest: Option<i64> = r.try_get("oldest")?;
        Ok(QueueStats {
            pending: r.try_get::<i64, _>("pending")? as u64,
            oldest_due_ms: oldest.map_or(0, |o| (now - o).max(0)),
            dead: r.try_get::<i64, _>("dead")? as u64,
            causes_pending: r.try_get::<i64, _>("causes")? as u64,
        })
    }

    async fn deliveries(&self, state: DeliveryState, limit: u32) -> StoreResult<Vec<DeliveryInfo>> {
        let rows = sqlx::query(&format!(
            "SELECT d.id, d.channel, d.state, d.attempts, d.last_error, d.created_at, d.next_at, \
             COALESCE(n.kind, 'digest') AS kind FROM deliveries d \
             LEFT JOIN notifications n ON n.id = d.notification_id \
             WHERE d.state = $1 ORDER BY d.id DESC LIMIT {limit}"
        ))
        .bind(state.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let channel: String = r.try_get("channel")?;
                let kind: String = r.try_get("kind")?;
                let s: String = r.try_get("state")?;
                Ok(DeliveryInfo {
                    id: r.try_get("id")?,
                    channel: NotifyChannel::parse(&channel)
                        .ok_or_else(|| corrupt("channel", &channel))?,
                    kind: NotificationKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
                    state: DeliveryState::parse(&s).ok_or_else(|| corrupt("state", &s))?,
                    attempts: count(r.try_get("attempts")?),
                    last_error: r.try_get("last_error")?,
                    created_at: r.try_get("created_at")?,
                    next_at: r.try_get("next_at")?,
                })
            })
            .collect()
    }

    async fn retry_delivery(&self, id: i64, now: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE deliveries SET state = 'pending', next_at = $1, attempts = 0, \
             claimed_by = NULL, claimed_until = NULL, done_at = NULL \
             WHERE id = $2 AND state = 'dead'",
        )
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn sweep_notifications(&self, before: i64) -> StoreResult<u64> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "DELETE FROM deliveries WHERE notification_id IN \
             (SELECT id FROM notifications WHERE created_at < $1)",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM deliveries WHERE notification_id IS NULL AND created_at < $1 \
             AND state <> 'pending'",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?;
        let gone = sqlx::query("DELETE FROM notifications WHERE created_at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM notify_causes WHERE done_at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(gone)
    }

    async fn place_staff(&self, place: PlaceId, role: &str) -> StoreResult<Vec<AccountId>> {
        let rows = sqlx::query(
            "SELECT DISTINCT g.account_id FROM role_grants g JOIN accounts a ON a.id = g.account_id \
             WHERE g.place_id = $1 AND g.role = $2 AND a.disabled = 0 ORDER BY g.account_id",
        )
        .bind(place.0)
        .bind(role)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok(AccountId(r.try_get("account_id")?)))
            .collect()
    }

    async fn community_people(&self, community: PlaceId) -> StoreResult<Vec<AccountId>> {
        let rows = sqlx::query(
            "WITH RECURSIVE sub(id) AS (SELECT CAST($1 AS BIGINT) UNION ALL \
             SELECT p.id FROM places p JOIN sub ON p.parent_id = sub.id) \
             SELECT DISTINCT g.account_id FROM role_grants g JOIN accounts a ON a.id = g.account_id \
             WHERE g.place_id IN (SELECT id FROM sub) AND a.disabled = 0 ORDER BY g.account_id",
        )
        .bind(community.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok(AccountId(r.try_get("account_id")?)))
            .collect()
    }

    async fn me_too(&self, issue: IssueId) -> StoreResult<Vec<AccountId>> {
        let rows = sqlx::query(
            "SELECT DISTINCT s.reporter_id FROM issue_submissions s JOIN issues i ON i.id = s.issue_id \
             WHERE s.issue_id = $1 AND s.reporter_id <> i.reporter_id ORDER BY s.reporter_id",
        )
        .bind(issue.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok(AccountId(r.try_get("reporter_id")?)))
            .collect()
    }

    async fn digest_readers(&self) -> StoreResult<Vec<DigestReader>> {
        let rows = sqlx::query(
            "SELECT a.id, a.display_name, a.email, a.language, g.place_id FROM accounts a \
             JOIN role_grants g ON g.account_id = a.id \
             WHERE a.disabled = 0 AND a.email IS NOT NULL \
             AND g.role IN ('community_official', 'street_chief') ORDER BY a.id, g.place_id",
        )
        .fetch_all(self.pool())
        .await?;
        let mut readers: Vec<DigestReader> = Vec::new();
        for r in &rows {
            let id = AccountId(r.try_get("id")?);
            let place = PlaceId(r.try_get("place_id")?);
            match readers.last_mut() {
                Some(last) if last.account == id => last.places.push(place),
                _ => readers.push(DigestReader {
                    account: id,
                    display_name: r.try_get("display_name")?,
                    email: r.try_get("email")?,
                    language: r.try_get("language")?,
                    places: vec![place],
                }),
            }
        }
        Ok(readers)
    }

    async fn claim_digest(&self, account: AccountId, day: &str, at: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO digests (account_id, day, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id, day) DO NOTHING",
        )
        .bind(account.0)
        .bind(day)
        .bind(at)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
