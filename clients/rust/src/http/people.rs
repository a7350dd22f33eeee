//! Enrolment calls of [`HttpClient`]: staff invites, the people import, the staff directory and
//! the people search.

use super::{HttpClient, decode, refusal, transport};
use crate::error::{ClientError, Result};
use hehe_protocol::http::TokenResponse;
use hehe_protocol::people::{
    AcceptInvite, InviteCreated, InviteInfo, InviteState, NewInvite, PeopleImportReport,
    PersonInfo, StaffMember,
};
use hehe_protocol::{PlaceId, Role};

/// What `GET /api/people` is asked; every field optional.
#[derive(Debug, Clone, Default)]
pub struct PeopleFilter {
    pub place: Option<PlaceId>,
    pub q: Option<String>,
    pub role: Option<Role>,
    pub limit: Option<u32>,
    pub before: Option<i64>,
}

impl HttpClient {
    /// `POST /api/invites`: the invite with its code, shown only in this answer.
    pub async fn create_invite(
        &self,
        access_token: &str,
        invite: &NewInvite,
    ) -> Result<InviteCreated> {
        let request = self
            .http
            .post(self.url("/api/invites"))
            .bearer_auth(access_token)
            .json(invite);
        decode(request.send().await).await
    }

    /// `GET /api/invites`, at a place and under it, in a state, when given.
    pub async fn invites(
        &self,
        access_token: &str,
        place: Option<PlaceId>,
        state: Option<InviteState>,
    ) -> Result<Vec<InviteInfo>> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(place) = place {
            query.push(("place", place.to_string()));
        }
        if let Some(state) = state {
            query.push(("state", state.as_str().to_owned()));
        }
        let request = self
            .http
            .get(self.url("/api/invites"))
            .bearer_auth(access_token)
            .query(&query);
        decode(request.send().await).await
    }

    /// `POST /api/invites/{id}/revoke`.
    pub async fn revoke_invite(&self, access_token: &str, invite: i64) -> Result<InviteInfo> {
        let request = self
            .http
            .post(self.url(&format!("/api/invites/{invite}/revoke")))
            .bearer_auth(access_token);
        decode(request.send().await).await
    }

    /// `POST /api/invites/accept`: creates the account and signs it in.
    pub async fn accept_invite(&self, accept: &AcceptInvite) -> Result<TokenResponse> {
        let request = self.http.post(self.url("/api/invites/accept")).json(accept);
        decode(request.send().await).await
    }

    /// `POST /api/people/import`: the report, also when lines were refused (HTTP 422, nothing
    /// written: `applied` is false).
    pub async fn import_people(
        &self,
        access_token: &str,
        csv: String,
        dry_run: bool,
    ) -> Result<PeopleImportReport> {
        let response = self
            .http
            .post(self.url("/api/people/import"))
            .bearer_auth(access_token)
            .query(&[("dry_run", dry_run.to_string())])
            .header(reqwest::header::CONTENT_TYPE, "text/csv; charset=utf-8")
            .body(csv)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let body = response.bytes().await.map_err(transport)?;
        if status.is_success() || status.as_u16() == 422 {
            return serde_json::from_slice(&body)
                .map_err(|e| ClientError::Decode(format!("HTTP {} body: {e}", status.as_u16())));
        }
        Err(refusal(status, &body))
    }

    /// `GET /api/places/{id}/staff`: who may take an issue there, fewest open issues first.
    pub async fn staff(&self, access_token: &str, place: PlaceId) -> Result<Vec<StaffMember>> {
        let request = self
            .http
            .get(self.url(&format!("/api/places/{place}/staff")))
            .bearer_auth(access_token);
        decode(request.send().await).await
    }

    /// `GET /api/people`.
    pub async fn people(
        &self,
        access_token: &str,
        filter: &PeopleFilter,
    ) -> Result<Vec<PersonInfo>> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(place) = filter.place {
            query.push(("place", place.to_string()));
        }
        if let Some(q) = &filter.q {
            query.push(("q", q.clone()));
        }
        if let Some(role) = filter.role {
            query.push(("role", role.as_str().to_owned()));
        }
        if let Some(limit) = filter.limit {
            query.push(("limit", limit.to_string()));
        }
        if let Some(before) = filter.before {
            query.push(("before", before.to_string()));
        }
        let request = self
            .http
            .get(self.url("/api/people"))
            .bearer_auth(access_token)
            .query(&query);
        decode(request.send().await).await
    }
}
