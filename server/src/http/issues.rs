//! Issues over HTTP: the same actions as the WebSocket commands, through `crate::issues`.

use super::{AppJson, Authenticated};
use crate::error::{AppError, AppResult};
use crate::issues;
use crate::state::AppState;
use crate::store::issues::IssueFilter;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hehe_protocol::issue::{
    CategoryInfo, IssueAction, IssueDetail, IssueState, IssueSummary, NewIssue, PhotoInfo,
    PhotoKind,
};
use hehe_protocol::stats::StatsReport;
use hehe_protocol::{AccountId, IssueId, PlaceId, RequestId};
use serde::Deserialize;

/// `max_photo`: the largest photo; the upload route takes a little more for the form around it.
pub fn router(max_photo: usize) -> Router<AppState> {
    Router::new()
        .route("/api/categories", get(categories))
        .route("/api/issues", get(list).post(submit))
        .route("/api/issues/similar", get(similar))
        .route("/api/issues/{id}", get(detail))
        .route("/api/issues/{id}/actions", post(act))
        .route(
            "/api/issues/{id}/photos",
            post(upload).layer(DefaultBodyLimit::max(max_photo.saturating_add(64 * 1024))),
        )
        .route("/api/issues/{id}/photos/{photo}", get(photo))
        .route("/api/stats", get(stats))
}

#[derive(Debug, Deserialize)]
struct SimilarQuery {
    category: String,
    place_id: i64,
    lat: Option<f64>,
    lon: Option<f64>,
}

async fn similar(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Query(q): Query<SimilarQuery>,
) -> AppResult<Json<Vec<IssueSummary>>> {
    let location = q
        .lat
        .zip(q.lon)
        .map(|(lat, lon)| hehe_protocol::issue::GeoPoint { lat, lon });
    Ok(Json(
        issues::similar(&state, &who, &q.category, PlaceId(q.place_id), location).await?,
    ))
}

#[derive(Debug, Deserialize)]
struct StatsQuery {
    /// A street, community or grid.
    place: i64,
    /// Only issues raised at or after this time (Unix ms).
    #[serde(default)]
    since: i64,
}

async fn stats(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Query(q): Query<StatsQuery>,
) -> AppResult<Json<StatsReport>> {
    Ok(Json(
        crate::stats::report(&state, &who, PlaceId(q.place), q.since).await?,
    ))
}

/// Multipart form: `file` (the picture), `kind` (`before`, `after` or `evidence`) and
/// optionally `keep_location` (`true` keeps the picture's GPS metadata).
async fn upload(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<i64>,
    mut form: Multipart,
) -> AppResult<Json<PhotoInfo>> {
    let (mut file, mut kind, mut keep_location) = (None, None, false);
    let bad = |_| AppError::invalid("a multipart form with a file field");
    while let Some(field) = form.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "file" => file = Some(field.bytes().await.map_err(bad)?),
            "kind" => {
                let text = field.text().await.map_err(bad)?;
                kind = Some(match text.trim() {
                    "before" => PhotoKind::Before,
                    "after" => PhotoKind::After,
                    "evidence" => PhotoKind::Evidence,
                    _ => return Err(AppError::invalid("kind is before, after or evidence")),
                });
            }
            "keep_location" => keep_location = field.text().await.map_err(bad)?.trim() == "true",
            _ => {}
        }
    }
    let file = file.ok_or_else(|| AppError::invalid("the form has no file"))?;
    let kind = kind.ok_or_else(|| AppError::invalid("the form has no kind"))?;
    Ok(Json(
        issues::add_photo(&state, &who, IssueId(id), kind, &file, keep_location).await?,
    ))
}

async fn photo(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path((id, photo)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let (content_type, bytes) = issues::photo(&state, &who, IssueId(id), photo).await?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (
                header::CACHE_CONTROL,
                "private, max-age=31536000, immutable",
            ),
        ],
        bytes,
    )
        .into_response())
}

async fn categories() -> Json<Vec<CategoryInfo>> {
    Json(issues::categories())
}

#[derive(Debug, Deserialize)]
struct SubmitBody {
    request_id: RequestId,
    issue: NewIssue,
}

async fn submit(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppJson(body): AppJson<SubmitBody>,
) -> AppResult<Json<IssueSummary>> {
    Ok(Json(
        issues::submit(&state, &who, &body.request_id, body.issue).await?,
    ))
}

#[derive(Debug, Deserialize)]
struct ActionBody {
    request_id: RequestId,
    action: IssueAction,
}

async fn act(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<i64>,
    AppJson(body): AppJson<ActionBody>,
) -> AppResult<Json<IssueSummary>> {
    Ok(Json(
        issues::act(&state, &who, &body.request_id, IssueId(id), body.action).await?,
    ))
}

async fn detail(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<i64>,
) -> AppResult<Json<IssueDetail>> {
    Ok(Json(issues::detail(&state, &who, IssueId(id)).await?))
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    community: Option<i64>,
    street: Option<i64>,
    grid: Option<i64>,
    assignee: Option<i64>,
    /// Only issues the caller reported or follows.
    #[serde(default)]
    mine: bool,
    /// Comma-separated states.
    state: Option<String>,
    category: Option<String>,
    before: Option<i64>,
    limit: Option<u32>,
}

async fn list(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<Vec<IssueSummary>>> {
    let states = match q.state.as_deref() {
        None | Some("") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|s| {
                IssueState::ALL
                    .into_iter()
                    .find(|state| state.as_str() == s.trim())
                    .ok_or_else(|| AppError::invalid(format!("unknown state {s}")))
            })
            .collect::<AppResult<_>>()?,
    };
    let filter = IssueFilter {
        community: q.community.map(PlaceId),
        street: q.street.map(PlaceId),
        grid: q.grid.map(PlaceId),
        assignee: q.assignee.map(AccountId),
        involving: q.mine.then_some(who.actor.id),
        states,
        category: q.category,
        before_id: q.before,
        limit: q.limit.unwrap_or(50),
        ..IssueFilter::default()
    };
    Ok(Json(issues::list(&state, &who, filter).await?))
}
