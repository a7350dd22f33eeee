//! The limit per client address on the token routes (login, refresh, logout) and the public
//! routes of signing up: each is a password check, a code, a store write or a read anyone may
//! make without a token, and a guessing or scraping run comes from few addresses.

use crate::app::state::AppState;
use crate::error::AppError;
use crate::infra::limits::Limit;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn logins_per_addr(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() == Method::POST
        && let Some(ip) = state.limits.request_ip(req.extensions(), req.headers())
        && let Err(refused) = state.limits.check_addr(Limit::Login, ip)
    {
        return AppError::from(refused).into_response();
    }
    next.run(req).await
}

/// The same limit as `logins_per_addr`, counting every request, not only `POST`: for routers
/// whose every route is public (the sign-up routes, the places a sign-up picks from), where a
/// `GET` is as open as a `POST`. `logins_per_addr` spares `GET /api/me`, which needs a token.
pub async fn public_per_addr(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(ip) = state.limits.request_ip(req.extensions(), req.headers())
        && let Err(refused) = state.limits.check_addr(Limit::Login, ip)
    {
        return AppError::from(refused).into_response();
    }
    next.run(req).await
}
