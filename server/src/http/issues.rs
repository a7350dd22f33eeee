//! Issues over HTTP: the same actions as the WebSocket commands, through `crate::app::issues`.

use super::extract::{AppMultipart, AppPath, AppQuery, page_size};
use super::openapi::docs;
use super::{AppJson, Authenticated};
use crate::app::issues::{self, IssueFilter};
use crate::app::state::AppState;
use crate::error::{AppError, AppResult};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hehe_protocol::http::ApiError;
use hehe_protocol::issue::{
    CategoryInfo, IssueAction, IssueDetail, IssueState, IssueSummary, NewIssue, PhotoInfo,
    PhotoKind,
};
use hehe_protocol::stats::StatsReport;
use hehe_protocol::{AccountId, IssueId, PlaceId, RequestId};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SimilarQuery {
    /// The category code the new report would have.
    category: String,
    /// The grid or building the new report would be about.
    place_id: i64,
    /// With `lon`: also open issues within 200 m of this point.
    lat: Option<f64>,
    lon: Option<f64>,
}

/// Open issues like the one about to be reported.
///
/// Same category, raised in the last 30 days in the same grid or within 200 m of the given
/// point, and visible to the caller: shown before submitting, so a resident can say "me too".
#[utoipa::path(
    get,
    path = "/api/issues/similar",
    tag = "issues",
    operation_id = "similar_issues",
    security(("bearer" = [])),
    params(SimilarQuery),
    responses(
        (status = 200, description = "Matching open issues", body = Vec<IssueSummary>),
        (status = 400, description = "invalid_request: a missing or malformed query parameter, an unknown category, or a place that is no grid or building", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 404, description = "not_found: no such place", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn similar(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppQuery(q): AppQuery<SimilarQuery>,
) -> AppResult<Json<Vec<IssueSummary>>> {
    let location = q
        .lat
        .zip(q.lon)
        .map(|(lat, lon)| hehe_protocol::issue::GeoPoint { lat, lon });
    Ok(Json(
        issues::similar(&state, &who, &q.category, PlaceId(q.place_id), location).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct StatsQuery {
    /// A street, community or grid.
    place: i64,
    /// Only issues raised at or after this time (Unix ms).
    #[serde(default)]
    since: i64,
}

/// Issue statistics of a street, community or grid, and of each place directly under it.
#[utoipa::path(
    get,
    path = "/api/stats",
    tag = "stats",
    operation_id = "stats",
    security(("bearer" = [])),
    params(StatsQuery),
    responses(
        (status = 200, description = "The place's figures and those of its parts", body = StatsReport),
        (status = 400, description = "invalid_request: a missing or malformed query parameter, or a place that is a building", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the account is disabled, or may not read the place's channel (ops may read every place)", body = ApiError),
        (status = 404, description = "not_found: no such place", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn stats(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppQuery(q): AppQuery<StatsQuery>,
) -> AppResult<Json<StatsReport>> {
    Ok(Json(
        crate::app::stats::report(&state, &who, PlaceId(q.place), q.since).await?,
    ))
}

// Never built: `upload` reads the fields one by one as they stream in; this only describes
// the form in the OpenAPI document.
/// The multipart form of a photo upload.
#[derive(ToSchema)]
#[schema(as = PhotoUpload)]
#[allow(dead_code)]
struct PhotoForm {
    /// A JPEG, PNG or WebP picture.
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    file: Vec<u8>,
    kind: PhotoKind,
    /// `true` keeps the picture's GPS metadata; it is stripped otherwise.
    #[schema(default = false)]
    keep_location: Option<bool>,
}

/// Attach a photo to an issue.
///
/// Multipart form: `file` (the picture), `kind` (`before`, `after` or `evidence`) and
/// optionally `keep_location` (`true` keeps the picture's GPS metadata). The issue's timeline
/// gets a `photo` entry; an `after` photo counts towards completing.
#[utoipa::path(
    post,
    path = "/api/issues/{id}/photos",
    tag = "issues",
    operation_id = "upload_photo",
    security(("bearer" = [])),
    params(("id" = IssueId, Path, description = "The issue")),
    request_body(content = PhotoForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Stored", body = PhotoInfo),
        (status = 400, description = "invalid_request: a path id that is not a number, not a multipart form (or one without a boundary), a missing `file` or `kind`, a `keep_location` other than `true` or `false`, a picture that is not JPEG, PNG or WebP or is damaged, or a body past the upload limit", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the account is disabled, or may not add this kind of photo", body = ApiError),
        (status = 404, description = "not_found: no such issue, or the caller may not see it", body = ApiError),
        (status = 409, description = "request_in_progress: the issue kept changing; retry", body = ApiError),
        (status = 413, description = "payload_too_large: the picture is larger than allowed", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn upload(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
    AppMultipart(mut form): AppMultipart,
) -> AppResult<Json<PhotoInfo>> {
    // Counted before the body is read: a refused upload costs no bandwidth past its headers.
    state
        .limits
        .check_account(crate::infra::limits::Limit::Upload, who.actor.id)?;
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
            // Strict, as the form's schema says boolean: a "yes" read as false would quietly
            // strip the location the resident meant to keep.
            "keep_location" => {
                keep_location = match field.text().await.map_err(bad)?.trim() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(AppError::invalid("keep_location is true or false")),
                }
            }
            _ => {}
        }
    }
    let file = file.ok_or_else(|| AppError::invalid("the form has no file"))?;
    let kind = kind.ok_or_else(|| AppError::invalid("the form has no kind"))?;
    Ok(Json(
        issues::add_photo(&state, &who, IssueId(id), kind, &file, keep_location).await?,
    ))
}

/// A photo of an issue, for those who may see the issue.
#[utoipa::path(
    get,
    path = "/api/issues/{id}/photos/{photo}",
    tag = "issues",
    operation_id = "get_photo",
    security(("bearer" = [])),
    params(
        ("id" = IssueId, Path, description = "The issue"),
        ("photo" = i64, Path, description = "The photo's id, as in `PhotoInfo.id`"),
    ),
    responses(
        (status = 200, description = "The picture's bytes, privately cacheable for a year", content(
            ("image/jpeg"),
            ("image/png"),
            ("image/webp"),
        )),
        (status = 400, description = docs::BAD_PATH, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 404, description = "not_found: no such issue or photo, or the caller may not see the issue", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn photo(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath((id, photo)): AppPath<(i64, i64)>,
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

/// The categories residents can report under, with their default priority and rules.
#[utoipa::path(
    get,
    path = "/api/categories",
    tag = "issues",
    operation_id = "categories",
    responses((status = 200, description = "Every category", body = Vec<CategoryInfo>))
)]
async fn categories() -> Json<Vec<CategoryInfo>> {
    Json(issues::categories())
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = SubmitIssueRequest)]
struct SubmitBody {
    /// Chosen by the client: a retry with the same id raises the issue once.
    request_id: RequestId,
    issue: NewIssue,
}

/// Raise an issue.
#[utoipa::path(
    post,
    path = "/api/issues",
    tag = "issues",
    operation_id = "submit_issue",
    security(("bearer" = [])),
    request_body = SubmitBody,
    responses(
        (status = 200, description = "The new issue (or, for a retried request id, the issue it raised)", body = IssueSummary),
        (status = 400, description = "invalid_request: a bad body, an unknown category, a place that is no grid or building, an empty or too long text, or a location not on Earth", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the account is disabled, or may not report there or for that resident", body = ApiError),
        (status = 404, description = "not_found: no such place, or no such resident for `on_behalf_of`", body = ApiError),
        (status = 409, description = "conflict or request_in_progress: the request id is in use or was used otherwise; retry shortly", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn submit(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppJson(body): AppJson<SubmitBody>,
) -> AppResult<Json<IssueSummary>> {
    Ok(Json(
        issues::submit(&state, &who, &body.request_id, body.issue).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = IssueActionRequest)]
struct ActionBody {
    /// Chosen by the client: a retry with the same id applies the action once.
    request_id: RequestId,
    action: IssueAction,
}

/// Act on an issue: accept, dispatch, complete, rate, follow…
///
/// Who may do what, and in which state, is in PROTOCOL.md, section 10.
#[utoipa::path(
    post,
    path = "/api/issues/{id}/actions",
    tag = "issues",
    operation_id = "act_on_issue",
    security(("bearer" = [])),
    params(("id" = IssueId, Path, description = "The issue")),
    request_body = ActionBody,
    responses(
        (status = 200, description = "The issue after the action", body = IssueSummary),
        (status = 400, description = "invalid_request: a path id that is not a number, or a bad body or action field", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the account is disabled, or its role may not take this action", body = ApiError),
        (status = 404, description = "not_found: no such issue, or the caller may not see it", body = ApiError),
        (status = 409, description = "conflict: the issue's state does not allow the action; request_in_progress: retry shortly", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn act(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
    AppJson(body): AppJson<ActionBody>,
) -> AppResult<Json<IssueSummary>> {
    Ok(Json(
        issues::act(&state, &who, &body.request_id, IssueId(id), body.action).await?,
    ))
}

/// Everything about one issue the caller may see: timeline, deadlines, photos.
#[utoipa::path(
    get,
    path = "/api/issues/{id}",
    tag = "issues",
    operation_id = "issue_detail",
    security(("bearer" = [])),
    params(("id" = IssueId, Path, description = "The issue")),
    responses(
        (status = 200, description = "The issue", body = IssueDetail),
        (status = 400, description = docs::BAD_PATH, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 404, description = "not_found: no such issue, or the caller may not see it", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn detail(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
) -> AppResult<Json<IssueDetail>> {
    Ok(Json(issues::detail(&state, &who, IssueId(id)).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only issues of this community.
    community: Option<i64>,
    /// Only issues of this street.
    street: Option<i64>,
    /// Only issues of this grid.
    grid: Option<i64>,
    /// Only issues dispatched to this account.
    assignee: Option<i64>,
    /// Only issues the caller reported or follows.
    #[serde(default)]
    mine: bool,
    /// Comma-separated states, e.g. `submitted,accepted`.
    state: Option<String>,
    /// A category code.
    category: Option<String>,
    /// Only issues with a smaller id: the last id of the previous page.
    before: Option<i64>,
    /// Issues per page, 1 to 200; 50 when absent.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// Issues the caller may see, newest first, narrowed by the query.
///
/// Residents see public issues, and the issues they reported or follow.
#[utoipa::path(
    get,
    path = "/api/issues",
    tag = "issues",
    operation_id = "list_issues",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "Newest first", body = Vec<IssueSummary>),
        (status = 400, description = "invalid_request: a malformed query parameter, an unknown state, or a `limit` outside 1 to 200", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn list(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppQuery(q): AppQuery<ListQuery>,
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
        limit: page_size(q.limit)?,
        ..IssueFilter::default()
    };
    Ok(Json(issues::list(&state, &who, filter).await?))
}
