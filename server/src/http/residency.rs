//! Residency requests over HTTP, through `crate::app::residency`: list, approve, refuse, and
//! one's own (a move, and where it stands).

use super::accounts::request_id;
use super::extract::{AppPath, AppQuery};
use super::openapi::docs;
use super::{AppJson, Authenticated};
use crate::app::residency;
use crate::app::state::AppState;
use crate::error::{AppError, AppResult};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use hehe_protocol::PlaceId;
use hehe_protocol::credentials::{
    MoveResidency, RefuseResidency, ResidencyRequest, ResidencyState,
};
use hehe_protocol::http::ApiError;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/residency-requests", get(list))
        .route("/api/residency-requests/{id}/approve", post(approve))
        .route("/api/residency-requests/{id}/refuse", post(refuse))
        .route("/api/me/residency", get(mine).post(request_move))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only requests for buildings at or under this place.
    pub place: Option<i64>,
    /// `pending`, `approved` or `refused`; all when absent.
    pub state: Option<String>,
}

/// Residency requests the caller decides.
///
/// For the officials of the buildings' communities, their street chiefs and admins, newest
/// first (the pending ones, and the latest decided ones).
#[utoipa::path(
    get,
    path = "/api/residency-requests",
    tag = "residents",
    operation_id = "residency_requests",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "The requests", body = [ResidencyRequest]),
        (status = 400, description = "invalid_request: an unknown state, or a place id that is not a number", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the caller decides no requests (there), or is disabled", body = ApiError),
        (status = 404, description = "not_found: no such place", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn list(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppQuery(q): AppQuery<ListQuery>,
) -> AppResult<Json<Vec<ResidencyRequest>>> {
    let filter = match q.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            ResidencyState::parse(s)
                .ok_or_else(|| AppError::invalid("state is pending, approved or refused"))?,
        ),
    };
    let place = q.place.map(PlaceId);
    Ok(Json(residency::list(&state, &who, place, filter).await?))
}

/// Approve a residency request.
///
/// The applicant gets the resident role for the building's community (on a move, in place of
/// the one of the community left), is told on its `user:` channel (`residency.approved`), and
/// its connections close with 4007 to reconnect with the role. Audited.
#[utoipa::path(
    post,
    path = "/api/residency-requests/{id}/approve",
    tag = "residents",
    operation_id = "approve_residency",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The request's id")),
    responses(
        (status = 200, description = "The request as approved", body = ResidencyRequest),
        (status = 400, description = docs::BAD_PATH, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 404, description = "not_found: no such request, or not one the caller decides", body = ApiError),
        (status = 409, description = "conflict: the request was decided already", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn approve(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
    headers: HeaderMap,
) -> AppResult<Json<ResidencyRequest>> {
    let rid = request_id(&headers);
    Ok(Json(
        residency::decide(&state, &who, id, true, None, rid.as_ref()).await?,
    ))
}

/// Refuse a residency request, with a reason.
///
/// The applicant is told on its `user:` channel (`residency.refused`, with the reason). Audited.
#[utoipa::path(
    post,
    path = "/api/residency-requests/{id}/refuse",
    tag = "residents",
    operation_id = "refuse_residency",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The request's id")),
    request_body = RefuseResidency,
    responses(
        (status = 200, description = "The request as refused", body = ResidencyRequest),
        (status = 400, description = "invalid_request: no reason, or one longer than 500 characters or on several lines", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 404, description = "not_found: no such request, or not one the caller decides", body = ApiError),
        (status = 409, description = "conflict: the request was decided already", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn refuse(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
    headers: HeaderMap,
    AppJson(body): AppJson<RefuseResidency>,
) -> AppResult<Json<ResidencyRequest>> {
    let rid = request_id(&headers);
    Ok(Json(
        residency::decide(&state, &who, id, false, Some(&body.reason), rid.as_ref()).await?,
    ))
}

/// Ask to live in another building.
///
/// A new pending request (a move), decided like a sign-up's; the role held now stays until it
/// is approved. One request may wait at a time.
#[utoipa::path(
    post,
    path = "/api/me/residency",
    tag = "residents",
    operation_id = "request_move",
    security(("bearer" = [])),
    request_body = MoveResidency,
    responses(
        (status = 201, description = "The pending request", body = ResidencyRequest),
        (status = 400, description = "invalid_request: no such building, or a place that is not a building", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 409, description = "conflict: a request of the caller's is waiting already", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn request_move(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppJson(body): AppJson<MoveResidency>,
) -> AppResult<(StatusCode, Json<ResidencyRequest>)> {
    let request = residency::request_move(&state, &who, body.building).await?;
    Ok((StatusCode::CREATED, Json(request)))
}

/// One's latest residency request and where it stands.
#[utoipa::path(
    get,
    path = "/api/me/residency",
    tag = "residents",
    operation_id = "my_residency",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's latest request", body = ResidencyRequest),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 404, description = "not_found: the caller never made one", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn mine(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
) -> AppResult<Json<ResidencyRequest>> {
    Ok(Json(residency::mine(&state, who.actor.id).await?))
}
