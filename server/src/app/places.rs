//! Places by id: a place's names with what lies above and under it, so clients can name the
//! places that grants and statistics mention and let a resident pick a building.

use crate::app::channels::Identity;
use crate::app::state::AppState;
use crate::domain::{access, places};
use crate::error::{AppError, AppResult};
use hehe_protocol::http::{PlaceDetail, PlaceInfo};
use hehe_protocol::{ErrorCode, PlaceId};

/// The place `id`, the places above it and those directly under it that the caller may see
/// (archived ones only when asked); a place the caller may not look up is `not_found`, as if
/// it did not exist.
pub async fn detail(
    state: &AppState,
    who: &Identity,
    id: PlaceId,
    archived: bool,
) -> AppResult<PlaceDetail> {
    let not_found = || AppError::not_found("place");
    let path = state.store.place_path(id).await?.ok_or_else(not_found)?;
    if !access::can_see_place(&who.actor, &path) {
        return Err(not_found());
    }
    let place = state.store.place(id).await?.ok_or_else(not_found)?;
    let mut ancestors = Vec::new();
    for above in [Some(path.street), path.community, path.compound, path.grid] {
        if let Some(above) = above.filter(|a| *a != id)
            && let Some(info) = state.store.place(above).await?
        {
            ancestors.push(info);
        }
    }
    // Under a place one may see lie places one may not (a building lead's grid holds other
    // buildings): only those on one of the caller's lines are named.
    let mut children = Vec::new();
    for child in state.store.places_under(Some(id), archived).await? {
        if let Some(path) = state.store.place_path(child.id).await?
            && access::can_see_place(&who.actor, &path)
        {
            children.push(child);
        }
    }
    Ok(PlaceDetail {
        place,
        ancestors,
        children,
    })
}

/// `GET /api/signup/places`: the streets (no `parent`), or the places directly under `parent`,
/// for someone signing up to walk down to their building before having an account. Archived
/// places are left out, and an archived parent is `not_found` like a missing one (a place is
/// archived only once everything under it is, so nothing live lies below an archived one).
///
/// This is read by anyone, without a token, on purpose: place names are addresses (a street
/// office, a community, a grid's number, a building's number), which are posted at the gate of
/// every building; no person, role, count or figure of a place is shown, only its names, kind,
/// id and parent. Ordered by the Chinese name, as the places appear on the ground.
pub async fn for_signup(state: &AppState, parent: Option<PlaceId>) -> AppResult<Vec<PlaceInfo>> {
    if let Some(parent) = parent {
        let live = state.store.place(parent).await?.filter(|p| !p.archived);
        if live.is_none() {
            return Err(AppError::new(
                ErrorCode::NotFound,
                "没有这个地方，请从街道开始重新选择。There is no such place: choose again from the street.",
            ));
        }
    }
    let mut places = state.store.places_under(parent, false).await?;
    places.sort_by(|a, b| places::by_name(&a.name_zh, &b.name_zh).then(a.id.cmp(&b.id)));
    Ok(places
        .into_iter()
        .map(|p| PlaceInfo {
            id: p.id,
            kind: p.kind,
            name: p.name,
            name_zh: p.name_zh,
            parent_id: p.parent_id,
            archived: false,
            units: None,
            floors: None,
        })
        .collect())
}
