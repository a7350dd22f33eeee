//! `IssueStore` for `SqlStore`.

use super::{
    Applied, CommandKey, DueDeadline, IssueChange, IssueFilter, IssueRecord, IssueStore,
    NewDeadline, NewIssueRecord, NewPhoto, PhotoRow,
};
use crate::domain::issue::{Issue, NewEvent, reference};
use crate::domain::notify::Cause;
use crate::domain::places::PlacePath;
use crate::domain::sla::clock_bit;
use crate::domain::stats::StatRow;
use crate::store::notify::sql::record_cause;
use crate::store::sql::{Backend, SqlStore};
use crate::store::{StoreError, StoreResult};
use async_trait::async_trait;
use hehe_protocol::issue::{
    Clock, DeadlineInfo, GeoPoint, IssueEventInfo, IssueState, IssueSummary,
};
use hehe_protocol::{AccountId, IssueId, Member, PlaceId};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row, Transaction};

/// A snake_case enum stored as text.
pub(crate) fn parse<T: DeserializeOwned>(s: &str) -> StoreResult<T> {
    serde_json::from_value(Value::String(s.to_owned()))
        .map_err(|_| StoreError::Corrupt(format!("unexpected stored value {s}")))
}

fn text<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

fn opt_parse<T: DeserializeOwned>(row: &AnyRow, column: &str) -> StoreResult<Option<T>> {
    let raw: Option<String> = row.try_get(column)?;
    raw.as_deref().map(parse).transpose()
}

const ISSUE_COLUMNS: &str = "i.id, i.category, i.title, i.description, i.place_id, i.grid_id, \
    i.community_id, i.street_id, i.lat, i.lon, i.reporter_id, i.submitted_by, i.public, i.state, \
    i.priority, i.level, i.assignee_id, i.resolution, i.closure_reason, i.rated, i.duplicate_of, \
    i.reopen_count, i.return_count, i.has_after_photo, i.overdue, i.created_at, i.updated_at, i.version";

const SUMMARY_SELECT: &str = "SELECT i.id, i.category, i.title, i.state, i.priority, i.level, \
    i.public, i.street_id, i.community_id, i.grid_id, i.place_id, i.assignee_id, \
    a.display_name AS assignee_name, i.overdue, i.reopen_count, i.closure_reason, i.rated, \
    i.duplicate_of, i.created_at, i.updated_at, \
    (SELECT COUNT(*) FROM issue_followers f WHERE f.issue_id = i.id) AS follower_count, \
    (SELECT d.due_at FROM issue_deadlines d WHERE d.issue_id = i.id AND d.active = 1 \
       ORDER BY d.due_at LIMIT 1) AS due_at, \
    (SELECT d.clock FROM issue_deadlines d WHERE d.issue_id = i.id AND d.active = 1 \
       ORDER BY d.due_at LIMIT 1) AS due_clock \
    FROM issues i LEFT JOIN accounts a ON a.id = i.assignee_id";

fn record(row: &AnyRow) -> StoreResult<IssueRecord> {
    let place_id = PlaceId(row.try_get("place_id")?);
    let grid = PlaceId(row.try_get("grid_id")?);
    let community = PlaceId(row.try_get("community_id")?);
    let street = PlaceId(row.try_get("street_id")?);
    let place = if place_id == grid {
        PlacePath::grid(street, community, grid)
    } else {
        PlacePath::building(street, community, grid, place_id)
    };
    let lat: Option<f64> = row.try_get("lat")?;
    let lon: Option<f64> = row.try_get("lon")?;
    let state: String = row.try_get("state")?;
    let priority: String = row.try_get("priority")?;
    let level: String = row.try_get("level")?;
    let rated: Option<i64> = row.try_get("rated")?;
    Ok(IssueRecord {
        issue: Issue {
            id: IssueId(row.try_get("id")?),
            state: parse(&state)?,
            priority: parse(&priority)?,
            level: parse(&level)?,
            place,
            reporter: AccountId(row.try_get("reporter_id")?),
            public: row.try_get::<i64, _>("public")? != 0,
            assignee: row.try_get::<Option<i64>, _>("assignee_id")?.map(AccountId),
            resolution: opt_parse(row, "resolution")?,
            closure: opt_parse(row, "closure_reason")?,
            rated: rated.map(|r| r != 0),
            duplicate_of: row.try_get::<Option<i64>, _>("duplicate_of")?.map(IssueId),
            reopen_count: row.try_get::<i64, _>("reopen_count")? as u32,
            return_count: row.try_get::<i64, _>("return_count")? as u32,
            has_after_photo: row.try_get::<i64, _>("has_after_photo")? != 0,
        },
        category: row.try_get("category")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        place_id,
        location: lat.zip(lon).map(|(lat, lon)| GeoPoint { lat, lon }),
        submitted_by: AccountId(row.try_get("submitted_by")?),
        overdue: row.try_get("overdue")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        version: row.try_get("version")?,
    })
}

