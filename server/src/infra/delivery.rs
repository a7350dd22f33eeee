//! What an adapter that sends beyond the socket (Web Push, the webhook relay, email) reports
//! for one send, so the delivery worker decides alike for all of them: done, retry later with
//! backoff, give up, or forget a target that is gone.

/// The result of one attempt to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver accepted it.
    Sent,
    /// The target no longer exists (a push subscription answered 404 or 410): drop the target,
    /// do not retry.
    Gone,
    /// A failure that may pass (a time-out, a refused connection, 429, 5xx): retry with backoff.
    /// The text is for operators: no message body, token or personal data.
    Retry(String),
    /// A failure that will not pass by retrying (a 4xx other than 404/410/429, a malformed
    /// target): dead at once.
    Failed(String),
}
