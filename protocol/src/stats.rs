//! Issue statistics for a grid, a community or a street.

use crate::ids::PlaceId;
use serde::{Deserialize, Serialize};

/// A duration distribution, in milliseconds. Absent values mean no issue got that far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Durations {
    /// How many issues the figures are over.
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SatisfactionCounts))]
pub struct Satisfaction {
    /// Closed issues whose reporter rated them.
    pub rated: u32,
    pub satisfied: u32,
    pub basic: u32,
    pub unsatisfied: u32,
    /// Closed issues nobody rated: never counted as satisfied.
    pub not_rated: u32,
}

/// Figures over the issues of one place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssueStats {
    pub place_id: PlaceId,
    /// All issues raised there (within the period asked for).
    pub total: u32,
    /// Not closed, rejected or merged.
    pub open: u32,
    /// Open issues that missed a deadline.
    pub overdue: u32,
    /// Closed as fixed (confirmed by the rating or by its absence).
    pub fixed: u32,
    pub time_to_accept: Durations,
    pub time_to_resolve: Durations,
    /// Share of resolved issues resolved within their deadline, 0 to 1; absent with none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_time_rate: Option<f64>,
    pub satisfaction: Satisfaction,
    /// Share of issues that reached a rating and were reopened at least once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopen_rate: Option<f64>,
}

/// A place's figures and those of each place directly under it (a street's communities, a
/// community's grids).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatsReport {
    pub overall: IssueStats,
    pub parts: Vec<IssueStats>,
    /// Unix ms of the computation.
    pub computed_at: i64,
}

/// `data` of the `stats.counters` event on a street channel, sent whenever an issue of the
/// street changes: the live board's open and overdue counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub street_id: PlaceId,
    pub open: u32,
    pub overdue: u32,
    pub communities: Vec<CommunityCounters>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommunityCounters {
    pub community_id: PlaceId,
    pub open: u32,
    pub overdue: u32,
}
