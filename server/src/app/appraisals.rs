//! The one path for appraisal meetings: resolve who acts, ask the domain, write through the
//! store in one transaction, then tell the meeting's room. Counts and results are recomputed
//! from the stored ballots every time they are shown.

use crate::app::channels::{Identity, identity};
use crate::app::publish_in_room as send;
use crate::app::retry::{self, Attempt};
use crate::app::state::AppState;
use crate::domain::appraisal::{
    self, Action, CheckedAppraisal, Counted, Move, Refusal, Standing, permitted,
};
use crate::domain::notify::{AppraisalStep, Cause};
use crate::domain::text::Text;
use crate::error::{AppError, AppResult};
use crate::store::appraisals::{
    AppraisalMove, AppraisalRecord, Cast, CastBallot, NewAppraisalRecord, Snapshot, Tally,
    VoidWrite, Voided,
};
use crate::store::meetings::{MeetingRecord, NewMeeting as NewMeetingRecord};
use hehe_protocol::EventKind;
use hehe_protocol::appraisal::{
    AppraisalCounts, AppraisalDetail, AppraisalPublished, AppraisalState, AppraisalUpdated,
    AppraiseeInfo, AppraiseeResult, BallotChange, BallotInfo, BallotReceipt, DimensionInfo,
    FollowUpInfo, NewAppraisal, NewBallot,
};
use hehe_protocol::meeting::{MeetingKind, MeetingState};
use hehe_protocol::{ErrorCode, MeetingId};

/// Attempts at a state change that keeps meeting concurrent ballots or voids.
const ATTEMPTS: usize = 8;

/// An appraisal with its meeting, and the caller's standing in it.
struct Loaded {
    meeting: MeetingRecord,
    record: AppraisalRecord,
    standing: Standing,
}

/// The appraisal, for a caller who may take `action` on it; `not_found` when there is none.
async fn load_for(
    state: &AppState,
    who: &Identity,
    id: MeetingId,
    action: Action,
) -> AppResult<Loaded> {
    let not_found = || AppError::not_found("appraisal");
    let meeting = state
        .store
        .meeting(id)
        .await?
        .filter(|m| m.kind == MeetingKind::Appraisal)
        .ok_or_else(not_found)?;
    let record = state.store.appraisal(id).await?.ok_or_else(not_found)?;
    let place = state
        .store
        .place_path(meeting.place_id)
        .await?
        .ok_or_else(not_found)?;
    let standing = Standing {
        place,
        chair: meeting.chair,
        elector: state.store.appraisal_is_elector(id, who.actor.id).await?,
    };
    require(who, &standing, action)?;
    Ok(Loaded {
        meeting,
        record,
        standing,
    })
}

fn require(who: &Identity, standing: &Standing, action: Action) -> AppResult<()> {
    if permitted(&who.actor, standing, action) {
        return Ok(());
    }
    Err(match action {
        Action::Cast => AppError::new(
            ErrorCode::Forbidden,
            "you are not in this appraisal's electorate",
        ),
        _ => AppError::forbidden(),
    })
}

