//! Enrolment over HTTP, through `crate::app::invites` and `crate::app::people`: staff invites
//! and accepting them, the people import, the staff directory of a place and the people search.

use super::accounts::request_id;
use super::extract::{AppPath, AppQuery, page_size};
use super::openapi::docs;
use super::{AppJson, Authenticated};
use crate::app::people::Search;
use crate::app::state::AppState;
use crate::app::{invites, people};
use crate::domain::people::import::MAX_BYTES;
use crate::error::{AppError, AppResult};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use hehe_protocol::http::{ApiError, TokenResponse};
use hehe_protocol::people::{
    AcceptInvite, InviteCreated, InviteInfo, InviteState, NewInvite, PeopleImportReport,
    PersonInfo, StaffMember,
};
use hehe_protocol::{ErrorCode, PlaceId, Role};
use serde::Deserialize;
use utoipa::IntoParams;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/api/invites", get(list_invites).post(create_invite))
        .route("/api/invites/{id}/revoke", post(revoke_invite))
        .route(
            "/api/invites/accept",
            // A code is a password for a moment: guesses are limited per address like logins.
            post(accept_invite).route_layer(axum::middleware::from_fn_with_state(
                state,
                super::limit::logins_per_addr,
            )),
        )
        .route(
            "/api/people/import",
            post(import).layer(DefaultBodyLimit::max(MAX_BYTES)),
        )
        .route("/api/people", get(search))
        .route("/api/places/{id}/staff", get(staff))
}

