//! Staff invites: an admin, street chief or community official invites a person to a role at a
//! place; the code, shown once and sent by SMS, is single-use and expires; accepting it creates
//! the account with its grant and signs the person in. Codes are never logged or stored in
//! clear (`identity::invite_codes`).

use crate::app::channels::Identity;
use crate::app::state::AppState;
use crate::domain::access;
use crate::domain::account;
use crate::domain::people::{self, InviteRefusal};
use crate::domain::phone::Phone;
use crate::domain::places::PlacePath;
use crate::error::{AppError, AppResult};
use crate::identity::invite_codes;
use crate::store::StoreError;
use crate::store::identity::Outcome;
use crate::store::people::{AuditContext, InviteRow, NewInviteRow, NewPerson};
use hehe_protocol::http::TokenResponse;
use hehe_protocol::people::{AcceptInvite, InviteCreated, InviteInfo, InviteState, NewInvite};
use hehe_protocol::{ErrorCode, PlaceId, RequestId};

/// The most invites a listing answers.
const LIST_LIMIT: u32 = 500;

/// Invites `new`'s person, with its audit entry; answers the invite with its code, which is
/// shown here only.
pub async fn create(
    state: &AppState,
    who: &Identity,
    new: NewInvite,
    request_id: Option<&RequestId>,
) -> AppResult<InviteCreated> {
    let path = match new.place {
        Some(p) => Some(place_path(state, p).await?),
        None => None,
    };
    let mut audit = crate::app::audit::entry(
        state,
        who,
        "invite.create",
        String::new(),
        new.place,
        request_id,
    )
    .await;
    audit.detail = Some(new.role.as_str().to_owned());
    if let Err(why) = people::may_invite(&who.actor, new.role, path.as_ref()) {
        if why == InviteRefusal::NotAllowed {
            audit.target = "invite:new".into();
            audit.outcome = Outcome::Denied;
            crate::app::audit::record(state, audit).await;
        }
        return Err(refusal(why));
    }
    let display_name = account::display_name(&new.display_name)?;
    let romanised_name = match new.romanised_name.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(account::display_name(raw)?),
    };
    let phone = match new.phone.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(Phone::parse(raw).map_err(|e| AppError::invalid(e.to_string()))?),
    };
    let email = match new.email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(people::email(raw).map_err(|e| AppError::invalid(e.to_string()))?),
    };
    let now = state.now();
    if let Some(phone) = &phone {
        phone_free(state, phone, now).await?;
    }
    let code = invite_codes::new_code();
    let code_hash = invite_codes::hash(&code);
    let row = NewInviteRow {
        code_hash: &code_hash,
        role: new.role,
        place: new.place,
        display_name: display_name.as_str(),
        romanised_name: romanised_name.as_ref().map(|t| t.as_str()),
        phone: phone.as_ref().map(Phone::as_str),
        email: email.as_deref(),
        invited_by: who.actor.id,
        created_at: now,
        expires_at: expires_at(state, now),
    };
    let id = match state.store.create_invite(&row, &audit).await {
        Ok(id) => id,
        Err(StoreError::Conflict(_)) => return Err(phone_taken()),
        Err(e) => return Err(e.into()),
    };
    tracing::info!(actor = who.actor.id.0, invite = id, role = %new.role, "invite created");
    deliver(state, id, phone.as_ref(), &code).await;
    let stored = state
        .store
        .invite(id)
        .await?
        .ok_or_else(|| AppError::not_found("invite"))?;
    Ok(InviteCreated {
        invite: info(state, &stored, now).await?,
        link: link(&code),
        code,
    })
}

/// The link a person follows to accept, relative to the server's origin (the web client reads
/// the code from it).
pub fn link(code: &str) -> String {
    format!("/#/invite/{code}")
}

