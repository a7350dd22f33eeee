//! `PeopleStore` for `SqlStore`.

use super::{
    AuditContext, ImportRow, InviteRow, NewInviteRow, NewPerson, PeopleQuery, PeopleStore,
    StaffGrantRow,
};
use crate::store::identity::sql::write_audit;
use crate::store::identity::{NewAudit, Outcome};
use crate::store::sql::{Backend, account_row, role};
use crate::store::{AccountRow, SqlStore, StoreError, StoreResult};
use async_trait::async_trait;
use hehe_protocol::{AccountId, PlaceId};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

const INVITE_COLUMNS: &str = "id, role, place_id, display_name, romanised_name, phone, email, \
     invited_by, created_at, expires_at, accepted_at, account_id, revoked_at FROM invites";

const ACCOUNT_COLUMNS: &str = "a.id, a.username, a.display_name, a.password_hash, a.disabled, \
     a.phone, a.email, a.romanised_name FROM accounts a";

/// What a pending invite is, in SQL, at `$now` (the parameter given).
fn pending(now: &str) -> String {
    format!("accepted_at IS NULL AND revoked_at IS NULL AND expires_at > {now}")
}

fn invite_row(row: &AnyRow) -> StoreResult<InviteRow> {
    let r: String = row.try_get("role")?;
    Ok(InviteRow {
        id: row.try_get("id")?,
        role: role(&r)?,
        place: row.try_get::<Option<i64>, _>("place_id")?.map(PlaceId),
        display_name: row.try_get("display_name")?,
        romanised_name: row.try_get("romanised_name")?,
        phone: row.try_get("phone")?,
        email: row.try_get("email")?,
        invited_by: AccountId(row.try_get("invited_by")?),
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        accepted_at: row.try_get("accepted_at")?,
        account: row.try_get::<Option<i64>, _>("account_id")?.map(AccountId),
        revoked_at: row.try_get("revoked_at")?,
    })
}

impl SqlStore {
    /// A write transaction in which no other enrolment runs: SQLite's `BEGIN IMMEDIATE` holds
    /// the only write lock already; PostgreSQL's transactions run side by side, and two imports
    /// naming one number would both find it free.
    async fn enrolment_tx(&self) -> StoreResult<Transaction<'static, Any>> {
        let mut tx = self.identity_tx().await?;
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7240519) AS locked")
                .fetch_one(&mut *tx)
                .await?;
        }
        Ok(tx)
    }
}