fn summary(row: &AnyRow) -> StoreResult<IssueSummary> {
    let id = IssueId(row.try_get("id")?);
    let state: String = row.try_get("state")?;
    let priority: String = row.try_get("priority")?;
    let level: String = row.try_get("level")?;
    let assignee = row.try_get::<Option<i64>, _>("assignee_id")?.map(AccountId);
    let assignee_name: Option<String> = row.try_get("assignee_name")?;
    let rated: Option<i64> = row.try_get("rated")?;
    Ok(IssueSummary {
        id,
        reference: reference(id),
        category: row.try_get("category")?,
        title: row.try_get("title")?,
        state: parse(&state)?,
        priority: parse(&priority)?,
        level: parse(&level)?,
        public: row.try_get::<i64, _>("public")? != 0,
        street_id: PlaceId(row.try_get("street_id")?),
        community_id: PlaceId(row.try_get("community_id")?),
        grid_id: PlaceId(row.try_get("grid_id")?),
        place_id: PlaceId(row.try_get("place_id")?),
        assignee: assignee.map(|account_id| Member {
            account_id,
            name: assignee_name.unwrap_or_default(),
            role: None,
        }),
        due_at: row.try_get("due_at")?,
        due_clock: opt_parse(row, "due_clock")?,
        overdue: row.try_get::<i64, _>("overdue")? != 0,
        reopen_count: row.try_get::<i64, _>("reopen_count")? as u32,
        closure_reason: opt_parse(row, "closure_reason")?,
        rated: rated.map(|r| r != 0),
        duplicate_of: row.try_get::<Option<i64>, _>("duplicate_of")?.map(IssueId),
        follower_count: row.try_get::<i64, _>("follower_count")? as u32,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        // Depends on who asks: the use-case fills it in.
        allowed_actions: None,
    })
}

async fn load_summary(conn: &mut AnyConnection, id: IssueId) -> StoreResult<Option<IssueSummary>> {
    let row = sqlx::query(&format!("{SUMMARY_SELECT} WHERE i.id = $1"))
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(summary).transpose()
}

fn event_info(row: &AnyRow) -> StoreResult<IssueEventInfo> {
    let actor = row.try_get::<Option<i64>, _>("actor_id")?.map(AccountId);
    let actor_name: Option<String> = row.try_get("display_name")?;
    let visibility: String = row.try_get("visibility")?;
    let data: Option<String> = row.try_get("data")?;
    Ok(IssueEventInfo {
        seq: row.try_get::<i64, _>("seq")? as u32,
        kind: row.try_get("kind")?,
        from: opt_parse(row, "from_state")?,
        to: opt_parse(row, "to_state")?,
        actor: actor.map(|account_id| Member {
            account_id,
            name: actor_name.unwrap_or_default(),
            role: None,
        }),
        visibility: parse(&visibility)?,
        text: row.try_get("body")?,
        data: data
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|_| StoreError::Corrupt("event data".into()))?
            .unwrap_or(Value::Null),
        time: row.try_get("created_at")?,
    })
}

