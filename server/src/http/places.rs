//! Places over HTTP, through `crate::app::places` (looking places up) and
//! `crate::app::place_admin` (managing the tree).

use super::Authenticated;
use super::accounts::request_id;
use super::extract::{AppJson, AppPath, AppQuery};
use super::openapi::docs;
use crate::app::place_admin;
use crate::app::places;
use crate::app::state::AppState;
use crate::domain::place_import::{self, FileRefusal};
use crate::error::{AppError, AppResult};
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hehe_protocol::PlaceId;
use hehe_protocol::http::{ApiError, PlaceDetail, PlaceInfo};
use hehe_protocol::places::{ImportReport, MovePlace, NewPlace, PlacePatch};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/places", get(roots).post(create))
        .route("/api/places/{id}", get(place).patch(edit))
        .route("/api/places/{id}/move", post(move_place))
        .route("/api/places/{id}/archive", post(archive))
        .route("/api/places/{id}/restore", post(restore))
        .route(
            "/api/places/import",
            // A file is larger than a JSON body; one byte over the most a file may be lets
            // the import say so in its own words.
            post(import).layer(axum::extract::DefaultBodyLimit::max(
                place_import::MAX_BYTES + 1,
            )),
        )
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Include archived places (default false).
    #[serde(default)]
    pub archived: bool,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Only report what would be created and refused; write nothing (default false).
    #[serde(default)]
    pub dry_run: bool,
}

const MANAGE: &str = "forbidden: the caller may not manage places there (admins everywhere; a \
    street chief within his street, streets excepted; a community official the compounds, grids \
    and buildings of his community)";

/// The streets the caller may see: the roots of the place tree.
///
/// Admins see every street; others the streets of their grants; ops none. Archived streets
/// only with `archived=true`.
#[utoipa::path(
    get,
    path = "/api/places",
    tag = "places",
    operation_id = "streets",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "The streets, by id", body = [PlaceInfo]),
        (status = 400, description = "invalid_request: `archived` is not true or false", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn roots(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppQuery(q): AppQuery<ListQuery>,
) -> AppResult<Json<Vec<PlaceInfo>>> {
    Ok(Json(place_admin::roots(&state, &who, q.archived).await?))
}

/// A place, the places above it and those directly under it that the caller may see.
///
/// For places on one line with one of the caller's grants (their own street, community, grid
/// or building, what lies above it and what lies under it); admins see every place. Others are
/// `not_found`. Archived children only with `archived=true`.
#[utoipa::path(
    get,
    path = "/api/places/{id}",
    tag = "places",
    operation_id = "place",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The place's id"), ListQuery),
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
    AppQuery(q): AppQuery<ListQuery>,
) -> AppResult<Json<PlaceDetail>> {
    Ok(Json(
        places::detail(&state, &identity, PlaceId(id), q.archived).await?,
    ))
}

