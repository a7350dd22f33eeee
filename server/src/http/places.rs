//! Places by id: a place's names with what lies above and under it, so clients can name the
//! places that grants and statistics mention and let a resident pick a building.

use super::Authenticated;
use super::extract::AppPath;
use super::openapi::docs;
use crate::app::state::AppState;
use crate::domain::access;
use crate::error::{AppError, AppResult};
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
    let id = PlaceId(id);
    let not_found = || AppError::not_found("place");
    let path = state.store.place_path(id).await?.ok_or_else(not_found)?;
    if !access::can_see_place(&identity.actor, &path) {
        return Err(not_found());
    }
    let place = state.store.place(id).await?.ok_or_else(not_found)?;
    let mut ancestors = Vec::new();
    for above in [Some(path.street), path.community, path.grid] {
        if let Some(above) = above.filter(|a| *a != id)
            && let Some(info) = state.store.place(above).await?
        {
            ancestors.push(info);
        }
    }
    // Under a place one may see lie places one may not (a building lead's grid holds other
    // buildings): only those on one of the caller's lines are named.
    let mut children = Vec::new();
    for child in state.store.children(id).await? {
        if let Some(path) = state.store.place_path(child.id).await?
            && access::can_see_place(&identity.actor, &path)
        {
            children.push(child);
        }
    }
    Ok(Json(PlaceDetail {
        place,
        ancestors,
        children,
    }))
}
