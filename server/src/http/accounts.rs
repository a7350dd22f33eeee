//! Accounts over HTTP, through `crate::app::accounts`: look one up, give and take away roles,
//! disable and enable.

use super::extract::{AppPath, AppQuery};
use super::openapi::docs;
use super::{AppJson, Authenticated};
use crate::app::accounts::{self, Account};
use crate::app::channels::Identity;
use crate::app::state::AppState;
use crate::error::AppResult;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use hehe_protocol::http::ApiError;
use hehe_protocol::{AccountId, PlaceId, Role};
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/accounts", get(lookup))
        .route("/api/accounts/{id}", get(account))
        .route(
            "/api/accounts/{id}/grants",
            post(add_grant).delete(remove_grant),
        )
        .route("/api/accounts/{id}/disable", post(disable))
        .route("/api/accounts/{id}/enable", post(enable))
}

/// An account as those who manage it see it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccountDetail {
    pub id: AccountId,
    pub username: String,
    pub display_name: String,
    pub disabled: bool,
    pub grants: Vec<GrantSpec>,
}

/// A role at a place; no place for ops and admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantSpec {
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<PlaceId>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    /// The exact username.
    pub username: String,
}

/// The optional `X-Request-Id` header, kept with audit entries when it is short and plain.
pub(super) fn request_id(headers: &HeaderMap) -> Option<hehe_protocol::RequestId> {
    let raw = headers.get("x-request-id")?.to_str().ok()?;
    hehe_protocol::RequestId::parse(raw).ok()
}

impl From<Account> for AccountDetail {
    fn from(a: Account) -> Self {
        Self {
            id: a.id,
            username: a.username,
            display_name: a.display_name,
            disabled: a.disabled,
            grants: a
                .grants
                .into_iter()
                .map(|g| GrantSpec {
                    role: g.role,
                    place: g.place,
                })
                .collect(),
        }
    }
}

/// Find an account by its username.
///
/// For admins, and for staff (grid workers, community officials, street chiefs) when the
/// account holds a role at a place within theirs: to find whom to dispatch to or appoint.
#[utoipa::path(
    get,
    path = "/api/accounts",
    tag = "accounts",
    operation_id = "lookup_account",
    security(("bearer" = [])),
    params(LookupQuery),
    responses(
        (status = 200, description = "The account", body = AccountDetail),
        (status = 400, description = "invalid_request: no username", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 404, description = "not_found: no such account, or not one the caller may see", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn lookup(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppQuery(q): AppQuery<LookupQuery>,
) -> AppResult<Json<AccountDetail>> {
    let account = accounts::by_username(&state, &who, &q.username).await?;
    Ok(Json(account.into()))
}

/// An account with its roles and whether it is disabled.
///
/// For the same callers as the lookup by username.
#[utoipa::path(
    get,
    path = "/api/accounts/{id}",
    tag = "accounts",
    operation_id = "account",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "The account", body = AccountDetail),
        (status = 400, description = docs::BAD_PATH, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 404, description = "not_found: no such account, or not one the caller may see", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn account(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
) -> AppResult<Json<AccountDetail>> {
    let account = accounts::by_id(&state, &who, AccountId(id)).await?;
    Ok(Json(account.into()))
}

/// Give an account a role at a place.
///
/// Admins give any role; a street chief gives the roles below his own for places in his
/// street; only admins give ops and admin (which take no place). The account's live
/// connections close with 4007 and reconnect under their new roles. Refusals are audited too.
#[utoipa::path(
    post,
    path = "/api/accounts/{id}/grants",
    tag = "accounts",
    operation_id = "add_grant",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    request_body = GrantSpec,
    responses(
        (status = 200, description = "The account with the role", body = AccountDetail),
        (status = 400, description = "invalid_request: the body is not a grant, the place does not exist, or the role does not go with that kind of place", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the caller may not give that role there, or is disabled", body = ApiError),
        (status = 404, description = "not_found: no such account", body = ApiError),
        (status = 409, description = "conflict: the account holds that role there already", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn add_grant(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
    headers: HeaderMap,
    AppJson(spec): AppJson<GrantSpec>,
) -> AppResult<Json<AccountDetail>> {
    change_grant(&state, &who, id, &headers, spec, true).await
}

/// Gives (`give`) or takes away a grant, as the request asks.
async fn change_grant(
    state: &AppState,
    who: &Identity,
    id: i64,
    headers: &HeaderMap,
    spec: GrantSpec,
    give: bool,
) -> AppResult<Json<AccountDetail>> {
    let rid = request_id(headers);
    let account = accounts::change_grant(
        state,
        who,
        AccountId(id),
        spec.role,
        spec.place,
        give,
        rid.as_ref(),
    )
    .await?;
    Ok(Json(account.into()))
}

/// Take a role at a place away from an account.
///
/// The same callers may as may give it. The account's live connections close with 4007;
/// on reconnecting, channels the role opened are refused.
#[utoipa::path(
    delete,
    path = "/api/accounts/{id}/grants",
    tag = "accounts",
    operation_id = "remove_grant",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    request_body = GrantSpec,
    responses(
        (status = 200, description = "The account without the role", body = AccountDetail),
        (status = 400, description = "invalid_request: the body is not a grant, the place does not exist, or the role does not go with that kind of place", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the caller may not take that role away there, or is disabled", body = ApiError),
        (status = 404, description = "not_found: no such account, or it does not hold that role there", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn remove_grant(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
    headers: HeaderMap,
    AppJson(spec): AppJson<GrantSpec>,
) -> AppResult<Json<AccountDetail>> {
    change_grant(&state, &who, id, &headers, spec, false).await
}

/// Disable an account.
///
/// Admins only. It can no longer sign in or refresh, its requests are refused (403) and its
/// live connections close with 4502 on every node.
#[utoipa::path(
    post,
    path = "/api/accounts/{id}/disable",
    tag = "accounts",
    operation_id = "disable_account",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    responses(
        (status = 204, description = "Disabled (or it was already)"),
        (status = 400, description = docs::BAD_PATH, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: only admins disable accounts, or the caller is disabled", body = ApiError),
        (status = 404, description = "not_found: no such account", body = ApiError),
        (status = 409, description = "conflict: an admin cannot disable their own account", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn disable(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
    headers: HeaderMap,
) -> AppResult<StatusCode> {
    let rid = request_id(&headers);
    accounts::set_disabled(&state, &who, AccountId(id), true, rid.as_ref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Enable a disabled account again.
///
/// Admins only. The sessions it had before it was disabled stay signed out: it signs in anew.
#[utoipa::path(
    post,
    path = "/api/accounts/{id}/enable",
    tag = "accounts",
    operation_id = "enable_account",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The account's id")),
    responses(
        (status = 204, description = "Enabled (or it was already)"),
        (status = 400, description = docs::BAD_PATH, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: only admins enable accounts, or the caller is disabled", body = ApiError),
        (status = 404, description = "not_found: no such account", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn enable(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
    headers: HeaderMap,
) -> AppResult<StatusCode> {
    let rid = request_id(&headers);
    accounts::set_disabled(&state, &who, AccountId(id), false, rid.as_ref()).await?;
    Ok(StatusCode::NO_CONTENT)
}
