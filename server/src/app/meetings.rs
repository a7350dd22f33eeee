//! The one path for living-room actions: resolve who acts, fold the room from its log, ask the
//! domain, append the entries (with the ballot, for votes) in one transaction, publish them.

use crate::app::channels::Identity;
use crate::app::publish_in_room as send;
use crate::app::retry::{self, Attempt};
use crate::app::rooms::Arrival;
use crate::app::state::AppState;
use crate::domain::meeting::{
    self as rules, MeetingFacts, Membership, Room, RoomActor, RoomEvent, decide, may_enter,
    standing, tally,
};
use crate::domain::notify::{Cause, MeetingStep};
use crate::error::{AppError, AppResult};
use crate::store::StoreError;
use crate::store::meetings::{
    MeetingRecord, MemberRole, NewBallot, NewMeeting as StoreNewMeeting, RoomWrite, RoomWritten,
};
use hehe_protocol::EventKind;
use hehe_protocol::meeting::{
    MeetingDetail, MeetingInfo, MeetingKind, MeetingState, NewMeeting, RegistrationInfo,
    RoomAction, RoomEventInfo, RoomSnapshot, VoteInfo,
};
use hehe_protocol::{Channel, ErrorCode, MeetingId, RequestId};
use serde_json::json;
use tokio::sync::oneshot;

const ATTEMPTS: usize = 8;
const ARRIVAL_ATTEMPTS: usize = 40;

/// The actor's standing in a meeting. `None` when they may not know it exists (a private
/// meeting they are not part of).
pub async fn room_actor(
    state: &AppState,
    who: &Identity,
    record: &MeetingRecord,
) -> AppResult<Option<RoomActor>> {
    let actor = &who.actor;
    let membership = state
        .store
        .member_role(record.id, actor.id)
        .await?
        .map(|role| match role {
            MemberRole::Party => Membership::Party,
            MemberRole::Mediator => Membership::Mediator,
            MemberRole::Representative => Membership::Representative,
        });
    let place = state
        .store
        .place_path(record.place_id)
        .await?
        .ok_or_else(|| AppError::not_found("meeting"))?;
    let facts = MeetingFacts {
        place,
        private: record.private,
        chair: record.chair,
        secretary: record.secretary,
    };
    Ok(standing(actor, &facts, membership))
}

/// The room now: its fixed facts folded with its whole log.
pub async fn load_room(state: &AppState, record: &MeetingRecord) -> AppResult<Room> {
    // The cache may trail the log (another node appended) but never holds anything the log
    // does not: entries are folded only after they were stored.
    let cached = state.rooms.folded(record.id);
    let (mut room, mut seq) = match cached {
        Some(cached) => cached,
        None => {
            let parties = state.store.members(record.id, MemberRole::Party).await?;
            let fresh = Room::new(
                record.kind,
                record.initial_state,
                record.chair,
                record.secretary,
                record.agenda.len() as u32,
            )
            .with_parties(parties);
            (fresh, 0)
        }
    };
    if seq < record.last_seq {
        for (info, event) in state.store.room_events(record.id, seq).await? {
            room.apply(&event);
            seq = info.seq;
        }
        state.rooms.keep_folded(record.id, room.clone(), seq);
    }
    Ok(room)
}

/// The meeting and the caller's standing in it; `not_found` (naming `what`) alike when the
/// meeting does not exist and when the caller may not know of it.
async fn known(
    state: &AppState,
    who: &Identity,
    meeting: MeetingId,
    what: &str,
) -> AppResult<(MeetingRecord, RoomActor)> {
    if let Some(record) = state.store.meeting(meeting).await?
        && let Some(actor) = room_actor(state, who, &record).await?
    {
        return Ok((record, actor));
    }
    Err(AppError::not_found(what))
}

/// `known`, with the meeting's room now.
async fn in_room(
    state: &AppState,
    who: &Identity,
    meeting: MeetingId,
    what: &str,
) -> AppResult<(MeetingRecord, RoomActor, Room)> {
    let (record, actor) = known(state, who, meeting, what).await?;
    let room = load_room(state, &record).await?;
    Ok((record, actor, room))
}

