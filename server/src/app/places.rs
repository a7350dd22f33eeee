//! Places by id: a place's names with what lies above and under it, so clients can name the
//! places that grants and statistics mention and let a resident pick a building.

use crate::app::channels::Identity;
use crate::app::state::AppState;
use crate::domain::access;
use crate::error::{AppError, AppResult};
use hehe_protocol::PlaceId;
use hehe_protocol::http::PlaceDetail;

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
