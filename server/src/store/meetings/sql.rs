//! `MeetingStore` for `SqlStore`.

use super::{MeetingRecord, MeetingStore, MemberRole, NewMeeting, RoomWrite, RoomWritten};
use crate::domain::meeting::RoomEvent;
use crate::store::issues::sql::parse;
use crate::store::sql::{Backend, SqlStore};
use crate::store::{StoreError, StoreResult};
use async_trait::async_trait;
use hehe_protocol::meeting::{
    MeetingKind, MeetingState, RegistrationInfo, RegistrationStatus, RoomEventInfo,
};
use hehe_protocol::{AccountId, IssueId, MeetingId, PlaceId, RequestId};
use rand::Rng;
use rand::distr::Alphanumeric;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

const MEETING_COLUMNS: &str = "id, kind, title, description, place_id, chair_id, secretary_id, \
    private, state, agenda, minutes, last_seq, created_at, initial_state, capacity, previous_round, \
    decision";

fn record(row: &AnyRow) -> StoreResult<MeetingRecord> {
    let kind: String = row.try_get("kind")?;
    let state: String = row.try_get("state")?;
    let agenda: String = row.try_get("agenda")?;
    Ok(MeetingRecord {
        id: MeetingId(row.try_get("id")?),
        kind: parse::<MeetingKind>(&kind)?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        place_id: PlaceId(row.try_get("place_id")?),
        chair: AccountId(row.try_get("chair_id")?),
        secretary: row
            .try_get::<Option<i64>, _>("secretary_id")?
            .map(AccountId),
        private: row.try_get::<i64, _>("private")? != 0,
        state: parse::<MeetingState>(&state)?,
        agenda: serde_json::from_str(&agenda).map_err(|_| StoreError::Corrupt("agenda".into()))?,
        minutes: row.try_get("minutes")?,
        last_seq: row.try_get::<i64, _>("last_seq")? as u32,
        created_at: row.try_get("created_at")?,
        initial_state: parse::<MeetingState>(&row.try_get::<String, _>("initial_state")?)?,
        capacity: row.try_get::<Option<i64>, _>("capacity")?.map(|c| c as u32),
        previous_round: row
            .try_get::<Option<i64>, _>("previous_round")?
            .map(MeetingId),
        decision: row.try_get("decision")?,
    })
}

fn member_role(s: &str) -> StoreResult<MemberRole> {
    Ok(match s {
        "party" => MemberRole::Party,
        "mediator" => MemberRole::Mediator,
        "representative" => MemberRole::Representative,
        other => return Err(StoreError::Corrupt(format!("member role {other}"))),
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

const REGISTRATION_SELECT: &str = "SELECT meeting_id, account_id, status, code, registered_at, \
    checked_in_at FROM meeting_registrations";

fn status_text(s: RegistrationStatus) -> &'static str {
    match s {
        RegistrationStatus::Registered => "registered",
        RegistrationStatus::Waiting => "waiting",
        RegistrationStatus::Cancelled => "cancelled",
    }
}

fn registration(row: &AnyRow) -> StoreResult<RegistrationInfo> {
    let status: String = row.try_get("status")?;
    Ok(RegistrationInfo {
        meeting: MeetingId(row.try_get("meeting_id")?),
        account: AccountId(row.try_get("account_id")?),
        status: parse::<RegistrationStatus>(&status)?,
        code: row.try_get("code")?,
        registered_at: row.try_get("registered_at")?,
        checked_in_at: row.try_get("checked_in_at")?,
    })
}

async fn registration_in(
    tx: &mut Transaction<'_, Any>,
    meeting: MeetingId,
    account: AccountId,
) -> StoreResult<Option<RegistrationInfo>> {
    let row = sqlx::query(&format!(
        "{REGISTRATION_SELECT} WHERE meeting_id = $1 AND account_id = $2"
    ))
    .bind(meeting.0)
    .bind(account.0)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(registration).transpose()
}

/// Holds the meeting's row for the transaction, so two nodes cannot both hand out the last
/// seat (SQLite's write lock, taken at `BEGIN IMMEDIATE`, already does).
async fn lock_meeting(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    meeting: MeetingId,
) -> StoreResult<()> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT id FROM meetings WHERE id = $1 FOR UPDATE")
            .bind(meeting.0)
            .fetch_optional(&mut **tx)
            .await?;
    }
    Ok(())
}

impl SqlStore {
    async fn room_tx(&self) -> StoreResult<Transaction<'static, Any>> {
        Ok(match self.backend() {
            Backend::Sqlite => self.pool().begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool().begin().await?,
        })
    }
}

