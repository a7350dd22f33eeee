//! Login, token refresh and the caller's own profile.

use super::openapi::docs;
use super::{AppJson, Authenticated};
use crate::auth::{TokenError, TokenKind, verify_password};
use crate::bus::memory::unix_ms;
use crate::channels::{account_info, identity};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use hehe_protocol::ErrorCode;
use hehe_protocol::http::{AccountInfo, ApiError, LoginRequest, RefreshRequest, TokenResponse};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(login))
        .route("/api/auth/refresh", post(refresh))
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
    // Refused before any hashing: a guessing run costs the server nothing while it waits.
    if let Err(wait) = state.login_guard.check(&req.username) {
        return Err(AppError::new(
            ErrorCode::RateLimited,
            format!(
                "too many wrong passwords; try again in {} s",
                wait.as_secs_f64().ceil() as u64
            ),
        ));
    }
    let account = state.store.account_by_username(&req.username).await?;
    let hash = account
        .as_ref()
        .map_or_else(|| state.decoy_hash.to_string(), |a| a.password_hash.clone());
    let password = req.password;
    // argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let account = match account {
        Some(a) if matches && !a.disabled => a,
        _ => {
            state.login_guard.failed(&req.username);
            return Err(AppError::new(
                ErrorCode::InvalidCredentials,
                "wrong username or password",
            ));
        }
    };
    state.login_guard.succeeded(&req.username);
    tracing::info!(account = account.id.0, "login");
    issue_pair(&state, account.id).await
}

/// Trade a refresh token for a new pair of tokens.
#[utoipa::path(
    post,
    path = "/api/auth/refresh",
    tag = "auth",
    operation_id = "refresh",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new access and refresh token", body = TokenResponse),
        (status = 400, description = docs::INVALID_BODY, body = ApiError),
        (status = 401, description = "invalid_token or token_expired: the refresh token is not valid, or has expired (sign in again)", body = ApiError),
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
    let claims = state
        .tokens
        .verify(&req.refresh_token, TokenKind::Refresh)
        .map_err(|e| match e {
            TokenError::Expired => AppError::new(ErrorCode::TokenExpired, "sign in again"),
            TokenError::Invalid => AppError::new(ErrorCode::InvalidToken, "the token is not valid"),
        })?;
    issue_pair(&state, claims.account()).await
}

async fn issue_pair(
    state: &AppState,
    account: hehe_protocol::AccountId,
) -> AppResult<Json<TokenResponse>> {
    let identity = identity(state, account).await?;
    let now = unix_ms();
    let access = state.tokens.issue(account, TokenKind::Access, now);
    let refresh = state.tokens.issue(account, TokenKind::Refresh, now);
    Ok(Json(TokenResponse {
        access_token: access.token,
        access_expires_at: access.expires_at,
        refresh_token: refresh.token,
        refresh_expires_at: refresh.expires_at,
        account: account_info(state, &identity).await?,
    }))
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
