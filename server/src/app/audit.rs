//! The audit log: who did which privileged action to what, where, when, and how it ended;
//! written here and read back by admins (all of it) and street chiefs (their streets').
//! Entries hold ids and action names only, never message bodies or personal data.
//!
//! Grant changes, disabling and logging out everywhere write their entry in the transaction
//! that makes the change (`IdentityStore`). Issue, meeting, appraisal and ops actions write it
//! right after their own commit succeeded (`record`): an entry may go missing if the node dies
//! between the two, but none is written for an action that did not happen.

use crate::app::channels::Identity;
use crate::app::state::AppState;
use crate::domain::roles::{self, AuditScope};
use crate::error::{AppError, AppResult};
use crate::store::identity::{NewAudit, Outcome};
use hehe_protocol::issue::IssueAction;
use hehe_protocol::meeting::RoomAction;
use hehe_protocol::{PlaceId, RequestId};

/// An entry as read back: its id, for paging, and what was written.
pub use crate::store::identity::AuditRow;

/// An entry for `actor`'s action on `target` about `place` (its street is looked up).
pub async fn entry(
    state: &AppState,
    actor: &Identity,
    action: &str,
    target: String,
    place: Option<PlaceId>,
    request_id: Option<&RequestId>,
) -> NewAudit {
    let street = match place {
        Some(p) => state
            .store
            .place_path(p)
            .await
            .ok()
            .flatten()
            .map(|path| path.street),
        None => None,
    };
    NewAudit {
        at: state.now(),
        actor: actor.actor.id,
        action: action.to_owned(),
        target,
        place,
        street,
        detail: None,
        outcome: Outcome::Ok,
        request_id: request_id.map(|r| r.as_str().to_owned()),
    }
}

/// Writes an entry for an action that has been committed already. A failure is logged, not
/// returned: the action stands, and its caller must get its answer.
pub async fn record(state: &AppState, entry: NewAudit) {
    if let Err(e) = state.store.insert_audit(&entry).await {
        tracing::error!(error = %e, action = %entry.action, "audit entry not written");
    }
}

/// `record(entry(..))`, for the call sites after a commit.
pub async fn after(
    state: &AppState,
    actor: &Identity,
    action: &str,
    target: String,
    place: Option<PlaceId>,
    request_id: Option<&RequestId>,
) {
    let e = entry(state, actor, action, target, place, request_id).await;
    record(state, e).await;
}

/// A page of entries, newest first.
pub struct Page {
    pub entries: Vec<AuditRow>,
    /// The id to read on from (older entries); `None` on the last page.
    pub next_before: Option<i64>,
}

/// Entries with ids below `before` that the caller may read: every street's for admins, their
/// own street's for street chiefs. `street` narrows to one; a chief of several names it.
pub async fn page(
    state: &AppState,
    who: &Identity,
    street: Option<PlaceId>,
    before: Option<i64>,
    limit: u32,
) -> AppResult<Page> {
    let street = match roles::audit_scope(&who.actor) {
        AuditScope::All => street,
        AuditScope::Streets(mine) => match street {
            Some(s) if mine.contains(&s) => Some(s),
            Some(_) => return Err(AppError::forbidden()),
            None if mine.len() == 1 => Some(mine[0]),
            None => return Err(AppError::invalid("name the street to read")),
        },
        AuditScope::Nothing => return Err(AppError::forbidden()),
    };
    let entries = state.store.audit_entries(street, before, limit).await?;
    let next_before = match entries.last() {
        Some(last) if entries.len() == limit as usize => Some(last.id),
        _ => None,
    };
    Ok(Page {
        entries,
        next_before,
    })
}

