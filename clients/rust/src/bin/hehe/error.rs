//! What can end a command, and the exit code each gives.

use hehe_client::ClientError;
use hehe_protocol::ErrorCode;
use std::fmt;
use std::process::ExitCode;

/// Why a command failed. The exit code tells scripts which kind of failure it was.
#[derive(Debug)]
pub enum CliError {
    /// Bad arguments, no saved login, a file that cannot be read, anything on this side: 1.
    Usage(String),
    /// The server refused the request with a stable error code: 2.
    Refused { code: ErrorCode, message: String },
    /// The server could not be reached, or the connection to it failed: 3.
    Unreachable(String),
    /// Something else: a reply the client did not expect, a terminal close code: 1.
    Other(String),
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) | CliError::Other(_) => ExitCode::from(1),
            CliError::Refused { .. } => ExitCode::from(2),
            CliError::Unreachable(_) => ExitCode::from(3),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(text) | CliError::Other(text) => f.write_str(text),
            // The stable code first, so that scripts can match on it.
            CliError::Refused { code, message } => write!(f, "{code}: {message}"),
            CliError::Unreachable(text) => write!(f, "cannot reach the server: {text}"),
        }
    }
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Server { code, message } => CliError::Refused { code, message },
            ClientError::Api { error, .. } => CliError::Refused {
                code: error.code,
                message: error.message,
            },
            // The client names an error status without an API error body "HTTP <status>": the
            // server (or a proxy before it) answered. Anything else is a transport failure.
            ClientError::Http(text) if text.starts_with("HTTP ") => CliError::Other(text),
            ClientError::Http(text) | ClientError::WebSocket(text) => CliError::Unreachable(text),
            ClientError::Timeout => CliError::Unreachable("no answer in time".into()),
            e @ ClientError::Closed { .. } => CliError::Unreachable(e.to_string()),
            e @ (ClientError::Decode(_) | ClientError::Unexpected(_)) => {
                CliError::Other(e.to_string())
            }
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::Usage(e.to_string())
    }
}

pub type CliResult<T> = Result<T, CliError>;
