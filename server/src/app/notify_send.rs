//! The adapters the delivery worker sends through, one per channel, and what each is sent:
//! the Web Push payload, the webhook relay's message, the email. A channel whose adapter is not
//! configured is never planned (see `notify::configured`); Web Push always is (the VAPID key is
//! generated when none is given).

use crate::app::state::AppState;
use crate::domain::notify::subject_path;
use crate::infra::delivery::Outcome;
use crate::infra::webhook::WebhookMessage;
use crate::store::notify::ClaimedDelivery;
use hehe_protocol::notify::{Notification, NotifyChannel};
use serde_json::json;
use std::time::Duration;

/// How long a push service keeps a message for a browser that is offline.
const PUSH_TTL: Duration = Duration::from_secs(24 * 3600);

/// One send through its channel's adapter.
pub async fn send(state: &AppState, d: &ClaimedDelivery) -> Outcome {
    match (d.channel, &d.notification) {
        (NotifyChannel::Push, Some(n)) => push(state, d, n).await,
        (NotifyChannel::Webhook, Some(n)) => match &state.senders.webhook {
            Some(webhook) => {
                webhook
                    .send(&message(state, d, n), &d.idempotency_key)
                    .await
            }
            None => Outcome::Failed("the webhook relay is not configured".into()),
        },
        (NotifyChannel::Email, _) => email(state, d).await,
        (_, None) => Outcome::Failed("nothing to send".into()),
    }
}

async fn push(state: &AppState, d: &ClaimedDelivery, n: &Notification) -> Outcome {
    let Ok(id) = d.target.parse::<i64>() else {
        return Outcome::Failed("not a push subscription".into());
    };
    let row = match state.store.push_subscription(id).await {
        Ok(Some(row)) => row,
        // Unsubscribed since: nothing to send to.
        Ok(None) => return Outcome::Gone,
        Err(e) => return Outcome::Retry(format!("store: {e}")),
    };
    let tag = format!("{}:{}", n.subject.kind.as_str(), n.subject.id);
    let payload = json!({
        "id": n.id,
        "kind": n.kind,
        "title": n.title,
        "body": n.body,
        "url": subject_path(n.subject),
        "tag": tag,
        "urgent": n.urgent,
    });
    let target = crate::app::push::target(&row);
    let outcome = state
        .push
        .send(
            &target,
            payload.to_string().as_bytes(),
            PUSH_TTL,
            n.urgent,
            Some(&tag),
        )
        .await;
    let kept = match outcome {
        Outcome::Gone => state.store.push_forget(id).await,
        Outcome::Sent => state.store.push_touch(id, state.now()).await,
        _ => Ok(()),
    };
    if let Err(e) = kept {
        tracing::warn!(error = %e, "push subscription not updated");
    }
    outcome
}

fn message(state: &AppState, d: &ClaimedDelivery, n: &Notification) -> WebhookMessage {
    WebhookMessage {
        delivery: d.idempotency_key.clone(),
        account_id: d.account.0,
        to: d.target.clone(),
        language: d.language.clone(),
        kind: n.kind.as_str().to_string(),
        title: n.title.clone(),
        text: n.body.clone(),
        url: link(state, n),
        urgent: n.urgent,
        created_at: n.created_at,
    }
}

fn link(state: &AppState, n: &Notification) -> String {
    let base = state.config.notify.public_url.trim_end_matches('/');
    format!("{base}{}", subject_path(n.subject))
}

/// An email: a digest carries its composed mail as the payload; a notification is sent as
/// its title and body with a link.
async fn email(state: &AppState, d: &ClaimedDelivery) -> Outcome {
    let Some(mailer) = &state.senders.email else {
        return Outcome::Failed("email is not configured".into());
    };
    let (subject, text, html) = match (&d.payload, &d.notification) {
        (Some(payload), _) => match serde_json::from_str::<serde_json::Value>(payload) {
            Ok(v) => (
                v["subject"].as_str().unwrap_or_default().to_string(),
                v["text"].as_str().unwrap_or_default().to_string(),
                v["html"].as_str().unwrap_or_default().to_string(),
            ),
            Err(_) => return Outcome::Failed("an unreadable digest".into()),
        },
        (None, Some(n)) => {
            let link = link(state, n);
            let text = format!("{}\n\n{}\n", n.body, link);
            let html = format!(
                "<p>{}</p><p><a href=\"{}\">{}</a></p>",
                crate::domain::digest::escape(&n.body),
                crate::domain::digest::escape(&link),
                crate::domain::digest::escape(&link)
            );
            (n.title.clone(), text, html)
        }
        (None, None) => return Outcome::Failed("nothing to send".into()),
    };
    mailer
        .send(&d.target, &subject, &text, &html, &d.idempotency_key)
        .await
}