/// Create a place.
///
/// A street at the root (admins), a community under a street, a compound under a community, a
/// grid under a community or a compound, a building under a grid (with its units and floors,
/// if known). The Chinese name is unique among the parent's places. Audited; published as
/// `place.created` on the place's `street:` and `home:` channels.
#[utoipa::path(
    post,
    path = "/api/places",
    tag = "places",
    operation_id = "create_place",
    security(("bearer" = [])),
    request_body = NewPlace,
    responses(
        (status = 201, description = "The new place", body = PlaceInfo),
        (status = 400, description = "invalid_request: a name empty, too long or not one line; a kind that does not go under that parent; units or floors out of bounds or on what is not a building", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = MANAGE, body = ApiError),
        (status = 404, description = "not_found: no such parent, or not one the caller may look up", body = ApiError),
        (status = 409, description = "conflict: the parent is archived, or holds a place of that Chinese name", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn create(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    AppJson(new): AppJson<NewPlace>,
) -> AppResult<(StatusCode, Json<PlaceInfo>)> {
    let rid = request_id(&headers);
    let info = place_admin::create(&state, &who, new, rid.as_ref()).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

/// Rename a place, or change a building's units and floors.
///
/// Fields left out stay; `units` or `floors` set to null are forgotten. The same callers as
/// for creating. Audited; published as `place.updated`.
#[utoipa::path(
    patch,
    path = "/api/places/{id}",
    tag = "places",
    operation_id = "edit_place",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The place's id")),
    request_body = PlacePatch,
    responses(
        (status = 200, description = "The place as it is now", body = PlaceInfo),
        (status = 400, description = "invalid_request: a name empty, too long or not one line; units or floors out of bounds or on what is not a building", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = MANAGE, body = ApiError),
        (status = 404, description = "not_found: no such place, or not one the caller may look up", body = ApiError),
        (status = 409, description = "conflict: a place under the same parent has that Chinese name", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn edit(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    AppPath(id): AppPath<i64>,
    AppJson(patch): AppJson<PlacePatch>,
) -> AppResult<Json<PlaceInfo>> {
    let rid = request_id(&headers);
    let info = place_admin::edit(&state, &who, PlaceId(id), patch, rid.as_ref()).await?;
    Ok(Json(info))
}

/// Move a place under another parent.
///
/// Both the place and the new parent must lie where the caller manages places; the kinds must
/// fit. Issues filed under the place follow it. Every node forgets its cached place paths, and
/// the accounts with grants under the place are asked to reconnect (close 4007). Audited;
/// published as `place.moved` on the old and the new channels. The same parent again changes
/// nothing.
#[utoipa::path(
    post,
    path = "/api/places/{id}/move",
    tag = "places",
    operation_id = "move_place",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The place's id")),
    request_body = MovePlace,
    responses(
        (status = 200, description = "The place as it is now", body = PlaceInfo),
        (status = 400, description = "invalid_request: the kind does not go under that parent, or the parent lies under the place", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = MANAGE, body = ApiError),
        (status = 404, description = "not_found: no such place or parent, or not one the caller may look up", body = ApiError),
        (status = 409, description = "conflict: the new parent is archived, or holds a place of that Chinese name", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn move_place(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    AppPath(id): AppPath<i64>,
    AppJson(to): AppJson<MovePlace>,
) -> AppResult<Json<PlaceInfo>> {
    let rid = request_id(&headers);
    let info = place_admin::move_to(&state, &who, PlaceId(id), to, rid.as_ref()).await?;
    Ok(Json(info))
}

/// Archive a place.
///
/// Nothing is deleted (issues and meetings point at places); an archived place is left out of
/// listings unless asked for, and nothing new goes under it. Places under it must be archived
/// first. Archiving an archived place changes nothing. Audited; published as `place.archived`.
#[utoipa::path(
    post,
    path = "/api/places/{id}/archive",
    tag = "places",
    operation_id = "archive_place",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The place's id")),
    responses(
        (status = 200, description = "The place as it is now", body = PlaceInfo),
        (status = 400, description = docs::BAD_PATH, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = MANAGE, body = ApiError),
        (status = 404, description = "not_found: no such place, or not one the caller may look up", body = ApiError),
        (status = 409, description = "conflict: places under it are not archived", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn archive(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    AppPath(id): AppPath<i64>,
) -> AppResult<Json<PlaceInfo>> {
    let rid = request_id(&headers);
    let info = place_admin::set_archived(&state, &who, PlaceId(id), true, rid.as_ref()).await?;
    Ok(Json(info))
}

/// Restore an archived place.
///
/// Its parent must not be archived. Restoring a place that is not archived changes nothing.
/// Audited; published as `place.restored`.
#[utoipa::path(
    post,
    path = "/api/places/{id}/restore",
    tag = "places",
    operation_id = "restore_place",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The place's id")),
    responses(
        (status = 200, description = "The place as it is now", body = PlaceInfo),
        (status = 400, description = docs::BAD_PATH, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = MANAGE, body = ApiError),
        (status = 404, description = "not_found: no such place, or not one the caller may look up", body = ApiError),
        (status = 409, description = "conflict: its parent is archived", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn restore(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    AppPath(id): AppPath<i64>,
) -> AppResult<Json<PlaceInfo>> {
    let rid = request_id(&headers);
    let info = place_admin::set_archived(&state, &who, PlaceId(id), false, rid.as_ref()).await?;
    Ok(Json(info))
}

/// Import a place tree from CSV.
///
/// The body is UTF-8 CSV (`text/csv`, at most 1 MiB and 5000 lines) with the header
/// `street,community,compound,grid,building,units,floors` in any order: one line per building,
/// Chinese names; `compound`, `units` and `floors` are optional columns and values, and
/// `street_en` … `building_en` optional English names. What exists is found by its parent and
/// Chinese name and left as it is, so a file imported twice creates nothing the second time.
/// Every line refused is listed with a stable code; with any refusal nothing is written
/// (422 when `dry_run` is false). With `dry_run=true` nothing is written either way. For
/// admins, street chiefs and community officials, each line within where they manage places.
#[utoipa::path(
    post,
    path = "/api/places/import",
    tag = "places",
    operation_id = "import_places",
    security(("bearer" = [])),
    params(ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "The CSV file"),
    responses(
        (status = 200, description = "What was created (or would be, on a dry run) and refused", body = ImportReport),
        (status = 400, description = "invalid_request: the file is empty or not UTF-8, its header is wrong, or `dry_run` is not true or false", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = MANAGE, body = ApiError),
        (status = 409, description = "conflict: the tree changed while the file was applied; nothing was written, try again", body = ApiError),
        (status = 413, description = "payload_too_large: more than 1 MiB or 5000 lines", body = ApiError),
        (status = 422, description = "Lines were refused: nothing was written (the report lists them)", body = ImportReport),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn import(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    AppQuery(q): AppQuery<ImportQuery>,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let body = body.map_err(|_| AppError::from(FileRefusal::TooLarge))?;
    let rid = request_id(&headers);
    let report = place_admin::import(&state, &who, &body, q.dry_run, rid.as_ref()).await?;
    let status = if !report.dry_run && !report.refused.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Json(report)).into_response())
}
