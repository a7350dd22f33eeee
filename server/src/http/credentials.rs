//! Codes and passwords over HTTP, through `crate::app::credentials`: SMS codes, sign-up,
//! password reset and change, one's own profile, and an official's one-time reset code.

use super::accounts::request_id;
use super::extract::{AppPath, AppQuery, bearer_claims};
use super::openapi::docs;
use super::{AppJson, Authenticated};
use crate::app::credentials;
use crate::app::places;
use crate::app::state::AppState;
use crate::error::AppResult;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use hehe_protocol::credentials::{
    CodeRequest, CodeSent, PasswordChange, ProfileChange, ResetCode, ResetRequest, SignupRequest,
};
use hehe_protocol::http::{AccountInfo, ApiError, PlaceInfo, TokenResponse};
use hehe_protocol::{AccountId, PlaceId};
use serde::Deserialize;

/// The routes anyone may call without a token: each costs a code, an SMS or a password hash, or
/// reads the place tree, so they share the per-address limit of the login route (see `limit`).
pub fn public_router() -> Router<AppState> {
    Router::new()
        .route("/api/signup/places", get(signup_places))
        .route("/api/sms/codes", post(request_code))
        .route("/api/signup", post(sign_up))
        .route("/api/auth/reset", post(reset))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/me", patch(update_me))
        .route("/api/me/password", post(change_password))
        .route("/api/accounts/{id}/reset-code", post(reset_code))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignupPlacesQuery {
    /// The place whose children to list; absent: the streets.
    pub parent: Option<i64>,
}

/// The places a resident picks a building from when signing up, one level at a time.
///
/// Without `parent`, the streets; with it, the places directly under that place (a street's
/// communities, a community's compounds and grids, a compound's grids, a grid's buildings).
/// Archived places are left out. Only names, kind, id and parent: place names are addresses,
/// posted at every building's gate, not personal data, so they are shown without a token (no
/// person, role or figure of a place is). Ordered by the Chinese name. Shares the per-address
/// limit of the other sign-up routes.
#[utoipa::path(
    get,
    path = "/api/signup/places",
    tag = "auth",
    operation_id = "signup_places",
    params(SignupPlacesQuery),
    responses(
        (status = 200, description = "The places, by Chinese name", body = [PlaceInfo]),
        (status = 400, description = "invalid_request: `parent` is not a number", body = ApiError),
        (status = 404, description = "not_found: no such place, or it is archived", body = ApiError),
        (status = 429, description = "rate_limited: too many requests from this address", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn signup_places(
    State(state): State<AppState>,
    AppQuery(q): AppQuery<SignupPlacesQuery>,
) -> AppResult<Json<Vec<PlaceInfo>>> {
    Ok(Json(
        places::for_signup(&state, q.parent.map(PlaceId)).await?,
    ))
}

/// Ask for a verification code by SMS.
///
/// Sends a six-digit code for signing up or for resetting a password. The answer is the same
/// whether or not the number has an account (a reset code for a number without one is not
/// sent). Codes expire (10 minutes by default), survive 5 wrong tries, and another may be asked
/// after `resend_after` seconds; a number gets at most 5 an hour and an address 20.
#[utoipa::path(
    post,
    path = "/api/sms/codes",
    tag = "auth",
    operation_id = "request_code",
    request_body = CodeRequest,
    responses(
        (status = 202, description = "Accepted: a code is on its way if the purpose allows one for this number", body = CodeSent),
        (status = 400, description = "invalid_request: the body is not a code request, or the phone number is not valid", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 429, description = "rate_limited: a code was sent moments ago, or the number or the address had as many codes as an hour allows (Retry-After says when)", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn request_code(
    State(state): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    AppJson(req): AppJson<CodeRequest>,
) -> AppResult<(StatusCode, Json<CodeSent>)> {
    let client = state.limits.request_ip(&extensions, &headers);
    let sent = credentials::request_code(&state, req, client).await?;
    Ok((StatusCode::ACCEPTED, Json(sent)))
}

/// Sign up as a resident.
///
/// With a code sent for `signup` to the number. The account has no role yet: it reads only
/// its own inbox until an official of the building's community approves its residency request
/// (made here, pending). Answers the tokens of a first session; the account's username is in
/// `account.username`, and the number signs in too.
#[utoipa::path(
    post,
    path = "/api/signup",
    tag = "auth",
    operation_id = "sign_up",
    request_body = SignupRequest,
    responses(
        (status = 201, description = "Signed up and signed in; the residency request is pending", body = TokenResponse),
        (status = 400, description = "invalid_request: a field is invalid (the number, the password's length, the names, a place that is not a building); invalid_code: the code is wrong, expired, used or out of tries", body = ApiError),
        (status = 409, description = "conflict: the number has an account already (sign in, or reset the password)", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 429, description = "rate_limited: too many requests from this address", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn sign_up(
    State(state): State<AppState>,
    AppJson(req): AppJson<SignupRequest>,
) -> AppResult<(StatusCode, Json<TokenResponse>)> {
    let tokens = credentials::sign_up(&state, req).await?;
    Ok((StatusCode::CREATED, Json(tokens)))
}

/// Reset a forgotten password.
///
/// The account by `phone` or `username` (one of the two), and a code: six digits sent by SMS
/// for `reset`, or a one-time reset code an official made. Every session of the account is
/// signed out on every node.
#[utoipa::path(
    post,
    path = "/api/auth/reset",
    tag = "auth",
    operation_id = "reset_password",
    request_body = ResetRequest,
    responses(
        (status = 204, description = "The new password is set; every session is signed out"),
        (status = 400, description = "invalid_request: neither or both of phone and username, or the new password is too short or long; invalid_code: the code is wrong, expired, used or out of tries (the same for a number or username without an account)", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 429, description = "rate_limited: too many requests from this address", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn reset(
    State(state): State<AppState>,
    AppJson(req): AppJson<ResetRequest>,
) -> AppResult<StatusCode> {
    credentials::reset_password(&state, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change one's own display name or romanised name.
#[utoipa::path(
    patch,
    path = "/api/me",
    tag = "auth",
    operation_id = "update_me",
    security(("bearer" = [])),
    request_body = ProfileChange,
    responses(
        (status = 200, description = "The caller's account as changed", body = AccountInfo),
        (status = 400, description = "invalid_request: a name is empty, too long or on several lines, or the romanised name holds letters that are not Latin", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn update_me(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppJson(change): AppJson<ProfileChange>,
) -> AppResult<Json<AccountInfo>> {
    Ok(Json(
        credentials::update_profile(&state, &who, change).await?,
    ))
}

/// Change one's password.
///
/// Needs the current password. Every other session of the account is signed out; the one
/// making the request stays signed in.
#[utoipa::path(
    post,
    path = "/api/me/password",
    tag = "auth",
    operation_id = "change_password",
    security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; the other sessions are signed out"),
        (status = 400, description = "invalid_request: the new password is too short or too long", body = ApiError),
        (status = 401, description = "unauthenticated, invalid_token or token_expired: no valid bearer token; invalid_credentials: the current password is wrong", body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 429, description = "rate_limited: too many wrong passwords in a row", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    AppJson(req): AppJson<PasswordChange>,
) -> AppResult<StatusCode> {
    let claims = bearer_claims(&headers, &state)?;
    credentials::change_password(&state, &claims, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Make a one-time reset code for an account.
///
/// For admins, and for a community official or street chief when every role of the account is
/// below his and lies within his place. The code is shown here once (hand it to the person,
/// who sets a password with `POST /api/auth/reset`); it expires (24 hours by default), a new
/// one voids the old, and making one is audited.
#[utoipa::path(
    post,
    path = "/api/accounts/{id}/reset-code",
    tag = "accounts",
    operation_id = "make_reset_code",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The code, shown only now", body = ResetCode),
        (status = 400, description = docs::BAD_PATH, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the caller sees the account but may not reset it, or is disabled", body = ApiError),
        (status = 404, description = "not_found: no such account, or not one the caller may see", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn reset_code(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
    headers: HeaderMap,
) -> AppResult<Json<ResetCode>> {
    let rid = request_id(&headers);
    let code = credentials::make_reset_code(&state, &who, AccountId(id), rid.as_ref()).await?;
    Ok(Json(code))
}
