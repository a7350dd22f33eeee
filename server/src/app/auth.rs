//! Signing in and out: a login opens a session and answers a pair of tokens, a refresh spends
//! the refresh token for the next pair, a logout ends one session or all of an account's.
//!
//! Session times here are real time (`unix_ms`), not `state.now()`: tokens are checked against
//! the system clock, and a session's rows are compared with its tokens' times and with the
//! revocation window, so a test's clock would issue tokens already expired.

use crate::app::channels::{Identity, account_info, identity};
use crate::app::sessions::announce;
use crate::app::state::AppState;
use crate::clock::unix_ms;
use crate::domain::phone::Phone;
use crate::error::{AppError, AppResult};
use crate::identity::revocation::Notice;
use crate::identity::tokens::{Claims, TokenError, TokenKind, new_session_id, verify_password};
use crate::store::identity::{NewAudit, Outcome};
use hehe_protocol::http::{LoginRequest, TokenResponse};
use hehe_protocol::{AccountId, ErrorCode};

/// Checks a username (or a phone number, in any spelling `Phone::parse` reads) and password
/// and opens a session. A wrong password and an unknown or disabled account get the same
/// answer, after the same work.
pub async fn login(state: &AppState, req: LoginRequest) -> AppResult<TokenResponse> {
    // A phone number is one person in any spelling: the backoff counts them as one.
    let phone = Phone::parse(&req.username).ok();
    let guard_key = phone
        .as_ref()
        .map_or_else(|| req.username.clone(), |p| p.as_str().to_owned());
    // Refused before any hashing: a guessing run costs the server nothing while it waits.
    if let Err(wait) = state.login_guard.check(&guard_key) {
        return Err(AppError::new(
            ErrorCode::RateLimited,
            format!(
                "too many wrong passwords; try again in {} s",
                wait.as_secs_f64().ceil() as u64
            ),
        ));
    }
    let account = match (state.store.account_by_username(&req.username).await?, phone) {
        (Some(account), _) => Some(account),
        (None, Some(phone)) => state.store.account_by_phone(phone.as_str()).await?,
        (None, None) => None,
    };
    // An account with no usable password yet (an imported resident) costs the same work as
    // a wrong one: the answer's time does not tell that the number is enrolled.
    let usable = account
        .as_ref()
        .is_some_and(|a| a.password_hash.starts_with('$'));
    let hash = match &account {
        Some(a) if usable => a.password_hash.clone(),
        _ => state.decoy_hash.to_string(),
    };
    let password = req.password;
    // argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let account = match account {
        Some(a) if matches && usable && !a.disabled => a,
        _ => {
            state.login_guard.failed(&guard_key);
            return Err(AppError::new(
                ErrorCode::InvalidCredentials,
                "wrong username or password",
            ));
        }
    };
    state.login_guard.succeeded(&guard_key);
    tracing::info!(account = account.id.0, "login");
    open_session(state, account.id).await
}

/// Opens a session for an account whose credentials were checked a moment ago (a login, a
/// sign-up, an accepted invite) and answers its first pair of tokens.
pub async fn open_session(state: &AppState, account: AccountId) -> AppResult<TokenResponse> {
    let identity = identity(state, account).await?;
    let sid = new_session_id();
    // The tokens' clock (see the module's comment).
    let now = unix_ms();
    state
        .store
        .create_session(&sid, account, now, now + state.tokens.refresh_ttl_ms())
        .await?;
    issue_pair(state, &identity, &sid, 0, now).await
}

/// Trades a refresh token for a new pair. A refresh token works once; those of a session that
/// was signed out are refused.
pub async fn refresh(state: &AppState, refresh_token: &str) -> AppResult<TokenResponse> {
    let claims = state
        .tokens
        .verify(refresh_token, TokenKind::Refresh)
        .map_err(|e| match e {
            TokenError::Expired => AppError::new(ErrorCode::TokenExpired, "sign in again"),
            TokenError::Invalid => AppError::new(ErrorCode::InvalidToken, "the token is not valid"),
        })?;
    // Refused before the session moves on: a disabled account keeps its refresh token useless.
    let identity = identity(state, claims.account()).await?;
    // The tokens' clock (see the module's comment).
    let now = unix_ms();
    let generation = state
        .store
        .rotate_session(
            &claims.sid,
            claims.account(),
            claims.generation,
            now,
            now + state.tokens.refresh_ttl_ms(),
            // Long enough for a second tab or `hehe` process refreshing the same login at the
            // same moment, short enough that a stolen, spent token is of little use.
            state.config.refresh_reuse_secs.saturating_mul(1000) as i64,
        )
        .await?
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::InvalidToken,
                "this refresh token was used already or its session was signed out",
            )
        })?;
    issue_pair(state, &identity, &claims.sid, generation, now).await
}

async fn issue_pair(
    state: &AppState,
    identity: &Identity,
    sid: &str,
    generation: i64,
    now: i64,
) -> AppResult<TokenResponse> {
    let account = identity.actor.id;
    let tokens = &state.tokens;
    let access = tokens.issue_for(account, sid, generation, TokenKind::Access, now);
    let refresh = tokens.issue_for(account, sid, generation, TokenKind::Refresh, now);
    Ok(TokenResponse {
        access_token: access.token,
        access_expires_at: access.expires_at,
        refresh_token: refresh.token,
        refresh_expires_at: refresh.expires_at,
        account: account_info(state, identity).await?,
    })
}

/// Signs out the session of `claims`, or with `everywhere` every session of its account: their
/// tokens stop working on every node and their connections close.
pub async fn logout(state: &AppState, claims: &Claims, everywhere: bool) -> AppResult<()> {
    let account = claims.account();
    // A disabled account is locked out already; it is told so, like on every other route.
    identity(state, account).await?;
    // The revocation window's clock (see the module's comment); the audit entry takes the
    // state's, like every other.
    let now = unix_ms();
    let sids = if everywhere {
        let audit = NewAudit {
            at: state.now(),
            actor: account,
            action: "session.logout_everywhere".into(),
            target: format!("account:{}", account.0),
            place: None,
            street: None,
            detail: None,
            outcome: Outcome::Ok,
            request_id: None,
        };
        let mut sids = state
            .store
            .revoke_sessions(account, now, Some(&audit))
            .await?;
        // The bearer's own session may have been unknown to the store (a token issued without
        // one); it is signed out all the same.
        if !sids.contains(&claims.sid) {
            sids.push(claims.sid.clone());
        }
        sids
    } else {
        state
            .store
            .revoke_session(&claims.sid, account, now)
            .await?;
        vec![claims.sid.clone()]
    };
    tracing::info!(account = account.0, sessions = sids.len(), "logout");
    announce(state, Notice::Revoked { account, sids }).await;
    Ok(())
}
