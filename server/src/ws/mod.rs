//! The WebSocket endpoint: the upgrade with its size limits, then one session task per socket.

mod origin;
mod registration;
mod session;
mod writer;

use crate::app::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new().route(hehe_protocol::WS_PATH, get(upgrade))
}

async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    ws: WebSocketUpgrade,
) -> Response {
    if state.shutdown.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if !origin::allowed(
        text(header::ORIGIN),
        text(header::HOST),
        &state.config.allowed_origins,
    ) {
        tracing::debug!("websocket refused: origin not allowed");
        return crate::error::AppError::new(
            hehe_protocol::ErrorCode::Forbidden,
            "this page's origin may not open a connection here",
        )
        .into_response();
    }
    if let Some(ip) = state.limits.request_ip(&extensions, &headers)
        && let Err(refused) = state
            .limits
            .check_addr(crate::infra::limits::Limit::Connect, ip)
    {
        tracing::debug!("websocket refused: connect rate limit");
        return crate::error::AppError::from(refused).into_response();
    }
    let config = &state.config;
    ws.max_message_size(config.max_frame_bytes)
        .max_frame_size(config.max_frame_bytes)
        // tungstenite's defaults (128 KiB each) would dwarf everything else an idle
        // connection holds; frames are small and the outbox batches writes.
        .read_buffer_size(config.ws_read_buffer_bytes)
        .write_buffer_size(config.ws_write_buffer_bytes)
        .on_failed_upgrade(|e| tracing::debug!(error = %e, "websocket upgrade failed"))
        .on_upgrade(move |socket| async move {
            // A task of our own rather than axum's upgrade task: that one would keep its own
            // state (and our closure's) beside the session's for the life of the connection.
            let sessions = state.sessions.clone();
            sessions.spawn(session::start(socket, state));
        })
}
