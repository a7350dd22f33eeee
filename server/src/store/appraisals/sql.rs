//! `AppraisalStore` for `SqlStore`.
//!
//! Every write starts by moving the appraisal's revision under a state guard: in PostgreSQL
//! that row lock lines up the writes of one appraisal, so a ballot either lands before the
//! close or sees the appraisal closed; SQLite's `BEGIN IMMEDIATE` lines up every write anyway.

use super::{
    AppraisalMove, AppraisalRecord, AppraisalStore, BallotChangeRow, BallotRow, Cast, CastBallot,
    FollowUpRow, NewAppraisalRecord, Snapshot, Tally, VoidWrite, Voided,
};
use crate::store::sql::{Backend, SqlStore};
use crate::store::{StoreError, StoreResult};
use async_trait::async_trait;
use hehe_protocol::appraisal::{AppraisalState, BallotStatus};
use hehe_protocol::{AccountId, MeetingId};
use rand::Rng;
use rand::distr::Alphanumeric;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

const COLUMNS: &str =
    "meeting_id, state, anonymous, setup, revision, opened_at, closed_at, published_at";

const BALLOT_COLUMNS: &str =
    "ballot_id, voter_id, cast_at, scores, grades, comment, status, void_reason";

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("appraisal {what}"))
}

fn state(s: &str) -> StoreResult<AppraisalState> {
    AppraisalState::ALL
        .into_iter()
        .find(|st| st.as_str() == s)
        .ok_or_else(|| corrupt("state"))
}

fn count(row: &AnyRow, column: &str) -> StoreResult<u32> {
    u32::try_from(row.try_get::<i64, _>(column)?).map_err(|_| corrupt("count"))
}

fn record(row: &AnyRow) -> StoreResult<AppraisalRecord> {
    let setup: String = row.try_get("setup")?;
    Ok(AppraisalRecord {
        id: MeetingId(row.try_get("meeting_id")?),
        state: state(&row.try_get::<String, _>("state")?)?,
        anonymous: row.try_get::<i64, _>("anonymous")? != 0,
        setup: serde_json::from_str(&setup).map_err(|_| corrupt("setup"))?,
        revision: row.try_get("revision")?,
        opened_at: row.try_get("opened_at")?,
        closed_at: row.try_get("closed_at")?,
        published_at: row.try_get("published_at")?,
    })
}

fn ballot(row: &AnyRow) -> StoreResult<BallotRow> {
    let scores: String = row.try_get("scores")?;
    let grades: String = row.try_get("grades")?;
    let status = match row.try_get::<String, _>("status")?.as_str() {
        "valid" => BallotStatus::Valid,
        "void" => BallotStatus::Void,
        _ => return Err(corrupt("ballot status")),
    };
    Ok(BallotRow {
        id: row.try_get("ballot_id")?,
        voter: row.try_get::<Option<i64>, _>("voter_id")?.map(AccountId),
        cast_at: row.try_get("cast_at")?,
        scores: serde_json::from_str(&scores).map_err(|_| corrupt("ballot scores"))?,
        grades: serde_json::from_str(&grades).map_err(|_| corrupt("ballot grades"))?,
        comment: row.try_get("comment")?,
        status,
        void_reason: row.try_get("void_reason")?,
    })
}

/// A ballot id that says nothing: no counter, no time.
fn ballot_id() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect()
}

fn json<T: serde::Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|_| corrupt("value to store"))
}

impl SqlStore {
    async fn appraisal_tx(&self) -> StoreResult<Transaction<'static, Any>> {
        Ok(match self.backend() {
            Backend::Sqlite => self.pool().begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool().begin().await?,
        })
    }

    /// A transaction whose reads all see one moment, so receipts and ballots agree.
    async fn appraisal_read_tx(&self) -> StoreResult<Transaction<'static, Any>> {
        Ok(match self.backend() {
            // In WAL mode a read transaction keeps the snapshot of its first read.
            Backend::Sqlite => self.pool().begin().await?,
            Backend::Postgres => {
                self.pool()
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?
            }
        })
    }
}

