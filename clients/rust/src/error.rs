//! The one error type of the client, covering HTTP, the WebSocket and the server's answers.

use hehe_protocol::ErrorCode;
use hehe_protocol::http::ApiError;

/// Everything that can go wrong talking to a Hehe server.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// The HTTP request failed in transport, or the server answered an error without an
    /// [`ApiError`] body (the status is in the message).
    #[error("http: {0}")]
    Http(String),
    /// The server answered an HTTP request with an error status and an [`ApiError`] body.
    #[error("http {status}: {} ({})", error.code, error.message)]
    Api { status: u16, error: ApiError },
    /// The WebSocket failed below the protocol: handshake refused, I/O error, oversized frame.
    #[error("websocket: {0}")]
    WebSocket(String),
    /// The connection is closed. `code` is the close code the server sent, if any.
    #[error("connection closed (code {code:?}): {reason}")]
    Closed { code: Option<u16>, reason: String },
    /// The server answered our request with an `error` frame.
    #[error("server refused the request: {code}: {message}")]
    Server { code: ErrorCode, message: String },
    /// A frame or body was not what the protocol says.
    #[error("cannot decode: {0}")]
    Decode(String),
    /// No answer in time.
    #[error("timed out")]
    Timeout,
    /// The server answered, but not with what the request calls for.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
}

impl ClientError {
    /// The protocol error code, for errors the server stated (`Server` and `Api`).
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Server { code, .. } => Some(*code),
            ClientError::Api { error, .. } => Some(error.code),
            _ => None,
        }
    }

    /// The close code of a `Closed` error.
    pub fn close_code(&self) -> Option<u16> {
        match self {
            ClientError::Closed { code, .. } => *code,
            _ => None,
        }
    }
}

/// The client's result type.
pub type Result<T> = std::result::Result<T, ClientError>;
