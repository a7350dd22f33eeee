//! Accounts for those who manage them: look one up, give and take away roles, disable and
//! enable. Every change is written to the audit log with it, and reaches the account's live
//! connections on every node (see `revocation`).

use crate::app::channels::Identity;
use crate::app::sessions::announce;
use crate::app::state::AppState;
use crate::domain::places::PlacePath;
use crate::domain::roles::{self, GrantRefusal};
use crate::error::{AppError, AppResult};
use crate::identity::revocation::Notice;
use crate::store::identity::{GrantChange, Outcome};
use crate::store::{AccountRow, GrantRow};
use hehe_protocol::{AccountId, ErrorCode, PlaceId, RequestId, Role};

/// An account as those who manage it see it: never its password hash.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: AccountId,
    pub username: String,
    pub display_name: String,
    pub disabled: bool,
    pub grants: Vec<GrantRow>,
}

/// The account named `username`, when the caller may see it.
pub async fn by_username(state: &AppState, who: &Identity, username: &str) -> AppResult<Account> {
    let row = state.store.account_by_username(username).await?;
    visible(state, who, row).await
}

/// The account `id`, when the caller may see it.
pub async fn by_id(state: &AppState, who: &Identity, id: AccountId) -> AppResult<Account> {
    let row = state.store.account(id).await?;
    visible(state, who, row).await
}

async fn paths_of(state: &AppState, id: AccountId) -> AppResult<Vec<PlacePath>> {
    let mut paths = Vec::new();
    for g in state.store.grants(id).await? {
        if let Some(p) = g.place
            && let Some(path) = state.store.place_path(p).await?
        {
            paths.push(path);
        }
    }
    Ok(paths)
}

/// The account, when the caller may see it; otherwise `not_found`, as if it did not exist.
async fn visible(state: &AppState, who: &Identity, row: Option<AccountRow>) -> AppResult<Account> {
    let not_found = || AppError::not_found("account");
    let row = row.ok_or_else(not_found)?;
    if !roles::may_view_account(&who.actor, &paths_of(state, row.id).await?) {
        return Err(not_found());
    }
    with_grants(state, row).await
}

async fn with_grants(state: &AppState, row: AccountRow) -> AppResult<Account> {
    let grants = state.store.grants(row.id).await?;
    Ok(Account {
        id: row.id,
        username: row.username,
        display_name: row.display_name,
        disabled: row.disabled,
        grants,
    })
}

/// Gives (`add`) or takes away `role` at `place` (none for ops and admin) from `target`, with its audit entry; a
/// refusal is audited too. Answers the account as it is afterwards.
pub async fn change_grant(
    state: &AppState,
    who: &Identity,
    target: AccountId,
    role: Role,
    place: Option<PlaceId>,
    add: bool,
    request_id: Option<&RequestId>,
) -> AppResult<Account> {
    let path = match place {
        Some(p) => Some(
            state
                .store
                .place_path(p)
                .await?
                .ok_or_else(|| AppError::invalid("no such place"))?,
        ),
        None => None,
    };
    let action = if add { "grant.add" } else { "grant.remove" };
    let mut audit = crate::app::audit::entry(
        state,
        who,
        action,
        format!("account:{}", target.0),
        place,
        request_id,
    )
    .await;
    audit.detail = Some(role.as_str().to_owned());
    match roles::may_change_grant(&who.actor, role, path.as_ref()) {
        Ok(()) => {}
        Err(GrantRefusal::WrongPlace) => return Err(wrong_place(role)),
        Err(GrantRefusal::NotAllowed) => {
            audit.outcome = Outcome::Denied;
            crate::app::audit::record(state, audit).await;
            return Err(AppError::forbidden());
        }
    }
    let row = state
        .store
        .account(target)
        .await?
        .ok_or_else(|| AppError::not_found("account"))?;
    let change = GrantChange {
        account: target,
        role,
        place,
        add,
    };
    if !state.store.change_grant(change, &audit).await? {
        return Err(if add {
            AppError::new(
                ErrorCode::Conflict,
                "the account holds that role there already",
            )
        } else {
            AppError::not_found("grant")
        });
    }
    tracing::info!(
        actor = who.actor.id.0,
        account = target.0,
        action,
        "grant changed"
    );
    announce(state, Notice::IdentityChanged { account: target }).await;
    with_grants(state, row).await
}

