//! Liveness, readiness and metrics for load balancers and Prometheus.

use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The process is up and serving HTTP.
async fn healthz() -> &'static str {
    "ok"
}

/// The store and the bus both answer, and the server is not shutting down.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let store = state.store.ping().await.is_ok();
    let bus = state.bus.ready().await;
    let running = !state.shutdown.is_cancelled();
    let status = if store && bus && running {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({ "store": store, "bus": bus, "shutting_down": !running })),
    )
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