/// Sets up an appraisal (state `prepared`) chaired by the caller.
pub async fn set_up(
    state: &AppState,
    who: &Identity,
    new: NewAppraisal,
) -> AppResult<AppraisalDetail> {
    let place = crate::app::place(state, new.place_id).await?;
    if !appraisal::appraisable(&place) {
        return Err(AppError::invalid(
            "an appraisal belongs to a community or a street",
        ));
    }
    let standing = Standing {
        place,
        chair: who.actor.id,
        elector: false,
    };
    require(who, &standing, Action::SetUp)?;
    let CheckedAppraisal {
        title,
        setup,
        electorate,
    } = appraisal::check_setup(&new)?;
    for account in setup.appraisees.iter().filter_map(|a| a.account) {
        if state.store.account(account).await?.is_none() {
            return Err(AppError::invalid(format!(
                "appraisee account {account} does not exist"
            )));
        }
    }
    let mut refused = Vec::new();
    for &elector in &electorate {
        // A missing or disabled account cannot vote any more than an outsider can.
        let fits = match identity(state, elector).await {
            Ok(person) => appraisal::may_be_elector(&person.actor, &place),
            Err(e) if e.code == ErrorCode::Forbidden => false,
            Err(e) => return Err(e),
        };
        if !fits {
            refused.push(elector.to_string());
        }
    }
    if !refused.is_empty() {
        refused.truncate(20);
        return Err(AppError::invalid(format!(
            "not a resident or building lead of the place: {}",
            refused.join(", ")
        )));
    }
    let now = state.now();
    let id = state
        .store
        .create_meeting(NewMeetingRecord {
            kind: MeetingKind::Appraisal,
            title: &title,
            description: "",
            place: new.place_id,
            chair: who.actor.id,
            secretary: None,
            private: false,
            agenda: &[],
            capacity: None,
            // The room is open from the start: the appraisal's own states govern the ballot.
            initial_state: MeetingState::Published,
            previous_round: None,
            at: now,
        })
        .await?;
    state
        .store
        .appraisal_create(NewAppraisalRecord {
            id,
            anonymous: new.anonymous,
            setup: &setup,
            electorate: &electorate,
        })
        .await?;
    let (target, place) = (format!("meeting:{}", id.0), Some(new.place_id));
    crate::app::audit::after(state, who, "appraisal.set_up", target, place, None).await;
    let lock = state.rooms.turn(id);
    let _turn = lock.lock().await;
    updated(
        state,
        id,
        &Tally {
            revision: 0,
            state: AppraisalState::Prepared,
            issued: electorate.len() as u32,
            cast: 0,
            void: 0,
        },
    )
    .await?;
    detail(state, who, id).await
}

/// The appraisal as stored now, with its counts and results; the counts must reconcile.
async fn counted(
    state: &AppState,
    id: MeetingId,
) -> AppResult<(Snapshot, AppraisalCounts, Vec<AppraiseeResult>)> {
    let snapshot = state
        .store
        .appraisal_snapshot(id)
        .await?
        .ok_or_else(|| AppError::not_found("appraisal"))?;
    let counted: Vec<Counted> = snapshot
        .ballots
        .iter()
        .map(|b| Counted {
            scores: b.scores.clone(),
            grades: b.grades.clone(),
            status: b.status,
        })
        .collect();
    let setup = &snapshot.record.setup;
    let counts = appraisal::reconcile(setup, snapshot.issued, snapshot.receipts, &counted)?;
    let results = appraisal::results(setup, &counted);
    Ok((snapshot, counts, results))
}

fn follow_up_info(row: crate::store::appraisals::FollowUpRow) -> FollowUpInfo {
    FollowUpInfo {
        appraisee: row.appraisee,
        title: row.title,
        owner: row.owner,
        due_at: row.due_at,
        created_at: row.created_at,
    }
}

/// The appraisal as the caller may see it.
pub async fn detail(state: &AppState, who: &Identity, id: MeetingId) -> AppResult<AppraisalDetail> {
    let loaded = load_for(state, who, id, Action::Read).await?;
    let standing = &loaded.standing;
    let (snapshot, counts, results) = counted(state, id).await?;
    let record = &snapshot.record;
    let published = record.state == AppraisalState::Published;
    let see_results = published && permitted(&who.actor, standing, Action::ReadResults);
    let counter = permitted(&who.actor, standing, Action::ReadBallots);
    let see_ballots = counter && record.state >= AppraisalState::Counting;
    let follow_ups = if see_results {
        let rows = state.store.appraisal_follow_ups(id).await?;
        Some(rows.into_iter().map(follow_up_info).collect())
    } else {
        None
    };
    let changes = if see_ballots || see_results {
        let rows = state.store.appraisal_changes(id).await?;
        let change = |c: crate::store::appraisals::BallotChangeRow| BallotChange {
            ballot_id: c.ballot_id,
            change: c.change,
            reason: c.reason,
            by: c.actor,
            at: c.at,
        };
        Some(rows.into_iter().map(change).collect())
    } else {
        None
    };
    let electorate = if counter {
        Some(state.store.appraisal_electorate(id).await?)
    } else {
        None
    };
    Ok(AppraisalDetail {
        id,
        title: loaded.meeting.title.clone(),
        place_id: loaded.meeting.place_id,
        chair: loaded.meeting.chair,
        state: record.state,
        anonymous: record.anonymous,
        low_score_threshold: record.setup.low_score_threshold,
        appraisees: appraisee_infos(&record.setup),
        dimensions: dimension_infos(&record.setup),
        counts,
        elector: standing.elector,
        voted: state.store.appraisal_has_voted(id, who.actor.id).await?,
        electorate,
        created_at: loaded.meeting.created_at,
        opened_at: record.opened_at,
        closed_at: record.closed_at,
        published_at: record.published_at,
        results: see_results.then_some(results),
        follow_ups,
        ballots: see_ballots.then(|| snapshot.ballots.iter().map(ballot_info).collect()),
        changes,
    })
}