/// When an invite made at `now` stops being accepted.
pub fn expires_at(state: &AppState, now: i64) -> i64 {
    let ttl = i64::try_from(state.config.invite_ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    now.saturating_add(ttl)
}

/// Sends the invite's code to the person by SMS, when there is a number to send it to. In the
/// background: the inviter's answer does not wait on the gateway, and a failure is logged
/// (without the number or the code) while the invite stays valid to be revoked and made again.
pub(crate) async fn deliver(state: &AppState, invite: i64, phone: Option<&Phone>, code: &str) {
    let Some(phone) = phone else { return };
    let days = state.config.invite_ttl_secs.div_ceil(86_400).max(1);
    let message = crate::infra::sms::SmsMessage {
        to: phone.as_str().to_owned(),
        purpose: "invite".into(),
        code: Some(code.to_owned()),
        text_zh: format!(
            "【和和】您被邀请加入社区工作。请打开和和，在登录页选择“接受邀请”，输入邀请码 {code}（{days} 天内有效）。"
        ),
        text_en: format!(
            "[Hehe] You are invited to join your neighbourhood's team. Open Hehe, choose \"Accept an \
             invite\" on the sign-in page and enter the code {code} (valid for {days} days)."
        ),
    };
    let sms = state.sms.clone();
    tokio::spawn(async move {
        match sms.send(&message).await {
            Ok(()) => tracing::info!(invite, "invite sent by SMS"),
            Err(e) => tracing::warn!(invite, error = %e, "invite not sent by SMS"),
        }
    });
}

/// Invites the caller may manage, newest first: at `place` and under it when given, in the
/// `state` asked for.
pub async fn list(
    state: &AppState,
    who: &Identity,
    place: Option<PlaceId>,
    wanted: Option<InviteState>,
) -> AppResult<Vec<InviteInfo>> {
    if !people::invites_somewhere(&who.actor) {
        return Err(AppError::forbidden());
    }
    let within = match place {
        Some(p) => {
            let path = place_path(state, p).await?;
            if !access::can_see_place(&who.actor, &path) {
                return Err(AppError::not_found("place"));
            }
            Some(path)
        }
        None => None,
    };
    let now = state.now();
    let mut out = Vec::new();
    for row in state.store.invites(LIST_LIMIT).await? {
        let path = match row.place {
            Some(p) => state.store.place_path(p).await?,
            None => None,
        };
        let inside = match (&within, &path) {
            (Some(within), Some(path)) => within.contains(path),
            (Some(_), None) => false,
            (None, _) => true,
        };
        let state_now = people::invite_state(row.accepted_at, row.revoked_at, row.expires_at, now);
        if inside
            && wanted.is_none_or(|w| w == state_now)
            && people::may_invite(&who.actor, row.role, path.as_ref()).is_ok()
        {
            out.push(info(state, &row, now).await?);
        }
    }
    Ok(out)
}

/// Revokes a pending invite, with its audit entry: its code stops working.
pub async fn revoke(
    state: &AppState,
    who: &Identity,
    id: i64,
    request_id: Option<&RequestId>,
) -> AppResult<InviteInfo> {
    let row = visible(state, who, id).await?;
    let now = state.now();
    let current = people::invite_state(row.accepted_at, row.revoked_at, row.expires_at, now);
    if current != InviteState::Pending {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!(
                "该邀请已不是待接受状态（{0}），无需撤销。The invite is {0}, not pending: there is \
                 nothing to revoke.",
                current.as_str()
            ),
        ));
    }
    let mut audit = crate::app::audit::entry(
        state,
        who,
        "invite.revoke",
        format!("invite:{id}"),
        row.place,
        request_id,
    )
    .await;
    audit.detail = Some(row.role.as_str().to_owned());
    if !state.store.revoke_invite(id, now, &audit).await? {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "该邀请刚刚已被接受或撤销。The invite was accepted or revoked a moment ago.",
        ));
    }
    tracing::info!(actor = who.actor.id.0, invite = id, "invite revoked");
    let row = state.store.invite(id).await?.unwrap_or(row);
    info(state, &row, now).await
}

