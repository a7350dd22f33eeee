//! Issue statistics as a pure function of issue rows, so the figures a street chief sees are
//! tested without a database.

use super::access::{Actor, ChannelTarget, can_read};
use super::places::PlacePath;
use super::sla::clock_bit;
use hehe_protocol::issue::{Clock, ClosureReason, IssueState, Satisfaction};
use hehe_protocol::stats::{Durations, IssueStats, Satisfaction as SatisfactionCounts};
use hehe_protocol::{PlaceId, Role};

/// What statistics need of one issue.
#[derive(Debug, Clone, PartialEq)]
pub struct StatRow {
    pub state: IssueState,
    pub created_at: i64,
    pub accepted_at: Option<i64>,
    pub resolved_at: Option<i64>,
    /// Bits of missed clocks (see `sla::clock_bit`).
    pub overdue: i64,
    pub reopen_count: u32,
    pub closure: Option<ClosureReason>,
    pub rated: Option<bool>,
    pub satisfaction: Option<Satisfaction>,
}

/// Who may see a place's figures: whoever reads its channels (its community's home, or for a
/// street the street's), and ops, as figures are aggregates without anyone's name.
pub fn may_see(actor: &Actor, place: &PlacePath) -> bool {
    let target = match place.community_path() {
        Some(home) => ChannelTarget::Home(home),
        None => ChannelTarget::Street(*place),
    };
    actor.has_role(Role::Ops) || can_read(actor, &target)
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

fn durations(mut values: Vec<i64>) -> Durations {
    values.sort_unstable();
    Durations {
        count: values.len() as u32,
        median_ms: percentile(&values, 50),
        p90_ms: percentile(&values, 90),
    }
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

pub fn compute(place_id: PlaceId, rows: &[StatRow]) -> IssueStats {
    let open: Vec<&StatRow> = rows.iter().filter(|r| !r.state.is_terminal()).collect();
    let resolved: Vec<&StatRow> = rows.iter().filter(|r| r.resolved_at.is_some()).collect();
    let rated: Vec<&StatRow> = rows.iter().filter(|r| r.rated == Some(true)).collect();
    let count = |s: Satisfaction| rated.iter().filter(|r| r.satisfaction == Some(s)).count() as u32;
    IssueStats {
        place_id,
        total: rows.len() as u32,
        open: open.len() as u32,
        overdue: open.iter().filter(|r| r.overdue != 0).count() as u32,
        fixed: rows
            .iter()
            .filter(|r| r.state == IssueState::Closed && r.closure == Some(ClosureReason::Fixed))
            .count() as u32,
        time_to_accept: durations(
            rows.iter()
                .filter_map(|r| Some(r.accepted_at? - r.created_at))
                .collect(),
        ),
        time_to_resolve: durations(
            resolved
                .iter()
                .filter_map(|r| Some(r.resolved_at? - r.created_at))
                .collect(),
        ),
        on_time_rate: ratio(
            resolved
                .iter()
                .filter(|r| r.overdue & clock_bit(Clock::Resolve) == 0)
                .count(),
            resolved.len(),
        ),
        satisfaction: SatisfactionCounts {
            rated: rated.len() as u32,
            satisfied: count(Satisfaction::Satisfied),
            basic: count(Satisfaction::Basic),
            unsatisfied: count(Satisfaction::Unsatisfied),
            not_rated: rows.iter().filter(|r| r.rated == Some(false)).count() as u32,
        },
        reopen_rate: ratio(
            resolved.iter().filter(|r| r.reopen_count > 0).count(),
            resolved.len(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: IssueState) -> StatRow {
        StatRow {
            state,
            created_at: 0,
            accepted_at: None,
            resolved_at: None,
            overdue: 0,
            reopen_count: 0,
            closure: None,
            rated: None,
            satisfaction: None,
        }
    }

    #[test]
    fn who_sees_the_figures_of_a_place() {
        use crate::domain::access::Grant;
        let (s, c, g) = (PlaceId(1), PlaceId(10), PlaceId(100));
        let street = PlacePath::street(s);
        let community = PlacePath::community(s, c);
        let grid = PlacePath::grid(s, c, g);
        let other_community = PlacePath::community(s, PlaceId(11));
        let other_street = PlacePath::street(PlaceId(2));
        let actor = |role: Role| {
            let scope = match role {
                Role::Resident | Role::CommunityOfficial => Some(community),
                Role::BuildingLead => Some(PlacePath::building(s, c, g, PlaceId(1000))),
                Role::GridWorker => Some(grid),
                Role::StreetChief => Some(street),
                Role::Ops | Role::Admin => None,
            };
            Actor {
                id: hehe_protocol::AccountId(7),
                grants: vec![Grant { role, scope }],
            }
        };
        // Columns: resident, building lead, grid worker, community official, street chief, ops,
        // admin.
        let table = [
            ("own street", street, [1, 1, 1, 1, 1, 1, 1]),
            ("own community", community, [1, 1, 1, 1, 1, 1, 1]),
            ("own grid", grid, [1, 1, 1, 1, 1, 1, 1]),
            ("other community", other_community, [0, 0, 0, 0, 1, 1, 1]),
            ("other street", other_street, [0, 0, 0, 0, 0, 1, 1]),
        ];
        for (name, place, row) in table {
            for (role, want) in Role::ALL.into_iter().zip(row) {
                assert_eq!(may_see(&actor(role), &place), want == 1, "{role} on {name}");
            }
        }
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&values, 50), Some(5));
        assert_eq!(percentile(&values, 90), Some(9));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[], 50), None);
        let d = durations(vec![30, 10, 20]);
        assert_eq!((d.count, d.median_ms, d.p90_ms), (3, Some(20), Some(30)));
    }

    #[test]
    fn empty_places_have_no_rates() {
        let s = compute(PlaceId(1), &[]);
        assert_eq!(s.total, 0);
        assert_eq!(s.on_time_rate, None);
        assert_eq!(s.reopen_rate, None);
        assert_eq!(s.time_to_accept.median_ms, None);
    }

    #[test]
    fn figures_follow_the_rows() {
        let mut rows = vec![row(IssueState::Submitted), row(IssueState::Dispatched)];
        rows[1].overdue = 1;
        rows[1].accepted_at = Some(100);
        // Fixed and rated, on time.
        let mut fixed = row(IssueState::Closed);
        fixed.accepted_at = Some(50);
        fixed.resolved_at = Some(1_000);
        fixed.closure = Some(ClosureReason::Fixed);
        fixed.rated = Some(true);
        fixed.satisfaction = Some(Satisfaction::Satisfied);
        // Resolved late, reopened once, closed without a rating.
        let mut late = row(IssueState::Closed);
        late.accepted_at = Some(150);
        late.resolved_at = Some(3_000);
        late.overdue = 4;
        late.reopen_count = 1;
        late.closure = Some(ClosureReason::Fixed);
        late.rated = Some(false);
        // Withdrawn: closed, but not fixed.
        let mut withdrawn = row(IssueState::Closed);
        withdrawn.closure = Some(ClosureReason::Withdrawn);
        rows.extend([fixed, late, withdrawn]);

        let s = compute(PlaceId(9), &rows);
        assert_eq!(s.place_id, PlaceId(9));
        assert_eq!((s.total, s.open, s.overdue, s.fixed), (5, 2, 1, 2));
        assert_eq!(s.time_to_accept.count, 3);
        assert_eq!(s.time_to_accept.median_ms, Some(100));
        assert_eq!(s.time_to_resolve.count, 2);
        assert_eq!(s.time_to_resolve.median_ms, Some(1_000));
        assert_eq!(s.time_to_resolve.p90_ms, Some(3_000));
        assert_eq!(s.on_time_rate, Some(0.5));
        assert_eq!(s.reopen_rate, Some(0.5));
        assert_eq!(
            s.satisfaction.rated, 1,
            "an unrated closure is not a rating"
        );
        assert_eq!(s.satisfaction.satisfied, 1);
        assert_eq!(s.satisfaction.not_rated, 1);
    }
}