/// Moves the revision when the appraisal is in `state`; otherwise returns the state it is in.
async fn bump(
    tx: &mut Transaction<'static, Any>,
    id: MeetingId,
    state: AppraisalState,
) -> StoreResult<Result<(), AppraisalState>> {
    let moved = sqlx::query(
        "UPDATE appraisals SET revision = revision + 1 WHERE meeting_id = $1 AND state = $2",
    )
    .bind(id.0)
    .bind(state.as_str())
    .execute(&mut **tx)
    .await?;
    if moved.rows_affected() == 1 {
        return Ok(Ok(()));
    }
    let row = sqlx::query("SELECT state FROM appraisals WHERE meeting_id = $1")
        .bind(id.0)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| corrupt("row is missing"))?;
    Ok(Err(self::state(&row.try_get::<String, _>("state")?)?))
}

async fn tally(tx: &mut Transaction<'static, Any>, id: MeetingId) -> StoreResult<Tally> {
    let row = sqlx::query(
        "SELECT a.revision, a.state, \
           (SELECT COUNT(*) FROM meeting_members m WHERE m.meeting_id = a.meeting_id \
              AND m.role = 'representative') AS n_issued, \
           (SELECT COUNT(*) FROM appraisal_receipts r WHERE r.meeting_id = a.meeting_id) \
              AS n_cast, \
           (SELECT COUNT(*) FROM appraisal_ballots b WHERE b.meeting_id = a.meeting_id \
              AND b.status = 'void') AS n_void \
         FROM appraisals a WHERE a.meeting_id = $1",
    )
    .bind(id.0)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Tally {
        revision: row.try_get("revision")?,
        state: state(&row.try_get::<String, _>("state")?)?,
        issued: count(&row, "n_issued")?,
        cast: count(&row, "n_cast")?,
        void: count(&row, "n_void")?,
    })
}

/// What a second ballot from the same voter comes to: a replay of the first request, or a
/// refusal.
async fn second_ballot(
    tx: &mut Transaction<'static, Any>,
    b: &CastBallot<'_>,
) -> StoreResult<Option<Cast>> {
    let Some(receipt) = sqlx::query(
        "SELECT request_id FROM appraisal_receipts WHERE meeting_id = $1 AND voter_id = $2",
    )
    .bind(b.id.0)
    .bind(b.voter.0)
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    let stored: Option<String> = receipt.try_get("request_id")?;
    let same = matches!((stored.as_deref(), b.request_id), (Some(s), Some(r)) if s == r.as_str());
    if !same {
        return Ok(Some(Cast::AlreadyVoted));
    }
    let ballot_id = if b.anonymous {
        None
    } else {
        sqlx::query(
            "SELECT ballot_id FROM appraisal_ballots WHERE meeting_id = $1 AND voter_id = $2",
        )
        .bind(b.id.0)
        .bind(b.voter.0)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get::<String, _>("ballot_id"))
        .transpose()?
    };
    Ok(Some(Cast::Replayed { ballot_id }))
}