/// Checks that the actor may come in, and logs their first arrival (a locked room admits only
/// those who came before).
///
/// A crowd arrives at once when a big meeting starts. Arrivals queue up, and whoever gets the
/// room's turn logs every arrival waiting in one write: a thousand people cost a handful of
/// transactions instead of a thousand in a row. `entered` entries are not sent on the room's
/// channel (presence shows who comes), or the crowd would cost each member a frame per arrival.
pub async fn enter(state: &AppState, who: &Identity, meeting: MeetingId) -> AppResult<()> {
    let (_, actor, room) = in_room(state, who, meeting, "channel").await?;
    may_enter(&room, &actor)?;
    if room.admitted.contains(&actor.id) {
        return Ok(());
    }
    let (logged, outcome) = oneshot::channel();
    state
        .rooms
        .queue_arrival(meeting, Arrival { actor, logged });
    {
        let turn = state.rooms.turn(meeting);
        let _turn = turn.lock().await;
        let waiting = state.rooms.take_arrivals(meeting);
        if !waiting.is_empty() {
            log_arrivals(state, meeting, waiting).await;
        }
    }
    outcome.await.unwrap_or_else(|_| Err(busy()))
}

/// Another node appended to the room's log first. Each node's writers take turns, but nodes
/// race: waiting a moment, by a random amount, keeps them from colliding again at once.
async fn another_node_wrote() {
    use rand::Rng;
    let pause = rand::rng().random_range(1..=20);
    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
}

fn busy() -> AppError {
    retry::busy("the room is busy; retry")
}

/// Logs the first arrival of everyone waiting who may come in, in one write, and answers each.
async fn log_arrivals(state: &AppState, meeting: MeetingId, waiting: Vec<Arrival>) {
    let mut waiting = waiting;
    // Arrivals never conflict with what another node wrote, they only need the room read
    // again; when a crowd enters through several nodes at once, give them more tries than an
    // action gets before telling anyone to retry.
    for _ in 0..ARRIVAL_ATTEMPTS {
        let loaded = async {
            let record = state
                .store
                .meeting(meeting)
                .await?
                .ok_or_else(|| AppError::not_found("channel"))?;
            let room = load_room(state, &record).await?;
            AppResult::Ok((record, room))
        };
        let (record, room) = match loaded.await {
            Ok(loaded) => loaded,
            Err(e) => return answer_all(waiting, &e),
        };
        // The room may have changed (locked, someone removed) since each checked on arrival.
        let mut events = Vec::new();
        let mut entering = Vec::new();
        for arrival in waiting {
            if let Err(refusal) = may_enter(&room, &arrival.actor) {
                let _ = arrival.logged.send(Err(refusal.into()));
            } else if room.admitted.contains(&arrival.actor.id)
                || entering
                    .iter()
                    .any(|a: &Arrival| a.actor.id == arrival.actor.id)
            {
                let _ = arrival.logged.send(Ok(()));
            } else {
                events.push(RoomEvent::Entered {
                    who: arrival.actor.id,
                });
                entering.push(arrival);
            }
        }
        if events.is_empty() {
            return;
        }
        match append(state, &record, &room, None, &events, None, None).await {
            Ok(_) => {
                for arrival in entering {
                    let _ = arrival.logged.send(Ok(()));
                }
                return;
            }
            Err(StoreError::Stale) => {
                waiting = entering;
                another_node_wrote().await;
            }
            Err(e) => return answer_all(entering, &e.into()),
        }
    }
    answer_all(waiting, &busy());
}

fn answer_all(waiting: Vec<Arrival>, error: &AppError) {
    for arrival in waiting {
        let copy = AppError::new(error.code, error.message.clone());
        let _ = arrival.logged.send(Err(copy));
    }
}

