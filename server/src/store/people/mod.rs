//! Enrolment in the store: staff invites (only their codes' hashes), accepting one, the people
//! import written in one transaction, and the reads behind the staff directory and the people
//! search. Every change is written with its audit entries in the same transaction.

pub(crate) mod sql;

use crate::store::identity::NewAudit;
use crate::store::{AccountRow, StoreResult};
use async_trait::async_trait;
use hehe_protocol::{AccountId, PlaceId, Role};

/// An invite as stored (its code is not: only the hash, which nothing reads back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteRow {
    pub id: i64,
    pub role: Role,
    pub place: Option<PlaceId>,
    pub display_name: String,
    pub romanised_name: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub invited_by: AccountId,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    /// The account accepting it made.
    pub account: Option<AccountId>,
    pub revoked_at: Option<i64>,
}

/// A new invite; `code_hash` is the SHA-256 of its code, in hex.
#[derive(Debug, Clone)]
pub struct NewInviteRow<'a> {
    pub code_hash: &'a str,
    pub role: Role,
    pub place: Option<PlaceId>,
    pub display_name: &'a str,
    pub romanised_name: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub invited_by: AccountId,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A new account with its one grant.
#[derive(Debug, Clone)]
pub struct NewPerson<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub romanised_name: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub password_hash: &'a str,
    pub role: Role,
    pub place: Option<PlaceId>,
}

/// Where the audit entries of a change go besides their actor: the time, the street of the
/// place (for a street chief's reading) and the request id.
#[derive(Debug, Clone, Copy)]
pub struct AuditContext<'a> {
    pub at: i64,
    pub street: Option<PlaceId>,
    pub request_id: Option<&'a str>,
}

/// One person of an import: a resident's account, or a member of staff's invite.
#[derive(Debug, Clone)]
pub enum ImportRow<'a> {
    Resident(NewPerson<'a>, Option<PlaceId>),
    Staff(NewInviteRow<'a>, Option<PlaceId>),
}

/// A staff grant of an account that is not disabled, for the staff directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffGrantRow {
    pub account: AccountId,
    pub display_name: String,
    pub romanised_name: Option<String>,
    pub role: Role,
    pub place: PlaceId,
}

/// A page of the people search, before the caller's scope is applied.
#[derive(Debug, Clone, Copy)]
pub struct PeopleQuery<'a> {
    /// Part of the username, display name or romanised name (case-insensitive).
    pub text: Option<&'a str>,
    /// An exact number in E.164.
    pub phone: Option<&'a str>,
    /// Accounts holding this role somewhere.
    pub role: Option<Role>,
    /// Account ids below this one.
    pub before: Option<i64>,
    pub limit: u32,
}

#[async_trait]
pub trait PeopleStore {
    /// The account whose number is `phone` (E.164).
    async fn account_by_phone(&self, phone: &str) -> StoreResult<Option<AccountRow>>;

    /// The account whose email address is `email` (as `domain::people::email` writes it).
    async fn account_by_email(&self, email: &str) -> StoreResult<Option<AccountRow>>;

    /// Stores an invite with its audit entry (whose target it names: `invite:<id>`).
    async fn create_invite(&self, invite: &NewInviteRow<'_>, audit: &NewAudit) -> StoreResult<i64>;

    async fn invite(&self, id: i64) -> StoreResult<Option<InviteRow>>;

    /// The invite whose code hashes to `code_hash`.
    async fn invite_by_code(&self, code_hash: &str) -> StoreResult<Option<InviteRow>>;

    /// An invite for `phone` not accepted, revoked or expired at `now`.
    async fn pending_invite_by_phone(
        &self,
        phone: &str,
        now: i64,
    ) -> StoreResult<Option<InviteRow>>;

    /// Invites newest first, at most `limit`.
    async fn invites(&self, limit: u32) -> StoreResult<Vec<InviteRow>>;

    /// Revokes a pending invite with its audit entry. False when it was no longer pending.
    async fn revoke_invite(&self, id: i64, now: i64, audit: &NewAudit) -> StoreResult<bool>;

    /// Accepts pending invite `id`: creates `person` with its grant and writes the audit
    /// entries (`invite.accept` by the new account, `grant.add` by the inviter), in one
    /// transaction. `None`, creating nothing, when the invite is no longer pending; a username
    /// or number taken meanwhile is a `Conflict`.
    async fn accept_invite(
        &self,
        id: i64,
        person: &NewPerson<'_>,
        context: AuditContext<'_>,
    ) -> StoreResult<Option<AccountId>>;

    /// Writes an import: every row with its audit entry (by `importer`), and one entry for the
    /// import itself, in one transaction. A number enrolled or invited meanwhile is a
    /// `Conflict`, and nothing is written. Answers the id each row made (an account's or an
    /// invite's), in order.
    async fn import_people(
        &self,
        rows: &[ImportRow<'_>],
        importer: AccountId,
        context: AuditContext<'_>,
    ) -> StoreResult<Vec<i64>>;

    /// The places under `parent` (the streets, for none) whose Chinese name is `name_zh`.
    async fn places_named(
        &self,
        parent: Option<PlaceId>,
        name_zh: &str,
    ) -> StoreResult<Vec<PlaceId>>;

    /// Every grid worker, community official and street chief grant of an enabled account.
    async fn staff_grants(&self) -> StoreResult<Vec<StaffGrantRow>>;

    /// How many issues not closed, rejected or merged each account is assigned.
    async fn open_issue_counts(&self) -> StoreResult<Vec<(AccountId, u32)>>;

    /// Accounts matching `query`, newest first.
    async fn find_people(&self, query: PeopleQuery<'_>) -> StoreResult<Vec<AccountRow>>;
}