/// Accepts an invite: creates the account with the invite's role and signs it in.
pub async fn accept(
    state: &AppState,
    req: AcceptInvite,
    request_id: Option<&RequestId>,
) -> AppResult<TokenResponse> {
    let username = account::username(&req.username)?;
    let password = account::password(&req.password)?.to_owned();
    let chosen_name = match req.display_name.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(account::display_name(raw)?),
    };
    let row = state
        .store
        .invite_by_code(&invite_codes::hash(&req.code))
        .await?
        .ok_or_else(unknown_code)?;
    let now = state.now();
    spent(people::invite_state(
        row.accepted_at,
        row.revoked_at,
        row.expires_at,
        now,
    ))?;
    if state.store.account_by_username(&username).await?.is_some() {
        return Err(username_taken());
    }
    // Argon2 takes a good part of a second of CPU on purpose; not on the async threads.
    let password_hash =
        tokio::task::spawn_blocking(move || crate::identity::tokens::hash_password(&password))
            .await
            .map_err(|_| AppError::new(ErrorCode::Internal, "internal error"))?;
    let display_name = chosen_name.map_or_else(|| row.display_name.clone(), |t| t.as_str().into());
    let person = NewPerson {
        username: &username,
        display_name: &display_name,
        romanised_name: row.romanised_name.as_deref(),
        phone: row.phone.as_deref(),
        email: row.email.as_deref(),
        password_hash: &password_hash,
        role: row.role,
        place: row.place,
    };
    let street = match row.place {
        Some(p) => state.store.place_path(p).await?.map(|p| p.street),
        None => None,
    };
    let context = AuditContext {
        at: now,
        street,
        request_id: request_id.map(RequestId::as_str),
    };
    let account = match state.store.accept_invite(row.id, &person, context).await {
        Ok(Some(account)) => account,
        Ok(None) => {
            // Spent between the check above and the write: say how.
            let again = state.store.invite(row.id).await?.unwrap_or(row);
            spent(people::invite_state(
                again.accepted_at,
                again.revoked_at,
                again.expires_at,
                now,
            ))?;
            return Err(AppError::new(ErrorCode::InviteUsed, used_message()));
        }
        Err(StoreError::Conflict(_)) => {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "用户名、手机号码或电子邮箱已被占用：请换一个用户名再试，或请邀请人重新邀请。\
                 The username, the phone number or the email address is taken: try another \
                 username, or ask for a new invite.",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(invite = row.id, account = account.0, "invite accepted");
    crate::app::auth::open_session(state, account).await
}

/// A pending invite passes; any other is refused with its own code.
fn spent(state: InviteState) -> AppResult<()> {
    match state {
        InviteState::Pending => Ok(()),
        InviteState::Accepted => Err(AppError::new(ErrorCode::InviteUsed, used_message())),
        InviteState::Revoked => Err(AppError::new(
            ErrorCode::InviteRevoked,
            "该邀请已被撤销：请联系邀请您的人重新邀请。\
             This invite was revoked: ask the person who invited you for a new one.",
        )),
        InviteState::Expired => Err(AppError::new(
            ErrorCode::InviteExpired,
            "该邀请已过期：请联系邀请您的人重新邀请。\
             This invite has expired: ask the person who invited you for a new one.",
        )),
    }
}

fn used_message() -> &'static str {
    "该邀请码已被使用：请用它创建的账户登录。\
     This invite code was used already: sign in with the account it made."
}

fn unknown_code() -> AppError {
    AppError::new(
        ErrorCode::NotFound,
        "邀请码无效：请检查是否完整复制了链接。\
         No invite has this code: check that the whole link was copied.",
    )
}

fn username_taken() -> AppError {
    AppError::new(
        ErrorCode::Conflict,
        "该用户名已被占用，请换一个。That username is taken: choose another.",
    )
}

fn phone_taken() -> AppError {
    AppError::new(
        ErrorCode::Conflict,
        "这个手机号码已属于某个账户或待接受的邀请：请为该账户授予角色，或先撤销那个邀请。\
         This phone number belongs to an account or a pending invite already: give that account \
         the role, or revoke that invite first.",
    )
}

/// Refuses a number enrolled or invited already.
async fn phone_free(state: &AppState, phone: &Phone, now: i64) -> AppResult<()> {
    let enrolled = state
        .store
        .account_by_phone(phone.as_str())
        .await?
        .is_some();
    let invited = state
        .store
        .pending_invite_by_phone(phone.as_str(), now)
        .await?
        .is_some();
    if enrolled || invited {
        Err(phone_taken())
    } else {
        Ok(())
    }
}

fn refusal(why: InviteRefusal) -> AppError {
    match why {
        InviteRefusal::WrongPlace => AppError::invalid(why.to_string()),
        InviteRefusal::NotAllowed => AppError::new(ErrorCode::Forbidden, why.to_string()),
    }
}

async fn place_path(state: &AppState, id: PlaceId) -> AppResult<PlacePath> {
    state.store.place_path(id).await?.ok_or_else(|| {
        AppError::invalid("没有这个地点：请检查地点编号。There is no such place: check its id.")
    })
}

/// The invite `id`, when the caller may manage it; otherwise `not_found`, as if it did not
/// exist.
async fn visible(state: &AppState, who: &Identity, id: i64) -> AppResult<InviteRow> {
    let not_found = || AppError::not_found("invite");
    let row = state.store.invite(id).await?.ok_or_else(not_found)?;
    let path = match row.place {
        Some(p) => state.store.place_path(p).await?,
        None => None,
    };
    if people::may_invite(&who.actor, row.role, path.as_ref()).is_err() {
        return Err(not_found());
    }
    Ok(row)
}

async fn info(state: &AppState, row: &InviteRow, now: i64) -> AppResult<InviteInfo> {
    let place = match row.place {
        Some(p) => state.store.place(p).await?,
        None => None,
    };
    Ok(InviteInfo {
        id: row.id,
        role: row.role,
        place,
        display_name: row.display_name.clone(),
        phone_masked: row.phone.clone().map(|p| Phone::from_stored(p).masked()),
        email: row.email.clone(),
        invited_by: row.invited_by,
        created_at: row.created_at,
        expires_at: row.expires_at,
        state: people::invite_state(row.accepted_at, row.revoked_at, row.expires_at, now),
    })
}