/// Succeeds when the actor may be in the room now (not removed, not locked out), without
/// logging anything: for reading presence.
pub async fn may_be_in(state: &AppState, who: &Identity, meeting: MeetingId) -> AppResult<()> {
    let (_, actor, room) = in_room(state, who, meeting, "channel").await?;
    Ok(may_enter(&room, &actor)?)
}

async fn append(
    state: &AppState,
    record: &MeetingRecord,
    room: &Room,
    actor: Option<hehe_protocol::AccountId>,
    events: &[RoomEvent],
    ballot: Option<NewBallot<'_>>,
    command: Option<(hehe_protocol::AccountId, &RequestId)>,
) -> Result<RoomWritten, StoreError> {
    let mut after = room.clone();
    for e in events {
        after.apply(e);
    }
    let minutes = events.iter().find_map(|e| match e {
        RoomEvent::MinutesPublished { text } => Some(text.as_str()),
        _ => None,
    });
    let decision = events.iter().find_map(|e| match e {
        RoomEvent::DecisionPublished { text, .. } => Some(text.as_str()),
        _ => None,
    });
    let step = match after.state {
        _ if after.state == room.state => None,
        MeetingState::Live => Some(MeetingStep::Started),
        MeetingState::Ended => Some(MeetingStep::Ended),
        _ => None,
    };
    let cause = step.map(|step| Cause::Meeting {
        meeting: record.id,
        step,
    });
    let written = state
        .store
        .append_room(RoomWrite {
            meeting: record.id,
            expected_last_seq: record.last_seq,
            actor,
            events,
            state: after.state,
            minutes,
            decision,
            ballot,
            command,
            cause: cause.as_ref(),
            at: state.now(),
        })
        .await;
    if cause.is_some() && written.is_ok() {
        state.notifier.wake();
    }
    written
}

/// Applies a room action; returns the seq of the log's last entry after it.
pub async fn act(
    state: &AppState,
    who: &Identity,
    request_id: &RequestId,
    meeting: MeetingId,
    action: RoomAction,
) -> AppResult<u32> {
    if matches!(action, RoomAction::CastVote { .. }) {
        state
            .limits
            .check_account(crate::infra::limits::Limit::Vote, who.actor.id)?;
    }
    // Other nodes may still race this one; the log's seq check catches that, and we retry.
    let lock = state.rooms.turn(meeting);
    let _turn = lock.lock().await;
    // A retry is answered as the first try was, before the room is asked: the action it
    // carried may no longer fit the room it changed (a hand already up, a meeting started).
    match state.store.room_command(who.actor.id, request_id).await? {
        Some((done, last_seq)) if done == meeting => return Ok(last_seq),
        Some(_) => {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "this request id was used for another meeting",
            ));
        }
        None => {}
    }
    let action = &action;
    let last_seq = retry::on_stale(ATTEMPTS, move || async move {
        let (record, actor, room) = in_room(state, who, meeting, "meeting").await?;
        let events = decide(&room, &actor, action)?;
        let ballot = match action {
            RoomAction::CastVote { vote, choices } => Some(NewBallot {
                vote: *vote,
                voter: actor.id,
                anonymous: room.vote(*vote).is_some_and(|v| v.anonymous),
                choices,
            }),
            _ => None,
        };
        // An anonymous ballot's entry names nobody, not even as its actor.
        let logged_actor = match &ballot {
            Some(b) if b.anonymous => None,
            _ => Some(actor.id),
        };
        let command = Some((actor.id, request_id));
        let written = append(
            state,
            &record,
            &room,
            logged_actor,
            &events,
            ballot,
            command,
        );
        let Attempt::Done(written) = retry::written(written.await)? else {
            another_node_wrote().await;
            return Ok(Attempt::Stale);
        };
        Ok(Attempt::Done(match written {
            RoomWritten::Appended(infos) => {
                if let Some(name) = crate::app::audit::room_action(action) {
                    let target = format!("meeting:{}", meeting.0);
                    let place = Some(record.place_id);
                    crate::app::audit::after(state, who, name, target, place, Some(request_id))
                        .await;
                }
                publish(state, meeting, &infos).await?;
                after_effects(state, &record, &room, &events).await?;
                infos.last().map_or(record.last_seq, |i| i.seq)
            }
            RoomWritten::Replayed { last_seq } => last_seq,
            RoomWritten::AlreadyVoted => {
                return Err(AppError::new(ErrorCode::Conflict, "you have voted already"));
            }
        }))
    })
    .await?;
    last_seq.ok_or_else(busy)
}

