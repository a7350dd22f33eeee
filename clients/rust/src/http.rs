//! The HTTP half of the client: login, token refresh, account, stored messages, health pages.

use crate::error::{ClientError, Result};
use hehe_protocol::credentials::{
    CodePurpose, CodeRequest, CodeSent, MoveResidency, PasswordChange, ProfileChange,
    RefuseResidency, ResetCode, ResetRequest, ResidencyRequest, ResidencyState, SignupRequest,
};
use hehe_protocol::http::{
    AccountInfo, ApiError, LoginRequest, MessagePage, PlaceDetail, PlaceInfo, RefreshRequest,
    TokenResponse,
};
use hehe_protocol::issue::{
    CategoryInfo, IssueAction, IssueDetail, IssueSummary, NewIssue, PhotoInfo,
};
use hehe_protocol::meeting::{MeetingDetail, MeetingInfo};
use hehe_protocol::notify::{PushSubscriptionIn, PushUnsubscribe};
use hehe_protocol::ops::LoadtestProgress;
use hehe_protocol::places::{ImportReport, MovePlace, NewPlace, PlacePatch};
use hehe_protocol::{
    AccountId, Channel, IssueId, MeetingId, PlaceId, Position, RequestId, WS_PATH,
};
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

    /// `GET /api/places`: the streets the caller may see; archived ones too when asked.
    pub async fn streets(&self, access_token: &str, archived: bool) -> Result<Vec<PlaceInfo>> {
        let request = self
            .http
            .get(self.url("/api/places"))
            .bearer_auth(access_token)
            .query(&[("archived", archived)]);
        decode(request.send().await).await
    }

    /// `POST /api/places`.
    pub async fn create_place(&self, access_token: &str, place: &NewPlace) -> Result<PlaceInfo> {
        let request = self
            .http
            .post(self.url("/api/places"))
            .bearer_auth(access_token)
            .json(place);
        decode(request.send().await).await
    }

    /// `PATCH /api/places/{id}`.
    pub async fn edit_place(
        &self,
        access_token: &str,
        place: PlaceId,
        patch: &PlacePatch,
    ) -> Result<PlaceInfo> {
        let request = self
            .http
            .patch(self.url(&format!("/api/places/{place}")))
            .bearer_auth(access_token)
            .json(patch);
        decode(request.send().await).await
    }

    /// `POST /api/places/{id}/move`.
    pub async fn move_place(
        &self,
        access_token: &str,
        place: PlaceId,
        parent: PlaceId,
    ) -> Result<PlaceInfo> {
        let request = self
            .http
            .post(self.url(&format!("/api/places/{place}/move")))
            .bearer_auth(access_token)
            .json(&MovePlace { parent });
        decode(request.send().await).await
    }

    /// `POST /api/places/{id}/archive` (`archived`) or `/restore`.
    pub async fn archive_place(
        &self,
        access_token: &str,
        place: PlaceId,
        archived: bool,
    ) -> Result<PlaceInfo> {
        let what = if archived { "archive" } else { "restore" };
        let request = self
            .http
            .post(self.url(&format!("/api/places/{place}/{what}")))
            .bearer_auth(access_token);
        decode(request.send().await).await
    }

    /// `POST /api/places/import`: a CSV file. Answers the report whether or not lines were
    /// refused (the server says 422 when they were and it was not a dry run).
    pub async fn import_places(
        &self,
        access_token: &str,
        csv: Vec<u8>,
        dry_run: bool,
    ) -> Result<ImportReport> {
        let request = self
            .http
            .post(self.url("/api/places/import"))
            .bearer_auth(access_token)
            .query(&[("dry_run", dry_run)])
            .header(reqwest::header::CONTENT_TYPE, "text/csv")
            .body(csv);
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let body = response.bytes().await.map_err(transport)?;
        if (status.is_success() || status.as_u16() == 422)
            && let Ok(report) = serde_json::from_slice::<ImportReport>(&body)
        {
            return Ok(report);
        }
        if status.is_success() {
            return Err(ClientError::Decode(format!(
                "HTTP {} body is not an import report",
                status.as_u16()
            )));
        }
        Err(refusal(status, &body))
    }

    // ---- residents and credentials (PROTOCOL.md, "Residents and credentials") ----

    /// `POST /api/sms/codes`: a verification code by SMS for signing up or resetting.
    pub async fn request_code(&self, phone: &str, purpose: CodePurpose) -> Result<CodeSent> {
        let body = CodeRequest {
            phone: phone.into(),
            purpose,
        };
        let request = self.http.post(self.url("/api/sms/codes")).json(&body);
        decode(request.send().await).await
    }

    /// `GET /api/signup/places`: no token; the streets (`parent` `None`), or the places directly
    /// under `parent`, by Chinese name, for walking down to a building before signing up.
    pub async fn signup_places(&self, parent: Option<PlaceId>) -> Result<Vec<PlaceInfo>> {
        let mut request = self.http.get(self.url("/api/signup/places"));
        if let Some(parent) = parent {
            request = request.query(&[("parent", parent.0)]);
        }
        decode(request.send().await).await
    }

    /// `POST /api/signup`: a resident's account with a pending residency request, signed in.
    pub async fn sign_up(&self, req: &SignupRequest) -> Result<TokenResponse> {
        let request = self.http.post(self.url("/api/signup")).json(req);
        decode(request.send().await).await
    }

    /// `POST /api/auth/reset`: a new password with a code; every session ends.
    pub async fn reset_password(&self, req: &ResetRequest) -> Result<()> {
        let request = self.http.post(self.url("/api/auth/reset")).json(req);
        no_content(request.send().await).await
    }

    /// `POST /api/me/password`: every other session of the account ends.
    pub async fn change_password(
        &self,
        access_token: &str,
        current_password: &str,
        new_password: &str,
    ) -> Result<()> {
        let body = PasswordChange {
            current_password: current_password.into(),
            new_password: new_password.into(),
        };
        let request = self
            .http
            .post(self.url("/api/me/password"))
            .bearer_auth(access_token)
            .json(&body);
        no_content(request.send().await).await
    }

    /// `PATCH /api/me`: one's display name or romanised name.
    pub async fn update_me(
        &self,
        access_token: &str,
        change: &ProfileChange,
    ) -> Result<AccountInfo> {
        let request = self
            .http
            .patch(self.url("/api/me"))
            .bearer_auth(access_token)
            .json(change);
        decode(request.send().await).await
    }

    /// `POST /api/accounts/{id}/reset-code`: a one-time reset code, shown once.
    pub async fn make_reset_code(
        &self,
        access_token: &str,
        account: AccountId,
    ) -> Result<ResetCode> {
        let request = self
            .http
            .post(self.url(&format!("/api/accounts/{account}/reset-code")))
            .bearer_auth(access_token);
        decode(request.send().await).await
    }

    /// `GET /api/residency-requests`: those the caller decides, at or under `place`, in `state`.
    pub async fn residency_requests(
        &self,
        access_token: &str,
        place: Option<PlaceId>,
        state: Option<ResidencyState>,
    ) -> Result<Vec<ResidencyRequest>> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(p) = place {
            query.push(("place", p.to_string()));
        }
        if let Some(s) = state {
            query.push(("state", s.as_str().to_owned()));
        }
        let request = self
            .http
            .get(self.url("/api/residency-requests"))
            .query(&query)
            .bearer_auth(access_token);
        decode(request.send().await).await
    }

    /// `POST /api/residency-requests/{id}/approve`.
    pub async fn approve_residency(&self, access_token: &str, id: i64) -> Result<ResidencyRequest> {
        let request = self
            .http
            .post(self.url(&format!("/api/residency-requests/{id}/approve")))
            .bearer_auth(access_token);
        decode(request.send().await).await
    }

    /// `POST /api/residency-requests/{id}/refuse`, with the reason the applicant is shown.
    pub async fn refuse_residency(
        &self,
        access_token: &str,
        id: i64,
        reason: &str,
    ) -> Result<ResidencyRequest> {
        let request = self
            .http
            .post(self.url(&format!("/api/residency-requests/{id}/refuse")))
            .bearer_auth(access_token)
            .json(&RefuseResidency {
                reason: reason.into(),
            });
        decode(request.send().await).await
    }

    /// `POST /api/me/residency`: a request to live in another building.
    pub async fn request_move(
        &self,
        access_token: &str,
        building: PlaceId,
    ) -> Result<ResidencyRequest> {
        let request = self
            .http
            .post(self.url("/api/me/residency"))
            .bearer_auth(access_token)
            .json(&MoveResidency { building });
        decode(request.send().await).await
    }

    /// `GET /api/me/residency`: one's latest request.
    pub async fn my_residency(&self, access_token: &str) -> Result<ResidencyRequest> {
        let request = self
            .http
            .get(self.url("/api/me/residency"))
            .bearer_auth(access_token);
        decode(request.send().await).await
    }

    /// `POST /api/me/push-subscriptions`: a browser's push subscription; the stored id.
    pub async fn push_subscribe(
        &self,
        access_token: &str,
        subscription: &PushSubscriptionIn,
    ) -> Result<i64> {
        #[derive(serde::Deserialize)]
        struct Stored {
            id: i64,
        }
        let request = self
            .http
            .post(self.url("/api/me/push-subscriptions"))
            .bearer_auth(access_token)
            .json(subscription);
        let stored: Stored = decode(request.send().await).await?;
        Ok(stored.id)
    }

    /// `DELETE /api/me/push-subscriptions`: forget the caller's subscription of `endpoint`.
    pub async fn push_unsubscribe(&self, access_token: &str, endpoint: &str) -> Result<()> {
        let body = PushUnsubscribe {
            endpoint: endpoint.into(),
        };
        let request = self
            .http
            .delete(self.url("/api/me/push-subscriptions"))
            .bearer_auth(access_token)
            .json(&body);
        no_content(request.send().await).await
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

/// A success without a body (204), or the refusal.
async fn no_content(
    response: std::result::Result<reqwest::Response, reqwest::Error>,
) -> Result<()> {
    let response = response.map_err(transport)?;
    let status = response.status();
    let body = response.bytes().await.map_err(transport)?;
    if status.is_success() {
        return Ok(());
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
