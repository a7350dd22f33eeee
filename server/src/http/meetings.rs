//! Meetings over HTTP: the list a person may see, and one meeting with its room and log (how a
//! client catches up after `recovered: false`). Live actions are WebSocket `room_action`s.

use super::Authenticated;
use super::openapi::docs;
use crate::error::AppResult;
use crate::meetings;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use hehe_protocol::MeetingId;
use hehe_protocol::http::ApiError;
use hehe_protocol::meeting::{MeetingDetail, MeetingInfo};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/meetings", get(list))
        .route("/api/meetings/{id}", get(detail))
}

/// Meetings of the caller's street and community that the caller may know of: private
/// meetings (mediations) only to their members.
#[utoipa::path(
    get,
    path = "/api/meetings",
    tag = "meetings",
    operation_id = "list_meetings",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The meetings", body = Vec<MeetingInfo>),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
pub(super) async fn list(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
) -> AppResult<Json<Vec<MeetingInfo>>> {
    Ok(Json(meetings::list(&state, &who).await?))
}

/// A meeting, its live room folded from the log, and the whole log.
#[utoipa::path(
    get,
    path = "/api/meetings/{id}",
    tag = "meetings",
    operation_id = "meeting",
    security(("bearer" = [])),
    params(("id" = MeetingId, Path, description = "The meeting")),
    responses(
        (status = 200, description = "The meeting", body = MeetingDetail),
        (status = 400, description = docs::BAD_PATH, body = String, content_type = "text/plain"),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the account is disabled, or may not be in this meeting (removed)", body = ApiError),
        (status = 404, description = "not_found: no such meeting, or a private one the caller is not part of", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
pub(super) async fn detail(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<i64>,
) -> AppResult<Json<MeetingDetail>> {
    Ok(Json(meetings::detail(&state, &who, MeetingId(id)).await?))
}