/// What follows from entries beyond the log: a removed person's connections leave the room;
/// a vote's tally is published when the vote allows it.
async fn after_effects(
    state: &AppState,
    record: &MeetingRecord,
    room: &Room,
    events: &[RoomEvent],
) -> AppResult<()> {
    let channel = Channel::Room(record.id);
    for event in events {
        match event {
            RoomEvent::Removed { who } => {
                // Their connections leave the room on every node, and the room sees them go.
                let was_present = state.bus.evict(channel, *who).await?;
                if was_present {
                    state
                        .presence
                        .left(channel, crate::live::presence::gone(*who));
                }
            }
            // A running tally after each anonymous ballot would tell the room how that
            // person voted: anonymous votes show their result only at the close.
            RoomEvent::VoteCast { vote, .. }
                if room
                    .vote(*vote)
                    .is_some_and(|v| !v.hide_results && !v.anonymous) =>
            {
                send_tally(state, record, room, *vote, EventKind::RoomTally).await?
            }
            RoomEvent::VoteClosed { vote } => {
                send_tally(state, record, room, *vote, EventKind::RoomVoteResult).await?
            }
            _ => {}
        }
    }
    Ok(())
}

async fn send_tally(
    state: &AppState,
    record: &MeetingRecord,
    room: &Room,
    vote: u32,
    kind: EventKind,
) -> AppResult<()> {
    let Some(v) = room.vote(vote) else {
        return Ok(());
    };
    let ballots = state.store.ballots(record.id, vote).await?;
    let counts = tally(v, &ballots);
    let data = json!({ "vote": vote, "counts": counts, "ballots": ballots.len() });
    let key = format!("{kind}:{}:{vote}:{}", record.id.0, ballots.len());
    send(state, record.id, kind, &data, key).await
}

async fn publish(state: &AppState, meeting: MeetingId, infos: &[RoomEventInfo]) -> AppResult<()> {
    for info in infos {
        let key = format!("room:{}:{}", meeting.0, info.seq);
        send(state, meeting, EventKind::RoomEvent, info, key).await?;
    }
    Ok(())
}

fn info(record: &MeetingRecord) -> MeetingInfo {
    MeetingInfo {
        id: record.id,
        kind: record.kind,
        title: record.title.clone(),
        description: record.description.clone(),
        place_id: record.place_id,
        chair: record.chair,
        secretary: record.secretary,
        private: record.private,
        state: record.state,
        agenda: record.agenda.clone(),
        minutes: record.minutes.clone(),
        previous_round: record.previous_round,
        decision: record.decision.clone(),
    }
}

/// Meetings of the places the actor belongs to that they may know of.
pub async fn list(state: &AppState, who: &Identity) -> AppResult<Vec<MeetingInfo>> {
    // Meetings are held for a community or a street: those of the grant's own street and
    // community, and for a grant over a whole street, those of every community in it.
    let mut places = Vec::new();
    for grant in &who.actor.grants {
        if let Some(scope) = grant.scope {
            places.push(scope.street);
            match scope.community {
                Some(community) => places.push(community),
                None => places.extend(
                    state
                        .store
                        .children(scope.street)
                        .await?
                        .into_iter()
                        .map(|p| p.id),
                ),
            }
        }
    }
    places.sort();
    places.dedup();
    let mut out = Vec::new();
    for record in state.store.meetings_for(&places, who.actor.id).await? {
        if let Some(actor) = room_actor(state, who, &record).await?
            && rules::may_see(&actor, record.state)
        {
            out.push(info(&record));
        }
    }
    Ok(out)
}

