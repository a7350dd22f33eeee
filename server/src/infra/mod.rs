//! What keeps a node healthy and observable rather than what it does: rate limits, metrics and
//! logging set-up; and the adapters that send beyond the socket (SMS, the webhook relay, email).

pub mod delivery;
pub mod email;
pub mod limits;
pub mod metrics;
pub mod push;
pub mod sms;
pub mod tasks;
pub mod telemetry;
pub mod webhook;
