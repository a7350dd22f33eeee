//! `AppError`: the one error type of the service layer, with a stable code for the wire.
//! Internal failures are logged here, in the request's span, and reach clients only as
//! `internal` or `unavailable` with no detail.

use crate::live::bus::BusError;
use crate::store::StoreError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hehe_protocol::ErrorCode;
use hehe_protocol::http::ApiError;

#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// For `rate_limited`: seconds until a retry may pass (HTTP `Retry-After`).
    pub retry_after: Option<u64>,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn forbidden() -> Self {
        Self::new(ErrorCode::Forbidden, "your role does not allow this")
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("no such {what}"))
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }
    pub fn unauthenticated() -> Self {
        Self::new(ErrorCode::Unauthenticated, "sign in first")
    }

    pub fn status(&self) -> StatusCode {
        match self.code {
            ErrorCode::BadFrame
            | ErrorCode::UnknownFrameType
            | ErrorCode::InvalidRequest
            | ErrorCode::AlreadySubscribed
            | ErrorCode::NotSubscribed
            | ErrorCode::UnsupportedVersion => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthenticated
            | ErrorCode::InvalidToken
            | ErrorCode::TokenExpired
            | ErrorCode::InvalidCredentials
            | ErrorCode::AlreadyAuthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Conflict | ErrorCode::RequestInProgress => StatusCode::CONFLICT,
            ErrorCode::TooManySubscriptions | ErrorCode::RateLimited => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "store unavailable");
                AppError::new(
                    ErrorCode::Unavailable,
                    "storage is unavailable, retry later",
                )
            }
            StoreError::Conflict(_) => {
                AppError::new(ErrorCode::Conflict, "conflicts with stored data")
            }
            _ => {
                tracing::error!(error = %e, "store failure");
                AppError::new(ErrorCode::Internal, "internal error")
            }
        }
    }
}

impl From<BusError> for AppError {
    fn from(e: BusError) -> Self {
        tracing::warn!(error = %e, "bus unavailable");
        AppError::new(
            ErrorCode::Unavailable,
            "live delivery is unavailable, retry later",
        )
    }
}

impl From<crate::live::publish::PublishError> for AppError {
    fn from(e: crate::live::publish::PublishError) -> Self {
        match e {
            crate::live::publish::PublishError::Bus(e) => e.into(),
            crate::live::publish::PublishError::Encode(e) => {
                tracing::error!(error = %e, "event not encodable");
                AppError::new(ErrorCode::Internal, "internal error")
            }
        }
    }
}

impl From<crate::infra::limits::Refused> for AppError {
    fn from(r: crate::infra::limits::Refused) -> Self {
        let mut e = AppError::new(ErrorCode::RateLimited, r.message());
        e.retry_after = Some(r.retry_after_secs());
        e
    }
}

impl From<crate::domain::text::TextError> for AppError {
    fn from(e: crate::domain::text::TextError) -> Self {
        AppError::invalid(e.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (
            status,
            Json(ApiError {
                code: self.code,
                message: self.message,
            }),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

pub type AppResult<T> = Result<T, AppError>;
