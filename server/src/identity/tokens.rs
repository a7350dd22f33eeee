//! Passwords (argon2id) and signed tokens (HS256 JWT). Access tokens authenticate requests and
//! WebSocket connections; refresh tokens only buy new pairs. Both tokens of a sign-in carry its
//! session id (`sid`), which logging out revokes (see `revocation`).

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use hehe_protocol::AccountId;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Access,
    Refresh,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The account id.
    pub sub: i64,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issued at, Unix seconds.
    pub iat: i64,
    pub kind: TokenKind,
    /// The sign-in session: random, kept across refreshes.
    pub sid: String,
    /// Which refresh token of the session this is; a refresh spends it (the store keeps the
    /// one in force), so a refresh token works once. Access tokens carry the same number.
    #[serde(default)]
    pub generation: i64,
}

impl Claims {
    pub fn account(&self) -> AccountId {
        AccountId(self.sub)
    }
    pub fn expires_at_ms(&self) -> i64 {
        self.exp.saturating_mul(1000)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("invalid token")]
    Invalid,
    #[error("token expired")]
    Expired,
}

pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

/// A freshly issued token with its expiry (Unix ms).
pub struct Issued {
    pub token: String,
    pub expires_at: i64,
}

impl Tokens {
    pub fn new(secret: &[u8], access_ttl: Duration, refresh_ttl: Duration) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            access_ttl,
            refresh_ttl,
        }
    }

    /// A token of a session of its own that the store does not know: nothing can refresh it,
    /// and only its expiry ends it. For tests and tools that need a short-lived access token.
    pub fn issue(&self, account: AccountId, kind: TokenKind, now_ms: i64) -> Issued {
        self.issue_for(account, &new_session_id(), 0, kind, now_ms)
    }

    /// Lifetime of a refresh token, in ms: how long a session outlives its last refresh.
    pub fn refresh_ttl_ms(&self) -> i64 {
        self.refresh_ttl.as_millis() as i64
    }

    /// Lifetime of an access token, in ms: how long a revoked session's tokens could still be
    /// presented.
    pub fn access_ttl_ms(&self) -> i64 {
        self.access_ttl.as_millis() as i64
    }

    /// A token of session `sid`, refresh generation `generation`.
    pub fn issue_for(
        &self,
        account: AccountId,
        sid: &str,
        generation: i64,
        kind: TokenKind,
        now_ms: i64,
    ) -> Issued {
        let ttl = match kind {
            TokenKind::Access => self.access_ttl,
            TokenKind::Refresh => self.refresh_ttl,
        };
        let iat = now_ms / 1000;
        let claims = Claims {
            sub: account.0,
            iat,
            exp: iat + ttl.as_secs() as i64,
            kind,
            sid: sid.to_owned(),
            generation,
        };
        // HS256 signing of a small struct does not fail.
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .unwrap_or_default();
        Issued {
            token,
            expires_at: claims.expires_at_ms(),
        }
    }

    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        // `sub` is a number here; jsonwebtoken only checks string subjects, so we check it by type.
        validation.set_required_spec_claims(&["exp"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(
            |e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            },
        )?;
        if data.claims.kind != kind {
            return Err(TokenError::Invalid);
        }
        Ok(data.claims)
    }
}

/// A fresh session id: 128 random bits, hex.
pub fn new_session_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hashes a password with argon2id and a random salt (PHC string format).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

/// Checks a password against a stored hash. A malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens::new(
            b"0123456789abcdef0123456789abcdef",
            Duration::from_secs(60),
            Duration::from_secs(600),
        )
    }

    fn now_ms() -> i64 {
        // `verify` checks expiry against the system clock.
        crate::clock::unix_ms()
    }

    #[test]
    fn access_tokens_verify_and_kinds_do_not_mix() {
        let t = tokens();
        let issued = t.issue(AccountId(5), TokenKind::Access, now_ms());
        let claims = t.verify(&issued.token, TokenKind::Access).unwrap();
        assert_eq!(claims.account(), AccountId(5));
        assert_eq!(claims.expires_at_ms(), issued.expires_at);
        assert_eq!(claims.sid.len(), 32);
        assert_eq!(
            t.verify(&issued.token, TokenKind::Refresh).unwrap_err(),
            TokenError::Invalid
        );
    }

    #[test]
    fn expired_and_forged_tokens_are_refused() {
        let t = tokens();
        let old = t.issue(AccountId(5), TokenKind::Access, now_ms() - 3_600_000);
        assert_eq!(
            t.verify(&old.token, TokenKind::Access).unwrap_err(),
            TokenError::Expired
        );
        let other = Tokens::new(
            b"another secret of thirty-two byt",
            Duration::from_secs(60),
            Duration::from_secs(60),
        );
        let forged = other.issue(AccountId(5), TokenKind::Access, now_ms());
        assert_eq!(
            t.verify(&forged.token, TokenKind::Access).unwrap_err(),
            TokenError::Invalid
        );
        assert_eq!(
            t.verify("not a token", TokenKind::Access).unwrap_err(),
            TokenError::Invalid
        );
    }

    #[test]
    fn session_tokens_carry_their_session_and_generation() {
        let t = tokens();
        let sid = new_session_id();
        assert_ne!(sid, new_session_id());
        let issued = t.issue_for(AccountId(5), &sid, 3, TokenKind::Refresh, now_ms());
        let claims = t.verify(&issued.token, TokenKind::Refresh).unwrap();
        assert_eq!((claims.sid.as_str(), claims.generation), (sid.as_str(), 3));
    }

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("correct horse");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "garbage"));
    }
}
