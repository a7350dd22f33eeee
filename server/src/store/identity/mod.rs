//! Sign-in sessions, changes to accounts and their grants, and the audit log. Every change an
//! administrator makes is written with its audit entry in one transaction.

pub(crate) mod sql;

use crate::store::StoreResult;
use async_trait::async_trait;
use hehe_protocol::{AccountId, PlaceId, Role};

/// An entry for the audit log. Ids and action names only: no bodies, no personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAudit {
    pub at: i64,
    pub actor: AccountId,
    /// e.g. `grant.add`, `issue.dispatch`, `room.mute`.
    pub action: String,
    /// What was acted on, written like a channel: `account:5`, `issue:12`, `meeting:3`.
    pub target: String,
    pub place: Option<PlaceId>,
    /// The street of `place`, so a street chief's reading stays one indexed range.
    pub street: Option<PlaceId>,
    /// A non-personal qualifier, e.g. the role granted.
    pub detail: Option<String>,
    pub outcome: Outcome,
    pub request_id: Option<String>,
}

/// The first admin, as `create_first_admin` stores it.
#[derive(Debug, Clone, Copy)]
pub struct FirstAdmin<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Refused: the actor may not do it.
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub id: i64,
    pub entry: NewAudit,
}

/// A revoked session, for the nodes' caches of revoked session ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedSession {
    pub sid: String,
    pub account: AccountId,
    pub revoked_at: i64,
}

/// A grant added or taken away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantChange {
    pub account: AccountId,
    pub role: Role,
    pub place: Option<PlaceId>,
    /// Add (true) or remove (false).
    pub add: bool,
}

#[async_trait]
pub trait IdentityStore {
    /// Records a new sign-in whose refresh token expires at `expires_at`.
    async fn create_session(
        &self,
        sid: &str,
        account: AccountId,
        at: i64,
        expires_at: i64,
    ) -> StoreResult<()>;

    /// Spends refresh token `generation` of a live session and extends it to `expires_at`.
    /// Returns the next generation, or `None` when the session is unknown, revoked, expired,
    /// another account's, or the token was spent already. The token spent last still answers
    /// the current generation for `reuse_ms` after it was spent: two tabs or two processes
    /// sharing a login refresh at once, and the one that comes second must not be signed out.
    async fn rotate_session(
        &self,
        sid: &str,
        account: AccountId,
        generation: i64,
        now: i64,
        expires_at: i64,
        reuse_ms: i64,
    ) -> StoreResult<Option<i64>>;

    /// Revokes one session of `account`. True when it was live.
    async fn revoke_session(&self, sid: &str, account: AccountId, at: i64) -> StoreResult<bool>;

    /// Revokes every live session of an account, writing `audit` in the same transaction.
    /// Returns the sessions revoked.
    async fn revoke_sessions(
        &self,
        account: AccountId,
        at: i64,
        audit: Option<&NewAudit>,
    ) -> StoreResult<Vec<String>>;

    /// Sessions revoked at or after `since`.
    async fn revoked_since(&self, since: i64) -> StoreResult<Vec<RevokedSession>>;

    /// Deletes sessions whose last refresh token expired before `before`.
    async fn prune_sessions(&self, before: i64) -> StoreResult<u64>;

    /// Adds or removes a grant with its audit entry. False when nothing changed (the grant was
    /// held already, or was not held).
    async fn change_grant(&self, change: GrantChange, audit: &NewAudit) -> StoreResult<bool>;

    /// Disables or enables an account with its audit entry. False when it was so already.
    async fn set_disabled(
        &self,
        account: AccountId,
        disabled: bool,
        audit: &NewAudit,
    ) -> StoreResult<bool>;

    /// Creates the first admin of an empty installation, with the admin grant and the audit
    /// entry (acted by the new account itself), in one transaction that no other can race;
    /// `None`, creating nothing, when an admin exists already.
    async fn create_first_admin(&self, admin: FirstAdmin<'_>) -> StoreResult<Option<AccountId>>;

    async fn insert_audit(&self, entry: &NewAudit) -> StoreResult<()>;

    /// Audit entries with ids below `before`, newest first; only `street`'s when given.
    async fn audit_entries(
        &self,
        street: Option<PlaceId>,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<AuditRow>>;
}
