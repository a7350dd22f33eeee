//! Logins saved between runs, and the access token each command uses: the one given with
//! --token, or the saved one, refreshed with the saved refresh token when it has expired.

use crate::error::{CliError, CliResult};
use hehe_client::HttpClient;
use hehe_protocol::ErrorCode;
use hehe_protocol::http::TokenResponse;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A token this close to its expiry is refreshed before use.
const REFRESH_MARGIN_MS: i64 = 60_000;

/// One saved login.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    pub username: String,
    pub account_id: i64,
    pub access_token: String,
    pub access_expires_at: i64,
    pub refresh_token: String,
    pub refresh_expires_at: i64,
}

impl From<&TokenResponse> for Saved {
    fn from(t: &TokenResponse) -> Self {
        Self {
            username: t.account.username.clone(),
            account_id: t.account.id.0,
            access_token: t.access_token.clone(),
            access_expires_at: t.access_expires_at,
            refresh_token: t.refresh_token.clone(),
            refresh_expires_at: t.refresh_expires_at,
        }
    }
}

/// The credentials file: a login per server origin.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Credentials {
    servers: BTreeMap<String, Saved>,
}

/// `$XDG_CONFIG_HOME/hehe/credentials.json`, else `~/.config/hehe/credentials.json`.
fn credentials_path() -> CliResult<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from) {
        // The XDG spec says to ignore a relative path.
        Some(dir) if dir.is_absolute() => dir,
        _ => {
            let home = std::env::var_os("HOME")
                .ok_or_else(|| CliError::Usage("neither XDG_CONFIG_HOME nor HOME is set".into()))?;
            PathBuf::from(home).join(".config")
        }
    };
    Ok(base.join("hehe").join("credentials.json"))
}

fn load() -> CliResult<Credentials> {
    let path = credentials_path()?;
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            CliError::Usage(format!(
                "{} is damaged ({e}): delete it and log in again",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Credentials::default()),
        Err(e) => Err(CliError::Usage(format!("reading {}: {e}", path.display()))),
    }
}

/// Writes the file readable by its owner only (0600, in a 0700 directory), replacing it whole.
fn store(credentials: &Credentials) -> CliResult<()> {
    let path = credentials_path()?;
    let dir = path.parent().expect("the path has a directory");
    let failed = |e: std::io::Error| CliError::Usage(format!("writing {}: {e}", path.display()));
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(failed)?;
    let temporary = dir.join(format!(".credentials.{}.tmp", std::process::id()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary).map_err(failed)?;
    let json = serde_json::to_vec_pretty(credentials).expect("credentials serialize");
    file.write_all(&json).map_err(failed)?;
    file.sync_all().map_err(failed)?;
    drop(file);
    fs::rename(&temporary, &path).map_err(failed)
}

pub fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// The server and the account a command speaks for.
pub struct Session {
    pub http: HttpClient,
    explicit: Option<String>,
    saved: Option<Saved>,
    /// An access token the server said had expired, whatever our clock says.
    expired: Option<String>,
}

impl Session {
    pub fn new(server: &str, token: Option<String>) -> CliResult<Self> {
        let http = HttpClient::new(server);
        // A token given on the command line needs no credentials file at all.
        let saved = match token {
            Some(_) => None,
            None => load()?.servers.remove(http.base_url()),
        };
        Ok(Self {
            http,
            explicit: token,
            saved,
            expired: None,
        })
    }

    /// Saves a fresh login for this server.
    pub fn save_login(&mut self, tokens: &TokenResponse) -> CliResult<()> {
        let saved = Saved::from(tokens);
        let mut credentials = load()?;
        credentials
            .servers
            .insert(self.http.base_url().to_owned(), saved.clone());
        store(&credentials)?;
        self.saved = Some(saved);
        Ok(())
    }

    /// Forgets this server's login; false when there was none.
    pub fn forget(&mut self) -> CliResult<bool> {
        let mut credentials = load()?;
        let had = credentials.servers.remove(self.http.base_url()).is_some();
        if had {
            store(&credentials)?;
        }
        self.saved = None;
        Ok(had)
    }

    /// Whether there is a token at all: given on the command line, or a saved login.
    pub fn has_token(&self) -> bool {
        self.explicit.is_some() || self.saved.is_some()
    }

    /// Whether the token comes from a saved login (and can therefore be refreshed).
    pub fn can_refresh(&self) -> bool {
        self.explicit.is_none() && self.saved.is_some()
    }

    /// Marks the saved access token as expired, so the next [`token`](Self::token) refreshes
    /// it (after the server said it had expired, whatever our clock says).
    pub fn expire(&mut self) {
        if let Some(saved) = &mut self.saved {
            saved.access_expires_at = 0;
            self.expired = Some(saved.access_token.clone());
        }
    }

    /// An access token that has not expired, refreshing the saved login if need be.
    pub async fn token(&mut self) -> CliResult<String> {
        if let Some(token) = &self.explicit {
            return Ok(token.clone());
        }
        // A refresh token works once: another `hehe` (a `tail` beside a `post`) may have
        // refreshed this login since it was read, so read it again first.
        self.saved = load()?.servers.remove(self.http.base_url());
        let Some(saved) = self.saved.clone() else {
            return Err(CliError::Usage(format!(
                "not logged in to {}: run `hehe login <username>` or pass --token",
                self.http.base_url()
            )));
        };
        if saved.access_expires_at - REFRESH_MARGIN_MS > now_ms()
            && self.expired.as_ref() != Some(&saved.access_token)
        {
            return Ok(saved.access_token);
        }
        let error = match self.http.refresh(&saved.refresh_token).await {
            Ok(tokens) => {
                self.save_login(&tokens)?;
                return Ok(tokens.access_token);
            }
            Err(e) => CliError::from(e),
        };
        if let CliError::Refused {
            code: ErrorCode::InvalidToken,
            ..
        } = error
        {
            // Refused as used: the other process that used it first saves its new pair in a
            // moment; take that.
            for _ in 0..10 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let now_saved = load()?.servers.remove(self.http.base_url());
                if let Some(newer) = now_saved.filter(|s| s.refresh_token != saved.refresh_token) {
                    let token = newer.access_token.clone();
                    self.saved = Some(newer);
                    return Ok(token);
                }
            }
        }
        Err(match error {
            CliError::Refused {
                code: code @ (ErrorCode::TokenExpired | ErrorCode::InvalidToken),
                message,
            } => CliError::Refused {
                code,
                message: format!("{message}; log in again with `hehe login`"),
            },
            other => other,
        })
    }
}
