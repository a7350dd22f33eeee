//! The HTTP half of the client: login, token refresh, account, stored messages, health pages.

use crate::error::{ClientError, Result};
use hehe_protocol::http::{
    AccountInfo, ApiError, LoginRequest, MessagePage, PlaceDetail, RefreshRequest, TokenResponse,
};
use hehe_protocol::issue::{
    CategoryInfo, IssueAction, IssueDetail, IssueSummary, NewIssue, PhotoInfo,
};
use hehe_protocol::meeting::{MeetingDetail, MeetingInfo};
use hehe_protocol::ops::LoadtestProgress;
use hehe_protocol::{Channel, IssueId, MeetingId, PlaceId, Position, RequestId, WS_PATH};
use serde::de::DeserializeOwned;
use std::time::Duration;

mod people;
pub use people::PeopleFilter;

/// Bounds every HTTP call, so a hung server fails a test instead of stalling it.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// A client of the HTTP API of one server. Cheap to clone; clones share a connection pool.
#[derive(Debug, Clone)]
pub struct HttpClient {
    base_url: String,
    http: reqwest::Client,
}

impl HttpClient {
    /// `base_url` is the server's origin, e.g. `http://127.0.0.1:8080`; a trailing `/` is ignored.
    pub fn new(base_url: impl Into<String>) -> Self {
        let base_url = base_url.into().trim_end_matches('/').to_string();
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .build()
            // Building only fails when the TLS or resolver backend cannot start; the default
            // client then fails each request with a clear error instead of panicking here.
            .unwrap_or_default();
        Self { base_url, http }
    }

    /// The origin this client talks to, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The WebSocket endpoint of the same server: `http` becomes `ws`, `https` becomes `wss`.
    pub fn ws_url(&self) -> String {
        let base = &self.base_url;
        let origin = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            base.clone()
        };
        format!("{origin}{WS_PATH}")
    }

    /// `POST /api/auth/login`.
    pub async fn login(&self, username: &str, password: &str) -> Result<TokenResponse> {
        let body = LoginRequest {
            username: username.into(),
            password: password.into(),
        };
        let request = self.http.post(self.url("/api/auth/login")).json(&body);
        decode(request.send().await).await
    }

    /// `POST /api/auth/refresh`: a new access token (and refresh token) for a refresh token.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenResponse> {
        let body = RefreshRequest {
            refresh_token: refresh_token.into(),
        };
        let request = self.http.post(self.url("/api/auth/refresh")).json(&body);
        decode(request.send().await).await
    }

    /// `POST /api/auth/logout`: signs out the token's session, or with `everywhere` every
    /// session of the account; their tokens stop working on every node.
    pub async fn logout(&self, access_token: &str, everywhere: bool) -> Result<()> {
        let request = self
            .http
            .post(self.url("/api/auth/logout"))
            .bearer_auth(access_token)
            .json(&serde_json::json!({ "everywhere": everywhere }));
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let body = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            return Ok(());
        }
        Err(refusal(status, &body))
    }

    /// `GET /api/me`.
    pub async fn me(&self, access_token: &str) -> Result<AccountInfo> {
        let request = self.http.get(self.url("/api/me")).bearer_auth(access_token);
        decode(request.send().await).await
    }

    /// `GET /api/places/{id}`: a place with the places above it and those directly under it.
    pub async fn place(&self, access_token: &str, place: PlaceId) -> Result<PlaceDetail> {
        let request = self
            .http
            .get(self.url(&format!("/api/places/{place}")))
            .bearer_auth(access_token);
        decode(request.send().await).await
    }

    /// `GET /api/channels/{channel}/messages`: stored messages, newest first. This is how a
    /// client reloads a channel after a subscribe reply with `recovered: false`.
    pub async fn messages(
        &self,
        access_token: &str,
        channel: Channel,
        before: Option<i64>,
        limit: Option<u32>,
    ) -> Result<MessagePage> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(before) = before {
            query.push(("before", before.to_string()));
        }
        if let Some(limit) = limit {
            query.push(("limit", limit.to_string()));
        }
        let request = self
            .http
            .get(self.url(&format!("/api/channels/{channel}/messages")))
            .bearer_auth(access_token)
            .query(&query);
        decode(request.send().await).await
    }

    /// `GET /api/categories`.
    pub async fn categories(&self) -> Result<Vec<CategoryInfo>> {
        decode(self.http.get(self.url("/api/categories")).send().await).await
    }

    /// `POST /api/issues`.
    pub async fn submit_issue(
        &self,
        access_token: &str,
        request_id: &RequestId,
        issue: &NewIssue,
    ) -> Result<IssueSummary> {
        let body = serde_json::json!({ "request_id": request_id, "issue": issue });
        let request = self
            .http
            .post(self.url("/api/issues"))
            .bearer_auth(access_token)
            .json(&body);
        decode(request.send().await).await
    }

    /// `POST /api/issues/{id}/actions`.
    pub async fn issue_action(
        &self,
        access_token: &str,
        issue: IssueId,
        request_id: &RequestId,
        action: &IssueAction,
    ) -> Result<IssueSummary> {
        let body = serde_json::json!({ "request_id": request_id, "action": action });
        let request = self
            .http
            .post(self.url(&format!("/api/issues/{issue}/actions")))
            .bearer_auth(access_token)
            .json(&body);
        decode(request.send().await).await
    }

    /// `GET /api/issues/{id}`.
    pub async fn issue(&self, access_token: &str, issue: IssueId) -> Result<IssueDetail> {
        let request = self
            .http
            .get(self.url(&format!("/api/issues/{issue}")))
            .bearer_auth(access_token);
        decode(request.send().await).await
    }

    /// `GET /api/issues` with query parameters such as `("community", "2")`, `("mine", "true")`.
    pub async fn issues(
        &self,
        access_token: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<IssueSummary>> {
        let request = self
            .http
            .get(self.url("/api/issues"))
            .bearer_auth(access_token)
            .query(query);
        decode(request.send().await).await
    }

    /// `POST /api/issues/{id}/photos`: uploads a photo of kind `before`, `after` or `evidence`.
    pub async fn upload_photo(
        &self,
        access_token: &str,
        issue: IssueId,
        kind: &str,
        bytes: Vec<u8>,
        keep_location: bool,
    ) -> Result<PhotoInfo> {
        let form = reqwest::multipart::Form::new()
            .text("kind", kind.to_owned())
            .text("keep_location", keep_location.to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name("photo"),
            );
        let request = self
            .http
            .post(self.url(&format!("/api/issues/{issue}/photos")))
            .bearer_auth(access_token)
            .multipart(form);
        decode(request.send().await).await
    }

    /// `GET /api/meetings`: the meetings of the caller's street and community they may know of.
    pub async fn meetings(&self, access_token: &str) -> Result<Vec<MeetingInfo>> {
        let request = self
            .http
            .get(self.url("/api/meetings"))
            .bearer_auth(access_token);
        decode(request.send().await).await
    }

    /// `GET /api/meetings/{id}`: the meeting, its room now and its whole log.
    pub async fn meeting(&self, access_token: &str, meeting: MeetingId) -> Result<MeetingDetail> {
        let request = self
            .http
            .get(self.url(&format!("/api/meetings/{meeting}")))
            .bearer_auth(access_token);
        decode(request.send().await).await
    }

    /// `POST /api/ops/loadtest`: a load test's figures so far, published on the ops channel
    /// (`ops:1`) for the dashboards. Ops and admin accounts only.
    pub async fn report_loadtest(
        &self,
        access_token: &str,
        progress: &LoadtestProgress,
    ) -> Result<Position> {
        let request = self
            .http
            .post(self.url("/api/ops/loadtest"))
            .bearer_auth(access_token)
            .json(progress);
        decode(request.send().await).await
    }

    /// `GET` a path with a bearer token; the status and raw body, whatever the status (for
    /// photos).
    pub async fn get_bytes(&self, access_token: &str, path: &str) -> Result<(u16, Vec<u8>)> {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(access_token)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(transport)?;
        Ok((status, body.to_vec()))
    }

    /// `GET` any path and return the status and body whatever the status, e.g. for `/healthz`,
    /// `/readyz` and `/metrics`.
    pub async fn get_text(&self, path: &str) -> Result<(u16, String)> {
        let response = self
            .http
            .get(self.url(path))
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(transport)?;
        Ok((status, body))
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with('/') {
            format!("{}{path}", self.base_url)
        } else {
            format!("{}/{path}", self.base_url)
        }
    }
}

