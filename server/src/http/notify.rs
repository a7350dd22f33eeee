//! Each person's notification inbox and choices, and the dead letters of the delivery
//! outbox for admins, through `crate::app::notify`.

use super::Authenticated;
use super::extract::{AppJson, AppPath, AppQuery};
use super::openapi::docs;
use crate::app::notify;
use crate::app::state::AppState;
use crate::error::AppResult;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use hehe_protocol::http::ApiError;
use hehe_protocol::notify::{
    DeliveryInfo, DeliveryState, Inbox, MarkRead, NotifyPrefs, NotifyPrefsUpdate, ReadMarked,
};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/me/notifications", get(inbox))
        .route("/api/me/notifications/read", post(mark_read))
        .route("/api/me/notify-prefs", get(prefs).patch(set_prefs))
        .route("/api/ops/deliveries", get(deliveries))
        .route("/api/ops/deliveries/{id}/retry", post(retry))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// Notifications with ids below this one (the previous page's `next_before`).
    pub before: Option<i64>,
    /// Page size, 1 to 100 (default 30).
    pub limit: Option<u32>,
}

/// The caller's notifications, newest first, with unread counts per subject.
#[utoipa::path(
    get,
    path = "/api/me/notifications",
    tag = "notifications",
    operation_id = "inbox",
    security(("bearer" = [])),
    params(InboxQuery),
    responses(
        (status = 200, description = "A page of the inbox", body = Inbox),
        (status = 400, description = "invalid_request: a query value is invalid", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn inbox(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppQuery(q): AppQuery<InboxQuery>,
) -> AppResult<Json<Inbox>> {
    Ok(Json(
        notify::inbox(&state, who.actor.id, q.before, q.limit).await?,
    ))
}

/// Marks notifications read: some by id, all of a subject, or all.
///
/// The caller's other sessions hear of it as a `notification.read` event on `user:<id>`.
#[utoipa::path(
    post,
    path = "/api/me/notifications/read",
    tag = "notifications",
    operation_id = "mark_read",
    security(("bearer" = [])),
    request_body = MarkRead,
    responses(
        (status = 200, description = "Marked", body = ReadMarked),
        (status = 400, description = "invalid_request: not exactly one of ids, subject and all, or more than 500 ids", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 422, description = docs::INVALID_BODY, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn mark_read(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppJson(what): AppJson<MarkRead>,
) -> AppResult<Json<ReadMarked>> {
    Ok(Json(notify::mark_read(&state, who.actor.id, what).await?))
}

/// The caller's notification choices: language, quiet hours, and each kind on each channel.
#[utoipa::path(
    get,
    path = "/api/me/notify-prefs",
    tag = "notifications",
    operation_id = "notify_prefs",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The choices, defaults filled in", body = NotifyPrefs),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn prefs(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
) -> AppResult<Json<NotifyPrefs>> {
    Ok(Json(notify::prefs(&state, who.actor.id).await?))
}

/// Changes the caller's notification choices; fields left out stay as they are.
#[utoipa::path(
    patch,
    path = "/api/me/notify-prefs",
    tag = "notifications",
    operation_id = "set_notify_prefs",
    security(("bearer" = [])),
    request_body = NotifyPrefsUpdate,
    responses(
        (status = 200, description = "The choices now", body = NotifyPrefs),
        (status = 400, description = "invalid_request: an unknown language, quiet hours not HH:MM, or too many choices", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 422, description = docs::INVALID_BODY, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn set_prefs(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppJson(update): AppJson<NotifyPrefsUpdate>,
) -> AppResult<Json<NotifyPrefs>> {
    Ok(Json(notify::set_prefs(&state, who.actor.id, update).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// `dead` (default), `pending`, `sent` or `skipped`.
    pub state: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// Deliveries beyond the socket in one state, newest first (admins): the dead letters by
/// default. Targets are not shown.
#[utoipa::path(
    get,
    path = "/api/ops/deliveries",
    tag = "notifications",
    operation_id = "deliveries",
    security(("bearer" = [])),
    params(DeliveriesQuery),
    responses(
        (status = 200, description = "The deliveries", body = [DeliveryInfo]),
        (status = 400, description = "invalid_request: an unknown state or limit", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: not an admin, or disabled", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn deliveries(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppQuery(q): AppQuery<DeliveriesQuery>,
) -> AppResult<Json<Vec<DeliveryInfo>>> {
    let limit = super::extract::page_size(q.limit)?;
    let wanted = match q.state.as_deref() {
        None => DeliveryState::Dead,
        Some(s) => DeliveryState::parse(s).ok_or_else(|| {
            crate::error::AppError::invalid(
                "状态只能是 dead、pending、sent 或 skipped。The state is dead, pending, sent or skipped.",
            )
        })?,
    };
    Ok(Json(notify::deliveries(&state, &who, wanted, limit).await?))
}

/// Makes a dead delivery due again (admins); audited.
#[utoipa::path(
    post,
    path = "/api/ops/deliveries/{id}/retry",
    tag = "notifications",
    operation_id = "retry_delivery",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The delivery")),
    responses(
        (status = 204, description = "Due again"),
        (status = 400, description = docs::BAD_PATH, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: not an admin, or disabled", body = ApiError),
        (status = 404, description = "not_found: no dead delivery with this id", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn retry(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
) -> AppResult<StatusCode> {
    notify::retry(&state, &who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
