//! What keeps a node healthy and observable rather than what it does: rate limits, metrics and
//! logging set-up.

pub mod delivery;
pub mod limits;
pub mod metrics;
pub mod push;
pub mod sms;
pub mod tasks;
pub mod telemetry;
