//! The limit per client address on the token routes (login, refresh, logout): each is a
//! password check or a store write, and a guessing run comes from few addresses.

use crate::error::AppError;
use crate::limits::Limit;
use crate::state::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};

/// The client's address for the limits: the peer's, or the configured proxy header's.
pub fn client_ip(
    state: &AppState,
    extensions: &axum::http::Extensions,
    headers: &HeaderMap,
) -> Option<IpAddr> {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    state.limits.client_ip(peer, headers)
}

pub async fn logins_per_addr(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() == Method::POST
        && let Some(ip) = client_ip(&state, req.extensions(), req.headers())
        && let Err(refused) = state.limits.check_addr(Limit::Login, ip)
    {
        return AppError::from(refused).into_response();
    }
    next.run(req).await
}
