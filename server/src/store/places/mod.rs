//! The place tree as those who manage it change it: create, rename, move, archive and restore,
//! each with its audit entry in one transaction, and a CSV import applied whole or not at all.
//! A move bumps a change counter the nodes compare (`sync_place_paths`) and forgets this node's
//! cached paths; the other nodes are told over the bus (`Notice::PlacesMoved`).

pub(crate) mod sql;

use crate::domain::place_import::NewPlace;
use crate::store::StoreResult;
use crate::store::identity::NewAudit;
use async_trait::async_trait;
use hehe_protocol::http::{PlaceInfo, PlaceKind};
use hehe_protocol::{AccountId, PlaceId};

/// A place to create.
#[derive(Debug, Clone, Copy)]
pub struct NewPlaceRow<'a> {
    pub kind: PlaceKind,
    pub parent: Option<PlaceId>,
    pub name: &'a str,
    pub name_zh: &'a str,
    pub units: Option<u32>,
    pub floors: Option<u32>,
    pub at: i64,
}

/// What to change of a place; `None` leaves a field as it is, `Some(None)` forgets a figure.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlaceEdit<'a> {
    pub name: Option<&'a str>,
    pub name_zh: Option<&'a str>,
    pub units: Option<Option<u32>>,
    pub floors: Option<Option<u32>>,
    pub at: i64,
}

/// How a change to the tree ended. Checked in its transaction, so no other change slips in
/// between the check and the write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceWrite {
    /// Written, with its audit entry; the place as it is now.
    Done(PlaceInfo),
    /// Nothing to do (the same names, the same parent, archived already); nothing audited.
    Unchanged(PlaceInfo),
    /// The place (or the parent named) does not exist.
    Missing,
    /// The parent is archived.
    ArchivedParent,
    /// Places under it are not archived.
    LiveChildren,
    /// A sibling holds that Chinese name.
    NameTaken,
}

#[async_trait]
pub trait PlaceStore {
    /// Creates a place. The audit entry's target, place (and for a street, its street) are
    /// set to the new place.
    async fn create_place(
        &self,
        new: &NewPlaceRow<'_>,
        audit: &NewAudit,
    ) -> StoreResult<PlaceWrite>;

    async fn edit_place(
        &self,
        id: PlaceId,
        edit: &PlaceEdit<'_>,
        audit: &NewAudit,
    ) -> StoreResult<PlaceWrite>;

    /// Moves a place under `parent`, with the issues filed under it (they keep their street,
    /// community and grid beside their place), and bumps the change counter.
    async fn move_place(
        &self,
        id: PlaceId,
        parent: PlaceId,
        at: i64,
        audit: &NewAudit,
    ) -> StoreResult<PlaceWrite>;

    /// Archives (`true`) or restores a place.
    async fn set_place_archived(
        &self,
        id: PlaceId,
        archived: bool,
        at: i64,
        audit: &NewAudit,
    ) -> StoreResult<PlaceWrite>;

    /// The places directly under `parent` (the streets for `None`), by id; archived ones only
    /// when asked.
    async fn places_under(
        &self,
        parent: Option<PlaceId>,
        archived: bool,
    ) -> StoreResult<Vec<PlaceInfo>>;

    /// The place under `parent` (a street for `None`) with that Chinese name.
    async fn place_named(
        &self,
        parent: Option<PlaceId>,
        name_zh: &str,
    ) -> StoreResult<Option<PlaceInfo>>;

    /// `root` and every place under it, archived ones too.
    async fn subtree(&self, root: PlaceId) -> StoreResult<Vec<PlaceInfo>>;

    /// Creates the planned places in one transaction, each with its audit entry (`audit`
    /// with the place filled in). Answers their ids in plan order.
    async fn import_places(
        &self,
        plan: &[NewPlace],
        at: i64,
        audit: &NewAudit,
    ) -> StoreResult<Vec<PlaceId>>;

    /// Accounts with a grant at `root` or under it.
    async fn accounts_granted_under(&self, root: PlaceId) -> StoreResult<Vec<AccountId>>;

    /// Forgets this node's cached place paths.
    fn forget_place_paths(&self);

    /// Forgets the cached paths when the store's change counter moved since the last look
    /// (a notice of a move was lost). True when it forgot.
    async fn sync_place_paths(&self) -> StoreResult<bool>;
}
