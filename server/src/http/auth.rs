//! Login, token refresh, logout and the caller's own profile, through `crate::app::auth`.

use super::openapi::docs;
use super::{AppJson, Authenticated};
use crate::app::auth;
use crate::app::channels::account_info;
use crate::app::state::AppState;
use crate::error::{AppError, AppResult};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use hehe_protocol::http::{AccountInfo, ApiError, LoginRequest, RefreshRequest, TokenResponse};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(login))
        .route("/api/auth/refresh", post(refresh))
        .route("/api/auth/logout", post(logout))
        .route("/api/me", get(me))
}

/// Sign in with a username and password.
///
/// Answers an access token for the `Authorization: Bearer` header and the WebSocket `auth`
/// frame, and a refresh token for `POST /api/auth/refresh`. A wrong password and an unknown or
/// disabled account get the same answer.
#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "auth",
    operation_id = "login",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, description = docs::INVALID_BODY, body = ApiError),
        (status = 401, description = "invalid_credentials: wrong username or password", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 429, description = "rate_limited: too many wrong passwords for this username in a row; logins for it are refused for a while (1 s after the fifth, doubling with each further failure, at most 15 minutes by default)", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn login(
    State(state): State<AppState>,
    AppJson(req): AppJson<LoginRequest>,
) -> AppResult<Json<TokenResponse>> {
    Ok(Json(auth::login(&state, req).await?))
}

/// Trade a refresh token for a new pair of tokens.
///
/// A refresh token works once: the pair answered replaces it. Refresh tokens of a session that
/// was signed out are refused.
#[utoipa::path(
    post,
    path = "/api/auth/refresh",
    tag = "auth",
    operation_id = "refresh",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new access and refresh token", body = TokenResponse),
        (status = 400, description = docs::INVALID_BODY, body = ApiError),
        (status = 401, description = "invalid_token or token_expired: the refresh token is not valid, was used already, its session was signed out, or it has expired (sign in again)", body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn refresh(
    State(state): State<AppState>,
    AppJson(req): AppJson<RefreshRequest>,
) -> AppResult<Json<TokenResponse>> {
    Ok(Json(auth::refresh(&state, &req.refresh_token).await?))
}

/// What to sign out: this session (the default) or every session of the account.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// Sign out every session of the account, on every device.
    #[serde(default)]
    pub everywhere: bool,
}

/// Sign out.
///
/// Ends the session of the bearer token (or, with `{"everywhere": true}`, every session of the
/// account): its access and refresh tokens stop working on every node, and its WebSocket
/// connections close with 4501. The body may be left out.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "auth",
    operation_id = "logout",
    security(("bearer" = [])),
    request_body(content = Option<LogoutRequest>, description = "Optional; `{}` signs out this session"),
    responses(
        (status = 204, description = "Signed out"),
        (status = 400, description = docs::INVALID_BODY, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<StatusCode> {
    let claims = super::extract::bearer_claims(&headers, &state)?;
    // No body at all means this session; anything else must be the documented JSON object.
    let req: LogoutRequest = if body.is_empty() {
        LogoutRequest::default()
    } else {
        // An object only: serde would also take `[]` or `[true]` for the struct.
        match serde_json::from_slice(&body) {
            Ok(value @ serde_json::Value::Object(_)) => {
                serde_json::from_value(value).map_err(|e| AppError::invalid(e.to_string()))?
            }
            Ok(_) => return Err(AppError::invalid("the body is a JSON object")),
            Err(e) => return Err(AppError::invalid(e.to_string())),
        }
    };
    auth::logout(&state, &claims, req.everywhere).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's account, its roles and the channels each lets it read.
#[utoipa::path(
    get,
    path = "/api/me",
    tag = "auth",
    operation_id = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's account", body = AccountInfo),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn me(
    State(state): State<AppState>,
    Authenticated(identity): Authenticated,
) -> AppResult<Json<AccountInfo>> {
    Ok(Json(account_info(&state, &identity).await?))
}