/// Invite a person to a role at a place.
///
/// Admins invite anyone anywhere (ops and admin without a place); a street chief invites
/// community officials, grid workers, building leads and residents within his street; a
/// community official grid workers, building leads and residents within his community. The
/// answer holds the invite's code and link, shown here once: hand them over, or (with a phone
/// number, once an SMS sender is configured) they are sent by SMS. Refusals are audited.
#[utoipa::path(
    post,
    path = "/api/invites",
    tag = "people",
    operation_id = "create_invite",
    security(("bearer" = [])),
    request_body = NewInvite,
    responses(
        (status = 201, description = "Invited; the code is shown only here", body = InviteCreated),
        (status = 400, description = "invalid_request: the body is not an invite, the place does not exist or does not go with the role, or a name, number or address is not valid", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the caller may not invite that role there, or is disabled", body = ApiError),
        (status = 409, description = "conflict: the phone number belongs to an account or a pending invite already", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn create_invite(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    headers: HeaderMap,
    AppJson(new): AppJson<NewInvite>,
) -> AppResult<(StatusCode, Json<InviteCreated>)> {
    let rid = request_id(&headers);
    let created = invites::create(&state, &who, new, rid.as_ref()).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct InvitesQuery {
    /// Only invites at this place or under it.
    place: Option<i64>,
    /// Only invites in this state.
    state: Option<InviteState>,
}

/// Invites the caller may manage, newest first.
///
/// Those the caller could have made: all for admins, his street's for a street chief, his
/// community's for a community official; at most 500. Codes are never listed.
#[utoipa::path(
    get,
    path = "/api/invites",
    tag = "people",
    operation_id = "invites",
    security(("bearer" = [])),
    params(InvitesQuery),
    responses(
        (status = 200, description = "The invites", body = [InviteInfo]),
        (status = 400, description = "invalid_request: a query value is not valid", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the caller invites nobody (only admins, street chiefs and community officials do), or is disabled", body = ApiError),
        (status = 404, description = "not_found: no such place, or not one the caller may look up", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn list_invites(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppQuery(q): AppQuery<InvitesQuery>,
) -> AppResult<Json<Vec<InviteInfo>>> {
    let place = q.place.map(PlaceId);
    Ok(Json(invites::list(&state, &who, place, q.state).await?))
}

/// Revoke a pending invite: its code stops working.
///
/// For those who may make such an invite. Audited.
#[utoipa::path(
    post,
    path = "/api/invites/{id}/revoke",
    tag = "people",
    operation_id = "revoke_invite",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The invite's id")),
    responses(
        (status = 200, description = "The invite, revoked", body = InviteInfo),
        (status = 400, description = docs::BAD_PATH, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = docs::DISABLED, body = ApiError),
        (status = 404, description = "not_found: no such invite, or not one the caller may manage", body = ApiError),
        (status = 409, description = "conflict: the invite is accepted, revoked or expired already", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn revoke_invite(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
    headers: HeaderMap,
) -> AppResult<Json<InviteInfo>> {
    let rid = request_id(&headers);
    Ok(Json(invites::revoke(&state, &who, id, rid.as_ref()).await?))
}

/// Accept an invite: create the account and sign in.
///
/// No bearer token: the code is the credential. Creates the account with the username and
/// password given (the rules of usernames and passwords apply), the invite's role at its place,
/// its phone number and email, and answers tokens as a login does. A code works once; guesses
/// are limited per client address like logins.
#[utoipa::path(
    post,
    path = "/api/invites/accept",
    tag = "people",
    operation_id = "accept_invite",
    request_body = AcceptInvite,
    responses(
        (status = 200, description = "The account is made and signed in", body = TokenResponse),
        (status = 400, description = "invalid_request: the body is not an acceptance, or the username, password or name breaks its rule", body = ApiError),
        (status = 404, description = "not_found: no invite has this code", body = ApiError),
        (status = 409, description = "conflict: the username (or the invite's phone number) is taken", body = ApiError),
        (status = 410, description = "invite_expired, invite_used or invite_revoked: the code no longer works", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 429, description = "rate_limited: too many requests from this address", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn accept_invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    AppJson(req): AppJson<AcceptInvite>,
) -> AppResult<Json<TokenResponse>> {
    let rid = request_id(&headers);
    Ok(Json(invites::accept(&state, req, rid.as_ref()).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ImportQuery {
    /// `true` (the default): check the file and report, writing nothing; `false`: write it,
    /// unless a line is refused.
    dry_run: Option<bool>,
}

/// Import residents and staff from a CSV file.
///
/// Body: `text/csv`, header `name,phone,place,role` (any order; optional `romanised_name`,
/// `email`), at most 5000 lines and 1 MiB. `place` is the Chinese names from the street down
/// joined by `/`, or `#<id>`; a role is held at the place of its kind at or above the one
/// named (a resident's community above his building). Residents get an account with no usable
/// password (they set one by SMS reset) and sign in with their number; staff get an invite
/// (sent by SMS; its code is never in the report). Lines already true are `unchanged`, so
/// running a file twice changes nothing. With a refused line nothing is written (and, unless
/// it was a dry run, the answer is 422 with the report). For those who invite, within what
/// they may invite.
#[utoipa::path(
    post,
    path = "/api/people/import",
    tag = "people",
    operation_id = "import_people",
    security(("bearer" = [])),
    params(ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "The people file"),
    responses(
        (status = 200, description = "Checked (and, without dry run, written)", body = PeopleImportReport),
        (status = 400, description = "invalid_request: the file is not UTF-8 CSV, its header is wrong, or it has too many lines", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the caller invites nobody, or is disabled", body = ApiError),
        (status = 409, description = "conflict: a number was enrolled while the file was read; nothing was written", body = ApiError),
        (status = 413, description = "payload_too_large: the file is larger than 1 MiB", body = ApiError),
        (status = 422, description = "Lines were refused, so nothing was written: the report says which and why", body = PeopleImportReport),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn import(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppQuery(q): AppQuery<ImportQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<(StatusCode, Json<PeopleImportReport>)> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::new(
                ErrorCode::PayloadTooLarge,
                "文件超过 1 MiB：请分成几个文件导入。The file is larger than 1 MiB: import it in parts.",
            )
        } else {
            AppError::invalid(rejection.body_text())
        }
    })?;
    let text = std::str::from_utf8(&body).map_err(|_| {
        AppError::invalid(
            "文件须为 UTF-8 编码的 CSV（在表格软件中另存为“CSV UTF-8”）。\
             The file must be CSV in UTF-8 (save it as “CSV UTF-8” in a spreadsheet).",
        )
    })?;
    let rid = request_id(&headers);
    let dry_run = q.dry_run.unwrap_or(true);
    let report = people::import(&state, &who, text, dry_run, rid.as_ref()).await?;
    let status = if !dry_run && !report.refused.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Json(report)))
}

/// The staff who may take an issue at a place, with their load.
///
/// Grid workers of the place's community, its officials and its street's chief (for a street:
/// all of the street's), one row a person, fewest open issues first, then by name: the dispatch
/// picker. For admins and for staff on one line with the place.
#[utoipa::path(
    get,
    path = "/api/places/{id}/staff",
    tag = "people",
    operation_id = "place_staff",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The place's id")),
    responses(
        (status = 200, description = "The staff", body = [StaffMember]),
        (status = 400, description = docs::BAD_PATH, body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the caller is not staff of that place, or is disabled", body = ApiError),
        (status = 404, description = "not_found: no such place, or not one the caller may look up", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn staff(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppPath(id): AppPath<i64>,
) -> AppResult<Json<Vec<StaffMember>>> {
    Ok(Json(people::staff(&state, &who, PlaceId(id)).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PeopleQuery {
    /// Only people holding a role at this place or under it.
    place: Option<i64>,
    /// Part of a name or username, or a phone number in any spelling.
    q: Option<String>,
    /// Only people holding this role.
    role: Option<Role>,
    /// 1 to 200; 50 when absent.
    limit: Option<u32>,
    /// Only accounts with ids below this one: the last id of the previous page.
    before: Option<i64>,
}

/// Search people.
///
/// For admins (everyone) and staff (the people placed on one line with their own place),
/// newest first. Phone numbers are shown in full to the person, admins and staff over one of
/// the person's places, masked (`+86138****5678`) to other staff.
#[utoipa::path(
    get,
    path = "/api/people",
    tag = "people",
    operation_id = "people",
    security(("bearer" = [])),
    params(PeopleQuery),
    responses(
        (status = 200, description = "The people found", body = [PersonInfo]),
        (status = 400, description = "invalid_request: a query value is not valid, or limit is not 1 to 200", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: only staff and admins search people, or the caller is disabled", body = ApiError),
        (status = 404, description = "not_found: no such place, or not one the caller may look up", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn search(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    AppQuery(q): AppQuery<PeopleQuery>,
) -> AppResult<Json<Vec<PersonInfo>>> {
    let search = Search {
        place: q.place.map(PlaceId),
        q: q.q,
        role: q.role,
        limit: page_size(q.limit)?,
        before: q.before,
    };
    Ok(Json(people::search(&state, &who, search).await?))
}
