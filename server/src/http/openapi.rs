//! The OpenAPI document of the HTTP API, and a page to browse it. Both are built into the
//! binary: the page loads nothing but the document, so it works on machines without internet.

use super::{auth, channels, health, issues, meetings, ops, places};
use crate::app::state::AppState;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use std::sync::LazyLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Response descriptions shared by many operations.
pub(super) mod docs {
    pub const INVALID_BODY: &str =
        "invalid_request: the body is not JSON of the expected shape, or a field is invalid";
    pub const BAD_PATH: &str = "invalid_request: a path id that is not a number";
    pub const UNAUTHORIZED: &str = "unauthenticated, invalid_token or token_expired: no valid \
        `Authorization: Bearer` access token (refresh it on token_expired)";
    pub const DISABLED: &str = "forbidden: the account is disabled";
    pub const TOO_LARGE: &str = "payload_too_large: the body is larger than allowed";
    pub const INTERNAL: &str = "internal: something failed on the server; nothing is disclosed";
    pub const UNAVAILABLE: &str =
        "unavailable: the store or live delivery is down; retry with backoff";
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hehe API",
        version = env!("CARGO_PKG_VERSION"),
        description = "The JSON HTTP API of Hehe, the live backend for neighbourhood \
            self-government: sign in, read and post channel messages, raise issues and see them \
            through, read statistics, and catch up with meetings. Live updates travel over the WebSocket endpoint `/ws`, \
            whose frames PROTOCOL.md in the hehe-protocol crate describes. Every error answers \
            with an `ApiError` body whose `code` is stable."
    ),
    paths(
        auth::login,
        auth::refresh,
        auth::me,
        auth::logout,
        super::credentials::signup_places,
        super::credentials::request_code,
        super::credentials::sign_up,
        super::credentials::reset,
        super::credentials::update_me,
        super::credentials::change_password,
        super::credentials::reset_code,
        super::residency::list,
        super::residency::approve,
        super::residency::refuse,
        super::residency::request_move,
        super::residency::mine,
        super::accounts::lookup,
        super::accounts::account,
        super::accounts::add_grant,
        super::accounts::remove_grant,
        super::accounts::disable,
        super::accounts::enable,
        super::audit::audit,
        super::notify::inbox,
        super::notify::mark_read,
        super::notify::prefs,
        super::notify::set_prefs,
        super::notify::deliveries,
        super::notify::retry,
        channels::list,
        channels::post,
        places::roots,
        places::place,
        places::create,
        places::edit,
        places::move_place,
        places::archive,
        places::restore,
        places::import,
        super::people::create_invite,
        super::people::list_invites,
        super::people::revoke_invite,
        super::people::accept_invite,
        super::people::import,
        super::people::staff,
        super::people::search,
        issues::categories,
        issues::list,
        issues::submit,
        issues::similar,
        issues::detail,
        issues::act,
        issues::upload,
        issues::photo,
        issues::stats,
        super::appraisals::set_up,
        super::appraisals::detail,
        super::appraisals::open,
        super::appraisals::close,
        super::appraisals::publish,
        super::appraisals::cast,
        super::appraisals::void,
        meetings::list,
        meetings::create,
        meetings::detail,
        meetings::register,
        meetings::cancel,
        meetings::registrations,
        meetings::check_in,
        super::push::key,
        super::push::subscribe,
        super::push::unsubscribe,
        websocket,
        health::healthz,
        health::readyz,
        health::metrics,
        ops::dashboard,
        ops::loadtest,
        super::web::index,
        super::web::service_worker,
        super::web::web_asset,
        super::web::sdk_asset,
        openapi_json,
        docs_page,
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "auth", description = "Signing in, tokens and the caller's account"),
        (name = "accounts", description = "Managing accounts and their roles, and the audit log"),
        (name = "residents", description = "Residency requests: residents say where they live, officials decide"),
        (name = "channels", description = "The message archive of live channels"),
        (name = "places", description = "Streets, communities, compounds, grids and buildings, and managing them"),
        (name = "people", description = "Enrolment: staff invites, the people import, the staff directory and the people search"),
        (name = "issues", description = "Residents' issues, from the report to the rating"),
        (name = "stats", description = "Issue statistics per street, community and grid"),
        (name = "meetings", description = "Meetings and their living rooms"),
        (name = "appraisals", description = "Appraisal meetings: residents score officials and services"),
        (name = "notifications", description = "Each person's notification inbox and choices, Web Push subscriptions, and the delivery outbox"),
        (name = "websocket", description = "The live protocol"),
        (name = "operations", description = "Health, readiness, metrics and the ops dashboard"),
        (name = "documentation", description = "This document and its browser"),
    )
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The `access_token` of `POST /api/auth/login` or `/api/auth/refresh`",
                    ))
                    .build(),
            ),
        );
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/docs", get(docs_page))
}

// Built once: the document is the same for the life of the process.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_json()
        .expect("the OpenAPI document has only string keys")
});

/// This document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "documentation",
    operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"))
)]
async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
}

/// A page that renders this document for people.
#[utoipa::path(
    get,
    path = "/api/docs",
    tag = "documentation",
    operation_id = "docs",
    responses((status = 200, description = "A self-contained HTML page", body = String, content_type = "text/html"))
)]
async fn docs_page() -> impl IntoResponse {
    self_contained_page(include_str!("docs.html"))
}

/// A page whose scripts and styles are all inline, allowed to talk to this origin only.
pub(super) fn self_contained_page(html: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                 connect-src 'self'; img-src data:",
            ),
        ],
        html,
    )
}

/// Open the WebSocket of the live protocol.
///
/// A standard WebSocket upgrade (RFC 6455). After the upgrade the client sends an `auth` frame
/// with its access token, then subscribes to channels and sends commands; the server answers
/// and pushes events. Every frame, the close codes and how to resume after a reconnect are in
/// PROTOCOL.md in the hehe-protocol crate.
#[utoipa::path(
    get,
    path = "/ws",
    tag = "websocket",
    operation_id = "websocket",
    params(
        ("Upgrade" = String, Header, description = "`websocket`"),
        ("Connection" = String, Header, description = "`Upgrade`"),
        ("Sec-WebSocket-Key" = String, Header, description = "A random base64 nonce"),
        ("Sec-WebSocket-Version" = String, Header, description = "`13`"),
    ),
    responses(
        (status = 101, description = "Switching Protocols: the connection now speaks the Hehe frames of PROTOCOL.md"),
        (status = 400, description = "Not a WebSocket upgrade request (plain text)", body = String, content_type = "text/plain"),
        (status = 403, description = "forbidden: a browser page whose Origin is neither this server's nor one the server lists", body = hehe_protocol::http::ApiError),
        (status = 426, description = "The connection cannot be upgraded (plain text)", body = String, content_type = "text/plain"),
        (status = 503, description = "The server is shutting down: reconnect, possibly to another node (plain text)", body = String, content_type = "text/plain"),
    )
)]
// Documents the upgrade served by `crate::ws`, whose handler lives outside the HTTP layer.
#[allow(dead_code)]
fn websocket() {}
