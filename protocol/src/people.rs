//! Enrolment of people: staff invites, the bulk import of residents and staff, the staff
//! directory of a place and the people search (PROTOCOL.md, "People").

use crate::http::{GrantInfo, PlaceInfo};
use crate::ids::{AccountId, PlaceId};
use crate::role::Role;
use serde::{Deserialize, Serialize};

/// Where an invite stands. Only a `pending` one can be accepted or revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InviteState {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

impl InviteState {
    pub const ALL: [InviteState; 4] = [
        InviteState::Pending,
        InviteState::Accepted,
        InviteState::Revoked,
        InviteState::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InviteState::Pending => "pending",
            InviteState::Accepted => "accepted",
            InviteState::Revoked => "revoked",
            InviteState::Expired => "expired",
        }
    }
}

/// Body of `POST /api/invites`: who is invited to which role where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewInvite {
    pub role: Role,
    /// The place of the role (a grid for a grid worker, …); absent for ops and admin only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<PlaceId>,
    /// The invited person's name, in Chinese; they may change it when accepting.
    pub display_name: String,
    /// Any spelling of a phone number; stored in E.164.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub romanised_name: Option<String>,
}

/// An invite as those who manage it see it: never its code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteInfo {
    pub id: i64,
    pub role: Role,
    /// Absent for ops and admin, which hold no place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<PlaceInfo>,
    pub display_name: String,
    /// e.g. `+86138****5678`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_masked: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub invited_by: AccountId,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub expires_at: i64,
    pub state: InviteState,
}

/// Answer to `POST /api/invites`: the code is shown here once and never again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteCreated {
    pub invite: InviteInfo,
    pub code: String,
    /// `/#/invite/<code>`, relative to the server's origin.
    pub link: String,
}

/// Body of `POST /api/invites/accept`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AcceptInvite {
    pub code: String,
    pub username: String,
    pub password: String,
    /// Replaces the name the inviter wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// A member of staff who may take an issue at a place, with their current load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StaffMember {
    pub account: AccountId,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub romanised_name: Option<String>,
    pub role: Role,
    /// Where the role is held.
    pub place: PlaceInfo,
    /// Issues assigned to them that are not closed, rejected or merged.
    pub open_issues: u32,
}

/// A person as the people search shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonInfo {
    pub id: AccountId,
    pub username: String,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub romanised_name: Option<String>,
    /// In full for the person, admins and staff over one of the person's places; masked
    /// (`+86138****5678`) for other staff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub disabled: bool,
    /// The person's roles; `channels` is left empty here (it is the person's business).
    pub grants: Vec<GrantInfo>,
}

/// A person the import creates (a resident's account) or invites (staff).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportedPerson {
    /// The line of the file, counting the header as line 1.
    pub line: u32,
    pub name: String,
    pub role: Role,
    /// The place of the role (a resident's community, a worker's grid, …).
    pub place: PlaceId,
    /// True for staff, who get an invite (delivered by SMS), false for residents, who get an
    /// account without a usable password (they set one by SMS reset).
    pub invited: bool,
}

/// A line the import refuses, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PeopleImportRefusal {
    pub line: u32,
    /// Stable: `malformed_line`, `bad_name`, `bad_phone`, `bad_email`, `unknown_role`,
    /// `unknown_place`, `wrong_place`, `role_not_allowed`, `duplicate_phone`,
    /// `duplicate_email`, `phone_enrolled`, `email_enrolled`, `username_taken`.
    pub code: String,
    /// A sentence, Chinese first, English beside it.
    pub message: String,
}

/// Answer to `POST /api/people/import`: the same shape as the places import's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PeopleImportReport {
    pub dry_run: bool,
    /// Whether the file was written (never with a refused line, never on a dry run).
    pub applied: bool,
    /// Data lines read (the header not counted).
    pub lines: u32,
    pub created: Vec<ImportedPerson>,
    /// Lines already true: the person holds (or is invited to) that role there already.
    pub unchanged: u32,
    pub refused: Vec<PeopleImportRefusal>,
}
