//! Use-cases: what a person can do with Hehe, one module per concept. These are the only
//! callers of the store and the live layer; `http` and `ws` translate requests into calls here
//! and results back into replies. The rules themselves live in `domain`.

pub mod accounts;
pub mod appraisals;
pub mod audit;
pub mod auth;
pub mod channels;
pub mod issues;
pub mod meetings;
pub mod ops;
pub mod places;
pub mod rooms;
pub mod seed;
pub mod sessions;
pub mod state;
pub mod stats;

pub use state::AppState;

/// Publishes a typed event with this node's bus and metrics (see `live::publish`).
pub(crate) async fn publish(
    state: &AppState,
    channel: hehe_protocol::Channel,
    audience: crate::live::bus::Audience,
    kind: &str,
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
