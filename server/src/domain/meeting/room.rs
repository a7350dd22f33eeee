//! A room's log entries and its state, the fold of the log over the meeting's fixed facts.

use hehe_protocol::AccountId;
use hehe_protocol::meeting::{MeetingKind, MeetingState, RoomMode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A vote as the room knows it; ballots live in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    pub id: u32,
    pub question: String,
    pub options: Vec<String>,
    pub multiple: bool,
    pub anonymous: bool,
    pub hide_results: bool,
    pub open: bool,
}

/// An entry of the meeting's log. Entries are only ever appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RoomEvent {
    Published,
    Cancelled,
    Started,
    Ended,
    MinutesPublished {
        text: String,
    },
    /// Someone came in for the first time (a locked room admits only those who did).
    Entered {
        who: AccountId,
    },
    Locked,
    Unlocked,
    ModeSet {
        mode: RoomMode,
    },
    HandRaised {
        who: AccountId,
    },
    HandLowered {
        who: AccountId,
    },
    FloorGiven {
        to: AccountId,
    },
    FloorTaken,
    Muted {
        who: AccountId,
    },
    Unmuted {
        who: AccountId,
    },
    Removed {
        who: AccountId,
    },
    Readmitted {
        who: AccountId,
    },
    Said {
        who: AccountId,
        text: String,
    },
    Reacted {
        who: AccountId,
        emoji: String,
    },
    MinutesAppended {
        text: String,
    },
    AgendaItemSet {
        index: u32,
    },
    VoteOpened {
        vote: Vote,
    },
    /// A ballot went in. `voter` is absent for anonymous votes.
    VoteCast {
        vote: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        voter: Option<AccountId>,
    },
    VoteClosed {
        vote: u32,
    },
    AgreementProposed {
        terms: String,
        deadline: i64,
    },
    AgreementConfirmed {
        who: AccountId,
    },
    /// Every party confirmed the proposed terms.
    AgreementReached,
    MediationFailed {
        referral: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        follow_up: Option<i64>,
    },
    DecisionPublished {
        text: String,
        follow_ups: Vec<String>,
    },
    StatementMade {
        who: AccountId,
        text: String,
    },
}

impl RoomEvent {
    /// The entry's `kind` on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            RoomEvent::Published => "published",
            RoomEvent::Cancelled => "cancelled",
            RoomEvent::Started => "started",
            RoomEvent::Ended => "ended",
            RoomEvent::MinutesPublished { .. } => "minutes_published",
            RoomEvent::Entered { .. } => "entered",
            RoomEvent::Locked => "locked",
            RoomEvent::Unlocked => "unlocked",
            RoomEvent::ModeSet { .. } => "mode_set",
            RoomEvent::HandRaised { .. } => "hand_raised",
            RoomEvent::HandLowered { .. } => "hand_lowered",
            RoomEvent::FloorGiven { .. } => "floor_given",
            RoomEvent::FloorTaken => "floor_taken",
            RoomEvent::Muted { .. } => "muted",
            RoomEvent::Unmuted { .. } => "unmuted",
            RoomEvent::Removed { .. } => "removed",
            RoomEvent::Readmitted { .. } => "readmitted",
            RoomEvent::Said { .. } => "said",
            RoomEvent::Reacted { .. } => "reacted",
            RoomEvent::MinutesAppended { .. } => "minutes_appended",
            RoomEvent::AgendaItemSet { .. } => "agenda_item_set",
            RoomEvent::VoteOpened { .. } => "vote_opened",
            RoomEvent::VoteCast { .. } => "vote_cast",
            RoomEvent::VoteClosed { .. } => "vote_closed",
            RoomEvent::AgreementProposed { .. } => "agreement_proposed",
            RoomEvent::AgreementConfirmed { .. } => "agreement_confirmed",
            RoomEvent::AgreementReached => "agreement_reached",
            RoomEvent::MediationFailed { .. } => "mediation_failed",
            RoomEvent::DecisionPublished { .. } => "decision_published",
            RoomEvent::StatementMade { .. } => "statement_made",
        }
    }
}

/// A room's state: the fold of its log over the meeting's fixed facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub kind: MeetingKind,
    pub state: MeetingState,
    pub chair: AccountId,
    pub secretary: Option<AccountId>,
    pub agenda_len: u32,
    pub agenda_item: Option<u32>,
    pub locked: bool,
    pub mode: RoomMode,
    pub floor: Option<AccountId>,
    /// Raised hands, first come first served.
    pub hands: Vec<AccountId>,
    pub muted: BTreeSet<AccountId>,
    pub removed: BTreeSet<AccountId>,
    pub admitted: BTreeSet<AccountId>,
    pub votes: Vec<Vote>,
    pub minutes: Vec<String>,
    /// A mediation's parties: each must confirm an agreement.
    pub parties: BTreeSet<AccountId>,
    pub agreement: Option<Agreement>,
    pub outcome: Option<Outcome>,
    pub decision: Option<String>,
}

