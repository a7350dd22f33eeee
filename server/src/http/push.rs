//! Web Push over HTTP, through `crate::app::push`: the server's key, and a browser
//! subscribing and unsubscribing.

use super::openapi::docs;
use super::{AppJson, Authenticated};
use crate::app::push;
use crate::app::state::AppState;
use crate::error::AppResult;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hehe_protocol::http::ApiError;
use hehe_protocol::notify::{PushKey, PushSubscriptionIn, PushUnsubscribe};
use serde::Serialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/push/key", get(key)).route(
        "/api/me/push-subscriptions",
        post(subscribe).delete(unsubscribe),
    )
}

/// The stored subscription's id.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PushSubscribed {
    pub id: i64,
}

/// The server's VAPID public key, for `PushManager.subscribe({ applicationServerKey })`.
#[utoipa::path(
    get,
    path = "/api/push/key",
    tag = "notifications",
    operation_id = "push_key",
    responses((status = 200, description = "The key, base64url", body = PushKey))
)]
async fn key(State(state): State<AppState>) -> Json<PushKey> {
    Json(push::key(&state))
}

/// Subscribe this browser to Web Push.
///
/// The body is the browser's `PushSubscription.toJSON()`. The endpoint must be an https URL
/// (at most 2048 characters, no user name) and the keys a P-256 point and 16 bytes. An endpoint
/// already stored becomes the caller's, with the new keys; an account keeps at most ten, and
/// an eleventh drops its oldest.
#[utoipa::path(
    post,
    path = "/api/me/push-subscriptions",
    tag = "notifications",
    operation_id = "push_subscribe",
    security(("bearer" = [])),
    request_body = PushSubscriptionIn,
    responses(
        (status = 201, description = "Stored", body = PushSubscribed),
        (status = 400, description = "invalid_request: the endpoint is not an https URL, or a key is malformed (the message says which)", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn subscribe(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppJson(body): AppJson<PushSubscriptionIn>,
) -> AppResult<(StatusCode, Json<PushSubscribed>)> {
    let id = push::subscribe(&state, &who, &body).await?;
    Ok((StatusCode::CREATED, Json(PushSubscribed { id })))
}

/// Unsubscribe a browser from Web Push.
///
/// Forgets the caller's subscription of the endpoint. Answers 204 whether or not the caller
/// had one; another account's subscription of the same endpoint is left alone.
#[utoipa::path(
    delete,
    path = "/api/me/push-subscriptions",
    tag = "notifications",
    operation_id = "push_unsubscribe",
    security(("bearer" = [])),
    request_body = PushUnsubscribe,
    responses(
        (status = 204, description = "The caller has no subscription of this endpoint (any more)"),
        (status = 400, description = docs::INVALID_BODY, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn unsubscribe(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppJson(body): AppJson<PushUnsubscribe>,
) -> AppResult<StatusCode> {
    push::unsubscribe(&state, &who, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}
