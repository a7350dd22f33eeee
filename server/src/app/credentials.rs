//! Codes and passwords: verification codes sent by SMS, signing up with one, resetting a
//! password with one or with a one-time code an official made, changing one's password, and
//! one's own name. Codes are never logged, and kept only as HMACs (`identity::codes`).
//!
//! Nothing here tells which numbers have an account: a reset code asked for a number without
//! one is answered alike and stored alike (marked unsent), so the counts per number, the
//! answers and the refusals of a wrong code are the same; the message itself is sent by a task
//! of its own, so neither the time taken nor a gateway's failure shows either.

use crate::app::channels::{Identity, account_info, identity};
use crate::app::residency;
use crate::app::sessions::announce;
use crate::app::state::AppState;
use crate::clock::unix_ms;
use crate::domain::account;
use crate::domain::codes::{self, CodeRefusal, CodeState, WINDOW_MS};
use crate::domain::phone::Phone;
use crate::domain::residency as rules;
use crate::error::{AppError, AppResult};
use crate::identity::codes::{new_salt, reset_code, sms_code};
use crate::identity::revocation::Notice;
use crate::identity::tokens::{Claims, hash_password, verify_password};
use crate::infra::sms::SmsMessage;
use crate::store::StoreError;
use crate::store::credentials::{CodeRow, NewCode, OFFICIAL_RESET, Signup};
use crate::store::identity::{NewAudit, Outcome};
use hehe_protocol::credentials::{
    CodePurpose, CodeRequest, CodeSent, PasswordChange, ProfileChange, ResetCode, ResetRequest,
    SignupRequest,
};
use hehe_protocol::http::{AccountInfo, TokenResponse};
use hehe_protocol::{AccountId, ErrorCode, RequestId};
use std::net::IpAddr;

fn phone(raw: &str) -> AppResult<Phone> {
    Phone::parse(raw).map_err(|e| AppError::invalid(e.to_string()))
}

/// What a code is bound to: the same digits for another number or purpose do not match.
fn subject(purpose: &str, who: &str) -> String {
    format!("{purpose}:{who}")
}

/// A client address as counted: IPv6 clients by their /64, which one household usually holds.
fn address_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(ip.to_string(), |v4| v4.to_string()),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

fn message(purpose: CodePurpose, to: &Phone, code: &str, minutes: u64) -> SmsMessage {
    let (zh, en) = match purpose {
        CodePurpose::Signup => (
            format!(
                "【和和】您的注册验证码是 {code}，{minutes} 分钟内有效。如非本人操作，请忽略本短信。"
            ),
            format!(
                "Hehe: your sign-up code is {code}, valid for {minutes} minutes. If you did not \
                 ask for it, ignore this message."
            ),
        ),
        CodePurpose::Reset => (
            format!(
                "【和和】您正在重置密码，验证码是 {code}，{minutes} 分钟内有效。请勿告诉任何人。"
            ),
            format!(
                "Hehe: your password reset code is {code}, valid for {minutes} minutes. Never \
                 tell it to anyone."
            ),
        ),
    };
    SmsMessage {
        to: to.as_str().to_owned(),
        purpose: purpose.as_str().to_owned(),
        code: Some(code.to_owned()),
        text_zh: zh,
        text_en: en,
    }
}

