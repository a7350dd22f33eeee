//! Residency requests: where a resident says they live, and the community's officials, its
//! street chief or an admin approve (the resident role for the building's community, in place
//! of the one of a community moved away from) or refuse (with a reason). Each step is told
//! live: a new request to the community's deciders on its home channel, a decision to the
//! applicant's inbox and to the deciders.

use crate::app::channels::Identity;
use crate::app::sessions::announce;
use crate::app::state::AppState;
use crate::domain::phone::Phone;
use crate::domain::places::PlacePath;
use crate::domain::residency as rules;
use crate::error::{AppError, AppResult};
use crate::identity::revocation::Notice;
use crate::live::bus::Audience;
use crate::store::StoreError;
use crate::store::credentials::{Decision, ResidencyRow};
use hehe_protocol::credentials::{ResidencyRequest, ResidencyState};
use hehe_protocol::{AccountId, Channel, ErrorCode, EventKind, PlaceId, RequestId, Role};

/// Requests read for one listing: the pending ones are few, the decided ones are read back
/// this far.
const LISTED: u32 = 500;

async fn info(state: &AppState, row: ResidencyRow) -> AppResult<ResidencyRequest> {
    let building = state
        .store
        .place(row.building)
        .await?
        .ok_or_else(|| AppError::not_found("building"))?;
    Ok(ResidencyRequest {
        id: row.id,
        account: row.account,
        display_name: row.display_name,
        phone_masked: row.phone.map(|p| Phone::from_stored(p).masked()),
        building,
        state: row.state,
        reason: row.reason,
        created_at: row.created_at,
        decided_at: row.decided_at,
        decided_by: row.decided_by,
    })
}

/// The request and where its building sits, or `not_found`.
async fn load(state: &AppState, id: i64) -> AppResult<(ResidencyRow, PlacePath)> {
    let not_found = || AppError::not_found("residency request");
    let row = state
        .store
        .residency_request(id)
        .await?
        .ok_or_else(not_found)?;
    let path = state
        .store
        .place_path(row.building)
        .await?
        .ok_or_else(not_found)?;
    Ok((row, path))
}

/// Publishes a request on its community's home channel, to the deciders only. A failure to
/// publish is logged: the request is stored and listed all the same.
async fn tell_deciders(
    state: &AppState,
    kind: EventKind,
    request: &ResidencyRequest,
    path: &PlacePath,
) {
    let Some(community) = path.community else {
        return;
    };
    let key = format!("residency:{}:{}", request.id, request.state.as_str());
    if let Err(e) = crate::app::publish(
        state,
        Channel::Home(community),
        Audience::Staff,
        kind,
        request,
        key,
    )
    .await
    {
        tracing::warn!(error = %e.message, "residency event not published");
    }
}

/// Tells the community's deciders of a new request (after a sign-up or a move).
pub(crate) async fn announce_request(state: &AppState, id: i64) {
    match load(state, id).await {
        Ok((row, path)) => match info(state, row).await {
            Ok(request) => {
                tell_deciders(state, EventKind::ResidencyRequested, &request, &path).await
            }
            Err(e) => tracing::warn!(error = %e.message, "residency request not announced"),
        },
        Err(e) => tracing::warn!(error = %e.message, "residency request not announced"),
    }
}

/// `GET /api/residency-requests`: the requests the caller decides, at or under `place` when
/// given, in `filter` state when given, newest first.
pub async fn list(
    state: &AppState,
    who: &Identity,
    place: Option<PlaceId>,
    filter: Option<ResidencyState>,
) -> AppResult<Vec<ResidencyRequest>> {
    let within = match place {
        Some(id) => {
            let path = crate::app::place(state, id).await?;
            if !rules::sees_requests(&who.actor, &path) {
                return Err(AppError::forbidden());
            }
            Some(path)
        }
        None if rules::decides_somewhere(&who.actor) => None,
        None => return Err(AppError::forbidden()),
    };
    let mut out = Vec::new();
    for row in state.store.residency_requests(filter, None, LISTED).await? {
        let Some(path) = state.store.place_path(row.building).await? else {
            continue;
        };
        if rules::sees_requests(&who.actor, &path) && within.is_none_or(|w| w.contains(&path)) {
            out.push(info(state, row).await?);
        }
    }
    Ok(out)
}