/// A meeting, its room now and its log, for those who may be in it.
pub async fn detail(
    state: &AppState,
    who: &Identity,
    meeting: MeetingId,
) -> AppResult<MeetingDetail> {
    let (record, actor, mut room) = in_room(state, who, meeting, "meeting").await?;
    if !rules::may_see(&actor, room.state) {
        return Err(AppError::forbidden());
    }
    let allowed_actions = crate::domain::meeting::allowed_by_state(&room, &actor);
    let log: Vec<RoomEventInfo> = state
        .store
        .room_events(meeting, 0)
        .await?
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    let mut votes = Vec::new();
    for v in std::mem::take(&mut room.votes) {
        let ballots = state.store.ballots(meeting, v.id).await?;
        let counts = (!v.open || !v.hide_results).then(|| tally(&v, &ballots));
        votes.push(VoteInfo {
            id: v.id,
            question: v.question,
            options: v.options,
            multiple: v.multiple,
            anonymous: v.anonymous,
            hide_results: v.hide_results,
            open: v.open,
            counts,
            ballots: ballots.len() as u32,
        });
    }
    Ok(MeetingDetail {
        meeting: info(&record),
        room: RoomSnapshot {
            state: room.state,
            locked: room.locked,
            mode: room.mode,
            floor: room.floor,
            hands: room.hands,
            muted: room.muted.into_iter().collect(),
            agenda_item: room.agenda_item,
            votes,
            minutes: room.minutes,
            seq: log.last().map_or(0, |e| e.seq),
        },
        log,
        allowed_actions,
    })
}

/// Calls a meeting, as a draft the chair (the caller) publishes with the `publish` action.
pub async fn create(
    state: &AppState,
    who: &Identity,
    mut new: NewMeeting,
) -> AppResult<MeetingInfo> {
    let place = crate::app::place(state, new.place_id).await?;
    if !rules::may_be_held_at(&place) {
        return Err(AppError::invalid(
            "a meeting belongs to a community or a street",
        ));
    }
    if !rules::may_create(&who.actor, &place) {
        return Err(AppError::forbidden());
    }
    let checked = rules::check_new(&new)?;
    if let Some(previous) = new.previous_round {
        follow(state, who, &mut new, previous).await?;
    }
    rules::check_parties(new.kind, new.parties.len())?;
    check_named(state, who, &new).await?;
    let id = state
        .store
        .create_meeting(StoreNewMeeting {
            kind: new.kind,
            title: &checked.title,
            description: &checked.description,
            place: new.place_id,
            chair: who.actor.id,
            secretary: new.secretary,
            private: new.kind == MeetingKind::Mediation,
            agenda: &checked.agenda,
            capacity: new.capacity,
            initial_state: MeetingState::Draft,
            previous_round: new.previous_round,
            at: state.now(),
        })
        .await?;
    for (members, role) in [
        (&new.parties, MemberRole::Party),
        (&new.mediators, MemberRole::Mediator),
    ] {
        for member in members {
            state.store.add_member(id, *member, role).await?;
        }
    }
    for issue in &new.issues {
        state.store.link_issue(id, *issue).await?;
    }
    let record = state
        .store
        .meeting(id)
        .await?
        .ok_or_else(|| AppError::not_found("meeting"))?;
    Ok(info(&record))
}

/// A later round of a hearing, or a later session of a mediation, follows one of the same kind
/// and place that the caller knows of; a session keeps its parties and mediators unless others
/// are named.
async fn follow(
    state: &AppState,
    who: &Identity,
    new: &mut NewMeeting,
    previous: MeetingId,
) -> AppResult<()> {
    let earlier = state
        .store
        .meeting(previous)
        .await?
        .ok_or_else(|| AppError::not_found("meeting"))?;
    if !rules::may_follow(new, earlier.kind, earlier.place_id) {
        return Err(AppError::invalid(
            "a round or session follows one of the same kind and place",
        ));
    }
    if room_actor(state, who, &earlier).await?.is_none() {
        return Err(AppError::not_found("meeting"));
    }
    let keeps_members = new.parties.is_empty() && new.mediators.is_empty();
    if new.kind == MeetingKind::Mediation && keeps_members {
        new.parties = state.store.members(previous, MemberRole::Party).await?;
        new.mediators = state.store.members(previous, MemberRole::Mediator).await?;
    }
    Ok(())
}

