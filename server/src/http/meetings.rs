//! Meetings over HTTP: the list a person may see, and one meeting with its room and log (how a
//! client catches up after `recovered: false`). Live actions are WebSocket `room_action`s.

use super::extract::AppPath;
use super::openapi::docs;
use super::{AppJson, Authenticated};
use crate::app::meetings;
use crate::app::state::AppState;
use crate::error::AppResult;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use hehe_protocol::MeetingId;
use hehe_protocol::http::ApiError;
use hehe_protocol::meeting::{MeetingDetail, MeetingInfo, NewMeeting, RegistrationInfo};
use serde::Deserialize;
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/meetings", get(list).post(create))
        .route("/api/meetings/{id}", get(detail))
        .route(
            "/api/meetings/{id}/registration",
            post(register).delete(cancel),
        )
        .route("/api/meetings/{id}/registrations", get(registrations))
        .route("/api/meetings/{id}/checkin", post(check_in))
}

/// Calls a meeting of a community or street, as a draft; the caller chairs it and publishes it
/// with the WebSocket `room_action` `publish`.
#[utoipa::path(
    post,
    path = "/api/meetings",
    tag = "meetings",
    operation_id = "create_meeting",
    security(("bearer" = [])),
    request_body = NewMeeting,
    responses(
        (status = 200, description = "The draft meeting", body = MeetingInfo),
        (status = 400, description = docs::INVALID_BODY, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: only the place's officials, its street's chief and admins call meetings", body = ApiError),
        (status = 404, description = "not_found: no such place, account or issue", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
pub(super) async fn create(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppJson(new): AppJson<NewMeeting>,
) -> AppResult<Json<MeetingInfo>> {
    Ok(Json(meetings::create(&state, &who, new).await?))
}

/// Registers the caller for a published meeting: a seat while there are seats, else the
/// waiting list. Registering again returns the registration.
#[utoipa::path(
    post,
    path = "/api/meetings/{id}/registration",
    tag = "meetings",
    operation_id = "register",
    security(("bearer" = [])),
    params(("id" = MeetingId, Path, description = "The meeting")),
    responses(
        (status = 200, description = "The registration, with its check-in code", body = RegistrationInfo),
        (status = 400, description = docs::BAD_PATH, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the caller may not take part (another place, removed, a draft)", body = ApiError),
        (status = 404, description = "not_found: no such meeting, or a private one the caller is not part of", body = ApiError),
        (status = 409, description = "conflict: registration is not open (not published, or over)", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
pub(super) async fn register(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
) -> AppResult<Json<RegistrationInfo>> {
    Ok(Json(meetings::register(&state, &who, MeetingId(id)).await?))
}

/// Cancels the caller's registration; a freed seat goes to the first on the waiting list.
#[utoipa::path(
    delete,
    path = "/api/meetings/{id}/registration",
    tag = "meetings",
    operation_id = "cancel_registration",
    security(("bearer" = [])),
    params(("id" = MeetingId, Path, description = "The meeting")),
    responses(
        (status = 200, description = "The cancelled registration", body = RegistrationInfo),
        (status = 400, description = docs::BAD_PATH, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 404, description = "not_found: no such meeting or registration", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
pub(super) async fn cancel(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
) -> AppResult<Json<RegistrationInfo>> {
    Ok(Json(
        meetings::cancel_registration(&state, &who, MeetingId(id)).await?,
    ))
}

/// Registrations of a meeting, for its chair and secretary.
#[utoipa::path(
    get,
    path = "/api/meetings/{id}/registrations",
    tag = "meetings",
    operation_id = "registrations",
    security(("bearer" = [])),
    params(("id" = MeetingId, Path, description = "The meeting")),
    responses(
        (status = 200, description = "Registrations, oldest first", body = Vec<RegistrationInfo>),
        (status = 400, description = docs::BAD_PATH, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: only the chair and the secretary", body = ApiError),
        (status = 404, description = "not_found: no such meeting", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
pub(super) async fn registrations(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
) -> AppResult<Json<Vec<RegistrationInfo>>> {
    Ok(Json(
        meetings::registrations(&state, &who, MeetingId(id)).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct CheckIn {
    /// The code the registration shows.
    code: String,
}

/// The chair or secretary checks in the holder of a code.
#[utoipa::path(
    post,
    path = "/api/meetings/{id}/checkin",
    tag = "meetings",
    operation_id = "check_in",
    security(("bearer" = [])),
    params(("id" = MeetingId, Path, description = "The meeting")),
    request_body = CheckIn,
    responses(
        (status = 200, description = "Checked in (again: the first time stays)", body = RegistrationInfo),
        (status = 400, description = docs::INVALID_BODY, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: only the chair and the secretary", body = ApiError),
        (status = 404, description = "not_found: no such meeting, or no seat with that code", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
pub(super) async fn check_in(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
    AppJson(body): AppJson<CheckIn>,
) -> AppResult<Json<RegistrationInfo>> {
    Ok(Json(
        meetings::check_in(&state, &who, MeetingId(id), &body.code).await?,
    ))
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
        (status = 400, description = docs::BAD_PATH, body = ApiError),
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
    AppPath(id): AppPath<i64>,
) -> AppResult<Json<MeetingDetail>> {
    Ok(Json(meetings::detail(&state, &who, MeetingId(id)).await?))
}
