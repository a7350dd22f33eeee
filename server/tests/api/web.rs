//! The web client at `/` and its modules at `/web/…`, the JavaScript SDK at `/sdk/…`: the page
//! comes with its content security policy, files with their content types, `no-cache` and an
//! `ETag` that revalidates, and names that are no file of ours are refused.

use crate::helpers::*;

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    reqwest::get(format!("http://{}{path}", app.addr))
        .await
        .expect("the server answers")
}

#[tokio::test]
async fn the_page_is_served_with_its_policy() {
    let app = spawn_app().await;
    let response = get(&app, "/").await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let body = response.text().await.unwrap();
    assert!(body.contains("<html"), "{body}");
    assert!(body.contains("/web/app.js"), "the page loads its module");
    assert!(!body.contains("<script>"), "no inline script");

    // The ETag revalidates.
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let again = reqwest::Client::new()
        .get(format!("http://{}/", app.addr))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
}

#[tokio::test]
async fn assets_have_their_content_types() {
    let app = spawn_app().await;
    let js = get(&app, "/web/app.js").await;
    assert_eq!(js.status(), 200);
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(js.headers().contains_key("etag"));
    let css = get(&app, "/web/app.css").await;
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
}

#[tokio::test]
async fn the_service_worker_is_served_at_the_root() {
    let app = spawn_app().await;
    let sw = get(&app, "/sw.js").await;
    assert_eq!(sw.status(), 200);
    assert_eq!(
        sw.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    // The page may register it: workers fall back to `script-src 'self'` (no `worker-src`
    // narrower than it, no `default-src` alone).
    let csp = sw.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("worker-src"), "{csp}");
    let body = sw.text().await.unwrap();
    assert!(body.contains("showNotification") && body.contains("notificationclick"));
}

#[tokio::test]
async fn unknown_and_bad_paths_are_refused() {
    let app = spawn_app().await;
    assert_eq!(get(&app, "/web/nothing-here.js").await.status(), 404);
    assert_eq!(get(&app, "/sdk/nothing-here.js").await.status(), 404);
    assert_eq!(get(&app, "/web/a%5C..%5Cb.js").await.status(), 400);
    assert_eq!(get(&app, "/sdk/a%20b.js").await.status(), 400);
}

#[tokio::test]
async fn the_sdk_module_is_served() {
    let app = spawn_app().await;
    let sdk = get(&app, "/sdk/hehe.js").await;
    assert_eq!(sdk.status(), 200);
    assert_eq!(
        sdk.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let body = sdk.text().await.unwrap();
    assert!(body.contains("export { HeheClient"), "{body}");
    let client = get(&app, "/sdk/client.js").await;
    assert_eq!(client.status(), 200);
}
