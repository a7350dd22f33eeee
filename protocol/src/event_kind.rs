//! The kinds of `event` frames the server publishes ([`crate::Event::kind`]). On the wire a kind
//! stays a string, so a client ignores kinds it does not know and the server may add kinds
//! without a new protocol version; in code each is a variant, so a typo cannot ship.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// A posted message, on `street:`, `home:` and `issue:` channels.
    #[serde(rename = "message")]
    Message,
    /// On `issue:<id>`: the summary after a change and the timeline entry it added.
    #[serde(rename = "issue.updated")]
    IssueUpdated,
    /// On `home:<id>`: a public issue of the community changed.
    #[serde(rename = "issue.summary")]
    IssueSummary,
    /// On `user:<id>`: an issue one reported or is assigned changed.
    #[serde(rename = "inbox.issue")]
    InboxIssue,
    /// On `street:<id>`: an issue of the street was escalated.
    #[serde(rename = "issue.escalated")]
    IssueEscalated,
    /// On `street:<id>`: the street's open and overdue counts.
    #[serde(rename = "stats.counters")]
    StatsCounters,
    /// On `room:<id>`: one entry of the meeting's log.
    #[serde(rename = "room.event")]
    RoomEvent,
    /// On `room:<id>`: a vote's count so far.
    #[serde(rename = "room.tally")]
    RoomTally,
    /// On `room:<id>`: a closed vote's final count.
    #[serde(rename = "room.vote_result")]
    RoomVoteResult,
    /// On `room:<id>` of an appraisal: its counts at each change.
    #[serde(rename = "appraisal.updated")]
    AppraisalUpdated,
    /// On `room:<id>` of an appraisal: its published results.
    #[serde(rename = "appraisal.published")]
    AppraisalPublished,
    /// On `ops:1`: one node's figures, every second.
    #[serde(rename = "node.stats")]
    NodeStats,
    /// On `ops:<run>`: a load test's progress.
    #[serde(rename = "loadtest.progress")]
    LoadtestProgress,
    /// On `home:<community>`, to its staff only: a resident asks to live in a building.
    #[serde(rename = "residency.requested")]
    ResidencyRequested,
    /// On `user:<applicant>`: the request was approved (the connection then closes with 4007
    /// and reconnects with the new role).
    #[serde(rename = "residency.approved")]
    ResidencyApproved,
    /// On `user:<applicant>`: the request was refused, with the reason.
    #[serde(rename = "residency.refused")]
    ResidencyRefused,
    /// On `street:<id>` and `home:<community>`: a place was created under them (`PlaceInfo`).
    #[serde(rename = "place.created")]
    PlaceCreated,
    /// A place's names or attributes changed (`PlaceInfo`).
    #[serde(rename = "place.updated")]
    PlaceUpdated,
    /// A place moved under another parent (`PlaceInfo`), on the old and new channels.
    #[serde(rename = "place.moved")]
    PlaceMoved,
    /// A place was archived (`PlaceInfo`).
    #[serde(rename = "place.archived")]
    PlaceArchived,
    /// An archived place was restored (`PlaceInfo`).
    #[serde(rename = "place.restored")]
    PlaceRestored,
    /// On `user:<id>`: a new entry of the person's inbox (`notify::Notification`).
    #[serde(rename = "notification.new")]
    NotificationNew,
    /// On `user:<id>`: entries were marked read, on any of the person's devices
    /// (`notify::ReadMarked`).
    #[serde(rename = "notification.read")]
    NotificationRead,
}

impl EventKind {
    pub const ALL: [EventKind; 23] = [
        EventKind::Message,
        EventKind::IssueUpdated,
        EventKind::IssueSummary,
        EventKind::InboxIssue,
        EventKind::IssueEscalated,
        EventKind::StatsCounters,
        EventKind::RoomEvent,
        EventKind::RoomTally,
        EventKind::RoomVoteResult,
        EventKind::AppraisalUpdated,
        EventKind::AppraisalPublished,
        EventKind::NodeStats,
        EventKind::LoadtestProgress,
        EventKind::ResidencyRequested,
        EventKind::ResidencyApproved,
        EventKind::ResidencyRefused,
        EventKind::PlaceCreated,
        EventKind::PlaceUpdated,
        EventKind::PlaceMoved,
        EventKind::PlaceArchived,
        EventKind::PlaceRestored,
        EventKind::NotificationNew,
        EventKind::NotificationRead,
    ];

    /// The kind as it is written in `event` frames.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Message => "message",
            EventKind::IssueUpdated => "issue.updated",
            EventKind::IssueSummary => "issue.summary",
            EventKind::InboxIssue => "inbox.issue",
            EventKind::IssueEscalated => "issue.escalated",
            EventKind::StatsCounters => "stats.counters",
            EventKind::RoomEvent => "room.event",
            EventKind::RoomTally => "room.tally",
            EventKind::RoomVoteResult => "room.vote_result",
            EventKind::AppraisalUpdated => "appraisal.updated",
            EventKind::AppraisalPublished => "appraisal.published",
            EventKind::NodeStats => "node.stats",
            EventKind::LoadtestProgress => "loadtest.progress",
            EventKind::ResidencyRequested => "residency.requested",
            EventKind::ResidencyApproved => "residency.approved",
            EventKind::ResidencyRefused => "residency.refused",
            EventKind::PlaceCreated => "place.created",
            EventKind::PlaceUpdated => "place.updated",
            EventKind::PlaceMoved => "place.moved",
            EventKind::PlaceArchived => "place.archived",
            EventKind::PlaceRestored => "place.restored",
            EventKind::NotificationNew => "notification.new",
            EventKind::NotificationRead => "notification.read",
        }
    }

    /// The kind an `event` frame names, or `None` for one this crate does not know.
    pub fn parse(kind: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == kind)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<EventKind> for str {
    fn eq(&self, other: &EventKind) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<EventKind> for String {
    fn eq(&self, other: &EventKind) -> bool {
        self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_reads_back_from_its_wire_text() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert_eq!(EventKind::parse("issue.unknown"), None);
        let received: String = serde_json::from_str("\"room.event\"").unwrap();
        assert!(received == EventKind::RoomEvent && *received.as_str() == EventKind::RoomEvent);
    }

    #[test]
    fn protocol_md_lists_every_kind() {
        let doc = include_str!("../PROTOCOL.md");
        for kind in EventKind::ALL {
            assert!(
                doc.contains(&format!("`{}`", kind.as_str())),
                "PROTOCOL.md does not name {kind}"
            );
        }
    }
}