async fn load_events(
    conn: &mut AnyConnection,
    id: IssueId,
    from: i64,
    to: i64,
) -> StoreResult<Vec<IssueEventInfo>> {
    let rows = sqlx::query(
        "SELECT e.seq, e.kind, e.from_state, e.to_state, e.actor_id, a.display_name, e.visibility, \
         e.body, e.data, e.created_at FROM issue_events e LEFT JOIN accounts a ON a.id = e.actor_id \
         WHERE e.issue_id = $1 AND e.seq >= $2 AND e.seq <= $3 ORDER BY e.seq",
    )
    .bind(id.0)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(event_info).collect()
}

async fn applied_in(conn: &mut AnyConnection, key: CommandKey<'_>) -> StoreResult<Option<Applied>> {
    let row = sqlx::query(
        "SELECT issue_id, reply, first_seq, last_seq FROM applied_commands \
         WHERE account_id = $1 AND request_id = $2",
    )
    .bind(key.account.0)
    .bind(key.request_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let reply: String = row.try_get("reply")?;
    let summary: IssueSummary =
        serde_json::from_str(&reply).map_err(|_| StoreError::Corrupt("stored reply".into()))?;
    let id = IssueId(row.try_get("issue_id")?);
    let events = load_events(
        conn,
        id,
        row.try_get("first_seq")?,
        row.try_get("last_seq")?,
    )
    .await?;
    Ok(Some(Applied {
        summary,
        events,
        replayed: true,
    }))
}

/// Appends timeline entries after the issue's last; returns the first and last seq written.
async fn append_events(
    tx: &mut Transaction<'_, Any>,
    id: IssueId,
    actor: Option<AccountId>,
    events: &[NewEvent],
    at: i64,
) -> StoreResult<(i64, i64)> {
    let row =
        sqlx::query("SELECT COALESCE(MAX(seq), 0) AS top FROM issue_events WHERE issue_id = $1")
            .bind(id.0)
            .fetch_one(&mut **tx)
            .await?;
    let top: i64 = row.try_get("top")?;
    for (n, event) in events.iter().enumerate() {
        let data = (!event.data.is_null()).then(|| event.data.to_string());
        sqlx::query(
            "INSERT INTO issue_events (issue_id, seq, kind, from_state, to_state, actor_id, \
             visibility, body, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id.0)
        .bind(top + 1 + n as i64)
        .bind(event.kind)
        .bind(event.from.map(|s| s.as_str()))
        .bind(event.to.map(|s| s.as_str()))
        .bind(actor.map(|a| a.0))
        .bind(text(&event.visibility))
        .bind(event.text.as_deref())
        .bind(data)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    }
    Ok((top + 1, top + events.len() as i64))
}

async fn start_clocks(
    tx: &mut Transaction<'_, Any>,
    id: IssueId,
    clocks: &[NewDeadline],
) -> StoreResult<()> {
    for d in clocks {
        sqlx::query(
            "INSERT INTO issue_deadlines (issue_id, clock, started_at, warn_at, due_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.0)
        .bind(d.clock.as_str())
        .bind(d.started_at)
        .bind(d.warn_at)
        .bind(d.due_at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Records the command's result; `false` when the same command was recorded meanwhile.
async fn record_command(
    tx: &mut Transaction<'_, Any>,
    key: CommandKey<'_>,
    id: IssueId,
    reply: &IssueSummary,
    seqs: (i64, i64),
    at: i64,
) -> StoreResult<bool> {
    let reply = serde_json::to_string(reply).unwrap_or_default();
    let done = sqlx::query(
        "INSERT INTO applied_commands (account_id, request_id, issue_id, reply, first_seq, last_seq, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account_id, request_id) DO NOTHING",
    )
    .bind(key.account.0)
    .bind(key.request_id.as_str())
    .bind(id.0)
    .bind(reply)
    .bind(seqs.0)
    .bind(seqs.1)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Writes the issue's row as the decision left it, if it is still at the version the decision
/// was made on; `false` when it moved on.
async fn write_issue(tx: &mut Transaction<'_, Any>, c: &IssueChange<'_>) -> StoreResult<bool> {
    let i = c.issue;
    let (satisfaction, stars) = c.rating.unwrap_or((None, None));
    let to = i.state;
    let updated = sqlx::query(
        "UPDATE issues SET state = $1, priority = $2, level = $3, assignee_id = $4, \
         resolution = $5, closure_reason = $6, rated = $7, duplicate_of = $8, reopen_count = $9, \
         return_count = $10, has_after_photo = $11, overdue = overdue | $12, \
         satisfaction = COALESCE($13, satisfaction), stars = COALESCE($14, stars), \
         accepted_at = COALESCE(accepted_at, $15), resolved_at = COALESCE($16, resolved_at), \
         closed_at = COALESCE(closed_at, $17), updated_at = $18, version = version + 1 \
         WHERE id = $19 AND version = $20",
    )
    .bind(to.as_str())
    .bind(i.priority.as_str())
    .bind(i.level.as_str())
    .bind(i.assignee.map(|a| a.0))
    .bind(i.resolution.as_ref().map(text))
    .bind(i.closure.as_ref().map(text))
    .bind(i.rated.map(i64::from))
    .bind(i.duplicate_of.map(|d| d.0))
    .bind(i64::from(i.reopen_count))
    .bind(i64::from(i.return_count))
    .bind(i64::from(i.has_after_photo))
    .bind(c.breached.map_or(0, clock_bit))
    .bind(satisfaction.as_ref().map(text))
    .bind(stars.map(i64::from))
    .bind((to == IssueState::Accepted).then_some(c.at))
    .bind(matches!(to, IssueState::Resolved | IssueState::AwaitingRating).then_some(c.at))
    .bind(to.is_terminal().then_some(c.at))
    .bind(c.at)
    .bind(i.id.0)
    .bind(c.expected_version)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Marks a deadline warned or breached; `false` when another node handled it first.
async fn claim_deadline(tx: &mut Transaction<'_, Any>, claim: DueDeadline) -> StoreResult<bool> {
    // A breach also settles the warning: its moment has passed either way.
    let sql = if claim.breach {
        "UPDATE issue_deadlines SET breached = 1, warned = 1 \
         WHERE id = $1 AND breached = 0 AND active = 1"
    } else {
        "UPDATE issue_deadlines SET warned = 1 WHERE id = $1 AND warned = 0 AND active = 1"
    };
    let claimed = sqlx::query(sql).bind(claim.id).execute(&mut **tx).await?;
    Ok(claimed.rows_affected() == 1)
}

async fn stop_clocks(
    tx: &mut Transaction<'_, Any>,
    id: IssueId,
    clocks: &[Clock],
) -> StoreResult<()> {
    for clock in clocks {
        sqlx::query(
            "UPDATE issue_deadlines SET active = 0 WHERE issue_id = $1 AND clock = $2 AND active = 1",
        )
        .bind(id.0)
        .bind(clock.as_str())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn follow(
    tx: &mut Transaction<'_, Any>,
    id: IssueId,
    account: AccountId,
    on: bool,
    at: i64,
) -> StoreResult<()> {
    let query = if on {
        sqlx::query(
            "INSERT INTO issue_followers (issue_id, account_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (issue_id, account_id) DO NOTHING",
        )
        .bind(id.0)
        .bind(account.0)
        .bind(at)
    } else {
        sqlx::query("DELETE FROM issue_followers WHERE issue_id = $1 AND account_id = $2")
            .bind(id.0)
            .bind(account.0)
    };
    query.execute(&mut **tx).await?;
    Ok(())
}

/// Every report and every follower of a merged issue goes along to the target; its reporter
/// follows the target.
async fn merge(
    tx: &mut Transaction<'_, Any>,
    from: &Issue,
    target: IssueId,
    at: i64,
) -> StoreResult<()> {
    sqlx::query("UPDATE issue_submissions SET issue_id = $1 WHERE issue_id = $2")
        .bind(target.0)
        .bind(from.id.0)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO issue_followers (issue_id, account_id, created_at) \
         SELECT $1, account_id, $2 FROM issue_followers WHERE issue_id = $3 \
         UNION SELECT $1, $4, $2 \
         ON CONFLICT (issue_id, account_id) DO NOTHING",
    )
    .bind(target.0)
    .bind(at)
    .bind(from.id.0)
    .bind(from.reporter.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const PHOTO_SELECT: &str = "SELECT id, issue_id, sha256, media_type, kind, size, uploaded_by, created_at FROM issue_photos";

fn photo_row(row: &AnyRow) -> StoreResult<PhotoRow> {
    let kind: String = row.try_get("kind")?;
    Ok(PhotoRow {
        id: row.try_get("id")?,
        issue: IssueId(row.try_get("issue_id")?),
        sha256: row.try_get("sha256")?,
        media_type: row.try_get("media_type")?,
        kind: parse(&kind)?,
        size: row.try_get::<i64, _>("size")? as u64,
        uploaded_by: AccountId(row.try_get("uploaded_by")?),
        created_at: row.try_get("created_at")?,
    })
}

impl SqlStore {
    /// A write transaction. SQLite takes the write lock at once: a transaction that reads and
    /// then writes would otherwise fail when another writer got in between.
    pub(crate) async fn write_tx(&self) -> StoreResult<Transaction<'static, Any>> {
        Ok(match self.backend() {
            Backend::Sqlite => self.pool().begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool().begin().await?,
        })
    }

    /// Ends a write: records the command's result (the first result, should the same command
    /// have been recorded meanwhile), reads back what was written, and commits.
    async fn finish(
        &self,
        mut tx: Transaction<'static, Any>,
        id: IssueId,
        command: Option<CommandKey<'_>>,
        seqs: (i64, i64),
        at: i64,
        vanished: impl FnOnce() -> StoreError,
    ) -> StoreResult<Applied> {
        let summary = load_summary(&mut tx, id).await?.ok_or_else(vanished)?;
        if let Some(key) = command
            && !record_command(&mut tx, key, id, &summary, seqs, at).await?
        {
            drop(tx);
            return self.applied(key).await?.ok_or(StoreError::Stale);
        }
        let events = load_events(&mut tx, id, seqs.0, seqs.1).await?;
        if seqs.0 <= seqs.1 {
            let cause = Cause::Issue {
                issue: id,
                from: seqs.0,
                to: seqs.1,
            };
            record_cause(&mut tx, &cause, at).await?;
        }
        tx.commit().await?;
        Ok(Applied {
            summary,
            events,
            replayed: false,
        })
    }
}

#[async_trait]
impl IssueStore for SqlStore {
    async fn create_issue(
        &self,
        new: NewIssueRecord<'_>,
        command: CommandKey<'_>,
        events: &[NewEvent],
        clocks: &[NewDeadline],
    ) -> StoreResult<Applied> {
        let mut tx = self.write_tx().await?;
        if let Some(done) = applied_in(&mut tx, command).await? {
            return Ok(done);
        }
        let grid = new
            .place
            .grid
            .ok_or_else(|| StoreError::Corrupt("issue place is not in a grid".into()))?;
        let community = new
            .place
            .community
            .ok_or_else(|| StoreError::Corrupt("issue place is not in a community".into()))?;
        let row = sqlx::query(
            "INSERT INTO issues (category, title, description, place_id, grid_id, community_id, \
             street_id, lat, lon, reporter_id, submitted_by, public, state, priority, level, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
             'submitted', $13, 'grid', $14, $14) RETURNING id",
        )
        .bind(new.category)
        .bind(new.title)
        .bind(new.description)
        .bind(new.place_id.0)
        .bind(grid.0)
        .bind(community.0)
        .bind(new.place.street.0)
        .bind(new.location.map(|l| l.lat))
        .bind(new.location.map(|l| l.lon))
        .bind(new.reporter.0)
        .bind(new.submitted_by.0)
        .bind(i64::from(new.public))
        .bind(new.priority.as_str())
        .bind(new.at)
        .fetch_one(&mut *tx)
        .await?;
        let id = IssueId(row.try_get("id")?);
        sqlx::query(
            "INSERT INTO issue_submissions (issue_id, first_issue_id, reporter_id, submitted_by, body, \
             created_at) VALUES ($1, $1, $2, $3, $4, $5)",
        )
        .bind(id.0)
        .bind(new.reporter.0)
        .bind(new.submitted_by.0)
        .bind(new.description)
        .bind(new.at)
        .execute(&mut *tx)
        .await?;
        let seqs = append_events(&mut tx, id, Some(new.submitted_by), events, new.at).await?;
        start_clocks(&mut tx, id, clocks).await?;
        let vanished = || StoreError::Corrupt("new issue vanished".into());
        self.finish(tx, id, Some(command), seqs, new.at, vanished)
            .await
    }

    async fn update_issue(&self, c: IssueChange<'_>) -> StoreResult<Applied> {
        let mut tx = self.write_tx().await?;
        if let Some(key) = c.command
            && let Some(done) = applied_in(&mut tx, key).await?
        {
            return Ok(done);
        }
        let id = c.issue.id;
        if !write_issue(&mut tx, &c).await? {
            return Err(StoreError::Stale);
        }
        if let Some(claim) = c.claim
            && !claim_deadline(&mut tx, claim).await?
        {
            return Err(StoreError::Stale);
        }
        let seqs = append_events(&mut tx, id, c.actor, c.events, c.at).await?;
        stop_clocks(&mut tx, id, &c.clocks.stop).await?;
        start_clocks(&mut tx, id, &c.clocks.start).await?;
        if let Some((account, on)) = c.follow {
            follow(&mut tx, id, account, on, c.at).await?;
        }
        if let Some((body, reporter)) = c.submission {
            sqlx::query(
                "INSERT INTO issue_submissions (issue_id, first_issue_id, reporter_id, submitted_by, \
                 body, created_at) VALUES ($1, $1, $2, $2, $3, $4)",
            )
            .bind(id.0)
            .bind(reporter.0)
            .bind(body)
            .bind(c.at)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(target) = c.merge_into {
            merge(&mut tx, c.issue, target, c.at).await?;
        }
        self.finish(tx, id, c.command, seqs, c.at, || StoreError::Stale)
            .await
    }

    async fn applied(&self, command: CommandKey<'_>) -> StoreResult<Option<Applied>> {
        let mut conn = self.pool().acquire().await?;
        applied_in(&mut conn, command).await
    }

    async fn issue(&self, id: IssueId) -> StoreResult<Option<IssueRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {ISSUE_COLUMNS} FROM issues i WHERE i.id = $1"
        ))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(record).transpose()
    }

    async fn issue_summary(&self, id: IssueId) -> StoreResult<Option<IssueSummary>> {
        let mut conn = self.pool().acquire().await?;
        load_summary(&mut conn, id).await
    }

    async fn issue_events(&self, id: IssueId) -> StoreResult<Vec<IssueEventInfo>> {
        let mut conn = self.pool().acquire().await?;
        load_events(&mut conn, id, 1, i64::MAX).await
    }

    async fn issue_deadlines(&self, id: IssueId) -> StoreResult<Vec<DeadlineInfo>> {
        let rows = sqlx::query(
            "SELECT clock, started_at, warn_at, due_at, active, warned, breached FROM issue_deadlines \
             WHERE issue_id = $1 ORDER BY id",
        )
        .bind(id.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let clock: String = row.try_get("clock")?;
                Ok(DeadlineInfo {
                    clock: parse(&clock)?,
                    started_at: row.try_get("started_at")?,
                    warn_at: row.try_get("warn_at")?,
                    due_at: row.try_get("due_at")?,
                    running: row.try_get::<i64, _>("active")? != 0,
                    warned: row.try_get::<i64, _>("warned")? != 0,
                    breached: row.try_get::<i64, _>("breached")? != 0,
                })
            })
            .collect()
    }

    async fn is_follower(&self, id: IssueId, account: AccountId) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM issue_followers WHERE issue_id = $1 AND account_id = $2",
        )
        .bind(id.0)
        .bind(account.0)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    async fn followers(&self, id: IssueId) -> StoreResult<Vec<AccountId>> {
        let rows = sqlx::query(
            "SELECT account_id FROM issue_followers WHERE issue_id = $1 ORDER BY account_id",
        )
        .bind(id.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok(AccountId(r.try_get("account_id")?)))
            .collect()
    }

    async fn list_issues(&self, f: &IssueFilter) -> StoreResult<Vec<IssueSummary>> {
        // Each condition is `column = $n` with its value; built in order so the numbers match.
        let mut conditions: Vec<String> = Vec::new();
        let mut ints: Vec<(usize, i64)> = Vec::new();
        let mut texts: Vec<(usize, String)> = Vec::new();
        let mut n = 0;
        let mut int = |conditions: &mut Vec<String>, sql: &str, value: i64| {
            n += 1;
            conditions.push(sql.replace("$?", &format!("${n}")));
            ints.push((n, value));
        };
        if let Some(c) = f.community {
            int(&mut conditions, "i.community_id = $?", c.0);
        }
        if let Some(s) = f.street {
            int(&mut conditions, "i.street_id = $?", s.0);
        }
        if let Some(g) = f.grid {
            int(&mut conditions, "i.grid_id = $?", g.0);
        }
        if let Some(a) = f.assignee {
            int(&mut conditions, "i.assignee_id = $?", a.0);
        }
        if let Some(a) = f.involving {
            int(
                &mut conditions,
                "(i.reporter_id = $? OR i.id IN (SELECT issue_id FROM issue_followers WHERE account_id = $?))",
                a.0,
            );
        }
        if let Some(t) = f.created_after {
            int(&mut conditions, "i.created_at > $?", t);
        }
        if let Some(b) = f.before_id {
            int(&mut conditions, "i.id < $?", b);
        }
        if f.public_only {
            conditions.push("i.public = 1".into());
        }
        let mut next = n;
        if let Some(category) = &f.category {
            next += 1;
            conditions.push(format!("i.category = ${next}"));
            texts.push((next, category.clone()));
        }
        if !f.states.is_empty() {
            let list: Vec<String> = f
                .states
                .iter()
                .map(|s| format!("'{}'", s.as_str()))
                .collect();
            conditions.push(format!("i.state IN ({})", list.join(", ")));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "{SUMMARY_SELECT}{filter} ORDER BY i.id DESC LIMIT {}",
            f.limit.clamp(1, 500)
        );
        let mut query = sqlx::query(&sql);
        let mut binds: Vec<(usize, Result<i64, String>)> =
            ints.into_iter().map(|(k, v)| (k, Ok(v))).collect();
        binds.extend(texts.into_iter().map(|(k, v)| (k, Err(v))));
        binds.sort_by_key(|(k, _)| *k);
        for (_, value) in binds {
            query = match value {
                Ok(v) => query.bind(v),
                Err(s) => query.bind(s),
            };
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(summary).collect()
    }

    async fn due_deadlines(&self, now: i64, limit: u32) -> StoreResult<Vec<DueDeadline>> {
        let rows = sqlx::query(
            "SELECT id, issue_id, clock, (breached = 0 AND due_at <= $1) AS breach FROM issue_deadlines \
             WHERE active = 1 AND ((warned = 0 AND warn_at <= $1) OR (breached = 0 AND due_at <= $1)) \
             ORDER BY warn_at LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let clock: String = row.try_get("clock")?;
                let breach = match row.try_get::<bool, _>("breach") {
                    Ok(b) => b,
                    Err(_) => row.try_get::<i64, _>("breach")? != 0,
                };
                Ok(DueDeadline {
                    id: row.try_get("id")?,
                    issue_id: IssueId(row.try_get("issue_id")?),
                    clock: parse::<Clock>(&clock)?,
                    breach,
                })
            })
            .collect()
    }

    async fn insert_photo(&self, p: NewPhoto<'_>) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO issue_photos (issue_id, sha256, media_type, kind, size, uploaded_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(p.issue.0)
        .bind(p.sha256)
        .bind(p.media_type)
        .bind(p.kind.as_str())
        .bind(p.size as i64)
        .bind(p.uploaded_by.0)
        .bind(p.at)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("id")?)
    }

    async fn photo(&self, issue: IssueId, id: i64) -> StoreResult<Option<PhotoRow>> {
        let row = sqlx::query(&format!("{PHOTO_SELECT} WHERE issue_id = $1 AND id = $2"))
            .bind(issue.0)
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(photo_row).transpose()
    }

    async fn photos(&self, issue: IssueId) -> StoreResult<Vec<PhotoRow>> {
        let rows = sqlx::query(&format!("{PHOTO_SELECT} WHERE issue_id = $1 ORDER BY id"))
            .bind(issue.0)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(photo_row).collect()
    }

    async fn stat_rows(
        &self,
        place: PlacePath,
        since: i64,
    ) -> StoreResult<Vec<(PlaceId, PlaceId, StatRow)>> {
        let (column, id) = match (place.grid, place.community) {
            (Some(grid), _) => ("grid_id", grid),
            (None, Some(community)) => ("community_id", community),
            (None, None) => ("street_id", place.street),
        };
        let rows = sqlx::query(&format!(
            "SELECT grid_id, community_id, state, created_at, accepted_at, resolved_at, overdue, \
             reopen_count, closure_reason, rated, satisfaction FROM issues \
             WHERE {column} = $1 AND created_at >= $2"
        ))
        .bind(id.0)
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let state: String = row.try_get("state")?;
                let rated: Option<i64> = row.try_get("rated")?;
                Ok((
                    PlaceId(row.try_get("grid_id")?),
                    PlaceId(row.try_get("community_id")?),
                    StatRow {
                        state: parse(&state)?,
                        created_at: row.try_get("created_at")?,
                        accepted_at: row.try_get("accepted_at")?,
                        resolved_at: row.try_get("resolved_at")?,
                        overdue: row.try_get("overdue")?,
                        reopen_count: row.try_get::<i64, _>("reopen_count")? as u32,
                        closure: opt_parse(row, "closure_reason")?,
                        rated: rated.map(|r| r != 0),
                        satisfaction: opt_parse(row, "satisfaction")?,
                    },
                ))
            })
            .collect()
    }

    async fn open_counts(&self, street: PlaceId) -> StoreResult<Vec<(PlaceId, u32, u32)>> {
        let rows = sqlx::query(
            "SELECT community_id, COUNT(*) AS open, COUNT(CASE WHEN overdue <> 0 THEN 1 END) AS overdue \
             FROM issues WHERE street_id = $1 AND state NOT IN ('closed', 'rejected', 'duplicate') \
             GROUP BY community_id ORDER BY community_id",
        )
        .bind(street.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    PlaceId(row.try_get("community_id")?),
                    row.try_get::<i64, _>("open")? as u32,
                    row.try_get::<i64, _>("overdue")? as u32,
                ))
            })
            .collect()
    }

    async fn submission_count(&self, issue: IssueId) -> StoreResult<u32> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM issue_submissions WHERE issue_id = $1")
            .bind(issue.0)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get::<i64, _>("n")? as u32)
    }

    async fn has_submitted(&self, issue: IssueId, account: AccountId) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM issue_submissions WHERE issue_id = $1 AND reporter_id = $2",
        )
        .bind(issue.0)
        .bind(account.0)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    async fn mark_after_photo(&self, id: IssueId) -> StoreResult<()> {
        sqlx::query("UPDATE issues SET has_after_photo = 1 WHERE id = $1")
            .bind(id.0)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
