//! Enrolment by the residents themselves, and credentials: verification codes sent by SMS,
//! self sign-up with a pending residency request that the community's officials decide,
//! password reset and change, and the caller's own profile (PROTOCOL.md, "Residents and
//! credentials").

use crate::http::PlaceInfo;
use crate::{AccountId, PlaceId};
use serde::{Deserialize, Serialize};

/// What a verification code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CodePurpose {
    /// Signing up with a number that has no account.
    Signup,
    /// Resetting the password of the account that holds the number.
    Reset,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CodePurpose::Signup => "signup",
            CodePurpose::Reset => "reset",
        }
    }
}

/// `POST /api/sms/codes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// As people type it; read as a mainland Chinese number unless it starts with `+`.
    pub phone: String,
    pub purpose: CodePurpose,
}

/// The answer to `POST /api/sms/codes`: the same whether or not a message was sent (a reset
/// for a number without an account sends none), so it tells nobody which numbers are enrolled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CodeSent {
    /// Seconds the code stays valid.
    pub expires_in: u64,
    /// Seconds before another code may be asked for this number and purpose.
    pub resend_after: u64,
}

/// `POST /api/signup`: a resident signs up with a code sent for `signup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    pub phone: String,
    pub code: String,
    pub password: String,
    /// In Chinese, as neighbours know the person.
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub romanised_name: Option<String>,
    /// The building the person lives in.
    pub building: PlaceId,
}

/// Where a residency request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ResidencyState {
    Pending,
    Approved,
    Refused,
}

impl ResidencyState {
    pub const ALL: [ResidencyState; 3] = [
        ResidencyState::Pending,
        ResidencyState::Approved,
        ResidencyState::Refused,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ResidencyState::Pending => "pending",
            ResidencyState::Approved => "approved",
            ResidencyState::Refused => "refused",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A person's request to be known as living in a building.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResidencyRequest {
    pub id: i64,
    pub account: AccountId,
    pub display_name: String,
    /// The applicant's number with its middle hidden; absent when the account has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_masked: Option<String>,
    pub building: PlaceInfo,
    pub state: ResidencyState,
    /// Why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<AccountId>,
}

/// `POST /api/residency-requests/{id}/refuse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RefuseResidency {
    /// Shown to the applicant: say what to do next.
    pub reason: String,
}

/// `POST /api/me/residency`: a move to another building (approved again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MoveResidency {
    pub building: PlaceId,
}

/// `POST /api/auth/reset`: the account by its number or its username, and a code: one sent by
/// SMS for `reset`, or a one-time reset code an official made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub code: String,
    pub new_password: String,
}

/// A one-time reset code, shown once to the official who made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResetCode {
    pub code: String,
    /// Unix ms.
    pub expires_at: i64,
}

/// `POST /api/me/password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// `PATCH /api/me`: what is given changes; an empty `romanised_name` removes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProfileChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub romanised_name: Option<String>,
}