fn appraisee_infos(setup: &appraisal::Setup) -> Vec<AppraiseeInfo> {
    let appraisees = setup.appraisees.iter().enumerate();
    appraisees
        .map(|(i, a)| AppraiseeInfo {
            index: i as u32,
            name: a.name.clone(),
            account_id: a.account,
            service: a.service.clone(),
        })
        .collect()
}

fn dimension_infos(setup: &appraisal::Setup) -> Vec<DimensionInfo> {
    let weighted = setup.dimensions.iter().zip(setup.normalised_weights());
    weighted
        .enumerate()
        .map(|(i, (d, w))| DimensionInfo {
            index: i as u32,
            name: d.name.clone(),
            weight: d.weight,
            normalised_weight: w,
            scale: d.scale,
        })
        .collect()
}

fn ballot_info(b: &crate::store::appraisals::BallotRow) -> BallotInfo {
    BallotInfo {
        id: b.id.clone(),
        voter: b.voter,
        cast_at: b.cast_at,
        scores: b.scores.clone(),
        grades: b.grades.clone(),
        comment: b.comment.clone(),
        status: b.status,
        void_reason: b.void_reason.clone(),
    }
}

/// Moves the appraisal one step: open, close or publish. Publishing counts the ballots and
/// opens a follow-up item for each low score.
pub async fn step(
    state: &AppState,
    who: &Identity,
    id: MeetingId,
    step: Move,
) -> AppResult<AppraisalDetail> {
    let lock = state.rooms.turn(id);
    let turn = lock.lock().await;
    let done = retry::on_stale(ATTEMPTS, move || async move {
        let loaded = load_for(state, who, id, step.action()).await?;
        let (from, to) = step.states();
        appraisal::advance(loaded.record.state, step)?;
        let now = state.now();
        let (revision, published) = if step == Move::Publish {
            let (snapshot, counts, results) = counted(state, id).await?;
            let items = appraisal::follow_ups(
                &loaded.meeting.title,
                &snapshot.record.setup,
                &results,
                loaded.meeting.chair,
                now,
            );
            (snapshot.record.revision, Some((counts, results, items)))
        } else {
            (loaded.record.revision, None)
        };
        let items = published.as_ref().map_or(&[][..], |p| &p.2[..]);
        let opened = (step == Move::Open).then_some(Cause::Appraisal {
            appraisal: id,
            step: AppraisalStep::Opened,
        });
        let moved = state.store.appraisal_move(AppraisalMove {
            id,
            from,
            to,
            expected_revision: revision,
            follow_ups: items,
            cause: opened.as_ref(),
            at: now,
        });
        // Stale: a ballot or a void landed since; decide again on what is stored now.
        Ok(match retry::written(moved.await)? {
            Attempt::Done(tally) => Attempt::Done((tally, published)),
            Attempt::Stale => Attempt::Stale,
        })
    })
    .await?;
    let (tally, published) = done.ok_or_else(|| retry::busy("the appraisal is busy; retry"))?;
    if step == Move::Open {
        state.notifier.wake();
    }
    let action = match step {
        Move::Open => "appraisal.open",
        Move::Close => "appraisal.close",
        Move::Publish => "appraisal.publish",
    };
    let place = state.store.meeting_place(id).await.ok().flatten();
    crate::app::audit::after(state, who, action, format!("meeting:{}", id.0), place, None).await;
    updated(state, id, &tally).await?;
    if let Some((counts, results, _)) = published {
        let follow_ups = state
            .store
            .appraisal_follow_ups(id)
            .await?
            .into_iter()
            .map(follow_up_info)
            .collect();
        let data = AppraisalPublished {
            appraisal_id: id,
            counts,
            results,
            follow_ups,
        };
        let key = format!("appraisal.published:{}", id.0);
        send(state, id, EventKind::AppraisalPublished, &data, key).await?;
    }
    drop(turn);
    detail(state, who, id).await
}