/// The audit name of an issue action taken by staff, or `None` for what residents do on their
/// own issues (rating, withdrawing, following, "me too").
pub fn issue_action(action: &IssueAction) -> Option<&'static str> {
    Some(match action {
        IssueAction::Accept => "issue.accept",
        IssueAction::Reject { .. } => "issue.reject",
        IssueAction::Merge { .. } => "issue.merge",
        IssueAction::Dispatch { .. } => "issue.dispatch",
        IssueAction::Acknowledge => "issue.acknowledge",
        IssueAction::Return { .. } => "issue.return",
        IssueAction::Escalate { .. } => "issue.escalate",
        IssueAction::PostUpdate { internal: true, .. } => "issue.internal_note",
        IssueAction::PostUpdate { .. } => "issue.update",
        IssueAction::Complete { .. } => "issue.complete",
        IssueAction::DeclareUnfixable { .. } => "issue.declare_unfixable",
        IssueAction::VerifyOk => "issue.verify_ok",
        IssueAction::VerifyFail { .. } => "issue.verify_fail",
        IssueAction::Rate { .. }
        | IssueAction::Withdraw
        | IssueAction::Follow
        | IssueAction::Unfollow
        | IssueAction::MeToo { .. } => return None,
    })
}

/// The audit name of a room action that only the chair (or a mediator) may take, or `None` for
/// what any participant does (hands, speaking, reactions, ballots, agreeing, statements).
pub fn room_action(action: &RoomAction) -> Option<&'static str> {
    Some(match action {
        RoomAction::Start => "room.start",
        RoomAction::End => "room.end",
        RoomAction::PublishMinutes { .. } => "room.publish_minutes",
        RoomAction::Lock => "room.lock",
        RoomAction::Unlock => "room.unlock",
        RoomAction::SetMode { .. } => "room.set_mode",
        RoomAction::GiveFloor { .. } => "room.give_floor",
        RoomAction::Mute { .. } => "room.mute",
        RoomAction::Unmute { .. } => "room.unmute",
        RoomAction::Remove { .. } => "room.remove",
        RoomAction::Readmit { .. } => "room.readmit",
        RoomAction::AppendMinutes { .. } => "room.append_minutes",
        RoomAction::SetAgendaItem { .. } => "room.set_agenda_item",
        RoomAction::OpenVote { .. } => "room.open_vote",
        RoomAction::CloseVote { .. } => "room.close_vote",
        RoomAction::Publish => "room.publish",
        RoomAction::Cancel => "room.cancel",
        RoomAction::ProposeAgreement { .. } => "room.propose_agreement",
        RoomAction::RecordFailure { .. } => "room.record_failure",
        RoomAction::PublishDecision { .. } => "room.publish_decision",
        RoomAction::RaiseHand
        | RoomAction::LowerHand
        | RoomAction::Say { .. }
        | RoomAction::React { .. }
        | RoomAction::CastVote { .. }
        | RoomAction::ConfirmAgreement
        | RoomAction::Statement { .. }
        // Whoever holds the floor may give it back; the chair taking it is no sanction.
        | RoomAction::TakeFloor => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hehe_protocol::AccountId;

    #[test]
    fn staff_issue_actions_are_audited_and_residents_own_are_not() {
        let audited = [
            IssueAction::Accept,
            IssueAction::Dispatch {
                assignee: AccountId(1),
            },
            IssueAction::PostUpdate {
                text: "x".into(),
                internal: true,
            },
            IssueAction::VerifyOk,
        ];
        assert!(audited.iter().all(|a| issue_action(a).is_some()));
        let note = IssueAction::PostUpdate {
            text: "x".into(),
            internal: true,
        };
        assert_eq!(issue_action(&note), Some("issue.internal_note"));
        let own = [
            IssueAction::Withdraw,
            IssueAction::Follow,
            IssueAction::Unfollow,
            IssueAction::MeToo { note: None },
            IssueAction::Rate {
                resolved: false,
                satisfaction: None,
                stars: None,
                comment: None,
            },
        ];
        assert!(own.iter().all(|a| issue_action(a).is_none()));
    }

    #[test]
    fn chair_room_actions_are_audited_and_participants_are_not() {
        let chair = [
            RoomAction::Start,
            RoomAction::Mute { who: AccountId(2) },
            RoomAction::Remove { who: AccountId(2) },
            RoomAction::CloseVote { vote: 1 },
            RoomAction::GiveFloor { to: None },
        ];
        assert!(chair.iter().all(|a| room_action(a).is_some()));
        let anyone = [
            RoomAction::RaiseHand,
            RoomAction::Say { text: "x".into() },
            RoomAction::CastVote {
                vote: 1,
                choices: vec![0],
            },
            RoomAction::TakeFloor,
            RoomAction::ConfirmAgreement,
        ];
        assert!(anyone.iter().all(|a| room_action(a).is_none()));
    }
}
