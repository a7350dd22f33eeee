//! The virtual residents: the server's load-test accounts `load-00001`… (seeded with
//! `HEHE_LOADTEST_ACCOUNTS`) and their access tokens.
//!
//! The server seeds account `n` into community `(n - 1) % 3` (Riverside, Orchard, Lakeside)
//! with consecutive ids. Logging in the first three tells the id of the first and the channels
//! of each community; logging in the last one needed checks the ids are consecutive. Every
//! other token is then minted here with the server's secret, so a run of 50,000 connections
//! does not cost the server 50,000 password checks. Without the secret each account logs in.

use anyhow::{Context, bail};
use hehe_client::HttpClient;
use hehe_protocol::{AccountId, Channel};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// How many communities the seed spreads load-test accounts over.
pub const CLASSES: u32 = 3;

/// Logins in flight at once when there is no secret to mint tokens with: each is an argon2
/// check on the server, a few of them keep its cores busy.
const LOGINS_IN_FLIGHT: usize = 4;

pub fn username(n: u32) -> String {
    format!("load-{n:05}")
}

/// The seeded load-test accounts, as far as this run needs them.
#[derive(Debug, Clone)]
pub struct Accounts {
    first_id: i64,
    /// The home and street channels of community class 0, 1 and 2.
    channels: Vec<Vec<Channel>>,
}

impl Accounts {
    /// Learns the accounts `1..=needed` from a few logins; fails when the server has fewer.
    pub async fn discover(http: &HttpClient, password: &str, needed: u32) -> anyhow::Result<Self> {
        let needed = needed.max(1);
        let mut channels = Vec::new();
        let mut first_id = 0;
        for n in 1..=needed.min(CLASSES) {
            let tokens = login(http, password, n).await?;
            if n == 1 {
                first_id = tokens.account.id.0;
            } else if tokens.account.id.0 != first_id + i64::from(n) - 1 {
                bail!("the load-test accounts do not have consecutive ids");
            }
            let mut readable: Vec<Channel> = tokens
                .account
                .grants
                .iter()
                .flat_map(|g| g.channels.iter().copied())
                .filter(|c| matches!(c, Channel::Home(_) | Channel::Street(_)))
                .collect();
            readable.sort();
            readable.dedup();
            channels.push(readable);
        }
        if needed > CLASSES {
            let last = login(http, password, needed).await?;
            if last.account.id.0 != first_id + i64::from(needed) - 1 {
                bail!("the load-test accounts do not have consecutive ids");
            }
        }
        Ok(Self { first_id, channels })
    }

    /// Account `n` (from 1).
    pub fn id(&self, n: u32) -> AccountId {
        AccountId(self.first_id + i64::from(n) - 1)
    }

    /// The home and street channels account `n` reads.
    pub fn channels(&self, n: u32) -> &[Channel] {
        let class = ((n - 1) % CLASSES) as usize;
        self.channels
            .get(class)
            .or_else(|| self.channels.first())
            .map_or(&[], Vec::as_slice)
    }
}

async fn login(
    http: &HttpClient,
    password: &str,
    n: u32,
) -> anyhow::Result<hehe_protocol::http::TokenResponse> {
    http.login(&username(n), password).await.with_context(|| {
        format!(
            "logging in {}: does the server have that many load-test accounts \
             (HEHE_LOADTEST_ACCOUNTS, on a freshly seeded database)?",
            username(n)
        )
    })
}

#[derive(Serialize)]
struct Claims {
    sub: i64,
    exp: i64,
    iat: i64,
    kind: &'static str,
    /// A sign-in session of the token's own, unknown to the server's store: such an access
    /// token is good until it expires (it cannot be refreshed, which the load test never does).
    sid: String,
    generation: i64,
}

/// Where access tokens come from.
#[derive(Clone)]
pub enum TokenSource {
    /// Minted with the server's HS256 secret (`HEHE_TOKEN_SECRET`).
    Secret(Arc<EncodingKey>),
    /// A login per account.
    Login {
        http: HttpClient,
        password: String,
        in_flight: Arc<Semaphore>,
    },
}

impl TokenSource {
    pub fn new(secret: Option<&str>, http: &HttpClient, password: &str) -> Self {
        match secret.filter(|s| !s.is_empty()) {
            Some(secret) => Self::Secret(Arc::new(EncodingKey::from_secret(secret.as_bytes()))),
            None => Self::Login {
                http: http.clone(),
                password: password.to_owned(),
                in_flight: Arc::new(Semaphore::new(LOGINS_IN_FLIGHT)),
            },
        }
    }

    /// An access token for account `n`, valid for `ttl_secs`.
    pub async fn token(
        &self,
        accounts: &Accounts,
        n: u32,
        ttl_secs: u64,
    ) -> anyhow::Result<String> {
        match self {
            Self::Secret(key) => {
                let iat = (crate::measure::unix_us() / 1_000_000) as i64;
                let claims = Claims {
                    sub: accounts.id(n).0,
                    iat,
                    exp: iat + ttl_secs as i64,
                    kind: "access",
                    sid: format!("{:032x}", rand::random::<u128>()),
                    generation: 0,
                };
                Ok(jsonwebtoken::encode(
                    &Header::new(Algorithm::HS256),
                    &claims,
                    key,
                )?)
            }
            Self::Login {
                http,
                password,
                in_flight,
            } => {
                let _permit = in_flight.acquire().await?;
                Ok(login(http, password, n).await?.access_token)
            }
        }
    }

    /// An access token for a demo account (the chair), by login.
    pub async fn demo_login(
        http: &HttpClient,
        username: &str,
        password: &str,
    ) -> anyhow::Result<String> {
        let tokens = http
            .login(username, password)
            .await
            .with_context(|| format!("logging in the demo account {username}"))?;
        Ok(tokens.access_token)
    }
}
