//! Managing the place tree: create, rename, move, archive and restore a place, and import a tree
//! from CSV. Each change is checked by `domain::place_admin`, written with its audit entry in
//! one transaction (`store::places`), and published on the `street:` and `home:` channels it
//! concerns. A move also makes every node forget its cached place paths, and the accounts with
//! grants under the moved place reconnect, so what their connections may read is worked out
//! again (`Notice::PlacesMoved`).

use crate::app::channels::Identity;
use crate::app::sessions::announce;
use crate::app::state::AppState;
use crate::domain::access;
use crate::domain::place_admin::{self, PlaceRefusal};
use crate::domain::place_import::{self, Known};
use crate::domain::places::PlacePath;
use crate::domain::text::Text;
use crate::error::{AppError, AppResult};
use crate::identity::revocation::Notice;
use crate::live::bus::Audience;
use crate::store::identity::{NewAudit, Outcome};
use crate::store::places::{NewPlaceRow, PlaceEdit, PlaceWrite};
use hehe_protocol::http::PlaceInfo;
use hehe_protocol::places::{ImportReport, MovePlace, NewPlace, PlacePatch};
use hehe_protocol::{Channel, ErrorCode, EventKind, PlaceId, RequestId, Role};

/// The streets the caller may see (all of them for an admin): the roots of the tree.
pub async fn roots(state: &AppState, who: &Identity, archived: bool) -> AppResult<Vec<PlaceInfo>> {
    let streets = state.store.places_under(None, archived).await?;
    Ok(streets
        .into_iter()
        .filter(|s| access::can_see_place(&who.actor, &PlacePath::street(s.id)))
        .collect())
}

/// A place the caller may see, or `not_found` as if it did not exist.
async fn visible(state: &AppState, who: &Identity, id: PlaceId) -> AppResult<PlacePath> {
    let path = state.store.place_path(id).await?;
    path.filter(|p| access::can_see_place(&who.actor, p))
        .ok_or_else(|| AppError::not_found("place"))
}

/// Writes the refusal to the audit log and answers `forbidden`.
async fn denied(state: &AppState, mut audit: NewAudit) -> AppError {
    audit.outcome = Outcome::Denied;
    crate::app::audit::record(state, audit).await;
    AppError::new(ErrorCode::Forbidden, PlaceRefusal::NotAllowed.to_string())
}

async fn audit(
    state: &AppState,
    who: &Identity,
    action: &str,
    place: Option<PlaceId>,
    request_id: Option<&RequestId>,
) -> NewAudit {
    let target = place.map_or_else(|| "place:new".to_owned(), |p| format!("place:{}", p.0));
    crate::app::audit::entry(state, who, action, target, place, request_id).await
}

/// What a write that did not happen means to the caller.
fn refused(write: PlaceWrite) -> AppError {
    match write {
        PlaceWrite::Missing => AppError::not_found("place"),
        PlaceWrite::ArchivedParent => PlaceRefusal::ArchivedParent.into(),
        PlaceWrite::LiveChildren => PlaceRefusal::LiveChildren.into(),
        PlaceWrite::NameTaken => PlaceRefusal::NameTaken.into(),
        PlaceWrite::Done(_) | PlaceWrite::Unchanged(_) => {
            AppError::new(ErrorCode::Internal, "internal error")
        }
    }
}

/// Creates a place under `new.parent` (a street at the root).
pub async fn create(
    state: &AppState,
    who: &Identity,
    new: NewPlace,
    request_id: Option<&RequestId>,
) -> AppResult<PlaceInfo> {
    let (name, name_zh) = place_admin::names(&new.name, &new.name_zh)?;
    place_admin::figures(new.kind, new.units, new.floors)?;
    let parent = match new.parent {
        Some(p) => Some(visible(state, who, p).await?),
        None => None,
    };
    place_admin::fits_under(new.kind, parent.map(|p| p.kind()))?;
    let audit = audit(state, who, "place.create", new.parent, request_id).await;
    if !place_admin::may_manage(&who.actor, new.kind, parent.as_ref()) {
        return Err(denied(state, audit).await);
    }
    let row = NewPlaceRow {
        kind: new.kind,
        parent: new.parent,
        name: name.as_str(),
        name_zh: name_zh.as_str(),
        units: new.units,
        floors: new.floors,
        at: state.now(),
    };
    match state.store.create_place(&row, &audit).await? {
        PlaceWrite::Done(info) => {
            tracing::info!(actor = who.actor.id.0, place = info.id.0, "place created");
            publish(state, EventKind::PlaceCreated, &info, &[]).await;
            Ok(info)
        }
        other => Err(refused(other)),
    }
}

