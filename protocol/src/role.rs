//! The roles a person can hold. Each role is granted for a scope (a place), except ops and admin.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 居民: lives in a community.
    Resident,
    /// 楼道长: volunteer for one building.
    BuildingLead,
    /// 网格员: works the issues of a grid.
    GridWorker,
    /// 社区干部: accepts and dispatches issues in a community.
    CommunityOfficial,
    /// 街长: owns a street.
    StreetChief,
    /// 运维: runs the service; sees dashboards, not residents' content.
    Ops,
    /// Platform administrator.
    Admin,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Resident,
        Role::BuildingLead,
        Role::GridWorker,
        Role::CommunityOfficial,
        Role::StreetChief,
        Role::Ops,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::BuildingLead => "building_lead",
            Role::GridWorker => "grid_worker",
            Role::CommunityOfficial => "community_official",
            Role::StreetChief => "street_chief",
            Role::Ops => "ops",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(UnknownRole)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown role")]
pub struct UnknownRole;