#[async_trait]
impl MeetingStore for SqlStore {
    async fn meeting(&self, id: MeetingId) -> StoreResult<Option<MeetingRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {MEETING_COLUMNS} FROM meetings WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(record).transpose()
    }

    async fn create_meeting(&self, m: NewMeeting<'_>) -> StoreResult<MeetingId> {
        let row = sqlx::query(
            "INSERT INTO meetings (kind, title, place_id, chair_id, private, agenda, created_at, \
             description, secretary_id, capacity, initial_state, state, previous_round) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) RETURNING id",
        )
        .bind(m.kind.as_str())
        .bind(m.title)
        .bind(m.place.0)
        .bind(m.chair.0)
        .bind(i64::from(m.private))
        .bind(serde_json::to_string(m.agenda).unwrap_or_else(|_| "[]".into()))
        .bind(m.at)
        .bind(m.description)
        .bind(m.secretary.map(|s| s.0))
        .bind(m.capacity.map(i64::from))
        .bind(m.initial_state.as_str())
        .bind(m.previous_round.map(|p| p.0))
        .fetch_one(self.pool())
        .await?;
        Ok(MeetingId(row.try_get("id")?))
    }

    async fn add_member(
        &self,
        meeting: MeetingId,
        account: AccountId,
        role: MemberRole,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO meeting_members (meeting_id, account_id, role) VALUES ($1, $2, $3)",
        )
        .bind(meeting.0)
        .bind(account.0)
        .bind(role.as_str())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn member_role(
        &self,
        meeting: MeetingId,
        account: AccountId,
    ) -> StoreResult<Option<MemberRole>> {
        let row = sqlx::query(
            "SELECT role FROM meeting_members WHERE meeting_id = $1 AND account_id = $2",
        )
        .bind(meeting.0)
        .bind(account.0)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| member_role(&r.try_get::<String, _>("role")?))
            .transpose()
    }

    async fn members(&self, meeting: MeetingId, role: MemberRole) -> StoreResult<Vec<AccountId>> {
        let rows = sqlx::query(
            "SELECT account_id FROM meeting_members WHERE meeting_id = $1 AND role = $2 \
             ORDER BY account_id",
        )
        .bind(meeting.0)
        .bind(role.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok(AccountId(r.try_get("account_id")?)))
            .collect()
    }

    async fn meetings_for(
        &self,
        places: &[PlaceId],
        account: AccountId,
    ) -> StoreResult<Vec<MeetingRecord>> {
        if places.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = places.iter().map(|p| p.0.to_string()).collect();
        let rows = sqlx::query(&format!(
            "SELECT {MEETING_COLUMNS} FROM meetings m WHERE place_id IN ({}) AND (private = 0 \
             OR chair_id = $1 OR secretary_id = $1 OR EXISTS (SELECT 1 FROM meeting_members mm \
             WHERE mm.meeting_id = m.id AND mm.account_id = $1)) ORDER BY id",
            list.join(", ")
        ))
        .bind(account.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(record).collect()
    }

    async fn room_events(
        &self,
        meeting: MeetingId,
        after_seq: u32,
    ) -> StoreResult<Vec<(RoomEventInfo, RoomEvent)>> {
        let rows = sqlx::query(
            "SELECT seq, actor_id, kind, data, created_at FROM meeting_events \
             WHERE meeting_id = $1 AND seq > $2 ORDER BY seq",
        )
        .bind(meeting.0)
        .bind(i64::from(after_seq))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let data: String = row.try_get("data")?;
                let event: RoomEvent = serde_json::from_str(&data)
                    .map_err(|_| StoreError::Corrupt("room event".into()))?;
                let info = RoomEventInfo {
                    meeting,
                    seq: row.try_get::<i64, _>("seq")? as u32,
                    actor: row.try_get::<Option<i64>, _>("actor_id")?.map(AccountId),
                    kind: row.try_get("kind")?,
                    data: serde_json::to_value(&event).unwrap_or_default(),
                    time: row.try_get("created_at")?,
                };
                Ok((info, event))
            })
            .collect()
    }

    async fn room_command(
        &self,
        account: AccountId,
        request_id: &RequestId,
    ) -> StoreResult<Option<(MeetingId, u32)>> {
        let row = sqlx::query(
            "SELECT meeting_id, last_seq FROM meeting_commands \
             WHERE account_id = $1 AND request_id = $2",
        )
        .bind(account.0)
        .bind(request_id.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok((
                MeetingId(row.try_get("meeting_id")?),
                row.try_get::<i64, _>("last_seq")? as u32,
            ))
        })
        .transpose()
    }

    async fn append_room(&self, w: RoomWrite<'_>) -> StoreResult<RoomWritten> {
        let mut tx = self.room_tx().await?;
        if let Some((account, request_id)) = w.command {
            let done = sqlx::query(
                "SELECT last_seq FROM meeting_commands WHERE account_id = $1 AND request_id = $2",
            )
            .bind(account.0)
            .bind(request_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = done {
                return Ok(RoomWritten::Replayed {
                    last_seq: row.try_get::<i64, _>("last_seq")? as u32,
                });
            }
        }
        let n = w.events.len() as i64;
        let moved = sqlx::query(
            "UPDATE meetings SET last_seq = last_seq + $1, state = $2, minutes = COALESCE($3, minutes), \
             decision = COALESCE($6, decision) WHERE id = $4 AND last_seq = $5",
        )
        .bind(n)
        .bind(w.state.as_str())
        .bind(w.minutes)
        .bind(w.meeting.0)
        .bind(i64::from(w.expected_last_seq))
        .bind(w.decision)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        if let Some(ballot) = &w.ballot {
            let receipt = sqlx::query(
                "INSERT INTO vote_receipts (meeting_id, vote_no, voter_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (meeting_id, vote_no, voter_id) DO NOTHING",
            )
            .bind(w.meeting.0)
            .bind(i64::from(ballot.vote))
            .bind(ballot.voter.0)
            .execute(&mut *tx)
            .await?;
            if receipt.rows_affected() != 1 {
                return Ok(RoomWritten::AlreadyVoted);
            }
            sqlx::query(
                "INSERT INTO vote_ballots (ballot_id, meeting_id, vote_no, voter_id, choices) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(ballot_id())
            .bind(w.meeting.0)
            .bind(i64::from(ballot.vote))
            .bind((!ballot.anonymous).then_some(ballot.voter.0))
            .bind(serde_json::to_string(ballot.choices).unwrap_or_default())
            .execute(&mut *tx)
            .await?;
        }
        let mut infos = Vec::new();
        for (i, event) in w.events.iter().enumerate() {
            let seq = w.expected_last_seq + 1 + i as u32;
            let data = serde_json::to_value(event).unwrap_or_default();
            sqlx::query(
                "INSERT INTO meeting_events (meeting_id, seq, actor_id, kind, data, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(w.meeting.0)
            .bind(i64::from(seq))
            .bind(w.actor.map(|a| a.0))
            .bind(event.kind())
            .bind(data.to_string())
            .bind(w.at)
            .execute(&mut *tx)
            .await?;
            infos.push(RoomEventInfo {
                meeting: w.meeting,
                seq,
                actor: w.actor,
                kind: event.kind().into(),
                data,
                time: w.at,
            });
        }
        if let Some((account, request_id)) = w.command {
            sqlx::query(
                "INSERT INTO meeting_commands (account_id, request_id, meeting_id, last_seq) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(account.0)
            .bind(request_id.as_str())
            .bind(w.meeting.0)
            .bind(i64::from(w.expected_last_seq + w.events.len() as u32))
            .execute(&mut *tx)
            .await?;
        }
        if let Some(cause) = w.cause {
            crate::store::notify::sql::record_cause(&mut tx, cause, w.at).await?;
        }
        tx.commit().await?;
        Ok(RoomWritten::Appended(infos))
    }

    async fn link_issue(&self, meeting: MeetingId, issue: IssueId) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO meeting_issues (meeting_id, issue_id) VALUES ($1, $2) \
             ON CONFLICT (meeting_id, issue_id) DO NOTHING",
        )
        .bind(meeting.0)
        .bind(issue.0)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn linked_issues(&self, meeting: MeetingId) -> StoreResult<Vec<IssueId>> {
        let rows = sqlx::query(
            "SELECT issue_id FROM meeting_issues WHERE meeting_id = $1 ORDER BY issue_id",
        )
        .bind(meeting.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok(IssueId(r.try_get("issue_id")?)))
            .collect()
    }

    async fn register(
        &self,
        meeting: MeetingId,
        account: AccountId,
        code: &str,
        capacity: Option<u32>,
        at: i64,
    ) -> StoreResult<RegistrationInfo> {
        let mut tx = self.room_tx().await?;
        lock_meeting(&mut tx, self.backend(), meeting).await?;
        if let Some(existing) = registration_in(&mut tx, meeting, account).await?
            && existing.status != RegistrationStatus::Cancelled
        {
            return Ok(existing);
        }
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM meeting_registrations WHERE meeting_id = $1 AND status = 'registered'",
        )
        .bind(meeting.0)
        .fetch_one(&mut *tx)
        .await?;
        let taken = row.try_get::<i64, _>("n")?;
        let status = match capacity {
            Some(seats) if taken >= i64::from(seats) => RegistrationStatus::Waiting,
            _ => RegistrationStatus::Registered,
        };
        sqlx::query(
            "INSERT INTO meeting_registrations (meeting_id, account_id, status, code, registered_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (meeting_id, account_id) DO UPDATE \
             SET status = $3, code = $4, registered_at = $5, checked_in_at = NULL",
        )
        .bind(meeting.0)
        .bind(account.0)
        .bind(status_text(status))
        .bind(code)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let info = registration_in(&mut tx, meeting, account)
            .await?
            .ok_or_else(|| StoreError::Corrupt("registration vanished".into()))?;
        tx.commit().await?;
        Ok(info)
    }

    async fn cancel_registration(
        &self,
        meeting: MeetingId,
        account: AccountId,
    ) -> StoreResult<Option<(RegistrationInfo, Option<RegistrationInfo>)>> {
        let mut tx = self.room_tx().await?;
        lock_meeting(&mut tx, self.backend(), meeting).await?;
        let Some(existing) = registration_in(&mut tx, meeting, account).await? else {
            return Ok(None);
        };
        sqlx::query("UPDATE meeting_registrations SET status = 'cancelled' WHERE meeting_id = $1 AND account_id = $2")
            .bind(meeting.0)
            .bind(account.0)
            .execute(&mut *tx)
            .await?;
        let mut promoted = None;
        if existing.status == RegistrationStatus::Registered {
            let next = sqlx::query(
                "SELECT account_id FROM meeting_registrations WHERE meeting_id = $1 AND status = 'waiting' \
                 ORDER BY registered_at, account_id LIMIT 1",
            )
            .bind(meeting.0)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = next {
                let lucky = AccountId(row.try_get("account_id")?);
                sqlx::query(
                    "UPDATE meeting_registrations SET status = 'registered' WHERE meeting_id = $1 AND account_id = $2",
                )
                .bind(meeting.0)
                .bind(lucky.0)
                .execute(&mut *tx)
                .await?;
                promoted = registration_in(&mut tx, meeting, lucky).await?;
            }
        }
        let cancelled = registration_in(&mut tx, meeting, account)
            .await?
            .ok_or_else(|| StoreError::Corrupt("registration vanished".into()))?;
        tx.commit().await?;
        Ok(Some((cancelled, promoted)))
    }

    async fn check_in(
        &self,
        meeting: MeetingId,
        code: &str,
        at: i64,
    ) -> StoreResult<Option<RegistrationInfo>> {
        let done = sqlx::query(
            "UPDATE meeting_registrations SET checked_in_at = COALESCE(checked_in_at, $1) \
             WHERE meeting_id = $2 AND code = $3 AND status = 'registered'",
        )
        .bind(at)
        .bind(meeting.0)
        .bind(code)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        let row = sqlx::query(&format!(
            "{REGISTRATION_SELECT} WHERE meeting_id = $1 AND code = $2"
        ))
        .bind(meeting.0)
        .bind(code)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(registration).transpose()
    }

    async fn registrations(&self, meeting: MeetingId) -> StoreResult<Vec<RegistrationInfo>> {
        let rows = sqlx::query(&format!(
            "{REGISTRATION_SELECT} WHERE meeting_id = $1 ORDER BY registered_at, account_id"
        ))
        .bind(meeting.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(registration).collect()
    }

    async fn ballots(&self, meeting: MeetingId, vote: u32) -> StoreResult<Vec<Vec<u32>>> {
        let rows =
            sqlx::query("SELECT choices FROM vote_ballots WHERE meeting_id = $1 AND vote_no = $2")
                .bind(meeting.0)
                .bind(i64::from(vote))
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|r| {
                let choices: String = r.try_get("choices")?;
                serde_json::from_str(&choices).map_err(|_| StoreError::Corrupt("ballot".into()))
            })
            .collect()
    }

    async fn receipts(&self, meeting: MeetingId, vote: u32) -> StoreResult<u32> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM vote_receipts WHERE meeting_id = $1 AND vote_no = $2",
        )
        .bind(meeting.0)
        .bind(i64::from(vote))
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get::<i64, _>("n")? as u32)
    }
}
