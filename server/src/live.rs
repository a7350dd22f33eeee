//! Publishing a typed event on a channel: the data is encoded once, the publish is counted, and
//! its idempotency key makes a replayed command publish nothing twice.

use crate::bus::{Audience, Publication};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use hehe_protocol::{Channel, ErrorCode};
use serde::Serialize;
use serde_json::value::RawValue;

pub async fn publish(
    state: &AppState,
    channel: Channel,
    audience: Audience,
    kind: &str,
    data: &impl Serialize,
    idempotency_key: String,
) -> AppResult<()> {
    let data = serde_json::to_string(data)
        .ok()
        .and_then(|s| RawValue::from_string(s).ok())
        .ok_or_else(|| AppError::new(ErrorCode::Internal, "internal error"))?;
    state
        .bus
        .publish(Publication {
            channel,
            audience,
            kind: kind.into(),
            data,
            idempotency_key: Some(idempotency_key),
        })
        .await?;
    state.metrics.events_published.inc();
    Ok(())
}
