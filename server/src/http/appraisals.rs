//! Appraisal meetings over HTTP, through `crate::app::appraisals`: set up, move through the states,
//! cast ballots, void them while counting, and read the counts and, once published, results.

use super::extract::AppPath;
use super::openapi::docs;
use super::{AppJson, Authenticated};
use crate::app::appraisals;
use crate::app::state::AppState;
use crate::domain::appraisal::Move;
use crate::error::AppResult;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use hehe_protocol::MeetingId;
use hehe_protocol::appraisal::{
    AppraisalDetail, BallotReceipt, NewAppraisal, NewBallot, VoidBallot,
};
use hehe_protocol::http::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/appraisals", post(set_up))
        .route("/api/appraisals/{id}", get(detail))
        .route("/api/appraisals/{id}/open", post(open))
        .route("/api/appraisals/{id}/close", post(close))
        .route("/api/appraisals/{id}/publish", post(publish))
        .route("/api/appraisals/{id}/ballots", post(cast))
        .route("/api/appraisals/{id}/ballots/{ballot_id}/void", post(void))
}

/// Set up an appraisal of a community or street; the caller chairs it.
///
/// The caller is an official of the community, the chief of the street, or an admin. Every
/// elector must be a resident or building lead of the place. Dimension weights are
/// normalised; `anonymous` is fixed here for good. The appraisal starts `prepared`.
#[utoipa::path(
    post,
    path = "/api/appraisals",
    tag = "appraisals",
    operation_id = "set_up_appraisal",
    security(("bearer" = [])),
    request_body = NewAppraisal,
    responses(
        (status = 200, description = "The new appraisal", body = AppraisalDetail),
        (status = 400, description = "invalid_request: a bad body; an empty or too long text; no appraisees or dimensions; a weight not above 0; a scale not 1 to 100; an appraisee with both an account and a service, or an unknown account; an elector listed twice or who is no resident or building lead of the place; a place that is no community or street", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the account is disabled, or is no official of the place (nor admin)", body = ApiError),
        (status = 404, description = "not_found: no such place", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
pub(super) async fn set_up(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppJson(new): AppJson<NewAppraisal>,
) -> AppResult<Json<AppraisalDetail>> {
    Ok(Json(appraisals::set_up(&state, &who, new).await?))
}

/// An appraisal: its setup, state and counts; results and follow-up items once published.
///
/// Results go to the electorate and the place's staff; ballots (never naming an anonymous
/// voter) to the chair and admins from counting on.
#[utoipa::path(
    get,
    path = "/api/appraisals/{id}",
    tag = "appraisals",
    operation_id = "appraisal",
    security(("bearer" = [])),
    params(("id" = MeetingId, Path, description = "The appraisal's meeting")),
    responses(
        (status = 200, description = "The appraisal", body = AppraisalDetail),
        (status = 400, description = docs::BAD_PATH, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the account is disabled, or is neither of the place nor in the electorate", body = ApiError),
        (status = 404, description = "not_found: no such appraisal", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
pub(super) async fn detail(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
) -> AppResult<Json<AppraisalDetail>> {
    Ok(Json(appraisals::detail(&state, &who, MeetingId(id)).await?))
}

/// Open the ballot (prepared → balloting); the chair or an admin.
#[utoipa::path(
    post,
    path = "/api/appraisals/{id}/open",
    tag = "appraisals",
    operation_id = "open_appraisal",
    security(("bearer" = [])),
    params(("id" = MeetingId, Path, description = "The appraisal's meeting")),
    responses(
        (status = 200, description = "The appraisal, balloting", body = AppraisalDetail),
        (status = 400, description = docs::BAD_PATH, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the account is disabled, or is neither the chair nor an admin", body = ApiError),
        (status = 404, description = "not_found: no such appraisal", body = ApiError),
        (status = 409, description = "conflict: the appraisal is not prepared; request_in_progress: retry", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
pub(super) async fn open(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
) -> AppResult<Json<AppraisalDetail>> {
    Ok(Json(
        appraisals::step(&state, &who, MeetingId(id), Move::Open).await?,
    ))
}

/// Close the ballot and start counting (balloting → counting); the chair or an admin.
#[utoipa::path(
    post,
    path = "/api/appraisals/{id}/close",
    tag = "appraisals",
    operation_id = "close_appraisal",
    security(("bearer" = [])),
    params(("id" = MeetingId, Path, description = "The appraisal's meeting")),
    responses(
        (status = 200, description = "The appraisal, counting", body = AppraisalDetail),
        (status = 400, description = docs::BAD_PATH, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the account is disabled, or is neither the chair nor an admin", body = ApiError),
        (status = 404, description = "not_found: no such appraisal", body = ApiError),
        (status = 409, description = "conflict: the appraisal is not balloting; request_in_progress: retry", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
pub(super) async fn close(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
) -> AppResult<Json<AppraisalDetail>> {
    Ok(Json(
        appraisals::step(&state, &who, MeetingId(id), Move::Close).await?,
    ))
}

/// Publish the results (counting → published); the chair or an admin.
///
/// The ballots are counted once more from the store; each appraisee scoring below the
/// threshold gets a follow-up item, owned by their account or else the chair, due in 30 days.
#[utoipa::path(
    post,
    path = "/api/appraisals/{id}/publish",
    tag = "appraisals",
    operation_id = "publish_appraisal",
    security(("bearer" = [])),
    params(("id" = MeetingId, Path, description = "The appraisal's meeting")),
    responses(
        (status = 200, description = "The appraisal, published, with its results", body = AppraisalDetail),
        (status = 400, description = docs::BAD_PATH, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the account is disabled, or is neither the chair nor an admin", body = ApiError),
        (status = 404, description = "not_found: no such appraisal", body = ApiError),
        (status = 409, description = "conflict: the appraisal is not counting; request_in_progress: retry", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
pub(super) async fn publish(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
) -> AppResult<Json<AppraisalDetail>> {
    Ok(Json(
        appraisals::step(&state, &who, MeetingId(id), Move::Publish).await?,
    ))
}

/// Cast the caller's ballot: every appraisee scored on every dimension, and graded.
///
/// Electors only, while balloting, once each. In an anonymous appraisal the stored ballot
/// names nobody and its id is not returned.
#[utoipa::path(
    post,
    path = "/api/appraisals/{id}/ballots",
    tag = "appraisals",
    operation_id = "cast_appraisal_ballot",
    security(("bearer" = [])),
    params(("id" = MeetingId, Path, description = "The appraisal's meeting")),
    request_body = NewBallot,
    responses(
        (status = 200, description = "Stored (or, for a retried request id, stored before)", body = BallotReceipt),
        (status = 400, description = "invalid_request: a path id that is not a number, a bad body, a missing or extra appraisee or dimension, a score above its scale, a missing grade, a too long comment", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the account is disabled, or is not in the electorate", body = ApiError),
        (status = 404, description = "not_found: no such appraisal", body = ApiError),
        (status = 409, description = "conflict: the caller has voted already, or the appraisal is not balloting", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
pub(super) async fn cast(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
    AppJson(ballot): AppJson<NewBallot>,
) -> AppResult<Json<BallotReceipt>> {
    Ok(Json(
        appraisals::cast(&state, &who, MeetingId(id), ballot).await?,
    ))
}

/// Void a ballot while counting; the chair or an admin, with a reason.
///
/// The ballot stays stored, marked void with the reason; the change log records who voided
/// it, when and why. Counts still reconcile: cast = valid + void.
#[utoipa::path(
    post,
    path = "/api/appraisals/{id}/ballots/{ballot_id}/void",
    tag = "appraisals",
    operation_id = "void_appraisal_ballot",
    security(("bearer" = [])),
    params(
        ("id" = MeetingId, Path, description = "The appraisal's meeting"),
        ("ballot_id" = String, Path, description = "The ballot, as in `BallotInfo.id`"),
    ),
    request_body = VoidBallot,
    responses(
        (status = 200, description = "The appraisal after the void", body = AppraisalDetail),
        (status = 400, description = "invalid_request: a path id that is not a number, a bad body, or an empty or too long reason", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the account is disabled, or is neither the chair nor an admin", body = ApiError),
        (status = 404, description = "not_found: no such appraisal or ballot", body = ApiError),
        (status = 409, description = "conflict: the appraisal is not counting, or the ballot is void already", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
pub(super) async fn void(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath((id, ballot_id)): AppPath<(i64, String)>,
    AppJson(body): AppJson<VoidBallot>,
) -> AppResult<Json<AppraisalDetail>> {
    Ok(Json(
        appraisals::void(&state, &who, MeetingId(id), &ballot_id, &body.reason).await?,
    ))
}
