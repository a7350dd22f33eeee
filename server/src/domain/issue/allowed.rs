//! What a person may do to an issue now, for the buttons a client shows: the role rule (`may`)
//! and the state table together. The server still decides each action on its own (`decide`);
//! this list is what `decide` would take with well-formed fields, so clients keep no copy of
//! the rules. Tested against `decide` for every role × scope × state × level × action.

use super::{Actor, Issue, may};
use hehe_protocol::issue::{IssueAction, IssueActionKind, IssueState, Resolution};
use hehe_protocol::{AccountId, IssueId};

/// The kinds `actor` may take on `issue` now, in `IssueActionKind::ALL`'s order. `follows`:
/// whether the actor follows the issue.
pub fn allowed_actions(actor: &Actor, issue: &Issue, follows: bool) -> Vec<IssueActionKind> {
    IssueActionKind::ALL
        .into_iter()
        .filter(|&kind| state_allows(issue, actor, follows, kind))
        .filter(|&kind| may(actor, issue, &example(kind)))
        .collect()
}

/// The state table: in which states (and, for a few, which other facts of the issue) an action
/// can be taken at all, whoever takes it.
fn state_allows(issue: &Issue, actor: &Actor, follows: bool, kind: IssueActionKind) -> bool {
    use IssueActionKind as K;
    use IssueState::*;
    let open = !issue.state.is_terminal();
    match kind {
        K::Accept => issue.state == Submitted,
        K::Reject | K::Merge => matches!(issue.state, Submitted | Accepted),
        K::Dispatch => matches!(issue.state, Accepted | Escalated),
        K::Acknowledge => issue.state == Dispatched,
        K::Return => matches!(issue.state, Dispatched | InProgress),
        // The street is the top: nobody to escalate to from there.
        K::Escalate => {
            matches!(issue.state, Accepted | Dispatched | InProgress | Escalated)
                && issue.level.up().is_some()
        }
        K::PostUpdate | K::PostNote | K::MeToo => open,
        K::Complete => issue.state == InProgress,
        K::DeclareUnfixable => matches!(issue.state, InProgress | Escalated),
        K::VerifyOk | K::VerifyFail => issue.state == Resolved,
        K::Rate => issue.state == AwaitingRating,
        K::Withdraw => matches!(
            issue.state,
            Submitted | Accepted | Dispatched | InProgress | Escalated
        ),
        // The reporter follows their issue for good.
        K::Follow => !follows && issue.reporter != actor.id,
        K::Unfollow => follows,
    }
}

/// An action of the kind, for the role rule, which looks at the kind alone (and, for updates,
/// at whether they are internal).
fn example(kind: IssueActionKind) -> IssueAction {
    use IssueActionKind as K;
    let text = String::new;
    match kind {
        K::Accept => IssueAction::Accept,
        K::Reject => IssueAction::Reject { reason: text() },
        K::Merge => IssueAction::Merge { into: IssueId(0) },
        K::Dispatch => IssueAction::Dispatch {
            assignee: AccountId(0),
        },
        K::Acknowledge => IssueAction::Acknowledge,
        K::Return => IssueAction::Return { reason: text() },
        K::Escalate => IssueAction::Escalate { reason: text() },
        K::PostUpdate => IssueAction::PostUpdate {
            text: text(),
            internal: false,
        },
        K::PostNote => IssueAction::PostUpdate {
            text: text(),
            internal: true,
        },
        K::Complete => IssueAction::Complete { note: None },
        K::DeclareUnfixable => IssueAction::DeclareUnfixable {
            explanation: text(),
            resolution: Resolution::NotFixable,
        },
        K::VerifyOk => IssueAction::VerifyOk,
        K::VerifyFail => IssueAction::VerifyFail { reason: text() },
        K::Rate => IssueAction::Rate {
            resolved: true,
            satisfaction: None,
            stars: None,
            comment: None,
        },
        K::Withdraw => IssueAction::Withdraw,
        K::MeToo => IssueAction::MeToo { note: None },
        K::Follow => IssueAction::Follow,
        K::Unfollow => IssueAction::Unfollow,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_example_is_of_its_kind_and_named_as_on_the_wire() {
        for kind in IssueActionKind::ALL {
            let action = example(kind);
            assert_eq!(action.kind(), kind);
            let tag = serde_json::to_value(&action).unwrap()["kind"].clone();
            let name = serde_json::to_value(kind).unwrap();
            if kind == IssueActionKind::PostNote {
                assert_eq!(tag, "post_update");
                assert_eq!(name, "post_note");
            } else {
                assert_eq!(tag, name, "{kind:?}");
            }
        }
    }
}