#[async_trait]
impl AppraisalStore for SqlStore {
    async fn appraisal_create(&self, new: NewAppraisalRecord<'_>) -> StoreResult<()> {
        let mut tx = self.appraisal_tx().await?;
        sqlx::query("INSERT INTO appraisals (meeting_id, anonymous, setup) VALUES ($1, $2, $3)")
            .bind(new.id.0)
            .bind(i64::from(new.anonymous))
            .bind(json(new.setup)?)
            .execute(&mut *tx)
            .await?;
        for elector in new.electorate {
            sqlx::query(
                "INSERT INTO meeting_members (meeting_id, account_id, role) \
                 VALUES ($1, $2, 'representative')",
            )
            .bind(new.id.0)
            .bind(elector.0)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn appraisal(&self, id: MeetingId) -> StoreResult<Option<AppraisalRecord>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM appraisals WHERE meeting_id = $1"
        ))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(record)
        .transpose()
    }

    async fn appraisal_snapshot(&self, id: MeetingId) -> StoreResult<Option<Snapshot>> {
        let mut tx = self.appraisal_read_tx().await?;
        let Some(row) = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM appraisals WHERE meeting_id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let record = record(&row)?;
        let counts = tally(&mut tx, id).await?;
        let ballots = sqlx::query(&format!(
            "SELECT {BALLOT_COLUMNS} FROM appraisal_ballots WHERE meeting_id = $1 \
             ORDER BY ballot_id"
        ))
        .bind(id.0)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(ballot)
        .collect::<StoreResult<Vec<_>>>()?;
        tx.commit().await?;
        Ok(Some(Snapshot {
            record,
            issued: counts.issued,
            receipts: counts.cast,
            ballots,
        }))
    }

    async fn appraisal_electorate(&self, id: MeetingId) -> StoreResult<Vec<AccountId>> {
        let rows = sqlx::query(
            "SELECT account_id FROM meeting_members WHERE meeting_id = $1 \
             AND role = 'representative' ORDER BY account_id",
        )
        .bind(id.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok(AccountId(r.try_get("account_id")?)))
            .collect()
    }

    async fn appraisal_is_elector(&self, id: MeetingId, account: AccountId) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM meeting_members WHERE meeting_id = $1 AND account_id = $2 \
             AND role = 'representative'",
        )
        .bind(id.0)
        .bind(account.0)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    async fn appraisal_has_voted(&self, id: MeetingId, account: AccountId) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM appraisal_receipts WHERE meeting_id = $1 AND voter_id = $2",
        )
        .bind(id.0)
        .bind(account.0)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    async fn appraisal_move(&self, step: AppraisalMove<'_>) -> StoreResult<Tally> {
        let mut tx = self.appraisal_tx().await?;
        let stamp = match step.to {
            AppraisalState::Balloting => "opened_at",
            AppraisalState::Counting => "closed_at",
            AppraisalState::Published => "published_at",
            AppraisalState::Prepared => return Err(corrupt("move back to prepared")),
        };
        let moved = sqlx::query(&format!(
            "UPDATE appraisals SET state = $1, revision = revision + 1, {stamp} = $2 \
             WHERE meeting_id = $3 AND state = $4 AND revision = $5"
        ))
        .bind(step.to.as_str())
        .bind(step.at)
        .bind(step.id.0)
        .bind(step.from.as_str())
        .bind(step.expected_revision)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        for item in step.follow_ups {
            sqlx::query(
                "INSERT INTO appraisal_follow_ups \
                 (meeting_id, appraisee, title, owner_id, due_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(step.id.0)
            .bind(i64::from(item.appraisee))
            .bind(&item.title)
            .bind(item.owner.0)
            .bind(item.due_at)
            .bind(step.at)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(cause) = step.cause {
            crate::store::notify::sql::record_cause(&mut tx, cause, step.at).await?;
        }
        let tally = tally(&mut tx, step.id).await?;
        tx.commit().await?;
        Ok(tally)
    }

    async fn appraisal_cast(&self, b: CastBallot<'_>) -> StoreResult<Cast> {
        let mut tx = self.appraisal_tx().await?;
        if let Some(answer) = second_ballot(&mut tx, &b).await? {
            return Ok(answer);
        }
        if let Err(now) = bump(&mut tx, b.id, AppraisalState::Balloting).await? {
            return Ok(Cast::NotBalloting(now));
        }
        let receipt = sqlx::query(
            "INSERT INTO appraisal_receipts (meeting_id, voter_id, request_id) \
             VALUES ($1, $2, $3) ON CONFLICT (meeting_id, voter_id) DO NOTHING",
        )
        .bind(b.id.0)
        .bind(b.voter.0)
        .bind(b.request_id.map(|r| r.as_str()))
        .execute(&mut *tx)
        .await?;
        if receipt.rows_affected() != 1 {
            // Another request of the same voter got in first.
            let answer = second_ballot(&mut tx, &b).await?;
            return Ok(answer.unwrap_or(Cast::AlreadyVoted));
        }
        let id = ballot_id();
        sqlx::query(
            "INSERT INTO appraisal_ballots \
             (ballot_id, meeting_id, voter_id, cast_at, scores, grades, comment) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(b.id.0)
        .bind((!b.anonymous).then_some(b.voter.0))
        .bind((!b.anonymous).then_some(b.at))
        .bind(json(b.scores)?)
        .bind(json(b.grades)?)
        .bind(b.comment)
        .execute(&mut *tx)
        .await?;
        let tally = tally(&mut tx, b.id).await?;
        tx.commit().await?;
        Ok(Cast::Stored {
            tally,
            ballot_id: (!b.anonymous).then_some(id),
        })
    }

    async fn appraisal_void(&self, v: VoidWrite<'_>) -> StoreResult<Voided> {
        let mut tx = self.appraisal_tx().await?;
        if let Err(now) = bump(&mut tx, v.id, AppraisalState::Counting).await? {
            return Ok(Voided::NotCounting(now));
        }
        let changed = sqlx::query(
            "UPDATE appraisal_ballots SET status = 'void', void_reason = $1 \
             WHERE meeting_id = $2 AND ballot_id = $3 AND status = 'valid'",
        )
        .bind(v.reason)
        .bind(v.id.0)
        .bind(v.ballot_id)
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() != 1 {
            let exists = sqlx::query(
                "SELECT 1 AS one FROM appraisal_ballots WHERE meeting_id = $1 AND ballot_id = $2",
            )
            .bind(v.id.0)
            .bind(v.ballot_id)
            .fetch_optional(&mut *tx)
            .await?;
            // Dropping the transaction rolls the revision back.
            return Ok(if exists.is_some() {
                Voided::AlreadyVoid
            } else {
                Voided::NoSuchBallot
            });
        }
        sqlx::query(
            "INSERT INTO appraisal_ballot_changes \
             (meeting_id, ballot_id, change, reason, actor_id, created_at) \
             VALUES ($1, $2, 'void', $3, $4, $5)",
        )
        .bind(v.id.0)
        .bind(v.ballot_id)
        .bind(v.reason)
        .bind(v.actor.0)
        .bind(v.at)
        .execute(&mut *tx)
        .await?;
        let tally = tally(&mut tx, v.id).await?;
        tx.commit().await?;
        Ok(Voided::Done(tally))
    }

    async fn appraisal_changes(&self, id: MeetingId) -> StoreResult<Vec<BallotChangeRow>> {
        let rows = sqlx::query(
            "SELECT ballot_id, change, reason, actor_id, created_at \
             FROM appraisal_ballot_changes WHERE meeting_id = $1 ORDER BY id",
        )
        .bind(id.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BallotChangeRow {
                    ballot_id: r.try_get("ballot_id")?,
                    change: r.try_get("change")?,
                    reason: r.try_get("reason")?,
                    actor: AccountId(r.try_get("actor_id")?),
                    at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn appraisal_follow_ups(&self, id: MeetingId) -> StoreResult<Vec<FollowUpRow>> {
        let rows = sqlx::query(
            "SELECT appraisee, title, owner_id, due_at, created_at \
             FROM appraisal_follow_ups WHERE meeting_id = $1 ORDER BY appraisee",
        )
        .bind(id.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FollowUpRow {
                    appraisee: u32::try_from(r.try_get::<i64, _>("appraisee")?)
                        .map_err(|_| corrupt("follow-up appraisee"))?,
                    title: r.try_get("title")?,
                    owner: AccountId(r.try_get("owner_id")?),
                    due_at: r.try_get("due_at")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }
}
