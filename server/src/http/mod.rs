//! The HTTP router: the JSON API under `/api` with its OpenAPI document, health and metrics,
//! and the WebSocket upgrade.

mod accounts;
mod appraisals;
mod audit;
mod auth;
mod channels;
mod credentials;
mod extract;
mod health;
mod issues;
mod limit;
mod meetings;
mod notify;
mod openapi;
mod ops;
mod people;
mod places;
mod push;
mod residency;
mod web;

pub use extract::{AppJson, Authenticated};
pub use openapi::ApiDoc;

use crate::app::state::AppState;
use axum::Router;
use axum::extract::MatchedPath;
use axum::http::Request;
use tower_http::trace::TraceLayer;

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(
            auth::router().route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                limit::logins_per_addr,
            )),
        )
        .merge(
            credentials::public_router().route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                limit::public_per_addr,
            )),
        )
        .merge(credentials::router())
        .merge(residency::router())
        .merge(accounts::router())
        .merge(audit::router())
        .merge(notify::router())
        .merge(channels::router())
        .merge(issues::router(state.config.max_photo_bytes))
        .merge(meetings::router())
        .merge(appraisals::router())
        .merge(openapi::router())
        .merge(ops::router())
        .merge(places::router())
        .merge(push::router())
        .merge(people::router(state.clone()))
        .merge(web::router())
        .merge(crate::ws::router())
        // Every JSON body the API takes is small; the photo upload route sets its own limit,
        // which wins because it sits closer to its handler.
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.max_body_bytes,
        ))
        .layer(
            // The span names the route, never the URI, which may carry ids or query values.
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let route = req
                    .extensions()
                    .get::<MatchedPath>()
                    .map(MatchedPath::as_str)
                    .unwrap_or("unmatched");
                tracing::info_span!("http", method = %req.method(), route)
            }),
        )
        .with_state(state)
}
