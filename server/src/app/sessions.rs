//! Sessions across nodes: telling every node of a sign-out or a changed account, keeping this
//! node's revoked set in step with the store, and checking an access token against both.

use crate::app::AppState;
use crate::clock::unix_ms;
use crate::error::{AppError, AppResult};
use crate::identity::revocation::{NOTICES, Notice, SYNC_EVERY};
use crate::identity::tokens::{Claims, TokenError, TokenKind};
use crate::live::hub::Frame;
use hehe_protocol::ErrorCode;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Tells every node (this one included) of a change. Applied here at once as well: should the
/// bus be down, this node still acts, and the others learn revocations from the store.
pub async fn announce(state: &AppState, notice: Notice) {
    if matches!(notice, Notice::PlacesMoved { .. }) {
        state.store.forget_place_paths();
    }
    // Real time: a revocation is kept for as long as the tokens it ends could be valid.
    state.revocations.apply(&notice, unix_ms());
    let frame = Frame::from(serde_json::to_string(&notice).unwrap_or_default());
    if let Err(e) = state.bus.broadcast(NOTICES, frame).await {
        tracing::warn!(error = %e, "identity notice not sent to the other nodes");
    }
}

/// Listens for notices and keeps the revoked set in step with the store until `stop`; also
/// deletes sessions whose refresh tokens have all expired.
pub async fn run(state: AppState, stop: CancellationToken) {
    loop {
        match state.bus.subscribe(NOTICES).await {
            Ok(()) => break,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for identity notices; retrying");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
    let mut tick = tokio::time::interval(SYNC_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        state.revocations.sync(state.store.as_ref()).await;
        // A move whose notice was lost (the bus was down) is caught by its change counter.
        match state.store.sync_place_paths().await {
            Ok(true) => tracing::info!("places moved elsewhere: cached place paths forgotten"),
            Ok(false) => {}
            Err(e) => tracing::debug!(error = %e, "place changes not read"),
        }
        // Real time: session expiries are the refresh tokens', checked against the system clock.
        if let Err(e) = state.store.prune_sessions(unix_ms()).await {
            tracing::debug!(error = %e, "expired sessions not pruned");
        }
    }
    state.bus.unsubscribe(NOTICES);
}

/// Checks an access token: signed by us, not expired, and its session not signed out.
pub fn verify_access(state: &AppState, token: &str) -> AppResult<Claims> {
    let claims = state
        .tokens
        .verify(token, TokenKind::Access)
        .map_err(|e| match e {
            TokenError::Expired => AppError::new(ErrorCode::TokenExpired, "the token has expired"),
            TokenError::Invalid => AppError::new(ErrorCode::InvalidToken, "the token is not valid"),
        })?;
    if state.revocations.is_revoked(&claims.sid) {
        return Err(AppError::new(
            ErrorCode::InvalidToken,
            "this session was signed out",
        ));
    }
    Ok(claims)
}
