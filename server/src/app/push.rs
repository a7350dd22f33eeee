//! A person's browsers subscribing to Web Push, and the server key they subscribe with. The
//! sending is `infra::push`; the delivery worker turns a stored subscription into a target
//! with `target`.

use crate::app::channels::Identity;
use crate::app::state::AppState;
use crate::error::{AppError, AppResult};
use crate::infra::push::{PushTarget, check_subscription};
use crate::store::push::PushSubscriptionRow;
use hehe_protocol::notify::{PushKey, PushSubscriptionIn, PushUnsubscribe};

/// The VAPID public key browsers subscribe with.
pub fn key(state: &AppState) -> PushKey {
    PushKey {
        public_key: state.push.public_key(),
    }
}

/// Stores the caller's browser subscription and returns its id. The endpoint becomes the
/// caller's even when another account had it (someone else signed in on that browser); an
/// eleventh subscription drops the caller's oldest.
pub async fn subscribe(
    state: &AppState,
    who: &Identity,
    sub: &PushSubscriptionIn,
) -> AppResult<i64> {
    check_subscription(
        &sub.endpoint,
        &sub.keys.p256dh,
        &sub.keys.auth,
        state.push.allows_http(),
    )
    .map_err(AppError::invalid)?;
    let id = state
        .store
        .push_subscribe(
            who.actor.id,
            &sub.endpoint,
            &sub.keys.p256dh,
            &sub.keys.auth,
            state.now(),
        )
        .await?;
    tracing::debug!(
        account = who.actor.id.0,
        subscription = id,
        "push subscribed"
    );
    Ok(id)
}

/// Forgets the caller's subscription of an endpoint. Done whether or not the caller had one,
/// and without touching another account's: the answer tells nobody whose an endpoint is.
pub async fn unsubscribe(
    state: &AppState,
    who: &Identity,
    body: &PushUnsubscribe,
) -> AppResult<()> {
    let removed = state
        .store
        .push_unsubscribe(who.actor.id, &body.endpoint)
        .await?;
    tracing::debug!(account = who.actor.id.0, removed, "push unsubscribed");
    Ok(())
}

/// What `WebPush::send` needs of a stored subscription.
pub fn target(row: &PushSubscriptionRow) -> PushTarget {
    PushTarget {
        endpoint: row.endpoint.clone(),
        p256dh: row.p256dh.clone(),
        auth: row.auth.clone(),
    }
}
