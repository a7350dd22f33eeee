//! The limit per client address on the token routes (login, refresh, logout): each is a
//! password check or a store write, and a guessing run comes from few addresses.

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
