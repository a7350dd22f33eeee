//! Persistent state behind one trait. `SqlStore` implements it with sqlx for both SQLite (the
//! embedded default) and PostgreSQL (scale-out); the backend follows the database URL.

pub mod appraisals;
pub mod credentials;
pub mod identity;
pub mod issues;
pub mod meetings;
pub mod notify;
pub mod people;
pub mod places;
pub mod push;
mod sql;

pub use sql::{Backend, SqlStore};
pub(crate) use sql::{PLACE_COLUMNS, path_of, place_info};

use crate::domain::places::PlacePath;
use async_trait::async_trait;
use hehe_protocol::http::{PlaceInfo, PlaceKind};
use hehe_protocol::{AccountId, Channel, MeetingId, PlaceId, RequestId, Role};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is overloaded; the caller may retry.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// A uniqueness or reference rule was broken by the caller's input.
    #[error("constraint violated: {0}")]
    Conflict(String),
    /// Stored data does not have the shape the code expects.
    /// The row changed since it was read (or the deadline was handled elsewhere): reload and
    /// decide again.
    #[error("stale write")]
    Stale,
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Other(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(e)
            }
            sqlx::Error::Database(db)
                if db.is_unique_violation() || db.is_foreign_key_violation() =>
            {
                StoreError::Conflict(db.message().to_owned())
            }
            sqlx::Error::Database(db) if db.code().is_some_and(|c| unavailable_state(&c)) => {
                StoreError::Unavailable(e)
            }
            _ => StoreError::Other(e),
        }
    }
}

/// SQLSTATE classes of a database that is going away, starting or out of resources: the
/// request may succeed when retried (a PostgreSQL restart answers 57P01 to the sessions it
/// ends, 57P03 while it starts), so clients get `unavailable`, not `internal`.
fn unavailable_state(code: &str) -> bool {
    ["08", "53", "57P"]
        .iter()
        .any(|class| code.starts_with(class))
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub id: AccountId,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub disabled: bool,
    /// E.164 (see `domain::phone`).
    pub phone: Option<String>,
    pub email: Option<String>,
    pub romanised_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantRow {
    pub role: Role,
    pub place: Option<PlaceId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRow {
    pub id: i64,
    pub channel: Channel,
    pub author_id: AccountId,
    pub author_name: String,
    pub author_role: Option<Role>,
    pub request_id: String,
    pub text: String,
    /// Unix ms.
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub channel: Channel,
    pub author: AccountId,
    pub author_role: Option<Role>,
    pub request_id: &'a RequestId,
    pub text: &'a str,
    pub at: i64,
}

#[async_trait]
pub trait Store:
    appraisals::AppraisalStore
    + credentials::CredentialStore
    + identity::IdentityStore
    + issues::IssueStore
    + meetings::MeetingStore
    + notify::NotifyStore
    + places::PlaceStore
    + people::PeopleStore
    + push::PushStore
    + Send
    + Sync
    + 'static
{
    /// Succeeds when the database answers.
    async fn ping(&self) -> StoreResult<()>;

    async fn account_count(&self) -> StoreResult<i64>;

    async fn insert_place(
        &self,
        kind: PlaceKind,
        parent: Option<PlaceId>,
        name: &str,
        name_zh: &str,
    ) -> StoreResult<PlaceId>;

    async fn place(&self, id: PlaceId) -> StoreResult<Option<PlaceInfo>>;

    /// The places directly under `id` (a street's communities, a grid's buildings), by id.
    async fn children(&self, id: PlaceId) -> StoreResult<Vec<PlaceInfo>>;

    /// The place with its ancestors, or `None` when it does not exist.
    async fn place_path(&self, id: PlaceId) -> StoreResult<Option<PlacePath>>;

    async fn insert_account(
        &self,
        username: &str,
        display_name: &str,
        password_hash: &str,
    ) -> StoreResult<AccountId>;

    async fn account(&self, id: AccountId) -> StoreResult<Option<AccountRow>>;

    async fn account_by_username(&self, username: &str) -> StoreResult<Option<AccountRow>>;

    async fn insert_grant(
        &self,
        account: AccountId,
        role: Role,
        place: Option<PlaceId>,
    ) -> StoreResult<()>;

    async fn grants(&self, account: AccountId) -> StoreResult<Vec<GrantRow>>;

    async fn insert_meeting(
        &self,
        kind: &str,
        title: &str,
        place: PlaceId,
        chair: AccountId,
        at: i64,
    ) -> StoreResult<MeetingId>;

    /// The place a meeting belongs to.
    async fn meeting_place(&self, id: MeetingId) -> StoreResult<Option<PlaceId>>;

    /// Stores a message once per (author, request id): a repeat returns the stored row.
    async fn insert_message(&self, message: NewMessage<'_>) -> StoreResult<MessageRow>;

    /// A channel's messages with ids below `before`, newest first.
    async fn messages(
        &self,
        channel: Channel,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<MessageRow>>;
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_restarting_or_overloaded_database_is_unavailable() {
        for code in ["57P01", "57P02", "57P03", "08006", "08001", "53300"] {
            assert!(super::unavailable_state(code), "{code}");
        }
        for code in ["23505", "23503", "42P01", "40001", "22P02"] {
            assert!(!super::unavailable_state(code), "{code}");
        }
    }
}