/// Everyone a new meeting names has an account, and every issue it is about is one the caller
/// may see (`not_found` alike for one that does not exist).
async fn check_named(state: &AppState, who: &Identity, new: &NewMeeting) -> AppResult<()> {
    let people = new
        .parties
        .iter()
        .chain(&new.mediators)
        .chain(&new.secretary);
    for id in people {
        if state.store.account(*id).await?.is_none() {
            return Err(AppError::not_found("account"));
        }
    }
    for issue in &new.issues {
        crate::app::issues::visible(state, &who.actor, *issue).await?;
    }
    Ok(())
}

/// A short code to show at the door.
fn check_in_code() -> String {
    use rand::Rng;
    const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..6)
        .map(|_| LETTERS[rng.random_range(0..LETTERS.len())] as char)
        .collect()
}

/// The meeting and the caller's standing, for those who may take part in it.
async fn open_to(
    state: &AppState,
    who: &Identity,
    meeting: MeetingId,
) -> AppResult<(MeetingRecord, RoomActor, Room)> {
    let (record, actor, room) = in_room(state, who, meeting, "meeting").await?;
    may_enter(&room, &actor)?;
    Ok((record, actor, room))
}

/// Registers the caller: a seat while there are seats, else the waiting list.
pub async fn register(
    state: &AppState,
    who: &Identity,
    meeting: MeetingId,
) -> AppResult<RegistrationInfo> {
    let (record, _, room) = open_to(state, who, meeting).await?;
    if !matches!(room.state, MeetingState::Published | MeetingState::Live) {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "registration is not open",
        ));
    }
    // Codes are unique per meeting; a clash is rare enough to simply draw again.
    for _ in 0..5 {
        match state
            .store
            .register(
                meeting,
                who.actor.id,
                &check_in_code(),
                record.capacity,
                state.now(),
            )
            .await
        {
            Ok(info) => return Ok(info),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::new(ErrorCode::RequestInProgress, "retry"))
}

/// Cancels the caller's registration; a freed seat goes to the first on the waiting list.
pub async fn cancel_registration(
    state: &AppState,
    who: &Identity,
    meeting: MeetingId,
) -> AppResult<RegistrationInfo> {
    known(state, who, meeting, "meeting").await?;
    let (cancelled, _promoted) = state
        .store
        .cancel_registration(meeting, who.actor.id)
        .await?
        .ok_or_else(|| AppError::not_found("registration"))?;
    Ok(cancelled)
}

/// The chair or secretary checks in the holder of a code.
pub async fn check_in(
    state: &AppState,
    who: &Identity,
    meeting: MeetingId,
    code: &str,
) -> AppResult<RegistrationInfo> {
    let (_, actor, _) = open_to(state, who, meeting).await?;
    if !(actor.chair || actor.secretary) {
        return Err(AppError::forbidden());
    }
    let code = code.trim().to_ascii_uppercase();
    state
        .store
        .check_in(meeting, &code, state.now())
        .await?
        .ok_or_else(|| AppError::not_found("registration"))
}

/// Registrations, for the chair and secretary.
pub async fn registrations(
    state: &AppState,
    who: &Identity,
    meeting: MeetingId,
) -> AppResult<Vec<RegistrationInfo>> {
    let (_, actor, _) = open_to(state, who, meeting).await?;
    if !(actor.chair || actor.secretary) {
        return Err(AppError::forbidden());
    }
    Ok(state.store.registrations(meeting).await?)
}