/// `POST /api/sms/codes`: makes a code for the number and purpose and has it sent, within the
/// rules of `domain::codes`; answers the same whether or not the number has an account.
pub async fn request_code(
    state: &AppState,
    req: CodeRequest,
    client: Option<IpAddr>,
) -> AppResult<CodeSent> {
    let to = phone(&req.phone)?;
    let rules = state.config.sms.rules(state.config.limits.rate_limits);
    // A sign-up code goes to any number: if it has an account already, only the phone's holder
    // learns so, when signing up with the code. A reset code goes to accounts' numbers only.
    let send = match req.purpose {
        CodePurpose::Signup => true,
        CodePurpose::Reset => state.store.account_by_phone(to.as_str()).await?.is_some(),
    };
    let code = sms_code();
    let salt = new_salt();
    let purpose = req.purpose.as_str();
    let hash = state
        .code_key
        .hash(&salt, &subject(purpose, to.as_str()), &code);
    let client_key = client.map(|ip| state.code_key.address_key(&address_of(ip)));
    let now = state.now();
    let new = NewCode {
        purpose,
        phone: Some(to.as_str()),
        account: None,
        salt: &salt,
        code_hash: &hash,
        created_at: now,
        expires_at: now + rules.ttl_ms,
        sent: send,
        client_key: client_key.as_deref(),
        created_by: None,
    };
    let allow = move |recent: codes::Recent| codes::may_send(&rules, &recent, now);
    state
        .store
        .insert_code_if(new, now - WINDOW_MS, &allow)
        .await??;
    let ttl_secs = state.config.sms.sms_code_ttl_secs;
    if send {
        let sms = state.sms.clone();
        let msg = message(req.purpose, &to, &code, ttl_secs.div_ceil(60).max(1));
        tokio::spawn(async move {
            match sms.send(&msg).await {
                Ok(()) => tracing::info!(purpose = msg.purpose.as_str(), "code sent"),
                Err(e) => {
                    tracing::warn!(error = %e, purpose = msg.purpose.as_str(), "code not sent")
                }
            }
        });
    }
    Ok(CodeSent {
        expires_in: ttl_secs,
        resend_after: state.config.sms.sms_resend_secs,
    })
}

/// Checks a typed code against a stored one: `Ok` with its id when it matches (it is spent by
/// the change it allows, in that change's transaction); a wrong try is counted.
async fn check(
    state: &AppState,
    row: Option<CodeRow>,
    subject: &str,
    typed: &str,
) -> AppResult<i64> {
    let rules = state.config.sms.rules(state.config.limits.rate_limits);
    let code_state = row.as_ref().map(|r| CodeState {
        expires_at: r.expires_at,
        attempts: r.attempts,
        used: r.used,
    });
    codes::checkable(&rules, code_state.as_ref(), state.now())?;
    let Some(row) = row else {
        return Err(CodeRefusal::Missing.into());
    };
    if state
        .code_key
        .verify(&row.salt, subject, &codes::normalise(typed), &row.code_hash)
    {
        return Ok(row.id);
    }
    let attempts = state.store.code_failed(row.id).await?;
    Err(codes::after_wrong_try(&rules, attempts).into())
}

async fn check_sms(
    state: &AppState,
    purpose: CodePurpose,
    to: &Phone,
    typed: &str,
) -> AppResult<i64> {
    let row = state
        .store
        .latest_code(purpose.as_str(), to.as_str())
        .await?;
    check(state, row, &subject(purpose.as_str(), to.as_str()), typed).await
}

async fn hashed(password: String) -> AppResult<String> {
    // Argon2 takes a good part of a second of CPU on purpose; not on the async threads.
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| AppError::new(ErrorCode::Internal, "internal error"))
}

