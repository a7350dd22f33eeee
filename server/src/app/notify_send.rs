//! The adapters the delivery worker sends through, one per channel; a channel whose adapter
//! is not configured is never planned (see `notify::configured`).

use crate::app::state::AppState;
use crate::infra::delivery::Outcome;
use crate::store::notify::ClaimedDelivery;
use hehe_protocol::notify::NotifyChannel;

/// What this deployment can send on.
#[derive(Default)]
pub struct Senders {
    pub push: Option<()>,
    pub webhook: Option<()>,
    pub email: Option<()>,
}

/// One send through its channel's adapter.
pub async fn send(state: &AppState, d: &ClaimedDelivery) -> Outcome {
    let _ = state;
    match d.channel {
        NotifyChannel::Push | NotifyChannel::Webhook | NotifyChannel::Email => {
            Outcome::Failed("channel not configured".into())
        }
    }
}