fn transport(e: reqwest::Error) -> ClientError {
    if e.is_timeout() {
        ClientError::Timeout
    } else {
        ClientError::Http(e.to_string())
    }
}

/// A success body as `T`; an error status as [`ClientError::Api`] when the body is an
/// [`ApiError`], else as [`ClientError::Http`] naming the status.
async fn decode<T: DeserializeOwned>(
    response: std::result::Result<reqwest::Response, reqwest::Error>,
) -> Result<T> {
    let response = response.map_err(transport)?;
    let status = response.status();
    let body = response.bytes().await.map_err(transport)?;
    if status.is_success() {
        return serde_json::from_slice(&body)
            .map_err(|e| ClientError::Decode(format!("HTTP {} body: {e}", status.as_u16())));
    }
    Err(refusal(status, &body))
}

/// The error of a refused request: its `ApiError`, or the status and the start of the body.
fn refusal(status: reqwest::StatusCode, body: &[u8]) -> ClientError {
    match serde_json::from_slice::<ApiError>(body) {
        Ok(error) => ClientError::Api {
            status: status.as_u16(),
            error,
        },
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let snippet: String = text.chars().take(200).collect();
            ClientError::Http(format!("HTTP {status}: {snippet}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_url_follows_the_scheme() {
        let cases = [
            ("http://127.0.0.1:8080", "ws://127.0.0.1:8080/ws"),
            ("http://127.0.0.1:8080/", "ws://127.0.0.1:8080/ws"),
            ("https://hehe.example", "wss://hehe.example/ws"),
            ("https://hehe.example/", "wss://hehe.example/ws"),
            ("ws://localhost:1", "ws://localhost:1/ws"),
        ];
        for (base, ws) in cases {
            assert_eq!(HttpClient::new(base).ws_url(), ws, "{base}");
        }
    }

    #[test]
    fn paths_join_with_exactly_one_slash() {
        let client = HttpClient::new("http://h:1/");
        assert_eq!(client.base_url(), "http://h:1");
        assert_eq!(client.url("/healthz"), "http://h:1/healthz");
        assert_eq!(client.url("metrics"), "http://h:1/metrics");
    }
}