/// Renames a place or changes a building's figures.
pub async fn edit(
    state: &AppState,
    who: &Identity,
    id: PlaceId,
    patch: PlacePatch,
    request_id: Option<&RequestId>,
) -> AppResult<PlaceInfo> {
    let path = visible(state, who, id).await?;
    let kind = path.kind();
    // A name given must pass the rule (a blank one is refused, not taken as absent).
    let line = |raw: &Option<String>, field| -> Result<Option<Text>, PlaceRefusal> {
        Ok(raw.as_deref().map(|r| Text::parse(r, field)).transpose()?)
    };
    let name = line(&patch.name, &place_admin::NAME)?;
    let name_zh = line(&patch.name_zh, &place_admin::NAME_ZH)?;
    place_admin::figures(kind, patch.units.flatten(), patch.floors.flatten())?;
    let audit = audit(state, who, "place.update", Some(id), request_id).await;
    if !place_admin::may_manage(&who.actor, kind, Some(&path)) {
        return Err(denied(state, audit).await);
    }
    let change = PlaceEdit {
        name: name.as_ref().map(|t| t.as_str()),
        name_zh: name_zh.as_ref().map(|t| t.as_str()),
        units: patch.units,
        floors: patch.floors,
        at: state.now(),
    };
    match state.store.edit_place(id, &change, &audit).await? {
        PlaceWrite::Done(info) => {
            tracing::info!(actor = who.actor.id.0, place = id.0, "place changed");
            publish(state, EventKind::PlaceUpdated, &info, &[]).await;
            Ok(info)
        }
        PlaceWrite::Unchanged(info) => Ok(info),
        other => Err(refused(other)),
    }
}

/// Moves a place under another parent. Every node forgets its cached paths, and whoever holds
/// a grant under the place reconnects to read what the new place lets them.
pub async fn move_to(
    state: &AppState,
    who: &Identity,
    id: PlaceId,
    to: MovePlace,
    request_id: Option<&RequestId>,
) -> AppResult<PlaceInfo> {
    let path = visible(state, who, id).await?;
    let parent = visible(state, who, to.parent).await?;
    let audit = audit(state, who, "place.move", Some(id), request_id).await;
    match place_admin::may_move(&who.actor, &path, &parent) {
        Ok(()) => {}
        Err(PlaceRefusal::NotAllowed) => return Err(denied(state, audit).await),
        Err(other) => return Err(other.into()),
    }
    let mut audit = audit;
    let from = state.store.place(id).await?.and_then(|p| p.parent_id);
    audit.detail = from.map(|p| format!("from:{}", p.0));
    match state
        .store
        .move_place(id, to.parent, state.now(), &audit)
        .await?
    {
        PlaceWrite::Done(info) => {
            tracing::info!(actor = who.actor.id.0, place = id.0, "place moved");
            let accounts = state.store.accounts_granted_under(id).await?;
            announce(state, Notice::PlacesMoved { accounts }).await;
            // Those who watched the old street and community learn it left.
            publish(state, EventKind::PlaceMoved, &info, &channels(&path)).await;
            Ok(info)
        }
        PlaceWrite::Unchanged(info) => Ok(info),
        other => Err(refused(other)),
    }
}

/// Archives (`true`) or restores a place. Nothing is deleted: issues and meetings keep
/// pointing at it.
pub async fn set_archived(
    state: &AppState,
    who: &Identity,
    id: PlaceId,
    archived: bool,
    request_id: Option<&RequestId>,
) -> AppResult<PlaceInfo> {
    let path = visible(state, who, id).await?;
    let action = if archived {
        "place.archive"
    } else {
        "place.restore"
    };
    let audit = audit(state, who, action, Some(id), request_id).await;
    if !place_admin::may_manage(&who.actor, path.kind(), Some(&path)) {
        return Err(denied(state, audit).await);
    }
    match state
        .store
        .set_place_archived(id, archived, state.now(), &audit)
        .await?
    {
        PlaceWrite::Done(info) => {
            tracing::info!(
                actor = who.actor.id.0,
                place = id.0,
                action,
                "place archived"
            );
            let kind = if archived {
                EventKind::PlaceArchived
            } else {
                EventKind::PlaceRestored
            };
            publish(state, kind, &info, &[]).await;
            Ok(info)
        }
        PlaceWrite::Unchanged(info) => Ok(info),
        other => Err(refused(other)),
    }
}