async fn insert_invite(
    tx: &mut Transaction<'static, Any>,
    i: &NewInviteRow<'_>,
) -> StoreResult<i64> {
    let row = sqlx::query(
        "INSERT INTO invites (code_hash, role, place_id, display_name, romanised_name, phone, \
         email, invited_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(i.code_hash)
    .bind(i.role.as_str())
    .bind(i.place.map(|p| p.0))
    .bind(i.display_name)
    .bind(i.romanised_name)
    .bind(i.phone)
    .bind(i.email)
    .bind(i.invited_by.0)
    .bind(i.created_at)
    .bind(i.expires_at)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

async fn insert_person(
    tx: &mut Transaction<'static, Any>,
    p: &NewPerson<'_>,
) -> StoreResult<AccountId> {
    let row = sqlx::query(
        "INSERT INTO accounts (username, display_name, password_hash, phone, email, \
         romanised_name) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(p.username)
    .bind(p.display_name)
    .bind(p.password_hash)
    .bind(p.phone)
    .bind(p.email)
    .bind(p.romanised_name)
    .fetch_one(&mut **tx)
    .await?;
    let id = AccountId(row.try_get("id")?);
    sqlx::query("INSERT INTO role_grants (account_id, role, place_id) VALUES ($1, $2, $3)")
        .bind(id.0)
        .bind(p.role.as_str())
        .bind(p.place.map(|p| p.0))
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// Refuses a number that is enrolled or invited already (inside the writing transaction).
async fn phone_free(
    tx: &mut Transaction<'static, Any>,
    phone: Option<&str>,
    now: i64,
) -> StoreResult<()> {
    let Some(phone) = phone else { return Ok(()) };
    let taken = sqlx::query(&format!(
        "SELECT 1 AS found FROM accounts WHERE phone = $1 \
         UNION ALL SELECT 1 AS found FROM invites WHERE phone = $1 AND {}",
        pending("$2")
    ))
    .bind(phone)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    match taken {
        Some(_) => Err(StoreError::Conflict("phone enrolled or invited".into())),
        None => Ok(()),
    }
}

fn audit(
    context: AuditContext<'_>,
    actor: AccountId,
    action: &str,
    target: String,
    place: Option<PlaceId>,
    detail: Option<String>,
) -> NewAudit {
    NewAudit {
        at: context.at,
        actor,
        action: action.into(),
        target,
        place,
        street: context.street,
        detail,
        outcome: Outcome::Ok,
        request_id: context.request_id.map(str::to_owned),
    }
}

#[async_trait]
impl PeopleStore for SqlStore {
    async fn account_by_phone(&self, phone: &str) -> StoreResult<Option<AccountRow>> {
        sqlx::query(&format!("SELECT {ACCOUNT_COLUMNS} WHERE a.phone = $1"))
            .bind(phone)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(account_row)
            .transpose()
    }

    async fn account_by_email(&self, email: &str) -> StoreResult<Option<AccountRow>> {
        sqlx::query(&format!("SELECT {ACCOUNT_COLUMNS} WHERE a.email = $1"))
            .bind(email)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(account_row)
            .transpose()
    }

    async fn create_invite(&self, invite: &NewInviteRow<'_>, entry: &NewAudit) -> StoreResult<i64> {
        let mut tx = self.enrolment_tx().await?;
        phone_free(&mut tx, invite.phone, invite.created_at).await?;
        let id = insert_invite(&mut tx, invite).await?;
        let entry = NewAudit {
            target: format!("invite:{id}"),
            ..entry.clone()
        };
        write_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn invite(&self, id: i64) -> StoreResult<Option<InviteRow>> {
        sqlx::query(&format!("SELECT {INVITE_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(invite_row)
            .transpose()
    }

    async fn invite_by_code(&self, code_hash: &str) -> StoreResult<Option<InviteRow>> {
        sqlx::query(&format!("SELECT {INVITE_COLUMNS} WHERE code_hash = $1"))
            .bind(code_hash)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(invite_row)
            .transpose()
    }

    async fn pending_invite_by_phone(
        &self,
        phone: &str,
        now: i64,
    ) -> StoreResult<Option<InviteRow>> {
        sqlx::query(&format!(
            "SELECT {INVITE_COLUMNS} WHERE phone = $1 AND {} ORDER BY id DESC LIMIT 1",
            pending("$2")
        ))
        .bind(phone)
        .bind(now)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(invite_row)
        .transpose()
    }

    async fn invites(&self, limit: u32) -> StoreResult<Vec<InviteRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {INVITE_COLUMNS} ORDER BY id DESC LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(invite_row).collect()
    }

    async fn revoke_invite(&self, id: i64, now: i64, entry: &NewAudit) -> StoreResult<bool> {
        let mut tx = self.enrolment_tx().await?;
        let done = sqlx::query(&format!(
            "UPDATE invites SET revoked_at = $1 WHERE id = $2 AND {}",
            pending("$1")
        ))
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn accept_invite(
        &self,
        id: i64,
        person: &NewPerson<'_>,
        context: AuditContext<'_>,
    ) -> StoreResult<Option<AccountId>> {
        let mut tx = self.enrolment_tx().await?;
        let invite = sqlx::query(&format!(
            "SELECT {INVITE_COLUMNS} WHERE id = $1 AND {}",
            pending("$2")
        ))
        .bind(id)
        .bind(context.at)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(invite) = invite.as_ref().map(invite_row).transpose()? else {
            tx.rollback().await?;
            return Ok(None);
        };
        let account = insert_person(&mut tx, person).await?;
        sqlx::query("UPDATE invites SET accepted_at = $1, account_id = $2 WHERE id = $3")
            .bind(context.at)
            .bind(account.0)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let detail = Some(person.role.as_str().to_owned());
        let target = format!("account:{}", account.0);
        for entry in [
            audit(
                context,
                account,
                "invite.accept",
                format!("invite:{id}"),
                person.place,
                detail.clone(),
            ),
            audit(
                context,
                invite.invited_by,
                "grant.add",
                target,
                person.place,
                detail,
            ),
        ] {
            write_audit(&mut tx, &entry).await?;
        }
        tx.commit().await?;
        Ok(Some(account))
    }

    async fn import_people(
        &self,
        rows: &[ImportRow<'_>],
        importer: AccountId,
        context: AuditContext<'_>,
    ) -> StoreResult<Vec<i64>> {
        let mut tx = self.enrolment_tx().await?;
        let mut made = Vec::with_capacity(rows.len());
        for row in rows {
            let entry = match row {
                ImportRow::Resident(person, street) => {
                    phone_free(&mut tx, person.phone, context.at).await?;
                    let id = insert_person(&mut tx, person).await?;
                    made.push(id.0);
                    let context = AuditContext {
                        street: *street,
                        ..context
                    };
                    audit(
                        context,
                        importer,
                        "person.import",
                        format!("account:{}", id.0),
                        person.place,
                        Some(person.role.as_str().to_owned()),
                    )
                }
                ImportRow::Staff(invite, street) => {
                    phone_free(&mut tx, invite.phone, context.at).await?;
                    let id = insert_invite(&mut tx, invite).await?;
                    made.push(id);
                    let context = AuditContext {
                        street: *street,
                        ..context
                    };
                    audit(
                        context,
                        importer,
                        "invite.create",
                        format!("invite:{id}"),
                        invite.place,
                        Some(invite.role.as_str().to_owned()),
                    )
                }
            };
            write_audit(&mut tx, &entry).await?;
        }
        let summary = audit(
            context,
            importer,
            "people.import",
            format!("account:{}", importer.0),
            None,
            Some(format!("{} created", rows.len())),
        );
        write_audit(&mut tx, &summary).await?;
        tx.commit().await?;
        Ok(made)
    }

    async fn places_named(
        &self,
        parent: Option<PlaceId>,
        name_zh: &str,
    ) -> StoreResult<Vec<PlaceId>> {
        let rows =
            match parent {
                Some(parent) => {
                    sqlx::query(
                        "SELECT id FROM places WHERE parent_id = $1 AND name_zh = $2 AND archived_at IS NULL \
                         ORDER BY id",
                    )
                    .bind(parent.0)
                    .bind(name_zh)
                    .fetch_all(self.pool())
                    .await?
                }
                None => sqlx::query(
                    "SELECT id FROM places WHERE parent_id IS NULL AND name_zh = $1 \
                     AND archived_at IS NULL ORDER BY id",
                )
                .bind(name_zh)
                .fetch_all(self.pool())
                .await?,
            };
        rows.iter().map(|r| Ok(PlaceId(r.try_get("id")?))).collect()
    }

    async fn staff_grants(&self) -> StoreResult<Vec<StaffGrantRow>> {
        let rows = sqlx::query(
            "SELECT a.id, a.display_name, a.romanised_name, g.role, g.place_id \
             FROM role_grants g JOIN accounts a ON a.id = g.account_id \
             WHERE a.disabled = 0 AND g.place_id IS NOT NULL \
             AND g.role IN ('grid_worker', 'community_official', 'street_chief') \
             ORDER BY a.id, g.id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let r: String = row.try_get("role")?;
                Ok(StaffGrantRow {
                    account: AccountId(row.try_get("id")?),
                    display_name: row.try_get("display_name")?,
                    romanised_name: row.try_get("romanised_name")?,
                    role: role(&r)?,
                    place: PlaceId(row.try_get("place_id")?),
                })
            })
            .collect()
    }

    async fn open_issue_counts(&self) -> StoreResult<Vec<(AccountId, u32)>> {
        let rows = sqlx::query(
            "SELECT assignee_id, COUNT(*) AS n FROM issues WHERE assignee_id IS NOT NULL \
             AND state NOT IN ('closed', 'rejected', 'duplicate') GROUP BY assignee_id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let n: i64 = row.try_get("n")?;
                Ok((
                    AccountId(row.try_get("assignee_id")?),
                    u32::try_from(n).unwrap_or(u32::MAX),
                ))
            })
            .collect()
    }

    async fn find_people(&self, query: PeopleQuery<'_>) -> StoreResult<Vec<AccountRow>> {
        let mut conditions = vec!["a.id < $1".to_owned()];
        let mut n = 1;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        let text = query.text.map(|t| {
            let escaped = t
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        if text.is_some() {
            let p = next();
            conditions.push(format!(
                "(LOWER(a.username) LIKE {p} ESCAPE '\\' \
                 OR LOWER(a.display_name) LIKE {p} ESCAPE '\\' \
                 OR LOWER(COALESCE(a.romanised_name, '')) LIKE {p} ESCAPE '\\')"
            ));
        }
        if query.phone.is_some() {
            conditions.push(format!("a.phone = {}", next()));
        }
        if query.role.is_some() {
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM role_grants g WHERE g.account_id = a.id AND g.role = {})",
                next()
            ));
        }
        let limit = next();
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} WHERE {} ORDER BY a.id DESC LIMIT {limit}",
            conditions.join(" AND ")
        );
        let mut q = sqlx::query(&sql).bind(query.before.unwrap_or(i64::MAX));
        if let Some(text) = &text {
            q = q.bind(text.clone());
        }
        if let Some(phone) = query.phone {
            q = q.bind(phone);
        }
        if let Some(r) = query.role {
            q = q.bind(r.as_str());
        }
        let rows = q
            .bind(i64::from(query.limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(account_row).collect()
    }
}