fn wrong_place(role: Role) -> AppError {
    AppError::invalid(match roles::place_kind_for(role) {
        Some(kind) => format!("{role} is granted for a {}", kind.as_str()),
        None => format!("{role} is granted without a place"),
    })
}

/// Disables or enables `target` (admins only), with its audit entry. Disabling closes the
/// account's connections everywhere; enabling leaves its old sessions signed out.
pub async fn set_disabled(
    state: &AppState,
    who: &Identity,
    target: AccountId,
    disabled: bool,
    request_id: Option<&RequestId>,
) -> AppResult<()> {
    let action = if disabled {
        "account.disable"
    } else {
        "account.enable"
    };
    let mut audit = crate::app::audit::entry(
        state,
        who,
        action,
        format!("account:{}", target.0),
        None,
        request_id,
    )
    .await;
    if !roles::may_disable(&who.actor) {
        audit.outcome = Outcome::Denied;
        crate::app::audit::record(state, audit).await;
        return Err(AppError::forbidden());
    }
    if disabled && target == who.actor.id {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "an admin cannot disable their own account",
        ));
    }
    state
        .store
        .account(target)
        .await?
        .ok_or_else(|| AppError::not_found("account"))?;
    if !state.store.set_disabled(target, disabled, &audit).await? {
        return Ok(());
    }
    tracing::info!(
        actor = who.actor.id.0,
        account = target.0,
        action,
        "account changed"
    );
    if disabled {
        announce(state, Notice::Disabled { account: target }).await;
    } else {
        // While disabled its tokens were refused as `forbidden`; enabled again, the account
        // signs in anew rather than finding its old sessions alive.
        // Real time, not `state.now()`: revocations are compared with the tokens' clock.
        let now = crate::clock::unix_ms();
        let sids = state.store.revoke_sessions(target, now, None).await?;
        announce(
            state,
            Notice::Revoked {
                account: target,
                sids,
            },
        )
        .await;
    }
    Ok(())
}

/// Creates the first admin of an installation that has none (`hehe-server create-admin`), so a
/// street office can sign in to a database the demo never seeded. Refused once any admin exists:
/// from then on admins are made by granting the role, which is audited with its author.
/// Answers the account and its username as stored (lowercase).
pub async fn create_first_admin(
    store: &dyn crate::store::Store,
    now: i64,
    username: &str,
    display_name: &str,
    password: &str,
) -> AppResult<(AccountId, String)> {
    use crate::domain::account;
    let username = account::username(username)?;
    let display_name = account::display_name(display_name)?;
    let password = account::password(password)?.to_owned();
    // Argon2 takes a good part of a second of CPU on purpose; not on the async threads.
    let password_hash =
        tokio::task::spawn_blocking(move || crate::identity::tokens::hash_password(&password))
            .await
            .map_err(|_| AppError::new(ErrorCode::Internal, "internal error"))?;
    let first = crate::store::identity::FirstAdmin {
        username: &username,
        display_name: display_name.as_str(),
        password_hash: &password_hash,
        at: now,
    };
    match store.create_first_admin(first).await {
        Ok(Some(id)) => Ok((id, username)),
        Ok(None) => Err(AppError::new(
            ErrorCode::Conflict,
            "已有管理员：请以管理员身份登录，再为他人授予该角色。\
             An admin exists already: sign in as an admin and grant the role instead.",
        )),
        Err(crate::store::StoreError::Conflict(_)) => Err(AppError::new(
            ErrorCode::Conflict,
            "该用户名已被占用，请换一个。That username is taken: choose another.",
        )),
        Err(e) => Err(e.into()),
    }
}