/// `POST /api/signup`: a resident's account, without roles, and its pending residency request
/// for the building; answers the tokens of a first session.
pub async fn sign_up(state: &AppState, req: SignupRequest) -> AppResult<TokenResponse> {
    let to = phone(&req.phone)?;
    let password = account::password(&req.password)?.to_owned();
    let display_name = account::display_name(&req.display_name)?;
    let romanised = match &req.romanised_name {
        Some(r) => account::romanised_name(r)?,
        None => None,
    };
    let building = state.store.place_path(req.building).await?.ok_or_else(|| {
        AppError::invalid("没有这栋楼，请重新选择。There is no such building: choose again.")
    })?;
    rules::check_building(&building)?;
    let code = check_sms(state, CodePurpose::Signup, &to, &req.code).await?;
    let password_hash = hashed(password).await?;
    // Residents sign in by number; the username is only a stable handle that reveals nothing.
    let username = format!("r-{}", &new_salt()[..12]);
    let signup = Signup {
        code,
        username: &username,
        display_name: display_name.as_str(),
        romanised_name: romanised.as_deref(),
        phone: to.as_str(),
        password_hash: &password_hash,
        building: req.building,
        at: state.now(),
    };
    let (account, request) = match state.store.sign_up(signup).await {
        Ok(Some(created)) => created,
        Ok(None) => return Err(CodeRefusal::Used.into()),
        Err(StoreError::Conflict(_)) => {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "这个号码已经注册过，请直接登录，或用短信验证码重置密码。\
                 This number has an account already: sign in, or reset the password by SMS.",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(account = account.0, request, "signed up");
    residency::announce_request(state, request).await;
    crate::app::auth::open_session(state, account).await
}

/// `POST /api/auth/reset`: sets a new password with a code sent by SMS (six digits) or a
/// one-time code an official made, and signs the account out everywhere.
pub async fn reset_password(state: &AppState, req: ResetRequest) -> AppResult<()> {
    let password = account::password(&req.new_password)?.to_owned();
    let typed = codes::normalise(&req.code);
    let by_sms = typed.len() == 6 && typed.chars().all(|c| c.is_ascii_digit());
    let (account, code) = match (&req.phone, &req.username) {
        (Some(raw), None) => {
            let to = phone(raw)?;
            let account = state.store.account_by_phone(to.as_str()).await?;
            if by_sms {
                // Checked whether or not the number has an account: a number without one has
                // an unsent code, and a wrong try answers alike.
                let code = check_sms(state, CodePurpose::Reset, &to, &typed).await?;
                (account, code)
            } else {
                let code = check_reset_code(state, account.as_ref(), &typed).await?;
                (account, code)
            }
        }
        (None, Some(username)) => {
            let account = state
                .store
                .account_by_username(&username.trim().to_lowercase())
                .await?;
            let code = match account.as_ref().and_then(|a| a.phone.clone()) {
                Some(p) if by_sms => {
                    check_sms(state, CodePurpose::Reset, &Phone::from_stored(p), &typed).await?
                }
                _ => check_reset_code(state, account.as_ref(), &typed).await?,
            };
            (account, code)
        }
        _ => {
            return Err(AppError::invalid(
                "请填写手机号码或用户名（二选一）。Give either the phone number or the username.",
            ));
        }
    };
    let Some(account) = account else {
        return Err(CodeRefusal::Missing.into());
    };
    let password_hash = hashed(password).await?;
    let audit = NewAudit {
        at: state.now(),
        actor: account.id,
        action: "password.reset".into(),
        target: format!("account:{}", account.id.0),
        place: None,
        street: None,
        detail: Some(if by_sms { "sms" } else { "reset_code" }.into()),
        outcome: Outcome::Ok,
        request_id: None,
    };
    // Real time: revocations are compared with the tokens' clock.
    let sids = state
        .store
        .reset_password(code, account.id, &password_hash, unix_ms(), &audit)
        .await?
        .ok_or(CodeRefusal::Used)?;
    tracing::info!(
        account = account.id.0,
        sessions = sids.len(),
        "password reset"
    );
    state.login_guard.succeeded(&account.username);
    announce(
        state,
        Notice::Revoked {
            account: account.id,
            sids,
        },
    )
    .await;
    Ok(())
}

async fn check_reset_code(
    state: &AppState,
    account: Option<&crate::store::AccountRow>,
    typed: &str,
) -> AppResult<i64> {
    let Some(account) = account else {
        return Err(CodeRefusal::Missing.into());
    };
    let row = state.store.latest_reset_code(account.id).await?;
    // Wrong tries are counted as for SMS codes, but every refusal reads alike: "wrong: 4 more
    // tries" would tell whoever types a username that an official made a code for it.
    check(
        state,
        row,
        &subject(OFFICIAL_RESET, &account.id.0.to_string()),
        typed,
    )
    .await
    .map_err(|e| match e.code {
        ErrorCode::InvalidCode => CodeRefusal::Missing.into(),
        _ => e,
    })
}

/// `POST /api/accounts/{id}/reset-code`: a one-time reset code for an account in the caller's
/// place (see `domain::residency::may_make_reset_code`), shown once and audited. Accounts the
/// caller may not see are `not_found`, as everywhere.
pub async fn make_reset_code(
    state: &AppState,
    who: &Identity,
    target: AccountId,
    request_id: Option<&RequestId>,
) -> AppResult<ResetCode> {
    let not_found = || AppError::not_found("account");
    state.store.account(target).await?.ok_or_else(not_found)?;
    let mut grants = Vec::new();
    for g in state.store.grants(target).await? {
        let place = match g.place {
            Some(p) => state.store.place_path(p).await?,
            None => None,
        };
        grants.push((g.role, place, g.place));
    }
    let paths: Vec<_> = grants.iter().filter_map(|(_, p, _)| *p).collect();
    let place = grants.iter().find_map(|(_, _, id)| *id);
    let mut audit = crate::app::audit::entry(
        state,
        who,
        "account.reset_code",
        format!("account:{}", target.0),
        place,
        request_id,
    )
    .await;
    let judged: Vec<_> = grants.iter().map(|(r, p, _)| (*r, *p)).collect();
    if !rules::may_make_reset_code(&who.actor, &judged) {
        if !crate::domain::roles::may_view_account(&who.actor, &paths) {
            return Err(not_found());
        }
        audit.outcome = Outcome::Denied;
        crate::app::audit::record(state, audit).await;
        return Err(AppError::forbidden());
    }
    let code = reset_code();
    let salt = new_salt();
    let hash = state.code_key.hash(
        &salt,
        &subject(OFFICIAL_RESET, &target.0.to_string()),
        &codes::normalise(&code),
    );
    let now = state.now();
    let ttl = i64::try_from(state.config.sms.reset_code_ttl_secs.saturating_mul(1000))
        .unwrap_or(i64::MAX);
    let expires_at = now.saturating_add(ttl);
    let new = NewCode {
        purpose: OFFICIAL_RESET,
        phone: None,
        account: Some(target),
        salt: &salt,
        code_hash: &hash,
        created_at: now,
        expires_at,
        sent: false,
        client_key: None,
        created_by: Some(who.actor.id),
    };
    state.store.insert_reset_code(new, &audit).await?;
    tracing::info!(
        actor = who.actor.id.0,
        account = target.0,
        "reset code made"
    );
    Ok(ResetCode { code, expires_at })
}

/// `POST /api/me/password`: needs the current password; every other session of the account
/// is signed out, the caller's own (`claims`) stays.
pub async fn change_password(
    state: &AppState,
    claims: &Claims,
    req: PasswordChange,
) -> AppResult<()> {
    let me = identity(state, claims.account()).await?;
    let row = state
        .store
        .account(me.actor.id)
        .await?
        .ok_or_else(|| AppError::not_found("account"))?;
    // The same backoff as logins: a stolen access token must not become a way to guess.
    if let Err(wait) = state.login_guard.check(&row.username) {
        return Err(AppError::new(
            ErrorCode::RateLimited,
            format!(
                "密码错误次数过多，请 {} 秒后再试。Too many wrong passwords: try again in {} s.",
                wait.as_secs_f64().ceil() as u64,
                wait.as_secs_f64().ceil() as u64
            ),
        ));
    }
    let new = account::password(&req.new_password)?.to_owned();
    let (current, hash) = (req.current_password, row.password_hash.clone());
    let matches = tokio::task::spawn_blocking(move || verify_password(&current, &hash))
        .await
        .unwrap_or(false);
    if !matches {
        state.login_guard.failed(&row.username);
        return Err(AppError::new(
            ErrorCode::InvalidCredentials,
            "当前密码不正确。The current password is wrong.",
        ));
    }
    state.login_guard.succeeded(&row.username);
    let password_hash = hashed(new).await?;
    let audit = NewAudit {
        at: state.now(),
        actor: me.actor.id,
        action: "password.change".into(),
        target: format!("account:{}", me.actor.id.0),
        place: None,
        street: None,
        detail: None,
        outcome: Outcome::Ok,
        request_id: None,
    };
    let sids = state
        .store
        .change_password(me.actor.id, &password_hash, &claims.sid, unix_ms(), &audit)
        .await?;
    tracing::info!(
        account = me.actor.id.0,
        sessions = sids.len(),
        "password changed"
    );
    announce(
        state,
        Notice::Revoked {
            account: me.actor.id,
            sids,
        },
    )
    .await;
    Ok(())
}

/// `PATCH /api/me`: the caller's display name and romanised name.
pub async fn update_profile(
    state: &AppState,
    who: &Identity,
    change: ProfileChange,
) -> AppResult<AccountInfo> {
    let display_name = change
        .display_name
        .as_deref()
        .map(account::display_name)
        .transpose()?;
    let romanised = change
        .romanised_name
        .as_deref()
        .map(account::romanised_name)
        .transpose()?;
    state
        .store
        .update_profile(
            who.actor.id,
            display_name.as_ref().map(|t| t.as_str()),
            romanised.as_ref().map(|r| r.as_deref()),
        )
        .await?;
    let fresh = identity(state, who.actor.id).await?;
    account_info(state, &fresh).await
}
