//! JSON bodies of the HTTP API.

use crate::Channel;
use crate::codes::ErrorCode;
use crate::ids::{AccountId, PlaceId};
use crate::role::Role;
use crate::server_msg::Member;
use serde::{Deserialize, Serialize};

/// Body of every HTTP error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Answer to login and refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    /// Short-lived token for the WebSocket `auth` frame and the `Authorization: Bearer` header.
    pub access_token: String,
    /// Unix ms.
    pub access_expires_at: i64,
    /// Long-lived token for `POST /api/auth/refresh` only.
    pub refresh_token: String,
    pub refresh_expires_at: i64,
    pub account: AccountInfo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountInfo {
    pub id: AccountId,
    pub username: String,
    pub display_name: String,
    /// The name in Latin letters, for those who do not read Chinese; absent when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub romanised_name: Option<String>,
    pub grants: Vec<GrantInfo>,
}

/// A role held for a scope. `place` is absent for ops and admin, who have no scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantInfo {
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<PlaceInfo>,
    /// Channels this grant lets the account read, e.g. its home and street channel.
    pub channels: Vec<Channel>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    Street,
    Community,
    /// A residential compound (小区) between a community and its grids, where owners'
    /// committees and property management sit; optional in the tree.
    Compound,
    Grid,
    Building,
}

impl PlaceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PlaceKind::Street => "street",
            PlaceKind::Community => "community",
            PlaceKind::Compound => "compound",
            PlaceKind::Grid => "grid",
            PlaceKind::Building => "building",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlaceInfo {
    pub id: PlaceId,
    pub kind: PlaceKind,
    pub name: String,
    /// The Chinese name, for zh-CN clients.
    pub name_zh: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<PlaceId>,
    /// Archived places stay (issues and meetings point at them) but are hidden from listings
    /// unless asked for, and nothing new is put under them.
    #[serde(default)]
    pub archived: bool,
    /// A building's number of units (单元), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<u32>,
    /// A building's number of floors, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floors: Option<u32>,
}

impl PlaceKind {
    pub const ALL: [PlaceKind; 5] = [
        PlaceKind::Street,
        PlaceKind::Community,
        PlaceKind::Compound,
        PlaceKind::Grid,
        PlaceKind::Building,
    ];

    /// The kind named `s` as it is written on the wire.
    pub fn parse(s: &str) -> Option<PlaceKind> {
        PlaceKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A place with the places above and directly under it: `GET /api/places/{id}`, for naming
/// places and picking a building.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlaceDetail {
    pub place: PlaceInfo,
    /// From the street down to the place's parent; empty for a street.
    pub ancestors: Vec<PlaceInfo>,
    /// The places directly under it, by id; empty for a building.
    pub children: Vec<PlaceInfo>,
}

/// A stored channel message, as listed by `GET /api/channels/{channel}/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageInfo {
    pub id: i64,
    pub channel: Channel,
    pub author: Member,
    pub text: String,
    /// Unix ms.
    pub time: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessagePage {
    /// Newest first.
    pub messages: Vec<MessageInfo>,
    /// Pass as `before` to get the next older page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

/// `data` of an event of kind `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageData {
    pub id: i64,
    pub author: Member,
    pub text: String,
}
