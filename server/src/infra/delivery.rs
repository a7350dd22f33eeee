//! What an adapter that sends beyond the socket (Web Push, the webhook relay, email) reports
//! for one send, so the delivery worker decides alike for all of them: done, retry later with
//! backoff, give up, or forget a target that is gone.

use tokio::sync::Notify;

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

/// Settings of the notification pipeline.
#[derive(Debug, Clone, clap::Args)]
pub struct NotifyConfig {
    /// How long notifications stay in inboxes, in days.
    #[arg(long, env = "HEHE_NOTIFY_KEEP_DAYS", default_value_t = 90)]
    pub notify_keep_days: u64,
    /// How long a push, SMS or email waits for the person to read the notification live
    /// before it is sent, in milliseconds: read by then, it is skipped.
    #[arg(long, env = "HEHE_NOTIFY_SKIP_READ_MS", default_value_t = 3000)]
    pub notify_skip_read_ms: u64,
    /// Attempts at a send before it becomes a dead letter.
    #[arg(long, env = "HEHE_NOTIFY_ATTEMPTS", default_value_t = 8)]
    pub notify_attempts: u32,
    /// How often each node looks for causes and due deliveries (it is also woken at once by
    /// its own writes), in milliseconds.
    #[arg(long, env = "HEHE_NOTIFY_POLL_MS", default_value_t = 1000)]
    pub notify_poll_ms: u64,
    /// The local hour (in the deployment's time zone) from which staff digests are sent.
    #[arg(long, env = "HEHE_DIGEST_HOUR", default_value_t = 8)]
    pub digest_hour: u32,
    /// The address of the web client, for links in SMS, WeChat messages and email.
    #[arg(long, env = "HEHE_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    pub public_url: String,
}

/// This node's part of the pipeline: its name on leases, and the bell its own writes ring.
pub struct Notifier {
    node: String,
    wake: Notify,
}

impl Notifier {
    pub fn new(node_name: &str) -> Self {
        let suffix: u32 = rand::random();
        Self {
            node: format!("{node_name}-{suffix:08x}"),
            wake: Notify::new(),
        }
    }

    /// Something may need telling: run a round now rather than at the next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Resolves when `wake` is called.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// The name this node takes leases under.
    pub fn node(&self) -> &str {
        &self.node
    }
}

/// The adapters of this deployment beyond Web Push (`AppState::push`).
#[derive(Default)]
pub struct Senders {
    pub webhook: Option<crate::infra::webhook::Webhook>,
    pub email: Option<crate::infra::email::Mailer>,
}
