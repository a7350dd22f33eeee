//! The web client (`clients/web/public`) at `/` and `/web/…`, and the JavaScript SDK it imports
//! (`clients/js/src`) at `/sdk/…`, one copy of each built into the binary (debug builds read
//! them from the source tree, so a page reload shows an edit). Every answer carries a strict
//! content security policy (this origin only, no inline script or style), `no-cache` and a
//! content-hash `ETag`, so browsers revalidate cheaply and never run a stale module.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::{EmbeddedFile, RustEmbed};

use crate::app::state::AppState;

#[derive(RustEmbed)]
#[folder = "../clients/web/public/"]
struct WebAssets;

#[derive(RustEmbed)]
#[folder = "../clients/js/src/"]
struct SdkAssets;

/// This origin only; pictures may also come from blob URLs (photos are fetched with the
/// bearer token) and data URLs (previews).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' blob: data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/sw.js", get(service_worker))
        .route("/web/{*path}", get(web_asset))
        .route("/sdk/{*path}", get(sdk_asset))
}

/// The web client.
///
/// The WeChat-style client for residents, grid workers, officials and street chiefs: chats,
/// issues, the street chief's board and the living room. Its modules load from `/web/` and
/// `/sdk/`; it talks to this origin only.
#[utoipa::path(
    get,
    path = "/",
    tag = "web",
    operation_id = "web_index",
    responses(
        (status = 200, description = "The client's HTML page, with its content security policy", body = String, content_type = "text/html"),
        (status = 304, description = "Not modified: the `If-None-Match` ETag is current"),
    )
)]
async fn index(headers: HeaderMap) -> Response {
    serve(WebAssets::get("index.html"), "index.html", &headers)
}

/// The web client's service worker.
///
/// At the root, so its scope is the whole client: it shows Web Push notifications and opens
/// what they are about.
#[utoipa::path(
    get,
    path = "/sw.js",
    tag = "web",
    operation_id = "web_service_worker",
    responses(
        (status = 200, description = "The service worker", body = String, content_type = "text/javascript"),
        (status = 304, description = "Not modified: the `If-None-Match` ETag is current"),
    )
)]
async fn service_worker(headers: HeaderMap) -> Response {
    serve(WebAssets::get("sw.js"), "sw.js", &headers)
}

/// A file of the web client.
///
/// Modules, styles and pictures of the web client, with their content type, `no-cache` and an
/// `ETag`.
#[utoipa::path(
    get,
    path = "/web/{path}",
    tag = "web",
    operation_id = "web_asset",
    params(("path" = String, Path, description = "The file, e.g. `app.js`")),
    responses(
        (status = 200, description = "The file", body = String, content_type = "text/javascript"),
        (status = 304, description = "Not modified: the `If-None-Match` ETag is current"),
        (status = 400, description = "Not a file name (letters, digits, `.`, `-`, `_` and `/` only)"),
        (status = 404, description = "No such file"),
    )
)]
async fn web_asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    if let Some(refused) = check_name(&path) {
        return refused;
    }
    serve(WebAssets::get(&path), &path, &headers)
}

/// A module of the JavaScript SDK.
///
/// The SDK (`clients/js/src`) as ES modules, e.g. `/sdk/hehe.js`: the web client imports it,
/// and any page of this origin may.
#[utoipa::path(
    get,
    path = "/sdk/{path}",
    tag = "web",
    operation_id = "web_sdk",
    params(("path" = String, Path, description = "The module, e.g. `hehe.js`")),
    responses(
        (status = 200, description = "The module", body = String, content_type = "text/javascript"),
        (status = 304, description = "Not modified: the `If-None-Match` ETag is current"),
        (status = 400, description = "Not a file name (letters, digits, `.`, `-`, `_` and `/` only)"),
        (status = 404, description = "No such module"),
    )
)]
async fn sdk_asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    if let Some(refused) = check_name(&path) {
        return refused;
    }
    serve(SdkAssets::get(&path), &path, &headers)
}

/// Refuses what cannot be a file of ours: anything but plain name characters, and `..`.
fn check_name(path: &str) -> Option<Response> {
    let plain = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'/'));
    if !plain || path.split('/').any(|part| part.is_empty() || part == "..") {
        return Some((StatusCode::BAD_REQUEST, "not a file name").into_response());
    }
    None
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" | "webmanifest" => "application/json",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

fn serve(file: Option<EmbeddedFile>, path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = file else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let hash = file.metadata.sha256_hash();
    let etag = format!(
        "\"{}\"",
        hash[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let common = [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
    ];
    let etag_value = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\""));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if fresh {
        return (
            StatusCode::NOT_MODIFIED,
            common,
            [(header::ETAG, etag_value)],
        )
            .into_response();
    }
    (
        common,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(path)),
            ),
            (header::ETAG, etag_value),
        ],
        file.data.into_owned(),
    )
        .into_response()
}
