//! Verification and reset codes, sign-ups, password changes and residency requests. Each
//! change is one transaction with what must go with it: a code is spent with the account it
//! creates or the password it sets, a decision with its grant and its audit entry.

pub(crate) mod sql;

use crate::domain::codes::{Recent, SendRefusal};
use crate::store::StoreResult;
use crate::store::identity::NewAudit;
use async_trait::async_trait;
use hehe_protocol::credentials::ResidencyState;
use hehe_protocol::{AccountId, PlaceId};

/// `purpose` of an official's one-time reset code.
pub const OFFICIAL_RESET: &str = "official_reset";

/// A code to store: only its HMAC and salt, never the code.
#[derive(Debug, Clone, Copy)]
pub struct NewCode<'a> {
    /// `signup`, `reset` or `official_reset`.
    pub purpose: &'a str,
    /// For SMS codes.
    pub phone: Option<&'a str>,
    /// For an official's reset code.
    pub account: Option<AccountId>,
    pub salt: &'a str,
    pub code_hash: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
    /// False when nothing was sent (a reset for a number without an account): the row only
    /// counts towards the number's limit.
    pub sent: bool,
    pub client_key: Option<&'a str>,
    pub created_by: Option<AccountId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRow {
    pub id: i64,
    pub purpose: String,
    pub phone: Option<String>,
    pub account: Option<AccountId>,
    pub salt: String,
    pub code_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub attempts: u32,
    pub used: bool,
}

/// A sign-up: the account, its pending residency request, and the code it spends.
#[derive(Debug, Clone, Copy)]
pub struct Signup<'a> {
    pub code: i64,
    pub username: &'a str,
    pub display_name: &'a str,
    pub romanised_name: Option<&'a str>,
    pub phone: &'a str,
    pub password_hash: &'a str,
    pub building: PlaceId,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidencyRow {
    pub id: i64,
    pub account: AccountId,
    pub display_name: String,
    pub phone: Option<String>,
    pub building: PlaceId,
    pub state: ResidencyState,
    pub reason: Option<String>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<AccountId>,
}

/// A decision on a pending request, with the grants it changes.
#[derive(Debug, Clone)]
pub struct Decision {
    pub request: i64,
    pub approve: bool,
    pub reason: Option<String>,
    pub by: AccountId,
    pub at: i64,
    /// Approving: the applicant gets the resident role here (the building's community)…
    pub grant: Option<(AccountId, PlaceId)>,
    /// …and loses it where it lived before, on a move to another community.
    pub ungrant: Vec<PlaceId>,
}

#[async_trait]
pub trait CredentialStore {
    /// Makes a code when `allow` accepts what was asked lately: the codes of this number and
    /// purpose since `since`, of this number, and of this client. Counting and inserting are
    /// one transaction no other request for the number can interleave with, so two requests at
    /// once cannot both pass the last free place.
    async fn insert_code_if(
        &self,
        code: NewCode<'_>,
        since: i64,
        allow: &(dyn Fn(Recent) -> Result<(), SendRefusal> + Send + Sync),
    ) -> StoreResult<Result<i64, SendRefusal>>;

    /// The latest SMS code for this purpose and number.
    async fn latest_code(&self, purpose: &str, phone: &str) -> StoreResult<Option<CodeRow>>;

    /// The latest one-time reset code an official made for `account`.
    async fn latest_reset_code(&self, account: AccountId) -> StoreResult<Option<CodeRow>>;

    /// Counts a wrong try; answers the tries counted so far.
    async fn code_failed(&self, id: i64) -> StoreResult<u32>;

    /// Stores an official's reset code for `account`, voiding the ones made before, with its
    /// audit entry.
    async fn insert_reset_code(&self, code: NewCode<'_>, audit: &NewAudit) -> StoreResult<i64>;

    /// Creates the account and its pending request, spending the code. `None` when the code
    /// was spent meanwhile; `Conflict` when the number or username is taken.
    async fn sign_up(&self, signup: Signup<'_>) -> StoreResult<Option<(AccountId, i64)>>;

    /// Sets a password with a code (spent with it): every session of the account is revoked
    /// at `revoked_at`, with the audit entry. `None` when the code was spent meanwhile;
    /// otherwise the sessions revoked.
    async fn reset_password(
        &self,
        code: i64,
        account: AccountId,
        password_hash: &str,
        revoked_at: i64,
        audit: &NewAudit,
    ) -> StoreResult<Option<Vec<String>>>;

    /// Sets a password and revokes every session of the account but `keep`, with the audit
    /// entry; answers the sessions revoked.
    async fn change_password(
        &self,
        account: AccountId,
        password_hash: &str,
        keep: &str,
        revoked_at: i64,
        audit: &NewAudit,
    ) -> StoreResult<Vec<String>>;

    /// Changes the given fields of the account's profile; `Some(None)` clears the romanised
    /// name.
    async fn update_profile(
        &self,
        account: AccountId,
        display_name: Option<&str>,
        romanised_name: Option<Option<&str>>,
    ) -> StoreResult<()>;

    /// A pending request of `account` for `building`; `Conflict` when one is pending already.
    async fn insert_residency_request(
        &self,
        account: AccountId,
        building: PlaceId,
        at: i64,
    ) -> StoreResult<i64>;

    async fn residency_request(&self, id: i64) -> StoreResult<Option<ResidencyRow>>;

    /// Requests newest first: those in `state` (all when `None`), of `account` when given, at
    /// most `limit`.
    async fn residency_requests(
        &self,
        state: Option<ResidencyState>,
        account: Option<AccountId>,
        limit: u32,
    ) -> StoreResult<Vec<ResidencyRow>>;

    /// Decides a pending request with its grant changes and audit entry. False when it was
    /// no longer pending.
    async fn decide_residency(&self, decision: &Decision, audit: &NewAudit) -> StoreResult<bool>;
}
