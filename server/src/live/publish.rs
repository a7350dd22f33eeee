//! Publishing a typed event on a channel: the data is encoded once, the publish is counted, and
//! its idempotency key makes a replayed command publish nothing twice.

use crate::infra::metrics::Metrics;
use crate::live::bus::{Audience, Bus, BusError, Publication};
use hehe_protocol::{Channel, EventKind};
use serde::Serialize;
use serde_json::value::RawValue;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The event's data could not be encoded: a defect of ours, never the client's.
    #[error("event not encodable: {0}")]
    Encode(#[from] serde_json::Error),
    #[error(transparent)]
    Bus(#[from] BusError),
}

pub async fn publish(
    bus: &dyn Bus,
    metrics: &Metrics,
    channel: Channel,
    audience: Audience,
    kind: EventKind,
    data: &impl Serialize,
    idempotency_key: String,
) -> Result<(), PublishError> {
    let data = RawValue::from_string(serde_json::to_string(data)?)?;
    bus.publish(Publication {
        channel,
        audience,
        kind: kind.as_str().into(),
        data,
        idempotency_key: Some(idempotency_key),
    })
    .await?;
    metrics.events_published.inc();
    Ok(())
}