/// Terms proposed in a mediation, and who has confirmed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    pub terms: String,
    pub deadline: i64,
    pub confirmed: BTreeSet<AccountId>,
}

/// How a mediation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Agreed,
    Failed { referral: String },
}

impl Room {
    pub fn new(
        kind: MeetingKind,
        state: MeetingState,
        chair: AccountId,
        secretary: Option<AccountId>,
        agenda_len: u32,
    ) -> Self {
        Self {
            kind,
            state,
            chair,
            secretary,
            agenda_len,
            agenda_item: None,
            locked: false,
            mode: RoomMode::Open,
            floor: None,
            hands: Vec::new(),
            muted: BTreeSet::new(),
            removed: BTreeSet::new(),
            admitted: BTreeSet::new(),
            votes: Vec::new(),
            minutes: Vec::new(),
            parties: BTreeSet::new(),
            agreement: None,
            outcome: None,
            decision: None,
        }
    }

    /// The room of a mediation with these parties.
    pub fn with_parties(mut self, parties: impl IntoIterator<Item = AccountId>) -> Self {
        self.parties = parties.into_iter().collect();
        self
    }

    /// Applies one log entry. Entries come only from `decide`, so every one applies.
    pub fn apply(&mut self, event: &RoomEvent) {
        match event {
            RoomEvent::Published => self.state = MeetingState::Published,
            RoomEvent::Cancelled => self.state = MeetingState::Cancelled,
            RoomEvent::Started => self.state = MeetingState::Live,
            RoomEvent::Ended => {
                self.state = MeetingState::Ended;
                self.floor = None;
                self.hands.clear();
                for vote in &mut self.votes {
                    vote.open = false;
                }
            }
            RoomEvent::MinutesPublished { .. } => self.state = MeetingState::Closed,
            RoomEvent::Entered { who } => {
                self.admitted.insert(*who);
            }
            RoomEvent::Locked => self.locked = true,
            RoomEvent::Unlocked => self.locked = false,
            RoomEvent::ModeSet { mode } => self.mode = *mode,
            RoomEvent::HandRaised { who } => self.hands.push(*who),
            RoomEvent::HandLowered { who } => self.hands.retain(|h| h != who),
            RoomEvent::FloorGiven { to } => {
                self.floor = Some(*to);
                self.hands.retain(|h| h != to);
            }
            RoomEvent::FloorTaken => self.floor = None,
            RoomEvent::Muted { who } => {
                self.muted.insert(*who);
            }
            RoomEvent::Unmuted { who } => {
                self.muted.remove(who);
            }
            RoomEvent::Removed { who } => {
                self.removed.insert(*who);
                self.hands.retain(|h| h != who);
                if self.floor == Some(*who) {
                    self.floor = None;
                }
            }
            RoomEvent::Readmitted { who } => {
                self.removed.remove(who);
            }
            RoomEvent::Said { .. } | RoomEvent::Reacted { .. } | RoomEvent::VoteCast { .. } => {}
            RoomEvent::MinutesAppended { text } => self.minutes.push(text.clone()),
            RoomEvent::AgendaItemSet { index } => self.agenda_item = Some(*index),
            RoomEvent::VoteOpened { vote } => self.votes.push(vote.clone()),
            RoomEvent::AgreementProposed { terms, deadline } => {
                self.agreement = Some(Agreement {
                    terms: terms.clone(),
                    deadline: *deadline,
                    confirmed: BTreeSet::new(),
                });
            }
            RoomEvent::AgreementConfirmed { who } => {
                if let Some(a) = &mut self.agreement {
                    a.confirmed.insert(*who);
                }
            }
            RoomEvent::AgreementReached => self.outcome = Some(Outcome::Agreed),
            RoomEvent::DecisionPublished { text, .. } => self.decision = Some(text.clone()),
            RoomEvent::StatementMade { .. } => {}
            RoomEvent::MediationFailed { referral, .. } => {
                self.outcome = Some(Outcome::Failed {
                    referral: referral.clone(),
                });
            }
            RoomEvent::VoteClosed { vote } => {
                if let Some(v) = self.votes.iter_mut().find(|v| v.id == *vote) {
                    v.open = false;
                }
            }
        }
    }

    pub fn vote(&self, id: u32) -> Option<&Vote> {
        self.votes.iter().find(|v| v.id == id)
    }
}