/// `POST /api/residency-requests/{id}/approve` and `…/refuse`: decided once, by those who
/// decide for the building (others find no such request), with the audit entry and the grant
/// change in one transaction; then the applicant's connections reconnect with the new role.
pub async fn decide(
    state: &AppState,
    who: &Identity,
    id: i64,
    approve: bool,
    reason: Option<&str>,
    request_id: Option<&RequestId>,
) -> AppResult<ResidencyRequest> {
    let (row, path) = load(state, id).await?;
    if !rules::may_decide(&who.actor, &path) {
        return Err(AppError::not_found("residency request"));
    }
    let reason = if approve {
        None
    } else {
        Some(rules::reason(reason.unwrap_or_default())?)
    };
    rules::check_pending(row.state)?;
    let community = path
        .community
        .ok_or_else(|| AppError::new(ErrorCode::Internal, "internal error"))?;
    let applicant = row.account;
    // A move replaces the resident role of the community left behind; other roles stay.
    let ungrant = if approve {
        state
            .store
            .grants(applicant)
            .await?
            .into_iter()
            .filter(|g| g.role == Role::Resident)
            .filter_map(|g| g.place)
            .filter(|p| *p != community)
            .collect()
    } else {
        Vec::new()
    };
    let action = if approve {
        "residency.approve"
    } else {
        "residency.refuse"
    };
    let mut audit = crate::app::audit::entry(
        state,
        who,
        action,
        format!("account:{}", applicant.0),
        Some(row.building),
        request_id,
    )
    .await;
    audit.detail = Some(format!("request:{id}"));
    let decision = Decision {
        request: id,
        approve,
        reason: reason.map(|r| r.as_str().to_owned()),
        by: who.actor.id,
        at: state.now(),
        grant: approve.then_some((applicant, community)),
        ungrant,
    };
    if !state.store.decide_residency(&decision, &audit).await? {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "该申请刚刚已被处理。This request was decided a moment ago.",
        ));
    }
    tracing::info!(
        actor = who.actor.id.0,
        request = id,
        action,
        "residency decided"
    );
    let (row, path) = load(state, id).await?;
    let decided = info(state, row).await?;
    let kind = if approve {
        EventKind::ResidencyApproved
    } else {
        EventKind::ResidencyRefused
    };
    // The applicant's inbox first, then the close that makes its connections reconnect with
    // the new role, so the event is not lost with the connection.
    let key = format!("residency:{id}:{}", decided.state.as_str());
    if let Err(e) = crate::app::publish(
        state,
        Channel::User(applicant),
        Audience::All,
        kind,
        &decided,
        key,
    )
    .await
    {
        tracing::warn!(error = %e.message, "residency decision not published");
    }
    tell_deciders(state, kind, &decided, &path).await;
    if approve {
        announce(state, Notice::IdentityChanged { account: applicant }).await;
    }
    Ok(decided)
}

/// `POST /api/me/residency`: a request to live in another building (a move), decided like a
/// sign-up's; the role held now stays until it is approved.
pub async fn request_move(
    state: &AppState,
    who: &Identity,
    building: PlaceId,
) -> AppResult<ResidencyRequest> {
    let path = state.store.place_path(building).await?.ok_or_else(|| {
        AppError::invalid("没有这栋楼，请重新选择。There is no such building: choose again.")
    })?;
    rules::check_building(&path)?;
    let id = match state
        .store
        .insert_residency_request(who.actor.id, building, state.now())
        .await
    {
        Ok(id) => id,
        Err(StoreError::Conflict(_)) => return Err(rules::ResidencyRefusal::Pending.into()),
        Err(e) => return Err(e.into()),
    };
    tracing::info!(
        account = who.actor.id.0,
        request = id,
        "residency requested"
    );
    announce_request(state, id).await;
    let (row, _) = load(state, id).await?;
    info(state, row).await
}

/// `GET /api/me/residency`: the caller's latest request, or `not_found` when there is none.
pub async fn mine(state: &AppState, me: AccountId) -> AppResult<ResidencyRequest> {
    let row = state
        .store
        .residency_requests(None, Some(me), 1)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found("residency request"))?;
    info(state, row).await
}
