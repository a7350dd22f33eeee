//! Reading the audit log, through `crate::app::audit`: admins all of it, street chiefs what
//! happened in their streets.

use super::Authenticated;
use super::extract::{AppQuery, page_size};
use super::openapi::docs;
use crate::app::audit::{self, AuditRow};
use crate::app::state::AppState;
use crate::error::AppResult;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use hehe_protocol::http::ApiError;
use hehe_protocol::{AccountId, PlaceId};
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/audit", get(audit))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries with ids below this one (the previous page's `next_before`).
    pub before: Option<i64>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u32>,
    /// Only this street's entries. A street chief of several streets names one; a chief of one
    /// gets his own without it.
    pub street: Option<i64>,
}

/// One privileged action.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    /// Unix ms.
    pub at: i64,
    pub actor: AccountId,
    /// e.g. `grant.add`, `account.disable`, `issue.dispatch`, `room.mute`, `appraisal.open`.
    pub action: String,
    /// What was acted on: `account:5`, `issue:12`, `meeting:3`, `loadtest:<run>`.
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<PlaceId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<PlaceId>,
    /// A qualifier such as the role granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// `ok`, or `denied` when the actor was refused.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A page of the audit log, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

fn entry(row: AuditRow) -> AuditEntry {
    let e = row.entry;
    AuditEntry {
        id: row.id,
        at: e.at,
        actor: e.actor,
        action: e.action,
        target: e.target,
        place: e.place,
        street: e.street,
        detail: e.detail,
        outcome: e.outcome.as_str().to_owned(),
        request_id: e.request_id,
    }
}

/// The audit log of privileged actions, newest first.
///
/// Role changes, disabling, logging out everywhere, staff actions on issues, chair actions in
/// meetings, appraisal steps and load-test reports: who, what, on what, where, when, and
/// whether it was refused. Admins read all of it; a street chief reads his street's.
#[utoipa::path(
    get,
    path = "/api/audit",
    tag = "accounts",
    operation_id = "audit",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of entries", body = AuditPage),
        (status = 400, description = "invalid_request: a query value is invalid, or a chief of several streets named none", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: neither admin nor street chief (of that street), or disabled", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn audit(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppQuery(q): AppQuery<AuditQuery>,
) -> AppResult<Json<AuditPage>> {
    let limit = page_size(q.limit)?;
    let page = audit::page(&state, &who, q.street.map(PlaceId), q.before, limit).await?;
    Ok(Json(AuditPage {
        entries: page.entries.into_iter().map(entry).collect(),
        next_before: page.next_before,
    }))
}
