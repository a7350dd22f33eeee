//! This node's meeting rooms between actions: one queue of actions per meeting, each room as
//! its log left it, and first arrivals waiting to be logged. Kept per node, never shared: the
//! store's log is the truth, and each of these only spares a node from reading all of it again.

use crate::domain::meeting::{Room, RoomActor};
use crate::error::AppResult;
use dashmap::DashMap;
use hehe_protocol::MeetingId;
use std::sync::Arc;
use tokio::sync::{Mutex, oneshot};

/// Someone entering a meeting for the first time, waiting for their arrival to be logged.
pub struct Arrival {
    pub actor: RoomActor,
    pub logged: oneshot::Sender<AppResult<()>>,
}

#[derive(Default)]
pub struct Rooms {
    /// One queue per meeting: a node applies a room's actions one at a time, so a crowd
    /// acting at once waits in line instead of racing on the room's log.
    turns: DashMap<MeetingId, Arc<Mutex<()>>>,
    /// Each room with the seq of the last entry folded in, so an action folds only the entries
    /// since (a 5,000-person meeting logs 5,000 arrivals).
    folded: DashMap<MeetingId, (Room, u32)>,
    /// First arrivals waiting to be logged: whoever gets the room's turn logs all that are
    /// waiting in one write (see `meetings::enter`).
    arrivals: DashMap<MeetingId, Vec<Arrival>>,
}

impl Rooms {
    /// The queue of a meeting's actions on this node.
    pub fn turn(&self, meeting: MeetingId) -> Arc<Mutex<()>> {
        self.turns.entry(meeting).or_default().clone()
    }

    /// The room as last folded on this node, with the seq of its last entry.
    pub fn folded(&self, meeting: MeetingId) -> Option<(Room, u32)> {
        self.folded.get(&meeting).map(|entry| entry.clone())
    }

    pub fn keep_folded(&self, meeting: MeetingId, room: Room, seq: u32) {
        self.folded.insert(meeting, (room, seq));
    }

    pub fn queue_arrival(&self, meeting: MeetingId, arrival: Arrival) {
        self.arrivals.entry(meeting).or_default().push(arrival);
    }

    /// Every arrival waiting in the meeting; empty when an earlier turn took them along.
    pub fn take_arrivals(&self, meeting: MeetingId) -> Vec<Arrival> {
        self.arrivals
            .remove(&meeting)
            .map(|(_, waiting)| waiting)
            .unwrap_or_default()
    }
}
