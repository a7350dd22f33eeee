//! Login, token refresh, logout and the caller's own profile.

use super::openapi::docs;
use super::{AppJson, Authenticated};
use crate::app::channels::{account_info, identity};
use crate::app::state::AppState;
use crate::clock::unix_ms;
use crate::error::{AppError, AppResult};
use crate::identity::tokens::{TokenError, TokenKind, new_session_id, verify_password};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use hehe_protocol::http::{AccountInfo, ApiError, LoginRequest, RefreshRequest, TokenResponse};
use hehe_protocol::{AccountId, ErrorCode};
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
    let identity = identity(&state, account.id).await?;
    let sid = new_session_id();
    let now = unix_ms();
    state
        .store
        .create_session(&sid, account.id, now, now + state.tokens.refresh_ttl_ms())
        .await?;
    issue_pair(&state, &identity, &sid, 0, now).await
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
    let claims = state
        .tokens
        .verify(&req.refresh_token, TokenKind::Refresh)
        .map_err(|e| match e {
            TokenError::Expired => AppError::new(ErrorCode::TokenExpired, "sign in again"),
            TokenError::Invalid => AppError::new(ErrorCode::InvalidToken, "the token is not valid"),
        })?;
    // Refused before the session moves on: a disabled account keeps its refresh token useless.
    let identity = identity(&state, claims.account()).await?;
    let now = unix_ms();
    let generation = state
        .store
        .rotate_session(
            &claims.sid,
            claims.account(),
            claims.generation,
            now,
            now + state.tokens.refresh_ttl_ms(),
            // Long enough for a second tab or `hehe` process refreshing the same login at the
            // same moment, short enough that a stolen, spent token is of little use.
            state.config.refresh_reuse_secs.saturating_mul(1000) as i64,
        )
        .await?
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::InvalidToken,
                "this refresh token was used already or its session was signed out",
            )
        })?;
    issue_pair(&state, &identity, &claims.sid, generation, now).await
}

async fn issue_pair(
    state: &AppState,
    identity: &crate::app::channels::Identity,
    sid: &str,
    generation: i64,
    now: i64,
) -> AppResult<Json<TokenResponse>> {
    let account = identity.actor.id;
    let tokens = &state.tokens;
    let access = tokens.issue_for(account, sid, generation, TokenKind::Access, now);
    let refresh = tokens.issue_for(account, sid, generation, TokenKind::Refresh, now);
    Ok(Json(TokenResponse {
        access_token: access.token,
        access_expires_at: access.expires_at,
        refresh_token: refresh.token,
        refresh_expires_at: refresh.expires_at,
        account: account_info(state, identity).await?,
    }))
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
    let account = claims.account();
    // A disabled account is locked out already; it is told so, like on every other route.
    identity(&state, account).await?;
    let now = unix_ms();
    let sids = if req.everywhere {
        let audit = crate::store::identity::NewAudit {
            at: now,
            actor: account,
            action: "session.logout_everywhere".into(),
            target: format!("account:{}", account.0),
            place: None,
            street: None,
            detail: None,
            outcome: crate::store::identity::Outcome::Ok,
            request_id: None,
        };
        let mut sids = state
            .store
            .revoke_sessions(account, now, Some(&audit))
            .await?;
        // The bearer's own session may have been unknown to the store (a token issued without
        // one); it is signed out all the same.
        if !sids.contains(&claims.sid) {
            sids.push(claims.sid.clone());
        }
        sids
    } else {
        state
            .store
            .revoke_session(&claims.sid, account, now)
            .await?;
        vec![claims.sid.clone()]
    };
    tracing::info!(account = account.0, sessions = sids.len(), "logout");
    announce_revoked(&state, account, sids).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn announce_revoked(state: &AppState, account: AccountId, sids: Vec<String>) {
    crate::app::sessions::announce(
        state,
        crate::identity::revocation::Notice::Revoked { account, sids },
    )
    .await;
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
