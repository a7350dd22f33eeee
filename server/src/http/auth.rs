//! Login, token refresh and the caller's own profile.

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
use hehe_protocol::http::{AccountInfo, LoginRequest, RefreshRequest, TokenResponse};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(login))
        .route("/api/auth/refresh", post(refresh))
        .route("/api/me", get(me))
}

async fn login(
    State(state): State<AppState>,
    AppJson(req): AppJson<LoginRequest>,
) -> AppResult<Json<TokenResponse>> {
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
            return Err(AppError::new(
                ErrorCode::InvalidCredentials,
                "wrong username or password",
            ));
        }
    };
    tracing::info!(account = account.id.0, "login");
    issue_pair(&state, account.id).await
}

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

async fn me(
    State(state): State<AppState>,
    Authenticated(identity): Authenticated,
) -> AppResult<Json<AccountInfo>> {
    Ok(Json(account_info(&state, &identity).await?))
}
