//! Statistics of issues per grid, community and street, over HTTP and as live counters.

use crate::app::channels::Identity;
use crate::app::state::AppState;
use crate::domain::stats::{StatRow, compute, may_see};
use crate::error::{AppError, AppResult};
use crate::live::bus::Audience;
use hehe_protocol::EventKind;
use hehe_protocol::stats::{CommunityCounters, Counters, StatsReport};
use hehe_protocol::{Channel, PlaceId};
use std::collections::BTreeMap;

/// Figures for a place (street, community or grid) over issues created since `since`, with one
/// entry per place directly under it. Readers of the place's channels and ops may see them:
/// they are aggregates, without anyone's name.
pub async fn report(
    state: &AppState,
    who: &Identity,
    place: PlaceId,
    since: i64,
) -> AppResult<StatsReport> {
    let path = crate::app::place(state, place).await?;
    // Issues are filed by grid, community and street; a compound's are its grids'.
    if path.building.is_some() || path.kind() == hehe_protocol::http::PlaceKind::Compound {
        return Err(AppError::invalid(
            "statistics are kept per grid, community or street",
        ));
    }
    if !may_see(&who.actor, &path) {
        return Err(AppError::forbidden());
    }
    let rows = state.store.stat_rows(path, since).await?;
    let all: Vec<StatRow> = rows.iter().map(|(_, _, r)| r.clone()).collect();
    let mut parts: BTreeMap<PlaceId, Vec<StatRow>> = BTreeMap::new();
    for (grid, community, row) in rows {
        let part = match (path.grid, path.community) {
            (Some(_), _) => continue,
            (None, Some(_)) => grid,
            (None, None) => community,
        };
        parts.entry(part).or_default().push(row);
    }
    Ok(StatsReport {
        overall: compute(place, &all),
        parts: parts.iter().map(|(id, rows)| compute(*id, rows)).collect(),
        computed_at: state.now(),
    })
}

/// Publishes the street's open and overdue counts on its channel: the live board.
pub async fn publish_counters(state: &AppState, street: PlaceId, key: String) -> AppResult<()> {
    let counts = state.store.open_counts(street).await?;
    let counters = Counters {
        street_id: street,
        open: counts.iter().map(|c| c.1).sum(),
        overdue: counts.iter().map(|c| c.2).sum(),
        communities: counts
            .into_iter()
            .map(|(community_id, open, overdue)| CommunityCounters {
                community_id,
                open,
                overdue,
            })
            .collect(),
    };
    let channel = Channel::Street(street);
    crate::app::publish(
        state,
        channel,
        Audience::All,
        EventKind::StatsCounters,
        &counters,
        key,
    )
    .await
}