/// Reads a CSV file and creates what it names that does not exist yet, all in one transaction,
/// or (`dry_run`, or any line refused) nothing. Whether the import was applied is in the report.
pub async fn import(
    state: &AppState,
    who: &Identity,
    file: &[u8],
    dry_run: bool,
    request_id: Option<&RequestId>,
) -> AppResult<ImportReport> {
    // Who manages places somewhere; each line is then checked against where.
    let may_import = [Role::Admin, Role::StreetChief, Role::CommunityOfficial]
        .iter()
        .any(|r| who.actor.has_role(*r));
    if !may_import {
        let audit = audit(state, who, "place.import", None, request_id).await;
        return Err(denied(state, audit).await);
    }
    let parsed = place_import::parse(file)?;
    let mut known = Vec::new();
    let streets = state.store.places_under(None, true).await?;
    let named: std::collections::BTreeSet<&str> = parsed
        .lines
        .iter()
        .filter_map(|l| l.names[0].as_ref().map(|(zh, _)| zh.as_str()))
        .collect();
    for street in streets
        .iter()
        .filter(|s| named.contains(s.name_zh.as_str()))
    {
        known.extend(
            state
                .store
                .subtree(street.id)
                .await?
                .into_iter()
                .map(known_of),
        );
    }
    // Streets not named in the file still take part: a new street's name must not clash.
    known.extend(
        streets
            .iter()
            .filter(|s| !named.contains(s.name_zh.as_str()))
            .cloned()
            .map(known_of),
    );
    let plan = place_import::plan(&who.actor, &parsed.lines, &known);
    let mut refused = parsed.refused;
    refused.extend(plan.refused.iter().cloned());
    refused.sort_by_key(|r| r.line);
    let mut report = ImportReport {
        dry_run,
        applied: false,
        lines: parsed.count,
        created: plan.created(),
        unchanged: plan.unchanged,
        refused,
    };
    if dry_run || !report.refused.is_empty() || plan.create.is_empty() {
        return Ok(report);
    }
    let audit = audit(state, who, "place.create", None, request_id).await;
    let ids = match state
        .store
        .import_places(&plan.create, state.now(), &audit)
        .await
    {
        Ok(ids) => ids,
        Err(crate::store::StoreError::Stale | crate::store::StoreError::Conflict(_)) => {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "导入期间地点树有变动，未导入任何内容：请重试。\
                 The place tree changed during the import and nothing was imported: try again.",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    report.applied = true;
    for (created, id) in report.created.iter_mut().zip(&ids) {
        created.id = Some(*id);
    }
    tracing::info!(
        actor = who.actor.id.0,
        created = ids.len(),
        "places imported"
    );
    for id in ids {
        // Read back: the plan knew new parents by stand-ins only.
        match state.store.place(id).await {
            Ok(Some(info)) => publish(state, EventKind::PlaceCreated, &info, &[]).await,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "imported place not read back for its event"),
        }
    }
    Ok(report)
}

fn known_of(p: PlaceInfo) -> Known {
    Known {
        id: p.id,
        kind: p.kind,
        parent: p.parent_id,
        name_zh: p.name_zh,
        archived: p.archived,
        units: p.units,
        floors: p.floors,
    }
}

/// The channels news of a place goes to: its street's, and its community's home when it lies
/// in one.
fn channels(path: &PlacePath) -> Vec<Channel> {
    let mut out = vec![Channel::Street(path.street)];
    out.extend(path.community.map(Channel::Home));
    out
}

/// Publishes news of a place on its channels (where it is now, and `also`). The change is
/// committed already: a bus that is down loses the event, not the change.
async fn publish(state: &AppState, kind: EventKind, info: &PlaceInfo, also: &[Channel]) {
    let mut targets = also.to_vec();
    match state.store.place_path(info.id).await {
        Ok(Some(path)) => targets.extend(channels(&path)),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "place path not read for its event"),
    }
    targets.sort_by_key(|c| c.to_string());
    targets.dedup();
    let nonce: u64 = rand::random();
    for channel in targets {
        let key = format!("{kind}:{}:{channel}:{nonce:x}", info.id.0);
        if let Err(e) = crate::app::publish(state, channel, Audience::All, kind, info, key).await {
            tracing::warn!(error = %e, %kind, "place event not published");
        }
    }
}
