//! The ops dashboard page and the load test's report endpoint. The page itself holds nothing
//! secret: it signs in and reads `ops:1` over the WebSocket like any client, as an ops account.

use super::openapi::docs;
use super::{AppJson, Authenticated};
use crate::app::state::AppState;
use crate::error::AppResult;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use hehe_protocol::Position;
use hehe_protocol::http::ApiError;
use hehe_protocol::ops::LoadtestProgress;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ops", get(dashboard))
        .route("/api/ops/loadtest", post(loadtest))
}

/// The live ops dashboard.
///
/// A self-contained page: it signs in with an ops (or admin) account and charts what arrives
/// on the `ops:1` channel: every node's connections, subscriptions, events in and out, bus
/// lag, queue drops and closes, and the running load test's figures.
#[utoipa::path(
    get,
    path = "/ops",
    tag = "operations",
    operation_id = "ops_dashboard",
    responses((status = 200, description = "A self-contained HTML page", body = String, content_type = "text/html"))
)]
async fn dashboard() -> impl IntoResponse {
    // It talks to this origin only, over HTTP and the WebSocket.
    super::openapi::self_contained_page(include_str!("ops.html"))
}

/// Report a load test's figures to the ops dashboards.
///
/// Published on `ops:1` as a `loadtest.progress` event. For ops and admin accounts.
#[utoipa::path(
    post,
    path = "/api/ops/loadtest",
    tag = "operations",
    operation_id = "report_loadtest",
    security(("bearer" = [])),
    request_body = LoadtestProgress,
    responses(
        (status = 202, description = "Published on `ops:1`", body = Position),
        (status = 400, description = "invalid_request: a bad body, an empty or too long name, or a negative or infinite figure", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: not an ops or admin account, or a disabled one", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn loadtest(
    State(state): State<AppState>,
    Authenticated(identity): Authenticated,
    AppJson(progress): AppJson<LoadtestProgress>,
) -> AppResult<(StatusCode, Json<Position>)> {
    let position = crate::app::ops::post_loadtest(&state, &identity, &progress).await?;
    Ok((StatusCode::ACCEPTED, Json(position)))
}
