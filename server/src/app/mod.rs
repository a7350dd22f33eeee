//! Use-cases: what a person can do with Hehe, one module per concept. These are the only
//! callers of the store and the live layer; `http` and `ws` translate requests into calls here
//! and results back into replies. The rules themselves live in `domain`.

pub mod accounts;
pub mod appraisals;
pub mod audit;
pub mod auth;
pub mod channels;
pub mod credentials;
pub mod digest;
pub mod invites;
pub mod issues;
pub mod meetings;
pub mod notify;
pub mod notify_send;
pub mod ops;
pub mod people;
pub mod place_admin;
pub mod places;
pub mod push;
pub mod residency;
pub mod retry;
pub mod rooms;
pub mod seed;
pub mod sessions;
pub mod state;
pub mod stats;

pub use state::AppState;

/// A place by its id, or `not_found`.
pub(crate) async fn place(
    state: &AppState,
    id: hehe_protocol::PlaceId,
) -> crate::error::AppResult<crate::domain::places::PlacePath> {
    let path = state.store.place_path(id).await?;
    path.ok_or_else(|| crate::error::AppError::not_found("place"))
}

/// Publishes a typed event with this node's bus and metrics (see `live::publish`).
pub(crate) async fn publish(
    state: &AppState,
    channel: hehe_protocol::Channel,
    audience: crate::live::bus::Audience,
    kind: hehe_protocol::EventKind,
    data: &impl serde::Serialize,
    idempotency_key: String,
) -> crate::error::AppResult<()> {
    crate::live::publish(
        state.bus.as_ref(),
        &state.metrics,
        channel,
        audience,
        kind,
        data,
        idempotency_key,
    )
    .await?;
    Ok(())
}

/// Publishes to everyone in a meeting's room: its log, votes' tallies, an appraisal's progress.
pub(crate) async fn publish_in_room(
    state: &AppState,
    meeting: hehe_protocol::MeetingId,
    kind: hehe_protocol::EventKind,
    data: &impl serde::Serialize,
    idempotency_key: String,
) -> crate::error::AppResult<()> {
    let channel = hehe_protocol::Channel::Room(meeting);
    let everyone = crate::live::bus::Audience::All;
    publish(state, channel, everyone, kind, data, idempotency_key).await
}