/// Casts the caller's ballot.
pub async fn cast(
    state: &AppState,
    who: &Identity,
    id: MeetingId,
    ballot: NewBallot,
) -> AppResult<BallotReceipt> {
    state
        .limits
        .check_account(crate::infra::limits::Limit::Vote, who.actor.id)?;
    let loaded = load_for(state, who, id, Action::Cast).await?;
    let checked = appraisal::check_ballot(&loaded.record.setup, &ballot)?;
    let lock = state.rooms.turn(id);
    let _turn = lock.lock().await;
    let outcome = state
        .store
        .appraisal_cast(CastBallot {
            id,
            voter: who.actor.id,
            request_id: ballot.request_id.as_ref(),
            anonymous: loaded.record.anonymous,
            scores: &checked.scores,
            grades: &checked.grades,
            comment: checked.comment.as_deref(),
            at: state.now(),
        })
        .await?;
    let ballot_id = match outcome {
        Cast::Stored { tally, ballot_id } => {
            updated(state, id, &tally).await?;
            ballot_id
        }
        Cast::Replayed { ballot_id } => ballot_id,
        Cast::AlreadyVoted => {
            return Err(AppError::new(ErrorCode::Conflict, "you have voted already"));
        }
        Cast::NotBalloting(now) => return Err(Refusal::WrongState(now).into()),
    };
    Ok(BallotReceipt {
        appraisal_id: id,
        ballot_id,
    })
}

/// Voids a ballot while counting, with a reason that is logged with who and when.
pub async fn void(
    state: &AppState,
    who: &Identity,
    id: MeetingId,
    ballot_id: &str,
    reason: &str,
) -> AppResult<AppraisalDetail> {
    let loaded = load_for(state, who, id, Action::Void).await?;
    appraisal::may_void_in(loaded.record.state)?;
    let reason = Text::parse(reason, &appraisal::VOID_REASON)?;
    let lock = state.rooms.turn(id);
    let turn = lock.lock().await;
    let outcome = state
        .store
        .appraisal_void(VoidWrite {
            id,
            ballot_id,
            reason: reason.as_str(),
            actor: who.actor.id,
            at: state.now(),
        })
        .await?;
    match outcome {
        Voided::Done(tally) => {
            let place = Some(loaded.meeting.place_id);
            let target = format!("meeting:{}", id.0);
            crate::app::audit::after(state, who, "appraisal.void", target, place, None).await;
            updated(state, id, &tally).await?
        }
        Voided::NoSuchBallot => return Err(AppError::not_found("ballot")),
        Voided::AlreadyVoid => {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "the ballot is void already",
            ));
        }
        Voided::NotCounting(now) => return Err(Refusal::WrongState(now).into()),
    }
    drop(turn);
    detail(state, who, id).await
}

/// Tells the room where the appraisal stands: its state and counts, nothing of any ballot.
async fn updated(state: &AppState, id: MeetingId, tally: &Tally) -> AppResult<()> {
    let data = AppraisalUpdated {
        state: tally.state,
        issued: tally.issued,
        cast: tally.cast,
        void: tally.void,
    };
    let key = format!("appraisal.updated:{}:{}", id.0, tally.revision);
    send(state, id, EventKind::AppraisalUpdated, &data, key).await
}
