//! Places by id over HTTP, through `crate::app::places`.

use super::Authenticated;
use super::extract::AppPath;
use super::openapi::docs;
use crate::app::places;
use crate::app::state::AppState;
use crate::error::AppResult;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use hehe_protocol::PlaceId;
use hehe_protocol::http::{ApiError, PlaceDetail};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/places/{id}", get(place))
}

/// A place, the places above it and those directly under it that the caller may see.
///
/// For places on one line with one of the caller's grants (their own street, community, grid
/// or building, what lies above it and what lies under it); admins see every place. Others are
/// `not_found`.
#[utoipa::path(
    get,
    path = "/api/places/{id}",
    tag = "places",
    operation_id = "place",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The place's id")),
    responses(
        (status = 200, description = "The place", body = PlaceDetail),
        (status = 400, description = docs::BAD_PATH, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 404, description = "not_found: no such place, or not one the caller may look up", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn place(
    State(state): State<AppState>,
    Authenticated(identity): Authenticated,
    AppPath(id): AppPath<i64>,
) -> AppResult<Json<PlaceDetail>> {
    Ok(Json(places::detail(&state, &identity, PlaceId(id)).await?))
}
